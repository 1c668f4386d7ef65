"""A folder of runs kept over time: ``socialrisk runs DIR``, and a what-if saved as a run.

A council can keep one run folder per year (``runs/2024``, ``runs/2025``, ...)
and compare any two with ``socialrisk compare``. :func:`list_runs` finds the
runs under a folder (the folder itself and two levels below) and reads their
date, inputs, data dates and headline figures from ``manifest.json`` and
``areas.csv``; :func:`save_scenario_run` writes a what-if scenario
(:mod:`socialrisk.scenarios`) as a run folder, so "before and after a new
community hub" can be compared like two runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from risk.equity import weighted_median
from socialrisk.core import schema
from socialrisk.core.errors import InputError, clipped, shown
from socialrisk.outputs import map_areas, write_run_outputs
from socialrisk.targets import targets_extra
from socialrisk.webmap import build_map

log = logging.getLogger(__name__)

#: how deep below DIR runs are looked for
MAX_DEPTH = 2
#: categories whose share of residents within the threshold is a headline figure
HEADLINE_CATEGORIES = ("gp", "community_centre")
_MAX_MANIFEST_BYTES = 50_000_000


def _manifest(path: Path) -> dict | None:
    try:
        if path.stat().st_size > _MAX_MANIFEST_BYTES:
            return None
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    ok = isinstance(m, dict) and "socialrisk_version" in m and m.get("kind") != "comparison"
    return m if ok else None


def _inputs(m: dict) -> tuple[str, str]:
    """Inputs (file names) and data dates of a run, as short text."""
    names, dates = [], []
    ins = m.get("inputs") if isinstance(m.get("inputs"), dict) else {}
    for key, rec in ins.items():
        for r in rec if isinstance(rec, list) else [rec]:
            if not isinstance(r, dict):
                continue
            names.append(f"{key}: {Path(str(r.get('path', ''))).name}")
            date = r.get("data_timestamp") or r.get("modified")
            if date:
                dates.append(f"{key} {str(date)[:10]}")
    if isinstance(m.get("scenario"), dict):
        names.append(f"scenario: {m['scenario'].get('description', '')}")
    return "; ".join(names), "; ".join(dates)


def _beyond(m: dict) -> float:
    """The run's ``beyond_threshold_m`` (its default when an older version did not write it)."""
    s = m.get("settings", {})
    if s is None:
        s = {}
    if not isinstance(s, dict):
        raise ValueError(f"settings is {shown(s)}, not a table")
    v = s.get("beyond_threshold_m", schema.BEYOND_M)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"settings.beyond_threshold_m is {shown(v)}, not a distance")
    return float(v)


def _targets_met(m: dict) -> str | None:
    """``met/total`` of the study-area targets, None when the run has none."""
    tg = m.get("targets")
    if tg is None:
        return None
    if not isinstance(tg, dict):
        raise ValueError(f"targets is {shown(tg)}, not a table")
    rows = tg.get("study_area")
    if not rows:
        return None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError("targets.study_area is not a list of targets")
    return f"{sum(r.get('met') is True for r in rows)}/{len(rows)}"


def _figures(folder: Path, m: dict) -> dict[str, Any]:
    """Headline figures: areas, population, median risk, share within 800 m of a GP...

    Figures that cannot be read (a damaged manifest or ``areas.csv``) give
    ``unreadable_figures`` with the reason instead; nothing is raised.
    """
    try:
        beyond = _beyond(m)
        met = _targets_met(m)
    except ValueError as exc:
        return {"unreadable_figures": f"unreadable figures: {exc}"}
    out: dict[str, Any] = {}
    path = folder / "areas.csv"
    cols = [schema.POPULATION, schema.ISOLATION_RISK,
            *(f"{c}_share_beyond_{beyond:g}m" for c in HEADLINE_CATEGORIES)]
    try:
        t = pd.read_csv(path, usecols=lambda c: c in cols)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        reason = "no areas.csv" if not path.is_file() else f"areas.csv: {clipped(exc, 80)}"
        out["unreadable_figures"] = f"unreadable figures: {reason}"
        t = None
    if t is not None:
        pop = pd.to_numeric(t[schema.POPULATION], errors="coerce") \
            if schema.POPULATION in t.columns else pd.Series(np.nan, index=t.index)
        out["areas"] = len(t)
        out["population"] = float(pop.sum()) if pop.notna().any() else math.nan
        if schema.ISOLATION_RISK in t.columns:
            out["median_risk"] = weighted_median(pd.to_numeric(t[schema.ISOLATION_RISK],
                                                               errors="coerce"))
        for c in HEADLINE_CATEGORIES:
            col = f"{c}_share_beyond_{beyond:g}m"
            if col in t.columns and pop.notna().any():
                b = pd.to_numeric(t[col], errors="coerce")
                ok = b.notna() & pop.notna()
                if pop[ok].sum() > 0:
                    out[f"{c}_within_{beyond:g}m"] = float(1 - (b[ok] * pop[ok]).sum()
                                                           / pop[ok].sum())
    if met is not None:
        out["targets_met"] = met
    return out


def list_runs(folder: str | Path) -> list[dict[str, Any]]:
    """The runs under ``folder`` (itself and up to :data:`MAX_DEPTH` levels below), oldest first.

    Returns
    -------
    list of dict
        ``folder`` (relative to ``folder``), ``started``, ``version``,
        ``inputs``, ``data_dates`` and the headline figures (``areas``,
        ``population``, ``median_risk``, ``gp_within_800m``... as shares,
        ``targets_met``).
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise InputError(f"{shown(str(folder), 200)} is not a folder; give the folder that "
                         f"holds your run folders")
    found = []
    candidates = [root, *[p for p in root.glob("*") if p.is_dir() and not p.is_symlink()],
                  *[p for p in root.glob("*/*") if p.is_dir() and not p.is_symlink()]]
    for f in candidates:
        if f.name.startswith(".") or not (f / "manifest.json").is_file():
            continue
        m = _manifest(f / "manifest.json")
        if m is None:
            continue
        names, dates = _inputs(m)
        rel = f.relative_to(root).as_posix() if f != root else "."
        found.append({"folder": rel, "started": str(m.get("started", "")),
                      "version": str(m.get("socialrisk_version", "")), "inputs": names,
                      "data_dates": dates, **_figures(f, m)})
    return sorted(found, key=lambda r: (r["started"], r["folder"]))


def format_runs(rows: list[dict[str, Any]]) -> str:
    """The runs as a plain-text table (outside text escaped, one line per run)."""
    if not rows:
        return "no socialrisk runs found"
    head = ["folder", "date", "areas", "population", "median risk", "GP <=800m",
            "community centre <=800m", "targets met", "data dates", "inputs"]

    def cell(r: dict, k: str) -> str:
        v = r.get(k)
        if k == "inputs" and r.get("unreadable_figures"):
            return clipped("; ".join(x for x in (r["unreadable_figures"], v) if x), 240)
        if isinstance(v, float):
            if not math.isfinite(v):
                return "-"
            return f"{100 * v:.1f}%" if "within" in k else f"{v:,.1f}" if k == "median_risk" \
                else f"{v:,.0f}"
        return clipped(v if v is not None else "-", 80)

    keys = ["folder", "started", "areas", "population", "median_risk", "gp_within_800m",
            "community_centre_within_800m", "targets_met", "data_dates", "inputs"]
    table = [head] + [[cell(r, k)[:10] if k == "started" else cell(r, k) for k in keys]
                      for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)),
                                row[-1]]) for row in table)


def add_parser(sub: Any) -> None:
    """Register ``socialrisk runs`` on the CLI's sub-parsers."""
    r = sub.add_parser("runs", help="list the runs kept under a folder (date, inputs, headline "
                                    "figures)")
    r.add_argument("folder", metavar="DIR", help="folder holding run folders (e.g. one a year)")
    r.add_argument("--json", action="store_true", help="print JSON instead of a table")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.set_defaults(handler=run_runs)


def run_runs(args: Any) -> int:
    """``socialrisk runs DIR``."""
    rows = list_runs(args.folder)
    if args.json:
        print(json.dumps(rows, indent=1, default=str, allow_nan=False) if all(
            all(not isinstance(v, float) or math.isfinite(v) for v in r.values()) for r in rows)
            else json.dumps([{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                              for k, v in r.items()} for r in rows], indent=1, default=str))
    else:
        print(format_runs(rows))
    return 0


# ---------------------------------------------------------------- a what-if as a run


def scenario_areas(result, scenario) -> gpd.GeoDataFrame:
    """The run's output areas with the scenario's recomputed columns in place."""
    areas = result.areas.copy()
    t = scenario.table
    ids = areas[schema.AREA_ID].to_numpy()
    for c in t.columns:
        if c not in areas.columns:
            continue
        v = t[c].reindex(ids)
        if c in (schema.ISOLATION_RISK_RANK, schema.ISOLATION_RISK_DECILE):
            areas[c] = pd.array(pd.to_numeric(v, errors="coerce").round(), dtype="Int64")
        elif c == schema.DRIVERS or areas[c].dtype == object:
            areas[c] = v.to_numpy(dtype=object)
        else:
            areas[c] = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float)
    return areas


def save_scenario_run(prepared, result, scenario, out: str | Path) -> Path:
    """Write a what-if (:func:`socialrisk.scenarios.add_facility` / ``remove_facility``) as a run.

    The folder holds ``areas.gpkg``, ``areas.csv``, ``amenities.gpkg`` (with the
    facility added or removed), ``map.html`` and ``manifest.json``: the run's
    manifest with a ``scenario`` record (what was added or removed, where,
    and a checksum of that description) and a note. It has no app data (the
    app opens the original run). Written through the output-folder rules.
    """
    areas = scenario_areas(result, scenario)
    am = result.amenities.copy()
    fac = scenario.facility
    if scenario.kind == "add":
        pt = gpd.GeoSeries.from_xy([fac["lon"]], [fac["lat"]], crs="EPSG:4326").to_crs(am.crs)
        row = {c: None for c in am.columns if c != am.geometry.name}
        row.update({"category": scenario.category, "name": fac.get("name"),
                    "snap_m": fac.get("snap_m"), "snapped": True})
        if "capacity" in am.columns:
            row["capacity"] = math.nan
        new = gpd.GeoDataFrame([row], geometry=pt.to_numpy(), crs=am.crs)
        am = pd.concat([am, new], ignore_index=True)
    elif fac.get("amenity_row") is not None:
        am = am.drop(index=int(fac["amenity_row"]), errors="ignore").reset_index(drop=True)
    description = (f"{scenario.kind} {scenario.category} {clipped(fac.get('name'), 80)} at "
                   f"{fac['lon']:.5f}, {fac['lat']:.5f}")
    record = {"kind": scenario.kind, "category": scenario.category,
              "name": fac.get("name"), "lon": fac["lon"], "lat": fac["lat"],
              "amenity_row": fac.get("amenity_row"), "description": description}
    record["sha256"] = hashlib.sha256(json.dumps(record, sort_keys=True, default=str)
                                      .encode()).hexdigest()
    manifest = copy.deepcopy(result.manifest)
    manifest["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    manifest["scenario"] = record
    manifest.setdefault("notes", []).append(
        f"what-if saved as a run: {description}; the access of {scenario.category} and the "
        f"index were recomputed from the run of {result.manifest.get('started')}")
    manifest.pop("outputs", None)

    def render(path: Path) -> None:
        tips = [c for c in (schema.AREA_ID, schema.POPULATION, schema.ISOLATION_RISK,
                            schema.DRIVERS) if c in areas.columns and areas[c].notna().any()]
        build_map(map_areas(areas), am, result.labels, tips).save(str(path))

    extra = targets_extra(areas, prepared.settings, manifest)
    return write_run_outputs(out, areas, am, result.amenity_polygons, manifest, render,
                             extra=extra)
