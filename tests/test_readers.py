"""Indicator readers on the real shared tables: TS038, TS054, Nomis bulk, IoD2025 indicators,
tidy IMD 2025/2019, WIMD 2019, and the WIMD + lookup path through ``load_area_data``.

Expected values come from the files themselves, read with the ``csv`` module.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ENGLAND, SHARED, needs_shared

from geo.census_tables import TS054_COLUMNS, read_nomis, read_ts038, read_ts054
from geo.imd_tidy import read_imd, tidy_domain_name
from geo.indicators import (
    INDICATOR_ALIASES,
    INDICATOR_DIRECTIONS,
    INDICATOR_EVIDENCE,
    read_iod_indicators,
)
from geo.tables import KINDS, detect_kind, load_area_data
from geo.wimd import WIMD_NAME, read_wimd
from socialrisk.core.errors import InputError
from socialrisk.settings import DeprivationSource

pytestmark = needs_shared

TS038 = ENGLAND / "census21_ts038_disability_lsoa21.csv"
TS054 = ENGLAND / "census21_ts054_tenure_lsoa21.csv"
IOD_IND = ENGLAND / "iod2025_indicators_lsoa21.csv"
IMD2025 = ENGLAND / "imd2025_lsoa21.csv"
IMD2019 = ENGLAND / "imd2019_lsoa11.csv"
WIMD = SHARED / "wales" / "wimd2019_lsoa11.csv"
LOOKUP = ENGLAND / "lookup_lsoa11_lsoa21_ltla22.csv"
BOUNDARIES = ENGLAND / "lsoa21_boundaries_bsc.parquet"


def _rows(path: Path, codes: set[str]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Header and the rows of ``codes`` (column -> float; empty cells NaN), via ``csv``."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        out = {r[0]: {h: float(v) if v else np.nan for h, v in zip(header[1:], r[1:], strict=True)}
               for r in reader if r[0] in codes}
    return header, out


# --------------------------------------------------------------------------- TS038, TS054


def test_ts038_real():
    df = read_ts038(TS038)
    assert len(df) == 35_672 and list(df.columns) == ["census_residents", "disabled_share"]
    assert df.loc["E01000001", "census_residents"] == 1475
    assert df.loc["E01000001", "disabled_share"] == 152 / 1475
    assert df.loc["E01017282", "disabled_share"] == 279 / 1379
    assert df.loc["W01000003", "disabled_share"] == 567 / 2440
    assert df.attrs["code_year"] == "2021" and detect_kind(TS038) == "ts038"
    assert df["disabled_share"].between(0, 1).all()


def test_ts054_real():
    df = read_ts054(TS054)
    assert len(df) == 35_672 and list(df.columns) == TS054_COLUMNS
    e = df.loc["E01017282"]
    assert e["households"] == 596
    assert e["owned_share"] == (213 + 208) / 596
    assert e["social_rented_share"] == (62 + 9) / 596
    assert e["private_rented_share"] == (12 + 90) / 596
    assert e["rented_share"] == pytest.approx((62 + 9 + 12 + 90) / 596)
    assert e["shared_ownership_share"] == 2 / 596 and e["rent_free_share"] == 0
    w = df.loc["W01000003"]
    assert w["rent_free_share"] == 4 / 1141
    assert w["rented_share"] == pytest.approx((46 + 184 + 28 + 205) / 1141)  # rent free not in
    parts = df[["owned_share", "shared_ownership_share", "rented_share", "rent_free_share"]]
    assert np.allclose(parts.sum(axis=1), 1.0)
    assert detect_kind(TS054) == "ts054"


# --------------------------------------------------------------------------- Nomis bulk

_TS054_NOMIS = [
    ("Total: All households", ["households_total"]),
    ("Owned", ["Owned: Owns outright", "Owned: Owns with a mortgage or loan"]),
    ("Owned: Owns outright", ["Owned: Owns outright"]),
    ("Owned: Owns with a mortgage or loan", ["Owned: Owns with a mortgage or loan"]),
    ("Shared ownership", ["Shared ownership: Shared ownership"]),
    ("Shared ownership: Shared ownership", ["Shared ownership: Shared ownership"]),
    ("Social rented", ["Social rented: Rents from council or Local Authority",
                       "Social rented: Other social rented"]),
    ("Social rented: Rents from council or Local Authority",
     ["Social rented: Rents from council or Local Authority"]),
    ("Social rented: Other social rented", ["Social rented: Other social rented"]),
    ("Private rented", ["Private rented: Private landlord or letting agency",
                        "Private rented: Other private rented"]),
    ("Private rented: Private landlord or letting agency",
     ["Private rented: Private landlord or letting agency"]),
    ("Private rented: Other private rented", ["Private rented: Other private rented"]),
    ("Lives rent free", ["Lives rent free"]),
]
_CODES = {"E01017282": "Isle of Wight 001A", "W01000003": "Isle of Anglesey 001A"}


def _write_nomis(path: Path, table: str, columns: list[tuple[str, list[str]]],
                 rows: dict[str, dict[str, float]], measures: bool) -> Path:
    """A Nomis bulk CSV (``date, geography, geography code, <table>: <category>``) of real rows."""
    suffix = "; measures: Value" if measures else ""
    header = ["date", "geography", "geography code",
              *[f"{table}: {label}{suffix}" for label, _ in columns]]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for code, name in _CODES.items():
            w.writerow([2021, name, code,
                        *[int(sum(rows[code][s] for s in src)) for _, src in columns]])
    return path


@pytest.fixture(scope="module")
def nomis(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("nomis")
    _, ts038 = _rows(TS038, set(_CODES))
    _, ts054 = _rows(TS054, set(_CODES))
    ts038_cols = [("Total: All usual residents", ["residents_total"]),
                  ("Disabled under the Equality Act", ["disabled_equality_act"]),
                  ("Not disabled under the Equality Act", ["not_disabled_equality_act"])]
    return {
        "ts038": _write_nomis(d / "census2021-ts038-lsoa.csv", "Disability", ts038_cols, ts038,
                              measures=True),
        "ts054": _write_nomis(d / "census2021-ts054-lsoa.csv", "Tenure of household",
                              _TS054_NOMIS, ts054, measures=False),
    }


def test_nomis_ts038_gives_the_tidy_names(nomis):
    tidy = read_ts038(TS038)
    df = read_ts038(nomis["ts038"])
    assert detect_kind(nomis["ts038"]) == "ts038"
    assert list(df.columns) == ["census_residents", "disabled_share", "ts038_total",
                                "ts038_disabled_under_the_equality_act_share",
                                "ts038_not_disabled_under_the_equality_act_share"]
    for code in _CODES:
        assert df.loc[code, "disabled_share"] == tidy.loc[code, "disabled_share"]
        assert df.loc[code, "census_residents"] == tidy.loc[code, "census_residents"]
    assert df.loc["E01017282", "ts038_not_disabled_under_the_equality_act_share"] == 1100 / 1379
    assert df.attrs["layout"] == "nomis" and df.attrs["table_number"] == "ts038"


def test_nomis_ts054_gives_the_tidy_names_and_every_category(nomis):
    tidy = read_ts054(TS054)
    df = read_ts054(nomis["ts054"])
    assert detect_kind(nomis["ts054"]) == "ts054"
    assert list(df.columns[:len(TS054_COLUMNS)]) == TS054_COLUMNS
    pd.testing.assert_frame_equal(df[TS054_COLUMNS], tidy.loc[list(_CODES), TS054_COLUMNS],
                                  check_names=False)
    generic = [c for c in df.columns if c.startswith("ts054_")]
    assert generic[:3] == ["ts054_total", "ts054_owned_share", "ts054_owned_owns_outright_share"]
    assert "ts054_social_rented_rents_from_council_or_share" in generic  # cut at 40 characters
    assert len(generic) == len(_TS054_NOMIS)
    assert df.loc["E01017282", "ts054_owned_share"] == (213 + 208) / 596


def test_nomis_any_table(tmp_path):
    """A TS table the tool has no special reader for: shares of the table's total."""
    path = tmp_path / "census2021-ts021-lsoa.csv"
    label = "Asian, Asian British or Asian Welsh: Other Asian and a very long label"
    path.write_text(
        "date,geography,geography code,Ethnic group: Total: All usual residents,"
        "Ethnic group: White,Ethnic group: Other ethnic group,"
        f"\"Ethnic group: {label} one\",\"Ethnic group: {label} two\","
        "Ethnic group: Percent; measures: Percent\n"
        "2021,A,E01000001,200,150,0,30,20,99\n2021,B,E01000002,0,0,0,0,0,0\n",
        encoding="utf-8")
    assert detect_kind(path) == "nomis"
    df = read_nomis(path)
    assert list(df.columns) == [
        "ts021_total", "ts021_white_share", "ts021_other_ethnic_group_share",
        "ts021_asian_asian_british_or_asian_welsh_share",
        "ts021_asian_asian_british_or_asian_welsh_2_share"]
    assert df.loc["E01000001"].tolist() == [200, 0.75, 0.0, 0.15, 0.1]
    assert df.loc["E01000002", "ts021_total"] == 0
    assert df.loc["E01000002", "ts021_white_share"] != df.loc["E01000002", "ts021_white_share"]


# --------------------------------------------------------------------------- IoD2025 indicators


@pytest.fixture(scope="module")
def iod_ind() -> pd.DataFrame:
    return read_iod_indicators(IOD_IND)


def test_iod_indicators_real(iod_ind):
    header, rows = _rows(IOD_IND, {"E01000001", "E01017282"})
    assert len(iod_ind) == 33_755 and detect_kind(IOD_IND) == "iod_indicators"
    assert list(iod_ind.columns[:5]) == list(INDICATOR_ALIASES)
    assert list(iod_ind.columns[5:]) == header[1:]  # every column kept
    for code in rows:
        for alias, col in INDICATOR_ALIASES.items():
            assert iod_ind.loc[code, alias] == rows[code][col]
    assert iod_ind.loc["E01017282", "patient_gp_ratio"] == 2377.502
    assert iod_ind.loc["E01000001", "english_proficiency"] == 0.03
    assert np.isnan(iod_ind.loc["E01000001",
                                "income_deprivation_affecting_children_index_idaci_numerator"])


def test_indicator_directions_match_the_published_domains(iod_ind):
    """Each direction is the sign of its Spearman correlation with the IoD2025 domain score."""
    assert set(INDICATOR_DIRECTIONS) == set(INDICATOR_ALIASES) == set(INDICATOR_EVIDENCE)
    imd = read_imd(IMD2025)
    d = iod_ind.join(imd, how="inner")
    against = {"english_proficiency": ("education_score", 0.93),
               "illness_disability_ratio": ("health_score", 0.95),
               "mental_health": ("health_score", 0.86),
               "broadband": ("housing_score", 0.36),
               "patient_gp_ratio": ("housing_score", 0.31)}
    for alias, (domain, rho) in against.items():
        measured = d[alias].corr(d[domain], method="spearman")
        assert measured == pytest.approx(rho, abs=0.01), alias
        assert INDICATOR_DIRECTIONS[alias] == ("higher_is_worse" if measured > 0
                                               else "lower_is_worse")
        assert f"{rho:+.2f}" in INDICATOR_EVIDENCE[alias]


# --------------------------------------------------------------------------- IMD, WIMD


def test_imd2025_tidy_real():
    df = read_imd(IMD2025)
    assert len(df) == 33_755 and detect_kind(IMD2025) == "imd"
    e = df.loc["E01017282"]
    assert e["imd_score"] == 25.502 and e["imd_rank"] == 10788 and e["imd_decile"] == 4
    assert e["income_score"] == 0.284 and e["health_score"] == 0.606
    assert e["housing_score"] == 28.029 and e["housing_rank"] == 8115
    assert e["environment_score"] == 12.747 and e["crime_decile"] == 6
    assert df.attrs["renamed"]["Housing_and_Services_score"] == "housing_score"
    assert df.attrs["code_year"] == "2021" and df.attrs["index"] == "IoD2025 (England)"


def test_imd2019_tidy_real():
    df = read_imd(IMD2019)
    assert len(df) == 32_844 and detect_kind(IMD2019) == "imd"
    assert df.attrs["code_year"] == "2011" and df.attrs["index"] == "IoD2019 (England)"
    e = df.loc["E01017282"]
    assert e["imd_rank"] == 11154 and e["imd_decile"] == 4
    assert e["housing_decile"] == 7 and e["housing_rank"] == 22362  # Housing_and_Access
    assert not any(c.endswith("_score") for c in df.columns)


def test_wimd_real():
    df = read_wimd(WIMD)
    assert len(df) == 1_909 and detect_kind(WIMD) == "wimd"
    w = df.loc["W01000003"]
    assert w["wimd_score"] == 26.79617755 and w["wimd_rank"] == 550 and w["wimd_decile"] == 3
    assert w["income_score"] == 34.15725312 and w["employment_score"] == 33.8443347
    assert w["education_score"] == 25.47075501 and w["health_score"] == 23.37376091
    assert w["crime_score"] == 23.67138569 and w["housing_score"] == 20.59191192
    assert w["access_to_services_score"] == 20.56281701
    assert w["environment_score"] == 1.651471399 and w["access_to_services_rank"] == 767
    assert df.attrs["index"] == WIMD_NAME == "WIMD 2019 (Wales)"
    assert "not comparable" in df.attrs["notes"][0] and df.attrs["code_year"] == "2011"
    assert "imd_score" not in df.columns


@pytest.mark.parametrize("header, tidy", [
    ("IMD_decile", "imd_decile"), ("imd_decile", "imd_decile"), ("IMD decile", "imd_decile"),
    ("IMD-Decile", "imd_decile"), ("Decile IMD", "imd_decile"),
    ("Index of Multiple Deprivation (IMD) Score", "imd_score"),
    ("Income_score", "income_score"), ("INCOME SCORE", "income_score"),
    ("Income Domain Score", "income_score"), ("Housing_and_Services_rank", "housing_rank"),
    ("Housing_and_Access_decile", "housing_decile"),
    ("Barriers to Housing and Services Score", "housing_score"),
    ("Living Environment Rank", "environment_rank"), ("IDAOPI score", "idaopi_score"),
    ("Income Deprivation Affecting Older People Index (IDAOPI) Score", "idaopi_score"),
    ("Health Deprivation and Disability Score", "health_score"),
    ("Education, Skills and Training Decile", "education_decile"),
    ("income", None), ("lsoa21_code", None), ("ranking", None), ("my_score", None),
])
def test_spellings(header, tidy):
    assert tidy_domain_name(header) == tidy


def test_spelling_variants_read_the_same(tmp_path):
    header, rows = _rows(IMD2025, {"E01017282", "E01000001"})
    path = tmp_path / "imd.csv"
    variants = {"lsoa21_code": "LSOA code (2021)", "IMD_decile": "IMD decile",
                "IMD_score": "imd_score", "Income_score": "INCOME SCORE",
                "Housing_and_Services_score": "Barriers to Housing and Services score"}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow([variants.get(h, h) for h in header])
        for code, row in rows.items():
            w.writerow([code, *[f"{row[h]:g}" for h in header[1:]]])
    assert detect_kind(path) == "imd"
    df = read_imd(path)
    assert df.loc["E01017282", ["imd_decile", "imd_score", "income_score", "housing_score"]
                  ].tolist() == [4, 25.502, 0.284, 28.029]
    assert df.attrs["code_year"] == "2021"


@pytest.fixture(scope="module")
def iow_codes() -> list[str]:
    _, rows = _rows(IMD2025, set())
    lk = pd.read_csv(LOOKUP, dtype=str)
    return sorted(lk.loc[lk["ltla22_code"] == "E06000046", "lsoa21_code"].unique())


def test_plain_table_spellings_are_renamed_with_a_note(tmp_path, iow_codes):
    header, rows = _rows(IMD2025, set(iow_codes))
    path = tmp_path / "mine.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["area", "IMD_decile", "Income_score", "my_measure"])
        for code, row in rows.items():
            w.writerow([code, int(row["IMD_decile"]), row["Income_score"], 1.5])
    assert detect_kind(path) == "table"
    out, (rep,) = load_area_data([DeprivationSource(str(path))], iow_codes)
    assert list(out.columns) == ["imd_decile", "income_score", "my_measure"]
    assert out.loc["E01017282", "income_score"] == 0.284
    assert rep.notes == ["mine.csv: columns renamed to the tidy deprivation names: "
                         "IMD_decile -> imd_decile, Income_score -> income_score"]
    assert rep.columns == list(out.columns) and rep.kind == "table"
    # a columns mapping decides the names itself
    out, (rep,) = load_area_data([DeprivationSource(str(path), columns={"IMD_decile": "d"})],
                                 iow_codes)
    assert list(out.columns) == ["d"] and rep.notes == []


def test_kinds_through_load_area_data(iow_codes):
    sources = [DeprivationSource(str(IMD2025)), DeprivationSource(str(TS038)),
               DeprivationSource(str(TS054)), DeprivationSource(str(IOD_IND)),
               DeprivationSource(str(IMD2025), kind="imd",
                                 columns={"IMD_score": "imd_raw", "health_score": "h"})]
    out, reps = load_area_data(sources, iow_codes)
    assert [r.kind for r in reps] == ["imd", "ts038", "ts054", "iod_indicators", "imd"]
    assert all(r.n_matched == 89 == r.n_areas for r in reps)
    e = out.loc["E01017282"]
    assert e["income_score"] == 0.284 and e["disabled_share"] == 279 / 1379
    assert e["rented_share"] == pytest.approx(173 / 596) and e["mental_health"] == 1.183
    assert e["imd_raw"] == 25.502 and e["h"] == 0.606
    with pytest.raises(InputError, match="kind must be auto, file7, ts011, ts038, ts054, nomis, "
                                         "iod_indicators, imd, wimd or table, not 'excel'"):
        load_area_data([DeprivationSource(str(TS038), kind="excel")], iow_codes)
    with pytest.raises(InputError, match="imd has no column 'nope'"):
        load_area_data([DeprivationSource(str(IMD2025), kind="imd", columns={"nope": "x"})],
                       iow_codes)
    assert set(KINDS) >= {"ts038", "ts054", "nomis", "iod_indicators", "imd", "wimd"}


def test_wimd_with_the_lookup_on_welsh_lsoas_2021():
    welsh = sorted(pd.read_parquet(BOUNDARIES, columns=["lsoa21_code"])
                   .query("lsoa21_code.str.startswith('W01')")["lsoa21_code"])
    sources = [DeprivationSource(str(TS038)), DeprivationSource(str(WIMD))]
    out, (ts038, wimd) = load_area_data(sources, welsh, lookup=str(LOOKUP))
    assert len(out) == 1_917 and wimd.kind == "wimd"
    assert wimd.n_matched == 1_917 and wimd.n_areas_without_data == 0
    assert out["wimd_score"].notna().all() and out["access_to_services_score"].notna().all()
    assert out["wimd_rank"].isna().sum() == 22  # merged LSOAs: recompute
    assert wimd.notes[0].startswith("converted LSOA 2011 -> 2021 with "
                                    "lookup_lsoa11_lsoa21_ltla22.csv: 1,837 unchanged, 58 split, "
                                    "22 merged, 0 irregular among the areas")
    assert any("left empty for 22 merged" in n for n in wimd.notes)
    assert any("not comparable with the English" in n for n in wimd.notes)
    assert out.loc["W01000003", "wimd_score"] == 26.79617755
    # without the lookup the split and merged LSOAs are said to need it
    out2, (_, plain) = load_area_data(sources, welsh)
    assert plain.n_areas_without_data == 58 + 22
    assert any("lsoa_lookup" in n for n in plain.notes)
