"""Generic area tables: reading, code detection, joins and reports, on the real reference data.

Robustness variants are the real tables re-written into ``tmp_path`` in other
encodings, delimiters and number formats; expected values always come from
the original file read independently with the ``csv`` module.
"""

from __future__ import annotations

import csv
import json
import math

import pandas as pd
import pytest
from conftest import ENGLAND, IOW_FILE7, IOW_LSOA, needs_shared

from geo.csvtable import numeric_columns, read_table
from geo.join import JoinReport, detect_code_column, normalise_codes
from geo.tables import load_area_data, table_for_areas
from socialrisk.core.errors import InputError, JoinError
from socialrisk.settings import DeprivationSource

pytestmark = needs_shared

IMD2025 = ENGLAND / "imd2025_lsoa21.csv"
IMD2019 = ENGLAND / "imd2019_lsoa11.csv"
TS011 = ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv"
BOUNDARIES = ENGLAND / "lsoa21_boundaries_bsc.parquet"


@pytest.fixture(scope="module")
def iow_ids() -> list[str]:
    """The 89 Isle of Wight LSOA codes, from the boundaries shipped with the package."""
    features = json.loads(IOW_LSOA.read_text(encoding="utf-8"))["features"]
    return [f["properties"]["lsoa11_code"] for f in features]


@pytest.fixture(scope="module")
def imd_rows(iow_ids) -> tuple[list[str], list[list[str]]]:
    """Header and the 89 Isle of Wight rows of the tidy IMD 2025 table, as raw strings."""
    with IMD2025.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        wanted = set(iow_ids)
        rows = [r for r in reader if r[0] in wanted]
    return header, rows


def _expected(imd_rows, code: str, column: str) -> float:
    header, rows = imd_rows
    row = next(r for r in rows if r[0] == code)
    return float(row[header.index(column)])


def test_iow_ids_are_89(iow_ids):
    assert len(iow_ids) == 89 and len(set(iow_ids)) == 89
    assert "E01017282" in iow_ids


def test_read_table_real_imd2025():
    df = read_table(IMD2025)
    assert len(df) == 33_755
    assert df.attrs["delimiter"] == "," and df.attrs["encoding"] == "utf-8-sig"
    assert len(numeric_columns(df)) == 24
    assert "lsoa21_code" not in numeric_columns(df)
    assert df["lsoa21_code"].str.match(r"^E01\d{6}$").all()


def test_detect_code_column(iow_ids):
    df = read_table(IMD2025)
    assert detect_code_column(df, iow_ids) == "lsoa21_code"


def test_detect_code_column_none_matches_names_tried():
    df = read_table(IMD2025)
    with pytest.raises(JoinError) as exc:
        detect_code_column(df, ["E06000046"])  # a local authority code, not an LSOA
    msg = str(exc.value)
    assert "imd2025_lsoa21.csv" in msg and "'lsoa21_code' (0)" in msg and "tried" in msg
    assert "\n" not in msg


def test_table_for_areas_with_mapping(iow_ids, imd_rows):
    mapping = {"IMD_score": "imd_score", "Income_score": "income_score",
               "Health_decile": "health_decile"}
    out, report = table_for_areas(IMD2025, iow_ids, columns=mapping)
    assert list(out.columns) == ["imd_score", "income_score", "health_decile"]
    assert list(out.index) == iow_ids and out.index.name == "area_id"
    assert out.notna().all().all()
    for source, target in mapping.items():
        assert out.loc["E01017282", target] == _expected(imd_rows, "E01017282", source)
    assert out.loc["E01017282", "imd_score"] == pytest.approx(25.502)
    assert isinstance(report, JoinReport)
    assert (report.n_rows, report.n_areas, report.n_matched) == (33_755, 89, 89)
    assert report.n_unmatched_table_codes == 33_666
    assert len(report.unmatched_table_codes) == 10
    assert report.n_areas_without_data == 0 and report.areas_without_data == []
    assert report.code_column == "lsoa21_code" and report.kind == "table"
    assert report.notes == []
    assert "89 of 89 areas" in report.summary()


def test_table_for_areas_all_numeric_columns(iow_ids):
    out, report = table_for_areas(IMD2025, iow_ids)
    assert len(out.columns) == 24 and "lsoa21_code" not in out.columns
    assert report.columns == list(out.columns)


def test_table_for_areas_numeric_codes(imd_rows):
    """Integer codes (here the IMD rank, unique per LSOA) join to integer area ids."""
    header, rows = imd_rows
    ranks = [int(r[header.index("IMD_rank")]) for r in rows]
    out, report = table_for_areas(IMD2025, ranks, code_column="IMD_rank",
                                  columns={"IMD_score": "imd_score"})
    assert report.n_matched == 89
    assert out.loc[ranks[0], "imd_score"] == float(rows[0][header.index("IMD_score")])


def test_imd2019_on_2021_codes_explains_vintage():
    areas = pd.read_parquet(BOUNDARIES, columns=["lsoa21_code"])["lsoa21_code"].tolist()
    out, report = table_for_areas(IMD2019, areas, columns={"IMD_rank": "imd_rank"})
    assert report.code_column == "lsoa11_code"
    assert (report.n_areas, report.n_matched) == (35_672, 31_810)
    assert report.n_areas_without_data == 3_862
    assert report.n_unmatched_table_codes == 1_034
    note = report.notes[0]
    assert "31,810 of 35,672" in note and "1,917 are Welsh" in note
    assert "2011" in note and "lookup" in note
    assert out["imd_rank"].notna().sum() == 31_810


def test_no_match_with_lsoa_codes_is_join_error_with_hint():
    areas = pd.read_parquet(BOUNDARIES, columns=["lsoa21_code"])["lsoa21_code"]
    welsh = areas[areas.str.startswith("W")].tolist()
    with pytest.raises(JoinError) as exc:
        table_for_areas(IMD2025, welsh, code_column="lsoa21_code")
    msg = str(exc.value)
    assert "none of its 33,755 codes" in msg and "1,917 area ids" in msg
    assert "the table's LSOAs are in England and the areas in Wales" in msg
    # same nation, other vintage: the 2019 table (2011 codes) against 2021-only codes
    ids_2011 = set(pd.read_csv(IMD2019, usecols=["lsoa11_code"])["lsoa11_code"])
    new_2021 = [c for c in areas if c.startswith("E") and c not in ids_2011]
    with pytest.raises(JoinError) as exc:
        table_for_areas(IMD2019, new_2021, code_column="lsoa11_code")
    msg = str(exc.value)
    assert f"{len(new_2021):,} area ids" in msg and "LSOA 2011 and 2021 codes differ" in msg
    assert "2011 codes" in msg


# --------------------------------------------------------------------------- robustness


def _write(path, header, rows, *, delimiter=",", encoding="utf-8", quoting=csv.QUOTE_MINIMAL):
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter, quoting=quoting)
        writer.writerow(header)
        writer.writerows(rows)
    return path


MAPPING = {"IMD_score": "imd_score", "Income_score": "income_score", "IMD_rank": "imd_rank"}


def _check(out, imd_rows):
    for source, target in MAPPING.items():
        assert out.loc["E01017282", target] == pytest.approx(
            _expected(imd_rows, "E01017282", source))
    assert out[list(MAPPING.values())].notna().all().all()


@pytest.mark.parametrize("delimiter,encoding", [
    (";", "utf-8-sig"), ("\t", "utf-8"), ("|", "cp1252"), (",", "utf-16"), (";", "latin-1"),
])
def test_delimiters_and_encodings(tmp_path, iow_ids, imd_rows, delimiter, encoding):
    header, rows = imd_rows
    path = _write(tmp_path / "t.csv", header, rows, delimiter=delimiter, encoding=encoding)
    out, report = table_for_areas(path, iow_ids, columns=MAPPING)
    assert report.n_matched == 89
    _check(out, imd_rows)


def test_latin1_header_is_decoded(tmp_path, iow_ids, imd_rows):
    header, rows = imd_rows
    renamed = ["Décile IMD" if h == "IMD_decile" else h for h in header]
    path = _write(tmp_path / "latin1.csv", renamed, rows, delimiter=";", encoding="latin-1")
    assert b"D\xe9cile" in path.read_bytes()
    df = read_table(path)
    assert df.attrs["encoding"] in ("cp1252", "latin-1")
    out, _ = table_for_areas(path, iow_ids, columns={"Décile IMD": "imd_decile"})
    assert out.loc["E01017282", "imd_decile"] == _expected(imd_rows, "E01017282", "IMD_decile")


def test_thousands_separators_quoted(tmp_path, iow_ids, imd_rows):
    header, rows = imd_rows
    rank_cols = [i for i, h in enumerate(header) if h.endswith("_rank")]
    fmt = [[f"{int(v):,}" if i in rank_cols else v for i, v in enumerate(r)] for r in rows]
    path = _write(tmp_path / "thousands.csv", header, fmt)
    assert '"10,788"' in path.read_text()
    out, _ = table_for_areas(path, iow_ids, columns=MAPPING)
    _check(out, imd_rows)


def test_semicolon_decimal_comma(tmp_path, iow_ids, imd_rows):
    """European Excel: ';' between fields, ',' as decimal mark (scores like 25,502 included)."""
    header, rows = imd_rows
    fmt = [[v.replace(".", ",") for v in r] for r in rows]
    path = _write(tmp_path / "decimal_comma.csv", header, fmt, delimiter=";")
    out, _ = table_for_areas(path, iow_ids, columns=MAPPING)
    _check(out, imd_rows)


def test_missing_markers_and_whitespace(tmp_path, iow_ids, imd_rows):
    header, rows = imd_rows
    i_score = header.index("IMD_score")
    markers = ["n/a", "-", "..", "", "N/A", " x "]
    fmt = []
    for k, r in enumerate(rows):
        r = list(r)
        r[0] = f"  {r[0].lower()} "  # lower-case codes with spaces around
        if 1 <= k <= len(markers):
            r[i_score] = markers[k - 1]
        fmt.append(r)
    padded = [f" {h}  " for h in header]
    path = _write(tmp_path / "markers.csv", padded, fmt)
    out, report = table_for_areas(path, iow_ids, columns={"IMD_score": "imd_score"})
    assert report.n_matched == 89
    assert out["imd_score"].isna().sum() == len(markers)
    assert out.loc["E01017282", "imd_score"] == pytest.approx(25.502)


def test_preamble_lines_are_skipped(tmp_path, iow_ids, imd_rows):
    header, rows = imd_rows
    path = tmp_path / "preamble.csv"
    body = _write(tmp_path / "body.csv", header, rows).read_text()
    path.write_text("Indices of Deprivation 2025 extract\n\n" + body)
    df = read_table(path)
    assert df.attrs["skipped_lines"] >= 1 and list(df.columns) == header
    out, _ = table_for_areas(path, iow_ids, columns=MAPPING)
    _check(out, imd_rows)


def test_leading_zero_codes_stay_text(tmp_path, imd_rows):
    header, rows = imd_rows
    path = _write(tmp_path / "zero.csv", ["code", "IMD_score"],
                  [[f"0{r[header.index('IMD_rank')]}", r[header.index("IMD_score")]]
                   for r in rows])
    df = read_table(path)
    assert numeric_columns(df) == ["IMD_score"]
    assert df["code"].str.startswith("0").all()


def test_identical_duplicates_kept_once(tmp_path, iow_ids, imd_rows):
    header, rows = imd_rows
    path = _write(tmp_path / "dups.csv", header, rows + rows[:3])
    out, report = table_for_areas(path, iow_ids, columns=MAPPING)
    assert sorted(report.duplicate_codes) == sorted(r[0] for r in rows[:3])
    assert report.n_rows == 92 and report.n_matched == 89
    _check(out, imd_rows)


def test_conflicting_duplicates_refused(tmp_path, iow_ids, imd_rows):
    header, rows = imd_rows
    other = list(rows[1])
    other[0] = rows[0][0]  # a second, different row for the first code
    path = _write(tmp_path / "conflict.csv", header, rows + [other])
    with pytest.raises(InputError) as exc:
        table_for_areas(path, iow_ids, columns=MAPPING)
    msg = str(exc.value)
    assert "conflict.csv" in msg and rows[0][0] in msg and "one row per area" in msg


def test_unknown_mapped_column(iow_ids):
    with pytest.raises(InputError, match="did you mean 'IMD_score'"):
        table_for_areas(IMD2025, iow_ids, columns={"IMD_scor": "imd_score"})


def test_unknown_code_column(iow_ids):
    with pytest.raises(InputError, match="no column 'lsoa_code'"):
        table_for_areas(IMD2025, iow_ids, code_column="lsoa_code")


def test_missing_empty_and_spreadsheet_files(tmp_path, iow_ids):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "book.xlsx").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(InputError, match="spreadsheet"):
        read_table(tmp_path / "book.xlsx")


def test_normalise_codes():
    assert normalise_codes([" e01017282 ", 12.0, 7, None, float("nan")]).tolist() == [
        "E01017282", "12", "7", "", ""]


# --------------------------------------------------------------------------- dispatcher


def test_load_area_data_all_sources(iow_ids, imd_rows):
    sources = [
        DeprivationSource(str(IOW_FILE7)),
        DeprivationSource(str(TS011)),
        DeprivationSource(str(IMD2025), columns={"IMD_score": "imd_score",
                                                 "Environment_score": "environment_score_tidy"}),
    ]
    out, reports = load_area_data(sources, iow_ids)
    assert len(out) == 89 and list(out.index) == iow_ids
    assert [r.kind for r in reports] == ["file7", "ts011", "table"]
    assert [r.n_matched for r in reports] == [89, 89, 89]
    assert reports[0].n_unmatched_table_codes == 0
    assert reports[1].n_unmatched_table_codes == 35_672 - 89
    assert reports[2].n_unmatched_table_codes == 33_666
    # the clash: imd_score from the third source is renamed, not overwritten
    assert reports[2].renamed == {"imd_score": "imd_score_3"}
    assert "imd_score_3" in out.columns and "imd_score_3" in reports[2].columns
    assert out.loc["E01017282", "imd_score"] == pytest.approx(25.502)
    assert out.loc["E01017282", "imd_score_3"] == _expected(imd_rows, "E01017282", "IMD_score")
    assert out.loc["E01017282", "share_60_plus"] == pytest.approx(360 / 1355)
    assert "hh_deprived_2plus_share" in out.columns
    assert not out.columns.duplicated().any()


def test_load_area_data_explicit_kind_and_columns(iow_ids):
    sources = [DeprivationSource(str(IOW_FILE7), kind="file7",
                                 columns={"imd_score": "imd", "population": "pop"})]
    out, reports = load_area_data(sources, iow_ids)
    assert list(out.columns) == ["imd", "pop"]
    assert out.loc["E01017282", "pop"] == 1355


def test_load_area_data_empty_and_bad_kind(iow_ids):
    out, reports = load_area_data([], iow_ids)
    assert out.shape == (89, 0) and reports == []
    with pytest.raises(InputError, match="kind must be"):
        load_area_data([DeprivationSource(str(IOW_FILE7), kind="excel")], iow_ids)
    with pytest.raises(InputError, match="not found"):
        load_area_data([DeprivationSource("/no/such/file.csv")], iow_ids)


def test_load_area_data_from_url(http_server, tmp_path, iow_ids, imd_rows):
    header, rows = imd_rows
    _write(http_server.root / "imd.csv", header, rows)  # the island's rows of the real table
    url = f"{http_server.url}/imd.csv"
    src = [DeprivationSource(url, columns={"IMD_score": "imd_score"})]
    out, reports = load_area_data(src, iow_ids, cache_dir=tmp_path / "cache")
    assert reports[0].source == url and reports[0].n_matched == 89
    assert math.isclose(out.loc["E01017282", "imd_score"], 25.502)
    load_area_data(src, iow_ids, cache_dir=tmp_path / "cache")
    assert http_server.hits == ["/imd.csv"]
