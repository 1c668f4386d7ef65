"""Every score of a run: isolation risk, loneliness risk and the lenses.

* ``isolation_risk`` (structural): access to social infrastructure plus the
  deprivation and demographic factors that make distance matter
  (``Settings.domains``);
* ``loneliness_risk``: published risk factors of loneliness only
  (``Settings.loneliness_domains``; the evidence is in ``docs/method.md``);
* ``risk_<lens>`` for each lens asked for (``--lens``): the group's access (its
  categories, walking speed and amenity filter) and its own indicators
  (:mod:`risk.lens`).

Each score has ``_rank``, ``_decile`` and ``_drivers`` columns. A score none of
whose indicators is in the data is left out with a note (a ``ConfigError``
under ``--strict``), never silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from risk.access import aggregate_to_areas
from risk.engine import nearest_distance
from risk.hotspots import hotspots
from risk.index import DomainSpec, IndexResult, risk_index
from risk.lens import LensSpec, lens_access_column, lens_domains, lens_population
from risk.rules import AccessParams, unreachable_at_limit
from risk.sensitivity import sobol_indices
from risk.uncertainty import UncertaintyRanges, monte_carlo
from socialrisk.core import schema
from socialrisk.core.errors import ConfigError
from socialrisk.settings import Settings
from socialrisk.stages import Prepared, have_population, origin_weights

log = logging.getLogger(__name__)

__all__ = ["filtered_access", "index_view", "score_all"]


def filtered_access(p: Prepared, lenses: Sequence[LensSpec], params: AccessParams
                    ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Nearest distance per area to the amenities that pass each lens's tag filter.

    Returns
    -------
    (DataFrame indexed by area id, report)
        ``<category>_<tag>_nearest_m`` and ``<category>_<tag>_unreachable_share``
        per filtered lens category; the report gives per category how many
        amenities carry the tag at all (its coverage) and how many pass.
    """
    ids = pd.Index(p.areas[schema.AREA_ID].to_numpy(), name=schema.AREA_ID)
    wanted = [lens for lens in lenses if lens.amenity_filter]
    if not wanted:
        return pd.DataFrame(index=ids), {}
    if p.network is None or p.snapped.origins is None:
        return pd.DataFrame(index=ids), {"skipped": "no walking network"}
    area, weight = origin_weights(p.origins, have_population(p.origins))
    cols: dict[str, np.ndarray] = {}
    report: dict[str, Any] = {}
    n_origins = len(p.origins)
    for lens in wanted:
        for tag in lens.amenity_filter:
            if tag not in p.amenities.columns:
                raise ConfigError(f"lens {lens.name}: amenity_filter tag {tag!r} is not kept "
                                  f"from OpenStreetMap; use wheelchair")
        rep: dict[str, Any] = {}
        for cat in lens.categories:
            if cat not in p.snapped.amenities:
                continue
            rows = p.snapped.amenity_rows[cat]
            am = p.amenities.iloc[rows]
            ok = np.ones(len(am), dtype=bool)
            tagged = np.ones(len(am), dtype=bool)
            for tag, values in lens.amenity_filter.items():
                v = am[tag].astype("object")
                has = v.notna().to_numpy() & (v.astype(str).str.strip() != "").to_numpy()
                tagged &= has
                ok &= v.isin(values).to_numpy()
            col = lens_access_column(lens, cat)
            att = p.snapped.amenities[cat].select(ok)
            coverage = float(tagged.mean()) if len(am) else 0.0
            used = bool(len(am)) and coverage >= lens.min_tag_coverage
            rep[cat] = {"amenities": int(len(am)), "tagged": int(tagged.sum()),
                        "accepted": int(ok.sum()), "accepted_snapped": int(att.snapped.sum()),
                        "coverage": round(coverage, 4), "filter_applied": used}
            if not used:
                note = (f"lens {lens.name}: {', '.join(lens.amenity_filter)} tag on "
                        f"{int(tagged.sum())} of {len(am)} {cat} places "
                        f"({100 * coverage:.0f} %), below the lens's min_tag_coverage "
                        f"{100 * lens.min_tag_coverage:.0f} %: untagged places cannot be told "
                        f"from inaccessible ones, so every {cat} place counts")
                rep[cat]["note"] = note
                log.info("%s", note)
                continue
            if att.snapped.sum() == 0:
                cols[col] = np.full(n_origins, np.nan)
                continue
            dist, _ = nearest_distance(p.network, att, p.snapped.origins,
                                       limit=params.max_distance_m)
            cols[col] = dist
        report[lens.name] = rep
    if not cols:
        return pd.DataFrame(index=ids), report
    agg = aggregate_to_areas(pd.DataFrame(cols), area, weight)
    agg = agg.drop(columns=["n_origins", "origin_weight"])
    return agg.reindex(ids), report


def index_view(table: pd.DataFrame, categories: Sequence[str], s: Settings) -> pd.DataFrame:
    """The indices' view of the table: unreachable people at the search limit.

    Also for the lenses' filtered columns (``<cat>_<tag>_nearest_m``), and the
    walking minutes recomputed from those distances, so an area cut off from a
    service never looks better than one that can reach it.
    """
    cats = list(categories) + [c[: -len("_" + schema.NEAREST_SUFFIX)] for c in table.columns
                               if c.endswith("_" + schema.NEAREST_SUFFIX)
                               and c[: -len("_" + schema.NEAREST_SUFFIX)] not in categories]
    view = unreachable_at_limit(table, cats, s.max_distance_m)
    for cat in categories:
        near = schema.nearest_column(cat)
        if near in view.columns:
            d = view[near].to_numpy(dtype=float)
            view[f"{cat}_{schema.WALK_MIN_SUFFIX}"] = schema.walk_minutes(d, s.walk_speed_kmh)
            view[f"{cat}_{schema.SLOW_SUFFIX}"] = schema.walk_minutes(d, s.slow_walk_speed_kmh)
    return view


def _has_any(table: pd.DataFrame, domains: Mapping[str, DomainSpec]) -> bool:
    return any(i.column in table.columns and table[i.column].notna().any()
               for d in domains.values() for i in d.indicators)


def _score(view: pd.DataFrame, domains: Mapping[str, DomainSpec], s: Settings,
           labels: Mapping[str, str], name: str, prefix: str, what: str,
           report: dict[str, Any]) -> IndexResult | None:
    if not domains or not _has_any(view, domains):
        wanted = sorted({i.column for d in domains.values() for i in d.indicators})
        note = (f"{what} not scored: none of its indicators ({', '.join(wanted)}) is in the "
                f"data; give the tables that hold them (see docs/method.md)")
        if s.strict:
            raise ConfigError(f"{note}; --strict refuses to leave a score out")
        log.warning("%s", note)
        report["notes"].append(note)
        return None
    res = risk_index(view, domains, s.normalisation, s.n_drivers, name=name,
                     domain_prefix=prefix, labels=labels, strict=s.strict)
    return res


def score_all(table: pd.DataFrame, s: Settings, labels: Mapping[str, str],
              categories: Sequence[str], lenses: Sequence[LensSpec] = (),
              filters: Mapping[str, Mapping[str, Any]] | None = None,
              geometry: Any = None,
              ) -> tuple[pd.DataFrame, dict[str, Any], dict[str, IndexResult]]:
    """Every score of a run from the table of indicators.

    Parameters
    ----------
    table : DataFrame
        One row per area: access columns (and the lenses' filtered ones, from
        :func:`filtered_access`) and the deprivation/census columns.
    s : Settings
    labels : mapping
        Category labels for the drivers.
    categories : sequence of str
        The run's categories.
    lenses : sequence of LensSpec
    filters : mapping, optional
        The report of :func:`filtered_access` (lens -> category -> record with
        ``filter_applied``); without it no amenity filter applies.
    geometry : GeoSeries, optional
        The areas' shapes indexed like ``table``, for ``--hotspots``.

    Returns
    -------
    frame : DataFrame aligned to ``table``
        The isolation columns (domain scores, ``isolation_risk``, ``_rank``,
        ``_decile``, ``_missing``, ``_drivers``), the loneliness columns
        (``loneliness_<domain>_score``, ``loneliness_risk`` ...) and per lens
        ``risk_<lens>``, ``_rank``, ``_decile``, ``_drivers`` and
        ``<lens>_population``.
    report : dict
        The isolation index report (as before) with ``loneliness`` and
        ``lenses`` entries and ``notes``.
    results : dict of score name to IndexResult
        For the uncertainty analysis.
    """
    filters = filters or {}
    view = index_view(table, categories, s)
    iso = risk_index(view, s.domains, s.normalisation, s.n_drivers,
                     labels=labels, strict=s.strict)
    report = iso.report
    frames = [iso.frame]
    results = {schema.ISOLATION_RISK: iso}
    score_domains: dict[str, Mapping[str, DomainSpec]] = {schema.ISOLATION_RISK: s.domains}
    side: dict[str, Any] = {"notes": report["notes"]}
    lon = _score(view, s.loneliness_domains, s, labels, schema.LONELINESS_RISK,
                 schema.LONELINESS_PREFIX, "loneliness risk", side)
    if lon is not None:
        frames.append(lon.frame)
        results[schema.LONELINESS_RISK] = lon
        score_domains[schema.LONELINESS_RISK] = s.loneliness_domains
        report["loneliness"] = lon.report
        report["notes"].extend(f"loneliness: {n}" for n in lon.report["notes"])
    report["lenses"] = {}
    for lens in lenses:
        missing_cats = [c for c in lens.categories if c not in categories]
        filt = filters.get(lens.name, {})
        domains = lens_domains(lens, categories,
                               [c for c, r in filt.items() if r.get("filter_applied")])
        name = schema.lens_score(lens.name)
        res = _score(view, domains, s, labels, name, f"{name}_", f"lens {lens.name}", side)
        pop, how = lens_population(lens, table)
        entry: dict[str, Any] = {"label": lens.label, "who": lens.who, "population": how,
                                 "walk_speed": lens.walk_speed,
                                 "amenity_filter": {k: list(v) for k, v in
                                                    lens.amenity_filter.items()},
                                 "categories_not_in_taxonomy": missing_cats,
                                 "amenity_filter_by_category": filt}
        report["notes"].extend(r["note"] for r in filt.values() if r.get("note"))
        if missing_cats:
            report["notes"].append(f"lens {lens.name}: categories {', '.join(missing_cats)} "
                                   f"are not in the taxonomy; left out")
        if res is not None:
            keep = [name, f"{name}_rank", f"{name}_decile", f"{name}_drivers"]
            f = res.frame[keep].copy()
            f[schema.lens_population(lens.name)] = pop.reindex(f.index).to_numpy()
            frames.append(f)
            results[name] = res
            score_domains[name] = domains
            entry["index"] = res.report
            report["notes"].extend(f"lens {lens.name}: {n}" for n in res.report["notes"])
        report["lenses"][lens.name] = entry
    if s.uncertainty:
        mc, report["uncertainty"] = uncertainty_all(view, score_domains, s)
        frames.append(mc)
    frame = pd.concat(frames, axis=1)
    if s.hotspots and geometry is not None:
        hs, report["hotspots"] = hotspots_all(frame, list(score_domains), geometry)
        frame = pd.concat([frame, hs], axis=1)
    return frame, report, results


#: Sobol analysis for the headline scores only (lenses: rank intervals only)
SOBOL_BASE = 256


def uncertainty_all(view: pd.DataFrame, score_domains: Mapping[str, Mapping[str, DomainSpec]],
                    s: Settings) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``--uncertainty N``: rank intervals per score, Sobol indices for the headline scores.

    The ranges are :class:`risk.uncertainty.UncertaintyRanges`' defaults (domain
    and indicator weights +-50 %, the three normalisation methods, a walking
    limit of 20-60 minutes at 3.0-4.8 km/h); ``docs/method.md`` gives why.
    """
    ranges = UncertaintyRanges()
    frames = []
    report: dict[str, Any] = {"draws": s.uncertainty, "seed": s.uncertainty_seed,
                              "scores": {}}
    for name, domains in score_domains.items():
        # the domains and indicators the point estimate used (the others were dropped
        # with a note there; dropping them here too keeps the logs to one note each)
        used = {d: DomainSpec(spec.weight, [i for i in spec.indicators
                                            if i.column in view.columns
                                            and view[i.column].notna().any()])
                for d, spec in domains.items()}
        used = {d: spec for d, spec in used.items() if spec.indicators}
        res = monte_carlo(view, used, normalisation=s.normalisation, n=s.uncertainty,
                          ranges=ranges, seed=s.uncertainty_seed, name=name, quiet=s.quiet)
        frames.append(res.frame)
        entry = {"monte_carlo": res.report}
        if name in schema.HEADLINE_SCORES:
            sob = sobol_indices(view, used, normalisation=s.normalisation, ranges=ranges,
                                n_base=SOBOL_BASE, seed=s.uncertainty_seed, quiet=s.quiet)
            entry["sobol"] = {**sob.attrs.get("report", {}),
                              "indices": sob.reset_index().to_dict(orient="records")}
            top = sob["ST"].idxmax() if len(sob) else None
            if top is not None:
                log.info("%s: the choice that moves the ranking most is %s (total Sobol "
                         "index %.2f)", name, top, sob.loc[top, "ST"])
        robust = int(res.frame[f"{name}_robust"].sum())
        entry["robustly_at_risk"] = robust
        report["scores"][name] = entry
        log.info("%s: %d area(s) in the top decile in at least 90 %% of %d draws", name,
                 robust, s.uncertainty)
    return pd.concat(frames, axis=1), report


def hotspots_all(frame: pd.DataFrame, scores: Sequence[str], geometry: Any
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``--hotspots``: Getis-Ord Gi* hot and cold spots of each score (``<score>_hotspot``)."""
    out = {}
    report: dict[str, Any] = {"method": "Getis-Ord Gi* (PySAL esda), queen contiguity, "
                                        "999 permutations, p < 0.05"}
    for name in scores:
        hs = hotspots(geometry, frame[name])
        col = f"{name}_hotspot"
        out[col] = hs["hotspot"].to_numpy()
        report[name] = hs["hotspot"].value_counts().to_dict()
    return pd.DataFrame(out, index=frame.index), report
