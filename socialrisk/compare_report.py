"""``change.html``: the comparison of two runs as one self-contained page.

No script, no external file: styles inline, maps as inline SVG (one path per
area with its id and name as a tooltip). Every text that comes from outside
the program (area ids and names, file paths, setting values, input names)
passes through :func:`socialrisk.core.sanitize.html_text`.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from socialrisk.core import schema
from socialrisk.core.sanitize import html_text as esc

ATTRIBUTION = ("Contains public sector information licensed under the Open Government Licence "
               "v3.0. Source: Office for National Statistics. Contains OS data (c) Crown "
               "copyright and database right. Map data (c) OpenStreetMap contributors, ODbL 1.0.")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
max-width:1200px}
h1{font-size:1.6em;margin-bottom:4px}h2{font-size:1.2em;margin-top:28px;border-bottom:1px solid
#ddd;padding-bottom:4px}.muted{color:#666;font-size:.9em}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{border:1px solid #ddd;
border-radius:6px;padding:10px 14px;min-width:150px}.card b{display:block;font-size:1.5em}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:8px 12px;margin:8px 0}
table{border-collapse:collapse;font-size:.9em;margin:8px 0}td,th{border:1px solid #ddd;
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;
font-variant-numeric:tabular-nums}.maps{display:flex;flex-wrap:wrap;gap:16px}
.map{border:1px solid #ddd;border-radius:6px;padding:8px}svg path{stroke:#fff;
stroke-width:.4}svg path:hover{stroke:#000;stroke-width:1.2}
.legend span{display:inline-block;width:22px;height:12px;margin-right:2px;vertical-align:middle}
"""

#: diverging colours: much better .. unchanged .. much worse (risk up = worse)
_DIVERGING = ["#2166ac", "#67a9cf", "#d1e5f0", "#f0f0f0", "#fddbc7", "#ef8a62", "#b2182b"]


def _num(v: Any, digits: int = 1, sign: bool = False) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return esc(v)
    if not math.isfinite(x):
        return "&ndash;"
    return f"{x:+,.{digits}f}" if sign else f"{x:,.{digits}f}"


def _class(change: float, step: float) -> int:
    if not math.isfinite(change):
        return -1
    if abs(change) <= 1e-9:
        return 3
    k = min(3, 1 + int(abs(change) // step)) if step > 0 else 1
    return 3 + k if change > 0 else 3 - k


def svg_map(g: gpd.GeoDataFrame, column: str, title: str, width: int = 560) -> str:
    """An inline SVG choropleth of a change column (diverging; grey = no value)."""
    geoms = g.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return f"<div class='map'><b>{esc(title)}</b><p class='muted'>no geometry</p></div>"
    x0, y0, x1, y1 = shapely.total_bounds(geoms[ok])
    lat0 = math.radians((y0 + y1) / 2)
    kx = math.cos(lat0)
    span_x, span_y = max((x1 - x0) * kx, 1e-9), max(y1 - y0, 1e-9)
    height = int(width * span_y / span_x) if span_x else width
    height = max(200, min(height, 900))
    scale = min(width / span_x, height / span_y)
    tol = 0.6 / scale  # below a pixel
    simple = shapely.simplify(geoms[ok], tol, preserve_topology=True)
    vals = g[column].to_numpy(dtype=float, na_value=np.nan)[ok]
    fin = np.abs(vals[np.isfinite(vals) & (np.abs(vals) > 1e-9)])
    step = float(np.quantile(fin, 0.9)) / 3 if fin.size else 1.0
    ids = g[schema.AREA_ID].to_numpy()[ok]
    names = g[schema.AREA_NAME].to_numpy()[ok] if schema.AREA_NAME in g.columns \
        else np.full(ok.sum(), "")
    parts = [f"<div class='map'><b>{esc(title)}</b><br><svg xmlns='http://www.w3.org/2000/svg' "
             f"width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"]
    for geom, v, aid, nm in zip(simple, vals, ids, names, strict=True):
        d = []
        polys = getattr(geom, "geoms", [geom])
        for poly in polys:
            for ring in [poly.exterior, *poly.interiors]:
                xy = shapely.get_coordinates(ring)
                px = (xy[:, 0] - x0) * kx * scale
                py = (y1 - xy[:, 1]) * scale
                d.append("M" + "L".join(f"{a:.1f} {b:.1f}" for a, b in zip(px, py,
                                                                          strict=True)) + "Z")
        c = _class(float(v), step)
        fill = "#cccccc" if c < 0 else _DIVERGING[c]
        parts.append(f"<path d='{''.join(d)}' fill='{fill}' fill-rule='evenodd'><title>"
                     f"{esc(aid)} {esc(nm)}: {_num(v, 2, sign=True)}</title></path>")
    parts.append("</svg>")
    lab = ["much better", "better", "a little better", "unchanged", "a little worse", "worse",
           "much worse"]
    parts.append("<div class='legend muted'>" + " ".join(
        f"<span style='background:{c}'></span>{t}" for c, t in zip(_DIVERGING, lab, strict=True))
        + " <span style='background:#cccccc'></span>not compared</div></div>")
    return "".join(parts)


def _table(header: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{x}</th>" for x in header)
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def _file(path: Any) -> str:
    """A file's name, its full path as a tooltip."""
    if not path:
        return "<td></td>"
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    return f"<td title='{esc(path)}'>{esc(name)}</td>"


def _td(v: Any, digits: int = 1, sign: bool = False, text: bool = False) -> str:
    if text:
        return f"<td>{esc(v)}</td>"
    return f"<td class='n'>{_num(v, digits, sign)}</td>"


def _measure_label(col: str, labels: dict[str, str]) -> str:
    if col == schema.ISOLATION_RISK:
        return "isolation risk (earlier run's scale)"
    cat = col[: -len("_walk_min")] if col.endswith("_walk_min") else col
    return f"{labels.get(cat, cat)}: walking minutes" if cat != col else col


def render_html(change: gpd.GeoDataFrame, summary: dict, labels: dict[str, str] | None = None
                ) -> str:
    """The page: headline figures, maps, movers, population within N minutes, equity, targets."""
    labels = labels or {}
    b, a = summary["before"], summary["after"]
    fr = summary["fixed_reference"]
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width,initial-scale=1'>",
           "<title>socialrisk: what changed</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>What changed between two runs</h1>",
           f"<p class='muted'>Before: {esc(b['folder'])} ({esc(b.get('started'))})<br>"
           f"After: {esc(a['folder'])} ({esc(a.get('started'))})</p>"]
    for note in summary.get("notes", []):
        out.append(f"<div class='warn'>{esc(note)}</div>")
    nb = len(summary["not_compared"]["only_before"])
    na = len(summary["not_compared"]["only_after"])
    cards = [("areas compared", f"{summary['areas_compared']:,}"),
             ("lower risk (fixed reference)", f"{fr['areas_better']:,}"),
             ("higher risk (fixed reference)", f"{fr['areas_worse']:,}"),
             ("unchanged", f"{fr['areas_unchanged']:,}"),
             ("moved to a lower-risk decile", f"{fr['moved_to_lower_risk_decile']:,}"),
             ("moved to a higher-risk decile", f"{fr['moved_to_higher_risk_decile']:,}"),
             ("not compared", f"{nb + na:,}")]
    out.append("<div class='cards'>" + "".join(f"<div class='card'><b>{v}</b>{esc(k)}</div>"
                                               for k, v in cards) + "</div>")
    out.append("<h2>Inputs</h2>")
    rows = [[_td(r["input"], text=True), _file(r["before"]), _file(r["after"]),
             _td(f"{str(r.get('before_date') or '-')[:10]} / "
                 f"{str(r.get('after_date') or '-')[:10]}", text=True),
             _td("changed" if r["changed"] else "same", text=True)]
            for r in summary["inputs"]]
    out.append(_table(["input", "before", "after", "data dates (before / after)", ""], rows))
    if summary["settings_differ"]:
        rows = [[_td(k, text=True), _td(v["before"], text=True), _td(v["after"], text=True)]
                for k, v in summary["settings_differ"].items()]
        out.append("<p>Settings that differ:</p>" + _table(["setting", "before", "after"], rows))
    out.append("<h2>Maps of change</h2><div class='maps'>")
    out.append(svg_map(change, "isolation_risk_fixed_change",
                       "Isolation risk, after minus before (fixed reference)"))
    moved = pd.to_numeric(change.get("decile_move_fixed"), errors="coerce")
    if moved is not None and (moved.fillna(0) != 0).any():
        flipped = change.assign(_m=-change["decile_move_fixed"].astype("Float64"))
        out.append(svg_map(flipped, "_m", "Decile movement (fixed reference; red = towards "
                                          "higher risk)"))
    else:
        out.append("<p>No area moved to another decile on the earlier run's scale.</p>")
    out.append("</div>")
    out.append("<h2>Areas that moved most, and why</h2>")
    rows = [[_td(m["area_id"], text=True), _td(m.get("area_name"), text=True),
             _td(m["change"], 2, sign=True),
             _td(f"{m['decile_before']} -> {m['decile_after']}", text=True),
             _td(m["why"], text=True)] for m in summary["top_movers"]]
    out.append(_table(["area", "name", "risk change", "decile", "why (indicators, weighted "
                       "score change)"], rows) if rows else "<p>No area's score changed.</p>")
    out.append(f"<h2>Population within {summary['before']['within_min']:g} minutes' walk</h2>")
    out.append(f"<p class='muted'>Before: {esc(b['within_method'])}. After: "
               f"{esc(a['within_method'])}.</p>")
    rows = []
    for cat, rb in b["categories"].items():
        ra = a["categories"].get(cat, {})
        pb, pa = rb.get("population_within"), ra.get("population_within", math.nan)
        rows.append([_td(labels.get(cat, cat), text=True), _td(pb, 0), _td(pa, 0),
                     _td((pa or math.nan) - (pb or math.nan), 0, sign=True),
                     _td(100 * rb.get("share_within", math.nan), 1),
                     _td(100 * ra.get("share_within", math.nan), 1),
                     _td(rb.get("median_walk_min"), 1), _td(ra.get("median_walk_min"), 1)])
    out.append(_table(["category", "people before", "people after", "change", "% before",
                       "% after", "median min before", "median min after"], rows))
    out.append("<h2>Equity gap (most minus least deprived fifth)</h2>")
    keys = list(dict.fromkeys([*b["equity_gap"], *a["equity_gap"]]))
    if keys:
        def groups(g: dict) -> str:  # the two fifths' sizes: a gap is only measured from 5 each
            return f"{g.get('n_most', 0)} / {g.get('n_least', 0)}" if g else ""

        rows = [[_td(_measure_label(k, labels), text=True),
                 _td(b["equity_gap"].get(k, {}).get("gap"), 1, sign=True),
                 _td(a["equity_gap"].get(k, {}).get("gap"), 1, sign=True),
                 _td(groups(b["equity_gap"].get(k, {})), text=True),
                 _td(groups(a["equity_gap"].get(k, {})), text=True)] for k in keys]
        out.append(f"<p class='muted'>Population-weighted medians of IMD deciles 1-2 minus "
                   f"deciles 9-10 (positive: the most deprived fifth is worse off); areas in "
                   f"each fifth shown as most / least deprived. No gap is given when a fifth "
                   f"has fewer than {schema.EQUITY_MIN_AREAS} areas: the median of a few areas "
                   f"swings with any one of them.</p>")
        out.append(_table(["measure", "gap before", "gap after", "areas before",
                           "areas after"], rows))
    else:
        out.append("<p>The runs have no deprivation deciles (imd_decile): no equity gap.</p>")
    tb, ta = b.get("targets") or [], a.get("targets") or []
    if tb or ta:
        out.append("<h2>Targets</h2>")
        after = {t.get("target"): t for t in ta}
        rows = [[_td(t.get("target"), text=True), _td(t.get("goal"), 2), _td(t.get("value"), 2),
                 _td(after.get(t.get("target"), {}).get("value"), 2),
                 _td("met" if after.get(t.get("target"), {}).get("met") else "not met",
                     text=True), _td(t.get("by"), text=True)] for t in tb]
        out.append(_table(["target", "goal", "before", "after", "after", "by"], rows))
    out.append("<h2>Areas not compared</h2>")
    for side, key in (("earlier run only", "only_before"), ("later run only", "only_after")):
        ids = summary["not_compared"][key]
        shown_ids = ", ".join(esc(i) for i in ids[:200]) + (" ..." if len(ids) > 200 else "")
        out.append(f"<p><b>{len(ids):,} in the {side}</b>{': ' + shown_ids if ids else ''}</p>")
    if summary.get("vintage_methods"):
        out.append("<p class='muted'>Areas compared, by how they were matched: " + ", ".join(
            f"{esc(k)} {v:,}" for k, v in summary["vintage_methods"].items()) + "</p>")
    out.append(f"<h2>Method</h2><p class='muted'>{esc(fr['method'])}. Raw indicators are "
               f"compared as they are; scores are the later run placed in the earlier run's "
               f"distribution, so an area whose inputs did not change keeps its score.</p>")
    out.append(f"<p class='muted'>{esc(ATTRIBUTION)}</p></body></html>")
    return "\n".join(out)
