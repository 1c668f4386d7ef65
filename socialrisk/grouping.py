"""Results by electoral ward and by local authority district (``wards.csv``, ``districts.csv``).

With ``wards_lookup`` (the ONS LSOA 2021 -> ward 2024 -> district lookup,
:func:`geo.wards.read_ward_lookup`), every run also writes one row per ward and
one per district: the number of areas and residents, the population-weighted
mean of each headline score and of each category's nearest distance, the
population-weighted share of residents beyond 800 m of each category, and the
areas in the highest-risk decile; plus a one-page briefing for each of the
:data:`BRIEFED_WARDS` wards with the highest mean isolation risk
(``briefings/ward_<code>.html``, :func:`socialrisk.briefing.ward_briefing_html`).

Population weighting: an area counts with its population; areas without a
population (or without a value) are left out of the weighted mean. When no
area of the run has a population, the means are plain means over areas (said
in a note).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geo.wards import read_ward_lookup
from risk.equity import weighted_mean
from socialrisk.briefing import ward_briefing_html
from socialrisk.core import schema
from socialrisk.core.errors import ConfigError, InputError, shown
from socialrisk.core.sanitize import csv_safe
from socialrisk.outdir import sha256_file

log = logging.getLogger(__name__)

#: one-page briefings written per run: the wards with the highest mean isolation risk
BRIEFED_WARDS = 10
#: the highest-risk decile (decile 1 = the 10 % of areas with the highest risk)
TOP_DECILE = 1
#: file names in the output folder
WARDS_CSV = "wards.csv"
DISTRICTS_CSV = "districts.csv"
BRIEFINGS_DIR = "briefings"
#: columns of a group table before the per-score and per-category columns
ID_COLUMNS = ("code", "name", "district_code", "district_name", "areas", "population")
#: columns after them
TAIL_COLUMNS = ("top_decile_areas", "area_ids")
#: decimals written to CSV: scores and shares to 3, distances in whole metres
_DIGITS = {"score": 3, "nearest": 0, "share": 3}


def group_columns(areas: pd.DataFrame, categories: Sequence[str]) -> dict[str, str]:
    """``{output column: kind}`` averaged per group: headline scores, nearest, share beyond."""
    cols: dict[str, str] = {}
    for s in schema.HEADLINE_SCORES:
        if s in areas.columns and pd.to_numeric(areas[s], errors="coerce").notna().any():
            cols[s] = "score"
    for cat in categories:
        c = schema.access_columns(cat)
        if c.nearest in areas.columns:
            cols[c.nearest] = "nearest"
        beyond = c.share_beyond.get(schema.BEYOND_M)
        if beyond and beyond in areas.columns:
            cols[beyond] = "share"
    return cols


def group_table(areas: pd.DataFrame, lookup: pd.DataFrame, level: str,
                categories: Sequence[str]) -> pd.DataFrame:
    """One row per ward (``level="ward"``) or district (``"district"``).

    Parameters
    ----------
    areas : DataFrame
        A run's output areas (``area_id``, ``population``, scores, access columns).
    lookup : DataFrame
        :func:`geo.wards.read_ward_lookup` (index LSOA 2021 code).
    level : {"ward", "district"}
    categories : sequence of str
        Amenity categories whose nearest distance and share beyond 800 m are averaged.

    Returns
    -------
    DataFrame
        :data:`ID_COLUMNS`, the averaged columns (:func:`group_columns`, named as
        in ``areas.csv``), ``top_decile`` (areas in the highest-risk decile),
        :data:`TAIL_COLUMNS` (area codes joined by ``"; "``). Highest mean
        isolation risk first (then by code). Areas not in the lookup are in no row.
    """
    if level not in ("ward", "district"):
        raise ValueError(f"level must be 'ward' or 'district', not {level!r}")
    a = pd.DataFrame(areas.drop(columns="geometry", errors="ignore"))
    a = a.set_index(schema.AREA_ID) if schema.AREA_ID in a.columns else a
    a.index = a.index.astype(str)
    g = lookup.reindex(a.index)
    pop = pd.to_numeric(a[schema.POPULATION], errors="coerce") \
        if schema.POPULATION in a.columns else pd.Series(np.nan, index=a.index)
    weights = pop if pop.notna().any() else None
    cols = group_columns(a, categories)
    dec = pd.to_numeric(a.get(schema.ISOLATION_RISK_DECILE,
                              pd.Series(np.nan, index=a.index)), errors="coerce")
    risk = pd.to_numeric(a.get(schema.ISOLATION_RISK, pd.Series(np.nan, index=a.index)),
                         errors="coerce")
    key = f"{level}_code"
    rows = []
    for code, part in g.dropna(subset=[key]).groupby(key, sort=True):
        idx = part.index
        w = None if weights is None else weights.loc[idx]
        top = risk.loc[idx][dec.loc[idx] == TOP_DECILE].sort_values(ascending=False)
        row = {"code": str(code), "name": str(part[f"{level}_name"].iloc[0]),
               "district_code": str(part["district_code"].iloc[0]),
               "district_name": str(part["district_name"].iloc[0]),
               "areas": len(idx),
               "population": float(pop.loc[idx].sum(min_count=1))}
        for c, kind in cols.items():
            row[c] = round(weighted_mean(a.loc[idx, c], w), _DIGITS[kind])
        row["top_decile"] = len(top)
        row["top_decile_areas"] = "; ".join(top.index)
        row["area_ids"] = "; ".join(sorted(idx))
        rows.append(row)
    out = pd.DataFrame(rows, columns=[*ID_COLUMNS, *cols, "top_decile", *TAIL_COLUMNS])
    if level == "district":
        out = out.drop(columns=["district_code", "district_name"])
    sort = [schema.ISOLATION_RISK, "code"] if schema.ISOLATION_RISK in out.columns else ["code"]
    return out.sort_values(sort, ascending=[False, True][:len(sort)],
                           na_position="last", kind="stable").reset_index(drop=True)


def grouping_notes(areas: pd.DataFrame, lookup: pd.DataFrame) -> list[str]:
    """What the ward tables leave out: areas not in the lookup, areas without a population."""
    ids = pd.Index(areas[schema.AREA_ID].astype(str)) if schema.AREA_ID in areas.columns \
        else pd.Index(areas.index.astype(str))
    notes = []
    missing = ids[~ids.isin(lookup.index)]
    if len(missing):
        notes.append(f"wards.csv: {len(missing)} of {len(ids)} area(s) are not in the ward "
                     f"lookup (e.g. {shown(missing[0])}) and are in no ward or district row; "
                     f"the lookup is keyed by LSOA 2021 codes")
    if schema.POPULATION not in areas.columns \
            or pd.to_numeric(areas[schema.POPULATION], errors="coerce").isna().all():
        notes.append("wards.csv: no population column, so the ward and district means are "
                     "plain means over areas, not population-weighted")
    return notes


def read_groups(settings) -> pd.DataFrame | None:
    """The run's ``wards_lookup`` read and checked (None when not given).

    Raises
    ------
    InputError
        The file is missing or is not the ONS lookup (one line, with the fix).
    """
    lookup = getattr(settings, "wards_lookup", "") or ""
    if not lookup:
        return None
    path = Path(lookup).expanduser()
    if not path.is_file():
        raise InputError(f"wards_lookup {shown(lookup, 200)} is not a file; give the "
                         f"ONS LSOA 2021 -> ward 2024 -> district lookup CSV")
    return read_ward_lookup(path)


def grouping_extra(areas: pd.DataFrame, settings, manifest: dict, labels: dict[str, str],
                   then: Callable[[Path], None] | None = None,
                   groups: pd.DataFrame | None = None) -> Callable[[Path], None] | None:
    """The output step of ``wards.csv``, ``districts.csv`` and the ward briefings.

    Returns a callable for :func:`socialrisk.outputs.write_run_outputs`'s
    ``extra`` that calls ``then`` last (e.g. the targets, then the app data),
    or ``then`` itself when the run has no ``wards_lookup``. The lookup is read
    now (``groups`` when already read), before any file is written;
    ``manifest`` is updated in place (``manifest["grouping"]`` and notes).

    Raises
    ------
    InputError
        Now: the ward lookup is missing or not the ONS lookup.
    ConfigError
        When called, under ``settings.strict``: areas not in the lookup.
    """
    lookup = getattr(settings, "wards_lookup", "") or ""
    if not lookup:
        return then
    groups = groups if groups is not None else read_groups(settings)
    path = Path(lookup).expanduser()
    manifest.setdefault("inputs", {})["wards_lookup"] = {
        "path": str(lookup), "sha256": sha256_file(path), "bytes": path.stat().st_size}
    ids = set(pd.Index(areas[schema.AREA_ID]).astype(str))
    if not ids & set(groups.index.astype(str)):
        raise InputError(f"wards_lookup {shown(str(lookup), 200)} holds none of the run's "
                         f"{len(ids):,} area codes; give the ONS LSOA 2021 -> ward lookup that "
                         f"covers the study area (LSOA 2021 codes)")
    names = pd.Series([briefing_name(c) for c in groups["ward_code"].dropna().unique()])
    if names.duplicated().any():
        raise InputError(f"wards_lookup {shown(str(lookup), 200)}: ward codes "
                         f"{shown(names[names.duplicated()].iloc[0])} clash once reduced to "
                         f"letters and digits (ward_<code>.html); give ONS ward codes such as "
                         f"E05013362")

    def extra(tmp: Path) -> None:
        table = pd.DataFrame(areas.drop(columns="geometry", errors="ignore"))
        notes = grouping_notes(table, groups)
        for n in notes:
            log.warning("%s", n)
        if notes and getattr(settings, "strict", False) and "not in the ward" in notes[0]:
            raise ConfigError(f"{notes[0]}; --strict refuses ward tables with gaps")
        cats = list(labels)
        wards = group_table(table, groups, "ward", cats)
        districts = group_table(table, groups, "district", cats)
        csv_safe(wards).to_csv(tmp / WARDS_CSV, index=False)
        csv_safe(districts).to_csv(tmp / DISTRICTS_CSV, index=False)
        briefed = wards.head(BRIEFED_WARDS)["code"].tolist() \
            if schema.ISOLATION_RISK in wards.columns else []
        if briefed:
            (tmp / BRIEFINGS_DIR).mkdir(exist_ok=True)
        for code in briefed:
            (tmp / BRIEFINGS_DIR / briefing_name(code)).write_text(
                ward_briefing_html(wards, code, table, labels,
                                   run_date=str(manifest.get("started", ""))[:10]),
                encoding="utf-8")
        manifest["grouping"] = {"wards_file": WARDS_CSV, "districts_file": DISTRICTS_CSV,
                                "wards": len(wards), "districts": len(districts),
                                "briefings": [f"{BRIEFINGS_DIR}/{briefing_name(c)}"
                                              for c in briefed], "notes": notes}
        manifest.setdefault("notes", []).extend(notes)
        log.info("wards: %d ward(s) and %d district(s) written, %d briefing(s)", len(wards),
                 len(districts), len(briefed))
        if then is not None:
            then(tmp)

    return extra


def briefing_name(code: str) -> str:
    """``ward_<code>.html`` (letters and digits of the code only)."""
    safe = "".join(ch for ch in str(code) if ch.isascii() and ch.isalnum())[:16] or "unknown"
    return f"ward_{safe}.html"


def split_ids(cell: object) -> list[str]:
    """The area codes of a ``"; "``-joined cell of ``wards.csv`` (empty for NaN)."""
    if not isinstance(cell, str) or not cell.strip():
        return []
    return [x.strip() for x in cell.split(";") if x.strip()]
