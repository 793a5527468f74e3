//! Query parameters with GreenKube's rules: the `namespace` naming rule, the `last` grammar
//! (`30min`, `6h`, `7d`, `2w`, `1m` = 30 days, `1y` = 365 days, `ytd`), bounded limits,
//! FastAPI's booleans, and the report selectors (`last` | `start` and `end` | `years`).
//! A rule broken is 400 (GreenKube's own checks) or 422 (a type or bound, as FastAPI answers).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use greenkube_adapters::app::dashboard::Scope;
use greenkube_core::ports::TimeRange;

use super::error::ApiError;

/// The query string of a request, every pair in order (a key may repeat, as `years` does).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::parse(parts.uri.query().unwrap_or(""))
    }
}

/// The accepted forms of `last`, for error messages.
const LAST_FORMS: &str = "a number followed by min (minutes), h (hours), d (days), w (weeks), \
                          m (months of 30 days) or y (years of 365 days), such as 30min, 24h, \
                          7d, 1m, 1y; or ytd (since 1 January UTC)";

impl Params {
    pub(crate) fn parse(query: &str) -> Result<Self, ApiError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map(Self)
            .map_err(|e| ApiError::bad_request(format!("the query string cannot be read: {e}")))
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// `namespace`: absent or empty means every namespace; otherwise a Kubernetes name.
    pub(crate) fn namespace(&self) -> Result<Option<String>, ApiError> {
        match self.get("namespace").filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(namespace) if is_namespace(namespace) => Ok(Some(namespace.to_string())),
            Some(namespace) => Err(ApiError::bad_request(format!(
                "invalid namespace `{namespace}`: Kubernetes namespace names are 1 to 63 \
                 lowercase letters, digits and '-', starting with a letter or digit"
            ))),
        }
    }

    /// `cluster` (greenkube's addition): absent or empty means every cluster of the store;
    /// otherwise the name a collector wrote (1 to 253 characters, no control characters).
    pub(crate) fn cluster(&self) -> Result<Option<String>, ApiError> {
        match self.get("cluster").filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(cluster)
                if cluster.chars().count() <= 253 && !cluster.chars().any(char::is_control) =>
            {
                Ok(Some(cluster.to_string()))
            }
            Some(cluster) => Err(ApiError::bad_request(format!(
                "invalid cluster `{}`: a cluster name has 1 to 253 characters and no control \
                 characters",
                cluster.escape_debug()
            ))),
        }
    }

    /// `cluster` and `namespace`: the rows a read covers.
    pub(crate) fn scope(&self) -> Result<Scope, ApiError> {
        Ok(Scope::namespace(self.namespace()?).in_cluster(self.cluster()?))
    }

    /// `last` (default `24h`) as the range ending at `now`.
    pub(crate) fn last(&self, now: DateTime<Utc>) -> Result<TimeRange, ApiError> {
        last_range(self.get("last").unwrap_or("24h"), now)
    }

    /// An integer parameter between `min` and `max` (422 otherwise).
    pub(crate) fn bounded(
        &self,
        name: &str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(default);
        };
        let value: usize = text.trim().parse().map_err(|_| {
            ApiError::unprocessable(format!("`{name}` must be an integer, not `{text}`"))
        })?;
        if value < min || value > max {
            return Err(ApiError::unprocessable(format!(
                "`{name}` must be between {min} and {max}, not {value}"
            )));
        }
        Ok(value)
    }

    /// A boolean parameter as FastAPI reads one (`true/false`, `1/0`, `yes/no`, `on/off`).
    pub(crate) fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(false),
            Some("true" | "1" | "yes" | "on" | "t" | "y") => Ok(true),
            Some("false" | "0" | "no" | "off" | "f" | "n") => Ok(false),
            Some(other) => Err(ApiError::unprocessable(format!(
                "`{name}` must be a boolean (true or false), not `{other}`"
            ))),
        }
    }
}

/// Kubernetes' namespace rule as GreenKube checks it: `^[a-z0-9][a-z0-9-]{0,62}$`.
pub(crate) fn is_namespace(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// The range `[now - duration, now]` of a `last` value, or since 1 January for `ytd`.
pub(crate) fn last_range(text: &str, now: DateTime<Utc>) -> Result<TimeRange, ApiError> {
    let invalid =
        || ApiError::bad_request(format!("invalid `last` value `{text}`: use {LAST_FORMS}"));
    let lower = text.trim().to_ascii_lowercase();
    let from = if lower == "ytd" {
        Utc.with_ymd_and_hms(now.year(), 1, 1, 0, 0, 0)
            .single()
            .ok_or_else(invalid)?
    } else {
        let split = lower
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        let (digits, unit) = lower.split_at(split);
        if digits.is_empty() {
            return Err(invalid());
        }
        let count: i64 = digits.parse().map_err(|_| invalid())?;
        if count == 0 {
            return Err(invalid());
        }
        let unit_seconds: i64 = match unit {
            "min" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 604_800,
            "m" => 30 * 86_400,
            "y" => 365 * 86_400,
            _ => return Err(invalid()),
        };
        let seconds = count.checked_mul(unit_seconds).ok_or_else(invalid)?;
        TimeDelta::try_seconds(seconds)
            .and_then(|span| now.checked_sub_signed(span))
            .ok_or_else(invalid)?
    };
    TimeRange::new(from, now)
        .map_err(|e| ApiError::bad_request(format!("invalid `last` value `{text}`: {e}")))
}

/// An ISO date (a whole day; `end` days are included to their last instant) or an ISO
/// date-time with a zone (`Z` accepted).
fn instant(name: &str, text: &str, end: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end {
            date.succ_opt()
                .ok_or_else(|| ApiError::bad_request(format!("`{name}` {text} is out of range")))?
        } else {
            date
        };
        return Ok(day.and_time(NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| {
            ApiError::bad_request(format!(
                "invalid `{name}` `{text}`: use a date (2025-06-02) or an ISO date-time \
                 (2025-06-02T10:00:00Z)"
            ))
        })
}

/// The ranges a report covers: exactly one of `last`, `start` and `end`, or `years` (each a
/// whole calendar year; several are reported together).
pub(crate) fn report_ranges(
    params: &Params,
    now: DateTime<Utc>,
) -> Result<Vec<TimeRange>, ApiError> {
    let last = params.get("last");
    let start = params.get("start");
    let end = params.get("end");
    let years: Vec<&str> = params.all("years").collect();
    let selectors = usize::from(last.is_some())
        + usize::from(start.is_some() || end.is_some())
        + usize::from(!years.is_empty());
    if selectors > 1 {
        return Err(ApiError::bad_request(
            "give only one of `last`, `start` and `end`, or `years`",
        ));
    }
    match (start, end) {
        (Some(start), Some(end)) => {
            let from = instant("start", start, false)?;
            let to = instant("end", end, true)?;
            if from > to {
                return Err(ApiError::bad_request(format!(
                    "`start` {start} is after `end` {end}"
                )));
            }
            return TimeRange::new(from, to)
                .map(|r| vec![r])
                .map_err(|e| ApiError::bad_request(format!("invalid range: {e}")));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::bad_request("give both `start` and `end`"));
        }
        (None, None) => {}
    }
    if !years.is_empty() {
        let mut ranges = Vec::with_capacity(years.len());
        for text in years {
            let year: i32 = text
                .trim()
                .parse()
                .ok()
                .filter(|y| (1..=9999).contains(y))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("invalid year `{text}`: use 1 to 9999"))
                })?;
            let from = Utc
                .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
                .single()
                .ok_or_else(|| ApiError::bad_request(format!("invalid year `{text}`")))?;
            let to = Utc
                .with_ymd_and_hms(year + 1, 1, 1, 0, 0, 0)
                .single()
                .ok_or_else(|| ApiError::bad_request(format!("invalid year `{text}`")))?;
            let range = TimeRange::new(from, to)
                .map_err(|e| ApiError::bad_request(format!("invalid year `{text}`: {e}")))?;
            if !ranges.contains(&range) {
                ranges.push(range);
            }
        }
        return Ok(ranges);
    }
    Ok(vec![last_range(last.unwrap_or("24h"), now)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 15, 12, 0, 0).unwrap()
    }

    #[test]
    fn namespaces_follow_the_kubernetes_rule() {
        for good in ["default", "a", "team-1", "0abc", &"a".repeat(63)] {
            assert!(is_namespace(good), "{good}");
        }
        for bad in ["", "-a", "A", "a_b", "a.b", &"a".repeat(64), "é"] {
            assert!(!is_namespace(bad), "{bad}");
        }
    }

    #[test]
    fn last_grammar() {
        let span = |text: &str| {
            let r = last_range(text, now()).unwrap();
            (r.to() - r.from()).num_seconds()
        };
        assert_eq!(span("30min"), 1_800);
        assert_eq!(span("24H"), 86_400);
        assert_eq!(span("7d"), 7 * 86_400);
        assert_eq!(span("2w"), 14 * 86_400);
        assert_eq!(span("1m"), 30 * 86_400, "m is a month of 30 days");
        assert_eq!(span("1y"), 365 * 86_400);
        assert_eq!(
            last_range("ytd", now()).unwrap().from(),
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
        );
        for bad in [
            "",
            "h",
            "7",
            "7s",
            "1.5h",
            "-1h",
            "0h",
            "99999999999999999999y",
            "7 d",
        ] {
            let err = last_range(bad, now()).expect_err(bad);
            assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn report_selectors() {
        let ranges = |q: &str| report_ranges(&Params::parse(q).unwrap(), now());
        let r = ranges("start=2025-06-01&end=2025-06-02").unwrap();
        assert_eq!(
            r[0].from(),
            Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            r[0].to(),
            Utc.with_ymd_and_hms(2025, 6, 3, 0, 0, 0).unwrap(),
            "end day included"
        );
        let r = ranges("years=2024&years=2023&years=2024").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(ranges("").unwrap().len(), 1);
        for bad in [
            "last=7d&years=2024",
            "start=2025-06-01",
            "end=2025-06-01",
            "start=2025-06-03&end=2025-06-01",
            "years=0",
            "years=abc",
            "start=yesterday&end=2025-06-01",
        ] {
            assert_eq!(
                ranges(bad).expect_err(bad).status,
                axum::http::StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn limits_and_flags() {
        let p = Params::parse("limit=51&force=maybe&refresh=true").unwrap();
        assert_eq!(
            p.bounded("limit", 10, 1, 50).unwrap_err().status.as_u16(),
            422
        );
        assert_eq!(p.bounded("offset", 0, 0, 100).unwrap(), 0);
        assert_eq!(p.flag("force").unwrap_err().status.as_u16(), 422);
        assert!(p.flag("refresh").unwrap());
        assert!(!p.flag("absent").unwrap());
    }
}
