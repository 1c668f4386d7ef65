"""Area tables: robust CSV reading, area-code detection and joins that report what matched.

Any table with one row per area code can feed the index: the official IoD
"File 7" (:mod:`socialrisk.geo.deprivation`), Census 2021 TS011
(:mod:`socialrisk.geo.census`) or a user's own CSV. This module reads CSVs the
way people actually save them (comma, semicolon, tab or pipe; UTF-8 with or
without a byte-order mark, UTF-16 from Excel, Windows-1252/Latin-1; thousands
separators; ``n/a``, ``-``, ``..`` for missing values), finds the column that
holds the area codes, and joins the table to the areas with a :class:`JoinReport`
saying how many areas got data and which codes matched nothing.

Policies (documented in ``docs/method.md``):

* A code that appears twice with identical rows is kept once (recorded in
  ``JoinReport.duplicate_codes``); a code that appears twice with *different*
  values is refused with :class:`InputError`: the tool will not guess which row
  is right.
* A table that matches no area at all is a :class:`JoinError`. A partial match
  is a warning; when both sides are LSOA codes the warning explains that LSOA
  2011 and 2021 codes differ and a lookup is needed.
* When two tables give a column of the same name, the first table keeps the
  name and the later table's column gets the suffix ``_<n>`` (``n`` = the
  1-based position of the source in the list), with a warning and an entry in
  ``JoinReport.renamed``. Nothing is silently overwritten.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from socialrisk.errors import InputError, JoinError, clipped, shown

log = logging.getLogger(__name__)

#: Cell values read as missing in numeric columns (compared lower-cased, stripped).
NA_TOKENS = frozenset({
    "", "n/a", "na", "nan", "null", "none", "-", "--", "..", ".", ":", "x", "*", "#n/a",
    "#value!", "#div/0!", "c", "z", "[c]", "[x]", "[z]", "[low]", "\u2013", "\u2014",
})
#: How many codes a report lists (the counts are always complete).
MAX_LISTED = 10
DELIMITERS = (",", ";", "\t", "|")

_LSOA_RE = re.compile(r"^[EW]01\d{6}$")
_THOUSANDS_RE = r"[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?"
_SPACE_THOUSANDS_RE = r"[-+]?[1-9]\d{0,2}(?:[ \u00a0\u202f]\d{3})+(?:\.\d+)?"
_PLAIN_RE = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_DECIMAL_COMMA_RE = r"[-+]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+"
_INT_RE = r"[-+]?\d+"


# --------------------------------------------------------------------------- reading


def _utf16_without_bom(raw: bytes) -> str:
    """``"utf-16-le"``/``"utf-16-be"`` when ``raw`` looks like BOM-less UTF-16 text, else ``""``.

    Text in UTF-16 has a NUL byte beside nearly every ASCII character: at odd
    offsets (little-endian) or even offsets (big-endian).
    """
    head = raw[:4096]
    if len(head) < 4:
        return ""
    odd, even = head[1::2].count(0), head[0::2].count(0)
    half = len(head) // 2
    if odd >= 0.3 * half and even <= 0.05 * half:
        return "utf-16-le"
    if even >= 0.3 * half and odd <= 0.05 * half:
        return "utf-16-be"
    return ""


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    """Decode bytes: UTF-16 (BOM, or none), UTF-8 (with or without BOM), cp1252, then Latin-1.

    Other bytes with NUL characters are binary (a spreadsheet, an archive, a
    database): refused, since decoding them would give a table of garbage.
    """
    utf16 = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else _utf16_without_bom(raw)
    if utf16:
        try:
            return raw.decode(utf16), utf16
        except UnicodeDecodeError as exc:
            raise InputError(f"{path} starts like UTF-16 text but cannot be decoded "
                             f"({clipped(exc)}); save it again as CSV (UTF-8)") from exc
    if b"\x00" in raw:
        raise InputError(f"{path} is not a CSV text file (it holds binary data: NUL bytes); "
                         f"give the table as CSV text (in a spreadsheet: Save as, CSV UTF-8)")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


def _csv_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    """``csv.reader`` rows of ``lines``, with cells longer than the csv module's default limit.

    The limit (128 kB) protects a streaming reader's memory; here the text is
    already in memory, so it is raised to the length of the lines (a WKT column
    of a large polygon easily has a 200 kB cell). It is only ever raised.
    """
    need = sum(len(line) + 1 for line in lines) + 1
    if need > csv.field_size_limit():
        csv.field_size_limit(min(need, sys.maxsize))
    return list(csv.reader(lines, delimiter=delimiter))


def _sniff(lines: list[str]) -> tuple[str, int]:
    """Pick the delimiter and the header line from the first lines of a file.

    The delimiter is the candidate that splits the most lines into the same number
    (> 1) of fields; leading lines with fewer fields than that (titles, notes)
    are skipped. Returns ``(delimiter, header_line_index)``.
    """
    best = (",", 0, 0, 0)  # delimiter, agreeing lines, fields, header index
    for delim in DELIMITERS:
        rows = _csv_rows(lines, delim)
        counts = [len(row) for row in rows]
        counts = [c for c in counts if c > 0]
        if not counts:
            continue
        modal = max(set(counts), key=lambda c: (counts.count(c), c))
        if modal < 2:
            continue
        agree = counts.count(modal)
        if (agree, modal) > (best[1], best[2]):
            header = next((i for i, r in enumerate(rows) if len(r) >= modal), 0)
            best = (delim, agree, modal, header)
    return best[0], best[3]


def _numeric(values: pd.Series) -> tuple[str, Any]:
    """Classify a column of strings: numbers, text, or numbers with commas.

    Returns ``("num", float Series)``, ``("text", None)`` or ``("comma", (cleaned,
    thousands_ok, decimal_ok))`` where the comma forms are resolved by
    :func:`_resolve_commas` once the whole file's convention is known.
    Missing tokens (:data:`NA_TOKENS`) become NaN; ``1 234`` (space thousands) is
    a number; all-digit values with a leading zero (``01001``) are codes (text).
    """
    v = values.fillna("").astype(str).str.strip()
    missing = v.str.lower().isin(NA_TOKENS)
    present = v[~missing]
    if present.empty:
        return "num", pd.Series(np.nan, index=values.index, dtype="float64")
    if present.str.fullmatch(r"0\d+").any():
        return "text", None
    cleaned = v.where(~missing, None)
    try:
        return "num", pd.to_numeric(cleaned, errors="raise").astype("float64")
    except (ValueError, TypeError):
        pass
    plain = present.str.fullmatch(_PLAIN_RE)
    rest = present[~plain]
    if rest.str.fullmatch(_SPACE_THOUSANDS_RE).all():
        fixed = cleaned.str.replace(r"[ \u00a0\u202f]", "", regex=True)
        return "num", pd.to_numeric(fixed, errors="coerce").astype("float64")
    thousands_ok = bool(rest.str.fullmatch(_THOUSANDS_RE).all())
    decimal_ok = bool(rest.str.fullmatch(_DECIMAL_COMMA_RE).all()
                      and present[plain].str.fullmatch(_INT_RE).all())
    if not (thousands_ok or decimal_ok):
        return "text", None
    return "comma", (cleaned, thousands_ok, decimal_ok)


def _resolve_commas(cleaned: pd.Series, decimal_comma: bool) -> pd.Series:
    """Numbers from strings with thousands separators or decimal commas."""
    if decimal_comma:
        fixed = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        fixed = cleaned.str.replace(",", "", regex=False)
    return pd.to_numeric(fixed, errors="coerce").astype("float64")


def read_table(path: str | Path, *, keep_text: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV the way it was saved, with numbers as numbers.

    Parameters
    ----------
    path : path
        A delimited text file (``,`` ``;`` tab or ``|``; UTF-8 with or without a
        byte-order mark, UTF-16, Windows-1252 or Latin-1).
    keep_text : iterable of str
        Columns never converted to numbers (e.g. a code column of digits).

    Returns
    -------
    DataFrame
        Header names and text cells stripped of surrounding whitespace; columns
        whose every non-missing cell is a number as ``float64``; other columns
        as text with empty cells as missing. Missing tokens (:data:`NA_TOKENS`:
        ``n/a``, ``-``, ``..``, empty, ...) are NaN in numeric columns.
        Thousands separators (``1,234``, ``1 234``) are removed. Decimal commas
        (``0,284``) are read when some column can only be read that way and none
        only with thousands separators; a file whose every comma-number is
        ambiguous (``1,234``) is read with thousands separators. All-digit cells
        with a leading zero (``01001``) keep a column as text (codes).
        ``df.attrs`` holds ``source``, ``encoding``, ``delimiter`` and
        ``skipped_lines`` (preamble lines).

    Raises
    ------
    InputError
        When the file is missing, empty, a spreadsheet, or not parseable as CSV.
    """
    p = Path(path)
    _check_regular(p)
    if not p.is_file():
        raise InputError(f"table {p} not found; give the path to a CSV file")
    raw = p.read_bytes()
    if raw.startswith(b"PK\x03\x04") or p.suffix.lower() in (".xlsx", ".xls", ".ods"):
        raise InputError(f"{p} is a spreadsheet, not a CSV; open it and save the sheet "
                         f"with the data as CSV, then pass the .csv file")
    text, encoding = _decode(raw, p)
    if not text.strip():
        raise InputError(f"{p} is empty; download the table again or give another file")
    head_lines = text.splitlines()[:50]
    delim, header_line = _sniff(head_lines)
    try:
        df = pd.read_csv(io.StringIO(text), sep=delim, dtype=str, keep_default_na=False,
                         skiprows=header_line, skip_blank_lines=True)
    except (pd.errors.ParserError, csv.Error) as exc:
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise InputError(f"{p} is not a readable CSV ({clipped(msg)}); check the delimiter and "
                         f"quoting, or save it again as CSV") from exc
    if df.shape[1] == 0:
        raise InputError(f"{p} has no columns; give a CSV with a header row")
    _check_unique_header(p, head_lines[header_line:], delim)
    df.columns = [str(c).strip().strip("\ufeff").strip() for c in df.columns]
    keep = set(keep_text)
    comma: dict[str, tuple[pd.Series, bool, bool]] = {}
    for col in df.columns:
        kind, value = ("text", None) if col in keep else _numeric(df[col])
        if kind == "num":
            df[col] = value
        elif kind == "comma":
            comma[col] = value
        else:
            df[col] = _text(df[col])
    # One convention per file: a decimal comma only when some column can only be
    # read that way and none can only be read with thousands separators.
    decimal_only = any(d and not t for _, t, d in comma.values())
    thousands_only = any(t and not d for _, t, d in comma.values())
    decimal_comma = decimal_only and not thousands_only
    for col, (cleaned, t_ok, d_ok) in comma.items():
        df[col] = _resolve_commas(cleaned, decimal_comma if (t_ok and d_ok) else d_ok)
    if comma:
        log.info("%s: numbers with %s in %d column(s)", p,
                 "decimal commas" if decimal_comma else "thousands separators", len(comma))
    df.attrs.update(source=str(p), encoding=encoding, delimiter=delim,
                    skipped_lines=header_line)
    if header_line:
        log.info("%s: skipped %d line(s) before the header", p, header_line)
    log.debug("read %s: %d rows, %d columns, encoding %s, delimiter %r",
              p, len(df), df.shape[1], encoding, delim)
    return df


def _check_regular(p: Path) -> None:
    """Refuse a named pipe, device or socket before opening it (reading one may never end)."""
    from socialrisk.settings import special_file

    problem = special_file(p)
    if problem:
        raise InputError(f"table {shown(str(p), 200)} {problem}; give the path of a saved "
                         f"CSV file")
    if p.is_dir():
        raise InputError(f"table {p} is a folder; give the path to a CSV file")


def _check_unique_header(p: Path, lines: list[str], delim: str) -> None:
    """Refuse two columns of the same name: which one is the data would be a guess.

    pandas would silently rename the second ``name.1``; names that differ only
    by surrounding spaces would clash after stripping.
    """
    rows = _csv_rows(lines[:1], delim) if lines else []
    names = [c.strip().strip("\ufeff").strip() for c in (rows[0] if rows else [])]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise InputError(f"{p} has more than one column named {shown(name)}; rename "
                             f"them so that every column has its own name")
        seen.add(name)


def _text(values: pd.Series) -> pd.Series:
    """Strip text cells; empty cells become missing."""
    s = values.astype("object").map(lambda x: x.strip() if isinstance(x, str) else x)
    return s.where(s.map(lambda x: isinstance(x, str) and x != ""), None)


def read_header(path: str | Path) -> list[str]:
    """The column names of a CSV (decoded and split like :func:`read_table`), without the body."""
    p = Path(path)
    _check_regular(p)
    if not p.is_file():
        raise InputError(f"table {p} not found; give the path to a CSV file")
    with p.open("rb") as fh:
        raw = fh.read(256 * 1024)
    if raw.startswith(b"PK\x03\x04"):
        return []
    return header_from_bytes(raw)


def header_from_bytes(raw: bytes) -> list[str]:
    """The column names in the first lines of a CSV body (bytes)."""
    utf16 = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else _utf16_without_bom(raw)
    if utf16:
        text = raw.decode(utf16, errors="ignore")
    else:
        text = None
        for enc in ("utf-8-sig", "cp1252"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError as exc:
                if exc.start >= len(raw) - 4 and enc == "utf-8-sig":  # cut mid-character
                    text = raw[:exc.start].decode(enc)
                    break
        if text is None:
            text = raw.decode("latin-1")
    lines = text.splitlines()[:50]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        return []
    delim, header_line = _sniff(lines)
    rows = _csv_rows(lines[header_line:header_line + 1], delim)
    return [c.strip().strip("\ufeff").strip() for c in (rows[0] if rows else [])]


def numeric_columns(df: pd.DataFrame) -> list[str]:
    """Names of the numeric (not boolean) columns of ``df``, in order."""
    return [c for c in df.columns if is_numeric_dtype(df[c]) and not is_bool_dtype(df[c])]


# --------------------------------------------------------------------------- codes


def _norm_one(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, (float, np.floating)):
        if np.isnan(x):
            return ""
        if float(x).is_integer():
            return str(int(x))
    return str(x).strip().upper()


def normalise_codes(values: Iterable[Any]) -> pd.Series:
    """Area codes as comparable strings.

    Stripped and upper-case; ``12.0`` -> ``"12"``; missing -> ``""``.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="object")
    if is_numeric_dtype(s) and not is_bool_dtype(s):
        f = s.astype("float64").to_numpy()
        out = np.full(len(f), "", dtype=object)
        ok = ~np.isnan(f)
        whole = ok & (f == np.floor(f))
        out[whole] = f[whole].astype("int64").astype(str)
        frac = ok & ~whole
        out[frac] = f[frac].astype(str)
        return pd.Series(out, index=s.index, dtype="object")
    return s.astype("object").map(_norm_one).astype("object")


def looks_like_lsoa(codes: Iterable[str], share: float = 0.5) -> bool:
    """True when at least ``share`` of the non-empty ``codes`` are LSOA codes (E01/W01...)."""
    s = pd.Series([c for c in codes if c], dtype="object")
    if s.empty:
        return False
    return bool(s.str.match(_LSOA_RE).mean() >= share)


def detect_code_column(df: pd.DataFrame, area_ids: Iterable[Any]) -> str:
    """The column whose values match the most area ids.

    Parameters
    ----------
    df : DataFrame
        A table read by :func:`read_table`.
    area_ids : iterable
        The ids of the areas (compared after :func:`normalise_codes`).

    Returns
    -------
    str
        The column name. Ties go to the leftmost column.

    Raises
    ------
    JoinError
        When no column holds any of the area ids; the message lists the columns
        tried and how many ids each matched.
    """
    areas = set(normalise_codes(area_ids)) - {""}
    source = df.attrs.get("source", "the table")
    counts: dict[str, int] = {}
    for col in df.columns:
        s = df[col]
        if is_numeric_dtype(s) and not s.dropna().map(float.is_integer).all():
            continue  # fractional numbers are never codes
        counts[col] = int(normalise_codes(s.drop_duplicates()).isin(areas).sum())
    if not counts:
        raise JoinError(f"{source} has no column that could hold area codes; add a column "
                        f"with the area ids or set code_column")
    best = max(counts, key=lambda c: (counts[c], -list(df.columns).index(c)))
    if counts[best] == 0:
        tried = ", ".join(f"{shown(c)} ({n})" for c, n in list(counts.items())[:8])
        more = f" and {len(counts) - 8} more" if len(counts) > 8 else ""
        example = next(iter(sorted(areas)), "?")
        hint = _lsoa_column_hint(df, areas)
        raise JoinError(f"{source}: no column holds any of the {len(areas):,} area ids "
                        f"(e.g. {shown(example)}); tried {tried}{more} (matches in brackets)"
                        f"{hint}; set code_column or check the areas' id column")
    log.info("%s: area codes are in column %s (%d of %d areas match)",
             source, shown(best), counts[best], len(areas))
    return best


def _lsoa_column_hint(df: pd.DataFrame, areas: set[str]) -> str:
    if not looks_like_lsoa(areas):
        return ""
    for col in df.columns:
        if not is_numeric_dtype(df[col]) and looks_like_lsoa(normalise_codes(df[col].head(200))):
            return (f"; column {shown(col)} holds LSOA codes of another vintage or area: LSOA 2011 "
                    f"and 2021 codes differ, so a lookup (ONS LSOA 2011 to 2021) is needed")
    return ""


def _code_year(name: str) -> str:
    """``"2011"``/``"2021"`` when a column name says which LSOA vintage it holds."""
    m = re.search(r"(?:lsoa|code|cd)\s*_?\(?(?:20)?(11|21)\)?", name, flags=re.IGNORECASE)
    return f"20{m.group(1)}" if m else ""


# --------------------------------------------------------------------------- joins


@dataclass
class JoinReport:
    """What happened when one table was joined to the areas.

    Attributes
    ----------
    source : str
        The file (or URL) joined.
    kind : str
        ``"file7"``, ``"ts011"`` or ``"table"``.
    code_column : str
        The column that held the area codes.
    n_rows : int
        Rows in the table (after reading, before de-duplication).
    n_areas : int
        Distinct area ids joined to.
    n_matched : int
        Areas that got a row of the table.
    n_unmatched_table_codes, unmatched_table_codes : int, list of str
        Table codes that match no area (count; the first :data:`MAX_LISTED`).
        Normal for a national table joined to a few areas.
    n_areas_without_data, areas_without_data : int, list of str
        Areas with no row in the table (count; the first few). Their
        indicator values are NaN.
    duplicate_codes : list of str
        Codes that appeared on identical repeated rows (kept once).
    columns : list of str
        The indicator columns this table added (after any renaming).
    renamed : dict
        Column name -> new name for clashes with an earlier table.
    notes : list of str
        Warnings in words (vintage mismatches, coverage).
    """

    source: str
    kind: str = "table"
    code_column: str = ""
    n_rows: int = 0
    n_areas: int = 0
    n_matched: int = 0
    n_unmatched_table_codes: int = 0
    unmatched_table_codes: list[str] = field(default_factory=list)
    n_areas_without_data: int = 0
    areas_without_data: list[str] = field(default_factory=list)
    duplicate_codes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the log and the run report."""
        name = Path(self.source).name if "://" not in self.source else self.source
        line = (f"{name} ({self.kind}): {self.n_matched:,} of {self.n_areas:,} areas matched "
                f"on {self.code_column!r}; {self.n_areas_without_data:,} areas without data; "
                f"{self.n_unmatched_table_codes:,} table codes match no area "
                f"({self.n_rows:,} rows read)")
        if self.duplicate_codes:
            line += f"; {len(self.duplicate_codes)} repeated identical rows dropped"
        return line

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the run manifest."""
        return asdict(self)


def _first(values: Iterable[str], n: int = MAX_LISTED) -> list[str]:
    """The first ``n`` values as text, each cut to 40 characters (codes are shorter)."""
    out = []
    for v in values:
        text = str(v)
        out.append(text if len(text) <= 40 else text[:40] + "...")
        if len(out) >= n:
            break
    return out


def index_by_code(df: pd.DataFrame, code_column: str,
                  source: str) -> tuple[pd.DataFrame, list[str]]:
    """Index ``df`` by its normalised codes, refusing conflicting duplicates.

    Rows with an empty code are dropped. Codes repeated on identical rows are
    kept once and returned; codes repeated with different values raise
    :class:`InputError`.

    Returns
    -------
    (DataFrame, list of str)
        The table indexed by code (index name ``"code"``, without the code
        column) and the codes that were repeated on identical rows.
    """
    codes = normalise_codes(df[code_column])
    body = df.drop(columns=[code_column])
    body.index = pd.Index(codes.to_numpy(), name="code", dtype="object")
    empty = body.index == ""
    if empty.any():
        log.info("%s: %d rows without a code in %r ignored", source, int(empty.sum()), code_column)
        body = body[~empty]
    dup_mask = body.index.duplicated(keep=False)
    repeated: list[str] = []
    if dup_mask.any():
        dups = body[dup_mask]
        keyed = dups.reset_index()
        distinct = keyed.astype(str).drop_duplicates()
        conflicting = distinct["code"][distinct["code"].duplicated()].unique()
        if len(conflicting):
            ex = ", ".join(shown(c) for c in conflicting[:3])
            raise InputError(
                f"{source}: {len(conflicting):,} codes appear on more than one row of column "
                f"{shown(code_column)} with different values (e.g. {ex}); keep one row per area "
                f"(filter the table to one year or category, or pivot a long table to one "
                f"column per category)")
        repeated = sorted(set(dups.index))
        log.warning("%s: %d codes repeated on identical rows; each kept once (e.g. %s)",
                    source, len(repeated), ", ".join(_first(repeated, 3)))
        body = body[~body.index.duplicated(keep="first")]
    return body, repeated


def join_to_areas(table: pd.DataFrame, area_ids: Sequence[Any], *, source: str,
                  kind: str = "table", code_column: str = "", n_rows: int | None = None,
                  duplicate_codes: Sequence[str] = (), code_year: str = "",
                  strict: bool = False) -> tuple[pd.DataFrame, JoinReport]:
    """Reindex a code-indexed table onto the areas and report both sides' leftovers.

    Parameters
    ----------
    table : DataFrame
        Indexed by unique normalised codes (see :func:`index_by_code`).
    area_ids : sequence
        Area ids, in the order of the output.
    source, kind, code_column : str
        For the report and messages.
    n_rows : int, optional
        Rows of the original table (default ``len(table)``).
    duplicate_codes : sequence of str
        Codes repeated on identical rows, for the report.
    code_year : str
        ``"2011"``/``"2021"`` when the table's LSOA vintage is known (messages).
    strict : bool
        When True, areas without a row are a :class:`JoinError` instead of a
        note (``--strict``: their indicators would be NaN and their weight
        would go to their other indicators).

    Returns
    -------
    (DataFrame, JoinReport)
        The table indexed by ``area_ids`` (index name ``"area_id"``; NaN for
        areas without data) and the report.

    Raises
    ------
    JoinError
        When no area matches (or, under ``strict``, when some areas have no row).
    InputError
        When a numeric column holds infinite values (``inf``, ``1e999``): no
        indicator is infinite, so the file is wrong.
    """
    ids = list(area_ids)
    norm = normalise_codes(ids)
    area_set = set(norm) - {""}
    table_codes = pd.Index(table.index.astype(str))
    matched_mask = table_codes.isin(area_set)
    n_matched_codes = int(matched_mask.sum())
    missing_areas = sorted(area_set - set(table_codes[matched_mask]))
    unmatched = table_codes[~matched_mask]
    name = Path(source).name if "://" not in source else source
    both_lsoa = looks_like_lsoa(area_set) and looks_like_lsoa(table_codes[:2000])
    if not code_year:
        code_year = _code_year(code_column)
    if n_matched_codes == 0:
        hint = ""
        area_nations = {c[:1] for c in area_set}
        table_nations = {str(c)[:1] for c in table_codes[:5000]}
        if both_lsoa and not area_nations & table_nations:
            nation = {"E": "England", "W": "Wales"}
            hint = (f"; the table's LSOAs are in "
                    f"{' and '.join(sorted(nation.get(n, n) for n in table_nations))} and the "
                    f"areas in {' and '.join(sorted(nation.get(n, n) for n in area_nations))}")
        elif both_lsoa:
            hint = (f"; both are LSOA codes, so the table may be for other areas or another LSOA "
                    f"vintage{f' (its codes look like {code_year} codes)' if code_year else ''}: "
                    f"LSOA 2011 and 2021 codes differ and a lookup is needed")
        raise JoinError(
            f"{name}: none of its {len(table_codes):,} codes in column {shown(code_column)} "
            f"(e.g. {', '.join(map(shown, _first(table_codes, 2)))}) matches any of the "
            f"{len(area_set):,} area ids (e.g. "
            f"{', '.join(map(shown, _first(sorted(area_set), 2)))}){hint}; give a table "
            f"for these areas or set code_column to the column holding their ids")
    _check_finite(table, name)
    out = table.reindex(pd.Index(norm.to_numpy(), dtype="object"))
    out.index = pd.Index(ids, name="area_id")
    report = JoinReport(
        source=str(source), kind=kind, code_column=code_column,
        n_rows=int(n_rows if n_rows is not None else len(table)), n_areas=len(area_set),
        n_matched=len(area_set) - len(missing_areas),
        n_unmatched_table_codes=int(len(unmatched)), unmatched_table_codes=_first(unmatched),
        n_areas_without_data=len(missing_areas), areas_without_data=_first(missing_areas),
        duplicate_codes=list(duplicate_codes), columns=list(out.columns),
    )
    if missing_areas:
        report.notes.append(_coverage_note(report, name, missing_areas, table_codes,
                                           unmatched, both_lsoa, code_year))
        if strict:
            raise JoinError(f"{report.notes[-1]}; --strict refuses a table that leaves areas "
                            f"without data (run without --strict to compute with their other "
                            f"indicators)")
        log.warning("%s", report.notes[-1])
    log.info("%s", report.summary())
    return out, report


def _check_finite(table: pd.DataFrame, name: str) -> None:
    """Refuse infinite numbers in a table's numeric columns (NaN, missing, is fine)."""
    for col in numeric_columns(table):
        values = table[col].to_numpy(dtype="float64")
        bad = np.isinf(values)
        if bad.any():
            code = table.index[int(np.argmax(bad))]
            raise InputError(f"{name}: column {shown(col)} has {int(bad.sum()):,} infinite "
                             f"values (inf or a number too large, e.g. for code {shown(code)}); "
                             f"replace them with numbers, or leave the cells empty for missing")


def _coverage_note(report: JoinReport, name: str, missing: list[str], table_codes: pd.Index,
                   unmatched: pd.Index, both_lsoa: bool, code_year: str) -> str:
    """One sentence on why areas lack data, with the LSOA-vintage explanation when it applies."""
    note = (f"{name}: only {report.n_matched:,} of {report.n_areas:,} areas matched; "
            f"{report.n_areas_without_data:,} have no data (e.g. {', '.join(_first(missing, 3))})")
    if not both_lsoa:
        return note + "; check that the table covers all the areas"
    welsh = [c for c in missing if c.startswith("W01")]
    table_has_wales = bool(pd.Index(table_codes).str.startswith("W").any())
    other = len(missing) - (len(welsh) if not table_has_wales else 0)
    parts = []
    if welsh and not table_has_wales:
        parts.append(f"{len(welsh):,} are Welsh LSOAs and the table covers England only")
    if other:
        year = f" (its code column suggests {code_year} codes)" if code_year else ""
        lsoa_unmatched = int(pd.Index(unmatched).str.match(_LSOA_RE).sum())
        parts.append(
            f"{other:,} others are missing while the table has {lsoa_unmatched:,} LSOA codes "
            f"the areas lack{year}: LSOA 2011 and 2021 codes differ where LSOAs were split or "
            f"merged, so convert the table with the ONS LSOA (2011) to LSOA (2021) lookup or use "
            f"a table of the areas' vintage")
    return note + "; " + "; ".join(parts) if parts else note


def _select_columns(df: pd.DataFrame, columns: dict[str, str] | None, source: str,
                    code_column: str) -> pd.DataFrame:
    """Keep numeric columns (all, or only the mapped ones, renamed)."""
    if columns:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            import difflib

            close = difflib.get_close_matches(missing[0], [str(c) for c in df.columns], n=1)
            near = f"; did you mean {shown(close[0])}?" if close else ""
            raise InputError(f"{source} has no column {shown(missing[0])} named in "
                             f"columns{near} (it has {_listing(df.columns, 8)})")
        text = [c for c in columns if c not in numeric_columns(df)]
        if text:
            ex = ", ".join(shown(v, 20) for v in df[text[0]].dropna().astype(str).head(3))
            raise InputError(f"{source}: column {shown(text[0])} is not numeric (e.g. {ex}); "
                             f"map only columns of numbers, or fix the cells that are not "
                             f"numbers")
        return df[list(columns)].rename(columns=columns)
    nums = [c for c in numeric_columns(df) if c != code_column]
    dropped = [c for c in df.columns if c not in nums and c != code_column]
    if dropped:
        log.debug("%s: text columns not used: %s", source, _listing(dropped, 20))
    if not nums:
        raise InputError(f"{source} has no numeric columns besides {shown(code_column)}; give a "
                         f"table with one row per area and columns of numbers")
    return df[nums]


def _listing(names: Iterable[Any], n: int = 10) -> str:
    """The first ``n`` names, quoted and capped (:func:`~socialrisk.errors.shown`), and how
    many more."""
    names = list(names)
    more = f" and {len(names) - n:,} more" if len(names) > n else ""
    return ", ".join(shown(c) for c in names[:n]) + more


def table_for_areas(path: str | Path, area_ids: Sequence[Any], code_column: str = "",
                    columns: dict[str, str] | None = None, *, strict: bool = False,
                    ) -> tuple[pd.DataFrame, JoinReport]:
    """Read a generic CSV and join its numeric columns to the areas.

    Parameters
    ----------
    path : path
        A CSV with one row per area (see :func:`read_table`).
    area_ids : sequence
        Area ids in output order.
    code_column : str
        The column holding the area codes; detected with
        :func:`detect_code_column` when empty.
    columns : dict, optional
        Source column -> indicator name. When given, only these columns are
        kept (and renamed); otherwise every numeric column is kept under its
        own name.
    strict : bool
        Areas without a row are an error (see :func:`join_to_areas`).

    Returns
    -------
    (DataFrame, JoinReport)
        Indexed by area id (``"area_id"``), numeric columns only; NaN where an
        area has no row.

    Raises
    ------
    InputError
        Unreadable file, unknown column, conflicting duplicate codes.
    JoinError
        No area matches.
    """
    source = str(path)
    name = Path(path).name
    df = read_table(path, keep_text=[code_column] if code_column else ())
    if code_column:
        if code_column not in df.columns:
            by_lower = {str(c).lower(): c for c in df.columns}
            if code_column.strip().lower() in by_lower:
                code_column = by_lower[code_column.strip().lower()]
            else:
                raise InputError(f"{name} has no column {shown(code_column)}; its columns are "
                                 f"{_listing(df.columns)}; set code_column to one of them or "
                                 f"leave it empty to detect it")
    else:
        code_column = detect_code_column(df, area_ids)
    body, repeated = index_by_code(df, code_column, name)
    left_out = [] if columns else _numbers_with_text(body, name)
    if left_out and strict:
        raise JoinError(f"{left_out[0]}; --strict refuses a table whose columns are left out")
    try:
        body = _select_columns(body, columns, name, code_column)
    except InputError as exc:
        if left_out:  # say why the columns of numbers are not numeric
            raise InputError(f"{exc}; {left_out[0]}") from exc
        raise
    out, report = join_to_areas(body, area_ids, source=source, kind="table",
                                code_column=code_column, n_rows=len(df),
                                duplicate_codes=repeated, strict=strict)
    for note in left_out:
        log.warning("%s", note)
        report.notes.append(note)
    return out, report


def _numbers_with_text(df: pd.DataFrame, name: str) -> list[str]:
    """Notes on columns of numbers left out because a few cells are not numbers.

    A column is numeric only when every cell is a number or a missing token
    (:data:`NA_TOKENS`); one cell such as ``12a`` makes it text, and text
    columns are not indicators. Said, so that it is not a silent drop.
    """
    notes = []
    for col in df.columns:
        if is_numeric_dtype(df[col]):
            continue
        v = df[col].dropna().astype(str).str.strip()
        if v.empty:
            continue
        num = pd.to_numeric(v.str.replace(",", "", regex=False), errors="coerce").notna()
        if num.mean() >= 0.5 and not num.all():
            example = v[~num].iloc[0]
            notes.append(f"{name}: column {shown(col)} left out: {int((~num).sum()):,} of "
                         f"{len(v):,} cells are not numbers (e.g. {shown(example, 20)}); fix "
                         f"them, or empty them for missing values, to use the column")
    return notes


# --------------------------------------------------------------------------- dispatcher


def detect_kind(path: str | Path) -> str:
    """``"file7"``, ``"ts011"`` or ``"table"`` from a CSV's header."""
    from socialrisk.geo.census import is_ts011
    from socialrisk.geo.deprivation import is_file7

    header = read_header(path)
    if is_file7(header):
        return "file7"
    if is_ts011(header):
        return "ts011"
    return "table"


#: Size cap (decompressed bytes) and wall-clock limit (s) of a deprivation table given by URL.
SOURCE_MAX_BYTES = 200_000_000
SOURCE_DEADLINE = 600.0


def _fetch_source(url: str, kind: str, cache_dir: str | Path | None) -> Path:
    """Download a deprivation table given by URL once into the cache; returns the cached file.

    A File 7 (``kind="file7"``, or ``"auto"`` with a File 7 header) must end with
    a whole row; ``kind="file7"`` also needs the row count of the full release.
    Other tables need only be non-empty (their layout is checked when read).
    """
    from socialrisk.geo import deprivation as dep
    from socialrisk.geo.download import default_cache_dir, fetch

    whole_rows = dep.file7_validator(min_rows=0)

    def not_empty(path: Path) -> str | None:
        with open(path, "rb") as fh:
            head = fh.read(64 * 1024)
        if not head.strip():
            return "empty body"
        if kind == "auto" and dep.is_file7(header_from_bytes(head)):
            return whole_rows(path)
        return None

    is7 = kind == "file7"
    return fetch(url, cache_dir or default_cache_dir(), suffix=".csv",
                 validate=dep.file7_validator() if is7 else not_empty,
                 max_bytes=dep.FILE7_MAX_BYTES if is7 else SOURCE_MAX_BYTES,
                 deadline=dep.FILE7_DEADLINE if is7 else SOURCE_DEADLINE,
                 label="File 7" if is7 else "a deprivation table",
                 hint=f"download {url} by hand and pass the saved file with --deprivation FILE.csv")


def load_source(source: Any, area_ids: Sequence[Any], cache_dir: str | Path | None = None,
                *, strict: bool = False) -> tuple[pd.DataFrame, JoinReport]:
    """Read and join one :class:`~socialrisk.settings.DeprivationSource`.

    ``source.path`` may be a local file or an ``http(s)://`` URL (downloaded once
    into ``cache_dir``). ``kind="auto"`` detects File 7 and TS011 by header; a
    File 7 or TS011 ``columns`` mapping selects and renames their tidy columns.
    ``strict``: areas without a row are a :class:`JoinError` (:func:`join_to_areas`).
    """
    from socialrisk.geo.census import read_ts011
    from socialrisk.geo.deprivation import read_file7

    kind = (source.kind or "auto").lower()
    if kind not in ("auto", "file7", "ts011", "table"):
        raise InputError(f"deprivation source {source.path}: kind must be auto, file7, ts011 or "
                         f"table, not {shown(source.kind)}")
    path_str = str(source.path)
    if path_str.startswith(("http://", "https://")):
        path = _fetch_source(path_str, kind, cache_dir)
    else:
        path = Path(path_str).expanduser()
        _check_regular(path)
        if not path.is_file():
            raise InputError(f"deprivation table {path} not found; give the path to a CSV file "
                             f"(e.g. --deprivation File_7.csv)")
    if kind == "auto":
        kind = detect_kind(path)
        log.info("%s: detected %s", path.name, kind)
    if kind == "table":
        out, report = table_for_areas(path, area_ids, source.code_column, source.columns or None,
                                      strict=strict)
        report.source = path_str
        return out, report
    reader = read_file7 if kind == "file7" else read_ts011
    table = reader(path)
    n_rows = int(table.attrs.get("n_rows", len(table)))
    if source.columns:
        unknown = [c for c in source.columns if c not in table.columns]
        if unknown:
            raise InputError(f"{path.name}: {kind} has no column {shown(unknown[0])} named in "
                             f"columns; its columns are {_listing(table.columns, 30)}")
        table = table[list(source.columns)].rename(columns=source.columns)
    table.index = pd.Index(normalise_codes(table.index).to_numpy(), name="code", dtype="object")
    return join_to_areas(table, area_ids, source=path_str, kind=kind,
                         code_column=str(table.attrs.get("code_column", "")), n_rows=n_rows,
                         code_year=str(table.attrs.get("code_year", "")), strict=strict)


def load_area_data(sources: Sequence[Any], area_ids: Sequence[Any],
                   cache_dir: str | Path | None = None, *, strict: bool = False,
                   ) -> tuple[pd.DataFrame, list[JoinReport]]:
    """Read every deprivation/census source and join them all to the areas.

    Parameters
    ----------
    sources : list of DeprivationSource
        Tables to join, in order (``kind`` ``auto``/``file7``/``ts011``/``table``).
    area_ids : sequence
        Area ids, in output order.
    cache_dir : path, optional
        Cache for sources given as URLs (default: the platform cache dir).
    strict : bool
        ``--strict``: a :class:`JoinError` instead of a note when a table
        leaves areas without data or a column has to be renamed because an
        earlier table gave one of the same name.

    Returns
    -------
    (DataFrame, list of JoinReport)
        One row per area id (index ``"area_id"``) with every source's columns
        side by side, and one report per source. A column name already used by
        an earlier source gets the suffix ``_<n>`` (``n`` = 1-based source
        position), with a warning and an entry in ``JoinReport.renamed``.
    """
    ids = list(area_ids)
    combined = pd.DataFrame(index=pd.Index(ids, name="area_id"))
    reports: list[JoinReport] = []
    for i, source in enumerate(sources, start=1):
        part, report = load_source(source, ids, cache_dir, strict=strict)
        clashes = {c: f"{c}_{i}" for c in part.columns if c in combined.columns}
        if clashes:
            part = part.rename(columns=clashes)
            report.renamed = clashes
            report.columns = list(part.columns)
            msg = (f"{Path(str(source.path)).name}: columns already given by an earlier table "
                   f"renamed {', '.join(f'{a} -> {b}' for a, b in clashes.items())}; map them to "
                   f"other names with columns = {{...}} to choose the names yourself")
            report.notes.append(msg)
            if strict:
                raise JoinError(f"{msg}; --strict refuses renamed columns (an indicator named "
                                f"in [domains] could silently come from the other table)")
            log.warning("%s", msg)
        combined = pd.concat([combined, part.set_axis(combined.index)], axis=1)
        reports.append(report)
    return combined, reports
