"""``risk.hotspots``: Gi* and local Moran's I on a hand-made grid, an island, the Isle of Wight."""

from __future__ import annotations

import importlib.util

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import IOW_FILE7

from risk.hotspots import hotspots
from socialrisk.core.errors import ConfigError, InputError


def _grid(n: int = 5) -> gpd.GeoDataFrame:
    """``n`` x ``n`` unit squares, row by row from the bottom left; index ``c<row><col>``."""
    cells = [(r, c) for r in range(n) for c in range(n)]
    return gpd.GeoDataFrame({"row": [r for r, _ in cells], "col": [c for _, c in cells]},
                            geometry=[shapely.box(c, r, c + 1, r + 1) for r, c in cells],
                            index=[f"c{r}{c}" for r, c in cells], crs="EPSG:27700")


def _values(g: gpd.GeoDataFrame) -> pd.Series:
    """A gentle gradient (row + col, 0..6) and a block of 10s in the top-right 2 x 2 corner."""
    v = (g["row"] + g["col"]).astype(float)
    v[(g["row"] >= 3) & (g["col"] >= 3)] = 10.0
    return v


def _labels(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Labels as a 5 x 5 array, top row first (as the grid is drawn)."""
    return frame[column].to_numpy().reshape(5, 5)[::-1]


def test_gi_star_finds_the_hot_corner_and_the_cold_corner():
    g = _grid()
    res = hotspots(g, _values(g), permutations=999, seed=0)
    assert list(res.columns) == ["z", "p_sim", "hotspot"] and res.index.equals(g.index)
    lab = res["hotspot"]
    for cell in ("c33", "c34", "c43", "c44"):  # the block of high values
        assert lab[cell] == "hot spot" and res.loc[cell, "z"] > 0
    for cell in ("c00", "c01", "c10", "c11"):  # the opposite corner
        assert lab[cell] == "cold spot" and res.loc[cell, "z"] < 0
    # exact with seed 0 and 999 permutations; esda draws them with numba's generator when
    # numba is installed (the test extra has it), else numpy's: c24 and c42, beside the
    # block, lie near alpha (p = 0.048 with numba's draws, 0.058 with numpy's)
    if importlib.util.find_spec("numba") is not None:
        assert "numba's random generator" in res.attrs["method"]
        assert set(lab.index[lab == "hot spot"]) == {"c24", "c33", "c34", "c42", "c43", "c44"}
        assert res.loc["c24", "p_sim"] == pytest.approx(0.048)
        assert (lab == "cold spot").sum() == 6 and (lab == "not significant").sum() == 13
    else:
        assert "numpy's random generator" in res.attrs["method"]
        assert set(lab.index[lab == "hot spot"]) == {"c33", "c34", "c43", "c44"}
        assert (lab == "cold spot").sum() == 7 and (lab == "not significant").sum() == 14
    assert _labels(res, "hotspot")[2, 1] == "cold spot"  # c21: next to the cold corner
    assert res["p_sim"].between(0.002, 1).all()
    assert res.loc["c44", "p_sim"] == pytest.approx(0.002)  # two-sided: no shuffle as extreme
    assert res.attrs["note"] == ""
    # reproducible with the seed; a Series in another order is aligned on the index
    again = hotspots(g, _values(g).iloc[::-1], permutations=999, seed=0)
    pd.testing.assert_frame_equal(res, again)


def test_local_moran_clusters():
    g = _grid()
    res = hotspots(g, _values(g).to_numpy(), method="moran", permutations=999, seed=0)
    assert list(res.columns) == ["Is", "p_sim", "cluster"]
    lab = _labels(res, "cluster")
    assert lab[0, 4] == lab[1, 4] == lab[0, 3] == lab[1, 3] == "high-high"
    assert lab[4, 0] == lab[4, 1] == lab[3, 0] == lab[3, 1] == "low-low"
    counts = res["cluster"].value_counts().to_dict()
    assert counts == {"low-low": 6, "high-high": 4, "not significant": 15}
    assert (res.loc[res["cluster"] != "not significant", "Is"] > 0).all()


def test_an_island_and_a_missing_value():
    g = _grid()
    far = gpd.GeoDataFrame({"row": [9], "col": [9]}, geometry=[shapely.box(20, 20, 21, 21)],
                           index=["island"], crs=g.crs)
    both = pd.concat([g, far])
    v = pd.concat([_values(g), pd.Series({"island": 50.0})])
    v["c22"] = np.nan
    res = hotspots(both, v, seed=0)
    assert res.loc["island", "hotspot"] == "no neighbours"
    assert np.isnan(res.loc["island", "z"]) and np.isnan(res.loc["island", "p_sim"])
    assert res.loc["c22", "hotspot"] == "no value" and np.isnan(res.loc["c22", "z"])
    assert "1 area(s) with no neighbour" in res.attrs["note"]
    assert "1 area(s) without a value" in res.attrs["note"]
    assert res.loc["c44", "hotspot"] == "hot spot"  # the rest is still analysed
    m = hotspots(both.geometry, v, method="moran", seed=0)
    assert m.loc["island", "cluster"] == "no neighbours" and np.isnan(m.loc["island", "Is"])


def test_degenerate_inputs_and_refusals():
    g = _grid(2)
    flat = hotspots(g, [1.0, 1.0, 1.0, 1.0])
    assert (flat["hotspot"] == "not significant").all() and flat["z"].isna().all()
    assert "all equal" in flat.attrs["note"]
    with pytest.raises(ConfigError, match="gi_star or moran"):
        hotspots(g, [1, 2, 3, 4], method="getis")
    with pytest.raises(ConfigError, match="at least 39"):
        hotspots(g, [1, 2, 3, 4], permutations=9)
    with pytest.raises(ConfigError, match="alpha"):
        hotspots(g, [1, 2, 3, 4], alpha=5)
    with pytest.raises(InputError, match="3 values for 4 areas"):
        hotspots(g, [1, 2, 3])


@pytest.mark.slow
def test_isle_of_wight_isolation_risk(iow_prepared):
    _, r = iow_prepared
    areas = r.areas
    assert len(areas) == 89
    gi = hotspots(areas, areas["isolation_risk"], seed=0)
    lm = hotspots(areas, areas["isolation_risk"], method="moran", seed=0)
    assert gi.index.equals(areas.index) and lm.index.equals(areas.index)
    assert set(gi["hotspot"]) <= {"hot spot", "cold spot", "not significant", "no neighbours"}
    hot = gi["hotspot"] == "hot spot"
    cold = gi["hotspot"] == "cold spot"
    # hot spots have higher risk than cold spots, and both exist on the island
    assert hot.sum() > 0 and cold.sum() > 0
    assert areas.loc[hot, "isolation_risk"].min() > areas.loc[cold, "isolation_risk"].max()
    assert (gi.loc[hot, "z"] > 0).all() and (gi.loc[cold, "z"] < 0).all()
    assert (lm["cluster"] == "high-high").sum() > 0
    print(f"IoW isolation_risk ({'File 7' if IOW_FILE7.is_file() else 'no File 7'}): "
          f"Gi* {gi['hotspot'].value_counts().to_dict()}; "
          f"local Moran {lm['cluster'].value_counts().to_dict()}; note {gi.attrs['note']!r}")
