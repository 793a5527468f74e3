//! sqlx errors to [`StoreError`] for both SQL backends, in one place: the driver's own errors
//! here, what the database reports by the backend ([`Dialect::database_error_kind`]).

use greenkube_core::ports::{StoreError, StoreErrorKind};
use sqlx::migrate::MigrateError;

use super::Dialect;

/// What a sqlx error means for the caller.
pub(crate) fn kind_of<D: Dialect>(e: &sqlx::Error) -> StoreErrorKind {
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
        sqlx::Error::Database(db) => D::database_error_kind(db.as_ref()),
        sqlx::Error::Migrate(m) => migrate_kind::<D>(m),
        _ => StoreErrorKind::Other,
    }
}

fn migrate_kind<D: Dialect>(e: &MigrateError) -> StoreErrorKind {
    match e {
        MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _) => {
            kind_of::<D>(inner)
        }
        MigrateError::VersionMissing(_)
        | MigrateError::VersionMismatch(_)
        | MigrateError::VersionTooOld(..)
        | MigrateError::VersionTooNew(..)
        | MigrateError::Dirty(_) => StoreErrorKind::Conflict,
        _ => StoreErrorKind::Other,
    }
}

/// A sqlx error while `doing` something (lower-case, no trailing period). The drivers' errors
/// never contain the password of the URL.
pub(crate) fn sqlx_error<D: Dialect>(doing: &str, e: sqlx::Error) -> StoreError {
    StoreError::new(kind_of::<D>(&e), D::BACKEND, doing).with_source(e)
}

/// A migration error, with what it means for the user.
pub(crate) fn migrate_error<D: Dialect>(e: MigrateError) -> StoreError {
    let kind = migrate_kind::<D>(&e);
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
    StoreError::new(kind, D::BACKEND, message).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "sqlite")]
    type D = sqlx::Sqlite;
    #[cfg(not(feature = "sqlite"))]
    type D = sqlx::Postgres;

    #[test]
    fn kinds() {
        assert_eq!(
            kind_of::<D>(&sqlx::Error::PoolTimedOut),
            StoreErrorKind::Unavailable
        );
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            kind_of::<D>(&sqlx::Error::Io(refused)),
            StoreErrorKind::Unavailable
        );
        assert_eq!(
            kind_of::<D>(&sqlx::Error::ColumnNotFound("x".into())),
            StoreErrorKind::InvalidData
        );
        assert_eq!(
            migrate_kind::<D>(&MigrateError::VersionMissing(9)),
            StoreErrorKind::Conflict
        );
        let e = migrate_error::<D>(MigrateError::VersionMissing(9));
        assert!(e.to_string().contains("newer greenkube"), "{e}");
        assert!(
            e.to_string().starts_with(&format!("{} store:", D::BACKEND)),
            "{e}"
        );
    }
}
