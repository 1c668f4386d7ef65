"""The data dictionary, CSV rounding, GeoPackage field descriptions and the QGIS style."""

from __future__ import annotations

import json
import sqlite3
import xml.dom.minidom

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from conftest import ENGLAND, IOW_FILE7, ROOT, needs_shared
from shapely.geometry import Point, box

from socialrisk.cli import main
from socialrisk.columns import column_info, describe_column, format_latlon, markdown, round_for_csv
from socialrisk.outdir import MARKER, sha256_file
from socialrisk.outputs import write_run_outputs
from socialrisk.qgis import read_data_columns, read_default_style


def test_labels_say_what_a_column_is():
    assert describe_column("gp_count_800m")[:2] == (
        "Average number of GP surgeries within 800 m", "places (average)")
    assert "on average" in describe_column("gp_count_800m")[2]
    assert describe_column("gp_walk_min")[0] == "Walk to the nearest GP surgery (min)"
    assert describe_column("transit_stop_nearest_m")[:2] == (
        "Distance to the nearest bus stop, station or ferry terminal", "m")
    assert describe_column("gp_walk_min", {"gp": "Doctor's surgery"})[0] == (
        "Walk to the nearest doctor's surgery (min)")
    assert describe_column("risk_older_people_rank")[0] == (
        "Risk for older people: rank (1 = highest risk)")
    assert describe_column("isolation_risk_p_top_decile")[1] == "share of draws (0-1)"
    assert describe_column("imd_decile")[0] == (
        "Index of Multiple Deprivation decile in England (1 = most deprived)")
    assert describe_column("loneliness_health_score")[0] == (
        "Loneliness risk: health domain (0-100)")
    assert describe_column("snap_m", layer="amenities")[1] == "m"
    assert column_info("no_such_thing") is None
    assert describe_column("no_such_thing") == ("No such thing", "", "")


def test_coordinates_with_hemispheres():
    assert format_latlon(50.64205, -1.356) == "50.642 N, 1.356 W"
    assert format_latlon(-33.9, 151.2) == "33.900 S, 151.200 E"
    assert format_latlon(float("nan"), 1.0) == "unknown location"


def test_csv_rounding_rule():
    t = pd.DataFrame({
        "area_id": ["A", "B"],
        "gp_nearest_m": [1571.8309, np.inf],          # metres: 1 m; inf stays
        "gp_walk_min": [19.647886, np.inf],           # minutes: 0.1
        "gp_count_800m": [4.86412, 0.013373],         # averages of counts: 0.01
        "gp_share_beyond_800m": [0.0137922, 1.0],     # shares: 0.001
        "isolation_risk": [19.404720, 100.0],         # scores: 0.01
        "gp_gravity": [0.34291293, 21.0143708],       # 4 significant digits
        "isolation_risk_rank": [51.0, np.nan],        # whole numbers, NaN kept
        "imd_score": [25.50249, 1.0],                 # published: unchanged
        "unknown_thing": [1.23456789, 2.0],           # no entry: unchanged
    })
    r = round_for_csv(t)
    assert r["gp_nearest_m"].tolist() == [1572.0, np.inf]
    assert r["gp_walk_min"].tolist() == [19.6, np.inf]
    assert r["gp_count_800m"].tolist() == [4.86, 0.01]
    assert r["gp_share_beyond_800m"].tolist() == [0.014, 1.0]
    assert r["isolation_risk"].tolist() == [19.4, 100.0]
    assert r["gp_gravity"].tolist() == [0.3429, 21.01]
    assert str(r["isolation_risk_rank"].dtype) == "Int64"
    assert r["isolation_risk_rank"].iloc[0] == 51 and pd.isna(r["isolation_risk_rank"].iloc[1])
    assert r["imd_score"].tolist() == [25.50249, 1.0]
    assert r["unknown_thing"].tolist() == [1.23456789, 2.0]
    assert t["gp_nearest_m"].iloc[0] == 1571.8309  # the input is not changed


def test_docs_columns_md_is_up_to_date():
    """Regenerate with ``python -m socialrisk.columns > docs/columns.md``."""
    assert (ROOT / "docs" / "columns.md").read_text(encoding="utf-8") == markdown()


def _tiny():
    areas = gpd.GeoDataFrame({
        "area_id": ["A", "B"], "area_name": ["North", "South"], "population": [100.0, 250.0],
        "gp_nearest_m": [440.2, 1800.7], "gp_count_800m": [4.86412, 0.0],
        "isolation_risk": [12.3456, 80.0], "isolation_risk_rank": [2, 1],
        "isolation_risk_decile": [10, 1]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs="EPSG:27700")
    am = gpd.GeoDataFrame({"category": ["gp"], "name": ["Surgery"], "snap_m": [3.21]},
                          geometry=[Point(50, 50)], crs="EPSG:27700")
    return areas, am


def test_geopackage_described_and_styled_and_checksums_true(tmp_path):
    areas, am = _tiny()
    out = tmp_path / "out"
    write_run_outputs(out, areas, am, None, {"socialrisk_version": "test"})
    # CSV rounded, GeoPackage full precision
    csv = pd.read_csv(out / "areas.csv")
    assert csv["gp_nearest_m"].tolist() == [440.0, 1801.0]
    assert csv["gp_count_800m"].tolist() == [4.86, 0.0]
    assert gpd.read_file(out / "areas.gpkg")["gp_count_800m"].tolist() == [4.86412, 0.0]
    # field descriptions (OGC GeoPackage schema extension), registered
    cols = read_data_columns(out / "areas.gpkg", "areas")
    assert set(cols) == {*areas.columns.drop("geometry"), "geom"}
    assert cols["gp_count_800m"][0] == "Average number of GP surgeries within 800 m"
    assert cols["gp_count_800m"][1].endswith("Unit: places (average).")
    assert read_data_columns(out / "amenities.gpkg", "amenities")["snap_m"][0] == (
        "Distance to the walking network")
    con = sqlite3.connect(out / "areas.gpkg")
    ext = con.execute("SELECT table_name, extension_name FROM gpkg_extensions "
                      "WHERE extension_name = 'gpkg_schema'").fetchall()
    con.close()
    assert sorted(ext) == [("gpkg_data_column_constraints", "gpkg_schema"),
                           ("gpkg_data_columns", "gpkg_schema")]
    # the default QGIS style, stored and beside the outputs, with the fields' aliases
    name, qml = read_default_style(out / "areas.gpkg", "areas")
    assert qml == (out / "areas.qml").read_text(encoding="utf-8")
    doc = xml.dom.minidom.parseString(qml)
    renderer = doc.getElementsByTagName("renderer-v2")[0]
    assert renderer.getAttribute("attr") == "isolation_risk_decile"
    ranges = doc.getElementsByTagName("range")
    assert [r.getAttribute("label") for r in ranges][::9] == ["1 (highest risk)",
                                                              "10 (lowest risk)"]
    first = doc.getElementsByTagName("symbols")[0].getElementsByTagName("prop")[0]
    assert first.getAttribute("v") == "165,0,38,255"  # decile 1 red
    aliases = {a.getAttribute("field"): a.getAttribute("name")
               for a in doc.getElementsByTagName("alias")}
    assert aliases["gp_count_800m"] == "Average number of GP surgeries within 800 m"
    # GDAL still reads the file, and lists the styles table
    assert [str(x) for x in pyogrio.list_layers(out / "areas.gpkg")[:, 0]] == [
        "areas", "layer_styles"]
    styles = pyogrio.read_dataframe(out / "areas.gpkg", layer="layer_styles",
                                    read_geometry=False)
    assert styles[["f_table_name", "f_geometry_column", "useAsDefault"]].values.tolist() == [
        ["areas", "geom", True]]
    # checksums taken after the changes: manifest and marker agree with the files
    m = json.loads((out / "manifest.json").read_text())
    marker = json.loads((out / MARKER).read_text())
    for f in ("areas.gpkg", "amenities.gpkg", "areas.csv", "areas.qml"):
        assert m["outputs"][f]["sha256"] == sha256_file(out / f) == marker["files"][f]["sha256"]
    # and a second run into the same folder replaces them (they are ours)
    write_run_outputs(out, areas, am, None, {"socialrisk_version": "test"})
    assert read_default_style(out / "areas.gpkg", "areas")[1] == qml


@pytest.fixture(scope="module")
def island_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("columns") / "out"
    argv = ["run", "--out", str(out), "--quiet", "--no-download", "--no-map",
            "--lens", "older_people,disabled_people", "--uncertainty", "50", "--hotspots"]
    for t in (IOW_FILE7, ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv",
              ENGLAND / "census21_ts038_disability_lsoa21.csv",
              ENGLAND / "census21_ts054_tenure_lsoa21.csv",
              ENGLAND / "iod2025_indicators_lsoa21.csv"):
        argv += ["--deprivation", str(t)]
    assert main(argv) == 0
    return out


@needs_shared
@pytest.mark.slow
def test_every_column_of_a_full_island_run_is_described(island_run):
    a = pd.read_csv(island_run / "areas.csv")
    assert len(a.columns) > 250
    assert [c for c in a.columns if column_info(c) is None] == []
    am = gpd.read_file(island_run / "amenities.gpkg", layer="amenities")
    assert [c for c in am.columns if column_info(c, layer="amenities") is None] == []
    desc = read_data_columns(island_run / "areas.gpkg", "areas")
    assert len(desc) == len(a.columns) + 1  # and the geometry
    assert all(t and d for t, d in desc.values())
    # rounded for reading: no column carries more decimals than its rule
    assert (a["gp_nearest_m"].dropna() % 1 == 0).all()
    assert a["gp_count_800m"].round(2).equals(a["gp_count_800m"])
    assert a["isolation_risk"].round(2).equals(a["isolation_risk"])
    text = (island_run / "areas.csv").read_text()
    assert "worse than 100 %" not in text and "far from" not in text
    top = a.loc[a["isolation_risk_rank"] == 1, "isolation_risk_drivers"].item()
    assert "of the 89 areas" in top or "% of areas" in top


def test_table_header_help_makes_outside_labels_literal():
    """A column's hover help is Markdown in Streamlit: a category label from a run's
    taxonomy must not become a link or a remote image there."""
    import pandas as pd

    from socialrisk.ui.tables import human_table

    evil = "[Click](https://evil.example) ![t](https://evil.example/t.png)"
    _, config = human_table(pd.DataFrame({"gp_walk_min": [1.0]}), {"gp": evil})
    (help_text,) = [c["help"] for c in config.values()]
    assert "\\[Click\\]\\(https\\:" in help_text
    assert "[Click](" not in help_text and "![t](" not in help_text
