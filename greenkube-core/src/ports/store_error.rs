//! The error of every repository.

use std::error::Error as StdError;
use std::fmt;

/// What kind of failure a [`StoreError`] is. Callers branch on this, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached or used right now: connection refused or lost, file cannot be
    /// opened, database busy or locked, pool timed out. Retrying later may succeed, and because
    /// writes are idempotent a retried batch never doubles a window.
    Unavailable,
    /// The store is in a state that conflicts with the request: a unique key already taken, or a
    /// schema written by a newer (or different) greenkube.
    Conflict,
    /// The data is not acceptable: a row with a NaN, negative or inconsistent figure, an empty
    /// name, duplicate pods in one window, an invalid range, a malformed store URL, or stored
    /// data that cannot be read back.
    InvalidData,
    /// The backend is not available in this build: not compiled in (a cargo feature is off), not
    /// implemented yet, or an unknown URL scheme.
    Unsupported,
    /// Anything else (a bug, an unexpected driver error).
    Other,
}

impl StoreErrorKind {
    /// Lower-case description, as used in messages.
    pub const fn description(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::Conflict => "conflict",
            Self::InvalidData => "invalid data",
            Self::Unsupported => "unsupported",
            Self::Other => "error",
        }
    }

    /// True for failures that may go away on their own (retry with back-off).
    pub const fn is_retryable(self) -> bool {
        matches!(self, Self::Unavailable)
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.description())
    }
}

/// Which refusal an error is, where a port names a refusal its callers may act on: finer than
/// [`StoreErrorKind`], and only ever set by the constructor that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// [`NodeHistory::record_nodes`](super::NodeHistory::record_nodes) was given an
    /// observation older than the latest one recorded for the cluster (kind
    /// [`StoreErrorKind::InvalidData`]).
    OlderObservation,
}

/// A repository failed. Carries its [`StoreErrorKind`], the backend that failed (`sqlite`,
/// `memory`, ...), a lower-case message, the underlying driver error as its source, and for the
/// refusals a port names, which one it is ([`Refusal`]).
#[derive(Debug, thiserror::Error)]
#[error("{backend} store: {kind}: {message}")]
pub struct StoreError {
    kind: StoreErrorKind,
    backend: &'static str,
    message: String,
    refusal: Option<Refusal>,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl StoreError {
    /// A new error.
    pub fn new(kind: StoreErrorKind, backend: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            backend,
            message: message.into(),
            refusal: None,
            source: None,
        }
    }

    /// [`StoreErrorKind::Unavailable`].
    pub fn unavailable(backend: &'static str, message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Unavailable, backend, message)
    }

    /// [`StoreErrorKind::Conflict`].
    pub fn conflict(backend: &'static str, message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Conflict, backend, message)
    }

    /// [`StoreErrorKind::InvalidData`].
    pub fn invalid_data(backend: &'static str, message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::InvalidData, backend, message)
    }

    /// [`StoreErrorKind::InvalidData`] marked [`Refusal::OlderObservation`]: what
    /// [`NodeHistory::record_nodes`](super::NodeHistory::record_nodes) answers to an observation
    /// older than the latest recorded one.
    pub fn older_observation(backend: &'static str, message: impl Into<String>) -> Self {
        let mut error = Self::invalid_data(backend, message);
        error.refusal = Some(Refusal::OlderObservation);
        error
    }

    /// [`StoreErrorKind::Unsupported`].
    pub fn unsupported(backend: &'static str, message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Unsupported, backend, message)
    }

    /// [`StoreErrorKind::Other`].
    pub fn other(backend: &'static str, message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Other, backend, message)
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The backend that failed.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The message, without the backend, kind or source.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Which named refusal this is, if any (`None` for every error not built by
    /// [`StoreError::older_observation`]).
    pub fn refusal(&self) -> Option<Refusal> {
        self.refusal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_backend_and_kind_and_keeps_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = StoreError::unavailable("sqlite", "cannot open `x.db`").with_source(io);
        assert_eq!(
            err.to_string(),
            "sqlite store: unavailable: cannot open `x.db`"
        );
        assert_eq!(err.kind(), StoreErrorKind::Unavailable);
        assert!(err.kind().is_retryable());
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("refused")
        );
        assert!(!StoreErrorKind::InvalidData.is_retryable());
        assert_eq!(err.refusal(), None);
    }

    #[test]
    fn an_older_observation_is_invalid_data_marked_as_such() {
        let err = StoreError::older_observation("memory", "node observation at t is older");
        assert_eq!(err.kind(), StoreErrorKind::InvalidData);
        assert_eq!(err.refusal(), Some(Refusal::OlderObservation));
        assert_eq!(
            err.to_string(),
            "memory store: invalid data: node observation at t is older"
        );
        let other = StoreError::invalid_data("memory", "node cannot be encoded");
        assert_eq!(other.refusal(), None);
    }
}
