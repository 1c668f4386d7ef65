"""One settings object for a run, read from TOML and overridden by command-line flags.

Every setting has a default here; ``docs/method.md`` explains where each default
comes from. Unknown keys are refused with the nearest valid key, so a typo never
silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo.assets import parse_asset_lists
from risk.index import DomainSpec, IndicatorSpec
from risk.standards import DEFAULT_STANDARDS
from socialrisk.core import schema
from socialrisk.core.errors import ConfigError, shown
from socialrisk.core.files import read_toml, special_file
from socialrisk.lenses import lens_record, load_lenses
from socialrisk.standards import parse_standards, with_standards_file
from socialrisk.targets import parse_targets

log = logging.getLogger(__name__)



@dataclass
class DeprivationSource:
    """A deprivation or census table to join to the areas.

    ``kind`` is ``"auto"`` (detect the layout from the header), ``"file7"``,
    ``"ts011"``, ``"ts038"``, ``"ts054"``, ``"nomis"``, ``"iod_indicators"``,
    ``"imd"``, ``"wimd"`` or ``"table"`` (see ``geo.tables.KINDS``). ``columns``
    maps source column -> indicator name; ``code_column`` names the area-code
    column of a generic table (detected when empty).
    """

    path: str
    kind: str = "auto"
    code_column: str = ""
    columns: dict[str, str] = field(default_factory=dict)


def _default_domains() -> dict[str, DomainSpec]:
    access = [
        IndicatorSpec(f"{c}_nearest_m", w)
        for c, w in [
            ("community_centre", 1.0), ("library", 0.5), ("place_of_worship", 0.5),
            ("green_space", 1.0), ("gp", 1.0), ("pharmacy", 0.5), ("post_office", 0.5),
            ("transit_stop", 1.0), ("cafe_pub", 1.0), ("food_shop", 1.0),
            ("social_care", 0.5), ("leisure_centre", 0.5),
        ]
    ]
    return {
        "access": DomainSpec(0.4, access),
        "deprivation": DomainSpec(0.35, [
            IndicatorSpec("income_score", 1.0),
            IndicatorSpec("health_score", 1.0),
            IndicatorSpec("idaopi_score", 1.0),
        ]),
        "demographic": DomainSpec(0.25, [
            IndicatorSpec("share_60_plus", 1.0),
            IndicatorSpec("hh_deprived_2plus_share", 1.0),
        ]),
    }


def _default_loneliness_domains() -> dict[str, DomainSpec]:
    """Published risk factors of loneliness (evidence per indicator: docs/method.md)."""
    return {
        "health": DomainSpec(0.4, [
            IndicatorSpec("disabled_share", 1.0),
            IndicatorSpec("illness_disability_ratio", 0.5),
            IndicatorSpec("mental_health", 0.5),
        ]),
        "housing": DomainSpec(0.3, [IndicatorSpec("rented_share", 1.0)]),
        "income": DomainSpec(0.3, [IndicatorSpec("income_score", 1.0)]),
    }


@dataclass
class Settings:
    """Everything a run needs. Field names are the TOML keys (sections flattened by prefix)."""

    # inputs
    osm: str = ""                    # .osm.pbf path; empty = embedded Isle of Wight
    areas: str = ""                  # polygon layer; empty = embedded Isle of Wight LSOAs
    area_id: str = ""                # id column in the areas layer
    place: str = ""                  # place name to download (online)
    lad: str = ""                    # English local authority code to download (online)
    deprivation: list[DeprivationSource] = field(default_factory=list)
    lsoa_lookup: str = ""            # ONS LSOA 2011 -> 2021 lookup CSV (converts 2011 tables)
    assets: list = field(default_factory=list)  # [[assets]]: geo.assets.AssetList, docs/assets.md
    file7_download: bool = True      # try the official File 7 when no deprivation is given
    taxonomy: str = ""               # TOML; empty = data/taxonomy.toml
    out: str = "socialrisk_out"
    cache_dir: str = ""              # empty = platform cache dir
    # online downloads (--lad, --place); an empty URL = the public service
    osm_buffer_m: float = 2000.0     # OSM downloaded this far around the areas / place
    ons_boundaries_url: str = ""     # ArcGIS .../query of the LSOA 2021 boundaries
    ons_lookup_url: str = ""         # ArcGIS .../query of the LSOA21 -> LAD24 lookup
    overpass_url: str = ""           # Overpass API base (osmnx adds /interpreter)
    nominatim_url: str = ""          # Nominatim base (osmnx adds /search)
    file7_url: str = ""              # IoD2025 File 7 CSV
    file7_min_rows: int = 33000      # fewer rows: a downloaded File 7 is refused as truncated
    # network and snapping
    network_keep: str = "largest"
    max_snap_m: float = schema.MAX_SNAP_M
    origins: str = "buildings"       # "buildings" or "centroids"
    # access
    walk_speed_kmh: float = schema.WALK_SPEED_KMH
    slow_walk_speed_kmh: float = schema.SLOW_WALK_SPEED_KMH
    thresholds_m: list[float] = field(default_factory=lambda: list(schema.THRESHOLDS_M))
    # absolute standards ([[standards]] tables; a config's path is read at load time)
    standards: list = field(default_factory=lambda: list(DEFAULT_STANDARDS))
    beyond_threshold_m: float = schema.BEYOND_M
    decay: str = "gaussian"          # gaussian | exponential | linear
    decay_scale_m: float = schema.DECAY_SCALE_M
    catchment_m: float = schema.CATCHMENT_M      # E2SFCA catchment
    max_distance_m: float = schema.MAX_DISTANCE_M  # nearest searched this far; beyond: unreachable
    # index
    normalisation: str = "rank_exp"  # rank_exp | zscore | minmax
    domains: dict[str, DomainSpec] = field(default_factory=_default_domains)
    loneliness_domains: dict[str, DomainSpec] = field(
        default_factory=_default_loneliness_domains)
    lenses: list = field(default_factory=list)  # --lens older_people, a .toml, or a table
    uncertainty: int = 0             # Monte Carlo draws (0 = off)
    uncertainty_seed: int = 0
    hotspots: bool = False           # local Getis-Ord Gi* of the scores (PySAL esda)
    n_drivers: int = 3
    # output
    quiet: bool = False
    map: bool = True
    strict: bool = False             # fail (exit 2) on any warning that changes the analysis
    # monitoring (docs/monitoring.md)
    targets: dict = field(default_factory=dict)  # [targets]: socialrisk.targets.Target by name
    wards_lookup: str = ""           # ONS LSOA21 -> ward24 -> LAD24 lookup: targets per ward

    def validate(self) -> Settings:
        """Check values; raise :class:`ConfigError` with the fix on the first problem.

        Besides the values themselves: no text setting may hold a NUL byte, and an
        input path that exists must be a regular file (a named pipe or a device
        would block the run forever), ``cache_dir`` a directory. Paths
        that do not exist yet are left to the readers (they say "not found").
        """
        self._check_text()
        for name in ("walk_speed_kmh", "slow_walk_speed_kmh"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0 or value > MAX_SPEED_KMH:
                raise _bad(name, f"{name} must be a walking speed greater than 0 and at most "
                                 f"{MAX_SPEED_KMH:g} km/h (e.g. 4.8), not {value!r}")
        if not self.thresholds_m or any(not math.isfinite(t) or t <= 0
                                        for t in self.thresholds_m):
            raise _bad("thresholds_m", f"thresholds_m must be a list of distances greater "
                                       f"than 0 (e.g. [400, 800, 1200]), not "
                                       f"{_short(self.thresholds_m)}")
        if max(self.thresholds_m) > MAX_WALK_M:
            raise _bad("thresholds_m", f"thresholds_m must be walking distances of at most "
                                       f"{MAX_WALK_M:,.0f} m (a walk of over 4 hours), not "
                                       f"{_short(self.thresholds_m)}")
        for name in ("max_snap_m", "decay_scale_m", "catchment_m", "max_distance_m",
                     "beyond_threshold_m", "osm_buffer_m"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise _bad(name, f"{name} must be a distance greater than 0 in metres, "
                                 f"not {value!r}")
            if value > MAX_DISTANCES_M[name]:
                raise _bad(name, f"{name} must be at most {MAX_DISTANCES_M[name]:,.0f} m, "
                                 f"not {value:g}; {_LIMIT_REASON[name]}")
        if self.n_drivers < 0 or self.n_drivers > MAX_DRIVERS:
            raise _bad("n_drivers", f"n_drivers must be 0 or more and at most {MAX_DRIVERS}, "
                                    f"not {_short(self.n_drivers)}")
        try:
            load_lenses(self.lenses)
        except ConfigError as exc:
            raise _bad("lenses", str(exc)) from exc
        if self.uncertainty < 0 or self.uncertainty > MAX_DRAWS:
            raise _bad("uncertainty", f"uncertainty must be a number of Monte Carlo draws "
                                      f"from 0 (off) to {MAX_DRAWS:,} (e.g. 1000), not "
                                      f"{_short(self.uncertainty)}")
        if self.file7_min_rows < 1:
            raise _bad("file7_min_rows",
                       "file7_min_rows must be at least 1 (the full File 7 has 33,755)")
        for name in ("ons_boundaries_url", "ons_lookup_url", "overpass_url", "nominatim_url",
                     "file7_url"):
            url = getattr(self, name)
            if url and not url.startswith(("http://", "https://")):
                raise _bad(name, f"{name} must be an http:// or https:// URL (or empty for "
                                 f"the public service), not {url!r}")
        if self.normalisation not in ("rank_exp", "zscore", "minmax"):
            raise _bad("normalisation", f"normalisation must be rank_exp, zscore or minmax, "
                                        f"not {self.normalisation!r}")
        if self.decay not in ("gaussian", "exponential", "linear"):
            raise _bad("decay", f"decay must be gaussian, exponential or linear, "
                                f"not {self.decay!r}")
        if self.origins not in ("buildings", "centroids"):
            raise _bad("origins", f"origins must be buildings or centroids, not {self.origins!r}")
        if self.network_keep not in ("largest", "all"):
            raise _bad("network_keep", f"network_keep must be largest or all, "
                                       f"not {self.network_keep!r}")
        if not self.domains:
            raise _bad("domains", "[domains] has no domain; give at least one, e.g. "
                                  "[domains.access] with weight and indicators")
        for name, dom in self.domains.items():
            if not math.isfinite(dom.weight) or dom.weight < 0:
                raise _bad("domains", f"[domains.{name}] weight must be a number >= 0, "
                                      f"not {dom.weight!r}")
        total = sum(d.weight for d in self.domains.values())
        if not math.isfinite(total):
            raise _bad("domains", f"the domain weights ({', '.join(self.domains)}) add up to "
                                  f"more than the largest number a computer holds, so every "
                                  f"area would get the same score; weights are relative: use "
                                  f"small numbers such as 0.4/0.35/0.25 or 40/35/25")
        if total <= 0:
            raise _bad("domains", f"the domain weights ({', '.join(self.domains)}) are all 0, "
                                  f"so the index would weigh nothing; give at least one "
                                  f"domain a weight > 0 (weights are relative: 0.4/0.35/0.25 "
                                  f"and 40/35/25 are the same)")
        for name, dom in self.domains.items():
            for ind in dom.indicators:
                if ind.direction not in ("higher_is_worse", "lower_is_worse"):
                    raise _bad("domains", f"[domains.{name}] indicator {ind.column} direction "
                                          f"must be higher_is_worse or lower_is_worse, "
                                          f"not {ind.direction!r}")
                if not math.isfinite(ind.weight) or ind.weight < 0:
                    raise _bad("domains", f"[domains.{name}] indicator {ind.column} weight "
                                          f"must be a number >= 0, not {ind.weight!r}")
            if not math.isfinite(sum(i.weight for i in dom.indicators)):
                raise _bad("domains", f"[domains.{name}] indicator weights add up to more than "
                                      f"the largest number a computer holds, so the domain "
                                      f"would score every area the same; weights are "
                                      f"relative: use small numbers such as 1 and 0.5")
            if dom.weight > 0 and not dom.indicators:
                raise _bad("domains", f"[domains.{name}] has weight {dom.weight:g} but no "
                                      f"indicators; list some (indicators = [\"gp_nearest_m\"]) "
                                      f"or set its weight to 0")
            if dom.weight > 0 and sum(i.weight for i in dom.indicators) <= 0:
                raise _bad("domains", f"[domains.{name}] has weight {dom.weight:g} but all its "
                                      f"indicator weights are 0, so it would weigh nothing; give "
                                      f"an indicator a weight > 0 or set the domain weight to 0")
        self._check_paths()
        return self

    def _check_text(self) -> None:
        """No setting holds a NUL byte (no path can contain one; the OS would refuse it late)."""
        texts: list[tuple[str, str]] = [
            (f.name, getattr(self, f.name)) for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), str)]
        for src in self.deprivation:
            texts += [("deprivation", src.path), ("deprivation", src.kind),
                      ("deprivation", src.code_column)]
            texts += [("deprivation", t) for kv in src.columns.items() for t in kv]
        for name, dom in self.domains.items():
            texts += [("domains", name)] + [("domains", i.column) for i in dom.indicators]
        for key, text in texts:
            if "\x00" in text:
                raise _bad(key, f"{key} contains a NUL byte (\\x00): {shown(text)}; no file "
                                f"name or column can hold one, so give the value without it")

    def _check_paths(self) -> None:
        """Inputs that exist are regular files, the cache a directory (checked before any work)."""
        inputs = [("osm", self.osm), ("areas", self.areas), ("taxonomy", self.taxonomy),
                  ("wards_lookup", self.wards_lookup), ("lsoa_lookup", self.lsoa_lookup)]
        inputs += [("deprivation", d.path) for d in self.deprivation
                   if not d.path.startswith(("http://", "https://"))]
        for key, path in inputs:
            if key == "osm" and path.strip().lower() == "none":
                continue
            if path:
                problem = special_file(path)
                if problem:
                    raise _bad(key, f"{key} {shown(path, 200)} {problem}; give the path of a "
                                    f"saved file (copy the data to a file first)")
        # out: socialrisk.outdir.check_out_dir (its own rules, also checked before the run)
        cache = os.path.expanduser(self.cache_dir) if self.cache_dir else ""
        if cache and os.path.lexists(cache) and not os.path.isdir(cache):
            raise _bad("cache_dir", f"cache_dir {shown(self.cache_dir, 200)} exists and is not "
                                    f"a directory; give a directory path (it is created when "
                                    f"missing)")

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every setting, for the manifest (lens files as their tables)."""
        d = dataclasses.asdict(self)
        d["lenses"] = [lens_record(x) for x in self.lenses]
        return d


_FIELDS = {f.name for f in dataclasses.fields(Settings)}

#: settings that change what a run computes from its prepared inputs: the only
#: ones replayed from a manifest or a run's app data
ANALYSIS_SETTINGS = (
    "network_keep", "max_snap_m", "origins", "walk_speed_kmh", "slow_walk_speed_kmh",
    "thresholds_m", "standards", "beyond_threshold_m", "decay", "decay_scale_m", "catchment_m",
    "max_distance_m", "normalisation", "domains", "loneliness_domains", "lenses",
    "uncertainty", "uncertainty_seed", "hotspots", "n_drivers",
)
#: settings that say where inputs came from or went (paths, URLs, downloads, display):
#: recorded in the manifest, never replayed (a crafted manifest must not make the app
#: read a file, a cache or a URL of its choosing)
INPUT_SETTINGS = (
    "osm", "areas", "area_id", "place", "lad", "deprivation", "lsoa_lookup", "file7_download",
    "taxonomy",
    "assets", "out", "cache_dir", "osm_buffer_m", "ons_boundaries_url", "ons_lookup_url",
    "overpass_url", "nominatim_url", "file7_url", "file7_min_rows", "quiet", "map", "strict",
    "targets", "wards_lookup",
)

#: a settings file is a few kB; anything much larger is another file given by mistake
MAX_CONFIG_BYTES = 1_000_000

#: upper limits that keep a run meaningful and bounded (a threshold of 1e308 m would pair
#: every origin with every amenity); see docs/method.md for the defaults
MAX_SPEED_KMH = 30.0
MAX_WALK_M = 20_000.0
MAX_DRIVERS = 20
MAX_DRAWS = 100_000
MAX_DISTANCES_M = {"max_snap_m": 10_000.0, "decay_scale_m": MAX_WALK_M,
                   "catchment_m": MAX_WALK_M, "beyond_threshold_m": MAX_WALK_M,
                   "max_distance_m": 100_000.0, "osm_buffer_m": 50_000.0}
_LIMIT_REASON = {
    "max_snap_m": "a place that far from a footpath is not reached on foot",
    "decay_scale_m": "walking distances beyond 20 km (over 4 hours) are not access on foot",
    "catchment_m": "walking distances beyond 20 km (over 4 hours) are not access on foot",
    "beyond_threshold_m": "walking distances beyond 20 km (over 4 hours) are not access on foot",
    "max_distance_m": "the search stops there; 100 km is a day's walk",
    "osm_buffer_m": "a wider margin downloads far more OpenStreetMap data than a walk reaches",
}


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` capped for a message (a config can hold a very long list)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _bad(key: str, message: str) -> ConfigError:
    """A :class:`ConfigError` that remembers the setting it is about (``.key``)."""
    exc = ConfigError(message)
    exc.key = key  # type: ignore[attr-defined]
    return exc


def _number(value: Any, what: str) -> float:
    """``value`` as a float, or a :class:`ConfigError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number, not {_short(value)}")
    return _float(value, what)


def _float(value: int | float, what: str) -> float:
    """``float(value)``; an integer too large for a float is a :class:`ConfigError`."""
    try:
        return float(value)
    except OverflowError as exc:
        raise ConfigError(f"{what} is too large a number ({len(str(value))} digits); give a "
                          f"value of the size the setting needs") from exc


def _nearest(key: str, valid: set[str]) -> str:
    match = difflib.get_close_matches(key, sorted(valid), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _check_type(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key!r} must be true or false, not {_short(value)}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key {key!r} must be a number, not {_short(value)}")
        return _float(value, f"config key {key!r}")
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key {key!r} must be a whole number, not {_short(value)}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"config key {key!r} must be a string, not {_short(value)}")
        return value
    return value


def _parse_deprivation(value: Any) -> list[DeprivationSource]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(DeprivationSource(path=item))
        elif isinstance(item, dict):
            valid = {f.name for f in dataclasses.fields(DeprivationSource)}
            for k in item:
                if k not in valid:
                    raise ConfigError(f"unknown key {k!r} in [[deprivation]]{_nearest(k, valid)}")
            if "path" not in item:
                raise ConfigError("each [[deprivation]] entry needs a path = \"FILE.csv\"")
            for k in ("path", "kind", "code_column"):
                if k in item and not isinstance(item[k], str):
                    raise ConfigError(f"[[deprivation]] {k} must be a string, not {item[k]!r}")
            cols = item.get("columns", {})
            if not isinstance(cols, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in cols.items()):
                raise ConfigError(f"[[deprivation]] columns must be a table of source column "
                                  f"= \"indicator name\", e.g. columns = {{ income = "
                                  f"\"income_score\" }}, not {cols!r}")
            out.append(DeprivationSource(**item))
        else:
            raise ConfigError("deprivation must be a path or a list of [[deprivation]] tables")
    return out


def _parse_domains(value: Any) -> dict[str, DomainSpec]:
    if not isinstance(value, dict):
        raise ConfigError("[domains] must be a table of domains, e.g. [domains.access]")
    out = {}
    for name, spec in value.items():
        if not isinstance(spec, dict) or ("indicators" not in spec and "weight" not in spec):
            raise ConfigError(f"[domains.{name}] needs weight = N and indicators = [...]")
        if "indicators" not in spec:  # weight only: a default domain's indicators (below)
            spec = {**spec, "indicators": []}
        for k in spec:
            if k not in ("weight", "indicators"):
                raise ConfigError(f"unknown key {k!r} in [domains.{name}]"
                                  f"{_nearest(k, {'weight', 'indicators'})}")
        inds = []
        valid = {f.name for f in dataclasses.fields(IndicatorSpec)}
        if not isinstance(spec["indicators"], list):
            raise ConfigError(f"[domains.{name}] indicators must be a list, e.g. "
                              f"indicators = [\"gp_nearest_m\"], not {spec['indicators']!r}")
        for ind in spec["indicators"]:
            if isinstance(ind, str):
                inds.append(IndicatorSpec(ind))
                continue
            if not isinstance(ind, dict):
                raise ConfigError(f"an indicator of [domains.{name}] must be a column name or "
                                  f"{{ column = \"...\", weight = 1.0 }}, not {ind!r}")
            for k in ind:
                if k not in valid:
                    raise ConfigError(f"unknown key {k!r} in an indicator of [domains.{name}]"
                                      f"{_nearest(k, valid)}")
            if not isinstance(ind.get("column"), str):
                raise ConfigError(f"an indicator of [domains.{name}] needs column = \"NAME\" "
                                  f"(a string), not {ind.get('column')!r}")
            if not isinstance(ind.get("direction", ""), str):
                raise ConfigError(f"[domains.{name}] indicator {ind['column']} direction must "
                                  f"be higher_is_worse or lower_is_worse")
            weight = _number(ind.get("weight", 1.0),
                             f"[domains.{name}] indicator {ind['column']} weight")
            inds.append(IndicatorSpec(**{**ind, "weight": weight}))
        weight = _number(spec.get("weight", 1.0), f"[domains.{name}] weight")
        out[name] = DomainSpec(weight=weight, indicators=inds)
    return out


def settings_from_mapping(data: dict[str, Any], base: Settings | None = None) -> Settings:
    """Apply a mapping of settings (from TOML or flags) on top of ``base``."""
    s = dataclasses.replace(base) if base is not None else Settings()
    defaults = Settings()
    for key, value in data.items():
        if key not in _FIELDS:
            raise ConfigError(f"unknown config key {shown(key)}{_nearest(key, _FIELDS)}")
        if key == "deprivation":
            value = _parse_deprivation(value)
        elif key == "assets":
            value = parse_asset_lists(value)
        elif key in ("domains", "loneliness_domains"):
            value = _parse_domains(value)
        elif key == "targets":
            value = parse_targets(value)
        elif key == "standards":
            value = parse_standards(value)
        elif key == "lenses":
            if isinstance(value, str):
                value = [v for v in (x.strip() for x in value.split(",")) if v]
            if not isinstance(value, list) or not all(isinstance(v, (str, dict))
                                                      for v in value):
                raise ConfigError(f"lenses must be a list of lens names or .toml files, e.g. "
                                  f"[\"older_people\"], not {_short(value)}")
        elif key == "thresholds_m":
            if not isinstance(value, list) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                raise ConfigError(f"thresholds_m must be a list of numbers, e.g. "
                                  f"[400, 800, 1200], not {value!r}")
            value = sorted(_float(v, "a value of thresholds_m") for v in value)
        else:
            value = _check_type(key, value, getattr(defaults, key))
        setattr(s, key, value)
    return s


def _keep_default_domains(s: Settings, data: dict[str, Any], strict: bool) -> None:
    """A config's ``[domains]`` replaces the default domains: say which ones it leaves out.

    ``[domains.deprivation]`` alone would score deprivation only; the default domains
    it does not name are not scored, and that is said (a warning; under ``--strict``
    a :class:`ConfigError` unless they are listed, e.g. with ``weight = 0``). A default
    domain given a weight alone keeps its default indicators. Only for a config file:
    settings replayed from a run are applied as recorded.
    """
    defaults = Settings()
    for key in ("domains", "loneliness_domains"):
        given = data.get(key)
        if not isinstance(given, dict):
            continue
        default, mine = getattr(defaults, key), getattr(s, key)
        for d, spec in list(mine.items()):
            if not spec.indicators and d in given and not (
                    isinstance(given[d], dict) and "indicators" in given[d]):
                if d not in default:
                    raise ConfigError(f"[{key}.{d}] needs indicators = [...] (only a default "
                                      f"domain, {', '.join(default)}, can be given a weight "
                                      f"alone)")
                mine[d] = DomainSpec(spec.weight, list(default[d].indicators))
        left = [d for d in default if d not in given]
        if left:
            note = (f"the config's [{key}] replaces the default domains: "
                    f"{', '.join(left)} {'are' if len(left) > 1 else 'is'} not scored; add "
                    f"[{key}.{left[0]}] (weight = 0 to leave it out on purpose)")
            if strict:
                raise ConfigError(f"{note}; --strict refuses a default domain left out "
                                  f"without a word")
            log.warning("%s", note)


def load_settings(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                  ) -> Settings:
    """Read a TOML config (optional) and apply ``overrides`` (flags win). Validated."""
    data: dict[str, Any] = {}
    where = ""
    if path:
        where = f"config file {Path(path)}: "
        data = read_toml(path, "config file", max_bytes=MAX_CONFIG_BYTES,
                         missing_fix="give the path to a .toml file",
                         big_fix="a settings file needs; give the settings file, not a data "
                                 "file",
                         deep_fix="settings need at most three levels ([domains.NAME] with "
                                  "indicators = [{...}])")
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    try:
        s = settings_from_mapping(with_standards_file(data))
        _keep_default_domains(s, data, strict=bool(flags.get("strict", s.strict)))
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from exc
    try:
        s = settings_from_mapping(flags, s)
    except ConfigError as exc:
        raise ConfigError(f"command line: {exc}") from exc
    try:
        return s.validate()
    except ConfigError as exc:
        key = getattr(exc, "key", "")
        origin = "command line: " if key in flags else where if key in data else ""
        raise ConfigError(f"{origin}{exc}") from exc
