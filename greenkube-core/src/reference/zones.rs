//! Cloud region or availability zone to electricity zone.

use super::{Provider, ReferenceData, RegionZone};

/// How a cloud location was matched to an electricity zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneMatch {
    /// The input already was an electricity zone code (on-premises nodes labelled `FR`).
    Passthrough,
    /// The input is a region of the table.
    Region,
    /// The input was reduced to a region of the table (`eu-west-3a` to `eu-west-3`).
    Derived(String),
}

impl ReferenceData {
    /// Maps a zone label or region id to an electricity zone, GreenKube-style: pass-through of
    /// zone codes, exact region match (provider first), then regions derived from the input by
    /// dropping a trailing availability-zone suffix. `classic` selects GreenKube's own zone
    /// column. `OpenStack`'s placeholder zone `nova` maps to nothing.
    pub fn map_zone(
        &self,
        input: &str,
        provider: Provider,
        classic: bool,
    ) -> Option<(&str, ZoneMatch)> {
        let input = input.trim();
        if input.is_empty() || input.eq_ignore_ascii_case("nova") {
            return None;
        }
        if let Some(known) = self.zone_intensity(input)
            && known.zone == input
        {
            return Some((known.zone.as_str(), ZoneMatch::Passthrough));
        }
        let lower = input.to_ascii_lowercase();
        if let Some(mapping) = self.lookup_region(provider, &lower) {
            return Some((Self::pick_zone(mapping, classic), ZoneMatch::Region));
        }
        let candidates = derive_candidates(input);
        for candidate in &candidates {
            if let Some(mapping) = self
                .region_zones
                .get(&(provider, candidate.to_ascii_lowercase()))
            {
                return Some((
                    Self::pick_zone(mapping, classic),
                    ZoneMatch::Derived(candidate.clone()),
                ));
            }
        }
        for candidate in &candidates {
            if let Some(mapping) = self.region_zones_any.get(&candidate.to_ascii_lowercase()) {
                return Some((
                    Self::pick_zone(mapping, classic),
                    ZoneMatch::Derived(candidate.clone()),
                ));
            }
        }
        None
    }

    fn pick_zone(mapping: &RegionZone, classic: bool) -> &str {
        if classic {
            &mapping.classic_zone
        } else {
            &mapping.zone
        }
    }

    fn lookup_region(&self, provider: Provider, lower: &str) -> Option<&RegionZone> {
        self.region_zones
            .get(&(provider, lower.to_string()))
            .or_else(|| self.region_zones_any.get(lower))
    }
}

/// Regions a zone label may belong to, most specific rule first.
fn derive_candidates(input: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !s.is_empty() && s != input && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    };
    let bytes = input.as_bytes();
    // GCP style: `europe-west9-a` -> `europe-west9`.
    if let Some(pos) = input.rfind('-') {
        let tail = &input[pos + 1..];
        if tail.len() == 1 && tail.as_bytes()[0].is_ascii_alphabetic() {
            push(&input[..pos]);
        }
        // Trailing numeric segment: `fr-par-1` -> `fr-par`.
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            push(&input[..pos]);
        }
    }
    // AWS style: `us-east-1a` -> `us-east-1`.
    if bytes.len() >= 2
        && bytes[bytes.len() - 1].is_ascii_alphabetic()
        && bytes[bytes.len() - 2].is_ascii_digit()
    {
        push(&input[..input.len() - 1]);
    }
    // OVH data centre: `GRA11` -> `GRA`.
    let letters = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if (2..=4).contains(&letters)
        && letters < bytes.len()
        && bytes[letters..].iter().all(u8::is_ascii_digit)
    {
        push(&input[..letters]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(input: &str, provider: Provider) -> Option<String> {
        ReferenceData::embedded()
            .map_zone(input, provider, true)
            .map(|(z, _)| z.to_string())
    }

    #[test]
    fn greenkube_pinned_cases() {
        use Provider::*;
        assert_eq!(zone("europe-west9-a", Gcp).as_deref(), Some("FR"));
        assert_eq!(zone("us-east-1a", Aws).as_deref(), Some("US-MIDA-PJM"));
        assert_eq!(zone("eastus", Azure).as_deref(), Some("US-MIDA-PJM"));
        assert_eq!(zone("rbx", Ovh).as_deref(), Some("FR"));
        assert_eq!(zone("PAR1", Scaleway).as_deref(), Some("FR"));
        assert_eq!(zone("GRA11", Unknown).as_deref(), Some("FR"));
        assert_eq!(zone("WAW1", Unknown).as_deref(), Some("PL"));
        assert_eq!(zone("BHS5", Unknown).as_deref(), Some("CA-QC"));
        assert_eq!(zone("eu-west-par-a", Ovh).as_deref(), Some("FR"));
        assert_eq!(zone("ap-southeast-syd", Ovh).as_deref(), Some("AU-NSW"));
        assert_eq!(zone("nova", Ovh), None);
        for code in ["FR", "DE", "US-CAL-CISO", "AU-NSW", "CA-QC", "SE-SE3"] {
            assert_eq!(zone(code, Unknown).as_deref(), Some(code));
        }
    }

    #[test]
    fn scaleway_kapsule_zone_maps() {
        assert_eq!(zone("fr-par-1", Provider::Scaleway).as_deref(), Some("FR"));
        assert_eq!(zone("nl-ams-2", Provider::Scaleway).as_deref(), Some("NL"));
    }

    #[test]
    fn candidates_cover_each_rule() {
        assert_eq!(derive_candidates("europe-west9-a"), vec!["europe-west9"]);
        assert_eq!(derive_candidates("us-east-1a"), vec!["us-east-1"]);
        assert_eq!(derive_candidates("fr-par-1"), vec!["fr-par"]);
        assert_eq!(derive_candidates("GRA11"), vec!["GRA"]);
        assert!(derive_candidates("westeurope").is_empty());
    }
}
