"""Walking isochrones (geo/isochrone.py).

Exact checks on a hand-drawn 5 x 5 grid of 100 m streets (synthetic, made up for
the maths), and a check on the real Isle of Wight network.
"""

from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
import shapely

from risk.isochrone import isochrone, reached_pieces
from risk.snap import snap_points
from socialrisk.core.errors import InputError
from socialrisk.core.network import WalkNetwork


def grid(n: int = 5, step: float = 100.0) -> WalkNetwork:
    """n x n nodes, node (i, j) at (i*step, j*step), 4-neighbour streets."""
    ij = [(i, j) for i in range(n) for j in range(n)]
    pos = {p: k for k, p in enumerate(ij)}
    u, v = [], []
    for i, j in ij:
        if i + 1 < n:
            u.append(pos[(i, j)])
            v.append(pos[(i + 1, j)])
        if j + 1 < n:
            u.append(pos[(i, j)])
            v.append(pos[(i, j + 1)])
    x = np.array([i * step for i, _ in ij])
    y = np.array([j * step for _, j in ij])
    return WalkNetwork(node_id=np.arange(len(ij), dtype=np.int64), x=x, y=y,
                       u=np.array(u, np.int64), v=np.array(v, np.int64),
                       length=np.full(len(u), step), crs="EPSG:27700")


def test_grid_isochrone_contains_exactly_the_reached_nodes():
    net = grid()
    # 4.5 min at 4.8 km/h = 360 m from the corner: nodes with i + j <= 3 (Manhattan
    # 300 m); every edge from a level-3 node outwards is cut 60 m along (40 m short
    # of the next node, farther than the 25 m street-side width)
    iso = isochrone(net, 0.0, 0.0, minutes=[4.5], speed_kmh=4.8, width_m=25)
    poly = iso.geometry.iloc[0]
    assert iso["metres"].iloc[0] == pytest.approx(360.0)
    for k in range(net.n_nodes):
        i, j = int(net.x[k] // 100), int(net.y[k] // 100)
        inside = poly.contains(shapely.Point(net.x[k], net.y[k]))
        assert inside == (i + j <= 3), (i, j)
    assert iso["n_nodes"].iloc[0] == 10
    # the cut points: 60 m past each level-3 node, 40 m short of level-4 nodes
    assert poly.contains(shapely.Point(355, 0)) and not poly.contains(shapely.Point(390, 0))
    assert poly.contains(shapely.Point(200, 155)) and not poly.contains(shapely.Point(200, 190))


def test_grid_reached_pieces_have_the_exact_length():
    net = grid()
    att = snap_points(net, np.array([0.0]), np.array([0.0]), 50.0)
    from risk.isochrone import _node_distances

    d = _node_distances(net, att, 1000.0)
    pieces, nodes = reached_pieces(net, d, 360.0, att)
    # 12 whole edges among levels 0..3 plus 8 pieces of 60 m to level 4
    assert shapely.union_all(pieces).length == pytest.approx(12 * 100 + 8 * 60)
    assert nodes.size == 10


def test_site_between_nodes_walks_its_own_edge_both_ways():
    net = grid()
    # site 10 m off the street at x = 150: 40 m budget left after the snap ->
    # reaches neither node 100 m away; the own-edge piece is [110, 190]
    iso = isochrone(net, 150.0, 10.0, minutes=[0.625], speed_kmh=4.8, width_m=5)
    poly = iso.geometry.iloc[0]
    assert iso["n_nodes"].iloc[0] == 0
    assert poly.contains(shapely.Point(112, 0)) and poly.contains(shapely.Point(188, 0))
    assert not poly.contains(shapely.Point(100, 0)) and not poly.contains(shapely.Point(200, 0))


@pytest.mark.parametrize("method", ["buffer", "concave"])
def test_grid_isochrones_are_nested(method):
    iso = isochrone(grid(9), 410.0, 400.0, minutes=(2, 5, 7), method=method, width_m=25)
    assert list(iso["minutes"]) == [2, 5, 7]
    g = list(iso.geometry)
    assert g[1].buffer(1e-6).contains(g[0]) and g[2].buffer(1e-6).contains(g[1])
    assert (np.diff(iso["area_m2"]) > 0).all()


def test_bad_input_says_what_to_fix():
    with pytest.raises(InputError, match="farther than"):
        isochrone(grid(), 5000.0, 5000.0, minutes=[5])
    with pytest.raises(InputError, match="greater than 0"):
        isochrone(grid(), 0.0, 0.0, minutes=[0])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["buffer", "concave"])
def test_iow_isochrone_follows_the_network(iow_prepared, method):
    p, _ = iow_prepared
    tr = pyproj.Transformer.from_crs("EPSG:4326", p.network.crs, always_xy=True)
    x, y = tr.transform(-1.2000, 50.5950)  # Ventnor, a hillside town on the south coast
    iso = isochrone(p.network, x, y, minutes=(5, 10, 15), speed_kmh=4.8, method=method)
    for row in iso.itertuples():
        circle = math.pi * row.metres ** 2
        assert row.area_m2 < 0.5 * circle           # far smaller than the circle
        assert row.area_m2 < 0.95 * row.geometry.convex_hull.area  # not a convex hull
        assert row.geometry.is_valid
    g = list(iso.geometry)
    assert g[2].buffer(1e-6).contains(g[1]) and g[1].buffer(1e-6).contains(g[0])
