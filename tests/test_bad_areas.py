"""Bad area layers through the command line: one-line errors, repairs with warnings, no outputs.

Every file here is the real Cowes LSOAs (cut from the embedded Isle of Wight
data, see ``conftest.cowes``) or a damaged copy of them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import IOW_LSOA, cli_error

from socialrisk.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")


def _argv(cowes, areas, out, *extra) -> list[str]:
    return ["run", "--areas", str(areas), "--osm", str(cowes.pbf), "--out", str(out),
            "--no-download", "--no-map", "--cache-dir", str(out.parent / "cache"), *extra]


@pytest.fixture(scope="module")
def lsoas(cowes):
    return gpd.read_file(cowes.areas)


def _ok(argv, capsys) -> tuple[dict, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    out = argv[argv.index("--out") + 1]
    return json.loads((Path(out) / "manifest.json").read_text()), err


def test_unreadable_file(cowes, tmp_path, capsys):
    bad = tmp_path / "areas.gpkg"
    bad.write_bytes(b"not a geopackage\n" * 20)
    line = cli_error(_argv(cowes, bad, tmp_path / "out"), capsys, tmp_path / "out")
    assert str(bad) in line and "cannot be read" in line and "give a polygon file" in line
    assert "It might help" not in line  # GDAL's driver-prefix advice does not apply


def test_empty_file(cowes, tmp_path, capsys):
    empty = tmp_path / "areas.geojson"
    empty.write_bytes(b"")
    line = cli_error(_argv(cowes, empty, tmp_path / "out"), capsys, tmp_path / "out")
    assert str(empty) in line and "is empty (0 bytes)" in line and "export the areas again" in line


def test_layer_without_rows(cowes, lsoas, tmp_path, capsys):
    path = tmp_path / "areas.gpkg"
    lsoas.iloc[:0].to_file(path)
    line = cli_error(_argv(cowes, path, tmp_path / "out"), capsys, tmp_path / "out")
    assert "has no rows" in line and "one polygon per area" in line


def test_no_polygons(cowes, lsoas, tmp_path, capsys):
    path = tmp_path / "points.gpkg"
    pts = lsoas.copy()
    pts["geometry"] = lsoas.representative_point()
    pts.to_file(path)
    line = cli_error(_argv(cowes, path, tmp_path / "out"), capsys, tmp_path / "out")
    assert "has no polygons (geometry types: Point)" in line and "polygon layer" in line


def test_self_intersecting_and_mixed_geometries_are_repaired_and_reported(
        cowes, lsoas, tmp_path, capsys):
    messy = lsoas.copy()
    x0, y0, x1, y1 = messy.geometry.iloc[0].bounds
    messy.loc[0, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # bowtie
    assert not messy.geometry.iloc[0].is_valid
    extra = lsoas.iloc[:2].copy()
    extra["geometry"] = [lsoas.geometry.iloc[0].boundary, lsoas.geometry.iloc[1].centroid]
    extra["lsoa11_code"] = ["LINE", "POINT"]
    path = tmp_path / "messy.geojson"
    pd.concat([messy, extra], ignore_index=True).to_file(path, driver="GeoJSON")
    m, err = _ok(_argv(cowes, path, tmp_path / "out"), capsys)
    assert "1 invalid polygons repaired with make_valid" in err
    assert "2 point or line rows dropped" in err
    counts = m["counts"]["areas"]
    assert (counts["n_read"], counts["n_kept"], counts["repaired"],
            counts["dropped_non_polygon"]) == (8, 6, 1, 2)
    areas = pd.read_csv(tmp_path / "out" / "areas.csv")
    assert sorted(areas["area_id"]) == sorted(lsoas["lsoa11_code"])


def test_no_crs_with_projected_coordinates(cowes, lsoas, tmp_path, capsys):
    path = tmp_path / "bng.shp"
    lsoas.to_crs(27700).set_crs(None, allow_override=True).to_file(path)
    assert not path.with_suffix(".prj").exists()
    line = cli_error(_argv(cowes, path, tmp_path / "out", "--area-id", "lsoa11_cod"), capsys,
                     tmp_path / "out")
    assert "has no coordinate reference system" in line and "ogr2ogr -a_srs" in line


def test_no_crs_with_degrees_is_assumed_and_reprojected(cowes, lsoas, tmp_path, capsys,
                                                        caplog):
    caplog.set_level(logging.INFO, logger="socialrisk")
    caplog.set_level(logging.INFO, logger="geo")
    path = tmp_path / "lonlat.shp"
    lsoas.set_crs(None, allow_override=True).to_file(path)
    m, err = _ok(_argv(cowes, path, tmp_path / "out", "--area-id", "lsoa11_cod"), capsys)
    assert "has no CRS; its coordinates look like longitude/latitude" in caplog.text
    assert "is in degrees and distances need metres: reprojected to EPSG:27700" in caplog.text
    assert m["counts"]["areas"]["assumed_crs"] is True and m["crs"] == "EPSG:27700"


def test_unknown_crs(cowes, lsoas, tmp_path, capsys):
    path = tmp_path / "local.gpkg"
    local = ('ENGCRS["site grid",EDATUM["site"],CS[Cartesian,2],AXIS["x",east],'
             'AXIS["y",north],LENGTHUNIT["metre",1]]')
    lsoas.to_crs(27700).set_crs(local, allow_override=True).to_file(path)
    line = cli_error(_argv(cowes, path, tmp_path / "out"), capsys, tmp_path / "out")
    assert "cannot be converted to longitude/latitude (site grid)" in line
    assert "ogr2ogr -t_srs EPSG:27700" in line


def test_id_column_missing(cowes, tmp_path, capsys):
    line = cli_error(_argv(cowes, cowes.areas, tmp_path / "out", "--area-id", "LSOA21CD_x"),
                     capsys, tmp_path / "out")
    assert "has no column 'LSOA21CD_x'" in line and "lsoa11_code, lsoa11_name" in line


def test_duplicate_ids(cowes, lsoas, tmp_path, capsys):
    dup = lsoas.copy()
    dup.loc[1, "lsoa11_code"] = dup.loc[0, "lsoa11_code"]
    path = tmp_path / "dup.gpkg"
    dup.to_file(path)
    line = cli_error(_argv(cowes, path, tmp_path / "out"), capsys, tmp_path / "out")
    assert f"appear more than once (2 rows, e.g. {dup.loc[0, 'lsoa11_code']})" in line
    assert "dissolve them to one row per code" in line


def test_null_ids(cowes, lsoas, tmp_path, capsys):
    null = lsoas.copy()
    null.loc[2, "lsoa11_code"] = None
    path = tmp_path / "null.gpkg"
    null.to_file(path)
    line = cli_error(_argv(cowes, path, tmp_path / "out"), capsys, tmp_path / "out")
    assert "1 of 6 rows have no code in column 'lsoa11_code'" in line
    assert "fill them or drop those rows" in line


def _iow(codes: list[str]) -> gpd.GeoDataFrame:
    iow = gpd.read_file(IOW_LSOA)
    return iow[iow["lsoa11_code"].isin(codes)]


# Ventnor and Shanklin, far south of the Cowes extract
SOUTH = ["E01017328", "E01017340"]


def test_areas_entirely_outside_the_extract(cowes, tmp_path, capsys):
    path = tmp_path / "south.gpkg"
    _iow(SOUTH).to_file(path)
    line = cli_error(_argv(cowes, path, tmp_path / "out"), capsys, tmp_path / "out")
    assert "none of its 2 areas overlaps the OpenStreetMap data" in line
    assert "give an OSM extract that covers the areas" in line


def test_areas_entirely_and_partly_outside_are_reported_by_id(cowes, lsoas, tmp_path, capsys):
    iow = gpd.read_file(IOW_LSOA)
    hull = shapely.box(-1.325, 50.735, -1.27, 50.772)
    straddling = iow[iow.intersects(hull.boundary)]["lsoa11_code"].tolist()
    assert straddling
    path = tmp_path / "mixed.gpkg"
    pd.concat([lsoas, _iow(SOUTH + straddling)]).drop_duplicates("lsoa11_code").to_file(path)
    m, err = _ok(_argv(cowes, path, tmp_path / "out"), capsys)
    cov = m["counts"]["areas_osm_coverage"]
    assert sorted(cov["outside"]) == SOUTH
    assert f"2 of {len(lsoas) + 2 + len(straddling)} areas lie entirely outside" in err
    assert all(code in err for code in SOUTH)
    assert cov["partly_outside"] and set(cov["partly_outside"]) <= set(straddling)
    assert all(0.02 < v < 1 for v in cov["partly_outside_share"].values())
    assert "lie partly outside the OpenStreetMap data" in err
    out = pd.read_csv(tmp_path / "out" / "areas.csv").set_index("area_id")
    # nothing to walk on: access is unknown, never a made-up number
    assert out.loc[SOUTH, "cafe_pub_nearest_m"].isna().all()
    assert out.loc[lsoas["lsoa11_code"], "cafe_pub_nearest_m"].notna().all()


def test_an_error_keeps_the_previous_outputs(cowes, lsoas, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_argv(cowes, cowes.areas, out)) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    dup = lsoas.copy()
    dup.loc[1, "lsoa11_code"] = dup.loc[0, "lsoa11_code"]
    dup.to_file(tmp_path / "dup.gpkg")
    capsys.readouterr()
    assert main(_argv(cowes, tmp_path / "dup.gpkg", out)) == 2
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
