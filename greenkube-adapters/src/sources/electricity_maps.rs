//! Electricity Maps (API v3): grid carbon intensity per zone, latest, last 24 hours and forecast.
//!
//! Requests: `GET <base>/carbon-intensity/<latest|history|forecast>?zone=<zone>` with
//! `&emissionFactorType=<t>` and the token in the `auth-token` header (base [`DEFAULT_URL`]).
//! The emission factor type is always sent explicitly: [`EmissionFactorType::Lifecycle`] by
//! default (Electricity Maps' own default), configurable with
//! [`ElectricityMapsSource::with_emission_factor_type`]. An answer that says it is of another
//! type than asked is a [`SourceErrorKind::BadResponse`]: mixing direct and lifecycle figures
//! would be a silent error.
//!
//! Points are [`IntensityPoint`]s of the zone asked, at the answer's `datetime`, in gCO2e/kWh,
//! with source [`SOURCE`] (`electricity-maps`) or, for the forecast, [`FORECAST_SOURCE`]
//! (`electricity-maps-forecast`).
//!
//! **Missing values.** Electricity Maps writes `"carbonIntensity": null` when it has no figure
//! for an hour. That is never read as zero:
//! * for `latest` it is a [`SourceErrorKind::BadResponse`] naming the zone and the hour;
//! * in `history` and `forecast` the hour is skipped: the caller sees a gap (that hour is absent
//!   from the list), never a zero. The port has no channel for per-point notes, so the skip is
//!   visible only as the gap. A list whose every hour is null is a
//!   [`SourceErrorKind::BadResponse`].
//!
//! Negative values are a [`SourceErrorKind::BadResponse`] too.
//!
//! **Quotas.** Answers are cached in memory per (endpoint, zone, clock hour): asking the same
//! zone twice in the same hour makes one request, including when the two calls run at the same
//! time (the second waits for the first). Errors are not cached. The cache only holds the current
//! hour; it is dropped when the clock enters a new one.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::ports::{
    IntensityPoint, IntensitySource, SourceError, SourceErrorKind, SourceKind,
};
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::clock::{Clock, system_clock};
use super::http::{HttpPolicy, SourceHttp};

/// The public API's base URL.
pub const DEFAULT_URL: &str = "https://api.electricitymaps.com/v3";
/// Source of measured points.
pub const SOURCE: &str = "electricity-maps";
/// Source of forecast points.
pub const FORECAST_SOURCE: &str = "electricity-maps-forecast";

/// Which emission factors Electricity Maps applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EmissionFactorType {
    /// Life-cycle factors (construction, fuel supply, combustion): Electricity Maps' default.
    #[default]
    Lifecycle,
    /// Direct (combustion only) factors.
    Direct,
}

impl EmissionFactorType {
    /// The API's name for it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lifecycle => "lifecycle",
            Self::Direct => "direct",
        }
    }
}

impl fmt::Display for EmissionFactorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An emission factor type that is neither `lifecycle` nor `direct`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown emission factor type {0:?} (expected lifecycle or direct)")]
pub struct UnknownEmissionFactorType(pub String);

impl FromStr for EmissionFactorType {
    type Err = UnknownEmissionFactorType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("lifecycle") {
            Ok(Self::Lifecycle)
        } else if s.eq_ignore_ascii_case("direct") {
            Ok(Self::Direct)
        } else {
            Err(UnknownEmissionFactorType(s.to_owned()))
        }
    }
}

/// The Electricity Maps intensity source.
pub struct ElectricityMapsSource {
    http: SourceHttp,
    factor: EmissionFactorType,
    clock: Clock,
    cache: Mutex<Cache>,
}

impl fmt::Debug for ElectricityMapsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a sensitive header of `http`, never printed.
        f.debug_struct("ElectricityMapsSource")
            .field("base_url", &self.http.base_url())
            .field("emission_factor_type", &self.factor)
            .finish_non_exhaustive()
    }
}

type Slot<T> = Arc<OnceCell<T>>;

/// Answers of the current clock hour.
#[derive(Default)]
struct Cache {
    /// Hours since the epoch of the answers held.
    hour: Option<i64>,
    latest: HashMap<String, Slot<IntensityPoint>>,
    history: HashMap<String, Slot<Vec<IntensityPoint>>>,
    forecast: HashMap<String, Slot<Vec<IntensityPoint>>>,
}

impl ElectricityMapsSource {
    /// A source for the API at `base_url` (usually [`DEFAULT_URL`]) with an API token. An empty
    /// token is [`SourceErrorKind::NotConfigured`].
    pub fn new(base_url: &str, token: &str, policy: HttpPolicy) -> Result<Self, SourceError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(SourceError::new(
                SourceKind::ElectricityMaps,
                SourceErrorKind::NotConfigured,
                "no API token",
            ));
        }
        let http = SourceHttp::new(SourceKind::ElectricityMaps, base_url, policy)?
            .with_header("auth-token", token)?;
        Ok(Self {
            http,
            factor: EmissionFactorType::default(),
            clock: system_clock(),
            cache: Mutex::new(Cache::default()),
        })
    }

    /// Asks for another emission factor type (default [`EmissionFactorType::Lifecycle`]).
    #[must_use]
    pub fn with_emission_factor_type(mut self, factor: EmissionFactorType) -> Self {
        self.factor = factor;
        self
    }

    /// Uses another clock for the hourly cache (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The emission factor type asked for.
    pub fn emission_factor_type(&self) -> EmissionFactorType {
        self.factor
    }

    /// The slot of `zone` in the map `pick` selects, for the current hour.
    fn slot<T>(
        &self,
        zone: &str,
        pick: fn(&mut Cache) -> &mut HashMap<String, Slot<T>>,
    ) -> Slot<T> {
        let hour = (self.clock)().timestamp().div_euclid(3600);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.hour != Some(hour) {
            *cache = Cache {
                hour: Some(hour),
                ..Cache::default()
            };
        }
        pick(&mut cache).entry(zone.to_owned()).or_default().clone()
    }

    async fn cached<T, F, Fut>(
        &self,
        zone: &str,
        pick: fn(&mut Cache) -> &mut HashMap<String, Slot<T>>,
        fetch: F,
    ) -> Result<T, SourceError>
    where
        T: Clone,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, SourceError>>,
    {
        self.slot(zone, pick).get_or_try_init(fetch).await.cloned()
    }

    fn query(&self, zone: &str) -> [(&'static str, String); 2] {
        [
            ("zone", zone.to_owned()),
            ("emissionFactorType", self.factor.as_str().to_owned()),
        ]
    }

    async fn fetch_latest(&self, zone: &str) -> Result<IntensityPoint, SourceError> {
        let record: Record = self
            .http
            .get_json("carbon-intensity/latest", &self.query(zone))
            .await?;
        let at = record.datetime;
        self.point(zone, &record, SOURCE)?.ok_or_else(|| {
            self.http.error(
                SourceErrorKind::BadResponse,
                format!(
                    "latest carbonIntensity of zone {zone} at {} is null",
                    at.to_rfc3339()
                ),
            )
        })
    }

    async fn fetch_series(
        &self,
        zone: &str,
        kind: SeriesKind,
    ) -> Result<Vec<IntensityPoint>, SourceError> {
        let path = kind.path();
        let body: Series = self.http.get_json(path, &self.query(zone)).await?;
        let records = match kind {
            SeriesKind::History => body.history,
            SeriesKind::Forecast => body.forecast,
        }
        .ok_or_else(|| {
            self.http.error(
                SourceErrorKind::BadResponse,
                format!(
                    "{path} of zone {zone}: the answer has no {} list",
                    kind.field()
                ),
            )
        })?;
        let asked = records.len();
        let mut points = Vec::with_capacity(asked);
        for record in records {
            if let Some(point) = self.point(zone, &record, kind.source())? {
                points.push(point);
            }
        }
        if asked > 0 && points.is_empty() {
            return Err(self.http.error(
                SourceErrorKind::BadResponse,
                format!("{path} of zone {zone}: carbonIntensity is null at all {asked} hours"),
            ));
        }
        points.sort_by_key(|p| p.at);
        Ok(points)
    }

    /// One record as a point; `Ok(None)` when its intensity is null.
    fn point(
        &self,
        zone: &str,
        record: &Record,
        source: &str,
    ) -> Result<Option<IntensityPoint>, SourceError> {
        if let Some(kind) = record.emission_factor_type.as_deref()
            && !kind.eq_ignore_ascii_case(self.factor.as_str())
        {
            return Err(self.http.error(
                SourceErrorKind::BadResponse,
                format!(
                    "zone {zone} at {}: emissionFactorType is {kind:?}, {:?} was asked",
                    record.datetime.to_rfc3339(),
                    self.factor.as_str()
                ),
            ));
        }
        let Some(value) = record.carbon_intensity else {
            return Ok(None);
        };
        if !(value.is_finite() && value >= 0.0) {
            return Err(self.http.error(
                SourceErrorKind::BadResponse,
                format!(
                    "zone {zone} at {}: carbonIntensity {value} is not a finite, non-negative \
                     number",
                    record.datetime.to_rfc3339()
                ),
            ));
        }
        Ok(Some(IntensityPoint {
            zone: zone.to_owned(),
            at: record.datetime,
            gco2e_per_kwh: value,
            source: source.to_owned(),
        }))
    }
}

/// The zone, trimmed; an empty one is [`SourceErrorKind::NotFound`] without a request.
fn checked_zone<'a>(http: &SourceHttp, zone: &'a str) -> Result<&'a str, SourceError> {
    let zone = zone.trim();
    if zone.is_empty() {
        Err(http.error(SourceErrorKind::NotFound, "empty electricity zone"))
    } else {
        Ok(zone)
    }
}

/// The two endpoints that answer a list of hours.
#[derive(Debug, Clone, Copy)]
enum SeriesKind {
    History,
    Forecast,
}

impl SeriesKind {
    const fn path(self) -> &'static str {
        match self {
            Self::History => "carbon-intensity/history",
            Self::Forecast => "carbon-intensity/forecast",
        }
    }

    const fn field(self) -> &'static str {
        match self {
            Self::History => "history",
            Self::Forecast => "forecast",
        }
    }

    const fn source(self) -> &'static str {
        match self {
            Self::History => SOURCE,
            Self::Forecast => FORECAST_SOURCE,
        }
    }
}

/// One hour of a zone, as `latest`, `history` and `forecast` give it.
#[derive(Debug, Deserialize)]
struct Record {
    #[serde(rename = "carbonIntensity", default)]
    carbon_intensity: Option<f64>,
    datetime: DateTime<Utc>,
    #[serde(rename = "emissionFactorType", default)]
    emission_factor_type: Option<String>,
}

/// The body of `history` (`history`) and `forecast` (`forecast`).
#[derive(Debug, Deserialize)]
struct Series {
    #[serde(default)]
    history: Option<Vec<Record>>,
    #[serde(default)]
    forecast: Option<Vec<Record>>,
}

#[async_trait]
impl IntensitySource for ElectricityMapsSource {
    async fn latest(&self, zone: &str) -> Result<IntensityPoint, SourceError> {
        let zone = checked_zone(&self.http, zone)?;
        self.cached(zone, |c| &mut c.latest, || self.fetch_latest(zone))
            .await
    }

    async fn history(&self, zone: &str) -> Result<Vec<IntensityPoint>, SourceError> {
        let zone = checked_zone(&self.http, zone)?;
        self.cached(
            zone,
            |c| &mut c.history,
            || self.fetch_series(zone, SeriesKind::History),
        )
        .await
    }

    async fn forecast(&self, zone: &str) -> Result<Vec<IntensityPoint>, SourceError> {
        let zone = checked_zone(&self.http, zone)?;
        self.cached(
            zone,
            |c| &mut c.forecast,
            || self.fetch_series(zone, SeriesKind::Forecast),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emission_factor_types_parse() {
        assert_eq!(
            "Lifecycle".parse::<EmissionFactorType>(),
            Ok(EmissionFactorType::Lifecycle)
        );
        assert_eq!(
            " direct ".parse::<EmissionFactorType>(),
            Ok(EmissionFactorType::Direct)
        );
        assert_eq!(
            "marginal".parse::<EmissionFactorType>(),
            Err(UnknownEmissionFactorType("marginal".to_owned()))
        );
        assert_eq!(EmissionFactorType::default().as_str(), "lifecycle");
    }

    #[test]
    fn an_empty_token_is_not_configured() {
        let err = ElectricityMapsSource::new(DEFAULT_URL, " ", HttpPolicy::default())
            .expect_err("no token");
        assert_eq!(err.kind, SourceErrorKind::NotConfigured);
        assert_eq!(err.source_kind, SourceKind::ElectricityMaps);
    }

    #[test]
    fn debug_output_hides_the_token() {
        let source = ElectricityMapsSource::new(DEFAULT_URL, "s3cr3t-token", HttpPolicy::default())
            .expect("source");
        let shown = format!("{source:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("api.electricitymaps.com"), "{shown}");
    }
}
