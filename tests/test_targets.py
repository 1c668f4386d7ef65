"""Targets: parsing, progress per study area, ward and district (exact numbers by hand)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import ENGLAND, needs_shared

from geo.wards import read_ward_lookup
from socialrisk.core.errors import ConfigError
from socialrisk.settings import load_settings
from socialrisk.targets import parse_targets, progress


def test_parse_targets_forms_and_errors():
    t = parse_targets({"community_centre_within_800m": 0.9,
                       "gp_walk_min_max": {"value": 15, "by": dt.date(2030, 3, 31),
                                           "start": "2025-04-01"}})
    assert t["community_centre_within_800m"].kind == "within"
    assert t["community_centre_within_800m"].column() == "community_centre_share_beyond_800m"
    assert (t["gp_walk_min_max"].kind, t["gp_walk_min_max"].column()) == ("max", "gp_walk_min")
    assert t["gp_walk_min_max"].by == "2030-03-31"
    for bad, msg in [({"gp_near": 1}, "not a target"), ({"gp_within_800m": 90}, "0 to 1"),
                     ({"gp_walk_min_max": "15"}, "must be a number"),
                     ({"gp_walk_min_max": {"value": 1, "by": "soon"}}, "date"),
                     ({"gp_walk_min_max": {"value": 1, "when": 2}}, "unknown key"),
                     ({"gp_walk_min_max": {"value": 1, "by": "2025-01-01",
                                           "start": "2026-01-01"}}, "after")]:
        with pytest.raises(ConfigError, match=msg):
            parse_targets(bad)


def test_targets_in_a_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[targets]\ngp_walk_min_max = 15\n[targets.library_within_800m]\n"
                   "value = 0.5\nby = 2031-01-31\n")
    s = load_settings(cfg)
    assert s.targets["library_within_800m"].by == "2031-01-31"
    cfg.write_text("[targets]\nlibrary_within_800 = 0.5\n")
    with pytest.raises(ConfigError, match="config file .*not a target"):
        load_settings(cfg)


AREAS = pd.DataFrame({
    "area_id": ["a", "b", "c", "d"],
    "population": [100.0, 300.0, 200.0, 400.0],
    "gp_share_beyond_800m": [0.0, 0.5, 1.0, 0.25],
    "gp_walk_min": [5.0, 12.0, 20.0, 9.0],
})
GROUPS = pd.DataFrame({"ward_code": ["W1", "W1", "W2", None],
                       "ward_name": ["One", "One", "Two", None],
                       "district_code": ["D", "D", "D", None],
                       "district_name": ["Dist", "Dist", "Dist", None]},
                      index=["a", "b", "c", "d"])


def test_progress_by_hand():
    t = parse_targets({"gp_within_800m": {"value": 0.6, "by": "2030-01-01"},
                       "gp_walk_min_max": 15, "gp_count_800m_min": 1})
    rows, notes = progress(AREAS, t, GROUPS.dropna(), today=dt.date(2029, 12, 1))
    study = rows[rows["scope"] == "study area"].set_index("target")
    # within: 1 - (0*100 + .5*300 + 1*200 + .25*400) / 1000 = 0.55
    assert study.loc["gp_within_800m", "value"] == pytest.approx(0.55)
    assert study.loc["gp_within_800m", "gap"] == pytest.approx(0.05)
    assert not study.loc["gp_within_800m", "met"]
    assert study.loc["gp_within_800m", "days_left"] == 31
    # max: the worst area is 20 min; residents in areas within 15 min: 800 / 1000
    assert study.loc["gp_walk_min_max", "value"] == 20.0
    assert study.loc["gp_walk_min_max", "share_meeting"] == pytest.approx(0.8)
    assert study.loc["gp_count_800m_min", "status"].startswith("not measurable")
    ward = rows[(rows["scope"] == "ward") & (rows["target"] == "gp_within_800m")]
    # W1: 1 - (0 + 150) / 400 = 0.625 (met); W2: 0
    assert ward.set_index("code")["value"].to_dict() == pytest.approx({"W1": 0.625, "W2": 0.0})
    assert ward.set_index("code")["met"].to_dict() == {"W1": True, "W2": False}
    assert any("not in the ward lookup" in n for n in notes)
    assert any("gp_count_800m" in n for n in notes)


@needs_shared
def test_ward_lookup_reads_the_ons_file():
    w = read_ward_lookup(ENGLAND / "lookup_lsoa21_ward24_ltla24.csv")
    assert len(w) == 35672 and w.index.is_unique
    assert w.loc["E01017282", "district_code"] == "E06000046"
    assert w.loc["E01017282", "district_name"] == "Isle of Wight"
