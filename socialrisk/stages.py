"""The pipeline's computing stages: snapping, access per category, the output tables.

Each stage takes the settings it needs as explicit values (:class:`risk.rules.AccessParams`
for the access measures) and calls :mod:`risk` for the arithmetic; the
orchestration (reading, timing, manifest) is :mod:`socialrisk.pipeline`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from risk.engine import distances_within, nearest_distance
from risk.rules import (
    AccessParams,
    areas_from_origin_access,
    category_origin_access,
    supply_from_capacity,
)
from risk.snap import snap_geometries, snap_points
from risk.tiles import tile_workers
from socialrisk.core import schema
from socialrisk.core.network import Attachments, WalkNetwork, concat_attachments
from socialrisk.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Timings:
    """Seconds per stage, in order."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s ...", name)
        t0 = time.perf_counter()
        yield
        self.stages[name] = round(time.perf_counter() - t0, 3)
        log.info("%s done in %.1f s", name, self.stages[name])


@dataclass
class RunResult:
    """Everything a run computed, before writing."""

    areas: gpd.GeoDataFrame
    amenities: gpd.GeoDataFrame
    amenity_polygons: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    manifest: dict
    labels: dict[str, str]


@dataclass
class Prepared:
    """Everything up to and including snapping: what access computations start from.

    The app keeps one of these in memory to screen sites and try what-if
    scenarios without re-reading the inputs.
    """

    settings: Settings
    taxonomy: dict
    labels: dict[str, str]
    areas: gpd.GeoDataFrame          # projected, with area_id
    crs: str
    network: WalkNetwork | None
    amenities: gpd.GeoDataFrame      # EPSG:4326, AMENITY_COLUMNS
    data: pd.DataFrame               # deprivation/census indicators by area id
    population: pd.Series | None
    origins: gpd.GeoDataFrame        # projected, ORIGIN_COLUMNS
    snapped: Snapped
    manifest: dict
    timings: Timings


def access_params(s: Settings) -> AccessParams:
    """The access parameters of a run's settings."""
    return AccessParams(walk_speed_kmh=s.walk_speed_kmh,
                        slow_walk_speed_kmh=s.slow_walk_speed_kmh,
                        thresholds_m=tuple(s.thresholds_m),
                        beyond_threshold_m=s.beyond_threshold_m, decay=s.decay,
                        decay_scale_m=s.decay_scale_m, catchment_m=s.catchment_m,
                        max_distance_m=s.max_distance_m)


@dataclass
class Snapped:
    """Attachments per category and for origins, plus the report for the manifest."""

    amenities: dict[str, Attachments]
    amenity_rows: dict[str, np.ndarray]
    origins: Attachments | None
    report: dict


def snap_all(network: WalkNetwork, amenities: gpd.GeoDataFrame, origins: gpd.GeoDataFrame,
             taxonomy: Mapping, max_snap_m: float, quiet: bool = False) -> Snapped:
    """Attach every amenity (per category) and every origin to the walking network."""
    am = amenities.to_crs(network.crs)
    per_cat: dict[str, Attachments] = {}
    rows: dict[str, np.ndarray] = {}
    report: dict[str, Any] = {"max_snap_m": max_snap_m, "categories": {}}
    # disable=None: no bar when stderr is not a terminal (a log file gets log lines only)
    for cat in tqdm(list(taxonomy), desc="snapping", disable=True if quiet else None,
                    leave=False):
        idx = np.flatnonzero(am["category"].to_numpy() == cat)
        rows[cat] = idx
        edge = taxonomy[cat].access == "edge"
        att = snap_geometries(network, am.geometry.to_numpy()[idx], max_snap_m, edge)
        per_cat[cat] = att
        n_un = int((~att.snapped).sum())
        report["categories"][cat] = {"amenities": int(idx.size), "snapped": int(att.snapped.sum()),
                                     "unsnapped": n_un}
        if n_un:
            log.warning("%s: %d of %d amenities are farther than %.0f m from the walking network "
                        "and were not used", cat, n_un, idx.size, max_snap_m)
    xy = origins.geometry
    o_att = snap_points(network, xy.x.to_numpy(), xy.y.to_numpy(), max_snap_m)
    n_un = int((~o_att.snapped).sum())
    report["origins"] = {"points": len(origins), "snapped": int(o_att.snapped.sum()),
                         "unsnapped": n_un}
    if n_un:
        log.warning("%d of %d origins are farther than %.0f m from the walking network; "
                    "their access is unknown (NaN)", n_un, len(origins), max_snap_m)
    return Snapped(per_cat, rows, o_att, report)


def have_population(origins: pd.DataFrame) -> bool:
    """Whether every origin has a population (E2SFCA and population weighting)."""
    return bool(np.isfinite(origins["population"].to_numpy(dtype=float)).all())


def supplies(amenities: gpd.GeoDataFrame, snapped: Snapped, taxonomy: Mapping
             ) -> dict[str, tuple[pd.Series, dict]]:
    """E2SFCA supply per capacity category, decided over all of its amenities."""
    out = {}
    cap = amenities["capacity"].to_numpy(dtype=float)
    for cat in taxonomy:
        att = snapped.amenities[cat]
        if taxonomy[cat].capacity and att.snapped.sum():
            out[cat] = supply_from_capacity(cap[snapped.amenity_rows[cat]], att.snapped)
    return out


def origin_access_all(network: WalkNetwork, snapped: Snapped, origins: pd.DataFrame,
                      taxonomy: Mapping, params: AccessParams, *,
                      supplies: dict[str, tuple[pd.Series, dict]], have_pop: bool,
                      categories: list[str] | None = None, quiet: bool = False,
                      ) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict]:
    """Access measures per origin for every category (no aggregation).

    Parameters
    ----------
    network : WalkNetwork
    snapped : Snapped
        Amenities and origins attached to ``network``.
    origins : DataFrame
        ``population`` is the E2SFCA demand (one value per origin, in order).
    taxonomy : mapping
    params : AccessParams
    supplies : dict
        Category -> (supply per snapped amenity item, note), see
        :func:`supplies`; categories absent get no E2SFCA column.
    have_pop : bool
        Whether E2SFCA is computed (every origin has a population).
    categories : list of str, optional
        Categories to compute even when none of their amenities is on this
        network (a partition's clip): their origins get ``inf`` distances and
        zero counts, as in a single run. By default the categories with at
        least one snapped amenity; the others are reported as NaN.
    quiet : bool
        No progress bar.

    Returns
    -------
    values : DataFrame, one row per origin
        Every category's per-origin columns side by side.
    dists : dict of str to ndarray
        Nearest distance per origin, per category with usable amenities.
    report : dict
        Per category: unreachable origins and pairs found (or why it is NaN).
    """
    cutoff = params.cutoff()
    pop = origins["population"].to_numpy(dtype=float)
    if snapped.origins is None:
        raise ValueError("the origins are not snapped to this network")
    per_origin: list[pd.DataFrame] = []
    dists: dict[str, np.ndarray] = {}
    report: dict[str, Any] = {}
    usable = []
    for cat in taxonomy:
        att = snapped.amenities[cat]
        if att.snapped.sum() > 0 if categories is None else cat in categories:
            usable.append(cat)
        else:
            report[cat] = "no amenities of this category could be used: indicators are NaN"
            log.warning("%s: no amenities in the extract (or none snapped); its indicators are "
                        "NaN, not 0", cat)
    nearest = _nearest_all(network, snapped, usable, params.max_distance_m)
    for group in tqdm(_search_groups(usable, snapped), desc="access",
                      disable=True if quiet else None, leave=False):
        # one bounded search from every amenity of a group of categories (the same pairs as
        # one search per category: each source's search is its own), split by category
        merged, starts = concat_attachments([snapped.amenities[c] for c in group])
        found = distances_within(network, merged, snapped.origins, cutoff)
        source = found["source"].to_numpy()
        target, cost = found["target"].to_numpy(), found["cost"].to_numpy()
        bounds = np.searchsorted(source, starts, side="left")
        for i, cat in enumerate(group):
            dist = nearest.pop(cat)
            part = slice(bounds[i], bounds[i + 1])
            pairs = pd.DataFrame({"source": source[part] - starts[i],
                                  "target": target[part], "cost": cost[part]})
            supply, fca_note = supplies[cat] if have_pop and cat in supplies else (None, None)
            per_origin.append(category_origin_access(cat, dist, pairs, params, pop, supply))
            dists[cat] = dist
            report[cat] = {"origins_unreachable": int(np.isinf(dist).sum()),
                           "pairs_within_cutoff": len(pairs)}
            if fca_note:
                report[cat]["e2sfca_supply"] = fca_note
        del found, source, target, cost
    values = (pd.concat(per_origin, axis=1) if per_origin
              else pd.DataFrame(index=pd.RangeIndex(len(origins))))
    return values, dists, report


def _nearest_all(network: WalkNetwork, snapped: Snapped, cats: list[str], limit: float,
                 ) -> dict[str, np.ndarray]:
    """Metres from every origin to the nearest amenity of each category, the categories'
    searches on ``tile_workers()`` threads (scipy's Dijkstra releases the GIL)."""
    def one(cat: str) -> np.ndarray:
        return nearest_distance(network, snapped.amenities[cat], snapped.origins, limit=limit)[0]

    network.csr()  # the network's matrix is built once, before the threads share it
    with ThreadPoolExecutor(max_workers=tile_workers(None)) as pool:
        return dict(zip(cats, pool.map(one, cats), strict=True))


#: amenities searched from at once: the pairs found (about 1,400 per amenity on the Isle of
#: Wight at 1,600 m, 24 bytes each) are held together, so a group stays near 100 MB
SEARCH_GROUP_ITEMS = 3_000


def _search_groups(cats: list[str], snapped: Snapped) -> list[list[str]]:
    """Consecutive categories whose amenities together stay within SEARCH_GROUP_ITEMS
    (a bigger category is a group of its own)."""
    groups: list[list[str]] = []
    size = 0
    for cat in cats:
        n = snapped.amenities[cat].n_items
        if groups and size + n <= SEARCH_GROUP_ITEMS:
            groups[-1].append(cat)
            size += n
        else:
            groups.append([cat])
            size = n
    return groups


def origin_weights(origins: pd.DataFrame, have_pop: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(area id, weight)`` per origin: population, else the building weight."""
    area = origins["area_id"].to_numpy()
    weight = origins["population" if have_pop else "weight"].to_numpy(dtype=float)
    return area, weight


def access_all(network: WalkNetwork, snapped: Snapped, origins: gpd.GeoDataFrame,
               amenities: gpd.GeoDataFrame, taxonomy: Mapping, params: AccessParams,
               quiet: bool = False) -> tuple[pd.DataFrame, dict]:
    """Access per category, per origin, then weighted to areas; and the manifest's report."""
    have_pop = have_population(origins)
    sup = supplies(amenities, snapped, taxonomy) if have_pop else {}
    values, dists, report = origin_access_all(network, snapped, origins, taxonomy, params,
                                              supplies=sup, have_pop=have_pop, quiet=quiet)
    area, weight = origin_weights(origins, have_pop)
    record = {"cutoff_m": params.cutoff(),
              "weighting": "population" if have_pop
              else "building floor area (no population given)",
              "categories": report}
    return areas_from_origin_access(values, dists, area, weight, params), record


def assemble_areas(areas: gpd.GeoDataFrame, table: pd.DataFrame, index_frame: pd.DataFrame,
                   taxonomy: Mapping, params: AccessParams) -> gpd.GeoDataFrame:
    """The output table in the documented column order (see README "Outputs")."""
    ids = areas[schema.AREA_ID].to_numpy()
    t = table.reindex(ids)
    f = index_frame.reindex(ids)
    lead: dict[str, object] = {schema.AREA_ID: ids}
    name_col = next((c for c in areas.columns if c.lower().endswith("name")), None)
    if name_col:
        lead[schema.AREA_NAME] = areas[name_col].to_numpy()
    lead[schema.POPULATION] = t[schema.POPULATION].to_numpy()
    main: list[str] = []
    extra: list[str] = []
    for cat in taxonomy:
        names = params.columns(cat)
        count800 = names.count.get(800.0)
        first = [names.nearest, names.walk_min] + ([count800] if count800 else [])
        main += first
        extra += [x for x in [*names.count.values(), *names.share_beyond.values(),
                              names.walk_min_slow, names.gravity, names.e2sfca,
                              names.unreachable_share] if x not in first]
    # the isolation domains first; loneliness and lens domains come with their score
    score_cols = [c for c in f.columns if c.endswith("_score")
                  and not c.startswith((schema.LONELINESS_PREFIX, "risk_"))]
    if "access_score" not in score_cols:
        f["access_score"] = np.nan
        score_cols = ["access_score", *score_cols]
    else:
        score_cols = ["access_score", *[c for c in score_cols if c != "access_score"]]
    tail = [schema.ISOLATION_RISK, schema.ISOLATION_RISK_RANK, schema.ISOLATION_RISK_DECILE,
            schema.DRIVERS]
    # loneliness risk, the lenses and the uncertainty columns, in the order computed
    tail += [c for c in f.columns if c not in set(score_cols) | set(tail)
             and not c.endswith("_missing")]
    data_cols = [c for c in t.columns if c not in set(main) | set(extra) | {schema.POPULATION}]
    cols: dict[str, object] = dict(lead)
    for c in main:
        cols[c] = t[c].to_numpy() if c in t.columns else np.full(len(ids), np.nan)
    for c in [*score_cols, *tail]:
        cols[c] = f[c].to_numpy()
    for c in [*extra, *data_cols]:
        if c in t.columns and c not in cols:  # nullable booleans (standards) keep their NA
            cols[c] = t[c].array if isinstance(t[c].dtype, pd.BooleanDtype) else t[c].to_numpy()
    if "isolation_risk_missing" in f.columns:
        cols["isolation_risk_missing"] = f["isolation_risk_missing"].to_numpy()
    out = pd.DataFrame(cols)
    for c in [c for c in out.columns if schema.is_ordinal(c) and c in f.columns]:
        out[c] = pd.array(out[c].astype("float64").round(), dtype="Int64")
    return gpd.GeoDataFrame(out, geometry=areas.geometry.to_numpy(), crs=areas.crs)


def amenity_outputs(amenities: gpd.GeoDataFrame, snapped: Snapped, crs: str
                    ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Amenity points (polygons at a surface point) with snap results, and the polygons."""
    am = amenities.to_crs(crs).reset_index(drop=True)
    if schema.AMENITY_SOURCE not in am.columns:  # every amenity says where it came from
        am[schema.AMENITY_SOURCE] = schema.OSM_SOURCE
    snap_m = np.full(len(am), np.nan)
    ok = np.zeros(len(am), dtype=bool)
    for cat, rows in snapped.amenity_rows.items():
        att = snapped.amenities[cat]
        snap_m[rows] = att.snap_m
        ok[rows] = att.snapped
    am["snap_m"] = snap_m
    am["snapped"] = ok
    polys = am[am.geom_type.isin(["Polygon", "MultiPolygon"])].copy()
    points = am.copy()
    points["geometry"] = am.geometry.representative_point()
    return points, polys
