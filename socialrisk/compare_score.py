"""The fixed reference of a comparison: a later run scored on the earlier run's scale.

Ranks are relative: an area can move when nothing changed on the ground. Here
every indicator value of a table is placed in the earlier run's distribution
of that indicator (:func:`ref_normalise`), and the domains and the index are
combined with the earlier run's weights, as its index report records them. An
area whose inputs did not change keeps its score exactly. Also the run-level
differences read from two manifests (:func:`inputs_changed`). Pure computation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from risk.normalise import apply_direction, exp_transform
from risk.rules import unreachable_at_limit
from socialrisk.core import schema
from socialrisk.core.errors import InputError, shown


def ref_normalise(x: pd.Series, ref: pd.Series, method: str) -> pd.Series:
    """Normalise ``x`` against the distribution of ``ref`` (both higher = worse).

    ``ref_normalise(ref, ref, m)`` equals :func:`risk.normalise.normalise` of
    ``ref``. For ``rank_exp`` a value of ``ref`` gets its average rank, a value
    between two of them a rank linearly interpolated between theirs, a value
    beyond the range the rank of the nearest end (scores are capped at the
    reference's best and worst); ``R = rank / N`` with ``N`` the reference's
    count, then the IoD exponential transform. ``zscore`` and ``minmax`` use
    the reference's mean and standard deviation, or minimum and maximum.
    """
    r = pd.to_numeric(ref, errors="coerce").to_numpy(dtype=float)
    r = r[~np.isnan(r)]
    v = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
    out = np.full(v.size, np.nan)
    ok = ~np.isnan(v)
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
    elif method == "zscore":
        mean, sd = float(r.mean()), float(r.std())
        out[ok] = (v[ok] - mean) / sd if sd > 0 else v[ok] - mean
    elif method == "minmax":
        lo, hi = float(r.min()), float(r.max())
        out[ok] = 100.0 * (v[ok] - lo) / (hi - lo) if hi > lo else 50.0
    else:
        raise InputError(f"normalisation {shown(method)} of the earlier run is not known")
    return pd.Series(out, index=x.index)


#: numeric settings a comparison reads from a run's manifest, with their defaults
NUMERIC_SETTINGS = {"walk_speed_kmh": schema.WALK_SPEED_KMH,
                    "beyond_threshold_m": schema.BEYOND_M,
                    "max_distance_m": schema.MAX_DISTANCE_M}
NORMALISATIONS = ("rank_exp", "zscore", "minmax")


def run_settings(manifest: dict, where: str) -> dict[str, Any]:
    """The ``settings`` of a run's manifest, checked: the numbers a comparison uses are usable.

    A setting an older version did not write has its default; one that is
    there but not a number greater than 0 (``"abc"``, ``null``, ``0``), or an
    unknown normalisation, is an :class:`InputError` naming ``where`` (the
    manifest) and the setting.
    """
    s = manifest.get("settings", {})
    if s is None:
        s = {}
    if not isinstance(s, dict):
        raise InputError(f"{where}: settings is {shown(s)}, not a table of settings; run "
                         f"`socialrisk run` again to rewrite the manifest")
    out = dict(s)
    for key, default in NUMERIC_SETTINGS.items():
        if key not in s:
            out[key] = default
            continue
        v = s[key]
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) \
            and math.isfinite(float(v)) and float(v) > 0
        if not ok:
            raise InputError(f"{where}: settings.{key} is {shown(v)}, not a number greater "
                             f"than 0; run `socialrisk run` again to rewrite the manifest")
        out[key] = float(v)
    method = s.get("normalisation", "rank_exp")
    if method not in NORMALISATIONS:
        raise InputError(f"{where}: settings.normalisation is {shown(method)}, not one of "
                         f"{', '.join(NORMALISATIONS)}; run `socialrisk run` again to rewrite "
                         f"the manifest")
    out["normalisation"] = method
    return out


def _weight(v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or v < 0:
        raise InputError(f"the earlier run's manifest: the index report's {what} is "
                         f"{shown(v)}, not a weight >= 0; run `socialrisk run` again to "
                         f"rewrite the manifest")
    return float(v)


def _wmean(values: pd.DataFrame, w: pd.Series) -> pd.Series:
    present = values.notna()
    raw = present.mul(w, axis=1).astype(float)
    total = raw.sum(axis=1)
    applied = raw.div(total.where(total > 0), axis=0).fillna(0.0)
    return (values.fillna(0.0) * applied).sum(axis=1).where(total > 0)


def used_domains(manifest: dict) -> dict[str, tuple[float, dict[str, tuple[float, str]]]]:
    """``{domain: (weight, {indicator: (weight, direction)})}`` as the run's index used them."""
    rep = manifest.get("index") if isinstance(manifest.get("index"), dict) else {}
    doms = rep.get("domains") if isinstance(rep.get("domains"), dict) else {}
    used = rep.get("domains_used")
    out = {}
    for name in used if isinstance(used, list) else []:
        d = doms.get(name) if isinstance(name, str) else None
        if not isinstance(d, dict):
            continue
        specs = d.get("indicators") if isinstance(d.get("indicators"), dict) else {}
        names = d.get("indicators_used") if isinstance(d.get("indicators_used"), list) else []
        inds = {}
        for c in names:
            spec = specs.get(c) if isinstance(c, str) else None
            if not isinstance(spec, dict):
                continue
            direction = spec.get("direction", "higher_is_worse")
            if direction not in ("higher_is_worse", "lower_is_worse"):
                raise InputError(f"the earlier run's manifest: the index report's direction of "
                                 f"indicator {shown(c)} is {shown(direction)}; run `socialrisk "
                                 f"run` again to rewrite the manifest")
            inds[c] = (_weight(spec.get("weight_given"), f"weight of indicator {shown(c)}"),
                       direction)
        if inds:
            out[name] = (_weight(d.get("weight_given", 0.0), f"weight of domain {shown(name)}"),
                         inds)
    return out


def fixed_scores(reference: pd.DataFrame, tables: dict[str, pd.DataFrame], manifest: dict
                 ) -> dict[str, pd.DataFrame]:
    """Score each of ``tables`` with the earlier run's normalisation (see the module docstring).

    Parameters
    ----------
    reference : DataFrame
        The earlier run's areas as it computed them (its normalisation).
    tables : dict of str to DataFrame
        Tables to score (e.g. the earlier run in the later run's areas, the later run).
    manifest : dict
        The earlier run's manifest (its index report and settings).

    Returns
    -------
    dict of str to DataFrame
        Per table: ``<domain>_score``, ``isolation_risk``, ``isolation_risk_rank``
        (within the reference: 1 + reference areas with a higher risk),
        ``isolation_risk_decile`` and ``norm_<indicator>`` x applied weight
        (``contrib_<indicator>``), aligned to the table's index.
    """
    s = run_settings(manifest, "the earlier run's manifest")
    method = s["normalisation"]
    maxd = s["max_distance_m"]

    def prep(t: pd.DataFrame) -> pd.DataFrame:
        cats = [c[: -len(schema.NEAREST_SUFFIX) - 1] for c in t.columns
                if c.endswith("_" + schema.NEAREST_SUFFIX)]
        return unreachable_at_limit(t, cats, maxd)

    ref = prep(reference)
    tabs = {k: prep(t) for k, t in tables.items()}
    domains = used_domains(manifest)
    if not domains:
        raise InputError("the earlier run's manifest has no index report (domains used); "
                         "run it again with this version of socialrisk")
    out = {k: pd.DataFrame(index=t.index) for k, t in tabs.items()}
    ref_dom: dict[str, pd.Series] = {}
    dom_raw: dict[str, dict[str, pd.Series]] = {k: {} for k in tabs}
    for name, (_, inds) in domains.items():
        w = pd.Series({c: wt for c, (wt, _) in inds.items()}, dtype=float)
        ref_cols = {}
        cols: dict[str, dict[str, pd.Series]] = {k: {} for k in tabs}
        for c, (_, direction) in inds.items():
            rb = apply_direction(pd.to_numeric(ref.get(c, pd.Series(np.nan, ref.index)),
                                               errors="coerce"), direction)
            ref_cols[c] = ref_normalise(rb, rb, method)
            for k, t in tabs.items():
                xv = pd.to_numeric(t[c], errors="coerce") if c in t.columns \
                    else pd.Series(np.nan, index=t.index)
                cols[k][c] = ref_normalise(apply_direction(xv, direction), rb, method)
        ref_dom[name] = _wmean(pd.DataFrame(ref_cols), w)
        for k in tabs:
            vals = pd.DataFrame(cols[k])
            dom_raw[k][name] = _wmean(vals, w)
            for c in vals.columns:
                out[k][f"norm_{c}"] = vals[c]
    dw = pd.Series({n: wt for n, (wt, _) in domains.items()}, dtype=float)
    ref_scores = pd.DataFrame({n: ref_normalise(ref_dom[n], ref_dom[n], method)
                               for n in domains})
    ref_risk = _wmean(ref_scores, dw)
    rr = np.sort(ref_risk.dropna().to_numpy())
    for k in tabs:
        sc = pd.DataFrame({n: ref_normalise(dom_raw[k][n], ref_dom[n], method) for n in domains},
                          index=tabs[k].index)
        for n in domains:
            out[k][schema.score_column(n)] = sc[n]
        risk = _wmean(sc, dw)
        out[k][schema.ISOLATION_RISK] = risk
        v = risk.to_numpy()
        rank = np.where(np.isnan(v), np.nan, 1 + rr.size - np.searchsorted(rr, v, "right"))
        out[k][schema.ISOLATION_RISK_RANK] = pd.array(np.where(np.isnan(rank), np.nan, rank),
                                                      dtype="Float64").round().astype("Int64")
        dec = np.ceil(rank * 10.0 / max(rr.size, 1))
        out[k][schema.ISOLATION_RISK_DECILE] = pd.array(dec, dtype="Float64").astype("Int64")
        # each indicator's weight in the index (domain weight x indicator weight, as given)
        for dwt, inds in domains.values():
            tot = sum(wt for wt, _ in inds.values())
            for c, (wt, _) in inds.items():
                out[k][f"contrib_{c}"] = out[k][f"norm_{c}"] * (dwt / dw.sum()) * (wt / tot)
    return out



def why_changed(contrib_b: pd.DataFrame, contrib_a: pd.DataFrame, n: int = 2) -> pd.Series:
    """Per area, the indicators whose (fixed-reference) weighted score changed most, in words."""
    d = (contrib_a - contrib_b.reindex(contrib_a.index)).fillna(0.0)
    d.columns = [c[len("contrib_"):] for c in d.columns]
    out = []
    arr = d.to_numpy()
    names = list(d.columns)
    for row in arr:
        order = np.argsort(-np.abs(row))[:n]
        parts = [f"{names[i]} {'worse' if row[i] > 0 else 'better'} ({row[i]:+.2f})"
                 for i in order if abs(row[i]) > 1e-9]
        out.append("; ".join(parts))
    return pd.Series(out, index=d.index, dtype=object)


def _input_digests(manifest: dict) -> dict[str, dict]:
    ins = manifest.get("inputs") if isinstance(manifest.get("inputs"), dict) else {}
    out: dict[str, dict] = {}
    for name, rec in ins.items():
        recs = rec if isinstance(rec, list) else [rec]
        for i, r in enumerate(recs):
            if not isinstance(r, dict):
                continue
            key = name if len(recs) == 1 else f"{name}[{i + 1}]"
            out[key] = {"path": r.get("path"), "sha256": r.get("sha256"),
                        "data_timestamp": r.get("data_timestamp") or r.get("modified")}
    scen = manifest.get("scenario")
    if isinstance(scen, dict):
        out["scenario"] = {"path": scen.get("description"), "sha256": scen.get("sha256"),
                           "data_timestamp": None}
    return out


def inputs_changed(before: dict, after: dict) -> list[dict]:
    """Per input (areas, osm, deprivation...): before and after checksums and whether it changed."""
    b, a = _input_digests(before), _input_digests(after)
    rows = []
    for key in list(dict.fromkeys([*b, *a])):
        rb, ra = b.get(key, {}), a.get(key, {})
        rows.append({"input": key, "before": rb.get("path"), "after": ra.get("path"),
                     "before_sha256": rb.get("sha256"), "after_sha256": ra.get("sha256"),
                     "before_date": rb.get("data_timestamp"),
                     "after_date": ra.get("data_timestamp"),
                     "changed": rb.get("sha256") != ra.get("sha256")})
    return rows
