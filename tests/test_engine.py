"""Shortest paths between attached items.

Exact answers on small hand-drawn (synthetic) graphs, and agreement with an
independent networkx reference on a seeded random synthetic planar graph and on
the real Isle of Wight walking network.
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import IOW_PBF
from scipy.spatial import Delaunay
from test_snap import make_network, path5

from risk.engine import augmented_graph, distances_within, nearest_distance
from risk.snap import attachments_from_nodes, snap_geometries, snap_points
from socialrisk.core.network import Attachments


def pts(net, xy, max_snap_m=250.0) -> Attachments:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return snap_points(net, xy[:, 0], xy[:, 1], max_snap_m)


# ---------------------------------------------------------------- hand-drawn graphs

def test_path_distance_includes_both_snap_offsets():
    net = path5()
    src = pts(net, [(150, 30)])         # edge 1-2, 50 m along, 30 m off
    tgt = pts(net, [(350, -10), (0, 0)])
    dist, which = nearest_distance(net, src, tgt)
    # 30 + 50 (to node 2) + 100 (to node 3) + 50 + 10 = 240;  30 + 50 + 100 = 180
    assert dist.tolist() == pytest.approx([240.0, 180.0])
    assert which.tolist() == [0, 0]


def test_nearest_picks_the_nearest_source():
    net = path5()
    src = attachments_from_nodes(net, np.array([0, 4]))
    tgt = pts(net, [(90, 5), (310, 0), (200, 20)])
    dist, which = nearest_distance(net, src, tgt)
    assert dist.tolist() == pytest.approx([95.0, 90.0, 220.0])
    assert which.tolist()[:2] == [0, 1]
    assert which[2] in (0, 1)


def test_same_edge_items_walk_along_the_edge_directly():
    net = path5()
    src = pts(net, [(120, 10)])
    tgt = pts(net, [(180, -20), (120, 10)])
    dist, which = nearest_distance(net, src, tgt)
    # direct: 10 + 60 + 20 = 90 (via node 1: 10+20+20+80 = 130); the same point: 10 + 10
    assert dist.tolist() == pytest.approx([90.0, 20.0])
    assert which.tolist() == [0, 0]
    table = distances_within(net, src, tgt, cutoff=100)
    assert table.to_dict("list") == {"source": [0, 0], "target": [0, 1],
                                     "cost": pytest.approx([90.0, 20.0])}


def test_square_with_diagonal():
    """Synthetic unit square (100 m) with the diagonal A-C."""
    net = make_network([(0, 0), (100, 0), (100, 100), (0, 100)],
                       [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)])
    src = attachments_from_nodes(net, np.array([0]))
    tgt = attachments_from_nodes(net, np.array([0, 1, 2, 3]))
    dist, _ = nearest_distance(net, src, tgt)
    assert dist.tolist() == pytest.approx([0.0, 100.0, np.hypot(100, 100), 100.0])
    # a point next to C, snapped onto B-C 10 m below C, 5 m off: via C = 141.42 + 10 + 5
    dist, _ = nearest_distance(net, src, pts(net, [(105, 90)]))
    assert dist[0] == pytest.approx(np.hypot(100, 100) + 15.0)


def test_counts_table_on_the_path_is_exact():
    net = path5()
    src = attachments_from_nodes(net, np.array([0, 4]))
    tgt = attachments_from_nodes(net, np.arange(5))
    table = distances_within(net, src, tgt, cutoff=200)
    got = sorted(zip(table.source, table.target, table.cost, strict=True))
    assert got == [(0, 0, 0.0), (0, 1, 100.0), (0, 2, 200.0),
                   (1, 2, 200.0), (1, 3, 100.0), (1, 4, 0.0)]
    assert table.dtypes.to_dict() == {"source": np.int64, "target": np.int64,
                                      "cost": np.float64}
    small = distances_within(net, src, tgt, cutoff=200, batch_size=1)
    pd.testing.assert_frame_equal(small, table)


def test_unreachable_is_inf_and_unsnapped_is_nan():
    """Two synthetic components: 0-1 and 2-3, 1 km apart."""
    net = make_network([(0, 0), (100, 0), (1000, 0), (1100, 0)], [(0, 1), (2, 3)])
    src = attachments_from_nodes(net, np.array([0]))
    tgt = pts(net, [(50, 0), (1050, 0), (500, 800)])
    dist, which = nearest_distance(net, src, tgt)
    assert dist[0] == 50.0
    assert np.isinf(dist[1]) and np.isnan(dist[2])
    assert which.tolist() == [0, -1, -1]
    table = distances_within(net, src, tgt, cutoff=5000)
    assert table.target.tolist() == [0]


def test_limit_makes_farther_targets_unreachable():
    net = path5()
    src = attachments_from_nodes(net, np.array([0]))
    tgt = pts(net, [(150, 30), (350, 0)])
    dist, which = nearest_distance(net, src, tgt, limit=200)
    assert dist[0] == pytest.approx(180.0)
    assert np.isinf(dist[1]) and which[1] == -1


def test_zero_length_edges_still_connect():
    """Nodes 1 and 2 share coordinates (a duplicated OSM node): the 0 m edge is the only link."""
    net = make_network([(0, 0), (100, 0), (100, 0), (200, 0)], [(0, 1), (1, 2), (2, 3)])
    assert net.length.tolist() == [100.0, 0.0, 100.0]
    graph = augmented_graph(net, attachments_from_nodes(net, np.array([0])))
    assert graph.nnz == 7  # 6 directed network entries (one an explicit zero) + 1 virtual
    src = attachments_from_nodes(net, np.array([0]))
    tgt = attachments_from_nodes(net, np.array([1, 2, 3]))
    dist, which = nearest_distance(net, src, tgt)
    assert dist.tolist() == [100.0, 100.0, 200.0]
    assert which.tolist() == [0, 0, 0]
    table = distances_within(net, src, tgt, cutoff=1000)
    assert table.cost.tolist() == [100.0, 100.0, 200.0]
    # a source exactly on a node: zero offsets connect too
    src0 = pts(net, [(100, 0)])
    dist, _ = nearest_distance(net, src0, attachments_from_nodes(net, np.array([3, 0])))
    assert dist.tolist() == [100.0, 100.0]


def test_paths_never_pass_through_a_virtual_node():
    """A park attached to two far-apart nodes must not act as a shortcut between them."""
    net = path5()
    park = shapely.MultiPolygon([shapely.box(-5, -5, 5, 5), shapely.box(395, -5, 405, 5)])
    src = snap_geometries(net, np.array([park]), 250, edge_access=True)
    assert sorted(src.node.tolist()) == [0, 4]
    far = attachments_from_nodes(net, np.array([0]))
    tgt = attachments_from_nodes(net, np.array([4, 2]))
    dist, _ = nearest_distance(net, far, tgt)
    assert dist.tolist() == [400.0, 200.0]
    dist, _ = nearest_distance(net, src, tgt)
    assert dist.tolist() == [0.0, 200.0]


# ------------------------------------------------------------ networkx reference

def reference_graph(net, sources: Attachments, targets: Attachments) -> nx.DiGraph:
    """Independent model: split each edge at every snapped point, join items by their snap.

    Sources only lead into the network and targets are only led into, so no path
    passes through an item.
    """
    g = nx.DiGraph()
    for a, b, w in zip(net.u.tolist(), net.v.tolist(), net.length.tolist(), strict=True):
        if not g.has_edge(("n", a), ("n", b)) or g[("n", a)][("n", b)]["weight"] > w:
            g.add_edge(("n", a), ("n", b), weight=w)
            g.add_edge(("n", b), ("n", a), weight=w)
    on_edge: dict[int, list] = {}
    for kind, att in (("s", sources), ("t", targets)):
        seen = set()
        for i, node, off, e, along in zip(att.item.tolist(), att.node.tolist(),
                                          att.offset.tolist(), att.edge.tolist(),
                                          att.along.tolist(), strict=True):
            if e < 0:
                pair = ((kind, i), ("n", node)) if kind == "s" else (("n", node), (kind, i))
                g.add_edge(*pair, weight=off)
            elif i not in seen:
                seen.add(i)
                on_edge.setdefault(e, []).append((along, kind, i, float(att.snap_m[i])))
    for e, items in on_edge.items():
        a, b, length = int(net.u[e]), int(net.v[e]), float(net.length[e])
        chain = [(0.0, ("n", a))]
        for along, kind, i, snap in sorted(items):
            p = ("p", kind, i)
            chain.append((along, p))
            pair = ((kind, i), p) if kind == "s" else (p, (kind, i))
            g.add_edge(*pair, weight=snap)
        chain.append((length, ("n", b)))
        for (t0, p0), (t1, p1) in zip(chain[:-1], chain[1:], strict=True):
            g.add_edge(p0, p1, weight=t1 - t0)
            g.add_edge(p1, p0, weight=t1 - t0)
    return g


def random_planar_network(seed: int, n: int = 400):
    """Seeded random synthetic planar graph: Delaunay triangulation of random points,
    with 30 % of its edges removed (parallel edges and a duplicate node added)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, (n, 2))
    xy = np.vstack([xy, xy[:1]])  # a duplicated coordinate -> a zero-length edge
    tri = Delaunay(xy[:-1])
    e = np.vstack([tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]], tri.simplices[:, [2, 0]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    e = e[rng.random(len(e)) > 0.3]
    e = np.vstack([e, [[0, n]], [[n, 1]], e[:5]])  # zero-length link + 5 parallel duplicates
    length = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    length[-5:] *= 1.5  # the parallel duplicates are longer (curved) ways
    return make_network(xy, e, length), rng


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engine_matches_networkx_on_random_planar_graph(seed):
    net, rng = random_planar_network(seed)
    sxy = rng.uniform(-50, 2050, (25, 2))
    txy = rng.uniform(-50, 2050, (150, 2))
    # put some targets on the same edges as sources
    txy[:10] = sxy[:10] + rng.normal(0, 20, (10, 2))
    src = pts(net, sxy, 120)
    parks = np.array([shapely.Point(p).buffer(60) for p in rng.uniform(0, 2000, (5, 2))])
    src_parks = snap_geometries(net, parks, 120, edge_access=True)
    tgt = pts(net, txy, 120)
    for sources in (src, src_parks):
        g = reference_graph(net, sources, tgt)
        s_nodes = [("s", i) for i in range(sources.n_items) if sources.snapped[i]]
        ref = nx.multi_source_dijkstra_path_length(g, s_nodes)
        dist, which = nearest_distance(net, sources, tgt)
        expect = np.array([ref.get(("t", i), np.inf) if tgt.snapped[i] else np.nan
                           for i in range(tgt.n_items)])
        np.testing.assert_allclose(dist, expect, rtol=0, atol=1e-6)
        # the reported source is one at that distance
        for i in np.flatnonzero(np.isfinite(dist))[:40]:
            d_one = nx.dijkstra_path_length(g, ("s", int(which[i])), ("t", int(i)))
            assert d_one == pytest.approx(dist[i], abs=1e-6)
        cutoff = 600.0
        table = distances_within(net, sources, tgt, cutoff)
        rows = []
        for s in s_nodes:
            lengths = nx.single_source_dijkstra_path_length(g, s, cutoff=cutoff)
            rows += [(s[1], k[1], d) for k, d in lengths.items() if k[0] == "t"]
        ref_t = pd.DataFrame(rows, columns=["source", "target", "cost"]).sort_values(
            ["source", "target"]).reset_index(drop=True)
        assert table[["source", "target"]].values.tolist() == \
            ref_t[["source", "target"]].values.tolist()
        np.testing.assert_allclose(table.cost, ref_t.cost, rtol=0, atol=1e-6)


# ------------------------------------------------------------ real Isle of Wight

@pytest.fixture(scope="module")
def iow_network():
    pbf = pytest.importorskip("geo.pbf")
    if not IOW_PBF.is_file():
        pytest.skip("Isle of Wight PBF missing")
    return pbf.network_from_pbf(IOW_PBF, "EPSG:27700")


@pytest.mark.slow
def test_engine_matches_networkx_on_isle_of_wight(iow_network):
    net = iow_network
    rng = np.random.default_rng(42)
    # 50 sources and 400 targets: random points near random real nodes (synthetic positions)
    s_nodes = rng.choice(net.n_nodes, 50, replace=False)
    t_nodes = rng.choice(net.n_nodes, 400, replace=False)
    sources = pts(net, np.column_stack([net.x[s_nodes], net.y[s_nodes]])
                  + rng.normal(0, 30, (50, 2)))
    targets = pts(net, np.column_stack([net.x[t_nodes], net.y[t_nodes]])
                  + rng.normal(0, 30, (400, 2)))
    g = reference_graph(net, sources, targets)
    starts = [("s", i) for i in range(50) if sources.snapped[i]]
    ref = nx.multi_source_dijkstra_path_length(g, starts)
    dist, _ = nearest_distance(net, sources, targets)
    expect = np.array([ref.get(("t", i), np.inf) if targets.snapped[i] else np.nan
                       for i in range(400)])
    np.testing.assert_allclose(dist, expect, rtol=0, atol=1e-6)
    cutoff = 1600.0
    table = distances_within(net, sources, targets, cutoff)
    rows = []
    for s in starts:
        lengths = nx.single_source_dijkstra_path_length(g, s, cutoff=cutoff)
        rows += [(s[1], k[1], d) for k, d in lengths.items() if k[0] == "t"]
    ref_t = pd.DataFrame(rows, columns=["source", "target", "cost"]).sort_values(
        ["source", "target"]).reset_index(drop=True)
    assert len(table) == len(ref_t) > 0
    assert (table[["source", "target"]].to_numpy() == ref_t[["source", "target"]].to_numpy()).all()
    np.testing.assert_allclose(table.cost, ref_t.cost, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_isle_of_wight_timing_12_categories(iow_network):
    """Nearest + counts for 12 categories of amenity-like *random node sets* (synthetic
    positions on the real network, 200 per category = 2,400) and 60,000 random origin
    points near real nodes. Prints the timings."""
    net = iow_network
    rng = np.random.default_rng(7)
    o_nodes = rng.choice(net.n_nodes, 60_000)
    t0 = time.perf_counter()
    origins = pts(net, np.column_stack([net.x[o_nodes], net.y[o_nodes]])
                  + rng.normal(0, 20, (60_000, 2)))
    a_nodes = rng.choice(net.n_nodes, 2400, replace=False)
    amen = pts(net, np.column_stack([net.x[a_nodes], net.y[a_nodes]])
               + rng.normal(0, 20, (2400, 2)))
    t_snap = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_pairs = 0
    for c in range(12):
        sub = amen.select(np.arange(c * 200, (c + 1) * 200))
        dist, _ = nearest_distance(net, sub, origins, limit=20_000)
        table = distances_within(net, sub, origins, cutoff=1600)
        n_pairs += len(table)
        assert np.isfinite(dist[origins.snapped]).mean() > 0.9
    t_access = time.perf_counter() - t0
    print(f"\nIoW {net.n_nodes} nodes / {net.n_edges} edges: snap 62,400 points {t_snap:.2f} s;"
          f" nearest + 1600 m cost tables for 12 categories {t_access:.2f} s ({n_pairs} pairs)")
    assert t_snap < 10
    assert t_access < 120
