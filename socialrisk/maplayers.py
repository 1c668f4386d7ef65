"""Base map, offline Leaflet and the layers of the HTML maps (:mod:`socialrisk.webmap`).

folium loads Leaflet, jQuery, Bootstrap and awesome-markers from CDNs by default;
the maps made here embed the vendored Leaflet 1.9.4 (``data/vendor/leaflet``,
checked against its SHA-256) as ``data:`` URLs and need nothing else. Every
GeoJSON property, alias, layer name, attribution and tooltip text written here is
escaped with :func:`socialrisk.core.sanitize.html_text` (which also makes ``{ }``
entities: branca runs a map's rendered script through Jinja again).

The choropleth's areas are written as a compact payload that the page decodes into
the same GeoJSON (:class:`socialrisk.mapgeometry.CompactGeoJson`): an England map of
33,755 LSOAs is 1.8 MiB instead of 17.6 MiB.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from socialrisk.core import schema
from socialrisk.core.data import embedded_file
from socialrisk.core.sanitize import html_text
from socialrisk.mapgeometry import CompactGeoJson
from socialrisk.maplegend import CATEGORY_COLOURS, Classes, Legend, format_value, indicator_label

log = logging.getLogger(__name__)

OSM_ATTRIBUTION = "(c) OpenStreetMap contributors, ODbL 1.0"
OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0; "
    "Source: Office for National Statistics; "
    "Contains OS data (c) Crown copyright and database right"
)
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


#: Layout rules of every map, in a plain ``<style>`` of the page's head: tooltips
#: wrap (at most 320 px wide), the attribution wraps in at most half the width
#: so it cannot reach the scale bar at the bottom left, the legend scrolls
#: instead of running off a short map, and the title sits at the top centre.
LAYOUT_CSS = (
    ".leaflet-container .leaflet-tooltip{white-space:normal;width:max-content;"
    "max-width:320px;overflow-wrap:break-word;font:12px/1.35 sans-serif}"
    ".leaflet-container .leaflet-tooltip table{border-collapse:collapse}"
    ".leaflet-container .leaflet-tooltip th,.leaflet-container .leaflet-tooltip td"
    "{vertical-align:top;white-space:normal}"
    ".leaflet-container .leaflet-control-attribution.leaflet-control{white-space:normal;"
    "max-width:45vw;font-size:10px;line-height:1.3}"
    ".leaflet-container .socialrisk-legend{max-height:calc(100vh - 140px);overflow:auto}"
    ".leaflet-container .socialrisk-legend summary{cursor:pointer}"
    ".leaflet-container .socialrisk-title{position:absolute;top:8px;left:50%;"
    "transform:translateX(-50%);z-index:1000;max-width:calc(100% - 150px);"
    "background:rgba(255,255,255,.92);padding:4px 10px;border-radius:4px;"
    "box-shadow:0 0 4px rgba(0,0,0,.3);font:13px/1.35 sans-serif;text-align:center}"
    ".leaflet-container .socialrisk-title b{font-size:15px}"
)
#: style of the study areas' outlines on the app's maps (light grey, no fill)
OUTLINE_CLASS = "socialrisk-outline"  # class of the outlines' SVG paths
OUTLINE_STYLE = {"color": "#9e9e9e", "weight": 0.8, "fill": False, "opacity": 0.9}
#: simplification of the choropleth's areas in degrees (~3.5-5.5 m in England)
SIMPLIFY_DEG = 0.00005


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
    # a fitted view may zoom in quarter steps: with Leaflet's whole steps, an area a little
    # too tall for the next step is drawn at half the size (the island in a third of the map)
    fmap.options["zoom_snap"] = 0.25
    offline(fmap)
    if basemap:
        folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="OpenStreetMap (online)"
                         ).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    # the tile layer already credits OpenStreetMap; say it once
    _Attribution(attribution if basemap else f"Map data {OSM_ATTRIBUTION}. {attribution}"
                 ).add_to(fmap)
    fmap.get_root().header.add_child(Element(f"<style>{LAYOUT_CSS}</style>"),
                                     name="socialrisk_layout")
    return fmap


class MapTitle(MacroElement):
    """A title over the top centre of the map (and the page's ``<title>``).

    Parameters
    ----------
    title : str
        The first, bold line (what is shown).
    subtitle : str
        The second line (e.g. the study area and the run date).
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var m = {{ this._parent.get_name() }};
  var div = L.DomUtil.create('div', 'socialrisk-title', m.getContainer());
  div.innerHTML = {{ this.html|tojson }};
  L.DomEvent.disableClickPropagation(div);
  L.DomEvent.disableScrollPropagation(div);
})();
{% endmacro %}""")

    def __init__(self, title: str, subtitle: str = ""):
        super().__init__()
        self._name = "MapTitle"
        self.title = title
        self.subtitle = subtitle
        self.html = f"<b>{html_text(title)}</b>" + (
            f"<br>{html_text(subtitle)}" if subtitle else "")

    def render(self, **kwargs):
        root = self.get_root()
        text = f"{self.title} - {self.subtitle}" if self.subtitle else self.title
        root.title = html_text(text)  # branca writes it into <title> as it is
        super().render(**kwargs)


class FitBesideControls(MacroElement):
    """Fit ``bounds`` so that no area lies under the legend or the title.

    Runs after the controls exist: measures the legend (bottom left) and the
    title (top centre) and fits the bounds with that much padding on the left
    and top. On a map narrower than three legends the legend is folded first.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var m = {{ this._parent.get_name() }};
  var c = m.getContainer();
  var lg = c.querySelector('.socialrisk-legend');
  var det = lg ? lg.querySelector('details') : null;
  if (lg && det && c.clientWidth < 3 * lg.offsetWidth) { det.open = false; }
  var t = c.querySelector('.socialrisk-title');
  var left = lg ? lg.offsetWidth + 24 : 12;
  var top = t ? t.offsetTop + t.offsetHeight + 12 : 12;
  function fit() {
    m.invalidateSize(false);
    m.fitBounds({{ this.bounds|tojson }}, {paddingTopLeft: [left, top],
                paddingBottomRight: [50, 24], animate: false});
  }
  fit();
})();
{% endmacro %}""")

    def add_to(self, parent, name=None, index=None):
        # an earlier (animated) fitBounds would end after this one and undo it: drop it
        for key, child in list(parent._children.items()):
            if isinstance(child, folium.map.FitBounds):
                del parent._children[key]
        return super().add_to(parent, name=name, index=index)

    def __init__(self, bounds: tuple[float, float, float, float]):
        super().__init__()
        self._name = "FitBesideControls"
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        self.bounds = [[miny, minx], [maxy, maxx]]


def area_outlines_geojson(areas: gpd.GeoDataFrame, tolerance_m: float = 5.0) -> dict:
    """The outlines of ``areas`` as a GeoJSON dict (EPSG:4326, lines, no properties).

    Simplified by ``tolerance_m`` when the CRS is projected (metres) and cut to
    ~1 m coordinates, so that the app can cache it once per run.
    """
    geom = areas.geometry
    if geom.crs is not None and not geom.crs.is_geographic and tolerance_m > 0:
        geom = geom.simplify(tolerance_m, preserve_topology=True)
    geom = geom.to_crs("EPSG:4326") if geom.crs is not None else geom
    geom = geom[~(geom.is_empty | geom.isna())].boundary
    geom = gpd.GeoSeries(shapely.set_precision(geom.to_numpy(), 1e-5), crs="EPSG:4326")
    return json.loads(gpd.GeoDataFrame(geometry=geom).to_json(drop_id=True))


def add_area_outlines(fmap: folium.Map, areas: gpd.GeoDataFrame | dict,
                      name: str = "Study areas (outlines)",
                      tolerance_m: float = 5.0) -> folium.GeoJson | None:
    """The study areas' outlines (light grey, no fill, not clickable) on ``fmap``.

    The app's Site, What-if and Connect maps draw them so that the map reads
    without basemap tiles (offline).

    Parameters
    ----------
    fmap : folium.Map
    areas : GeoDataFrame or dict
        The areas (any CRS), or their outlines from :func:`area_outlines_geojson`.
    name : str
        Layer name in the layer control.
    tolerance_m : float
        Simplification of a GeoDataFrame, see :func:`area_outlines_geojson`.

    Returns
    -------
    folium.GeoJson or None
        None when there is no area.
    """
    data = areas if isinstance(areas, dict) else (
        None if areas is None or len(areas) == 0 else area_outlines_geojson(areas, tolerance_m))
    if not data or not data.get("features"):
        return None
    layer = folium.GeoJson(data, name=html_text(name), style_function=_outline_style,
                           interactive=False, className=OUTLINE_CLASS)
    layer.add_to(fmap)
    return layer


def _outline_style(_feature):
    return dict(OUTLINE_STYLE)


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



def tooltip_text(text: object) -> str:
    """``text`` ready for ``tooltip=`` of a folium marker or layer (escaped).

    folium puts a tooltip string as it is into a JavaScript template string that
    Leaflet shows as HTML; escaped, it is shown as the text it is.
    """
    return html_text(text)

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
    geoms = shapely.simplify(areas.geometry.to_numpy(), SIMPLIFY_DEG, preserve_topology=True)
    # the tooltip shows the properties with innerHTML: escape every shown value
    # (a click handler gets area_id escaped too: html.unescape gives the id back)
    props: dict[str, list[str]] = {}
    for c in cols:
        values = areas[c]
        if c != schema.AREA_ID and pd.api.types.is_numeric_dtype(values):
            values = [format_value(c, v) for v in values.astype(float)]
        elif c != schema.AREA_ID:
            values = values.astype(str).str.slice(0, 300)
        props[c] = [html_text(v) for v in values]
    # each area's style, by its (escaped) id; the layer writes each distinct style once
    style = {aid: {"fillColor": classes.colour_of(i),
                   "color": "#000000" if raw == highlight else "#555555",
                   "weight": 3.5 if raw == highlight else 0.5, "fillOpacity": 0.7}
             for i, (aid, raw) in enumerate(zip(props[schema.AREA_ID], areas[schema.AREA_ID],
                                                strict=True))}
    aliases = [html_text(indicator_label(c)) if c != schema.AREA_ID else "Area" for c in cols]
    # geometry and properties as a compact payload that the page decodes into the same
    # GeoJSON (socialrisk.mapgeometry); the tooltip, styles and highlight work as before
    layer = CompactGeoJson(
        geoms, props, name=html_text(name or classes.title),
        style_function=lambda f: style[f["properties"][schema.AREA_ID]],
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
