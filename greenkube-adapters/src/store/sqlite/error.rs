//! sqlx errors to [`StoreError`], in one place.

use greenkube_core::ports::{StoreError, StoreErrorKind};
use sqlx::error::ErrorKind as DbErrorKind;
use sqlx::migrate::MigrateError;

use super::BACKEND;

/// SQLite primary result codes that mean "not now" or "not reachable".
/// `SQLITE_BUSY` 5, `SQLITE_LOCKED` 6, `SQLITE_NOMEM` 7, `SQLITE_READONLY` 8,
/// `SQLITE_IOERR` 10, `SQLITE_FULL` 13, `SQLITE_CANTOPEN` 14, `SQLITE_PROTOCOL` 15.
const UNAVAILABLE_CODES: [i64; 8] = [5, 6, 7, 8, 10, 13, 14, 15];
/// `SQLITE_CORRUPT` 11, `SQLITE_MISMATCH` 20, `SQLITE_NOTADB` 26: the file is not what we wrote.
const INVALID_CODES: [i64; 3] = [11, 20, 26];

fn kind_of(e: &sqlx::Error) -> StoreErrorKind {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreErrorKind::Unavailable,
        sqlx::Error::Configuration(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => StoreErrorKind::InvalidData,
        sqlx::Error::Database(db) => match db.kind() {
            DbErrorKind::UniqueViolation => StoreErrorKind::Conflict,
            DbErrorKind::CheckViolation
            | DbErrorKind::NotNullViolation
            | DbErrorKind::ForeignKeyViolation => StoreErrorKind::InvalidData,
            _ => {
                let primary = db
                    .code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .map(|c| c & 0xff);
                match primary {
                    Some(c) if UNAVAILABLE_CODES.contains(&c) => StoreErrorKind::Unavailable,
                    Some(c) if INVALID_CODES.contains(&c) => StoreErrorKind::InvalidData,
                    _ => StoreErrorKind::Other,
                }
            }
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

/// A sqlx error while `doing` something (lower-case, no trailing period).
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
    fn kinds() {
        assert_eq!(
            kind_of(&sqlx::Error::PoolTimedOut),
            StoreErrorKind::Unavailable
        );
        assert_eq!(
            kind_of(&sqlx::Error::ColumnNotFound("x".into())),
            StoreErrorKind::InvalidData
        );
        assert_eq!(
            migrate_kind(&MigrateError::VersionMissing(9)),
            StoreErrorKind::Conflict
        );
        let e = convert_migrate_err(MigrateError::VersionMissing(9));
        assert!(e.to_string().contains("newer greenkube"), "{e}");
    }
}
