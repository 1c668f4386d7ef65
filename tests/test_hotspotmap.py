"""The hot-spot layer of map.html: drawn, escaped, and declared before the layer control."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
from conftest import IOW_LSOA

from socialrisk.hotspotmap import add_hotspot_layers
from socialrisk.webmap import build_map, map_html


def _areas() -> gpd.GeoDataFrame:
    a = gpd.read_file(IOW_LSOA).rename(columns={"lsoa11_code": "area_id"})
    labels = ["hot spot"] * 3 + ["cold spot"] * 2 + ["not significant"] * (len(a) - 5)
    a["isolation_risk_decile"] = 5
    a["isolation_risk_hotspot"] = labels
    a.loc[0, "area_id"] = "<img src=x onerror=alert(1)>"
    return a


def test_hotspot_layer_is_declared_before_the_layer_control():
    a = _areas()
    fmap = build_map(a, gpd.GeoDataFrame({"category": pd.Series([], dtype=object)},
                                         geometry=[], crs="EPSG:4326"),
                     {}, extra_layers=lambda m: add_hotspot_layers(m, a))
    html = map_html(fmap)
    assert "Hot and cold spots of isolation risk (Gi*, p \\u003c 0.05)" in html
    for var in set(re.findall(r'"Hot and cold spots[^"]*" : (feature_group_\w+)', html)):
        # a layer named in the control before its `var` exists would be undefined in the
        # browser and stop the rest of the map's script
        assert html.index(f"var {var} = ") < html.index(f": {var},"), var
    assert html.count('"colour": "#67001f"') == 3 and html.count('"colour": "#053061"') == 2
    # escaped once for HTML, then JSON-encoded into the script (& -> \u0026)
    assert "<img src=x" not in html
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;: hot spot of isolation risk" in html


def test_no_layer_without_hotspots():
    a = _areas().drop(columns="isolation_risk_hotspot")
    fmap = build_map(a, gpd.GeoDataFrame({"category": pd.Series([], dtype=object)},
                                         geometry=[], crs="EPSG:4326"), {})
    assert add_hotspot_layers(fmap, a) == 0


def test_choropleth_styles_by_area_without_style_properties():
    """Each area's fill comes from its class and the chosen area is outlined; the styles
    live in the style function, not repeated in every feature's properties."""
    import json

    import folium

    from socialrisk.maplayers import add_choropleth
    from socialrisk.maplegend import classify

    a = gpd.read_file(IOW_LSOA).rename(columns={"lsoa11_code": "area_id"}).head(3)
    a["isolation_risk_decile"] = [1, 10, None]
    classes = classify(a["isolation_risk_decile"].astype(float), "isolation_risk_decile")
    layer = add_choropleth(folium.Map(), a, "isolation_risk_decile", classes,
                           highlight=a["area_id"].iloc[1], legend=False)
    styles = [layer.style_function(f) for f in layer.data["features"]]
    assert [s["fillColor"] for s in styles] == [classes.colour_of(i) for i in range(3)]
    assert styles[0]["fillColor"] != styles[1]["fillColor"]
    assert [s["weight"] for s in styles] == [0.5, 3.5, 0.5]
    assert [s["color"] for s in styles] == ["#555555", "#000000", "#555555"]
    props = json.dumps([f["properties"] for f in layer.data["features"]])
    assert "fillColor" not in props and "_fill" not in props
