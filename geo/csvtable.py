"""Reading CSV tables the way people save them.

Comma, semicolon, tab or pipe; UTF-8 with or without a byte-order mark, UTF-16
from Excel, Windows-1252/Latin-1; thousands separators; ``n/a``, ``-``, ``..``
for missing values. Used by every table reader (:mod:`geo.deprivation`,
:mod:`geo.census`, :mod:`geo.tables`).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from socialrisk.core.errors import InputError, clipped, shown
from socialrisk.core.files import special_file

log = logging.getLogger(__name__)

#: Cell values read as missing in numeric columns (compared lower-cased, stripped).

NA_TOKENS = frozenset({
    "", "n/a", "na", "nan", "null", "none", "-", "--", "..", ".", ":", "x", "*", "#n/a",
    "#value!", "#div/0!", "c", "z", "[c]", "[x]", "[z]", "[low]", "\u2013", "\u2014",
})
#: How many codes a report lists (the counts are always complete).
MAX_LISTED = 10
DELIMITERS = (",", ";", "\t", "|")

LSOA_RE = re.compile(r"^[EW]01\d{6}$")
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
    check_regular(p)
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


def check_regular(p: Path) -> None:
    """Refuse a named pipe, device or socket before opening it (reading one may never end)."""

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
    check_regular(p)
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


def first_names(header: Iterable[str], namer: Callable[[str], str | None],
                what: str = "column") -> dict[str, str]:
    """Header -> the name ``namer`` gives each recognised column; the first wins on repeats.

    A later column that gets a name already given is left out with a warning
    (``what`` names the kind of column in it, e.g. "File 7 column").
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in header:
        name = namer(col)
        if name is None:
            continue
        if name in used:
            log.warning("%s %r looks like %s again; the first one is used", what, col, name)
            continue
        out[col] = name
        used.add(name)
    return out
