"""The HTML map: a folium choropleth of isolation risk with amenity layers per category."""

from __future__ import annotations

import json
import math

import branca.colormap as cm
import folium
import geopandas as gpd
import pandas as pd

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
CATEGORY_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                    "#a6761d", "#666666", "#1f78b4", "#b15928", "#6a3d9a", "#33a02c",
                    "#fb9a99", "#cab2d6"]


def decile_colour(decile: float) -> str:
    """Fill colour for a risk decile (1 = highest risk); grey when there is no data."""
    if decile is None or (isinstance(decile, float) and math.isnan(decile)):
        return NO_DATA_COLOUR
    return DECILE_COLOURS[int(decile) - 1]


def build_map(areas: gpd.GeoDataFrame, amenities: gpd.GeoDataFrame,
              labels: dict[str, str], tooltip_columns: list[str] | None = None,
              attribution_extra: str = OGL_ATTRIBUTION) -> folium.Map:
    """Build the risk map.

    Parameters
    ----------
    areas : GeoDataFrame
        The output areas table (any CRS) with ``isolation_risk_decile``.
    amenities : GeoDataFrame
        Amenity points with ``category``, ``name``, ``amenity_type``.
    labels : dict
        Category -> plain label for layer names.
    tooltip_columns : list of str, optional
        Area columns shown in the tooltip.
    attribution_extra : str
        Attribution for the area and deprivation data (OGL notices by default).

    Returns
    -------
    folium.Map
    """
    a = areas.to_crs("EPSG:4326")
    b = a.total_bounds
    fmap = folium.Map(location=[(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], tiles=None,
                      control_scale=True)
    folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="OpenStreetMap").add_to(fmap)
    fmap.fit_bounds([[b[1], b[0]], [b[3], b[2]]])

    cols = [c for c in (tooltip_columns or []) if c in a.columns]
    show = a[["area_id", *[c for c in cols if c != "area_id"], "isolation_risk_decile",
              "geometry"]].copy()
    show["geometry"] = show.geometry.simplify(0.0001, preserve_topology=True)
    for c in show.columns:
        if c != "geometry" and pd.api.types.is_float_dtype(show[c]):
            show[c] = show[c].round(2)
    geojson = json.loads(show.to_json(na="null"))
    folium.GeoJson(
        geojson,
        name="Isolation risk (decile, 1 = highest risk)",
        style_function=lambda f: {
            "fillColor": decile_colour(f["properties"].get("isolation_risk_decile")
                                       if f["properties"].get("isolation_risk_decile")
                                       is not None else float("nan")),
            "color": "#444444", "weight": 0.5, "fillOpacity": 0.65},
        highlight_function=lambda f: {"weight": 2, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["area_id", *[c for c in cols if c != "area_id"],
                                              "isolation_risk_decile"], localize=True),
        attr=attribution_extra,
    ).add_to(fmap)

    legend = cm.StepColormap(DECILE_COLOURS, vmin=0.5, vmax=10.5,
                             index=[x + 0.5 for x in range(11)],
                             caption="Isolation-risk decile (1 = highest risk; grey = no data)")
    legend.add_to(fmap)

    pts = amenities.to_crs("EPSG:4326")
    for i, (cat, group) in enumerate(sorted(pts.groupby("category"), key=lambda kv: kv[0])):
        layer = folium.FeatureGroup(name=f"{labels.get(cat, cat)} ({len(group)})", show=False)
        colour = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
        for row in group.itertuples():
            name = row.name if isinstance(row.name, str) and row.name else "(no name)"
            folium.CircleMarker(
                [row.geometry.y, row.geometry.x], radius=4, color=colour, fill=True,
                fill_opacity=0.9, weight=1,
                tooltip=f"{name} — {row.amenity_type}",
            ).add_to(layer)
        layer.add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    note = (f'<div style="position: fixed; bottom: 4px; left: 4px; z-index: 9999; '
            f'background: white; padding: 2px 6px; font-size: 11px; opacity: 0.85">'
            f'Map data {OSM_ATTRIBUTION}. {attribution_extra}.</div>')
    fmap.get_root().html.add_child(folium.Element(note))
    return fmap
