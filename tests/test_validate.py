"""``risk.agreement`` on hand-made series, and ``socialrisk validate`` on a real run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import ENGLAND, IOW_FILE7, needs_shared

from risk.agreement import agreement, bootstrap_rho
from socialrisk import validate as validate_module
from socialrisk.cli import main
from socialrisk.outdir import MARKER, sha256_file, write_marker
from socialrisk.validate import score_columns

# --------------------------------------------------------------------------- agreement


def _s(values, ids=None) -> pd.Series:
    ids = ids if ids is not None else [f"A{i:02d}" for i in range(len(values))]
    return pd.Series(values, index=ids, dtype="float64")


def test_perfect_agreement():
    score = _s(np.arange(20.0))
    measure = _s(np.arange(20.0) ** 3)  # monotone: same ranks
    r = agreement(score, measure, n_boot=200)
    assert r["n"] == 20 and r["n_missing"] == 0
    assert r["spearman_rho"] == pytest.approx(1.0)
    assert r["rho_ci95"] == pytest.approx([1.0, 1.0])
    assert r["p_value"] < 1e-10
    assert r["decile_agreement_within_one"] == 1.0
    assert r["decile_agreement_exact"] == 1.0
    assert np.array_equal(np.array(r["decile_table"]), 2 * np.eye(10, dtype=int))


def test_reversal_and_direction():
    score = _s(np.arange(20.0))
    measure = _s(-np.arange(20.0))
    r = agreement(score, measure, n_boot=200)
    assert r["spearman_rho"] == pytest.approx(-1.0)
    assert r["rho_ci95"] == pytest.approx([-1.0, -1.0])
    # deciles 1..10 against 10..1: only the two middle deciles (5 vs 6, 6 vs 5) are within one
    assert r["decile_agreement_within_one"] == pytest.approx(4 / 20)
    flipped = agreement(score, measure, measure_higher_is_worse=False, n_boot=200)
    assert flipped["spearman_rho"] == pytest.approx(1.0)
    assert flipped["decile_agreement_within_one"] == 1.0
    both = agreement(-score, measure, score_higher_is_worse=False, n_boot=200)
    assert both["spearman_rho"] == pytest.approx(-1.0)


def test_decile_agreement_by_hand():
    # 20 areas, score worst first: area i has score rank i + 1, so decile ceil((i + 1) / 2)
    score = _s(np.arange(20.0, 0.0, -1.0))
    # the measure's worst-first order of the areas (position = measure rank - 1)
    order = [0, 1, 4, 5, 2, 3, 10, 11, 8, 9, 6, 7, 19, 18, 17, 16, 15, 14, 13, 12]
    m = np.zeros(20)
    for rank0, area in enumerate(order):
        m[area] = 20 - rank0
    r = agreement(score, _s(m), n_boot=0)
    # score deciles:   1 1 2 2 3 3 4 4 5 5 6 6 7 7 8 8 9 9 10 10
    # measure deciles (area i): areas 0,1 -> 1; 4,5 -> 2; 2,3 -> 3; 10,11 -> 4; 8,9 -> 5;
    #   6,7 -> 6; 19,18 -> 7; 17,16 -> 8; 15,14 -> 9; 13,12 -> 10
    # |difference|: areas 0,1: 0; 2,3: 1; 4,5: 1; 6,7: 2; 8,9: 0; 10,11: 2;
    #   12,13: 3; 14,15: 1; 16,17: 1; 18,19: 3  -> 12 of 20 within one, 4 exact
    assert r["decile_agreement_within_one"] == pytest.approx(12 / 20)
    assert r["decile_agreement_exact"] == pytest.approx(4 / 20)
    table = np.array(r["decile_table"])
    assert table.sum() == 20 and table[0, 0] == 2 and table[1, 2] == 2 and table[3, 5] == 2
    assert table[6, 9] == 2 and table[9, 6] == 2
    # rho from the definition: 1 - 6 sum d^2 / (n (n^2 - 1)) (no ties)
    rank_s = np.arange(1, 21)
    rank_m = np.empty(20)
    rank_m[order] = np.arange(1, 21)
    d2 = ((rank_s - rank_m) ** 2).sum()
    assert r["spearman_rho"] == pytest.approx(1 - 6 * d2 / (20 * 399))
    assert np.isnan(r["rho_ci95"][0])  # n_boot=0: no interval


def test_matching_and_missing():
    score = _s([1.0, 2.0, np.nan, 4.0, 5.0], ids=list("abcde"))
    measure = _s([10.0, 20.0, 30.0, np.nan, 50.0, 60.0], ids=list("abcdez"))
    r = agreement(score, measure, n_boot=50)
    assert r["n"] == 3 and r["n_missing"] == 2  # c and d matched but missing a value; z unmatched
    assert r["spearman_rho"] == pytest.approx(1.0)
    few = agreement(_s([1.0, 2.0]), _s([2.0, 1.0]))
    assert few["n"] == 2 and np.isnan(few["spearman_rho"]) and np.isnan(few["p_value"])


def test_bootstrap_is_seeded_and_contains_rho():
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    r1 = agreement(_s(x), _s(y), n_boot=500, seed=3)
    r2 = agreement(_s(x), _s(y), n_boot=500, seed=3)
    assert r1["rho_ci95"] == r2["rho_ci95"]
    low, high = r1["rho_ci95"]
    assert low < r1["spearman_rho"] < high and high - low < 0.3
    # the chunked bootstrap gives the same interval as one chunk would
    import risk.agreement as ag
    old = ag._CHUNK_VALUES
    try:
        ag._CHUNK_VALUES = 1000
        assert bootstrap_rho(x, y, n_boot=500, seed=3) == pytest.approx(tuple(r1["rho_ci95"]))
    finally:
        ag._CHUNK_VALUES = old


# --------------------------------------------------------------------------- the command

IOW_IDS = [f"E0102{i:04d}" for i in range(20)]  # made-up codes of the LSOA form


def _marker_files(run) -> dict:
    return json.loads((run / MARKER).read_text(encoding="utf-8"))["files"]


@pytest.fixture
def fake_run(tmp_path):
    """A hand-made run folder: 20 areas, ``isolation_risk`` 20..1, two domains; marker written."""
    run = tmp_path / "run"
    run.mkdir()
    risk = np.arange(20.0, 0.0, -1.0)
    pd.DataFrame({"area_id": IOW_IDS, "isolation_risk": risk,
                  "isolation_risk_rank": np.arange(1, 21), "isolation_risk_decile": 1,
                  "access_score": risk[::-1], "deprivation_score": risk,
                  "imd_score": risk,  # an input table's column: not a domain of the index
                  "drivers": "x"}).to_csv(run / "areas.csv", index=False)
    manifest = {"index": {"domains": {"access": {}, "deprivation": {}}},
                "counts": {"areas": {"id_column": "lsoa11_code"}}}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    write_marker(run, {n: sha256_file(run / n) for n in ("areas.csv", "manifest.json")})
    return run


def _csv(path, **cols) -> str:
    pd.DataFrame(cols).to_csv(path, index=False)
    return str(path)


def _error(argv, capsys) -> str:
    """Run the CLI expecting a user error: exit 2, exactly one error line, no traceback."""
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("socialrisk: error:")]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_validate_hand_made(fake_run, tmp_path, capsys):
    measure = _csv(tmp_path / "m.csv", code=IOW_IDS[::-1] + ["E01099999"],
                   value=list(np.arange(1.0, 21.0)) + [5.0])  # same order as the risk
    before = dict(_marker_files(fake_run))
    assert main(["validate", str(fake_run), "--against", measure, "--column", "value",
                 "--n-boot", "100", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "isolation_risk" in out and "+1.00" in out and "100%" in out
    rep = json.loads((fake_run / "validation.json").read_text(encoding="utf-8"))
    assert list(rep["results"]) == ["isolation_risk", "access_score", "deprivation_score"]
    assert rep["n_matched"] == 20 and rep["inputs"]["against"]["id_column"] == "code"
    assert rep["results"]["isolation_risk"]["spearman_rho"] == pytest.approx(1.0)
    assert rep["results"]["access_score"]["spearman_rho"] == pytest.approx(-1.0)
    assert rep["results"]["isolation_risk"]["decile_agreement_within_one"] == 1.0
    assert rep["unmatched"]["file_codes_without_area"] == {"n": 1, "first": ["E01099999"]}
    assert rep["inputs"]["areas"]["sha256"] == sha256_file(fake_run / "areas.csv")
    files = _marker_files(fake_run)
    assert {k: v for k, v in files.items() if k in before} == before  # the run's files kept
    for name in ("validation.json", "validation.png"):
        assert files[name]["sha256"] == sha256_file(fake_run / name)
    assert (fake_run / "validation.png").read_bytes()[:4] == b"\x89PNG"
    # lower is worse: the same measure now disagrees; our earlier files are replaced
    assert main(["validate", str(fake_run), "--against", measure, "--column", "value",
                 "--lower-is-worse", "--n-boot", "0", "--quiet"]) == 0
    rep = json.loads((fake_run / "validation.json").read_text(encoding="utf-8"))
    assert rep["results"]["isolation_risk"]["spearman_rho"] == pytest.approx(-1.0)
    assert _marker_files(fake_run)["validation.json"]["sha256"] == \
        sha256_file(fake_run / "validation.json")
    assert not [p for p in fake_run.iterdir() if p.name.startswith(".socialrisk-part")]


def test_missing_values_are_reported(fake_run, tmp_path, capsys):
    values = list(np.arange(1.0, 21.0))
    values[0] = np.nan
    measure = _csv(tmp_path / "m.csv", code=IOW_IDS[::-1][:19] + ["E01099999"],
                   value=values[:19] + [1.0])
    assert main(["validate", str(fake_run), "--against", measure, "--column", "value",
                 "--id-column", "code", "--n-boot", "0", "--quiet"]) == 0
    rep = json.loads((fake_run / "validation.json").read_text(encoding="utf-8"))
    un = rep["unmatched"]
    assert un["run_areas_without_row"] == {"n": 1, "first": [IOW_IDS[0]]}
    assert un["run_areas_without_value"] == {"n": 1, "first": [IOW_IDS[19]]}
    assert rep["n_matched"] == 18 and rep["results"]["isolation_risk"]["n"] == 18
    assert len(rep["notes"]) == 3


def _unchanged(run, before: dict) -> None:
    assert _marker_files(run) == before
    assert not (run / "validation.png").exists()
    assert not [p for p in run.iterdir() if p.name.startswith(".socialrisk-part")]


def test_refusals(fake_run, tmp_path, capsys):
    before = _marker_files(fake_run)
    good = _csv(tmp_path / "m.csv", code=IOW_IDS, value=np.arange(20.0),
                name=["a"] * 20)
    base = ["validate", str(fake_run), "--against", good, "--column", "value"]
    # not a run folder: a plain folder, a folder of someone else's files, a file
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "areas.csv").write_text("area_id,isolation_risk\n", encoding="utf-8")
    assert "not a socialrisk run folder" in _error(["validate", str(plain), "--against", good,
                                                    "--column", "value"], capsys)
    assert sorted(p.name for p in plain.iterdir()) == ["areas.csv"]
    assert "not a folder" in _error(["validate", good, "--against", good, "--column", "value"],
                                    capsys)
    # FILE missing; column absent (the columns listed); not numeric; id column absent
    assert "not found" in _error(base[:3] + [str(tmp_path / "no.csv"), "--column", "value"],
                                 capsys)
    line = _error(base[:5] + ["valeu"], capsys)
    assert "'valeu' is not in m.csv" in line and "'code', 'value', 'name'" in line
    assert "not numeric" in _error(base[:5] + ["name"], capsys)
    assert "--id-column 'lsoa'" in _error(base + ["--id-column", "lsoa"], capsys)
    # no area matched: LSOA codes of another vintage -> the lookup is suggested
    other = _csv(tmp_path / "o.csv", lsoa21_code=[f"E0103{i:04d}" for i in range(20)],
                 value=np.arange(20.0))
    line = _error(base[:3] + [other, "--column", "value"], capsys)
    assert "no area of the run" in line and "LSOA 2011 to 2021 lookup" in line
    assert "'lsoa11_code' looks like LSOA 2011" in line and "like LSOA 2021" in line
    notcodes = _csv(tmp_path / "n.csv", ward=[f"W{i}" for i in range(20)],
                    value=np.arange(20.0))
    assert "same kind of area codes" in _error(base[:3] + [notcodes, "--column", "value"],
                                               capsys)
    # fewer than 10 matched
    few = _csv(tmp_path / "f.csv", code=IOW_IDS[:9], value=np.arange(9.0))
    assert "only 9 area(s)" in _error(base[:3] + [few, "--column", "value"], capsys)
    # one code, two different values
    dup = _csv(tmp_path / "d.csv", code=IOW_IDS + IOW_IDS[:1], value=np.arange(21.0))
    assert "several rows with different values" in _error(base[:3] + [dup, "--column",
                                                                      "value"], capsys)
    # a bad --n-boot is a usage error
    assert "--n-boot" in _error(base + ["--n-boot", "-3"], capsys)
    _unchanged(fake_run, before)
    # a validation.json socialrisk did not write is never replaced
    (fake_run / "validation.json").write_text("mine\n", encoding="utf-8")
    assert "validation.json exists and was not written by socialrisk" in _error(base, capsys)
    assert (fake_run / "validation.json").read_text(encoding="utf-8") == "mine\n"
    _unchanged(fake_run, before)


def test_a_failure_while_writing_leaves_the_folder_as_it_was(fake_run, tmp_path, monkeypatch,
                                                               capsys):
    good = _csv(tmp_path / "m.csv", code=IOW_IDS, value=np.arange(20.0))
    before = _marker_files(fake_run)

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(validate_module, "plot", boom)
    assert "No space left" in _error(["validate", str(fake_run), "--against", good,
                                      "--column", "value"], capsys)
    _unchanged(fake_run, before)
    assert not (fake_run / "validation.json").exists()


def test_score_columns_without_manifest():
    areas = pd.DataFrame({"area_id": ["a"], "isolation_risk": [1.0], "loneliness_risk": [2.0],
                          "risk_older_people": [1.0], "risk_older_people_decile": [1],
                          "risk_older_people_rank_p05": [1], "isolation_risk_p_top_decile": [0.5],
                          "access_score": [1.0], "imd_score": [3.0], "empty_score": [np.nan]})
    head, dom = score_columns(areas)
    assert head == ["isolation_risk", "loneliness_risk", "risk_older_people"]
    assert dom == ["access_score", "imd_score"]
    assert score_columns(areas, {"index": {"domains": {"access": {}}}})[1] == ["access_score"]
    # the manifest of a run with a loneliness score and a lens: the columns its reports name
    areas["loneliness_income_score"] = 1.0
    areas["risk_older_people_access_score"] = 1.0
    manifest = {"index": {"domains": {"access": {}}, "domains_used": ["access"],
                          "loneliness": {"domains": {"health": {}, "income": {}},
                                         "domains_used": ["income", "health"]},
                          "lenses": {"older_people": {"index": {"domains_used": ["access"]}},
                                     "odd": "not a report"}}}
    head, dom = score_columns(areas, manifest)
    assert head == ["isolation_risk", "loneliness_risk", "risk_older_people"]
    assert dom == ["access_score", "loneliness_income_score", "risk_older_people_access_score"]


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def iow_run(iow_prepared, tmp_path_factory):
    """The Isle of Wight run with File 7 written to a folder as `socialrisk run` writes it."""
    from socialrisk.pipeline import write_run

    p, r = iow_prepared
    return write_run(p, r, tmp_path_factory.mktemp("iow") / "run", make_map=False)


@pytest.fixture(scope="module")
def disabled_share(tmp_path_factory):
    """Census 2021 TS038: the share of residents disabled under the Equality Act, per LSOA."""
    t = pd.read_csv(ENGLAND / "census21_ts038_disability_lsoa21.csv")
    t["disabled_share"] = t["disabled_equality_act"] / t["residents_total"]
    path = tmp_path_factory.mktemp("ts038") / "disabled_share.csv"
    t[["lsoa21_code", "disabled_share"]].to_csv(path, index=False)
    return path


def _check_report(rep: dict, run) -> None:
    assert rep["n_matched"] == 89 and rep["n_areas"] == 89
    assert rep["unmatched"]["run_areas_without_row"]["n"] == 0
    assert rep["inputs"]["against"]["id_column"] == "lsoa21_code"
    assert {"isolation_risk", "access_score", "deprivation_score"} <= set(rep["results"])
    # File 7's own columns (the IoD's domain scores) are not the run's domains
    assert not {"imd_score", "income_score", "health_score"} & set(rep["results"])
    for r in rep["results"].values():
        assert r["n"] == 89
        assert -1 <= r["spearman_rho"] <= 1
        low, high = r["rho_ci95"]
        assert low <= r["spearman_rho"] <= high
        assert 0 <= r["decile_agreement_within_one"] <= 1
        assert sum(map(sum, r["decile_table"])) == 89
    files = _marker_files(run)
    for name in ("validation.json", "validation.png"):
        assert files[name]["sha256"] == sha256_file(run / name)


@needs_shared
@pytest.mark.slow
def test_isle_of_wight_against_census_disability(iow_run, disabled_share, capsys):
    assert IOW_FILE7.is_file()
    assert main(["validate", str(iow_run), "--against", str(disabled_share),
                 "--column", "disabled_share", "--quiet"]) == 0
    print(capsys.readouterr().out)
    rep = json.loads((iow_run / "validation.json").read_text(encoding="utf-8"))
    _check_report(rep, iow_run)
    assert rep["unmatched"]["file_codes_without_area"]["n"] == 35672 - 89
    res = rep["results"]
    # measured (2,000 resamples, seed 0): isolation_risk +0.25 [+0.01, +0.44];
    # the deprivation domain agrees most (+0.53), walking access disagrees (-0.36)
    assert res["isolation_risk"]["spearman_rho"] == pytest.approx(0.25, abs=0.02)
    assert res["deprivation_score"]["spearman_rho"] > 0.4
    assert res["access_score"]["spearman_rho"] < 0


@needs_shared
@pytest.mark.slow
def test_isle_of_wight_against_illness_ratio_then_a_new_run(iow_prepared, iow_run, capsys):
    from socialrisk.outdir import check_out_dir
    from socialrisk.pipeline import write_run

    indicators = ENGLAND / "iod2025_indicators_lsoa21.csv"
    column = "comparative_illness_and_disability_ratio_indicator"
    assert main(["validate", str(iow_run), "--against", str(indicators), "--column", column,
                 "--n-boot", "500", "--quiet"]) == 0
    rep = json.loads((iow_run / "validation.json").read_text(encoding="utf-8"))
    _check_report(rep, iow_run)
    # CIDR is part of the IoD Health domain, inside the deprivation score: close agreement
    assert rep["results"]["deprivation_score"]["spearman_rho"] > 0.85
    # a new run into the folder: recognises the validation files as its own and removes
    # them (they describe the previous scores); nothing else is left behind
    p, r = iow_prepared
    check_out_dir(iow_run)
    write_run(p, r, iow_run, make_map=False)
    assert not (iow_run / "validation.json").exists()
    assert not (iow_run / "validation.png").exists()
    files = _marker_files(iow_run)
    assert "validation.json" not in files and "areas.csv" in files
    # and the new run can be validated again
    assert main(["validate", str(iow_run), "--against", str(indicators), "--column", column,
                 "--n-boot", "100", "--quiet"]) == 0
    assert "validation.png" in _marker_files(iow_run)
