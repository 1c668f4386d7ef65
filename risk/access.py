"""Access measures per origin, and their population-weighted summary per area.

Pure functions on arrays and tables; no file I/O. The inputs come from
:mod:`risk.engine`: a distance to the nearest amenity per origin
(``inf`` unreachable, ``NaN`` unsnapped) and a cost table of
(amenity, origin, cost) pairs within a cutoff.

Column names follow one scheme, built by :func:`access_columns`::

    <category>_nearest_m, <category>_walk_min, <category>_count_<t>m,
    <category>_share_beyond_<t>m, <category>_gravity, <category>_e2sfca,
    <category>_unreachable_share

Missing values
--------------
* An **unsnapped** origin (nearest distance NaN) is not measured: all its
  values are NaN and it is left out of every area summary.
* An **unreachable** origin (nearest distance inf) has ``nearest_m`` and
  ``walk_min`` = inf, counts 0 and gravity 0. In area summaries the weighted
  mean of a column is taken over origins where that column is finite, and the
  weighted share of measured origins with an infinite ``*nearest_m`` is
  reported as ``*unreachable_share``; :func:`share_beyond` counts them as
  beyond every threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from socialrisk.core.schema import (
    NEAREST_SUFFIX,
    UNREACHABLE_SUFFIX,
    AccessColumns,
    access_columns,
    walk_minutes,
)

__all__ = ["AccessColumns", "access_columns", "aggregate_to_areas", "origin_access",
           "share_beyond", "walk_minutes"]

log = logging.getLogger(__name__)

def origin_access(cost_nearest: np.ndarray, cost_table: pd.DataFrame,
                  thresholds: Sequence[float], speed_kmh: float,
                  decay: Callable | None = None, cutoff: float | None = None,
                  category: str = "") -> pd.DataFrame:
    """Access measures per origin.

    Parameters
    ----------
    cost_nearest : array of float, shape (n_origins,)
        Distance to the nearest amenity per origin (metres; inf unreachable,
        NaN unsnapped), e.g. from :func:`~risk.engine.nearest_distance`.
    cost_table : DataFrame
        Pairs with columns ``target`` (origin position, 0 .. n_origins-1) and
        ``cost`` (metres), e.g. from :func:`~risk.engine.distances_within`
        with the amenities as sources. Must cover at least ``max(thresholds)``
        (and ``cutoff``).
    thresholds : sequence of float
        Distances in metres for the counts.
    speed_kmh : float
        Walking speed for ``walk_min``.
    decay : callable, optional
        Decay function for the gravity sum (see :mod:`risk.decay`);
        no gravity column when None.
    cutoff : float, optional
        Gravity sums over amenities with ``cost <= cutoff``; all pairs in the
        table when None.
    category : str
        Column prefix (see :func:`access_columns`).

    Returns
    -------
    DataFrame, index 0 .. n_origins-1
        ``nearest_m``, ``walk_min``, ``count_<t>m`` per threshold (float, to
        hold NaN) and ``gravity`` = sum of ``decay(cost)``.
    """
    nearest = np.asarray(cost_nearest, dtype=np.float64)
    n = nearest.shape[0]
    cols = access_columns(category, thresholds)
    target = cost_table["target"].to_numpy(np.int64)
    cost = cost_table["cost"].to_numpy(np.float64)
    if target.size and (target.min() < 0 or target.max() >= n):
        raise ValueError("cost_table targets must be origin positions 0 .. len(cost_nearest)-1")
    unsnapped = np.isnan(nearest)
    out = {cols.nearest: nearest, cols.walk_min: walk_minutes(nearest, speed_kmh)}
    for t, name in cols.count.items():
        m = cost <= t
        out[name] = np.bincount(target[m], minlength=n).astype(np.float64)
    if decay is not None:
        m = np.isfinite(cost) if cutoff is None else cost <= cutoff
        out[cols.gravity] = np.bincount(target[m], weights=np.asarray(decay(cost[m]), float),
                                        minlength=n).astype(np.float64)
    df = pd.DataFrame(out)
    df.loc[unsnapped, :] = np.nan
    return df


def _groups(area, weight, n: int) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    area = np.asarray(area)
    weight = np.asarray(weight, dtype=np.float64)
    if area.shape != (n,) or weight.shape != (n,):
        raise ValueError("area and weight must have one value per origin")
    if np.any(weight < 0) or np.any(~np.isfinite(weight)):
        raise ValueError("weights must be finite and >= 0")
    codes, uniques = pd.factorize(area, sort=True)
    return codes, pd.Index(uniques, name="area"), weight


def _wsum(codes, values, k) -> np.ndarray:
    ok = codes >= 0
    return np.bincount(codes[ok], weights=values[ok], minlength=k)


def aggregate_to_areas(values: pd.DataFrame, area, weight) -> pd.DataFrame:
    """Weighted mean of every per-origin column, per area.

    Parameters
    ----------
    values : DataFrame
        One row per origin (e.g. from :func:`origin_access`, possibly several
        categories side by side).
    area : array-like, shape (n_origins,)
        Area id of each origin (origins with a missing id are ignored).
    weight : array-like of float, shape (n_origins,)
        Population (or building) weight of each origin, >= 0.

    Returns
    -------
    DataFrame indexed by area id (sorted)
        For each column: the weighted mean over the area's origins where the
        value is finite (NaN when there are none or their weights sum to 0).
        For each ``*nearest_m`` column also ``*unreachable_share``: the weighted
        share of measured (non-NaN) origins whose distance is infinite. Plus
        ``n_origins`` and ``origin_weight`` (all origins of the area).
    """
    n = len(values)
    codes, index, w = _groups(area, weight, n)
    k = index.size
    out: dict[str, np.ndarray] = {}
    for col in values.columns:
        x = values[col].to_numpy(np.float64)
        fin = np.isfinite(x)
        wf = np.where(fin, w, 0.0)
        num = _wsum(codes, np.where(fin, x, 0.0) * wf, k)
        den = _wsum(codes, wf, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[col] = np.where(den > 0, num / den, np.nan)
        if str(col).endswith(NEAREST_SUFFIX):
            measured = ~np.isnan(x)
            wm = np.where(measured, w, 0.0)
            inf_w = _wsum(codes, np.where(np.isinf(x), wm, 0.0), k)
            tot = _wsum(codes, wm, k)
            name = str(col)[: -len(NEAREST_SUFFIX)] + UNREACHABLE_SUFFIX
            with np.errstate(invalid="ignore", divide="ignore"):
                out[name] = np.where(tot > 0, inf_w / tot, np.nan)
    out["n_origins"] = np.bincount(codes[codes >= 0], minlength=k).astype(np.int64)
    out["origin_weight"] = _wsum(codes, w, k)
    return pd.DataFrame(out, index=index)


def share_beyond(dist, threshold: float, area, weight) -> pd.Series:
    """Weighted share of people farther than ``threshold`` metres, per area.

    Parameters
    ----------
    dist : array of float, shape (n_origins,)
        Distance per origin (inf = unreachable, counted as beyond; NaN =
        unsnapped, left out).
    threshold : float
        Metres; a distance exactly at the threshold is not beyond it.
    area, weight : array-like, shape (n_origins,)
        Area id and weight (population) of each origin.

    Returns
    -------
    Series indexed by area id (sorted)
        In [0, 1]; NaN for an area with no measured weight.
    """
    d = np.asarray(dist, dtype=np.float64)
    codes, index, w = _groups(area, weight, d.shape[0])
    measured = ~np.isnan(d)
    wm = np.where(measured, w, 0.0)
    beyond = _wsum(codes, np.where(measured & (d > threshold), w, 0.0), index.size)
    tot = _wsum(codes, wm, index.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(tot > 0, beyond / tot, np.nan)
    return pd.Series(share, index=index, name=f"share_beyond_{float(threshold):g}m")
