"""risk.typology on hand tables: standardising, k by silhouette, types in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk.typology import describe_type, standardise, typology


@pytest.fixture
def two_groups() -> pd.DataFrame:
    return pd.DataFrame({"a": [0.0, 0.1, 0.2, 10.0, 10.1, 10.2],
                         "b": [5.0, 5.0, 5.0, 0.0, 0.0, 0.0]},
                        index=[f"E{i}" for i in range(6)])


def test_standardise_by_hand():
    z = standardise(pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": [4.0, 4.0, 4.0],
                                  "m": [1.0, np.nan, 5.0]}))
    s = np.sqrt(1.5)  # 1 / population sd of 1, 2, 3
    np.testing.assert_allclose(z["x"], [-s, 0.0, s])
    assert list(z["c"]) == [0.0, 0.0, 0.0]              # constant: no information
    np.testing.assert_allclose(z["m"], [-s, 0.0, s])    # NaN -> median 3


def test_two_groups_by_silhouette(two_groups):
    t = typology(two_groups, ["a", "b"])
    assert t.k == 2
    assert sorted(t.silhouette) == [2, 3, 4, 5]        # capped at 6 distinct areas - 1
    assert t.silhouette[2] == max(t.silhouette.values())
    # equal sizes: type 1 is the group of the first area
    assert list(t.labels) == [1, 1, 1, 2, 2, 2]
    assert list(t.labels.index) == list(two_groups.index)
    assert list(t.sizes) == [3, 3]
    sd_a = np.sqrt(np.mean((two_groups["a"] - 5.1) ** 2))
    np.testing.assert_allclose(t.centres.loc[1], [-5.0 / sd_a, 1.0])
    np.testing.assert_allclose(t.centres.loc[2], [5.0 / sd_a, -1.0])
    assert t.descriptions == {1: "higher b (+1.0 sd); lower a (-1.0 sd)",
                              2: "lower b (-1.0 sd); higher a (+1.0 sd)"}


def test_k_given_and_labels(two_groups):
    t = typology(two_groups, ["a", "b", "not_there"], k=1, label=str.upper)
    assert t.k == 1 and t.silhouette == {} and list(t.labels) == [1] * 6
    assert t.descriptions == {1: "close to the average on every indicator"}
    with pytest.raises(ValueError, match="between 1 and 6"):
        typology(two_groups, ["a"], k=7)
    with pytest.raises(ValueError, match="at least one indicator"):
        typology(two_groups, ["zzz"])


def test_describe_type_orders_and_cuts():
    c = pd.Series({"gp_walk_min": 1.84, "population": -0.9, "x": 0.1, "y": 0.05})
    assert describe_type(c, 3, lambda s: s.replace("_", " ")) == (
        "higher gp walk min (+1.8 sd); lower population (-0.9 sd)")
    assert describe_type(c, 1) == "higher gp walk min (+1.8 sd)"
