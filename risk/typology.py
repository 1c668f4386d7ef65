"""Area typology: k-means types of areas on their indicators, each described in words.

The indicators are standardised (z-scores over the areas; a missing value is
replaced by the column median), k-means (scikit-learn) groups the areas, and
each type is described by the indicators on which its mean differs most from
the average area (in standard deviations).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


@dataclass
class Typology:
    """Result of :func:`typology`.

    Attributes
    ----------
    labels : Series
        Type per area (1..k), indexed like the input table.
    k : int
        Number of types.
    silhouette : dict
        Silhouette score per k tried (empty when k was given).
    centres : DataFrame
        Mean z-score of every indicator per type (index 1..k).
    sizes : Series
        Areas per type.
    descriptions : dict
        Type -> description in words.
    """

    labels: pd.Series
    k: int
    silhouette: dict[int, float]
    centres: pd.DataFrame
    sizes: pd.Series
    descriptions: dict[int, str]


def standardise(frame: pd.DataFrame) -> pd.DataFrame:
    """Z-scores per column (population sd); NaN -> column median; constant columns -> 0."""
    x = frame.apply(pd.to_numeric, errors="coerce").astype(float)
    x = x.fillna(x.median())
    sd = x.std(ddof=0).replace(0, np.nan)
    return ((x - x.mean()) / sd).fillna(0.0)


def describe_type(centre: pd.Series, n_terms: int = 3,
                  label: Callable[[str], str] | None = None, min_sd: float = 0.25) -> str:
    """Words for a type from its mean z-scores: the most distinctive indicators first.

    Parameters
    ----------
    centre : Series
        Mean z-score per indicator of the type's areas.
    n_terms : int
        How many indicators to name.
    label : callable, optional
        Column -> plain words (default: the column name with spaces).
    min_sd : float
        Indicators closer than this to the average are not named.

    Returns
    -------
    str
        E.g. ``"higher Gp walk min (+1.8 sd); lower Population (-0.9 sd)"``, or
        ``"close to the average on every indicator"``.
    """
    label = label or (lambda c: c.replace("_", " "))
    order = centre.abs().sort_values(ascending=False, kind="stable")
    parts = []
    for col in order.index[:n_terms]:
        z = float(centre[col])
        if abs(z) < min_sd:
            break
        parts.append(f"{'higher' if z > 0 else 'lower'} {label(col)} ({z:+.1f} sd)")
    return "; ".join(parts) if parts else "close to the average on every indicator"


def typology(frame: pd.DataFrame, columns: list[str], k: int | None = None,
             k_range: tuple[int, int] = (2, 8), random_state: int = 0,
             label: Callable[[str], str] | None = None, n_terms: int = 3) -> Typology:
    """K-means types of the areas in ``frame`` on ``columns``.

    Parameters
    ----------
    frame : DataFrame
        One row per area.
    columns : list of str
        Indicators to group on (numeric; missing values take the column median).
    k : int, optional
        Number of types; chosen by the best silhouette score in ``k_range`` when None.
    k_range : tuple of int
        Smallest and largest k tried (capped at the number of distinct areas - 1).
    random_state : int
        Seed of k-means (results are reproducible).
    label : callable, optional
        Column -> plain words for the descriptions.
    n_terms : int
        Indicators named per type.

    Returns
    -------
    Typology

    Raises
    ------
    ValueError
        With the fix, when there are too few areas or no usable column.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    cols = [c for c in columns if c in frame.columns]
    if not cols:
        raise ValueError("choose at least one indicator column present in the areas table")
    z = standardise(frame[cols])
    n_distinct = len(z.drop_duplicates())
    if n_distinct < 2:
        raise ValueError("the areas do not differ on these indicators; choose other indicators")

    def fit(kk: int) -> np.ndarray:
        return KMeans(n_clusters=kk, n_init=10, random_state=random_state).fit_predict(z.values)

    scores: dict[int, float] = {}
    if k is None:
        lo, hi = k_range[0], min(k_range[1], n_distinct - 1)
        if hi < lo:
            k = min(max(lo, 1), n_distinct)
            fits = {k: fit(k)}
        else:
            fits = {}
            for kk in range(max(lo, 2), hi + 1):
                fits[kk] = fit(kk)
                scores[kk] = float(silhouette_score(z.values, fits[kk]))
            k = max(scores, key=lambda kk: (scores[kk], -kk))
        raw = fits[k]
    else:
        if not 1 <= k <= n_distinct:
            raise ValueError(f"the number of types must be between 1 and {n_distinct} "
                             f"(the number of distinct areas), not {k}")
        raw = fit(k)
    # number the types by size (1 = largest), ties by first appearance
    codes = pd.Series(raw, index=frame.index)
    order = codes.value_counts(sort=False)
    first = {c: i for i, c in enumerate(pd.unique(raw))}
    ranked = sorted(order.index, key=lambda c: (-order[c], first[c]))
    relabel = {c: i + 1 for i, c in enumerate(ranked)}
    labels = codes.map(relabel).astype(int)
    centres = z.groupby(labels.values).mean()
    centres.index.name = "type"
    sizes = labels.value_counts().sort_index()
    descriptions = {int(t): describe_type(centres.loc[t], n_terms, label) for t in centres.index}
    log.info("typology: k=%d on %d indicators%s", k, len(cols),
             f" (silhouette {scores[k]:.3f})" if k in scores else "")
    return Typology(labels, int(k), scores, centres, sizes, descriptions)
