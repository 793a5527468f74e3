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
///
/// The file is read and parsed on a thread of its own while `each` runs on the caller's, one
/// footprint ahead (at most two parsed footprints wait, so memory stays bounded). On an error,
/// `each` has seen the footprints before it, as it would reading them one at a time.
pub fn for_each_footprint(
    path: &Path,
    mut each: impl FnMut(Footprint),
) -> Result<usize, ReadHistoryError> {
    let (parsed, footprints) = std::sync::mpsc::sync_channel(1);
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("greenkube-history".into())
            .spawn_scoped(scope, move || {
                // The caller stopped listening only by unwinding: nothing more to read.
                read_each(path, |fp| parsed.send(fp).is_ok())
            })
            .map_err(|source| ReadHistoryError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let mut count = 0;
        for fp in footprints {
            each(fp);
            count += 1;
        }
        match reader.join() {
            Ok(read) => read.map(|()| count),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Reads the history file and hands each footprint to `send`, in order, until `send` says stop
/// (returns false).
fn read_each(path: &Path, mut send: impl FnMut(Footprint) -> bool) -> Result<(), ReadHistoryError> {
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
    let reader: Box<dyn BufRead + Send> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(File::open(path).map_err(io)?))
    };
    let mut lines = BoundedLines::new(reader, limit);
    // One buffer for every line: a line of a history is a whole window (34 MB for 30,000
    // pods), so a fresh buffer per line grew by doubling and copying, on fresh pages each time.
    let mut line = String::new();
    let mut read = |line: &mut String| -> Result<bool, ReadHistoryError> {
        match lines.next_into(line) {
            None => Ok(false),
            Some(read) => read
                .map(|()| true)
                .map_err(|e| bounded_error(e, &too_large, &io)),
        }
    };
    // Skip leading blank lines to see whether this is an array.
    let mut index = 0;
    loop {
        if !read(&mut line)? {
            return Ok(());
        }
        index += 1;
        if !line.trim().is_empty() {
            break;
        }
    }
    if line.trim_start().starts_with('[') {
        let mut text = std::mem::take(&mut line);
        while read(&mut line)? {
            text.push('\n');
            text.push_str(&line);
            // The array is one document: bounded as a whole.
            if text.len() as u64 > limit {
                return Err(too_large());
            }
        }
        for fp in read_footprints(&text).map_err(invalid)? {
            if !send(fp) {
                break;
            }
        }
        return Ok(());
    }
    // Whether to go on after the line numbered `number` (from 1).
    let mut parse = |number: usize, line: &str| -> Result<bool, ReadHistoryError> {
        let fp = Footprint::from_json_str(line).map_err(|mut e| {
            e.document = Some(number);
            invalid(e)
        })?;
        Ok(send(fp))
    };
    if !parse(index, &line)? {
        return Ok(());
    }
    while read(&mut line)? {
        index += 1;
        if !line.trim().is_empty() && !parse(index, &line)? {
            break;
        }
    }
    Ok(())
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

    /// Reads the next line into `line` (replacing what it held, keeping its capacity): `None`
    /// at the end.
    fn next_into(&mut self, line: &mut String) -> Option<std::io::Result<()>> {
        let mut bytes = std::mem::take(line).into_bytes();
        bytes.clear();
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
                Some(match String::from_utf8(bytes) {
                    Ok(text) => {
                        *line = text;
                        Ok(())
                    }
                    Err(e) => Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        e.utf8_error(),
                    )),
                })
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

    /// Every line of `text` read into one buffer, as each read gave it.
    fn lines(text: &[u8], limit: u64) -> Vec<Result<String, String>> {
        let mut lines = BoundedLines::new(text, limit);
        let mut line = String::from("left over from before");
        let mut out = Vec::new();
        while let Some(read) = lines.next_into(&mut line) {
            out.push(read.map(|()| line.clone()).map_err(|e| e.to_string()));
        }
        out
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

    /// A history of `windows` one-pod footprints, five minutes apart, one per line.
    fn history_lines(windows: usize) -> Vec<String> {
        (0..windows)
            .map(|i| {
                let text = format!(
                    r#"{{"schema":"greenkube.snapshot/v1","cluster":"c",
                    "window_start":"2025-06-02T{:02}:{:02}:00Z","window_end":"2025-06-02T{:02}:{:02}:00Z",
                    "nodes":[{{"name":"n1","provider":"aws","instance_type":"m5.large"}}],
                    "pods":[{{"namespace":"a","name":"p","node":"n1","cpu_usage_cores":0.5}}]}}"#,
                    i * 5 / 60,
                    i * 5 % 60,
                    (i + 1) * 5 / 60,
                    (i + 1) * 5 % 60
                );
                let snapshot = greenkube_core::Snapshot::from_json_str(&text).unwrap();
                let footprint = greenkube_core::estimate(
                    &snapshot,
                    &greenkube_core::EstimateOptions::default(),
                )
                .unwrap();
                serde_json::to_string(&footprint).unwrap()
            })
            .collect()
    }

    #[test]
    fn footprints_read_ahead_arrive_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        let lines = history_lines(40);
        std::fs::write(&path, format!("\n{}\n\n", lines.join("\n"))).unwrap();
        let mut starts = Vec::new();
        let count = for_each_footprint(&path, |fp| starts.push(fp.window_start)).unwrap();
        assert_eq!(count, 40);
        let mut sorted = starts.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(starts, sorted, "in file order, each once");
        // The same history as one array.
        std::fs::write(&path, format!("[{}]", lines.join(","))).unwrap();
        assert_eq!(read_history(&path).unwrap().len(), 40);
    }

    #[test]
    fn a_bad_line_ends_the_read_after_the_footprints_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        let mut lines = history_lines(4);
        lines[2] = lines[2].replacen("\"energy_joules\":", "\"energy_joules\":\"x\",\"y\":", 1);
        std::fs::write(&path, lines.join("\n")).unwrap();
        let mut seen = 0;
        let err = for_each_footprint(&path, |_| seen += 1).unwrap_err();
        assert_eq!(
            seen, 2,
            "the two footprints before the bad one, not the one after"
        );
        let ReadHistoryError::Invalid { source, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(source.document, Some(3));
        assert_eq!(source.path, "pods[0].energy_joules", "{err}");
        assert!(source.message.contains("invalid type"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = for_each_footprint(&dir.path().join("none.jsonl"), |_| {}).unwrap_err();
        assert!(matches!(err, ReadHistoryError::Io { .. }), "{err}");
    }
}
