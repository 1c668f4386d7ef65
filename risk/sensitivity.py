"""Which choices move the ranking most: variance-based (Sobol) sensitivity of a risk index.

The uncertain choices of :mod:`risk.uncertainty` (domain weights, each domain's
indicator weights, normalisation method, walking limit and speed) are the
factors; the model output for one set of choices is the **mean absolute shift
in rank** of all areas against the point estimate,

    Y = (1 / N) sum_i |rank_i(choices) - rank_i(point estimate)|,

the output used by Saisana, Saltelli & Tarantola (2005), *Uncertainty and
sensitivity analysis techniques as tools for the quality assessment of
composite indicators*, JRSS A 168(2), 307-323, and by the OECD/JRC *Handbook on
Constructing Composite Indicators: Methodology and User Guide* (2008), step 7.

For each factor group the first-order index S1 (the share of the variance of
Y that the group explains alone) and the total index ST (alone and through its
interactions with the others) are estimated with SALib (Herman & Usher 2017;
Iwanaga, Usher & Herman 2022): a scrambled Sobol' sequence of ``n_base x (D +
2)`` sets of choices (D = number of groups; ``SALib.sample.sobol``) and the
estimators of Saltelli et al. (2010) with bootstrap 95 % intervals
(``SALib.analyze.sobol``). A group's inputs are varied together: the
indicator weights of a domain form one group, as do the walking limit's
minutes. The normalisation method is a U(0, 1) factor mapped to the methods
in equal bins.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from risk.index import DomainSpec
from risk.uncertainty import (
    UncertaintyRanges,
    base_factors,
    check_groups,
    evaluate,
    factors,
    prepare,
    set_factor,
)
from socialrisk.core.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = ["COLUMNS", "sobol_indices", "variance_sensitivity"]

COLUMNS = ["S1", "S1_conf", "ST", "ST_conf"]


def variance_sensitivity(names: Sequence[str], bounds: Sequence[tuple[float, float]],
                         groups: Sequence[str], model: Callable[[np.ndarray], np.ndarray], *,
                         n_base: int = 256, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """First-order and total Sobol indices of ``model`` per group of inputs (SALib).

    Parameters
    ----------
    names, bounds, groups : sequences
        One entry per input: its name, (low, high) of its uniform range and
        the group it is varied with (a group may hold one input).
    model : callable
        ``model(X)`` with ``X`` of shape ``(M, inputs)`` returns ``Y`` of shape
        ``(M,)``.
    n_base : int
        Base sample size N (a power of 2; others are rounded up to one); the
        model is run ``N x (groups + 2)`` times.
    seed : int
        Seed of the scrambled Sobol' sequence and of the bootstrap.

    Returns
    -------
    (DataFrame, dict)
        One row per group (index ``factor``, in order of first appearance)
        with ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (the ``_conf`` columns
        are half-widths of bootstrap 95 % intervals); and facts for the
        report (evaluations, mean and variance of Y). When Y does not vary at
        all no choice matters: every index is 0.
    """
    if not isinstance(n_base, (int, np.integer)) or n_base < 2:
        raise ConfigError(f"the Sobol base sample size must be a whole number >= 2, e.g. "
                          f"256; got {n_base!r}")
    order = list(dict.fromkeys(groups))
    if not order:
        return pd.DataFrame(columns=COLUMNS, index=pd.Index([], name="factor")), \
            {"n_evaluations": 0}
    n_pow = 1 << (int(n_base) - 1).bit_length()
    problem = {"num_vars": len(names), "names": list(names),
               "bounds": [[float(a), float(b)] for a, b in bounds], "groups": list(groups)}
    # SALib pulls in scipy.stats (0.7 s): imported only when an analysis is asked for
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    X = sobol_sample.sample(problem, n_pow, calc_second_order=False, scramble=True, seed=seed)
    Y = np.asarray(model(X), dtype="float64")
    info = {"n_base": n_pow, "n_evaluations": int(len(Y)), "y_mean": float(Y.mean()),
            "y_var": float(Y.var())}
    if n_pow != n_base:
        info["note"] = f"n_base {n_base} rounded up to the power of 2 {n_pow}"
    if not np.all(np.isfinite(Y)) or Y.var() == 0.0:
        out = pd.DataFrame(0.0, index=pd.Index(order, name="factor"), columns=COLUMNS)
        info["note_constant"] = "the output does not vary: no choice moves the ranking"
        return out, info
    si = sobol_analyze.analyze(problem, Y, calc_second_order=False, seed=seed)
    total, first = si.to_df()
    out = pd.concat([first, total], axis=1).reindex(order)[COLUMNS].astype("float64")
    out.index.name = "factor"
    return out, info


def sobol_indices(table: pd.DataFrame, domains: Mapping[str, DomainSpec], *,
                  normalisation: str = "rank_exp", ranges: UncertaintyRanges | None = None,
                  n_base: int = 256, seed: int = 0, domain_normalisation: str | None = None,
                  batch_size: int = 50, quiet: bool = True) -> pd.DataFrame:
    """Sobol indices of the choices behind a risk index (which move its ranking most).

    Parameters
    ----------
    table, domains, normalisation, domain_normalisation
        As given to :func:`risk.index.isolation_index` for the point estimate.
    ranges : UncertaintyRanges, optional
        The ranges of the choices (default :class:`UncertaintyRanges()`);
        choices with a zero range, or that cannot act on this index (see
        :func:`risk.uncertainty.factors`), are left out of the problem.
    n_base : int
        SALib's base sample size N; the index is computed ``N x (groups + 2)``
        times (256 with 7 groups: 2,304 times).
    seed : int
        Seed of the sample and the bootstrap.
    batch_size, quiet
        Index computations done together; no progress bar.

    Returns
    -------
    DataFrame
        One row per factor group, index ``factor``: ``weight: <domain>`` per
        domain weight, ``indicator weights: <domain>``, ``normalisation``,
        ``walking limit (minutes)``, ``walking speed``; columns ``S1``,
        ``S1_conf``, ``ST``, ``ST_conf``. The model output is the mean
        absolute rank shift of all areas against the point ranks (Saisana,
        Saltelli & Tarantola 2005; OECD/JRC Handbook 2008). ``attrs["report"]``
        holds a JSON-serialisable account (factors, evaluations, timing).
    """
    t0 = time.perf_counter()
    ranges = ranges if ranges is not None else UncertaintyRanges()
    ranges.check()
    model = prepare(table, domains, normalisation, ranges.normalisations,
                    domain_normalisation=domain_normalisation,
                    cap=ranges.walk_limit_min is not None)
    check_groups(model, ranges)
    fs = factors(model, ranges)
    names, bounds, groups, slots = [], [], [], []
    for f in fs:
        width = len(f.positions) if f.kind == "indicator" else 1
        slots.append((f, len(names), width))
        for i in range(width):
            names.append(f"{f.group} [{i}]" if width > 1 else f.group)
            bounds.append((f.low, f.high))
            groups.append(f.group)
    point = model.point_rank.astype("float64")

    def run(X: np.ndarray) -> np.ndarray:
        y = np.empty(len(X))
        steps = range(0, len(X), batch_size)
        for s in tqdm(steps, desc="sensitivity", disable=quiet, leave=False, unit="batch"):
            rows = X[s:s + batch_size]
            f = base_factors(model, ranges, len(rows))
            for factor, col, width in slots:
                v = rows[:, col:col + width]
                set_factor(f, factor, v if factor.kind == "indicator" else v[:, 0],
                           model, ranges)
            ranks = evaluate(model, f)
            y[s:s + len(rows)] = np.abs(ranks - point).mean(axis=1) if point.size else 0.0
        return y

    out, info = variance_sensitivity(names, bounds, groups, run, n_base=n_base, seed=seed)
    report: dict[str, Any] = {
        "output": "mean absolute rank shift against the point ranks",
        "normalisation": normalisation, "ranges": ranges.as_dict(), "seed": int(seed),
        "factors": [f.group for f in fs], "n_areas_scored": int(point.size), **info,
        "timings_s": {"total": round(time.perf_counter() - t0, 3)},
        "method": "Sobol indices (SALib; Saltelli et al. 2010 estimators) of the mean "
                  "absolute rank shift: Saisana, Saltelli & Tarantola (2005) JRSS A 168(2); "
                  "OECD/JRC Handbook on Constructing Composite Indicators (2008)",
    }
    if not fs:
        report["note"] = "no choice has a range: nothing to analyse"
    out.attrs["report"] = report
    logger.info("sensitivity: %d factor groups, %d index computations in %.1f s",
                len(fs), info.get("n_evaluations", 0), time.perf_counter() - t0)
    return out
