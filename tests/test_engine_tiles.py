"""Spatial tiles in the engine give exactly the untiled results.

Tiled Dijkstra runs on the subgraph around each tile of sources; it is exact
when no edge is shorter than the straight line between its end nodes. Checked
bit for bit against the untiled engine on seeded synthetic planar graphs and on
the real Isle of Wight network with its real amenities and buildings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import IOW_PBF
from test_engine import pts, random_planar_network
from test_snap import make_network

from risk.engine import (
    counts_within,
    distances_within,
    nearest_distance,
    tiling_is_exact,
)
from risk.snap import attachments_from_nodes, snap_geometries


def _spread_planar(seed: int, n: int = 3000, extent: float = 8000.0):
    """Synthetic planar graph (Delaunay minus 30 % of edges) scaled to ``extent`` metres."""
    net, rng = random_planar_network(seed, n)
    scale = extent / 2000.0
    return make_network(np.column_stack([net.x, net.y]) * scale,
                        np.column_stack([net.u, net.v]), net.length * scale), rng, extent


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_tiled_equals_untiled_on_synthetic_planar_graphs(seed):
    net, rng, ext = _spread_planar(seed)
    assert tiling_is_exact(net)
    src = pts(net, rng.uniform(0, ext, (120, 2)), 300)
    parks = np.array([shapely.Point(p).buffer(150) for p in rng.uniform(0, ext, (8, 2))])
    src_parks = snap_geometries(net, parks, 300, edge_access=True)
    tgt = pts(net, rng.uniform(-100, ext + 100, (3000, 2)), 300)
    nodes = attachments_from_nodes(net, np.arange(net.n_nodes))
    for sources in (src, src_parks):
        for targets in (tgt, nodes):
            for cutoff in (400.0, 1200.0):
                untiled = distances_within(net, sources, targets, cutoff, tiled=False)
                _same(untiled, distances_within(net, sources, targets, cutoff, tiled=True,
                                                workers=1))
                _same(untiled, distances_within(net, sources, targets, cutoff, tiled=True,
                                                workers=2, batch_size=7))


def test_counts_and_nearest_within_match_the_cost_table_and_nearest_distance():
    net, rng, ext = _spread_planar(3)
    sets = [pts(net, rng.uniform(0, ext, (k, 2)), 300) for k in (5, 60, 200)]
    sets.append(snap_geometries(net, np.array([shapely.Point(p).buffer(120) for p in
                                               rng.uniform(0, ext, (6, 2))]), 300,
                                edge_access=True))
    tgt = pts(net, rng.uniform(-100, ext + 100, (2500, 2)), 300)
    thresholds = [400.0, 800.0, 1200.0]
    for tiled in (False, True):
        counts, near = counts_within(net, sets, tgt, thresholds, tiled=tiled,
                                     return_nearest=True)
        assert counts.shape == (4, 3, tgt.n_items) and near.shape == (4, tgt.n_items)
        for k, s in enumerate(sets):
            table = distances_within(net, s, tgt, 1200.0, tiled=False)
            for j, t in enumerate(thresholds):
                expect = np.bincount(table.target[table.cost <= t], minlength=tgt.n_items)
                np.testing.assert_array_equal(counts[k, j], expect)
            dist, _ = nearest_distance(net, s, tgt, limit=1200.0)
            np.testing.assert_array_equal(near[k], dist)  # NaN where unsnapped, inf beyond
    only = counts_within(net, sets[1], tgt, [800.0])
    np.testing.assert_array_equal(only[0, 0], counts[1, 1])


def test_tiles_are_refused_when_an_edge_is_shorter_than_its_straight_line():
    """Synthetic: a 100 m straight gap given length 10 m (a tunnel-like shortcut)."""
    net = make_network([(0, 0), (100, 0), (200, 0)], [(0, 1), (1, 2)], [10.0, 100.0])
    assert not tiling_is_exact(net)
    src = attachments_from_nodes(net, np.array([0]))
    tgt = attachments_from_nodes(net, np.arange(3))
    with pytest.raises(ValueError, match="straight-line"):
        distances_within(net, src, tgt, 500.0, tiled=True)
    auto = distances_within(net, src, tgt, 500.0)  # falls back to the whole graph
    assert auto.cost.tolist() == [0.0, 10.0, 110.0]


def iow_sets(every: int, cats: list[str] | None = None):
    """The real Isle of Wight network, its amenities of ``cats`` (all: None) snapped per
    category, and every ``every``-th real building's centroid as an origin."""
    pbf = pytest.importorskip("geo.pbf")
    if not IOW_PBF.is_file():
        pytest.skip("Isle of Wight PBF missing")
    data = pbf.read_pbf(IOW_PBF)
    net = data.network
    amen = data.amenities.to_crs(net.crs)
    c = data.buildings.to_crs(net.crs).geometry.iloc[::every].centroid
    origins = pts(net, np.column_stack([c.x, c.y]), 250)
    sets = [snap_geometries(net, amen[amen["category"] == cat].geometry.to_numpy(), 250,
                            edge_access=(cat == "green_space"))
            for cat in (cats or sorted(amen["category"].unique()))]
    return net, sets, origins


@pytest.mark.slow
def test_tiled_equals_untiled_on_isle_of_wight_real_amenities_and_buildings():
    net, sets, origins = iow_sets(10, ["gp", "green_space", "transit_stop"])
    assert tiling_is_exact(net)
    for s in sets:
        _same(distances_within(net, s, origins, 1200.0, tiled=False),
              distances_within(net, s, origins, 1200.0, tiled=True))
    untiled = counts_within(net, sets, origins, [800.0, 1200.0], tiled=False,
                            return_nearest=True)
    tiled = counts_within(net, sets, origins, [800.0, 1200.0], tiled=True, return_nearest=True)
    np.testing.assert_array_equal(untiled[0], tiled[0])
    np.testing.assert_array_equal(untiled[1], tiled[1])
