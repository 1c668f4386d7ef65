"""``socialrisk compare``: fixed reference, vintages, settings, outputs, on real data."""

from __future__ import annotations

import dataclasses
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import ENGLAND, IOW_FILE7, needs_shared

from risk.normalise import exp_transform, rank_exp
from socialrisk import api as sr
from socialrisk import pipeline
from socialrisk.cli import main
from socialrisk.compare import compare_runs, settings_differences
from socialrisk.compare_score import fixed_scores, ref_normalise
from socialrisk.history import save_scenario_run
from socialrisk.outputs import write_run_outputs
from socialrisk.targets import parse_targets

#: an output column name (``gp_nearest_m``) where a planner should read words
RAW_NAME = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")

# ---------------------------------------------------------------- fixed reference by hand


def test_ref_normalise_is_rank_exp_on_the_reference_and_interpolates_between():
    ref = pd.Series([1.0, 2.0, 2.0, 4.0])
    np.testing.assert_allclose(ref_normalise(ref, ref, "rank_exp"), rank_exp(ref), rtol=0)
    x = pd.Series([3.0, 0.5, 9.0, np.nan, 2.0])
    got = ref_normalise(x, ref, "rank_exp").to_numpy()
    # ranks of the reference: 1 -> 1, 2 -> 2.5 (tied), 4 -> 4; 3 lies half-way: 3.25
    want = exp_transform(np.array([3.25, 1.0, 4.0]) / 4)
    np.testing.assert_allclose(got[[0, 1, 2]], want, rtol=1e-12)
    assert np.isnan(got[3]) and got[4] == rank_exp(ref)[1]
    assert got[2] == pytest.approx(100.0)  # beyond the worst: capped at the worst
    z = ref_normalise(pd.Series([4.0]), ref, "zscore").iloc[0]
    assert z == pytest.approx((4 - 2.25) / np.std([1, 2, 2, 4]))
    assert ref_normalise(pd.Series([3.0]), ref, "minmax").iloc[0] == pytest.approx(200 / 3)


def _manifest(weights=(1.0, 1.0)) -> dict:
    inds = {"a_nearest_m": {"weight_given": weights[0], "direction": "higher_is_worse"},
            "b_score": {"weight_given": weights[1], "direction": "lower_is_worse"}}
    return {"settings": {"normalisation": "rank_exp", "max_distance_m": 20000.0},
            "index": {"domains_used": ["one"],
                      "domains": {"one": {"weight_given": 1.0, "indicators": inds,
                                          "indicators_used": list(inds)}}}}


def test_fixed_scores_untouched_areas_keep_their_score():
    before = pd.DataFrame({"a_nearest_m": [100.0, 200.0, 300.0, 400.0],
                           "b_score": [4.0, 3.0, 2.0, 1.0]}, index=list("pqrs"))
    after = before.copy()
    after.loc["s", "a_nearest_m"] = 150.0  # a new facility near s
    f = fixed_scores(before, {"b": before, "a": after}, _manifest())
    rb, ra = f["b"]["isolation_risk"], f["a"]["isolation_risk"]
    assert (ra[["p", "q", "r"]] == rb[["p", "q", "r"]]).all()  # exactly the same
    assert ra["s"] < rb["s"]  # better means better
    # the reference itself: rank_exp of the domain mean of the two rank_exp indicators
    dom = (rank_exp(before["a_nearest_m"]) + rank_exp(-before["b_score"])) / 2
    np.testing.assert_allclose(rb, rank_exp(dom), rtol=1e-12)
    assert f["b"]["isolation_risk_decile"].tolist() == [10, 8, 5, 3]


def test_older_manifest_without_a_setting_is_its_default():
    from socialrisk.settings import Settings

    d = Settings().as_dict()
    old = {k: v for k, v in d.items() if k != "n_drivers"}
    assert settings_differences(old, d) == {}
    assert list(settings_differences(d, {**d, "walk_speed_kmh": 3.0})) == ["walk_speed_kmh"]


# ---------------------------------------------------------------- Isle of Wight runs


@pytest.fixture(scope="module")
def iow_runs(tmp_path_factory):
    """Default, slow walking speed, and a new GP at Brighstone (the what-if saved as a run)."""
    if not IOW_FILE7.is_file():
        pytest.skip("../shared/data File 7 is not present")
    root = tmp_path_factory.mktemp("iow")
    prepared, res = sr.load(deprivation=[str(IOW_FILE7)], quiet=True, file7_download=False)
    targets = parse_targets({"gp_within_800m": {"value": 0.4, "by": "2030-03-31"},
                             "gp_walk_min_max": 30})
    s = dataclasses.replace(prepared.settings, targets=targets,
                            wards_lookup=str(ENGLAND / "lookup_lsoa21_ward24_ltla24.csv"))
    base = dataclasses.replace(prepared, settings=s)
    res.manifest["settings"] = s.as_dict()
    pipeline.write_run(base, res, root / "base", make_map=False)
    slow_p = sr._on_prepared(base, {"walk_speed_kmh": 3.0}, sr.COMPUTE_SETTINGS)
    pipeline.write_run(slow_p, pipeline.compute(slow_p), root / "slow", make_map=False)
    what_if = sr.add_facility(prepared, res, "gp", -1.3640, 50.6420, name="Brighstone GP")
    save_scenario_run(base, res, what_if, root / "gp")
    return root, what_if


@pytest.mark.slow
@needs_shared
def test_iow_new_gp_saved_as_a_run_and_compared(iow_runs, tmp_path):
    root, what_if = iow_runs
    out = tmp_path / "change"
    assert main(["compare", str(root / "base"), str(root / "gp"), "--out", str(out),
                 "--quiet"]) == 0
    ch = pd.read_csv(out / "change.csv", dtype={"area_id": str}).set_index("area_id")
    m = json.loads((out / "manifest.json").read_text())
    s = m["summary"]
    assert s["areas_compared"] == 89 and not s["settings_differ"]
    assert [r["input"] for r in s["inputs"] if r["changed"]] == ["scenario"]
    # only areas whose GP distance changed move on the fixed reference
    moved = ch.index[ch["isolation_risk_fixed_change"].abs() > 1e-9]
    gp_changed = ch.index[ch["gp_walk_min_change"].abs() > 1e-9]
    assert set(moved) <= set(gp_changed) and len(moved) == 5
    assert (ch.loc[moved, "isolation_risk_fixed_change"] < 0).all()
    assert ch.loc["E01017291", "gp_walk_min_before"] == pytest.approx(121.2, abs=0.05)
    assert ch.loc["E01017291", "gp_walk_min_after"] == pytest.approx(36.7, abs=0.05)
    why = ch.loc["E01017291", "why"]
    assert why.startswith("Distance to the nearest GP surgery") and "lower risk" in why, why
    assert not RAW_NAME.search(why), why  # plain words, not column names like gp_nearest_m
    gp_b, gp_a = (s[k]["categories"]["gp"]["population_within"] for k in ("before", "after"))
    # the what-if counts the people at origins crossing 800 m; the runs' shares assume the
    # few people whose home is off the network (unmeasured) are like their neighbours
    assert gp_a - gp_b == pytest.approx(what_if.people_newly_within, abs=1.0)
    assert (out / "change.gpkg").is_file() and (out / "change.html").stat().st_size > 10_000
    # the targets of both runs, and the trend in the report
    t = pd.read_csv(root / "base" / "targets.csv")
    assert set(t["scope"]) == {"study area", "ward", "district"}
    assert t[t["scope"] == "district"]["code"].tolist() == ["E06000046"] * 2
    assert s["before"]["targets"][0]["target"] == "gp_within_800m"
    assert s["after"]["targets"][0]["value"] > s["before"]["targets"][0]["value"]


@pytest.mark.slow
@needs_shared
def test_iow_change_tab_reads_in_words(iow_runs):
    """The Change tab on the real runs: inputs, movers and people within reach in words."""
    from conftest import ROOT
    from streamlit.testing.v1 import AppTest

    root, _ = iow_runs
    at = AppTest.from_file(str(ROOT / "socialrisk" / "app" / "streamlit_app.py"),
                           default_timeout=240)
    at.run()
    at.text_input(key="change_before").set_value(str(root / "base"))
    at.text_input(key="change_after").set_value(str(root / "gp")).run()
    assert not at.exception, [e.value for e in at.exception]
    inputs = next(m.value for m in at.markdown if m.value.startswith("**Inputs changed:**"))
    inputs = inputs.replace("\\", "")  # markdown escapes
    assert "the what-if change" in inputs and not RAW_NAME.search(inputs), inputs
    movers = next(d.value for d in at.dataframe if "Why" in d.value.columns)
    assert len(movers) == 5 and not any(RAW_NAME.search(w) for w in movers["Why"])
    assert movers["Why"].str.startswith("Distance to the nearest GP surgery").all()
    within = next(d.value for d in at.dataframe if "People before" in d.value.columns)
    assert list(within.columns) == ["Kind of place", "People before", "People after",
                                    "Share before", "Share after"]
    assert "GP surgery" in set(within["Kind of place"])
    people = within[["People before", "People after"]].to_numpy(dtype=float)
    assert (people == people.round()).all()


@pytest.mark.slow
@needs_shared
def test_iow_slow_walking_speed_warns_and_keeps_scores(iow_runs, tmp_path):
    root, _ = iow_runs
    comp = compare_runs(root / "base", root / "slow")
    assert list(comp.summary["settings_differ"]) == ["walk_speed_kmh"]
    assert any("walk_speed_kmh 4.8 -> 3.0" in n for n in comp.notes)
    ch = comp.change.set_index("area_id")
    ratio = ch["gp_walk_min_after"] / ch["gp_walk_min_before"]
    np.testing.assert_allclose(ratio.dropna(), 4.8 / 3.0, rtol=1e-9)
    # distances drive the index: no score moves on the fixed reference
    assert comp.summary["fixed_reference"]["areas_unchanged"] == 89
    b, a = comp.summary["before"], comp.summary["after"]
    assert "800 m" in b["within_method"] and "500 m" in a["within_method"]
    assert a["categories"]["gp"]["population_within"] < b["categories"]["gp"]["population_within"]


@pytest.mark.slow
@needs_shared
def test_compare_refuses_to_write_into_a_run(iow_runs, capsys):
    root, _ = iow_runs
    before = sorted(p.name for p in (root / "base").iterdir())
    assert main(["compare", str(root / "base"), str(root / "gp"), "--out",
                 str(root / "slow")]) == 2
    assert "holds a run's outputs" in capsys.readouterr().err
    assert sorted(p.name for p in (root / "base").iterdir()) == before


# ---------------------------------------------------------------- IoD 2019 (LSOA 2011) -> 2025


DISTRICT = "E06000005"  # Darlington: 4 LSOAs split and 2 merged between 2011 and 2021


def _iod_run(tmp, name, areas, id_col, table, code_col, columns, extra=()):
    gpkg = tmp / f"{name}.gpkg"
    areas.to_file(gpkg, driver="GPKG")
    dep = [{"path": str(table), "kind": "table", "code_column": code_col, "columns": columns},
           *extra]
    cfg = {"osm": "none", "areas": str(gpkg), "area_id": id_col, "deprivation": dep,
           "file7_download": False, "map": False, "quiet": True, "out": str(tmp / name),
           "domains": {"deprivation": {"weight": 1.0, "indicators": [
               {"column": "income_rank", "direction": "lower_is_worse"},
               {"column": "health_rank", "direction": "lower_is_worse"}]}}}
    return sr.run_and_write(**cfg)


@pytest.mark.slow
@needs_shared
def test_iod2019_lsoa11_against_iod2025_lsoa21(tmp_path):
    lk = pd.read_csv(ENGLAND / "lookup_lsoa11_lsoa21_ltla22.csv")
    lk = lk[lk["ltla22_code"] == DISTRICT]
    b21 = gpd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet")
    b21 = b21[b21["lsoa21_code"].isin(lk["lsoa21_code"])]
    # LSOA 2011 areas (no 2011 boundaries in the shared data): the union of their children
    m = lk.merge(b21[["lsoa21_code", "geometry"]], on="lsoa21_code")
    b11 = gpd.GeoDataFrame(m, geometry="geometry", crs=b21.crs).dissolve("lsoa11_code")
    b11 = b11.reset_index()[["lsoa11_code", "geometry"]]
    cols = {"IMD_rank": "imd_rank", "IMD_decile": "imd_decile", "Income_rank": "income_rank",
            "Health_rank": "health_rank"}
    pop = {"path": str(ENGLAND / "census21_ts038_disability_lsoa21.csv"), "kind": "table",
           "code_column": "lsoa21_code", "columns": {"residents_total": "population"}}
    before = _iod_run(tmp_path, "iod2019", b11, "lsoa11_code", ENGLAND / "imd2019_lsoa11.csv",
                      "lsoa11_code", cols)
    after = _iod_run(tmp_path, "iod2025", b21, "lsoa21_code", ENGLAND / "imd2025_lsoa21.csv",
                     "lsoa21_code", cols, [pop])
    lookup = ENGLAND / "lookup_lsoa11_lsoa21_ltla22.csv"
    plain = compare_runs(before, after)  # LSOA 2011 against 2021 codes: listed, the fix named
    assert plain.summary["not_compared"]["only_before"] and any("--lookup" in n
                                                                for n in plain.notes)
    out = tmp_path / "change"
    assert main(["compare", str(before), str(after), "--lookup", str(lookup), "--out",
                 str(out), "--quiet"]) == 0
    ch = pd.read_csv(out / "change.csv", dtype={"area_id": str}).set_index("area_id")
    s = json.loads((out / "manifest.json").read_text())["summary"]
    assert len(ch) == len(b21) == s["areas_after"]
    kinds = lk.drop_duplicates("lsoa21_code").set_index("lsoa21_code")["change_code"]
    split, merged = kinds.index[kinds == "S"], kinds.index[kinds == "M"]
    assert len(split) >= 2 and len(merged) == 1
    assert ch.loc[split, "vintage"].str.contains("split").all()
    assert ch.loc[merged, "vintage"].str.contains("merged").all()
    iod19 = pd.read_csv(ENGLAND / "imd2019_lsoa11.csv").set_index("lsoa11_code")
    iod25 = pd.read_csv(ENGLAND / "imd2025_lsoa21.csv").set_index("lsoa21_code")
    parent = lk.set_index("lsoa21_code")["lsoa11_code"]
    # a split child carries its parent's 2019 rank; an unchanged area its own
    for code in split:
        assert ch.loc[code, "income_rank_before"] == iod19.loc[parent[code], "Income_rank"]
    same = kinds.index[kinds == "U"][0]
    assert ch.loc[same, "income_rank_before"] == iod19.loc[same, "Income_rank"]
    assert ch.loc[same, "income_rank_after"] == iod25.loc[same, "Income_rank"]
    # a merged area has no 2019 rank (a mean of ranks is not a rank): kept, and said so
    assert ch.loc[merged, "income_rank_before"].isna().all()
    assert ch.loc[merged, "comparable"].all()
    assert s["not_compared"] == {"only_before": [], "only_after": []}
    assert s["vintage_methods"] and s["before"]["equity_gap"] and s["after"]["equity_gap"]
    html = (out / "change.html").read_text()
    assert "Areas not compared" in html and "<script" not in html


# ---------------------------------------------------------------- hostile text in change.html

HOSTILE_ID = "<img src=x onerror=\"window.__pwned=1\">"
HOSTILE_NAME = "</title><script>window.__pwned=2</script>`${1}`"


def _tiny_run(folder, near, settings=None):
    import shapely

    areas = gpd.GeoDataFrame({
        "area_id": [HOSTILE_ID, "E01000002", "=HYPERLINK(\"x\")"],
        "area_name": [HOSTILE_NAME, "Plain", "<b>bold</b>"],
        "population": [100.0, 200.0, 300.0], "gp_walk_min": [n / 80 for n in near],
        "a_nearest_m": near, "b_score": [3.0, 2.0, 1.0], "isolation_risk": [1.0, 2.0, 3.0]},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(3)], crs="EPSG:4326")
    am = gpd.GeoDataFrame({"category": []}, geometry=[], crs="EPSG:4326")
    m = {"socialrisk_version": "t", "started": "<script>x</script>", **_manifest()}
    if settings is not None:
        m["settings"] = settings(m["settings"])
    write_run_outputs(folder, areas, am, None, m)


def test_change_html_escapes_hostile_ids_and_names(tmp_path):
    _tiny_run(tmp_path / "a", [100.0, 200.0, 300.0])
    _tiny_run(tmp_path / "b", [100.0, 50.0, 300.0])
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                 str(tmp_path / "c"), "--quiet"]) == 0
    html = (tmp_path / "c" / "change.html").read_text()
    assert "<script" not in html and "<img" not in html and "<b>bold" not in html
    assert "&lt;img src=x onerror=" in html
    csv = (tmp_path / "c" / "change.csv").read_text()
    assert "\n\"'=HYPERLINK" in csv  # formula-safe


@pytest.mark.slow
@pytest.mark.browser
def test_change_html_in_headless_chromium(tmp_path):
    import shutil

    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    webdriver = pytest.importorskip("selenium.webdriver")
    if not chromium or not driver_bin:
        pytest.skip("chromium and chromium-driver are not installed")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    _tiny_run(tmp_path / "a", [100.0, 200.0, 300.0])
    _tiny_run(tmp_path / "b", [100.0, 50.0, 300.0])
    main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c"),
          "--quiet"])
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu",
                f"--user-data-dir={tmp_path / 'profile'}"]:
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(driver_bin), options=opts)
    try:
        d.get((tmp_path / "c" / "change.html").as_uri())
        assert d.execute_script("return window.__pwned === undefined")
        assert not d.find_elements(By.TAG_NAME, "img")
        assert not d.find_elements(By.TAG_NAME, "script")
        titles = [t.get_attribute("textContent") for t in d.find_elements(By.TAG_NAME, "title")]
        assert any(HOSTILE_ID in t for t in titles)  # shown as the text it is
        assert HOSTILE_NAME in d.find_element(By.TAG_NAME, "body").text or any(
            HOSTILE_NAME in t for t in titles)
    finally:
        d.quit()


@pytest.mark.slow
def test_change_tab_compares_two_runs(tmp_path):
    pytest.importorskip("streamlit")
    from conftest import ROOT
    from streamlit.testing.v1 import AppTest

    _tiny_run(tmp_path / "a", [100.0, 200.0, 300.0])
    _tiny_run(tmp_path / "b", [100.0, 50.0, 300.0])
    at = AppTest.from_file(str(ROOT / "socialrisk" / "app" / "streamlit_app.py"),
                           default_timeout=180)
    at.run()
    at.text_input(key="change_before").set_value(str(tmp_path / "a"))
    at.text_input(key="change_after").set_value(str(tmp_path / "b"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Areas compared"] == "3" and metrics["Lower risk"] == "1"
    assert "What changed between two runs" in [h.value for h in at.header]
    # the movers and the population within reach, headed and worded for people
    movers = next(d.value for d in at.dataframe if "Why" in d.value.columns)
    assert list(movers.columns) == ["Area", "Name", "Change in risk score", "Decile before",
                                    "Decile after", "Why"]
    assert (movers["Change in risk score"] == movers["Change in risk score"].round(1)).all()
    why = movers["Why"].iloc[0]
    assert why.startswith("Distance to the nearest a") and "lower risk" in why, why
    assert not any(RAW_NAME.search(w) for w in movers["Why"]), list(movers["Why"])
    assert any("Neither run counts the people within reach" in i.value for i in at.info)
    inputs = next(m.value for m in at.markdown if m.value.startswith("**Inputs changed:**"))
    assert not RAW_NAME.search(inputs), inputs
    at.text_input(key="change_before").set_value(str(tmp_path / "missing"))
    at.run()
    assert any("not a folder" in e.value for e in at.error)


# ---------------------------------------------------------------- --out and damaged manifests


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def _one_line_error(argv, capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("socialrisk: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_compare_refuses_an_older_versions_run_folder_as_out(tmp_path, capsys):
    import shutil

    _tiny_run(tmp_path / "a", [100.0, 200.0, 300.0])
    _tiny_run(tmp_path / "b", [100.0, 50.0, 300.0])
    leg = tmp_path / "leg"  # a socialrisk 0.1 run: no marker, its manifest lists the outputs
    shutil.copytree(tmp_path / "a", leg)
    (leg / ".socialrisk-outputs.json").unlink()
    before = _tree(leg)
    line = _one_line_error(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                            str(leg), "--quiet"], capsys)
    assert "holds a run's outputs" in line and "nothing was changed" in line
    assert _tree(leg) == before
    # an older comparison's folder (no marker) is still ours to replace
    out = tmp_path / "c"
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out),
                 "--quiet"]) == 0
    (out / ".socialrisk-outputs.json").unlink()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out),
                 "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "change.csv", "change.gpkg", "change.html", "manifest.json"]


@pytest.mark.parametrize(("key", "value"), [("walk_speed_kmh", "abc"),
                                            ("beyond_threshold_m", None),
                                            ("walk_speed_kmh", 0), ("max_distance_m", -1.0),
                                            ("beyond_threshold_m", True),
                                            ("normalisation", "ranks")])
def test_compare_damaged_manifest_setting_is_one_line(tmp_path, capsys, key, value):
    _tiny_run(tmp_path / "a", [100.0, 200.0, 300.0])
    _tiny_run(tmp_path / "b", [100.0, 50.0, 300.0], lambda s: {**s, key: value})
    line = _one_line_error(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                            str(tmp_path / "c"), "--quiet"], capsys)
    assert f"settings.{key}" in line and str(tmp_path / "b" / "manifest.json") in line
    assert not (tmp_path / "c").exists()


def test_compare_damaged_settings_or_index_report_is_one_line(tmp_path, capsys):
    _tiny_run(tmp_path / "a", [100.0, 200.0, 300.0], lambda s: ["not", "a", "table"])
    _tiny_run(tmp_path / "b", [100.0, 50.0, 300.0])
    line = _one_line_error(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                            str(tmp_path / "c"), "--quiet"], capsys)
    assert "settings is" in line and "manifest.json" in line
    _tiny_run(tmp_path / "a", [100.0, 200.0, 300.0])
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    m["index"]["domains"]["one"]["indicators"]["b_score"]["weight_given"] = "heavy"
    (tmp_path / "a" / "manifest.json").write_text(json.dumps(m))
    line = _one_line_error(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                            str(tmp_path / "c"), "--quiet"], capsys)
    assert "weight of indicator 'b_score'" in line


def test_an_older_manifest_without_settings_uses_the_defaults(tmp_path):
    _tiny_run(tmp_path / "a", [100.0, 200.0, 300.0], lambda s: {})
    _tiny_run(tmp_path / "b", [100.0, 50.0, 300.0], lambda s: {})
    comp = compare_runs(tmp_path / "a", tmp_path / "b")
    assert comp.summary["fixed_reference"]["areas_better"] == 1
    assert "800 m" in comp.summary["before"]["within_method"]
