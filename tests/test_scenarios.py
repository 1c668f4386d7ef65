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
    # the re-ranked decile is a fresh run's; the headline decile is on the baseline's scale
    np.testing.assert_array_equal(
        ch["isolation_risk_decile_rerun"].to_numpy(dtype=float),
        full["isolation_risk_decile"].reindex(ch.index).to_numpy(dtype=float))
    np.testing.assert_array_equal(ch["isolation_risk_decile_new"].to_numpy(dtype=float),
                                  res.scores["isolation_risk_decile"].to_numpy(dtype=float))


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


# ---------------------------------------------------------------- the baseline's scale


def _two_domains():
    from risk.index import DomainSpec, IndicatorSpec

    specs = {"access": DomainSpec(0.6, [IndicatorSpec("a_nearest_m", 1.0),
                                        IndicatorSpec("b_nearest_m", 0.5)]),
             "need": DomainSpec(0.4, [IndicatorSpec("income", 1.0, "lower_is_worse")])}
    weights = {n: (d.weight, {i.column: (i.weight, i.direction) for i in d.indicators})
               for n, d in specs.items()}
    ref = pd.DataFrame({"a_nearest_m": [100.0, 200.0, 300.0, 400.0, 250.0],
                        "b_nearest_m": [900.0, np.nan, 300.0, 600.0, 100.0],
                        "income": [5.0, 4.0, 3.0, 2.0, 1.0]}, index=list("pqrst"))
    return specs, weights, ref


@pytest.mark.parametrize("method", ["rank_exp", "zscore", "minmax"])
def test_fixed_index_reproduces_the_index_and_keeps_untouched_areas(method):
    from risk.fixed_reference import fixed_index
    from risk.index import risk_index

    specs, weights, ref = _two_domains()
    want = risk_index(ref, specs, method).frame
    after = ref.copy()
    after.loc["s", "a_nearest_m"] = 150.0  # a new facility near s
    got = fixed_index(ref, {"before": ref, "after": after}, weights, method)
    cols = ["access_score", "need_score", "isolation_risk", "isolation_risk_rank",
            "isolation_risk_decile"]
    for c in cols:  # bit for bit the index of the reference
        np.testing.assert_array_equal(got["before"][c].to_numpy(dtype=float),
                                      want[c].to_numpy(dtype=float), err_msg=c)
    b, a = got["before"], got["after"]
    untouched = ["p", "q", "r", "t"]
    for c in cols:
        assert (a.loc[untouched, c] == b.loc[untouched, c]).all(), c
    assert a.loc["s", "isolation_risk"] < b.loc["s", "isolation_risk"]


def test_fixed_index_places_new_values_in_the_reference_by_hand():
    from risk.fixed_reference import fixed_index, ref_normalise
    from risk.normalise import exp_transform

    _, weights, ref = _two_domains()
    after = ref.copy()
    after.loc["s", "a_nearest_m"] = 150.0  # between 100 (rank 1) and 200 (rank 2): 1.5
    after.loc["t", "a_nearest_m"] = 50.0  # better than the best: capped at rank 1
    got = fixed_index(ref, {"after": after}, weights, "rank_exp")["after"]
    assert got.loc["s", "norm_a_nearest_m"] == pytest.approx(exp_transform(1.5 / 5), rel=1e-15)
    assert got.loc["t", "norm_a_nearest_m"] == exp_transform(1 / 5)
    # a domain score beyond the reference's best is capped at the best domain score's
    x = ref_normalise(pd.Series([-1.0, 10.0]), pd.Series([0.0, 1.0, 2.0]), "rank_exp")
    assert x.tolist() == [exp_transform(1 / 3), exp_transform(3 / 3)]
    # zscore and minmax: the reference's mean/sd and min/max (not the new table's)
    r = pd.Series([1.0, 2.0, 3.0])
    assert ref_normalise(pd.Series([5.0]), r, "minmax").iloc[0] == 200.0
    assert ref_normalise(pd.Series([2.0]), r, "zscore").iloc[0] == 0.0


# Shorwell, a village in the south-west of the Isle of Wight (the point)
SHORWELL = (-1.353, 50.642)


def _indicator_columns(r) -> list[str]:
    from socialrisk.compare_score import used_domains

    return [c for _, (_, inds) in used_domains(r.manifest).items() for c in inds]


@pytest.mark.slow
def test_gp_at_shorwell_moves_only_the_areas_it_touches(iow_prepared):
    from tests.conftest import IOW_FILE7

    p, r = iow_prepared
    areas = r.areas.set_index("area_id")
    base = sc.baseline_table(r)
    # on its own scale the baseline is exactly the run
    own = sc.baseline_scale(p, r, {"b": base})["b"]
    for c in ["isolation_risk", "access_score", "isolation_risk_rank", "isolation_risk_decile"]:
        np.testing.assert_array_equal(own[c].to_numpy(dtype=float),
                                      areas[c].reindex(own.index).to_numpy(dtype=float), c)
    res = sc.add_facility(p, r, "gp", *SHORWELL, name="GP at Shorwell")
    ch = res.changes
    walk = set(ch.index[ch["gp_walk_min_change"].abs() > 0])
    risk = set(ch.index[ch["isolation_risk_new"] != ch["isolation_risk_old"]])
    inds = _indicator_columns(r)
    moved_inds = set(base.index[~np.isclose(res.table[inds].to_numpy(dtype=float),
                                            base[inds].to_numpy(dtype=float), rtol=0,
                                            atol=0, equal_nan=True).all(axis=1)])
    dec = set(ch.index[ch["isolation_risk_decile_new"] != ch["isolation_risk_decile_old"]])
    assert walk == risk == moved_inds and len(walk) == 6
    assert dec <= walk
    # untouched areas keep exactly their score, rank and decile of the run
    keep = ch.index.difference(sorted(walk))
    for c in ["isolation_risk", "isolation_risk_rank", "isolation_risk_decile"]:
        np.testing.assert_array_equal(ch.loc[keep, f"{c}_new"].to_numpy(dtype=float),
                                      areas.loc[keep, c].to_numpy(dtype=float), c)
    # a shorter walk is a lower risk
    assert (ch.loc[sorted(walk), "isolation_risk_change"] < 0).all()
    rerun = set(ch.index[ch["isolation_risk_decile_rerun"] != ch["isolation_risk_decile_old"]])
    print(f"Shorwell GP: walk changed in {len(walk)} areas; decile changed in {len(dec)} on "
          f"the baseline's scale, {len(rerun)} re-ranked ({len(rerun - walk)} untouched)")
    if IOW_FILE7.is_file():  # the figures: 6 walks, 8 re-ranked deciles, none touched
        assert len(dec) == 0 and len(rerun) == 8 and not rerun & walk
    # the before/after map: changed areas filled by class, legend counts, outside text escaped
    from socialrisk.ui.whatif import change_map, risk_change_class
    from socialrisk.webmap import map_html

    assert set(risk_change_class(ch).loc[sorted(walk)]) == {"better"}
    hostile = '<img src=x onerror="alert(1)">'
    ch.loc[sorted(walk)[0], "area_name"] = hostile
    res.facility["name"] = "<script>alert(2)</script>"
    html = map_html(change_map(p, res, {"gp": "GP <surgery>"}, r.areas))
    assert hostile not in html and "<script>alert(2)" not in html and "GP <surgery>" not in html
    html = html.replace("\\u0026", "&")  # folium writes "&" in JSON as \u0026
    assert "&lt;img src=x" in html and "GP &lt;surgery&gt;" in html
    assert "lower risk (better): 6 areas" in html and "unchanged (outline only): 83 areas" in html
    assert html.count('"_fill": "#1a9641"') == 6


@pytest.mark.slow
def test_whatif_page_keeps_untouched_areas_and_maps_the_change():
    pytest.importorskip("streamlit_folium")
    from streamlit.testing.v1 import AppTest

    from tests.conftest import IOW_FILE7, ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.session_state["whatif_point"] = (SHORWELL[1], SHORWELL[0])
    at.run()
    if IOW_FILE7.is_file():
        at.text_input(key="dep_path").set_value(str(IOW_FILE7)).run()
    at.text_input(key="whatif_name").set_value("GP <b>at</b> Shorwell").run()
    at.button(key="whatif_go_add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Areas whose walk changes"]) == 6
    assert int(metrics["Areas changing risk decile"]) == 0
    # the note says the metric's count the same way, then the re-ranked count
    scale = [c.value for c in at.caption if sc.SCALE_NOTE in c.value]
    assert scale and scale[0].startswith("No area changes risk decile; no area the change "
                                         "does not reach moves."), scale
    assert "would change decile" in scale[0]
    table = [d.value for d in at.dataframe if "Risk after" in d.value.columns][0]
    assert len(table) == 6 and (table["Risk after"] < table["Risk before"]).all()
    assert (table["Decile after"] == table["Decile before"]).all()
    # every row shows a change at the precision shown (no "0" with equal minutes)
    assert (table["Minutes after"].round(2) != table["Minutes before"].round(2)).all()
    assert table.columns[-1] == "Newly within 10 min" and "Population" not in table.columns
    assert any("Before and after" in m.value for m in at.markdown)


def test_whatif_note_agrees_with_the_metric_and_table_hides_unseen_changes():
    """The reviewer's case: 1 area changes decile on the baseline scale, none re-ranked; an
    area whose walk changes by 0.0015 min is not a row reading "0" (it is in the CSV)."""
    from types import SimpleNamespace

    from socialrisk.ui.whatif import changes_table, decile_note

    ch = pd.DataFrame({
        "area_id": ["a", "b", "c", "d"], "area_name": ["A", "B", "C", "D"],
        "gp_walk_min_old": [12.96, 71.8715, 7.3005, 5.0],
        "gp_walk_min_new": [12.50, 71.8700, 7.2575, 5.0],
        "isolation_risk_old": [23.30, 31.4645, 27.96, 10.0],
        "isolation_risk_new": [22.71, 31.4605, 27.96, 10.0],
        "isolation_risk_decile_old": pd.array([4, 2, 3, 9], dtype="Int64"),
        "isolation_risk_decile_new": pd.array([5, 2, 3, 9], dtype="Int64"),
        "isolation_risk_decile_rerun": pd.array([4, 2, 3, 9], dtype="Int64"),
        "people_newly_within": [51.0, 0.0, 0.0, 0.0],
        "people_no_longer_within": [0.0, 0.0, 0.0, 0.0],
        "changed": [True, True, True, False]})
    note = decile_note(ch)
    assert note.startswith("1 area changes risk decile; no area the change does not reach "
                           "moves.") and note.endswith("then no area would change decile.")
    res = SimpleNamespace(category="gp", kind="add", within_min=10.0)
    table, tiny = changes_table(ch[ch["changed"]], res)
    assert list(table["Area"]) == ["a", "c"] and tiny == 1
    assert table.loc[table["Area"] == "c", "Minutes after"].item() == 7.26
