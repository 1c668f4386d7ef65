"""Absolute walking-distance standards (risk.standards, socialrisk.standards): exact cases,
the shipped defaults, the setting, the real Isle of Wight, the site report and the app."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk.standards import (
    DEFAULT_STANDARDS,
    Standard,
    applied_categories,
    evaluate_standards,
    standards_table,
)
from socialrisk.core.errors import ConfigError
from socialrisk.rundir import analysis_settings
from socialrisk.settings import Settings, load_settings, settings_from_mapping
from socialrisk.standards import default_standards_file, parse_standards, read_standards_file
from tests.conftest import IOW_FILE7

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHOP = Standard("shop_800m", "Shop within 800 m", ("shop",), 800.0, "made up")
TWO = Standard("two_800m", "Shop and GP within 800 m", ("shop", "gp"), 800.0)
LABELS = {"shop": "Food shop", "gp": "GP surgery"}
# a point in Sandown: 869 m from the nearest community centre (St Johns Annex), "better
# than 46 % of areas" with the island's File 7 population weights, yet failing 800 m
SITE_46 = (50.66298, -1.15471)


# ---------------------------------------------------------------- exact, by hand


def test_799_passes_800_passes_801_fails_nan_unknown_inf_fails():
    t = pd.DataFrame({"shop_nearest_m": [799.0, 800.0, 801.0, np.nan, np.inf]},
                     index=["a", "b", "c", "d", "e"])
    out = evaluate_standards(t, [SHOP], labels=LABELS)
    assert list(out.index) == ["a", "b", "c", "d", "e"]
    assert out["shop_800m_pass"].dtype == "boolean"
    assert out["shop_800m_pass"].tolist() == [True, True, False, pd.NA, False]
    assert out["standards_failed"].tolist() == [
        "", "", "Shop within 800 m: food shop 801 m", "",
        "Shop within 800 m: food shop not reachable on foot"]


def test_every_category_must_pass_and_unknown_only_when_nothing_fails():
    t = pd.DataFrame({"shop_nearest_m": [100.0, 100.0, 900.0, np.nan],
                      "gp_nearest_m": [700.0, np.nan, np.nan, 1000.0]})
    out = evaluate_standards(t, [TWO], labels=LABELS)
    assert out["two_800m_pass"].tolist() == [True, pd.NA, False, False]
    assert out["standards_failed"].tolist()[2:] == [
        "Shop and GP within 800 m: food shop 900 m",
        "Shop and GP within 800 m: GP surgery 1,000 m"]


def test_several_failed_standards_are_listed_in_order():
    far = Standard("shop_400m", "Shop within 400 m", ("shop",), 400.0)
    out = evaluate_standards(pd.DataFrame({"shop_nearest_m": [1234.4]}), [SHOP, far],
                             labels=LABELS)
    assert out["standards_failed"].iloc[0] == ("Shop within 800 m: food shop 1,234 m; "
                                               "Shop within 400 m: food shop 1,234 m")


def test_people_who_cannot_reach_count_at_the_search_limit():
    # 500 m for the half who can reach; the other half at 20 km: mean 10,250 m
    t = pd.DataFrame({"shop_nearest_m": [500.0, 500.0], "shop_unreachable_share": [0.5, 0.0]})
    out = evaluate_standards(t, [SHOP], labels=LABELS, max_distance_m=20000.0)
    assert out["shop_800m_pass"].tolist() == [False, True]
    assert out["standards_failed"].iloc[0] == "Shop within 800 m: food shop 10,250 m"
    # without the limit only the mean over those who can reach is compared
    assert evaluate_standards(t, [SHOP])["shop_800m_pass"].tolist() == [True, True]


def test_categories_missing_or_fallback_are_said():
    play = DEFAULT_STANDARDS[2]
    assert applied_categories(play, ["green_space", "gp"]) == (
        ["green_space"], "standard 'play_400m': no play_space or playground category in the "
                         "taxonomy, so it is applied to green_space instead")
    assert applied_categories(play, ["playground", "green_space"])[0] == ["playground"]
    cats, note = applied_categories(TWO, ["gp"])
    assert cats == ["gp"] and "shop not in the taxonomy; applied to gp only" in note
    cats, note = applied_categories(SHOP, ["gp"])
    assert cats == [] and "none of which is in the taxonomy" in note
    out = evaluate_standards(pd.DataFrame({"gp_nearest_m": [1.0]}), [SHOP])
    assert out["shop_800m_pass"].isna().all() and out["standards_failed"].iloc[0] == ""


def test_standards_table_of_one_place():
    t = standards_table({"shop_nearest_m": 869.0, "gp_nearest_m": 100.0}, [SHOP, TWO],
                        labels=LABELS)
    assert t["result"].tolist() == ["FAILS", "FAILS"]
    assert t["detail"].tolist() == ["over 800 m: food shop 869 m",
                                    "over 800 m: food shop 869 m; within 800 m: GP surgery 100 m"]
    t = standards_table({"shop_nearest_m": np.nan}, [SHOP], labels=LABELS)
    assert t["result"].tolist() == ["unknown"] and t["passed"].tolist() == [None]


# ---------------------------------------------------------------- the defaults and the setting


def test_shipped_file_holds_the_defaults():
    data = tomllib.loads(default_standards_file().read_text(encoding="utf-8"))
    assert parse_standards(data["standards"]) == list(DEFAULT_STANDARDS)
    assert Settings().standards == list(DEFAULT_STANDARDS)
    names = [s.name for s in DEFAULT_STANDARDS]
    assert names == ["local_services_800m", "green_space_300m", "play_400m",
                     "everyday_services_1200m"]
    assert [s.max_m for s in DEFAULT_STANDARDS] == [800.0, 300.0, 400.0, 1200.0]
    assert all(s.source for s in DEFAULT_STANDARDS)


def test_config_tables_and_file_and_replay(tmp_path: Path):
    f = tmp_path / "mine.toml"
    f.write_text('[[standards]]\nname = "gp_1000m"\nlabel = "GP within 1,000 m"\n'
                 'categories = ["gp"]\nmax_m = 1000\nsource = "our plan"\n', encoding="utf-8")
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'standards = "{f.as_posix()}"\n', encoding="utf-8")
    s = load_settings(cfg)
    assert s.standards == [Standard("gp_1000m", "GP within 1,000 m", ("gp",), 1000.0,
                                    "our plan")]
    inline = tmp_path / "inline.toml"
    inline.write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_settings(inline).standards == s.standards
    # a run records the tables and replays them; never a path
    assert analysis_settings(s.as_dict()).standards == s.standards
    with pytest.raises(ConfigError, match="read only from a config file"):
        analysis_settings({**s.as_dict(), "standards": str(f)})
    assert read_standards_file(f)[0]["name"] == "gp_1000m"


@pytest.mark.parametrize("table, message", [
    ({"name": "x", "categories": ["gp"], "max_m": 1, "colour": "red"}, "unknown key"),
    ({"name": "Bad Name", "categories": ["gp"], "max_m": 1}, "lower-case"),
    ({"name": "x", "categories": [], "max_m": 1}, "categories is empty"),
    ({"name": "x", "categories": ["gp"], "max_m": 0}, "greater than 0"),
    ({"name": "x", "categories": ["gp"], "max_m": 1e9}, "at most 20,000 m"),
    ({"name": "x", "categories": ["gp"], "max_m": "800"}, "distance in metres"),
    ({"name": "x", "max_m": 800}, "needs categories"),
])
def test_bad_tables_are_refused_with_the_fix(table, message):
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping({"standards": [table]})


def test_a_name_twice_and_a_bad_file_are_refused(tmp_path: Path):
    one = {"name": "x", "categories": ["gp"], "max_m": 800}
    with pytest.raises(ConfigError, match="given twice"):
        parse_standards([one, one])
    bad = tmp_path / "bad.toml"
    bad.write_text("[other]\na = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="only \\[\\[standards\\]\\] tables"):
        read_standards_file(bad)
    with pytest.raises(ConfigError, match="not found"):
        read_standards_file(tmp_path / "missing.toml")


# ---------------------------------------------------------------- the real Isle of Wight


@pytest.mark.slow
def test_iow_areas_failing_each_standard(iow_prepared):
    p, r = iow_prepared
    a = r.areas
    cols = [f"{s.name}_pass" for s in DEFAULT_STANDARDS]
    assert all(c in a.columns for c in cols) and "standards_failed" in a.columns
    failing = {c: int(a[c].astype("boolean").eq(False).sum()) for c in cols}
    unknown = {c: int(a[c].isna().sum()) for c in cols}
    print("areas failing:", failing, "unknown:", unknown)
    assert unknown == dict.fromkeys(cols, 0)
    if IOW_FILE7.is_file():  # population-weighted means (File 7 population)
        assert failing == {"local_services_800m_pass": 66, "green_space_300m_pass": 62,
                           "play_400m_pass": 51, "everyday_services_1200m_pass": 62}
        assert int((a["standards_failed"] == "").sum()) == 9
    # play falls back to green space (400 m): every area passing 300 m passes 400 m
    assert not (a["green_space_300m_pass"] & ~a["play_400m_pass"].astype(bool)).any()
    assert any("applied to green_space instead" in n for n in r.manifest["notes"])
    # the text says the same as the columns
    loc = a["local_services_800m_pass"].astype(bool)
    assert (a.loc[~loc, "standards_failed"].str.contains("Local everyday services")).all()
    assert not a.loc[loc, "standards_failed"].str.contains("Local everyday services").any()


@pytest.mark.slow
def test_iow_site_fails_a_standard_while_better_than_many_areas(iow_prepared):
    from socialrisk.report import site_report_html
    from socialrisk.screening import screen_site

    p, r = iow_prepared
    sc = screen_site(p, SITE_46[1], SITE_46[0], areas=r.areas)
    cc = sc.table.set_index("category").loc["community_centre"]
    assert 860 < cc["nearest_m"] < 880 and cc["better_than_share"] > 0.4
    if IOW_FILE7.is_file():
        assert cc["comparison"] == ("better than 46 % of areas for community centre or "
                                    "village hall access")
    local = sc.standards.set_index("standard").loc["local_services_800m"]
    assert local["result"] == "FAILS"
    assert local["detail"].startswith("over 800 m: community centre or village hall 869 m")
    doc = site_report_html(sc)
    assert "Against walking-distance standards" in doc
    assert ("<td>Local everyday services within 800 m (10 minutes&#x27; walk)</td>"
            "<td style=\"color:#b2182b;font-weight:bold\">FAILS</td>") in doc
    assert "Manual for Streets" in doc and "better than" in doc


# ---------------------------------------------------------------- the app


@pytest.mark.slow
def test_app_underserved_fails_standard_filter_and_site_and_profile():
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"),
                           default_timeout=180)
    at.session_state["site_point"] = SITE_46
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    def count() -> int:
        cap = [c.value for c in at.caption if "areas, highest isolation risk first" in c.value]
        return int(cap[0].split(" of ")[0])

    assert count() == 89
    ms = at.multiselect(key="under_standards")
    assert ms.options[0].startswith("Local everyday services within 800 m")
    ms.set_value(["local_services_800m"]).run()
    n_local = count()
    table = [d.value for d in at.dataframe if "Walking standards not met" in d.value.columns][0]
    assert 0 < n_local < 89 and len(table) == n_local
    assert table["Walking standards not met"].str.contains("Local everyday services").all()
    at.multiselect(key="under_standards").set_value(
        ["local_services_800m", "green_space_300m"]).run()
    assert count() <= n_local
    print("app (no File 7): areas failing local services:", n_local,
          "and green space too:", count())

    # the site page: FAILS next to the relative "better than" wording
    words = [m.value for m in at.markdown]
    fails = [w for w in words if "FAILS" in w and "Local everyday services within 800 m" in w]
    assert fails and "community centre or village hall 869 m" in fails[0]
    assert any(w.startswith("- Better than") and "community centre" in w for w in words)

    # the area profile: a pass / fail table
    at.selectbox(key="explore_pick").set_value("E01017299").run()
    assert not at.exception, [e.value for e in at.exception]
    prof = [d.value for d in at.dataframe if "Standard" in d.value.columns][0]
    row = prof[prof["Standard"].str.startswith("Local everyday services")].iloc[0]
    assert row["Result"] == "FAILS" and "community centre or village hall" in \
        row["Walking distances"]
