"""Decay functions, per-origin access measures and their per-area summaries.

Exact values on a small hand-drawn (synthetic) path network and hand-made tables.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from access import weights as pysal_weights
from test_snap import path5

from risk import decay
from risk.access import (
    access_columns,
    aggregate_to_areas,
    origin_access,
    share_beyond,
    walk_minutes,
)
from risk.engine import distances_within, nearest_distance
from risk.snap import attachments_from_nodes, snap_points
from socialrisk.settings import Settings
from socialrisk.stages import access_params

# ------------------------------------------------------------------------ decay


def test_decay_exact_values():
    g = decay.gaussian(800)
    assert g(0) == 1.0
    assert g(800) == pytest.approx(math.exp(-0.5))
    assert g(1600) == pytest.approx(math.exp(-2.0))
    e = decay.exponential(800)
    assert e(0) == 1.0 and e(800) == pytest.approx(math.exp(-1))
    lin = decay.linear(800)
    assert lin(np.array([0, 200, 800, 1000])).tolist() == [1.0, 0.75, 0.0, 0.0]
    s = decay.step(800)
    assert s(np.array([0, 800, 800.0001])).tolist() == [1.0, 1.0, 0.0]


def test_decay_inf_is_zero_nan_stays_nan_negative_refused():
    for f in (decay.gaussian(800), decay.exponential(800), decay.linear(800), decay.step(800),
              decay.zones([400, 800, 1200])):
        out = f(np.array([np.inf, np.nan]))
        assert out[0] == 0.0 and np.isnan(out[1])
        assert isinstance(f(100.0), float)
        with pytest.raises(ValueError):
            f(np.array([-1.0]))
    with pytest.raises(ValueError):
        decay.gaussian(0)


def test_gaussian_matches_pysal_access():
    ref = pysal_weights.gaussian(800)
    d = np.array([0, 100, 400, 800, 1234.5, 3000])
    np.testing.assert_allclose(decay.gaussian(800)(d), ref(d), rtol=1e-15)


def test_zones_are_luo_qi_weights_and_match_pysal_step_fn():
    z = decay.zones([400, 800, 1200])
    d = np.array([0, 399, 400, 401, 800, 1199, 1200, 1201, 5000])
    assert z(d).tolist() == [1.0, 1.0, 1.0, 0.68, 0.68, 0.22, 0.22, 0.0, 0.0]
    ref = pysal_weights.step_fn({400: 1.0, 800: 0.68, 1200: 0.22})
    assert z(d).tolist() == [float(ref(x)) for x in d]
    with pytest.raises(ValueError):
        decay.zones([800, 400], [1.0, 0.5])


def test_make_decay_by_settings_name():
    s = Settings()
    f = decay.make_decay(s.decay, s.decay_scale_m)
    assert f(800) == pytest.approx(math.exp(-0.5))
    assert decay.make_decay("linear", 100)(50) == 0.5
    with pytest.raises(ValueError):
        decay.make_decay("cauchy", 100)


# ---------------------------------------------------------------------- columns


def test_access_columns_scheme():
    c = access_columns("gp", [400, 800, 1200], beyond=[800])
    assert c.nearest == "gp_nearest_m" and c.walk_min == "gp_walk_min"
    assert list(c.count.values()) == ["gp_count_400m", "gp_count_800m", "gp_count_1200m"]
    assert c.share_beyond == {800.0: "gp_share_beyond_800m"}
    assert (c.gravity, c.e2sfca, c.unreachable_share) == (
        "gp_gravity", "gp_e2sfca", "gp_unreachable_share")
    assert access_params(Settings()).columns("gp") == c
    assert c.walk_min_slow == "gp_walk_min_slow"
    assert access_columns("", [400]).origin_columns() == [
        "nearest_m", "walk_min", "count_400m", "gravity"]
    assert access_columns("x", [250.5]).count[250.5] == "x_count_250.5m"


# ------------------------------------------------------------------ per origin


def test_origin_access_exact_on_the_path():
    """Amenities at nodes 0 and 4 of the synthetic 100 m path; origins at every node,
    one mid-edge point 10 m off the path, and one unsnapped point."""
    net = path5()
    amen = attachments_from_nodes(net, np.array([0, 4]))
    origins = snap_points(net, np.array([0, 100, 200, 300, 400, 150, 200.0]),
                          np.array([0, 0, 0, 0, 0, 10, 5000.0]), 250)
    nearest, _ = nearest_distance(net, amen, origins)
    table = distances_within(net, amen, origins, cutoff=1200)
    g = decay.gaussian(800)
    out = origin_access(nearest, table, [100, 200, 400], 4.8, decay=g, cutoff=1200,
                        category="gp")
    assert out.columns.tolist() == ["gp_nearest_m", "gp_walk_min", "gp_count_100m",
                                    "gp_count_200m", "gp_count_400m", "gp_gravity"]
    assert out.index.tolist() == list(range(7))
    np.testing.assert_allclose(out.gp_nearest_m[:6], [0, 100, 200, 100, 0, 160])
    np.testing.assert_allclose(out.gp_walk_min[:6], np.array([0, 100, 200, 100, 0, 160]) / 80)
    assert out.gp_count_100m[:6].tolist() == [1, 1, 0, 1, 1, 0]
    assert out.gp_count_200m[:6].tolist() == [1, 1, 2, 1, 1, 1]
    assert out.gp_count_400m[:6].tolist() == [2, 2, 2, 2, 2, 2]
    # gravity: both amenities within 1200 m; origin at node 1 is 100 m and 300 m away
    assert out.gp_gravity[1] == pytest.approx(g(100.0) + g(300.0))
    assert out.gp_gravity[5] == pytest.approx(g(160.0) + g(260.0))
    assert out.iloc[6].isna().all()  # unsnapped: not measured


def test_origin_access_unreachable_is_inf_with_zero_counts():
    nearest = np.array([50.0, np.inf])
    table = pd.DataFrame({"source": [0], "target": [0], "cost": [50.0]})
    out = origin_access(nearest, table, [100], 4.8, decay=decay.step(100))
    assert np.isinf(out.nearest_m[1]) and np.isinf(out.walk_min[1])
    assert out.count_100m.tolist() == [1.0, 0.0]
    assert out.gravity.tolist() == [1.0, 0.0]
    with pytest.raises(ValueError):
        origin_access(np.array([1.0]), table.assign(target=[3]), [100], 4.8)


def test_walk_minutes():
    assert walk_minutes(np.array([800.0, np.inf]), 4.8).tolist() == [10.0, np.inf]
    assert walk_minutes(500.0, 3.0) == 10.0


# -------------------------------------------------------------------- per area


def test_aggregate_to_areas_weighted_means_and_unreachable_share():
    values = pd.DataFrame({
        "gp_nearest_m": [100.0, 300.0, np.inf, 200.0, np.nan, 50.0],
        "gp_count_800m": [2.0, 0.0, 0.0, 1.0, np.nan, 4.0],
    })
    area = np.array(["B", "B", "B", "A", "A", "C"])
    weight = np.array([1.0, 3.0, 4.0, 2.0, 5.0, 0.0])
    out = aggregate_to_areas(values, area, weight)
    assert out.index.tolist() == ["A", "B", "C"]
    assert out.loc["B", "gp_nearest_m"] == pytest.approx((100 * 1 + 300 * 3) / 4)
    assert out.loc["B", "gp_count_800m"] == pytest.approx((2 * 1 + 0 * 3 + 0 * 4) / 8)
    assert out.loc["B", "gp_unreachable_share"] == pytest.approx(4 / 8)
    assert out.loc["A", "gp_nearest_m"] == 200.0  # the unsnapped origin is left out
    assert out.loc["A", "gp_unreachable_share"] == 0.0
    assert np.isnan(out.loc["C", "gp_nearest_m"])  # zero weight: undefined
    assert out.n_origins.tolist() == [2, 3, 1]
    assert out.origin_weight.tolist() == [7.0, 8.0, 0.0]


def test_share_beyond():
    dist = np.array([100.0, 900.0, np.inf, 800.0, np.nan])
    area = np.array([1, 1, 1, 2, 2])
    weight = np.array([1.0, 1.0, 2.0, 3.0, 9.0])
    s = share_beyond(dist, 800, area, weight)
    assert s.name == "share_beyond_800m"
    assert s.to_dict() == {1: pytest.approx(3 / 4), 2: 0.0}
    with pytest.raises(ValueError):
        share_beyond(dist, 800, area, -weight)


def test_grouped_searches_equal_one_search_per_category(iow_prepared, monkeypatch):
    """The access stage searches from several categories' amenities at once, in groups of
    at most SEARCH_GROUP_ITEMS: any grouping gives exactly the per-category answers."""
    from socialrisk import stages

    p, _ = iow_prepared
    params = stages.access_params(p.settings)
    kw = {"supplies": {}, "have_pop": False, "quiet": True}
    together, _, _ = stages.origin_access_all(p.network, p.snapped, p.origins, p.taxonomy,
                                              params, **kw)
    monkeypatch.setattr(stages, "SEARCH_GROUP_ITEMS", 1)  # every category alone
    assert all(len(g) == 1 for g in stages._search_groups(list(p.taxonomy), p.snapped))
    alone, _, _ = stages.origin_access_all(p.network, p.snapped, p.origins, p.taxonomy,
                                           params, **kw)
    pd.testing.assert_frame_equal(together, alone)
    assert together.shape[0] == len(p.origins) and together.notna().any().all()
