"""LSOA 2011 -> 2021: the lookup reader, the conversion rules on a hand-made lookup, real data."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from conftest import ENGLAND, SHARED, needs_shared

from geo.lookup import (
    convert_for_areas,
    count_columns,
    is_rank_column,
    lsoa11_to_lsoa21,
    needs_conversion,
    read_lsoa_lookup,
    summary,
)
from geo.wimd import read_wimd
from socialrisk.core.errors import InputError, JoinError

LOOKUP = ENGLAND / "lookup_lsoa11_lsoa21_ltla22.csv"
WIMD = SHARED / "wales" / "wimd2019_lsoa11.csv"
BOUNDARIES = ENGLAND / "lsoa21_boundaries_bsc.parquet"

# A1 -> A2 unchanged; B1 -> B2 + B3 split; C1 + D1 -> CD2 merged;
# E1 -> EF2 + E3 and F1 -> EF2 irregular (EF2 has two parents, E1 two children).
HAND = pd.DataFrame({
    "lsoa11_code": ["A1", "B1", "B1", "C1", "D1", "E1", "E1", "F1"],
    "lsoa21_code": ["A2", "B2", "B3", "CD2", "CD2", "EF2", "E3", "EF2"],
    "change_code": ["U", "S", "S", "M", "M", "X", "X", "X"],
})
TABLE = pd.DataFrame({"rate": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                      "population": [100.0, 200.0, 300.0, 100.0, 400.0, 600.0],
                      "imd_rank": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                      "name": ["a", "b", "c", "c", "e", "f"]},
                     index=["A1", "B1", "C1", "D1", "E1", "F1"])
CHILD_POP = pd.Series({"A2": 100.0, "B2": 1.0, "B3": 3.0, "CD2": 400.0, "EF2": 1.0, "E3": 1.0})


def test_hand_made_lookup_with_populations():
    out, rep = lsoa11_to_lsoa21(TABLE, HAND, parent_weights=TABLE["population"],
                                child_weights=CHILD_POP, counts=["population"])
    assert list(out.index) == ["A2", "B2", "B3", "CD2", "EF2", "E3"]
    assert list(rep["change_code"]) == ["U", "S", "S", "M", "X", "S"]
    assert list(rep["n_parents"]) == [1, 1, 1, 2, 2, 1]
    # U: copied
    assert out.loc["A2"].tolist() == [1.0, 100.0, 1.0, "a"]
    # S: rate and rank copied, the count split 1:3 by the children's population
    assert out.loc["B2", ["rate", "population", "imd_rank"]].tolist() == [2.0, 50.0, 2.0]
    assert out.loc["B3", ["rate", "population", "imd_rank"]].tolist() == [2.0, 150.0, 2.0]
    # M: (3 x 300 + 4 x 100) / 400 = 3.25; count summed; rank left empty; text agrees
    assert out.loc["CD2", "rate"] == 3.25 and out.loc["CD2", "population"] == 400.0
    assert np.isnan(out.loc["CD2", "imd_rank"]) and out.loc["CD2", "name"] == "c"
    # X: E1 gives half of itself to EF2 (children 1:1), F1 all: weights 400 x 0.5 and 600
    # -> (5 x 200 + 6 x 600) / 800 = 5.75; population 200 + 600; parents' names differ
    assert out.loc["EF2", "rate"] == 5.75 and out.loc["EF2", "population"] == 800.0
    assert np.isnan(out.loc["EF2", "imd_rank"]) and pd.isna(out.loc["EF2", "name"])
    assert out.loc["E3", ["rate", "population"]].tolist() == [5.0, 200.0]
    # the totals of the counts are kept
    assert out["population"].sum() == TABLE["population"].sum()
    m = rep["method"]
    assert m["A2"] == "unchanged"
    assert m["B2"] == ("split from B1: values copied; counts split by population of the "
                       "LSOAs 2021")
    assert m["CD2"].startswith("merged from 2 LSOAs 2011 (C1, D1): population-weighted mean; "
                               "counts summed; ranks/deciles left empty")
    assert m["EF2"].startswith("irregular: parts of 2 LSOAs 2011 (E1, F1): mean weighted by "
                               "population x the part of each parent")


def test_hand_made_lookup_without_weights_and_a_missing_parent():
    out, rep = lsoa11_to_lsoa21(TABLE.drop(index="D1"), HAND, counts=["population"])
    # S without child populations: the count is split equally
    assert out.loc["B2", "population"] == out.loc["B3", "population"] == 100.0
    assert "split equally (no population of the LSOAs 2021 given)" in rep.loc["B2", "method"]
    # M with a parent missing: no value, and the report says which parent
    assert out.loc["CD2"].isna().all()
    assert rep.loc["CD2", "method"] == ("no value: LSOA 2011 D1 has no row in the table "
                                        "(2 LSOAs 2011 make this LSOA)")
    assert rep.loc["CD2", "n_parents_found"] == 1
    # X unweighted: E1 share 0.5, F1 share 1 -> (5 x 0.5 + 6) / 1.5
    assert out.loc["EF2", "rate"] == pytest.approx(8.5 / 1.5)
    assert "no population of the LSOAs 2011 given" in rep.loc["EF2", "method"]
    # M with both parents and no weights: the plain mean
    out2, rep2 = lsoa11_to_lsoa21(TABLE, HAND)
    assert out2.loc["CD2", "rate"] == 3.5
    assert "plain mean" in rep2.loc["CD2", "method"]
    assert summary(rep2) == "1 unchanged, 3 split, 1 merged, 1 irregular"
    assert summary(rep) == ("1 unchanged, 3 split, 1 merged, 1 irregular, 1 without a value "
                            "(an LSOA 2011 missing from the table)")


def test_a_missing_value_is_not_averaged_away():
    t = TABLE.copy()
    t.loc["C1", "rate"] = np.nan
    out, _ = lsoa11_to_lsoa21(t, HAND, parent_weights=t["population"])
    assert np.isnan(out.loc["CD2", "rate"]) and out.loc["CD2", "population"] == 250.0


def test_column_kinds():
    assert is_rank_column("imd_rank") and is_rank_column("IMD_decile") and is_rank_column("rank")
    assert not is_rank_column("ranking_score") and not is_rank_column("income_score")
    assert count_columns(["population", "pop_60_plus", "census_residents", "households",
                          "income_domain_numerator", "disabled_share", "ts038_total",
                          "imd_score"]) == ["population", "pop_60_plus", "census_residents",
                                            "households", "income_domain_numerator",
                                            "ts038_total"]
    with pytest.raises(InputError, match="counts names 'nope'"):
        lsoa11_to_lsoa21(TABLE, HAND, counts=["nope"])


def test_lookup_reader_accepts_ons_headers_and_refuses_bad_files(tmp_path):
    ons = tmp_path / "ons.csv"
    ons.write_text("LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,CHGIND,LAD22CD,LAD22NM\n"
                   "e01000001,City 001A,E01000001,City 001A,U,E09000001,City of London\n"
                   "E01000001,City 001A,E01000001,City 001A,U,E09000001,City of London\n",
                   encoding="utf-8")
    lk = read_lsoa_lookup(ons)
    assert len(lk) == 1 and lk.loc[0, "lsoa11_code"] == "E01000001"
    assert lk.loc[0, "ltla22_name"] == "City of London"
    bare = tmp_path / "bare.csv"
    bare.write_text("lsoa11_code,lsoa21_code,change_code\nA1,A2,U\n", encoding="utf-8")
    assert read_lsoa_lookup(bare).loc[0, "ltla22_code"] is None
    missing = tmp_path / "missing.csv"
    missing.write_text("lsoa11_code,lsoa_other\nA1,A2\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column lsoa21_code, change_code") as exc:
        read_lsoa_lookup(missing)
    assert "\n" not in str(exc.value)
    bad = tmp_path / "bad.csv"
    bad.write_text("lsoa11_code,lsoa21_code,change_code\nA1,A2,Q\n", encoding="utf-8")
    with pytest.raises(InputError, match="change_code must be U, S, M or X, not 'Q'"):
        read_lsoa_lookup(bad)


def test_needs_conversion():
    assert needs_conversion(["A1", "B1"], ["A2", "B2"], HAND)
    assert not needs_conversion(["A1", "B1"], ["A2", "B2"], HAND, code_year="2021")
    assert not needs_conversion(["A1", "B1"], ["A1", "B1"], HAND)  # areas are 2011 codes
    assert not needs_conversion(["A2", "B2"], ["A2", "B2"], HAND)  # table already 2021


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def lookup() -> pd.DataFrame:
    return read_lsoa_lookup(LOOKUP)


@needs_shared
def test_real_lookup(lookup):
    with LOOKUP.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(lookup) == len(rows) == 35_795
    assert lookup["lsoa11_code"].nunique() == 34_753 and lookup["lsoa21_code"].nunique() == 35_672
    assert lookup["change_code"].value_counts().to_dict() == {"U": 33_647, "S": 1_900,
                                                              "M": 239, "X": 9}


@needs_shared
def test_wimd_2019_on_welsh_lsoas_2021(lookup):
    wimd = read_wimd(WIMD)
    out, rep = lsoa11_to_lsoa21(wimd, lookup)
    welsh = sorted(pd.read_parquet(BOUNDARIES, columns=["lsoa21_code"])
                   .query("lsoa21_code.str.startswith('W01')")["lsoa21_code"])
    assert len(welsh) == 1_917 and len(wimd) == 1_909
    r = rep.loc[welsh]
    assert r["change_code"].value_counts().to_dict() == {"U": 1_837, "S": 58, "M": 22}
    assert summary(rep, welsh) == "1,837 unchanged, 58 split, 22 merged, 0 irregular"
    # every Welsh LSOA 2021 gets a score, or a reason in words
    got = out.loc[welsh, "wimd_score"].notna()
    assert got.all() and r["method"].str.len().gt(0).all()
    # ranks are copied for unchanged and split LSOAs, left empty for merged ones
    assert out.loc[welsh, "wimd_rank"].isna().sum() == 22
    assert (r.loc[out.loc[welsh, "wimd_rank"].isna(), "change_code"] == "M").all()
    # an unchanged LSOA keeps its published values exactly
    assert out.loc["W01000003", "wimd_score"] == wimd.loc["W01000003", "wimd_score"]
    merged = r[r["change_code"] == "M"].index[0]
    parents = lookup.loc[lookup["lsoa21_code"] == merged, "lsoa11_code"]
    assert out.loc[merged, "income_score"] == pytest.approx(
        wimd.loc[parents, "income_score"].mean())


@needs_shared
def test_iod2019_in_an_english_district_with_splits_and_merges(lookup):
    """Richmondshire (E07000166): 31 unchanged, 2 split, 1 merged LSOAs 2021."""
    from geo.imd_tidy import read_imd

    imd = read_imd(ENGLAND / "imd2019_lsoa11.csv")
    district = lookup.loc[lookup["ltla22_code"] == "E07000166", "lsoa21_code"].unique()
    out, rep = lsoa11_to_lsoa21(imd, lookup)
    r = rep.loc[district]
    assert r["change_code"].value_counts().to_dict() == {"U": 31, "S": 2, "M": 1}
    # E01027750 was split into E01034966 and E01034967: ranks copied to both
    assert out.loc[["E01034966", "E01034967"], "imd_rank"].tolist() == [25932.0, 25932.0]
    assert r.loc["E01034966", "method"] == "split from E01027750: values copied"
    # E01027754 + E01033183 merged into E01034965: IoD2019 has ranks only, none carried
    assert out.loc["E01034965"].isna().all()
    assert r.loc["E01034965", "method"].startswith(
        "merged from 2 LSOAs 2011 (E01027754, E01033183)")
    assert out.loc[district, "imd_rank"].notna().sum() == 33


@needs_shared
def test_convert_for_areas_notes_and_strict():
    imd = read_wimd(WIMD)
    areas = ["W01001961", "W01000003", "W01001958"]
    out, notes = convert_for_areas(imd, areas, LOOKUP)
    assert notes[0] == ("converted LSOA 2011 -> 2021 with lookup_lsoa11_lsoa21_ltla22.csv: "
                        "2 unchanged, 0 split, 1 merged, 0 irregular among the areas (means of "
                        "merged LSOAs unweighted (no population column))")
    assert "left empty for 1 merged or irregular LSOAs 2021 (e.g. W01001961)" in notes[1]
    assert "W01001961" in out.index and len(out) == 1_917
    with pytest.raises(JoinError, match="--strict refuses"):
        convert_for_areas(imd, areas, LOOKUP, strict=True)
    # a table of the areas' own codes is left alone
    same, none = convert_for_areas(imd, ["W01000003"], LOOKUP)
    assert none == [] and same is imd
    with pytest.raises(InputError, match="lsoa_lookup .* not found"):
        convert_for_areas(imd, areas, "/no/such/lookup.csv")


def test_a_wrong_lookup_is_refused_before_any_work(tmp_path, capsys, no_compute):
    from socialrisk.cli import main

    bad = tmp_path / "not_a_lookup.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    code = main(["run", "--no-download", "--lsoa-lookup", str(bad), "--out",
                 str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "not_a_lookup.csv is not an LSOA 2011 -> 2021 lookup: no column lsoa11_code" in err[0]
    assert not (tmp_path / "out").exists()
