//! Binding, running and reading statements from code shared by both SQL backends.
//!
//! Generic code over a sqlx database cannot name "a `&str` binds to it" or "its pool runs
//! queries" without bounds that are not implied, so each is a method of a trait with one blanket
//! impl that carries the bounds ([`Exec`], [`Column`]): a backend gets them by being a
//! [`Dialect`](super::Dialect), and the bounds are checked once, for its concrete database.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use greenkube_core::ports::StoreError;
use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::Dialect;
use super::error::sqlx_error;

/// A statement of database `D` with its arguments.
pub(crate) type Query<'q, D> = sqlx::query::Query<'q, D, <D as Database>::Arguments<'q>>;

/// A boxed future that can cross threads.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Statements run on a pool, and migrations.
pub(crate) trait Exec: Database {
    /// Every row of `query`.
    fn fetch_all<'a>(
        pool: &'a Pool<Self>,
        query: Query<'a, Self>,
    ) -> BoxFuture<'a, Result<Vec<Self::Row>, sqlx::Error>>;

    /// The first row of `query`, if any.
    fn fetch_optional<'a>(
        pool: &'a Pool<Self>,
        query: Query<'a, Self>,
    ) -> BoxFuture<'a, Result<Option<Self::Row>, sqlx::Error>>;

    /// Every row of `query`, on a connection (or in a transaction).
    fn fetch_all_in<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        query: Query<'q, Self>,
    ) -> BoxFuture<'c, Result<Vec<Self::Row>, sqlx::Error>>;

    /// Runs `query` on a connection (or in a transaction) for its effect.
    fn execute_in<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        query: Query<'q, Self>,
    ) -> BoxFuture<'c, Result<Self::QueryResult, sqlx::Error>>;

    /// Applies the migrations `migrator` has and the database lacks.
    fn migrate<'a>(
        pool: &'a Pool<Self>,
        migrator: &'a Migrator,
    ) -> BoxFuture<'a, Result<(), MigrateError>>;
}

impl<D> Exec for D
where
    D: Database,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    D::Connection: Migrate,
{
    fn fetch_all<'a>(
        pool: &'a Pool<D>,
        query: Query<'a, D>,
    ) -> BoxFuture<'a, Result<Vec<D::Row>, sqlx::Error>> {
        Box::pin(query.fetch_all(pool))
    }

    fn fetch_optional<'a>(
        pool: &'a Pool<D>,
        query: Query<'a, D>,
    ) -> BoxFuture<'a, Result<Option<D::Row>, sqlx::Error>> {
        Box::pin(query.fetch_optional(pool))
    }

    fn fetch_all_in<'c, 'q: 'c>(
        conn: &'c mut D::Connection,
        query: Query<'q, D>,
    ) -> BoxFuture<'c, Result<Vec<D::Row>, sqlx::Error>> {
        Box::pin(query.fetch_all(conn))
    }

    fn execute_in<'c, 'q: 'c>(
        conn: &'c mut D::Connection,
        query: Query<'q, D>,
    ) -> BoxFuture<'c, Result<D::QueryResult, sqlx::Error>> {
        Box::pin(query.execute(conn))
    }

    fn migrate<'a>(
        pool: &'a Pool<D>,
        migrator: &'a Migrator,
    ) -> BoxFuture<'a, Result<(), MigrateError>> {
        Box::pin(migrator.run(pool))
    }
}

/// Values of type `T` are read from rows of this database and bound to its statements.
pub(crate) trait Column<T>: Database {
    /// Column `index` of `row`.
    fn read(row: &Self::Row, index: usize) -> Result<T, sqlx::Error>;

    /// `query` with `value` bound to its next placeholder.
    fn bind(query: Query<'_, Self>, value: T) -> Query<'_, Self>;
}

impl<D, T> Column<T> for D
where
    D: Database,
    T: for<'q> Encode<'q, D> + for<'r> Decode<'r, D> + Type<D> + Send + 'static,
    usize: ColumnIndex<D::Row>,
{
    fn read(row: &D::Row, index: usize) -> Result<T, sqlx::Error> {
        row.try_get(index)
    }

    fn bind(query: Query<'_, D>, value: T) -> Query<'_, D> {
        query.bind(value)
    }
}

/// Binding to the statements of a [`Dialect`].
pub(crate) trait Bind<D: Dialect>: Sized {
    /// Binds a value.
    fn arg<T>(self, value: T) -> Self
    where
        D: Column<T>;

    /// Binds an instant as the backend stores it (whole microseconds, rounded down).
    fn time(self, t: DateTime<Utc>) -> Self;

    /// Binds an instant or NULL.
    fn opt_time(self, t: Option<DateTime<Utc>>) -> Self;

    /// Binds the bound of a range of stored instants (rounded up to the microsecond).
    fn bound(self, t: DateTime<Utc>) -> Self;
}

impl<D: Dialect> Bind<D> for Query<'_, D> {
    fn arg<T>(self, value: T) -> Self
    where
        D: Column<T>,
    {
        <D as Column<T>>::bind(self, value)
    }

    fn time(self, t: DateTime<Utc>) -> Self {
        D::bind_time(self, Some(t))
    }

    fn opt_time(self, t: Option<DateTime<Utc>>) -> Self {
        D::bind_time(self, t)
    }

    fn bound(self, t: DateTime<Utc>) -> Self {
        D::bind_bound(self, t)
    }
}

/// Every row of `query`, read while `doing` something (for the error).
pub(crate) async fn fetch_all<'a, D: Dialect>(
    pool: &'a Pool<D>,
    query: Query<'a, D>,
    doing: &str,
) -> Result<Vec<D::Row>, StoreError> {
    D::fetch_all(pool, query)
        .await
        .map_err(|e| sqlx_error::<D>(doing, e))
}

/// Every row of `query`, on a connection (or in a transaction).
pub(crate) async fn fetch_all_in<D: Dialect>(
    conn: &mut D::Connection,
    query: Query<'_, D>,
    doing: &str,
) -> Result<Vec<D::Row>, StoreError> {
    D::fetch_all_in(conn, query)
        .await
        .map_err(|e| sqlx_error::<D>(doing, e))
}

/// Runs `query` on a connection (or in a transaction); returns the rows it changed.
pub(crate) async fn execute_in<D: Dialect>(
    conn: &mut D::Connection,
    query: Query<'_, D>,
    doing: &str,
) -> Result<u64, StoreError> {
    let done = D::execute_in(conn, query)
        .await
        .map_err(|e| sqlx_error::<D>(doing, e))?;
    Ok(D::rows_affected(&done))
}

/// The first row of `query`, if any.
pub(crate) async fn fetch_optional<'a, D: Dialect>(
    pool: &'a Pool<D>,
    query: Query<'a, D>,
    doing: &str,
) -> Result<Option<D::Row>, StoreError> {
    D::fetch_optional(pool, query)
        .await
        .map_err(|e| sqlx_error::<D>(doing, e))
}
