"""One area's profile and the underserved-area filter, over the output areas table."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from socialrisk.core.schema import (
    AREA_ID,
    AREA_NAME,
    DRIVERS,
    HEADLINE_SCORES,
    ISOLATION_RISK,
    ISOLATION_RISK_DECILE,
    POPULATION,
    SCORE_SUFFIXES,
    UNCERTAINTY_SUFFIXES,
    is_ordinal,
    nearest_column,
    walk_min_column,
)

log = logging.getLogger(__name__)

DOMAIN_COLUMNS = ("access_score", "deprivation_score", "demographic_score")


def lower_is_better(column: str) -> bool:
    """True for distances, walking times, shares beyond a distance and risk/deprivation scores."""
    return not (column.endswith(("_count_400m", "_count_800m", "_count_1200m", "_gravity",
                                 "_e2sfca")) or is_ordinal(column))


def share_worse(values: pd.Series, value: float, column: str) -> float:
    """Share (0..1) of the other areas with a better value than ``value`` (NaN if unknown).

    "Better" is lower for distances, minutes and scores, higher for counts and access.
    """
    x = pd.to_numeric(values, errors="coerce").dropna()
    if not np.isfinite(value) or x.empty:
        return float("nan")
    better = (x < value) if lower_is_better(column) else (x > value)
    return float(better.sum() / len(x))


@dataclass
class AreaProfile:
    """What the app shows for a clicked area."""

    area_id: str
    name: str
    population: float
    decile: float
    risk: float
    drivers: str
    domains: pd.DataFrame     # domain, score, share of areas with a lower score
    access: pd.DataFrame      # category, nearest_m, walk_min, count_800m, share_better


def area_profile(areas: pd.DataFrame, area_id: str, categories: dict[str, str]) -> AreaProfile:
    """Profile of one area and how it compares with the rest.

    Parameters
    ----------
    areas : DataFrame
        The output areas table.
    area_id : str
        The area.
    categories : dict
        Category -> label, in display order.

    Raises
    ------
    KeyError
        When ``area_id`` is not in the table.
    """
    hit = areas.index[areas[AREA_ID].astype(str) == str(area_id)]
    if len(hit) == 0:
        raise KeyError(f"no area {area_id!r}")
    row = areas.loc[hit[0]]
    others = areas.drop(index=hit[0])

    def get(col: str) -> float:
        v = row.get(col, np.nan)
        try:
            return float(v)
        except (TypeError, ValueError):
            return float("nan")

    doms = [{"domain": c.removesuffix("_score"), "score": get(c),
             "share_of_areas_lower": share_worse(others[c], get(c), c)}
            for c in DOMAIN_COLUMNS if c in areas.columns]
    acc = []
    for cat, label in categories.items():
        col = walk_min_column(cat)
        if col not in areas.columns:
            continue
        acc.append({"category": cat, "label": label, "nearest_m": get(nearest_column(cat)),
                    "walk_min": get(col), "count_800m": get(f"{cat}_count_800m"),
                    "share_of_areas_better": share_worse(others[col], get(col), col)})
    name = row.get(AREA_NAME, "")
    return AreaProfile(
        area_id=str(row[AREA_ID]), name=name if isinstance(name, str) else "",
        population=get(POPULATION), decile=get(ISOLATION_RISK_DECILE),
        risk=get(ISOLATION_RISK),
        drivers=row.get(DRIVERS, "") if isinstance(row.get(DRIVERS, ""), str) else "",
        domains=pd.DataFrame(doms, columns=["domain", "score", "share_of_areas_lower"]),
        access=pd.DataFrame(acc, columns=["category", "label", "nearest_m", "walk_min",
                                          "count_800m", "share_of_areas_better"]))


def underserved(areas: pd.DataFrame, deciles: list[int] | None = None,
                category: str | None = None, beyond_min: float | None = None) -> pd.DataFrame:
    """Areas ranked by isolation risk (highest first), filtered.

    Parameters
    ----------
    areas : DataFrame
        The output areas table.
    deciles : list of int, optional
        Keep areas in these isolation-risk deciles (1 = highest risk).
    category, beyond_min : optional
        Keep areas whose mean walk to the nearest ``category`` is more than
        ``beyond_min`` minutes (areas with unknown access are left out).

    Returns
    -------
    DataFrame
        The kept rows, sorted by ``isolation_risk`` descending (unknown risk last).
    """
    keep = pd.Series(True, index=areas.index)
    if deciles:
        keep &= areas[ISOLATION_RISK_DECILE].isin(deciles)
    if category and beyond_min is not None:
        col = walk_min_column(category)
        if col not in areas.columns:
            raise KeyError(f"the areas table has no {col!r}")
        keep &= pd.to_numeric(areas[col], errors="coerce") > beyond_min
    return areas[keep].sort_values(ISOLATION_RISK, ascending=False, na_position="last",
                                   kind="stable")


def score_columns(areas: pd.DataFrame) -> list[str]:
    """The score columns of a run: isolation risk, loneliness risk, then ``risk_<lens>``."""
    suffixes = (*SCORE_SUFFIXES, *UNCERTAINTY_SUFFIXES, "_population")
    lenses = [c for c in areas.columns if c.startswith("risk_") and not c.endswith(suffixes)]
    return [c for c in (*HEADLINE_SCORES, *lenses) if c in areas.columns]


def score_table(areas: pd.DataFrame, area_id: str) -> pd.DataFrame:
    """Every score of one area: value, rank, decile, rank interval and drivers.

    Columns ``score``, ``value``, ``rank``, ``decile``, ``rank_p05``,
    ``rank_p95`` and ``p_top_decile`` (NaN without ``--uncertainty``),
    ``robust`` (in the top decile in at least 90 % of the Monte Carlo draws)
    and ``drivers``. Raises ``KeyError`` for an unknown area.
    """
    rows = areas.loc[areas[AREA_ID].astype(str) == str(area_id)]
    if rows.empty:
        raise KeyError(area_id)
    row = rows.iloc[0]

    def get(col: str) -> object:
        return row[col] if col in row.index else np.nan

    out = []
    for s in score_columns(areas):
        robust = get(f"{s}_robust")
        out.append({"score": s, "value": get(s), "rank": get(f"{s}_rank"),
                    "decile": get(f"{s}_decile"), "rank_p05": get(f"{s}_rank_p05"),
                    "rank_p95": get(f"{s}_rank_p95"), "p_top_decile": get(f"{s}_p_top_decile"),
                    "robust": bool(robust) if isinstance(robust, (bool, np.bool_)) else False,
                    "drivers": get(f"{s}_drivers")})
    return pd.DataFrame(out)
