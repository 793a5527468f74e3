//! Times written as text, the same for every front end (command line, configuration file,
//! Python): durations (`30d`, `1mo`; `m` is minutes), look-backs (`ytd`), retention periods
//! (`forever`) and instants (`2025-06-01`, RFC 3339).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

/// The units of a duration, with their length in seconds. `m` is minutes (as in `5m` steps);
/// a month is `mo` or `month`, 30 days; a year `y` or `year`, 365 days (fixed lengths, the
/// same as GreenKube's `last` parameter, where `m` is written `min`).
const UNITS: [(&str, i64); 13] = [
    ("s", 1),
    ("sec", 1),
    ("m", 60),
    ("min", 60),
    ("h", 3_600),
    ("d", 86_400),
    ("w", 7 * 86_400),
    ("mo", 30 * 86_400),
    ("month", 30 * 86_400),
    ("months", 30 * 86_400),
    ("y", 365 * 86_400),
    ("year", 365 * 86_400),
    ("years", 365 * 86_400),
];

/// What a duration may be, for messages.
pub const DURATION_FORMS: &str = "a whole number and a unit: s, m or min (minutes), h, d, w, \
                                  mo or month (30 days), y or year (365 days); for example 30d";

/// A duration: a whole number and a unit (`30d`, `12h`, `2w`, `90m`, `1mo`, `1y`; see
/// [`DURATION_FORMS`]). `m` is minutes, never months: a month is `mo` or `month`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let expected = || format!("expected {DURATION_FORMS}");
    let n: i64 = number.parse().map_err(|_| expected())?;
    let Some((_, seconds)) = UNITS.iter().find(|(name, _)| *name == unit.trim()) else {
        return Err(if unit.trim() == "M" {
            format!(
                "`{text}`: a month is `mo` or `month` (`m` is minutes); expected {DURATION_FORMS}"
            )
        } else {
            expected()
        });
    };
    n.checked_mul(*seconds)
        .and_then(Duration::try_seconds)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// How far back a report or a scan reaches from now: a duration, or the year to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookback {
    /// The last duration.
    Last(Duration),
    /// Since 1 January, 00:00 UTC, of the current year (`ytd`).
    YearToDate,
}

impl Lookback {
    /// The duration it reaches back from `now` (for `ytd`, from 1 January of `now`'s year).
    pub fn before(self, now: DateTime<Utc>) -> Duration {
        match self {
            Self::Last(duration) => duration,
            Self::YearToDate => Utc
                .with_ymd_and_hms(now.year(), 1, 1, 0, 0, 0)
                .single()
                .map_or(Duration::zero(), |start| now - start),
        }
    }
}

/// A look-back: a duration ([`parse_duration`]) or `ytd` (the year to date).
pub fn parse_lookback(text: &str) -> Result<Lookback, String> {
    if text.trim().eq_ignore_ascii_case("ytd") {
        return Ok(Lookback::YearToDate);
    }
    parse_duration(text)
        .map(Lookback::Last)
        .map_err(|e| format!("{e}, or `ytd` (the year to date)"))
}

/// A retention period: a duration, or forever (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepFor(pub Option<Duration>);

/// A duration, or `forever`.
pub fn parse_duration_or_forever(text: &str) -> Result<KeepFor, String> {
    if text.trim().eq_ignore_ascii_case("forever") {
        return Ok(KeepFor(None));
    }
    parse_duration(text)
        .map(|d| KeepFor(Some(d)))
        .map_err(|e| format!("{e}, or `forever`"))
}

/// An instant: RFC 3339 with a time zone (`2025-06-01T00:00:00Z`), or a date (midnight UTC).
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    Err(
        "expected an RFC 3339 time with a zone (2025-06-01T00:00:00Z) or a date (2025-06-01)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Ok(Duration::days(30)));
        assert_eq!(parse_duration("12h"), Ok(Duration::hours(12)));
        assert_eq!(parse_duration("2w"), Ok(Duration::weeks(2)));
        assert_eq!(parse_duration("90m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("45s"), Ok(Duration::seconds(45)));
        assert_eq!(parse_duration("90min"), Ok(Duration::minutes(90)));
        // `m` stays minutes; a month is `mo` or `month`, 30 days; a year 365 days.
        assert_eq!(parse_duration("1m"), Ok(Duration::minutes(1)));
        assert_eq!(parse_duration("1mo"), Ok(Duration::days(30)));
        assert_eq!(parse_duration("1month"), Ok(Duration::days(30)));
        assert_eq!(parse_duration("3months"), Ok(Duration::days(90)));
        assert_eq!(parse_duration("1y"), Ok(Duration::days(365)));
        assert_eq!(parse_duration(" 2year "), Ok(Duration::days(730)));
        let month = parse_duration("1M").unwrap_err();
        assert!(month.contains("`mo` or `month`"), "{month}");
        for bad in [
            "",
            "d",
            "30",
            "30x",
            "-3d",
            "1.5d",
            "99999999999999999999d",
            "1mon",
            "ytd",
            "1 d x",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("9999999999999w").is_err());
    }

    #[test]
    fn lookbacks() {
        let now = parse_instant("2025-03-02T12:00:00Z").unwrap();
        assert_eq!(
            parse_lookback("30d").map(|l| l.before(now)),
            Ok(Duration::days(30))
        );
        let ytd = parse_lookback("YTD").unwrap();
        assert_eq!(ytd, Lookback::YearToDate);
        assert_eq!(now - ytd.before(now), parse_instant("2025-01-01").unwrap());
        let err = parse_lookback("soon").unwrap_err();
        assert!(err.contains("ytd"), "{err}");
    }

    #[test]
    fn instants() {
        let t = parse_instant("2025-06-01T02:00:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-06-01T00:00:00+00:00");
        assert_eq!(parse_instant("2025-06-01").unwrap(), t);
        assert!(parse_instant("2025-06-01T00:00:00").is_err());
        assert!(parse_instant("June 1st").is_err());
    }
}
