"""Self-contained HTML maps: a folium choropleth of any area indicator with amenity layers.

folium loads Leaflet, jQuery, Bootstrap and awesome-markers from CDNs by default,
so its maps are blank offline or behind a proxy that blocks CDNs. The maps made
here embed the vendored Leaflet 1.9.4 (``data/vendor/leaflet``, checked against
its SHA-256) as ``data:`` URLs and need nothing else: no jQuery, Bootstrap,
awesome-markers or d3 (the legend is plain HTML in a Leaflet control). Only the
basemap tiles need the internet, and the choropleth is readable without them.

The same functions draw ``map.html`` of a run and every map of the app
(``socialrisk.ui``).

Outside text (OSM tags, area ids and names, taxonomy labels) is escaped with
:func:`socialrisk.core.sanitize.html_text` before it reaches the map: folium builds
tooltips and popups with ``innerHTML`` (``GeoJsonTooltip``/``GeoJsonPopup``),
puts ``Tooltip`` text inside a JavaScript template string, and Leaflet shows
layer names and attributions as HTML. So every GeoJSON property, alias, layer
name, legend text, attribution and tooltip text written here is escaped; the
entities display as the original characters.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from socialrisk.core import schema
from socialrisk.core.data import embedded_file
from socialrisk.core.sanitize import html_text
from socialrisk.scorelabels import is_risk_column, score_label

log = logging.getLogger(__name__)

OSM_ATTRIBUTION = "(c) OpenStreetMap contributors, ODbL 1.0"
OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0; "
    "Source: Office for National Statistics; "
    "Contains OS data (c) Crown copyright and database right"
)
NO_DATA_COLOUR = "#bdbdbd"
# ColorBrewer RdYlBu, 10 classes: decile 1 (highest risk) red ... decile 10 blue
DECILE_COLOURS = ["#a50026", "#d73027", "#f46d43", "#fdae61", "#fee090",
                  "#e0f3f8", "#abd9e9", "#74add1", "#4575b4", "#313695"]
# ColorBrewer RdYlBu, 5 classes: worst fifth red ... best fifth blue
QUINTILE_COLOURS = ["#d7191c", "#fdae61", "#ffffbf", "#abd9e9", "#2c7bb6"]
CATEGORY_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                    "#a6761d", "#666666", "#1f78b4", "#b15928", "#6a3d9a", "#33a02c",
                    "#fb9a99", "#cab2d6"]

LEAFLET_VERSION = "1.9.4"
LEAFLET_SHA256 = {
    "leaflet.js": "db49d009c841f5ca34a888c96511ae936fd9f5533e90d8b2c4d57596f4e5641a",
    "leaflet.css": "a7837102824184820dfa198d1ebcd109ff6d0ff9a2672a074b9a1b4d147d04c6",
    "images/layers.png": "1dbbe9d028e292f36fcba8f8b3a28d5e8932754fc2215b9ac69e4cdecf5107c6",
    "images/layers-2x.png": "066daca850d8ffbef007af00b06eac0015728dee279c51f3cb6c716df7c42edf",
    "images/marker-icon.png": "574c3a5cca85f4114085b6841596d62f00d7c892c7b03f28cbfa301deb1dc437",
    "images/marker-icon-2x.png":
        "00179c4c1ee830d3a108412ae0d294f55776cfeb085c60129a39aa6fc4ae2528",
    "images/marker-shadow.png":
        "264f5c640339f042dd729062cfc04c17f8ea0f29882b538e3848ed8f10edb4da",
}
# light background so that the map reads without basemap tiles (offline)
_EXTRA_CSS = (".leaflet-container{background:#f4f4f2}"
              ".socialrisk-legend{background:rgba(255,255,255,.92);padding:6px 8px;"
              "font:12px/1.35 sans-serif;border-radius:4px;box-shadow:0 0 4px rgba(0,0,0,.3);"
              "max-width:260px}"
              ".socialrisk-legend i{display:inline-block;width:14px;height:11px;"
              "margin-right:5px;vertical-align:-1px;border:1px solid #777}")


# ---------------------------------------------------------------- offline Leaflet


def _vendor_dir() -> Path:

    return embedded_file("vendor/leaflet")


def _data_url(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


@functools.lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """The vendored Leaflet as ``(js_data_url, css_data_url)``.

    The CSS has its images embedded, and a few lines after ``leaflet.js`` point
    the default marker icon at the embedded images, so no URL is ever fetched.

    Raises
    ------
    RuntimeError
        If a vendored file is missing or its SHA-256 differs from the recorded one.
    """
    root = _vendor_dir()
    files: dict[str, bytes] = {}
    for name, digest in LEAFLET_SHA256.items():
        path = root / name
        if not path.is_file():
            raise RuntimeError(f"vendored Leaflet file {path} is missing; reinstall socialrisk "
                               "(see data/vendor/leaflet/PROVENANCE.md)")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise RuntimeError(f"vendored Leaflet file {path} does not match its recorded "
                               "SHA-256; restore it (see data/vendor/leaflet/PROVENANCE.md)")
        files[name] = data
    css = files["leaflet.css"].decode("utf-8")
    for img in ("layers.png", "layers-2x.png", "marker-icon.png"):
        css = css.replace(f"url(images/{img})",
                          f"url({_data_url('image/png', files['images/' + img])})")
    css += "\n" + _EXTRA_CSS
    icons = {key: _data_url("image/png", files[f"images/{name}"]) for key, name in
             [("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
              ("shadowUrl", "marker-shadow.png")]}
    js = (files["leaflet.js"].decode("utf-8")
          + "\n;L.Icon.Default.imagePath='';"
          + "L.Icon.Default.mergeOptions(" + json.dumps(icons) + ");\n")
    return (_data_url("text/javascript", js.encode("utf-8")),
            _data_url("text/css", css.encode("utf-8")))


def offline(fmap: folium.Map) -> folium.Map:
    """Make ``fmap`` load only the embedded Leaflet (no CDN, no jQuery/Bootstrap)."""
    js, css = leaflet_assets()
    fmap.default_js = [("leaflet", js)]
    fmap.default_css = [("leaflet_css", css)]
    return fmap


def base_map(bounds: tuple[float, float, float, float], basemap: bool = True,
             attribution: str = OGL_ATTRIBUTION) -> folium.Map:
    """An offline-ready folium map fitted to ``bounds`` (minx, miny, maxx, maxy, EPSG:4326).

    Parameters
    ----------
    bounds : tuple of float
        Longitude/latitude bounds to fit.
    basemap : bool
        Add the OpenStreetMap tiles (need the internet; the map works without them).
    attribution : str
        Attribution of the area data, shown with the OpenStreetMap notice.

    Returns
    -------
    folium.Map
    """
    minx, miny, maxx, maxy = bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None,
                      control_scale=True, prefer_canvas=False)
    offline(fmap)
    if basemap:
        folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="OpenStreetMap (online)"
                         ).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    # the tile layer already credits OpenStreetMap; say it once
    _Attribution(attribution if basemap else f"Map data {OSM_ATTRIBUTION}. {attribution}"
                 ).add_to(fmap)
    return fmap


class _Attribution(MacroElement):
    """Adds a line to the map's Leaflet attribution control."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.html|tojson }});
{% endmacro %}""")

    def __init__(self, text: str):
        super().__init__()
        self._name = "Attribution"
        self.text = text
        self.html = html_text(text)  # Leaflet shows attributions as HTML


class Legend(MacroElement):
    """A plain-HTML legend in a Leaflet control (no d3, works offline)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var legend = L.control({position: {{ this.position|tojson }}});
  legend.onAdd = function () {
    var div = L.DomUtil.create('div', 'socialrisk-legend');
    div.innerHTML = {{ this.html|tojson }};
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}""")

    def __init__(self, title: str, rows: list[tuple[str, str]], note: str = "",
                 position: str = "bottomright"):
        super().__init__()
        self._name = "Legend"
        self.position = position
        self.html = legend_html(title, rows, note)


def legend_html(title: str, rows: list[tuple[str, str]], note: str = "") -> str:
    """HTML of a legend: a title, one swatch and label per row, an optional note.

    The texts are escaped; a colour must be a ``#rrggbb`` value (others are drawn grey).
    """
    out = [f"<b>{html_text(title)}</b>"]
    out += [f'<div><i style="background:{_colour(c)}"></i>{html_text(t)}</div>'
            for c, t in rows]
    if note:
        out.append(f'<div style="color:#555;margin-top:3px">{html_text(note)}</div>')
    return "".join(out)


def _colour(value: str) -> str:
    return value if isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{3,8}", value) \
        else NO_DATA_COLOUR


def tooltip_text(text: object) -> str:
    """``text`` ready for ``tooltip=`` of a folium marker or layer (escaped).

    folium puts a tooltip string as it is into a JavaScript template string that
    Leaflet shows as HTML; escaped, it is shown as the text it is.
    """
    return html_text(text)


# ---------------------------------------------------------------- indicators


def lower_is_worse(column: str) -> bool:
    """True for indicators where a low value is the bad end (counts, access, ranks, deciles).

    Distances, walking times, shares beyond a threshold, deprivation and domain
    scores and isolation risk are worse when higher; counts within a distance,
    gravity and E2SFCA access, IoD ranks and deciles (1 = most deprived) and the
    isolation-risk rank/decile (1 = highest risk) are worse when lower.
    """
    if column.endswith("_p_top_decile"):
        return False
    return bool(re.search(r"(_count_\d+m|_gravity|_e2sfca|_rank|_decile|_rank_p05|_rank_p95)$",
                          column))


_SUFFIXES = [
    (rf"_{schema.NEAREST_SUFFIX}$", "Distance to the nearest {} (m)"),
    (rf"_{schema.SLOW_SUFFIX}$",
     f"Walking minutes to the nearest {{}} at {schema.SLOW_WALK_SPEED_KMH:g} km/h"),
    (rf"_{schema.WALK_MIN_SUFFIX}$", "Walking minutes to the nearest {}"),
    (r"_count_(\d+)m$", "Number of places within {1} m: {0}"),
    (r"_share_beyond_(\d+)m$", "Share of residents beyond {1} m of a {0}"),
    (r"_gravity$", "Gravity access to {}"),
    (r"_e2sfca$", "E2SFCA supply per 1,000 people: {}"),
    (rf"_{schema.UNREACHABLE_SUFFIX}$", "Share of residents who cannot reach a {}"),
]
_FIXED = {
    schema.ISOLATION_RISK: "Isolation-risk score (0-100, higher = more risk)",
    schema.ISOLATION_RISK_DECILE: "Isolation-risk decile (1 = highest risk)",
    schema.ISOLATION_RISK_RANK: "Isolation-risk rank (1 = highest risk)",
    schema.POPULATION: "Population",
    "imd_score": "Index of Multiple Deprivation score",
    "imd_decile": "IMD decile in England (1 = most deprived)",
    "imd_rank": "IMD rank in England (1 = most deprived)",
    "idaopi_score": "Older people in income deprivation (IDAOPI score)",
    "idaci_score": "Children in income deprivation (IDACI score)",
    "share_60_plus": "Share of residents aged 60+",
    "hh_deprived_2plus_share": "Share of households deprived in 2+ dimensions",
}


def indicator_label(column: str, labels: dict[str, str] | None = None) -> str:
    """Plain words for an output column, e.g. ``gp_walk_min`` -> walking minutes to a GP."""
    if column in _FIXED:
        return _FIXED[column]
    if is_risk_column(column) and (label := score_label(column)):
        return label
    labels = labels or {}
    for cat, label in sorted(labels.items(), key=lambda kv: -len(kv[0])):
        if not column.startswith(cat + "_"):
            continue
        rest = column[len(cat):]
        for pattern, text in _SUFFIXES:
            m = re.search(pattern, rest)
            if m and m.start() == 0:
                lab = label[:1].lower() + label[1:] if not label[:2].isupper() else label
                return text.format(lab, *m.groups())
    m = re.match(r"^(.*)_(score|rank|decile)$", column)
    if m:
        words = m.group(1).replace("_", " ")
        if column.endswith("_score") and m.group(1) in ("access", "deprivation", "demographic"):
            return f"{words.capitalize()} domain score (0-100, higher = more risk)"
        kind = {"score": "score", "rank": "rank in England (1 = most deprived)",
                "decile": "decile in England (1 = most deprived)"}[m.group(2)]
        return f"{words.capitalize()} {kind}"
    return column.replace("_", " ").capitalize()


def format_value(column: str, value: float) -> str:
    """A value with its unit, rounded for reading (``1.2 km``, ``12 min``, ``35 %``)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "no data"
    v = float(value)
    if column.endswith(f"_{schema.NEAREST_SUFFIX}"):
        return f"{v / 1000:.1f} km" if v >= 1000 else f"{v:.0f} m"
    if f"_{schema.WALK_MIN_SUFFIX}" in column:
        return f"{v:.1f} min" if v < 10 else f"{v:.0f} min"
    if column.endswith(("_share", "_p_top_decile")) or "_share_" in column \
            or column.startswith("share_"):
        return f"{100 * v:.0f} %"
    if re.search(rf"(_rank|_decile|_rank_p05|_rank_p95|{schema.POPULATION})$", column) \
            or column == schema.POPULATION:
        return f"{v:,.0f}"
    if re.search(r"_count_\d+m$", column):
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:,.1f}"


# ---------------------------------------------------------------- classification


@dataclass
class Classes:
    """Colour classes of an indicator over the areas.

    ``cls[i]`` is area i's class (0 = the worst class, -1 = no data);
    ``colours[k]`` and ``labels[k]`` describe class k for the legend.
    """

    cls: np.ndarray
    colours: list[str]
    labels: list[str]
    title: str
    note: str

    def colour_of(self, i: int) -> str:
        k = int(self.cls[i])
        return NO_DATA_COLOUR if k < 0 else self.colours[k]

    def legend_rows(self) -> list[tuple[str, str]]:
        rows = [(c, t) for c, t in zip(self.colours, self.labels, strict=True)]
        n_missing = int((self.cls < 0).sum())
        rows.append((NO_DATA_COLOUR, f"no data ({n_missing} areas)"))
        return rows


def classify(values: pd.Series | np.ndarray, column: str, scheme: str = "deciles",
             labels: dict[str, str] | None = None) -> Classes:
    """Put areas into colour classes, worst first.

    Parameters
    ----------
    values : array-like
        The indicator per area (NaN = no data).
    column : str
        Column name; gives the direction (:func:`lower_is_worse`), label and units.
    scheme : {"deciles", "quintiles", "equal"}
        Quantile classes of the areas (as the IoD: class = ceil(n * rank / N),
        rank 1 = worst) or 10 equal-width intervals. Columns that already are
        deciles (``*_decile``) are shown as they are.
    labels : dict, optional
        Category labels for the title.

    Returns
    -------
    Classes
    """
    x = np.asarray(values, dtype=float)
    ok = np.isfinite(x)
    n = int(ok.sum())
    cls = np.full(x.size, -1, dtype=int)
    title = indicator_label(column, labels)
    worse_low = lower_is_worse(column)
    if column.endswith("_decile") and not column.endswith("_p_top_decile"):
        risk = is_risk_column(column)
        cls[ok] = np.clip(np.round(x[ok]).astype(int), 1, 10) - 1
        names = ["1 (highest risk 10 %)" if risk else "1 (most deprived 10 %)",
                 *[str(k) for k in range(2, 10)],
                 "10 (lowest risk 10 %)" if risk else "10 (least deprived 10 %)"]
        return Classes(cls, list(DECILE_COLOURS), names, title,
                       "red = higher risk, relative to these areas" if risk
                       else "red = worse; deciles as published")
    if n == 0:
        return Classes(cls, [], [], title, "no area has a value")
    if scheme == "equal":
        lo, hi = float(np.min(x[ok])), float(np.max(x[ok]))
        k = 10
        if hi > lo:
            pos = (x[ok] - lo) / (hi - lo)
            pos = 1 - pos if not worse_low else pos  # 0 = worst end
            cls[ok] = np.minimum((pos * k).astype(int), k - 1)
        else:
            cls[ok] = 0
        colours = list(DECILE_COLOURS)
        note = "10 equal intervals; red = worse"
    else:
        k = 5 if scheme == "quintiles" else 10
        colours = list(QUINTILE_COLOURS if k == 5 else DECILE_COLOURS)
        bad = -x[ok] if not worse_low else x[ok]  # ascending = worst first
        rank = pd.Series(bad).rank(method="min").to_numpy()
        cls[ok] = np.clip(np.ceil(k * rank / n).astype(int), 1, k) - 1
        part = "tenth" if k == 10 else "fifth"
        note = f"{'deciles' if k == 10 else 'quintiles'} of {n} areas; red = worst {part}"
    names = []
    for j in range(len(colours)):
        sel = x[cls == j]
        if sel.size == 0:
            names.append("(no areas)")
            continue
        a, b = float(np.min(sel)), float(np.max(sel))
        fa, fb = format_value(column, a), format_value(column, b)
        rng = fa if fa == fb else f"{fa} to {fb}"
        lead = "worst" if j == 0 else ("best" if j == len(colours) - 1 else "")
        names.append(f"{j + 1}{' ' + lead if lead else ''}: {rng}")
    return Classes(cls, colours, names, title, note)


# ---------------------------------------------------------------- layers


def add_choropleth(fmap: folium.Map, areas: gpd.GeoDataFrame, column: str, classes: Classes,
                   tooltip_columns: list[str] | None = None, name: str | None = None,
                   highlight: str | None = None, legend: bool = True) -> folium.GeoJson:
    """Draw areas coloured by ``classes`` with a tooltip and (optionally) the legend.

    Parameters
    ----------
    fmap : folium.Map
    areas : GeoDataFrame
        Areas in EPSG:4326 with ``area_id`` (row order matches ``classes.cls``).
    column : str
        The indicator shown (added to the tooltip).
    classes : Classes
        From :func:`classify`.
    tooltip_columns : list of str, optional
        Further columns for the tooltip.
    name : str, optional
        Layer name in the layer control.
    highlight : str, optional
        ``area_id`` drawn with a thick outline (e.g. the selected area).
    legend : bool
        Add the legend control.

    Returns
    -------
    folium.GeoJson
    """
    cols = [schema.AREA_ID, *[c for c in (tooltip_columns or []) if c in areas.columns
                              and c not in (schema.AREA_ID, column)]]
    if column in areas.columns:
        cols.append(column)
    show = areas[cols + ["geometry"]].copy()
    show["geometry"] = show.geometry.simplify(0.00005, preserve_topology=True)
    for c in cols:
        if c != schema.AREA_ID and pd.api.types.is_numeric_dtype(show[c]):
            show[c] = [format_value(c, v) for v in show[c].astype(float)]
        elif c != schema.AREA_ID:
            show[c] = show[c].astype(str).str.slice(0, 300)
    show["_fill"] = [classes.colour_of(i) for i in range(len(show))]
    show["_line"] = ["#000000" if (highlight is not None and a == highlight) else "#555555"
                     for a in show[schema.AREA_ID]]
    show["_weight"] = [3.5 if (highlight is not None and a == highlight) else 0.5
                       for a in show[schema.AREA_ID]]
    # the tooltip shows the properties with innerHTML: escape every shown value
    # (a click handler gets area_id escaped too: html.unescape gives the id back)
    for c in cols:
        show[c] = [html_text(v) for v in show[c]]
    geojson = json.loads(show.to_json(na="null", drop_id=True))
    aliases = [html_text(indicator_label(c)) if c != schema.AREA_ID else "Area" for c in cols]
    layer = folium.GeoJson(
        geojson, name=html_text(name or classes.title),
        style_function=lambda f: {"fillColor": f["properties"]["_fill"],
                                  "color": f["properties"]["_line"],
                                  "weight": f["properties"]["_weight"], "fillOpacity": 0.7},
        highlight_function=lambda f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=cols, aliases=aliases, sticky=True),
    )
    layer.add_to(fmap)
    if legend:
        Legend(classes.title, classes.legend_rows(), classes.note).add_to(fmap)
    return layer


def add_amenity_layers(fmap: folium.Map, amenities: gpd.GeoDataFrame, labels: dict[str, str],
                       show: set[str] | frozenset[str] = frozenset()) -> None:
    """One toggled layer of points per category, with name and type in tooltip and popup.

    Parameters
    ----------
    fmap : folium.Map
    amenities : GeoDataFrame
        Points (any CRS) with ``category``, ``name``, ``amenity_type`` and optionally
        ``opening_hours`` and ``wheelchair``.
    labels : dict
        Category -> plain label.
    show : set of str
        Categories whose layer is switched on at first.
    """
    pts = amenities.to_crs("EPSG:4326")
    order = list(labels) + sorted(set(pts["category"]) - set(labels))
    for i, cat in enumerate(order):
        group = pts[pts["category"] == cat]
        if group.empty:
            continue
        colour = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
        label = str(labels.get(cat, cat))
        # tooltip and popup show these with innerHTML: every value is escaped
        frame = pd.DataFrame({
            "name": [html_text(n) if isinstance(n, str) and n else "(no name)"
                     for n in group["name"]],
            "type": [html_text(f"{label} ({t})" if isinstance(t, str) and t else label)
                     for t in group["amenity_type"]],
        })
        fields, aliases = ["name", "type"], ["", ""]
        for col, alias in (("opening_hours", "Opening hours"), ("wheelchair", "Wheelchair")):
            if col in group.columns:
                frame[col] = [html_text(v) if isinstance(v, str) and v else "not recorded"
                              for v in group[col]]
                fields.append(col)
                aliases.append(alias)
        geo = gpd.GeoDataFrame(frame, geometry=group.geometry.representative_point().to_numpy(),
                               crs="EPSG:4326")
        folium.GeoJson(
            json.loads(geo.to_json(drop_id=True)),
            name=(f'<span style="color:{colour}">&#9679;</span> {html_text(label)} '
                  f'({len(group)})'),
            show=cat in show,
            marker=folium.CircleMarker(radius=4, color=colour, fill=True, fill_color=colour,
                                       fill_opacity=0.9, weight=1),
            tooltip=folium.GeoJsonTooltip(fields=["name", "type"], aliases=["", ""]),
            popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
        ).add_to(fmap)


def build_map(areas: gpd.GeoDataFrame, amenities: gpd.GeoDataFrame,
              labels: dict[str, str], tooltip_columns: list[str] | None = None,
              attribution_extra: str = OGL_ATTRIBUTION, column: str = schema.ISOLATION_RISK_DECILE,
              scheme: str = "deciles", basemap: bool = True,
              extra_layers: Callable[[folium.Map], object] | None = None) -> folium.Map:
    """Build the risk map of a run (``map.html``): self-contained, works offline.

    Parameters
    ----------
    areas : GeoDataFrame
        The output areas table (any CRS) with ``area_id`` and ``column``.
    amenities : GeoDataFrame
        Amenity points with ``category``, ``name``, ``amenity_type``.
    labels : dict
        Category -> plain label for layer names.
    tooltip_columns : list of str, optional
        Area columns shown in the tooltip.
    attribution_extra : str
        Attribution for the area and deprivation data (OGL notices by default).
    column : str
        Indicator to colour the areas by (default the isolation-risk decile).
    scheme : str
        Classes, see :func:`classify`.
    basemap : bool
        Add OpenStreetMap tiles (online only; the map reads without them).
    extra_layers : callable, optional
        Adds more overlays (e.g. hot spots) before the layer control is built.

    Returns
    -------
    folium.Map
    """
    a = areas.to_crs("EPSG:4326").reset_index(drop=True)
    fmap = base_map(tuple(a.total_bounds), basemap=basemap, attribution=attribution_extra)
    values = a[column] if column in a.columns else pd.Series(np.nan, index=a.index)
    classes = classify(values.astype(float), column, scheme, labels)
    name = ("Isolation risk (decile, 1 = highest risk)" if column == schema.ISOLATION_RISK_DECILE
            else classes.title)
    add_choropleth(fmap, a, column, classes, tooltip_columns, name=name)
    add_amenity_layers(fmap, amenities, labels)
    if extra_layers is not None:
        extra_layers(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def map_html(fmap: folium.Map) -> str:
    """The complete, self-contained HTML page of a map (for download or saving)."""
    return fmap.get_root().render()
