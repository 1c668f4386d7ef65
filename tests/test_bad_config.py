"""Bad settings in a TOML config or on the command line: one line naming the file, key and fix."""

from __future__ import annotations

import pytest
from conftest import cli_error

from socialrisk.core.errors import ConfigError
from socialrisk.settings import load_settings

CASES = [
    # (toml, expected part of the message)
    ("walk_sped_kmh = 4\n", "unknown config key 'walk_sped_kmh'; did you mean 'walk_speed_kmh'?"),
    ("[domains.access]\nweigth = 1\nindicators = ['gp_nearest_m']\n",
     "unknown key 'weigth' in [domains.access]; did you mean 'weight'?"),
    ("[[deprivation]]\npaht = 'f.csv'\n", "unknown key 'paht' in [[deprivation]]; did you mean"),
    ("walk_speed_kmh = 'fast'\n", "'walk_speed_kmh' must be a number, not 'fast'"),
    ("thresholds_m = 800\n", "thresholds_m must be a list of numbers"),
    ("map = 'yes'\n", "'map' must be true or false, not 'yes'"),
    ("file7_min_rows = 1.5\n", "'file7_min_rows' must be a whole number"),
    ("[domains.access]\nweight = 'high'\nindicators = ['gp_nearest_m']\n",
     "[domains.access] weight must be a number, not 'high'"),
    ("[domains.access]\nweight = 1\nindicators = [{column = 'gp_nearest_m', weight = 'x'}]\n",
     "indicator gp_nearest_m weight must be a number, not 'x'"),
    ("[domains.access]\nweight = 1\nindicators = 'gp_nearest_m'\n", "indicators must be a list"),
    ("[domains.access]\nweight = 1\nindicators = [5]\n", "must be a column name or"),
    ("[[deprivation]]\npath = 5\n", "[[deprivation]] path must be a string, not 5"),
    ("[[deprivation]]\npath = 'f.csv'\ncolumns = 'income'\n", "columns must be a table"),
    ("walk_speed_kmh = 0\n", "walk_speed_kmh must be a walking speed greater than 0"),
    ("walk_speed_kmh = -4.8\n", "walk_speed_kmh must be a walking speed greater than 0"),
    ("walk_speed_kmh = nan\n", "walk_speed_kmh must be a walking speed greater than 0"),
    ("slow_walk_speed_kmh = inf\n", "slow_walk_speed_kmh must be a walking speed"),
    ("thresholds_m = [0, 800]\n", "thresholds_m must be a list of distances greater than 0"),
    ("thresholds_m = [-400]\n", "thresholds_m must be a list of distances greater than 0"),
    ("thresholds_m = []\n", "thresholds_m must be a list of distances greater than 0"),
    ("thresholds_m = [nan]\n", "thresholds_m must be a list of distances greater than 0"),
    ("max_snap_m = 0\n", "max_snap_m must be a distance greater than 0"),
    ("catchment_m = -1\n", "catchment_m must be a distance greater than 0"),
    ("n_drivers = -1\n", "n_drivers must be 0 or more"),
    ("decay = 'gauss'\n", "decay must be gaussian, exponential or linear"),
    ("[domains.access]\nweight = 0\nindicators = ['gp_nearest_m']\n",
     "the domain weights (access) are all 0, so the index would weigh nothing"),
    ("[domains.access]\nweight = -1\nindicators = ['gp_nearest_m']\n",
     "[domains.access] weight must be a number >= 0, not -1.0"),
    ("[domains.access]\nweight = nan\nindicators = ['gp_nearest_m']\n",
     "[domains.access] weight must be a number >= 0, not nan"),
    ("[domains.access]\nweight = 1\nindicators = [{column = 'gp_nearest_m', weight = 0}]\n",
     "all its indicator weights are 0, so it would weigh nothing"),
    ("[domains.access]\nweight = 1\nindicators = [{column = 'gp_nearest_m', weight = -2}]\n",
     "indicator gp_nearest_m weight must be a number >= 0"),
    ("[domains.access]\nweight = 1\nindicators = []\n", "has weight 1 but no indicators"),
    ("walk_speed_kmh = \n", "is not valid TOML (Invalid value (at line 1, column 18))"),
]


@pytest.mark.parametrize("toml, says", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_config_is_refused_naming_the_file(tmp_path, toml, says):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    msg = str(info.value)
    assert says in msg
    assert str(cfg) in msg and "\n" not in msg


def test_relative_weights_are_accepted(tmp_path):
    cfg = tmp_path / "w.toml"
    cfg.write_text("[domains.access]\nweight = 40\nindicators = ['gp_nearest_m']\n"
                   "[domains.deprivation]\nweight = 60\nindicators = ['income_score']\n")
    s = load_settings(cfg)
    assert [d.weight for d in s.domains.values()] == [40.0, 60.0]


def test_flag_errors_name_the_command_line():
    with pytest.raises(ConfigError, match="^command line: walk_speed_kmh must be a walking "
                                          "speed greater than 0"):
        load_settings(None, {"walk_speed_kmh": 0.0})


def test_cli_one_line_no_traceback_no_outputs(tmp_path, capsys):
    out = tmp_path / "out"
    cfg = tmp_path / "bad.toml"
    cfg.write_text("walk_sped_kmh = 4\n")
    line = cli_error(["run", "--config", str(cfg), "--out", str(out)], capsys, out)
    assert line == (f"socialrisk: error: config file {cfg}: unknown config key "
                    f"'walk_sped_kmh'; did you mean 'walk_speed_kmh'?")
    line = cli_error(["run", "--walk-speed", "0", "--out", str(out)], capsys, out)
    assert line.startswith("socialrisk: error: command line: walk_speed_kmh must be")
    line = cli_error(["run", "--config", str(tmp_path / "missing.toml"), "--out", str(out)],
                     capsys, out)
    assert "config file" in line and "not found; give the path to a .toml file" in line


def test_debug_shows_the_traceback(tmp_path):
    from socialrisk.cli import main

    with pytest.raises(ConfigError):
        main(["run", "--walk-speed", "0", "--out", str(tmp_path / "out"), "--debug"])


def test_unknown_indicator_column_suggests_the_nearest(cowes, tmp_path, capsys):
    cfg = tmp_path / "typo.toml"
    cfg.write_text("[domains.access]\nweight = 1\nindicators = ['cafe_pub_nearst_m']\n")
    out = tmp_path / "out"
    line = cli_error(["run", "--areas", str(cowes.areas), "--osm", str(cowes.pbf), "--config",
                      str(cfg), "--out", str(out), "--no-download", "--no-map"], capsys, out)
    assert "did you mean 'cafe_pub_nearest_m'?" in line


def test_a_domains_block_that_leaves_a_default_domain_out_says_so(tmp_path, caplog):
    """[domains.deprivation] alone never silently drops the access domain (issue 12)."""
    from socialrisk.settings import Settings, load_settings

    cfg = tmp_path / "c.toml"
    cfg.write_text('[domains.deprivation]\nweight = 0.5\nindicators = ["income_score"]\n'
                   '[domains.demographic]\nweight = 0\n', encoding="utf-8")
    with caplog.at_level("WARNING"):
        s = load_settings(cfg)
    assert list(s.domains) == ["deprivation", "demographic"]
    assert s.domains["demographic"].weight == 0  # a weight alone: the default indicators
    assert s.domains["demographic"].indicators == Settings().domains["demographic"].indicators
    assert ("the config's [domains] replaces the default domains: access is not scored"
            in caplog.text)
    with pytest.raises(ConfigError, match="--strict refuses a default domain left out"):
        load_settings(cfg, {"strict": True})
    cfg.write_text('[domains.deprivation]\nweight = 1\nindicators = ["income_score"]\n'
                   "[domains.access]\nweight = 0\n[domains.demographic]\nweight = 0\n",
                   encoding="utf-8")
    assert list(load_settings(cfg, {"strict": True}).domains) == [
        "deprivation", "access", "demographic"]
    cfg.write_text("[domains.mine]\nweight = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[domains.mine\] needs indicators"):
        load_settings(cfg)
