"""App uploads: size limit, allowed types, zipped Shapefiles opened safely (real IoW data)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from conftest import IOW_FILE7, IOW_LSOA, needs_shared

from geo.uploads import read_upload_layer, read_upload_table, safe_extract_zip
from socialrisk.core.errors import InputError


@pytest.fixture(scope="module")
def shapefile_zip(tmp_path_factory) -> bytes:
    d = tmp_path_factory.mktemp("shp")
    g = gpd.read_file(IOW_LSOA).rename(columns={"lsoa11_code": "code", "lsoa11_name": "name"})
    g.to_crs("EPSG:27700").to_file(d / "lsoa.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(d.iterdir()):
            z.write(p, p.name)
    return buf.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in entries.items():
            z.writestr(name, body)
    return buf.getvalue()


def test_geojson_and_zipped_shapefile_read(shapefile_zip):
    g = read_upload_layer(IOW_LSOA.read_bytes(), "areas.geojson")
    assert len(g) == 89
    s = read_upload_layer(shapefile_zip, "areas.zip")
    assert len(s) == 89 and s.crs.to_epsg() == 27700
    assert sorted(s["code"]) == sorted(g["lsoa11_code"])


def test_size_and_type_limits():
    with pytest.raises(InputError, match=r"more than the 1 MB allowed"):
        read_upload_layer(IOW_LSOA.read_bytes() * 20, "big.geojson", max_bytes=1_000_000)
    with pytest.raises(InputError, match=r"type \.kml are not accepted"):
        read_upload_layer(b"<kml/>", "sites.kml")
    with pytest.raises(InputError, match="is empty"):
        read_upload_layer(b"", "sites.geojson")
    with pytest.raises(InputError, match="could not be read as geojson"):
        read_upload_layer(b"{not json", "sites.geojson")


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt"])
def test_zip_entries_escaping_the_temp_dir_are_refused(tmp_path, name):
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(InputError, match="unsafe entry"):
        safe_extract_zip(_zip({name: b"x"}), dest)
    assert not (tmp_path / "evil.txt").exists() and list(dest.iterdir()) == []


def test_zip_bomb_is_stopped_while_extracting(tmp_path):
    bomb = _zip({"lsoa.shp": b"\0" * 5_000_000})  # ~5 kB compressed, ratio ~1000
    with pytest.raises(InputError, match="expands beyond the allowed size"):
        safe_extract_zip(bomb, tmp_path, "bomb.zip")
    with pytest.raises(InputError, match="expands beyond"):
        safe_extract_zip(_zip({"a.shp": b"abc" * 100_000}), tmp_path, max_total=1000,
                         max_ratio=10**6)
    with pytest.raises(InputError, match="holds 3 files"):
        safe_extract_zip(_zip({f"{i}.txt": b"x" for i in range(3)}), tmp_path, max_files=2)


def test_zip_without_exactly_one_shapefile(shapefile_zip):
    with pytest.raises(InputError, match="holds 0 .shp files"):
        read_upload_layer(_zip({"readme.txt": b"hello"}), "x.zip")
    with pytest.raises(InputError, match="not a valid zip"):
        read_upload_layer(b"PK-not-a-zip", "x.zip")


@needs_shared
def test_uploaded_csv_uses_the_robust_reader():
    latin = IOW_FILE7.read_text(encoding="utf-8").encode("latin-1")
    df = read_upload_table(latin, "file7.csv")
    assert len(df) == 89 and "LSOA code (2021)" in df.columns
    with pytest.raises(InputError, match=r"type \.xlsx are not accepted"):
        read_upload_table(b"PK", "file7.xlsx")


def test_app_deprivation_upload_gets_the_same_checks(tmp_path):
    """The sidebar's CSV upload is refused like any other upload, before it is saved."""
    from socialrisk.ui.state import save_upload

    with pytest.raises(InputError, match=r"type \.xlsx are not accepted"):
        save_upload(b"PK\x03\x04", "file7.xlsx")
    with pytest.raises(InputError, match="is empty"):
        save_upload(b"", "file7.csv")
    path = save_upload(b"code,value\nE01017282,1\n", "mine.csv")
    assert path.endswith(".csv") and Path(path).read_bytes().startswith(b"code,value")
