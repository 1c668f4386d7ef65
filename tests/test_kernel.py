"""The compiled counting kernel (:mod:`risk.kernel`) gives exactly the csgraph engine's results.

Hand-checked numbers on a hand-drawn path, networkx on seeded synthetic planar
graphs (edge snapping, edge-access polygons, same-edge pairs, unsnapped and
unreachable targets), bit-for-bit equality with the csgraph path for 1, 2 and
3 threads (sets split between threads are merged), and on the real Isle of
Wight network with its real amenities.
"""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pytest
import shapely
from test_engine import pts, random_planar_network, reference_graph
from test_engine_tiles import _spread_planar, iow_sets
from test_snap import make_network, path5

from risk import kernel
from risk.engine import counts_within, distances_within
from risk.snap import attachments_from_nodes, snap_geometries
from socialrisk.core.network import edges_to_csr

pytest.importorskip("numba")


def test_counts_on_a_hand_drawn_path():
    """Path 0-1-2-3-4, 100 m edges; sources at nodes 0 and 4 and one 30 m off edge 1-2."""
    net = path5()
    a = attachments_from_nodes(net, np.array([0, 4]))
    b = pts(net, [(150, 30)])  # 30 m off, 50 m along edge 1-2
    tgt = pts(net, [(0, 0), (200, 0), (350, -10), (120, 10)])
    counts, near = counts_within(net, [a, b], tgt, [100.0, 200.0], return_nearest=True,
                                 kernel="compiled")
    # set a: target 0 at 0 m from node 0; target 1 (node 2) 200 m from both; target 2
    # (10 m off edge 3-4, 50 m from node 4) 50 + 10 = 60 m from node 4; target 3
    # (10 m off edge 1-2, 20 m along) 100 + 20 + 10 = 130 m from node 0
    assert counts[0].tolist() == [[1, 0, 1, 0], [1, 2, 1, 1]]
    assert near[0].tolist() == pytest.approx([0.0, 200.0, 60.0, 130.0])
    # set b: 30 + 50 = 80 m to node 2 ... ; target 3 on the same edge: 30 + 30 + 10 = 70 m
    # target 0: 30 + 50 + 100 = 180 m; target 1: 80 m; target 2: 80 + 100 + 50 + 10 = 240 m
    assert counts[1].tolist() == [[0, 1, 0, 1], [1, 1, 0, 1]]
    assert near[1].tolist()[:2] == pytest.approx([180.0, 80.0])
    assert np.isinf(near[1, 2]) and near[1, 3] == pytest.approx(70.0)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_compiled_equals_csgraph_bit_for_bit(workers):
    net, rng, ext = _spread_planar(5)
    sets = [pts(net, rng.uniform(0, ext, (k, 2)), 300) for k in (7, 90, 240)]
    sets.append(snap_geometries(net, np.array([shapely.Point(p).buffer(120) for p in
                                               rng.uniform(0, ext, (6, 2))]), 300,
                                edge_access=True))
    txy = rng.uniform(-100, ext + 100, (3000, 2))
    txy[:50] = rng.uniform(0, ext, (50, 2))
    tgt = pts(net, txy, 300)
    thr = [400.0, 800.0, 1200.0]
    want = counts_within(net, sets, tgt, thr, return_nearest=True, kernel="csgraph")
    got = counts_within(net, sets, tgt, thr, return_nearest=True, kernel="compiled",
                        workers=workers)
    assert want[0].sum() > 10_000
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])  # NaN unsnapped, inf unreachable
    only = counts_within(net, sets, tgt, thr, kernel="compiled", workers=workers)
    np.testing.assert_array_equal(only, want[0])
    # targets on nodes (one attachment each: counted as their node settles)
    nodes = attachments_from_nodes(net, rng.choice(net.n_nodes, 800, replace=False))
    want = counts_within(net, sets, nodes, thr, return_nearest=True, kernel="csgraph")
    got = counts_within(net, sets, nodes, thr, return_nearest=True, kernel="compiled",
                        workers=workers)
    assert want[0].sum() > 1000
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("seed", [1, 2])
def test_compiled_matches_networkx(seed):
    net, rng = random_planar_network(seed)
    sources = pts(net, rng.uniform(-50, 2050, (30, 2)), 120)
    txy = rng.uniform(-50, 2050, (200, 2))
    txy[:10] = rng.uniform(0, 2000, (10, 2))
    tgt = pts(net, txy, 120)
    cutoff = 600.0
    counts, near = counts_within(net, sources, tgt, [300.0, cutoff], return_nearest=True,
                                 kernel="compiled", workers=2)
    g = reference_graph(net, sources, tgt)
    expect = np.zeros((2, tgt.n_items), dtype=np.int64)
    nearest = np.full(tgt.n_items, np.inf)
    for i in np.flatnonzero(sources.snapped):
        for k, d in nx.single_source_dijkstra_path_length(g, ("s", int(i)), cutoff=cutoff).items():
            if k[0] == "t":
                expect[:, k[1]] += [d <= 300.0, d <= cutoff]
                nearest[k[1]] = min(nearest[k[1]], d)
    nearest[~tgt.snapped] = np.nan
    assert expect.sum() > 100
    np.testing.assert_array_equal(counts[0], expect)
    np.testing.assert_allclose(near[0], nearest, rtol=0, atol=1e-6)


def test_compiled_needs_no_straight_line_edges():
    """A 100 m gap of length 10 m (a tunnel-like shortcut): tiles are refused, the kernel works."""
    net = make_network([(0, 0), (100, 0), (200, 0)], [(0, 1), (1, 2)], [10.0, 100.0])
    src = attachments_from_nodes(net, np.array([0]))
    tgt = attachments_from_nodes(net, np.arange(3))
    counts, near = counts_within(net, src, tgt, [50.0, 110.0], return_nearest=True,
                                 kernel="compiled")
    assert counts[0].tolist() == [[1, 1, 0], [1, 1, 1]]
    assert near[0].tolist() == [0.0, 10.0, 110.0]


def test_csr_keeps_the_shortest_parallel_edge_and_zero_lengths():
    """Hand-drawn: edge 0-1 three times (100, 40, 70 m), 1-2 of length 0, 2-3 of 5 m."""
    net = make_network([(0, 0), (100, 0), (100, 0), (105, 0)],
                       [(0, 1), (1, 0), (0, 1), (1, 2), (2, 3)], [100.0, 40.0, 70.0, 0.0, 5.0])
    m = edges_to_csr(net.u, net.v, net.length, net.n_nodes)
    assert m.has_canonical_format and m.nnz == 6  # the zero is an explicit entry
    assert m.toarray().tolist() == [[0, 40, 0, 0], [40, 0, 0, 0], [0, 0, 0, 5], [0, 0, 5, 0]]
    counts, near = counts_within(net, attachments_from_nodes(net, np.array([0])),
                                 attachments_from_nodes(net, np.arange(4)), [45.0],
                                 return_nearest=True, kernel="compiled")
    assert counts[0, 0].tolist() == [1, 1, 1, 1]
    assert near[0].tolist() == [0.0, 40.0, 40.0, 45.0]


@pytest.mark.parametrize("kernel_name", ["csgraph", "compiled"])
def test_two_targets_on_one_node_both_count(kernel_name):
    """Hand-drawn path: targets 0 and 1 both at node 1 (100 m from the source at node 0)."""
    net = path5()
    src = attachments_from_nodes(net, np.array([0]))
    tgt = attachments_from_nodes(net, np.array([1, 1, 3]))
    counts, near = counts_within(net, src, tgt, [150.0, 300.0], return_nearest=True,
                                 kernel=kernel_name)
    assert counts[0].tolist() == [[1, 1, 0], [1, 1, 1]]
    assert near[0].tolist() == [100.0, 100.0, 300.0]
    table = distances_within(net, src, tgt, 300.0)
    assert table.to_dict("list") == {"source": [0, 0, 0], "target": [0, 1, 2],
                                     "cost": [100.0, 100.0, 300.0]}


def test_compiled_refuses_what_it_cannot_bound_check():
    net = path5()
    src = attachments_from_nodes(net, np.array([0]))
    tgt = attachments_from_nodes(net, np.array([1, 2]))
    bad_item = dataclasses.replace(tgt, item=np.array([0, 5]))
    with pytest.raises(ValueError, match="sorted item positions below n_items"):
        counts_within(net, src, bad_item, [300.0], kernel="compiled")
    nan_off = dataclasses.replace(src, offset=np.array([np.nan]))
    with pytest.raises(ValueError, match="offsets must be finite"):
        counts_within(net, nan_off, tgt, [300.0], kernel="compiled")
    neg = make_network([(0, 0), (100, 0), (200, 0)], [(0, 1), (1, 2)], [100.0, -50.0])
    with pytest.raises(ValueError, match="negative or non-finite edge lengths"):
        counts_within(neg, attachments_from_nodes(neg, np.array([0])),
                      attachments_from_nodes(neg, np.arange(3)), [300.0], kernel="compiled")


def test_without_numba_scipy_is_used_and_asking_for_the_kernel_says_how(monkeypatch):
    import risk.engine as engine

    net = path5()
    a = attachments_from_nodes(net, np.array([0]))
    monkeypatch.setattr(engine, "compiled_available", lambda: False)
    monkeypatch.setattr(engine, "COMPILED_MIN_SOURCES", 1)  # would choose the kernel

    def not_here(*args, **kwargs):
        raise AssertionError("the compiled kernel ran without numba")

    monkeypatch.setattr(engine, "_counts_compiled", not_here)
    assert counts_within(net, a, a, [100.0]).tolist() == [[[1]]]
    with pytest.raises(RuntimeError, match=r"socialrisk\[fast\]"):
        counts_within(net, a, a, [100.0], kernel="compiled")


def test_kernel_choice_is_checked():
    net = path5()
    a = attachments_from_nodes(net, np.array([0]))
    with pytest.raises(ValueError, match="kernel must be"):
        counts_within(net, a, a, [100.0], kernel="fast")


def test_parts_split_the_sources_evenly():
    groups = np.repeat(np.arange(3), [5, 1, 4])
    assert kernel._parts(groups, 2) == [(0, 5), (5, 10)]
    assert kernel._parts(groups, 4) == [(0, 2), (2, 5), (5, 8), (8, 10)]
    assert kernel._parts(groups[:1], 3) == [(0, 1)]


@pytest.mark.slow
def test_compiled_equals_csgraph_on_isle_of_wight():
    net, sets, origins = iow_sets(5)
    want = counts_within(net, sets, origins, [800.0, 1200.0], return_nearest=True,
                         kernel="csgraph")
    got = counts_within(net, sets, origins, [800.0, 1200.0], return_nearest=True,
                        kernel="compiled", workers=2)
    assert want[0].sum() > 100_000
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
