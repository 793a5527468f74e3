//! Integration tests of greenkube-core.
#![expect(
    clippy::unreadable_literal,
    reason = "byte counts and GreenKube's figures are written as the spec writes them"
)]

mod bad_input;
mod common;
mod golden;
mod invariants;
mod large;
mod recommend;
mod reference_data;
mod score;
mod waste;
mod whatif;
