//! Times written as text, the same for every front end (command line, configuration file,
//! Python): durations (`30d`), retention periods (`forever`) and instants (`2025-06-01`, RFC
//! 3339).

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// A duration: a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`30d`, `12h`, `2w`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let expected = "expected a whole number and a unit, s, m, h, d or w (for example 30d)";
    let n: i64 = number.parse().map_err(|_| expected.to_string())?;
    let duration = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => return Err(expected.to_string()),
    };
    duration.ok_or_else(|| format!("`{text}` is too long"))
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
        for bad in ["", "d", "30", "30x", "-3d", "1.5d", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("9999999999999w").is_err());
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
