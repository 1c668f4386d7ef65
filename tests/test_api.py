"""The public Python API (``import socialrisk as sr``): lazy exports, doctests, real numbers."""

from __future__ import annotations

import ast
import doctest
import importlib
import math
import subprocess
import sys
import tempfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import IOW_FILE7, IOW_LSOA, ROOT, needs_shared

import socialrisk as sr

FUNCTIONS = ["run", "prepare", "compute", "load", "open_run", "run_and_write", "read_areas",
             "access", "isolation_index", "screen_site", "add_facility", "remove_facility"]
OFFLINE = {"file7_download": False, "quiet": True}  # the settings of the docstring examples


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """``(sr.run result, run cache)`` of the embedded default, offline, into an empty cache.

    Computes once (the run cache is empty); the docstring examples then load the
    same run from that cache in about half a second each.
    """
    cache = tmp_path_factory.mktemp("runcache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALRISK_CACHE", str(cache))
        res = sr.run(cache=True, **OFFLINE)
    assert len(list((cache / "runs").iterdir())) == 1  # computed, then kept
    return res, cache


# ---------------------------------------------------------------- the package


def test_import_socialrisk_alone_imports_nothing_heavy():
    code = ("import sys, socialrisk as sr; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('socialrisk', 'geo', 'risk', 'geopandas', 'pandas', 'streamlit', 'osmium'))); "
            "sr.Settings; print('socialrisk.pipeline' in sys.modules); "
            "sr.run; print('socialrisk.pipeline' in sys.modules, 'streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.splitlines()
    assert out == ["['socialrisk']", "False", "True False"]


def test_dir_all_and_lazy_attributes():
    assert set(FUNCTIONS) <= set(dir(sr)) and set(FUNCTIONS) <= set(sr.__all__)
    assert sorted(dir(sr)) == sorted(sr.__all__)
    assert set(sr.__all__) == {"__version__", *sr._EXPORTS}
    for name in sr.__all__:
        assert getattr(sr, name) is not None
    assert sr.run is importlib.import_module("socialrisk.api").run
    assert sr.Settings is importlib.import_module("socialrisk.settings").Settings
    assert sr.DomainSpec is importlib.import_module("risk.index").DomainSpec
    assert issubclass(sr.InputError, sr.SocialRiskError)
    from socialrisk import isolation_index, load_settings  # PEP 562 from-imports
    assert isolation_index is sr.isolation_index and load_settings is sr.load_settings
    with pytest.raises(AttributeError, match="no attribute 'runn'"):
        sr.runn  # noqa: B018
    assert sr.__version__ == "0.1.0"
    assert 'version = "0.1.0"' in (ROOT / "pyproject.toml").read_text()


def test_type_checking_block_names_exactly_the_lazy_exports():
    """The imports for type checkers (never run) name each export from the module it is."""
    tree = ast.parse((ROOT / "socialrisk" / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If)
                 and getattr(n.test, "id", "") == "TYPE_CHECKING")
    seen = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 0
        module = importlib.import_module(node.module)
        for alias in node.names:
            seen[alias.name] = getattr(module, alias.name)
    assert set(seen) == set(sr._EXPORTS)
    assert all(obj is getattr(sr, name) for name, obj in seen.items())


# ---------------------------------------------------------------- doctests and runs


def _doctests(names_excluded=(), only=None):
    api = importlib.import_module("socialrisk.api")
    tests = doctest.DocTestFinder().find(api, extraglobs={"sr": sr})
    return [t for t in tests if t.examples and t.name.split(".")[-1] not in names_excluded
            and (only is None or t.name.endswith(f".{only}"))]


def _run_doctests(tests, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the examples' temp folders
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    return runner.summarize(verbose=False)


def test_docstring_examples_run(offline, monkeypatch, tmp_path):
    monkeypatch.setenv("SOCIALRISK_CACHE", str(offline[1]))
    tests = _doctests(names_excluded=("run_and_write",))
    assert {t.name.split(".")[-1] for t in tests} >= set(FUNCTIONS) - {"open_run",
                                                                       "run_and_write"}
    result = _run_doctests(tests, monkeypatch, tmp_path)
    assert result.failed == 0 and result.attempted >= 40


@pytest.mark.slow
def test_run_and_write_example_runs(monkeypatch, tmp_path):
    result = _run_doctests(_doctests(only="run_and_write"), monkeypatch, tmp_path)
    assert result.failed == 0 and result.attempted == 5


def test_run_embedded_default(offline):
    a = offline[0].areas
    assert isinstance(a, gpd.GeoDataFrame) and len(a) == 89 and a["area_id"].is_unique
    assert a.crs.to_epsg() == 27700
    assert str(a["isolation_risk_decile"].dtype) == "Int64"
    assert sorted(a["isolation_risk_decile"].unique()) == list(range(1, 11))
    assert sorted(a["isolation_risk_rank"]) == list(range(1, 90))
    assert offline[0].manifest["index"]["domains_used"] == ["access"]


@needs_shared
def test_run_without_osm_from_file7_paths_as_path_objects():
    """No OSM, the real File 7: the index from deprivation and demographics; fast."""
    res = sr.run(areas=IOW_LSOA, area_id="lsoa11_code", osm="none", deprivation=IOW_FILE7,
                 **OFFLINE)  # pathlib.Path values are taken as paths
    a = res.areas
    assert len(a) == 89 and sorted(a["isolation_risk_decile"].unique()) == list(range(1, 11))
    assert res.manifest["index"]["domains_used"] == ["deprivation", "demographic"]
    assert a["gp_nearest_m"].isna().all()  # unknown, not 0


def test_settings_errors_name_the_keyword_not_the_command_line():
    with pytest.raises(sr.ConfigError, match="did you mean 'walk_speed_kmh'") as exc:
        sr.run(walk_sped_kmh=3.0)
    assert "command line" not in str(exc.value)
    with pytest.raises(sr.ConfigError, match="walk_speed_kmh must be a walking speed"):
        sr.prepare(sr.Settings(), walk_speed_kmh=-1.0)
    with pytest.raises(TypeError, match="settings must be"):
        sr.run(42)


# ---------------------------------------------------------------- access


def test_access_equals_the_pipeline_columns_exactly(iow_prepared):
    p, r = iow_prepared
    acc = sr.access(p)
    assert isinstance(acc, gpd.GeoDataFrame) and acc.crs == r.areas.crs
    assert acc.index.equals(r.areas.index) and acc.index.equals(p.areas.index)
    cols = [c for c in acc.columns if c != "geometry"]
    assert len(cols) > 100 and set(cols) <= set(r.areas.columns)
    for c in cols:
        assert acc[c].equals(r.areas[c]), c
    assert acc.geometry.geom_equals_exact(r.areas.geometry, 0).all()
    gp = sr.access(p, ["gp", "library"])  # a subset: the same numbers
    assert [c for c in gp.columns if c.startswith(("gp_", "library_"))] == [
        c for c in acc.columns if c.startswith(("gp_", "library_"))]
    for c in gp.columns.drop("geometry"):
        assert gp[c].equals(acc[c]), c


def test_access_refuses_unknown_categories_and_preparation_settings(iow_prepared):
    p, _ = iow_prepared
    with pytest.raises(sr.InputError, match="did you mean 'gp'"):
        sr.access(p, ["gpp"])
    with pytest.raises(sr.ConfigError, match="max_snap_m cannot be changed on a prepared run"):
        sr.access(p, ["gp"], max_snap_m=100.0)
    with pytest.raises(sr.ConfigError, match="walk_speed_kmh must be"):
        sr.access(p, ["gp"], walk_speed_kmh=0.0)


def test_access_at_another_speed_leaves_the_prepared_run_as_it_was(iow_prepared):
    p, r = iow_prepared
    before = (p.settings.walk_speed_kmh, dict(p.manifest["settings"]))
    slow = sr.access(p, ["gp"], walk_speed_kmh=3.0)
    assert (p.settings.walk_speed_kmh, p.manifest["settings"]) == before
    assert np.allclose(slow["gp_walk_min"], r.areas["gp_nearest_m"] / 50.0, equal_nan=True)
    assert slow["gp_nearest_m"].equals(r.areas["gp_nearest_m"])


# ---------------------------------------------------------------- the index


def _f(r: float) -> float:
    """The IoD exponential transformation, written out (docs/method.md 5.2)."""
    return -23.0 * math.log(1.0 - r * (1.0 - math.exp(-100.0 / 23.0)))


def test_isolation_index_on_a_hand_made_table():
    # index out of order on purpose: results follow the input index
    t = pd.DataFrame({"gp_nearest_m": [np.nan, 1500.0, 500.0, 900.0],
                      "share_60_plus": [np.nan, 0.3, 0.2, 0.5], "note": list("wxyz")},
                     index=pd.Index(["d", "b", "a", "c"], name="area_id"))
    doms = {"access": sr.DomainSpec(0.5, [sr.IndicatorSpec("gp_nearest_m")]),
            "demographic": sr.DomainSpec(0.5, [sr.IndicatorSpec("share_60_plus")])}
    out = sr.isolation_index(t, doms)
    # N = 3 areas with values. gp ranks (worst = 3): a 1, c 2, b 3; shares: a 1, b 2, c 3.
    # One indicator per domain, re-normalised with the same ranks: score = f(rank / 3).
    exp_access = {"a": _f(1 / 3), "c": _f(2 / 3), "b": 100.0}
    exp_demo = {"a": _f(1 / 3), "b": _f(2 / 3), "c": 100.0}
    for k in "abc":
        assert out.loc[k, "access_score"] == pytest.approx(exp_access[k], abs=1e-9)
        assert out.loc[k, "demographic_score"] == pytest.approx(exp_demo[k], abs=1e-9)
        risk = 0.5 * exp_access[k] + 0.5 * exp_demo[k]
        assert out.loc[k, "isolation_risk"] == pytest.approx(risk, abs=1e-9)
    # b and c tie at (f(2/3) + 100) / 2 and share rank 1; a is 3rd. Deciles ceil(10 r / 3).
    assert out["isolation_risk_rank"].tolist() == [pd.NA, 1, 3, 1]
    assert out["isolation_risk_decile"].tolist() == [pd.NA, 4, 10, 4]
    assert str(out["isolation_risk_decile"].dtype) == "Int64"
    assert math.isnan(out.loc["d", "isolation_risk"])
    assert out.loc["d", "isolation_risk_drivers"] == ""
    assert out.loc["d", "isolation_risk_missing"] == "gp_nearest_m,share_60_plus"
    assert out.index.equals(t.index) and out["note"].tolist() == list("wxyz")
    assert "isolation_risk" not in t.columns  # the input is left as it was
    assert out.attrs["isolation_index"]["domains_used"] == ["access", "demographic"]
    # the TOML form and new weights: demographic alone decides
    toml = {"access": {"weight": 1, "indicators": ["gp_nearest_m"]},
            "demographic": {"weight": 1, "indicators": ["share_60_plus"]}}
    only_demo = sr.isolation_index(t, toml, weights={"access": 0.0})
    assert only_demo["isolation_risk_rank"].tolist() == [pd.NA, 2, 3, 1]


def test_isolation_index_reproduces_the_run_and_rescores(iow_prepared):
    p, r = iow_prepared
    again = sr.isolation_index(r.areas, max_distance_m=p.settings.max_distance_m)
    assert isinstance(again, gpd.GeoDataFrame) and list(again.columns) == list(r.areas.columns)
    for c in ["access_score", "isolation_risk", "isolation_risk_rank", "isolation_risk_decile",
              "isolation_risk_missing", "isolation_risk_drivers",
              *[c for c in r.areas if c.endswith("_score")]]:
        assert again[c].equals(r.areas[c]), c
    access_led = sr.isolation_index(r.areas, weights={"access": 0.8, "deprivation": 0.1,
                                                      "demographic": 0.1})
    assert access_led.attrs["isolation_index"]["domains"]["access"]["weight_applied"] == 0.8
    assert not access_led["isolation_risk"].equals(r.areas["isolation_risk"])
    assert sorted(access_led["isolation_risk_decile"].unique()) == list(range(1, 11))


def test_isolation_index_errors_are_one_line_with_the_fix():
    t = pd.DataFrame({"gp_nearest_m": [1.0, 2.0]})
    with pytest.raises(sr.ConfigError, match="unknown domain 'acces'; did you mean 'access'"):
        sr.isolation_index(t, weights={"acces": 1.0})
    with pytest.raises(sr.ConfigError, match="domains: unknown key 'weigth'"):
        sr.isolation_index(t, {"access": {"weigth": 1, "indicators": ["gp_nearest_m"]}})
    with pytest.raises(sr.ConfigError, match="normalisation must be"):
        sr.isolation_index(t, normalisation="rank")
    with pytest.raises(sr.InputError, match="none of the indicator columns"):
        sr.isolation_index(pd.DataFrame({"x": [1.0]}))


# ---------------------------------------------------------------- the walkthrough


def test_docs_walkthrough_covers_every_function():
    text = (ROOT / "docs" / "api.md").read_text()
    missing = [f for f in FUNCTIONS if f"sr.{f}(" not in text]
    assert missing == []
    assert str(IOW_FILE7.name) in text
