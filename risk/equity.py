"""Equity of access: walking access by deprivation decile and the gap between fifths.

Pure functions over the output areas table (one row per area), used by the
app's "Underserved" page and usable on any ``areas.csv``.

Small groups: a median over one to four areas swings with any single area
(one odd area *is* the median), so a gap between two groups is only computed
when each has at least ``min_areas`` areas with a value (default
:data:`~socialrisk.core.schema.EQUITY_MIN_AREAS`, 5); otherwise it is NaN and
:meth:`FifthGap.sentence` says why, with the counts. The medians themselves
are still reported, with their counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from socialrisk.core.schema import EQUITY_MIN_AREAS, POPULATION, walk_min_column

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


def weighted_mean(values: np.ndarray | pd.Series, weights: np.ndarray | pd.Series | None = None
                  ) -> float:
    """Mean of ``values`` weighted by ``weights``; NaN values or weights (and weight 0) left out.

    With no weights, the plain mean of the finite values. NaN when nothing is left.

    Examples
    --------
    >>> weighted_mean([1.0, 3.0], [3.0, 1.0])
    1.5
    """
    x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    if weights is None:
        x = x[np.isfinite(x)]
        return float(x.mean()) if x.size else float("nan")
    w = np.asarray(pd.to_numeric(pd.Series(weights), errors="coerce"), dtype=float)
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    return float(np.average(x[ok], weights=w[ok])) if ok.any() else float("nan")


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


def areas_word(n: int) -> str:
    """``"1 area"``, ``"5 areas"``."""
    return f"{n} area" if n == 1 else f"{n} areas"


@dataclass
class FifthGap:
    """Median access of the most and least deprived fifth of areas, and the gap.

    ``gap`` is NaN when either fifth has fewer than ``min_areas`` areas with a
    value (``too_small`` is then True) or no area at all.
    """

    most_deprived: float
    least_deprived: float
    gap: float            # most_deprived - least_deprived
    n_most: int
    n_least: int
    min_areas: int = EQUITY_MIN_AREAS

    @property
    def too_small(self) -> bool:
        """Whether a fifth has too few areas for a comparison."""
        return min(self.n_most, self.n_least) < self.min_areas

    def counts(self) -> str:
        """The two groups and their sizes, e.g. for a table caption."""
        return (f"most deprived fifth (IMD deciles 1-2): {areas_word(self.n_most)}; least "
                f"deprived fifth (deciles 9-10): {areas_word(self.n_least)}")

    def sentence(self, what: str, unit: str = "min") -> str:
        """The gap in words, e.g. for a caption; says why when it cannot be compared."""
        if self.too_small or not np.isfinite(self.gap):
            small = [f"the {name} fifth has {areas_word(n)}" for name, n in
                     (("most deprived", self.n_most), ("least deprived", self.n_least))
                     if n < self.min_areas]
            return (f"No comparison of {what} between the most and least deprived fifth: "
                    f"{' and '.join(small) or 'a fifth has no value'} with a value, fewer than "
                    f"the {self.min_areas} needed (the median of a few areas swings with any "
                    f"one of them). Groups: {self.counts()}.")
        side = "longer" if self.gap > 0 else "shorter"
        return (f"Median {what}: {self.most_deprived:.1f} {unit} in the most deprived fifth "
                f"(IMD deciles 1-2, {areas_word(self.n_most)}) against "
                f"{self.least_deprived:.1f} {unit} in the least deprived fifth (deciles 9-10, "
                f"{areas_word(self.n_least)}); the most deprived fifth's is "
                f"{abs(self.gap):.1f} {unit} {side}.")


def fifth_gap(areas: pd.DataFrame, access_column: str = walk_min_column("gp"),
              decile_column: str = "imd_decile", weight_column: str | None = POPULATION,
              min_areas: int = EQUITY_MIN_AREAS) -> FifthGap:
    """Gap in median access between the most deprived and the least deprived fifth.

    The fifths are the England-wide IoD deciles 1-2 and 9-10 (not fifths of the
    areas shown), so the gap is comparable between places; a place with fewer
    than ``min_areas`` areas (with a value) in a fifth gets NaN.

    Parameters
    ----------
    areas, access_column, decile_column, weight_column
        As :func:`access_by_decile`.
    min_areas : int
        Fewest areas with a value each fifth needs for the gap (see the module
        docstring); the medians are computed whatever the counts.

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
    gap = most - least if min(n_most, n_least) >= min_areas else float("nan")
    return FifthGap(most, least, gap, n_most, n_least, min_areas)


def _weights(areas: pd.DataFrame, weight_column: str | None) -> pd.Series | None:
    if not weight_column or weight_column not in areas.columns:
        return None
    w = pd.to_numeric(areas[weight_column], errors="coerce")
    return None if w.notna().sum() == 0 else w
