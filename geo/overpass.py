"""The online OSM path: Overpass API and Nominatim through osmnx.

Produces the same tables as the PBF path (:mod:`geo.pbf`): the
amenity table is built by :func:`geo.taxonomy.amenities_frame` from
(osm_type, osm_id, tags, geometry) records, and the walking network by
:func:`socialrisk.core.network.network_from_edges` from the unsimplified osmnx
graph, so lengths are measured the same way (straight segments between
consecutive way nodes, in the projected CRS).

Call :func:`configure_osmnx` once before any download: it points osmnx's HTTP
cache at the run's cache directory (a repeated run sends no requests) and
allows another Overpass or Nominatim server.

Differences from the PBF path to keep in mind:

* Overpass selects features by exact ``key=value``, so amenities are queried by
  key (any value) and classified locally; for the keys in
  :data:`EXACT_VALUE_KEYS` (``highway``, ``railway``, ``landuse``...) only the
  taxonomy's values are asked for, and a ``;`` list there
  (``highway=bus_stop;crossing``) is found by the PBF path only.
* ``network_from_polygon`` keeps the nodes inside the polygon (osmnx truncates the
  graph to it); pass the study area buffered by the longest walk you measure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import requests
import shapely

from geo.taxonomy import Category, amenities_frame, parse_number
from socialrisk.core.errors import DownloadError, InputError
from socialrisk.core.network import WalkNetwork, network_from_edges

log = logging.getLogger(__name__)

#: Default public endpoints (osmnx's defaults).
OVERPASS_URL = "https://overpass-api.de/api"
NOMINATIM_URL = "https://nominatim.openstreetmap.org/"


#: Keys queried for the taxonomy's values only (any value would fetch every road,
#: rail line or land-use polygon); a ``;`` list in these keys is not found online.
EXACT_VALUE_KEYS = frozenset({"highway", "railway", "landuse", "building", "natural",
                              "waterway", "barrier", "power", "man_made", "boundary"})

_OFFLINE_HINT = "if you are offline, give an OpenStreetMap extract with --osm FILE.osm.pbf"
_NOT_TAGS = {"geometry", "nodes", "ways", "element", "id"}


def _osmnx() -> Any:
    """osmnx, imported on first use: it brings matplotlib, scikit-learn and networkx
    (about 1.3 s), which an offline run never needs."""
    import osmnx

    return osmnx


def _osmnx_errors() -> tuple[type[Exception], type[Exception]]:
    """osmnx's "nothing found" and "HTTP status" errors."""
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    return InsufficientResponseError, ResponseStatusCodeError


def settings_of_osmnx() -> Any:
    """osmnx's settings in use (Overpass and Nominatim URLs, cache folder)."""
    return _osmnx().settings


def configure_osmnx(
    cache_dir: str | Path,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    timeout: float = 180,
) -> None:
    """Set the osmnx settings used by this module.

    Parameters
    ----------
    cache_dir : path
        Cache root; osmnx keeps its responses under ``cache_dir/osmnx``.
    overpass_url : str, optional
        Overpass API base URL (osmnx posts to ``{url}/interpreter`` and reads
        ``{url}/status`` for free slots); default :data:`OVERPASS_URL`.
    nominatim_url : str, optional
        Nominatim base URL for :func:`polygon_for_place`; default :data:`NOMINATIM_URL`.
    timeout : float
        Seconds per request (also the Overpass ``[timeout:]`` setting).
    """
    ox = _osmnx()
    ox.settings.cache_folder = str(Path(cache_dir) / "osmnx")
    ox.settings.use_cache = True
    ox.settings.log_console = False
    ox.settings.requests_timeout = timeout
    ox.settings.overpass_url = (overpass_url or OVERPASS_URL).rstrip("/")
    ox.settings.nominatim_url = nominatim_url or NOMINATIM_URL
    log.debug("osmnx: cache %s, overpass %s", ox.settings.cache_folder, ox.settings.overpass_url)


def osmnx_tags(taxonomy: Mapping[str, Category]) -> dict[str, bool | list[str]]:
    """The osmnx ``tags`` query covering every filter of the taxonomy.

    Overpass matches ``key=value`` exactly, while the taxonomy also accepts a
    value inside a ``;`` list (``amenity=restaurant;pub`` is a pub). So every key
    that starts a filter is queried for any value (``True``), and the taxonomy
    matching picks the features afterwards; only keys in :data:`EXACT_VALUE_KEYS`
    (tagging very many other features, e.g. every road) are queried for the
    union of the accepted values.
    """
    out: dict[str, bool | set[str]] = {}
    for cat in taxonomy.values():
        for m in cat.filters:
            key, allowed = m.tags[0]
            if allowed is None or key not in EXACT_VALUE_KEYS or out.get(key) is True:
                out[key] = True
            else:
                current = out.setdefault(key, set())
                assert isinstance(current, set)
                current.update(allowed)
    return {k: (v if v is True else sorted(v)) for k, v in out.items()}


def amenities_from_polygon(polygon_wgs84: shapely.Geometry,
                           taxonomy: Mapping[str, Category]) -> gpd.GeoDataFrame:
    """Social infrastructure inside a polygon, from the Overpass API.

    Parameters
    ----------
    polygon_wgs84 : Polygon or MultiPolygon
        Study area (buffered as needed) in EPSG:4326.
    taxonomy : dict of str to Category
        From :func:`geo.taxonomy.load_taxonomy`.

    Returns
    -------
    GeoDataFrame
        The amenity table (:data:`geo.taxonomy.AMENITY_COLUMNS`),
        EPSG:4326; features intersecting the polygon; closed ways as polygons.
    """
    features = _features(polygon_wgs84, osmnx_tags(taxonomy), "amenities")
    return amenities_frame(_records(features), taxonomy)


def buildings_from_polygon(polygon_wgs84: shapely.Geometry) -> gpd.GeoDataFrame:
    """Building footprints inside a polygon, from the Overpass API.

    Returns
    -------
    GeoDataFrame
        The columns of ``buildings_from_pbf``: ``osm_type`` ("way" or "relation"),
        ``osm_id`` (int64), ``building`` (the tag value; ``building=no`` left out),
        ``levels`` (``building:levels`` as float, NaN when absent or not a number),
        ``geometry`` (Polygon/MultiPolygon, EPSG:4326); sorted by type and id.
    """
    features = _features(polygon_wgs84, {"building": True}, "buildings")
    rows = [(t, i, tags, g) for t, i, tags, g in _records(features)
            if t != "node" and tags.get("building", "no") != "no"]
    return _area_table(rows, {
        "building": lambda tags: tags["building"],
        "levels": lambda tags: parse_number(tags.get("building:levels")),
    }, {"building": object, "levels": np.float64})


def residential_landuse_from_polygon(polygon_wgs84: shapely.Geometry) -> gpd.GeoDataFrame:
    """``landuse=residential`` areas inside a polygon.

    Returns
    -------
    GeoDataFrame
        The columns of ``residential_landuse_from_pbf``: ``osm_type``, ``osm_id``,
        ``geometry`` (Polygon/MultiPolygon, EPSG:4326).
    """
    features = _features(polygon_wgs84, {"landuse": ["residential"]}, "residential land use")
    rows = [(t, i, tags, g) for t, i, tags, g in _records(features)
            if t != "node" and tags.get("landuse") == "residential"]
    return _area_table(rows, {}, {})


def network_from_polygon(polygon_wgs84: shapely.Geometry, crs: str,
                         keep: str = "largest") -> WalkNetwork:
    """The walking network inside a polygon, from the Overpass API.

    Uses ``osmnx.graph_from_polygon(network_type="walk", simplify=False,
    retain_all=True)`` (osmnx's walk filter), then
    :func:`~socialrisk.core.network.network_from_edges`, which projects the nodes
    to ``crs``, measures the segments and (``keep="largest"``) keeps the largest
    connected component.

    Parameters
    ----------
    polygon_wgs84 : Polygon or MultiPolygon
        Area in EPSG:4326; nodes outside it are dropped (buffer it by the
        longest walk of interest).
    crs : str
        Projected CRS (metres) of the network.
    keep : {"largest", "all"}

    Returns
    -------
    WalkNetwork
    """
    ox = _osmnx()
    insufficient, status_error = _osmnx_errors()
    try:
        graph = ox.graph_from_polygon(polygon_wgs84, network_type="walk", simplify=False,
                                      retain_all=True, truncate_by_edge=False)
    except insufficient as exc:
        raise InputError(f"OpenStreetMap has no walkable ways in the study area ({exc}); "
                         f"check the area or the place name") from exc
    except (status_error, requests.RequestException) as exc:
        raise _download_error("the walking network", exc) from exc
    node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    lon = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=float)
    lat = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=float)
    pairs = {(u, v) if u < v else (v, u) for u, v in graph.edges(keys=False) if u != v}
    if not pairs:
        raise InputError("OpenStreetMap has no walkable ways in the study area; "
                         "check the area or the place name")
    edges = np.array(sorted(pairs), dtype=np.int64)
    log.info("overpass: walking graph with %d nodes and %d segments", len(node_ids), len(edges))
    return network_from_edges(node_ids, lon, lat, edges[:, 0], edges[:, 1], crs, keep=keep)


def polygon_for_place(name: str) -> shapely.Geometry:
    """The boundary polygon of a named place, from Nominatim (EPSG:4326).

    Raises
    ------
    InputError
        When Nominatim knows no place of that name, or only as a point.
    """
    ox = _osmnx()
    insufficient, status_error = _osmnx_errors()
    try:
        gdf = ox.geocode_to_gdf(name)
    except insufficient as exc:
        raise InputError(f"Nominatim found no place called {name!r}; check the spelling, add "
                         f"the county or country (e.g. 'Newport, Isle of Wight'), or give "
                         f"--areas") from exc
    except TypeError as exc:  # osmnx: the result is not a (multi)polygon
        raise InputError(f"Nominatim knows {name!r} only as a point, not an area; give a "
                         f"larger place or --areas") from exc
    except (status_error, requests.RequestException) as exc:
        raise _download_error(f"the boundary of {name!r}", exc,
                              hint="check the connection or give --areas",
                              url=ox.settings.nominatim_url) from exc
    geom = gdf.geometry.iloc[0]
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(f"Nominatim knows {name!r} only as a {geom.geom_type}, not an area; "
                         f"give a larger place or --areas")
    return geom


# --------------------------------------------------------------------------- helpers


def _features(polygon: shapely.Geometry, tags: dict[str, Any], what: str) -> gpd.GeoDataFrame:
    """``osmnx.features_from_polygon``; an empty frame when nothing matches."""
    ox = _osmnx()
    insufficient, status_error = _osmnx_errors()
    try:
        return ox.features_from_polygon(polygon, tags)
    except insufficient:
        log.info("overpass: no %s in the area", what)
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    except (status_error, requests.RequestException) as exc:
        raise _download_error(what, exc) from exc


def _records(features: gpd.GeoDataFrame,
             ) -> Iterator[tuple[str, int, dict[str, str], shapely.Geometry]]:
    """(osm_type, osm_id, tags, geometry) for each row of an osmnx features frame."""
    if features.empty:
        return
    cols = [c for c in features.columns if c not in _NOT_TAGS]
    geoms = features.geometry.to_numpy()
    values = features[cols].to_numpy(dtype=object)
    for (element, osm_id), row, geom in zip(features.index, values, geoms, strict=True):
        tags = {k: v for k, v in zip(cols, row, strict=True) if isinstance(v, str)}
        yield element, int(osm_id), tags, _way_geometry(element, tags, geom)


def _way_geometry(osm_type: str, tags: Mapping[str, str],
                  geom: shapely.Geometry) -> shapely.Geometry:
    """Geometry as the PBF path builds it.

    Closed ways of 4+ nodes are polygons unless tagged ``area=no`` (libosmium's
    rule; osmnx keeps some as lines, depending on their tags), and single-part
    multipolygons are polygons.
    """
    if osm_type == "way" and geom.geom_type == "LineString" and geom.is_closed \
            and len(geom.coords) >= 4 and tags.get("area") != "no":
        return shapely.make_valid(shapely.Polygon(geom.coords))
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1:
        return geom.geoms[0]
    return geom


def _area_table(rows: list[tuple[str, int, dict[str, str], shapely.Geometry]],
                columns: Mapping[str, Any], dtypes: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """osm_type, osm_id, extra ``columns`` (tags -> value) and polygonal geometry, sorted."""
    rows = [r for r in rows if r[3].geom_type in ("Polygon", "MultiPolygon")]
    rank = {"node": 0, "way": 1, "relation": 2}
    rows.sort(key=lambda r: (rank[r[0]], r[1]))
    data: dict[str, pd.Series] = {
        "osm_type": pd.Series([r[0] for r in rows], dtype=object),
        "osm_id": pd.Series([r[1] for r in rows], dtype=np.int64),
    }
    for name, get in columns.items():
        data[name] = pd.Series([get(r[2]) for r in rows], dtype=dtypes[name])
    return gpd.GeoDataFrame(pd.DataFrame(data),
                            geometry=gpd.GeoSeries([r[3] for r in rows], crs="EPSG:4326"),
                            crs="EPSG:4326")


def _download_error(what: str, exc: BaseException, hint: str = _OFFLINE_HINT,
                    url: str | None = None) -> DownloadError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    url = url or settings_of_osmnx().overpass_url
    return DownloadError(f"could not download {what} from {url} "
                         f"({first[:200]}); {hint}")
