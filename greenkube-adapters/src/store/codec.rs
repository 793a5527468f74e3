//! How the stores encode values: archived snapshots as gzip-compressed JSON (SQLite and
//! PostgreSQL in a blob column, Elasticsearch base64-encoded in a `binary` field), instants as
//! whole microseconds since 1970 (SQLite `INTEGER` columns, Elasticsearch `long` fields), and
//! recommendation types by name.

use std::io::Read;

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use greenkube_core::Snapshot;
use greenkube_core::ports::{PackedSnapshot, StoreError};
use greenkube_core::recommend::RecommendationType;

/// Gzip-compresses `bytes` for the store `backend`.
#[cfg(test)]
pub(crate) fn gzip(backend: &'static str, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    use std::io::Write as _;
    // Compressed JSON is about a seventh of the text.
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 6), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| StoreError::other(backend, "compressing a snapshot").with_source(e))
}

/// A snapshot as the stores archive it: its JSON, gzip-compressed.
pub(crate) fn pack_snapshot(
    backend: &'static str,
    snapshot: &Snapshot,
) -> Result<PackedSnapshot, StoreError> {
    // The JSON goes through the compressor in 64 KiB pieces, never whole in memory (a window
    // of 100,000 pods is about 60 MB of JSON and 8 MB compressed).
    let encoder = GzEncoder::new(Vec::new(), Compression::default());
    let mut writer = std::io::BufWriter::with_capacity(64 * 1024, encoder);
    serde_json::to_writer(&mut writer, snapshot).map_err(|e| {
        StoreError::invalid_data(backend, "snapshot cannot be encoded").with_source(e)
    })?;
    let body = writer
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)
        .and_then(GzEncoder::finish)
        .map_err(|e| StoreError::other(backend, "compressing a snapshot").with_source(e))?;
    Ok(PackedSnapshot {
        cluster: snapshot.cluster.clone(),
        window_start: snapshot.window_start,
        body,
    })
}

/// A snapshot [`pack_snapshot`] packed, read back from the store `backend`; damaged bytes are
/// [`InvalidData`].
///
/// [`InvalidData`]: greenkube_core::ports::StoreErrorKind::InvalidData
pub(crate) fn unpack_snapshot(
    backend: &'static str,
    packed: &PackedSnapshot,
) -> Result<Snapshot, StoreError> {
    const WHAT: &str = "an archived snapshot";
    let damaged = |e: &dyn std::fmt::Display| {
        StoreError::invalid_data(
            backend,
            format!(
                "{WHAT} ({} at {}) cannot be read back: {e}",
                packed.cluster.as_deref().unwrap_or("no cluster"),
                packed.window_start.to_rfc3339()
            ),
        )
    };
    let json = gunzip(backend, &packed.body, WHAT)?;
    let text = std::str::from_utf8(&json).map_err(|e| damaged(&e))?;
    Snapshot::from_json_str(text).map_err(|e| damaged(&e))
}

/// Decompresses gzip `bytes` read from the store `backend`; damaged data (`what`, for the
/// message) is [`InvalidData`].
///
/// [`InvalidData`]: greenkube_core::ports::StoreErrorKind::InvalidData
pub(crate) fn gunzip(
    backend: &'static str,
    bytes: &[u8],
    what: &str,
) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| {
        StoreError::invalid_data(backend, format!("{what} cannot be decompressed")).with_source(e)
    })?;
    Ok(out)
}

/// A stored instant: whole microseconds since 1970 (windows are checked to be whole
/// microseconds before they are written).
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A range bound in microseconds, rounded up: a whole-microsecond window start `s` satisfies
/// `s >= t` exactly when `micros(s) >= micros_ceil(t)`, and `s < t` exactly when
/// `micros(s) < micros_ceil(t)`.
pub(crate) fn micros_ceil(t: DateTime<Utc>) -> i64 {
    let floor = t.timestamp_micros();
    if t.timestamp_subsec_nanos().is_multiple_of(1000) {
        floor
    } else {
        floor.saturating_add(1)
    }
}

/// A stored instant (microseconds since 1970) of the store `backend` as a time.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "elasticsearch")),
    expect(dead_code, reason = "PostgreSQL stores instants as timestamptz")
)]
pub(crate) fn from_micros(backend: &'static str, us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| {
        StoreError::invalid_data(backend, format!("stored time {us} µs is out of range"))
    })
}

/// A recommendation type by the name the store `backend` keeps it under.
pub(crate) fn recommendation_type(
    backend: &'static str,
    name: &str,
) -> Result<RecommendationType, StoreError> {
    RecommendationType::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            StoreError::invalid_data(backend, format!("unknown recommendation type {name}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenkube_core::ports::StoreErrorKind;

    #[test]
    fn bounds_round_up_to_microseconds() {
        let t = DateTime::from_timestamp(1_748_858_400, 0).unwrap();
        assert_eq!(micros_ceil(t), micros(t));
        assert_eq!(
            micros_ceil(t + chrono::Duration::nanoseconds(1)),
            micros(t) + 1
        );
        assert_eq!(from_micros("test", micros(t)).unwrap(), t);
        assert!(from_micros("test", i64::MAX).is_err());
    }

    #[test]
    fn recommendation_types_by_name() {
        for kind in RecommendationType::ALL {
            assert_eq!(recommendation_type("test", kind.name()).unwrap(), kind);
        }
        let err = recommendation_type("test", "nope").unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidData);
    }

    #[test]
    fn gzip_round_trips_and_refuses_garbage() {
        let json = br#"{"schema":"greenkube.snapshot/v1","pods":[]}"#.repeat(20);
        let packed = gzip("test", &json).unwrap();
        assert!(packed.len() < json.len());
        assert_eq!(gunzip("test", &packed, "x").unwrap(), json);
        let err = gunzip("test", b"not gzip", "an archived snapshot").unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidData);
        assert!(err.to_string().contains("an archived snapshot"), "{err}");
    }
}
