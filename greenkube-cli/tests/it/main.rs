//! Integration tests of the `greenkube` binary.

mod estimate;
