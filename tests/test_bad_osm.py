"""Bad OpenStreetMap input through the command line, on the real Cowes extract and damaged copies.

Truncated or non-PBF files and extracts without walkable ways are one-line
errors; a category with no amenities and amenities on network islands are
reported in the manifest and give NaN (unknown), never zeros that look like data.
"""

from __future__ import annotations

import json
from pathlib import Path

import osmium
import pandas as pd
import pytest
from conftest import cli_error

from socialrisk.cli import main


def _argv(cowes, osm: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--areas", str(cowes.areas), "--osm", str(osm), "--out", str(out),
            "--no-download", "--no-map", "--cache-dir", str(out.parent / "cache"), *extra]


def _rewrite(src: Path, dst: Path, keep, retag=None) -> None:
    """Copy an extract object by object, dropping (``keep``) or retagging (``retag``) some."""
    with osmium.SimpleWriter(str(dst), overwrite=True) as w:
        for obj in osmium.FileProcessor(str(src)):
            if not keep(obj):
                continue
            tags = retag(obj) if retag else None
            w.add(obj.replace(tags=tags) if tags is not None else obj)


def test_truncated_pbf(cowes, tmp_path, capsys):
    cut = tmp_path / "cut.osm.pbf"
    raw = cowes.pbf.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])
    line = cli_error(_argv(cowes, cut, tmp_path / "out"), capsys, tmp_path / "out")
    assert str(cut) in line and "it is truncated" in line and "download it again" in line


@pytest.mark.parametrize("body, says", [
    (b"", "it is empty (0 bytes)"),
    (b"<!DOCTYPE html><html><head><title>429 Too Many Requests</title></head></html>",
     "it is an HTML page"),
    (None, "could not be read as an OSM file (PBF error"),  # a CSV saved as .osm.pbf
])
def test_not_a_pbf(cowes, tmp_path, capsys, body, says):
    path = tmp_path / "extract.osm.pbf"
    path.write_bytes(body if body is not None else cowes.areas.read_bytes()[:4096])
    line = cli_error(_argv(cowes, path, tmp_path / "out"), capsys, tmp_path / "out")
    assert str(path) in line and says in line and "download" in line


def test_no_walkable_ways(cowes, tmp_path, capsys):
    pois = tmp_path / "pois.osm.pbf"
    _rewrite(cowes.pbf, pois, keep=lambda o: o.is_node() and len(o.tags) > 0)
    line = cli_error(_argv(cowes, pois, tmp_path / "out"), capsys, tmp_path / "out")
    assert "has no walkable ways" in line and "covers the study area" in line


def test_category_with_no_amenities_is_nan_with_a_reason(cowes, tmp_path, capsys):
    """The Cowes library (amenity=library) removed: library indicators are NaN, not 0."""
    nolib = tmp_path / "nolib.osm.pbf"

    def retag(o):
        if o.tags.get("amenity") == "library":
            return {t.k: t.v for t in o.tags if t.k != "amenity"}
        return None

    _rewrite(cowes.pbf, nolib, keep=lambda o: True, retag=retag)
    out = tmp_path / "out"
    assert main(_argv(cowes, nolib, out)) == 0
    err = capsys.readouterr().err
    assert "library: no amenities in the extract" in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["amenities_per_category"]["library"] == 0
    assert "indicators are NaN" in m["access"]["categories"]["library"]
    areas = pd.read_csv(out / "areas.csv")
    lib = [c for c in areas.columns if c.startswith("library_")]
    assert "library_count_800m" in lib and "library_nearest_m" in lib
    assert areas[lib].isna().all().all()  # unknown, never "0 libraries within 800 m"
    assert areas["cafe_pub_nearest_m"].notna().all()


def test_amenities_on_network_islands(cowes, tmp_path, capsys):
    """West and East Cowes have no walkable link (only a chain ferry).

    Keeping the largest network part drops East Cowes' ways, so its GP cannot
    be snapped (reported, NaN); keeping every part, the GP is reachable from
    East Cowes only and West Cowes counts as unable to reach one.
    """
    out = tmp_path / "largest"
    assert main(_argv(cowes, cowes.pbf, out)) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["network"]["dropped_nodes"] > 1000
    assert m["counts"]["snapping"]["categories"]["gp"] == {
        "amenities": 1, "snapped": 0, "unsnapped": 1}
    assert "indicators are NaN" in m["access"]["categories"]["gp"]
    assert pd.read_csv(out / "areas.csv")["gp_nearest_m"].isna().all()

    cfg = tmp_path / "all.toml"
    cfg.write_text('network_keep = "all"\n')
    out = tmp_path / "all"
    assert main(_argv(cowes, cowes.pbf, out, "--config", str(cfg))) == 0
    capsys.readouterr()
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["network"]["dropped_nodes"] == 0
    assert m["counts"]["snapping"]["categories"]["gp"]["snapped"] == 1
    areas = pd.read_csv(out / "areas.csv").set_index("area_id")
    east = areas["gp_unreachable_share"] == 0
    assert east.sum() == 1 and areas.loc[east, "gp_nearest_m"].notna().all()
    west = areas.loc[~east]
    assert (west["gp_unreachable_share"] == 1).all() and west["gp_nearest_m"].isna().all()
    assert (west["gp_count_800m"] == 0).all()  # truly none reachable: a count of 0 is right
