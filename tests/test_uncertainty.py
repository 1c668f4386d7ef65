"""Monte Carlo rank intervals and Sobol indices of the index (risk.uncertainty, .sensitivity).

Hand-checked cases:

* with every range zero each draw is the point estimate, rank for rank;
* three areas A, B, C whose order flips with one domain weight: with
  ``minmax``, A = 100 wa / (wa + wb), B = 100 wb / (wa + wb), C = 50, so A is
  first (and B third) exactly when wa > wb; with wb = 0.6 and wa = 0.5 x
  U[0.5, 1.5] that happens with probability 0.3;
* a walking limit L = 25 min x 4.8 km/h = 2 km makes a GP 5 km away no worse
  than one 10 km away;
* Sobol indices of the Ishigami function (analytic values), of an index where
  one factor alone varies (S1 = ST = 1), and of an indicator group that cannot
  change any rank (ST = 0).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import ENGLAND, IOW_FILE7, needs_shared

from geo.deprivation import read_file7
from risk.index import isolation_index, risk_rank
from risk.normalise import METHODS, normalise
from risk.sensitivity import sobol_indices, variance_sensitivity
from risk.uncertainty import (
    UncertaintyRanges,
    monte_carlo,
    normalise_rows,
    rank_rows,
    zero_ranges,
)
from socialrisk.core.errors import ConfigError
from socialrisk.settings import DomainSpec, IndicatorSpec, Settings

AREAS = list("ABCDE")


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({
        "gp_nearest_m": [200.0, 600.0, 1000.0, 1400.0, 1800.0],
        "library_nearest_m": [900.0, 100.0, 500.0, 300.0, 700.0],
        "share_60_plus": [0.2, 0.3, 0.4, 0.6, 0.2],
    }, index=pd.Index(AREAS, name="lsoa21_code"))


def two_domains() -> dict[str, DomainSpec]:
    return {
        "access": DomainSpec(0.5, [IndicatorSpec("gp_nearest_m", 1.0),
                                   IndicatorSpec("library_nearest_m", 1.0)]),
        "demographic": DomainSpec(0.5, [IndicatorSpec("share_60_plus", 1.0)]),
    }


def point_ranks(table, domains, method):
    rank = isolation_index(table, domains, method).frame["isolation_risk_rank"]
    return rank.to_numpy(dtype="float64", na_value=np.nan)


def assert_reproduces(table, domains, method, n=4):
    r = monte_carlo(table, domains, normalisation=method, n=n, ranges=zero_ranges(method))
    expected = point_ranks(table, domains, method)
    assert r.draws.shape == (n, len(table))
    for row in r.draws:
        np.testing.assert_array_equal(row, expected)
    assert r.report["point_ranks_reproduced"]
    f = r.frame
    ok = ~np.isnan(expected)
    assert f["isolation_risk_rank_p05"][ok].tolist() == expected[ok].astype(int).tolist()
    assert f["isolation_risk_rank_p95"][ok].tolist() == expected[ok].astype(int).tolist()
    decile1 = 10 * expected[ok] <= ok.sum()
    assert f["isolation_risk_p_top_decile"][ok].tolist() == decile1.astype(float).tolist()
    assert f["isolation_risk_robust"][ok].tolist() == decile1.tolist()
    return r


# ---------------------------------------------------------------- the batched maths


@pytest.mark.parametrize("method", METHODS)
def test_normalise_rows_is_normalise_bit_for_bit(method):
    rng = np.random.default_rng(5)
    a = np.round(rng.normal(50, 20, (6, 500)), 1)  # rounded: many ties
    a[2] = 7.0  # a constant row
    a[3, :250] = a[3, 250:]  # every value twice
    got = normalise_rows(a, method)
    for row, out in zip(a, got, strict=True):
        np.testing.assert_array_equal(out, normalise(pd.Series(row), method).to_numpy())


def test_rank_rows_is_risk_rank():
    rng = np.random.default_rng(6)
    a = np.round(rng.random((5, 300)) * 20)
    got = rank_rows(a)
    assert got.dtype == np.int32
    for row, out in zip(a, got, strict=True):
        np.testing.assert_array_equal(out, risk_rank(pd.Series(row)).to_numpy(dtype="int64"))


# ---------------------------------------------------------------- zero ranges = point estimate


@pytest.mark.parametrize("method", METHODS)
def test_zero_ranges_reproduce_point_ranks(table, method):
    r = assert_reproduces(table, two_domains(), method)
    if method == "minmax":  # C and E tie at 50 and share rank 2
        assert r.draws[0].tolist() == [4, 5, 2, 1, 2]


@pytest.mark.parametrize("method", METHODS)
def test_zero_ranges_reproduce_with_missing_values(table, method):
    table.loc["E", "library_nearest_m"] = np.nan  # weight to E's other access indicator
    table.loc["B", "share_60_plus"] = np.nan      # B's only demographic value: domain reweighted
    table.loc["F"] = np.nan                       # no value at all: no rank
    r = assert_reproduces(table, two_domains(), method)
    assert np.isnan(r.draws[:, 5]).all()
    f = r.frame.loc["F"]
    assert pd.isna(f["isolation_risk_rank_p05"]) and pd.isna(f["isolation_risk_rank_p95"])
    assert np.isnan(f["isolation_risk_p_top_decile"]) and not f["isolation_risk_robust"]
    assert r.report["n_areas_scored"] == 5


def test_a_fixed_walking_limit_still_caps(table):
    # no range varies, but a walking limit is given: every draw is capped at it
    r = monte_carlo(table, two_domains(), n=2, normalisation="minmax",
                    ranges=UncertaintyRanges(0.0, ("minmax",), (1.0, 1.0), (4.8, 4.8)))
    assert r.report["capped_columns"] == {"gp_nearest_m": "m", "library_nearest_m": "m"}
    assert r.report["factors"] == {}
    # L = 80 m: every distance is capped, so only share_60_plus orders the areas
    assert r.draws.tolist() == [[4, 3, 2, 1, 4]] * 2


def _real_shaped() -> tuple[pd.DataFrame, dict[str, DomainSpec]]:
    """File 7 of the Isle of Wight and 12 access distances (seeded, 5 % missing, one inf)."""
    t = read_file7(IOW_FILE7)
    rng = np.random.default_rng(7)
    domains = Settings().domains
    for ind in domains["access"].indicators:
        v = np.round(rng.lognormal(7.0, 0.8, len(t)), -1)
        v[rng.random(len(t)) < 0.05] = np.nan
        t[ind.column] = v
    t.loc[t.index[3], "gp_nearest_m"] = np.inf  # unreachable: rank_exp takes it as worst
    t["hh_deprived_2plus_share"] = np.round(rng.uniform(0.05, 0.4, len(t)), 2)
    return t, domains


@needs_shared
def test_zero_ranges_reproduce_real_shaped_table():
    t, domains = _real_shaped()
    assert_reproduces(t, domains, "rank_exp")
    finite = t.replace(np.inf, 20000.0)
    for method in ("zscore", "minmax"):
        assert_reproduces(finite, domains, method)


@pytest.mark.slow
@needs_shared
def test_zero_ranges_reproduce_england():
    imd = pd.read_csv(ENGLAND / "imd2025_lsoa21.csv", index_col="lsoa21_code")
    t = imd[["Income_score", "Employment_score", "Health_score"]]
    domains = {"work": DomainSpec(0.6, [IndicatorSpec("Income_score"),
                                        IndicatorSpec("Employment_score", 0.5)]),
               "health": DomainSpec(0.4, [IndicatorSpec("Health_score")])}
    for method in METHODS:
        assert_reproduces(t, domains, method, n=2)


# ---------------------------------------------------------------- draws


def flip_table(fillers: int = 0) -> pd.DataFrame:
    x = [2.0, 0.0, 1.0] + [0.0] * fillers
    y = [0.0, 2.0, 1.0] + [0.0] * fillers
    return pd.DataFrame({"x": x, "y": y}, index=list("ABC") + [f"F{i}" for i in range(fillers)])


FLIP_DOMAINS = {"a": DomainSpec(0.5, [IndicatorSpec("x")]),
                "b": DomainSpec(0.6, [IndicatorSpec("y")])}
FLIP_RANGES = UncertaintyRanges(weight_range=0.0, normalisations=("minmax",),
                                walk_limit_min=None, weight_ranges={"weight: a": 0.5})


def test_percentiles_three_areas():
    r = monte_carlo(flip_table(), FLIP_DOMAINS, normalisation="minmax", n=400,
                    ranges=FLIP_RANGES, seed=3)
    a_first = r.draws[:, 0] == 1
    # A first exactly when B is third, C always second
    np.testing.assert_array_equal(r.draws[:, 1], np.where(a_first, 3, 1))
    assert (r.draws[:, 2] == 2).all()
    assert abs(a_first.mean() - 0.3) < 0.08  # P(0.5 U > 0.6) = 0.3
    f = r.frame
    assert f["isolation_risk_rank_p05"].tolist() == [1, 1, 2]
    assert f["isolation_risk_rank_p95"].tolist() == [3, 3, 2]
    # with 3 areas even rank 1 is decile ceil(10 / 3) = 4
    assert f["isolation_risk_p_top_decile"].tolist() == [0.0, 0.0, 0.0]
    assert r.report["factors"] == {"weight: a": {"multiplier": [0.5, 1.5],
                                                 "weight": [0.25, 0.75]}}


def test_top_decile_share_and_robust_flag():
    # seven areas with nothing: 10 areas, so decile 1 is rank 1 alone
    r = monte_carlo(flip_table(7), FLIP_DOMAINS, normalisation="minmax", n=1000,
                    ranges=FLIP_RANGES, seed=1)
    p = r.frame["isolation_risk_p_top_decile"]
    assert p["A"] == pytest.approx((r.draws[:, 0] == 1).mean())
    assert p["A"] + p["B"] == 1.0 and abs(p["A"] - 0.3) < 0.05
    assert p["C"] == 0.0 and (r.frame["isolation_risk_rank_p05"].iloc[3:] == 4).all()
    assert not r.frame["isolation_risk_robust"].any()
    # B first whenever wb > wa can only be: weight a at most 0.5 x 1.1 = 0.55 < 0.6
    sure = monte_carlo(flip_table(7), FLIP_DOMAINS, normalisation="minmax", n=50, seed=1,
                       ranges=UncertaintyRanges(0.0, ("minmax",), None,
                                                weight_ranges={"weight: a": 0.1}))
    assert sure.frame["isolation_risk_robust"].tolist() == [False, True] + [False] * 8
    assert sure.report["n_robust"] == 1


def test_same_seed_same_draws_and_batches_do_not_matter(table):
    a = monte_carlo(table, two_domains(), n=60, seed=11)
    b = monte_carlo(table, two_domains(), n=60, seed=11, batch_size=7)
    c = monte_carlo(table, two_domains(), n=60, seed=12)
    np.testing.assert_array_equal(a.draws, b.draws)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not np.array_equal(a.draws, c.draws)
    assert a.draws.dtype == np.float32
    json.dumps(a.report)  # serialisable for the manifest
    assert set(a.report["factors"]) == {
        "weight: access", "weight: demographic", "indicator weights: access",
        "indicator weights: demographic", "normalisation", "walking limit (minutes)",
        "walking speed"}


def test_column_names_follow_the_score_name(table):
    r = monte_carlo(table, two_domains(), n=3, name="loneliness_risk")
    assert list(r.frame.columns) == ["loneliness_risk_rank_p05", "loneliness_risk_rank_p95",
                                     "loneliness_risk_p_top_decile", "loneliness_risk_robust"]
    assert list(r.frame.index) == AREAS


def test_walking_limit_caps_distances_and_minutes():
    t = pd.DataFrame({"gp_nearest_m": [500.0, 1000.0, 5000.0, 10000.0],
                      "gp_walk_min": [5.0, 10.0, 30.0, 60.0]}, index=list("PQRS"))
    fixed = UncertaintyRanges(0.0, ("minmax",), (25.0, 25.0), (4.8, 4.8))  # L = 2,000 m
    for col in t.columns:
        doms = {"access": DomainSpec(1.0, [IndicatorSpec(col)])}
        assert point_ranks(t, doms, "minmax").tolist() == [4, 3, 2, 1]
        r = monte_carlo(t, doms, normalisation="minmax", n=3, ranges=fixed)
        # 5 km and 10 km (30 and 60 minutes) are both beyond the walk: tied first
        assert r.draws.tolist() == [[4, 3, 1, 1]] * 3
        assert r.report["capped_columns"] == {col: "m" if col.endswith("_m") else "min"}


def test_speed_moves_ranks_only_through_the_limit():
    t = pd.DataFrame({"gp_nearest_m": [500.0, 1000.0, 1900.0, 2600.0, 4000.0]},
                     index=list("PQRST"))
    doms = {"access": DomainSpec(1.0, [IndicatorSpec("gp_nearest_m")])}
    slow = UncertaintyRanges(0.0, ("minmax",), (30.0, 30.0), (3.0, 3.0))    # L = 1,500 m
    fast = UncertaintyRanges(0.0, ("minmax",), (30.0, 30.0), (4.8, 4.8))    # L = 2,400 m
    assert monte_carlo(t, doms, normalisation="minmax", n=1, ranges=slow).draws[0].tolist() \
        == [5, 4, 1, 1, 1]
    assert monte_carlo(t, doms, normalisation="minmax", n=1, ranges=fast).draws[0].tolist() \
        == [5, 4, 3, 1, 1]
    # without an access column neither the limit nor the speed is a factor
    t2 = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=list("abc"))
    r = monte_carlo(t2, {"d": DomainSpec(1.0, [IndicatorSpec("x")])}, n=2)
    assert "walking speed" not in r.report["factors"]
    assert "walking limit (minutes)" not in r.report["factors"]


@pytest.mark.parametrize("ranges, words", [
    (UncertaintyRanges(weight_range=1.0), "weight_range"),
    (UncertaintyRanges(normalisations=("rank",)), "normalisations"),
    (UncertaintyRanges(normalisations=()), "normalisations"),
    (UncertaintyRanges(walk_limit_min=(60.0, 20.0)), "walk_limit_min"),
    (UncertaintyRanges(walk_speed_kmh=(0.0, 4.8)), "walk_speed_kmh"),
    (UncertaintyRanges(weight_ranges={"weight: acess": 0.2}), "weight: access"),
])
def test_unusable_ranges_are_config_errors(table, ranges, words):
    with pytest.raises(ConfigError, match=words):
        monte_carlo(table, two_domains(), n=2, ranges=ranges)


def test_bad_draw_counts_are_config_errors(table):
    for bad in (0, -5, 2.5):
        with pytest.raises(ConfigError, match="whole number"):
            monte_carlo(table, two_domains(), n=bad)
    with pytest.raises(ConfigError, match="whole number"):
        sobol_indices(table, two_domains(), n_base=1)


# ---------------------------------------------------------------- Sobol


def test_sobol_of_ishigami_matches_analytic_values():
    def ishigami(X):
        return np.sin(X[:, 0]) + 7 * np.sin(X[:, 1]) ** 2 + 0.1 * X[:, 2] ** 4 * np.sin(X[:, 0])

    pi = math.pi
    si, info = variance_sensitivity(["x1", "x2", "x3"], [(-pi, pi)] * 3, ["x1", "x2", "x3"],
                                    ishigami, n_base=4096, seed=0)
    assert list(si.columns) == ["S1", "S1_conf", "ST", "ST_conf"]
    assert si["S1"].tolist() == pytest.approx([0.314, 0.442, 0.0], abs=0.04)
    assert si["ST"].tolist() == pytest.approx([0.558, 0.442, 0.244], abs=0.04)
    assert info["n_evaluations"] == 4096 * 5


def test_sobol_single_factor_explains_everything():
    si = sobol_indices(flip_table(7), FLIP_DOMAINS, normalisation="minmax",
                       ranges=FLIP_RANGES, n_base=512)
    assert list(si.index) == ["weight: a"]  # factors with no range are not in the problem
    assert si.loc["weight: a", "S1"] == pytest.approx(1.0, abs=0.15)
    assert si.loc["weight: a", "ST"] == pytest.approx(1.0, abs=0.15)
    assert si.attrs["report"]["n_evaluations"] == 512 * 3


def test_sobol_inert_indicator_group_has_zero_total_index():
    rng = np.random.default_rng(2)
    t = pd.DataFrame(rng.random((40, 3)), columns=["x", "y", "z"])
    doms = {"a": DomainSpec(0.5, [IndicatorSpec("x")]),  # one indicator: its weight is moot
            "b": DomainSpec(0.5, [IndicatorSpec("y"), IndicatorSpec("z")])}
    si = sobol_indices(t, doms, normalisation="minmax", n_base=256,
                       ranges=UncertaintyRanges(0.5, ("minmax",), None))
    assert list(si.index) == ["weight: a", "weight: b", "indicator weights: a",
                              "indicator weights: b"]
    assert si.loc["indicator weights: a", "ST"] == pytest.approx(0.0, abs=1e-12)
    assert si.loc["indicator weights: b", "ST"] > 0.05  # these do move ranks
    assert si.loc["weight: a", "ST"] > 0.05


def test_sobol_with_nothing_varying_is_empty(table):
    si = sobol_indices(table, two_domains(), ranges=zero_ranges("rank_exp"))
    assert si.empty and list(si.columns) == ["S1", "S1_conf", "ST", "ST_conf"]
    assert "nothing to analyse" in si.attrs["report"]["note"]
