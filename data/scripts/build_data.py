#!/usr/bin/env python3
"""Build greenkube's embedded reference-data tables.

Reads the curated source pack (default: ../shared/reference-data relative to
the repository root) and writes the CSV tables that greenkube-core embeds at
build time into data/.  Standard library only; output is deterministic
(sorted rows, LF line endings, minimal quoting, shortest float form).

Usage:
    python3 data/scripts/build_data.py [--source DIR] [--out DIR]

All tables are built and checked in memory first; nothing is written unless
every check passes.  See data/README.md for the meaning of every column and
for the derivation rules implemented here.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import statistics
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "reference-data"
DEFAULT_OUT = REPO_ROOT / "data"

PROVIDERS = ("aws", "gcp", "azure", "ovh", "scaleway")

# --- project judgement constants (documented in data/README.md) -------------

# cpu_power: a family average hides a per-SKU spread of roughly +-10 %.
CPU_SPREAD_LOW, CPU_SPREAD_HIGH = 0.9, 1.1

# providers: margins added around the PUE figures known for a provider.
PUE_MARGIN_LOW, PUE_MARGIN_HIGH = 0.05, 0.10
UNKNOWN_PUE, UNKNOWN_PUE_LOW, UNKNOWN_PUE_HIGH = 1.3, 1.09, 2.0

# OVH and Scaleway have no CPU family in the instance catalogue; GreenKube
# documents these families as the basis of its per-provider averages.
DOCUMENTED_FAMILIES = {
    "ovh": ("Haswell", "Broadwell", "Skylake", "Cascade Lake",
            "EPYC 3rd Gen", "EPYC 4th Gen"),
    "scaleway": ("EPYC 1st Gen", "EPYC 2nd Gen", "EPYC 3rd Gen",
                 "Skylake", "Cascade Lake"),
}

# region_pue: asymmetric band around CCF's trailing-twelve-month figure.
REGION_PUE_LOW, REGION_PUE_HIGH = 0.02, 0.05

# region_zones: disagreement rows that keep GreenKube's zone (all others
# switch to CCF's zone, as assessed in the source README).
KEEP_GREENKUBE_ZONE = {("azure", "westus2"), ("azure", "westus3")}
EXPECTED_DISAGREEMENTS = 26
EXPECTED_SWITCHED = 24

# zone_intensity: relative half-width of the range, by basis.
INTENSITY_SPREAD = {"zone": 0.15, "state": 0.25, "parent_zone": 0.30,
                    "country": 0.30}

# embodied: minimum width of the range around the preferred figure.
EMBODIED_LOW_FACTOR, EMBODIED_HIGH_FACTOR = 0.8, 1.2

HOURS_PER_YEAR = 8760

# citation prefix -> short tag used in the generated `source` columns
CITATION_TAGS = {
    "GreenKubeCloud/GreenKube": "gk",
    "cloud-carbon-footprint/ccf-coefficients": "ccfcoef",
    "cloud-carbon-footprint/cloud-carbon-footprint": "ccfapp",
}
CITATION_RE = re.compile(r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+|[A-Za-z0-9_.-]+==[0-9.]+):([^\s;,()]+)")


# --- helpers -----------------------------------------------------------------

def check(cond: bool, msg: str) -> None:
    """Assertion that survives `python -O`."""
    if not cond:
        raise AssertionError(msg)


def num(text: str) -> float:
    return float(text)


def fmt(value: float | int | str | None, ndigits: int = 6) -> str:
    """Shortest decimal form of a value rounded to `ndigits` decimals."""
    if value is None or value == "":
        return ""
    x = round(float(value), ndigits)
    if x == 0:
        return "0"
    if x.is_integer():
        return str(int(x))
    return repr(x)


def read_csv(source: Path, name: str) -> list[dict[str, str]]:
    path = source / name
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def tags_of(citation: str) -> list[str]:
    """Turn a full citation string into short `tag:file` tags."""
    tags = []
    for repo, path in CITATION_RE.findall(citation):
        if "==" in repo:
            prefix = repo.split("==")[0]
        else:
            prefix = CITATION_TAGS.get(repo)
            check(prefix is not None, f"unknown citation repository {repo!r}")
        tags.append(f"{prefix}:{path.rsplit('/', 1)[-1]}")
    if citation.strip().lower().startswith("derived"):
        tags.append("derived")
    check(bool(tags), f"no citation found in {citation!r}")
    return tags


def join_tags(*groups) -> str:
    seen: list[str] = []
    for group in groups:
        for tag in ([group] if isinstance(group, str) else group):
            for part in tag.split(";"):
                if part and part not in seen:
                    seen.append(part)
    # keep `derived` last so the citations read first
    if "derived" in seen:
        seen.remove("derived")
        seen.append("derived")
    return ";".join(seen)


def split_families(cell: str) -> list[str]:
    return [f.strip() for f in cell.split("|") if f.strip()]


class Table:
    def __init__(self, name: str, header: list[str], key: list[str]):
        self.name = name
        self.header = header
        self.key = key
        self.rows: list[dict[str, str]] = []

    def add(self, **row: str) -> None:
        check(set(row) == set(self.header),
              f"{self.name}: columns {sorted(row)} != {sorted(self.header)}")
        self.rows.append(row)

    def sort(self) -> None:
        self.rows.sort(key=lambda r: tuple((r[k].lower(), r[k]) for k in self.key))

    def render(self) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(self.header)
        for row in self.rows:
            writer.writerow([row[c] for c in self.header])
        return buf.getvalue().encode("utf-8")


# --- table builders ----------------------------------------------------------

def build_instance_types(src) -> Table:
    t = Table("instance_types.csv",
              ["provider", "instance_type", "vcpus", "memory_gib",
               "microarchitecture", "source"],
              ["provider", "instance_type"])
    for r in src["instance_types"]:
        vcpus = num(r["vcpus"])
        check(vcpus.is_integer(), f"non-integer vcpus for {r['instance_type']}")
        t.add(provider=r["provider"], instance_type=r["instance_type"],
              vcpus=str(int(vcpus)), memory_gib=fmt(r["memory_gib"]),
              microarchitecture="|".join(split_families(r["microarchitecture"])),
              source=r["source"])
    check(len(t.rows) == len(src["instance_types"]) == 2209,
          f"instance_types: expected 2209 rows, got {len(t.rows)}")
    return t


def power_rows(src):
    """microarchitecture_power rows without GreenKube's provider averages."""
    return [r for r in src["microarchitecture_power"]
            if not r["microarchitecture"].startswith("provider_average_")]


def build_cpu_power(src) -> Table:
    t = Table("cpu_power.csv",
              ["microarchitecture", "scope", "min_watts_per_vcpu", "min_low",
               "min_high", "max_watts_per_vcpu", "max_low", "max_high", "source"],
              ["microarchitecture", "scope"])
    for r in power_rows(src):
        check(r["scope"] in ("all", "gcp", "azure"), f"unexpected scope {r['scope']}")
        lo, hi = num(r["min_watts_per_vcpu"]), num(r["max_watts_per_vcpu"])
        t.add(microarchitecture=r["microarchitecture"], scope=r["scope"],
              min_watts_per_vcpu=fmt(lo), min_low=fmt(lo * CPU_SPREAD_LOW),
              min_high=fmt(lo * CPU_SPREAD_HIGH),
              max_watts_per_vcpu=fmt(hi), max_low=fmt(hi * CPU_SPREAD_LOW),
              max_high=fmt(hi * CPU_SPREAD_HIGH),
              source=join_tags(tags_of(r["source"])))
    return t


def resolve_family(src, provider: str, family: str):
    """Provider-scope power row if there is one, else the `all` row."""
    by_key = {(r["microarchitecture"], r["scope"]): r for r in power_rows(src)}
    return by_key.get((family, provider)) or by_key.get((family, "all"))


def build_providers(src) -> Table:
    t = Table("providers.csv",
              ["provider", "pue", "pue_low", "pue_high", "min_watts_per_vcpu",
               "min_low", "min_high", "max_watts_per_vcpu", "max_low",
               "max_high", "source"],
              ["provider"])
    defaults = {r["provider"]: r for r in src["provider_defaults"]}
    check(set(defaults) == set(PROVIDERS) | {"unknown"},
          f"provider_defaults providers: {sorted(defaults)}")

    for p in PROVIDERS:
        d = defaults[p]
        pue = num(d["pue"])
        tags = tags_of(d["source"])

        # PUE range: every PUE figure known for the provider.
        pues = [pue]
        if d["ccf_pue"]:
            pues.append(num(d["ccf_pue"]))
            tags += tags_of(d["ccf_source"])
        for r in src["region_pue"]:
            if r["provider"] == p:
                pues.append(num(r["pue"]))
                tags += tags_of(r["source"])
        pue_low = round(min(pues) - PUE_MARGIN_LOW, 3)
        pue_high = round(max(pues) + PUE_MARGIN_HIGH, 3)

        # Watts range: CPU families of the provider's instance catalogue.
        families = sorted({f for r in src["instance_types"] if r["provider"] == p
                           for f in split_families(r["microarchitecture"])})
        if not families:
            families = sorted(DOCUMENTED_FAMILIES[p])
            for f in families:
                check(resolve_family(src, p, f) is not None,
                      f"{p}: documented family {f!r} has no power row")
        power = [resolve_family(src, p, f) for f in families]
        power = [r for r in power if r is not None]
        check(bool(power), f"{p}: no CPU family with a power row")
        for r in power:
            tags += tags_of(r["source"])
        mins = [num(r["min_watts_per_vcpu"]) for r in power]
        maxs = [num(r["max_watts_per_vcpu"]) for r in power]
        wmin, wmax = num(d["min_watts_per_vcpu"]), num(d["max_watts_per_vcpu"])

        t.add(provider=p, pue=fmt(pue),
              pue_low=fmt(min(pue_low, pue), 3), pue_high=fmt(max(pue_high, pue), 3),
              min_watts_per_vcpu=fmt(wmin),
              min_low=fmt(min(min(mins), wmin)), min_high=fmt(max(max(mins), wmin)),
              max_watts_per_vcpu=fmt(wmax),
              max_low=fmt(min(min(maxs), wmax)), max_high=fmt(max(max(maxs), wmax)),
              source=join_tags(tags, "derived"))

    # Unknown provider: GreenKube DEFAULT_PUE; watts from every `all` family.
    d = defaults["unknown"]
    check(num(d["pue"]) == UNKNOWN_PUE, "unknown PUE differs from GreenKube DEFAULT_PUE")
    fam = [r for r in power_rows(src) if r["scope"] == "all"]
    mins = [num(r["min_watts_per_vcpu"]) for r in fam]
    maxs = [num(r["max_watts_per_vcpu"]) for r in fam]
    tags = tags_of(d["source"])
    for r in fam:
        tags += tags_of(r["source"])
    t.add(provider="unknown", pue=fmt(UNKNOWN_PUE),
          pue_low=fmt(UNKNOWN_PUE_LOW, 3), pue_high=fmt(UNKNOWN_PUE_HIGH, 3),
          min_watts_per_vcpu=fmt(statistics.fmean(mins)),
          min_low=fmt(min(mins)), min_high=fmt(max(mins)),
          max_watts_per_vcpu=fmt(statistics.fmean(maxs)),
          max_low=fmt(min(maxs)), max_high=fmt(max(maxs)),
          source=join_tags(tags, "derived"))
    return t


def build_region_pue(src) -> Table:
    t = Table("region_pue.csv",
              ["provider", "region", "pue", "pue_low", "pue_high", "source"],
              ["provider", "region"])
    for r in src["region_pue"]:
        pue = num(r["pue"])
        t.add(provider=r["provider"], region=r["region"], pue=fmt(pue),
              pue_low=fmt(pue - REGION_PUE_LOW, 3),
              pue_high=fmt(pue + REGION_PUE_HIGH, 3),
              source=join_tags(tags_of(r["source"])))
    check(len(t.rows) == 8 and all(r["provider"] == "gcp" for r in t.rows),
          "region_pue: expected 8 GCP rows")
    return t


def build_region_zones(src) -> Table:
    t = Table("region_zones.csv",
              ["provider", "region", "classic_zone", "zone", "source"],
              ["provider", "region"])
    disagreements = switched = 0
    kept = set()
    for r in src["region_zones"]:
        classic = r["electricity_zone"]
        zone = classic
        if r["ccf_zone"]:
            disagreements += 1
            if (r["provider"], r["region"].lower()) in KEEP_GREENKUBE_ZONE:
                kept.add((r["provider"], r["region"].lower()))
            else:
                zone = r["ccf_zone"]
                switched += 1
        t.add(provider=r["provider"], region=r["region"], classic_zone=classic,
              zone=zone, source=r["source"])
    check(len(t.rows) == 193, f"region_zones: expected 193 rows, got {len(t.rows)}")
    check(disagreements == EXPECTED_DISAGREEMENTS,
          f"region_zones: {disagreements} disagreement rows, expected {EXPECTED_DISAGREEMENTS}")
    check(kept == KEEP_GREENKUBE_ZONE, f"region_zones: kept-GreenKube rows {sorted(kept)}")
    check(switched == EXPECTED_SWITCHED,
          f"region_zones: {switched} rows switched to CCF zone, expected {EXPECTED_SWITCHED}")
    return t


def build_zone_intensity(src) -> Table:
    t = Table("zone_intensity.csv",
              ["zone", "gco2e_per_kwh", "low", "high", "year", "basis", "source"],
              ["zone"])
    for r in src["zone_intensity"]:
        spread = INTENSITY_SPREAD.get(r["basis"])
        check(spread is not None, f"zone_intensity: unknown basis {r['basis']!r}")
        value = num(r["gco2e_per_kwh"])
        t.add(zone=r["zone"], gco2e_per_kwh=fmt(value, 3),
              low=fmt(max(0.0, value * (1 - spread)), 3),
              high=fmt(value * (1 + spread), 3),
              year=r["year"], basis=r["basis"],
              source=join_tags(tags_of(r["source"])))
    check(len(t.rows) == 269, f"zone_intensity: expected 269 rows, got {len(t.rows)}")
    return t


def build_embodied(src) -> Table:
    t = Table("embodied.csv",
              ["provider", "instance_type", "kgco2e", "kgco2e_low", "kgco2e_high",
               "lifespan_hours", "method", "source"],
              ["provider", "instance_type"])
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in src["embodied_instances"]:
        groups.setdefault((r["provider"], r["instance_type"].lower()), []).append(r)
    for rows in groups.values():
        preferred = [r for r in rows if r["is_preferred"] == "true"]
        check(len(preferred) == 1,
              f"embodied: {len(preferred)} preferred rows for {rows[0]['instance_type']}")
        pref = preferred[0]
        point = num(pref["embodied_kgco2e_instance"])
        values = [num(r["embodied_kgco2e_instance"]) for r in rows]
        low = min(min(values), EMBODIED_LOW_FACTOR * point)
        high = max(max(values), EMBODIED_HIGH_FACTOR * point)
        years = num(pref["lifespan_years"])
        t.add(provider=pref["provider"], instance_type=pref["instance_type"],
              kgco2e=fmt(point), kgco2e_low=fmt(low), kgco2e_high=fmt(high),
              lifespan_hours=fmt(years * HOURS_PER_YEAR), method=pref["method"],
              source=join_tags(tags_of(pref["source"])))
    return t


def build_coefficients(src) -> Table:
    t = Table("coefficients.csv",
              ["name", "value", "low", "high", "unit", "source"], ["name"])
    rc = {(r["name"], r["provider"]): r for r in src["resource_coefficients"]}

    def value(name: str, provider: str = "all") -> tuple[float, list[str]]:
        r = rc[(name, provider)]
        return num(r["value"]), tags_of(r["source"])

    # memory: CCF 0.000392 kWh per GB-hour == 0.392 W per GB; +-25 %.
    kwh, kwh_tags = value("memory_energy_coefficient")
    watts, _ = value("memory_power_per_gb")
    check(abs(kwh * 1000 - watts) < 1e-9, "memory W/GB inconsistent with kWh/GB-h")
    app_tags = []
    for p in ("aws", "gcp", "azure"):
        v, tg = value("memory_energy_coefficient", p)
        check(v == kwh, f"memory coefficient for {p} differs")
        app_tags += tg
    t.add(name="memory_watts_per_gb", value=fmt(watts), low=fmt(watts * 0.75),
          high=fmt(watts * 1.25), unit="W per GB of memory",
          source=join_tags(kwh_tags, app_tags, "derived"))

    v, tg = value("gk_default_intensity")
    t.add(name="default_intensity", value=fmt(v), low="30", high="900",
          unit="gCO2e per kWh", source=join_tags(tg))

    v, tg = value("gk_default_embodied_emissions")
    base, base_tg = value("base_manufacturing_emissions")
    t.add(name="default_embodied_kgco2e", value=fmt(v), low=fmt(v * 0.5),
          high=fmt(base), unit="kgCO2e per node", source=join_tags(tg, base_tg))

    v, tg = value("gk_embodied_lifespan_hours")
    years, years_tg = value("gk_default_hardware_lifespan")
    ccf_years, ccf_tg = value("rack_server_lifespan")
    check(v == years * HOURS_PER_YEAR == ccf_years * HOURS_PER_YEAR,
          "lifespan hours inconsistent with 4 years")
    t.add(name="lifespan_hours", value=fmt(v), low=fmt(3 * HOURS_PER_YEAR),
          high=fmt(6 * HOURS_PER_YEAR), unit="hours",
          source=join_tags(tg, years_tg, ccf_tg))

    for name, src_name, unit in (
            ("classic_default_vcores", "gk_default_instance_vcores", "vCPU"),
            ("classic_default_min_watts", "gk_default_instance_min_watts", "W"),
            ("classic_default_max_watts", "gk_default_instance_max_watts", "W"),
            ("joules_per_kwh", "joules_per_kwh", "J per kWh")):
        v, tg = value(src_name)
        t.add(name=name, value=fmt(v), low=fmt(v), high=fmt(v), unit=unit,
              source=join_tags(tg))

    expected = {
        "memory_watts_per_gb": ("0.392", "0.294", "0.49"),
        "default_intensity": ("500", "30", "900"),
        "default_embodied_kgco2e": ("100", "50", "1000"),
        "lifespan_hours": ("35040", "26280", "52560"),
        "classic_default_vcores": ("1", "1", "1"),
        "classic_default_min_watts": ("1", "1", "1"),
        "classic_default_max_watts": ("10", "10", "10"),
        "joules_per_kwh": ("3600000", "3600000", "3600000"),
    }
    got = {r["name"]: (r["value"], r["low"], r["high"]) for r in t.rows}
    check(got == expected, f"coefficients differ from the agreed values: {got}")
    return t


# --- cross-table checks ------------------------------------------------------

def validate(tables: dict[str, Table]) -> None:
    for t in tables.values():
        keys = [tuple(r[k].lower() for k in t.key) for r in t.rows]
        check(len(keys) == len(set(keys)), f"{t.name}: duplicate key (case-insensitive)")
        for r in t.rows:
            for c in t.header:
                check(r[c] == r[c].strip() and "\n" not in r[c],
                      f"{t.name}: untrimmed cell in column {c}")

    def bounded(t: Table, point: str, low: str, high: str, lo_ok: float, hi_ok: float,
                bound_hi: float | None = None):
        for r in t.rows:
            p, lo, hi = num(r[point]), num(r[low]), num(r[high])
            check(lo <= p <= hi, f"{t.name}: {low} <= {point} <= {high} fails: {r}")
            check(lo_ok <= p <= hi_ok, f"{t.name}: {point} out of range: {r}")
            check(lo_ok <= lo and hi <= (bound_hi if bound_hi is not None else hi_ok),
                  f"{t.name}: {low}/{high} out of range: {r}")

    zi = tables["zone_intensity"]
    # Intensity points must lie in 0-1500 g/kWh; a +-30 % band on the very
    # highest country averages (TM 1306, UZ 1167.6) may reach up to 2000.
    bounded(zi, "gco2e_per_kwh", "low", "high", 0, 1500, bound_hi=2000)
    bounded(tables["cpu_power"], "min_watts_per_vcpu", "min_low", "min_high", 0, 20)
    bounded(tables["cpu_power"], "max_watts_per_vcpu", "max_low", "max_high", 0, 20)
    pv = tables["providers"]
    bounded(pv, "pue", "pue_low", "pue_high", 1, 2.5)
    bounded(pv, "min_watts_per_vcpu", "min_low", "min_high", 0, 20)
    bounded(pv, "max_watts_per_vcpu", "max_low", "max_high", 0, 20)
    bounded(tables["region_pue"], "pue", "pue_low", "pue_high", 1, 2.5)
    bounded(tables["embodied"], "kgco2e", "kgco2e_low", "kgco2e_high", 0, 100000)
    bounded(tables["coefficients"], "value", "low", "high", 0, float("inf"))
    for t in (tables["cpu_power"], pv):
        for r in t.rows:
            check(num(r["min_watts_per_vcpu"]) < num(r["max_watts_per_vcpu"]),
                  f"{t.name}: min watts not below max watts: {r}")
    for r in tables["embodied"].rows:
        check(r["lifespan_hours"] == "35040", f"embodied: lifespan {r}")

    zones = {r["zone"].lower() for r in zi.rows}
    for r in tables["region_zones"].rows:
        for col in ("zone", "classic_zone"):
            check(r[col].lower() in zones, f"region_zones: {col} {r[col]} has no intensity")

    all_families = {r["microarchitecture"].lower() for r in tables["cpu_power"].rows
                    if r["scope"] == "all"}
    providers = {r["provider"] for r in pv.rows}
    instance_keys = set()
    for r in tables["instance_types"].rows:
        for f in split_families(r["microarchitecture"]):
            check(f.lower() in all_families, f"instance_types: family {f!r} has no power row")
        check(r["provider"] in providers, f"instance_types: provider {r['provider']} missing")
        v = int(r["vcpus"])
        check(1 <= v <= 2048, f"instance_types: vcpus out of range: {r}")
        if r["memory_gib"]:
            per_vcpu = num(r["memory_gib"]) / v
            check(0.25 <= per_vcpu <= 128, f"instance_types: GiB per vCPU out of range: {r}")
        instance_keys.add((r["provider"], r["instance_type"].lower()))
    for r in tables["region_zones"].rows:
        check(r["provider"] in providers, f"region_zones: provider {r['provider']} missing")
    for r in tables["embodied"].rows:
        check((r["provider"], r["instance_type"].lower()) in instance_keys,
              f"embodied: {r['provider']} {r['instance_type']} not in instance_types")
    check(providers == set(PROVIDERS) | {"unknown"}, f"providers rows: {sorted(providers)}")


# --- main ----------------------------------------------------------------------

SOURCE_FILES = ("instance_types", "microarchitecture_power", "provider_defaults",
                "region_pue", "region_zones", "zone_intensity",
                "embodied_instances", "resource_coefficients")

BUILDERS = (
    ("instance_types", build_instance_types),
    ("cpu_power", build_cpu_power),
    ("providers", build_providers),
    ("region_pue", build_region_pue),
    ("region_zones", build_region_zones),
    ("zone_intensity", build_zone_intensity),
    ("embodied", build_embodied),
    ("coefficients", build_coefficients),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                    help=f"source reference-data directory (default: {DEFAULT_SOURCE})")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help=f"output directory (default: {DEFAULT_OUT})")
    args = ap.parse_args(argv)

    src = {name: read_csv(args.source, name + ".csv") for name in SOURCE_FILES}
    tables = {}
    for name, builder in BUILDERS:
        table = builder(src)
        table.sort()
        tables[name] = table
    validate(tables)

    args.out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        data = table.render()
        path = args.out / table.name
        path.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()[:12]
        print(f"wrote {path}: {len(table.rows)} rows, {len(data)} bytes, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
