"""Census 2021 TS011 "Households by deprivation dimensions", one row per area.

TS011 counts households by how many of four dimensions (employment,
education, health and disability, housing) they are deprived in. It is
published in several layouts, all recognised here by their header text:

* tidy long: ``lsoa21_code, households_number_deprivation_dimensions (0-4),
  count, percent``;
* ONS "create a custom dataset" long: ``Lower layer Super Output Areas Code,
  ..., Household deprivation (6 categories) Code, Household deprivation (6
  categories), Observation`` (categories ``-8`` "Does not apply", ``1``
  "Household is not deprived in any dimension" ... ``5`` "... four
  dimensions");
* ONS/Nomis bulk wide (``census2021-ts011-lsoa.csv``): ``date, geography,
  geography code, Household deprivation: Total: All households; measures:
  Value, Household deprivation: Household is not deprived in any dimension;
  measures: Value, ...``.

Output columns: ``hh_total``, ``hh_deprived_0`` ... ``hh_deprived_4`` (household
counts), ``hh_deprived_1plus_share`` and ``hh_deprived_2plus_share`` (0..1).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from geo.csvtable import header_from_bytes, read_header, read_table
from geo.join import index_by_code, normalise_codes
from socialrisk.core.errors import InputError, shown

log = logging.getLogger(__name__)

TS011_COLUMNS = ["hh_total", "hh_deprived_0", "hh_deprived_1", "hh_deprived_2", "hh_deprived_3",
                 "hh_deprived_4", "hh_deprived_1plus_share", "hh_deprived_2plus_share"]
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_ONS_CODE = r"^[EWSNKL]\d{8}$"
_COUNT_NAMES = {"count", "observation", "observations", "value", "obs_value", "households",
                "number of households", "observation value"}


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().lower()


def dimensions_of_label(label: str) -> int | str | None:
    """0-4 for a TS011 category label, ``"total"`` for the total, ``None`` otherwise."""
    t = _norm(label)
    if "not deprived in any dimension" in t:
        return 0
    m = re.search(r"deprived in (one|two|three|four|[1-4]) dimensions?", t)
    if m:
        return _NUMBERS[m.group(1)]
    if re.search(r"\btotal\b|all households", t):
        return "total"
    return None


def _is_category_column(name: str) -> bool:
    n = _norm(name)
    return "deprived" not in n and bool(re.search(r"deprivation.*(dimension|categor)", n))


def is_ts011(path_or_header: str | Path | bytes | Iterable[str]) -> bool:
    """True when a CSV (path, body bytes, header line or list of names) looks like TS011."""
    if isinstance(path_or_header, Path) or (
            isinstance(path_or_header, str) and "\n" not in path_or_header
            and "," not in path_or_header and Path(path_or_header).is_file()):
        header = read_header(path_or_header)
    elif isinstance(path_or_header, bytes):
        header = header_from_bytes(path_or_header)
    elif isinstance(path_or_header, str):
        header = header_from_bytes(path_or_header.encode("utf-8"))
    else:
        header = [str(c) for c in path_or_header]
    if any(_is_category_column(c) for c in header):
        return any(_norm(c) in _COUNT_NAMES for c in header)
    wide = {dimensions_of_label(c) for c in header if "deprived" in _norm(c)}
    return {0, 1, 2, 3, 4} <= wide


def _code_column(df: pd.DataFrame, exclude: Iterable[str], source: str) -> str:
    """The text column holding the most ONS area codes (9 characters, e.g. E01017282)."""
    skip = set(exclude)
    best, best_share = "", 0.0
    for col in df.columns:
        if col in skip or is_numeric_dtype(df[col]):
            continue
        sample = normalise_codes(df[col].head(5000))
        share = float(sample.str.match(_ONS_CODE).mean()) if len(sample) else 0.0
        if share > best_share:
            best, best_share = col, share
    if best_share < 0.5:
        tried = [c for c in df.columns if c not in skip]
        more = f" and {len(tried) - 10} more" if len(tried) > 10 else ""
        raise InputError(f"{source}: no column holds area codes like E01017282 (tried "
                         f"{', '.join(shown(c) for c in tried[:10])}{more}); give "
                         f"TS011 with a geography code column")
    return best


def _long_dimensions(df: pd.DataFrame, cat_cols: list[str], source: str) -> pd.Series:
    """Number of deprivation dimensions per row (NaN for "does not apply")."""
    labels = [c for c in cat_cols if not is_numeric_dtype(df[c])]
    if labels:
        col = labels[0]
        uniq = {v: dimensions_of_label(v) for v in df[col].dropna().unique()}
        dims = df[col].map(lambda v: uniq.get(v)).map(lambda d: d if isinstance(d, int) else None)
        if dims.notna().any():
            return dims.astype("float64")
    nums = [c for c in cat_cols if is_numeric_dtype(df[c])]
    if not nums:
        raise InputError(f"{source}: the deprivation category column has neither labels nor "
                         f"codes that TS011 uses; give TS011 as published by ONS or Nomis")
    values = df[nums[0]]
    seen = set(values.dropna().astype(int).unique())
    if seen <= {0, 1, 2, 3, 4} and 0 in seen:
        return values.astype("float64")
    if seen <= {-8, 1, 2, 3, 4, 5} and (5 in seen or -8 in seen):
        return (values.where(values > 0) - 1).astype("float64")  # ONS codes: 1 = none ... 5 = four
    cats = ", ".join(f"{v:g}" for v in sorted(seen)[:8]) + (" ..." if len(seen) > 8 else "")
    raise InputError(f"{source}: deprivation categories [{cats}] in {shown(nums[0])} are "
                     f"neither 0-4 dimensions nor the ONS codes -8, 1-5; give TS011 as "
                     f"published by ONS or Nomis")


def _from_long(df: pd.DataFrame, source: str) -> tuple[pd.DataFrame, str]:
    cat_cols = [c for c in df.columns if _is_category_column(c)]
    count_col = next((c for c in df.columns if _norm(c) in _COUNT_NAMES
                      and is_numeric_dtype(df[c])), None)
    if count_col is None:
        raise InputError(f"{source}: TS011 long table has no numeric count column (count or "
                         f"Observation); give the table with household counts")
    code_col = _code_column(df, [*cat_cols, count_col], source)
    dims = _long_dimensions(df, cat_cols, source)
    long = pd.DataFrame({"code": normalise_codes(df[code_col]).to_numpy(),
                         "dim": dims.to_numpy(), "count": df[count_col].to_numpy()})
    long = long[long["dim"].notna() & (long["code"] != "")]
    dup = long.duplicated(["code", "dim"], keep=False)
    if dup.any():
        ex = long.loc[dup, "code"].iloc[0]
        raise InputError(f"{source}: area {shown(ex)} has more than one row for the same number of "
                         f"deprivation dimensions; give one row per area and category (filter "
                         f"to one geography level or year)")
    wide = long.pivot(index="code", columns="dim", values="count")
    wide = wide.reindex(columns=[0.0, 1.0, 2.0, 3.0, 4.0]).fillna(0.0)
    wide.columns = [f"hh_deprived_{int(c)}" for c in wide.columns]
    wide.insert(0, "hh_total", wide.sum(axis=1))
    wide.index.name = "lsoa_code"
    return wide, code_col


def _from_wide(df: pd.DataFrame, source: str) -> tuple[pd.DataFrame, str]:
    picked: dict[int | str, str] = {}
    for col in df.columns:
        n = _norm(col)
        if "percent" in n or "%" in n or not is_numeric_dtype(df[col]):
            continue
        key = dimensions_of_label(col.split(":", 1)[-1] if "deprivation:" in n else col)
        if key is not None and key not in picked:
            picked[key] = col
    if not {0, 1, 2, 3, 4} <= set(picked):
        raise InputError(f"{source}: TS011 wide table lacks household counts for 0-4 "
                         f"deprivation dimensions (percentages only?); download the counts")
    code_col = _code_column(df, picked.values(), source)
    body, _ = index_by_code(df[[code_col, *[picked[k] for k in (0, 1, 2, 3, 4)]]
                               + ([picked["total"]] if "total" in picked else [])],
                            code_col, source)
    out = pd.DataFrame(index=body.index)
    for k in range(5):
        out[f"hh_deprived_{k}"] = body[picked[k]].astype("float64")
    parts = out.sum(axis=1, min_count=5)
    total = body[picked["total"]].astype("float64") if "total" in picked else parts
    off = (total - parts).abs() > 0.5
    if off.any():
        log.warning("%s: in %d areas the total households differ from the sum of the 0-4 "
                    "dimension counts; the published total is used", source, int(off.sum()))
    out.insert(0, "hh_total", total)
    out.index.name = "lsoa_code"
    return out, code_col


def read_ts011(path: str | Path) -> pd.DataFrame:
    """Read Census 2021 TS011 (long or wide layout) into household counts and shares per area.

    Parameters
    ----------
    path : path
        A TS011 CSV at any geography (LSOA, OA, MSOA, ...).

    Returns
    -------
    DataFrame
        Indexed by area code (index name ``"lsoa_code"``) with ``hh_total``,
        ``hh_deprived_0`` ... ``hh_deprived_4`` and the shares
        ``hh_deprived_1plus_share`` (deprived in 1 or more dimensions) and
        ``hh_deprived_2plus_share`` (2 or more), 0..1, NaN when an area has no
        households. In long layouts a missing category row counts 0 households.
        ``df.attrs``: ``layout`` (``"long"``/``"wide"``), ``code_column``,
        ``code_year``, ``n_rows``, ``source``.

    Raises
    ------
    InputError
        When the file is not TS011 or repeats an area/category.
    """
    p = Path(path)
    df = read_table(p)
    name = p.name
    if any(_is_category_column(c) for c in df.columns):
        out, code_col, layout = *_from_long(df, name), "long"
    elif is_ts011(list(df.columns)):
        out, code_col, layout = *_from_wide(df, name), "wide"
    else:
        raise InputError(f"{p} is not Census 2021 TS011 (no household deprivation dimension "
                         f"columns); give TS011 from ONS or Nomis, or set kind = \"table\"")
    total = out["hh_total"].where(out["hh_total"] > 0)
    d = out
    out["hh_deprived_1plus_share"] = (d["hh_deprived_1"] + d["hh_deprived_2"] + d["hh_deprived_3"]
                                      + d["hh_deprived_4"]) / total
    out["hh_deprived_2plus_share"] = (d["hh_deprived_2"] + d["hh_deprived_3"]
                                      + d["hh_deprived_4"]) / total
    out = out[TS011_COLUMNS].astype("float64")
    m = re.search(r"(?:lsoa|oa|msoa)?(11|21)", code_col.lower())
    out.attrs.update(source=str(p), layout=layout, code_column=code_col,
                     code_year=f"20{m.group(1)}" if m else "", n_rows=len(df))
    log.info("read TS011 (%s layout) from %s: %d areas, %s households", layout, name,
             len(out), f"{np.nansum(out['hh_total'].to_numpy()):,.0f}")
    return out


__all__ = ["TS011_COLUMNS", "dimensions_of_label", "is_ts011", "read_ts011"]
