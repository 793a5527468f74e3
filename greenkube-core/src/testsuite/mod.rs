//! Contract test suites for the ports, the in-memory fakes, and deterministic fixtures
//! (feature `testsuite`).
//!
//! Every implementation of a port runs the same suite; a backend that fails it is a bug. In an
//! adapter's integration tests (with `tokio` as a dev-dependency, features `macros` and `rt`):
//!
//! ```text
//! async fn sqlite_in_memory() -> greenkube_core::testsuite::RepositoryFixture {
//!     let repo = open_my_backend().await.expect("opens");
//!     greenkube_core::testsuite::RepositoryFixture::new(repo)
//! }
//! greenkube_core::footprint_repository_contract_suite!(sqlite_in_memory);
//! ```
//!
//! The constructor is called once per test and must return an **empty** repository;
//! [`RepositoryFixture::with_guard`] keeps whatever the repository needs alive (a temporary
//! directory, a server) until the test ends.

pub mod contract;
pub mod fakes;
pub mod fixtures;
pub mod history_contract;
pub mod history_fakes;
pub mod retention_contract;

use std::any::Any;

use crate::ports::FootprintRepository;

/// A repository under test, and what must outlive it.
pub struct RepositoryFixture {
    // Declared first, so it is dropped before the guard.
    repository: Box<dyn FootprintRepository>,
    _guard: Option<Box<dyn Any + Send>>,
}

impl RepositoryFixture {
    /// A repository that needs nothing else.
    pub fn new(repository: impl FootprintRepository + 'static) -> Self {
        Self {
            repository: Box::new(repository),
            _guard: None,
        }
    }

    /// A repository and something to keep alive until it is dropped (a temporary directory).
    pub fn with_guard(
        repository: impl FootprintRepository + 'static,
        guard: impl Any + Send,
    ) -> Self {
        Self {
            repository: Box::new(repository),
            _guard: Some(Box::new(guard)),
        }
    }

    /// The repository.
    pub fn repository(&self) -> &dyn FootprintRepository {
        self.repository.as_ref()
    }
}

/// Generates one `#[tokio::test]` per rule of [`contract`] for a `FootprintRepository`.
///
/// The argument is an async function (or closure returning a future) producing a
/// [`RepositoryFixture`] around an empty repository. The calling crate needs `tokio` with the
/// `macros` and `rt` features.
#[macro_export]
macro_rules! footprint_repository_contract_suite {
    ($make:expr) => {
        $crate::footprint_repository_contract_suite!(
            @tests $make;
            round_trip_keeps_every_field,
            rewriting_a_window_is_idempotent,
            restating_a_window_replaces_it,
            same_window_twice_in_a_batch_keeps_the_last,
            batch_with_an_invalid_row_leaves_nothing,
            invalid_windows_are_rejected,
            aggregates_match_in_memory_for_every_grouping_and_period,
            aggregates_engine_footprints,
            ranges_are_half_open,
            iso_weeks_and_months_across_new_year,
            methodology_and_data_version_per_row,
            pages_visit_every_row_once,
            pod_columns_match_pod_rows,
            clusters_are_separate,
            pod_labels_keep_the_latest_window,
            empty_store,
        );
    };
    (@tests $make:expr; $($rule:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $rule() {
                let fixture: $crate::testsuite::RepositoryFixture = ($make)().await;
                $crate::testsuite::contract::$rule(fixture.repository()).await;
            }
        )*
    };
}

/// Generates one `#[tokio::test]` per roll-up and retention rule of
/// [`FootprintRepository::maintain`], like [`crate::footprint_repository_contract_suite!`].
#[macro_export]
macro_rules! retention_contract_suite {
    ($make:expr) => {
        $crate::retention_contract_suite!(
            @tests $make;
            roll_ups_keep_every_total,
            sealed_edges_cover_whole_hours_and_days,
            sealed_windows_are_refused,
            rewrites_in_rolled_up_hours_count_once,
            maintenance_is_idempotent,
            daily_retention_forgets_old_days,
        );
    };
    (@tests $make:expr; $($rule:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $rule() {
                let fixture: $crate::testsuite::RepositoryFixture = ($make)().await;
                $crate::testsuite::retention_contract::$rule(fixture.repository()).await;
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::RepositoryFixture;
    use super::fakes::InMemoryFootprintRepository;

    #[allow(clippy::unused_async, reason = "the suite awaits its constructor")]
    async fn in_memory() -> RepositoryFixture {
        RepositoryFixture::new(InMemoryFootprintRepository::new())
    }

    crate::footprint_repository_contract_suite!(in_memory);

    mod retention {
        use super::in_memory;

        crate::retention_contract_suite!(in_memory);
    }

    mod history {
        use crate::testsuite::history_contract::HistoryFixture;
        use crate::testsuite::history_fakes::InMemoryHistory;

        #[expect(clippy::unused_async, reason = "the suite awaits its constructor")]
        async fn in_memory() -> HistoryFixture {
            HistoryFixture::all(InMemoryHistory::new())
        }

        crate::history_contract_suite!(in_memory);
    }
}
