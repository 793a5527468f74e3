//! Reading snapshots from files or standard input.

use std::io::Read;
use std::path::{Path, PathBuf};

use greenkube_core::{Snapshot, SnapshotError};

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadSnapshotError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The document is larger than the limit ([`max_document_bytes`]).
    #[error(
        "{path}: the document is larger than {limit} bytes (set GREENKUBE_MAX_INPUT_BYTES to \
         read larger ones)"
    )]
    TooLarge {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// The limit, bytes.
        limit: u64,
    },
    /// The file was read but is not a valid snapshot.
    #[error("{path}: {source}")]
    Invalid {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// What was wrong.
        #[source]
        source: SnapshotError,
    },
}

/// Reads and parses a snapshot from a file, or from standard input when `path` is `-`.
/// The snapshot is parsed but not validated (the engine validates).
pub fn read_snapshot(path: &Path) -> Result<Snapshot, ReadSnapshotError> {
    let text = read_text(path)?;
    Snapshot::from_json_str(&text).map_err(|source| ReadSnapshotError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

/// The largest document (a snapshot, a history as a JSON array, one line of a history, a list
/// of changes, an inventory) read from a file or standard input when
/// `GREENKUBE_MAX_INPUT_BYTES` does not say otherwise: 512 MiB, ten times a snapshot of 100,000
/// pods. Reading stops there, so memory stays bounded whatever the input (`/dev/zero`, a
/// runaway pipe).
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 512 * 1024 * 1024;

/// The limit in force: `GREENKUBE_MAX_INPUT_BYTES` when it is a positive integer, else
/// [`DEFAULT_MAX_DOCUMENT_BYTES`].
pub fn max_document_bytes() -> u64 {
    std::env::var("GREENKUBE_MAX_INPUT_BYTES")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(DEFAULT_MAX_DOCUMENT_BYTES)
}

/// Reads a whole file, or standard input when `path` is `-`, up to [`max_document_bytes`].
pub fn read_text(path: &Path) -> Result<String, ReadSnapshotError> {
    let io = |source| ReadSnapshotError::Io {
        path: path.to_path_buf(),
        source,
    };
    let limit = max_document_bytes();
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(io)?)
    };
    let mut text = String::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > limit {
        return Err(ReadSnapshotError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_names_the_path() {
        let err = read_snapshot(Path::new("/nonexistent/snap.json")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/snap.json"), "{err}");
    }
}
