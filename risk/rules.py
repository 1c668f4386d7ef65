"""The access rules a run applies, with their parameters passed explicitly.

* :class:`AccessParams`: every number the access measures depend on (speeds,
  thresholds, decay, catchment, search limit); :meth:`AccessParams.cutoff` is
  the largest distance the pair tables must cover.
* :func:`category_origin_access`: one category's per-origin columns (nearest,
  minutes at both speeds, counts, gravity, E2SFCA).
* :func:`areas_from_origin_access`: per-origin columns to areas, weighted by
  population (or building weight when there is no population).
* :func:`supply_from_capacity`: the E2SFCA supply policy.
* :func:`unreachable_at_limit`: the index's view of people who cannot reach a
  service (they count at the search limit).

Pure functions on arrays and tables, no I/O; the pipeline, the what-if and the
site screening all call these, so the three agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from risk.access import aggregate_to_areas, origin_access, share_beyond
from risk.decay import make_decay
from risk.fca import e2sfca
from socialrisk.core import schema


@dataclass(frozen=True)
class AccessParams:
    """The parameters of the access measures (defaults in :mod:`socialrisk.core.schema`)."""

    walk_speed_kmh: float = schema.WALK_SPEED_KMH
    slow_walk_speed_kmh: float = schema.SLOW_WALK_SPEED_KMH
    thresholds_m: Sequence[float] = field(default=schema.THRESHOLDS_M)
    beyond_threshold_m: float = schema.BEYOND_M
    decay: str = "gaussian"
    decay_scale_m: float = schema.DECAY_SCALE_M
    catchment_m: float = schema.CATCHMENT_M
    max_distance_m: float = schema.MAX_DISTANCE_M

    def cutoff(self) -> float:
        """Largest network distance the pair tables cover (counts, gravity, E2SFCA catchment).

        Examples
        --------
        >>> AccessParams(thresholds_m=(400.0, 800.0), catchment_m=1600.0).cutoff()
        1600.0
        """
        return float(max(max(self.thresholds_m), self.catchment_m))

    def columns(self, category: str) -> schema.AccessColumns:
        """The output column names of ``category`` under these thresholds."""
        return schema.access_columns(category, self.thresholds_m, [self.beyond_threshold_m])


def category_origin_access(category: str, dist: np.ndarray, pairs: pd.DataFrame,
                           params: AccessParams, pop: np.ndarray,
                           supply: pd.Series | None = None) -> pd.DataFrame:
    """One category's per-origin columns from its nearest distances and cost pairs.

    Parameters
    ----------
    category : str
    dist : ndarray
        Nearest distance per origin (:func:`risk.engine.nearest_distance`).
    pairs : DataFrame
        Amenity/origin pairs within :meth:`AccessParams.cutoff`
        (:func:`risk.engine.distances_within`): ``source``, ``target``, ``cost``.
    params : AccessParams
    pop : ndarray
        Population per origin (the E2SFCA demand).
    supply : Series, optional
        Supply per snapped amenity item (:func:`supply_from_capacity`); no
        E2SFCA column when None.

    Returns
    -------
    DataFrame, one row per origin
    """
    decay = make_decay(params.decay, params.decay_scale_m)
    cols = params.columns(category)
    oa = origin_access(dist, pairs, params.thresholds_m, params.walk_speed_kmh, decay,
                       cutoff=params.cutoff(), category=category)
    oa[cols.walk_min_slow] = schema.walk_minutes(dist, params.slow_walk_speed_kmh)
    if supply is not None:
        cost = pairs.rename(columns={"source": "supply", "target": "demand"})
        oa[cols.e2sfca] = 1000.0 * e2sfca(pd.Series(pop), supply, cost, decay,
                                          params.catchment_m).to_numpy()
    return oa


def areas_from_origin_access(values: pd.DataFrame, dists: dict[str, np.ndarray],
                             area: np.ndarray, weight: np.ndarray,
                             params: AccessParams) -> pd.DataFrame:
    """Per-origin access (one row per origin) to areas, weighted by ``weight``.

    Parameters
    ----------
    values : DataFrame
        Per-origin columns of one or more categories side by side.
    dists : dict of str to ndarray
        Nearest distance per origin, per category (for the share beyond
        ``params.beyond_threshold_m``).
    area, weight : ndarray
        Area id and weight (population, else building weight) of each origin.
    params : AccessParams

    Returns
    -------
    DataFrame indexed by area id
    """
    if not dists:
        return pd.DataFrame(index=pd.Index(pd.unique(area), name="area_id"))
    beyond = float(params.beyond_threshold_m)
    per_area = [share_beyond(d, beyond, area, weight)
                .rename(params.columns(cat).share_beyond[beyond]) for cat, d in dists.items()]
    agg = aggregate_to_areas(values, area, weight)
    return pd.concat([agg, *per_area], axis=1)


def supply_from_capacity(capacity: np.ndarray, snapped: np.ndarray) -> tuple[pd.Series, dict]:
    """Capacity per snapped amenity for E2SFCA, and how it was obtained.

    When at least half of the category's amenities carry a numeric capacity,
    untagged ones get the median of the tagged ones; otherwise capacity is not
    usable and every facility counts once (supply = 1).

    Parameters
    ----------
    capacity : ndarray of float
        Capacity per amenity of the category (NaN when untagged).
    snapped : ndarray of bool
        Whether each amenity is on the network.

    Returns
    -------
    supply : Series
        Indexed by snapped item position (0 .. n-1 over the category's amenities).
    note : dict
        For the manifest.

    Examples
    --------
    >>> s, note = supply_from_capacity(np.array([10.0, np.nan, 30.0]), np.array([1, 1, 1], bool))
    >>> s.tolist(), note["supply"]
    ([10.0, 20.0, 30.0], 'capacity')
    """
    cap = np.asarray(capacity, dtype=float)[np.asarray(snapped, bool)]
    known = np.isfinite(cap) & (cap > 0)
    items = np.flatnonzero(snapped)
    if known.size and known.mean() >= 0.5:
        fill = float(np.median(cap[known]))
        supply = np.where(known, cap, fill)
        note = {"supply": "capacity", "tagged": int(known.sum()),
                "filled_with_median": int((~known).sum()), "median": fill}
    else:
        supply = np.ones(items.size)
        note = {"supply": "1 per facility", "tagged": int(known.sum()),
                "reason": "capacity tagged on fewer than half of the facilities"}
    return pd.Series(supply, index=items), note


def unreachable_at_limit(table: pd.DataFrame, categories: Iterable[str],
                         max_distance_m: float) -> pd.DataFrame:
    """The index's view of the table: unreachable people count at the search limit.

    ``<cat>_nearest_m`` is the mean over people who can reach an amenity; for
    ranking, people who cannot (``<cat>_unreachable_share``) count as
    ``max_distance_m`` away, so an area cut off from a service never looks
    better than one that can reach it.

    Examples
    --------
    >>> t = pd.DataFrame({"gp_nearest_m": [500.0], "gp_unreachable_share": [0.5]})
    >>> unreachable_at_limit(t, ["gp"], 20000.0)["gp_nearest_m"].tolist()
    [10250.0]
    """
    t = table.copy()
    for cat in categories:
        near, unr = schema.nearest_column(cat), f"{cat}_{schema.UNREACHABLE_SUFFIX}"
        if near in t.columns and unr in t.columns:
            u = t[unr].to_numpy(dtype=float)
            d = t[near].to_numpy(dtype=float)
            mixed = np.where(u > 0, np.nan_to_num(d) * (1 - u) + max_distance_m * u, d)
            t[near] = np.where(np.isnan(u), d, mixed)
    return t
