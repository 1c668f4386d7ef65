"""Deprivation and census CSVs as people save them, from the real IoD2025 File 7 of the island.

Each variant is the real file re-saved the way spreadsheets and portals do it
(delimiter, encoding, BOM, code case and padding, thousands separators, "n/a",
repeated rows); the joined values must equal the original's. Codes of another
LSOA vintage (IoD2019, LSOA 2011 codes, on LSOA 2021 areas) are reported with
how many matched.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import ENGLAND, IOW_FILE7, IOW_LSOA, cli_error, needs_shared

from geo.csvtable import read_table
from geo.tables import load_area_data, table_for_areas
from socialrisk.core.errors import InputError, JoinError
from socialrisk.settings import DeprivationSource

pytestmark = needs_shared

CODE = "LSOA code (2021)"
POP = "Total population: mid 2022"
INCOME = "Income Score (rate)"


@pytest.fixture(scope="module")
def ids() -> list[str]:
    return gpd.read_file(IOW_LSOA)["lsoa11_code"].tolist()


@pytest.fixture(scope="module")
def file7() -> pd.DataFrame:
    return pd.read_csv(IOW_FILE7, dtype=str)


@pytest.fixture(scope="module")
def expected(ids) -> pd.DataFrame:
    data, _ = load_area_data([DeprivationSource(path=str(IOW_FILE7))], ids)
    assert data["population"].notna().all()
    return data


def _load(path, ids):
    data, reports = load_area_data([DeprivationSource(path=str(path))], ids)
    return data, reports[0]


@pytest.mark.parametrize("variant", ["semicolon", "tab", "bom", "utf16", "latin1", "cp1252"])
def test_delimiters_and_encodings(variant, file7, ids, expected, tmp_path):
    path = tmp_path / f"file7_{variant}.csv"
    if variant in ("semicolon", "tab"):
        file7.to_csv(path, index=False, sep=";" if variant == "semicolon" else "\t")
    else:
        text = IOW_FILE7.read_text(encoding="utf-8")
        enc = {"bom": "utf-8-sig", "utf16": "utf-16", "latin1": "latin-1",
               "cp1252": "cp1252"}[variant]
        path.write_bytes(text.encode(enc))
    data, report = _load(path, ids)
    assert report.kind == "file7" and report.n_matched == 89
    pd.testing.assert_frame_equal(data, expected)


def test_latin1_text_is_decoded(tmp_path):
    """Real OSM names with accents (Isle of Wight extract), saved as Latin-1 by a spreadsheet."""
    rows = [(1400217885, "The Petty Officers' Quarters Café"), (3005896533, "Alpaca Chatter Café"),
            (769866151, "Terminal de Marítima de Santander")]
    path = tmp_path / "names.csv"
    path.write_bytes(("osm_id;name\n" + "".join(f"{i};{n}\n" for i, n in rows)).encode("latin-1"))
    df = read_table(path, keep_text=["osm_id"])
    assert df.attrs["encoding"] in ("cp1252", "latin-1") and df.attrs["delimiter"] == ";"
    assert df["name"].tolist() == [n for _, n in rows]


def test_codes_with_whitespace_and_lower_case(file7, ids, expected, tmp_path):
    messy = file7.copy()
    messy[CODE] = "  " + messy[CODE].str.lower() + " "
    path = tmp_path / "lower.csv"
    messy.to_csv(path, index=False)
    data, report = _load(path, ids)
    assert report.n_matched == 89
    pd.testing.assert_frame_equal(data, expected)


def test_thousands_separators_and_na_cells(file7, ids, expected, tmp_path):
    messy = file7.copy()
    messy[POP] = messy[POP].astype(int).map("{:,}".format)  # "1,792"
    assert messy[POP].str.contains(",").any()
    first = messy[CODE].iloc[0]
    messy.loc[0, INCOME] = "n/a"
    path = tmp_path / "formatted.csv"
    messy.to_csv(path, index=False)
    data, report = _load(path, ids)
    assert report.n_matched == 89
    np.testing.assert_array_equal(data["population"], expected["population"])
    assert np.isnan(data.loc[first, "income_score"])  # missing, not 0
    pd.testing.assert_series_equal(data["income_score"].drop(first),
                                   expected["income_score"].drop(first))


def test_repeated_identical_rows_are_kept_once(file7, ids, expected, tmp_path):
    path = tmp_path / "repeated.csv"
    pd.concat([file7, file7.iloc[:3]]).to_csv(path, index=False)
    data, report = _load(path, ids)
    assert report.n_matched == 89 and len(data) == 89
    pd.testing.assert_frame_equal(data, expected)
    # a generic table reports which codes were repeated
    generic = tmp_path / "generic.csv"
    g = file7[[CODE, INCOME]]
    pd.concat([g, g.iloc[:2]]).to_csv(generic, index=False)
    _, rep = table_for_areas(generic, ids)
    assert sorted(rep.duplicate_codes) == sorted(file7[CODE].iloc[:2])
    assert rep.n_rows == 91 and rep.n_matched == 89


def test_conflicting_duplicate_codes_are_refused(file7, ids, tmp_path):
    clash = file7.iloc[[0]].copy()
    clash[INCOME] = "0.5"
    path = tmp_path / "clash.csv"
    pd.concat([file7, clash]).to_csv(path, index=False)
    with pytest.raises(InputError, match="1 codes appear on more than one row .* different "
                                         "values .* keep one row per area"):
        _load(path, ids)


def test_conflicting_duplicates_through_the_cli(cowes, file7, tmp_path, capsys):
    clash = file7.iloc[[0]].copy()
    clash[INCOME] = "0.5"
    path = tmp_path / "clash.csv"
    pd.concat([file7, clash]).to_csv(path, index=False)
    out = tmp_path / "out"
    line = cli_error(["run", "--areas", str(cowes.areas), "--osm", str(cowes.pbf), "--out",
                      str(out), "--deprivation", str(path), "--no-map"], capsys, out)
    assert "clash.csv" in line and "different values" in line


@pytest.fixture(scope="module")
def tower_hamlets() -> list[str]:
    """LSOA 2021 codes of Tower Hamlets, where many 2011 LSOAs were split or merged."""
    b = pd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet",
                        columns=["lsoa21_code", "lsoa21_name"])
    return b.loc[b["lsoa21_name"].str.startswith("Tower Hamlets "), "lsoa21_code"].tolist()


@pytest.fixture(scope="module")
def imd2019_london(tmp_path_factory, tower_hamlets) -> tuple[object, pd.Series]:
    """The real IoD2019 table (LSOA 2011 codes): Tower Hamlets' rows and 2,000 others (fast)."""
    df = pd.read_csv(ENGLAND / "imd2019_lsoa11.csv", dtype=str)
    df = df[df["lsoa11_code"].isin(tower_hamlets) | (df.index < 2000)]
    path = tmp_path_factory.mktemp("imd2019") / "imd2019_lsoa11_part.csv"
    df.to_csv(path, index=False)
    return path, df["lsoa11_code"]


def test_lsoa_2011_codes_on_2021_areas_say_so_and_how_many_matched(tower_hamlets,
                                                                   imd2019_london):
    path, codes11 = imd2019_london
    n_same = int(pd.Index(tower_hamlets).isin(codes11).sum())
    assert n_same == 119 and len(tower_hamlets) == 169  # a real vintage change
    data, report = table_for_areas(path, tower_hamlets)
    assert report.code_column == "lsoa11_code"
    assert report.n_matched == n_same and report.n_areas == len(tower_hamlets)
    note = report.notes[0]
    assert f"only {n_same:,} of {len(tower_hamlets):,} areas matched" in note
    assert "its code column suggests 2011 codes" in note
    assert "LSOA 2011 and 2021 codes differ" in note and "lookup" in note
    assert data["IMD_rank"].notna().sum() == n_same


def test_no_code_of_the_areas_vintage_is_a_join_error(tower_hamlets, imd2019_london):
    path, codes11 = imd2019_london
    new_only = [c for c in tower_hamlets if c not in set(codes11)]
    assert len(new_only) == 50
    with pytest.raises(JoinError, match="matches any of the 50 area ids .*its codes look like "
                                        "2011 codes.*LSOA 2011 and 2021 codes differ and a "
                                        "lookup is needed"):
        table_for_areas(path, new_only, code_column="lsoa11_code")
    with pytest.raises(JoinError, match="column 'lsoa11_code' holds LSOA codes of another "
                                        "vintage or area: LSOA 2011 and 2021 codes differ"):
        table_for_areas(path, new_only)  # code column not given: detection says the same
