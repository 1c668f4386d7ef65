"""Walking isochrones that follow the street network.

Pure computation on a :class:`~socialrisk.core.network.WalkNetwork`; no I/O.

For a budget of ``B`` metres (minutes x speed) from a site snapped to the
network (:mod:`risk.snap`), with ``d[n]`` the walking distance of
node ``n`` from the site (one Dijkstra):

* every node with ``d[n] <= B`` is reached;
* every edge ``(u, v)`` of length ``L`` is walked from ``u`` for
  ``B - d[u]`` metres and from ``v`` for ``B - d[v]`` metres; when the two
  together cover ``L`` the whole edge is reached, otherwise the two pieces
  are cut at the exact point along the (straight) edge;
* the site's own edge is walked both ways from the snapped point, and the
  straight walk from the site to the network is included.

The reached pieces of street are buffered by a street-side width
(``width_m``, default 35 m: the houses along a reached street) and unioned
(``method="buffer"``), optionally with small holes (street blocks enclosed by
reached streets) filled. ``method="concave"`` instead takes
``shapely.concave_hull`` of points sampled along the reached pieces. Neither is
a convex hull or a circle: a 15-minute isochrone along a single lane is a thin
ribbon. Isochrones are made nested: each contains the smaller ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import csgraph

from risk.engine import augmented_graph
from risk.snap import snap_geometries
from socialrisk.core import schema
from socialrisk.core.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["isochrone", "reached_pieces"]


def _node_distances(network, site_att, limit: float) -> np.ndarray:

    graph = augmented_graph(network, site_att)
    d = csgraph.dijkstra(graph, directed=True, indices=network.n_nodes, limit=limit)
    return d[: network.n_nodes]


def reached_pieces(network, node_dist: np.ndarray, budget_m: float, site_att=None,
                   site_geom=None) -> tuple[np.ndarray, np.ndarray]:
    """The pieces of street reached within ``budget_m``, and the reached nodes.

    Parameters
    ----------
    network : WalkNetwork
    node_dist : ndarray, shape (n_nodes,)
        Walking distance of every node from the site (inf when not reached).
    budget_m : float
    site_att : Attachments, optional
        The snapped site (one item): adds its own edge, walked from the snapped
        point, and the straight walk from the site to the network.
    site_geom : shapely geometry, optional
        The site, for the straight walk to the network.

    Returns
    -------
    pieces : ndarray of shapely LineString
        In the network CRS.
    nodes : ndarray of int64
        Positions of the reached nodes.
    """
    u, v, L = network.u, network.v, network.length
    du, dv = node_dist[u], node_dist[v]
    ru = np.where(np.isfinite(du), budget_m - du, -np.inf)
    rv = np.where(np.isfinite(dv), budget_m - dv, -np.inf)
    full = (ru >= 0) & (rv >= 0) & (ru + rv >= L)
    x0, y0, x1, y1 = network.x[u], network.y[u], network.x[v], network.y[v]
    with np.errstate(invalid="ignore", divide="ignore"):
        fu = np.where(L > 0, np.clip(ru / L, 0, 1), 1.0)
        fv = np.where(L > 0, np.clip(rv / L, 0, 1), 1.0)
    segs = []
    # whole edges
    m = full
    segs.append(np.stack([np.column_stack([x0[m], y0[m]]), np.column_stack([x1[m], y1[m]])], 1))
    # partial from u: [0, fu]
    m = ~full & (ru > 0)
    segs.append(np.stack([np.column_stack([x0[m], y0[m]]),
                          np.column_stack([x0[m] + fu[m] * (x1[m] - x0[m]),
                                           y0[m] + fu[m] * (y1[m] - y0[m])])], 1))
    # partial from v: [1 - fv, 1]
    m = ~full & (rv > 0)
    segs.append(np.stack([np.column_stack([x1[m] + fv[m] * (x0[m] - x1[m]),
                                           y1[m] + fv[m] * (y0[m] - y1[m])]),
                          np.column_stack([x1[m], y1[m]])], 1))
    coords = np.concatenate(segs, axis=0)
    pieces = list(shapely.linestrings(coords)) if coords.size else []
    if site_att is not None and site_att.item.size:
        snap = float(np.nanmin(site_att.snap_m))
        rest = budget_m - snap
        on_edge = site_att.edge >= 0
        if rest >= 0 and on_edge.any():
            e = int(site_att.edge[on_edge][0])
            a = float(site_att.along[on_edge][0])
            le = float(L[e])
            lo, hi = max(0.0, a - rest), min(le, a + rest)
            if le > 0:
                ex0, ey0, ex1, ey1 = network.x[u[e]], network.y[u[e]], network.x[v[e]], \
                    network.y[v[e]]
                p = [(ex0 + (ex1 - ex0) * t / le, ey0 + (ey1 - ey0) * t / le) for t in (lo, hi)]
                pieces.append(shapely.LineString(p))
                if site_geom is not None and shapely.get_type_id(site_geom) == 0:
                    mid = (ex0 + (ex1 - ex0) * a / le, ey0 + (ey1 - ey0) * a / le)
                    pieces.append(shapely.LineString([(site_geom.x, site_geom.y), mid]))
    nodes = np.flatnonzero(node_dist <= budget_m)
    return np.asarray(pieces, dtype=object), nodes


def _shape(network, pieces, nodes, method: str, width_m: float, ratio: float,
           fill_holes_m2: float):
    pts = shapely.points(network.x[nodes], network.y[nodes])
    if len(pieces):
        pieces = pieces[shapely.length(pieces) > 0]
    geoms = np.concatenate([pieces, pts]) if len(pieces) else pts
    if geoms.size == 0:
        return shapely.Polygon()
    if method == "buffer":
        shape = shapely.union_all(shapely.buffer(geoms, width_m, quad_segs=3))
    elif method == "concave":
        dense = shapely.segmentize(geoms, max(width_m, 5.0))
        cloud = shapely.multipoints(shapely.get_coordinates(dense))
        shape = shapely.buffer(shapely.concave_hull(cloud, ratio=ratio), width_m, quad_segs=4)
    else:
        raise ValueError(f"method must be 'buffer' or 'concave', not {method!r}")
    if fill_holes_m2 > 0:
        shape = _fill_holes(shape, fill_holes_m2)
    return shape


def _fill_holes(shape, max_area: float):
    def fill(poly):
        keep = [r for r in poly.interiors if shapely.Polygon(r).area > max_area]
        return shapely.Polygon(poly.exterior, keep)

    if shape.geom_type == "Polygon":
        return fill(shape)
    if shape.geom_type == "MultiPolygon":
        return shapely.MultiPolygon([fill(p) for p in shape.geoms])
    return shape


def isochrone(network, x: float | None = None, y: float | None = None,
              minutes: Sequence[float] = (5, 10, 15), speed_kmh: float = schema.WALK_SPEED_KMH, *,
              polygon=None, site_att=None, max_snap_m: float = schema.MAX_SNAP_M,
              method: str = "buffer", width_m: float = 35.0, ratio: float = 0.05,
              fill_holes_m2: float = 0.0) -> gpd.GeoDataFrame:
    """Areas reached on foot within each number of minutes, following the network.

    Parameters
    ----------
    network : WalkNetwork
    x, y : float, optional
        The site in the network's projected CRS (metres).
    minutes : sequence of float
        Walking times, e.g. (5, 10, 15).
    speed_kmh : float
        Walking speed (4.8 km/h = 80 m a minute).
    polygon : shapely geometry, optional
        A site polygon (network CRS) instead of a point, reached at its edge.
    site_att : Attachments, optional
        An already snapped site (one item); ``x``/``y`` are then only used
        for the straight walk to the network.
    max_snap_m : float
        Largest distance from the site to the network.
    method : {"buffer", "concave"}
        See the module docstring.
    width_m : float
        Street-side width of the buffer (metres), 25-50 m are sensible.
    ratio : float
        ``shapely.concave_hull`` ratio for ``method="concave"`` (0 = most concave).
    fill_holes_m2 : float
        Fill holes smaller than this (m²); 0 keeps every hole.

    Returns
    -------
    GeoDataFrame
        One row per entry of ``minutes`` (ascending): ``minutes``, ``metres``,
        ``area_m2``, ``n_nodes`` (network nodes reached) and the polygon, in the
        network CRS. Larger isochrones contain the smaller ones.

    Raises
    ------
    InputError
        The site is farther than ``max_snap_m`` from the network, or the
        minutes or speed are not positive.
    """

    mins = sorted(float(m) for m in minutes)
    if not mins or mins[0] <= 0 or speed_kmh <= 0:
        raise InputError("minutes and walking speed must be greater than 0")
    site_geom = None
    if site_att is None:
        if polygon is not None:
            site_geom = polygon
        elif x is not None and y is not None:
            site_geom = shapely.Point(float(x), float(y))
        else:
            raise InputError("give a site: x and y, a polygon, or site_att")
        site_att = snap_geometries(network, np.array([site_geom], dtype=object), max_snap_m,
                                   edge_access=polygon is not None)
    elif x is not None and y is not None:
        site_geom = shapely.Point(float(x), float(y))
    if not site_att.snapped[0]:
        raise InputError(f"the site is farther than {max_snap_m:g} m from the walking network")
    per_min = schema.metres_per_minute(speed_kmh)
    budgets = [m * per_min for m in mins]
    node_dist = _node_distances(network, site_att, max(budgets))
    shapes, counts = [], []
    prev = None
    for b in budgets:
        pieces, nodes = reached_pieces(network, node_dist, b, site_att, site_geom)
        shape = _shape(network, pieces, nodes, method, width_m, ratio, fill_holes_m2)
        if polygon is not None:
            shape = shapely.union(shape, polygon)
        if prev is not None:
            shape = shapely.union(shape, prev)
        prev = shape
        shapes.append(shape)
        counts.append(int(nodes.size))
    gdf = gpd.GeoDataFrame({"minutes": mins, "metres": budgets,
                            "area_m2": [g.area for g in shapes], "n_nodes": counts},
                           geometry=shapes, crs=network.crs)
    return gdf
