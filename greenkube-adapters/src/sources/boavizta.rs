//! Boavizta: manufacturing (embodied) emissions of cloud instance types, from a Boavizta API
//! server (`boaviztapi`), and [`CachedEmbodied`], which keeps the answers in an
//! [`EmbodiedCache`] so the server is asked once per instance type and cache period.
//!
//! Request: `GET <base>/v1/cloud/instance?provider=<p>&instance_type=<t>` with
//! `&verbose=false&criteria=gwp&duration=<h>`. The figure read is `impacts.gwp.embedded`
//! `{value, min, max}` in kgCO2eq (GreenKube 0.2 read `impacts.gwp.manufacture`, which the v1
//! API does not have, and always fell back).
//!
//! * **Duration.** Boavizta amortises the embodied emissions of an instance linearly over its
//!   life (6 years for m5.large: 24 kg) and, given `duration`, answers the share of that
//!   duration. The duration is always sent: [`DEFAULT_DURATION_HOURS`] (one year, 8760 h) unless
//!   [`BoaviztaSource::with_duration_hours`] says otherwise, and it is returned as
//!   [`EmbodiedFigure::duration_hours`], so the figure is the instance's emissions **per that
//!   many hours of use** (m5.large: 4.0 kg per 8760 h), ready to be amortised per window.
//! * **Providers.** greenkube's names map to Boavizta's: `aws`, `azure`, `gcp`, `ovh` (or
//!   `ovhcloud`) → `ovhcloud`, `scaleway` (case-insensitive). Any other provider is answered
//!   `Ok(None)` ("unknown instance") **without a request**: Boavizta has no data for it.
//! * **Instance types** are sent in lower case: Boavizta's catalogue is lower case (Azure's
//!   `Standard_D2as_v4` node label is listed as `standard_d2as_v4`), and a name it does not
//!   know exactly is fuzzy-matched to another one.
//! * **Unknown instance types** are `Ok(None)`: HTTP 404, and also an answer that Boavizta
//!   fuzzy-matched to a different instance type (a top-level warning "... not found; using
//!   closest match ... (fuzzy match)"), because that figure belongs to another machine
//!   (boaviztapi 2.5 answers `m9.large` with `m1.large`'s figure and `m5.3xlarge` with
//!   `m5.2xlarge`'s).
//! * A figure that is negative, not finite, with `min > max`, or in another unit than kgCO2eq
//!   is a [`SourceErrorKind::BadResponse`] naming the instance type.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::Duration;
use greenkube_core::Provider;
use greenkube_core::ports::{
    EmbodiedCache, EmbodiedCacheEntry, EmbodiedFigure, EmbodiedSource, SourceError,
    SourceErrorKind, SourceKind, StoreError,
};
use serde::Deserialize;
use serde_json::Value;

use super::clock::{Clock, system_clock};
use super::http::{HttpPolicy, SourceHttp};

/// The duration asked by default: one year of use, in hours.
pub const DEFAULT_DURATION_HOURS: f64 = 8760.0;

/// The unit Boavizta gives GWP figures in.
const GWP_UNIT: &str = "kgCO2eq";

/// Boavizta's name of a provider, `None` for a provider Boavizta has no data for.
pub fn boavizta_provider(provider: &str) -> Option<&'static str> {
    match Provider::parse(provider) {
        Provider::Aws => Some("aws"),
        Provider::Gcp => Some("gcp"),
        Provider::Azure => Some("azure"),
        Provider::Ovh => Some("ovhcloud"),
        Provider::Scaleway => Some("scaleway"),
        Provider::Unknown if provider.trim().eq_ignore_ascii_case("ovhcloud") => Some("ovhcloud"),
        Provider::Unknown => None,
    }
}

/// The Boavizta embodied-emissions source.
#[derive(Debug, Clone)]
pub struct BoaviztaSource {
    http: SourceHttp,
    duration_hours: f64,
}

impl BoaviztaSource {
    /// A source for the Boavizta API at `base_url` (for example `http://127.0.0.1:5000`),
    /// asking for [`DEFAULT_DURATION_HOURS`].
    pub fn new(base_url: &str, policy: HttpPolicy) -> Result<Self, SourceError> {
        Ok(Self {
            http: SourceHttp::new(SourceKind::Boavizta, base_url, policy)?,
            duration_hours: DEFAULT_DURATION_HOURS,
        })
    }

    /// Asks for figures over `hours` of use instead. Not a finite, positive number:
    /// [`SourceErrorKind::NotConfigured`].
    pub fn with_duration_hours(mut self, hours: f64) -> Result<Self, SourceError> {
        if !(hours.is_finite() && hours > 0.0) {
            return Err(self.http.error(
                SourceErrorKind::NotConfigured,
                format!(
                    "the duration of embodied figures must be a positive number of hours, not \
                     {hours}"
                ),
            ));
        }
        self.duration_hours = hours;
        Ok(self)
    }

    /// The duration asked, hours.
    pub fn duration_hours(&self) -> f64 {
        self.duration_hours
    }

    /// The base URL, without credentials.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }
}

/// The body of `/v1/cloud/instance` with `verbose=false&criteria=gwp`.
#[derive(Debug, Deserialize)]
struct InstanceAnswer {
    impacts: Impacts,
    #[serde(default)]
    warnings: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct Impacts {
    gwp: Gwp,
}

#[derive(Debug, Deserialize)]
struct Gwp {
    #[serde(default)]
    unit: Option<String>,
    embedded: Embedded,
}

#[derive(Debug, Deserialize)]
struct Embedded {
    value: f64,
    min: f64,
    max: f64,
}

/// The warning that says the figure is another instance type's.
fn fuzzy_matched(warnings: &[Value]) -> bool {
    warnings.iter().any(|w| {
        let text = w.as_str().map_or_else(|| w.to_string(), str::to_owned);
        let text = text.to_ascii_lowercase();
        text.contains("fuzzy match") || text.contains("closest match")
    })
}

#[async_trait]
impl EmbodiedSource for BoaviztaSource {
    async fn embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedFigure>, SourceError> {
        let Some(boavizta) = boavizta_provider(provider) else {
            return Ok(None);
        };
        let instance = instance_type.trim().to_ascii_lowercase();
        if instance.is_empty() {
            return Ok(None);
        }
        let answer: Option<InstanceAnswer> = self
            .http
            .get_json_or_404(
                "v1/cloud/instance",
                &[
                    ("provider", boavizta.to_owned()),
                    ("instance_type", instance.clone()),
                    ("verbose", "false".to_owned()),
                    ("criteria", "gwp".to_owned()),
                    ("duration", self.duration_hours.to_string()),
                ],
            )
            .await?;
        let Some(answer) = answer else {
            return Ok(None);
        };
        if answer.warnings.as_deref().is_some_and(fuzzy_matched) {
            return Ok(None);
        }
        let what = format!("{boavizta} {instance}");
        if let Some(unit) = answer.impacts.gwp.unit.as_deref()
            && unit != GWP_UNIT
        {
            return Err(self.http.error(
                SourceErrorKind::BadResponse,
                format!("embodied GWP of {what} is in {unit:?}, not {GWP_UNIT}"),
            ));
        }
        let Embedded { value, min, max } = answer.impacts.gwp.embedded;
        let valid = |x: f64| x.is_finite() && x >= 0.0;
        if !(valid(value) && valid(min) && valid(max) && min <= max) {
            return Err(self.http.error(
                SourceErrorKind::BadResponse,
                format!(
                    "embodied GWP of {what} is value {value}, min {min}, max {max}: not finite, \
                     non-negative numbers with min <= max"
                ),
            ));
        }
        Ok(Some(EmbodiedFigure {
            kgco2e: value,
            kgco2e_min: min,
            kgco2e_max: max,
            duration_hours: self.duration_hours,
        }))
    }
}

/// An [`EmbodiedSource`] that answers from an [`EmbodiedCache`] when it can.
///
/// A cached answer younger than `max_age` (by the wrapper's clock) is returned without asking
/// the source, including a cached "unknown instance type" (`Ok(None)`): GreenKube 0.2 cached
/// only known figures and asked Boavizta again every cycle for the others. Otherwise the source
/// is asked and its answer (a figure, or "unknown") is stored with the time it was fetched.
///
/// * Errors of the source are returned as they are and cache nothing; a stale entry is not
///   served in their place (the caller falls back with a reason naming the source).
/// * The cache is an optimisation: when it cannot be read or written, the source is asked (or
///   its answer returned) anyway, and the store's error is kept for
///   [`CachedEmbodied::take_cache_error`].
/// * An entry fetched "in the future" of the clock (clock skew between collectors), or with a
///   figure but no usable lifespan, is treated as stale.
/// * [`EmbodiedCacheEntry`] keeps the best estimate and its duration but not Boavizta's bounds,
///   so a figure answered from the cache has `kgco2e_min == kgco2e_max == kgco2e`.
pub struct CachedEmbodied<S: ?Sized, C: ?Sized> {
    source: Arc<S>,
    cache: Arc<C>,
    max_age: Duration,
    clock: Clock,
    cache_error: Mutex<Option<StoreError>>,
}

impl<S: ?Sized + fmt::Debug, C: ?Sized + fmt::Debug> fmt::Debug for CachedEmbodied<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedEmbodied")
            .field("source", &self.source)
            .field("cache", &self.cache)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl<S, C> CachedEmbodied<S, C>
where
    S: EmbodiedSource + ?Sized,
    C: EmbodiedCache + ?Sized,
{
    /// Wraps `source` with `cache`; answers older than `max_age` are fetched again (a negative
    /// `max_age` counts as zero: every call asks the source). Uses the system clock.
    pub fn new(source: Arc<S>, cache: Arc<C>, max_age: Duration) -> Self {
        Self {
            source,
            cache,
            max_age: max_age.max(Duration::zero()),
            clock: system_clock(),
            cache_error: Mutex::new(None),
        }
    }

    /// Uses another clock (tests, replays).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The last error of the cache since the previous call, if any.
    pub fn take_cache_error(&self) -> Option<StoreError> {
        self.cache_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn remember(&self, err: StoreError) {
        *self
            .cache_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(err);
    }

    /// The answer an entry gives at `now`, `None` when it is stale or unusable.
    fn fresh(
        &self,
        entry: &EmbodiedCacheEntry,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Cached> {
        let age = now.signed_duration_since(entry.fetched_at);
        if age < Duration::zero() || age > self.max_age {
            return None;
        }
        match (entry.kgco2e, entry.lifespan_hours) {
            (None, _) => Some(Cached::Unknown),
            (Some(kg), Some(hours))
                if kg.is_finite() && kg >= 0.0 && hours.is_finite() && hours > 0.0 =>
            {
                Some(Cached::Known(EmbodiedFigure {
                    kgco2e: kg,
                    kgco2e_min: kg,
                    kgco2e_max: kg,
                    duration_hours: hours,
                }))
            }
            _ => None,
        }
    }
}

/// A usable cached answer.
enum Cached {
    Known(EmbodiedFigure),
    Unknown,
}

#[async_trait]
impl<S, C> EmbodiedSource for CachedEmbodied<S, C>
where
    S: EmbodiedSource + ?Sized,
    C: EmbodiedCache + ?Sized,
{
    async fn embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedFigure>, SourceError> {
        let now = (self.clock)();
        match self.cache.cached_embodied(provider, instance_type).await {
            Ok(Some(entry)) => match self.fresh(&entry, now) {
                Some(Cached::Known(figure)) => return Ok(Some(figure)),
                Some(Cached::Unknown) => return Ok(None),
                None => {}
            },
            Ok(None) => {}
            Err(err) => self.remember(err),
        }
        let answer = self.source.embodied(provider, instance_type).await?;
        let entry = EmbodiedCacheEntry {
            provider: provider.trim().to_ascii_lowercase(),
            instance_type: instance_type.trim().to_owned(),
            kgco2e: answer.map(|f| f.kgco2e),
            lifespan_hours: answer.map(|f| f.duration_hours),
            fetched_at: now,
        };
        if let Err(err) = self.cache.cache_embodied(&entry).await {
            self.remember(err);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_map_to_boaviztas_names() {
        assert_eq!(boavizta_provider("AWS"), Some("aws"));
        assert_eq!(boavizta_provider("gcp"), Some("gcp"));
        assert_eq!(boavizta_provider("Azure"), Some("azure"));
        assert_eq!(boavizta_provider("ovh"), Some("ovhcloud"));
        assert_eq!(boavizta_provider("OVHcloud"), Some("ovhcloud"));
        assert_eq!(boavizta_provider(" scaleway "), Some("scaleway"));
        assert_eq!(boavizta_provider("hetzner"), None);
        assert_eq!(boavizta_provider(""), None);
    }

    #[test]
    fn fuzzy_matches_are_recognised() {
        let warnings = [Value::String(
            "Instance 'm9.large' not found; using closest match 'm1.large' (fuzzy match)"
                .to_owned(),
        )];
        assert!(fuzzy_matched(&warnings));
        assert!(!fuzzy_matched(&[Value::String(
            "End of life is not included in the calculation".to_owned()
        )]));
    }

    #[test]
    fn durations_must_be_positive() {
        let source =
            BoaviztaSource::new("http://127.0.0.1:5000", HttpPolicy::default()).expect("source");
        assert_eq!(source.duration_hours(), 8760.0);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = source
                .clone()
                .with_duration_hours(bad)
                .expect_err("refused");
            assert_eq!(err.kind, SourceErrorKind::NotConfigured);
        }
        let source = source.with_duration_hours(24.0).expect("a day");
        assert_eq!(source.duration_hours(), 24.0);
    }
}
