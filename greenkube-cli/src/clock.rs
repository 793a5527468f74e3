//! The wall clock. The core reads no clock: the front end reads "now" here, once per command or
//! request, and passes it on.

/// Now, from the system clock.
pub(crate) fn wall_clock() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
}
