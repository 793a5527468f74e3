//! Runnable examples of greenkube; see the `[[example]]` targets of this package:
//! `cargo run -p greenkube-examples --example estimate_single_pod`.
