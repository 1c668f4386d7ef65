"""Self-contained HTML maps: a folium choropleth of any area indicator with amenity layers.

folium loads Leaflet, jQuery, Bootstrap and awesome-markers from CDNs by default,
so its maps are blank offline or behind a proxy that blocks CDNs. The maps made
here embed the vendored Leaflet 1.9.4 (``data/vendor/leaflet``, checked against
its SHA-256) as ``data:`` URLs and need nothing else: no jQuery, Bootstrap,
awesome-markers or d3 (the legend is plain HTML in a Leaflet control). Only the
basemap tiles need the internet, and the choropleth is readable without them.

The same functions draw ``map.html`` of a run and every map of the app
(``socialrisk.ui``). The base map, offline Leaflet and layers are in
:mod:`socialrisk.maplayers`, legends and colour classes in
:mod:`socialrisk.maplegend`; their public names are importable from here.

``map.html`` has a title (what is shown, the study area, the run date) at the
top centre and as the page's ``<title>``; the legend sits bottom-left above the
scale bar, folds away on a click and the areas are fitted beside it; tooltips
wrap; the attribution wraps in at most half the width (off the scale bar).

Outside text (OSM tags, area ids and names, taxonomy labels) is escaped with
:func:`socialrisk.core.sanitize.html_text` before it reaches the map: folium builds
tooltips and popups with ``innerHTML`` (``GeoJsonTooltip``/``GeoJsonPopup``),
puts ``Tooltip`` text inside a JavaScript template string, and Leaflet shows
layer names and attributions as HTML. So every GeoJSON property, alias, layer
name, legend text, attribution and tooltip text written here is escaped; the
entities display as the original characters.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from socialrisk.core import schema
from socialrisk.maplayers import (
    LAYOUT_CSS,
    LEAFLET_SHA256,
    LEAFLET_VERSION,
    OGL_ATTRIBUTION,
    OSM_ATTRIBUTION,
    OUTLINE_STYLE,
    FitBesideControls,
    MapTitle,
    add_amenity_layers,
    add_area_outlines,
    add_choropleth,
    area_outlines_geojson,
    base_map,
    leaflet_assets,
    offline,
    tooltip_text,
)
from socialrisk.maplegend import (
    CATEGORY_COLOURS,
    DECILE_COLOURS,
    NO_DATA_COLOUR,
    QUINTILE_COLOURS,
    Classes,
    Legend,
    classify,
    format_value,
    indicator_label,
    legend_html,
    lower_is_worse,
)

log = logging.getLogger(__name__)

# the names above are this module's public interface (split into maplayers/maplegend)
__all__ = [
    "CATEGORY_COLOURS", "DECILE_COLOURS", "LAYOUT_CSS", "LEAFLET_SHA256", "LEAFLET_VERSION",
    "NO_DATA_COLOUR", "OGL_ATTRIBUTION", "OSM_ATTRIBUTION", "OUTLINE_STYLE", "QUINTILE_COLOURS",
    "Classes", "FitBesideControls", "Legend", "MapTitle", "add_amenity_layers",
    "add_area_outlines", "add_choropleth", "area_outlines_geojson", "base_map", "build_map",
    "classify", "format_value", "indicator_label", "leaflet_assets", "legend_html",
    "lower_is_worse", "map_html", "offline", "study_area_name", "tooltip_text",
]


def study_area_name(areas: pd.DataFrame) -> str:
    """The study area in words: its local authorities' names and the number of areas.

    ``"Isle of Wight, 89 areas"`` from a ``lad_name`` column (File 7 gives it);
    up to three names are listed, more are counted; ``"89 areas"`` without names.
    """
    n = len(areas)
    count = f"{n:,} area{'s' if n != 1 else ''}"
    if "lad_name" not in areas.columns:
        return count
    names = [str(v) for v in pd.unique(areas["lad_name"].dropna()) if str(v).strip()]
    if not names:
        return count
    if len(names) > 3:
        return f"{len(names)} local authorities, {count}"
    return f"{', '.join(names)}, {count}"


def build_map(areas: gpd.GeoDataFrame, amenities: gpd.GeoDataFrame,
              labels: dict[str, str], tooltip_columns: list[str] | None = None,
              attribution_extra: str = OGL_ATTRIBUTION, column: str = schema.ISOLATION_RISK_DECILE,
              scheme: str = "deciles", basemap: bool = True,
              extra_layers: Callable[[folium.Map], object] | None = None,
              study_area: str | None = None, run_date: str | None = None) -> folium.Map:
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
    study_area : str, optional
        The study area in words for the title; :func:`study_area_name` by default.
    run_date : str, optional
        The run's date for the title (``YYYY-MM-DD``); today by default.

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
    when = run_date or datetime.date.today().isoformat()
    MapTitle(name, f"{study_area or study_area_name(a)} - run of {when}").add_to(fmap)
    FitBesideControls(tuple(a.total_bounds)).add_to(fmap)  # after the legend and title
    return fmap


def map_html(fmap: folium.Map) -> str:
    """The complete, self-contained HTML page of a map (for download or saving)."""
    return fmap.get_root().render()
