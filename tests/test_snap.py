"""Snapping items to the network, on small hand-drawn (synthetic) graphs with exact answers."""

from __future__ import annotations

import time

import numpy as np
import pytest
import shapely

from risk.snap import (
    Attachments,
    attachments_from_nodes,
    snap_geometries,
    snap_points,
)
from socialrisk.core.network import WalkNetwork


def make_network(xy, edges, length=None) -> WalkNetwork:
    """A hand-drawn WalkNetwork (synthetic test data) from coordinates and (u, v) pairs."""
    xy = np.asarray(xy, dtype=float)
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if length is None:
        length = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    return WalkNetwork(node_id=np.arange(len(xy), dtype=np.int64), x=xy[:, 0], y=xy[:, 1],
                       u=e[:, 0], v=e[:, 1], length=np.asarray(length, dtype=float),
                       crs="EPSG:27700")


def path5() -> WalkNetwork:
    """Synthetic 5-node path along y=0: nodes at x = 0, 100, 200, 300, 400."""
    return make_network([(0, 0), (100, 0), (200, 0), (300, 0), (400, 0)],
                         [(0, 1), (1, 2), (2, 3), (3, 4)])


def attached(att: Attachments, item: int) -> dict[int, float]:
    m = att.item == item
    return dict(zip(att.node[m].tolist(), att.offset[m].tolist(), strict=True))


def test_point_mid_edge_gets_both_ends():
    net = path5()
    att = snap_points(net, np.array([150.0, 250.0]), np.array([30.0, -10.0]), 250)
    assert attached(att, 0) == pytest.approx({1: 80.0, 2: 80.0})   # 30 + 50 each way
    assert attached(att, 1) == pytest.approx({2: 60.0, 3: 60.0})   # 10 + 50
    assert att.snap_m == pytest.approx([30.0, 10.0])
    assert att.snapped.all()
    assert set(att.edge.tolist()) == {1, 2}
    assert att.along == pytest.approx([50.0] * 4)


def test_point_off_the_end_and_uneven_split():
    net = path5()
    att = snap_points(net, np.array([-20.0, 130.0]), np.array([0.0, 40.0]), 250)
    assert attached(att, 0) == pytest.approx({0: 20.0, 1: 120.0})
    assert attached(att, 1) == pytest.approx({1: 70.0, 2: 110.0})  # 40 + 30, 40 + 70
    assert att.snap_m == pytest.approx([20.0, 40.0])


def test_point_on_a_node_has_zero_offset():
    net = path5()
    att = snap_points(net, np.array([200.0]), np.array([0.0]), 250)
    offs = attached(att, 0)
    assert offs[2] == 0.0
    assert sorted(offs.values()) == [0.0, 100.0]
    assert att.snap_m[0] == 0.0


def test_far_point_is_unsnapped_not_zero():
    net = path5()
    att = snap_points(net, np.array([150.0, 0.0, np.nan]), np.array([30.0, 1000.0, 0.0]), 250)
    assert att.snapped.tolist() == [True, False, False]
    assert np.isnan(att.snap_m[1]) and np.isnan(att.snap_m[2])
    assert set(att.item.tolist()) == {0}
    assert att.n_unsnapped == 2


def test_edge_length_longer_than_segment_is_scaled():
    """A curved way: its length (200 m) is longer than the straight segment (100 m)."""
    net = make_network([(0, 0), (100, 0)], [(0, 1)], length=[200.0])
    att = snap_points(net, np.array([25.0]), np.array([5.0]), 250)
    assert attached(att, 0) == pytest.approx({0: 55.0, 1: 155.0})  # 5 + 50, 5 + 150


def test_park_polygon_attaches_to_nodes_inside_and_near():
    net = path5()
    parks = np.array([
        shapely.box(180, -20, 320, 20),           # contains nodes 2 and 3
        shapely.box(330, 10, 380, 50),            # node 4 at 22.36 m; node 3 at 31.6 m (> 30)
        shapely.Polygon([(150, 40), (170, 60), (130, 60)]),  # no node within 30 m: edge (1,2)
    ])
    att = snap_geometries(net, parks, max_snap_m=250, edge_access=True, edge_tolerance_m=30)
    assert attached(att, 0) == {2: 0.0, 3: 0.0}
    assert attached(att, 1) == pytest.approx({4: np.hypot(20, 10)})
    assert attached(att, 2) == pytest.approx({1: 90.0, 2: 90.0})
    assert att.snap_m == pytest.approx([0.0, np.hypot(20, 10), 40.0])
    assert att.edge[att.item == 0].tolist() == [-1, -1]


def test_polygon_without_edge_access_snaps_from_nearest_boundary_point():
    net = path5()
    building = shapely.Polygon([(150, 40), (170, 60), (130, 60)])
    park = shapely.box(180, -20, 320, 20)
    att = snap_geometries(net, np.array([building, park, None]), 250,
                          edge_access=np.array([False, False, True]))
    assert attached(att, 0) == pytest.approx({1: 90.0, 2: 90.0})
    # the park is crossed by the path: snap distance 0 at a crossing point
    assert att.snap_m[1] == 0.0
    assert not att.snapped[2]


def test_select_renumbers_items():
    net = path5()
    att = snap_points(net, np.array([150.0, 0.0, 250.0]), np.array([30.0, 900.0, -10.0]), 250)
    sub = att.select(np.array([2, 1]))
    assert sub.n_items == 2
    assert attached(sub, 0) == pytest.approx({2: 60.0, 3: 60.0})
    assert sub.snapped.tolist() == [True, False]
    mask = att.select(np.array([True, False, True]))
    assert attached(mask, 1) == pytest.approx({2: 60.0, 3: 60.0})


def test_attachments_from_nodes():
    net = path5()
    att = attachments_from_nodes(net, np.array([4, 0]))
    assert att.node.tolist() == [4, 0] and att.offset.tolist() == [0.0, 0.0]
    assert att.snapped.all() and att.snap_m.tolist() == [0.0, 0.0]


def test_snapping_is_vectorised_and_fast():
    """Synthetic grid of 90,000 nodes (~180,000 edges) and 60,000 random points (seeded)."""
    k = 300
    gx, gy = np.meshgrid(np.arange(k) * 50.0, np.arange(k) * 50.0)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    ids = np.arange(k * k).reshape(k, k)
    edges = np.vstack([np.column_stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()]),
                       np.column_stack([ids[:-1, :].ravel(), ids[1:, :].ravel()])])
    net = make_network(xy, edges)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 50 * (k - 1), 60_000), rng.uniform(0, 50 * (k - 1), 60_000)
    t0 = time.perf_counter()
    att = snap_points(net, x, y, 250)
    elapsed = time.perf_counter() - t0
    assert att.snapped.all()
    # on a 50 m grid the snap distance is the distance to the nearest grid line
    expect = np.minimum(np.minimum(x % 50, 50 - x % 50), np.minimum(y % 50, 50 - y % 50))
    np.testing.assert_allclose(att.snap_m, expect, atol=1e-9)
    assert elapsed < 10, f"snapping 60k points took {elapsed:.1f} s"


def test_threaded_nearest_edges_equal_one_call(monkeypatch):
    """Synthetic 40x40 grid, 25,000 seeded points (some far, some missing): split across
    threads, every point gets the same edge, distance and attachments as in one call."""
    import risk.snap as snap_mod

    k = 40
    gx, gy = np.meshgrid(np.arange(k) * 50.0, np.arange(k) * 50.0)
    ids = np.arange(k * k).reshape(k, k)
    edges = np.vstack([np.column_stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()]),
                       np.column_stack([ids[:-1, :].ravel(), ids[1:, :].ravel()])])
    net = make_network(np.column_stack([gx.ravel(), gy.ravel()]), edges)
    rng = np.random.default_rng(7)
    x = rng.uniform(-150, 50 * (k - 1) + 150, 25_000)
    y = rng.uniform(-150, 50 * (k - 1) + 150, 25_000)
    x[::97] = np.nan  # missing coordinates stay unsnapped in both
    monkeypatch.setattr(snap_mod, "tile_workers", lambda workers: 1)
    one = snap_points(net, x, y, 120)
    monkeypatch.setattr(snap_mod, "tile_workers", lambda workers: 3)
    monkeypatch.setattr(snap_mod, "PARALLEL_MIN_GEOMS", 1)
    split = snap_points(net, x, y, 120)
    assert 0 < (~one.snapped).sum() < 25_000 // 4  # far and missing points exist
    for name in ("item", "node", "offset", "edge", "along", "snap_m", "snapped"):
        np.testing.assert_array_equal(getattr(split, name), getattr(one, name), err_msg=name)
