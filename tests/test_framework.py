"""The measurement framework end to end: the island with every shared table, as a user runs it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ENGLAND, IOW_FILE7, needs_shared

from socialrisk.cli import main

LENSES = ["older_people", "disabled_people", "language_barriers", "young_people", "low_income"]
TABLES = [IOW_FILE7, ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv",
          ENGLAND / "census21_ts038_disability_lsoa21.csv",
          ENGLAND / "census21_ts054_tenure_lsoa21.csv",
          ENGLAND / "iod2025_indicators_lsoa21.csv"]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("framework") / "out"
    argv = ["run", "--out", str(out), "--quiet", "--no-download", "--no-map",
            "--lens", ",".join(LENSES), "--uncertainty", "200", "--hotspots"]
    for t in TABLES:
        argv += ["--deprivation", str(t)]
    assert main(argv) == 0
    return out


@needs_shared
@pytest.mark.slow
def test_every_score_for_every_area(full_run):
    a = pd.read_csv(full_run / "areas.csv")
    m = json.loads((full_run / "manifest.json").read_text())
    assert len(a) == 89
    scores = ["isolation_risk", "loneliness_risk", *[f"risk_{x}" for x in LENSES]]
    for s in scores:
        for suffix in ("", "_rank", "_decile"):
            assert a[s + suffix].notna().all(), s + suffix
        # drivers: every area of the highest-risk decile has some (an area no worse than
        # the median on every indicator has none, by design)
        assert a.loc[a[s + "_decile"] == 1, s + "_drivers"].str.len().gt(20).all(), s
        assert sorted(a[s + "_decile"].value_counts().tolist()) == [8] + [9] * 9
    # loneliness uses all three of its domains once TS038, TS054 and the indicators are given
    assert m["index"]["loneliness"]["domains_used"] == ["health", "housing", "income"]
    assert [c for c in a if c.startswith("loneliness_") and c.endswith("_score")] == [
        "loneliness_health_score", "loneliness_housing_score", "loneliness_income_score"]
    # who is counted: File 7's 60+ and 0-15 counts, TS038's share of the population
    f7 = pd.read_csv(IOW_FILE7).set_index("LSOA code (2021)")
    older = a.set_index("area_id")["older_people_population"]
    assert (older == f7.loc[older.index, "Older population aged 60 and over: mid 2022"]).all()
    ts038 = pd.read_csv(ENGLAND / "census21_ts038_disability_lsoa21.csv").set_index(
        "lsoa21_code")
    dis = a.set_index("area_id")["disabled_people_population"]
    share = ts038["disabled_equality_act"] / ts038["residents_total"]
    expected = a.set_index("area_id")["population"] * share.reindex(dis.index)
    # areas.csv rounds head counts to 0.01 (docs/columns.md)
    pd.testing.assert_series_equal(dis, expected, check_names=False, check_exact=False,
                                   atol=0.005, rtol=0)
    # uncertainty: intervals bracket the point rank, shares are shares
    for s in scores:
        r, lo, hi = a[s + "_rank"], a[s + "_rank_p05"], a[s + "_rank_p95"]
        assert (lo <= r).all() and (r <= hi).all(), s
        assert a[s + "_p_top_decile"].between(0, 1).all()
        assert (a[s + "_robust"] == (a[s + "_p_top_decile"] >= 0.9)).all()
        assert set(a[s + "_hotspot"]) <= {"hot spot", "cold spot", "not significant"}
    unc = m["index"]["uncertainty"]["scores"]
    assert all(unc[s]["monte_carlo"]["point_ranks_reproduced"] for s in scores)
    sobol = {r["group"] if "group" in r else r.get("factor", r.get("index")): r["ST"]
             for r in unc["isolation_risk"]["sobol"]["indices"]}
    assert "normalisation" in sobol and all(0 <= v <= 1.5 for v in sobol.values())
    # the disabled lens says where OSM's wheelchair tag is too rare to filter on
    gp = m["index"]["lenses"]["disabled_people"]["amenity_filter_by_category"]["gp"]
    assert (gp["amenities"], gp["tagged"], gp["filter_applied"]) == (19, 2, False)
    assert any("wheelchair tag on 2 of 19 gp places" in n for n in m["index"]["notes"])


@needs_shared
@pytest.mark.slow
def test_scores_can_disagree(full_run):
    """Loneliness is not isolation under another name: the two rank the areas differently."""
    a = pd.read_csv(full_run / "areas.csv")
    rho = a["isolation_risk"].corr(a["loneliness_risk"], method="spearman")
    assert -0.5 < rho < 0.9
    both = ((a["isolation_risk_decile"] <= 2) & (a["loneliness_risk_decile"] <= 2)).sum()
    assert both < 18
