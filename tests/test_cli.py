"""The command line end to end, as a user runs it, on real data."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from conftest import IOW_FILE7, needs_shared

from socialrisk.cli import main

REQUIRED_LEAD = ["area_id", "area_name", "population"]
CATEGORIES = ["community_centre", "library", "place_of_worship", "green_space", "gp", "pharmacy",
              "post_office", "transit_stop", "cafe_pub", "food_shop", "primary_school",
              "social_care", "leisure_centre"]
TAIL = ["access_score", "deprivation_score", "demographic_score", "isolation_risk",
        "isolation_risk_rank", "isolation_risk_decile", "isolation_risk_drivers",
        # File 7 alone: loneliness from its income domain (health, housing need TS038/TS054)
        "loneliness_income_score", "loneliness_risk", "loneliness_risk_rank",
        "loneliness_risk_decile", "loneliness_risk_drivers"]


@pytest.fixture(scope="module")
def iow_run(tmp_path_factory):
    """One default Isle of Wight run with the real IoD2025 File 7 (shared by the tests below)."""
    if not IOW_FILE7.is_file():
        pytest.skip("../shared/data is not present")
    out = tmp_path_factory.mktemp("run") / "out"
    code = main(["run", "--deprivation", str(IOW_FILE7), "--out", str(out), "--quiet",
                 "--no-download"])
    assert code == 0
    return out


@needs_shared
def test_default_run_writes_every_output(iow_run):
    names = sorted(p.name for p in iow_run.iterdir())
    assert names == [".socialrisk-outputs.json", "amenities.gpkg", "app", "areas.csv",
                     "areas.gpkg", "areas.qml", "manifest.json", "map.html"]
    # the areas layer and its QGIS default style (tests/test_columns.py)
    assert pyogrio.list_layers(iow_run / "areas.gpkg")[:, 0].tolist() == ["areas",
                                                                          "layer_styles"]
    assert set(pyogrio.list_layers(iow_run / "amenities.gpkg")[:, 0]) == {
        "amenities", "amenity_polygons"}


@needs_shared
def test_areas_table_has_the_documented_columns_in_order(iow_run):
    df = pd.read_csv(iow_run / "areas.csv")
    assert len(df) == 89
    expected = REQUIRED_LEAD + [f"{c}_{m}" for c in CATEGORIES
                                for m in ("nearest_m", "walk_min", "count_800m")] + TAIL
    assert list(df.columns[:len(expected)]) == expected
    gdf = gpd.read_file(iow_run / "areas.gpkg", layer="areas")
    assert len(gdf) == 89 and gdf.crs.to_epsg() == 4326
    # the population is the File 7 total (mid-2022) for every LSOA
    f7 = pd.read_csv(IOW_FILE7).set_index("LSOA code (2021)")["Total population: mid 2022"]
    assert (df.set_index("area_id")["population"] == f7.reindex(df["area_id"])).all()


@needs_shared
def test_ranks_deciles_and_walk_times_are_consistent(iow_run):
    df = pd.read_csv(iow_run / "areas.csv")
    assert sorted(df["isolation_risk_rank"]) == list(range(1, 90))
    # decile = ceil(rank * 10 / N): 1 = highest risk; 89 areas -> 8 in decile 1, 9 in the rest
    assert df["isolation_risk_decile"].value_counts().sort_index().tolist() == [8] + [9] * 9
    top = df.loc[df["isolation_risk_rank"] == 1]
    assert top["isolation_risk"].iloc[0] == df["isolation_risk"].max()
    # walking time is distance at 4.8 km/h = 80 m per minute (exact in the GeoPackage;
    # areas.csv rounds metres to 1 m and minutes to 0.1, docs/columns.md)
    g = gpd.read_file(iow_run / "areas.gpkg", layer="areas")
    np.testing.assert_allclose(g["gp_walk_min"], g["gp_nearest_m"] / 80.0)
    np.testing.assert_allclose(df["gp_walk_min"], df["gp_nearest_m"] / 80.0, atol=0.06)
    assert (df["isolation_risk_drivers"].str.len() > 0).all()


@needs_shared
def test_manifest_records_inputs_counts_and_timings(iow_run):
    m = json.loads((iow_run / "manifest.json").read_text())
    assert m["inputs"]["osm"]["sha256"] == (
        "81d69208d011ee1210278eb3ae6523f1038ed9c53b45a4677a8ee93251ed3dd2")
    assert m["inputs"]["osm"]["data_timestamp"] == "2020-04-22T20:59:03Z"
    assert set(m["timings_s"]) == {"areas", "parse_osm", "osm_coverage", "deprivation",
                                   "origins", "snapping", "access", "index", "outputs"}
    assert all(v > 0 for v in m["timings_s"].values())
    per_cat = m["counts"]["amenities_per_category"]
    assert set(per_cat) == set(CATEGORIES) and all(v > 0 for v in per_cat.values())
    snap = m["counts"]["snapping"]["categories"]
    for cat, c in snap.items():
        assert c["snapped"] + c["unsnapped"] == c["amenities"] == per_cat[cat]
    assert m["counts"]["joins"][0]["n_matched"] == 89
    assert m["settings"]["walk_speed_kmh"] == 4.8
    # capacity is tagged on 2 of the island's 82 social-care facilities: too few to use
    care = m["access"]["categories"]["social_care"]["e2sfca_supply"]
    assert care == {"supply": "1 per facility", "tagged": 2,
                    "reason": "capacity tagged on fewer than half of the facilities"}
    assert m["outputs"]["areas.csv"]["sha256"]


@needs_shared
def test_map_has_attribution_and_layers(iow_run):
    html = (iow_run / "map.html").read_text()
    assert "OpenStreetMap contributors" in html
    assert "Open Government Licence v3.0" in html
    assert "GP surgery" in html and "Isolation risk" in html
    # self-contained: the vendored Leaflet is embedded, no CDN, and the legend is plain HTML
    assert "socialrisk-legend" in html and "Isolation-risk decile" in html
    assert '<script src="data:text/javascript;base64,' in html
    assert "cdn.jsdelivr" not in html and "jquery" not in html.lower()


@pytest.mark.parametrize("flags, words", [
    (["--areas", "a.gpkg"], "--areas needs OpenStreetMap data for the same place"),
    (["--osm", "x.osm.pbf"], "--osm needs the areas of the same place"),
])
def test_own_areas_or_osm_alone_are_refused(tmp_path, capsys, flags, words):
    """Never mix a user's file with the embedded Isle of Wight data."""
    assert main(["run", *flags, "--out", str(tmp_path / "o")]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_input_is_one_line_and_nonzero(tmp_path, capsys):
    from conftest import IOW_PBF

    code = main(["run", "--areas", str(tmp_path / "missing.gpkg"), "--osm", str(IOW_PBF),
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("socialrisk: error: areas file") and "not found" in err[-1]
    assert not (tmp_path / "o").exists()


def test_unknown_config_key_names_the_nearest(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('walk_sped_kmh = 3.0\n')
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "did you mean 'walk_speed_kmh'" in capsys.readouterr().err
