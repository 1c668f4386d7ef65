"""Agreement between a score and an independent area-level measure.

Used by ``socialrisk validate`` (``docs/method.md``, "Validation"): does the
ranking of areas by a score agree with a measure someone else published?

* Spearman's rank correlation over the areas with both values, with both sides
  oriented "higher = worse", so a positive rho always means agreement.
* A bootstrap 95 % percentile interval for rho, resampling areas (pairs) with
  replacement.
* Decile agreement: among the matched areas, each side's deciles by the
  Indices of Deprivation rule (rank 1 = worst, decile ``ceil(10 * rank / N)``,
  :func:`risk.index.deciles`); the share of areas whose two deciles differ by
  at most one, and the 10 x 10 table of counts.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from risk.index import deciles, risk_rank

log = logging.getLogger(__name__)

__all__ = ["agreement", "bootstrap_rho", "spearman"]


def _stats():
    """scipy.stats, imported on first use: 0.6 s that only ``socialrisk validate`` needs,
    not every start of the CLI (which imports this module for its sub-command)."""
    import scipy.stats

    return scipy.stats


#: at most this many resampled values are held in memory at once (chunks of the bootstrap)
_CHUNK_VALUES = 4_000_000


def _rho_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair of ``x`` and ``y`` (2-D); NaN where a row is constant."""
    stats = _stats()
    rx = stats.rankdata(x, axis=1)
    ry = stats.rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    num = (rx * ry).sum(axis=1)
    den = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman's rho and its two-sided p-value (NaN: fewer than 3 pairs, or a side constant)."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    res = _stats().spearmanr(x, y)
    return float(res.statistic), float(res.pvalue)


def bootstrap_rho(x: np.ndarray, y: np.ndarray, n_boot: int = 2000, seed: int = 0,
                  level: float = 0.95) -> tuple[float, float]:
    """Bootstrap percentile interval of Spearman's rho, resampling pairs with replacement.

    Vectorised in chunks (memory stays below ~100 MB for any number of areas).
    Resamples in which a side is constant (rho undefined) are left out.

    Returns
    -------
    (low, high) : float
        NaN when fewer than 3 pairs, ``n_boot`` < 1, or no resample defines rho.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    n = len(x)
    if n < 3 or n_boot < 1:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    step = max(1, _CHUNK_VALUES // n)
    rhos = []
    for start in range(0, n_boot, step):
        idx = rng.integers(0, n, size=(min(step, n_boot - start), n))
        rhos.append(_rho_rows(x[idx], y[idx]))
    r = np.concatenate(rhos)
    r = r[np.isfinite(r)]
    if not len(r):
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(r, [tail, 100.0 - tail])
    return float(low), float(high)


def agreement(score: pd.Series, measure: pd.Series, *, score_higher_is_worse: bool = True,
              measure_higher_is_worse: bool = True, n_boot: int = 2000,
              seed: int = 0) -> dict[str, Any]:
    """How far a score and an independent measure agree, area by area.

    Parameters
    ----------
    score, measure : Series
        Values per area, indexed by area id; matched on the index. Pairs with a
        missing value on either side are left out (counted in ``n_missing``).
    score_higher_is_worse, measure_higher_is_worse : bool
        Direction of each side. Both are oriented "higher = worse" before any
        statistic, so a positive rho means the two agree on which areas are worse.
    n_boot : int
        Bootstrap resamples for the interval of rho (0: no interval).
    seed : int
        Seed of the bootstrap (the result is reproducible).

    Returns
    -------
    dict
        ``n`` (matched pairs with both values), ``n_missing`` (index matches left
        out for a missing value), ``spearman_rho``, ``rho_ci95`` ([low, high]),
        ``p_value`` (two-sided, scipy's t approximation), ``decile_agreement_within_one``
        (share of the ``n`` areas whose deciles differ by at most one),
        ``decile_agreement_exact`` (same decile), ``decile_table`` (10 x 10 list of
        counts: row = the score's decile - 1, column = the measure's decile - 1;
        decile 1 = worst 10 % on each side, among the matched areas). Every
        number is NaN (the table all zeros) when ``n`` < 3.
    """
    s, m = score.align(measure, join="inner")
    s = pd.to_numeric(s, errors="coerce").astype("float64")
    m = pd.to_numeric(m, errors="coerce").astype("float64")
    both = s.notna() & m.notna() & np.isfinite(s) & np.isfinite(m)
    s = s[both] if score_higher_is_worse else -s[both]
    m = m[both] if measure_higher_is_worse else -m[both]
    n = int(both.sum())
    out: dict[str, Any] = {"n": n, "n_missing": int((~both).sum()),
                           "spearman_rho": float("nan"), "rho_ci95": [float("nan")] * 2,
                           "p_value": float("nan"), "decile_agreement_within_one": float("nan"),
                           "decile_agreement_exact": float("nan"),
                           "decile_table": [[0] * 10 for _ in range(10)]}
    if n < 3:
        log.info("agreement: %d pair(s) with both values; nothing computed", n)
        return out
    x, y = s.to_numpy(), m.to_numpy()
    rho, p = spearman(x, y)
    low, high = bootstrap_rho(x, y, n_boot=n_boot, seed=seed)
    ds = deciles(risk_rank(s)).to_numpy(dtype="int64")
    dm = deciles(risk_rank(m)).to_numpy(dtype="int64")
    table = np.zeros((10, 10), dtype="int64")
    np.add.at(table, (ds - 1, dm - 1), 1)
    out.update(spearman_rho=rho, rho_ci95=[low, high], p_value=p,
               decile_agreement_within_one=float(np.mean(np.abs(ds - dm) <= 1)),
               decile_agreement_exact=float(np.mean(ds == dm)),
               decile_table=table.tolist())
    return out
