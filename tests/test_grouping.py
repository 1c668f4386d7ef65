"""Results by ward and district (socialrisk.grouping) and the ward briefing, by hand and real."""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import ENGLAND, IOW_FILE7, ROOT, needs_shared

from socialrisk.briefing import ward_briefing_html
from socialrisk.cli import main
from socialrisk.core.errors import ConfigError
from socialrisk.grouping import briefing_name, group_table, grouping_extra
from socialrisk.outdir import OUTPUT_NAMES

LOOKUP = pd.DataFrame(
    {"ward_code": ["W1", "W1", "W2", "W2"], "ward_name": ["North", "North", "South", "South"],
     "district_code": ["D1"] * 4, "district_name": ["Dale"] * 4},
    index=pd.Index(["A1", "A2", "A3", "A4"], name="lsoa21_code"))
AREAS = pd.DataFrame({
    "area_id": ["A1", "A2", "A3", "A4"],
    "area_name": ["a one", "a two", "<b>three</b>", "a four"],
    "population": [100.0, 300.0, 200.0, 200.0],
    "isolation_risk": [10.0, 30.0, 80.0, 60.0],
    "isolation_risk_decile": [3, 2, 1, 1],
    "isolation_risk_drivers": ["", "", "far from a GP: 2 km", "old"],
    "gp_nearest_m": [400.0, 800.0, 2000.0, float("nan")],
    "gp_share_beyond_800m": [0.0, 0.5, 1.0, 1.0],
})
LABELS = {"gp": "GP surgery"}


def test_ward_table_by_hand():
    w = group_table(AREAS, LOOKUP, "ward", ["gp"])
    # South first: mean risk (80*200 + 60*200) / 400 = 70; North (10*100 + 30*300) / 400 = 25
    assert list(w["code"]) == ["W2", "W1"]
    assert list(w["areas"]) == [2, 2] and list(w["population"]) == [400.0, 400.0]
    assert list(w["isolation_risk"]) == [70.0, 25.0]
    # South's NaN distance is left out: 2000; North (400*100 + 800*300) / 400 = 700
    assert list(w["gp_nearest_m"]) == [2000.0, 700.0]
    assert list(w["gp_share_beyond_800m"]) == [1.0, 0.375]
    assert list(w["top_decile"]) == [2, 0]
    assert w["top_decile_areas"].iloc[0] == "A3; A4" and w["top_decile_areas"].iloc[1] == ""
    assert w["area_ids"].iloc[1] == "A1; A2"
    assert w["district_name"].iloc[0] == "Dale"


def test_district_table_by_hand():
    d = group_table(AREAS, LOOKUP, "district", ["gp"])
    assert len(d) == 1 and d["code"].iloc[0] == "D1" and d["name"].iloc[0] == "Dale"
    assert d["areas"].iloc[0] == 4
    # (10*100 + 30*300 + 80*200 + 60*200) / 800 = 47.5
    assert d["isolation_risk"].iloc[0] == 47.5
    assert "district_code" not in d.columns


def test_without_population_the_means_are_plain():
    w = group_table(AREAS.drop(columns="population"), LOOKUP, "ward", ["gp"])
    assert list(w["isolation_risk"]) == [70.0, 20.0]
    assert w["population"].isna().all()


def test_extra_writes_the_files_and_notes_areas_not_in_the_lookup(tmp_path):
    lookup_csv = tmp_path / "lookup.csv"
    LOOKUP.iloc[:3].rename_axis("lsoa21_code").reset_index().rename(columns={
        "ward_code": "ward24_code", "ward_name": "ward24_name", "district_code": "ltla24_code",
        "district_name": "ltla24_name"}).to_csv(lookup_csv, index=False)
    settings = SimpleNamespace(wards_lookup=str(lookup_csv), strict=False)
    manifest: dict = {"started": "2025-01-02T03:04:05"}
    called = []
    extra = grouping_extra(AREAS, settings, manifest, LABELS, then=called.append)
    out = tmp_path / "out"
    out.mkdir()
    extra(out)
    assert called == [out]
    wards = pd.read_csv(out / "wards.csv")
    assert list(wards["code"]) == ["W2", "W1"] and wards["areas"].tolist() == [1, 2]
    assert (out / "districts.csv").is_file()
    assert sorted(p.name for p in (out / "briefings").iterdir()) == ["ward_W1.html",
                                                                    "ward_W2.html"]
    assert manifest["grouping"]["wards"] == 2
    assert any("1 of 4 area(s) are not in the ward lookup" in n for n in manifest["notes"])
    strict = grouping_extra(AREAS, SimpleNamespace(wards_lookup=str(lookup_csv), strict=True),
                            {}, LABELS)
    with pytest.raises(ConfigError, match="not in the ward lookup"):
        strict(tmp_path)
    assert grouping_extra(AREAS, SimpleNamespace(wards_lookup="", strict=False), {},
                          LABELS) is None


def test_output_names_are_ours():
    assert OUTPUT_NAMES.fullmatch("wards.csv") and OUTPUT_NAMES.fullmatch("districts.csv")
    assert OUTPUT_NAMES.fullmatch(f"briefings/{briefing_name('E05013362')}")
    assert briefing_name("../x y") == "ward_xy.html"
    assert not OUTPUT_NAMES.fullmatch("briefings/notes.html")


def test_briefing_escapes_and_reads_in_words():
    w = group_table(AREAS, LOOKUP.assign(ward_name=["North", "North", "<i>S</i>", "<i>S</i>"]),
                    "ward", ["gp"])
    page = ward_briefing_html(w, "W2", AREAS, LABELS, run_date="2025-01-02")
    assert "<i>S</i>" not in page and "&lt;i&gt;S&lt;/i&gt;" in page
    assert "&lt;b&gt;three&lt;/b&gt;" in page
    assert "Mean isolation risk <b>70.0</b> of 100 (study area 47.5): the highest of the 2 " \
           "wards" in page
    assert "2 of its areas are among the 10 %" in page
    assert page.count("<script") == 0
    north = ward_briefing_html(w, "W1", AREAS, LABELS)
    assert "the 2nd highest of the 2 wards" in north
    with pytest.raises(KeyError):
        ward_briefing_html(w, "nope", AREAS, LABELS)
    assert not math.isnan(w["isolation_risk"].iloc[0])


@needs_shared
@pytest.mark.slow
def test_isle_of_wight_by_ward(tmp_path, monkeypatch):
    """The embedded island (LSOA 2011 codes = 2021 codes there) with the real ONS lookup."""
    lookup = ENGLAND / "lookup_lsoa21_ward24_ltla24.csv"
    cfg = tmp_path / "wards.toml"
    cfg.write_text(f'wards_lookup = "{lookup}"\n')
    out = tmp_path / "run"
    assert main(["run", "--config", str(cfg), "--deprivation", str(IOW_FILE7), "--no-download",
                 "--no-map", "--out", str(out), "--quiet"]) == 0
    wards = pd.read_csv(out / "wards.csv", dtype={"code": str})
    districts = pd.read_csv(out / "districts.csv", dtype={"code": str})
    assert len(wards) == 39 and wards["areas"].sum() == 89          # the island's 39 wards
    assert districts["code"].tolist() == ["E06000046"] and districts["areas"].iloc[0] == 89
    assert districts["population"].iloc[0] == wards["population"].sum()
    top = wards.iloc[0]
    assert (top["code"], top["name"]) == ("E05013362", "Brighstone, Calbourne & Shalfleet")
    assert top["isolation_risk"] == pytest.approx(44.075, abs=0.01)
    assert top["top_decile_areas"] == "E01017290; E01017353"
    assert len(list((out / "briefings").iterdir())) == 10
    page = (out / "briefings" / "ward_E05013362.html").read_text()
    assert "Brighstone, Calbourne &amp; Shalfleet ward, Isle of Wight" in page
    assert "the highest of the 39 wards" in page

    # the app opens the run folder and shows it by ward, with a briefing to download
    pytest.importorskip("streamlit_folium")
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(sys, "argv", ["app.py", "--run", str(out)])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "Ward" in d.value.columns)
    assert len(table) == 39 and table["Ward"].iloc[0] == "Brighstone, Calbourne & Shalfleet"
    assert table["Mean isolation risk"].iloc[0] == 44.1
    assert any(c.value.startswith("39 wards, highest mean isolation risk first")
               for c in at.caption)
    assert at.selectbox(key="ward_pick").value == "E05013362"
    at.selectbox(key="ward_pick").set_value("E05013365").run()
    assert not at.exception
    button = next(b for b in at.get("download_button") if b.key == "ward_briefing")
    assert button.proto.label == "Download the ward briefing (HTML, one page)"
    assert button.proto.url  # the page is served (its text is tested above)


def _lookup(path, rows):
    path.write_text("lsoa21_code,ward24_code,ward24_name,ltla24_code,ltla24_name\n"
                    + "".join(f"{a},{w},Ward {w},E06000046,Isle of Wight\n" for a, w in rows),
                    encoding="utf-8")
    return path


def test_a_ward_lookup_that_covers_no_area_or_clashes_is_refused_before_any_work(
        tmp_path, monkeypatch):
    import pandas as pd

    from socialrisk.core.errors import InputError
    from socialrisk.grouping import grouping_extra
    from socialrisk.settings import Settings

    areas = pd.DataFrame({"area_id": ["E01017282", "E01017283"], "isolation_risk": [1.0, 2.0]})
    other = _lookup(tmp_path / "other.csv", [("E01000001", "E05000001")])
    with pytest.raises(InputError, match="holds none of the run's 2 area codes"):
        grouping_extra(areas, Settings(wards_lookup=str(other)), {}, {})
    clash = _lookup(tmp_path / "clash.csv", [("E01017282", "W-1"), ("E01017283", "W1")])
    with pytest.raises(InputError, match="clash once reduced to letters and digits"):
        grouping_extra(areas, Settings(wards_lookup=str(clash)), {}, {})
    monkeypatch.setenv("HOME", str(tmp_path))  # a lookup given as ~/...: read and recorded
    _lookup(tmp_path / "w.csv", [("E01017282", "E05000001"), ("E01017283", "E05000002")])
    manifest: dict = {}
    assert grouping_extra(areas, Settings(wards_lookup="~/w.csv"), manifest, {}) is not None
    assert manifest["inputs"]["wards_lookup"]["bytes"] > 0
