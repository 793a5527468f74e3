//! The embedded reference tables: they parse, keys are unique, every mapped zone has an
//! intensity, values are in sane ranges.

use greenkube_core::ReferenceData;
use greenkube_core::reference::{Provider, Tables};

#[test]
fn embedded_tables_parse() {
    let data = ReferenceData::try_embedded().expect("embedded tables parse");
    assert!(data.instance_type_count() > 2000);
    assert!(data.version().starts_with("gkdata-"));
}

#[test]
fn every_mapped_zone_has_an_intensity() {
    let data = ReferenceData::embedded();
    let mut n = 0;
    for (provider, region, rz) in data.region_zones() {
        for zone in [&rz.zone, &rz.classic_zone] {
            assert!(
                data.zone_intensity(zone).is_some(),
                "{provider}/{region} maps to {zone}, which has no intensity"
            );
        }
        n += 1;
    }
    assert!(n > 150, "region table has {n} rows");
}

#[test]
fn values_are_in_sane_ranges() {
    let data = ReferenceData::embedded();
    for z in data.zones() {
        let i = z.intensity;
        assert!(i.is_consistent(), "{}: {i:?}", z.zone);
        assert!((0.0..=1500.0).contains(&i.point), "{}: {}", z.zone, i.point);
    }
    for p in Provider::KNOWN.into_iter().chain([Provider::Unknown]) {
        let d = data.provider(p);
        assert!((1.0..=2.5).contains(&d.pue.point), "{p}");
        assert!(d.pue.is_consistent() && d.pue.low >= 1.0, "{p}");
        assert!(d.power.min_watts.point < d.power.max_watts.point, "{p}");
        assert!(d.power.max_watts.high < 20.0, "{p}");
    }
    let c = data.coefficients();
    assert_eq!(c.default_intensity.point, 500.0);
    assert_eq!(c.default_embodied_kgco2e.point, 100.0);
    assert_eq!(c.lifespan_hours.point, 35_040.0);
}

#[test]
fn instance_lookup_is_case_insensitive_and_families_resolve() {
    let data = ReferenceData::embedded();
    let it = data
        .instance_type(Provider::Aws, "M5.Large")
        .expect("m5.large");
    assert_eq!(it.vcpus, 2.0);
    for family in &it.microarchitectures {
        assert!(data.cpu_power(family, Provider::Aws).is_some(), "{family}");
    }
    // Unknown provider: found when exactly one provider sells the type.
    assert_eq!(
        data.instance_type(Provider::Unknown, "n2-standard-8")
            .map(|i| i.provider),
        Some(Provider::Gcp)
    );
    assert!(data.instance_type(Provider::Gcp, "m5.large").is_none());
}

#[test]
fn corrupt_tables_are_reported_not_panicking() {
    let mut tables = Tables::EMBEDDED;
    tables.providers = "provider,pue\naws,abc\n";
    let err = ReferenceData::from_tables(&tables).unwrap_err();
    assert_eq!(err.table, "providers.csv");
    let mut tables = Tables::EMBEDDED;
    tables.region_zones = "provider,region,classic_zone,zone,source\naws,x,NOPE,NOPE,t\n";
    let err = ReferenceData::from_tables(&tables).unwrap_err();
    assert!(err.message.contains("NOPE"), "{err}");
}
