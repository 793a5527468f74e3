//! Reading histories of footprints from files: a JSON array, or one footprint per line (as
//! `greenkube estimate --format json` writes them). Line-by-line files are streamed, so a long
//! history never has to be in memory at once.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use greenkube_core::{Footprint, FootprintParseError, read_footprints};

use crate::snapshot_file::{max_document_bytes, read_text};

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
    /// A document (a line, or the whole array) is larger than the limit
    /// ([`max_document_bytes`]).
    #[error(
        "{path}: a document is larger than {limit} bytes (set GREENKUBE_MAX_INPUT_BYTES to \
         read larger ones)"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, bytes.
        limit: u64,
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
    let limit = max_document_bytes();
    let too_large = || ReadHistoryError::TooLarge {
        path: path.to_path_buf(),
        limit,
    };
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(File::open(path).map_err(io)?))
    };
    let mut lines = BoundedLines::new(reader, limit).enumerate().peekable();
    // Skip leading blank lines to see whether this is an array.
    let mut count = 0;
    let mut first: Option<(usize, String)> = None;
    for (i, line) in lines.by_ref() {
        let line = line.map_err(|e| bounded_error(e, &too_large, &io))?;
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
            text.push_str(&line.map_err(|e| bounded_error(e, &too_large, &io))?);
            // The array is one document: bounded as a whole.
            if text.len() as u64 > limit {
                return Err(too_large());
            }
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
        let line = line.map_err(|e| bounded_error(e, &too_large, &io))?;
        if !line.trim().is_empty() {
            parse(i, &line)?;
        }
    }
    Ok(count)
}

/// A line longer than the limit, as an I/O error [`bounded_error`] recognises.
#[derive(Debug)]
struct LineTooLong;

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("line too long")
    }
}

impl std::error::Error for LineTooLong {}

fn bounded_error(
    e: std::io::Error,
    too_large: &impl Fn() -> ReadHistoryError,
    io: &impl Fn(std::io::Error) -> ReadHistoryError,
) -> ReadHistoryError {
    if e.get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<LineTooLong>)
    {
        too_large()
    } else {
        io(e)
    }
}

/// The lines of a reader (without their `\n` or `\r\n`), each read up to `limit` bytes: a
/// longer one is an error before more is read, so an endless line (`/dev/zero`) costs
/// `limit` bytes of memory, not all of it.
struct BoundedLines<R> {
    reader: R,
    limit: u64,
}

impl<R: BufRead> BoundedLines<R> {
    fn new(reader: R, limit: u64) -> Self {
        Self { reader, limit }
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = std::io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut bytes = Vec::new();
        let read = (&mut self.reader)
            .take(self.limit.saturating_add(1))
            .read_until(b'\n', &mut bytes);
        match read {
            Err(e) => Some(Err(e)),
            Ok(0) => None,
            Ok(_) => {
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                } else if bytes.len() as u64 > self.limit {
                    return Some(Err(std::io::Error::other(LineTooLong)));
                }
                Some(String::from_utf8(bytes).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error())
                }))
            }
        }
    }
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
        crate::snapshot_file::ReadSnapshotError::TooLarge { path, limit } => {
            ReadHistoryError::TooLarge { path, limit }
        }
        crate::snapshot_file::ReadSnapshotError::Invalid { path, .. } => ReadHistoryError::Io {
            path,
            source: std::io::Error::other("unreadable"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8], limit: u64) -> Vec<Result<String, String>> {
        BoundedLines::new(text, limit)
            .map(|line| line.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn lines_are_bounded_and_keep_their_text() {
        assert_eq!(
            lines(b"a\r\nbb\n\nccc", 3),
            vec![
                Ok("a".to_string()),
                Ok("bb".to_string()),
                Ok(String::new()),
                Ok("ccc".to_string())
            ]
        );
        // A line of exactly the limit passes; one byte more is refused before reading on.
        assert_eq!(lines(b"abc\n", 3), vec![Ok("abc".to_string())]);
        let long = lines(b"abcd\nok\n", 3);
        assert_eq!(long[0], Err("line too long".to_string()));
        assert!(lines(&[0xff, b'\n'], 3)[0].is_err(), "not UTF-8");
    }
}
