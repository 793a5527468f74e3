//! Integration tests of greenkube-core.

mod bad_input;
mod common;
mod golden;
mod invariants;
mod reference_data;
