"""Normalisation: exact values on small series, and the IoD transform on the real IoD 2025."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import ENGLAND, needs_shared

from risk.normalise import (
    apply_direction,
    exp_transform,
    minmax,
    normalise,
    rank_exp,
    zscore,
)
from socialrisk.core.errors import ConfigError, InputError


def exp_x(r: float) -> float:
    """The IoD exponential transform, written out independently of the module."""
    return -23.0 * math.log(1.0 - r * (1.0 - math.exp(-100.0 / 23.0)))


def test_exp_transform_known_values():
    # R = 1 (worst) -> 100; the worst 10 % start at about 50.4; the median at about 15.6
    assert exp_transform(1.0) == pytest.approx(100.0, abs=1e-9)
    assert exp_transform(0.9) == pytest.approx(50.426654274244, abs=1e-9)
    assert exp_transform(0.5) == pytest.approx(15.646790072602894, abs=1e-9)
    assert exp_transform(0.2) == pytest.approx(5.0580459938848055, abs=1e-9)
    assert exp_transform(0.0) == 0.0


def test_rank_exp_exact_values_ties_and_nan():
    s = pd.Series([1.0, 2.0, 2.0, np.nan, 5.0], index=list("abcde"))
    out = rank_exp(s)
    # N = 4 non-missing; ranks 1, 2.5, 2.5, 4 -> R = 0.25, 0.625, 0.625, 1
    assert out["a"] == pytest.approx(exp_x(0.25))
    assert out["b"] == pytest.approx(exp_x(0.625))
    assert out["c"] == out["b"]
    assert np.isnan(out["d"])
    assert out["e"] == pytest.approx(100.0)
    assert list(out.index) == list("abcde")


def test_rank_exp_five_areas():
    s = pd.Series([30.0, 10.0, 50.0, 20.0, 40.0])
    out = rank_exp(s)
    expected = [exp_x(0.6), exp_x(0.2), exp_x(1.0), exp_x(0.4), exp_x(0.8)]
    assert out.tolist() == pytest.approx(expected, abs=1e-12)


def test_rank_exp_all_nan_and_infinite():
    assert rank_exp(pd.Series([np.nan, np.nan])).isna().all()
    out = rank_exp(pd.Series([np.inf, 1.0, -np.inf]))
    assert out.tolist() == pytest.approx([100.0, exp_x(2 / 3), exp_x(1 / 3)])


def test_zscore_population_sd():
    s = pd.Series([1.0, 2.0, 2.0, np.nan, 5.0])
    # mean 2.5, population sd 1.5
    out = zscore(s)
    assert out.tolist()[:3] == pytest.approx([-1.0, -1 / 3, -1 / 3])
    assert np.isnan(out[3])
    assert out[4] == pytest.approx(5 / 3)


def test_minmax_0_to_100():
    out = minmax(pd.Series([1.0, 2.0, 2.0, np.nan, 5.0]))
    assert out.tolist()[:3] == [0.0, 25.0, 25.0]
    assert np.isnan(out[3])
    assert out[4] == 100.0


def test_constant_input():
    s = pd.Series([3.0, 3.0, np.nan])
    assert zscore(s).tolist()[:2] == [0.0, 0.0]
    assert minmax(s).tolist()[:2] == [50.0, 50.0]
    r = rank_exp(s)
    assert r[0] == r[1] == pytest.approx(exp_x(0.75))


def test_direction_flips_before_normalising():
    s = pd.Series([100.0, 300.0, 200.0])
    assert apply_direction(s, "lower_is_worse").tolist() == [-100.0, -300.0, -200.0]
    assert normalise(s, "minmax", "lower_is_worse").tolist() == [100.0, 0.0, 50.0]
    assert normalise(s, "minmax").tolist() == [0.0, 100.0, 50.0]
    assert normalise(s, "rank_exp", "lower_is_worse").tolist() == pytest.approx(
        [100.0, exp_x(1 / 3), exp_x(2 / 3)])
    assert normalise(s, "zscore", "lower_is_worse").tolist() == pytest.approx(
        (-zscore(s)).tolist())


def test_bad_inputs():
    with pytest.raises(ConfigError):
        normalise(pd.Series([1.0]), "rank")
    with pytest.raises(ConfigError):
        normalise(pd.Series([1.0]), "minmax", "higher_is_better")
    with pytest.raises(InputError):
        zscore(pd.Series([1.0, np.inf]))
    with pytest.raises(InputError):
        minmax(pd.Series(["a", "b"], name="gp_nearest_m"))


@needs_shared
def test_rank_exp_on_imd2025_domain_ranks_is_monotone_with_published_deciles():
    d = pd.read_csv(ENGLAND / "imd2025_lsoa21.csv")
    n = len(d)
    for dom in ["IMD", "Income", "Employment", "Education", "Health", "Crime",
                "Housing_and_Services", "Environment"]:
        x = normalise(d[f"{dom}_rank"], "rank_exp", "lower_is_worse")
        # rank 1 (most deprived) -> 100, the least deprived -> about 0
        assert x[d[f"{dom}_rank"] == 1].iloc[0] == pytest.approx(100.0)
        assert x.min() == pytest.approx(exp_x(1 / n), rel=1e-9)
        assert x.min() < 0.001
        # published decile 1 = most deprived; transformed values fall decile by decile
        by_decile = x.groupby(d[f"{dom}_decile"]).agg(["min", "max"])
        assert list(by_decile.index) == list(range(1, 11))
        for k in range(1, 10):
            assert by_decile.loc[k, "min"] > by_decile.loc[k + 1, "max"], (dom, k)
        # the most deprived 10 % take the upper half of the scale
        assert by_decile.loc[1, "min"] >= 50.4 and by_decile.loc[2, "max"] < 50.5
