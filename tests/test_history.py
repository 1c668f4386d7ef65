"""``socialrisk runs DIR``: the runs kept under a folder."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import shapely

from socialrisk.cli import main
from socialrisk.history import list_runs
from socialrisk.outputs import write_run_outputs


def _run(folder, started, osm_date, beyond):
    areas = gpd.GeoDataFrame({"area_id": ["x", "y"], "population": [100.0, 300.0],
                              "isolation_risk": [10.0, 30.0],
                              "gp_share_beyond_800m": [0.0, beyond]},
                             geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
                             crs="EPSG:4326")
    am = gpd.GeoDataFrame({"category": []}, geometry=[], crs="EPSG:4326")
    manifest = {"socialrisk_version": "t", "started": started, "settings": {},
                "inputs": {"osm": {"path": "/d/\x1b[31mx.osm.pbf", "data_timestamp": osm_date}},
                "targets": {"study_area": [{"target": "gp_within_800m", "met": beyond < .5}]}}
    write_run_outputs(folder, areas, am, None, manifest)


def test_runs_lists_runs_oldest_first(tmp_path, capsys):
    _run(tmp_path / "2025", "2025-04-01T10:00:00+0000", "2025-03-01T00:00:00Z", 0.5)
    _run(tmp_path / "y" / "2024", "2024-04-01T10:00:00+0000", "2024-03-01T00:00:00Z", 1.0)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "manifest.json").write_text("{not json")
    rows = list_runs(tmp_path)
    assert [r["folder"] for r in rows] == ["y/2024", "2025"]
    # GP within 800 m: 1 - 0.5 * 300 / 400 = 0.625 in 2025, 1 - 300 / 400 = 0.25 in 2024
    assert rows[1]["gp_within_800m"] == 0.625 and rows[0]["gp_within_800m"] == 0.25
    assert rows[1]["population"] == 400 and rows[1]["targets_met"] == "0/1"
    assert "osm 2025-03-01" in rows[1]["data_dates"]
    assert main(["runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "y/2024" in out and "25.0%" in out and "\x1b" not in out
    assert main(["runs", str(tmp_path), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["runs", str(tmp_path / "missing")]) == 2
    pd.read_csv(tmp_path / "2025" / "areas.csv")  # untouched


def test_runs_lists_a_damaged_manifest_as_unreadable_figures(tmp_path, capsys):
    _run(tmp_path / "good", "2025-04-01T10:00:00+0000", "2025-03-01T00:00:00Z", 0.5)
    damaged = {"settings_list": ("settings", ["not", "a", "table"]),
               "beyond_text": ("settings", {"beyond_threshold_m": "abc"}),
               "beyond_null": ("settings", {"beyond_threshold_m": None}),
               "targets_text": ("targets", {"study_area": "all met"}),
               "targets_rows": ("targets", {"study_area": ["met", 1]}),
               "targets_list": ("targets", ["x"])}
    for name, (key, value) in damaged.items():
        _run(tmp_path / name, f"2024-01-01T00:00:00 {name}", "2024-03-01T00:00:00Z", 1.0)
        path = tmp_path / name / "manifest.json"
        m = json.loads(path.read_text())
        m[key] = value
        path.write_text(json.dumps(m))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    rows = {r["folder"]: r for r in list_runs(tmp_path)}
    assert set(rows) == {"good", *damaged}
    assert "unreadable_figures" not in rows["good"] and rows["good"]["areas"] == 2
    for name in damaged:
        assert rows[name]["unreadable_figures"].startswith("unreadable figures: "), name
    assert "beyond_threshold_m is 'abc'" in rows["beyond_text"]["unreadable_figures"]
    assert "study_area" in rows["targets_rows"]["unreadable_figures"]
    assert main(["runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("unreadable figures: ") == len(damaged) and "Traceback" not in out
    assert main(["runs", str(tmp_path), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(damaged) + 1
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
