"""Study areas and OpenStreetMap data for a polygon, downloaded when no files are given.

Two pieces used by ``socialrisk run --lad`` / ``--place``:

* :func:`osm_from_polygon` gives the same :class:`~geo.pbf.PbfData`
  as reading an extract, from the Overpass API (through
  :mod:`geo.overpass`), for the study polygon buffered by
  ``buffer_m``: amenities just outside the areas are the nearest ones for the
  people living at the edge, and walks may leave the areas on the way.
* :func:`lsoas_for_polygon` gives the LSOA (2021) boundaries of England and
  Wales whose representative point lies inside a polygon, from the ONS
  boundaries service (an envelope-intersects ArcGIS query, paged and cached by
  :func:`geo.boundaries.arcgis_query`).

Call :func:`geo.overpass.configure_osmnx` before
:func:`osm_from_polygon` (cache folder and servers).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import shapely

from geo.boundaries import (
    BOUNDARIES_URL,
    CODE_FIELD,
    NAME_FIELD,
    PAGE_SIZE,
    arcgis_query,
)
from geo.download import default_cache_dir
from geo.overpass import (
    amenities_from_polygon,
    buildings_from_polygon,
    network_from_polygon,
    residential_landuse_from_polygon,
)
from geo.pbf import PbfData
from geo.taxonomy import Category
from socialrisk.core.errors import InputError

log = logging.getLogger(__name__)

#: Default buffer (metres) around the study polygon for the OSM download.
OSM_BUFFER_M = 2000.0
#: Envelope coordinates are rounded outwards to this many decimals (about 1 m),
#: so the same polygon always gives the same query URL (and cache entry).
_ENVELOPE_DECIMALS = 5


def buffer_polygon(polygon_wgs84: shapely.Geometry, crs: str,
                   buffer_m: float) -> shapely.Geometry:
    """``polygon_wgs84`` buffered by ``buffer_m`` metres in the projected ``crs``, in EPSG:4326."""
    projected = gpd.GeoSeries([polygon_wgs84], crs="EPSG:4326").to_crs(crs)
    grown = projected.buffer(buffer_m) if buffer_m > 0 else projected
    return grown.to_crs("EPSG:4326").iloc[0]


def osm_from_polygon(
    polygon_wgs84: shapely.Geometry,
    taxonomy: Mapping[str, Category],
    crs: str,
    keep: str = "largest",
    buffer_m: float = OSM_BUFFER_M,
) -> PbfData:
    """Amenities, walking network, buildings and residential land use from Overpass.

    Parameters
    ----------
    polygon_wgs84 : Polygon or MultiPolygon
        The study area in EPSG:4326.
    taxonomy : dict of str to Category
        From :func:`geo.taxonomy.load_taxonomy`.
    crs : str
        Projected CRS (metres): the buffer is applied in it and the network is
        built in it.
    keep : {"largest", "all"}
        Network components to keep (see
        :func:`geo.overpass.network_from_polygon`).
    buffer_m : float
        Metres added around the polygon before downloading.

    Returns
    -------
    PbfData
        The tables of the PBF path; ``skipped`` is empty (osmnx builds the
        geometries and leaves out the ones it cannot build) and ``seconds`` is
        the wall time of the downloads.

    Raises
    ------
    DownloadError
        When Overpass cannot be reached or refuses a query.
    InputError
        When the area has no walkable ways.
    """
    if polygon_wgs84.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(f"the study area is a {polygon_wgs84.geom_type}, not a polygon; "
                         f"give --areas or a place with a boundary")
    t0 = time.perf_counter()
    area = buffer_polygon(polygon_wgs84, crs, buffer_m)
    log.info("overpass: downloading OSM data for the study area buffered by %.0f m", buffer_m)
    amenities = amenities_from_polygon(area, taxonomy)
    network = network_from_polygon(area, crs, keep=keep)
    buildings = buildings_from_polygon(area)
    residential = residential_landuse_from_polygon(area)
    seconds = time.perf_counter() - t0
    log.info("overpass: %d amenities, %d network nodes, %d buildings, %d residential areas "
             "in %.1f s", len(amenities), network.n_nodes, len(buildings), len(residential),
             seconds)
    return PbfData(amenities=amenities, network=network, buildings=buildings,
                   residential=residential, skipped={}, seconds=seconds)


def lsoas_for_polygon(
    polygon: shapely.Geometry,
    cache_dir: str | Path | None = None,
    *,
    boundaries_url: str = BOUNDARIES_URL,
    page_size: int = PAGE_SIZE,
    retries: int = 3,
    backoff: float = 1.0,
    record: list[dict] | None = None,
) -> gpd.GeoDataFrame:
    """LSOA (2021) boundaries whose representative point lies within a polygon.

    The ONS boundaries layer is asked for every LSOA intersecting the polygon's
    envelope (``geometryType=esriGeometryEnvelope``, ``inSR=4326``); the LSOAs
    whose :meth:`~shapely.Geometry.representative_point` lies inside the polygon
    are kept, so an LSOA only touching the edge is left out.

    Parameters
    ----------
    polygon : Polygon or MultiPolygon
        EPSG:4326 (e.g. from :func:`geo.overpass.polygon_for_place`).
    cache_dir : path, optional
        Cache root (default: the platform cache dir).
    boundaries_url : str
        ArcGIS ``.../FeatureServer/0/query`` endpoint of the LSOA 2021 boundaries
        (default :data:`geo.boundaries.BOUNDARIES_URL`).
    page_size, retries, backoff, record
        As for :func:`geo.boundaries.arcgis_query`.

    Returns
    -------
    GeoDataFrame
        Columns ``area_id`` (LSOA21CD), ``area_name`` (LSOA21NM), ``geometry``;
        EPSG:4326, sorted by ``area_id``.

    Raises
    ------
    InputError
        When no LSOA lies within the polygon (e.g. a place outside England and Wales).
    DownloadError
        When a page cannot be downloaded or is not valid.
    """
    if polygon.is_empty or polygon.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError("the place has no area to find LSOAs in; give --areas or --lad")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    scale = 10 ** _ENVELOPE_DECIMALS
    x0, y0, x1, y1 = polygon.bounds
    envelope = {"xmin": math.floor(x0 * scale) / scale, "ymin": math.floor(y0 * scale) / scale,
                "xmax": math.ceil(x1 * scale) / scale, "ymax": math.ceil(y1 * scale) / scale,
                "spatialReference": {"wkid": 4326}}
    hint = ("download 'LSOA (Dec 2021) Boundaries EW BGC' from "
            "https://geoportal.statistics.gov.uk/ by hand and pass it with --areas")
    features = arcgis_query(boundaries_url, {
        "where": "1=1",
        "geometry": json.dumps(envelope, separators=(",", ":")),
        "geometryType": "esriGeometryEnvelope",
        "inSR": "4326",
        "spatialRel": "esriSpatialRelIntersects",
        "outFields": f"{CODE_FIELD},{NAME_FIELD}",
        "outSR": "4326",
        "orderByFields": CODE_FIELD,
        "f": "geojson",
    }, cache, page_size=page_size, retries=retries, backoff=backoff, hint=hint, record=record)
    if not features:
        raise InputError(f"the ONS boundaries service {boundaries_url} has no LSOAs in the "
                         f"place's extent; LSOAs cover England and Wales only: give --areas")
    gdf = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    gdf = gdf.rename(columns={CODE_FIELD: "area_id", NAME_FIELD: "area_name"})
    points = gdf.geometry.representative_point()
    inside = shapely.within(points.to_numpy(), polygon)
    gdf = gdf[inside].drop_duplicates("area_id").sort_values("area_id").reset_index(drop=True)
    if gdf.empty:
        raise InputError("no LSOA lies within the place (it may be smaller than one LSOA or "
                         "outside England and Wales); give a larger place, --lad or --areas")
    log.info("boundaries: %d LSOAs within the place (%d in its extent)",
             len(gdf), len(features))
    return gdf[["area_id", "area_name", "geometry"]]
