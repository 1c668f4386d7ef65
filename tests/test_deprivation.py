"""IoD File 7: reading the real Isle of Wight extract, header layouts, and the cached download."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import ENGLAND, IOW_FILE7, IOW_LSOA, needs_shared

from geo.deprivation import (
    FILE7_2025_URL,
    file7_columns,
    file7_download,
    file7_vintage,
    is_file7,
    read_file7,
)
from geo.download import cache_path
from geo.tables import load_area_data
from socialrisk.core.errors import DownloadError, InputError
from socialrisk.settings import DeprivationSource

pytestmark = needs_shared

DOMAINS = ["imd", "income", "employment", "education", "health", "crime", "housing",
           "environment", "idaci", "idaopi", "cyp", "adult_skills", "geographical_barriers",
           "wider_barriers", "indoors", "outdoors"]

# The IoD2019 File 7 header: identity and population columns as published
# ("File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv"),
# confirmed from public repositories that read that file; the 48 domain columns
# carry the same text as in IoD2025.
HEADER_2019_HEAD = ["LSOA code (2011)", "LSOA name (2011)", "Local Authority District code (2019)",
                    "Local Authority District name (2019)"]
HEADER_2019_POPULATION = [
    "Total population: mid 2015 (excluding prisoners)",
    "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "Population aged 16-59: mid 2015 (excluding prisoners)",
    "Older population aged 60 and over: mid 2015 (excluding prisoners)",
    "Working age population 18-59/64: for use with Employment Deprivation Domain "
    "(excluding prisoners) ",
]


@pytest.fixture(scope="module")
def raw() -> tuple[list[str], list[list[str]]]:
    """The real File 7 extract, read independently with the csv module."""
    with IOW_FILE7.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def file7():
    return read_file7(IOW_FILE7)


def test_read_file7_iow(file7, raw):
    header, rows = raw
    assert len(file7) == 89 and len(rows) == 89
    assert file7.index.name == "lsoa_code" and file7.index.is_unique
    assert file7.attrs["vintage"] == "2025" and file7.attrs["code_year"] == "2021"
    assert file7.attrs["population_year"] == "2022"
    expected = (["lsoa_name", "lad_code", "lad_name"]
                + [f"{d}_{m}" for d in DOMAINS for m in ("score", "rank", "decile")]
                + ["population", "pop_0_15", "pop_60_plus", "pop_18_66",
                   "share_60_plus", "share_0_15"])
    assert list(file7.columns) == expected


def test_read_file7_exact_values(file7):
    row = file7.loc["E01017282"]
    assert row["imd_score"] == pytest.approx(25.502)
    assert row["population"] == 1355 and row["pop_60_plus"] == 360
    assert row["share_60_plus"] == pytest.approx(360 / 1355)
    assert row["share_0_15"] == pytest.approx(row["pop_0_15"] / 1355)
    assert row["lsoa_name"] == "Isle of Wight 006A" and row["lad_code"] == "E06000046"


def test_read_file7_matches_csv_everywhere(file7, raw):
    """Every numeric cell equals the CSV's (the truncated decile header included)."""
    header, rows = raw
    mapping = file7_columns(header)
    assert len(mapping) == 56
    for r in rows:
        for h, value in zip(header, r, strict=True):
            name = mapping[h]
            if name in ("lsoa_code", "lsoa_name", "lad_code", "lad_name"):
                continue
            assert file7.loc[r[0], name] == float(value), (r[0], h)


def test_file7_header_2019_layout(raw):
    header, _ = raw
    header_2019 = HEADER_2019_HEAD + header[4:52] + HEADER_2019_POPULATION
    mapping = file7_columns(header_2019)
    assert len(mapping) == 57
    assert [mapping[h] for h in HEADER_2019_HEAD] == ["lsoa_code", "lsoa_name", "lad_code",
                                                      "lad_name"]
    assert [mapping[h] for h in HEADER_2019_POPULATION] == [
        "population", "pop_0_15", "pop_16_59", "pop_60_plus", "pop_18_59_64"]
    assert file7_vintage(header_2019) == ("2019", "2011", "2015")
    assert file7_vintage(header) == ("2025", "2021", "2022")
    assert is_file7(header_2019)
    assert is_file7(",".join(f'"{h}"' for h in header_2019) + "\n")


def test_is_file7_forms(raw):
    header, _ = raw
    assert is_file7(IOW_FILE7) and is_file7(str(IOW_FILE7))
    assert is_file7(IOW_FILE7.read_bytes()) and is_file7(header)
    assert not is_file7(ENGLAND / "imd2025_lsoa21.csv")
    assert not is_file7(ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv")


def test_read_file7_refuses_other_tables():
    with pytest.raises(InputError) as exc:
        read_file7(ENGLAND / "imd2025_lsoa21.csv")
    msg = str(exc.value)
    assert "imd2025_lsoa21.csv" in msg and "not an IoD File 7" in msg and "\n" not in msg


@pytest.mark.parametrize("delimiter,encoding", [(";", "utf-8-sig"), ("\t", "latin-1"),
                                                (",", "utf-16")])
def test_read_file7_variants(tmp_path, raw, delimiter, encoding):
    header, rows = raw
    path = tmp_path / "file7.csv"
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    df = read_file7(path)
    assert len(df) == 89
    assert df.loc["E01017282", "imd_score"] == pytest.approx(25.502)
    assert df.loc["E01017282", "share_60_plus"] == pytest.approx(360 / 1355)


def test_read_file7_text_in_score_column(tmp_path, raw):
    header, rows = raw
    bad = [list(r) for r in rows]
    bad[0][header.index("Crime Score")] = "see note"
    path = tmp_path / "bad.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *bad])
    with pytest.raises(InputError, match="'Crime Score' holds text"):
        read_file7(path)


def test_file7_joins_iow_boundaries(raw):
    features = json.loads(IOW_LSOA.read_text(encoding="utf-8"))["features"]
    ids = [f["properties"]["lsoa11_code"] for f in features]
    out, (report,) = load_area_data([DeprivationSource(str(IOW_FILE7))], ids)
    assert report.kind == "file7" and report.code_column == "LSOA code (2021)"
    assert (report.n_rows, report.n_matched, report.n_areas_without_data) == (89, 89, 0)
    assert report.n_unmatched_table_codes == 0
    assert out.loc["E01017282", "share_60_plus"] == pytest.approx(360 / 1355)


# --------------------------------------------------------------------------- download


def test_file7_url_constant():
    assert FILE7_2025_URL.endswith(
        "/691ded56d140bbbaa59a2a7d/"
        "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv")


@pytest.mark.network
def test_file7_download_and_cache(http_server, tmp_path):
    (http_server.root / "File_7.csv").write_bytes(IOW_FILE7.read_bytes())
    url = f"{http_server.url}/File_7.csv"
    cache = tmp_path / "cache"
    path = file7_download(cache, url, min_rows=89)
    assert path == cache_path(url, cache, ".csv")
    assert path.read_bytes() == IOW_FILE7.read_bytes()
    assert len(read_file7(path)) == 89
    again = file7_download(cache, url, min_rows=89)
    assert again == path and http_server.hits == ["/File_7.csv"]


@pytest.mark.network
def test_file7_download_too_few_rows_not_cached(http_server, tmp_path):
    (http_server.root / "File_7.csv").write_bytes(IOW_FILE7.read_bytes())
    url = f"{http_server.url}/File_7.csv"
    with pytest.raises(DownloadError) as exc:
        file7_download(tmp_path / "cache", url, backoff=0)  # the full file has 33,755 rows
    msg = str(exc.value)
    assert "only 89 rows" in msg and "--deprivation FILE.csv" in msg
    assert "english-indices-of-deprivation-2025" in msg
    assert not cache_path(url, tmp_path / "cache", ".csv").exists()


@pytest.mark.network
def test_file7_download_truncated_body_not_cached(http_server, tmp_path):
    body = IOW_FILE7.read_bytes()
    cut = body[: body.rstrip().rfind(b",E06000046,") + 5]  # the last row cut mid-way
    http_server.routes["/File_7.csv"] = (200, cut, "text/csv")
    url = f"{http_server.url}/File_7.csv"
    with pytest.raises(DownloadError, match="truncated"):
        file7_download(tmp_path / "cache", url, min_rows=80, backoff=0)
    assert not cache_path(url, tmp_path / "cache", ".csv").exists()


@pytest.mark.network
def test_file7_download_not_file7_not_cached(http_server, tmp_path):
    http_server.routes["/File_7.csv"] = (
        200, (ENGLAND / "imd2025_lsoa21.csv").read_bytes()[:20000], "text/csv")
    url = f"{http_server.url}/File_7.csv"
    with pytest.raises(DownloadError, match="not an IoD File 7"):
        file7_download(tmp_path / "cache", url, min_rows=1, backoff=0)
    assert not cache_path(url, tmp_path / "cache", ".csv").exists()


@pytest.mark.network
@pytest.mark.parametrize("status,body,ctype", [
    (500, b"Internal Server Error", "text/plain"),
    (200, b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html"),
    (404, b"Not Found", "text/plain"),
])
def test_file7_download_errors_not_cached(http_server, tmp_path, status, body, ctype):
    http_server.routes["/File_7.csv"] = (status, body, ctype)
    url = f"{http_server.url}/File_7.csv"
    with pytest.raises(DownloadError) as exc:
        file7_download(tmp_path / "cache", url, min_rows=89, retries=1, backoff=0)
    assert "--deprivation FILE.csv" in str(exc.value)
    assert not cache_path(url, tmp_path / "cache", ".csv").exists()
    # nothing was cached, so the next call asks the server again
    http_server.routes["/File_7.csv"] = (200, IOW_FILE7.read_bytes(), "text/csv")
    assert file7_download(tmp_path / "cache", url, min_rows=89).is_file()
