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
