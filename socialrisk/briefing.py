"""Short readings of a run: a one-page ward briefing (HTML) and the terminal summary.

:func:`ward_briefing_html` is a self-contained page (inline CSS, no script, no
external request) that prints on one A4 page, for a councillor: the ward's
residents, its mean isolation risk against the other wards, walking access per
kind of place against the whole study area, and its areas with their drivers.
Every outside text (ward, area and place names, drivers) is escaped with
:func:`socialrisk.core.sanitize.html_text`.

:func:`terminal_summary` is what ``socialrisk run`` prints at the end: the 10
highest-risk areas and the files written, each line clipped to the terminal.
"""

from __future__ import annotations

import json
import math
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from risk.equity import weighted_mean
from socialrisk.core import schema
from socialrisk.core.sanitize import html_text
from socialrisk.webmap import OGL_ATTRIBUTION, OSM_ATTRIBUTION

__all__ = ["ward_briefing_html", "terminal_summary"]

#: areas listed by the terminal summary
SUMMARY_AREAS = 10

_CSS = """
@page { size: A4; margin: 12mm; }
body { font-family: Helvetica, Arial, sans-serif; font-size: 10pt; color: #222; margin: 0;
       max-width: 190mm; }
h1 { font-size: 15pt; margin: 0 0 1mm 0; }
h2 { font-size: 11pt; margin: 4mm 0 1mm 0; border-bottom: 1px solid #999; }
p { margin: 1mm 0; }
.lead { font-size: 11pt; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
th, td { border-bottom: 1px solid #ddd; padding: 0.8mm 1.5mm; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; white-space: nowrap; }
td.worse { font-weight: bold; }
.small { font-size: 7.5pt; color: #555; }
@media screen { body { padding: 6mm; } }
"""


def _e(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return ""
    return html_text(x)


def _num(x, digits: int = 0, unit: str = "") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "no data"
    if math.isnan(v):
        return "no data"
    if math.isinf(v):
        return "not reachable"
    return f"{v:,.{digits}f}{unit}"


def _ids(cell: object) -> list[str]:
    if not isinstance(cell, str) or not cell.strip():
        return []
    return [x.strip() for x in cell.split(";") if x.strip()]


def _lower(label: str) -> str:
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _compare(ward: float, study: float, higher_is_worse: bool = True) -> tuple[str, bool]:
    """``("farther"/"closer"/"about the same", worse)`` within 10 % of the study value."""
    if not (math.isfinite(ward) and math.isfinite(study)) or study == 0:
        return "", False
    ratio = ward / study
    if 0.9 <= ratio <= 1.1:
        return "about the same", False
    worse = (ratio > 1) == higher_is_worse
    return ("worse" if worse else "better"), worse


def ward_briefing_html(wards: pd.DataFrame, code: str, areas: pd.DataFrame,
                       labels: Mapping[str, str], *, run_date: str = "",
                       walk_speed_kmh: float = schema.WALK_SPEED_KMH) -> str:
    """A one-page briefing on one ward (self-contained HTML).

    Parameters
    ----------
    wards : DataFrame
        :func:`socialrisk.grouping.group_table` at ward level (or ``wards.csv``
        read back): ``code``, ``name``, ``district_name``, ``areas``,
        ``population``, the averaged columns, ``area_ids``.
    code : str
        The ward's code (a row of ``wards``).
    areas : DataFrame
        The run's areas (``area_id``, ``area_name``, ``population``, scores,
        ``isolation_risk_decile``, ``isolation_risk_drivers``, access columns).
    labels : mapping
        Category -> label (e.g. ``gp`` -> ``GP surgery``).
    run_date : str
        When the run was made (shown in the footer).
    walk_speed_kmh : float
        For the walking minutes shown beside distances.

    Raises
    ------
    KeyError
        ``code`` is not a ward of ``wards``.
    """
    rows = wards[wards["code"].astype(str) == str(code)]
    if rows.empty:
        raise KeyError(f"no ward {code!r} in the ward table")
    w = rows.iloc[0]
    a = pd.DataFrame(areas.drop(columns="geometry", errors="ignore"))
    ids = _ids(w.get("area_ids"))
    mine = a[a[schema.AREA_ID].astype(str).isin(ids)]
    pop = pd.to_numeric(a.get(schema.POPULATION), errors="coerce") \
        if schema.POPULATION in a.columns else None
    weights = pop if pop is not None and pop.notna().any() else None
    name, district = str(w.get("name", code)), w.get("district_name", "")
    risk_col = schema.ISOLATION_RISK
    n_wards = len(wards)
    body = [f"<h1>{_e(name)} ward{', ' + _e(district) if _e(district) else ''}</h1>",
            "<p class=small>Social isolation risk: a one-page briefing "
            f"(ward {_e(code)})</p>"]
    # ---- headline
    lead = [f"{_e(int(w['areas']))} small areas (LSOAs), "
            f"{_num(w.get('population'))} residents."]
    if risk_col in wards.columns and math.isfinite(float(w[risk_col])):
        order = wards[risk_col].rank(ascending=False, method="min")
        rank = int(order[rows.index[0]])
        study = weighted_mean(a[risk_col], weights)
        lead.append(f"Mean isolation risk <b>{_num(w[risk_col], 1)}</b> of 100 (study area "
                    f"{_num(study, 1)}): the {_ordinal(rank)}highest of the {n_wards} wards "
                    f"in this run.")
    if schema.LONELINESS_RISK in wards.columns and math.isfinite(float(w[schema.LONELINESS_RISK])):
        lead.append(f"Mean loneliness risk {_num(w[schema.LONELINESS_RISK], 1)} of 100 "
                    f"(study area {_num(weighted_mean(a[schema.LONELINESS_RISK], weights), 1)}).")
    top = int(w.get("top_decile", 0) or 0)
    lead.append(f"{top} of its areas {'is' if top == 1 else 'are'} among the 10 % of the run's "
                f"areas with the highest isolation risk.")
    body.append(f"<p class=lead>{' '.join(lead)}</p>")
    # ---- access per category
    m_per_min = schema.metres_per_minute(walk_speed_kmh)
    acc = []
    for cat, label in labels.items():
        c = schema.access_columns(cat)
        if c.nearest not in wards.columns:
            continue
        near, study_near = float(w[c.nearest]), weighted_mean(a[c.nearest], weights)
        beyond = c.share_beyond.get(schema.BEYOND_M, "")
        share = float(w[beyond]) if beyond in wards.columns else math.nan
        study_share = weighted_mean(a[beyond], weights) if beyond in a.columns else math.nan
        words, worse = _compare(near, study_near)
        acc.append((worse, near / study_near if study_near else math.nan,
                    f"<tr><td>{_e(label)}</td>"
                    f"<td class=num>{_num(near, 0, ' m')} ({_num(near / m_per_min, 0)} min)</td>"
                    f"<td class=num>{_num(study_near, 0, ' m')}</td>"
                    f"<td class=num>{_num(100 * share, 0, ' %')}</td>"
                    f"<td class=num>{_num(100 * study_share, 0, ' %')}</td>"
                    f"<td{' class=worse' if worse else ''}>{_e(words)}</td></tr>"))
    if acc:
        acc.sort(key=lambda r: (not r[0], -r[1] if math.isfinite(r[1]) else 0))
        body.append("<h2>Walking access to everyday places</h2>")
        body.append("<table><tr><th>Place</th><th>Nearest, ward average</th>"
                    "<th>Study area</th><th>Residents beyond 800 m</th><th>Study area</th>"
                    "<th>Ward vs study area</th></tr>" + "".join(r[2] for r in acc)
                    + "</table>")
        body.append(f"<p class=small>Walking distances along paths, averaged over residents "
                    f"(population-weighted); minutes at {walk_speed_kmh:g} km/h. 800 m is "
                    f"about a 10-minute walk. 'Worse' means more than 10 % farther than the "
                    f"study area's average.</p>")
    # ---- areas
    if len(mine):
        body.append("<h2>The ward's areas, highest risk first</h2>")
        order = mine.sort_values(risk_col, ascending=False) if risk_col in mine.columns \
            else mine
        trs = []
        for _, r in order.iterrows():
            trs.append(f"<tr><td>{_e(r[schema.AREA_ID])}</td>"
                       f"<td>{_e(r.get(schema.AREA_NAME, ''))}</td>"
                       f"<td class=num>{_num(r.get(schema.POPULATION))}</td>"
                       f"<td class=num>{_num(r.get(risk_col), 1)}</td>"
                       f"<td class=num>{_num(r.get(schema.ISOLATION_RISK_DECILE))}</td>"
                       f"<td>{_e(r.get(schema.DRIVERS, ''))}</td></tr>")
        body.append("<table><tr><th>Area</th><th>Name</th><th>Residents</th>"
                    "<th>Isolation risk</th><th>Decile (1 = highest)</th>"
                    "<th>What drives it</th></tr>" + "".join(trs) + "</table>")
    body.append("<h2>How to read this</h2><p class=small>Isolation risk (0-100, higher = more "
                "risk) combines walking access to social infrastructure (community centres, "
                "GPs, shops, bus stops ...) with the factors that make distance matter, such "
                "as deprivation and age. Scores and deciles compare the areas of this run with "
                "each other, not with England. OpenStreetMap may miss places or list closed "
                "ones: check locally before relying on one place.</p>")
    when = _e(run_date) or time.strftime("%Y-%m-%d")
    body.append(f"<p class=small style=\"margin-top:3mm\">Made with socialrisk; run of {when}. "
                f"Map data and amenities {_e(OSM_ATTRIBUTION)}. {_e(OGL_ATTRIBUTION)}.</p>")
    title = f"{name} ward: social isolation risk briefing"
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return "" if n == 1 else f"{n}{suffix} "  # "the highest", "the 2nd highest"


def terminal_summary(out: str | Path, width: int = 100, n: int = SUMMARY_AREAS) -> list[str]:
    """The end-of-run summary: the ``n`` highest-risk areas and the files written.

    Reads the run's own ``areas.csv`` and ``manifest.json`` from ``out``. Every
    line is at most ``width`` characters (clipped with ``...``).
    """
    folder = Path(out)
    lines: list[str] = []
    table = folder / "areas.csv"
    if table.is_file():
        t = pd.read_csv(table, dtype={schema.AREA_ID: str, schema.AREA_NAME: str})
        if schema.ISOLATION_RISK in t.columns and t[schema.ISOLATION_RISK].notna().any():
            top = t.sort_values(schema.ISOLATION_RISK, ascending=False, kind="stable").head(n)
            lines.append(f"Highest isolation risk ({len(top)} of {len(t)} areas; decile 1 = "
                         f"the highest-risk tenth):")
            for _, r in top.iterrows():
                dec = r.get(schema.ISOLATION_RISK_DECILE)
                dec = f"{int(dec)}" if pd.notna(dec) else "-"
                name = r.get(schema.AREA_NAME)
                name = "" if pd.isna(name) else str(name)
                drivers = r.get(schema.DRIVERS)
                drivers = "" if pd.isna(drivers) else short_drivers(str(drivers))
                lines.append(f"  {r[schema.AREA_ID]:<10} {name[:24]:<24} decile {dec:>2}  "
                             f"{_num(r[schema.ISOLATION_RISK], 1):>5}  {drivers}")
    names: list[str] = []
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            names = sorted(json.loads(manifest.read_text(encoding="utf-8")).get("outputs", {}))
        except (ValueError, AttributeError):
            names = []
    names = [*sorted(set(names) | {"manifest.json"})] if manifest.is_file() else names
    top_files = sorted({x.split("/")[0] + ("/" if "/" in x else "") for x in names})
    lines = [_clip(x, width) for x in lines]
    lines.append(_clip(f"Outputs in {folder}:", width))
    lines.extend(textwrap.wrap(", ".join(top_files), width=max(width, 20),
                               initial_indent="  ", subsequent_indent="  ",
                               break_on_hyphens=False))
    return lines


def short_drivers(drivers: str) -> str:
    """Drivers without their figures: ``"far from a GP: 6.3 km, ...; old"`` -> ``"far from a
    GP; old"``."""
    return "; ".join(d.split(":")[0].strip() for d in drivers.split(";") if d.strip())


def _clip(line: str, width: int) -> str:
    line = "".join(ch if ch.isprintable() else "?" for ch in line)
    return line if len(line) <= width else line[: max(width - 3, 1)] + "..."
