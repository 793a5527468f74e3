//! What PostgreSQL's errors mean, by SQLSTATE class
//! (<https://www.postgresql.org/docs/current/errcodes-appendix.html>); the driver's own errors
//! are mapped with SQLite's (`crate::store::sql`).

use greenkube_core::ports::StoreErrorKind;
use sqlx::error::DatabaseError;

/// SQLSTATE codes (full, or the two-character class) that mean "not now" or "not reachable":
/// retrying later may succeed.
///
/// * `08` connection exception, `53` insufficient resources (too many connections, disk full),
///   `57P01`..`57P03` the server is shutting down, was terminated or is starting,
///   `57014` statement cancelled (a time-out), `40001` serialization failure, `40P01`
///   deadlock, `55P03` lock not available, `3D000` no such database, `28` the credentials
///   were refused.
fn is_unavailable(code: &str) -> bool {
    matches!(
        code,
        "57P01" | "57P02" | "57P03" | "57014" | "40001" | "40P01" | "55P03" | "3D000"
    ) || ["08", "53", "28"]
        .iter()
        .any(|class| code.starts_with(class))
}

/// SQLSTATE codes of data the server refused: `22` data exception (a value out of range),
/// `23` integrity constraint violation other than a unique key.
fn is_invalid(code: &str) -> bool {
    code.starts_with("22") || (code.starts_with("23") && code != "23505")
}

/// The SQLSTATE of a database error.
pub(super) fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(std::borrow::Cow::into_owned),
        _ => None,
    }
}

/// What an error the server reported means.
pub(super) fn database_error_kind(db: &dyn DatabaseError) -> StoreErrorKind {
    match db.code() {
        Some(code) if code == "23505" => StoreErrorKind::Conflict,
        Some(code) if is_unavailable(&code) => StoreErrorKind::Unavailable,
        Some(code) if is_invalid(&code) => StoreErrorKind::InvalidData,
        _ => StoreErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_sqlstate() {
        for code in [
            "08006", "08001", "57P01", "53300", "40001", "40P01", "3D000", "28P01",
        ] {
            assert!(is_unavailable(code), "{code}");
        }
        for code in ["23505", "22003", "42P01", "XX000"] {
            assert!(!is_unavailable(code), "{code}");
        }
        assert!(is_invalid("22P02") && is_invalid("23514") && !is_invalid("23505"));
    }
}
