//! sqlx errors to [`StoreError`], in one place, by SQLSTATE class
//! (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).

use greenkube_core::ports::{StoreError, StoreErrorKind};
use sqlx::migrate::MigrateError;

use super::BACKEND;

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

pub(super) fn kind_of(e: &sqlx::Error) -> StoreErrorKind {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreErrorKind::Unavailable,
        sqlx::Error::Configuration(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => StoreErrorKind::InvalidData,
        sqlx::Error::Database(db) => match db.code() {
            Some(code) if code == "23505" => StoreErrorKind::Conflict,
            Some(code) if is_unavailable(&code) => StoreErrorKind::Unavailable,
            Some(code) if is_invalid(&code) => StoreErrorKind::InvalidData,
            _ => StoreErrorKind::Other,
        },
        sqlx::Error::Migrate(m) => migrate_kind(m),
        _ => StoreErrorKind::Other,
    }
}

fn migrate_kind(e: &MigrateError) -> StoreErrorKind {
    match e {
        MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _) => kind_of(inner),
        MigrateError::VersionMissing(_)
        | MigrateError::VersionMismatch(_)
        | MigrateError::VersionTooOld(..)
        | MigrateError::VersionTooNew(..)
        | MigrateError::Dirty(_) => StoreErrorKind::Conflict,
        _ => StoreErrorKind::Other,
    }
}

/// A sqlx error while `doing` something (lower-case, no trailing period). The driver's errors
/// never contain the password of the URL.
pub(super) fn convert_sqlx_err(doing: &str, e: sqlx::Error) -> StoreError {
    StoreError::new(kind_of(&e), BACKEND, doing).with_source(e)
}

/// A migration error, with what it means for the user.
pub(super) fn convert_migrate_err(e: MigrateError) -> StoreError {
    let kind = migrate_kind(&e);
    let message = match &e {
        MigrateError::VersionMissing(v) => format!(
            "the database has schema version {v}, which this greenkube does not know: \
             it was written by a newer greenkube"
        ),
        MigrateError::VersionMismatch(v) => {
            format!("schema migration {v} recorded in the database differs from this greenkube's")
        }
        MigrateError::Dirty(v) => format!("schema migration {v} was left half-applied"),
        _ => "migrating the schema".to_string(),
    };
    StoreError::new(kind, BACKEND, message).with_source(e)
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
        assert_eq!(
            kind_of(&sqlx::Error::PoolTimedOut),
            StoreErrorKind::Unavailable
        );
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            kind_of(&sqlx::Error::Io(refused)),
            StoreErrorKind::Unavailable
        );
        assert_eq!(
            migrate_kind(&MigrateError::VersionMissing(9)),
            StoreErrorKind::Conflict
        );
        let e = convert_migrate_err(MigrateError::VersionMissing(9));
        assert!(e.to_string().contains("newer greenkube"), "{e}");
        assert!(e.to_string().starts_with("postgres store:"), "{e}");
    }
}
