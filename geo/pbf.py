"""Read everything a run needs from an OSM extract (.osm.pbf, or .osm XML) in one pass.

One streaming read with pyosmium (libosmium) gives:

* the amenity table (:data:`geo.taxonomy.AMENITY_COLUMNS`), classified
  by the taxonomy;
* the walking network (:class:`socialrisk.core.network.WalkNetwork`), selected
  like osmnx's ``network_type="walk"`` and not simplified: every OSM node of a
  walkable way is a graph node and consecutive nodes are joined by an edge;
* building footprints and residential land-use polygons (origins of trips).

Closed ways and multipolygon relations become polygons through libosmium's area
assembler. Features whose geometry cannot be built (broken multipolygons, ways
cut at the extract boundary) are never dropped silently: they are counted in
:attr:`PbfData.skipped` and logged.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely

from geo.taxonomy import (
    Category,
    amenities_frame,
    category_counts,
    category_matcher,
    load_taxonomy,
    parse_number,
    taxonomy_keys,
)
from socialrisk.core.errors import InputError
from socialrisk.core.network import WalkNetwork, network_from_edges

log = logging.getLogger(__name__)

BUILDING_COLUMNS: tuple[str, ...] = ("osm_type", "osm_id", "building", "levels", "geometry")
RESIDENTIAL_COLUMNS: tuple[str, ...] = ("osm_type", "osm_id", "geometry")
#: the skipped-geometry reasons of ``PbfData.skipped`` in words, for the log line
_SKIPPED_WORDS = {
    "amenity_line": "amenity lines (missing node locations)",
    "amenity_node_location": "amenities (missing node locations)",
    "amenity_polygon_way": "amenity outlines (ways)",
    "amenity_relation": "amenity outlines (relations)",
    "building_not_closed": "buildings with an unclosed outline",
    "building_polygon": "building outlines",
    "residential_not_closed": "residential areas with an unclosed outline",
    "residential_polygon": "residential area outlines",
    "network_node_location": "footpath nodes missing from the extract",
}

# osmnx 2.1 ``_get_network_filter("walk")`` (osmnx/_overpass.py) with the default
# ``settings.default_access = '["access"!~"private"]'``. Overpass ``!~`` is an
# unanchored, case-sensitive regular-expression test, mirrored with re.search.
_WALK_EXCLUDE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("area", re.compile("yes")),
    ("access", re.compile("private")),
    ("highway", re.compile("abandoned|bus_guideway|construction|cycleway|motor|no|planned|"
                           "platform|proposed|raceway|razed|rest_area|services")),
    ("foot", re.compile("no")),
    ("service", re.compile("private")),
    ("sidewalk", re.compile("separate")),
    ("sidewalk:both", re.compile("separate")),
    ("sidewalk:left", re.compile("separate")),
    ("sidewalk:right", re.compile("separate")),
)


def is_walkable(tags: Mapping[str, Any]) -> bool:
    """Whether a way is in osmnx's ``"walk"`` network.

    A ``highway`` tag is required; ways tagged ``area=yes``, ``access=private``,
    ``foot=no``, ``service=private``, ``sidewalk*=separate`` or with a highway
    value for motor traffic, cycling only, construction or disuse are left out
    (the same unanchored patterns as osmnx 2.1's Overpass filter).
    """
    if tags.get("highway") is None:
        return False
    for key, pattern in _WALK_EXCLUDE:
        value = tags.get(key)
        if value is not None and pattern.search(value):
            return False
    return True


@dataclass(frozen=True)
class PbfData:
    """What one pass over an OSM extract gives.

    Attributes
    ----------
    amenities : GeoDataFrame
        :data:`~geo.taxonomy.AMENITY_COLUMNS`, EPSG:4326.
    network : WalkNetwork or None
        None when the network was not requested.
    buildings : GeoDataFrame
        ``osm_type``, ``osm_id``, ``building``, ``levels`` (float, NaN when absent),
        ``geometry`` (Polygon/MultiPolygon, EPSG:4326); every ``building=*`` except ``no``.
    residential : GeoDataFrame
        ``osm_type``, ``osm_id``, ``geometry``: ``landuse=residential`` polygons.
    skipped : dict of str to int
        Features whose geometry could not be built, by reason (see :func:`read_pbf`).
    seconds : float
        Wall time of the read.
    """

    amenities: gpd.GeoDataFrame
    network: WalkNetwork | None
    buildings: gpd.GeoDataFrame
    residential: gpd.GeoDataFrame
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"OSM file {p} not found; give the path to an .osm.pbf extract "
                         f"(e.g. from download.geofabrik.de)")
    return p


def _as_taxonomy(taxonomy: Mapping[str, Category] | str | Path | None) -> Mapping[str, Category]:
    if taxonomy is None or isinstance(taxonomy, (str, Path)):
        return load_taxonomy(taxonomy or None)
    return taxonomy


def _polygons(wkb: list[str]) -> np.ndarray:
    """Shapely polygons from libosmium multipolygon WKB; single-part ones become Polygons.

    pyosmium's factory writes hex; GEOS reads hex about 7x slower than the same bytes, so
    the strings are decoded by Python first.
    """
    if not wkb:
        return np.empty(0, dtype=object)
    geoms = shapely.from_wkb(np.asarray([bytes.fromhex(h) for h in wkb], dtype=object))
    single = shapely.get_num_geometries(geoms) == 1
    if single.any():
        geoms[single] = shapely.get_geometry(geoms[single], 0)
    return geoms


class _Scan:
    """Accumulators for one streaming pass (plain lists: appended per OSM object)."""

    def __init__(self) -> None:
        # amenities: (osm_type, osm_id, tags, kind, payload); kind "point" (lon, lat) or "wkb"
        self.amen: list[tuple[str, int, dict[str, str], str, Any]] = []
        self.amen_way_expected: set[int] = set()
        self.amen_rel_expected: set[int] = set()
        self.amen_area_seen: set[tuple[bool, int]] = set()
        # network
        self.net_ref: list[int] = []
        self.net_x: list[int] = []
        self.net_y: list[int] = []
        self.edge_u: list[int] = []
        self.edge_v: list[int] = []
        self.walk_ways = 0
        # buildings / residential: (osm_type, osm_id, building, levels, wkb)
        self.bld: list[tuple[str, int, str, float, bytes]] = []
        self.bld_expected: set[tuple[bool, int]] = set()
        self.res: list[tuple[str, int, bytes]] = []
        self.res_expected: set[tuple[bool, int]] = set()
        self.skipped: dict[str, int] = {}

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n


def _is_building(tags: Any) -> bool:
    b = tags.get("building")
    return b is not None and b != "no"


def _polygon_way(way: Any) -> bool:
    """Whether libosmium's area assembler makes a polygon of this way (it then arrives as an
    area too): 4 nodes or more, not tagged area=no, and both ends the same node or two nodes
    at the same location (libosmium compares locations, not ids)."""
    nodes = way.nodes
    if len(nodes) < 4 or way.tags.get("area") == "no":
        return False
    if way.is_closed():
        return True  # same node at both ends (counted as skipped if its area never comes)
    first, last = nodes[0].location, nodes[-1].location
    return first.valid() and last.valid() and first.x == last.x and first.y == last.y


def _scan(path: Path, taxonomy: Mapping[str, Category] | None, network: bool,
          buildings: bool, residential: bool) -> _Scan:
    """Stream the file once and fill a :class:`_Scan`."""
    s = _Scan()
    wkb = osmium.geom.WKBFactory()
    match = category_matcher(taxonomy) if taxonomy is not None else None
    tax_keys = taxonomy_keys(taxonomy) if taxonomy is not None else frozenset()
    area_keys = set(tax_keys)
    if buildings:
        area_keys.add("building")
    if residential:
        area_keys.add("landuse")
    keys = set(area_keys) | ({"highway"} if network else set())
    need_areas = bool(area_keys)

    fp = osmium.FileProcessor(str(path))
    if need_areas:
        fp = fp.with_areas(osmium.filter.KeyFilter(*sorted(area_keys)))
    else:
        fp = fp.with_locations()
    fp = fp.with_filter(osmium.filter.KeyFilter(*sorted(keys)))

    for obj in fp:
        if obj.is_area():
            _area(obj, s, wkb, match, buildings, residential)
        elif obj.is_way():
            tags = obj.tags
            if network and "highway" in tags and is_walkable(tags):
                _walk_way(obj, s)
            amen = match is not None and bool(match(tags))
            bld = buildings and _is_building(tags)
            res = residential and tags.get("landuse") == "residential"
            if amen or bld or res:
                _classify_way(obj, s, wkb, amen, bld, res)
        elif obj.is_node():
            if match is not None and match(obj.tags):
                loc = obj.location
                if loc.valid():
                    s.amen.append(("node", obj.id, dict(obj.tags), "point", (loc.lon, loc.lat)))
                else:
                    s.skip("amenity_node_location")
        elif obj.is_relation():
            tags = obj.tags
            if match is not None and match(tags):
                s.amen_rel_expected.add(obj.id)
            mp = tags.get("type") in ("multipolygon", "boundary")
            if buildings and mp and _is_building(tags):
                s.bld_expected.add((False, obj.id))
            if residential and mp and tags.get("landuse") == "residential":
                s.res_expected.add((False, obj.id))
    return s


def _classify_way(way: Any, s: _Scan, wkb: Any, amen: bool, bld: bool, res: bool) -> None:
    """Record what a way is; a polygon's geometry comes with its area (see :func:`_area`)."""
    polygon = _polygon_way(way)
    if amen:
        if polygon:
            s.amen_way_expected.add(way.id)
        else:
            try:
                s.amen.append(("way", way.id, dict(way.tags), "wkb",
                               wkb.create_linestring(way)))
            except (RuntimeError, osmium.InvalidLocationError):
                s.skip("amenity_line")
    if bld:
        if polygon:
            s.bld_expected.add((True, way.id))
        else:
            s.skip("building_not_closed")
    if res:
        if polygon:
            s.res_expected.add((True, way.id))
        else:
            s.skip("residential_not_closed")


def _walk_way(way: Any, s: _Scan) -> None:
    s.walk_ways += 1
    prev = None
    for n in way.nodes:
        loc = n.location
        if not loc.valid():
            s.skip("network_node_location")
            prev = None
            continue
        ref = n.ref
        s.net_ref.append(ref)
        s.net_x.append(loc.x)
        s.net_y.append(loc.y)
        if prev is not None:
            s.edge_u.append(prev)
            s.edge_v.append(ref)
        prev = ref


def _area(area: Any, s: _Scan, wkb: Any, match: Callable[[Any], list] | None,
          buildings: bool, residential: bool) -> None:
    tags = area.tags
    osm_id = area.orig_id()
    if area.from_way():
        # the way branch has classified this way already (it comes first in the file):
        # look its answers up instead of matching its tags a second time
        osm_type = "way"
        amen = osm_id in s.amen_way_expected
        bld = (True, osm_id) in s.bld_expected
        res = (True, osm_id) in s.res_expected
    else:
        osm_type = "relation"
        amen = match is not None and bool(match(tags))
        bld = buildings and _is_building(tags)
        res = residential and tags.get("landuse") == "residential"
    if not (amen or bld or res):
        return
    amen_tags = dict(tags) if amen else None
    try:
        geom = wkb.create_multipolygon(area)
    except (RuntimeError, osmium.InvalidLocationError):
        return  # counted as skipped: expected but never seen
    if amen_tags is not None:
        s.amen.append((osm_type, osm_id, amen_tags, "wkb", geom))
        s.amen_area_seen.add((osm_type == "way", osm_id))
    if bld:
        s.bld.append((osm_type, osm_id, tags.get("building"),
                      parse_number(tags.get("building:levels")), geom))
    if res:
        s.res.append((osm_type, osm_id, geom))


def _amenities(s: _Scan, taxonomy: Mapping[str, Category]) -> gpd.GeoDataFrame:
    missing_ways = s.amen_way_expected - {i for w, i in s.amen_area_seen if w}
    missing_rels = s.amen_rel_expected - {i for w, i in s.amen_area_seen if not w}
    if missing_ways:
        s.skip("amenity_polygon_way", len(missing_ways))
    if missing_rels:
        s.skip("amenity_relation", len(missing_rels))
    geoms = np.empty(len(s.amen), dtype=object)
    pts = [i for i, r in enumerate(s.amen) if r[3] == "point"]
    wk = [i for i, r in enumerate(s.amen) if r[3] == "wkb"]
    if pts:
        xy = np.array([s.amen[i][4] for i in pts], dtype=float)
        geoms[pts] = shapely.points(xy)
    if wk:
        geoms[wk] = _polygons([s.amen[i][4] for i in wk])
    records = [(r[0], r[1], r[2], g) for r, g in zip(s.amen, geoms, strict=True)]
    return amenities_frame(records, taxonomy)


def _network(s: _Scan, path: Path, crs: str, keep: str) -> WalkNetwork:
    if not s.edge_u:
        raise InputError(f"{path} has no walkable ways (highway=* open to pedestrians); "
                         f"check that the extract covers the study area")
    ref = np.asarray(s.net_ref, dtype=np.int64)
    ids, first = np.unique(ref, return_index=True)
    # libosmium stores coordinates as integers in 1e-7 degrees
    lon = np.asarray(s.net_x, dtype=np.float64)[first] / 1e7
    lat = np.asarray(s.net_y, dtype=np.float64)[first] / 1e7
    net = network_from_edges(ids, lon, lat, np.asarray(s.edge_u, dtype=np.int64),
                             np.asarray(s.edge_v, dtype=np.int64), crs=crs, keep=keep)
    log.info("network: %d walkable ways, %d nodes, %d edges kept (%d nodes dropped), %.0f km",
             s.walk_ways, net.n_nodes, net.n_edges, net.dropped_nodes, net.length.sum() / 1000)
    return net


def _buildings(s: _Scan) -> gpd.GeoDataFrame:
    seen = {(t == "way", i) for t, i, *_ in s.bld}
    missing = len(s.bld_expected - seen)
    if missing:
        s.skip("building_polygon", missing)
    df = pd.DataFrame({
        "osm_type": pd.Series([r[0] for r in s.bld], dtype=object),
        "osm_id": pd.Series([r[1] for r in s.bld], dtype=np.int64),
        "building": pd.Series([r[2] for r in s.bld], dtype=object),
        "levels": pd.Series([r[3] for r in s.bld], dtype=np.float64),
    })
    gdf = gpd.GeoDataFrame(df, geometry=_polygons([r[4] for r in s.bld]), crs="EPSG:4326")
    return _sorted(gdf)


def _residential(s: _Scan) -> gpd.GeoDataFrame:
    seen = {(t == "way", i) for t, i, _ in s.res}
    missing = len(s.res_expected - seen)
    if missing:
        s.skip("residential_polygon", missing)
    df = pd.DataFrame({
        "osm_type": pd.Series([r[0] for r in s.res], dtype=object),
        "osm_id": pd.Series([r[1] for r in s.res], dtype=np.int64),
    })
    gdf = gpd.GeoDataFrame(df, geometry=_polygons([r[2] for r in s.res]), crs="EPSG:4326")
    return _sorted(gdf)


def _sorted(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    rank = gdf["osm_type"].map({"node": 0, "way": 1, "relation": 2}).to_numpy()
    order = np.lexsort((gdf["osm_id"].to_numpy(), rank))
    return gdf.iloc[order].reset_index(drop=True)


def _run(path: str | Path, taxonomy: Mapping[str, Category] | None, network: bool,
         buildings: bool, residential: bool) -> _Scan:
    p = _check_path(path)
    try:
        return _scan(p, taxonomy, network, buildings, residential)
    except RuntimeError as exc:  # libosmium: unknown format, corrupt file, bad XML
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "out of order" in msg:
            raise InputError(f"{p} is not sorted ({msg}); sort it first with "
                             f"`osmium sort {p.name} -o sorted.osm.pbf`") from exc
        if p.stat().st_size == 0:
            raise InputError(f"{p} could not be read as an OSM file: it is empty (0 bytes); "
                             f"download the extract again, e.g. from download.geofabrik.de"
                             ) from exc
        if "unexpected EOF" in msg or "truncated" in msg.lower():
            raise InputError(f"{p} could not be read as an OSM file: it is truncated ({msg}); "
                             f"download it again (an interrupted download leaves a partial "
                             f"file)") from exc
        with p.open("rb") as fh:
            head = fh.read(512).lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):
            raise InputError(f"{p} could not be read as an OSM file: it is an HTML page (a "
                             f"download that went to an error or login page); download the "
                             f".osm.pbf again, e.g. from download.geofabrik.de") from exc
        raise InputError(f"{p} could not be read as an OSM file ({msg}); give an .osm.pbf "
                         f"(or .osm XML) extract, e.g. from download.geofabrik.de") from exc


def _log_skipped(path: Path, skipped: dict[str, int]) -> None:
    if skipped:
        log.warning("%s: left out, geometry could not be built: %s", path.name,
                    ", ".join(f"{n} {_SKIPPED_WORDS.get(k, k)}"
                              for k, n in sorted(skipped.items())))


def read_pbf(path: str | Path,
             taxonomy: Mapping[str, Category] | str | Path | None = None,
             crs: str = "EPSG:27700", keep: str = "largest") -> PbfData:
    """Read amenities, the walking network, buildings and residential land use in one pass.

    Parameters
    ----------
    path : str or Path
        An OSM extract: ``.osm.pbf`` (or ``.osm`` XML, ``.osm.bz2``, ...).
    taxonomy : dict of Category, path or None
        The amenity taxonomy (None: the default ``data/taxonomy.toml``).
    crs : str
        Projected CRS (metres) for the network; default British National Grid.
    keep : {"largest", "all"}
        Network connected components to keep (see ``network_from_edges``).

    Returns
    -------
    PbfData
        ``skipped`` counts, by reason: ``amenity_polygon_way`` / ``amenity_relation``
        (area could not be assembled), ``amenity_line`` / ``amenity_node_location``
        (missing node locations), ``building_polygon``, ``building_not_closed``,
        ``residential_polygon``, ``residential_not_closed``, ``network_node_location``
        (way nodes missing from the extract; the edges touching them are left out).

    Raises
    ------
    InputError
        The file is missing or not an OSM file, or it has no walkable ways.
    """
    t0 = time.perf_counter()
    tax = _as_taxonomy(taxonomy)
    p = Path(path)
    s = _run(p, tax, network=True, buildings=True, residential=True)
    amen = _amenities(s, tax)
    net = _network(s, p, crs, keep)
    bld = _buildings(s)
    res = _residential(s)
    seconds = time.perf_counter() - t0
    log.info("%s read in %.1f s: %d amenities, %d buildings, %d residential areas",
             p.name, seconds, len(amen), len(bld), len(res))
    log.debug("%s: amenities per category %s", p.name, category_counts(amen, tax))
    _log_skipped(p, s.skipped)
    return PbfData(amenities=amen, network=net, buildings=bld, residential=res,
                   skipped=dict(sorted(s.skipped.items())), seconds=seconds)


def amenities_from_pbf(path: str | Path,
                       taxonomy: Mapping[str, Category] | str | Path | None = None,
                       ) -> gpd.GeoDataFrame:
    """The amenity table (:data:`~geo.taxonomy.AMENITY_COLUMNS`) of an OSM extract."""
    tax = _as_taxonomy(taxonomy)
    s = _run(path, tax, network=False, buildings=False, residential=False)
    amen = _amenities(s, tax)
    log.info("%s: %d amenities %s", Path(path).name, len(amen), category_counts(amen, tax))
    _log_skipped(Path(path), s.skipped)
    return amen


def network_from_pbf(path: str | Path, crs: str, keep: str = "largest") -> WalkNetwork:
    """The unsimplified walking network of an OSM extract (osmnx ``"walk"`` selection)."""
    s = _run(path, None, network=True, buildings=False, residential=False)
    _log_skipped(Path(path), s.skipped)
    return _network(s, Path(path), crs, keep)


def buildings_from_pbf(path: str | Path) -> gpd.GeoDataFrame:
    """Every building footprint (``building=*`` except ``no``) of an OSM extract."""
    s = _run(path, None, network=False, buildings=True, residential=False)
    bld = _buildings(s)
    _log_skipped(Path(path), s.skipped)
    return bld


def residential_landuse_from_pbf(path: str | Path) -> gpd.GeoDataFrame:
    """The ``landuse=residential`` polygons of an OSM extract."""
    s = _run(path, None, network=False, buildings=False, residential=True)
    res = _residential(s)
    _log_skipped(Path(path), s.skipped)
    return res


def osm_timestamp(path: str | Path) -> str:
    """The extract's data date from its header (replication timestamp), or "" when absent."""
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    except RuntimeError:
        return ""
    try:
        header = reader.header()
    finally:
        reader.close()
    return header.get("osmosis_replication_timestamp") or header.get("timestamp") or ""
