"""The isolation-risk index: indicators -> domains -> one score, rank and decile per area.

Steps (``docs/method.md`` gives the formulas and their sources):

1. Each indicator is normalised with its direction applied
   (:func:`risk.normalise.normalise`), so higher = worse.
2. Within a domain, an area's normalised indicators are combined by weighted
   mean. Weights are renormalised per area over the indicators the area has a
   value for (a missing value is never imputed; its weight goes to the area's
   other indicators of that domain, and the area is flagged).
3. Domain scores are normalised again (``rank_exp`` by default, as the IMD does
   before combining its domains) and combined by weighted mean with the domain
   weights, again renormalised per area over the domains the area has a score for.
4. Areas are ranked, 1 = highest risk (ties share the lowest rank number), and
   put into deciles ``ceil(10 * rank / N)``, 1 = the highest-risk 10 % of areas,
   ``N`` = number of areas with a score (the IMD's rule).

Configuration-level gaps are stated in the report: an indicator whose column is
absent (or entirely empty) is dropped from its domain and the domain's weights
renormalised; a domain left without indicators is dropped and the domain
weights renormalised.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from risk.drivers import top_drivers
from risk.normalise import DIRECTIONS, METHODS, normalise
from socialrisk.core.errors import ConfigError, InputError, shown

logger = logging.getLogger(__name__)

__all__ = ["DomainSpec", "IndexResult", "IndicatorSpec", "isolation_index", "deciles",
           "risk_index", "risk_rank"]


@dataclass
class IndicatorSpec:
    """One indicator of the index: a column, its direction and weight within its domain.

    ``direction`` is ``"higher_is_worse"`` or ``"lower_is_worse"``.
    """

    column: str
    weight: float = 1.0
    direction: str = "higher_is_worse"


@dataclass
class DomainSpec:
    """A domain of the index: weighted indicators, combined after normalisation."""

    weight: float
    indicators: list[IndicatorSpec]




@dataclass(frozen=True)
class IndexResult:
    """Result of :func:`isolation_index`.

    Attributes
    ----------
    frame : DataFrame
        Aligned to the input index: ``<domain>_score`` per domain used,
        ``isolation_risk``, ``isolation_risk_rank``, ``isolation_risk_decile``,
        ``isolation_risk_missing`` and ``drivers``.
    report : dict
        JSON-serialisable account of what was used, dropped and reweighted
        (for the run manifest).
    normalised : DataFrame
        The normalised indicators (higher = worse), one column per indicator used.
    weights : DataFrame
        Each indicator's effective weight in each area's index (domain weight x
        within-domain weight, both as applied for that area; rows sum to 1 for
        scored areas, 0 where an indicator is missing for the area).
    """

    frame: pd.DataFrame
    report: dict[str, Any]
    normalised: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    weights: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def risk_rank(risk: pd.Series) -> pd.Series:
    """Rank areas by risk, 1 = highest; ties share the smallest rank number.

    Returns nullable integers (``Int64``), ``<NA>`` where ``risk`` is NaN.
    """
    return risk.rank(ascending=False, method="min", na_option="keep").astype("Int64")


def deciles(rank: pd.Series) -> pd.Series:
    """Decile from a rank (1 = highest risk): ``ceil(10 * rank / N)``.

    ``N`` is the number of non-missing ranks. Decile 1 holds the 10 % of areas
    with the highest risk, as in the Indices of Deprivation. Returns nullable
    integers (``Int64``), ``<NA>`` where the rank is missing.
    """
    n = int(rank.notna().sum())
    if n == 0:
        return pd.Series(pd.NA, index=rank.index, dtype="Int64")
    dec = np.ceil(rank.to_numpy(dtype="float64", na_value=np.nan) * 10.0 / n)
    return pd.Series(dec, index=rank.index).astype("Int64")


def weighted_mean_columns(columns: Sequence[np.ndarray], weights: Sequence[Any], *,
                          with_applied: bool = True) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-area weighted mean over the columns an area has a value for.

    The one implementation of steps 2 and 3 of the module docstring, shared by
    :func:`risk_index` and the Monte Carlo of :mod:`risk.uncertainty` so that
    the two cannot drift apart: the weights of an area's missing (NaN) values
    go to its other columns; an area with no weight left gets NaN.

    Parameters
    ----------
    columns : sequence of arrays
        One float array per column, all broadcastable to one shape, e.g.
        ``(areas,)`` or ``(draws, areas)``; NaN = missing.
    weights : sequence of floats or arrays
        One weight per column, broadcastable likewise (e.g. shape
        ``(draws, 1)`` for a weight per draw).
    with_applied : bool
        Also return each column's applied (renormalised) weight.

    Returns
    -------
    (mean, applied)
        ``mean`` has the broadcast shape; ``applied`` one array per column
        (0 where the value is missing), empty unless ``with_applied``. Sums
        are taken column by column in the order given, so every shape gives
        the same numbers bit for bit.
    """
    present = [~np.isnan(c) for c in columns]
    raws = [p * w for p, w in zip(present, weights, strict=True)]
    shape = np.broadcast_shapes(*(np.shape(c) for c in columns), *(np.shape(r) for r in raws))
    total = np.zeros(shape)
    for r in raws:
        total = total + r
    ok = total > 0
    den = np.where(ok, total, np.nan)
    mean = np.zeros(shape)
    applied = []
    for c, p, r in zip(columns, present, raws, strict=True):
        a = np.nan_to_num(r / den, nan=0.0)
        mean = mean + np.where(p, c, 0.0) * a
        if with_applied:
            applied.append(np.broadcast_to(a, shape))
    return np.where(ok, mean, np.nan), applied


def _weighted_mean(values: pd.DataFrame, w: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """Row-wise weighted mean over non-missing cells; returns (mean, applied weights)."""
    cols = list(values.columns)
    mean, applied = weighted_mean_columns(
        [values[c].to_numpy(dtype="float64") for c in cols], [float(w[c]) for c in cols])
    return (pd.Series(mean, index=values.index),
            pd.DataFrame(dict(zip(cols, applied, strict=True)), index=values.index))


def _check(table: pd.DataFrame, domains: Mapping[str, DomainSpec], normalisation: str,
           domain_normalisation: str) -> None:
    for m in (normalisation, domain_normalisation):
        if m not in METHODS:
            raise ConfigError(f"normalisation must be rank_exp, zscore or minmax, not {m!r}")
    if not domains:
        raise ConfigError("at least one domain is needed, e.g. [domains.access]")
    if not table.index.is_unique:
        dup = table.index[table.index.duplicated()][0]
        raise InputError(f"area ids must be unique; {shown(dup)} appears more than once")
    seen: dict[str, str] = {}
    for name, dom in domains.items():
        if not math.isfinite(dom.weight) or dom.weight < 0:
            raise ConfigError(f"domain {name}: weight must be a number >= 0, not {dom.weight!r}")
        for ind in dom.indicators:
            if ind.direction not in DIRECTIONS:
                raise ConfigError(f"domain {name}: indicator {ind.column} direction must be "
                                  f"higher_is_worse or lower_is_worse")
            if not math.isfinite(ind.weight) or ind.weight < 0:
                raise ConfigError(f"domain {name}: indicator {ind.column} weight must be a "
                                  f"number >= 0, not {ind.weight!r}")
            if ind.column in seen:
                raise ConfigError(f"indicator {ind.column} is listed twice (domains "
                                  f"{seen[ind.column]} and {name}); list it once")
            seen[ind.column] = name
        # weights are renormalised by their sum: an infinite sum would make every weight 0
        if not math.isfinite(sum(i.weight for i in dom.indicators)):
            raise ConfigError(f"domain {name}: the indicator weights add up to more than the "
                              f"largest float, so every area would score the same; weights "
                              f"are relative: use small numbers such as 1 and 0.5")
    total = sum(d.weight for d in domains.values())
    if not math.isfinite(total):
        raise ConfigError("the domain weights add up to more than the largest float, so every "
                          "area would score the same; weights are relative: use small numbers "
                          "such as 0.4/0.35/0.25")
    if total <= 0:
        raise ConfigError("domain weights must not all be 0")


def _strict_message(note: str) -> str:
    """The note about a dropped indicator or domain, as a ``--strict`` error."""
    for done in ("; dropped and the domain's other weights renormalised",
                 "; left out and the other domain weights renormalised"):
        note = note.replace(done, "")
    return (f"{note}; --strict refuses to leave it out of the index: give the data for it or "
            f"remove it from [domains] (or run without --strict)")


def isolation_index(table: pd.DataFrame, domains: Mapping[str, DomainSpec],
                    normalisation: str = "rank_exp", n_drivers: int = 3, *,
                    domain_normalisation: str | None = None,
                    labels: Mapping[str, str] | None = None,
                    strict: bool = False) -> IndexResult:
    """The isolation-risk score: :func:`risk_index` named ``isolation_risk``."""
    return risk_index(table, domains, normalisation, n_drivers,
                      domain_normalisation=domain_normalisation, labels=labels, strict=strict)


def risk_index(table: pd.DataFrame, domains: Mapping[str, DomainSpec],
               normalisation: str = "rank_exp", n_drivers: int = 3, *,
               name: str = "isolation_risk", domain_prefix: str = "",
               domain_normalisation: str | None = None,
               labels: Mapping[str, str] | None = None,
               strict: bool = False) -> IndexResult:
    """Combine indicators into a risk score, rank, decile and drivers.

    Parameters
    ----------
    table : DataFrame
        One row per area (index = area id), one column per indicator (raw
        values: metres, minutes, shares as fractions, IoD scores, ...). Extra
        columns are ignored.
    domains : mapping of str to DomainSpec
        Domains with their weight and indicators (column, weight, direction),
        e.g. ``Settings().domains``.
    normalisation : {"rank_exp", "zscore", "minmax"}
        How indicators are normalised (and domain scores, unless
        ``domain_normalisation`` is given).
    n_drivers : int
        How many drivers to describe per area.
    domain_normalisation : {"rank_exp", "zscore", "minmax"}, optional
        How domain scores are normalised before combining; default: the same
        as ``normalisation``.
    name : str
        Name of the score column; the other columns are ``<name>_rank``,
        ``<name>_decile``, ``<name>_missing`` and ``<name>_drivers``
        (``isolation_risk``, ``loneliness_risk``, ``risk_older_people`` ...).
    domain_prefix : str
        Prefix of the domain-score columns (``loneliness_`` gives
        ``loneliness_health_score``), so two scores' domains never clash.
    labels : mapping, optional
        Category -> label for the driver text (e.g. ``{"gp": "a GP surgery"}``).
    strict : bool
        ``--strict``: an indicator that is absent or has no values, and so a
        domain left without indicators, is a :class:`ConfigError` instead of a
        note (by default it is dropped and the other weights renormalised).

    Returns
    -------
    IndexResult
        ``frame`` columns (for ``name="isolation_risk"``): ``<domain>_score``
        (normalised domain score, higher = worse; one per domain used),
        ``isolation_risk`` (weighted mean of the domain scores),
        ``isolation_risk_rank`` (1 = highest risk), ``isolation_risk_decile``
        (1 = highest-risk 10 %), ``isolation_risk_missing`` (comma-separated
        indicators without a value for the area, ``""`` when complete) and
        ``isolation_risk_drivers`` (plain words).
        An area with no value at all has NaN score, rank and decile.

    Raises
    ------
    ConfigError
        Unknown method or direction, negative, all-zero or overflowing weights,
        an indicator listed twice; under ``strict``, an indicator or domain
        that would be left out.
    InputError
        Duplicate area ids, a non-numeric indicator column, or no indicator of
        any domain present in ``table``.
    """
    score_name = name  # ``name`` is reused for the domains below
    domain_normalisation = domain_normalisation or normalisation
    _check(table, domains, normalisation, domain_normalisation)
    index = table.index
    n_areas = len(index)

    report: dict[str, Any] = {
        "normalisation": normalisation,
        "domain_normalisation": domain_normalisation,
        "n_areas": n_areas,
        "domains": {},
        "domains_used": [],
        "domains_dropped": [],
        "notes": [],
    }
    notes: list[str] = report["notes"]

    norm_cols: dict[str, pd.Series] = {}
    within_weights: dict[str, pd.DataFrame] = {}
    domain_raw: dict[str, pd.Series] = {}
    directions: dict[str, str] = {}
    used_order: list[str] = []

    for name, dom in domains.items():
        ind_given = {i.column: float(i.weight) for i in dom.indicators}
        info: dict[str, Any] = {
            "weight_given": float(dom.weight),
            "weight_applied": 0.0,
            "indicators": {},
            "indicators_used": [],
            "indicators_absent": [],
            "indicators_empty": [],
            "indicators_zero_weight": [],
        }
        report["domains"][name] = info
        avail = []
        for ind in dom.indicators:
            entry: dict[str, Any] = {"weight_given": ind.weight, "weight_applied": 0.0,
                                     "direction": ind.direction, "status": "used",
                                     "n_missing": None}
            info["indicators"][ind.column] = entry
            if ind.column not in table.columns:
                entry["status"] = "absent"
                info["indicators_absent"].append(ind.column)
                near = difflib.get_close_matches(ind.column, [str(c) for c in table.columns],
                                                 n=1, cutoff=0.85)
                notes.append(f"{name}: indicator {ind.column} is not in the table; dropped "
                             f"and the domain's other weights renormalised"
                             + (f" (did you mean {shown(near[0])}?)" if near else ""))
                if strict:
                    raise ConfigError(_strict_message(notes[-1]))
                if near:  # most likely a typo in [domains]: say so
                    logger.warning("%s", notes[-1])
                continue
            col = table[ind.column]
            if col.isna().all():
                entry["status"] = "empty"
                entry["n_missing"] = n_areas
                info["indicators_empty"].append(ind.column)
                notes.append(f"{name}: indicator {ind.column} has no values; dropped "
                             f"and the domain's other weights renormalised")
                if strict:
                    raise ConfigError(_strict_message(notes[-1]))
                continue
            if ind.weight == 0:
                entry["status"] = "zero_weight"
                info["indicators_zero_weight"].append(ind.column)
                continue
            entry["n_missing"] = int(col.isna().sum())
            avail.append(ind)
        if not avail:
            report["domains_dropped"].append(name)
            notes.append(f"domain {name} has no usable indicator; left out and the "
                         f"other domain weights renormalised")
            if strict and dom.weight > 0:
                raise ConfigError(_strict_message(notes[-1]))
            logger.warning("%s: domain %s has no usable indicator; left out", score_name, name)
            continue
        wsum = sum(i.weight for i in avail)
        for ind in avail:
            info["indicators"][ind.column]["weight_applied"] = ind.weight / wsum
            info["indicators_used"].append(ind.column)
            norm_cols[ind.column] = normalise(table[ind.column], normalisation, ind.direction)
            directions[ind.column] = ind.direction
            used_order.append(ind.column)
            if info["indicators"][ind.column]["n_missing"]:
                logger.info("%s: %d area(s) without %s; its weight goes to their other "
                            "%s indicators", name, info["indicators"][ind.column]["n_missing"],
                            ind.column, name)
        cols = [i.column for i in avail]
        vals = pd.DataFrame({c: norm_cols[c] for c in cols}, index=index)
        w = pd.Series({i.column: i.weight for i in avail}, dtype="float64")
        raw, applied = _weighted_mean(vals, w)
        domain_raw[name] = raw
        within_weights[name] = applied
        info["n_areas_without_score"] = int(raw.isna().sum())
        if len(ind_given) != len(avail):
            logger.info("domain %s: using %s of %d indicators", name, cols, len(ind_given))

    if not domain_raw:
        wanted = sorted({i.column for d in domains.values() for i in d.indicators})
        near = [m for w in wanted for m in difflib.get_close_matches(
            w, [str(c) for c in table.columns], n=1, cutoff=0.85)]
        hint = f" (did you mean {', '.join(map(repr, near))}?)" if near else ""
        raise InputError(f"none of the indicator columns {wanted} has values in the "
                         f"table{hint}; compute them first or change [domains]")

    used_domains = list(domain_raw)
    report["domains_used"] = used_domains
    dsum = sum(domains[d].weight for d in used_domains)
    if dsum <= 0:
        raise ConfigError(f"the domains with data ({', '.join(used_domains)}) all have "
                          f"weight 0")
    for d in used_domains:
        report["domains"][d]["weight_applied"] = domains[d].weight / dsum

    scores = pd.DataFrame(
        {f"{domain_prefix}{d}_score": normalise(domain_raw[d], domain_normalisation,
                                                "higher_is_worse")
         for d in used_domains}, index=index)
    dw = pd.Series({f"{domain_prefix}{d}_score": float(domains[d].weight)
                    for d in used_domains})
    risk, dom_applied = _weighted_mean(scores, dw)

    # effective per-area weight of each indicator: domain share x within-domain share
    eff = pd.DataFrame(0.0, index=index, columns=used_order)
    for d in used_domains:
        for c in within_weights[d].columns:
            eff[c] = within_weights[d][c] * dom_applied[f"{domain_prefix}{d}_score"]

    normalised_frame = pd.DataFrame({c: norm_cols[c] for c in used_order}, index=index)
    missing_mask = normalised_frame.isna()
    missing = pd.Series(
        [",".join(c for c, m in zip(used_order, row, strict=True) if m)
         for row in missing_mask.to_numpy()], index=index, dtype="object")

    rank = risk_rank(risk)
    frame = scores.copy()
    frame[score_name] = risk
    frame[f"{score_name}_rank"] = rank
    frame[f"{score_name}_decile"] = deciles(rank)
    frame[f"{score_name}_missing"] = missing
    values = table[used_order].apply(pd.to_numeric)
    frame[f"{score_name}_drivers"] = top_drivers(values, normalised_frame, eff, directions,
                                           n=n_drivers, labels=labels)
    frame.loc[risk.isna(), f"{score_name}_drivers"] = ""

    n_scored = int(risk.notna().sum())
    report["n_areas_scored"] = n_scored
    report["n_areas_without_score"] = n_areas - n_scored
    report["n_areas_incomplete"] = int((missing != "").sum())
    report["n_drivers"] = n_drivers
    if n_areas - n_scored:
        notes.append(f"{n_areas - n_scored} area(s) have no indicator value at all; "
                     f"their risk, rank and decile are empty")
    logger.info("%s: %d of %d areas scored, %d with some indicator missing",
                score_name, n_scored, n_areas, report["n_areas_incomplete"])
    return IndexResult(frame=frame, report=report, normalised=normalised_frame, weights=eff)
