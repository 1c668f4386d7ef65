"""Printable one-page reports: a site screening, and a list of assets for a person.

Both are self-contained HTML strings (inline CSS and an inline SVG map, no
scripts, no external requests) that print on one A4 page from a browser.
:func:`html_to_pdf` turns them into PDF with WeasyPrint when it is installed
(``pip install weasyprint``; it needs the Pango library, present on most Linux
desktops); it returns None otherwise.

Every outside text (site and place names, OSM tags, labels, notes) is escaped
with :func:`socialrisk.core.sanitize.html_text`; a website becomes a link only when
it is an ``http(s)`` URL (:func:`socialrisk.core.sanitize.safe_url`), else it is left out.
"""

from __future__ import annotations

import logging
import math
import time

import geopandas as gpd
import numpy as np
import pandas as pd

from socialrisk.columns import format_latlon
from socialrisk.core.sanitize import html_text, safe_url
from socialrisk.webmap import OGL_ATTRIBUTION, OSM_ATTRIBUTION

log = logging.getLogger(__name__)

__all__ = ["site_report_html", "assets_list_html", "svg_map", "html_to_pdf", "pdf_available",
           "ATTRIBUTION"]

ATTRIBUTION = f"Map data and amenities {OSM_ATTRIBUTION}. {OGL_ATTRIBUTION}."
ISO_COLOURS = ["#deebf7", "#9ecae1", "#3182bd", "#08519c"]  # largest (lightest) first

_CSS = """
@page { size: A4; margin: 12mm; }
body { font-family: Helvetica, Arial, sans-serif; font-size: 10pt; color: #222; margin: 0; }
h1 { font-size: 15pt; margin: 0 0 2mm 0; }
h2 { font-size: 11pt; margin: 4mm 0 1mm 0; border-bottom: 1px solid #999; }
p { margin: 1mm 0; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
th, td { border-bottom: 1px solid #ddd; padding: 1mm 1.5mm; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; white-space: nowrap; }
.small { font-size: 7.5pt; color: #555; }
.map { float: right; margin: 0 0 2mm 4mm; border: 1px solid #bbb; }
.key span { display: inline-block; width: 3mm; height: 3mm; margin-right: 1mm; }
section.cat { break-inside: avoid; }
"""


def _e(x) -> str:
    """Escaped text; empty for missing values."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return ""
    return html_text(x)


def _link(url) -> str:
    """An escaped link to an ``http(s)`` URL; empty for any other value (``javascript:`` ...)."""
    u = safe_url(url)
    return f'<a href="{html_text(u)}">{html_text(u)}</a>' if u else ""


def _fmt(x: float, digits: int = 0, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "no data"
    if math.isinf(x):
        return "not reachable"
    return f"{x:,.{digits}f}{unit}"


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def _ring_path(coords: np.ndarray, tx) -> str:
    pts = tx(coords)
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + " Z"


def _poly_paths(geom, tx) -> str:
    parts = []
    polys = getattr(geom, "geoms", [geom])
    for p in polys:
        if p.is_empty or p.geom_type != "Polygon":
            continue
        parts.append(_ring_path(np.asarray(p.exterior.coords), tx))
        parts += [_ring_path(np.asarray(r.coords), tx) for r in p.interiors]
    return " ".join(parts)


def svg_map(isochrones: gpd.GeoDataFrame | None, site_xy: tuple[float, float],
            points: pd.DataFrame | None = None, width: int = 330, height: int = 330,
            margin_m: float = 150.0, site_geom=None) -> str:
    """A small static map as inline SVG, in the isochrones' projected CRS.

    Parameters
    ----------
    isochrones : GeoDataFrame or None
        From :func:`risk.isochrone.isochrone` (metres).
    site_xy : (float, float)
        The site, same CRS.
    points : DataFrame, optional
        ``x``, ``y`` and ``label`` (a short key, e.g. "1") of places to mark.
    width, height : int
        Pixels.
    margin_m : float
        Space around the drawn features.
    site_geom : shapely geometry, optional
        A site polygon to outline.
    """
    geoms = [] if isochrones is None else [g for g in isochrones.geometry if not g.is_empty]
    xs = [site_xy[0]]
    ys = [site_xy[1]]
    for g in geoms:
        b = g.bounds
        xs += [b[0], b[2]]
        ys += [b[1], b[3]]
    if points is not None and len(points):
        xs += list(points["x"])
        ys += list(points["y"])
    x0, x1 = min(xs) - margin_m, max(xs) + margin_m
    y0, y1 = min(ys) - margin_m, max(ys) + margin_m
    scale = min(width / (x1 - x0), height / (y1 - y0))
    ox = (width - scale * (x1 - x0)) / 2
    oy = (height - scale * (y1 - y0)) / 2

    def tx(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=float).reshape(-1, 2)
        return np.column_stack([ox + (c[:, 0] - x0) * scale, oy + (y1 - c[:, 1]) * scale])

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="map" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}">',
           f'<rect width="{width}" height="{height}" fill="#fafafa"/>']
    if isochrones is not None:
        order = np.argsort(-isochrones["minutes"].to_numpy())
        for k, i in enumerate(order):
            g = isochrones.geometry.iloc[i]
            colour = ISO_COLOURS[-len(order):][k] if len(order) <= 4 else "#3182bd"
            out.append(f'<path d="{_poly_paths(g, tx)}" fill="{colour}" fill-opacity="0.55" '
                       f'fill-rule="evenodd" stroke="#08519c" stroke-width="0.5"/>')
    if site_geom is not None and site_geom.geom_type in ("Polygon", "MultiPolygon"):
        out.append(f'<path d="{_poly_paths(site_geom, tx)}" fill="none" stroke="#000" '
                   f'stroke-width="1.5"/>')
    if points is not None:
        for _, r in points.iterrows():
            px, py = tx(np.array([r["x"], r["y"]]))[0]
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="6" fill="#fff" '
                       f'stroke="#d95f02" stroke-width="1.5"/>'
                       f'<text x="{px:.1f}" y="{py + 3:.1f}" font-size="8" text-anchor="middle" '
                       f'font-family="Helvetica, Arial">{_e(r["label"])}</text>')
    sx, sy = tx(np.array(site_xy))[0]
    out.append(f'<path d="M{sx - 6:.1f},{sy:.1f} L{sx:.1f},{sy - 8:.1f} L{sx + 6:.1f},{sy:.1f} '
               f'L{sx:.1f},{sy + 8:.1f} Z" fill="#e7298a" stroke="#000" stroke-width="0.8"/>')
    # scale bar
    bar_m = _nice(0.25 * (x1 - x0))
    bx = 10
    by = height - 12
    out.append(f'<line x1="{bx}" y1="{by}" x2="{bx + bar_m * scale:.1f}" y2="{by}" '
               f'stroke="#000" stroke-width="2"/><text x="{bx}" y="{by - 4}" font-size="9" '
               f'font-family="Helvetica, Arial">{bar_m:g} m</text>')
    out.append("</svg>")
    return "".join(out)


def _nice(x: float) -> float:
    if x <= 0:
        return 100.0
    p = 10 ** math.floor(math.log10(x))
    return float(max(m * p for m in (1, 2, 5) if m * p <= x) if x >= p else p)


def site_report_html(screening, isochrones: gpd.GeoDataFrame | None = None,
                     amenities: gpd.GeoDataFrame | None = None, *, title: str = "",
                     labels: dict[str, str] | None = None,
                     attribution: str = ATTRIBUTION, data_note: str = "") -> str:
    """One printable page on a development site.

    Parameters
    ----------
    screening : socialrisk.screening.SiteScreening
    isochrones : GeoDataFrame, optional
        Walking isochrones of the site (projected CRS, from
        :func:`risk.isochrone.isochrone`); drawn on the map.
    amenities : GeoDataFrame, optional
        ``Prepared.amenities``: the nearest amenity of each category is marked
        on the map (needs ``isochrones`` for the CRS).
    title : str
        e.g. the site's name; default "Site screening".
    labels : dict, optional
        Category labels (default: the labels in the screening table).
    attribution : str
        Data notices printed at the foot of the page.
    data_note : str
        One line on the data used (e.g. OSM extract date).

    Returns
    -------
    str
        A complete HTML document.
    """
    site = screening.site
    tab = screening.table.copy()
    if labels:
        tab["label"] = tab["category"].map(labels).fillna(tab["label"])
    title = title or "Site screening"
    pts = None
    if amenities is not None and isochrones is not None and len(tab):
        rows = tab["nearest_row"].to_numpy()
        ok = rows >= 0
        sub = amenities.iloc[rows[ok]].to_crs(isochrones.crs).geometry.representative_point()
        pts = pd.DataFrame({"x": sub.x.to_numpy(), "y": sub.y.to_numpy(),
                            "label": (np.flatnonzero(ok) + 1).astype(str)})
    svg = ""
    if isochrones is not None:
        svg = svg_map(isochrones, (site["x"], site["y"]), pts,
                      site_geom=site.get("geometry") if site.get("kind") == "polygon" else None)
    how = (f"polygon, reached at its {site['reached_at']}" if site["kind"] == "polygon"
           else "point")
    body = [f"<h1>{_e(title)}</h1>",
            f"<p>Location {format_latlon(site['lat'], site['lon'])} ({_e(how)});"
            f" {site['snap_m']:.0f} m from the nearest street or path. "
            f"Walking at {screening.speed_kmh:g} km/h (slow: {screening.slow_speed_kmh:g} km/h), "
            f"along the street and path network.</p>"]
    if svg:
        mins = ", ".join(f"{m:g}" for m in isochrones["minutes"])
        body.append(svg)
        body.append(f"<p class=\"small\">Map: areas within {mins} minutes' walk (darker = "
                    f"nearer), the site (pink), and the nearest place of each kind (numbers "
                    f"as in the table).</p>")
    body.append(_standards_html(getattr(screening, "standards", None)))
    body.append("<h2>Nearest places on foot</h2><table><tr><th>#</th><th>Kind</th>"
                "<th>Nearest</th><th>Metres</th><th>Minutes</th><th>Slow</th>"
                f"<th>Within {screening.within_m:g} m</th><th>Compared with areas</th></tr>")
    for i, r in enumerate(tab.itertuples(index=False), start=1):
        name = r.nearest_name if isinstance(r.nearest_name, str) else (
            "(no name in OSM)" if r.nearest_row >= 0 else "")
        body.append(f"<tr><td>{i if r.nearest_row >= 0 else ''}</td><td>{_e(r.label)}</td>"
                    f"<td>{_e(name)}</td><td class=num>{_fmt(r.nearest_m)}</td>"
                    f"<td class=num>{_fmt(r.walk_min, 1)}</td>"
                    f"<td class=num>{_fmt(r.walk_min_slow, 1)}</td>"
                    f"<td class=num>{_fmt(r.count_within)}</td><td>{_e(r.comparison)}</td></tr>")
    body.append("</table>")
    if screening.notes:
        body.append("".join(f"<p class=small>Note: {_e(n)}.</p>" for n in screening.notes))
    body.append("<p class=small>Distances are the shortest walk along OpenStreetMap streets and "
                "paths. 'Compared with areas' is the share of small areas whose residents are, "
                "on average, farther from the nearest place of that kind. OSM may miss places or "
                "list closed ones; check before relying on a single place.</p>")
    body.append(_foot(attribution, data_note))
    return _page(title, "".join(body))


def _standards_html(standards: pd.DataFrame | None) -> str:
    """The site against the absolute walking-distance standards (risk.standards)."""
    if standards is None or not len(standards):
        return ""
    rows = []
    for r in standards.itertuples(index=False):
        style = " style=\"color:#b2182b;font-weight:bold\"" if r.result == "FAILS" else ""
        rows.append(f"<tr><td>{_e(r.label)}</td><td{style}>{_e(r.result)}</td>"
                    f"<td>{_e(r.detail)}</td><td class=small>{_e(r.source)}</td></tr>")
    return ("<h2>Against walking-distance standards</h2><p class=small>Absolute standards: "
            "the walk from the site to the nearest place of each kind named, whatever other "
            "areas are like ('Compared with areas' below is relative). 'unknown': no place of "
            "that kind in the data.</p><table><tr><th>Standard</th><th>Result</th>"
            "<th>Walking distances</th><th>Source</th></tr>" + "".join(rows) + "</table>")


def _foot(attribution: str, data_note: str) -> str:
    when = time.strftime("%Y-%m-%d")
    note = f" {_e(data_note)}" if data_note else ""
    return (f"<p class=small style=\"margin-top:4mm\">Made with socialrisk on {when}.{note} "
            f"{_e(attribution)}</p>")


def assets_list_html(assets: pd.DataFrame, *, title: str = "", place: str = "",
                     minutes: float | None = None, speed_kmh: float | None = None,
                     wheelchair: str | None = None, attribution: str = ATTRIBUTION,
                     data_note: str = "") -> str:
    """A printable list of the community assets within a walk, to hand to a person.

    Parameters
    ----------
    assets : DataFrame
        From :func:`socialrisk.screening.assets_within` (grouped by ``label``,
        nearest first).
    title : str
        Default "Places near you".
    place : str
        Where the walk starts, in words.
    minutes, speed_kmh : float, optional
        The walk, stated in the header.
    wheelchair : {None, "yes", "limited"}
        The filter that was applied, stated in the header.
    attribution, data_note : str
        As in :func:`site_report_html`.

    Returns
    -------
    str
        A complete HTML document.
    """
    title = title or "Places near you"
    walk = ""
    if minutes is not None:
        walk = f"within {minutes:g} minutes' walk"
        if speed_kmh is not None:
            walk += f" (at {speed_kmh:g} km/h)"
    body = [f"<h1>{_e(title)}</h1>"]
    intro = " ".join(x for x in [f"Places {walk}" if walk else "Places",
                                 f"of {_e(place)}" if place else ""] if x) + "."
    if wheelchair == "yes":
        intro += " Only places that OpenStreetMap lists as wheelchair accessible."
    elif wheelchair == "limited":
        intro += " Only places that OpenStreetMap lists as wheelchair accessible or " \
                 "partly accessible."
    body.append(f"<p>{intro}</p>")
    if assets.empty:
        body.append("<p><b>No places found.</b> Try a longer walk or remove the filter.</p>")
    # a council's asset list may give contact details and accessibility (docs/assets.md)
    extra = [c for c in ("contact", "accessibility") if c in assets.columns
             and assets[c].fillna("").astype(str).str.strip().ne("").any()]
    for label, grp in assets.groupby("label", sort=False):
        body.append(f"<section class=cat><h2>{_e(label)} ({len(grp)})</h2><table>"
                    "<tr><th>Name</th><th>Minutes</th><th>Opening hours</th>"
                    "<th>Wheelchair</th><th>Website</th>"
                    + "".join(f"<th>{c.capitalize()}</th>" for c in extra) + "</tr>")
        for r in grp.itertuples(index=False):
            name = r.name if isinstance(r.name, str) else "(no name in OSM)"
            cells = "".join(f"<td>{_e(getattr(r, c)) if isinstance(getattr(r, c), str) else ''}"
                            f"</td>" for c in extra)
            body.append(f"<tr><td>{_e(name)}</td><td class=num>{_fmt(r.walk_min, 0)}</td>"
                        f"<td>{_e(r.opening_hours) or 'not listed'}</td>"
                        f"<td>{_e(r.wheelchair) or 'not listed'}</td>"
                        f"<td>{_link(getattr(r, 'website', None))}</td>{cells}</tr>")
        body.append("</table></section>")
    body.append("<p class=small>Walking times are along streets and paths. Opening hours and "
                "access are what OpenStreetMap volunteers (or the asset list given) recorded: "
                "please check before you go.</p>")
    body.append(_foot(attribution, data_note))
    return _page(title, "".join(body))


def pdf_available() -> bool:
    """Whether :func:`html_to_pdf` can make PDFs here (WeasyPrint importable)."""
    try:
        import weasyprint  # noqa: F401
    except Exception:  # ImportError, or OSError when Pango is missing
        return False
    return True


def html_to_pdf(document: str) -> bytes | None:
    """PDF bytes of one of these HTML documents, or None without WeasyPrint.

    External resources are refused (the documents have none), so this never
    touches the network.
    """
    if not pdf_available():
        return None
    import weasyprint

    def no_fetch(url: str, *args, **kwargs):
        raise ValueError(f"external resource refused: {url}")

    return weasyprint.HTML(string=document, url_fetcher=no_fetch).write_pdf()
