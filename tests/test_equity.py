"""risk.equity on a hand table: medians by deprivation decile and the fifth gap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from risk.equity import access_by_decile, fifth_gap, weighted_mean, weighted_median


@pytest.fixture
def areas() -> pd.DataFrame:
    return pd.DataFrame({
        "imd_decile": [1, 1, 2, 2, 9, 10, 5],
        "gp_walk_min": [10.0, 20.0, 30.0, np.nan, 5.0, 7.0, 100.0],
        "population": [100.0, 300.0, 100.0, 50.0, 10.0, 30.0, 1.0],
    })


def test_weighted_median_by_hand():
    # cumulative weights 1, 2 of 2: half (1) is reached at the first value
    assert weighted_median([1.0, 2.0], [1.0, 1.0]) == 1.0
    assert weighted_median([3.0, 1.0, 2.0], [1.0, 1.0, 5.0]) == 2.0
    assert weighted_median([1.0, 2.0]) == 1.5          # no weights: the ordinary median
    assert weighted_median([1.0, np.nan, 9.0], [1.0, 5.0, 0.0]) == 1.0  # NaN, weight 0 out
    assert math.isnan(weighted_median([], []))


def test_access_by_decile_population_weighted(areas):
    by = access_by_decile(areas)
    assert list(by.index) == [1, 2, 5, 9, 10]
    # decile 1: 10 min for 100 people, 20 min for 300 -> 20; decile 2: the NaN area is left out
    assert list(by["median"]) == [20.0, 30.0, 100.0, 5.0, 7.0]
    assert list(by["areas"]) == [2, 1, 1, 1, 1]
    assert list(by["population"]) == [400.0, 100.0, 1.0, 10.0, 30.0]


def test_access_by_decile_unweighted(areas):
    by = access_by_decile(areas, weight_column=None)
    assert list(by["median"]) == [15.0, 30.0, 100.0, 5.0, 7.0]
    assert by["population"].isna().all()


def test_fifth_gap(areas):
    g = fifth_gap(areas, min_areas=2)
    # most deprived fifth (deciles 1-2): 10 (100), 20 (300), 30 (100) -> 20
    # least deprived fifth (deciles 9-10): 5 (10), 7 (30) -> 7
    assert (g.most_deprived, g.least_deprived, g.gap, g.n_most, g.n_least) == (20, 7, 13, 3, 2)
    assert "13.0 min longer" in g.sentence("walk to a GP")
    assert "(IMD deciles 1-2, 3 areas)" in g.sentence("walk to a GP")
    u = fifth_gap(areas, weight_column=None, min_areas=2)
    assert (u.most_deprived, u.least_deprived, u.gap) == (20.0, 6.0, 14.0)


def test_small_groups_are_not_compared(areas):
    # default minimum 5: 3 and 2 areas with a value -> no gap, but the medians and counts stay
    g = fifth_gap(areas)
    assert (g.most_deprived, g.least_deprived, g.n_most, g.n_least) == (20, 7, 3, 2)
    assert math.isnan(g.gap) and g.too_small
    s = g.sentence("walk to a GP")
    assert s.startswith("No comparison of walk to a GP between the most and least deprived "
                        "fifth: the most deprived fifth has 3 areas and the least deprived "
                        "fifth has 2 areas with a value, fewer than the 5 needed")
    assert "least deprived fifth (deciles 9-10): 2 areas" in s
    one = fifth_gap(areas[areas["imd_decile"] != 9], min_areas=2)
    assert one.n_least == 1 and "has 1 area with" in one.sentence("x")  # "1 area", not "1 areas"
    # exactly the minimum is enough
    five = pd.DataFrame({"imd_decile": [1] * 5 + [10] * 5,
                         "gp_walk_min": [1.0, 2, 3, 4, 5, 10, 20, 30, 40, 50]})
    g5 = fifth_gap(five, weight_column=None)
    assert (g5.gap, g5.n_most, g5.n_least, g5.too_small) == (-27.0, 5, 5, False)
    assert "27.0 min shorter" in g5.sentence("walk")


def test_weighted_mean_by_hand():
    assert weighted_mean([1.0, 3.0], [3.0, 1.0]) == 1.5
    assert weighted_mean([1.0, np.nan, 5.0], [1.0, 9.0, 0.0]) == 1.0
    assert weighted_mean([2.0, 4.0]) == 3.0
    assert math.isnan(weighted_mean([np.nan], [1.0]))


def test_fifth_gap_without_a_fifth(areas):
    g = fifth_gap(areas[areas["imd_decile"] < 9])
    assert g.n_least == 0 and math.isnan(g.gap)
    assert "the least deprived fifth has 0 areas" in g.sentence("walk to a GP")


def test_missing_column_is_named(areas):
    with pytest.raises(KeyError, match="pharmacy_walk_min"):
        access_by_decile(areas, "pharmacy_walk_min")
