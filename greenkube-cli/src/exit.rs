//! The exit status of `greenkube`: one meaning per code, listed in `greenkube --help` and the
//! README, so scripts and CI can tell a tripped gate from a failure and a failure from a store
//! that is down.

use std::process::ExitCode;

use greenkube_adapters::app::AppError;
use greenkube_core::ports::{StoreError, StoreErrorKind};

/// An error: bad input, a store or source that refused the request, a bug.
pub(crate) const ERROR: u8 = 1;
/// A usage error: an unknown flag, an invalid value, a combination of flags that does not go
/// together (clap's own code for the first two).
pub(crate) const USAGE: u8 = 2;
/// A CI gate tripped (`recommend --fail-on-co2-savings`, `--fail-on-cost-savings`).
pub(crate) const GATE: u8 = 3;
/// The store is unavailable: it does not exist, cannot be reached, or is locked (retrying
/// later, or creating it, may help).
pub(crate) const UNAVAILABLE: u8 = 4;

/// The table shown at the end of `greenkube --help` (the README has the same table).
pub(crate) const TABLE: &str = "Exit status:\n  \
    0  success\n  \
    1  error (bad input, a store or source refused the request)\n  \
    2  usage: unknown flag, invalid value, or flags that do not go together\n  \
    3  a CI gate tripped (recommend --fail-on-co2-savings / --fail-on-cost-savings)\n  \
    4  the store is unavailable (missing, unreachable or locked)";

/// Flags that do not go together, found after parsing (clap finds the others): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// The exit code of a command that failed with `err`: [`USAGE`] for a [`UsageError`],
/// [`UNAVAILABLE`] for a store that is unavailable, else [`ERROR`].
pub(crate) fn code_of(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>() {
            return USAGE;
        }
        let store =
            cause
                .downcast_ref::<StoreError>()
                .or_else(|| match cause.downcast_ref::<AppError>() {
                    Some(AppError::Store(e)) => Some(e),
                    _ => None,
                });
        if store.is_some_and(|e| e.kind() == StoreErrorKind::Unavailable) {
            return UNAVAILABLE;
        }
    }
    ERROR
}

/// [`code_of`] as the process's exit code.
pub(crate) fn of_error(err: &anyhow::Error) -> ExitCode {
    ExitCode::from(code_of(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_cause() {
        assert_eq!(code_of(&anyhow::anyhow!("boom")), ERROR);
        let usage = anyhow::Error::new(UsageError("give --since".into())).context("report");
        assert_eq!(code_of(&usage), USAGE);
        let down = anyhow::Error::new(StoreError::unavailable("sqlite", "locked")).context("x");
        assert_eq!(code_of(&down), UNAVAILABLE);
        let wrapped = anyhow::Error::new(AppError::Store(StoreError::unavailable("pg", "down")));
        assert_eq!(code_of(&wrapped), UNAVAILABLE);
        let refused = anyhow::Error::new(StoreError::conflict("sqlite", "sealed"));
        assert_eq!(code_of(&refused), ERROR);
    }
}
