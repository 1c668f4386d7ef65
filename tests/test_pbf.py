"""Reading OSM extracts: a hand-written tiny file (exact) and the real Isle of Wight PBF."""

from __future__ import annotations

import math
import re

import numpy as np
import osmium
import pyproj
import pytest
import shapely
from conftest import IOW_PBF, ROOT
from scipy.sparse import csgraph

from geo.pbf import (
    _WALK_EXCLUDE,
    BUILDING_COLUMNS,
    RESIDENTIAL_COLUMNS,
    amenities_from_pbf,
    buildings_from_pbf,
    is_walkable,
    network_from_pbf,
    read_pbf,
    residential_landuse_from_pbf,
)
from geo.taxonomy import AMENITY_COLUMNS, load_taxonomy
from socialrisk.core.errors import InputError

# tests/fixtures/tiny.osm is hand-written synthetic data (documented in the file)
TINY = ROOT / "tests" / "fixtures" / "tiny.osm"
BNG = "EPSG:27700"


@pytest.fixture(scope="module")
def tiny():
    return read_pbf(TINY, crs=BNG)


# ----------------------------------------------------------------- tiny hand-written file


def test_tiny_amenities_exact(tiny):
    a = tiny.amenities
    assert tuple(a.columns) == AMENITY_COLUMNS
    assert a.crs == "EPSG:4326"
    got = list(zip(a.category, a.osm_type, a.osm_id, a.amenity_type, strict=True))
    assert got == [
        ("community_centre", "node", 203, "amenity=community_centre"),  # 204 is private
        ("library", "node", 201, "amenity=library"),
        ("place_of_worship", "way", 500, "amenity=place_of_worship"),
        ("green_space", "way", 300, "landuse=village_green"),  # gardens 310/320 left out
        ("green_space", "relation", 400, "leisure=park"),       # broken 410 skipped
        ("pharmacy", "node", 207, "amenity=pharmacy"),          # shop=chemist 206 left out
        ("transit_stop", "node", 205, "highway=bus_stop"),      # two filters, one row
        ("transit_stop", "way", 700, "public_transport=platform"),
        ("cafe_pub", "node", 202, "amenity=pub;restaurant"),
        ("cafe_pub", "node", 212, "amenity=cafe"),
        ("cafe_pub", "way", 710, "amenity=cafe"),
        ("food_shop", "node", 212, "shop=convenience"),         # 212 is in two categories
        ("primary_school", "node", 208, "amenity=school"),      # isced:level 0;1
        ("primary_school", "node", 209, "amenity=school"),      # by name; 210 is secondary
        ("social_care", "node", 211, "amenity=social_facility"),
    ]
    lib = a[a.osm_id == 201].iloc[0]
    assert lib["name"] == "Town Library"
    assert lib["opening_hours"] == "Mo-Fr 09:00-17:00"
    assert lib["wheelchair"] == "yes"
    assert lib["website"] == "https://library.example"  # from contact:website
    assert lib.geometry.equals(shapely.Point(-1.2995, 50.7002))
    assert a[a.osm_id == 205].iloc[0]["name"] is None
    cap = dict(zip(a.osm_id, a.capacity, strict=True))
    assert cap[203] == 120.0
    assert cap[211] == 40.0  # capacity "about 40" is not a number: beds=40
    assert math.isnan(cap[201])


def test_tiny_polygons(tiny):
    a = tiny.amenities.set_index(["osm_type", "osm_id", "category"])
    green = a.loc[("way", 300, "green_space")].geometry
    assert green.geom_type == "Polygon"
    assert green.normalize().equals(shapely.box(-1.300, 50.7020, -1.299, 50.7025).normalize())
    park = a.loc[("relation", 400, "green_space")].geometry
    assert park.geom_type == "Polygon"  # single outer ring with a hole
    assert len(park.interiors) == 1
    assert park.area == pytest.approx(0.002 * 0.001 - 0.0006 * 0.0004, rel=1e-9)
    # open ways (and closed area=no ways) stay lines
    assert a.loc[("way", 700, "transit_stop")].geometry.geom_type == "LineString"
    assert a.loc[("way", 710, "cafe_pub")].geometry.geom_type == "LineString"


def test_tiny_buildings_and_residential(tiny):
    b = tiny.buildings
    assert tuple(b.columns) == BUILDING_COLUMNS
    assert b.crs == "EPSG:4326"
    assert b.osm_id.tolist() == [500, 510, 520]  # building=no 530 left out, open 540 skipped
    assert b.building.tolist() == ["church", "house", "yes"]
    assert b.levels.iloc[1] == 2.0
    assert np.isnan(b.levels.iloc[0]) and np.isnan(b.levels.iloc[2])  # absent; "2;3"
    assert set(b.geom_type) == {"Polygon"}
    r = tiny.residential
    assert tuple(r.columns) == RESIDENTIAL_COLUMNS
    assert r.osm_id.tolist() == [600]
    assert r.geometry.iloc[0].normalize().equals(
        shapely.box(-1.300, 50.704, -1.298, 50.705).normalize())
    assert tiny.skipped == {"amenity_relation": 1, "building_not_closed": 1}


def test_tiny_network_exact(tiny):
    net = tiny.network
    assert net.crs == BNG
    assert net.node_id.tolist() == [1, 2, 3, 4, 16]
    assert net.dropped_nodes == 2  # footway 6-7 is a separate component
    edges = sorted(tuple(sorted((int(net.node_id[u]), int(net.node_id[v]))))
                   for u, v in zip(net.u, net.v, strict=True))
    assert edges == [(1, 2), (2, 3), (3, 4), (4, 16)]
    # lengths: straight lines in British National Grid between the hand-written coordinates
    coords = {1: (-1.3, 50.7), 2: (-1.299, 50.7), 3: (-1.299, 50.701), 4: (-1.298, 50.701),
              16: (-1.2975, 50.7015)}
    tr = pyproj.Transformer.from_crs("EPSG:4326", BNG, always_xy=True)
    geod = pyproj.Geod(ellps="WGS84")
    for u, v, length in zip(net.u, net.v, net.length, strict=True):
        a, b = coords[int(net.node_id[u])], coords[int(net.node_id[v])]
        (xa, xb), (ya, yb) = tr.transform([a[0], b[0]], [a[1], b[1]])
        assert length == pytest.approx(math.hypot(xb - xa, yb - ya), abs=1e-6)
        # and within 0.1 % of the geodesic distance (BNG scale error is < 0.04 %)
        assert length == pytest.approx(geod.inv(a[0], a[1], b[0], b[1])[2], rel=1e-3)
    assert net.length.sum() == pytest.approx(318.3213357, abs=1e-6)
    full = network_from_pbf(TINY, crs=BNG, keep="all")
    assert full.n_nodes == 7 and full.n_edges == 5 and full.dropped_nodes == 0


def test_tiny_single_table_functions_agree(tiny):
    amen = amenities_from_pbf(TINY)
    assert amen.drop(columns="geometry").equals(tiny.amenities.drop(columns="geometry"))
    assert amen.geometry.geom_equals(tiny.amenities.geometry).all()
    assert buildings_from_pbf(TINY).osm_id.tolist() == [500, 510, 520]
    assert residential_landuse_from_pbf(TINY).osm_id.tolist() == [600]


def test_custom_taxonomy(tmp_path):
    toml = tmp_path / "tax.toml"
    toml.write_text('[schools]\nlabel = "Any school"\nfilters = [{ amenity = "school" }]\n')
    a = amenities_from_pbf(TINY, load_taxonomy(toml))
    assert a.osm_id.tolist() == [208, 209, 210]
    assert amenities_from_pbf(TINY, toml).osm_id.tolist() == [208, 209, 210]


def test_walk_filter_cases():
    assert is_walkable({"highway": "footway"})
    assert is_walkable({"highway": "trunk"})  # osmnx "walk" keeps trunk roads
    assert is_walkable({"highway": "service", "access": "permissive"})
    assert not is_walkable({"building": "yes"})
    assert not is_walkable({"highway": "motorway"})
    assert not is_walkable({"highway": "cycleway"})
    assert not is_walkable({"highway": "footway", "foot": "no"})
    assert not is_walkable({"highway": "service", "service": "private"})
    assert not is_walkable({"highway": "pedestrian", "area": "yes"})
    assert not is_walkable({"highway": "primary", "sidewalk:left": "separate"})


def test_walk_filter_mirrors_osmnx():
    """The exclusions are exactly those of the installed osmnx's "walk" Overpass filter."""
    from osmnx import _overpass, settings

    query = _overpass._get_network_filter("walk")
    assert settings.default_access in query
    found = re.findall(r'\["([^"]+)"!~"([^"]+)"\]', query)
    assert sorted(found) == sorted((k, p.pattern) for k, p in _WALK_EXCLUDE)
    assert query.startswith('["highway"]')


# a hand-written (synthetic) ring whose last node is a different node at the first one's place
_SAME_PLACE = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" version="1" lat="50.7000000" lon="-1.3000000"/>
  <node id="2" version="1" lat="50.7000000" lon="-1.2990000"/>
  <node id="3" version="1" lat="50.7010000" lon="-1.2990000"/>
  <node id="21" version="1" lat="50.7050000" lon="-1.3000000"/>
  <node id="22" version="1" lat="50.7050000" lon="-1.2995000"/>
  <node id="23" version="1" lat="50.7055000" lon="-1.2995000"/>
  <node id="24" version="1" lat="50.7055000" lon="-1.3000000"/>
  <node id="25" version="1" lat="50.7050000" lon="-1.3000000"/>
  <way id="100" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="footway"/></way>
  <way id="300" version="1"><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="24"/><nd ref="25"/>
    {tags}</way>
</osm>
"""


@pytest.mark.parametrize("tags", ['<tag k="building" v="yes"/>',
                                  '<tag k="landuse" v="residential"/>',
                                  '<tag k="amenity" v="community_centre"/>'])
def test_ring_closed_by_location_is_one_polygon(tmp_path, tags):
    """libosmium makes a polygon of a ring whose ends are two nodes at one place: it is kept
    once, as that polygon (not also as a line, and not counted as an unclosed outline)."""
    path = tmp_path / "same_place.osm"
    path.write_text(_SAME_PLACE.format(tags=tags), encoding="utf-8")
    d = read_pbf(path, crs=BNG)
    rows = {"building": d.buildings, "landuse": d.residential, "amenity": d.amenities}
    kind = tags.split('"')[1]
    got = rows[kind]
    assert list(got["osm_id"]) == [300]
    assert list(got.geometry.geom_type) == ["Polygon"]
    assert got.geometry.iloc[0].area == pytest.approx(0.0005 * 0.0005)
    assert d.skipped == {}
    assert all(len(v) == 0 for k, v in rows.items() if k != kind)


def test_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_pbf(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"this is not a protobuf file at all" * 10)
    with pytest.raises(InputError, match="could not be read as an OSM file"):
        read_pbf(bad)
    xml = tmp_path / "bad.osm"
    xml.write_text("<html><body>error page</body></html>")
    with pytest.raises(InputError, match="could not be read as an OSM file"):
        amenities_from_pbf(xml)
    # only an amenity node: amenities work, the network does not exist
    lone = tmp_path / "lone.osm"
    lone.write_text('<?xml version="1.0"?><osm version="0.6">'
                    '<node id="1" version="1" lat="50.7" lon="-1.3">'
                    '<tag k="amenity" v="library"/></node></osm>')
    assert amenities_from_pbf(lone).osm_id.tolist() == [1]
    with pytest.raises(InputError, match="no walkable ways"):
        network_from_pbf(lone, crs=BNG)
    with pytest.raises(InputError, match="no walkable ways"):
        read_pbf(lone)
    unsorted = tmp_path / "unsorted.osm"
    unsorted.write_text('<?xml version="1.0"?><osm version="0.6">'
                        '<node id="1" version="1" lat="50.7" lon="-1.3"/>'
                        '<node id="2" version="1" lat="50.7" lon="-1.2"/>'
                        '<way id="2" version="1"><nd ref="1"/><nd ref="2"/>'
                        '<tag k="highway" v="footway"/></way>'
                        '<way id="1" version="1"><nd ref="1"/><nd ref="2"/>'
                        '<tag k="highway" v="footway"/></way></osm>')
    with pytest.raises(InputError, match="osmium sort"):
        read_pbf(unsorted)


# ----------------------------------------------------------------- the real Isle of Wight


@pytest.fixture(scope="module")
def iow():
    return read_pbf(IOW_PBF, crs=BNG)


def _independent_count(key: str, value: str) -> int:
    """Nodes, ways and relations tagged key=value, counted by a plain osmium tag filter."""
    fp = osmium.FileProcessor(str(IOW_PBF)).with_filter(osmium.filter.TagFilter((key, value)))
    return sum(1 for _ in fp)


@pytest.mark.slow
def test_iow_counts(iow):
    counts = iow.amenities.category.value_counts().to_dict()
    taxonomy = load_taxonomy()
    assert all(counts.get(name, 0) > 0 for name in taxonomy), counts
    # Geofabrik 2020-04-22 extract with data/taxonomy.toml
    assert counts == {
        "community_centre": 55, "library": 10, "place_of_worship": 125, "green_space": 276,
        "gp": 19, "pharmacy": 29, "post_office": 40, "transit_stop": 1420, "cafe_pub": 377,
        "food_shop": 103, "primary_school": 44, "social_care": 82, "leisure_centre": 38,
    }
    assert iow.skipped == {"building_not_closed": 2}
    assert iow.seconds < 20


@pytest.mark.slow
def test_iow_cross_check_with_plain_osmium(iow):
    a = iow.amenities
    for category, key, value in [("pharmacy", "amenity", "pharmacy"),
                                 ("library", "amenity", "library"),
                                 ("post_office", "amenity", "post_office"),
                                 ("place_of_worship", "amenity", "place_of_worship")]:
        assert (a.category == category).sum() == _independent_count(key, value), category


@pytest.mark.slow
def test_iow_network(iow):
    net = iow.network
    assert net.n_nodes == 76524 and net.n_edges == 81907 and net.dropped_nodes == 2963
    n_comp, _ = csgraph.connected_components(net.csr(), directed=False)
    assert n_comp == 1
    assert (net.length > 0).all()
    # about 2,362 km of walkable ways on a 380 km2 island
    assert net.length.sum() / 1000 == pytest.approx(2361.645, abs=0.001)
    # node coordinates fall on the island (British National Grid)
    assert net.x.min() > 429_000 and net.x.max() < 466_000
    assert net.y.min() > 75_000 and net.y.max() < 97_000


@pytest.mark.slow
def test_iow_buildings_and_residential(iow):
    b, r = iow.buildings, iow.residential
    assert len(b) == 59091 and len(r) == 884
    assert not b.duplicated(["osm_type", "osm_id"]).any()
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"}
    assert b.is_valid.all()
    assert int(b.levels.notna().sum()) == 2246
