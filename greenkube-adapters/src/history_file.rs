//! Reading histories of footprints from files: a JSON array, or one footprint per line (as
//! `greenkube estimate --format json` writes them). Line-by-line files are streamed, so a long
//! history never has to be in memory at once.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use greenkube_core::{Footprint, FootprintParseError, read_footprints};

use crate::snapshot_file::read_text;

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadHistoryError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A document is not a valid footprint.
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        #[source]
        source: FootprintParseError,
    },
}

/// Calls `each` with every footprint of the history file, in order. A JSON array is read whole;
/// one footprint per line is streamed. `-` reads standard input.
pub fn for_each_footprint(
    path: &Path,
    mut each: impl FnMut(Footprint),
) -> Result<usize, ReadHistoryError> {
    let io = |source| ReadHistoryError::Io {
        path: path.to_path_buf(),
        source,
    };
    let invalid = |source| ReadHistoryError::Invalid {
        path: path.to_path_buf(),
        source,
    };
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(File::open(path).map_err(io)?))
    };
    let mut lines = reader.lines().enumerate().peekable();
    // Skip leading blank lines to see whether this is an array.
    let mut count = 0;
    let mut first: Option<(usize, String)> = None;
    for (i, line) in lines.by_ref() {
        let line = line.map_err(io)?;
        if !line.trim().is_empty() {
            first = Some((i, line));
            break;
        }
    }
    let Some((first_index, first_line)) = first else {
        return Ok(0);
    };
    if first_line.trim_start().starts_with('[') {
        let mut text = first_line;
        for (_, line) in lines {
            text.push('\n');
            text.push_str(&line.map_err(io)?);
        }
        for fp in read_footprints(&text).map_err(invalid)? {
            each(fp);
            count += 1;
        }
        return Ok(count);
    }
    let mut parse = |i: usize, line: &str| -> Result<(), ReadHistoryError> {
        let fp = Footprint::from_json_str(line).map_err(|mut e| {
            e.document = Some(i + 1);
            invalid(e)
        })?;
        each(fp);
        count += 1;
        Ok(())
    };
    parse(first_index, &first_line)?;
    for (i, line) in lines {
        let line = line.map_err(io)?;
        if !line.trim().is_empty() {
            parse(i, &line)?;
        }
    }
    Ok(count)
}

/// Reads a whole history into memory.
pub fn read_history(path: &Path) -> Result<Vec<Footprint>, ReadHistoryError> {
    let mut out = Vec::new();
    for_each_footprint(path, |fp| out.push(fp))?;
    Ok(out)
}

/// Reads a JSON document (inventory, changes) as text; `-` reads standard input.
pub fn read_document(path: &Path) -> Result<String, ReadHistoryError> {
    read_text(path).map_err(|e| match e {
        crate::snapshot_file::ReadSnapshotError::Io { path, source } => {
            ReadHistoryError::Io { path, source }
        }
        crate::snapshot_file::ReadSnapshotError::Invalid { path, .. } => ReadHistoryError::Io {
            path,
            source: std::io::Error::other("unreadable"),
        },
    })
}
