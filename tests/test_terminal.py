"""What `socialrisk run` says in the terminal: one short line per event, and a summary."""

from __future__ import annotations

import logging
import socket

import pytest

from socialrisk.briefing import short_drivers, terminal_summary
from socialrisk.cli import main


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # the embedded Isle of Wight (~12 s)
def test_offline_run_says_each_thing_once(tmp_path, capsys, caplog):
    port = _closed_port()
    cfg = tmp_path / "offline.toml"
    cfg.write_text(f'file7_url = "http://127.0.0.1:{port}/file7.csv"\n'
                   f'cache_dir = "{tmp_path / "cache"}"\n')
    caplog.set_level(logging.INFO)
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--no-map"]) == 0
    lines = [r.getMessage() for r in caplog.records]
    assert lines and max(len(x) for x in lines) <= 300
    about = [x for x in lines if str(port) in x or "File 7" in x]
    assert len(about) == 1, about
    assert about[0].startswith("no deprivation data: File 7 could not be downloaded "
                               "(connection refused") and "--deprivation" in about[0]
    assert not [x for x in lines if "attempt 1" in x]
    skipped = [x for x in lines if "farther than" in x]
    cats = [x.split(":")[0] for x in skipped if "amenities are farther" in x]
    assert cats and len(cats) == len(set(cats))           # each category once ...
    assert not [x for x in skipped if x.startswith("snap:")]  # ... not twice
    out = capsys.readouterr().out.splitlines()
    i = out.index(next(x for x in out if x.startswith("Highest isolation risk")))
    areas = out[i + 1:i + 11]
    assert len(areas) == 10 and all(x.startswith("  E010") and "decile" in x for x in areas)
    assert out[i + 11].startswith("Outputs in ")
    assert "areas.csv" in " ".join(out[i + 12:]) and "manifest.json" in " ".join(out[i + 12:])
    assert max(len(x) for x in out) <= 300


def test_quiet_prints_one_line(cowes, tmp_path, capsys):
    assert main(["run", "--osm", str(cowes.pbf), "--areas", str(cowes.areas),
                 "--area-id", "lsoa11_code", "--no-download", "--no-map", "--quiet",
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("socialrisk: wrote ")


def test_summary_lines_fit_the_width(tmp_path):
    (tmp_path / "areas.csv").write_text(
        "area_id,area_name,isolation_risk,isolation_risk_decile,isolation_risk_drivers\n"
        + "".join(f"E0100000{i},Place {i},{i}.0,{10 - i},far from a GP: {i} km; old\n"
                  for i in range(1, 8)))
    (tmp_path / "manifest.json").write_text('{"outputs": {"areas.csv": {}, "app/x.json": {}}}')
    lines = terminal_summary(tmp_path, width=50, n=3)
    assert lines[0].startswith("Highest isolation risk (3 of 7 areas")
    assert lines[1].startswith("  E01000007  Place 7") and max(len(x) for x in lines) <= 50
    assert lines[-2].startswith("Outputs in ") or lines[-2].endswith("...")
    assert lines[-1] == "  app/, areas.csv, manifest.json"
    assert short_drivers("far from a GP: 6.3 km, longest; old") == "far from a GP; old"


def test_no_summary_without_areas(tmp_path):
    assert terminal_summary(tmp_path)[0].startswith("Outputs in ")


