"""Two runs compared: what changed per area, on a fixed reference, and why.

``socialrisk compare BEFORE AFTER --out DIR`` reads two run folders (written by
``socialrisk run`` or saved from a what-if, see :mod:`socialrisk.history`) and
writes ``change.csv``, ``change.gpkg``, ``change.html`` and ``manifest.json``
into ``DIR`` through the output-folder rules of :mod:`socialrisk.outdir`.

Method (``docs/monitoring.md``):

* **Raw indicators first**: walking minutes, counts within 800 m, shares of
  residents beyond the threshold, population and the index inputs, each as
  ``<col>_before``, ``<col>_after`` and ``<col>_change`` (after - before).
* **Fixed reference**: ranks are relative, so an area can move with no change on
  the ground. The later run is re-scored against the earlier run's
  normalisation (:func:`fixed_scores`): for ``rank_exp`` every value is placed
  in the earlier run's distribution (its empirical CDF, linearly interpolated
  between the earlier values, capped at its best and worst), then the same
  exponential transform, domain weights and deciles are applied. An area whose
  inputs did not change keeps its score exactly; "better" means better.
* **Vintages**: with ``lookup`` (the ONS LSOA 2011 -> 2021 lookup), the earlier
  run's areas are converted to LSOA 2021 by :func:`geo.lookup.lsoa11_to_lsoa21`
  (splits copy rates and split counts, merges take population-weighted means);
  the method is stated per area. Areas found in one run only are kept as rows
  with ``comparable`` False and listed in the manifest, never dropped.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.lookup import lsoa11_to_lsoa21, read_lsoa_lookup
from risk.engine import nearest_distance
from risk.equity import fifth_gap, weighted_median
from socialrisk import __version__
from socialrisk.compare_report import render_html
from socialrisk.compare_score import (
    fixed_scores,
    inputs_changed,
    run_settings,
    used_domains,
    why_changed,
)
from socialrisk.core import schema
from socialrisk.core.errors import InputError, shown
from socialrisk.core.sanitize import csv_safe
from socialrisk.outdir import check_out_dir, owned_outputs, sha256_file, staging
from socialrisk.outputs import write_json
from socialrisk.runstore import load_run
from socialrisk.settings import ANALYSIS_SETTINGS, Settings

log = logging.getLogger(__name__)

#: the files ``compare`` writes into its output folder
COMPARE_FILES = ("change.csv", "change.gpkg", "change.html", "manifest.json")
#: the walking time of "population within N minutes" (the issue's 10 minutes)
WITHIN_MIN = 10.0
MAX_MANIFEST_BYTES = 50_000_000
#: columns that are counts of people (split on a split, summed on a merge)
COUNT_COLUMNS = ("population", "pop_0_15", "pop_60_plus", "pop_18_66", "origin_weight",
                 "n_origins")


@dataclass
class Run:
    """One run folder as read for a comparison."""

    folder: Path
    manifest: dict
    areas: pd.DataFrame          # index area_id, no geometry
    geometry: gpd.GeoSeries      # index area_id, EPSG:4326

    @property
    def settings(self) -> dict:
        """The run's settings, checked (:func:`run_settings`; defaults for missing keys)."""
        return run_settings(self.manifest, shown(str(self.folder / "manifest.json"), 200))


@dataclass
class Comparison:
    """The result of :func:`compare_runs`: the per-area table and the summary."""

    change: gpd.GeoDataFrame
    summary: dict
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- reading


def read_manifest(folder: Path) -> dict:
    """The ``manifest.json`` of a run folder (plain JSON, size-checked)."""
    path = folder / "manifest.json"
    if not path.is_file():
        raise InputError(f"{shown(str(folder), 200)} has no manifest.json; give the --out "
                         f"folder of a `socialrisk run`")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise InputError(f"{shown(str(path), 200)} is too large to be a run manifest")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{shown(str(path), 200)} is not valid JSON ({exc}); run "
                         f"`socialrisk run` again to rewrite it") from None
    if not isinstance(m, dict) or "socialrisk_version" not in m:
        raise InputError(f"{shown(str(path), 200)} is not a socialrisk run manifest")
    return m


def read_run(folder: str | Path) -> Run:
    """Read a run folder: its manifest and areas (``areas.gpkg``, else ``areas.csv``)."""
    f = Path(folder).expanduser().resolve()
    if not f.is_dir():
        raise InputError(f"run folder {shown(str(folder), 200)} is not a folder; give the "
                         f"--out folder of a `socialrisk run`")
    manifest = read_manifest(f)
    if (f / "areas.gpkg").is_file():
        g = gpd.read_file(f / "areas.gpkg", layer="areas")
        g = g.to_crs("EPSG:4326") if g.crs is not None else g.set_crs("EPSG:4326")
    elif (f / "areas.csv").is_file():
        t = pd.read_csv(f / "areas.csv", dtype={schema.AREA_ID: str})
        g = gpd.GeoDataFrame(t, geometry=gpd.GeoSeries([None] * len(t)), crs="EPSG:4326")
    else:
        raise InputError(f"run folder {shown(str(f), 200)} has no areas.gpkg or areas.csv")
    if schema.AREA_ID not in g.columns:
        raise InputError(f"{shown(str(f), 200)}: its areas have no area_id column")
    g[schema.AREA_ID] = g[schema.AREA_ID].astype(str)
    if g[schema.AREA_ID].duplicated().any():
        dup = g.loc[g[schema.AREA_ID].duplicated(), schema.AREA_ID].iloc[0]
        raise InputError(f"{shown(str(f), 200)}: area id {shown(dup)} appears twice")
    g = g.set_index(schema.AREA_ID)
    areas = pd.DataFrame(g.drop(columns=g.geometry.name))
    run = Run(f, manifest, areas, g.geometry)
    _ = run.settings  # a damaged manifest fails now, in one line
    return run


# ---------------------------------------------------------------- run-level differences


def settings_differences(before: dict, after: dict) -> dict[str, dict]:
    """Analysis settings (``ANALYSIS_SETTINGS``) that differ: ``{key: {before, after}}``."""
    out = {}
    default = Settings().as_dict()  # a key an older version did not write had its default
    for key in ANALYSIS_SETTINGS:
        b, a = before.get(key, default.get(key)), after.get(key, default.get(key))
        if json.dumps(b, sort_keys=True, default=str) != json.dumps(a, sort_keys=True,
                                                                     default=str):
            out[key] = {"before": b, "after": a}
    return out


# ---------------------------------------------------------------- per-area table


def headline_columns(before: pd.DataFrame, after: pd.DataFrame, manifest: dict) -> list[str]:
    """Columns compared, raw indicators first: access, population, index inputs, then scores."""
    both = [c for c in before.columns if c in after.columns]
    beyond = run_settings(manifest, "the earlier run's manifest")["beyond_threshold_m"]
    cats = [c[: -len(schema.WALK_MIN_SUFFIX) - 1] for c in both
            if c.endswith("_" + schema.WALK_MIN_SUFFIX)]
    raw: list[str] = []
    for cat in cats:
        cols = schema.access_columns(cat, (800.0,), (beyond,))
        raw += [cols.walk_min, cols.count[800.0], cols.share_beyond[beyond]]
    raw.append(schema.POPULATION)
    raw += [c for _, (_, inds) in used_domains(manifest).items() for c in inds
            if not c.endswith("_" + schema.NEAREST_SUFFIX)]
    raw += ["imd_decile"]
    scores = [c for c in both if c.endswith("_score") and c not in raw]
    out = [*raw, *scores, schema.ISOLATION_RISK, schema.ISOLATION_RISK_RANK,
           schema.ISOLATION_RISK_DECILE]
    return [c for c in dict.fromkeys(out) if c in both and _numeric(before[c])
            and _numeric(after[c])]


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.to_numeric(s, errors="coerce").notna().any()


# ---------------------------------------------------------------- population within N minutes


def population_within(run: Run, within_min: float = WITHIN_MIN) -> tuple[pd.DataFrame, str]:
    """People per area within ``within_min`` walking minutes of each category, and how.

    Exact from the run's own share of residents beyond ``beyond_threshold_m``
    when that distance is ``within_min`` minutes at the run's walking speed
    (800 m at 4.8 km/h); otherwise from the run's app data (a bounded walk from
    every amenity over the saved network); otherwise NaN, with the reason.
    """
    s = run.settings
    speed, beyond = s["walk_speed_kmh"], s["beyond_threshold_m"]
    within_m = schema.minutes_to_metres(within_min, speed)
    t = run.areas
    cats = [c[: -len(schema.WALK_MIN_SUFFIX) - 1] for c in t.columns
            if c.endswith("_" + schema.WALK_MIN_SUFFIX)]
    pop = pd.to_numeric(t.get(schema.POPULATION, pd.Series(np.nan, t.index)), errors="coerce")
    if math.isclose(within_m, beyond, rel_tol=1e-9):
        out = pd.DataFrame({c: pop * (1 - pd.to_numeric(t[f"{c}_share_beyond_{beyond:g}m"],
                                                        errors="coerce"))
                            for c in cats if f"{c}_share_beyond_{beyond:g}m" in t.columns},
                           index=t.index)
        return out, f"from the share of residents beyond {beyond:g} m ({within_min:g} min)"
    app = run.folder / "app"
    if app.is_dir():
        try:
            return _within_from_app(app, cats, within_m), (
                f"walked over the saved network to {within_m:.0f} m ({within_min:g} min at "
                f"{speed:g} km/h)")
        except InputError as exc:
            why = f"app data unusable: {exc}"
    else:
        why = "the run has no app data"
    return pd.DataFrame(np.nan, index=t.index, columns=cats), (
        f"not measured: {within_min:g} min is {within_m:.0f} m at {speed:g} km/h, the run's "
        f"share is beyond {beyond:g} m, and {why}")


def _within_from_app(app: Path, cats: list[str], within_m: float) -> pd.DataFrame:
    prepared, _ = load_run(app)
    o = prepared.origins
    pop = o[schema.POPULATION].to_numpy(dtype=float)
    out = {}
    for cat in cats:
        att = prepared.snapped.amenities.get(cat)
        if att is None or not att.snapped.any() or prepared.snapped.origins is None:
            continue
        d, _ = nearest_distance(prepared.network, att, prepared.snapped.origins, limit=within_m)
        out[cat] = pd.Series(np.where(d <= within_m, pop, 0.0)).groupby(
            o[schema.AREA_ID].astype(str).to_numpy()).sum()
    return pd.DataFrame(out)


# ---------------------------------------------------------------- the comparison


def _convert(before: Run, after: Run, lookup: str | Path, notes: list[str]
             ) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """The earlier run's numeric table in LSOA 2021 codes, the method per area, unconverted ids."""
    lk = read_lsoa_lookup(lookup)
    t = before.areas.select_dtypes("number")
    known = t.index.isin(set(lk["lsoa11_code"].astype(str)))
    missing = list(t.index[~known])
    if missing:
        notes.append(f"{len(missing)} earlier area(s) are not LSOA 2011 codes of the lookup and "
                     f"cannot be converted (e.g. {missing[0]})")
    pop_a = pd.to_numeric(after.areas.get(schema.POPULATION), errors="coerce") \
        if schema.POPULATION in after.areas.columns else None
    pop_b = t[schema.POPULATION] if schema.POPULATION in t.columns else None
    counts = tuple(c for c in COUNT_COLUMNS if c in t.columns)
    conv, report = lsoa11_to_lsoa21(
        t[known], lk, parent_weights=pop_b if pop_b is not None and pop_b.notna().any()
        else None, child_weights=pop_a if pop_a is not None and pop_a.notna().any() else None,
        counts=counts)
    found = report["n_parents_found"].to_numpy()
    whole = (found > 0) & (found == report["n_parents"].to_numpy())
    partial = report.index[(found > 0) & ~whole].astype(str)
    if len(partial):
        notes.append(f"{len(partial)} LSOA 2021 area(s) have only some of their LSOA 2011 "
                     f"parents in the earlier run (e.g. {partial[0]}) and are not compared")
    conv = conv[whole]
    conv.index = conv.index.astype(str)
    method = report.loc[whole, "method"].astype(str)
    method.index = method.index.astype(str)
    return conv, method, missing + list(partial)


def compare_runs(before: str | Path | Run, after: str | Path | Run, *,
                 lookup: str | Path | None = None, within_min: float = WITHIN_MIN,
                 strict: bool = False) -> Comparison:
    """Compare two runs area by area (see the module docstring).

    Parameters
    ----------
    before, after : path or Run
        Run folders (``socialrisk run --out``), earlier first.
    lookup : path, optional
        The ONS LSOA 2011 -> 2021 lookup CSV, when the earlier run's areas are
        LSOA 2011 and the later run's LSOA 2021.
    within_min : float
        Walking minutes of "population within".
    strict : bool
        Areas that cannot be compared are an :class:`InputError`.

    Returns
    -------
    Comparison
    """
    t0 = time.perf_counter()
    b = before if isinstance(before, Run) else read_run(before)
    a = after if isinstance(after, Run) else read_run(after)
    notes: list[str] = []
    differ = settings_differences(b.settings, a.settings)
    if differ:
        notes.append("the runs' settings differ, so part of any change comes from the "
                     "settings, not the ground: " + ", ".join(
                         f"{k} {_short(v['before'])} -> {_short(v['after'])}"
                         for k, v in differ.items()))
        log.warning("%s", notes[-1])
    if lookup:
        tb, method, unconverted = _convert(b, a, lookup, notes)
    else:
        tb, method, unconverted = b.areas, pd.Series("same code", index=b.areas.index), []
    ta = a.areas
    common = [i for i in ta.index if i in tb.index]
    only_b = [i for i in tb.index if i not in ta.index] + unconverted
    only_a = [i for i in ta.index if i not in tb.index]
    hint = (" (LSOA 2011 and 2021 codes differ: give --lookup with the ONS LSOA 2011 -> "
            "2021 lookup)" if not lookup and _lsoa_like(tb.index) else "")
    if not common:
        raise InputError(f"the two runs have no area in common{hint}; compare runs of the "
                         f"same areas")
    if only_b or only_a:
        notes.append(f"{len(only_b)} area(s) of the earlier run and {len(only_a)} of the later "
                     f"run have no counterpart and are not compared (listed in the manifest, "
                     f"rows with comparable = False){hint}")
        log.warning("%s", notes[-1])
        if strict:
            raise InputError(f"{notes[-1]}; --strict refuses an incomplete comparison")
    cols = headline_columns(b.areas, ta, b.manifest)
    ids = [*ta.index, *[i for i in only_b if i not in ta.index]]
    index = pd.Index(ids, name=schema.AREA_ID)
    comparable = index.isin(common)
    d: dict[str, Any] = {}
    name_a, name_b = ta.get(schema.AREA_NAME), b.areas.get(schema.AREA_NAME)
    if name_a is not None or name_b is not None:
        n = name_a.reindex(ids).astype(object) if name_a is not None \
            else pd.Series(None, index=ids, dtype=object)
        if name_b is not None:
            n = n.where(n.notna(), name_b.reindex(ids).astype(object))
        d[schema.AREA_NAME] = n.to_numpy(dtype=object)
    d["comparable"] = comparable
    d["vintage"] = method.reindex(ids).fillna("no counterpart").to_numpy(dtype=object)

    def change(after_v, before_v) -> np.ndarray:
        diff = np.asarray(after_v, dtype=float) - np.asarray(before_v, dtype=float)
        return np.where(comparable, diff, np.nan)

    for c in cols:
        vb = pd.to_numeric(tb[c], errors="coerce").reindex(ids).to_numpy(dtype=float) \
            if c in tb.columns else np.full(len(ids), np.nan)
        va = pd.to_numeric(ta[c], errors="coerce").reindex(ids).to_numpy(dtype=float)
        d[f"{c}_before"], d[f"{c}_after"], d[f"{c}_change"] = vb, va, change(va, vb)
    fixed = fixed_scores(b.areas, {"before": tb, "after": ta}, b.manifest)
    fb, fa = fixed["before"].reindex(ids), fixed["after"].reindex(ids)
    rb, ra = fb[schema.ISOLATION_RISK].to_numpy(), fa[schema.ISOLATION_RISK].to_numpy()
    d["isolation_risk_fixed_before"], d["isolation_risk_fixed_after"] = rb, ra
    d["isolation_risk_fixed_change"] = change(ra, rb)
    db = fb[schema.ISOLATION_RISK_DECILE].to_numpy(dtype=float, na_value=np.nan)
    da = fa[schema.ISOLATION_RISK_DECILE].to_numpy(dtype=float, na_value=np.nan)
    d["decile_fixed_before"] = pd.array(db, dtype="Float64").astype("Int64")
    d["decile_fixed_after"] = pd.array(da, dtype="Float64").astype("Int64")
    d["decile_move_fixed"] = pd.array(change(da, db), dtype="Float64").astype("Int64")
    if f"{schema.ISOLATION_RISK_DECILE}_change" in d:
        d["decile_move"] = pd.array(d[f"{schema.ISOLATION_RISK_DECILE}_change"],
                                    dtype="Float64").astype("Int64")
    contrib = [c for c in fb.columns if c.startswith("contrib_")]
    why = why_changed(fb[contrib], fa[contrib], before=tb.reindex(ids), after=ta.reindex(ids))
    d["why"] = np.where(comparable, why.reindex(ids).fillna("").to_numpy(dtype=object), "")
    ins = inputs_changed(b.manifest, a.manifest)
    changed = [r["input"] for r in ins if r["changed"]] + (["settings"] if differ else [])
    d["inputs_changed"] = np.full(len(ids), "; ".join(changed), dtype=object)
    geom = a.geometry.reindex(ids)
    if only_b and not lookup:
        geom = geom.fillna(b.geometry.reindex(ids))
    out = gpd.GeoDataFrame(pd.DataFrame(d, index=index).reset_index(),
                           geometry=geom.to_numpy(), crs="EPSG:4326")
    summary = _summary(b, a, out, ins, differ, only_b, only_a, method, within_min, notes)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return Comparison(out, summary, notes)


def _lsoa_like(ids: pd.Index) -> bool:
    return bool(len(ids)) and bool(pd.Series(ids, dtype=str).str.match(r"^[EW]01\d{6}$").mean()
                                   > 0.9)


def _short(v: Any, limit: int = 60) -> str:
    text = json.dumps(v, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _wmedian(v: pd.Series, w: pd.Series | None) -> float:
    return weighted_median(v, w if w is not None and w.notna().any() else None)


def _run_figures(run: Run, within_min: float, risk: pd.Series | None = None) -> dict:
    """Study-area figures of one run: population within N minutes, medians, equity gaps.

    ``risk``: the isolation risk on the earlier run's scale (the fixed reference).
    """
    t = run.areas
    if risk is not None:
        t = t.assign(**{schema.ISOLATION_RISK: risk.reindex(t.index).to_numpy()})
    pop = pd.to_numeric(t[schema.POPULATION], errors="coerce") \
        if schema.POPULATION in t.columns else None
    within, how = population_within(run, within_min)
    total = float(pop.sum()) if pop is not None and pop.notna().any() else math.nan
    cats = {}
    for c in within.columns:
        n = float(within[c].sum(min_count=1))
        cats[c] = {"population_within": n,
                   "share_within": n / total if total > 0 else math.nan,
                   "median_walk_min": _wmedian(pd.to_numeric(t.get(f"{c}_walk_min"),
                                                             errors="coerce"), pop)}
    gaps = {}
    if "imd_decile" in t.columns and pd.to_numeric(t["imd_decile"], errors="coerce").notna().any():
        for col in [*(f"{c}_walk_min" for c in within.columns), schema.ISOLATION_RISK]:
            if col in t.columns:
                g = fifth_gap(t, col, "imd_decile",
                              schema.POPULATION if pop is not None else None)
                gaps[col] = {"most_deprived": g.most_deprived, "least_deprived": g.least_deprived,
                             "gap": g.gap, "n_most": g.n_most, "n_least": g.n_least}
    return {"folder": str(run.folder), "started": run.manifest.get("started"),
            "areas": len(t), "population": total, "within_min": within_min,
            "within_method": how, "categories": cats, "equity_gap": gaps,
            "targets": run.manifest.get("targets", {}).get("study_area", [])
            if isinstance(run.manifest.get("targets"), dict) else []}


def _summary(b: Run, a: Run, ch: gpd.GeoDataFrame, ins: list[dict], differ: dict,
             only_b: list, only_a: list, method: pd.Series, within_min: float,
             notes: list[str]) -> dict:
    comp = ch[ch["comparable"]]
    d = comp["isolation_risk_fixed_change"]
    tol = 1e-9
    movers = comp.assign(_abs=d.abs()).sort_values("_abs", ascending=False)
    top = [{"area_id": r[schema.AREA_ID], "area_name": r.get(schema.AREA_NAME),
            "change": r["isolation_risk_fixed_change"],
            "decile_before": r["decile_fixed_before"], "decile_after": r["decile_fixed_after"],
            "why": r["why"]}
           for _, r in movers.head(10).iterrows() if abs(r["isolation_risk_fixed_change"]) > tol]
    fixed_after = ch.set_index(schema.AREA_ID)["isolation_risk_fixed_after"]
    fig_b, fig_a = _run_figures(b, within_min), _run_figures(a, within_min, fixed_after)
    if "not measured" in fig_b["within_method"] or "not measured" in fig_a["within_method"]:
        notes.append(f"population within {within_min:g} minutes: before "
                     f"{fig_b['within_method']}; after {fig_a['within_method']}")
    dm = pd.to_numeric(comp["decile_move_fixed"], errors="coerce")
    vintage = method.reindex(comp[schema.AREA_ID]).fillna("same code").value_counts().to_dict()
    return {
        "before": fig_b, "after": fig_a,
        "areas_compared": int(len(comp)), "areas_before": len(b.areas), "areas_after": len(a.areas),
        "not_compared": {"only_before": [str(i) for i in only_b],
                         "only_after": [str(i) for i in only_a]},
        "vintage_methods": {str(k): int(v) for k, v in vintage.items()},
        "settings_differ": differ, "inputs": ins,
        "fixed_reference": {
            "method": "the later run re-scored with the earlier run's normalisation "
                      f"({b.settings.get('normalisation', 'rank_exp')}); see docs/monitoring.md",
            "areas_better": int((d < -tol).sum()), "areas_worse": int((d > tol).sum()),
            "areas_unchanged": int((d.abs() <= tol).sum()),
            "areas_without_score": int(d.isna().sum()),  # e.g. merged: ranks left empty
            "mean_change": float(d.mean()) if d.notna().any() else math.nan,
            "moved_to_lower_risk_decile": int((dm > 0).sum()),
            "moved_to_higher_risk_decile": int((dm < 0).sum())},
        "top_movers": top, "notes": notes,
    }


# ---------------------------------------------------------------- writing and the command


def _check_compare_out(out: Path, runs: list[Path]) -> None:
    """Refuse an --out that is a run folder (its files would be replaced).

    Any socialrisk output in ``out`` (by its marker, or the ``manifest.json``
    of an older version) other than a comparison's own files means a run's
    folder: refused, nothing changed.
    """
    target = Path(out).expanduser().resolve()
    for r in runs:
        if target == r.resolve():
            raise InputError(f"--out {target} is one of the runs compared; give a new folder "
                             f"for the comparison, e.g. {target.parent / 'change'}")
    owned = owned_outputs(target)
    other = sorted(n for n in owned if n not in COMPARE_FILES)
    if not other and "manifest.json" in owned and not _is_comparison(target / "manifest.json"):
        other = ["manifest.json"]
    if other:
        raise InputError(f"--out {target} holds a run's outputs (e.g. {shown(other[0])}); "
                         f"give a new or empty folder, or the folder of a previous "
                         f"comparison (nothing was changed)")


def _is_comparison(path: Path) -> bool:
    """Whether ``path`` is the ``manifest.json`` of a comparison."""
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            return False
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(m, dict) and m.get("kind") == "comparison"


def write_comparison(comp: Comparison, out: str | Path, before: Run, after: Run,
                     lookup: str | Path | None = None) -> Path:
    """Write ``change.csv``, ``change.gpkg``, ``change.html`` and ``manifest.json`` to ``out``."""
    _check_compare_out(Path(out), [before.folder, after.folder])
    check_out_dir(out)
    labels = {}
    for run in (before, after):
        tax = run.folder / "app" / "labels.json"
        if tax.is_file() and tax.stat().st_size < 1_000_000:
            try:
                data = json.loads(tax.read_text(encoding="utf-8"))
                labels.update({k: v for k, v in (data.get("prepared") or {}).items()
                               if isinstance(k, str) and isinstance(v, str)}
                              if isinstance(data, dict) else {})
            except (OSError, UnicodeDecodeError, ValueError, AttributeError):
                pass
    with staging(out) as tmp:
        g = comp.change
        csv_safe(pd.DataFrame(g.drop(columns=g.geometry.name))).to_csv(tmp / "change.csv",
                                                                       index=False)
        if g.geometry.notna().any():
            g.to_file(tmp / "change.gpkg", layer="change", driver="GPKG")
        (tmp / "change.html").write_text(render_html(g, comp.summary, labels), encoding="utf-8")
        manifest = {
            "socialrisk_version": __version__, "kind": "comparison",
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "lookup": _file_record(Path(lookup)) if lookup else None,
            "runs": {side: {"folder": str(r.folder),
                            "manifest_sha256": sha256_file(r.folder / "manifest.json"),
                            "areas_sha256": {n: sha256_file(r.folder / n)
                                             for n in ("areas.gpkg", "areas.csv")
                                             if (r.folder / n).is_file()},
                            "manifest": r.manifest}
                     for side, r in (("before", before), ("after", after))},
            "summary": comp.summary,
            "outputs": {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                        for p in sorted(tmp.iterdir()) if p.name in COMPARE_FILES}}
        write_json(tmp / "manifest.json", manifest)
    return Path(out).expanduser().resolve()


def _file_record(p: Path) -> dict:
    return {"path": str(p), "sha256": sha256_file(p), "bytes": p.stat().st_size}


def add_parser(sub: Any) -> None:
    """Register ``socialrisk compare`` on the CLI's sub-parsers."""
    c = sub.add_parser("compare", help="compare two run folders area by area (what changed)",
                       description="Compare two runs (earlier first): change.csv, change.gpkg, "
                                   "change.html and manifest.json in --out.")
    c.add_argument("before", metavar="BEFORE", help="folder of the earlier run")
    c.add_argument("after", metavar="AFTER", help="folder of the later run")
    c.add_argument("--out", required=True, help="folder to write the comparison to")
    c.add_argument("--lookup", help="ONS LSOA 2011 -> 2021 lookup CSV, when the earlier run "
                                    "has LSOA 2011 areas and the later LSOA 2021")
    c.add_argument("--within", dest="within_min", type=float, default=WITHIN_MIN,
                   help=f"minutes of 'population within' (default {WITHIN_MIN:g})")
    c.add_argument("--strict", action="store_true",
                   help="fail (exit 2) when some areas cannot be compared")
    c.add_argument("--quiet", action="store_true", help="no progress output")
    c.add_argument("--debug", action="store_true", help="show tracebacks")
    c.set_defaults(handler=run_compare)


def run_compare(args: Any) -> int:
    """``socialrisk compare``: compare, write, print the headline figures."""
    if not (args.within_min > 0 and math.isfinite(args.within_min)):
        raise InputError(f"--within must be a number of minutes greater than 0, not "
                         f"{args.within_min!r}")
    if args.lookup and not Path(args.lookup).is_file():
        raise InputError(f"--lookup {shown(args.lookup, 200)} is not a file; give the ONS "
                         f"LSOA 2011 -> 2021 lookup CSV")
    _check_compare_out(Path(args.out), [Path(args.before), Path(args.after)])
    check_out_dir(args.out)
    b, a = read_run(args.before), read_run(args.after)
    comp = compare_runs(b, a, lookup=args.lookup, within_min=args.within_min,
                        strict=args.strict)
    out = write_comparison(comp, args.out, b, a, args.lookup)
    fr = comp.summary["fixed_reference"]
    print(f"socialrisk: compared {comp.summary['areas_compared']:,} areas "
          f"({fr['areas_better']:,} lower risk, {fr['areas_worse']:,} higher, "
          f"{fr['areas_unchanged']:,} unchanged on the earlier run's scale); wrote {out}")
    return 0
