"""Buildings and residential land use read by GDAL (geo.osm_polygons) against libosmium.

The reference is libosmium's own area assembler (pyosmium), which read the buildings
before: the same features, the same polygons, on the real Isle of Wight extract.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import osmium
import pyogrio
import pytest
import shapely

from geo.osm_polygons import looks_like_osm, polygons_from_osm
from geo.taxonomy import parse_number
from socialrisk.core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
IOW_PBF = ROOT / "data" / "isle_of_wight" / "isle-of-wight-2020-04-22.osm.pbf"
TINY = ROOT / "tests" / "fixtures" / "tiny.osm"


def _libosmium_areas(path: Path, key: str, value: str | None) -> dict:
    """{(osm_type, id): (tags value, levels, geometry)} from pyosmium's area assembler."""
    wkb = osmium.geom.WKBFactory()
    out = {}
    fp = osmium.FileProcessor(str(path)).with_areas(osmium.filter.KeyFilter(key)) \
        .with_filter(osmium.filter.KeyFilter(key))
    for obj in fp:
        if not obj.is_area():
            continue
        v = obj.tags.get(key)
        if (value is None and v == "no") or (value is not None and v != value):
            continue
        if obj.from_way() and obj.tags.get("area") == "no":
            continue
        geom = shapely.from_wkb(wkb.create_multipolygon(obj))
        if shapely.get_num_geometries(geom) == 1:
            geom = shapely.get_geometry(geom, 0)
        out[("way" if obj.from_way() else "relation", obj.orig_id())] = (
            v, parse_number(obj.tags.get("building:levels")), geom)
    return out


@pytest.mark.slow
def test_isle_of_wight_equals_libosmium():
    bld, res, skipped = polygons_from_osm(IOW_PBF)
    ref = _libosmium_areas(IOW_PBF, "building", None)
    assert len(bld) == len(ref) == 59091
    keys = list(zip(bld["osm_type"], bld["osm_id"], strict=True))
    assert set(keys) == set(ref)
    assert bld["building"].tolist() == [ref[k][0] for k in keys]
    np.testing.assert_array_equal(bld["levels"].to_numpy(), [ref[k][1] for k in keys])
    assert int(bld["levels"].notna().sum()) == 2246
    want = np.array([ref[k][2] for k in keys], dtype=object)
    assert (shapely.get_type_id(bld.geometry.to_numpy()) == shapely.get_type_id(want)).all()
    assert shapely.hausdorff_distance(bld.geometry.to_numpy(), want).max() == 0.0
    rref = _libosmium_areas(IOW_PBF, "landuse", "residential")
    assert len(res) == len(rref) == 884
    assert set(zip(res["osm_type"], res["osm_id"], strict=True)) == set(rref)
    # the two unclosed building ways (Appuldurcombe House and one other) are counted
    assert skipped == {"building_not_closed": 2}


def test_tiny_xml_by_hand():
    bld, res, skipped = polygons_from_osm(TINY)
    assert bld["osm_id"].tolist() == [500, 510, 520]  # building=no left out, open way counted
    assert bld["building"].tolist() == ["church", "house", "yes"]
    assert bld["levels"].iloc[1] == 2.0 and np.isnan(bld["levels"].iloc[2])  # "2;3"
    assert res["osm_id"].tolist() == [600]
    assert skipped == {"building_not_closed": 1}
    only, none, _ = polygons_from_osm(TINY, buildings=True, residential=False)
    assert len(only) == 3 and len(none) == 0


def test_only_osm_files_reach_gdal(tmp_path):
    """GDAL opens files by content: a GeoPackage or a VRT named .osm.pbf is never opened."""
    import geopandas as gpd

    real = tmp_path / "real.gpkg"
    gpd.GeoDataFrame({"building": ["yes"]}, geometry=[shapely.box(0, 0, 1, 1)],
                     crs="EPSG:4326").to_file(real, driver="GPKG", layer="multipolygons")
    assert pyogrio.list_layers(real)[0][0] == "multipolygons"  # GDAL itself would read it
    gpkg = tmp_path / "extract.osm.pbf"
    gpkg.write_bytes(real.read_bytes())
    vrt = tmp_path / "extract.osm"
    vrt.write_text('<?xml version="1.0"?><!-- <osm> --><OGRVRTDataSource><OGRVRTLayer '
                   'name="multipolygons"><SrcDataSource>/etc/passwd</SrcDataSource>'
                   '</OGRVRTLayer></OGRVRTDataSource>')
    for bad in (gpkg, vrt):
        assert not looks_like_osm(bad)
        with pytest.raises(InputError, match="does not start like an .osm.pbf"):
            polygons_from_osm(bad)
    assert looks_like_osm(IOW_PBF) and looks_like_osm(TINY)
