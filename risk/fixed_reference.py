"""Scoring on a fixed reference: tables placed on another table's normalisation.

Ranks are relative: when one area's walk to a GP gets shorter, every other
area's rank-based score can move although nothing changed for it. Scoring on a
fixed reference avoids that: each indicator value is placed in the
*reference's* distribution of that indicator (:func:`ref_normalise`), the
domains are combined with the same weights as :func:`risk.index.risk_index`
(the same arithmetic, :func:`risk.index.weighted_mean_columns`), each domain
score is placed in the reference's distribution of that domain score, and the
risk is ranked among the reference's risks.

Consequence (tested): an area whose indicators equal its reference values gets
exactly the score, rank and decile :func:`risk.index.risk_index` gave it in the
reference, bit for bit. Used by ``socialrisk compare`` (a later run on the
earlier run's scale) and by the what-if scenarios (a scenario on the
baseline's scale). Pure computation, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from risk.index import weighted_mean_columns
from risk.normalise import METHODS, apply_direction, exp_transform
from socialrisk.core.errors import InputError, shown

__all__ = ["DomainWeights", "ref_normalise", "fixed_index"]

#: ``{domain: (weight, {indicator: (weight, direction)})}``, in the order the index used them
DomainWeights = Mapping[str, tuple[float, Mapping[str, tuple[float, str]]]]


def ref_normalise(x: pd.Series, ref: pd.Series, method: str) -> pd.Series:
    """Normalise ``x`` against the distribution of ``ref`` (both higher = worse).

    ``ref_normalise(ref, ref, m)`` equals :func:`risk.normalise.normalise` of
    ``ref`` exactly.

    Parameters
    ----------
    x : Series
        Values to place (higher = worse); NaN stays NaN.
    ref : Series
        The reference values (NaN left out).
    method : {"rank_exp", "zscore", "minmax"}
        ``rank_exp``: a value equal to one of ``ref`` gets its average rank
        (1 = lowest); a value between two reference values a rank linearly
        interpolated between theirs; a value beyond the reference's range the
        rank of the nearest end (so scores are capped at the reference's best
        and worst; ``+inf`` counts as the worst finite value unless ``ref``
        holds ``inf`` too); then ``R = rank / N`` with ``N`` the reference's
        count and the IoD exponential transform. ``zscore``: the reference's
        mean and population standard deviation; ``minmax``: its minimum and
        maximum (values beyond them go below 0 or above 100).

    Returns
    -------
    Series aligned to ``x``.
    """
    r = pd.to_numeric(ref, errors="coerce").to_numpy(dtype=float)
    r = r[~np.isnan(r)]
    v = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
    out = np.full(v.size, np.nan)
    ok = ~np.isnan(v)
    if method not in METHODS:
        raise InputError(f"normalisation {shown(method)} of the reference is not known; use "
                         f"one of {', '.join(METHODS)}")
    if r.size == 0:
        return pd.Series(out, index=x.index)
    if method == "rank_exp":
        s = np.sort(r)
        less = np.searchsorted(s, v[ok], side="left")
        leq = np.searchsorted(s, v[ok], side="right")
        rank = (less + 1 + leq) / 2.0
        inexact = leq == less
        fin = np.unique(s[np.isfinite(s)])
        if inexact.any() and fin.size:
            fr = (np.searchsorted(s, fin, "left") + 1 + np.searchsorted(s, fin, "right")) / 2.0
            vv = np.clip(v[ok][inexact], fin[0], fin[-1])  # inf beyond: the nearest end
            rank[inexact] = np.interp(vv, fin, fr)
        out[ok] = exp_transform(rank / s.size)
    elif method == "zscore":  # the same statistics as risk.normalise.zscore
        rs = pd.Series(r)
        mean, sd = float(rs.mean()), float(rs.std(ddof=0))
        out[ok] = (v[ok] - mean) / sd if sd > 0 else v[ok] - mean
    else:  # minmax
        lo, hi = float(r.min()), float(r.max())
        out[ok] = 100.0 * (v[ok] - lo) / (hi - lo) if hi > lo else 50.0
    return pd.Series(out, index=x.index)


def _combine(cols: Mapping[str, pd.Series], weights: Mapping[str, float],
             index: pd.Index) -> pd.Series:
    names = list(cols)
    mean, _ = weighted_mean_columns([cols[c].to_numpy(dtype=float) for c in names],
                                    [float(weights[c]) for c in names], with_applied=False)
    return pd.Series(mean, index=index)


def fixed_index(reference: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                domains: DomainWeights, method: str, *,
                domain_method: str | None = None, name: str = "isolation_risk",
                domain_prefix: str = "") -> dict[str, pd.DataFrame]:
    """Score each of ``tables`` on the normalisation of ``reference``.

    Parameters
    ----------
    reference : DataFrame
        The reference's indicators, one row per area, as its index saw them
        (e.g. unreachable people already counted at the search limit).
    tables : mapping of str to DataFrame
        Tables of the same indicators to score (a missing column is NaN).
    domains : mapping
        ``{domain: (weight, {indicator: (weight, direction)})}``: the domains
        and indicators the reference's index used, with the weights as given
        (renormalised per area over what the area has, as
        :func:`risk.index.risk_index` does).
    method : {"rank_exp", "zscore", "minmax"}
        The reference's indicator normalisation.
    domain_method : str, optional
        Its domain-score normalisation (default: ``method``).
    name, domain_prefix : str
        Column names, as in :func:`risk.index.risk_index`.

    Returns
    -------
    dict of str to DataFrame
        Per table, aligned to its index: ``norm_<indicator>``,
        ``<prefix><domain>_score``, ``<name>``, ``<name>_rank`` (1 + the number
        of reference areas with a higher risk), ``<name>_decile``
        (``ceil(10 rank / N)``, ``N`` = reference areas with a score) and
        ``contrib_<indicator>`` (normalised value x the indicator's given share
        of the index: domain share x share within the domain).
    """
    domain_method = domain_method or method
    out = {k: pd.DataFrame(index=t.index) for k, t in tables.items()}
    ref_dom: dict[str, pd.Series] = {}
    dom_raw: dict[str, dict[str, pd.Series]] = {k: {} for k in tables}
    for dname, (_, inds) in domains.items():
        w = {c: wt for c, (wt, _) in inds.items()}
        ref_cols = {}
        cols: dict[str, dict[str, pd.Series]] = {k: {} for k in tables}
        for c, (_, direction) in inds.items():
            rv = reference[c] if c in reference.columns else pd.Series(np.nan, reference.index)
            rb = apply_direction(pd.to_numeric(rv, errors="coerce"), direction)
            ref_cols[c] = ref_normalise(rb, rb, method)
            for k, t in tables.items():
                xv = pd.to_numeric(t[c], errors="coerce") if c in t.columns \
                    else pd.Series(np.nan, index=t.index)
                cols[k][c] = ref_normalise(apply_direction(xv, direction), rb, method)
        ref_dom[dname] = _combine(ref_cols, w, reference.index)
        for k, t in tables.items():
            dom_raw[k][dname] = _combine(cols[k], w, t.index)
            for c, v in cols[k].items():
                out[k][f"norm_{c}"] = v
    dw = {f"{domain_prefix}{n}_score": float(wt) for n, (wt, _) in domains.items()}
    ref_scores = {f"{domain_prefix}{n}_score": ref_normalise(ref_dom[n], ref_dom[n],
                                                             domain_method)
                  for n in domains}
    ref_risk = _combine(ref_scores, dw, reference.index)
    rr = np.sort(ref_risk.dropna().to_numpy())
    total_dw = sum(dw.values())
    for k, t in tables.items():
        sc = {f"{domain_prefix}{n}_score": ref_normalise(dom_raw[k][n], ref_dom[n],
                                                         domain_method) for n in domains}
        for c, v in sc.items():
            out[k][c] = v
        risk = _combine(sc, dw, t.index)
        out[k][name] = risk
        v = risk.to_numpy()
        rank = np.where(np.isnan(v), np.nan, 1 + rr.size - np.searchsorted(rr, v, "right"))
        out[k][f"{name}_rank"] = pd.array(rank, dtype="Float64").round().astype("Int64")
        dec = np.ceil(rank * 10.0 / max(rr.size, 1))
        out[k][f"{name}_decile"] = pd.array(dec, dtype="Float64").astype("Int64")
        for dwt, inds in domains.values():
            tot = sum(wt for wt, _ in inds.values())
            for c, (wt, _) in inds.items():
                share = (dwt / total_dw) * (wt / tot) if total_dw > 0 and tot > 0 else 0.0
                out[k][f"contrib_{c}"] = out[k][f"norm_{c}"] * share
    return out
