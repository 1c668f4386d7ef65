"""Where a run's areas and OpenStreetMap data come from: files, the embedded sample, or online.

:func:`resolve_sources` turns the settings into

* the areas: a file to read with :func:`geo.areas.read_areas` (a
  file the user gave, the embedded Isle of Wight, or LSOAs downloaded from the
  ONS and written to the cache as GeoJSON), and
* the OSM data: an extract to read with :func:`~geo.pbf.read_pbf`,
  or a callable giving the same tables (:class:`~geo.pbf.PbfData`)
  from Overpass (:func:`~geo.online.osm_from_polygon`) once the
  projected CRS and the areas are known.

The rules:

========================  =====================================  ===============================
flags                     areas                                  OSM
========================  =====================================  ===============================
(none)                    embedded Isle of Wight                 embedded Isle of Wight extract
``--areas``               the file                               ``--osm`` or the embedded extract
``--lad``                 ``--areas``, else the LSOAs of the LAD ``--osm``, else Overpass over the
                                                                 union of the areas
``--place``               ``--areas``, else ``--lad``, else the  ``--osm``, else Overpass over the
                          LSOAs within the place                 place
========================  =====================================  ===============================

Every download is recorded in ``manifest["downloads"]`` (what, URL, cache path, date).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

from geo.boundaries import BOUNDARIES_URL, LOOKUP_URL, lsoas_for_lad
from geo.download import default_cache_dir
from geo.online import lsoas_for_polygon, osm_from_polygon
from geo.overpass import configure_osmnx, polygon_for_place, settings_of_osmnx
from geo.pbf import PbfData
from socialrisk.core.data import EMBEDDED_AREA_ID, EMBEDDED_AREAS, EMBEDDED_OSM, embedded_file
from socialrisk.core.errors import DownloadError, InputError
from socialrisk.settings import Settings

log = logging.getLogger(__name__)

#: ``(taxonomy, projected crs, areas in that crs) -> PbfData`` (downloads and records)
OsmLoader = Callable[[Mapping, str, gpd.GeoDataFrame], PbfData]


@dataclass
class Sources:
    """What :func:`resolve_sources` decided.

    Attributes
    ----------
    areas : Path
        Polygon layer to read (downloaded areas are written to the cache first).
    area_id : str
        Its id column (empty: detect).
    osm : Path or callable
        An extract to read, or ``osm(taxonomy, crs, areas) -> PbfData``, which
        downloads and records its input in the manifest.
    """

    areas: Path
    area_id: str
    osm: Path | OsmLoader


def resolve_sources(s: Settings, manifest: dict) -> Sources:
    """Decide (and, online, download) the areas; return them with the OSM loader.

    Parameters
    ----------
    s : Settings
    manifest : dict
        The run's manifest; ``downloads`` and ``inputs["osm"]`` are filled here.

    Raises
    ------
    DownloadError
        One line: what could not be downloaded and which files/flags to use instead.
    InputError
        Unknown district code, place or no LSOAs in the place.
    """

    # the embedded Isle of Wight default is used only when no input is given at all:
    # never pair a user's areas with the island's OSM data, or the other way round
    if s.areas and not (s.osm or s.lad or s.place):
        raise InputError("--areas needs OpenStreetMap data for the same place: add "
                         "--osm FILE.osm.pbf, or --place NAME to download it")
    if s.osm and not (s.areas or s.lad or s.place):
        raise InputError("--osm needs the areas of the same place: add --areas FILE "
                         "--area-id COLUMN, or --lad CODE to download English LSOAs")
    cache = Path(s.cache_dir) if s.cache_dir else default_cache_dir()
    downloads: list[dict] = manifest.setdefault("downloads", [])
    place_polygon = None
    if s.place and (not s.osm or not (s.areas or s.lad)):
        place_polygon = _place_polygon(s, cache, downloads)

    if s.areas:
        areas, area_id = Path(s.areas), s.area_id
    elif s.lad:
        areas, area_id = _lad_areas(s, cache, downloads), "area_id"
    elif place_polygon is not None:
        areas, area_id = _place_areas(s, place_polygon, cache, downloads), "area_id"
    else:
        areas, area_id = embedded_file(EMBEDDED_AREAS), s.area_id or EMBEDDED_AREA_ID

    if s.osm:
        return Sources(areas, area_id, Path(s.osm))
    if s.lad or s.place:
        return Sources(areas, area_id, _overpass_loader(place_polygon, s, cache, manifest))
    return Sources(areas, area_id, embedded_file(EMBEDDED_OSM))


# ---------------------------------------------------------------- areas


def _lad_areas(s: Settings, cache: Path, downloads: list[dict]) -> Path:

    pages: list[dict] = []
    try:
        gdf = lsoas_for_lad(s.lad, cache, boundaries_url=s.ons_boundaries_url or BOUNDARIES_URL,
                            lookup_url=s.ons_lookup_url or LOOKUP_URL, record=pages)
    except DownloadError as exc:
        raise DownloadError(f"{exc}, with an OpenStreetMap extract as --osm FILE.osm.pbf, "
                            f"instead of --lad") from exc
    downloads += [{"what": f"LSOA 2021 lookup and boundaries of {s.lad} (ONS)", **p}
                  for p in pages]
    return _write_areas(gdf, cache, f"lad_{s.lad.strip().upper()}")


def _place_areas(s: Settings, polygon: shapely.Geometry, cache: Path,
                 downloads: list[dict]) -> Path:
    pages: list[dict] = []
    try:
        gdf = lsoas_for_polygon(polygon, cache, boundaries_url=s.ons_boundaries_url
                                or BOUNDARIES_URL, record=pages)
    except DownloadError as exc:
        raise DownloadError(f"{exc}, with an OpenStreetMap extract as --osm FILE.osm.pbf, "
                            f"instead of --place") from exc
    downloads += [{"what": f"LSOA 2021 boundaries within {s.place!r} (ONS)", **p}
                  for p in pages]
    return _write_areas(gdf, cache, f"place_{_slug(s.place)}")


def _write_areas(gdf: gpd.GeoDataFrame, cache: Path, name: str) -> Path:
    """Write downloaded areas to ``cache/areas/<name>.geojson`` (atomically); the path."""
    target = cache / "areas" / f"{name}.geojson"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-", suffix=".geojson")
    os.close(fd)
    try:
        gdf.to_file(tmp, driver="GeoJSON")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("areas: %d downloaded areas written to %s", len(gdf), target)
    return target


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "place"


# ---------------------------------------------------------------- OSM


def _configure(s: Settings, cache: Path) -> None:
    configure_osmnx(cache, overpass_url=s.overpass_url or None,
                    nominatim_url=s.nominatim_url or None)


def _place_polygon(s: Settings, cache: Path, downloads: list[dict]) -> shapely.Geometry:
    ox = settings_of_osmnx()
    _configure(s, cache)
    try:
        polygon = polygon_for_place(s.place)
    except DownloadError as exc:
        raise DownloadError(f"{exc} (to work offline: --areas FILE --osm FILE.osm.pbf instead "
                            f"of --place)") from exc
    downloads.append({"what": f"boundary of {s.place!r} (Nominatim)",
                      "url": ox.nominatim_url, "cache": ox.cache_folder,
                      "downloaded": _today(), "bounds": [round(b, 6) for b in polygon.bounds]})
    return polygon


def _overpass_loader(place_polygon: shapely.Geometry | None, s: Settings, cache: Path,
                     manifest: dict) -> OsmLoader:
    def load(taxonomy: Mapping, crs: str, areas: gpd.GeoDataFrame):
        ox = settings_of_osmnx()
        if place_polygon is not None:
            polygon, over = place_polygon, f"the place {s.place!r}"
        else:
            polygon = shapely.union_all(areas.to_crs("EPSG:4326").geometry.to_numpy())
            over = "the union of the areas"
        _configure(s, cache)
        data = osm_from_polygon(polygon, taxonomy, crs, keep=s.network_keep,
                                buffer_m=s.osm_buffer_m)
        record = {"what": f"OpenStreetMap data (Overpass API) over {over} buffered by "
                          f"{s.osm_buffer_m:g} m",
                  "url": ox.overpass_url, "cache": ox.cache_folder,
                  "downloaded": _today(),
                  "bounds": [round(b, 6) for b in polygon.bounds]}
        manifest.setdefault("downloads", []).append(record)
        manifest["inputs"]["osm"] = {"overpass": record["url"], "buffer_m": s.osm_buffer_m,
                                     "seconds": round(data.seconds, 3)}
        return data

    return load


def _today() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
