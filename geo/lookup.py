"""LSOA 2011 -> LSOA 2021: the ONS lookup, and tables converted along it, area by area.

Between the 2011 and 2021 Censuses, ONS kept most LSOAs (change code ``U``),
split some (``S``: one 2011 LSOA -> several 2021 LSOAs), merged some (``M``:
several -> one) and redrew a few irregularly (``X``: parts of several 2011
LSOAs -> several 2021 LSOAs). A table on LSOA 2011 codes (IoD2019, WIMD 2019)
is converted to LSOA 2021 codes by :func:`lsoa11_to_lsoa21` with these rules:

* rates, shares and scores: ``U``/``S`` copied from the one parent; ``M``/``X``
  the mean of the parents weighted by their population (``parent_weights``;
  each parent's weight times the part of it that went to the child for ``X``),
  or the plain mean when no population is given;
* counts (the columns named in ``counts``): split among a parent's children by
  the children's population (``child_weights``) or equally, and summed over
  the parents of a child;
* ranks and deciles (columns ending ``rank``/``decile``): copied for ``U``/``S``
  children, left empty for ``M``/``X`` children (a mean of ranks is not a rank:
  recompute them from the converted scores);
* a child whose parent has no row in the table gets no value (NaN), and its
  report says which parent is missing.

The report says for every LSOA 2021 what was done, in words.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from geo.csvtable import read_header, read_table
from geo.imd_tidy import slug
from geo.join import normalise_codes
from socialrisk.core.errors import InputError, JoinError, shown

log = logging.getLogger(__name__)

LOOKUP_COLUMNS = ["lsoa11_code", "lsoa21_code", "change_code", "ltla22_code", "ltla22_name"]
REQUIRED = ["lsoa11_code", "lsoa21_code", "change_code"]
#: Header spellings of the ONS file and its tidied copies -> our names.
_ALIASES = {
    "lsoa11cd": "lsoa11_code", "lsoa11_code": "lsoa11_code", "lsoa_code_2011": "lsoa11_code",
    "lsoa21cd": "lsoa21_code", "lsoa21_code": "lsoa21_code", "lsoa_code_2021": "lsoa21_code",
    "chgind": "change_code", "change_code": "change_code", "change_indicator": "change_code",
    "lad22cd": "ltla22_code", "ltla22cd": "ltla22_code", "ltla22_code": "ltla22_code",
    "lad22nm": "ltla22_name", "ltla22nm": "ltla22_name", "ltla22_name": "ltla22_name",
    "lsoa11nm": "lsoa11_name", "lsoa11_name": "lsoa11_name",
    "lsoa21nm": "lsoa21_name", "lsoa21_name": "lsoa21_name",
}
CHANGE_WORDS = {"U": "unchanged", "S": "split", "M": "merged", "X": "irregular"}
_RANK_RE = re.compile(r"(^|_)(rank|decile)s?$", re.IGNORECASE)
_COUNT_RE = re.compile(r"^(population|pop_\w+|census_residents|households|hh_total|"
                       r"hh_deprived_\d|ts\d{3}[a-z]?_total)$|_(numerator|count)$",
                       re.IGNORECASE)


def check_lookup_header(path: str | Path) -> None:
    """Refuse, before any work, a file whose header is not an LSOA 2011 -> 2021 lookup's.

    Reads only the header (:func:`geo.csvtable.read_header`); the rows are checked
    when the lookup is used (:func:`read_lsoa_lookup`).
    """
    p = Path(path)
    header = read_header(p)
    names = {_ALIASES.get(slug(c), c) for c in header}
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        has = ", ".join(shown(c) for c in header[:8])
        raise InputError(f"{p.name} is not an LSOA 2011 -> 2021 lookup: no column "
                         f"{', '.join(missing)} (it has {has}); give the ONS lookup with "
                         f"lsoa11_code, lsoa21_code and change_code (or LSOA11CD, LSOA21CD, "
                         f"CHGIND)")


def read_lsoa_lookup(path: str | Path) -> pd.DataFrame:
    """Read the ONS LSOA (2011) -> LSOA (2021) -> district (2022) lookup.

    Parameters
    ----------
    path : path
        The CSV: ``lsoa11_code, lsoa21_code, change_code`` at least (or the ONS
        headers ``LSOA11CD, LSOA21CD, CHGIND``), usually with ``ltla22_code,
        ltla22_name`` (``LAD22CD, LAD22NM``) and the LSOA names.

    Returns
    -------
    DataFrame
        One row per (LSOA 2011, LSOA 2021) pair with the columns
        :data:`LOOKUP_COLUMNS` (``ltla22_*`` empty when the file has none) plus
        ``lsoa11_name``/``lsoa21_name`` when present; codes upper-case,
        ``change_code`` one of ``U S M X``; repeated pairs kept once.

    Raises
    ------
    InputError
        A required column is missing, a change code is unknown, or a pair
        has no codes.
    """
    p = Path(path)
    df = read_table(p)
    rename = {c: _ALIASES[slug(c)] for c in df.columns if slug(c) in _ALIASES}
    df = df.rename(columns=rename)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        has = ", ".join(shown(c) for c in df.columns[:8])
        raise InputError(f"{p.name} is not an LSOA 2011 -> 2021 lookup: no column "
                         f"{', '.join(missing)} (it has {has}); give the ONS lookup with "
                         f"lsoa11_code, lsoa21_code and change_code (or LSOA11CD, LSOA21CD, "
                         f"CHGIND)")
    for col in ("ltla22_code", "ltla22_name"):
        if col not in df.columns:
            df[col] = None
    keep = LOOKUP_COLUMNS + [c for c in ("lsoa11_name", "lsoa21_name") if c in df.columns]
    df = df[keep].copy()
    for col in ("lsoa11_code", "lsoa21_code", "change_code", "ltla22_code"):
        df[col] = normalise_codes(df[col]).where(df[col].notna(), None) \
            if col == "ltla22_code" else normalise_codes(df[col])
    empty = (df["lsoa11_code"] == "") | (df["lsoa21_code"] == "")
    if empty.any():
        raise InputError(f"{p.name}: {int(empty.sum()):,} rows have no LSOA 2011 or 2021 code "
                         f"(e.g. row {int(np.argmax(empty.to_numpy())) + 2}); give the complete "
                         f"ONS lookup")
    bad = ~df["change_code"].isin(list(CHANGE_WORDS))
    if bad.any():
        ex = df.loc[bad, "change_code"].iloc[0]
        raise InputError(f"{p.name}: change_code must be U, S, M or X, not {shown(ex)} "
                         f"({int(bad.sum()):,} rows); give the ONS LSOA 2011 -> 2021 lookup")
    df = df.drop_duplicates(["lsoa11_code", "lsoa21_code"]).reset_index(drop=True)
    df.attrs.update(source=str(p))
    log.info("read LSOA 2011 -> 2021 lookup %s: %d pairs, %d LSOAs 2011, %d LSOAs 2021", p.name,
             len(df), df["lsoa11_code"].nunique(), df["lsoa21_code"].nunique())
    return df


def is_rank_column(name: str) -> bool:
    """True for a rank or decile column (``imd_rank``, ``IMD_decile``, ``rank``)."""
    return bool(_RANK_RE.search(str(name)))


def count_columns(columns: Iterable[str]) -> list[str]:
    """The columns that hold counts (population, households, numerators) by their tidy name."""
    return [c for c in columns if _COUNT_RE.search(str(c))]


def _structure(pairs: pd.DataFrame) -> pd.Series:
    """U/S/M/X of every pair from the lookup's shape (children per parent, parents per child)."""
    n_children = pairs.groupby("lsoa11_code")["lsoa21_code"].transform("size").to_numpy()
    n_parents = pairs.groupby("lsoa21_code")["lsoa11_code"].transform("size").to_numpy()
    kind = np.select([(n_children == 1) & (n_parents == 1), n_parents == 1, n_children == 1],
                     ["U", "S", "M"], "X")
    return pd.Series(kind, index=pairs.index)


def _shares(pairs: pd.DataFrame, child_weights: pd.Series | None) -> tuple[np.ndarray, set[str]]:
    """Part of each parent that goes to each child; parents split equally (set returned)."""
    n_children = pairs.groupby("lsoa11_code")["lsoa21_code"].transform("size").astype(float)
    equal = 1.0 / n_children
    if child_weights is None:
        return equal.to_numpy(), set(pairs.loc[n_children > 1, "lsoa11_code"])
    w = pd.Series(child_weights, dtype="float64")
    w.index = normalise_codes(w.index)
    cw = w.reindex(pairs["lsoa21_code"]).to_numpy()
    cw = pd.Series(np.where(np.isfinite(cw) & (cw >= 0), cw, np.nan), index=pairs.index)
    total = cw.groupby(pairs["lsoa11_code"]).transform("sum")
    has_all = cw.notna().groupby(pairs["lsoa11_code"]).transform("all")
    ok = has_all & (total > 0)
    share = np.where(ok, cw / total.where(total > 0), equal)
    return share, set(pairs.loc[~ok & (n_children > 1), "lsoa11_code"])


def lsoa11_to_lsoa21(table: pd.DataFrame, lookup: pd.DataFrame, *,
                     parent_weights: pd.Series | None = None,
                     child_weights: pd.Series | None = None,
                     counts: Iterable[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert a table on LSOA 2011 codes to LSOA 2021 codes (rules in the module docstring).

    Parameters
    ----------
    table : DataFrame
        Indexed by LSOA 2011 code (unique). Numeric columns are converted; a
        text column is kept where every parent of a child agrees, else empty.
    lookup : DataFrame
        From :func:`read_lsoa_lookup`.
    parent_weights : Series, optional
        Population of the LSOAs 2011 (indexed by code): weights of the mean of
        rates and scores over merged parents.
    child_weights : Series, optional
        Population of the LSOAs 2021 (indexed by code): how the counts of a split
        parent are shared among its children.
    counts : iterable of str
        Columns holding counts (split and summed, not averaged).

    Returns
    -------
    (DataFrame, DataFrame)
        The converted table indexed by LSOA 2021 code (index name
        ``"lsoa21_code"``, every code of the lookup, same columns) and the report
        on the same index: ``change_code`` (U/S/M/X from the lookup's shape),
        ``n_parents``, ``n_parents_found`` (parents with a row in the table) and
        ``method`` (what was done, in words).
    """
    counts = list(counts)
    unknown = [c for c in counts if c not in table.columns]
    if unknown:
        raise InputError(f"counts names {shown(unknown[0])}, not a column of the table")
    pairs = lookup[["lsoa11_code", "lsoa21_code"]].reset_index(drop=True)
    pairs["kind"] = _structure(pairs)
    share, equal_split = _shares(pairs, child_weights)
    pairs["share"] = share
    codes = normalise_codes(table.index)
    body = table.set_axis(pd.Index(codes.to_numpy(), name="lsoa11_code"), axis=0)
    body = body[~body.index.duplicated(keep="first")]
    found = pairs["lsoa11_code"].isin(body.index).to_numpy()
    pw_given = parent_weights is not None
    if pw_given:
        pw = pd.Series(parent_weights, dtype="float64")
        pw.index = normalise_codes(pw.index)
        pwv = pw.reindex(pairs["lsoa11_code"]).to_numpy()
    else:
        pwv = np.ones(len(pairs))
    pairs["w"] = pwv * pairs["share"].to_numpy()
    child = pairs["lsoa21_code"]
    kind = pairs.groupby("lsoa21_code", sort=False)["kind"].first()
    single = kind.isin(["U", "S"])
    pw_ok = pd.Series(np.isfinite(pairs["w"].to_numpy()) & (pairs["w"].to_numpy() > 0)
                      ).groupby(child.to_numpy()).all().reindex(kind.index)
    numeric = [c for c in body.columns if pd.api.types.is_numeric_dtype(body[c])
               and not pd.api.types.is_bool_dtype(body[c])]
    values = body[numeric].astype("float64").reindex(pairs["lsoa11_code"]).to_numpy()
    # mean weights: population x share; the plain mean (share only) where a weight is missing
    w_plain = pairs["share"].to_numpy()
    use_pw = pw_ok.reindex(child).to_numpy() if pw_given else np.zeros(len(pairs), bool)
    w = np.where(use_pw, pairs["w"].to_numpy(), w_plain)[:, None]
    is_count = np.array([c in counts for c in numeric])
    contrib = np.where(is_count, values * pairs["share"].to_numpy()[:, None], values * w)
    grouped = pd.DataFrame(contrib, columns=numeric).groupby(child.to_numpy(), sort=False)
    sums = grouped.sum(min_count=1).reindex(kind.index)
    nan_any = pd.DataFrame(np.isnan(values), columns=numeric).groupby(
        child.to_numpy(), sort=False).any().reindex(kind.index)
    wsum = pd.Series(w[:, 0]).groupby(child.to_numpy(), sort=False).sum().reindex(kind.index)
    out = sums.copy()
    rates = [c for c in numeric if c not in counts]
    out[rates] = sums[rates].div(wsum, axis=0)
    out = out.mask(nan_any.to_numpy())
    # one parent (U, S): rates, scores, ranks copied (a count of a split parent stays split)
    first = pd.DataFrame(values, columns=numeric).groupby(
        child.to_numpy(), sort=False).nth(0).set_axis(child.drop_duplicates().to_numpy())
    first = first.reindex(kind.index)
    copied = [c for c in numeric if c not in counts]
    out.loc[single.to_numpy(), copied] = first.loc[single.to_numpy(), copied]
    ranks = [c for c in numeric if is_rank_column(c)]
    if ranks:
        out.loc[~single.to_numpy(), ranks] = np.nan
    text = [c for c in body.columns if c not in numeric]
    for col in text:  # kept where every parent agrees
        v = body[col].reindex(pairs["lsoa11_code"]).astype("object").to_numpy()
        tv = pd.DataFrame({"c": child.to_numpy(), "v": v})
        n_distinct = tv.groupby("c", sort=False)["v"].nunique(dropna=False).reindex(kind.index)
        firsts = tv.drop_duplicates("c").set_index("c")["v"].reindex(kind.index)
        out[col] = firsts.where(n_distinct.to_numpy() == 1, None)
    out = out[list(body.columns)]
    out.index = pd.Index(kind.index, name="lsoa21_code")
    report = _report(pairs, kind, found, equal_split, counts, ranks, pw_given, pw_ok)
    return out, report


def _report(pairs: pd.DataFrame, kind: pd.Series, found: np.ndarray, equal_split: set[str],
            counts: list[str], ranks: list[str], pw_given: bool, pw_ok: pd.Series) -> pd.DataFrame:
    parents: dict[str, list[str]] = {}
    for p11, p21 in zip(pairs["lsoa11_code"].tolist(), pairs["lsoa21_code"].tolist(),
                        strict=True):
        parents.setdefault(p21, []).append(p11)
    pw_good = dict(zip(pw_ok.index, pw_ok.to_numpy(), strict=True))
    n_found = pd.Series(found).groupby(pairs["lsoa21_code"].to_numpy(), sort=False).sum()
    n_found = n_found.reindex(kind.index).astype(int)
    missing = set(pairs.loc[~found, "lsoa11_code"])
    methods = []
    for code, k in kind.items():
        ps = parents[code]
        gone = [p for p in ps if p in missing]
        if gone:
            verb = "has" if len(gone) == 1 else "have"
            methods.append(f"no value: LSOA 2011 {', '.join(gone[:3])} {verb} no row in the table"
                           + ("" if len(ps) == 1 else f" ({len(ps)} LSOAs 2011 make this LSOA)"))
            continue
        if k == "U":
            methods.append("unchanged")
            continue
        counted = ""
        if counts:
            how = ("equally (no population of the LSOAs 2021 given)"
                   if any(p in equal_split for p in ps) else "by population of the LSOAs 2021")
            counted = f"; counts split {how}" if k in ("S", "X") else "; counts summed"
            if k == "X":
                counted += " and summed"
        emptied = "; ranks/deciles left empty (recompute them)" if ranks and k in "MX" else ""
        if k == "S":
            methods.append(f"split from {ps[0]}: values copied{counted}")
            continue
        mean = ("population-weighted mean" if pw_given and bool(pw_good[code])
                else "plain mean (no population of the LSOAs 2011 given)")
        if k == "M":
            methods.append(f"merged from {len(ps)} LSOAs 2011 ({', '.join(ps[:4])}): "
                           f"{mean}{counted}{emptied}")
        else:
            xmean = ("mean weighted by population x the part of each parent in this LSOA"
                     if pw_given and bool(pw_good[code]) else "mean weighted by the part of each "
                     "parent in this LSOA (no population of the LSOAs 2011 given)")
            methods.append(f"irregular: parts of {len(ps)} LSOAs 2011 ({', '.join(ps[:4])}): "
                           f"{xmean}{counted}{emptied}")
    n_par = np.array([len(parents[c]) for c in kind.index], dtype=int)
    return pd.DataFrame({"change_code": kind.to_numpy(), "n_parents": n_par,
                         "n_parents_found": n_found.to_numpy(), "method": methods},
                        index=pd.Index(kind.index, name="lsoa21_code"))


def summary(report: pd.DataFrame, codes: Iterable[str] | None = None) -> str:
    """``"1,830 unchanged, 40 split, 12 merged, 3 irregular"`` (+ how many got no value)."""
    r = report if codes is None else report.reindex(
        pd.Index(list(codes))).dropna(subset=["change_code"])
    n = r["change_code"].value_counts()
    parts = [f"{int(n.get(k, 0)):,} {CHANGE_WORDS[k]}" for k in "USMX"]
    no_value = int(r["method"].str.startswith("no value").sum())
    if no_value:
        parts.append(f"{no_value:,} without a value (an LSOA 2011 missing from the table)")
    return ", ".join(parts)


def needs_conversion(table_codes: Iterable[str], area_ids: Iterable[str], lookup: pd.DataFrame,
                     code_year: str = "") -> bool:
    """True when a table holds LSOA 2011 codes and the areas are LSOAs 2021.

    The areas are 2021 when some of them are codes only the 2021 side of the
    lookup has; the table is 2011 when its code column says so (``code_year``)
    or some of its codes exist only on the 2011 side. A table whose code column
    says 2021 is never converted.
    """
    if code_year == "2021":
        return False
    old, new = set(lookup["lsoa11_code"]), set(lookup["lsoa21_code"])
    areas = set(normalise_codes(list(area_ids)))
    if not areas & (new - old):
        return False
    return code_year == "2011" or bool(set(normalise_codes(list(table_codes))) & (old - new))


def convert_for_areas(table: pd.DataFrame, area_ids: Iterable[str], lookup_path: str | Path, *,
                      code_year: str = "", child_weights: pd.Series | None = None,
                      strict: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Convert a table of LSOA 2011 codes to the areas' LSOA 2021 codes when that is needed.

    Parameters
    ----------
    table : DataFrame
        Indexed by area code, as read (before the join).
    area_ids : iterable of str
        The areas' ids.
    lookup_path : path
        The ONS lookup (:func:`read_lsoa_lookup`).
    code_year : str
        The table's LSOA vintage when known (``"2011"``/``"2021"``).
    child_weights : Series, optional
        Population of the LSOAs 2021 (indexed by code), to split counts.
    strict : bool
        ``--strict``: ranks or deciles left empty for some areas (merged or
        irregular LSOAs) are a :class:`JoinError`.

    Returns
    -------
    (DataFrame, list of str)
        The table on LSOA 2021 codes (only the LSOAs 2021 with at least one
        parent in the table), or the table unchanged when no conversion is
        needed; and notes for the join report (what was converted, how, and
        which areas got no value or empty ranks).
    """
    lookup = _cached_lookup(str(lookup_path))
    areas = list(normalise_codes(list(area_ids)))
    if not needs_conversion(table.index, areas, lookup, code_year):
        return table, []
    name = Path(str(lookup_path)).name
    pop = next((table[c] for c in table.columns if str(c).lower() == "population"), None)
    counts = count_columns(table.columns)
    out, report = lsoa11_to_lsoa21(table, lookup, parent_weights=pop,
                                   child_weights=child_weights, counts=counts)
    keep = report["n_parents_found"] > 0
    out = out[keep.to_numpy()]
    mine = report.reindex(pd.Index(areas)).dropna(subset=["change_code"])
    means = "population-weighted" if pop is not None else "unweighted (no population column)"
    split = "by population" if child_weights is not None else "equally"
    notes = [f"converted LSOA 2011 -> 2021 with {name}: {summary(mine)} among the areas "
             f"(means of merged LSOAs {means}"
             + (f"; counts {', '.join(counts[:4])} split {split} and summed)" if counts else ")")]
    no_value = mine[mine["method"].str.startswith("no value")]
    if len(no_value):
        notes.append(f"{len(no_value):,} areas got no value because an LSOA 2011 they come from "
                     f"is missing from the table (e.g. {no_value.index[0]}: "
                     f"{no_value['method'].iloc[0]})")
    ranks = [c for c in table.columns if is_rank_column(c)]
    emptied = mine[mine["change_code"].isin(["M", "X"]) & ~mine["method"].str.startswith("no")]
    if ranks and len(emptied):
        msg = (f"ranks and deciles ({', '.join(ranks[:4])}{' ...' if len(ranks) > 4 else ''}) "
               f"left empty for {len(emptied):,} merged or irregular LSOAs 2021 (e.g. "
               f"{emptied.index[0]}): a mean of ranks is not a rank; recompute them from the "
               f"converted scores, or use scores in the index")
        if strict:
            raise JoinError(f"{msg}; --strict refuses indicators left empty")
        notes.append(msg)
    for note in notes:
        log.info("%s", note)
    return out, notes


@functools.lru_cache(maxsize=4)
def _lookup_at(path: str, mtime: float) -> pd.DataFrame:
    return read_lsoa_lookup(path)


def _cached_lookup(path: str) -> pd.DataFrame:
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"lsoa_lookup {shown(path, 200)} not found; give the path of the ONS "
                         f"LSOA (2011) to LSOA (2021) lookup CSV")
    return _lookup_at(str(p), p.stat().st_mtime).copy()


__all__ = ["CHANGE_WORDS", "LOOKUP_COLUMNS", "convert_for_areas", "count_columns",
           "is_rank_column", "lsoa11_to_lsoa21", "needs_conversion", "read_lsoa_lookup",
           "summary"]
