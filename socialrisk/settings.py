"""One settings object for a run, read from TOML and overridden by command-line flags.

Every setting has a default here; ``docs/method.md`` explains where each default
comes from. Unknown keys are refused with the nearest valid key, so a typo never
silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socialrisk.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class DeprivationSource:
    """A deprivation or census table to join to the areas.

    ``kind`` is ``"auto"`` (detect File 7 / TS011 / generic), ``"file7"``,
    ``"ts011"`` or ``"table"``. ``columns`` maps source column -> indicator name
    for generic tables; ``code_column`` names the area-code column (detected when
    empty).
    """

    path: str
    kind: str = "auto"
    code_column: str = ""
    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class IndicatorSpec:
    """One indicator of the index: a column, its direction and weight within its domain.

    ``direction`` is ``"higher_is_worse"`` or ``"lower_is_worse"``.
    """

    column: str
    weight: float = 1.0
    direction: str = "higher_is_worse"


@dataclass
class DomainSpec:
    """A domain of the index: weighted indicators, combined after normalisation."""

    weight: float
    indicators: list[IndicatorSpec]


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
    max_snap_m: float = 250.0
    origins: str = "buildings"       # "buildings" or "centroids"
    # access
    walk_speed_kmh: float = 4.8
    slow_walk_speed_kmh: float = 3.0
    thresholds_m: list[float] = field(default_factory=lambda: [400.0, 800.0, 1200.0])
    beyond_threshold_m: float = 800.0
    decay: str = "gaussian"          # gaussian | exponential | linear
    decay_scale_m: float = 800.0
    catchment_m: float = 1600.0      # E2SFCA catchment
    max_distance_m: float = 20000.0  # search limit for nearest; beyond it: unreachable (NaN)
    # index
    normalisation: str = "rank_exp"  # rank_exp | zscore | minmax
    domains: dict[str, DomainSpec] = field(default_factory=_default_domains)
    n_drivers: int = 3
    # output
    quiet: bool = False
    map: bool = True

    def validate(self) -> Settings:
        """Check values; raise :class:`ConfigError` with the fix on the first problem."""
        if self.walk_speed_kmh <= 0 or self.slow_walk_speed_kmh <= 0:
            raise ConfigError("walk_speed_kmh must be greater than 0 (e.g. 4.8)")
        if not self.thresholds_m or any(t <= 0 for t in self.thresholds_m):
            raise ConfigError("thresholds_m must be a list of distances greater than 0 "
                              "(e.g. [400, 800, 1200])")
        for name in ("max_snap_m", "decay_scale_m", "catchment_m", "max_distance_m",
                     "beyond_threshold_m", "osm_buffer_m"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be greater than 0")
        if self.file7_min_rows < 1:
            raise ConfigError("file7_min_rows must be at least 1 (the full File 7 has 33,755)")
        for name in ("ons_boundaries_url", "ons_lookup_url", "overpass_url", "nominatim_url",
                     "file7_url"):
            url = getattr(self, name)
            if url and not url.startswith(("http://", "https://")):
                raise ConfigError(f"{name} must be an http:// or https:// URL (or empty for "
                                  f"the public service), not {url!r}")
        if self.normalisation not in ("rank_exp", "zscore", "minmax"):
            raise ConfigError(f"normalisation must be rank_exp, zscore or minmax, "
                              f"not {self.normalisation!r}")
        if self.decay not in ("gaussian", "exponential", "linear"):
            raise ConfigError(f"decay must be gaussian, exponential or linear, not {self.decay!r}")
        if self.origins not in ("buildings", "centroids"):
            raise ConfigError(f"origins must be buildings or centroids, not {self.origins!r}")
        if self.network_keep not in ("largest", "all"):
            raise ConfigError(f"network_keep must be largest or all, not {self.network_keep!r}")
        total = sum(d.weight for d in self.domains.values())
        if total <= 0 or any(d.weight < 0 for d in self.domains.values()):
            raise ConfigError("domain weights must be >= 0 and not all 0")
        for name, dom in self.domains.items():
            for ind in dom.indicators:
                if ind.direction not in ("higher_is_worse", "lower_is_worse"):
                    raise ConfigError(f"domain {name}: indicator {ind.column} direction must "
                                      f"be higher_is_worse or lower_is_worse")
                if ind.weight < 0:
                    raise ConfigError(f"domain {name}: indicator {ind.column} weight must be >= 0")
        return self

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every setting, for the manifest."""
        return dataclasses.asdict(self)


_FIELDS = {f.name for f in dataclasses.fields(Settings)}


def _nearest(key: str, valid: set[str]) -> str:
    match = difflib.get_close_matches(key, sorted(valid), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _check_type(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key!r} must be true or false, not {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key {key!r} must be a number, not {value!r}")
        return float(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key {key!r} must be a whole number, not {value!r}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"config key {key!r} must be a string, not {value!r}")
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
            out.append(DeprivationSource(**item))
        else:
            raise ConfigError("deprivation must be a path or a list of [[deprivation]] tables")
    return out


def _parse_domains(value: Any) -> dict[str, DomainSpec]:
    if not isinstance(value, dict):
        raise ConfigError("[domains] must be a table of domains, e.g. [domains.access]")
    out = {}
    for name, spec in value.items():
        if not isinstance(spec, dict) or "indicators" not in spec:
            raise ConfigError(f"[domains.{name}] needs weight = N and indicators = [...]")
        for k in spec:
            if k not in ("weight", "indicators"):
                raise ConfigError(f"unknown key {k!r} in [domains.{name}]"
                                  f"{_nearest(k, {'weight', 'indicators'})}")
        inds = []
        valid = {f.name for f in dataclasses.fields(IndicatorSpec)}
        for ind in spec["indicators"]:
            if isinstance(ind, str):
                inds.append(IndicatorSpec(ind))
                continue
            for k in ind:
                if k not in valid:
                    raise ConfigError(f"unknown key {k!r} in an indicator of [domains.{name}]"
                                      f"{_nearest(k, valid)}")
            inds.append(IndicatorSpec(**ind))
        out[name] = DomainSpec(weight=float(spec.get("weight", 1.0)), indicators=inds)
    return out


def settings_from_mapping(data: dict[str, Any], base: Settings | None = None) -> Settings:
    """Apply a mapping of settings (from TOML or flags) on top of ``base``."""
    s = dataclasses.replace(base) if base is not None else Settings()
    defaults = Settings()
    for key, value in data.items():
        if key not in _FIELDS:
            raise ConfigError(f"unknown config key {key!r}{_nearest(key, _FIELDS)}")
        if key == "deprivation":
            value = _parse_deprivation(value)
        elif key == "domains":
            value = _parse_domains(value)
        elif key == "thresholds_m":
            if not isinstance(value, list) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                raise ConfigError("thresholds_m must be a list of numbers, e.g. [400, 800, 1200]")
            value = sorted(float(v) for v in value)
        else:
            value = _check_type(key, value, getattr(defaults, key))
        setattr(s, key, value)
    return s


def load_settings(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                  ) -> Settings:
    """Read a TOML config (optional) and apply ``overrides`` (flags win). Validated."""
    data: dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} not found; give the path to a .toml file")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {p} is not valid TOML ({exc}); "
                              "fix the line named") from exc
    s = settings_from_mapping(data)
    if overrides:
        s = settings_from_mapping({k: v for k, v in overrides.items() if v is not None}, s)
    return s.validate()
