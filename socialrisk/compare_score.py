"""The fixed reference of a comparison: a later run scored on the earlier run's scale.

Ranks are relative: an area can move when nothing changed on the ground. Here
every indicator value of a table is placed in the earlier run's distribution
of that indicator (:func:`risk.fixed_reference.ref_normalise`, re-exported
here), and the domains and the index are combined with the earlier run's
weights, as its index report records them
(:func:`risk.fixed_reference.fixed_index`). An area whose inputs did not
change keeps its score exactly. Also the run-level
differences read from two manifests (:func:`inputs_changed`). Pure computation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from geo.taxonomy import load_taxonomy
from risk.fixed_reference import fixed_index, ref_normalise
from risk.rules import unreachable_at_limit
from socialrisk.core import schema
from socialrisk.core.errors import InputError, shown
from socialrisk.maplegend import format_value, indicator_label

__all__ = ["ref_normalise", "fixed_scores", "run_settings", "used_domains",
           "why_changed", "inputs_changed"]

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
    rep = manifest.get("index") if isinstance(manifest.get("index"), dict) else {}
    dm = rep.get("domain_normalisation")
    return fixed_index(ref, tabs, domains, method,
                       domain_method=dm if dm in NORMALISATIONS else method)


def why_changed(contrib_b: pd.DataFrame, contrib_a: pd.DataFrame, n: int = 2, *,
                before: pd.DataFrame | None = None, after: pd.DataFrame | None = None,
                labels: dict[str, str] | None = None) -> pd.Series:
    """Per area, the indicators whose (fixed-reference) weighted score changed most, in words.

    Each of the ``n`` parts names the indicator in plain words
    (:func:`socialrisk.maplegend.indicator_label`; category labels from ``labels``,
    else the default taxonomy's), says whether it lowers or raises the risk and by
    how many points of its weighted score ("distance to the nearest GP surgery
    (lower risk, -2.8 points)"); given the areas' raw indicator values ``before``
    and ``after`` (indexed like ``contrib_a``), the values with their unit
    instead of the points (:func:`socialrisk.maplegend.format_value`): "distance
    to the nearest GP surgery from 9.7 km to 2.1 km (lower risk)". Plain
    ASCII, so the text reads the same in ``change.csv`` opened in a spreadsheet.
    """
    d = (contrib_a - contrib_b.reindex(contrib_a.index)).fillna(0.0)
    d.columns = [c[len("contrib_"):] for c in d.columns]
    names = list(d.columns)
    if labels is None:
        labels = {k: c.label for k, c in load_taxonomy().items()}
    words = {c: _indicator_words(c, labels) for c in names}

    def values(t: pd.DataFrame | None, c: str) -> np.ndarray | None:
        if t is None or c not in t.columns:
            return None
        return pd.to_numeric(t[c], errors="coerce").reindex(d.index).to_numpy(dtype=float)

    raw = {c: (values(before, c), values(after, c)) for c in names}
    out = []
    for k, row in enumerate(d.to_numpy()):
        parts = []
        for i in np.argsort(-np.abs(row))[:n]:
            if abs(row[i]) <= 1e-9:
                continue
            c = names[i]
            vb, va = raw[c]
            way = "higher" if row[i] > 0 else "lower"
            shown_b = format_value(c, vb[k]) if vb is not None and va is not None else ""
            shown_a = format_value(c, va[k]) if shown_b else ""
            if shown_b and shown_a != shown_b:
                parts.append(f"{words[c]} from {shown_b} to {shown_a} ({way} risk)")
            elif shown_b:  # a change too small to show in the value's own unit
                parts.append(f"{words[c]} slightly {'worse' if row[i] > 0 else 'better'}, "
                             f"still {shown_a} ({way} risk, {_points(row[i])})")
            else:
                parts.append(f"{words[c]} ({way} risk, {_points(row[i])})")
        text = "; ".join(parts)
        out.append(text[:1].upper() + text[1:])
    return pd.Series(out, index=d.index, dtype=object)


def _points(v: float) -> str:
    """A change of a weighted score, to the precision that shows it (never "-0.0")."""
    if abs(v) >= 0.05:
        return f"{v:+.1f} points"
    return f"{v:+.2f} points" if abs(v) >= 0.005 else "less than 0.01 points"


def _indicator_words(column: str, labels: dict[str, str]) -> str:
    """An indicator's label inside a sentence: no unit in brackets, lower-case start.

    An indicator of a category the labels do not know says the category's name
    ("my_club_nearest_m" -> "distance to the nearest my club").
    """
    cat = next((c for c in (column[: -len(s) - 1] for s in (schema.NEAREST_SUFFIX,
                                                              schema.WALK_MIN_SUFFIX)
                                                   if column.endswith("_" + s))
                if c and c not in labels), None)
    if cat:
        labels = {**labels, cat: cat.replace("_", " ")}
    text = indicator_label(column, labels).removesuffix(" (m)")
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


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
