//! Time arguments: the core's parsers of times written as text (one rule for every front end).

pub(crate) use greenkube_core::time_text::{
    KeepFor, Lookback, parse_duration, parse_duration_or_forever, parse_instant, parse_lookback,
};
