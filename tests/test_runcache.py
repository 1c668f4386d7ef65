"""The app's disk cache of runs: reused when nothing changed, recomputed when anything did."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import IOW_LSOA, IOW_PBF

from socialrisk.runcache import load_or_compute, run_key
from socialrisk.settings import Settings

pytestmark = pytest.mark.slow


def test_second_load_comes_from_disk_and_equals_the_first(tmp_path):
    s = Settings(file7_download=False, quiet=True, map=False, cache_dir=str(tmp_path))
    p1, r1, cached1 = load_or_compute(s)
    p2, r2, cached2 = load_or_compute(s)
    assert (cached1, cached2) == (False, True)
    assert p2.network.n_nodes == p1.network.n_nodes
    a, b = r1.areas.drop(columns="geometry"), r2.areas.drop(columns="geometry")
    assert a.equals(b)
    np.testing.assert_array_equal(p2.snapped.origins.offset, p1.snapped.origins.offset)


def test_key_changes_with_settings_and_input_bytes(tmp_path):
    osm = tmp_path / "iow.osm.pbf"
    areas = tmp_path / "areas.geojson"
    shutil.copy(IOW_PBF, osm)
    shutil.copy(IOW_LSOA, areas)
    s = Settings(osm=str(osm), areas=str(areas), area_id="lsoa11_code", file7_download=False)
    k = run_key(s)
    assert k == run_key(Settings(osm=str(osm), areas=str(areas), area_id="lsoa11_code",
                                 file7_download=False, quiet=True))  # display flags ignored
    assert run_key(Settings(osm=str(osm), areas=str(areas), area_id="lsoa11_code",
                            file7_download=False, walk_speed_kmh=3.0)) != k
    with open(areas, "a", encoding="utf-8") as fh:
        fh.write("\n")
    assert run_key(s) != k
    assert run_key(Settings(lad="E06000046")) is None  # downloads are not cached here
