//! Integration tests of the `greenkube` binary.

mod estimate;
mod recommend;
mod store;
