"""Targets for social infrastructure, and every run's progress towards them.

In the config::

    [targets]
    community_centre_within_800m = 0.9       # 90 % of residents within 800 m
    gp_walk_min_max = 15                     # no area's mean walk to a GP over 15 min
    [targets.library_within_800m]            # with dates
    value = 0.6
    by = 2030-03-31                          # TOML date or "YYYY-MM-DD"
    start = 2025-04-01                       # optional

Kinds (from the name):

* ``<category>_within_<D>m = S``: the share of residents within ``D`` metres'
  walk of the nearest ``category`` is at least ``S`` (0..1). Measured from
  ``<category>_share_beyond_<D>m`` weighted by population, so ``D`` must be the
  run's ``beyond_threshold_m`` (800 m by default, 10 minutes at 4.8 km/h).
* ``<column>_max = X``: every area's ``column`` is at most ``X``; the value is
  the worst area's and ``share_meeting`` the share of residents in areas that
  meet it. ``<column>_min = X``: every area's ``column`` is at least ``X``.

Progress is reported for the study area and, with ``wards_lookup`` (the ONS
LSOA 2021 -> ward 2024 -> district lookup, :mod:`geo.wards`), per ward and per
district: ``targets.csv`` in the run folder and ``targets`` in its manifest.
A target that cannot be measured in a run is a row with status "not
measurable" and a note (an error under ``--strict``). Shares of residents are
weighted by population over the areas that have one; areas without one are
left out and counted in a note (with no population at all, the figures are
unweighted, and a note says so).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.wards import read_ward_lookup
from socialrisk.core import schema
from socialrisk.core.errors import ConfigError, InputError, shown
from socialrisk.core.sanitize import csv_safe
from socialrisk.outdir import sha256_file

log = logging.getLogger(__name__)

_WITHIN = re.compile(r"(?P<cat>[a-z][a-z0-9_]{0,63})_within_(?P<d>\d{1,6}(?:\.\d+)?)m")
_BOUND = re.compile(r"(?P<col>[a-z][a-z0-9_]{0,127})_(?P<kind>max|min)")
#: columns of ``targets.csv``
COLUMNS = ("scope", "code", "name", "target", "kind", "goal", "value", "met", "gap",
           "share_meeting", "areas", "population", "by", "days_left", "status")


@dataclass(frozen=True)
class Target:
    """One target: its name (which says what is measured), goal value and optional dates."""

    name: str
    value: float
    by: str = ""
    start: str = ""
    label: str = ""

    @property
    def kind(self) -> str:
        """``within``, ``max`` or ``min``."""
        if _WITHIN.fullmatch(self.name):
            return "within"
        return _BOUND.fullmatch(self.name).group("kind")  # type: ignore[union-attr]

    def column(self) -> str:
        """The area column measured (``<cat>_share_beyond_<D>m`` for a ``within`` target)."""
        m = _WITHIN.fullmatch(self.name)
        if m:
            return f"{m.group('cat')}_share_beyond_{float(m.group('d')):g}m"
        return _BOUND.fullmatch(self.name).group("col")  # type: ignore[union-attr]


def _date(value: Any, what: str) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ConfigError(f"{what} must be a date such as 2030-03-31, not {shown(value)}")


def _goal(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(float(value)):
        raise ConfigError(f"[targets] {name} must be a number, not {shown(value)}")
    v = float(value)
    if _WITHIN.fullmatch(name) and not 0 <= v <= 1:
        raise ConfigError(f"[targets] {name} is a share of residents from 0 to 1 (0.9 for "
                          f"90 %), not {v:g}")
    return v


def parse_targets(value: Any) -> dict[str, Target]:
    """The ``[targets]`` table of a config as :class:`Target` objects (validated).

    Accepts ``name = number`` and ``[targets.name]`` tables with ``value`` and
    optional ``by``, ``start`` and ``label`` (and the manifest's own form).

    Raises
    ------
    ConfigError
        An unknown target form, a goal that is not a number (or a share out of
        0..1), a bad date, a ``start`` after ``by``.
    """
    if not isinstance(value, dict):
        raise ConfigError("[targets] must be a table, e.g. [targets] with "
                          "community_centre_within_800m = 0.9")
    out: dict[str, Target] = {}
    for name, spec in value.items():
        if not isinstance(name, str) or not (_WITHIN.fullmatch(name) or _BOUND.fullmatch(name)):
            raise ConfigError(f"[targets] {shown(name)} is not a target: use "
                              f"<category>_within_<metres>m = share (e.g. "
                              f"community_centre_within_800m = 0.9) or <column>_max = value "
                              f"(e.g. gp_walk_min_max = 15) or <column>_min = value")
        if isinstance(spec, dict):
            unknown = [k for k in spec if k not in ("value", "by", "start", "label", "name")]
            if unknown:
                raise ConfigError(f"unknown key {shown(unknown[0])} in [targets.{name}]; use "
                                  f"value, by, start and label")
            if "value" not in spec:
                raise ConfigError(f"[targets.{name}] needs value = ...")
            label = spec.get("label", "")
            if not isinstance(label, str):
                raise ConfigError(f"[targets.{name}] label must be text")
            t = Target(name, _goal(name, spec["value"]), _date(spec.get("by"), f"{name} by"),
                       _date(spec.get("start"), f"{name} start"), label)
        else:
            t = Target(name, _goal(name, spec))
        if t.by and t.start and t.start > t.by:
            raise ConfigError(f"[targets.{name}] start {t.start} is after by {t.by}")
        out[name] = t
    return out


# ---------------------------------------------------------------- progress


def _measure(t: Target, part: pd.DataFrame, pop: pd.Series, weighted: bool
             ) -> dict[str, Any]:
    """One target in one scope; ``weighted``: by population (areas without one left out)."""
    col = t.column()
    v = pd.to_numeric(part[col], errors="coerce")
    ok = v.notna()
    has_pop = ok & pop.notna() & (pop >= 0)
    row: dict[str, Any] = {"areas": int(ok.sum()),
                           "population": float(pop[has_pop].sum()) if has_pop.any()
                           else math.nan}
    w = pop[has_pop] if weighted else pd.Series(1.0, index=v.index[ok.to_numpy()])
    total = float(w.sum())
    if not ok.any():
        return {**row, "value": math.nan, "met": None, "gap": math.nan,
                "share_meeting": math.nan}
    if t.kind == "within":
        if not total > 0:  # weighted, but no area of this scope has a population
            return {**row, "value": math.nan, "met": None, "gap": math.nan,
                    "share_meeting": math.nan}
        value = float(1 - (v[w.index] * w).sum() / total)
        return {**row, "value": value, "met": value >= t.value, "gap": t.value - value,
                "share_meeting": value}
    meets = v[ok] <= t.value if t.kind == "max" else v[ok] >= t.value
    value = float(v[ok].max() if t.kind == "max" else v[ok].min())
    gap = value - t.value if t.kind == "max" else t.value - value
    share = float(w[meets[w.index]].sum() / total) if total > 0 else math.nan
    return {**row, "value": value, "met": bool(meets.all()), "gap": gap,
            "share_meeting": share}


def _weighting(t: Target, a: pd.DataFrame, pop: pd.Series) -> tuple[bool, str]:
    """Whether ``t`` is weighted by population in this run, and the note when not all areas are."""
    v = pd.to_numeric(a[t.column()], errors="coerce")
    ok = v.notna()
    has_pop = ok & pop.notna() & (pop >= 0)
    if not ok.any():
        return True, ""
    if not has_pop.any() or not pop[has_pop].sum() > 0:
        return False, (f"target {t.name}: no area has a population, so its figures are "
                       f"unweighted (each area counts once, not its residents)")
    left = ok & ~has_pop
    if not left.any():
        return True, ""
    return True, (f"target {t.name}: {int(left.sum())} of {int(ok.sum())} area(s) have no "
                  f"population (e.g. {a.index[left.to_numpy()][0]}) and were left out of its "
                  f"share of residents")


def progress(areas: pd.DataFrame, targets: dict[str, Target],
             groups: pd.DataFrame | None = None, today: dt.date | None = None
             ) -> tuple[pd.DataFrame, list[str]]:
    """Progress per target for the study area and per ward and district.

    Parameters
    ----------
    areas : DataFrame
        A run's output areas (``area_id``, ``population``, the measured columns).
    targets : dict of str to Target
    groups : DataFrame, optional
        :func:`geo.wards.read_ward_lookup` (index LSOA 2021 code).
    today : date, optional
        For ``days_left`` (default: today).

    Returns
    -------
    rows : DataFrame
        :data:`COLUMNS`, study area first, then wards, then districts.
    notes : list of str
        Targets that cannot be measured, areas in no ward.
    """
    today = today or dt.date.today()
    a = areas.set_index(schema.AREA_ID) if schema.AREA_ID in areas.columns else areas
    a = pd.DataFrame(a)
    a.index = a.index.astype(str)
    pop = pd.to_numeric(a[schema.POPULATION], errors="coerce") \
        if schema.POPULATION in a.columns else pd.Series(np.nan, index=a.index)
    notes: list[str] = []
    scopes: list[tuple[str, str, str, pd.Index]] = [("study area", "", "study area", a.index)]
    if groups is not None:
        g = groups.reindex(a.index)
        missing = g["ward_code"].isna()
        if missing.any():
            notes.append(f"{int(missing.sum())} area(s) are not in the ward lookup (e.g. "
                         f"{a.index[missing.to_numpy()][0]}) and are in no ward or district row")
        for level, code, name in (("ward", "ward_code", "ward_name"),
                                  ("district", "district_code", "district_name")):
            for key, part in g[~missing].groupby(code, sort=True):
                scopes.append((level, str(key), str(part[name].iloc[0]), part.index))
    rows = []
    for t in targets.values():
        col = t.column()
        days = (dt.date.fromisoformat(t.by) - today).days if t.by else None
        if col not in a.columns:
            why = (f"target {t.name}: this run has no column {col}"
                   + (f" (set beyond_threshold_m = {col.rsplit('_', 1)[1][:-1]} to measure it)"
                      if t.kind == "within" else ""))
            notes.append(why)
            rows.append({"scope": "study area", "code": "", "name": "study area",
                         "target": t.name, "kind": t.kind, "goal": t.value, "value": math.nan,
                         "met": None, "by": t.by, "days_left": days,
                         "status": f"not measurable: {why}"})
            continue
        weighted, note = _weighting(t, a, pop)
        if note:
            notes.append(note)
        for scope, code, name, idx in scopes:
            m = _measure(t, a.loc[idx], pop.loc[idx], weighted)
            status = ("no data" if m["met"] is None else "met" if m["met"]
                      else "not met, past its date" if days is not None and days < 0
                      else "not met")
            rows.append({"scope": scope, "code": code, "name": name, "target": t.name,
                         "kind": t.kind, "goal": t.value, **m, "by": t.by, "days_left": days,
                         "status": status})
    return pd.DataFrame(rows, columns=list(COLUMNS)), notes


_LOOKUP_CACHE: dict[tuple[str, int, int], pd.DataFrame] = {}


def check_wards_lookup(settings) -> pd.DataFrame | None:
    """Read and check the run's ``wards_lookup`` (when it has targets); call it before the run.

    Returns the lookup (:func:`geo.wards.read_ward_lookup`), or None without
    targets or without a lookup. The last one read is kept, so the output
    step does not read it again.

    Raises
    ------
    InputError
        The file is missing or is not the ONS lookup (one line, with the fix).
    """
    lookup = getattr(settings, "wards_lookup", "") or ""
    if not lookup or not getattr(settings, "targets", None):
        return None
    path = Path(lookup).expanduser()
    if not path.is_file():
        raise InputError(f"wards_lookup {shown(lookup, 200)} is not a file; give the "
                         f"ONS LSOA 2021 -> ward 2024 -> district lookup CSV")
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _LOOKUP_CACHE:
        groups = read_ward_lookup(path)
        _LOOKUP_CACHE.clear()
        _LOOKUP_CACHE[key] = groups
    return _LOOKUP_CACHE[key]


def targets_extra(areas: pd.DataFrame, settings, manifest: dict,
                  then: Callable[[Path], None] | None = None) -> Callable[[Path], None] | None:
    """The output step of a run's targets: ``targets.csv`` and ``manifest["targets"]``.

    Returns a callable for :func:`socialrisk.outputs.write_run_outputs`'s
    ``extra`` (it calls ``then`` last, e.g. the app data), or ``then`` itself
    when the run has no targets (a ``wards_lookup`` given anyway is a note in
    ``manifest``). The ward lookup is read and checked here, before any file
    is written (:func:`check_wards_lookup`); ``manifest`` is updated in place.

    Raises
    ------
    InputError
        Now: the ward lookup is missing or not the ONS lookup.
    ConfigError
        When called, under ``settings.strict``: a target that cannot be
        measured, areas in no ward, or areas left out of a target's figures.
    """
    targets = getattr(settings, "targets", None) or {}
    lookup = getattr(settings, "wards_lookup", "") or ""
    if not targets:  # a wards_lookup alone still gives wards.csv (socialrisk.grouping)
        return then
    groups = check_wards_lookup(settings)  # before any file is written
    if lookup:
        manifest.setdefault("inputs", {})["wards_lookup"] = {
            "path": str(lookup), "sha256": sha256_file(lookup),
            "bytes": Path(lookup).stat().st_size}

    def extra(tmp: Path) -> None:
        rows, notes = progress(pd.DataFrame(areas.drop(columns=areas.geometry.name)
                                            if hasattr(areas, "geometry") else areas),
                               targets, groups)
        for n in notes:
            log.warning("%s", n)
        if notes and getattr(settings, "strict", False):
            raise ConfigError(f"{notes[0]}; --strict refuses a target report with gaps")
        csv_safe(rows).to_csv(tmp / "targets.csv", index=False)
        study = rows[rows["scope"] == "study area"]
        manifest["targets"] = {
            "file": "targets.csv",
            "study_area": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                            for k, v in r.items()} for r in study.to_dict("records")],
            "wards": int(rows.loc[rows["scope"] == "ward", "code"].nunique()),
            "districts": int(rows.loc[rows["scope"] == "district", "code"].nunique()),
            "notes": notes}
        manifest.setdefault("notes", []).extend(notes)
        if then is not None:  # e.g. the app data, whose manifest then holds the targets
            then(tmp)

    return extra
