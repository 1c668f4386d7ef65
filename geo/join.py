"""Area codes and joins: find the code column and join a table to the areas, saying what matched.

Policies are stated in :mod:`geo.tables`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from geo.csvtable import LSOA_RE, MAX_LISTED, numeric_columns
from socialrisk.core.errors import InputError, JoinError, shown

log = logging.getLogger(__name__)



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
    return bool(s.str.match(LSOA_RE).mean() >= share)


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
        lsoa_unmatched = int(pd.Index(unmatched).str.match(LSOA_RE).sum())
        parts.append(
            f"{other:,} others are missing while the table has {lsoa_unmatched:,} LSOA codes "
            f"the areas lack{year}: LSOA 2011 and 2021 codes differ where LSOAs were split or "
            f"merged, so convert the table with the ONS LSOA (2011) to LSOA (2021) lookup or use "
            f"a table of the areas' vintage")
    return note + "; " + "; ".join(parts) if parts else note


def select_columns(df: pd.DataFrame, columns: dict[str, str] | None, source: str,
                    code_column: str) -> pd.DataFrame:
    """Keep numeric columns (all, or only the mapped ones, renamed)."""
    if columns:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            import difflib

            close = difflib.get_close_matches(missing[0], [str(c) for c in df.columns], n=1)
            near = f"; did you mean {shown(close[0])}?" if close else ""
            raise InputError(f"{source} has no column {shown(missing[0])} named in "
                             f"columns{near} (it has {listing(df.columns, 8)})")
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
        log.debug("%s: text columns not used: %s", source, listing(dropped, 20))
    if not nums:
        raise InputError(f"{source} has no numeric columns besides {shown(code_column)}; give a "
                         f"table with one row per area and columns of numbers")
    return df[nums]


def listing(names: Iterable[Any], n: int = 10) -> str:
    """The first ``n`` names, quoted and capped (:func:`~socialrisk.core.errors.shown`), and how
    many more."""
    names = list(names)
    more = f" and {len(names) - n:,} more" if len(names) > n else ""
    return ", ".join(shown(c) for c in names[:n]) + more


