"""Re-creating a run from its output directory (socialrisk.rundir)."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from conftest import IOW_FILE7

from socialrisk.errors import InputError
from socialrisk.rundir import geopackage_bytes, read_manifest, settings_from_manifest
from socialrisk.settings import DeprivationSource, Settings


def _manifest(s: Settings) -> dict:
    return json.loads(json.dumps({"settings": s.as_dict()}))  # as written to manifest.json


def test_settings_round_trip_through_the_manifest(tmp_path):
    deps = [DeprivationSource(path=str(IOW_FILE7), kind="file7")] if IOW_FILE7.is_file() else []
    s = Settings(out=str(tmp_path / "x"), walk_speed_kmh=4.0, thresholds_m=[300.0, 900.0],
                 file7_download=False, deprivation=deps, normalisation="minmax")
    s.domains["access"].weight = 0.6
    back = settings_from_manifest(_manifest(s))
    assert back.walk_speed_kmh == 4.0
    assert back.thresholds_m == [300.0, 900.0]
    assert back.normalisation == "minmax"
    assert back.file7_download is False
    assert back.domains["access"].weight == 0.6
    assert [d.column for d in back.domains["access"].indicators] == \
        [d.column for d in s.domains["access"].indicators]
    assert back.deprivation == deps
    assert back.out == Settings().out  # where a run wrote is not replayed


def test_missing_input_names_the_fix(tmp_path):
    s = Settings(deprivation=[DeprivationSource(path=str(tmp_path / "gone.csv"))])
    with pytest.raises(InputError, match="not found"):
        settings_from_manifest(_manifest(s))
    with pytest.raises(InputError, match="no 'settings'"):
        settings_from_manifest({"inputs": {}})


def test_read_manifest_errors(tmp_path):
    with pytest.raises(InputError, match="not a directory"):
        read_manifest(tmp_path / "nope")
    with pytest.raises(InputError, match="no manifest.json"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(InputError, match="cannot be read as JSON"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"settings": {}}')
    assert read_manifest(tmp_path) == {"settings": {}}


def test_geopackage_bytes_reads_back(tmp_path):
    from conftest import IOW_LSOA

    areas = gpd.read_file(IOW_LSOA).head(3)
    data = geopackage_bytes(areas)
    (tmp_path / "a.gpkg").write_bytes(data)
    back = gpd.read_file(tmp_path / "a.gpkg", layer="areas")
    assert len(back) == 3 and list(back["lsoa11_code"]) == list(areas["lsoa11_code"])
