"""Building footprints and residential land use of an OSM extract, read by GDAL in C++.

Tens of thousands of buildings are most of an extract's polygons. Handing each to
Python (as :mod:`geo.pbf`'s libosmium pass does for amenities) costs more than
reading the whole file, so they are read by GDAL's OSM driver through pyogrio
with Arrow, which builds every polygon in C++ and releases the GIL: the read runs
on a second core beside the libosmium pass (see :func:`geo.pbf.read_pbf`).

The selection is libosmium's: closed ways tagged ``building=*`` (except ``no``) or
``landuse=residential`` and multipolygon / boundary relations with those tags
(``data/osm_polygons.ini`` is GDAL's configuration for it). Ways that are not
closed cannot be polygons; they are counted, never dropped silently
(``building_not_closed``, ``residential_not_closed``), as are relations whose
polygon GDAL could not build (``building_polygon``, ``residential_polygon``:
:func:`missing_relations` against the relation ids the libosmium pass saw).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.taxonomy import parse_number
from socialrisk.core.data import embedded_file
from socialrisk.core.errors import InputError

log = logging.getLogger(__name__)

#: GDAL's OSM driver configuration (an osmconf.ini) shipped in ``data/``
OSM_POLYGONS_CONF = "osm_polygons.ini"
BUILDING_COLUMNS: tuple[str, ...] = ("osm_type", "osm_id", "building", "levels", "geometry")
RESIDENTIAL_COLUMNS: tuple[str, ...] = ("osm_type", "osm_id", "geometry")
_BUILDING = "(building IS NOT NULL AND building <> 'no')"
_RESIDENTIAL = "(landuse = 'residential')"
_XML_PROLOGUE = re.compile(rb"\s*(<\?xml[^>]*\?>|<!--.*?-->)", re.S)


def _where(buildings: bool, residential: bool) -> str:
    return " OR ".join(w for w, on in ((_BUILDING, buildings), (_RESIDENTIAL, residential)) if on)


def looks_like_osm(path: Path) -> bool:
    """Whether the file starts like an OSM PBF (an ``OSMHeader`` blob) or OSM XML.

    GDAL opens any format it knows (GeoPackage, VRT, ...) by content, not by name:
    only a file that starts as OSM data is handed to it.
    """
    with path.open("rb") as fh:
        head = fh.read(65536)
    if len(head) > 16 and b"OSMHeader" in head[4:20]:
        return True
    # XML: the root element, after the declaration, comments and white space, is <osm>
    text = _XML_PROLOGUE.sub(b"", head.removeprefix(b"\xef\xbb\xbf")).lstrip()
    return text.startswith(b"<osm") and text[4:5] in (b" ", b"\t", b"\r", b"\n", b">")


def _read(path: Path, layer: str, where: str, columns: list[str],
          geometry: bool) -> pd.DataFrame:
    if not looks_like_osm(path):
        raise InputError(f"{path} does not start like an .osm.pbf or .osm XML file, so its "
                         f"buildings cannot be read; give an .osm.pbf extract, e.g. from "
                         f"download.geofabrik.de")
    try:
        return pyogrio.read_dataframe(
            str(path), layer=layer, columns=columns, where=where, read_geometry=geometry,
            use_arrow=True, CONFIG_FILE=str(embedded_file(OSM_POLYGONS_CONF)))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, RuntimeError) as exc:
        msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputError(f"{path} could not be read for buildings by GDAL's OSM driver "
                         f"({msg}); give an .osm.pbf (or .osm XML) extract, e.g. from "
                         f"download.geofabrik.de") from exc


def _empty(columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns if c != "geometry"})
    frame["osm_id"] = frame["osm_id"].astype(np.int64)
    if "levels" in frame:
        frame["levels"] = frame["levels"].astype(np.float64)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _typed(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``osm_type`` and ``osm_id`` of GDAL's multipolygons (ways carry ``osm_way_id``)."""
    way = df["osm_way_id"].notna().to_numpy()
    # GDAL gives the ids as text; an id is below 2**53, exact as a float
    ids = np.where(way, pd.to_numeric(df["osm_way_id"]), pd.to_numeric(df["osm_id"]))
    ids = np.nan_to_num(ids, nan=0).astype(np.int64)
    return np.where(way, "way", "relation").astype(object), ids


def single_parts(geoms: np.ndarray) -> np.ndarray:
    """Single-part multi-geometries become their one part (Polygon, not MultiPolygon)."""
    geoms = np.asarray(geoms, dtype=object)
    single = shapely.get_num_geometries(geoms) == 1
    if single.any():
        geoms[single] = shapely.get_geometry(geoms[single], 0)
    return geoms


def _sorted(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    rank = gdf["osm_type"].map({"node": 0, "way": 1, "relation": 2}).to_numpy()
    order = np.lexsort((gdf["osm_id"].to_numpy(), rank))
    return gdf.iloc[order].reset_index(drop=True)


def polygons_from_osm(path: str | Path, buildings: bool = True, residential: bool = True,
                      ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, int]]:
    """Buildings and ``landuse=residential`` polygons of an OSM extract.

    Parameters
    ----------
    path : str or Path
        An ``.osm.pbf`` or ``.osm`` XML extract (already checked to be readable).
    buildings, residential : bool
        Which of the two to read (the other comes back empty).

    Returns
    -------
    buildings : GeoDataFrame
        ``osm_type``, ``osm_id``, ``building``, ``levels`` (float, NaN when absent or not
        a number), ``geometry`` (Polygon / MultiPolygon, EPSG:4326), sorted by type and id.
    residential : GeoDataFrame
        ``osm_type``, ``osm_id``, ``geometry``.
    skipped : dict of str to int
        Ways left out because they are not closed, by reason (relations whose polygon
        could not be built are counted by :func:`missing_relations`).
    """
    p = Path(path)
    skipped: dict[str, int] = {}
    bld, res = _empty(BUILDING_COLUMNS), _empty(RESIDENTIAL_COLUMNS)
    if not (buildings or residential):
        return bld, res, skipped
    where = _where(buildings, residential)
    mp = _read(p, "multipolygons", where,
               ["osm_id", "osm_way_id", "building", "building_levels", "landuse"], True)
    lines = _read(p, "lines", where, ["osm_id", "building", "landuse"], False)
    osm_type, osm_id = _typed(mp)
    geoms = single_parts(mp.geometry.to_numpy())
    built = mp["building"].notna().to_numpy() & (mp["building"] != "no").to_numpy()
    resid = (mp["landuse"] == "residential").to_numpy()
    open_bld = lines["building"].notna() & (lines["building"] != "no")
    open_res = lines["landuse"] == "residential"
    if buildings:
        bld = _sorted(gpd.GeoDataFrame({
            "osm_type": osm_type[built], "osm_id": osm_id[built],
            "building": mp["building"].to_numpy()[built].astype(object),
            "levels": np.array([parse_number(v) for v in mp["building_levels"].to_numpy()[built]],
                               dtype=np.float64),
        }, geometry=geoms[built], crs="EPSG:4326"))
        _count(skipped, "building_not_closed", int(open_bld.sum()))
    if residential:
        res = _sorted(gpd.GeoDataFrame({"osm_type": osm_type[resid], "osm_id": osm_id[resid]},
                                       geometry=geoms[resid], crs="EPSG:4326"))
        _count(skipped, "residential_not_closed", int(open_res.sum()))
    return bld, res, skipped


def missing_relations(expected: Collection[int], got: gpd.GeoDataFrame) -> int:
    """How many of the ``expected`` relation ids have no polygon in ``got``."""
    if not expected:
        return 0
    seen = set(got.loc[got["osm_type"] == "relation", "osm_id"].tolist())
    return len(set(expected) - seen)


def _count(skipped: dict[str, int], reason: str, n: int) -> None:
    if n:
        skipped[reason] = skipped.get(reason, 0) + n
