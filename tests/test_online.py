"""``socialrisk run --lad`` / ``--place`` end to end against local servers serving real data.

One local HTTP server on 127.0.0.1 plays every online service, from real data:

* ONS ArcGIS ``/lookup/.../query`` (LSOA21 -> LAD24): the LSOA and district codes of
  the real IoD2025 File 7 of the Isle of Wight, restricted to the 5 LSOAs whose
  representative points are nearest Newport's centre (keeps the run fast);
* ONS ArcGIS ``/lsoa/.../query``: the real LSOA 2021 (BSC) boundaries of every
  Isle of Wight LSOA, answering ``where`` (``LSOA21CD IN (...)``) and envelope
  intersects queries, paged at 50 records like the portal;
* Overpass ``/overpass/interpreter`` and ``/status``: osmnx's queries evaluated on
  the real IoW extract (2020-04-22): ``node/way/relation[filters](poly:...)``,
  with ``>`` recursion, the way Overpass selects (ways by their line);
* Nominatim ``/nominatim/search``: the union of the 5 served LSOAs as the place
  boundary, in the ``format=json&polygon_geojson=1`` shape osmnx 2.1 reads;
* ``/file7.csv``: the real IoD2025 File 7 rows of the Isle of Wight.

Every URL reaches the run through a TOML config (the settings a user behind a
mirror would set).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import socket
import threading
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import numpy as np
import osmium
import osmnx as ox
import pandas as pd
import pytest
import shapely
from conftest import ENGLAND, IOW_FILE7, IOW_PBF, needs_shared

from socialrisk.cli import main

pytestmark = [pytest.mark.network, needs_shared]

IOW_LAD = "E06000046"
NEWPORT_CENTRE = (-1.2915, 50.7006)  # lon, lat (St Thomas' Square)
N_LSOAS = 5
MAX_RECORDS = 50
# the text of a real Overpass /api/status answer with free slots
STATUS = (b"Connected as: 2130706433\nCurrent time: 2020-04-22T12:00:00Z\n"
          b"Announced endpoint: none\nRate limit: 2\n2 slots available now.\n"
          b"Currently running queries (pid, space limit, time limit, start time):\n")
_STATEMENT = re.compile(r"(node|way|relation)((?:\[[^\]]*\])+)\(poly:'([^']*)'\)")
_FILTER = re.compile(r"""\[(["'])(.+?)\1(?:(!?~|=)(["'])(.*?)\4)?\]""")


# ------------------------------------------------------------------ real data


@pytest.fixture(scope="module")
def ons():
    """IoW boundaries (service field names), the lookup for the 5 Newport LSOAs, File 7 bytes."""
    eng = gpd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet")
    iow = eng[eng["lsoa21_name"].str.startswith("Isle of Wight")]
    boundaries = iow.rename(columns={"lsoa21_code": "LSOA21CD", "lsoa21_name": "LSOA21NM"})
    boundaries = boundaries.reset_index(drop=True)
    points = boundaries.geometry.representative_point().to_crs("EPSG:27700")
    centre = gpd.GeoSeries(gpd.points_from_xy(*[[c] for c in NEWPORT_CENTRE]),
                           crs="EPSG:4326").to_crs("EPSG:27700").iloc[0]
    nearest = np.argsort(points.distance(centre).to_numpy())[:N_LSOAS]
    codes = sorted(boundaries["LSOA21CD"].iloc[nearest])
    file7 = pd.read_csv(IOW_FILE7, usecols=[0, 2, 3])
    file7.columns = ["LSOA21CD", "LAD24CD", "LAD24NM"]
    lookup = file7[file7["LSOA21CD"].isin(codes)]
    assert len(lookup) == N_LSOAS
    return {"boundaries": boundaries, "lookup": lookup, "codes": codes,
            "file7": IOW_FILE7.read_bytes()}


@pytest.fixture(scope="module")
def osm():
    """The real extract in memory: tagged nodes, ways with coordinates, relations, way index."""
    nodes: dict[int, tuple[float, float, dict]] = {}
    ways: dict[int, tuple[list[int], list[tuple[float, float]], dict]] = {}
    rels: dict[int, tuple[list[tuple[str, int, str]], dict]] = {}
    untagged = osmium.filter.EmptyTagFilter()
    untagged.enable_for(osmium.osm.NODE)  # their locations are still cached for the ways
    for o in osmium.FileProcessor(str(IOW_PBF)).with_locations().with_filter(untagged):
        if o.is_node():
            nodes[o.id] = (o.location.lon, o.location.lat, dict(o.tags))
        elif o.is_way():
            ways[o.id] = ([n.ref for n in o.nodes],
                          [(n.location.lon, n.location.lat) for n in o.nodes], dict(o.tags))
        elif o.is_relation():
            rels[o.id] = ([(m.type, m.ref, m.role) for m in o.members], dict(o.tags))
    way_ids = np.array([i for i, w in ways.items() if w[1]], dtype=np.int64)
    lines = [shapely.LineString(ways[i][1]) if len(ways[i][1]) > 1
             else shapely.Point(ways[i][1][0]) for i in way_ids]
    node_ids = np.array(list(nodes), dtype=np.int64)
    xy = np.array([nodes[i][:2] for i in node_ids])
    return {"nodes": nodes, "ways": ways, "rels": rels, "way_ids": way_ids,
            "way_tree": shapely.STRtree(lines), "node_ids": node_ids, "node_xy": xy}


# ------------------------------------------------------------------ the services


def _matches(tags: dict, filters: str) -> bool:
    """An Overpass tag filter (``["k"]``, ``['k'='v']``, ``["k"!~"re"]``...) on one element."""
    for _, key, op, _, value in _FILTER.findall(filters):
        have = tags.get(key)
        if not op:
            if have is None:
                return False
        elif op == "=":
            if have != value:
                return False
        elif op == "~":
            if have is None or not re.search(value, have):
                return False
        elif have is not None and re.search(value, have):  # "!~"
            return False
    return True


def overpass_answer(osm: dict, query: str) -> bytes:
    """Overpass JSON for an osmnx query: each statement's elements and (``>``) their members."""
    nodes, ways, rels = osm["nodes"], osm["ways"], osm["rels"]
    out_nodes: set[int] = set()
    out_ways: set[int] = set()
    out_rels: set[int] = set()
    by_poly: dict[str, tuple[set[int], set[int]]] = {}
    for kind, filters, poly_str in _STATEMENT.findall(query):
        if poly_str not in by_poly:
            vals = [float(v) for v in poly_str.split()]
            poly = shapely.Polygon(list(zip(vals[1::2], vals[0::2], strict=True)))
            hit = osm["way_tree"].query(poly, predicate="intersects")
            in_ways = set(osm["way_ids"][hit].tolist())
            xy = osm["node_xy"]
            in_nodes = set(osm["node_ids"][shapely.contains_xy(poly, xy[:, 0], xy[:, 1])].tolist())
            by_poly[poly_str] = (in_nodes, in_ways)
        in_nodes, in_ways = by_poly[poly_str]
        if kind == "node":
            out_nodes |= {i for i in in_nodes if _matches(nodes[i][2], filters)}
        elif kind == "way":
            out_ways |= {i for i in in_ways if _matches(ways[i][2], filters)}
        else:
            for rid, (members, tags) in rels.items():
                if rid in out_rels or not _matches(tags, filters):
                    continue
                if any((t == "w" and ref in in_ways) or (t == "n" and ref in in_nodes)
                       for t, ref, _ in members):
                    out_rels.add(rid)
    for rid in out_rels:  # ">": members of the relations
        for t, ref, _ in rels[rid][0]:
            if t == "w" and ref in ways:
                out_ways.add(ref)
            elif t == "n" and ref in nodes:
                out_nodes.add(ref)
    coords: dict[int, tuple[float, float]] = {i: nodes[i][:2] for i in out_nodes}
    for wid in out_ways:  # ">": nodes of the ways
        refs, xy, _ = ways[wid]
        coords.update(zip(refs, xy, strict=True))
    elements = []
    for nid, (lon, lat) in sorted(coords.items()):
        el = {"type": "node", "id": nid, "lat": lat, "lon": lon}
        if nid in nodes and nodes[nid][2]:
            el["tags"] = nodes[nid][2]
        elements.append(el)
    for wid in sorted(out_ways):
        el = {"type": "way", "id": wid, "nodes": ways[wid][0]}
        if ways[wid][2]:
            el["tags"] = ways[wid][2]
        elements.append(el)
    names = {"n": "node", "w": "way", "r": "relation"}
    for rid in sorted(out_rels):
        members, tags = rels[rid]
        elements.append({"type": "relation", "id": rid, "tags": tags, "members": [
            {"type": names[t], "ref": ref, "role": role} for t, ref, role in members]})
    return json.dumps({"version": 0.6, "generator": "Overpass API (test, IoW 2020-04-22)",
                       "elements": elements}).encode()


def arcgis_answer(ons: dict, path: str, q: dict[str, str]) -> dict | None:
    """An ArcGIS FeatureServer query answer (paged at MAX_RECORDS), or None for a 404."""
    offset = int(q.get("resultOffset", 0))
    count = min(int(q.get("resultRecordCount", MAX_RECORDS)), MAX_RECORDS)
    where = q.get("where", "1=1")
    if path == "/lookup/FeatureServer/0/query":
        m = re.fullmatch(r"LAD24CD='(\w+)'", where)
        rows = ons["lookup"][ons["lookup"]["LAD24CD"] == m.group(1)].sort_values("LSOA21CD")
        fields = q["outFields"].split(",")
        body = {"features": [{"attributes": r} for r in
                             rows.iloc[offset:offset + count][fields].to_dict("records")]}
        if offset + count < len(rows):
            body["exceededTransferLimit"] = True
        return body
    if path != "/lsoa/FeatureServer/0/query":
        return None
    rows = ons["boundaries"]
    if where != "1=1":
        m = re.fullmatch(r"LSOA21CD IN \((.*)\)", where)
        rows = rows[rows["LSOA21CD"].isin(re.findall(r"'(\w+)'", m.group(1)))]
    if "geometry" in q:
        assert q["geometryType"] == "esriGeometryEnvelope" and q["inSR"] == "4326"
        assert q["spatialRel"] == "esriSpatialRelIntersects"
        env = json.loads(q["geometry"])
        rows = rows[rows.intersects(shapely.box(env["xmin"], env["ymin"], env["xmax"],
                                                env["ymax"]))]
    rows = rows.sort_values("LSOA21CD")
    body = json.loads(rows.iloc[offset:offset + count].to_json(drop_id=True))
    if offset + count < len(rows):
        body["properties"] = {"exceededTransferLimit": True}
    return body


def nominatim_answer(ons: dict) -> list[dict]:
    """Nominatim ``search`` (format=json, polygon_geojson=1): the union of the served LSOAs."""
    b = ons["boundaries"]
    union = shapely.union_all(b[b["LSOA21CD"].isin(ons["codes"])].geometry.to_numpy())
    west, south, east, north = union.bounds
    centre = union.representative_point()
    return [{"lat": f"{centre.y:.7f}", "lon": f"{centre.x:.7f}", "class": "boundary",
             "type": "administrative", "importance": 0.5, "addresstype": "town",
             "name": "Newport", "display_name": "Newport, Isle of Wight, England, United Kingdom",
             "boundingbox": [f"{south:.7f}", f"{north:.7f}", f"{west:.7f}", f"{east:.7f}"],
             "geojson": shapely.geometry.mapping(union)}]


class _Services(http.server.BaseHTTPRequestHandler):
    ons: dict
    osm: dict
    hits: list[str]

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.hits.append(self.path)
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/file7.csv":
            self._send(200, self.ons["file7"], "text/csv")
        elif parts.path == "/overpass/status":
            self._send(200, STATUS, "text/plain")
        elif parts.path == "/nominatim/search":
            assert q["format"] == "json" and q["polygon_geojson"] == "1"
            self._send(200, json.dumps(nominatim_answer(self.ons)).encode())
        else:
            body = arcgis_answer(self.ons, parts.path, q)
            if body is None:
                self._send(404, b"not found", "text/plain")
            else:
                self._send(200, json.dumps(body).encode())

    def do_POST(self):  # noqa: N802
        self.hits.append(self.path)
        data = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if urlsplit(self.path).path != "/overpass/interpreter":
            self._send(404, b"not found", "text/plain")
            return
        self._send(200, overpass_answer(self.osm, parse_qs(data)["data"][0]))


@pytest.fixture(scope="module")
def services(ons, osm):
    handler = type("H", (_Services,), {"ons": ons, "osm": osm, "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "hits": handler.hits}
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _restore_osmnx():
    names = ("cache_folder", "use_cache", "log_console", "requests_timeout", "overpass_url",
             "nominatim_url")
    saved = {n: getattr(ox.settings, n) for n in names}
    yield
    for n, v in saved.items():
        setattr(ox.settings, n, v)


def _config(tmp_path, base: str) -> str:
    cfg = tmp_path / "online.toml"
    cfg.write_text(
        f'ons_lookup_url = "{base}/lookup/FeatureServer/0/query"\n'
        f'ons_boundaries_url = "{base}/lsoa/FeatureServer/0/query"\n'
        f'overpass_url = "{base}/overpass"\n'
        f'nominatim_url = "{base}/nominatim/"\n'
        f'file7_url = "{base}/file7.csv"\n'
        f'file7_min_rows = 80\n'  # the Isle of Wight rows of File 7 (89), not all England
        f'cache_dir = "{tmp_path / "cache"}"\n')
    return str(cfg)


def _check_outputs(out, ons) -> pd.DataFrame:
    names = {p.name for p in out.iterdir()}
    assert {"amenities.gpkg", "areas.csv", "areas.gpkg", "manifest.json"} <= names
    table = pd.read_csv(out / "areas.csv")
    assert sorted(table["area_id"]) == ons["codes"]
    names = ons["boundaries"].set_index("LSOA21CD")["LSOA21NM"]
    assert (table["area_name"] == names.reindex(table["area_id"]).to_numpy()).all()
    # File 7 joined: population and the IoD domains, for every area
    file7 = pd.read_csv(IOW_FILE7).set_index("LSOA code (2021)")
    pop = file7["Total population: mid 2022"].reindex(table["area_id"]).to_numpy()
    np.testing.assert_array_equal(table["population"].to_numpy(), pop)
    assert table["imd_score"].notna().all() and table["income_score"].notna().all()
    assert table["deprivation_score"].notna().all()
    # access measured on the downloaded network and amenities
    assert table["gp_nearest_m"].notna().all() and table["isolation_risk"].notna().all()
    assert (table["transit_stop_count_800m"] > 0).all()
    amen = gpd.read_file(out / "amenities.gpkg", layer="amenities")
    assert len(amen) > 100 and amen["snapped"].mean() > 0.9
    return table


# ------------------------------------------------------------------ tests


@pytest.mark.slow
def test_lad_end_to_end_and_cached(services, ons, tmp_path, capsys):
    cfg = _config(tmp_path, services["url"])
    hits = services["hits"]
    hits.clear()
    out = tmp_path / "out"
    assert main(["run", "--lad", IOW_LAD, "--config", cfg, "--out", str(out), "--quiet"]) == 0
    _check_outputs(out, ons)
    assert (out / "map.html").is_file()
    paths = [urlsplit(h).path for h in hits]
    assert paths.count("/lookup/FeatureServer/0/query") == 1
    assert paths.count("/lsoa/FeatureServer/0/query") == 1
    assert paths.count("/file7.csv") == 1
    assert paths.count("/overpass/interpreter") == 4  # amenities, network, buildings, land use
    assert "/nominatim/search" not in paths

    manifest = json.loads((out / "manifest.json").read_text())
    downloads = manifest["downloads"]
    urls = " ".join(d["url"] for d in downloads)
    for part in ("/lookup/FeatureServer/0/query", "/lsoa/FeatureServer/0/query",
                 "/overpass", "/file7.csv"):
        assert f"{services['url']}{part}" in urls
    assert all(d["downloaded"] and d["cache"] for d in downloads)
    assert manifest["inputs"]["osm"]["buffer_m"] == 2000.0
    assert manifest["inputs"]["areas"]["path"].endswith(f"lad_{IOW_LAD}.geojson")
    assert manifest["inputs"]["deprivation"][0]["kind"] == "file7"

    # the second run is served from the caches: no request at all
    n = len(hits)
    again = tmp_path / "again"
    assert main(["run", "--lad", IOW_LAD, "--config", cfg, "--out", str(again), "--quiet",
                 "--no-map"]) == 0
    assert len(hits) == n
    first = pd.read_csv(out / "areas.csv")
    pd.testing.assert_frame_equal(pd.read_csv(again / "areas.csv"), first)


@pytest.mark.slow
def test_place_end_to_end(services, ons, tmp_path):
    cfg = _config(tmp_path, services["url"])
    hits = services["hits"]
    hits.clear()
    out = tmp_path / "out"
    assert main(["run", "--place", "Newport, Isle of Wight", "--config", cfg, "--out", str(out),
                 "--quiet", "--no-map"]) == 0
    _check_outputs(out, ons)
    paths = [urlsplit(h).path for h in hits]
    assert paths.count("/nominatim/search") == 1
    assert "/lookup/FeatureServer/0/query" not in paths  # areas from the place, not a LAD
    search = next(h for h in hits if h.startswith("/lsoa/"))
    assert "esriGeometryEnvelope" in search
    manifest = json.loads((out / "manifest.json").read_text())
    what = " ".join(d["what"] for d in manifest["downloads"])
    assert "Nominatim" in what and "'Newport, Isle of Wight'" in what


@pytest.mark.slow
def test_place_with_own_areas_uses_overpass_over_the_place(services, ons, tmp_path):
    """--place with --areas: the areas from the file, only the OSM data from the place."""
    b = ons["boundaries"]
    areas = tmp_path / "areas.gpkg"
    b[b["LSOA21CD"].isin(ons["codes"][:2])].to_file(areas, layer="areas")
    cfg = _config(tmp_path, services["url"])
    out = tmp_path / "out"
    assert main(["run", "--place", "Newport, Isle of Wight", "--areas", str(areas),
                 "--area-id", "LSOA21CD", "--config", cfg, "--out", str(out), "--quiet",
                 "--no-map", "--no-download"]) == 0
    table = pd.read_csv(out / "areas.csv")
    assert sorted(table["area_id"]) == ons["codes"][:2]
    assert table["gp_nearest_m"].notna().all()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # the download is retried 3 times with back-off (7 s)
def test_offline_is_one_line(tmp_path, capsys):
    cfg = _config(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    out = tmp_path / "out"
    code = main(["run", "--lad", IOW_LAD, "--config", cfg, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("socialrisk: error: could not download http://127.0.0.1:")
    assert "--areas" in err[0] and "--osm" in err[0]
    assert not out.exists()


def test_place_offline_is_one_line(tmp_path, capsys):
    cfg = _config(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    code = main(["run", "--place", "Newport, Isle of Wight", "--config", cfg,
                 "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("socialrisk: error: could not download the boundary of 'Newport")
    assert "--areas" in err[0] and "--osm" in err[0]
