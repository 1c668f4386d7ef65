"""Area tables: robust CSV reading, area-code detection and joins that report what matched.

Any table with one row per area code can feed the index: the official IoD
"File 7" (:mod:`geo.deprivation`), Census 2021 TS011
(:mod:`geo.census`), Census TS038/TS054 and any Nomis bulk table
(:mod:`geo.census_tables`), the IoD2025 indicators (:mod:`geo.indicators`),
tidy IoD and WIMD tables (:mod:`geo.imd_tidy`, :mod:`geo.wimd`) or a user's
own CSV; LSOA 2011 tables are converted to LSOA 2021 areas with the ONS lookup
(:mod:`geo.lookup`). This module reads CSVs the
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

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api.types import is_numeric_dtype

from geo import deprivation as dep
from geo.census import is_ts011, read_ts011
from geo.csvtable import (
    check_regular,
    header_from_bytes,
    read_header,
    read_table,
)
from geo.deprivation import is_file7, read_file7
from geo.download import default_cache_dir, fetch
from geo.imd_tidy import code_year_of, rename_for_table
from geo.indicators import READERS, detect_indicator_kind
from geo.join import (
    JoinReport,
    detect_code_column,
    index_by_code,
    join_to_areas,
    listing,
    normalise_codes,
    select_columns,
)
from geo.lookup import convert_for_areas
from socialrisk.core.errors import InputError, JoinError, shown

log = logging.getLogger(__name__)


def table_for_areas(path: str | Path, area_ids: Sequence[Any], code_column: str = "",
                    columns: dict[str, str] | None = None, *, strict: bool = False,
                    lookup: str = "", child_weights: pd.Series | None = None,
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
    lookup, child_weights : str, Series
        The ONS LSOA 2011 -> 2021 lookup CSV and the areas' population: a table
        of LSOA 2011 codes joined to LSOA 2021 areas is converted first
        (:func:`geo.lookup.convert_for_areas`).

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
                                 f"{listing(df.columns)}; set code_column to one of them or "
                                 f"leave it empty to detect it")
    else:
        code_column = detect_code_column(df, area_ids)
    body, repeated = index_by_code(df, code_column, name)
    left_out = [] if columns else _numbers_with_text(body, name)
    if left_out and strict:
        raise JoinError(f"{left_out[0]}; --strict refuses a table whose columns are left out")
    try:
        body = select_columns(body, columns, name, code_column)
    except InputError as exc:
        if left_out:  # say why the columns of numbers are not numeric
            raise InputError(f"{exc}; {left_out[0]}") from exc
        raise
    converted: list[str] = []
    if lookup:
        body, converted = convert_for_areas(body, area_ids, lookup, code_year=code_year_of(
            code_column), child_weights=child_weights, strict=strict)
    out, report = join_to_areas(body, area_ids, source=source, kind="table",
                                code_column=code_column, n_rows=len(df),
                                duplicate_codes=repeated, strict=strict)
    report.notes[:0] = converted
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
    """The kind of a CSV from its header: one of :data:`KINDS` but ``"auto"``.

    ``"file7"``, ``"ts011"``, then the layouts of :func:`geo.indicators.detect_indicator_kind`
    (``"ts038"``, ``"ts054"``, ``"nomis"``, ``"iod_indicators"``, ``"wimd"``,
    ``"imd"``), else ``"table"``.
    """

    header = read_header(path)
    if is_file7(header):
        return "file7"
    if is_ts011(header):
        return "ts011"
    return detect_indicator_kind(path, header) or "table"


#: The kinds of table ``kind =`` may name.
KINDS = ("auto", "file7", "ts011", *READERS, "table")


#: Size cap (decompressed bytes) and wall-clock limit (s) of a deprivation table given by URL.
SOURCE_MAX_BYTES = 200_000_000
SOURCE_DEADLINE = 600.0


def _fetch_source(url: str, kind: str, cache_dir: str | Path | None) -> Path:
    """Download a deprivation table given by URL once into the cache; returns the cached file.

    A File 7 (``kind="file7"``, or ``"auto"`` with a File 7 header) must end with
    a whole row; ``kind="file7"`` also needs the row count of the full release.
    Other tables need only be non-empty (their layout is checked when read).
    """

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
                *, strict: bool = False, lookup: str = "",
                child_weights: pd.Series | None = None) -> tuple[pd.DataFrame, JoinReport]:
    """Read and join one :class:`~socialrisk.settings.DeprivationSource`.

    ``source.path`` may be a local file or an ``http(s)://`` URL (downloaded once
    into ``cache_dir``). ``kind="auto"`` detects every layout of :data:`KINDS` by
    header. For a recognised layout, ``columns`` selects and renames its tidy
    columns (keys may also be the file's own headers); with ``kind="auto"``, a
    ``columns`` mapping whose keys are all the file's own headers reads it as a
    plain table (the mapping decides the names). A plain table's columns
    spelled like IMD domains (``IMD_decile``, ``Income_score``) get the tidy
    names (:func:`geo.imd_tidy.rename_for_table`), said in the report's notes.
    ``strict``: areas without a row are a :class:`JoinError` (:func:`join_to_areas`).
    ``lookup``: the ONS LSOA 2011 -> 2021 lookup; a table of LSOA 2011 codes
    joined to LSOA 2021 areas is converted with it (:mod:`geo.lookup`), its
    counts split by ``child_weights`` (population by area id) when given.
    """

    kind = (source.kind or "auto").lower()
    if kind not in KINDS:
        raise InputError(f"deprivation source {source.path}: kind must be "
                         f"{', '.join(KINDS[:-1])} or {KINDS[-1]}, not {shown(source.kind)}")
    path_str = str(source.path)
    if path_str.startswith(("http://", "https://")):
        path = _fetch_source(path_str, kind, cache_dir)
    else:
        path = Path(path_str).expanduser()
        check_regular(path)
        if not path.is_file():
            raise InputError(f"deprivation table {path} not found; give the path to a CSV file "
                             f"(e.g. --deprivation File_7.csv)")
    if kind == "auto":
        kind = detect_kind(path)
        if kind in READERS and source.columns and set(source.columns) <= set(read_header(path)):
            kind = "table"  # the mapping names the file's own headers
        log.info("%s: detected %s", path.name, kind)
    if kind == "table":
        out, report = table_for_areas(path, area_ids, source.code_column, source.columns or None,
                                      strict=strict, lookup=lookup, child_weights=child_weights)
        report.source = path_str
        _lookup_hint(report, lookup)
        renames = {} if source.columns else rename_for_table(out.columns)
        if renames:
            out = out.rename(columns=renames)
            report.columns = list(out.columns)
            report.notes.append(f"{path.name}: columns renamed to the tidy deprivation names: "
                                f"{', '.join(f'{a} -> {b}' for a, b in renames.items())}")
        return out, report
    reader = {"file7": read_file7, "ts011": read_ts011, **READERS}[kind]
    table = reader(path)
    attrs = dict(table.attrs)
    n_rows = int(attrs.get("n_rows", len(table)))
    if source.columns:
        table = _pick_columns(table, source.columns, attrs.get("renamed", {}), path.name, kind)
    table.index = pd.Index(normalise_codes(table.index).to_numpy(), name="code", dtype="object")
    converted: list[str] = []
    if lookup:
        table, converted = convert_for_areas(table, area_ids, lookup,
                                             code_year=str(attrs.get("code_year", "")),
                                             child_weights=child_weights, strict=strict)
    out, report = join_to_areas(table, area_ids, source=path_str, kind=kind,
                                code_column=str(attrs.get("code_column", "")), n_rows=n_rows,
                                code_year="" if converted else str(attrs.get("code_year", "")),
                                strict=strict)
    report.notes[:0] = converted + list(attrs.get("notes", []))
    _lookup_hint(report, lookup)
    return out, report


def _lookup_hint(report: JoinReport, lookup: str) -> None:
    """Name the setting that converts LSOA 2011 tables when the join says a lookup is needed."""
    if not lookup and any("LSOA 2011 and 2021 codes differ" in n for n in report.notes):
        report.notes.append(f"{Path(report.source).name}: set lsoa_lookup = \"FILE.csv\" (the ONS "
                            f"LSOA 2011 to LSOA 2021 lookup) to convert its LSOA 2011 codes")


def _pick_columns(table: pd.DataFrame, columns: dict[str, str], renamed: dict[str, str],
                  name: str, kind: str) -> pd.DataFrame:
    """Select and rename ``columns`` (keys: tidy names, or the file's own headers)."""
    by_header = {k.lower(): v for k, v in renamed.items()}
    keys = {k: k if k in table.columns else by_header.get(k.lower(), k) for k in columns}
    unknown = [k for k, tidy in keys.items() if tidy not in table.columns]
    if unknown:
        raise InputError(f"{name}: {kind} has no column {shown(unknown[0])} named in "
                         f"columns; its columns are {listing(table.columns, 30)}")
    picked = table[list(keys.values())]
    return picked.set_axis([columns[k] for k in keys], axis=1)


def load_area_data(sources: Sequence[Any], area_ids: Sequence[Any],
                   cache_dir: str | Path | None = None, *, strict: bool = False,
                   lookup: str = "") -> tuple[pd.DataFrame, list[JoinReport]]:
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
    lookup : str
        Path of the ONS LSOA 2011 -> 2021 lookup (setting ``lsoa_lookup``): a
        table of LSOA 2011 codes joined to LSOA 2021 areas is converted with it
        (:mod:`geo.lookup`); counts are split by the population an earlier
        source gave (``population`` or ``census_residents``), else equally.

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
        weights = next((combined[c] for c in ("population", "census_residents")
                        if c in combined.columns), None)
        part, report = load_source(source, ids, cache_dir, strict=strict, lookup=lookup,
                                   child_weights=weights)
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
