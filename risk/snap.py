"""Attach items (amenities, origins) to the walking network.

An item is attached to one or more network nodes, each with an *offset*: the
walking distance in metres from the item to that node. The access engine
(:mod:`risk.engine`) adds these offsets to network distances, so a
distance between two items is

    offset(source -> node a) + network(a -> b) + offset(node b -> target).

Rules
-----
* **Points** (and, by default, lines and polygons) snap to the *nearest edge*
  of the network, found with a shapely 2 ``STRtree`` over the straight
  segments between the edge end nodes. If the nearest point of the edge lies at
  ``t`` metres from ``u`` along an edge of length ``L``, the item is attached
  to ``u`` with offset ``snap + t`` and to ``v`` with offset ``snap + (L - t)``,
  where ``snap`` is the straight-line snap distance. ``t`` is measured as a
  fraction of the segment and scaled to the edge ``length``, so an edge whose
  length is longer than its straight segment (a curved way) keeps its length.
  A polygon or line snaps from its point nearest to the edge (its boundary
  point nearest to the network, or a crossing point, distance 0).
* **Polygons with edge access** (parks, greens, where people can walk in from
  any side) are attached to every network node inside the polygon or within
  ``edge_tolerance_m`` of it, with offset = distance from the node to the
  polygon (0 inside). A polygon with no node in reach falls back to the
  nearest-edge rule.
* Items farther than ``max_snap_m`` from every edge are **unsnapped**: they
  have no attachments, ``snapped`` is False and ``snap_m`` is NaN. They are
  returned, never given distance 0; the caller reports them.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

from risk.tiles import tile_workers
from socialrisk.core.errors import InputError
from socialrisk.core.network import Attachments, WalkNetwork

log = logging.getLogger(__name__)

DEFAULT_EDGE_TOLERANCE_M = 30.0
#: nearest-edge queries of at least this many geometries are split across the tile threads
#: (GEOS's STRtree releases the GIL: 42,657 island origins 0.38 -> 0.20 s on 2 cores)
PARALLEL_MIN_GEOMS = 10_000


def _segments(network: WalkNetwork) -> np.ndarray:
    coords = np.empty((network.n_edges, 2, 2), dtype=np.float64)
    coords[:, 0, 0] = network.x[network.u]
    coords[:, 0, 1] = network.y[network.u]
    coords[:, 1, 0] = network.x[network.v]
    coords[:, 1, 1] = network.y[network.v]
    return shapely.linestrings(coords)


def _edge_index(network: WalkNetwork) -> tuple[np.ndarray, shapely.STRtree]:
    """Segment LineStrings and their STRtree, cached on the (frozen) network object."""
    cached = getattr(network, "_snap_edge_index", None)
    if cached is None:
        lines = _segments(network)
        cached = (lines, shapely.STRtree(lines))
        object.__setattr__(network, "_snap_edge_index", cached)
    return cached


def _build(n_items, item, node, offset, edge, along, snap) -> Attachments:
    """Assemble attachments sorted by item; ``snap`` is the straight-line snap per attachment."""
    item = np.asarray(item, dtype=np.int64)
    order = np.argsort(item, kind="stable")
    item = item[order]
    offset = np.asarray(offset, dtype=np.float64)[order]
    snap_m = np.full(n_items, np.nan)
    if item.size:
        np.fmin.at(snap_m, item, np.asarray(snap, dtype=np.float64)[order])
    snapped = np.zeros(n_items, dtype=bool)
    snapped[item] = True
    return Attachments(
        item=item,
        node=np.asarray(node, dtype=np.int64)[order],
        offset=offset,
        edge=np.asarray(edge, dtype=np.int64)[order],
        along=np.asarray(along, dtype=np.float64)[order],
        snap_m=snap_m,
        snapped=snapped,
    )


def _nearest_edges(tree: shapely.STRtree, geoms: np.ndarray, max_snap_m: float,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item, edge, distance) of each geometry's nearest edge within ``max_snap_m``, by item.

    Large inputs are cut into one contiguous chunk per thread; each geometry's query is its
    own, so the result is the same as one call's.
    """
    def query(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx, dist = tree.query_nearest(geoms[lo:hi], max_distance=max_snap_m,
                                       return_distance=True, all_matches=False)
        return idx[0].astype(np.int64) + lo, idx[1].astype(np.int64), dist

    workers = tile_workers(None)
    if workers < 2 or geoms.size < PARALLEL_MIN_GEOMS:
        return query(0, geoms.size)
    cuts = np.linspace(0, geoms.size, workers + 1).astype(np.int64)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(query, cuts[:-1], cuts[1:]))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def _snap_to_edges(network: WalkNetwork, geoms: np.ndarray, max_snap_m: float):
    """Nearest edge of each geometry: (item, edge, snap distance, fraction along edge)."""
    lines, tree = _edge_index(network)
    item, edge, dist = _nearest_edges(tree, geoms, max_snap_m)
    if item.size == 0:
        return item, edge, dist, np.zeros(0)
    g = geoms[item]
    seg = lines[edge]
    is_point = shapely.get_type_id(g) == 0
    # nearest point on the segment: the point itself for points, else the
    # segment end of the shortest line between the geometry and the segment
    target = g.copy()
    if (~is_point).any():
        short = shapely.shortest_line(g[~is_point], seg[~is_point])
        target[~is_point] = shapely.get_point(short, 1)
    seg_len = shapely.length(seg)
    t = shapely.line_locate_point(seg, target)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(seg_len > 0, t / seg_len, 0.0)
    frac = np.clip(np.nan_to_num(frac, nan=0.0), 0.0, 1.0)
    return item, edge, np.asarray(dist, dtype=np.float64), frac


def _edge_attachments(network: WalkNetwork, item, edge, snap, frac):
    length = network.length[edge]
    along = frac * length
    return (
        np.concatenate([item, item]),
        np.concatenate([network.u[edge], network.v[edge]]),
        np.concatenate([snap + along, snap + (length - along)]),
        np.concatenate([edge, edge]),
        np.concatenate([along, along]),
        np.concatenate([snap, snap]),
    )


def snap_points(network: WalkNetwork, x: np.ndarray, y: np.ndarray,
                max_snap_m: float) -> Attachments:
    """Snap points to their nearest network edge.

    Parameters
    ----------
    network : WalkNetwork
    x, y : array-like of float, shape (n,)
        Point coordinates in the network's projected CRS (metres). NaN
        coordinates are left unsnapped.
    max_snap_m : float
        Points farther than this from every edge are unsnapped.

    Returns
    -------
    Attachments
        Two attachments per snapped point (the end nodes of its edge).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be 1-d arrays of the same length")
    pts = shapely.points(x, y)
    pts[~(np.isfinite(x) & np.isfinite(y))] = None
    return snap_geometries(network, pts, max_snap_m, edge_access=False)


def snap_geometries(network: WalkNetwork, geoms, max_snap_m: float,
                    edge_access: bool | np.ndarray = False,
                    edge_tolerance_m: float = DEFAULT_EDGE_TOLERANCE_M) -> Attachments:
    """Snap geometries (points, lines, polygons) to the network.

    Parameters
    ----------
    network : WalkNetwork
    geoms : array-like of shapely geometries, shape (n,)
        In the network's projected CRS. Missing or empty geometries are unsnapped.
    max_snap_m : float
        Largest straight-line snap distance to an edge (nearest-edge rule).
    edge_access : bool or array of bool, shape (n,)
        True for polygons that can be entered from any side (parks): attached to
        every node inside or within ``edge_tolerance_m`` of the polygon.
        Ignored for points.
    edge_tolerance_m : float
        Reach of edge-access polygons beyond their boundary, in metres.

    Returns
    -------
    Attachments
    """
    geoms = np.asarray(geoms, dtype=object)
    if geoms.ndim != 1:
        raise ValueError("geoms must be a 1-d array of geometries")
    n = geoms.shape[0]
    if max_snap_m <= 0:
        raise ValueError("max_snap_m must be greater than 0")
    if network.n_edges == 0:
        raise InputError("the walking network has no edges; nothing can be snapped")
    missing = shapely.is_missing(geoms)
    geoms = geoms.copy()
    geoms[~missing & shapely.is_empty(np.where(missing, None, geoms))] = None
    valid = ~shapely.is_missing(geoms)
    is_area = np.zeros(n, dtype=bool)
    is_area[valid] = np.isin(shapely.get_type_id(geoms[valid]), (3, 6))
    access = np.broadcast_to(np.asarray(edge_access, dtype=bool), (n,)) & is_area

    parts = []  # (item, node, offset, edge, along, snap)
    by_edge = valid & ~access
    if access.any():
        area_pos = np.flatnonzero(access)
        cached = getattr(network, "_snap_node_index", None)
        if cached is None:
            node_pts = shapely.points(network.x, network.y)
            cached = (node_pts, shapely.STRtree(node_pts))
            object.__setattr__(network, "_snap_node_index", cached)
        node_pts, node_tree = cached
        pi, ni = node_tree.query(geoms[area_pos], predicate="dwithin",
                                 distance=edge_tolerance_m)
        if pi.size:
            items = area_pos[pi]
            off = shapely.distance(geoms[items], node_pts[ni])
            no_edge = np.full(items.size, -1, dtype=np.int64)
            parts.append((items, ni.astype(np.int64), off, no_edge,
                          np.full(items.size, np.nan), off))
        no_node = np.ones(area_pos.size, dtype=bool)
        no_node[pi] = False
        by_edge[area_pos[no_node]] = True
    edge_pos = np.flatnonzero(by_edge)
    if edge_pos.size:
        it, ed, snap, frac = _snap_to_edges(network, geoms[edge_pos], max_snap_m)
        parts.append(_edge_attachments(network, edge_pos[it], ed, snap, frac))
    if parts:
        cols = [np.concatenate([p[i] for p in parts]) for i in range(6)]
    else:
        cols = [np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0),
                np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)]
    att = _build(n, *cols)
    if att.n_unsnapped:
        # debug: the caller says it once, in words (socialrisk.stages.snap_all)
        log.debug("snap: %d of %d items are farther than %g m from the network (unsnapped)",
                 att.n_unsnapped, n, max_snap_m)
    return att


def attachments_from_nodes(network: WalkNetwork, nodes: np.ndarray) -> Attachments:
    """Items that sit exactly on network nodes (offset 0), one item per node given.

    Parameters
    ----------
    network : WalkNetwork
    nodes : array of int
        Node positions; item ``i`` is attached to ``nodes[i]``.
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    if nodes.size and (nodes.min() < 0 or nodes.max() >= network.n_nodes):
        raise ValueError("node positions out of range")
    k = nodes.shape[0]
    return _build(k, np.arange(k), nodes, np.zeros(k), np.full(k, -1), np.full(k, np.nan),
                  np.zeros(k))
