"""The hot-spot layer of ``map.html`` (``--hotspots``): outlines of Gi* hot and cold spots."""

from __future__ import annotations

import folium
import geopandas as gpd

from socialrisk.core import schema
from socialrisk.core.sanitize import html_text

__all__ = ["add_hotspot_layers"]

#: outline colour per Gi* label (red = hot spot of risk, blue = cold spot)
COLOURS = {"hot spot": "#67001f", "cold spot": "#053061"}


def add_hotspot_layers(fmap: folium.Map, areas: gpd.GeoDataFrame,
                       scores: tuple[str, ...] = schema.HEADLINE_SCORES) -> int:
    """One overlay per score with a ``<score>_hotspot`` column: hot and cold spots outlined.

    The isolation-risk layer is shown; the others can be switched on in the layer
    control. Every text shown (area id, name) is escaped. Returns the number of
    layers added.
    """
    a = areas.to_crs("EPSG:4326").reset_index(drop=True)
    added = 0
    for score in scores:
        col = f"{score}_hotspot"
        if col not in a.columns:
            continue
        sel = a[a[col].isin(list(COLOURS))]
        if sel.empty:
            continue
        words = score.replace("_", " ")
        layer = folium.FeatureGroup(name=f"Hot and cold spots of {words} (Gi*, p < 0.05)",
                                    show=score == schema.ISOLATION_RISK)
        data = gpd.GeoDataFrame({
            "label": [html_text(f"{i}: {h} of {words}") for i, h in
                      zip(sel[schema.AREA_ID], sel[col], strict=True)],
            "colour": sel[col].map(COLOURS).to_numpy()}, geometry=sel.geometry.to_numpy(),
            crs="EPSG:4326")
        folium.GeoJson(
            data.__geo_interface__,
            style_function=lambda f: {"color": f["properties"]["colour"], "weight": 3.5,
                                      "fill": False},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(layer)
        layer.add_to(fmap)
        added += 1
    return added
