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

/// Reads a whole file, or standard input when `path` is `-`.
pub fn read_text(path: &Path) -> Result<String, ReadSnapshotError> {
    let io = |source| ReadSnapshotError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(io)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(io)
    }
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
