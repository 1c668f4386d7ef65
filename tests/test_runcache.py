"""The app's disk cache of runs: reused when nothing changed, recomputed when anything did.

Entries are data-only folders (socialrisk.runstore); a corrupt one is recomputed.
"""

from __future__ import annotations

import logging
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import IOW_LSOA, IOW_PBF

from socialrisk.runcache import load_or_compute, run_key
from socialrisk.runstore import INDEX
from socialrisk.settings import Settings


def _small(cowes, cache: Path) -> Settings:
    return Settings(osm=str(cowes.pbf), areas=str(cowes.areas), area_id="lsoa11_code",
                    file7_download=False, quiet=True, map=False, cache_dir=str(cache))


class _Marker:
    """Unpickling this would create a file: the cache must never unpickle anything."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


@pytest.mark.slow
def test_second_load_comes_from_disk_and_equals_the_first(tmp_path):
    s = Settings(file7_download=False, quiet=True, map=False, cache_dir=str(tmp_path))
    p1, r1, cached1 = load_or_compute(s)
    p2, r2, cached2 = load_or_compute(s)
    assert (cached1, cached2) == (False, True)
    assert p2.network.n_nodes == p1.network.n_nodes
    a, b = r1.areas.drop(columns="geometry"), r2.areas.drop(columns="geometry")
    assert a.equals(b)
    np.testing.assert_array_equal(p2.snapped.origins.offset, p1.snapped.origins.offset)
    entry = tmp_path / "runs" / run_key(s)
    assert (entry / INDEX).is_file()
    assert not list((tmp_path / "runs").glob(".*"))  # no temporary folder left
    assert not list(tmp_path.rglob("*.pkl"))


def test_entry_is_a_data_only_folder_and_a_pickle_is_never_read(cowes, tmp_path):
    marker = tmp_path / "pwned"
    s = _small(cowes, tmp_path / "cache")
    key = run_key(s)
    runs = tmp_path / "cache" / "runs"
    runs.mkdir(parents=True)
    for name in (f"{key}.pkl", "x.pkl"):  # where the old cache kept its pickles
        (runs / name).write_bytes(pickle.dumps(_Marker(marker)))
    p, r, cached = load_or_compute(s)
    assert not cached
    _, r2, cached2 = load_or_compute(s)
    assert cached2 and r2.areas.drop(columns="geometry").equals(r.areas.drop(columns="geometry"))
    assert not marker.exists()
    suffixes = {f.suffix for f in (runs / key).iterdir()}
    assert suffixes <= {".json", ".parquet", ".npz"}


@pytest.mark.slow
def test_corrupt_entry_is_recomputed_with_a_warning(cowes, tmp_path, caplog):
    s = _small(cowes, tmp_path)
    load_or_compute(s)
    entry = tmp_path / "runs" / run_key(s)
    (entry / "origins.parquet").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="socialrisk.runcache"):
        _, r, cached = load_or_compute(s)
    assert not cached and len(r.areas) == 6
    assert any("ignoring unreadable cache entry" in m for m in caplog.messages)
    _, _, cached = load_or_compute(s)  # rewritten: readable again
    assert cached
    shutil.rmtree(entry)
    entry.write_text("not a folder")  # even a file in its place
    _, _, cached = load_or_compute(s)
    assert not cached and (entry / INDEX).is_file()
    assert not list((tmp_path / "runs").glob(".*"))


def test_unwritable_cache_does_not_stop_the_run(cowes, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    s = _small(cowes, blocker)  # runs/ cannot be made under a file
    with caplog.at_level(logging.WARNING, logger="socialrisk.runcache"):
        _, r, cached = load_or_compute(s)
    assert not cached and len(r.areas) == 6
    assert any("could not write the run cache" in m for m in caplog.messages)


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
