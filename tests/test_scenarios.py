"""What-if scenarios (risk/scenarios.py) on the real Isle of Wight.

Exactness: adding (removing) a facility incrementally must give the same
per-area values as a full ``compute()`` on inputs that include (lack) it.
"""

from __future__ import annotations

import copy
import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from socialrisk import scenarios as sc
from socialrisk.core.errors import InputError
from socialrisk.pipeline import Timings, compute
from socialrisk.stages import snap_all


def _recomputed(p, amenities: gpd.GeoDataFrame):
    """A full compute() on the same inputs with other amenities (snapped afresh)."""
    amenities = gpd.GeoDataFrame(amenities.reset_index(drop=True), geometry="geometry",
                                 crs=p.amenities.crs)
    sn = snap_all(p.network, amenities, p.origins, p.taxonomy, p.settings.max_snap_m, True)
    p2 = dataclasses.replace(p, amenities=amenities, snapped=sn,
                             manifest=copy.deepcopy(p.manifest), timings=Timings())
    return compute(p2).areas.set_index("area_id")


def _assert_same(full: pd.DataFrame, table: pd.DataFrame, cat: str):
    cols = [c for c in full.columns if c.startswith(f"{cat}_")]
    cols += ["access_score", "isolation_risk", "isolation_risk_rank", "isolation_risk_decile"]
    for c in cols:
        a = full[c].reindex(table.index).to_numpy(dtype=float)
        b = table[c].to_numpy(dtype=float)
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-9, equal_nan=True, err_msg=c)


@pytest.mark.slow
def test_add_facility_equals_full_compute(iow_prepared):
    p, r = iow_prepared
    cat, lon, lat = "gp", -1.2000, 50.5950  # a new surgery in Ventnor
    state = sc.category_state(p, cat)
    base = sc.baseline_table(r)
    res = sc.add_facility(p, r, cat, lon, lat, state=state, base_table=base)
    assert res.seconds < 2.0
    new = gpd.GeoDataFrame({"osm_type": ["node"], "osm_id": [-1], "category": [cat],
                            "name": ["New facility"], "capacity": [np.nan]},
                           geometry=[shapely.Point(lon, lat)], crs=p.amenities.crs)
    full = _recomputed(p, pd.concat([p.amenities, new], ignore_index=True))
    _assert_same(full, res.table, cat)
    # only origins whose nearest GP got nearer changed, and all got nearer
    assert res.affected.size > 0
    assert (res.new_m < res.old_m).all()
    ch = res.changes
    assert (ch.loc[ch["changed"], f"{cat}_walk_min_change"].fillna(0) <= 1e-9).all()
    assert res.people_newly_within > 0
    assert ch["people_newly_within"].sum() == pytest.approx(res.people_newly_within)
    assert res.people_no_longer_within == 0
    # the decile column is the new index's
    np.testing.assert_array_equal(
        ch["isolation_risk_decile_new"].to_numpy(dtype=float),
        full["isolation_risk_decile"].reindex(ch.index).to_numpy(dtype=float))


@pytest.mark.slow
def test_remove_facility_equals_full_compute(iow_prepared):
    p, r = iow_prepared
    cat = "community_centre"  # has capacity: E2SFCA is recomputed too
    rows = np.asarray(p.snapped.amenity_rows[cat])
    row = int(rows[len(rows) // 2])
    res = sc.remove_facility(p, r, cat, row)
    assert res.seconds < 2.0
    full = _recomputed(p, p.amenities.drop(index=p.amenities.index[row]))
    _assert_same(full, res.table, cat)
    assert (res.new_m >= res.old_m).all()
    assert res.people_newly_within == 0
    with pytest.raises(InputError, match="not a community_centre amenity"):
        sc.remove_facility(p, r, cat, int(p.snapped.amenity_rows["gp"][0]))


@pytest.mark.slow
def test_chained_additions_and_bad_input(iow_prepared):
    p, r = iow_prepared
    first = sc.add_facility(p, r, "library", -1.2000, 50.5950)
    second = sc.add_facility(p, r, "library", -1.5000, 50.6800, state=first.state,
                             base_table=first.table)
    assert second.state.rows.size == first.state.rows.size + 1
    assert (second.state.dist <= first.state.dist + 1e-9)[np.isfinite(first.state.dist)].all()
    with pytest.raises(InputError, match="farther than"):
        sc.add_facility(p, r, "gp", -1.3, 50.3)  # in the Channel
    with pytest.raises(InputError, match="unknown category"):
        sc.add_facility(p, r, "casino", -1.2, 50.595)
    with pytest.raises(ValueError, match="before adding"):
        sc.remove_facility(p, r, "library", int(p.snapped.amenity_rows["library"][0]),
                           state=first.state)
