//! Typed errors of the core. Every variant names the input that was wrong.

use chrono::{DateTime, Utc};

/// Why a snapshot was refused. Each variant names the offending field with a JSON path such as
/// `pods[3].cpu_usage_cores`, so a user can find it in their file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The document is not valid JSON, or does not have the snapshot's shape.
    #[error("{path}: {message}{}", position(*line, *column))]
    Parse {
        /// JSON path of the offending value (`.` for the document itself).
        path: String,
        /// What was wrong.
        message: String,
        /// 1-based line of the error in the input (0 when parsed from a value).
        line: usize,
        /// 1-based column of the error in the input (0 when parsed from a value).
        column: usize,
    },
    /// The `schema` field is not `greenkube.snapshot/v1`.
    #[error("schema: expected \"{expected}\", found \"{found}\"")]
    Schema {
        /// The schema this version reads.
        expected: &'static str,
        /// The schema the document declared.
        found: String,
    },
    /// `window_end` is before `window_start`.
    #[error("window_end: {end} is before window_start {start}")]
    WindowEndsBeforeStart {
        /// Start of the window.
        start: DateTime<Utc>,
        /// End of the window.
        end: DateTime<Utc>,
    },
    /// The window lasts less than [`crate::snapshot::MIN_WINDOW`]: no source measures usage over
    /// less, and energy over a nanosecond is noise multiplied into a year by any projection.
    #[error("window_end: the window lasts {millis} ms, less than one second (from {start})")]
    ShortWindow {
        /// Start of the window.
        start: DateTime<Utc>,
        /// Its length, milliseconds (rounded down).
        millis: i64,
    },
    /// `window_end` equals `window_start`: nothing can have been used in no time.
    #[error("window_end: the window is empty (window_start = window_end = {start})")]
    EmptyWindow {
        /// Start (and end) of the window.
        start: DateTime<Utc>,
    },
    /// A number is NaN, infinite, negative, or otherwise out of its domain.
    #[error("{field}: {shown} is not allowed: {reason}", shown = show_value(*value))]
    InvalidValue {
        /// JSON path of the value.
        field: String,
        /// The value as given.
        value: f64,
        /// What the value must be.
        reason: &'static str,
    },
    /// A text field that must not be empty is empty.
    #[error("{field}: must not be empty")]
    EmptyName {
        /// JSON path of the value.
        field: String,
    },
    /// Two entries of a list share a key that must be unique.
    #[error("{field}: duplicate {what} '{key}' (first at {first})")]
    Duplicate {
        /// JSON path of the second occurrence.
        field: String,
        /// What kind of entry is duplicated (`node`, `pod`, `cost`, `embodied figure`).
        what: &'static str,
        /// The duplicated key.
        key: String,
        /// JSON path of the first occurrence.
        first: String,
    },
}

fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" (line {line}, column {column})")
    }
}

impl SnapshotError {
    /// JSON path of the field the error is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Parse { path, .. } => Some(path),
            Self::Schema { .. } => Some("schema"),
            Self::WindowEndsBeforeStart { .. }
            | Self::EmptyWindow { .. }
            | Self::ShortWindow { .. } => Some("window_end"),
            Self::InvalidValue { field, .. }
            | Self::EmptyName { field }
            | Self::Duplicate { field, .. } => Some(field),
        }
    }
}

/// A name that is not one of the known methodologies, idle policies or groupings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{given}'; expected one of: {expected}")]
pub struct UnknownNameError {
    /// What kind of name was expected (`methodology`, `idle policy`, ...).
    pub what: &'static str,
    /// The name given.
    pub given: String,
    /// The accepted names, comma-separated.
    pub expected: &'static str,
}

/// A reference table embedded in the core failed to parse. This is a build defect, caught by the
/// core's tests; it is reported rather than panicking so a custom table can be diagnosed too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reference table {table}, row {row}: {message}")]
pub struct ReferenceDataError {
    /// File name of the table.
    pub table: &'static str,
    /// 1-based data row (0 for the header).
    pub row: usize,
    /// What was wrong.
    pub message: String,
}

/// Parses a JSON document into `T`; an error names the offending value's path and its line and
/// column (serde's message as it is).
/// A value as an error shows it: huge and tiny magnitudes in scientific notation, so `1e308`
/// is not printed as 309 digits.
fn show_value(value: f64) -> String {
    if value != 0.0 && value.is_finite() && !(1e-6..1e15).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, SnapshotError> {
    let text = without_bom(text);
    // Valid documents (nearly all) are parsed once, without tracking the path; only a document
    // that fails is parsed again, with the path, for the error.
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        SnapshotError::Parse {
            path,
            message: inner.to_string(),
            line: inner.line(),
            column: inner.column(),
        }
    })?;
    // One document: anything after it but white space is an error, not silently dropped.
    deserializer.end().map_err(|err| SnapshotError::Parse {
        path: ".".to_string(),
        message: format!(
            "content after the end of the document (one JSON document is expected): {err}"
        ),
        line: err.line(),
        column: err.column(),
    })?;
    Ok(value)
}

/// `text` without a leading UTF-8 byte-order mark. A BOM is not JSON, but editors write one;
/// RFC 8259 (section 8.1) lets a parser ignore it, and greenkube does.
pub(crate) fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}
