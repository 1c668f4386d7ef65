"""Two-step floating catchment area (2SFCA) access, with distance decay (E2SFCA).

The table contract follows PySAL ``access``: a demand Series (location ->
population), a supply Series (location -> capacity) and a cost table with one
row per (demand location, supply location) pair.

For demand locations ``i`` and supply locations ``j`` with cost ``d_ij <=
max_cost`` and weight ``w_ij = decay(d_ij)``::

    R_j = S_j / sum_k P_k w_kj          (supply per weighted head)
    A_i = sum_j R_j w_ij                (access of location i)

(Luo & Wang 2003 for the step weight; Luo & Qi 2009 for zone weights.)

Undefined values
----------------
* A demand location with no supply within ``max_cost`` (or absent from the
  cost table) has access 0: nothing can be reached.
* A supply location whose weighted demand is 0 (only zero-population locations
  reach it) has an undefined ratio ``R_j``; a demand location that reaches
  such a supply with ``w_ij > 0`` gets access NaN. PySAL ``access`` returns
  ``inf`` there.
* Pairs with ``w_ij = 0`` contribute nothing in either step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

from risk.decay import step

log = logging.getLogger(__name__)


def _check_values(s: pd.Series, name: str) -> np.ndarray:
    v = s.to_numpy(np.float64)
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"{name} values must be finite and >= 0 (fill missing values first)")
    if not s.index.is_unique:
        raise ValueError(f"{name} index (locations) must be unique")
    return v


def e2sfca(demand: pd.Series, supply: pd.Series, cost: pd.DataFrame,
           decay: Callable, max_cost: float, demand_col: str = "demand",
           supply_col: str = "supply", cost_col: str = "cost") -> pd.Series:
    """Enhanced two-step floating catchment area access.

    Parameters
    ----------
    demand : Series
        Population (demand) per demand location (index = location id).
    supply : Series
        Capacity per supply location (index = location id); use 1 per amenity
        to count amenities.
    cost : DataFrame
        Columns ``demand_col``, ``supply_col``, ``cost_col``: travel cost
        between demand and supply locations. Rows with locations not in
        ``demand``/``supply`` are ignored; missing pairs are beyond reach.
    decay : callable
        Weight of a cost, ``decay(0) == 1`` (see :mod:`risk.decay`).
    max_cost : float
        Catchment size: pairs with ``cost <= max_cost`` count.

    Returns
    -------
    Series
        Access per demand location, aligned to ``demand.index`` (supply per
        head, weighted); 0 when nothing is in reach, NaN where undefined (see
        module notes).
    """
    P = _check_values(demand, "demand")
    S = _check_values(supply, "supply")
    di = demand.index.get_indexer(cost[demand_col])
    sj = supply.index.get_indexer(cost[supply_col])
    c = cost[cost_col].to_numpy(np.float64)
    ok = (di >= 0) & (sj >= 0) & (c <= max_cost)
    if (~((di >= 0) & (sj >= 0))).any():
        log.debug("e2sfca: %d cost rows name unknown locations (ignored)",
                  int((~((di >= 0) & (sj >= 0))).sum()))
    di, sj, c = di[ok], sj[ok], c[ok]
    w = np.asarray(decay(c), dtype=np.float64)
    pos = w > 0
    di, sj, w = di[pos], sj[pos], w[pos]
    weighted_demand = np.bincount(sj, weights=P[di] * w, minlength=S.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(weighted_demand > 0, S / weighted_demand, np.nan)
    access = np.bincount(di, weights=ratio[sj] * w, minlength=P.size)
    n_undef = int(np.isnan(access).sum())
    if n_undef:
        log.info("e2sfca: %d demand locations reach supply with no weighted demand (NaN)",
                 n_undef)
    return pd.Series(access, index=demand.index, name="e2sfca")


def two_sfca(demand: pd.Series, supply: pd.Series, cost: pd.DataFrame, max_cost: float,
             **columns: str) -> pd.Series:
    """Classic 2SFCA (Luo & Wang 2003): :func:`e2sfca` with a step weight at ``max_cost``."""
    out = e2sfca(demand, supply, cost, step(max_cost), max_cost, **columns)
    return out.rename("2sfca")
