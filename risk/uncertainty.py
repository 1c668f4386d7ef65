"""How sure are we: Monte Carlo rank intervals of a risk index.

A composite index rests on choices a reasonable analyst could have made
differently: the domain and indicator weights, the normalisation method, the
walking time beyond which "farther" no longer matters. :func:`monte_carlo`
redraws those choices ``n`` times within stated ranges
(:class:`UncertaintyRanges`), recomputes every area's rank each time exactly as
:func:`risk.index.isolation_index` does, and reports per area the 5th and 95th
percentiles of its rank, the share of draws in which it is in decile 1 and
whether that share is at least 90 % ("robustly at risk"). This is the
uncertainty analysis of Saisana, Saltelli & Tarantola (2005), *Uncertainty and
sensitivity analysis techniques as tools for the quality assessment of
composite indicators*, JRSS A 168(2), 307-323, and of the OECD/JRC *Handbook on
Constructing Composite Indicators* (2008), step 7. :mod:`risk.sensitivity` says
which of the choices moves the ranking most (Sobol indices).

One draw multiplies every domain and indicator weight by its own U[1 - r,
1 + r] factor (weights stay relative and are renormalised per area over the
indicators the area has, as in the point estimate; nothing is imputed), draws
a normalisation method, and a walking limit L = T minutes x v km/h: distances
to the nearest amenity (``*_nearest_m``) are capped at L metres and walking
times (``*_walk_min``, ``*_walk_min_slow``, in the unit they were computed in)
at T minutes, since beyond a walk of T minutes farther is no worse: out of
walking reach either way. Walking speed alone cannot move a rank (it divides
every area's distance by the same number, which no normalisation notices); it
acts only through L. ``docs/method.md`` ("How sure are we") gives the details.

With every range zero (:func:`zero_ranges`) every draw reproduces the point
ranks exactly: the weighted means are :func:`risk.index.weighted_mean_columns`,
the one function the index uses, and :func:`normalise_rows` gives the same
numbers bit for bit as :func:`risk.normalise.normalise`
(``tests/test_uncertainty.py`` checks both).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from risk.index import DomainSpec, isolation_index, weighted_mean_columns
from risk.normalise import exp_transform, normalise
from risk.ranges import UncertaintyRanges, zero_ranges
from socialrisk.core.errors import ConfigError, InputError, shown
from socialrisk.core.schema import NEAREST_SUFFIX, SLOW_SUFFIX, WALK_MIN_SUFFIX

logger = logging.getLogger(__name__)

__all__ = ["ROBUST_SHARE", "Factor", "UncertaintyRanges", "UncertaintyResult", "factors",
           "monte_carlo", "normalise_rows", "rank_rows", "zero_ranges"]

#: an area is "robustly at risk" when it is in decile 1 in at least this share of draws
ROBUST_SHARE = 0.9


@dataclass(frozen=True)
class UncertaintyResult:
    """Result of :func:`monte_carlo`.

    Attributes
    ----------
    frame : DataFrame
        Aligned to the input index: ``<name>_rank_p05``, ``<name>_rank_p95``
        (Int64; 5th and 95th percentiles of the area's rank over the draws, 1
        = highest risk), ``<name>_p_top_decile`` (share of draws in decile 1)
        and ``<name>_robust`` (bool, share >= 0.9). Missing for areas without
        a score.
    draws : ndarray
        float32, ``(n, areas)``: the area's rank in every draw (NaN where the
        area has no score), columns in the order of ``frame.index``.
    report : dict
        JSON-serialisable: n, seed, ranges, factors, timings, counts.
    """

    frame: pd.DataFrame
    draws: np.ndarray = field(repr=False)
    report: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- the batched scoring


def _cap_kind(column: str) -> str | None:
    """``"m"`` for distances capped at L metres, ``"min"`` for times capped at T minutes."""
    if column.endswith(NEAREST_SUFFIX):
        return "m"
    if column.endswith(WALK_MIN_SUFFIX) or column.endswith(SLOW_SUFFIX):
        return "min"
    return None


def normalise_rows(a: np.ndarray, method: str) -> np.ndarray:
    """:func:`risk.normalise.normalise` of every row of ``a`` at once (higher = worse).

    ``a`` is ``(draws, areas)`` without NaN (missing areas are left out by the
    caller). The numbers are the same, bit for bit, as the Series function's.
    """
    n = a.shape[-1]
    if n == 0:
        return a.astype("float64")
    if method == "rank_exp":  # average ranks, 1 = lowest, as pandas' rank(method="average")
        first, last = _tie_bounds(a)
        return exp_transform(((first + last) / 2 + 1) / n)
    if not np.isfinite(a).all():
        raise InputError("a walking distance or time has infinite values; replace them with "
                         "a finite cap (e.g. the search limit) or NaN, or keep a walking "
                         "limit in the uncertainty ranges")
    big = np.abs(a).max(axis=-1, keepdims=True)
    with np.errstate(over="ignore"):
        huge = ~(np.isfinite(a.max(axis=-1, keepdims=True) - a.min(axis=-1, keepdims=True))
                 & np.isfinite(big * big * n))
    if huge.any():  # as risk.normalise._rescaled: scale by the largest magnitude first
        a = np.where(huge, a / np.where(huge, big, 1.0), a)
    if method == "zscore":
        mean = a.sum(axis=-1, keepdims=True) / n
        sd = np.sqrt(((mean - a) ** 2).sum(axis=-1, keepdims=True) / n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sd == 0.0, a - mean, (a - mean) / sd)
    lo = a.min(axis=-1, keepdims=True)
    hi = a.max(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi == lo, 50.0, 100.0 * (a - lo) / (hi - lo))


def _normalise_masked(a: np.ndarray, valid: np.ndarray, method: str) -> np.ndarray:
    """:func:`normalise_rows` over the ``valid`` areas; NaN elsewhere."""
    out = np.full(a.shape, np.nan)
    out[:, valid] = normalise_rows(a[:, valid], method)
    return out


def _tie_bounds(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every cell of ``a`` (``(B, n)``, no NaN): the first and last 0-based position
    of its value in its row sorted ascending (equal values form one group)."""
    b, n = a.shape
    order = np.argsort(a, axis=1)
    ordered = np.take_along_axis(a, order, axis=1)
    pos = np.arange(n)
    new = np.ones((b, n), dtype=bool)
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=new[:, 1:])
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    ends = np.ones((b, n), dtype=bool)
    ends[:, :-1] = new[:, 1:]
    end = np.minimum.accumulate(np.where(ends, pos, n)[:, ::-1], axis=1)[:, ::-1]
    first, last = np.empty_like(start), np.empty_like(end)
    np.put_along_axis(first, order, start, axis=1)
    np.put_along_axis(last, order, end, axis=1)
    return first, last


def rank_rows(risk: np.ndarray) -> np.ndarray:
    """Ranks of every row, 1 = highest, ties share the smallest rank (as ``risk_rank``)."""
    _, last = _tie_bounds(risk)
    return (risk.shape[1] - last).astype(np.int32)  # 1 + number of higher values


@dataclass
class _Model:
    """Everything a draw needs, prepared once."""

    index: pd.Index
    domains: list[str]
    domain_weights: np.ndarray                 # (K,)
    columns: list[list[str]]                   # per domain, its indicators used
    indicator_weights: list[np.ndarray]        # per domain, (J_d,)
    directions: dict[str, str]
    methods: tuple[str, ...]                   # drawn methods; index = factor value
    domain_normalisation: str | None           # fixed, or None = the drawn method
    capped: dict[str, str]                     # column -> "m" / "min"
    raw: dict[str, np.ndarray]                 # capped columns, raw values (N,)
    pre: dict[str, dict[str, np.ndarray]]      # method -> column -> normalised (N,)
    domain_valid: list[np.ndarray]             # per domain, areas with a domain score
    valid: np.ndarray                          # areas with a risk score
    point_rank: np.ndarray                     # (n_valid,) ranks of the point estimate
    index_report: dict[str, Any]
    single: dict[tuple[str, str, int], np.ndarray] = field(default_factory=dict)

    @property
    def n_indicators(self) -> int:
        return sum(len(c) for c in self.columns)


@dataclass
class _Factors:
    """The choices of a batch of draws (B = number of draws)."""

    domain: np.ndarray      # (B, K) multipliers of the domain weights
    indicator: np.ndarray   # (B, J) multipliers of the indicator weights (domain order)
    method: np.ndarray      # (B,) index into _Model.methods
    limit_min: np.ndarray   # (B,) walking limit T in minutes; NaN = no cap
    speed_kmh: np.ndarray   # (B,) walking speed v

    def take(self, sel: np.ndarray) -> _Factors:
        return _Factors(self.domain[sel], self.indicator[sel], self.method[sel],
                        self.limit_min[sel], self.speed_kmh[sel])

    def __len__(self) -> int:
        return len(self.method)


def prepare(table: pd.DataFrame, domains: Mapping[str, DomainSpec], normalisation: str,
            methods: Sequence[str], *, domain_normalisation: str | None = None,
            cap: bool = True) -> _Model:
    """Check the index once (as :func:`isolation_index`) and precompute what draws share."""
    point = isolation_index(table, domains, normalisation, n_drivers=0,
                            domain_normalisation=domain_normalisation)
    rep = point.report
    used = list(rep["domains_used"])
    dn = domain_normalisation if domain_normalisation not in (None, normalisation) else None
    all_methods = tuple(dict.fromkeys([*methods, normalisation]))
    columns = [list(rep["domains"][d]["indicators_used"]) for d in used]
    weights = {i.column: float(i.weight) for d in used for i in domains[d].indicators}
    directions = {i.column: i.direction for d in used for i in domains[d].indicators}
    flat = [c for cols in columns for c in cols]
    capped = {c: k for c in flat if cap and (k := _cap_kind(c))}
    raw = {c: pd.to_numeric(table[c]).to_numpy(dtype="float64") for c in capped}
    pre = {m: {c: normalise(table[c], m, directions[c]).to_numpy(dtype="float64")
               for c in flat if c not in capped} for m in all_methods}
    present = {c: table[c].notna().to_numpy() for c in flat}
    domain_valid = [np.logical_or.reduce([present[c] for c in cols]) for cols in columns]
    risk = point.frame["isolation_risk"].to_numpy(dtype="float64")
    valid = ~np.isnan(risk)
    rank = point.frame["isolation_risk_rank"].to_numpy(dtype="float64", na_value=np.nan)
    return _Model(
        index=table.index, domains=used,
        domain_weights=np.array([float(domains[d].weight) for d in used]),
        columns=columns,
        indicator_weights=[np.array([weights[c] for c in cols]) for cols in columns],
        directions=directions, methods=all_methods, domain_normalisation=dn,
        capped=capped, raw=raw, pre=pre, domain_valid=domain_valid, valid=valid,
        point_rank=rank[valid].astype(np.int32), index_report=rep)


def _capped_column(model: _Model, column: str, f: _Factors, method: str) -> np.ndarray:
    """A capped column normalised per draw, ``(B, N)``; uncapped draws (NaN T) as given."""
    x = model.raw[column]
    limit = f.limit_min if model.capped[column] == "min" else \
        f.limit_min * f.speed_kmh * 1000.0 / 60.0
    lim = np.where(np.isnan(limit), np.inf, limit)[:, None]
    a = np.minimum(x[None, :], lim)  # NaN stays NaN
    if model.directions[column] == "lower_is_worse":
        a = -a
    return _normalise_masked(a, ~np.isnan(x), method)


def _ranks_one_method(model: _Model, f: _Factors, method: str) -> np.ndarray:
    """Ranks ``(B, n_valid)`` of a batch whose draws all use ``method``."""
    dmethod = model.domain_normalisation or method
    scores, dweights = [], []
    j = 0
    for k, cols in enumerate(model.columns):
        vals, ws = [], []
        for c, w in zip(cols, model.indicator_weights[k], strict=True):
            if c in model.capped:
                vals.append(_capped_column(model, c, f, method))
            else:
                vals.append(model.pre[method][c])
            ws.append(w * f.indicator[:, j][:, None])
            j += 1
        if len(cols) == 1 and cols[0] not in model.capped:
            # one indicator: the domain score is the indicator's (w x / w = x exactly)
            key = (method, dmethod, k)
            if key not in model.single:
                model.single[key] = _normalise_masked(
                    vals[0][None, :], model.domain_valid[k], dmethod)[0]
            scores.append(model.single[key])
        else:
            raw, _ = weighted_mean_columns(vals, ws, with_applied=False)
            raw = np.broadcast_to(raw, (len(f), len(model.index)))
            scores.append(_normalise_masked(raw, model.domain_valid[k], dmethod))
        dweights.append(model.domain_weights[k] * f.domain[:, k][:, None])
    risk, _ = weighted_mean_columns(scores, dweights, with_applied=False)
    return rank_rows(risk[:, model.valid])


def evaluate(model: _Model, f: _Factors) -> np.ndarray:
    """Ranks of the scored areas for every draw of ``f``: int32 ``(B, n_valid)``."""
    out = np.empty((len(f), int(model.valid.sum())), dtype=np.int32)
    for mi in np.unique(f.method):
        method = model.methods[int(mi)]
        sel = np.flatnonzero(f.method == mi)
        out[sel] = _ranks_one_method(model, f.take(sel), method)
    return out


@dataclass(frozen=True)
class Factor:
    """One uncertain choice (a group of inputs varied together in the sensitivity analysis).

    ``kind``: ``"domain"`` (multiplier of the weight of domain ``positions[0]``),
    ``"indicator"`` (independent multipliers of the indicator weights at
    ``positions``), ``"normalisation"`` (U(0, 1) mapped to the methods in equal
    bins), ``"limit"`` (walking limit T, minutes) or ``"speed"`` (km/h).
    """

    group: str
    kind: str
    low: float
    high: float
    positions: tuple[int, ...] = ()


def factors(model: _Model, ranges: UncertaintyRanges) -> list[Factor]:
    """The factors the ranges let vary, in a fixed order; choices that cannot act are out.

    Out: a weight group with r = 0, a domain of weight 0, the normalisation when
    one method is given, the walking limit when it is off or fixed or no
    indicator is a walking distance or time, the speed when its range is
    empty or no indicator is a distance.
    """
    out: list[Factor] = []
    for k, (d, w) in enumerate(zip(model.domains, model.domain_weights, strict=True)):
        r = ranges.range_of(f"weight: {d}")
        if r > 0 and w > 0:
            out.append(Factor(f"weight: {d}", "domain", 1 - r, 1 + r, (k,)))
    j = 0
    for d, cols in zip(model.domains, model.columns, strict=True):
        r = ranges.range_of(f"indicator weights: {d}")
        if r > 0:
            out.append(Factor(f"indicator weights: {d}", "indicator", 1 - r, 1 + r,
                              tuple(range(j, j + len(cols)))))
        j += len(cols)
    if len(ranges.normalisations) > 1:
        out.append(Factor("normalisation", "normalisation", 0.0, 1.0))
    if ranges.walk_limit_min is not None and model.capped:
        lo, hi = ranges.walk_limit_min
        if hi > lo:  # above hi: no cap (the point estimate's choice), see no_limit_share
            top = hi + (hi - lo) * ranges.no_limit_share / (1 - ranges.no_limit_share)
            out.append(Factor("walking limit (minutes)", "limit", float(lo), float(top)))
        slo, shi = ranges.walk_speed_kmh
        if shi > slo and "m" in model.capped.values():
            out.append(Factor("walking speed", "speed", float(slo), float(shi)))
    return out


def _describe(model: _Model, ranges: UncertaintyRanges, fs: list[Factor]) -> dict[str, Any]:
    """The factors for the report: what each varies and within which range."""
    out: dict[str, Any] = {}
    for f in fs:
        if f.kind == "domain":
            w = float(model.domain_weights[f.positions[0]])
            out[f.group] = {"multiplier": [f.low, f.high], "weight": [w * f.low, w * f.high]}
        elif f.kind == "indicator":
            flat = [c for cols in model.columns for c in cols]
            out[f.group] = {"multiplier": [f.low, f.high],
                            "columns": [flat[i] for i in f.positions]}
        elif f.kind == "normalisation":
            out[f.group] = list(ranges.normalisations)
        else:
            out[f.group] = [f.low, f.high]
    return out


def base_factors(model: _Model, ranges: UncertaintyRanges, n: int) -> _Factors:
    """``n`` draws with every factor at its fixed value (multipliers 1, the first method,
    the low ends of the walking ranges, no cap when the limit is off)."""
    limit = np.nan if ranges.walk_limit_min is None else float(ranges.walk_limit_min[0])
    return _Factors(np.ones((n, len(model.domains))), np.ones((n, model.n_indicators)),
                    np.full(n, model.methods.index(ranges.normalisations[0])),
                    np.full(n, limit), np.full(n, float(ranges.walk_speed_kmh[0])))


def set_factor(f: _Factors, factor: Factor, values: np.ndarray,
               model: _Model, ranges: UncertaintyRanges) -> None:
    """Put ``values`` (``(B,)``, or ``(B, len(positions))`` for indicator weights) into
    ``f``; a normalisation value in [0, 1] picks a method by equal bins."""
    if factor.kind == "domain":
        f.domain[:, factor.positions[0]] = values
    elif factor.kind == "indicator":
        f.indicator[:, list(factor.positions)] = values
    elif factor.kind == "normalisation":
        m = len(ranges.normalisations)
        idx = np.array([model.methods.index(x) for x in ranges.normalisations])
        f.method = idx[np.clip(np.floor(values * m).astype(int), 0, m - 1)]
    elif factor.kind == "limit":
        t = np.asarray(values, dtype="float64")
        hi = float(ranges.walk_limit_min[1]) if ranges.walk_limit_min else np.inf
        f.limit_min = np.where(t > hi, np.nan, t)
    else:
        f.speed_kmh = np.asarray(values, dtype="float64")


def _draw(model: _Model, ranges: UncertaintyRanges, fs: list[Factor], n: int,
          seed: int) -> _Factors:
    rng = np.random.default_rng(seed)
    f = base_factors(model, ranges, n)
    for factor in fs:
        shape = (n, len(factor.positions)) if factor.kind == "indicator" else (n,)
        set_factor(f, factor, rng.uniform(factor.low, factor.high, shape), model, ranges)
    return f


def check_groups(model: _Model, ranges: UncertaintyRanges) -> None:
    """Refuse ``weight_ranges`` keys that name no weight group of the index."""
    known = [f"{p}{d}" for d in model.domains for p in ("weight: ", "indicator weights: ")]
    bad = [k for k in (ranges.weight_ranges or {}) if k not in known]
    if bad:
        raise ConfigError(f"uncertainty weight_ranges: {shown(bad[0])} is not a weight group "
                          f"of this index; use one of {', '.join(known)}")


def _percentiles(ranks: np.ndarray, qs: Sequence[int]) -> list[np.ndarray]:
    """The ``q``-th percentiles of every column of ``ranks`` (sorted in place): the
    smallest rank with at least q % of the draws at or below it (numpy's
    ``inverted_cdf``: always a rank that occurred)."""
    n = len(ranks)
    ks = [max(1, -(-n * q // 100)) - 1 for q in qs]  # ceil(n q / 100), 0-based
    ranks.partition(sorted(set(ks)), axis=0)
    return [ranks[k].astype("float64") for k in ks]


def monte_carlo(table: pd.DataFrame, domains: Mapping[str, DomainSpec], *,
                normalisation: str = "rank_exp", n: int = 1000,
                ranges: UncertaintyRanges | None = None, seed: int = 0,
                name: str = "isolation_risk", domain_normalisation: str | None = None,
                batch_size: int = 50, quiet: bool = True) -> UncertaintyResult:
    """Rank intervals and the share of draws in the top decile, per area.

    Parameters
    ----------
    table, domains, normalisation, domain_normalisation
        Exactly as given to :func:`risk.index.isolation_index` for the point
        estimate (``domains`` e.g. ``Settings().domains``).
    n : int
        Number of draws (1,000 by default).
    ranges : UncertaintyRanges, optional
        The ranges of the choices; default :class:`UncertaintyRanges()`.
    seed : int
        Seed of the draws: the same seed gives the same result.
    name : str
        Score name used in the column names (``isolation_risk``,
        ``loneliness_risk``, ``risk_older_people`` ...).
    batch_size : int
        Draws computed together (memory grows with it: about
        ``batch_size x areas x 100`` bytes).
    quiet : bool
        No progress bar.

    Returns
    -------
    UncertaintyResult
        See the class. Ranks use the rule of :func:`risk.index.risk_rank`
        (1 = highest risk, ties share the smallest rank) and decile 1 the rule
        of :func:`risk.index.deciles` (``10 x rank <= N``).

    Raises
    ------
    ConfigError
        ``n`` or ``batch_size`` below 1, or a range that is not usable; and
        whatever :func:`isolation_index` raises for the table and domains.
    """
    t0 = time.perf_counter()
    ranges = ranges if ranges is not None else UncertaintyRanges()
    ranges.check()
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"the number of uncertainty draws must be a whole number >= 1, e.g. "
                          f"1000; got {n!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be a whole number >= 1, not {batch_size!r}")
    model = prepare(table, domains, normalisation, ranges.normalisations,
                    domain_normalisation=domain_normalisation,
                    cap=ranges.walk_limit_min is not None)
    t_prep = time.perf_counter() - t0
    check_groups(model, ranges)
    fs = factors(model, ranges)
    draws_f = _draw(model, ranges, fs, n, seed)
    n_valid = int(model.valid.sum())
    ranks = np.empty((n, n_valid), dtype=np.int32)
    starts = range(0, n, batch_size)
    for s in tqdm(starts, desc=f"uncertainty ({name})", disable=quiet, leave=False,
                  unit="batch"):
        sel = np.arange(s, min(s + batch_size, n))
        ranks[sel] = evaluate(model, draws_f.take(sel))
    t_draws = time.perf_counter() - t0 - t_prep

    check = evaluate(model, base_factors(model, zero_ranges(normalisation), 1))[0]
    reproduced = bool(np.array_equal(check, model.point_rank))
    if not reproduced:  # pragma: no cover - a bug, never expected
        logger.warning("uncertainty: the point ranks are not reproduced by the Monte Carlo "
                       "engine; please report this")

    idx = model.index
    draws = np.full((n, len(idx)), np.nan, dtype=np.float32)
    draws[:, model.valid] = ranks
    p05, p95, top = (np.full(len(idx), np.nan) for _ in range(3))
    if n_valid:
        top[model.valid] = (ranks <= n_valid // 10).mean(axis=0)  # 10 x rank <= N
        p05[model.valid], p95[model.valid] = _percentiles(ranks, (5, 95))
    del ranks
    frame = pd.DataFrame({
        f"{name}_rank_p05": pd.array(p05, dtype="Float64").astype("Int64"),
        f"{name}_rank_p95": pd.array(p95, dtype="Float64").astype("Int64"),
        f"{name}_p_top_decile": top,
        f"{name}_robust": np.nan_to_num(top, nan=0.0) >= ROBUST_SHARE,
    }, index=idx)

    report = {
        "score": name,
        "n": int(n),
        "seed": int(seed),
        "normalisation": normalisation,
        "domain_normalisation": domain_normalisation or normalisation,
        "ranges": ranges.as_dict(),
        "factors": _describe(model, ranges, fs),
        "capped_columns": dict(model.capped),
        "n_areas": len(idx),
        "n_areas_scored": n_valid,
        "n_robust": int(frame[f"{name}_robust"].sum()),
        "robust_share": ROBUST_SHARE,
        "percentiles": "inverted_cdf (a rank that occurred in the draws)",
        "point_ranks_reproduced": reproduced,
        "batch_size": int(batch_size),
        "timings_s": {"prepare": round(t_prep, 3), "draws": round(t_draws, 3),
                      "total": round(time.perf_counter() - t0, 3)},
        "method": "Saisana, Saltelli & Tarantola (2005) JRSS A 168(2); OECD/JRC Handbook "
                  "on Constructing Composite Indicators (2008)",
    }
    logger.info("uncertainty (%s): %d draws over %d areas in %.1f s; %d robustly in the top "
                "decile", name, n, n_valid, report["timings_s"]["total"], report["n_robust"])
    return UncertaintyResult(frame=frame, draws=draws, report=report)
