//! The clock of the sources that cache answers: a closure, so tests can move time.

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

/// Gives "now". Sources hold one so that their caches can be tested without waiting.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| DateTime::<Utc>::from(SystemTime::now()))
}

/// A clock that always says `at` (for tests and replays).
pub fn fixed_clock(at: DateTime<Utc>) -> Clock {
    Arc::new(move || at)
}
