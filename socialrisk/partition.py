"""Partitioned runs on ``dask.distributed``: access part by part, the index once over all areas.

The areas are split into parts (by local authority, by MSOA name prefix, or
into tiles). For each part the walking network is clipped to the edges within
``buffer_m`` of the part's areas, together with every amenity and every origin
(own and *halo*, i.e. other parts' origins) attached inside the clip. Access
per origin is computed for each part on a Dask worker, the per-origin values
are put back in the single run's origin order, and the aggregation to areas and
the index are computed once over all areas, exactly as in a single run (ranks
and deciles are global).

Why the buffer makes every value exact
--------------------------------------
Every edge length is the straight-line length of its segment and every snap
offset is at least the straight-line distance, so a walk of length ``L`` from an
origin ``o`` never leaves the disc of radius ``L`` around ``o``. The clip keeps
every edge that comes within ``B`` of the part (exactly: ``STRtree`` ``dwithin``,
not a polygon buffer) and both end nodes, so it contains the disc of radius
``B - dist(o, part)`` around each of the part's origins. Distances on the clip are
never shorter than on the whole network (it is a subgraph with the same
attachments), and they are equal whenever one shortest path lies in the clip.
Hence an origin's values are *certified* exact when

* nearest distance ``d`` (found on the clip) satisfies ``d <= B - dist(o, part)``;
  an origin with no amenity within ``max_distance_m`` needs
  ``max_distance_m <= B - dist(o, part)`` to be certain that there is none;
* counts and gravity (pairs within ``cutoff = max(thresholds_m, catchment_m)``)
  need ``cutoff <= B - dist(o, part)``;
* E2SFCA also needs the demand of every origin within the catchment of every
  supply in the origin's catchment: ``2 * catchment_m <= B - dist(o, part)``,
  and those origins are in the clip as halo origins (they lie within ``B`` of
  the part).

Round 1 computes everything on a clip with ``B`` = the pair bound
(``2 * catchment_m`` when E2SFCA is computed, else ``cutoff``) plus the largest
distance of an own origin from the part plus ``max_snap_m``, which certifies
every pair measure. The driver then checks each own origin's nearest distances;
for the categories where one is not certified, round 2 computes only the
nearest distances again on a clip with ``B`` = the largest requirement found
(the clip distance bounds the true one from above, so the wider clip certifies
every origin; this is checked). The manifest lists every part's buffers,
rounds, clip sizes, seconds and workers.

The driver reads and snaps everything once (:func:`socialrisk.pipeline.prepare`),
so it holds the compact network arrays; the workers hold only their clips and
do the shortest-path work (the bulk of the time and memory).
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from risk.access import access_columns, origin_access, walk_minutes
from risk.engine import nearest_distance
from risk.rules import areas_from_origin_access
from risk.snap import _edge_index
from socialrisk.core.errors import ConfigError
from socialrisk.core.network import Attachments, WalkNetwork
from socialrisk.core.schema import AREA_ID, POPULATION
from socialrisk.pipeline import Prepared, RunResult, compute, prepare
from socialrisk.settings import Settings
from socialrisk.stages import (
    Snapped,
    access_params,
    have_population,
    origin_access_all,
    origin_weights,
)
from socialrisk.stages import (
    supplies as category_supplies,
)

log = logging.getLogger(__name__)

PARTITION_BY = ("lad", "msoa", "tiles")
#: ONS-style local authority code columns (LAD21CD, LAD24CD, lad_code, ...)
_LAD_COLUMN = re.compile(r"^(lad\d*cd|lad_?code|lad)$", re.IGNORECASE)


# ---------------------------------------------------------------- partitioning


def partition_areas(areas: gpd.GeoDataFrame, parts: int, by: str = "tiles") -> np.ndarray:
    """Part number (0 .. k-1) of every area.

    Parameters
    ----------
    areas : GeoDataFrame
        Projected areas with ``area_id``.
    parts : int
        Number of parts (tiles), or the most parts to group local authorities /
        MSOAs into (consecutive codes go together); ``<= 0`` with ``by="lad"``:
        one part per local authority.
    by : {"lad", "msoa", "tiles"}
        ``"lad"``: a LAD code column when present (``LAD21CD``...), else the
        LSOA name without its last 5 characters (``"Isle of Wight 001A"`` ->
        ``"Isle of Wight"``); ``"msoa"``: the LSOA name without its letter
        (``"Isle of Wight 001"``); ``"tiles"``: a grid of about ``parts``
        tiles with equal numbers of areas (by centroid).

    Returns
    -------
    ndarray of int64, shape (n_areas,)
    """
    n = len(areas)
    if by not in PARTITION_BY:
        raise ConfigError(f"partition by must be one of {', '.join(PARTITION_BY)}, not {by!r}")
    if by == "tiles":
        if parts < 1:
            raise ConfigError("parts must be at least 1")
        c = areas.geometry.centroid
        x, y = c.x.to_numpy(), c.y.to_numpy()
        nx = max(1, math.ceil(math.sqrt(parts)))
        ny = max(1, math.ceil(parts / nx))
        col = _quantile_bins(x, nx)
        label = np.zeros(n, dtype=np.int64)
        for i in range(nx):
            m = col == i
            label[m] = i * ny + _quantile_bins(y[m], ny)
        return np.unique(label, return_inverse=True)[1].astype(np.int64)
    keys = _group_keys(areas, by)
    groups, inverse = np.unique(keys, return_inverse=True)
    if parts <= 0 or parts >= groups.size:
        return inverse.astype(np.int64)
    # consecutive groups (sorted codes/names are roughly contiguous) into `parts` bins
    # with about equal numbers of areas
    sizes = np.bincount(inverse, minlength=groups.size)
    bounds = np.cumsum(sizes) / n
    group_part = np.minimum((bounds * parts - 1e-9).astype(np.int64), parts - 1)
    return np.unique(group_part[inverse], return_inverse=True)[1].astype(np.int64)


def _quantile_bins(v: np.ndarray, k: int) -> np.ndarray:
    if k <= 1 or v.size == 0:
        return np.zeros(v.size, dtype=np.int64)
    order = np.argsort(v, kind="stable")
    out = np.empty(v.size, dtype=np.int64)
    out[order] = np.arange(v.size) * k // v.size
    return out


def _group_keys(areas: gpd.GeoDataFrame, by: str) -> np.ndarray:
    if by == "lad":
        col = next((c for c in areas.columns if _LAD_COLUMN.match(str(c))), None)
        if col is not None:
            return areas[col].astype(str).to_numpy()
    name = next((c for c in areas.columns if str(c).lower().endswith("name")), None)
    if name is None:
        raise ConfigError(f"partition by {by} needs a LAD code column (e.g. LAD21CD) or LSOA "
                          f"names (\"Isle of Wight 001A\"); these areas have neither: use "
                          f"by=\"tiles\"")
    names = areas[name].astype(str).str.strip()
    cut = 5 if by == "lad" else 1  # " 001A" / "A"
    return names.str[:-cut].str.strip().to_numpy()


# ---------------------------------------------------------------- clipping


@dataclass
class PartInput:
    """What one worker needs: the clipped network, attachments and halo origins."""

    part: int
    buffer_m: float
    network: WalkNetwork
    amenities: dict[str, Attachments]
    origins: Attachments
    population: np.ndarray           # per origin in the clip (own + halo)
    own: np.ndarray                  # positions (in the clip) of the part's own origins
    supplies: dict[str, tuple[pd.Series, dict]]
    categories: list[str]
    have_pop: bool
    taxonomy: dict
    settings: Settings


@dataclass
class PartResult:
    """Per-origin values of a part's own origins."""

    part: int
    values: pd.DataFrame
    dists: dict[str, np.ndarray]
    seconds: float
    worker: str = ""
    peak_mb: float = float("nan")


@dataclass
class PartRecord:
    """What the manifest says about a part."""

    part: int
    areas: int
    own_origins: int
    halo_origins: int = 0
    nodes: int = 0
    edges: int = 0
    buffer_m: list[float] = field(default_factory=list)
    rounds: int = 0
    seconds: list[float] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)


def _remap(att: Attachments, node_map: np.ndarray, edge_map: np.ndarray,
           items: np.ndarray | None = None) -> tuple[Attachments, np.ndarray]:
    """Attachments restricted to the clip (renumbered nodes/edges) and the items kept.

    Attachment rows whose node is outside the clip are dropped (a dropped row
    only makes clip distances longer, never shorter). ``items`` forces the kept
    items (origins); otherwise the items with at least one row left are kept.
    """
    new_node = node_map[att.node]
    row_ok = new_node >= 0
    if items is None:
        keep_item = np.zeros(att.n_items, dtype=bool)
        keep_item[att.item[row_ok]] = True
        items = np.flatnonzero(keep_item)
    new_item = np.full(att.n_items, -1, dtype=np.int64)
    new_item[items] = np.arange(items.size)
    row_ok &= new_item[att.item] >= 0
    edge = np.where(att.edge >= 0, edge_map[np.maximum(att.edge, 0)], -1)[row_ok]
    along = np.where(edge >= 0, att.along[row_ok], np.nan)
    sub = Attachments(item=new_item[att.item[row_ok]], node=new_node[row_ok],
                      offset=att.offset[row_ok], edge=edge, along=along,
                      snap_m=att.snap_m[items], snapped=np.zeros(items.size, dtype=bool))
    snapped = np.zeros(items.size, dtype=bool)
    snapped[sub.item] = True
    return replace(sub, snapped=snapped & att.snapped[items]), items


def clip_part(p: Prepared, part: int, own: np.ndarray, buffer_m: float,
              supplies: dict, categories: list[str], have_pop: bool,
              region: shapely.Geometry, edge_tree: shapely.STRtree,
              origin_tree: shapely.STRtree, halo: bool = True) -> PartInput:
    """Clip the prepared network, amenities and origins to ``buffer_m`` around ``region``.

    ``halo=False`` leaves other parts' origins out (enough for nearest distances).
    """
    net = p.network
    edges = np.sort(edge_tree.query(region, predicate="dwithin", distance=buffer_m))
    nodes = np.unique(np.concatenate([net.u[edges], net.v[edges]]))
    node_map = np.full(net.n_nodes, -1, dtype=np.int64)
    node_map[nodes] = np.arange(nodes.size)
    edge_map = np.full(net.n_edges, -1, dtype=np.int64)
    edge_map[edges] = np.arange(edges.size)
    sub = WalkNetwork(node_id=net.node_id[nodes], x=net.x[nodes], y=net.y[nodes],
                      u=node_map[net.u[edges]], v=node_map[net.v[edges]],
                      length=net.length[edges], crs=net.crs, dropped_nodes=0)
    near = (origin_tree.query(region, predicate="dwithin", distance=buffer_m) if halo
            else np.zeros(0, dtype=np.int64))
    origin_items = np.union1d(near, own).astype(np.int64)
    o_att, _ = _remap(p.snapped.origins, node_map, edge_map, origin_items)
    am, sup = {}, {}
    for cat in categories:
        att, items = _remap(p.snapped.amenities[cat], node_map, edge_map)
        am[cat] = att
        if cat in supplies:
            series, note = supplies[cat]
            pos = pd.Series(np.arange(items.size), index=items)
            keep = series.index.isin(items)
            sup[cat] = (pd.Series(series.to_numpy()[keep],
                                  index=pos.loc[series.index[keep]].to_numpy()), note)
    pop = p.origins[POPULATION].to_numpy(dtype=float)[origin_items]
    own_pos = np.searchsorted(origin_items, own)
    return PartInput(part=part, buffer_m=buffer_m, network=sub, amenities=am, origins=o_att,
                     population=pop, own=own_pos, supplies=sup, categories=categories,
                     have_pop=have_pop, taxonomy=p.taxonomy,
                     settings=replace(p.settings, quiet=True))



def _worker_and_peak() -> tuple[str, float]:
    """The dask worker's address ("" outside a worker) and this process's peak RSS in MB."""
    import resource

    worker = ""
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        pass
    return worker, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def part_access(inp: PartInput) -> PartResult:
    """Per-origin access on one part's clip (runs on a Dask worker)."""

    t0 = time.perf_counter()
    snapped = Snapped(amenities=inp.amenities, amenity_rows={}, origins=inp.origins, report={})
    origins = pd.DataFrame({POPULATION: inp.population})
    values, dists, _ = origin_access_all(inp.network, snapped, origins, inp.taxonomy,
                                         access_params(inp.settings), supplies=inp.supplies,
                                         have_pop=inp.have_pop, categories=inp.categories,
                                         quiet=True)
    worker, peak = _worker_and_peak()
    return PartResult(part=inp.part, values=values.iloc[inp.own].reset_index(drop=True),
                      dists={c: d[inp.own] for c, d in dists.items()},
                      seconds=time.perf_counter() - t0, worker=worker, peak_mb=peak)


def part_nearest(inp: PartInput) -> PartResult:
    """Nearest distances only, for ``inp.categories`` (the second round of a part)."""


    t0 = time.perf_counter()
    dists = {}
    for cat in inp.categories:
        d, _ = nearest_distance(inp.network, inp.amenities[cat], inp.origins,
                                limit=inp.settings.max_distance_m)
        dists[cat] = d[inp.own]
    worker, peak = _worker_and_peak()
    return PartResult(part=inp.part, values=pd.DataFrame(index=pd.RangeIndex(inp.own.size)),
                      dists=dists, seconds=time.perf_counter() - t0, worker=worker,
                      peak_mb=peak)


def _patch_nearest(res: PartResult, dists: dict[str, np.ndarray], s: Settings) -> None:
    """Replace the nearest-distance columns of ``res`` by the second round's."""

    empty = pd.DataFrame({"target": np.zeros(0, np.int64), "cost": np.zeros(0)})
    for cat, d in dists.items():
        cols = access_columns(cat, s.thresholds_m)
        oa = origin_access(d, empty, s.thresholds_m, s.walk_speed_kmh, category=cat)
        res.values[cols.nearest] = oa[cols.nearest].to_numpy()
        res.values[cols.walk_min] = oa[cols.walk_min].to_numpy()
        res.values[cols.walk_min_slow] = walk_minutes(d, s.slow_walk_speed_kmh)
        res.dists[cat] = d


def nearest_radius(res: PartResult, s: Settings, categories: list[str]) -> pd.DataFrame:
    """Network radius each own origin's nearest distance depends on, per category."""
    return pd.DataFrame({cat: np.where(np.isinf(res.dists[cat]), s.max_distance_m,
                                       np.nan_to_num(res.dists[cat], nan=0.0))
                         for cat in categories})


# ---------------------------------------------------------------- the run


def _client(client, scheduler_address: str | None, n_parts: int):
    """The Dask client to use and whether this call owns it (and must close it)."""
    if client is not None:
        return client, False
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("partitioned runs need dask.distributed: pip install "
                          "'socialrisk[dask]'") from exc
    if scheduler_address:
        return Client(scheduler_address), True

    n = max(1, min(n_parts, os.cpu_count() or 1))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.WARNING)
    return Client(cluster), True


def partitioned_access(p: Prepared, parts: int = 4, by: str = "tiles", client=None,
                       scheduler_address: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Access per area computed part by part on Dask; equal to the single run's.

    Returns
    -------
    access : DataFrame
        As :func:`socialrisk.pipeline._access_all` returns it.
    report : dict
        ``manifest["access"]`` with a ``partition`` section (parts, buffers, rounds).
    """
    s, taxonomy = p.settings, p.taxonomy
    if p.network is None:
        raise ConfigError("a partitioned run needs OpenStreetMap data (osm is \"none\")")
    have_pop = have_population(p.origins)
    supplies = category_supplies(p.amenities, p.snapped, taxonomy) if have_pop else {}
    categories = [c for c in taxonomy if p.snapped.amenities[c].snapped.sum() > 0]
    for cat in taxonomy:
        if cat not in categories:
            log.warning("%s: no amenities in the extract (or none snapped); its indicators are "
                        "NaN, not 0", cat)

    label = partition_areas(p.areas, parts, by)
    area_part = pd.Series(label, index=p.areas[AREA_ID].to_numpy())
    origin_part = area_part.reindex(p.origins[AREA_ID].to_numpy()).to_numpy()
    geoms = p.areas.geometry.to_numpy()
    pts = p.origins.geometry.to_numpy()

    _, edge_tree = _edge_index(p.network)
    origin_tree = shapely.STRtree(pts)
    pair_bound = 2 * s.catchment_m if (have_pop and supplies) else access_params(s).cutoff()
    regions, owns, offs, records = {}, {}, {}, {}
    for k in np.unique(label):
        regions[k] = shapely.union_all(geoms[label == k])
        owns[k] = np.flatnonzero(origin_part == k)
        offs[k] = shapely.distance(pts[owns[k]], regions[k])
        records[k] = PartRecord(part=int(k), areas=int((label == k).sum()),
                                own_origins=int(owns[k].size))
    buffers = {k: pair_bound + float(offs[k].max(initial=0.0)) + s.max_snap_m
               for k in regions}

    cl, own_client = _client(client, scheduler_address, len(regions))
    results: dict[int, PartResult] = {}

    def clip(k, buffer_m, cats, halo=True):
        inp = clip_part(p, int(k), owns[k], buffer_m, supplies, cats, have_pop, regions[k],
                        edge_tree, origin_tree, halo=halo)
        rec = records[k]
        rec.halo_origins = max(rec.halo_origins, int(inp.population.size - owns[k].size))
        rec.nodes, rec.edges = max(rec.nodes, inp.network.n_nodes), max(rec.edges,
                                                                         inp.network.n_edges)
        rec.buffer_m.append(round(buffer_m, 3))
        rec.rounds += 1
        return inp

    def done(k, res):
        records[k].seconds.append(round(res.seconds, 3))
        records[k].workers.append(res.worker)
        return res

    try:
        # round 1: everything, with the buffer the pair measures need
        futures = {k: cl.submit(part_access, clip(k, buffers[k], categories), pure=False)
                   for k in sorted(regions)}
        results = {k: done(k, f.result()) for k, f in futures.items()}
        # round 2: nearest distances that may reach beyond the buffer, on a wider clip
        wider = {}
        for k, res in results.items():
            need = nearest_radius(res, s, categories).add(offs[k], axis=0)
            bad = [c for c in categories
                   if float(need[c].to_numpy().max(initial=0.0)) > buffers[k]]
            if bad:
                b = float(need[bad].to_numpy().max())
                log.info("part %d: nearest %s needs a %.0f m buffer (> %.0f m); computing "
                         "it again on the wider clip", k, ", ".join(bad), b, buffers[k])
                wider[k] = (b, bad)
        futures = {k: cl.submit(part_nearest, clip(k, b, bad, halo=False), pure=False)
                   for k, (b, bad) in wider.items()}
        for k, f in futures.items():
            second = done(k, f.result())
            _patch_nearest(results[k], second.dists, s)
            # the clip distance bounds the true one, so the wider clip certifies it
            need = nearest_radius(results[k], s, wider[k][1]).add(offs[k], axis=0)
            if float(need.to_numpy().max(initial=0.0)) > wider[k][0] + 1e-6:
                raise RuntimeError(f"part {k}: nearest distances not certified with a "
                                   f"{wider[k][0]:.0f} m buffer")  # pragma: no cover
    finally:
        if own_client:
            cluster = getattr(cl, "cluster", None)
            cl.close()
            if cluster is not None:
                cluster.close()

    # back to the single run's origin order
    n = len(p.origins)
    cols = results[next(iter(results))].values.columns
    merged = pd.DataFrame(np.nan, index=pd.RangeIndex(n), columns=cols)
    dists = {c: np.full(n, np.nan) for c in categories}
    for k, res in results.items():
        merged.iloc[owns[k], :] = res.values[cols].to_numpy()
        for c in categories:
            dists[c][owns[k]] = res.dists[c]
    area, weight = origin_weights(p.origins, have_pop)
    access = areas_from_origin_access(merged, dists, area, weight, access_params(s))
    report = {"cutoff_m": access_params(s).cutoff(),
              "weighting": "population" if have_pop
              else "building floor area (no population given)",
              "categories": {c: {"origins_unreachable": int(np.isinf(dists[c]).sum())}
                             if c in categories else
                             "no amenities of this category could be used: indicators are NaN"
                             for c in taxonomy},
              "partition": {"by": by, "parts": len(regions),
                            "pair_bound_m": pair_bound,
                            "workers": sorted({w for r in records.values() for w in r.workers}),
                            "per_part": [vars(records[k]) for k in sorted(records)]}}
    for c, note in supplies.items():
        report["categories"][c]["e2sfca_supply"] = note[1]
    return access, report


def run_partitioned(settings: Settings, parts: int = 4, client=None,
                    scheduler_address: str | None = None, by: str = "tiles",
                    prepared: Prepared | None = None) -> RunResult:
    """A whole run with access computed part by part on ``dask.distributed``.

    Parameters
    ----------
    settings : Settings
    parts : int
        Number of parts (see :func:`partition_areas`).
    client : distributed.Client, optional
        A client to use (left open). When omitted, one is made for the run: on
        ``scheduler_address`` when given (e.g. ``"tcp://host:8786"``), else on a
        :class:`distributed.LocalCluster` with one single-threaded worker
        process per core (at most ``parts``).
    scheduler_address : str, optional
        Address of a running Dask scheduler.
    by : {"tiles", "lad", "msoa"}
        How areas are grouped into parts.
    prepared : Prepared, optional
        Reuse inputs already read and snapped (:func:`socialrisk.pipeline.prepare`).

    Returns
    -------
    RunResult
        Per-area results identical to :func:`socialrisk.pipeline.run`'s; the
        manifest's ``access.partition`` describes the parts.
    """
    p = prepared if prepared is not None else prepare(settings)
    with p.timings.stage("access"):
        access, report = partitioned_access(p, parts, by, client, scheduler_address)
    p.manifest["access"] = report
    return compute(p, access=access)
