"""The English Indices of Deprivation "File 7": every score, rank, decile and population.

File 7 is the one CSV of the IoD release with all domains, sub-domains and the
population denominators per LSOA. Two layouts are recognised by their header
text (regular expressions, so small wording and truncation differences do not
matter):

* IoD2025: ``LSOA code (2021)``, ..., ``Total population: mid 2022``,
  ``Dependent Children aged 0-15: mid 2022``, ``Older population aged 60 and
  over: mid 2022``, ``Working age population 18-66 (for use with Employment
  Deprivation Domain): mid 2022``.
* IoD2019: ``LSOA code (2011)``, ..., ``Total population: mid 2015 (excluding
  prisoners)``, ``Dependent Children aged 0-15: ...``, ``Population aged 16-59:
  ...``, ``Older population aged 60 and over: ...``, ``Working age population
  18-59/64: for use with Employment Deprivation Domain (excluding prisoners)``.

Columns get tidy names: ``<domain>_score``, ``<domain>_rank``, ``<domain>_decile``
for the domains ``imd income employment education health crime housing
environment idaci idaopi cyp adult_skills geographical_barriers wider_barriers
indoors outdoors``; population ``population pop_0_15 pop_60_plus`` plus
``pop_18_66`` (2025) or ``pop_16_59 pop_18_59_64`` (2019); derived
``share_60_plus`` and ``share_0_15``; text ``lsoa_name lad_code lad_name``.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
from pandas.api.types import is_numeric_dtype

from geo.csvtable import first_names, header_from_bytes, read_header, read_table
from geo.download import fetch
from geo.join import index_by_code
from socialrisk.core.errors import InputError

log = logging.getLogger(__name__)

FILE7_2025_URL = (
    "https://assets.publishing.service.gov.uk/media/691ded56d140bbbaa59a2a7d/"
    "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv"
)
FILE7_RELEASE_PAGE = "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025"
#: Rows in the official IoD2025 File 7 (LSOAs 2021 in England).
FILE7_ROWS = 33_755
#: Fewer data rows than this and a downloaded File 7 is refused as truncated.
FILE7_MIN_ROWS = 33_000

DOMAINS: list[tuple[str, str]] = [
    (r"^index of multiple deprivation", "imd"),
    (r"^income deprivation affecting children", "idaci"),
    (r"^income deprivation affecting older", "idaopi"),
    (r"^income\b", "income"),
    (r"^employment\b", "employment"),
    (r"^education\b", "education"),
    (r"^health deprivation", "health"),
    (r"^crime\b", "crime"),
    (r"^barriers to housing", "housing"),
    (r"^living environment", "environment"),
    (r"^children and young people", "cyp"),
    (r"^adult skills", "adult_skills"),
    (r"^geographical barriers", "geographical_barriers"),
    (r"^wider barriers", "wider_barriers"),
    (r"^indoors", "indoors"),
    (r"^outdoors", "outdoors"),
]
POPULATION: list[tuple[str, str]] = [
    (r"^total population", "population"),
    (r"^dependent children aged 0.?15", "pop_0_15"),
    (r"^population aged 16.?59", "pop_16_59"),
    (r"^older population aged 60", "pop_60_plus"),
    (r"^working age population 18.?66", "pop_18_66"),
    (r"^working age population 18.?59/64", "pop_18_59_64"),
    (r"^working age population", "pop_working_age"),
]
TEXT: list[tuple[str, str]] = [
    (r"^lsoa code\b", "lsoa_code"),
    (r"^lsoa name\b", "lsoa_name"),
    (r"^local authority district code", "lad_code"),
    (r"^local authority district name", "lad_name"),
]
TEXT_COLUMNS = ["lsoa_name", "lad_code", "lad_name"]
_VINTAGE_BY_POPULATION_YEAR = {"2022": "2025", "2015": "2019", "2012": "2015"}
_VINTAGE_BY_CODE_YEAR = {"2021": "2025", "2011": "2019"}


def _norm_header(name: str) -> str:
    return re.sub(r"\s+", " ", str(name).replace("\ufeff", "")).strip().lower()


def tidy_name(header: str) -> str | None:
    """The tidy name of one File 7 column header, or ``None`` when it is not recognised."""
    h = _norm_header(header)
    for pattern, name in TEXT + POPULATION:
        if re.search(pattern, h):
            return name
    for pattern, domain in DOMAINS:
        if re.search(pattern, h):
            m = re.search(r"\b(score|rank|decile)\b", h)
            return f"{domain}_{m.group(1)}" if m else None
    return None


def file7_columns(header: Iterable[str]) -> dict[str, str]:
    """Map File 7 header -> tidy name for every recognised column (first wins on repeats)."""
    return first_names(header, tidy_name, "File 7 column")


def _header_of(path_or_header: str | Path | bytes | Iterable[str]) -> list[str]:
    if isinstance(path_or_header, Path):
        return read_header(path_or_header)
    if isinstance(path_or_header, bytes):
        return header_from_bytes(path_or_header)
    if isinstance(path_or_header, str):
        if "\n" not in path_or_header and "," not in path_or_header \
                and Path(path_or_header).is_file():
            return read_header(path_or_header)
        return header_from_bytes(path_or_header.encode("utf-8"))
    return [str(c) for c in path_or_header]


def is_file7(path_or_header: str | Path | bytes | Iterable[str]) -> bool:
    """True when a CSV (path, body bytes, header line or list of names) has a File 7 header.

    A File 7 header has an ``LSOA code (...)`` column, the IMD score and the
    total population.
    """
    names = set(file7_columns(_header_of(path_or_header)).values())
    return {"lsoa_code", "imd_score", "population"} <= names


def read_file7(path: str | Path) -> pd.DataFrame:
    """Read an IoD File 7 (2025 or 2019 layout) into tidy columns, one row per LSOA.

    Parameters
    ----------
    path : path
        The File 7 CSV (any encoding/delimiter :func:`~geo.tables.read_table`
        reads; an extract with fewer rows is fine).

    Returns
    -------
    DataFrame
        Indexed by LSOA code (index name ``"lsoa_code"``), with ``lsoa_name``,
        ``lad_code``, ``lad_name`` (text), every ``<domain>_score/_rank/_decile``
        present, the population columns and ``share_60_plus``, ``share_0_15``
        (NaN where the population is 0 or missing). ``df.attrs``: ``vintage``
        (``"2025"``/``"2019"``), ``code_year`` (``"2021"``/``"2011"``),
        ``population_year``, ``code_column`` (the original header), ``n_rows``,
        ``source``.

    Raises
    ------
    InputError
        When the file is not a File 7, a score column holds text, or an LSOA
        code appears twice with different values.
    """
    p = Path(path)
    header = read_header(p)
    mapping = file7_columns(header)
    names = set(mapping.values())
    if "lsoa_code" not in names or not any(n.startswith("imd_") for n in names):
        shown = ", ".join(repr(h) for h in header[:4])
        raise InputError(f"{p} is not an IoD File 7: no 'LSOA code (2021)' and IMD columns "
                         f"(it starts {shown}); give File 7 of the English Indices of "
                         f"Deprivation ({FILE7_RELEASE_PAGE}) or set kind = \"table\"")
    code_header = next(h for h, n in mapping.items() if n == "lsoa_code")
    text_headers = [h for h, n in mapping.items() if n in ("lsoa_code", *TEXT_COLUMNS)]
    df = read_table(p, keep_text=text_headers)
    n_rows = len(df)
    df = df[[h for h in df.columns if h in mapping]].rename(columns=mapping)
    table, _ = index_by_code(df, "lsoa_code", p.name)
    table.index.name = "lsoa_code"
    for col in table.columns:
        if col in TEXT_COLUMNS:
            continue
        if not is_numeric_dtype(table[col]):
            n_bad = int(pd.to_numeric(table[col], errors="coerce").isna().sum()
                        - table[col].isna().sum())
            original = next(h for h, n in mapping.items() if n == col)
            raise InputError(f"{p}: File 7 column {original[:60]!r} holds text in {n_bad} rows; "
                             f"it must hold numbers: download File 7 again or fix those cells")
    _add_shares(table)
    vintage, code_year, population_year = file7_vintage(header)
    if "population" not in table.columns:
        log.warning("%s has no population columns; share_60_plus and share_0_15 are not "
                    "available", p.name)
    table.attrs.update(source=str(p), vintage=vintage, code_year=code_year,
                       population_year=population_year, code_column=code_header, n_rows=n_rows)
    log.info("read File 7 (IoD%s, LSOA %s codes) from %s: %d LSOAs",
             vintage or "?", code_year or "?", p.name, len(table))
    return table


def file7_vintage(header: Iterable[str]) -> tuple[str, str, str]:
    """``(vintage, code_year, population_year)`` of a File 7 header (``("2025", "2021", "2022")``).

    The IoD vintage follows from the population year (mid-2022 -> 2025,
    mid-2015 -> 2019, mid-2012 -> 2015), else from the LSOA code year (2021 ->
    2025, 2011 -> 2019). Unknown parts are ``""``.
    """
    mapping = file7_columns(header)
    code_header = next((h for h, n in mapping.items() if n == "lsoa_code"), "")
    pop_header = next((h for h, n in mapping.items() if n == "population"), "")
    code_year = _year(code_header, r"\((\d{4})\)")
    population_year = _year(pop_header, r"mid[- ]?(\d{4})")
    vintage = (_VINTAGE_BY_POPULATION_YEAR.get(population_year)
               or _VINTAGE_BY_CODE_YEAR.get(code_year, ""))
    return vintage, code_year, population_year


def _year(text: str, pattern: str) -> str:
    m = re.search(pattern, text or "", flags=re.IGNORECASE)
    return m.group(1) if m else ""


def _add_shares(df: pd.DataFrame) -> None:
    """Add ``share_60_plus`` and ``share_0_15`` (0..1) when the population columns exist."""
    if "population" not in df.columns:
        return
    total = df["population"].where(df["population"] > 0)
    for part, share in (("pop_60_plus", "share_60_plus"), ("pop_0_15", "share_0_15")):
        if part in df.columns:
            df[share] = (df[part] / total).astype("float64")


#: Size cap of a File 7 download: the official IoD2025 file is about 10 MB
#: (33,755 rows of ~295 bytes); six times that leaves room for a wider vintage.
FILE7_MAX_BYTES = 64_000_000
#: Wall-clock limit (seconds) of a File 7 download, retries included.
FILE7_DEADLINE = 300.0


def file7_validator(min_rows: int = FILE7_MIN_ROWS) -> Callable[[Path], str | None]:
    """A :func:`~geo.download.fetch` validator for a downloaded File 7.

    The file passes when its header is a File 7 header, it has at least
    ``min_rows`` data rows, and its last row has as many fields as the header
    (a body cut mid-row fails). The file is read line by line, never whole.
    """

    def validate(path: Path) -> str | None:
        with open(path, "rb") as fh:
            header = header_from_bytes(fh.read(64 * 1024))
            if not is_file7(header):
                return "the body is not an IoD File 7 CSV (its header has no LSOA code, " \
                       "IMD score and population columns)"
            fh.seek(0)
            n_lines, last = 0, b""
            for line in fh:
                if line.strip():
                    n_lines, last = n_lines + 1, line
        n_rows = n_lines - 1
        if n_rows < min_rows:
            return f"only {n_rows:,} rows (a full File 7 has {FILE7_ROWS:,}); it may be truncated"
        fields = next(csv.reader([last.decode("utf-8", errors="replace").rstrip("\r\n")]), [])
        if len(fields) != len(header):
            return (f"the last row has {len(fields)} fields, the header {len(header)}: "
                    f"the body is truncated")
        return None

    return validate


def file7_download(cache_dir: str | Path, url: str = FILE7_2025_URL, *,
                   min_rows: int = FILE7_MIN_ROWS, timeout: float = 120.0, retries: int = 3,
                   backoff: float = 1.0, max_bytes: int = FILE7_MAX_BYTES,
                   deadline: float = FILE7_DEADLINE) -> Path:
    """Download the official IoD2025 File 7 once and return the cached CSV.

    Parameters
    ----------
    cache_dir : path
        Cache root (see :func:`geo.download.fetch`).
    url : str
        Where File 7 is published (default :data:`FILE7_2025_URL`).
    min_rows : int
        Fewest data rows accepted (default :data:`FILE7_MIN_ROWS`; the full file
        has :data:`FILE7_ROWS`). A smaller body is treated as truncated and not
        cached.
    timeout, retries, backoff : float, int, float
        Per-read timeout, retries and back-off, passed to
        :func:`~geo.download.fetch`.
    max_bytes : int
        Largest body accepted, in decompressed bytes (default
        :data:`FILE7_MAX_BYTES`).
    deadline : float
        Wall-clock limit in seconds for the whole download, retries included
        (default :data:`FILE7_DEADLINE`).

    Raises
    ------
    DownloadError
        Offline, HTTP error, an HTML page, a body over ``max_bytes``, past the
        deadline or not a complete File 7; the message says how to download the
        file by hand.
    """
    hint = (f"to work offline, download File 7 (CSV, 'File_7_IoD2025_All_Ranks_Scores_Deciles_"
            f"Population_Denominators.csv') from {FILE7_RELEASE_PAGE} or {url} on a machine "
            f"with internet and pass it with --deprivation FILE.csv (or save it as {{cache}} "
            f"to have it used automatically)")
    return fetch(url, cache_dir, suffix=".csv", validate=file7_validator(min_rows),
                 timeout=timeout, retries=retries, backoff=backoff, hint=hint,
                 max_bytes=max_bytes, deadline=deadline, label="File 7")


__all__ = [
    "FILE7_2025_URL", "FILE7_MIN_ROWS", "FILE7_ROWS", "file7_columns", "file7_download",
    "file7_validator", "file7_vintage", "is_file7", "read_file7", "tidy_name",
]
