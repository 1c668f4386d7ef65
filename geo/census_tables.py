"""Census 2021 tables other than TS011: TS038 disability, TS054 tenure, and any Nomis bulk table.

Layouts recognised by their header text:

* tidy TS038 (``lsoa21_code, residents_total, disabled_equality_act,
  not_disabled_equality_act``) and the Nomis bulk TS038
  (``census2021-ts038-lsoa.csv``: ``Disability: Total: All usual residents``,
  ``Disability: Disabled under the Equality Act``, ...) -> ``census_residents``
  (usual residents, count) and ``disabled_share`` (residents disabled under the
  Equality Act / all usual residents, 0..1);
* tidy TS054 (``lsoa21_code, households_total`` and one column per tenure with
  its ONS label, e.g. ``Private rented: Private landlord or letting agency``)
  and the Nomis bulk TS054 (``Tenure of household: ...``) -> ``households``
  (count) and the shares of households (0..1) :data:`TS054_COLUMNS`;
* the Nomis bulk layout of any Census 2021 TS table (``date, geography,
  geography code, <Table>: Total: ...; measures: Value, <Table>: <Category>;
  measures: Value``) -> ``<ts>_total`` (the table's total, a count) and
  ``<ts>_<category>_share`` = count / total for every category (``<ts>`` is the
  table number from the file name, e.g. ``ts038``; the category is its label
  in lower case with ``_`` for other characters, cut to 40 characters).

The Nomis TS038 and TS054 files also give the generic ``ts038_*``/``ts054_*``
shares (finer categories, e.g. "limited a lot") besides the tidy names, so a
configuration written for the tidy tables works with either source.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from geo.csvtable import numeric_columns, read_header, read_table
from geo.imd_tidy import code_column_of, slug
from geo.join import index_by_code
from socialrisk.core.errors import InputError, shown

log = logging.getLogger(__name__)

TS038_COLUMNS = ["census_residents", "disabled_share"]
#: Tidy TS054 columns. ``rented_share`` = social rented + private rented (ONS TS054
#: groups "Private landlord or letting agency" and "Other private rented" as Private
#: rented; "Lives rent free" is its own category, outside both, and is not included).
TS054_COLUMNS = ["households", "owned_share", "shared_ownership_share", "social_rented_share",
                 "private_rented_share", "rented_share", "rent_free_share"]
_TENURE_GROUPS = {"owned": "owned", "shared_ownership": "shared_ownership",
                  "social_rented": "social_rented", "private_rented": "private_rented",
                  "lives_rent_free": "rent_free"}
_KNOWN_TABLES = {"disability": "ts038", "tenure_of_household": "ts054",
                 "household_deprivation": "ts011"}
_MEASURES_RE = re.compile(r";\s*measures\s*:\s*(\w+)\s*$", re.IGNORECASE)
#: Longest category part of a generic Nomis column name (before ``_share``).
SLUG_MAX = 40


# --------------------------------------------------------------------------- Nomis layout


def nomis_layout(header: Iterable[str]) -> tuple[str, dict[str, str]] | None:
    """``(table name, {column: category label})`` for a Nomis bulk header, else ``None``.

    A Nomis bulk CSV has a ``geography code`` column and count columns named
    ``<Table>: <Category>`` (optionally ending ``; measures: Value``), all with
    the same table name, one of them the total (``<Table>: Total...``).
    Columns of other measures (``; measures: Percent``) are left out.
    """
    header = list(header)
    if not any(slug(c) == "geography_code" for c in header):
        return None
    cats: dict[str, str] = {}
    tables: set[str] = set()
    for col in header:
        m = _MEASURES_RE.search(col)
        if m and m.group(1).lower() != "value":
            continue
        label = _MEASURES_RE.sub("", col).strip()
        if ":" not in label:
            continue
        table, category = (part.strip() for part in label.split(":", 1))
        tables.add(table)
        cats[col] = category
    if len(tables) != 1 or not any(slug(c).startswith("total") for c in cats.values()):
        return None
    return tables.pop(), cats


def is_nomis(header: Iterable[str]) -> bool:
    """True for the Nomis bulk layout of a Census 2021 table (see :func:`nomis_layout`)."""
    return nomis_layout(header) is not None


def table_number(path: str | Path, table: str) -> str:
    """``ts038`` from ``census2021-ts038-lsoa.csv``, else from the table name, else its slug."""
    m = re.search(r"(ts\d{3}[a-z]?)", Path(path).name.lower())
    if m:
        return m.group(1)
    return _KNOWN_TABLES.get(slug(table), slug(table)[:20] or "table")


def _short_slug(text: str, used: set[str]) -> str:
    s = slug(text) or "category"
    if len(s) > SLUG_MAX:
        cut = s[:SLUG_MAX]
        s = cut[:cut.rfind("_")] if "_" in cut[10:] else cut
    base, n = s, 2
    while s in used:
        s = f"{base}_{n}"
        n += 1
    used.add(s)
    return s


def _nomis_body(path: Path) -> tuple[pd.DataFrame, str, dict[str, str], str, int]:
    """Read a Nomis bulk CSV: (body by code, table name, {column: category}, code column, rows)."""
    header = read_header(path)
    layout = nomis_layout(header)
    if layout is None:
        raise InputError(f"{path.name} is not a Nomis Census 2021 bulk table: it needs a "
                         f"'geography code' column and columns '<Table>: Total...' and "
                         f"'<Table>: <Category>' (it starts "
                         f"{', '.join(shown(h) for h in header[:4])}); download the table from "
                         f"Nomis (bulk CSV), or set kind = \"table\"")
    table, cats = layout
    code_col = next(c for c in header if slug(c) == "geography_code")
    df = read_table(path, keep_text=[code_col])
    body, _ = index_by_code(df, code_col, path.name)
    nums = set(numeric_columns(body))
    text = [c for c in cats if c not in nums and body[c].notna().any()]
    if text:
        raise InputError(f"{path.name}: column {shown(text[0])} must hold counts but holds text; "
                         f"download the table again")
    return body[list(cats)].astype("float64"), table, cats, code_col, len(df)


def _shares(body: pd.DataFrame, cats: dict[str, str], prefix: str) -> pd.DataFrame:
    total_col = next(c for c, cat in cats.items() if slug(cat).startswith("total"))
    total = body[total_col]
    den = total.where(total > 0)
    out = pd.DataFrame({f"{prefix}_total": total}, index=body.index)
    used: set[str] = {"total"}
    for col, cat in cats.items():
        if col == total_col:
            continue
        out[f"{prefix}_{_short_slug(cat, used)}_share"] = body[col] / den
    return out


def read_nomis(path: str | Path) -> pd.DataFrame:
    """Read any Census 2021 table in the Nomis bulk layout into its total and category shares.

    Returns
    -------
    DataFrame
        Indexed by area code (index name ``"lsoa_code"``): ``<ts>_total`` (count)
        and ``<ts>_<category>_share`` (0..1; NaN where the total is 0) for every
        category, including the aggregate ones Nomis gives (``Owned`` beside
        ``Owned: Owns outright``). For TS038 and TS054 the tidy columns of
        :func:`read_ts038`/:func:`read_ts054` come first. ``df.attrs``:
        ``table`` (name), ``table_number``, ``layout`` (``"nomis"``),
        ``code_column``, ``code_year`` (``"2021"``), ``n_rows``, ``source``.
    """
    p = Path(path)
    body, table, cats, code_col, n_rows = _nomis_body(p)
    ts = table_number(p, table)
    out = _shares(body, cats, ts)
    labels = {col: cat for col, cat in cats.items()}
    if ts == "ts038" or slug(table) == "disability":
        out = pd.concat([_ts038_from(body, labels, p.name), out], axis=1)
    elif ts == "ts054" or slug(table) == "tenure_of_household":
        out = pd.concat([_ts054_from(body, labels, p.name), out], axis=1)
    out.index.name = "lsoa_code"
    out.attrs.update(source=str(p), table=table, table_number=ts, layout="nomis",
                     code_column=code_col, code_year="2021", n_rows=n_rows)
    log.info("read Nomis %s (%s) from %s: %d areas, %d categories", ts.upper(), table, p.name,
             len(out), len(cats) - 1)
    return out


# --------------------------------------------------------------------------- TS038 disability


def _ts038_from(body: pd.DataFrame, labels: dict[str, str], name: str) -> pd.DataFrame:
    """``census_residents`` and ``disabled_share`` from count columns labelled by category."""
    by_slug = {slug(cat): col for col, cat in labels.items()}
    total_col = next((c for s, c in by_slug.items() if s.startswith("total") or s in (
        "residents_total", "total_residents", "all_usual_residents")), None)
    aggregate = next((c for s, c in by_slug.items()
                      if re.fullmatch(r"disabled(_under)?(_the)?_equality_act", s)), None)
    parts = [c for s, c in by_slug.items() if s.startswith("disabled") and c != aggregate]
    if total_col is None or (aggregate is None and not parts):
        raise InputError(f"{name}: TS038 needs the total of usual residents and the count "
                         f"disabled under the Equality Act (columns such as residents_total "
                         f"and disabled_equality_act); give TS038 from ONS or Nomis")
    disabled = body[aggregate] if aggregate is not None else body[parts].sum(axis=1, min_count=1)
    total = body[total_col].astype("float64")
    return pd.DataFrame({"census_residents": total,
                         "disabled_share": disabled / total.where(total > 0)}, index=body.index)


def is_ts038(header: Iterable[str]) -> bool:
    """True for TS038 disability: tidy (``disabled_equality_act``) or Nomis (``Disability:``)."""
    header = list(header)
    layout = nomis_layout(header)
    if layout is not None:
        return slug(layout[0]) == "disability"
    slugs = {slug(c) for c in header}
    return bool(code_column_of(header)) and any(
        re.fullmatch(r"disabled(_under)?(_the)?_equality_act", s) for s in slugs) and any(
        s in ("residents_total", "total_residents", "all_usual_residents") or
        s.startswith("total") for s in slugs)


def read_ts038(path: str | Path) -> pd.DataFrame:
    """Read Census 2021 TS038 "Disability" (tidy or Nomis bulk) into residents and disabled share.

    Returns
    -------
    DataFrame
        Indexed by area code (index name ``"lsoa_code"``): ``census_residents``
        (all usual residents, count) and ``disabled_share`` (residents whose
        day-to-day activities are limited by a long-term condition, i.e.
        disabled under the Equality Act, / all usual residents; 0..1, NaN where
        there are no residents; higher = more people at risk). The Nomis layout
        adds the generic ``ts038_*`` shares. ``df.attrs``: ``layout``
        (``"tidy"``/``"nomis"``), ``code_column``, ``code_year``, ``n_rows``,
        ``source``.
    """
    return _read_table(Path(path), "TS038", is_ts038, _ts038_from,
                       "no residents total and disabled_equality_act columns")


# --------------------------------------------------------------------------- TS054 tenure


def _ts054_from(body: pd.DataFrame, labels: dict[str, str], name: str) -> pd.DataFrame:
    """Tenure shares from count columns labelled ``Owned: Owns outright`` etc."""
    total_col = None
    aggregates: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    for col, label in labels.items():
        segments = [slug(s) for s in label.split(":")]
        if segments[0].startswith("total") or segments[0] in ("households_total",
                                                               "all_households"):
            total_col = total_col or col
            continue
        group = _TENURE_GROUPS.get(segments[0])
        if group is None:
            continue
        if len(segments) == 1:
            aggregates[group] = col
        else:
            parts.setdefault(group, []).append(col)
    counts = {}
    for group in _TENURE_GROUPS.values():
        if group in aggregates:
            counts[group] = body[aggregates[group]]
        elif group in parts:
            counts[group] = body[parts[group]].sum(axis=1, min_count=1)
    missing = [g for g in ("owned", "social_rented", "private_rented") if g not in counts]
    if missing:
        raise InputError(f"{name}: TS054 has no {missing[0].replace('_', ' ')} households "
                         f"(columns labelled like 'Owned: Owns outright', 'Social rented: ...', "
                         f"'Private rented: ...'); give TS054 from ONS or Nomis")
    summed = pd.concat(counts.values(), axis=1).sum(axis=1, min_count=1)
    households = body[total_col].astype("float64") if total_col else summed
    den = households.where(households > 0)
    out = pd.DataFrame({"households": households}, index=body.index)
    zero = pd.Series(0.0, index=body.index)
    for group in ("owned", "shared_ownership", "social_rented", "private_rented"):
        out[f"{group}_share"] = counts.get(group, zero) / den
    out["rented_share"] = (counts["social_rented"] + counts["private_rented"]) / den
    out["rent_free_share"] = counts.get("rent_free", zero) / den
    return out[TS054_COLUMNS]


def is_ts054(header: Iterable[str]) -> bool:
    """True for TS054 tenure, tidy (ONS labels) or Nomis (``Tenure of household: ...``)."""
    header = list(header)
    layout = nomis_layout(header)
    if layout is not None:
        return slug(layout[0]) == "tenure_of_household"
    firsts = {slug(c.split(":")[0]) for c in header}
    return bool(code_column_of(header)) and {"owned", "social_rented", "private_rented"} <= firsts


def read_ts054(path: str | Path) -> pd.DataFrame:
    """Read Census 2021 TS054 "Tenure" (tidy or Nomis bulk) into households and tenure shares.

    Returns
    -------
    DataFrame
        Indexed by area code (index name ``"lsoa_code"``): ``households``
        (count) and the shares of households (0..1, NaN where there are no
        households): ``owned_share`` (owns outright or with a mortgage or loan),
        ``shared_ownership_share``, ``social_rented_share`` (council or other
        social landlord), ``private_rented_share`` (private landlord or letting
        agency, and other private rented), ``rented_share`` = social + private
        rented, and ``rent_free_share``. As in the ONS TS054 grouping, "Lives
        rent free" is a category of its own and is **not** in
        ``rented_share``. The Nomis layout adds the generic ``ts054_*`` shares.
    """
    return _read_table(Path(path), "TS054", is_ts054, _ts054_from,
                       "no tenure columns such as 'Owned: Owns outright' and 'Social rented: "
                       "...'")


# --------------------------------------------------------------------------- shared


def _read_table(p: Path, table: str, recognised: Callable[[list[str]], bool],
                shares: Callable[[pd.DataFrame, dict[str, str], str], pd.DataFrame],
                missing: str) -> pd.DataFrame:
    """A TS table, Nomis bulk or tidy layout; ``missing``: what a wrong file lacks."""
    header = read_header(p)
    if is_nomis(header):
        return read_nomis(p)
    if not recognised(header):
        raise InputError(f"{p.name} is not Census 2021 {table} ({missing}); give {table} from "
                         f"ONS or Nomis, or set kind = \"table\"")
    code_col = code_column_of(header)
    body, n_rows = _tidy_body(p, code_col)
    return _finish(shares(body, {c: c for c in body.columns}, p.name), p, code_col, n_rows,
                   table)


def _tidy_body(path: Path, code_col: str) -> tuple[pd.DataFrame, int]:
    df = read_table(path, keep_text=[code_col])
    body, _ = index_by_code(df, code_col, path.name)
    text = [c for c in body.columns if c not in numeric_columns(body) and body[c].notna().any()]
    if text:
        raise InputError(f"{path.name}: column {shown(text[0])} must hold counts but holds text; "
                         f"fix those cells or leave them empty")
    return body.astype("float64"), len(df)


def _finish(out: pd.DataFrame, path: Path, code_col: str, n_rows: int, what: str) -> pd.DataFrame:
    out = out.astype("float64")
    out.index.name = "lsoa_code"
    m = re.search(r"(?:20)?(11|21)", slug(code_col))
    out.attrs.update(source=str(path), layout="tidy", code_column=code_col,
                     code_year=f"20{m.group(1)}" if m else "2021", n_rows=n_rows)
    log.info("read %s from %s: %d areas, %s in total", what, path.name, len(out),
             f"{np.nansum(out.iloc[:, 0].to_numpy()):,.0f}")
    return out


__all__ = ["SLUG_MAX", "TS038_COLUMNS", "TS054_COLUMNS", "is_nomis", "is_ts038", "is_ts054",
           "nomis_layout", "read_nomis", "read_ts038", "read_ts054", "table_number"]
