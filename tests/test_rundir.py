"""Opening a run's output directory (socialrisk.rundir): app data only, analysis settings only."""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import pytest
from conftest import IOW_FILE7

from socialrisk.core.errors import ConfigError, InputError
from socialrisk.rundir import (
    MAX_MANIFEST_BYTES,
    analysis_settings,
    app_data_dir,
    geopackage_bytes,
    load_run_dir,
    read_manifest,
    settings_from_manifest,
)
from socialrisk.settings import ANALYSIS_SETTINGS, INPUT_SETTINGS, DeprivationSource, Settings


def _manifest(s: Settings) -> dict:
    return json.loads(json.dumps({"settings": s.as_dict()}))  # as written to manifest.json


def test_every_setting_is_either_replayed_or_never_followed():
    """A new setting must be classified: analysis (replayed) or input/output (never)."""
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert not set(ANALYSIS_SETTINGS) & set(INPUT_SETTINGS)
    assert set(ANALYSIS_SETTINGS) | set(INPUT_SETTINGS) == fields


def test_only_analysis_settings_are_replayed(tmp_path):
    deps = [DeprivationSource(path=str(IOW_FILE7), kind="file7")]
    s = Settings(out=str(tmp_path / "x"), walk_speed_kmh=4.0, thresholds_m=[300.0, 900.0],
                 file7_download=False, deprivation=deps, normalisation="minmax",
                 osm="/etc/passwd", areas="../../x", taxonomy="/etc/hosts",
                 cache_dir=str(tmp_path / "evil_cache"), overpass_url="http://127.0.0.1:9/",
                 file7_url="http://127.0.0.1:9/f7.csv", area_id="x")
    s.domains["access"].weight = 0.6
    back = settings_from_manifest(_manifest(s))
    assert back.walk_speed_kmh == 4.0
    assert back.thresholds_m == [300.0, 900.0]
    assert back.normalisation == "minmax"
    assert back.domains["access"].weight == 0.6
    assert [d.column for d in back.domains["access"].indicators] == \
        [d.column for d in s.domains["access"].indicators]
    default = Settings()
    for key in INPUT_SETTINGS:  # paths, URLs, cache and downloads: never taken from a manifest
        if key not in ("map", "quiet"):
            assert getattr(back, key) == getattr(default, key), key
    assert back.map is False and back.quiet is True
    assert analysis_settings(s) == back


def test_manifest_settings_errors():
    with pytest.raises(InputError, match="no 'settings'"):
        settings_from_manifest({"inputs": {}})
    with pytest.raises(ConfigError, match="walk_speed_kmh"):
        settings_from_manifest({"settings": {"walk_speed_kmh": -1.0}})
    with pytest.raises(ConfigError):
        settings_from_manifest({"settings": {"domains": {"a": {"indicators": 3}}}})
    # unknown and non-analysis keys are ignored, not followed
    s = settings_from_manifest({"settings": {"no_such_key": 1, "osm": 5, "walk_speed_kmh": 5.0}})
    assert s.walk_speed_kmh == 5.0 and s.osm == ""


def test_read_manifest_errors(tmp_path):
    with pytest.raises(InputError, match="not a directory"):
        read_manifest(tmp_path / "nope")
    with pytest.raises(InputError, match="no manifest.json"):
        read_manifest(tmp_path)
    with pytest.raises(InputError, match="not a valid path"):
        read_manifest(str(tmp_path) + "\x00x")
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(InputError, match="cannot be read as JSON"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(InputError, match="cannot be read as JSON"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="not a JSON object"):
        read_manifest(tmp_path)
    with open(tmp_path / "manifest.json", "w") as fh:
        fh.write('{"settings": {}, "pad": "')
        fh.write(" " * MAX_MANIFEST_BYTES)
        fh.write('"}')
    with pytest.raises(InputError, match="larger than 10 MB") as info:
        read_manifest(tmp_path)
    assert "\n" not in str(info.value)
    (tmp_path / "manifest.json").write_text('{"settings": {}}')
    assert read_manifest(tmp_path) == {"settings": {}}


def test_run_without_app_data_names_the_fix(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(_manifest(Settings())))
    msg = f"{tmp_path} was written by an older socialrisk without app data; run " \
          f"`socialrisk run ... --out {tmp_path}` again"
    with pytest.raises(InputError) as info:
        app_data_dir(tmp_path)
    assert str(info.value) == msg
    with pytest.raises(InputError, match="older socialrisk without app data"):
        load_run_dir(tmp_path)


def test_load_run_dir_uses_app_data_and_analysis_settings_only(cowes, tmp_path):
    import shutil

    from socialrisk.pipeline import compute, prepare
    from socialrisk.runstore import save_run

    osm = tmp_path / "cowes.osm.pbf"
    shutil.copy(cowes.pbf, osm)
    s = Settings(osm=str(osm), areas=str(cowes.areas), area_id="lsoa11_code",
                 file7_download=False, quiet=True, map=False, walk_speed_kmh=4.0,
                 cache_dir=str(tmp_path / "cache"))
    p = prepare(s)
    r = compute(p)
    run = tmp_path / "run"
    save_run(p, r, run / "app")
    (run / "manifest.json").write_text(json.dumps(_manifest(s)))
    osm.unlink()  # the inputs are never read again
    p2, r2, settings = load_run_dir(run)
    assert len(r2.areas) == len(r.areas)
    assert settings.walk_speed_kmh == 4.0
    assert (settings.osm, settings.areas, settings.cache_dir) == ("", "", "")
    assert p2.settings == settings
    assert r2.areas.drop(columns="geometry").equals(r.areas.drop(columns="geometry"))


def test_geopackage_bytes_reads_back(tmp_path):
    from conftest import IOW_LSOA

    areas = gpd.read_file(IOW_LSOA).head(3)
    data = geopackage_bytes(areas)
    (tmp_path / "a.gpkg").write_bytes(data)
    back = gpd.read_file(tmp_path / "a.gpkg", layer="areas")
    assert len(back) == 3 and list(back["lsoa11_code"]) == list(areas["lsoa11_code"])
