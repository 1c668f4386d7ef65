"""Loneliness risk and the lenses: shipped lens files, their domains, every score of a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk.index import DomainSpec, IndicatorSpec, risk_index
from risk.lens import LensSpec, lens_access_column, lens_domains, lens_population
from socialrisk.core.errors import ConfigError
from socialrisk.lenses import available_lenses, lens_from_mapping, load_lens, load_lenses
from socialrisk.scores import filtered_access, score_all
from socialrisk.settings import Settings, load_settings

SHIPPED = ["disabled_people", "language_barriers", "low_income", "older_people",
           "young_people"]


def test_every_shipped_lens_loads():
    assert available_lenses() == SHIPPED
    lenses = load_lenses(SHIPPED)
    older = lenses[SHIPPED.index("older_people")]
    assert older.population == "pop_60_plus" and older.walk_speed == "slow"
    assert older.categories["gp"] == 1.0 and older.categories["post_office"] == 0.5
    assert [i.column for i in older.indicators] == ["idaopi_score", "share_60_plus"]
    disabled = lenses[SHIPPED.index("disabled_people")]
    assert disabled.amenity_filter == {"wheelchair": ("yes", "limited")}
    assert disabled.population_share == "disabled_share"
    young = lenses[SHIPPED.index("young_people")]
    assert {"primary_school", "leisure_centre", "green_space"} <= set(young.categories)


@pytest.mark.parametrize("name, message", [
    ("older_peple", "did you mean 'older_people'"),
    ("../etc/passwd", "unknown lens"),
    ("nope.toml", "not found"),
])
def test_bad_lens_names(name, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_lens(name)


@pytest.mark.parametrize("data, message", [
    ({"label": "x", "categorys": {"gp": 1}}, "unknown key 'categorys'"),
    ({"walk_speed": "fast", "categories": {"gp": 1}}, "walk_speed must be"),
    ({"categories": {"gp": -1}}, "weight of category gp must be a number >= 0"),
    ({"amenity_filter": {"wheelchair": "yes"}, "categories": {"gp": 1}}, "amenity_filter"),
    ({"label": "nothing"}, "needs \\[categories\\] or \\[\\[indicators\\]\\]"),
    ({"indicators": [{"column": "x", "direction": "up"}]}, "direction must be"),
    ({"categories": {"gp": 1}, "min_tag_coverage": 2}, "share from 0 to 1"),
])
def test_bad_lens_content(data, message):
    with pytest.raises(ConfigError, match=message):
        lens_from_mapping("mine", data)


def test_user_lens_file(tmp_path):
    f = tmp_path / "carers.toml"
    f.write_text('label = "Carers"\nwalk_speed = "slow"\n[categories]\ngp = 2\n'
                 'pharmacy = 1\n', encoding="utf-8")
    lens = load_lens(str(f))
    assert lens.name == "carers" and lens.label == "Carers"
    s = load_settings(None, {"lenses": [str(f), "older_people"]})
    assert s.lenses == [str(f), "older_people"]
    with pytest.raises(ConfigError, match="lens older_people is given twice"):
        load_settings(None, {"lenses": ["older_people", "older_people"]})


def test_lens_columns_follow_speed_and_filter():
    slow = LensSpec("a", "A", walk_speed="slow", categories={"gp": 1.0, "ghost": 1.0})
    normal = LensSpec("b", "B", categories={"gp": 1.0})
    wheel = LensSpec("c", "C", walk_speed="slow", amenity_filter={"wheelchair": ("yes",)},
                     categories={"gp": 1.0, "pharmacy": 0.5},
                     indicators=(IndicatorSpec("disabled_share"),))
    assert lens_access_column(slow, "gp") == "gp_walk_min_slow"
    assert lens_access_column(normal, "gp") == "gp_walk_min"
    assert lens_access_column(wheel, "gp") == "gp_wheelchair_nearest_m"
    d = lens_domains(slow, ["gp", "pharmacy"])
    assert list(d) == ["access"] and [i.column for i in d["access"].indicators] == [
        "gp_walk_min_slow"]  # ghost is not in the taxonomy
    d = lens_domains(wheel, ["gp", "pharmacy"], filtered=["gp"])
    assert [(i.column, i.weight) for i in d["access"].indicators] == [
        ("gp_wheelchair_nearest_m", 1.0), ("pharmacy_walk_min_slow", 0.5)]
    assert [i.column for i in d["group"].indicators] == ["disabled_share"]


def test_lens_population():
    t = pd.DataFrame({"population": [100.0, 200.0], "pop_60_plus": [30.0, np.nan],
                      "disabled_share": [0.25, 0.1]}, index=["a", "b"])
    pop, how = lens_population(LensSpec("o", "O", population="pop_60_plus"), t)
    assert pop.tolist()[0] == 30.0 and np.isnan(pop.tolist()[1]) and how == "column pop_60_plus"
    pop, how = lens_population(LensSpec("d", "D", population_share="disabled_share"), t)
    assert pop.tolist() == [25.0, 20.0] and how == "disabled_share x population"
    pop, how = lens_population(LensSpec("l", "L"), t)
    assert pop.tolist() == [100.0, 200.0] and how.startswith("all residents")


def _table() -> pd.DataFrame:
    # four areas; gp distances in metres, one area partly cut off from a GP
    return pd.DataFrame({
        "gp_nearest_m": [400.0, 1200.0, 800.0, 2400.0],
        "gp_unreachable_share": [0.0, 0.0, 0.0, 0.5],
        "income_score": [0.10, 0.30, 0.20, 0.05],
        "rented_share": [0.50, 0.20, 0.40, 0.10],
        "pop_60_plus": [10.0, 20.0, 30.0, 40.0],
        "population": [100.0, 100.0, 100.0, 100.0],
    }, index=pd.Index(["a", "b", "c", "d"], name="area_id"))


def test_loneliness_is_its_own_score():
    s = Settings(domains={"access": DomainSpec(1.0, [IndicatorSpec("gp_nearest_m")])},
                 loneliness_domains={"housing": DomainSpec(1.0, [IndicatorSpec("rented_share")])},
                 max_distance_m=20000.0)
    frame, report, results = score_all(_table(), s, {}, ["gp"])
    # isolation: d is half cut off -> 0.5 * 2400 + 0.5 * 20000 m: the worst
    assert frame["isolation_risk_rank"].tolist() == [4, 2, 3, 1]
    # loneliness ranks by renting alone: a (50 %) first, d (10 %) last
    assert frame["loneliness_risk_rank"].tolist() == [1, 3, 2, 4]
    assert frame["loneliness_risk_decile"].tolist() == [3, 8, 5, 10]
    assert "loneliness_housing_score" in frame and "housing_score" not in frame
    assert frame.loc["a", "loneliness_risk_drivers"].startswith(
        "households renting their home: 50 %, the highest of the 4 areas")
    assert set(results) == {"isolation_risk", "loneliness_risk"}
    assert report["loneliness"]["domains_used"] == ["housing"]


def test_a_score_without_data_is_left_out_with_a_note_and_fails_strict():
    s = Settings(domains={"access": DomainSpec(1.0, [IndicatorSpec("gp_nearest_m")])})
    t = _table().drop(columns=["income_score", "rented_share"])
    frame, report, _ = score_all(t, s, {}, ["gp"])
    assert "loneliness_risk" not in frame
    assert any(n.startswith("loneliness risk not scored: none of its indicators")
               for n in report["notes"])
    s.strict = True
    with pytest.raises(ConfigError, match="--strict refuses to leave a score out"):
        score_all(t, s, {}, ["gp"])


def test_lens_uses_the_slow_minutes_of_the_index_view():
    s = Settings(domains={"access": DomainSpec(1.0, [IndicatorSpec("gp_nearest_m")])},
                 loneliness_domains={}, max_distance_m=20000.0, slow_walk_speed_kmh=3.0)
    lens = LensSpec("older", "Older", population="pop_60_plus", walk_speed="slow",
                    categories={"gp": 1.0})
    frame, report, results = score_all(_table(), s, {"gp": "a GP surgery"}, ["gp"], [lens])
    assert frame["risk_older_rank"].tolist() == [4, 2, 3, 1]
    assert frame["older_population"].tolist() == [10.0, 20.0, 30.0, 40.0]
    # d: (0.5 * 2400 + 0.5 * 20000) m at 3 km/h (50 m/min) = 224 min
    assert frame.loc["d", "risk_older_drivers"] == (
        "walk to a GP surgery at a slower pace: 224 min, the longest of the 4 areas")
    direct = risk_index(pd.DataFrame({"gp_walk_min_slow": [8.0, 24.0, 16.0, 224.0]},
                                     index=_table().index),
                        {"access": DomainSpec(0.5, [IndicatorSpec("gp_walk_min_slow")])},
                        name="x")
    assert np.allclose(frame["risk_older"], direct.frame["x"])
    assert report["lenses"]["older"]["population"] == "column pop_60_plus"


def test_wheelchair_filter_on_the_real_island(iow_prepared):
    """OSM's wheelchair tag on the island: the filter applies only where it is common enough."""
    from socialrisk.stages import access_params

    p, _ = iow_prepared
    disabled = load_lens("disabled_people")
    table, report = filtered_access(
        p, [disabled], access_params(p.settings))
    gp = report["disabled_people"]["gp"]
    # 19 GP surgeries on the island, 2 carry a wheelchair tag (both yes/limited)
    assert (gp["amenities"], gp["tagged"], gp["accepted"]) == (19, 2, 2)
    assert gp["filter_applied"] is False and "every gp place counts" in gp["note"]
    food = report["disabled_people"]["food_shop"]
    assert (food["amenities"], food["tagged"], food["accepted"]) == (103, 33, 32)
    assert food["filter_applied"] is False  # 32 % < 50 %
    loose = LensSpec("loose", "Loose", walk_speed="slow", min_tag_coverage=0.0,
                     amenity_filter={"wheelchair": ("yes", "limited")},
                     categories={"food_shop": 1.0, "community_centre": 1.0})
    table, report = filtered_access(
        p, [loose], access_params(p.settings))
    # 32 accessible food shops are never nearer than the nearest of all 103
    _, result = iow_prepared
    allshops = result.areas.set_index("area_id")["food_shop_nearest_m"]
    both = pd.concat([table["food_shop_wheelchair_nearest_m"], allshops], axis=1).dropna()
    assert len(both) >= 88 and (both.iloc[:, 0] >= both.iloc[:, 1] - 1e-6).all()
    assert (both.iloc[:, 0] > both.iloc[:, 1] + 1).sum() > 10
    assert report["loose"]["community_centre"]["accepted"] == 0
    assert table["community_centre_wheelchair_nearest_m"].isna().all()
    assert len(table) == 89 and table["food_shop_wheelchair_nearest_m"].notna().sum() >= 88


def test_a_lens_file_is_recorded_as_its_table_and_never_replayed_as_a_path(tmp_path):
    from socialrisk.rundir import analysis_settings

    f = tmp_path / "carers.toml"
    f.write_text('label = "Carers"\n[categories]\ngp = 1\n', encoding="utf-8")
    recorded = load_settings(None, {"lenses": [str(f), "older_people"]}).as_dict()
    assert recorded["lenses"] == [{"name": "carers", "label": "Carers",
                                   "categories": {"gp": 1}}, "older_people"]
    f.write_text('label = "Changed since"\n[categories]\npharmacy = 1\n', encoding="utf-8")
    replayed = analysis_settings(recorded)  # the lens as it was when the run was made
    assert load_lenses(replayed.lenses)[0].categories == {"gp": 1.0}
    with pytest.raises(ConfigError, match="files are never read from a run's settings"):
        analysis_settings({"lenses": [str(f)]})


def test_lens_names_that_would_clash_with_score_columns(tmp_path):
    f = tmp_path / "older_people_decile.toml"
    f.write_text("[categories]\ngp = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="would clash with another score column"):
        load_settings(None, {"lenses": ["older_people", str(f)]})
    with pytest.raises(ConfigError, match="must be lower-case letters"):
        load_lens({"name": "Bad Name", "categories": {"gp": 1}})
