"""The Overpass path (osmnx) against the PBF path, on real Isle of Wight OSM data.

A local server plays the Overpass API: it answers osmnx's queries with Overpass
JSON made from the real IoW extract (2020-04-22) for a small box in Newport,
selecting elements the way Overpass does (osmnx's own walk filter, unanchored
regular expressions, ``(poly:...)`` by way geometry, ``>`` recursion to nodes).
The conftest server maps one path to one body, so each query kind gets its own
base URL (``/net``, ``/feat``, ``/bld``, ``/res``) set with ``configure_osmnx``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import osmium
import osmnx as ox
import pyproj
import pytest
import shapely
from conftest import IOW_PBF
from shapely.geometry import box

from geo.overpass import (
    amenities_from_polygon,
    buildings_from_polygon,
    configure_osmnx,
    network_from_polygon,
    osmnx_tags,
    polygon_for_place,
    residential_landuse_from_polygon,
)
from geo.pbf import read_pbf
from geo.taxonomy import load_taxonomy
from socialrisk.core.errors import DownloadError, InputError

pytestmark = pytest.mark.network

NEWPORT = box(-1.30, 50.695, -1.28, 50.705)
# osmnx downloads the network for the polygon buffered by 500 m; serve a wider box
NEWPORT_WIDE = NEWPORT.buffer(0.012, join_style="mitre")
CRS = "EPSG:27700"
# the text of a real Overpass /api/status answer with free slots
STATUS = (b"Connected as: 2130706433\nCurrent time: 2020-04-22T12:00:00Z\n"
          b"Announced endpoint: none\nRate limit: 2\n2 slots available now.\n"
          b"Currently running queries (pid, space limit, time limit, start time):\n")


@pytest.fixture(scope="module")
def osm():
    """The real extract in memory: tagged nodes, every way (with coordinates), relations."""
    nodes: dict[int, tuple[float, float, dict]] = {}
    ways: dict[int, tuple[list[int], list[tuple[float, float]], dict]] = {}
    rels: list[tuple[int, list[tuple[str, int, str]], dict]] = []
    untagged_nodes = osmium.filter.EmptyTagFilter()
    untagged_nodes.enable_for(osmium.osm.NODE)  # their locations are still cached
    for o in osmium.FileProcessor(str(IOW_PBF)).with_locations().with_filter(untagged_nodes):
        if o.is_node():
            nodes[o.id] = (o.location.lon, o.location.lat, dict(o.tags))
        elif o.is_way():
            refs = [n.ref for n in o.nodes]
            coords = [(n.location.lon, n.location.lat) for n in o.nodes]
            ways[o.id] = (refs, coords, dict(o.tags))
        elif o.is_relation():
            rels.append((o.id, [(m.type, m.ref, m.role) for m in o.members], dict(o.tags)))
    return nodes, ways, rels


@pytest.fixture(scope="module")
def pbf():
    return read_pbf(IOW_PBF, load_taxonomy(), crs=CRS, keep="all")


@pytest.fixture
def overpass(http_server, tmp_path):
    """Restore osmnx's global settings after the test."""
    names = ("cache_folder", "use_cache", "log_console", "requests_timeout", "overpass_url",
             "nominatim_url")
    saved = {n: getattr(ox.settings, n) for n in names}
    for base in ("/net", "/feat", "/bld", "/res"):
        http_server.routes[f"{base}/status"] = (200, STATUS, "text/plain")
    yield http_server
    for n, v in saved.items():
        setattr(ox.settings, n, v)


def _way_geom(coords):
    return shapely.LineString(coords) if len(coords) > 1 else shapely.Point(coords[0])


def _ways_in(ways, area, ids=None):
    """Ids of ways whose line intersects ``area`` (Overpass ``way(poly:...)``)."""
    x0, y0, x1, y1 = area.bounds
    out = set()
    for i in (ways if ids is None else ids):
        xy = ways[i][1]
        if not xy:
            continue
        xs = [c[0] for c in xy]
        ys = [c[1] for c in xy]
        if max(xs) < x0 or min(xs) > x1 or max(ys) < y0 or min(ys) > y1:
            continue
        if area.intersects(_way_geom(xy)):
            out.add(i)
    return out


def _overpass_filter(tags: dict, way_filter: str) -> bool:
    """Evaluate an Overpass tag filter such as ``["highway"]["area"!~"yes"]``."""
    for key, op, pattern in re.findall(r'\["([^"]+)"(?:(!?~|=)"([^"]*)")?\]', way_filter):
        value = tags.get(key)
        if not op and value is None:
            return False
        if op == "!~" and value is not None and re.search(pattern, value):
            return False
        if op == "~" and (value is None or not re.search(pattern, value)):
            return False
        if op == "=" and value != pattern:
            return False
    return True


def _response(osm, way_ids, node_ids=(), rel_ids=()) -> bytes:
    """Overpass JSON: the given elements, plus (``>``) every node of the given ways."""
    nodes, ways, rels = osm
    coords: dict[int, tuple[float, float]] = {}
    for wid in way_ids:
        refs, xy, _ = ways[wid]
        coords.update(zip(refs, xy, strict=True))
    for nid in node_ids:
        coords[nid] = nodes[nid][:2]
    elements = []
    for nid, (lon, lat) in sorted(coords.items()):
        el = {"type": "node", "id": nid, "lat": lat, "lon": lon}
        if nid in nodes:
            el["tags"] = nodes[nid][2]
        elements.append(el)
    for wid in sorted(way_ids):
        refs, _, tags = ways[wid]
        el = {"type": "way", "id": wid, "nodes": refs}
        if tags:
            el["tags"] = tags
        elements.append(el)
    by_id = {r[0]: r for r in rels}
    for rid in sorted(rel_ids):
        _, members, tags = by_id[rid]
        elements.append({"type": "relation", "id": rid, "tags": tags, "members": [
            {"type": {"n": "node", "w": "way", "r": "relation"}[t], "ref": ref, "role": role}
            for t, ref, role in members]})
    return json.dumps({"version": 0.6, "generator": "Overpass API (test)",
                       "elements": elements}).encode()


def _features_response(osm, tags_query: dict, area) -> bytes:
    """What Overpass returns for osmnx's features query (node/way/relation[tags](poly))."""
    nodes, ways, rels = osm

    def wanted(tags):
        return any(k in tags and (v is True or tags[k] in v) for k, v in tags_query.items())

    node_ids = [i for i, (lon, lat, t) in nodes.items()
                if wanted(t) and area.intersects(shapely.Point(lon, lat))]
    way_ids = _ways_in(ways, area, [i for i, w in ways.items() if wanted(w[2])])
    rel_ids = []
    for rid, members, t in rels:
        if not wanted(t):
            continue
        member_ways = [ref for typ, ref, _ in members if typ == "w" and ref in ways]
        if _ways_in(ways, area, member_ways):
            rel_ids.append(rid)
            way_ids.update(member_ways)
    return _response(osm, way_ids, node_ids, rel_ids)


@pytest.mark.slow
def test_network_matches_pbf(overpass, osm, pbf, tmp_path):
    walk = ox._overpass._get_network_filter("walk")
    _, ways, _ = osm
    way_ids = _ways_in(ways, NEWPORT_WIDE,
                       [i for i, w in ways.items() if _overpass_filter(w[2], walk)])
    overpass.routes["/net/interpreter"] = (200, _response(osm, way_ids), "application/json")
    configure_osmnx(tmp_path / "cache", overpass_url=f"{overpass.url}/net")

    net = network_from_polygon(NEWPORT, CRS, keep="all")
    assert net.crs == CRS and net.n_nodes > 500
    hits = len(overpass.hits)
    assert any(h.startswith("/net/interpreter") for h in overpass.hits)

    # the PBF network restricted to the same box: edges with both ends inside it
    ref = pbf.network
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(ref.x, ref.y)
    inside = shapely.intersects(shapely.points(lon, lat), NEWPORT)
    both = inside[ref.u] & inside[ref.v]
    ref_edges = {tuple(sorted(p)) for p in zip(ref.node_id[ref.u[both]],
                                               ref.node_id[ref.v[both]], strict=True)}
    got_edges = {tuple(sorted(p)) for p in zip(net.node_id[net.u], net.node_id[net.v],
                                               strict=True)}
    assert got_edges == ref_edges
    ref_nodes = set(ref.node_id[ref.u[both]]) | set(ref.node_id[ref.v[both]])
    assert set(net.node_id) == ref_nodes
    # same lengths, measured the same way
    ref_len = {tuple(sorted((a, b))): ln for a, b, ln in zip(
        ref.node_id[ref.u[both]], ref.node_id[ref.v[both]], ref.length[both], strict=True)}
    got_len = np.array([ref_len[tuple(sorted((a, b)))] for a, b in
                        zip(net.node_id[net.u], net.node_id[net.v], strict=True)])
    np.testing.assert_allclose(net.length, got_len, rtol=1e-9, atol=1e-6)

    # keep="largest" drops fragments; a second run is answered from osmnx's cache
    largest = network_from_polygon(NEWPORT, CRS)
    assert largest.n_nodes + largest.dropped_nodes >= net.n_nodes
    assert len(overpass.hits) == hits


def test_amenities_match_pbf(overpass, osm, pbf, tmp_path):
    tax = load_taxonomy()
    body = _features_response(osm, osmnx_tags(tax), NEWPORT)
    overpass.routes["/feat/interpreter"] = (200, body, "application/json")
    configure_osmnx(tmp_path / "cache", overpass_url=f"{overpass.url}/feat")

    got = amenities_from_polygon(NEWPORT, tax)
    ref = pbf.amenities[pbf.amenities.intersects(NEWPORT)].reset_index(drop=True)
    assert len(got) > 20
    assert list(got.columns) == list(ref.columns)
    assert got.dtypes.to_dict() == ref.dtypes.to_dict()
    key = ["category", "osm_type", "osm_id"]
    assert got[key].values.tolist() == ref[key].values.tolist()
    cols = ["name", "amenity_type", "opening_hours", "wheelchair", "website"]
    assert got[cols].fillna("").values.tolist() == ref[cols].fillna("").values.tolist()
    np.testing.assert_array_equal(got["capacity"].to_numpy(), ref["capacity"].to_numpy())
    assert (got.geom_type.to_numpy() == ref.geom_type.to_numpy()).all()
    dist = shapely.hausdorff_distance(got.geometry.to_numpy(), ref.geometry.to_numpy())
    assert dist.max() < 1e-6


def test_buildings_and_residential_match_pbf(overpass, osm, pbf, tmp_path):
    small = box(-1.295, 50.698, -1.290, 50.702)
    overpass.routes["/bld/interpreter"] = (
        200, _features_response(osm, {"building": True}, small), "application/json")
    overpass.routes["/res/interpreter"] = (
        200, _features_response(osm, {"landuse": ["residential"]}, NEWPORT), "application/json")
    configure_osmnx(tmp_path / "cache", overpass_url=f"{overpass.url}/bld")
    got = buildings_from_polygon(small)
    ref = pbf.buildings[pbf.buildings.intersects(small)].reset_index(drop=True)
    assert len(got) > 50
    assert list(got.columns) == list(ref.columns)
    assert got[["osm_type", "osm_id", "building"]].values.tolist() == \
        ref[["osm_type", "osm_id", "building"]].values.tolist()
    np.testing.assert_array_equal(got["levels"].to_numpy(), ref["levels"].to_numpy())
    assert shapely.hausdorff_distance(got.geometry.to_numpy(), ref.geometry.to_numpy()).max() < 1e-6

    configure_osmnx(tmp_path / "cache", overpass_url=f"{overpass.url}/res")
    res = residential_landuse_from_polygon(NEWPORT)
    ref = pbf.residential[pbf.residential.intersects(NEWPORT)].reset_index(drop=True)
    assert len(res) >= 1
    assert res[["osm_type", "osm_id"]].values.tolist() == \
        ref[["osm_type", "osm_id"]].values.tolist()


def test_server_error_and_unknown_place(overpass, tmp_path):
    overpass.routes["/net/interpreter"] = (
        400, b"<p><strong>Error</strong>: line 1: parse error</p>", "text/html")
    configure_osmnx(tmp_path / "cache", overpass_url=f"{overpass.url}/net",
                    nominatim_url=f"{overpass.url}/nominatim/")
    with pytest.raises(DownloadError, match=r"walking network from http://127\.0\.0\.1.*--osm"):
        network_from_polygon(NEWPORT, CRS)
    # an empty answer from Overpass: no walkable ways
    overpass.routes["/net/interpreter"] = (200, _response(({}, {}, []), []), "application/json")
    configure_osmnx(tmp_path / "cache2", overpass_url=f"{overpass.url}/net",
                    nominatim_url=f"{overpass.url}/nominatim/")
    with pytest.raises(InputError, match="no walkable ways"):
        network_from_polygon(NEWPORT, CRS)
    # Nominatim knows no such place: an empty result list
    overpass.routes["/nominatim/search"] = (200, b"[]", "application/json")
    with pytest.raises(InputError, match="Nominatim found no place called 'Nowhere Town'"):
        polygon_for_place("Nowhere Town")
