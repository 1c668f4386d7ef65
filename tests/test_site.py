"""Site screening and "connect a person" lists (risk/site.py).

Exact values on a hand-drawn street (synthetic, made up for the maths) and
walking distances checked against networkx on the real Isle of Wight network.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from risk.snap import snap_geometries
from socialrisk.core.errors import InputError
from socialrisk.core.network import WalkNetwork
from socialrisk.screening import assets_within, filter_wheelchair, screen_site
from socialrisk.settings import Settings


def hand_prepared():
    """A 400 m straight street, nodes every 100 m at y = 0, and a branch from (200, 0)
    to (200, 300); two GPs, one cafe, no libraries (synthetic)."""
    x = np.array([0.0, 100, 200, 300, 400, 200, 200, 200])
    y = np.array([0.0, 0, 0, 0, 0, 100, 200, 300])
    u = np.array([0, 1, 2, 3, 2, 5, 6])
    v = np.array([1, 2, 3, 4, 5, 6, 7])
    net = WalkNetwork(node_id=np.arange(8, dtype=np.int64), x=x, y=y, u=u, v=v,
                      length=np.full(7, 100.0), crs="EPSG:27700")
    am = gpd.GeoDataFrame({
        "osm_type": ["node"] * 3, "osm_id": [1, 2, 3], "category": ["gp", "gp", "cafe"],
        "name": ["North Surgery", "East Surgery", "Corner Cafe"],
        "amenity_type": ["amenity=doctors", "amenity=doctors", "amenity=cafe"],
        "opening_hours": ["Mo-Fr 08:00-18:00", None, "Mo-Su 09:00-17:00"],
        "wheelchair": ["yes", "limited", None], "website": [None, None, "https://cafe.example"],
        "capacity": [np.nan] * 3},
        geometry=[shapely.Point(210, 300), shapely.Point(400, 20), shapely.Point(150, -5)],
        crs="EPSG:27700")
    taxonomy = {c: SimpleNamespace(label=lab, capacity=None, access="point")
                for c, lab in [("gp", "GP surgery"), ("cafe", "Cafe"), ("library", "Library")]}
    amen, rows = {}, {}
    for cat in taxonomy:
        idx = np.flatnonzero(am["category"].to_numpy() == cat)
        rows[cat] = idx
        amen[cat] = snap_geometries(net, am.geometry.to_numpy()[idx], 250.0)
    s = Settings(walk_speed_kmh=4.8, slow_walk_speed_kmh=3.0)
    return SimpleNamespace(settings=s, taxonomy=taxonomy, network=net, amenities=am,
                           snapped=SimpleNamespace(amenities=amen, amenity_rows=rows))


def test_hand_graph_screening_exact():
    p = hand_prepared()
    # site at (0, 10): 10 m to the street at node 0
    areas = pd.DataFrame({"area_id": ["A", "B", "C", "D"],
                          "gp_nearest_m": [100.0, 300.0, 600.0, np.nan],
                          "gp_unreachable_share": [0.0, 0.0, 0.0, np.nan]})
    sc = screen_site(p, 0.0, 10.0, crs=None, areas=areas, within_m=500)
    t = sc.table.set_index("category")
    # East Surgery: 10 + 400 + 20 = 430; North Surgery: 10 + 200 + 300 + 10 = 520
    assert t.loc["gp", "nearest_name"] == "East Surgery"
    assert t.loc["gp", "nearest_m"] == pytest.approx(430.0)
    assert t.loc["gp", "walk_min"] == pytest.approx(430 / 80)
    assert t.loc["gp", "walk_min_slow"] == pytest.approx(430 / 50)
    assert t.loc["gp", "count_within"] == 1  # 430 <= 500 < 520
    assert t.loc["gp", "better_than_share"] == pytest.approx(1 / 3)  # only C is farther
    assert t.loc["gp", "comparison"] == "better than 33 % of areas for GP surgery access"
    # the cafe is on the site's own edge: 10 + 150 + 5
    assert t.loc["cafe", "nearest_m"] == pytest.approx(165.0)
    assert t.loc["library", "nearest_row"] == -1 and math.isnan(t.loc["library", "nearest_m"])
    assert t.loc["library", "comparison"] == "no library in the data"


def test_hand_graph_polygon_site_reached_at_its_edge():
    p = hand_prepared()
    site = shapely.box(330, -30, 370, 30)  # over the street between nodes 3 and 4
    edge = screen_site(p, polygon=site, crs=None)
    # node 4 (400, 0) is 30 m from the polygon: East Surgery at 30 + 20
    assert edge.table.set_index("category").loc["gp", "nearest_m"] == pytest.approx(50.0)
    point = screen_site(p, polygon=site, crs=None, at="point")
    assert point.site["reached_at"] == "point"
    assert point.table.set_index("category").loc["gp", "nearest_m"] > 50.0


def test_hand_graph_assets_within_and_wheelchair_filter():
    p = hand_prepared()
    a = assets_within(p, 0.0, 10.0, minutes=7, speed_kmh=4.8, crs=None)  # 560 m
    assert list(a["name"]) == ["East Surgery", "North Surgery", "Corner Cafe"]
    assert list(a["category"]) == ["gp", "gp", "cafe"]  # taxonomy order, nearest first
    np.testing.assert_allclose(a["walk_min"], [430 / 80, 520 / 80, 165 / 80])
    assert pd.isna(a.loc[0, "opening_hours"]) and a.loc[2, "website"] == "https://cafe.example"
    assert list(assets_within(p, 0.0, 10.0, 6, 4.8, crs=None)["name"]) == \
        ["East Surgery", "Corner Cafe"]  # 480 m: North Surgery (520 m) is out
    assert list(filter_wheelchair(a, "yes")["name"]) == ["North Surgery"]
    assert list(filter_wheelchair(a, "limited")["name"]) == ["East Surgery", "North Surgery"]
    assert list(assets_within(p, 0.0, 10.0, 7, 4.8, crs=None, wheelchair="yes")["name"]) == \
        ["North Surgery"]
    with pytest.raises(InputError, match="farther than"):
        assets_within(p, 0.0, 900.0, 7, crs=None)


def _nx_distances(p, site_att, amen_att):
    """Reference: networkx Dijkstra on the same network with the same snapping model."""
    net = p.network
    g = nx.Graph()
    for a, b, w in zip(net.u.tolist(), net.v.tolist(), net.length.tolist(), strict=True):
        if not g.has_edge(a, b) or g[a][b]["weight"] > w:
            g.add_edge(a, b, weight=w)
    g.add_node("site")
    for n, off in zip(site_att.node.tolist(), site_att.offset.tolist(), strict=True):
        if not g.has_edge("site", n) or g["site"][n]["weight"] > off:
            g.add_edge("site", n, weight=off)
    d = nx.single_source_dijkstra_path_length(g, "site", cutoff=3000)
    out = np.full(amen_att.n_items, np.inf)
    for i, n, off, e, al in zip(amen_att.item, amen_att.node, amen_att.offset, amen_att.edge,
                                amen_att.along, strict=True):
        if n in d:
            out[i] = min(out[i], d[n] + off)
        se = site_att.edge[0]
        if e >= 0 and e == se:  # both on the same edge: the direct walk along it
            out[i] = min(out[i], site_att.snap_m[0] + abs(site_att.along[0] - al)
                         + amen_att.snap_m[i])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("lonlat", [(-1.2915, 50.6995), (-1.1590, 50.7290), (-1.4990, 50.7055)])
def test_iow_distances_match_networkx(iow_prepared, lonlat):
    from socialrisk.screening import site_attachments

    p, r = iow_prepared
    minutes = 20.0
    # every feature (duplicates not grouped): each one's distance is checked
    a = assets_within(p, *lonlat, minutes=minutes, speed_kmh=4.8, duplicate_m=None)
    assert len(a) > 0
    site, _ = site_attachments(p.network, *lonlat, max_snap_m=p.settings.max_snap_m)
    limit = minutes * 80.0
    for cat in ["gp", "community_centre", "transit_stop", "green_space"]:
        ref = _nx_distances(p, site, p.snapped.amenities[cat])
        rows = np.asarray(p.snapped.amenity_rows[cat])
        exp = pd.Series(ref, index=rows)
        exp = exp[exp <= limit].sort_values()
        got = a[a["category"] == cat].set_index("row")["walk_m"]
        assert set(got.index) == set(exp.index), cat
        np.testing.assert_allclose(got.reindex(exp.index), exp, rtol=1e-9, atol=1e-6)
    sc = screen_site(p, *lonlat, areas=r.areas)
    t = sc.table.set_index("category")
    gp = pd.Series(_nx_distances(p, site, p.snapped.amenities["gp"]))
    assert t.loc["gp", "nearest_m"] == pytest.approx(gp.min())
    assert 0 <= t.loc["gp", "better_than_share"] <= 1


def test_page_maps_are_offline():
    """Site, what-if and connect maps embed Leaflet and load nothing from a CDN."""
    from types import SimpleNamespace

    import geopandas as gpd
    from conftest import IOW_LSOA

    from socialrisk.ui.site import base_map, point_marker
    from socialrisk.webmap import map_html

    fmap = base_map(SimpleNamespace(areas=gpd.read_file(IOW_LSOA)))
    point_marker(50.7, -1.29, "site", "#d7191c").add_to(fmap)
    html = map_html(fmap)
    assert "data:text/javascript;base64," in html or "data:application/javascript" in html
    for cdn in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com",
                "netdna.bootstrapcdn.com", "maxcdn.bootstrapcdn.com"):
        assert cdn not in html


def test_site_map_has_a_legend_for_the_walk_times_and_places():
    """The isochrone shading and the nearest-place circles are explained on the map."""
    from risk.isochrone import isochrone
    from socialrisk.ui.site import site_map
    from socialrisk.webmap import map_html

    p = hand_prepared()
    p.areas = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[shapely.box(-50, -50, 450, 350)],
                               crs="EPSG:27700")
    areas = pd.DataFrame({"area_id": ["A"], "gp_nearest_m": [100.0],
                          "gp_unreachable_share": [0.0]})
    sc = screen_site(p, 0.0, 10.0, crs=None, areas=areas, within_m=500)
    iso = isochrone(p.network, 0.0, 10.0, minutes=(5, 10))
    html = map_html(site_map(p, sc, iso))
    assert "Walking time from the site" in html
    assert "within 5 minutes&#x27; walk" in html or "within 5 minutes&#39; walk" in html
    assert "nearest place of each kind" in html and "the site" in html


def test_every_base_map_zooms_in_quarter_steps():
    """Fitted maps may zoom in quarter steps, so a study area fills its map (Leaflet's whole
    steps drew the Isle of Wight in a third of it)."""
    from socialrisk.maplayers import base_map
    from socialrisk.webmap import map_html

    html = map_html(base_map((-1.59, 50.57, -1.07, 50.77)))
    assert '"zoomSnap": 0.25' in html
