"""What-if scenarios: add or remove one facility and recompute access incrementally.

Pure computation on a :class:`~socialrisk.pipeline.Prepared` and the
:class:`~socialrisk.pipeline.RunResult` computed from it; no I/O.

How the recomputation stays small
---------------------------------
The per-origin state of one category (nearest distance, the nearest amenity,
and the table of amenity/origin pairs within the cutoff) is computed once by
:func:`category_state` (one multi-source Dijkstra plus the batched pair
search, exactly as :func:`socialrisk.pipeline.compute` does) and can be kept
by the caller (the app caches it).

* **Add** a facility: one single-source Dijkstra from the new facility's
  snapped position, bounded by ``max_distance_m``. Origins for which the new
  facility is nearer than their current nearest amenity take its distance; its
  pairs within the cutoff are appended to the pair table (counts and gravity
  go up where it is within reach).
* **Remove** a facility: only the origins whose nearest amenity it was (the
  ``source_item`` returned by :func:`~risk.engine.nearest_distance`)
  are recomputed, with a multi-source Dijkstra from the remaining amenities;
  its pairs are dropped from the pair table.

The category's per-origin measures are then rebuilt from these arrays with the
same functions as the pipeline (:mod:`risk.access`, E2SFCA from the
pair table), re-aggregated per area, put into the run's area table in place of
the old columns, and the isolation-risk index is recomputed with the run's
settings (:func:`risk.rules.unreachable_at_limit` and
:func:`risk.index.isolation_index`). The result is identical to a
full :func:`~socialrisk.pipeline.compute` on inputs that include (or lack)
the facility, up to floating-point rounding of equal-length paths.

On which scale the change is judged
-----------------------------------
Ranks are relative: re-ranked, areas the change does not touch can change
decile. The scenario's score, rank and decile (``changes``, ``scores``) are
put on the **baseline's scale** by :func:`baseline_scale` (the rule is
:func:`risk.fixed_reference.ref_normalise`'s: new values placed among the
baseline's, interpolated, capped at its extremes), so an area whose indicators
did not change keeps exactly its baseline score, rank and decile. ``table``
stays what a fresh run would compute (re-ranked), for saving the scenario as
a run and chaining; its decile is ``changes["isolation_risk_decile_rerun"]``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from risk.engine import distances_within, nearest_distance
from risk.fixed_reference import fixed_index
from risk.index import isolation_index
from risk.rules import (
    areas_from_origin_access,
    category_origin_access,
    supply_from_capacity,
    unreachable_at_limit,
)
from risk.snap import snap_points
from socialrisk.compare_score import used_domains
from socialrisk.core.errors import InputError
from socialrisk.core.network import Attachments
from socialrisk.core.schema import (
    AREA_ID,
    AREA_NAME,
    DRIVERS,
    ISOLATION_RISK,
    ISOLATION_RISK_DECILE,
    ISOLATION_RISK_RANK,
    NEAREST_SUFFIX,
    POPULATION,
    WALK_MIN_SUFFIX,
    minutes_to_metres,
    nearest_column,
    score_column,
    walk_min_column,
)
from socialrisk.core.schema import INDEX_COLUMNS as _SCHEMA_INDEX_COLUMNS
from socialrisk.scores import index_view
from socialrisk.stages import access_params, origin_weights

log = logging.getLogger(__name__)

__all__ = ["CategoryState", "ScenarioResult", "category_state", "add_facility",
           "remove_facility", "baseline_table", "baseline_scale", "INDEX_COLUMNS",
           "SCALE_NOTE"]

#: how the page and reports say which scale the scenario's deciles are on
SCALE_NOTE = ("Risk scores and deciles are on the baseline run's scale: each area's new "
              "values are placed among the areas' values before the change, so an area the "
              "change does not touch keeps its score and decile.")

#: columns the index writes; everything else in the run's area table is index input
INDEX_COLUMNS = (*_SCHEMA_INDEX_COLUMNS, "isolation_risk_missing", DRIVERS)


@dataclass(frozen=True)
class CategoryState:
    """Per-origin access state of one category (what a scenario updates).

    Attributes
    ----------
    category : str
    rows : ndarray of int64
        Rows of ``prepared.amenities`` of this category (category item ``i`` is
        row ``rows[i]``).
    snapped : ndarray of bool
        Per category item: whether it is on the network (used).
    dist : ndarray of float64, shape (n_origins,)
        Metres to the nearest amenity (inf unreachable, NaN unsnapped origin).
    source : ndarray of int64, shape (n_origins,)
        Category item of that nearest amenity, -1 when none.
    pairs : DataFrame
        ``source`` (category item), ``target`` (origin), ``cost`` (metres):
        every pair within ``cutoff``.
    cutoff : float
        Metres; max(thresholds_m, catchment_m), as in the pipeline.
    capacity : ndarray of float64
        OSM capacity per category item (NaN untagged), for E2SFCA supply.
    """

    category: str
    rows: np.ndarray
    snapped: np.ndarray
    dist: np.ndarray
    source: np.ndarray
    pairs: pd.DataFrame
    cutoff: float
    capacity: np.ndarray


@dataclass
class ScenarioResult:
    """What changed when one facility was added or removed.

    Attributes
    ----------
    kind : {"add", "remove"}
    category : str
    facility : dict
        ``name``, ``lon``, ``lat``, ``x``, ``y`` (projected), ``snap_m`` and, for
        a removal, ``amenity_row``.
    affected : ndarray of int64
        Origin positions whose nearest distance changed.
    old_m, new_m : ndarray of float64
        Their nearest distance before and after (aligned to ``affected``).
    state : CategoryState
        The category's state after the change (chain further scenarios on it).
    table : DataFrame
        The area table after the change (index area_id): access columns of all
        categories, area data and the index columns as a fresh run would
        compute them (every area re-ranked; for saving as a run and chaining).
    changes : DataFrame
        One row per area (index area_id, in the run's order): ``population``,
        ``<cat>_walk_min_old``/``_new``/``_change``, ``<cat>_nearest_m_old``/``_new``,
        ``isolation_risk_old``/``_new``/``_change``, ``isolation_risk_rank_old``/``_new``
        and ``isolation_risk_decile_old``/``_new`` on the baseline's scale (see
        the module docstring), ``isolation_risk_decile_rerun`` (the decile a
        fresh run would give), ``people_newly_within`` and
        ``people_no_longer_within`` (population at origins crossing the
        ``within_min`` line) and ``changed`` (walk, nearest place, score or
        decile differ).
    scores : DataFrame
        The scenario's index on the baseline's scale (index area_id):
        ``<domain>_score``, ``isolation_risk``, ``_rank``, ``_decile``,
        ``norm_<indicator>`` and ``contrib_<indicator>``
        (:func:`risk.fixed_reference.fixed_index`).
    people_newly_within, people_no_longer_within : float
        Totals over all areas (NaN when the run has no population).
    within_min : float
        The walking-time line used for the people counts (minutes).
    within_m : float
        The same line in metres at the run's walking speed.
    seconds : float
        Wall time of the recomputation.
    """

    kind: str
    category: str
    facility: dict
    affected: np.ndarray
    old_m: np.ndarray
    new_m: np.ndarray
    state: CategoryState
    table: pd.DataFrame
    changes: pd.DataFrame
    people_newly_within: float
    people_no_longer_within: float
    within_min: float
    within_m: float
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


# ---------------------------------------------------------------- state


def _check_category(prepared, category: str) -> None:
    if prepared.network is None:
        raise InputError("this run has no walking network (osm = \"none\"); what-if "
                         "scenarios need OpenStreetMap data")
    if category not in prepared.taxonomy:
        raise InputError(f"unknown category {category!r}; choose one of "
                         f"{', '.join(prepared.taxonomy)}")


def category_state(prepared, category: str) -> CategoryState:
    """Per-origin access state of ``category`` before any change.

    Parameters
    ----------
    prepared : socialrisk.pipeline.Prepared
    category : str
        A category of ``prepared.taxonomy``.

    Returns
    -------
    CategoryState
    """

    _check_category(prepared, category)
    s = prepared.settings
    att = prepared.snapped.amenities[category]
    rows = np.asarray(prepared.snapped.amenity_rows[category], dtype=np.int64)
    cutoff = access_params(s).cutoff()
    n_o = prepared.snapped.origins.n_items
    if att.snapped.any():
        dist, src = nearest_distance(prepared.network, att, prepared.snapped.origins,
                                     limit=s.max_distance_m)
        pairs = distances_within(prepared.network, att, prepared.snapped.origins, cutoff)
    else:
        dist = np.where(prepared.snapped.origins.snapped, np.inf, np.nan)
        src = np.full(n_o, -1, dtype=np.int64)
        pairs = _empty_pairs()
    cap = prepared.amenities["capacity"].to_numpy(dtype=float)[rows]
    return CategoryState(category, rows, att.snapped.copy(), dist, src, pairs, cutoff, cap)


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame({"source": np.zeros(0, np.int64), "target": np.zeros(0, np.int64),
                         "cost": np.zeros(0)})


def baseline_table(result) -> pd.DataFrame:
    """The index input table of a run (index area_id), from its output areas.

    Everything :func:`socialrisk.pipeline.compute` passes to the index: access
    columns, area data and ``population``; the index outputs are dropped.
    """
    areas = result.areas
    t = pd.DataFrame(areas.drop(columns=areas.geometry.name))
    t = t.drop(columns=[c for c in INDEX_COLUMNS if c in t.columns])
    scores = {score_column(d) for d in _domain_names(result)}
    t = t.drop(columns=[c for c in t.columns if c in scores], errors="ignore")
    t = t.set_index(AREA_ID)
    if POPULATION in t.columns:
        t[POPULATION] = t[POPULATION].astype(float)
    return t


def baseline_scale(prepared, result, tables: dict[str, pd.DataFrame],
                   reference: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Score index input tables on the run's own scale (its normalisation).

    Parameters
    ----------
    prepared : socialrisk.pipeline.Prepared
    result : socialrisk.pipeline.RunResult
        The baseline run; its manifest's index report gives the domains,
        indicators and weights it used.
    tables : dict of str to DataFrame
        Index input tables (index area_id), e.g. :func:`baseline_table` and a
        scenario's table.
    reference : DataFrame, optional
        :func:`baseline_table` of ``result`` (built when not given).

    Returns
    -------
    dict of str to DataFrame
        :func:`risk.fixed_reference.fixed_index` of each table against the
        baseline (the index's view: unreachable people at the search limit).
        For the baseline itself it reproduces the run's scores exactly.
    """
    s = prepared.settings
    ref = baseline_table(result) if reference is None else reference
    cats = list(prepared.taxonomy)
    rep = result.manifest.get("index") if isinstance(result.manifest.get("index"), dict) else {}
    domains = used_domains(result.manifest)
    if not domains:
        raise InputError("this run's manifest has no index report (domains used); run it "
                         "again with this version of socialrisk")
    method = rep.get("normalisation", s.normalisation)
    return fixed_index(index_view(ref, cats, s),
                       {k: index_view(t, cats, s) for k, t in tables.items()}, domains,
                       method, domain_method=rep.get("domain_normalisation", method))


def _domain_names(result) -> set[str]:
    dom = result.manifest.get("settings", {}).get("domains", {})
    return set(dom) | {"access", "deprivation", "demographic"}


# ---------------------------------------------------------------- per-category measures


def _category_columns(prepared, state: CategoryState) -> pd.DataFrame:
    """The category's per-area columns from its state, as the pipeline computes them."""

    s, cat = prepared.settings, state.category
    origins = prepared.origins
    pop = origins[POPULATION].to_numpy(dtype=float)
    have_pop = bool(np.isfinite(pop).all())
    supply = None
    if prepared.taxonomy[cat].capacity and have_pop:
        supply, _ = supply_from_capacity(state.capacity, state.snapped)
    params = access_params(s)
    oa = category_origin_access(cat, state.dist, state.pairs, params, pop, supply)
    area, weight = origin_weights(origins, have_pop)
    agg = areas_from_origin_access(oa, {cat: state.dist}, area, weight, params)
    return agg.drop(columns=["n_origins", "origin_weight"])


def _index(prepared, table: pd.DataFrame) -> pd.DataFrame:

    s = prepared.settings
    res = isolation_index(unreachable_at_limit(table, prepared.taxonomy, s.max_distance_m),
                          s.domains, s.normalisation, n_drivers=s.n_drivers,
                          labels=prepared.labels)
    return res.frame


# ---------------------------------------------------------------- scenarios


def _finish(prepared, result, kind: str, state_old: CategoryState, state_new: CategoryState,
            facility: dict, within_min: float, t0: float, base_table: pd.DataFrame | None,
            notes: list[str]) -> ScenarioResult:
    s, cat = prepared.settings, state_old.category
    base = baseline_table(result) if base_table is None else base_table
    new_cols = _category_columns(prepared, state_new)
    table = base.copy()
    for c in new_cols.columns:
        table[c] = new_cols[c].reindex(table.index).to_numpy()
    reference = baseline_table(result) if base_table is not None else base
    fixed = baseline_scale(prepared, result, {"before": reference, "after": table},
                           reference=reference)
    frame = _index(prepared, table)
    for c in frame.columns:
        table[c] = frame[c].reindex(table.index).to_numpy() if c != DRIVERS \
            else frame[c].reindex(table.index).to_numpy(dtype=object)

    old_d, new_d = state_old.dist, state_new.dist
    changed = ~((old_d == new_d) | (np.isnan(old_d) & np.isnan(new_d)))
    affected = np.flatnonzero(changed)
    within_m = minutes_to_metres(within_min, s.walk_speed_kmh)
    pop = prepared.origins[POPULATION].to_numpy(dtype=float)
    newly = (~(old_d <= within_m)) & (new_d <= within_m)
    lost = (old_d <= within_m) & ~(new_d <= within_m)
    area = prepared.origins[AREA_ID].to_numpy()
    ids = result.areas[AREA_ID].to_numpy()
    have_pop = bool(np.isfinite(pop).all())

    def per_area(mask: np.ndarray) -> np.ndarray:
        if not have_pop:
            return np.full(ids.size, np.nan)
        return pd.Series(np.where(mask, pop, 0.0)).groupby(area).sum().reindex(
            ids, fill_value=0.0).to_numpy()

    walk, near = walk_min_column(cat), nearest_column(cat)
    old_areas = result.areas.set_index(AREA_ID)
    ch = pd.DataFrame(index=pd.Index(ids, name=AREA_ID))
    if AREA_NAME in old_areas.columns:
        ch[AREA_NAME] = old_areas[AREA_NAME].reindex(ids).to_numpy()
    ch[POPULATION] = old_areas[POPULATION].reindex(ids).to_numpy(dtype=float)
    for col, tag in ((walk, WALK_MIN_SUFFIX), (near, NEAREST_SUFFIX)):
        o = old_areas[col].reindex(ids).to_numpy(dtype=float) if col in old_areas.columns \
            else np.full(ids.size, np.nan)
        n = table[col].reindex(ids).to_numpy(dtype=float)
        ch[f"{cat}_{tag}_old"] = o
        ch[f"{cat}_{tag}_new"] = n
        if tag == WALK_MIN_SUFFIX:
            with np.errstate(invalid="ignore"):
                ch[f"{walk}_change"] = n - o
    before, after = (fixed[k].reindex(ids) for k in ("before", "after"))
    ch[f"{ISOLATION_RISK}_old"] = before[ISOLATION_RISK].to_numpy(dtype=float)
    ch[f"{ISOLATION_RISK}_new"] = after[ISOLATION_RISK].to_numpy(dtype=float)
    ch[f"{ISOLATION_RISK}_change"] = ch[f"{ISOLATION_RISK}_new"] - ch[f"{ISOLATION_RISK}_old"]
    ch[f"{ISOLATION_RISK_RANK}_old"] = before[ISOLATION_RISK_RANK].array
    ch[f"{ISOLATION_RISK_RANK}_new"] = after[ISOLATION_RISK_RANK].array
    dec_old = pd.array(before[ISOLATION_RISK_DECILE].to_numpy(), dtype="Int64")
    dec_new = pd.array(after[ISOLATION_RISK_DECILE].to_numpy(), dtype="Int64")
    ch[f"{ISOLATION_RISK_DECILE}_old"] = dec_old
    ch[f"{ISOLATION_RISK_DECILE}_new"] = dec_new
    ch[f"{ISOLATION_RISK_DECILE}_rerun"] = pd.array(pd.Series(table[ISOLATION_RISK_DECILE]
                                                              .reindex(ids).to_numpy(dtype=float))
                                                    .round(), dtype="Int64")
    ch["people_newly_within"] = per_area(newly)
    ch["people_no_longer_within"] = per_area(lost)
    o_w, n_w = ch[f"{walk}_old"].to_numpy(), ch[f"{walk}_new"].to_numpy()
    walk_changed = ~np.isclose(o_w, n_w, rtol=0, atol=1e-9, equal_nan=True)
    dec_changed = (pd.Series(dec_old).fillna(-1).to_numpy()
                   != pd.Series(dec_new).fillna(-1).to_numpy())
    touched = pd.Series(changed).groupby(area).any().reindex(ids, fill_value=False)
    risk_changed = ~np.isclose(ch[f"{ISOLATION_RISK}_old"], ch[f"{ISOLATION_RISK}_new"],
                               rtol=0, atol=0, equal_nan=True)
    ch["changed"] = walk_changed | dec_changed | risk_changed | touched.to_numpy()
    tot_new = float(pop[newly].sum()) if have_pop else math.nan
    tot_lost = float(pop[lost].sum()) if have_pop else math.nan
    secs = time.perf_counter() - t0
    log.info("what-if %s %s: %d origins affected, %.2f s", kind, cat, affected.size, secs)
    return ScenarioResult(kind=kind, category=cat, facility=facility, affected=affected,
                          old_m=old_d[affected], new_m=new_d[affected], state=state_new,
                          table=table, changes=ch, people_newly_within=tot_new,
                          people_no_longer_within=tot_lost, within_min=float(within_min),
                          within_m=float(within_m), seconds=secs, notes=notes,
                          scores=fixed["after"])


def _to_network_xy(prepared, x: float, y: float, crs: str | None) -> tuple[float, float]:
    net_crs = prepared.network.crs
    if crs is None or pyproj.CRS.from_user_input(crs) == pyproj.CRS.from_user_input(net_crs):
        return float(x), float(y)
    tr = pyproj.Transformer.from_crs(crs, net_crs, always_xy=True)
    px, py = tr.transform(float(x), float(y))
    return float(px), float(py)


def add_facility(prepared, result, category: str, x: float, y: float, *,
                 crs: str | None = "EPSG:4326", name: str = "New facility",
                 capacity: float = math.nan, state: CategoryState | None = None,
                 within_min: float = 10.0,
                 base_table: pd.DataFrame | None = None) -> ScenarioResult:
    """Add one facility of ``category`` at a point and recompute what it changes.

    Parameters
    ----------
    prepared : socialrisk.pipeline.Prepared
    result : socialrisk.pipeline.RunResult
        The run computed from ``prepared`` (the "before").
    category : str
    x, y : float
        Location, in ``crs`` (longitude, latitude by default).
    crs : str or None
        CRS of ``x``/``y``; None = the network's projected CRS.
    name : str
        Name shown in the result.
    capacity : float
        Capacity for E2SFCA (NaN = untagged, as most OSM features).
    state : CategoryState, optional
        The category's state before the change (from :func:`category_state` or a
        previous scenario's ``state``); computed when not given.
    within_min : float
        Walking-time line for "people newly within" (minutes at the run's speed).
    base_table : DataFrame, optional
        :func:`baseline_table` of ``result`` (or a previous scenario's ``table``),
        to skip rebuilding it.

    Returns
    -------
    ScenarioResult

    Raises
    ------
    InputError
        Unknown category, or the point is farther than ``max_snap_m`` from the
        walking network.
    """

    t0 = time.perf_counter()
    _check_category(prepared, category)
    st = state if state is not None else category_state(prepared, category)
    s = prepared.settings
    px, py = _to_network_xy(prepared, x, y, crs)
    att = snap_points(prepared.network, np.array([px]), np.array([py]), s.max_snap_m)
    if not att.snapped[0]:
        raise InputError(f"the point is farther than {s.max_snap_m:g} m from the walking "
                         "network; click closer to a street or path")
    # one bounded single-source Dijkstra from the new facility
    d_new, _ = nearest_distance(prepared.network, att, prepared.snapped.origins,
                                limit=s.max_distance_m)
    k = st.snapped.size  # the new facility is category item k (appended last)
    better = d_new < st.dist  # NaN (unsnapped origins) compares False
    dist = st.dist.copy()
    src = st.source.copy()
    dist[better] = d_new[better]
    src[better] = k
    near = np.flatnonzero(d_new <= st.cutoff)
    pairs = pd.concat([st.pairs, pd.DataFrame({"source": np.full(near.size, k, np.int64),
                                               "target": near.astype(np.int64),
                                               "cost": d_new[near]})], ignore_index=True)
    new_state = CategoryState(category, np.append(st.rows, -1), np.append(st.snapped, True),
                              dist, src, pairs, st.cutoff, np.append(st.capacity, capacity))
    lon, lat = pyproj.Transformer.from_crs(prepared.network.crs, "EPSG:4326",
                                           always_xy=True).transform(px, py)
    facility = {"name": name, "x": px, "y": py, "lon": float(lon), "lat": float(lat),
                "snap_m": float(att.snap_m[0]), "amenity_row": None}
    return _finish(prepared, result, "add", st, new_state, facility, within_min, t0,
                   base_table, [])


def remove_facility(prepared, result, category: str, amenity_row: int, *,
                    state: CategoryState | None = None, within_min: float = 10.0,
                    base_table: pd.DataFrame | None = None) -> ScenarioResult:
    """Remove an existing amenity and recompute the origins that relied on it.

    Parameters
    ----------
    prepared, result, category, state, within_min, base_table
        As in :func:`add_facility`.
    amenity_row : int
        Row of ``prepared.amenities`` (the same row in ``result.amenities``).

    Returns
    -------
    ScenarioResult

    Raises
    ------
    InputError
        When the row is not an amenity of ``category`` (or was already removed).
    """

    t0 = time.perf_counter()
    _check_category(prepared, category)
    st = state if state is not None else category_state(prepared, category)
    if (st.rows < 0).any():
        raise ValueError("remove facilities before adding any: this state holds added "
                         "facilities, start from category_state()")
    hit = np.flatnonzero(st.rows == int(amenity_row))
    if hit.size == 0:
        raise InputError(f"amenity row {amenity_row} is not a {category} amenity; choose one "
                         "from the list of this category")
    item = int(hit[0])
    notes: list[str] = []
    if not st.snapped[item]:
        notes.append("this amenity was not on the walking network and was not used: "
                     "removing it changes nothing")
    snapped = st.snapped.copy()
    snapped[item] = False
    dist = st.dist.copy()
    src = st.source.copy()
    redo = np.flatnonzero(src == item)
    if redo.size:
        remaining = np.flatnonzero(snapped)
        att_all = prepared.snapped.amenities[category]
        if remaining.size:
            # category items keep their numbers: unsnap the removed one
            att = _without_item(att_all, st, item)
            d, so = nearest_distance(prepared.network, att, prepared.snapped.origins.select(redo),
                                     limit=prepared.settings.max_distance_m)
        else:
            d, so = np.full(redo.size, np.inf), np.full(redo.size, -1)
        dist[redo] = d
        src[redo] = so
    pairs = st.pairs[st.pairs["source"].to_numpy() != item].reset_index(drop=True)
    new_state = CategoryState(category, st.rows, snapped, dist, src, pairs, st.cutoff,
                              st.capacity)
    am = prepared.amenities.iloc[int(amenity_row)]
    pt = gpd.GeoSeries([am.geometry], crs=prepared.amenities.crs).to_crs(
        prepared.network.crs).representative_point().iloc[0]
    lonlat = shapely.get_coordinates(gpd.GeoSeries([pt], crs=prepared.network.crs)
                                     .to_crs("EPSG:4326").iloc[0])[0]
    facility = {"name": am.get("name"), "x": pt.x, "y": pt.y, "lon": float(lonlat[0]),
                "lat": float(lonlat[1]), "snap_m": math.nan, "amenity_row": int(amenity_row)}
    return _finish(prepared, result, "remove", st, new_state, facility, within_min, t0,
                   base_table, notes)


def _without_item(att, st: CategoryState, item: int):
    """The category's attachments with ``item`` (and items removed earlier) unsnapped."""

    keep_item = st.snapped.copy()
    keep_item[item] = False
    n_orig = att.n_items
    keep_item = keep_item[:n_orig]  # items added by scenarios are not in ``att``
    m = keep_item[att.item]
    return Attachments(item=att.item[m], node=att.node[m], offset=att.offset[m],
                       edge=att.edge[m], along=att.along[m],
                       snap_m=np.where(keep_item, att.snap_m, np.nan), snapped=keep_item)
