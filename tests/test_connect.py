"""Connect a person: duplicates grouped, unnamed places described, long lists collapsed.

Hand-made places on the hand-drawn street of ``test_site.hand_prepared``
(synthetic, made up for the maths; EPSG:27700 metres).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from test_site import hand_prepared

from risk.snap import snap_geometries
from socialrisk.connectplaces import NO_NAME, compass, kind_words
from socialrisk.screening import assets_within
from socialrisk.ui.connect import collapse, found_markers, place_table
from socialrisk.webmap import base_map, map_html

HOSTILE = '<img src=x onerror="alert(1)">Cafe & Co'


def _prepared(rows: list[tuple]) -> SimpleNamespace:
    """hand_prepared's street with these places: (category, name, type, x, y, hours)."""
    p = hand_prepared()
    am = gpd.GeoDataFrame({
        "osm_type": ["node"] * len(rows), "osm_id": np.arange(1, len(rows) + 1),
        "category": [r[0] for r in rows], "name": [r[1] for r in rows],
        "amenity_type": [r[2] for r in rows], "opening_hours": [r[5] for r in rows],
        "wheelchair": [None] * len(rows), "website": [None] * len(rows),
        "capacity": [np.nan] * len(rows)},
        geometry=[shapely.Point(r[3], r[4]) for r in rows], crs="EPSG:27700")
    rows_of, att = {}, {}
    for cat in p.taxonomy:
        idx = np.flatnonzero(am["category"].to_numpy() == cat)
        rows_of[cat] = idx
        att[cat] = snap_geometries(p.network, am.geometry.to_numpy()[idx], 250.0)
    p.amenities = am
    p.snapped = SimpleNamespace(amenities=att, amenity_rows=rows_of)
    return p


def test_same_name_10_m_apart_is_one_place():
    # a node and (say) the polygon's point of one cafe, 10 m apart; the far one has the hours
    p = _prepared([("cafe", "Corner Cafe", "amenity=cafe", 150, -5, None),
                   ("cafe", "corner  CAFE", "amenity=cafe", 160, -5, "Mo-Su 09:00-17:00"),
                   ("cafe", "Corner Cafe", "amenity=cafe", 300, -5, None),  # 150 m on
                   ("cafe", "Other Cafe", "amenity=cafe", 155, -5, None)])
    a = assets_within(p, 0.0, 10.0, minutes=12, speed_kmh=3.0, crs=None)
    assert a["name"].tolist() == ["Corner Cafe", "Other Cafe", "Corner Cafe"]
    assert a["walk_m"].tolist() == pytest.approx([165.0, 170.0, 315.0])  # 10 + x + 5
    assert a["n_features"].tolist() == [2, 1, 1]
    assert a["rows"].tolist() == [(0, 1), (3,), (2,)]
    assert a["opening_hours"].iloc[0] == "Mo-Su 09:00-17:00"  # taken from the duplicate
    every = assets_within(p, 0.0, 10.0, minutes=12, speed_kmh=3.0, crs=None, duplicate_m=None)
    assert len(every) == 4


def test_unnamed_place_is_described_by_the_nearest_named_place():
    p = _prepared([("gp", "North Surgery", "amenity=doctors", 210, 300, None),
                   ("cafe", None, "amenity=cafe", 210, 200, None),   # 100 m south
                   ("cafe", "", "amenity=cafe", 290, 380, None),     # 113 m north-east
                   ("cafe", None, "amenity=cafe", 212, 305, None)])  # at it
    a = assets_within(p, 0.0, 10.0, minutes=30, speed_kmh=3.0, crs=None)
    got = dict(zip(a["row"], a["description"], strict=True))
    assert got[0] == "North Surgery"
    assert got[1] == f"cafe {NO_NAME}, 100 m south of North Surgery (doctors)"
    assert got[2] == f"cafe {NO_NAME}, 110 m north-east of North Surgery (doctors)"
    assert got[3] == f"cafe {NO_NAME}, at North Surgery (doctors)"
    table = place_table(a[a["category"] == "cafe"], p.amenities)
    assert table["Name"].str.contains("no name in OpenStreetMap").all()


def test_nothing_named_nearby_gives_coordinates():
    p = _prepared([("cafe", None, "amenity=cafe", 150, -5, None)])
    a = assets_within(p, 0.0, 10.0, minutes=12, speed_kmh=3.0, crs=None)
    assert re.fullmatch(rf"cafe {re.escape(NO_NAME)}, at -?\d+\.\d{{5}}, -?\d+\.\d{{5}}",
                        a["description"].iloc[0])


def test_compass_and_kind_words():
    assert [compass(*v) for v in [(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1),
                                  (-1, 0), (-1, 1), (0.3, 1)]] == [
        "north", "north-east", "east", "south-east", "south", "south-west", "west",
        "north-west", "north"]
    assert kind_words("highway=bus_stop") == "bus stop"
    assert kind_words(None, "transit stop") == "transit stop"


def test_long_lists_are_collapsed():
    grp = pd.DataFrame({"name": [f"Stop {i}" for i in range(54)]})
    first, more = collapse(grp)
    assert len(first) == 5 and more == 49
    assert first["name"].tolist() == [f"Stop {i}" for i in range(5)]
    assert collapse(grp.iloc[:3])[1] == 0


def test_hostile_names_are_escaped_on_the_map_with_a_legend():
    p = _prepared([("cafe", HOSTILE, "amenity=cafe", 150, -5, None),
                   ("cafe", None, "amenity=cafe", 170, -5, None),
                   ("gp", "East Surgery", "amenity=doctors", 400, 20, None)])
    a = assets_within(p, 0.0, 10.0, minutes=12, speed_kmh=3.0, crs=None)
    got = dict(zip(a["row"], a["description"], strict=True))
    assert got[1] == f"cafe {NO_NAME}, 20 m east of {HOSTILE} (cafe)"
    fmap = base_map((-1.3, 50.6, -1.2, 50.7), basemap=False)
    found_markers(fmap, a, {"gp": "GP surgery", "cafe": "Cafe <b>"}, list(p.taxonomy))
    text = _unjson(map_html(fmap))
    assert "<img src=x" not in text and "Cafe <b>" not in text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Cafe &amp; Co" in text
    assert "Places within the walk" in text and "GP surgery (1)" in text
    assert "Cafe &lt;b&gt; (2)" in text


def _unjson(doc: str) -> str:
    """The page with JSON's HTML-safe escapes undone (jinja's tojson writes < as \\u003c)."""
    for esc, ch in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"), ("\\u0027", "'"),
                    ('\\"', '"')):
        doc = doc.replace(esc, ch)
    return doc


def test_the_stands_of_a_bus_station_are_one_place(iow_prepared):
    """The island's "Newport, Bus Station": five stops 27-81 m apart and the station itself
    ("Newport Bus Station": case, spacing and punctuation do not count) are one row."""
    p, _ = iow_prepared
    am = p.amenities
    station = am["name"].isin(["Newport, Bus Station", "Newport Bus Station"]).to_numpy()
    assert int(station.sum()) == 6
    c = am[station].to_crs("EPSG:4326").geometry.union_all().centroid
    a = assets_within(p, c.x, c.y, minutes=5, categories=["transit_stop"])
    mine = a[a["name"].str.replace(",", "").eq("Newport Bus Station")]
    assert len(mine) == 1 and int(mine["n_features"].iloc[0]) == 6
    every = assets_within(p, c.x, c.y, minutes=5, categories=["transit_stop"], duplicate_m=None)
    assert int(every["name"].isin(["Newport, Bus Station", "Newport Bus Station"]).sum()) == 6
