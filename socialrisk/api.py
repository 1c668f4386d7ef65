"""The public Python API: ``import socialrisk as sr``.

Thin functions over the pipeline for analysts in notebooks: explicit parameters,
(Geo)DataFrames aligned to their input (areas in the order read), NaN where a value
is undefined (never 0). The numbers are those ``socialrisk run`` writes: same code.

Settings are a :class:`~socialrisk.settings.Settings`, a TOML path, keyword
overrides (``walk_speed_kmh=4.0``, ``deprivation="File_7.csv"``) or both, checked as
the command line checks them; nothing given = the embedded Isle of Wight (89 LSOAs).
The examples are offline (``file7_download=False``: access only, no download).

Examples
--------
>>> import socialrisk as sr
>>> res = sr.run(file7_download=False, quiet=True, cache=True)  # ~8 s, then ~0.5 s
>>> len(res.areas), res.areas.crs.to_string()
(89, 'EPSG:27700')
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.areas import read_areas as _read_areas
from geo.taxonomy import load_taxonomy
from risk.index import DomainSpec
from risk.index import isolation_index as _isolation_index
from risk.rules import unreachable_at_limit
from socialrisk import pipeline as _pipeline
from socialrisk import scenarios as _scenarios
from socialrisk import screening as _screening
from socialrisk.core import schema
from socialrisk.core.data import EMBEDDED_AREA_ID, EMBEDDED_AREAS, embedded_file
from socialrisk.core.errors import ConfigError, InputError
from socialrisk.runcache import load_or_compute
from socialrisk.rundir import load_run_dir
from socialrisk.settings import Settings, load_settings, settings_from_mapping
from socialrisk.stages import Prepared, RunResult, Timings, access_all, access_params

__all__ = ["run", "prepare", "compute", "load", "open_run", "run_and_write", "read_areas",
           "access", "isolation_index", "screen_site", "add_facility",
           "remove_facility"]

#: settings :func:`access` and :func:`compute` can change on a prepared run (the others
#: change how the inputs are read, snapped or weighted: prepare again)
ACCESS_SETTINGS = ("walk_speed_kmh", "slow_walk_speed_kmh", "thresholds_m", "beyond_threshold_m",
                   "decay", "decay_scale_m", "catchment_m", "max_distance_m")
COMPUTE_SETTINGS = (*ACCESS_SETTINGS, "normalisation", "domains", "n_drivers", "quiet", "strict")
#: the domains of the default index (their ``<domain>_score`` is replaced on re-scoring)
DEFAULT_DOMAINS = ("access", "deprivation", "demographic")

SettingsLike = Settings | str | os.PathLike | None


# ---------------------------------------------------------------- settings


def _plain(value: Any) -> Any:
    """A keyword value as the settings parser takes it (paths as text, specs as tables)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _settings(settings: SettingsLike, overrides: Mapping[str, Any]) -> Settings:
    """``settings`` (a Settings, a TOML path or None) with ``overrides``, validated."""
    flags = {k: _plain(v) for k, v in overrides.items()}
    try:
        if isinstance(settings, Settings):
            return settings_from_mapping(flags, settings).validate()
        if settings is None or isinstance(settings, (str, os.PathLike)):
            return load_settings(settings, flags)
    except ConfigError as exc:  # the command line's prefix means the keywords here
        raise ConfigError(str(exc).removeprefix("command line: ")) from None
    raise TypeError(f"settings must be a socialrisk.Settings, a TOML path or None, "
                    f"not {type(settings).__name__}")


def _on_prepared(prepared: Prepared, overrides: Mapping[str, Any],
                 allowed: Iterable[str]) -> Prepared:
    """A shallow copy of ``prepared`` with its own manifest, timings and (new) settings."""
    allowed = tuple(allowed)
    for key in overrides:
        if key not in allowed:
            raise ConfigError(f"{key} cannot be changed on a prepared run (it changes how the "
                              f"inputs are read or snapped); prepare again with {key}=..., "
                              f"or change one of {', '.join(allowed)}")
    s = _settings(prepared.settings, overrides) if overrides else prepared.settings
    manifest = copy.deepcopy(prepared.manifest)
    manifest["settings"] = s.as_dict()
    return dataclasses.replace(prepared, settings=s, manifest=manifest,
                               timings=Timings(dict(prepared.timings.stages)))


# ---------------------------------------------------------------- runs


def run(settings: SettingsLike = None, *, cache: bool = False, **overrides: Any) -> RunResult:
    """Run the whole analysis (no files written): areas, amenities, index, manifest.

    Parameters
    ----------
    settings : Settings, path or None
        Settings, a TOML config file, or None for the defaults (embedded Isle of Wight).
    cache : bool
        Reuse (and keep) the run in the app's disk cache (see :func:`load`): the
        same inputs and settings then load in about half a second.
    **overrides
        Any setting by name (the TOML keys), e.g. ``walk_speed_kmh=4.0``,
        ``deprivation="File_7_IoD2025.csv"``, ``osm="my.osm.pbf"``.

    Returns
    -------
    RunResult
        ``areas`` (GeoDataFrame, one row per area, projected CRS, the columns of
        ``areas.gpkg``), ``amenities``, ``amenity_polygons``, ``origins``,
        ``manifest`` (dict), ``labels`` (category -> words). A bad setting or
        input raises :class:`ConfigError` / :class:`InputError` (one line, with the fix).

    Examples
    --------
    >>> res = sr.run(file7_download=False, quiet=True, cache=True)
    >>> res.areas["isolation_risk_decile"].value_counts().sort_index().tolist()
    [8, 9, 9, 9, 9, 9, 9, 9, 9, 9]
    >>> res.manifest["index"]["domains_used"]  # offline: no deprivation data
    ['access']
    """
    if cache:
        return load(settings, cache=True, **overrides)[1]
    return _pipeline.run(_settings(settings, overrides))


def prepare(settings: SettingsLike = None, **overrides: Any) -> Prepared:
    """Read every input, build the origins and snap them to the walking network.

    What :func:`access`, :func:`compute`, :func:`screen_site` and the what-ifs start from.

    Parameters
    ----------
    settings, **overrides
        As in :func:`run`.

    Returns
    -------
    Prepared
        ``areas`` (projected), ``network``, ``amenities``, ``origins``, ``data``...

    Examples
    --------
    Your own areas, without OpenStreetMap (fast; access is then NaN):

    >>> import tempfile
    >>> path = f"{tempfile.mkdtemp()}/areas.gpkg"
    >>> sr.read_areas().to_file(path)
    >>> p = sr.prepare(areas=path, area_id="area_id", osm="none", file7_download=False,
    ...                quiet=True)
    >>> len(p.areas), p.network is None, p.crs
    (89, True, 'EPSG:27700')
    """
    return _pipeline.prepare(_settings(settings, overrides))


def compute(prepared: Prepared, **overrides: Any) -> RunResult:
    """Access, the isolation-risk index and the output tables of a prepared run.

    Parameters
    ----------
    prepared : Prepared
        From :func:`prepare` or :func:`load`; left unchanged.
    **overrides
        Settings that keep the preparation: :data:`ACCESS_SETTINGS` (speeds,
        thresholds, decay, catchment, search limit), ``normalisation``,
        ``domains``, ``n_drivers``. Returns a :class:`RunResult`.

    Examples
    --------
    >>> prepared, res = sr.load(file7_download=False, quiet=True)
    >>> slow = sr.compute(prepared, walk_speed_kmh=3.0)
    >>> [round(float(r.areas["gp_walk_min"].median()), 1) for r in (res, slow)]
    [13.6, 21.8]
    """
    return _pipeline.compute(_on_prepared(prepared, overrides, COMPUTE_SETTINGS))


def load(settings: SettingsLike = None, *, cache: bool = True,
         **overrides: Any) -> tuple[Prepared, RunResult]:
    """``(prepared, result)`` of a run, from the disk cache when computed before.

    Parameters
    ----------
    settings, **overrides
        As in :func:`run`.
    cache : bool
        Read and write the run cache the app uses (``$SOCIALRISK_CACHE`` or
        ``~/.cache/socialrisk``, keyed by every setting and input file's SHA-256);
        runs that download their inputs (``lad``, ``place``, URLs) are computed.

    Examples
    --------
    >>> prepared, res = sr.load(file7_download=False, quiet=True)
    >>> len(prepared.origins), len(res.areas)  # homes (building origins), areas
    (42657, 89)
    """
    s = _settings(settings, overrides)
    if cache:
        prepared, result, _ = load_or_compute(s)
        return prepared, result
    prepared = _pipeline.prepare(s)
    return prepared, _pipeline.compute(prepared)


def open_run(run_dir: str | os.PathLike) -> tuple[Prepared, RunResult]:
    """Open the output folder of ``socialrisk run --out DIR`` without recomputing.

    Reads only the run's ``app/`` data (nothing in the manifest is followed);
    ``prepared.settings`` holds the run's analysis settings. Returns
    ``(prepared, result)``; see :func:`run_and_write` for an example.
    """
    prepared, result, _ = load_run_dir(run_dir)
    return prepared, result


def run_and_write(settings: SettingsLike = None, **overrides: Any) -> Path:
    """Run and write ``areas.gpkg``, ``areas.csv``, ``map.html``, ``manifest.json``, ``app/``.

    Parameters
    ----------
    settings, **overrides
        As in :func:`run`; ``out`` is the output folder (new, empty or a
        previous run's: no other file is ever overwritten).

    Returns
    -------
    Path
        The output folder.

    Examples
    --------
    >>> import tempfile
    >>> out = sr.run_and_write(file7_download=False, quiet=True, map=False,
    ...                        out=f"{tempfile.mkdtemp()}/iow")
    >>> sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    ['amenities.gpkg', 'app', 'areas.csv', 'areas.gpkg', 'areas.qml', 'manifest.json']
    >>> prepared, res = sr.open_run(out)
    >>> len(res.areas)
    89
    """
    return _pipeline.run_and_write(_settings(settings, overrides))


# ---------------------------------------------------------------- inputs


def read_areas(path: str | os.PathLike | None = None, area_id: str = "",
               layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a polygon layer of areas as the pipeline does.

    Parameters
    ----------
    path : path, optional
        GeoPackage, GeoJSON, Shapefile (also zipped) or GeoParquet; None reads
        the embedded Isle of Wight LSOAs (2011).
    area_id, layer : str, optional
        The id column (empty: detect an obvious one, e.g. ``LSOA21CD``); the layer.

    Returns
    -------
    GeoDataFrame
        ``area_id`` (text), ``geometry`` (valid 2D polygons), then the file's
        other columns, in the file's CRS; ``attrs["areas_report"]`` says what
        was detected, repaired or dropped.

    Examples
    --------
    >>> areas = sr.read_areas()
    >>> len(areas), areas.crs.to_string(), areas["area_id"].iloc[0]
    (89, 'EPSG:4326', 'E01017282')
    >>> areas.attrs["areas_report"]["id_column"]
    'lsoa11_code'
    """
    if path is None:
        path, area_id = embedded_file(EMBEDDED_AREAS), area_id or EMBEDDED_AREA_ID
    areas, report = _read_areas(path, area_id, layer)
    areas.attrs["areas_report"] = report.as_dict()
    return areas


# ---------------------------------------------------------------- computation


def access(prepared: Prepared | SettingsLike = None, categories: Iterable[str] | None = None,
           **overrides: Any) -> gpd.GeoDataFrame:
    """Walking access per area and category, as the pipeline computes it.

    Parameters
    ----------
    prepared : Prepared, Settings, path or None
        A prepared run (fast), or settings to prepare one (see :func:`run`).
    categories : list of str, optional
        Categories to compute (keys of ``RunResult.labels``); default all.
    **overrides
        Access settings (:data:`ACCESS_SETTINGS`, e.g. ``walk_speed_kmh=3.0``,
        ``thresholds_m=[400, 800]``); with settings instead of a prepared run,
        any setting.

    Returns
    -------
    GeoDataFrame
        One row per area, index of ``prepared.areas``: ``area_id``, ``area_name``,
        per category ``<cat>_nearest_m`` (mean metres over residents who can reach
        one), ``_walk_min``, ``_walk_min_slow``, ``_count_<t>m``,
        ``_share_beyond_<t>m``, ``_unreachable_share``, ``_gravity``, ``_e2sfca``
        (with a population); ``n_origins``, ``origin_weight``, geometry. NaN where
        undefined (no usable amenity, no origin in the area, ``osm="none"``).

    Examples
    --------
    >>> prepared, res = sr.load(file7_download=False, quiet=True)
    >>> gp = sr.access(prepared, ["gp"])
    >>> int((gp["gp_walk_min"] <= 10).sum())  # areas within 10 minutes of a GP on average
    24
    >>> gp["gp_walk_min"].equals(res.areas["gp_walk_min"])
    True
    """
    if isinstance(prepared, Prepared):
        p = _on_prepared(prepared, overrides, ACCESS_SETTINGS)
    else:
        p = _pipeline.prepare(_settings(prepared, overrides))
    tax = p.taxonomy
    cats = list(tax) if categories is None else (
        [categories] if isinstance(categories, str) else list(categories))
    for c in cats:
        if c not in tax:
            near = difflib.get_close_matches(str(c), list(tax), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise InputError(f"unknown category {c!r}{hint}; choose from {', '.join(tax)}")
    params = access_params(p.settings)
    ids = p.areas[schema.AREA_ID].to_numpy()
    if p.network is None:
        table = pd.DataFrame({col: np.full(len(ids), np.nan) for c in cats
                              for col in params.columns(c).all()}, index=ids)
    else:
        sub = {c: tax[c] for c in tax if c in cats}
        table, _ = access_all(p.network, p.snapped, p.origins, p.amenities, sub, params,
                              quiet=p.settings.quiet)
        table = table.reindex(ids)
    cols: dict[str, Any] = {schema.AREA_ID: ids}
    name = next((c for c in p.areas.columns if c.lower().endswith("name")), None)  # as output
    if name:
        cols[schema.AREA_NAME] = p.areas[name].to_numpy()
    cols.update({c: table[c].to_numpy() for c in table.columns})
    return gpd.GeoDataFrame(cols, index=p.areas.index, geometry=p.areas.geometry.to_numpy(),
                            crs=p.areas.crs)


def isolation_index(table: pd.DataFrame, domains: Mapping[str, Any] | None = None,
                    normalisation: str = "rank_exp", *,
                    weights: Mapping[str, float] | None = None, n_drivers: int = 3,
                    domain_normalisation: str | None = None,
                    labels: Mapping[str, str] | None = None,
                    max_distance_m: float = schema.MAX_DISTANCE_M,
                    strict: bool = False) -> pd.DataFrame:
    """Score areas: indicators -> domain scores -> isolation risk, rank, decile, drivers.

    ``docs/method.md`` section 5: normalised indicators (higher = worse) averaged
    within domains, domain scores normalised and weighted; rank 1 = highest risk,
    decile ``ceil(10 rank / N)``. As in a run, people who cannot reach a category
    count at ``max_distance_m`` (when ``<cat>_unreachable_share`` is in the table).

    Parameters
    ----------
    table : DataFrame or GeoDataFrame
        One row per area (unique index), one column per indicator: a run's
        ``areas`` or your own table.
    domains : mapping, optional
        Name -> :class:`DomainSpec`, or the TOML form ``{"access": {"weight": 0.5,
        "indicators": ["gp_nearest_m"]}}``; default ``Settings().domains``.
    normalisation, domain_normalisation : {"rank_exp", "zscore", "minmax"}
        For the indicators, and the domain scores (default: the same).
    weights : mapping, optional
        New relative domain weights, e.g. ``{"access": 0.6, "deprivation": 0.2,
        "demographic": 0.2}``; the domains keep their indicators.
    n_drivers, labels, max_distance_m, strict
        As the settings of a run; ``labels`` (category -> words for the
        drivers) default to the taxonomy's.

    Returns
    -------
    DataFrame or GeoDataFrame
        A copy of ``table`` (same index and type) with ``<domain>_score``,
        ``isolation_risk``, ``isolation_risk_rank``, ``isolation_risk_decile``
        (``Int64``), ``isolation_risk_missing`` and ``drivers``; index columns
        of an earlier scoring are replaced. NaN / ``<NA>`` where an area has no
        indicator value. ``attrs["isolation_index"]``: weights as applied,
        indicators dropped and why.

    Examples
    --------
    >>> t = pd.DataFrame({"gp_nearest_m": [300.0, 2500.0, 900.0, np.nan],
    ...                   "share_60_plus": [0.2, 0.45, 0.3, np.nan]},
    ...                  index=["A", "B", "C", "D"])
    >>> doms = {"access": {"weight": 0.5, "indicators": ["gp_nearest_m"]},
    ...         "demographic": {"weight": 0.5, "indicators": ["share_60_plus"]}}
    >>> out = sr.isolation_index(t, doms)
    >>> out[["isolation_risk", "isolation_risk_rank", "isolation_risk_decile"]].round(1)
       isolation_risk  isolation_risk_rank  isolation_risk_decile
    A             9.2                    3                     10
    B           100.0                    1                      4
    C            24.7                    2                      7
    D             NaN                 <NA>                   <NA>
    >>> print(out.loc["B", "isolation_risk_drivers"].replace("; ", "\\n"))
    walk to a GP surgery: 2.5 km, the longest of the 3 areas
    share aged 60+: 45 %, the highest of the 3 areas
    """
    doms = _domains(domains, weights)
    Settings(domains=doms, normalisation=normalisation, n_drivers=n_drivers,
             max_distance_m=max_distance_m).validate()  # the run's checks and messages
    used = {i.column for d in doms.values() for i in d.indicators}
    scores = {schema.score_column(d) for d in (*doms, *DEFAULT_DOMAINS)}
    stale = [c for c in table.columns if c not in used
             and (c in _scenarios.INDEX_COLUMNS or c in scores)]
    base = table.drop(columns=stale)
    geom = [base.geometry.name] if isinstance(base, gpd.GeoDataFrame) else []
    values = pd.DataFrame(base.drop(columns=geom))
    unr = schema.UNREACHABLE_SUFFIX
    cats = [c[: -len(unr) - 1] for c in values.columns if str(c).endswith(f"_{unr}")]
    if labels is None:
        labels = {name: c.label for name, c in load_taxonomy().items()}
    res = _isolation_index(unreachable_at_limit(values, cats, max_distance_m), doms,
                           normalisation, n_drivers, domain_normalisation=domain_normalisation,
                           labels=labels, strict=strict)
    out = base.copy()
    for col, v in res.frame.items():  # same index; text inferred as in the run's table
        out[col] = v.to_numpy() if v.dtype == object else v
    out = out[[c for c in table.columns if c in out.columns]  # columns stay where they were
              + [c for c in out.columns if c not in table.columns]]
    out.attrs["isolation_index"] = res.report
    return out


def _domains(domains: Mapping[str, Any] | None, weights: Mapping[str, float] | None
             ) -> dict[str, DomainSpec]:
    """Domains as DomainSpec (defaults, specs or the TOML form), with new weights applied."""
    if domains is None:
        doms = Settings().domains
    elif all(isinstance(d, DomainSpec) for d in domains.values()):
        doms = {k: copy.deepcopy(d) for k, d in domains.items()}
    else:
        try:
            doms = settings_from_mapping({"domains": _plain(domains)}).domains
        except ConfigError as exc:
            raise ConfigError(f"domains: {exc}") from None
    for name, w in (weights or {}).items():
        if name not in doms:
            near = difflib.get_close_matches(str(name), list(doms), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"weights: unknown domain {name!r}{hint} (domains: "
                              f"{', '.join(doms)})")
        if isinstance(w, bool) or not isinstance(w, (int, float)):
            raise ConfigError(f"weights: {name} must have a number, not {w!r}")
        doms[name] = DomainSpec(float(w), doms[name].indicators)
    return doms


# ---------------------------------------------------------------- sites and what-if


def screen_site(prepared: Prepared, x: float | None = None, y: float | None = None, *,
                result: RunResult | pd.DataFrame | None = None, polygon: Any = None,
                crs: str | None = "EPSG:4326", at: str = "edge",
                within_m: float = 800.0) -> _screening.SiteScreening:
    """Walking distance from a site to every category, compared with the areas.

    Parameters
    ----------
    prepared : Prepared
    x, y : float, optional
        A point site in ``crs`` (longitude, latitude by default; None = the network's).
    result : RunResult or DataFrame, optional
        The run (or its ``areas``) to compare with: ``better_than_share`` is the
        share of areas whose residents are farther on average.
    polygon : shapely Polygon, optional
        A site (e.g. a housing allocation) reached ``at`` its edge or its
        representative point, instead of ``x``/``y``.
    within_m : float
        Distance of ``count_within``, metres (800 m = 10 min at 4.8 km/h).

    Returns
    -------
    SiteScreening
        ``table``: one row per category (``nearest_name``, ``nearest_m``,
        ``walk_min``, ``walk_min_slow``, ``count_within``,
        ``better_than_share``, ``comparison``); ``site``, ``distances``, ``notes``.

    Examples
    --------
    >>> prepared, res = sr.load(file7_download=False, quiet=True)
    >>> site = sr.screen_site(prepared, -1.2985, 50.7005, result=res)  # Newport
    >>> gp = site.table.set_index("category").loc["gp"]
    >>> gp["nearest_name"], round(float(gp["walk_min"]), 1)
    ('The Dower House Surgery', 7.9)
    """
    areas = result.areas if isinstance(result, RunResult) else result
    return _screening.screen_site(prepared, x, y, polygon=polygon, crs=crs, at=at, areas=areas,
                                  within_m=within_m)


def add_facility(prepared: Prepared, result: RunResult, category: str, x: float, y: float,
                 *, crs: str | None = "EPSG:4326", name: str = "New facility",
                 capacity: float = float("nan"), within_min: float = 10.0,
                 state: _scenarios.CategoryState | None = None,
                 base_table: pd.DataFrame | None = None) -> _scenarios.ScenarioResult:
    """What if a facility of ``category`` opened at a point: access and index recomputed.

    Only what the facility changes is recomputed; the result equals a full run
    with the facility in the data.

    Parameters
    ----------
    prepared, result : Prepared, RunResult
        The run before the change (from :func:`load`).
    category : str
        A key of ``result.labels``.
    x, y : float
        Location in ``crs`` (longitude, latitude by default).
    name, capacity : str, float
        Shown in the result; capacity for E2SFCA (NaN = untagged).
    within_min : float
        The walking-time line for ``people_newly_within``.
    state, base_table : optional
        A previous scenario's ``state`` and ``table``, to chain scenarios.

    Returns
    -------
    ScenarioResult
        ``changes`` (one row per area: old/new walking minutes, deciles, people
        newly within ``within_min``), ``table`` (the new area table, index
        ``area_id``), ``people_newly_within``, ``state``.

    Examples
    --------
    >>> prepared, res = sr.load(file7_download=False, quiet=True)
    >>> what_if = sr.add_facility(prepared, res, "gp", -1.3640, 50.6420, name="Brighstone GP")
    >>> int(what_if.changes["changed"].sum())  # areas whose access changed (baseline scale)
    5
    >>> what_if.changes.loc["E01017291", ["gp_walk_min_old", "gp_walk_min_new"]].round(1).tolist()
    [121.2, 36.7]
    """
    return _scenarios.add_facility(prepared, result, category, x, y, crs=crs, name=name,
                                   capacity=capacity, state=state, within_min=within_min,
                                   base_table=base_table)


def remove_facility(prepared: Prepared, result: RunResult, category: str, amenity_row: int,
                    *, within_min: float = 10.0,
                    state: _scenarios.CategoryState | None = None,
                    base_table: pd.DataFrame | None = None) -> _scenarios.ScenarioResult:
    """What if an existing amenity closed: access and index recomputed where it mattered.

    Parameters
    ----------
    prepared, result, category, within_min, state, base_table
        As in :func:`add_facility`.
    amenity_row : int
        Its row in ``result.amenities`` (the same in ``prepared.amenities``).

    Returns
    -------
    ScenarioResult
        As in :func:`add_facility`, with ``people_no_longer_within``.

    Examples
    --------
    >>> prepared, res = sr.load(file7_download=False, quiet=True)
    >>> am = res.amenities
    >>> row = int(am.index[am["name"] == "Brighstone Community Library"][0])
    >>> closed = sr.remove_facility(prepared, res, "library", row)
    >>> closed.changes.loc["E01017291", ["library_walk_min_old", "library_walk_min_new"]
    ...                    ].round(1).tolist()
    [8.3, 136.5]
    """
    return _scenarios.remove_facility(prepared, result, category, amenity_row, state=state,
                                      within_min=within_min, base_table=base_table)
