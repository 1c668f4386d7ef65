"""Targets: parsing, progress per study area, ward and district (exact numbers by hand)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import ENGLAND, needs_shared

from geo.wards import read_ward_lookup
from socialrisk.core.errors import ConfigError, InputError
from socialrisk.settings import load_settings
from socialrisk.targets import check_wards_lookup, parse_targets, progress, targets_extra


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


def test_areas_without_population_are_left_out_and_said_so():
    t = parse_targets({"gp_within_800m": 0.5, "gp_walk_min_max": 15})
    areas = AREAS.assign(population=[100.0, None, 200.0, 400.0])
    rows, notes = progress(areas, t, GROUPS.dropna())
    study = rows[rows["scope"] == "study area"].set_index("target")
    # weighted over a, c, d: 1 - (0*100 + 1*200 + .25*400) / 700 = 4/7 (not 0.5625 unweighted)
    assert study.loc["gp_within_800m", "value"] == pytest.approx(4 / 7)
    assert study.loc["gp_within_800m", "population"] == 700.0
    assert study.loc["gp_within_800m", "areas"] == 4
    # the worst area still counts (20 min); residents within 15 min: (100 + 400) / 700
    assert study.loc["gp_walk_min_max", "value"] == 20.0
    assert study.loc["gp_walk_min_max", "share_meeting"] == pytest.approx(5 / 7)
    ward = rows[(rows["scope"] == "ward") & (rows["target"] == "gp_within_800m")]
    assert ward.set_index("code")["value"].to_dict() == pytest.approx({"W1": 1.0, "W2": 0.0})
    left = [n for n in notes if "no population" in n]
    assert len(left) == 2 and "1 of 4 area(s)" in left[0] and "(e.g. b)" in left[0]


def test_no_population_at_all_is_unweighted_and_said_so():
    t = parse_targets({"gp_within_800m": 0.5})
    rows, notes = progress(AREAS.drop(columns="population"), t)
    # each area once: 1 - (0 + .5 + 1 + .25) / 4
    assert rows.loc[0, "value"] == pytest.approx(0.5625)
    assert notes == ["target gp_within_800m: no area has a population, so its figures are "
                     "unweighted (each area counts once, not its residents)"]


def _settings(**kw):
    base = {"targets": parse_targets({"gp_within_800m": 0.5}), "wards_lookup": "",
            "strict": False}
    return SimpleNamespace(**{**base, **kw})


def test_strict_refuses_areas_left_out_of_a_target(tmp_path):
    areas = AREAS.assign(population=[100.0, None, 200.0, 400.0])
    extra = targets_extra(areas, _settings(strict=True), {})
    with pytest.raises(ConfigError, match="no population"):
        extra(tmp_path)


def test_wards_lookup_without_targets_is_left_to_the_ward_tables(tmp_path):
    # a lookup without [targets] still gives wards.csv (socialrisk.grouping): no note here
    manifest: dict = {}
    then = targets_extra(AREAS, _settings(targets={}, wards_lookup="w.csv"), manifest)
    assert then is None
    assert "notes" not in manifest


def test_a_bad_wards_lookup_fails_before_any_output(tmp_path):
    bad = tmp_path / "wards.csv"
    bad.write_text("LSOA21CD,WD24CD\nE01000001,E05000001\n")
    for lookup, msg in [(bad, "has no column for ward_name"),
                        (tmp_path / "missing.csv", "is not a file")]:
        with pytest.raises(InputError, match=msg):
            check_wards_lookup(_settings(wards_lookup=str(lookup)))
        with pytest.raises(InputError, match=msg):  # at once, not when the outputs are written
            targets_extra(AREAS, _settings(wards_lookup=str(lookup)), {})
    good = tmp_path / "good.csv"
    good.write_text("LSOA21CD,WD24CD,WD24NM,LAD24CD,LAD24NM\na,W1,One,D,Dist\n"
                    "b,W1,One,D,Dist\nc,W2,Two,D,Dist\n")
    manifest: dict = {}
    extra = targets_extra(AREAS, _settings(wards_lookup=str(good)), manifest)
    assert manifest["inputs"]["wards_lookup"]["path"] == str(good)
    extra(tmp_path)
    rows = pd.read_csv(tmp_path / "targets.csv")
    assert sorted(rows["scope"].unique()) == ["district", "study area", "ward"]
    assert check_wards_lookup(_settings(targets={}, wards_lookup=str(bad))) is None
