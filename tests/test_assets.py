"""Local asset lists (geo.assets, geo.asset_match): reading, checks, the three modes.

Hand-made lists on two 1 km squares of British National Grid (near Newport, Isle
of Wight) with a few OpenStreetMap-like amenities, so every count is checkable
by eye; the real DfE register (GIAS) on the Isle of Wight is at the end.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo.asset_match import apply_asset_lists, match_places, name_similarity, normalise_name
from geo.assets import AssetList, check_asset_lists, parse_asset_lists
from geo.taxonomy import amenities_frame, load_taxonomy
from socialrisk.core.errors import ConfigError, InputError
from socialrisk.settings import INPUT_SETTINGS, load_settings
from tests.conftest import ENGLAND, IOW_FILE7, cli_error, needs_shared

TAX = load_taxonomy()
BNG = "EPSG:27700"
TO_LL = Transformer.from_crs(BNG, "EPSG:4326", always_xy=True)


def ll(e: float, n: float) -> tuple[float, float]:
    lon, lat = TO_LL.transform(e, n)
    return round(lon, 7), round(lat, 7)


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"area_id": ["A", "B"]},
                            geometry=[shapely.box(450000, 90000, 451000, 91000),
                                      shapely.box(451000, 90000, 452000, 91000)], crs=BNG)


def _osm() -> gpd.GeoDataFrame:
    feats = [("node", 1, {"amenity": "library", "name": "Newport Library"}, (450500, 90500)),
             ("node", 2, {"amenity": "library", "name": "Old Library"}, (451500, 90500)),
             ("node", 3, {"amenity": "library", "name": "Far Library"}, (460000, 90000)),
             ("node", 4, {"amenity": "school", "school": "primary",
                          "name": "St Mary's C of E Primary School"}, (450200, 90200))]
    return amenities_frame([(t, i, tags, shapely.Point(ll(*xy))) for t, i, tags, xy in feats],
                           TAX)


def _csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _libraries(tmp_path: Path) -> Path:
    """5 rows: a match of OSM node 1, a new library, one far away, one without coordinates,
    one mobile library (left out by where)."""
    return _csv(tmp_path / "council_libraries.csv",
                ["ref", "name", "type", "longitude", "latitude", "seats"],
                [["L1", "Newport Library", "branch", *ll(450510, 90500), 120],
                 ["L2", "Riverside Library", "branch", *ll(451200, 90800), 40],
                 ["L3", "Distant Library", "branch", *ll(470000, 90000), 10],
                 ["L4", "Lost Library", "branch", "", "", 5],
                 ["L5", "Mobile Library", "mobile", *ll(450700, 90700), ""]])


def _spec(path: Path, **kw) -> AssetList:
    base = {"path": str(path), "category": "library", "where": {"type": "branch"},
            "id": "ref", "capacity": "seats"}
    return parse_asset_lists([{**base, **kw}])[0]


def _apply(spec: AssetList, strict: bool = False, notes: list | None = None):
    return apply_asset_lists(_osm(), [spec], TAX, _areas(), strict=strict, notes=notes)


# ----------------------------------------------------------------- the three modes


def test_replace_drops_osm_and_reports_every_row(tmp_path):
    notes: list[str] = []
    am, tax, (rec,) = _apply(_spec(_libraries(tmp_path), mode="replace"), notes=notes)
    lib = am[am["category"] == "library"]
    # OSM's libraries in the study area are replaced; the one 8 km away stays
    assert list(lib["source"]) == ["osm", "council_libraries.csv:L1",
                                   "council_libraries.csv:L2"]
    assert list(lib["name"]) == ["Far Library", "Newport Library", "Riverside Library"]
    assert list(lib["capacity"])[1:] == [120.0, 40.0]
    assert (am.loc[am["category"] != "library", "source"] == "osm").all()
    assert rec["rows_read"] == 5 and rec["kept"] == 2 and rec["mode"] == "replace"
    assert rec["dropped"] == {"not_matching_where": 1, "no_coordinates": 1,
                              "outside_study_area": 1}
    assert rec["categories"]["library"] == {
        "list_items": 2, "osm_in_area": 2, "matched": 1, "list_only": 1, "osm_only": 1,
        "near_misses": 0, "median_match_m": pytest.approx(10.0, abs=0.01), "osm_removed": 2,
        "osm_kept_outside_area": 1}
    assert len(rec["sha256"]) == 64 and rec["bytes"] > 0
    assert notes == ["asset list council_libraries.csv: 1 row(s) without usable coordinates "
                     "left out (first: row 4)"]
    # the list's seats become the library's E2SFCA capacity
    assert TAX["library"].capacity == () and tax["library"].capacity == ("capacity",)
    assert list(am.index) == list(range(len(am))) and am.crs == "EPSG:4326"
    json.dumps(rec)  # JSON-ready for the manifest


def test_add_keeps_osm_beside_the_list(tmp_path):
    am, _, (rec,) = _apply(_spec(_libraries(tmp_path), mode="add"))
    lib = am[am["category"] == "library"]
    assert list(lib["source"]) == ["osm", "osm", "osm", "council_libraries.csv:L1",
                                   "council_libraries.csv:L2"]
    assert "osm_removed" not in rec["categories"]["library"]


def test_merge_adds_what_osm_lacks_and_keeps_the_osm_id(tmp_path):
    am, _, (rec,) = _apply(_spec(_libraries(tmp_path), mode="merge"))
    lib = am[am["category"] == "library"].set_index("name")
    assert sorted(lib.index) == ["Far Library", "Newport Library", "Old Library",
                                 "Riverside Library"]
    assert lib.loc["Newport Library", "source"] == "council_libraries.csv:L1"
    assert lib.loc["Newport Library", "osm_id"] == 1
    assert lib.loc["Riverside Library", "osm_id"] == 0
    assert lib.loc["Old Library", "source"] == "osm"
    assert rec["categories"]["library"]["osm_removed"] == 1
    assert rec["categories"]["library"]["matched"] == 1


def test_merge_fills_missing_fields_from_osm_and_takes_the_lists(tmp_path):
    path = _csv(tmp_path / "l.csv", ["name", "longitude", "latitude", "opening_hours",
                                     "contact", "accessibility"],
                [["Newport Library", *ll(450505, 90500), "", "01983 000000",
                  "Step-free entrance"]])
    osm = _osm()
    osm.loc[osm["osm_id"] == 1, "opening_hours"] = "Mo-Sa 09:00-17:00"
    am, _, _ = apply_asset_lists(osm, parse_asset_lists([{"path": str(path),
                                                           "category": "library"}]),
                                 TAX, _areas())
    row = am[am["source"] == "l.csv:1"].iloc[0]
    assert row["opening_hours"] == "Mo-Sa 09:00-17:00"
    assert row["contact"] == "01983 000000"  # a leading zero: kept as text
    assert row["accessibility"] == "Step-free entrance"
    assert am.loc[am["source"] == "osm", "contact"].isna().all()


def test_no_lists_still_marks_every_amenity_osm():
    am, tax, records = apply_asset_lists(_osm(), [], TAX, _areas())
    assert records == [] and tax == TAX
    assert (am["source"] == "osm").all() and am["contact"].isna().all()


def test_new_category_with_a_label(tmp_path):
    path = _csv(tmp_path / "groups.csv", ["name", "lon", "lat"],
                [["Knit and natter", *ll(450300, 90300)]])
    spec = parse_asset_lists([{"path": str(path), "category": "community_group",
                               "label": "Community group"}])[0]
    am, tax, (rec,) = apply_asset_lists(_osm(), [spec], TAX, _areas())
    assert list(tax)[-1] == "community_group" and tax["community_group"].label == \
        "Community group"
    assert list(am["category"])[-1] == "community_group"
    assert rec["coordinates"] == {"x": "lon", "y": "lat", "crs": "EPSG:4326"}
    assert rec["dropped"]["outside_study_area"] == 0


def test_easting_northing_found_by_name_and_where_with_several_values(tmp_path):
    path = _csv(tmp_path / "e.csv", ["Easting", "Northing", "phase", "la"],
                [[450500, 90500, "Primary", 921], [451500, 90500, "Infant", 921],
                 [451600, 90600, "Secondary", 921], [451700, 90700, "Primary", 850]])
    spec = parse_asset_lists([{"path": str(path), "category": "primary_school",
                               "where": {"phase": ["primary", "Infant"], "la": 921}}])[0]
    am, _, (rec,) = apply_asset_lists(_osm(), [spec], TAX, _areas())
    assert rec["coordinates"]["crs"] == "EPSG:27700"
    assert rec["kept"] == 2 and rec["dropped"]["not_matching_where"] == 2
    assert sorted(am.loc[am["source"] != "osm", "source"]) == ["e.csv:1", "e.csv:2"]


def test_category_column_and_geojson_layer(tmp_path):
    gdf = gpd.GeoDataFrame({"kind": ["library", "gp"], "name": ["A", "B"]},
                           geometry=[shapely.Point(450100, 90100), shapely.Point(451900, 90900)],
                           crs=BNG)
    path = tmp_path / "places.geojson"
    gdf.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
    spec = parse_asset_lists([{"path": str(path), "category_column": "kind", "mode": "add"}])[0]
    am, _, (rec,) = apply_asset_lists(_osm(), [spec], TAX, _areas())
    added = am[am["source"] != "osm"]
    assert dict(zip(added["name"], added["category"], strict=True)) == {"A": "library",
                                                                        "B": "gp"}
    assert set(rec["categories"]) == {"library", "gp"}


def test_hostile_names_are_escaped_on_the_map(tmp_path):
    import folium

    from socialrisk.webmap import add_amenity_layers

    payload = '<img src=x onerror="alert(1)">'
    path = _csv(tmp_path / "l.csv", ["name", "lon", "lat", "opening_hours"],
                [[payload, *ll(450300, 90300), "<script>alert(2)</script>"]])
    am, tax, _ = apply_asset_lists(_osm(), parse_asset_lists([f"{path}:library"]), TAX,
                                   _areas())
    fmap = folium.Map()
    add_amenity_layers(fmap, am, {c: t.label for c, t in tax.items()})
    html = fmap.get_root().render()
    assert payload not in html and "<script>alert(2)" not in html


# ----------------------------------------------------------------- errors


def _error(tmp_path, header, rows, exc=InputError, **kw) -> str:
    path = _csv(tmp_path / "bad.csv", header, rows)
    spec = parse_asset_lists([{"path": str(path), "category": "library", **kw}])[0]
    with pytest.raises(exc) as info:
        apply_asset_lists(_osm(), [spec], TAX, _areas())
    return str(info.value)


def test_missing_coordinate_columns_lists_what_exists(tmp_path):
    msg = _error(tmp_path, ["name", "postcode"], [["A", "PO30 1AA"]])
    assert "has no coordinate columns" in msg and "its columns are name, postcode" in msg


def test_named_coordinate_column_missing(tmp_path):
    msg = _error(tmp_path, ["name", "lng", "lat"], [["A", 1, 2]], x="long", y="lat")
    assert "no column 'long' (x); did you mean 'lng'?" in msg


def test_swapped_latitude_longitude(tmp_path):
    lon, lat = ll(450500, 90500)
    msg = _error(tmp_path, ["name", "longitude", "latitude"], [["A", lat, lon]])
    assert "look swapped" in msg and "swap x and y" in msg


def test_eastings_given_as_longitude_latitude(tmp_path):
    msg = _error(tmp_path, ["name", "e", "n"], [["A", 450500, 90500]], x="e", y="n")
    assert "hold values like 450500, 90500, not longitude/latitude" in msg
    assert 'crs = "EPSG:27700"' in msg


def test_degrees_given_as_eastings(tmp_path):
    msg = _error(tmp_path, ["name", "longitude", "latitude"], [["A", *ll(450500, 90500)]],
                 crs="EPSG:27700")
    assert "look like longitude/latitude degrees" in msg


def test_wrong_crs_puts_everything_outside_the_study_area(tmp_path):
    msg = _error(tmp_path, ["name", "x", "y"], [["A", 450500, 90500]], crs="EPSG:3857")
    assert "none of its 1 located rows lies in the study area" in msg
    assert "check x, y and crs" in msg


def test_unknown_category_names_the_nearest(tmp_path):
    path = _csv(tmp_path / "l.csv", ["name", "lon", "lat"], [["A", *ll(450500, 90500)]])
    spec = parse_asset_lists([{"path": str(path), "category": "librar"}])[0]
    with pytest.raises(ConfigError, match="unknown category 'librar'.*did you mean 'library'"):
        apply_asset_lists(_osm(), [spec], TAX, _areas())
    with pytest.raises(ConfigError, match="did you mean 'library'"):
        check_asset_lists([spec], TAX)
    spec = parse_asset_lists([{"path": str(path), "category": "library", "label": "Libs"}])[0]
    with pytest.raises(ConfigError, match="already exists"):
        check_asset_lists([spec], TAX)


def test_unknown_category_in_a_category_column(tmp_path):
    path = _csv(tmp_path / "l.csv", ["category", "lon", "lat"],
                [["library", *ll(450500, 90500)], ["pharmcy", *ll(450600, 90500)]])
    spec = parse_asset_lists([str(path)])[0]
    with pytest.raises(ConfigError, match="column 'category': unknown category 'pharmcy'.*"
                                          "did you mean 'pharmacy'"):
        apply_asset_lists(_osm(), [spec], TAX, _areas())


def test_duplicate_and_missing_ids(tmp_path):
    a = ll(450500, 90500)
    msg = _error(tmp_path, ["ref", "lon", "lat"], [["X1", *a], ["X1", *a], ["X2", *a]],
                 id="ref")
    assert "duplicate ids in 'ref': X1" in msg
    msg = _error(tmp_path, ["ref", "lon", "lat"], [["X1", *a], ["", *a]], id="ref")
    assert "empty on 1 row(s) (first: row 2)" in msg


def test_bad_where_column_and_value(tmp_path):
    a = ll(450500, 90500)
    msg = _error(tmp_path, ["phase", "lon", "lat"], [["Primary", *a]], where={"phse": "x"})
    assert "no column 'phse' (where); did you mean 'phase'?" in msg
    msg = _error(tmp_path, ["phase", "lon", "lat"], [["Primary", *a], ["Secondary", *a]],
                 where={"phase": "Nursery"})
    assert "no row has phase = ['Nursery']" in msg and "Primary, Secondary" in msg


def test_no_coordinates_fail_under_strict(tmp_path):
    path = _libraries(tmp_path)
    with pytest.raises(InputError, match="1 row.*without usable coordinates.*without --strict"):
        _apply(_spec(path), strict=True)


def test_file_problems(tmp_path):
    for name, match in [("x.xlsx", "are not read"), ("missing.csv", "not found")]:
        spec = parse_asset_lists([{"path": str(tmp_path / name), "category": "library"}])[0]
        if name == "x.xlsx":
            (tmp_path / name).write_bytes(b"PK")
        with pytest.raises(InputError, match=match):
            check_asset_lists([spec], TAX)
    lines = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.LineString(
        [ll(450000, 90000), ll(450500, 90500)])], crs="EPSG:4326")
    lines.to_file(tmp_path / "lines.gpkg", driver="GPKG")
    spec = parse_asset_lists([{"path": str(tmp_path / "lines.gpkg"), "category": "library"}])[0]
    with pytest.raises(InputError, match="holds lines"):
        apply_asset_lists(_osm(), [spec], TAX, _areas())


@pytest.mark.parametrize("item, match", [
    ({"path": "a.csv", "category": "library", "mod": "add"}, "unknown key 'mod'.*'mode'"),
    ({"path": "a.csv", "category": "library", "mode": "swap"}, "replace, add or merge"),
    ({"path": "a.csv"}, "not neither"),
    ({"path": "a.csv", "category": "library", "category_column": "c"}, "not both"),
    ({"path": "a.csv", "category": "Warm Space"}, "lower-case letters"),
    ({"path": "a.csv", "category": "library", "where": {"a": True}}, "where 'a' must be"),
    ({"path": "a.csv", "category": "library", "where": "a=b"}, "where must be a table"),
    ({"path": "a.csv", "category": "library", "crs": "EPSG:99999999"}, "not a known CRS"),
    ({"path": "a.csv", "category": "library", "match_m": 0}, "match_m must be"),
    ({"path": "a.csv", "category": "library", "min_similarity": 2}, "from 0 to 1"),
    ({"path": "a.csv", "category": "library", "x": "lon"}, "give both x and y"),
    ({"path": "a.csv", "category": "library", "name": 3}, "name must be a string"),
    ({"category": "library"}, "needs path"),
    (42, "assets must be a list"),
])
def test_settings_errors(item, match):
    with pytest.raises(ConfigError, match=match):
        parse_asset_lists([item])


def test_command_line_forms_and_toml(tmp_path):
    a, b = parse_asset_lists(["groups.csv", "libs.csv:library"])
    assert (a.path, a.category_column, a.mode) == ("groups.csv", "category", "merge")
    assert (b.path, b.category) == ("libs.csv", "library")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[assets]]\npath = "s.csv"\ncategory = "primary_school"\n'
                   'where = { education_phase = "Primary" }\nmode = "replace"\n')
    s = load_settings(cfg)
    assert s.assets[0].where == {"education_phase": ["Primary"]}
    assert s.as_dict()["assets"][0]["mode"] == "replace"
    assert "assets" in INPUT_SETTINGS  # a path: never replayed from a manifest


# ----------------------------------------------------------------- matching


def test_name_similarity():
    assert normalise_name("St. Mary's C of E Primary") == "saint marys ce primary"
    assert name_similarity("St Mary's Catholic Primary School", "St. Marys RC Primary") == 1.0
    assert name_similarity("Newport CE Aided Primary School",
                           "Newport Church of England Primary") == 1.0
    assert name_similarity("Gurnard Primary School", "Nine Acres Primary School") < 0.6
    assert np.isnan(name_similarity(None, "A"))


def test_matching_is_one_to_one_and_prefers_the_name():
    items = np.array([shapely.Point(0, 0), shapely.Point(5, 0)])
    feats = np.array([shapely.Point(1, 0), shapely.Point(30, 0), shapely.Point(500, 0)])
    m = match_places(items, np.array(["Green Infant School", "Oak Junior School"]),
                     feats, np.array(["Oak Junior", "Green Infants", "Oak Junior"]), 100, 0.6)
    assert dict(zip(m.item.tolist(), m.feature.tolist(), strict=True)) == {0: 1, 1: 0}
    # a feature within reach with another name is a near miss, not a match
    m = match_places(items[:1], np.array(["Ash School"]), feats[:1], np.array(["Elm"]), 100,
                     0.6)
    assert m.item.size == 0 and m.near_misses == 1
    # an unnamed feature within reach matches
    m = match_places(items[:1], np.array(["Ash"]), feats[:1], np.array([None]), 100, 0.6)
    assert m.item.tolist() == [0]


# ----------------------------------------------------------------- the command line


def test_cli_refuses_a_bad_list_before_the_run(tmp_path, capsys, no_compute):
    path = _csv(tmp_path / "l.csv", ["name", "postcode"], [["A", "PO30"]])
    out = tmp_path / "out"
    line = cli_error(["run", "--assets", f"{path}:library", "--out", str(out)], capsys, out)
    assert "no coordinate columns" in line and "its columns are name, postcode" in line
    line = cli_error(["run", "--assets", f"{path}:libary", "--out", str(out)], capsys, out)
    assert "did you mean 'library'" in line


def test_cli_swapped_coordinates_are_one_line_during_the_run(cowes, tmp_path, capsys):
    pts = gpd.read_file(cowes.areas).representative_point()
    path = _csv(tmp_path / "l.csv", ["name", "longitude", "latitude"],
                [["A", pts.y[0], pts.x[0]]])
    out = tmp_path / "out"
    line = cli_error(["run", "--osm", str(cowes.pbf), "--areas", str(cowes.areas),
                      "--area-id", "lsoa11_code", "--no-download", "--no-map", "--quiet",
                      "--assets", f"{path}:library", "--out", str(out)], capsys, out)
    assert "look swapped" in line


def test_cli_run_with_a_list(cowes, tmp_path):
    """Cowes with a council list (each row's category in a column): the source column."""
    from socialrisk.cli import main

    pts = gpd.read_file(cowes.areas).representative_point()
    path = _csv(tmp_path / "warm_spaces.csv", ["category", "name", "longitude", "latitude"],
                [["library", "Cowes warm library", pts.x[0], pts.y[0]],
                 ["community_centre", "Northwood warm room", pts.x[1], pts.y[1]]])
    out = tmp_path / "out"
    code = main(["run", "--osm", str(cowes.pbf), "--areas", str(cowes.areas), "--area-id",
                 "lsoa11_code", "--no-download", "--no-map", "--quiet", "--assets", str(path),
                 "--out", str(out)])
    assert code == 0
    am = gpd.read_file(out / "amenities.gpkg", layer="amenities")
    assert am["source"].notna().all()
    assert set(am["source"]) - {"osm"} <= {"warm_spaces.csv:1", "warm_spaces.csv:2"}
    m = json.loads((out / "manifest.json").read_text())
    (rec,) = m["inputs"]["assets"]
    assert rec["kept"] == 2 and rec["mode"] == "merge"
    assert m["settings"]["assets"][0]["path"] == str(path)


# ----------------------------------------------------------------- the real register


GIAS = ENGLAND / "gias_schools_2025.csv"


def _gias_config(tmp_path: Path, mode: str) -> Path:
    cfg = tmp_path / f"gias_{mode}.toml"
    cfg.write_text(f"""file7_download = false
map = false
deprivation = ["{IOW_FILE7}"]

[[assets]]
path = "{GIAS}"
category = "primary_school"
where = {{ education_phase = "Primary" }}
name = "establishment_name"
x = "longitude"
y = "latitude"
capacity = "number_of_pupils"
id = "urn"
mode = "{mode}"
""")
    return cfg


@pytest.mark.slow
@needs_shared
def test_gias_primary_schools_on_the_isle_of_wight(tmp_path):
    """The DfE register replacing (and merged with) OSM's primary schools on the island."""
    from socialrisk.cli import main

    runs = {}
    for mode in ("base", "replace", "merge"):
        out = tmp_path / mode
        args = ["run", "--no-download", "--no-map", "--quiet", "--deprivation", str(IOW_FILE7),
                "--out", str(out)]
        if mode != "base":
            args = ["run", "--config", str(_gias_config(tmp_path, mode)), "--quiet",
                    "--out", str(out)]
        assert main(args) == 0
        runs[mode] = (pd.read_csv(out / "areas.csv").set_index("area_id"),
                      json.loads((out / "manifest.json").read_text()),
                      gpd.read_file(out / "amenities.gpkg", layer="amenities"))
    _, m, am = runs["replace"]
    (rec,) = m["inputs"]["assets"]
    assert rec["rows_read"] == 27153 and rec["kept"] == 35
    assert rec["dropped"] == {"not_matching_where": 10437, "no_coordinates": 0,
                              "outside_study_area": 16681}
    counts = rec["categories"]["primary_school"]
    assert {k: counts[k] for k in ("list_items", "osm_in_area", "matched", "list_only",
                                   "osm_only", "osm_removed")} == {
        "list_items": 35, "osm_in_area": 44, "matched": 34, "list_only": 1, "osm_only": 10,
        "osm_removed": 44}
    schools = am[am["category"] == "primary_school"]
    assert len(schools) == 35 and schools["source"].str.startswith("gias_schools_2025.csv:").all()
    supply = m["access"]["categories"]["primary_school"]["e2sfca_supply"]
    assert supply["supply"] == "capacity" and supply["tagged"] == 35
    _, m2, am2 = runs["merge"]
    assert (am2["category"] == "primary_school").sum() == 45  # 35 + 10 OSM-only
    base, after = runs["base"][0], runs["replace"][0]
    col = "primary_school_nearest_m"
    changed = int((~np.isclose(base[col], after[col])).sum())
    print(f"nearest primary school, median {base[col].median():.0f} -> "
          f"{after[col].median():.0f} m, max {base[col].max():.0f} -> {after[col].max():.0f} m; "
          f"{changed} of 89 areas changed")
    assert changed > 0
