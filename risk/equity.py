"""Equity of access: walking access by deprivation decile and the gap between fifths.

Pure functions over the output areas table (one row per area), used by the
app's "Underserved" page and usable on any ``areas.csv``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from socialrisk.core.schema import POPULATION, walk_min_column

log = logging.getLogger(__name__)

#: IoD deciles of the most deprived fifth (1 = most deprived 10 % in England) ...
MOST_DEPRIVED_FIFTH = (1, 2)
#: ... and of the least deprived fifth
LEAST_DEPRIVED_FIFTH = (9, 10)


def weighted_median(values: np.ndarray | pd.Series, weights: np.ndarray | pd.Series | None = None
                    ) -> float:
    """Median of ``values`` weighted by ``weights`` (NaN values or weights are left out).

    The weighted median is the smallest value at which the cumulative weight of
    the sorted values reaches half the total weight. With no weights it is the
    ordinary median (the mean of the two middle values for an even count).

    Parameters
    ----------
    values : array-like
    weights : array-like, optional
        Non-negative weights, e.g. population.

    Returns
    -------
    float
        NaN when no value (or no positive weight) is left.
    """
    x = np.asarray(values, dtype=float)
    if weights is None:
        x = x[np.isfinite(x)]
        return float(np.median(x)) if x.size else float("nan")
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    x, w = x[ok], w[ok]
    if x.size == 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum = np.cumsum(w)
    return float(x[np.searchsorted(cum, 0.5 * cum[-1])])


def access_by_decile(areas: pd.DataFrame, access_column: str = walk_min_column("gp"),
                     decile_column: str = "imd_decile", weight_column: str | None = POPULATION
                     ) -> pd.DataFrame:
    """Median access per deprivation decile.

    Parameters
    ----------
    areas : DataFrame
        One row per area with ``access_column`` and ``decile_column``.
    access_column : str
        The access indicator, e.g. walking minutes to the nearest GP.
    decile_column : str
        Deprivation decile (1 = most deprived), e.g. ``imd_decile``.
    weight_column : str or None
        Population column for population-weighted medians; ignored when absent or
        all missing (then the median over areas).

    Returns
    -------
    DataFrame
        Index ``decile`` (the deciles present, ascending); columns ``median``,
        ``areas`` (areas with a value) and ``population`` (their population, NaN
        when unknown).
    """
    for col in (access_column, decile_column):
        if col not in areas.columns:
            raise KeyError(f"the areas table has no column {col!r}")
    weights = _weights(areas, weight_column)
    dec = pd.to_numeric(areas[decile_column], errors="coerce")
    val = pd.to_numeric(areas[access_column], errors="coerce")
    rows = []
    for d in sorted(int(v) for v in dec.dropna().unique()):
        sel = (dec == d) & val.notna()
        w = None if weights is None else weights[sel]
        rows.append({"decile": d, "median": weighted_median(val[sel], w),
                     "areas": int(sel.sum()),
                     "population": float(weights[sel].sum()) if weights is not None
                     else float("nan")})
    return pd.DataFrame(rows, columns=["decile", "median", "areas", "population"]
                        ).set_index("decile")


@dataclass
class FifthGap:
    """Median access of the most and least deprived fifth of areas, and the gap."""

    most_deprived: float
    least_deprived: float
    gap: float            # most_deprived - least_deprived
    n_most: int
    n_least: int

    def sentence(self, what: str, unit: str = "min") -> str:
        """The gap in words, e.g. for a caption."""
        if not np.isfinite(self.gap):
            return (f"The gap in {what} between the most and least deprived fifth cannot be "
                    f"measured here: {self.n_most} areas in the most deprived fifth and "
                    f"{self.n_least} in the least deprived fifth have a value.")
        side = "longer" if self.gap > 0 else "shorter"
        return (f"Median {what}: {self.most_deprived:.1f} {unit} in the most deprived fifth "
                f"(IMD deciles 1-2, {self.n_most} areas) against {self.least_deprived:.1f} "
                f"{unit} in the least deprived fifth (deciles 9-10, {self.n_least} areas); "
                f"the most deprived fifth's is {abs(self.gap):.1f} {unit} {side}.")


def fifth_gap(areas: pd.DataFrame, access_column: str = walk_min_column("gp"),
              decile_column: str = "imd_decile", weight_column: str | None = POPULATION
              ) -> FifthGap:
    """Gap in median access between the most deprived and the least deprived fifth.

    The fifths are the England-wide IoD deciles 1-2 and 9-10 (not fifths of the
    areas shown), so the gap is comparable between places; a place with no area
    in a fifth gets NaN.

    Parameters
    ----------
    areas, access_column, decile_column, weight_column
        As :func:`access_by_decile`.

    Returns
    -------
    FifthGap
    """
    weights = _weights(areas, weight_column)
    dec = pd.to_numeric(areas[decile_column], errors="coerce")
    val = pd.to_numeric(areas[access_column], errors="coerce")

    def part(deciles: tuple[int, ...]) -> tuple[float, int]:
        sel = dec.isin(deciles) & val.notna()
        w = None if weights is None else weights[sel]
        return weighted_median(val[sel], w), int(sel.sum())

    most, n_most = part(MOST_DEPRIVED_FIFTH)
    least, n_least = part(LEAST_DEPRIVED_FIFTH)
    return FifthGap(most, least, most - least, n_most, n_least)


def _weights(areas: pd.DataFrame, weight_column: str | None) -> pd.Series | None:
    if not weight_column or weight_column not in areas.columns:
        return None
    w = pd.to_numeric(areas[weight_column], errors="coerce")
    return None if w.notna().sum() == 0 else w
