"""read_areas on the real Isle of Wight LSOAs written in every supported format."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import ENGLAND, IOW_LSOA, needs_shared
from shapely.geometry import box

from geo.areas import areas_to_crs, choose_projected_crs, read_areas
from socialrisk.core.errors import InputError


@pytest.fixture(scope="module")
def iow() -> gpd.GeoDataFrame:
    return gpd.read_file(IOW_LSOA)


@pytest.fixture(scope="module")
def iow_short(iow) -> gpd.GeoDataFrame:
    """The same areas with ONS-style column names that fit in a Shapefile (10 characters)."""
    return iow.rename(columns={"lsoa11_code": "LSOA11CD", "lsoa11_name": "LSOA11NM"})


def test_geojson_detects_code_column(iow):
    areas, report = read_areas(IOW_LSOA)
    assert list(areas.columns[:2]) == ["area_id", "geometry"]
    assert "lsoa11_name" in areas.columns
    assert len(areas) == 89 and areas["area_id"].is_unique
    assert areas["area_id"].str.startswith("E01").all()
    assert report.id_column == "lsoa11_code" and report.id_detected
    assert report.n_read == report.n_kept == 89
    assert report.as_dict()["crs_in"] == "EPSG:4326"
    assert set(areas.geom_type) <= {"Polygon", "MultiPolygon"}


@pytest.mark.parametrize("driver,name", [("GPKG", "areas.gpkg"), ("ESRI Shapefile", "areas.shp")])
def test_gpkg_and_shapefile_in_bng(iow, iow_short, tmp_path, driver, name):
    out = tmp_path / name
    iow_short.to_crs(27700).to_file(out, driver=driver)
    areas, report = read_areas(out)
    assert report.id_column == "LSOA11CD"
    assert areas.crs.to_epsg() == 27700
    assert sorted(areas["area_id"]) == sorted(iow["lsoa11_code"])


def test_zipped_shapefile(iow_short, tmp_path):
    shp = tmp_path / "shp"
    shp.mkdir()
    iow_short.to_file(shp / "lsoa.shp")
    zpath = tmp_path / "lsoa.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in shp.iterdir():
            zf.write(f, f.name)
    areas, _ = read_areas(zpath, id_column="LSOA11CD")
    assert len(areas) == 89


@needs_shared
def test_geoparquet_england_filtered(tmp_path):
    eng = gpd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet")
    iow21 = eng[eng["lsoa21_name"].str.startswith("Isle of Wight")]
    path = tmp_path / "iow21.parquet"
    iow21.to_parquet(path)
    areas, report = read_areas(path)
    assert report.id_column == "lsoa21_code" and len(areas) == 89


def test_given_id_column_missing_lists_columns(tmp_path):
    with pytest.raises(InputError, match=r"no column 'LSOA21CD'.*lsoa11_code, lsoa11_name"):
        read_areas(IOW_LSOA, id_column="LSOA21CD")


def test_no_obvious_id_column(iow, tmp_path):
    path = tmp_path / "names.gpkg"
    iow[["lsoa11_name", "geometry"]].to_file(path)
    with pytest.raises(InputError, match=r"no obvious area-code column.*--area-id"):
        read_areas(path)
    areas, _ = read_areas(path, id_column="lsoa11_name")
    assert areas["area_id"].iloc[0].startswith("Isle of Wight")


def test_null_and_duplicate_ids(iow, tmp_path):
    nulls = iow.copy()
    nulls.loc[[3, 7], "lsoa11_code"] = None
    nulls.to_file(tmp_path / "nulls.gpkg")
    with pytest.raises(InputError, match=r"2 of 89 rows have no code"):
        read_areas(tmp_path / "nulls.gpkg", id_column="lsoa11_code")
    dups = pd.concat([iow, iow.iloc[[0, 1]]], ignore_index=True)
    dups.to_file(tmp_path / "dups.gpkg")
    first = iow["lsoa11_code"].iloc[0]
    with pytest.raises(InputError, match=rf"2 codes .* more than once \(4 rows, e.g. {first}"):
        read_areas(tmp_path / "dups.gpkg", id_column="lsoa11_code")


def test_points_dropped_invalid_repaired(iow, tmp_path):
    mixed = iow.copy()
    # a real LSOA ring with two vertices swapped: a self-intersecting polygon
    ring = list(shapely.get_exterior_ring(mixed.geometry.iloc[0]).coords)
    for i in range(1, len(ring) - 2):
        swapped = ring[:i] + [ring[i + 1], ring[i]] + ring[i + 2:]
        bad = shapely.Polygon(swapped)
        if not bad.is_valid:
            break
    assert not bad.is_valid
    mixed.loc[0, "geometry"] = bad
    # two more rows: LSOA centroids as points, with their own codes
    pts = iow.iloc[[1, 2]].copy()
    pts["geometry"] = pts.geometry.representative_point()
    pts["lsoa11_code"] = pts["lsoa11_code"] + "-centroid"
    path = tmp_path / "mixed.gpkg"
    pd.concat([mixed, pts], ignore_index=True).to_file(path)
    areas, report = read_areas(path)
    assert report.n_read == 91 and report.n_kept == 89
    assert report.dropped_non_polygon == 2 and report.repaired == 1
    assert areas.geometry.is_valid.all()
    assert len(report.warnings) == 2


def test_only_points_refused(iow, tmp_path):
    pts = iow.copy()
    pts["geometry"] = pts.geometry.representative_point()
    pts.to_file(tmp_path / "points.gpkg")
    with pytest.raises(InputError, match=r"has no polygons \(geometry types: Point\)"):
        read_areas(tmp_path / "points.gpkg")


def test_missing_crs(iow_short, tmp_path):
    lonlat = tmp_path / "lonlat.shp"
    iow_short.to_file(lonlat)
    lonlat.with_suffix(".prj").unlink()
    areas, report = read_areas(lonlat)
    assert report.assumed_crs and areas.crs.to_epsg() == 4326 and report.crs_in == ""
    bng = tmp_path / "bng.shp"
    iow_short.to_crs(27700).to_file(bng)
    bng.with_suffix(".prj").unlink()
    with pytest.raises(InputError, match=r"no coordinate reference system.*ogr2ogr -a_srs"):
        read_areas(bng)


def test_empty_and_missing_file(iow, tmp_path):
    iow.iloc[:0].to_file(tmp_path / "empty.gpkg")
    with pytest.raises(InputError, match="has no rows"):
        read_areas(tmp_path / "empty.gpkg")
    with pytest.raises(InputError, match="not found"):
        read_areas(tmp_path / "nope.gpkg")
    (tmp_path / "junk.geojson").write_text("not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot be read"):
        read_areas(tmp_path / "junk.geojson")


def test_multi_layer_gpkg(iow, tmp_path):
    path = tmp_path / "two.gpkg"
    iow.to_file(path, layer="lsoa")
    iow.assign(geometry=iow.geometry.representative_point()).to_file(path, layer="pts")
    areas, report = read_areas(path)
    assert report.layer == "lsoa" and len(areas) == 89
    with pytest.raises(InputError, match="no layer 'x'; its layers are: lsoa, pts"):
        read_areas(path, layer="x")


def test_choose_projected_crs(iow):
    assert choose_projected_crs(iow) == "EPSG:27700"
    # a study area outside Great Britain (central Paris) gets its UTM zone
    paris = gpd.GeoDataFrame(geometry=[box(2.25, 48.81, 2.42, 48.90)], crs="EPSG:4326")
    assert choose_projected_crs(paris) == "EPSG:32631"
    projected = areas_to_crs(iow)
    assert projected.crs.to_epsg() == 27700
    assert projected.geometry.area.sum() == pytest.approx(3.8e8, rel=0.1)  # the island, ~380 km2
