"""Read the study areas: any polygon layer with one row and one unique code per area.

:func:`read_areas` accepts GeoPackage, GeoJSON, Shapefile (also zipped) and
GeoParquet files, finds (or is told) the area-code column, repairs invalid
polygons, drops non-polygon rows and refuses what cannot be used (no rows, no
CRS, null or duplicate codes) with a one-line :class:`InputError` naming the
file, the problem and the fix. What was changed is recorded in an
:class:`AreasReport` for the run manifest.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from socialrisk.core.errors import InputError, clipped, shown
from socialrisk.core.files import special_file

log = logging.getLogger(__name__)

#: Column names recognised as an area code, in order of preference (case-insensitive).
ID_CANDIDATES: tuple[str, ...] = (
    "area_id", "LSOA21CD", "LSOA11CD", "lsoa21_code", "lsoa11_code", "lsoa_code",
    "MSOA21CD", "MSOA11CD", "msoa21_code", "msoa11_code", "DataZone", "DZ2011_Code",
    "code", "geo_code", "id",
)

#: Great Britain (with its islands) in WGS84: (min lon, min lat, max lon, max lat).
GB_BOUNDS: tuple[float, float, float, float] = (-8.75, 49.8, 1.9, 60.95)

#: British National Grid, used for areas within :data:`GB_BOUNDS`.
BNG = "EPSG:27700"

_ONS_CODE_COLUMN = re.compile(r"^[a-z]{2,6}\d{2}cd$", re.IGNORECASE)
_POLYGONAL = {"Polygon", "MultiPolygon"}
_SUPPORTED = ".gpkg, .geojson/.json, .shp, .zip (zipped Shapefile), .parquet/.geoparquet"


@dataclass
class AreasReport:
    """What :func:`read_areas` read, changed and assumed (for the manifest).

    Attributes
    ----------
    path, layer : str
        The file read and the layer used ("" for single-layer formats).
    id_column : str
        The column the area codes came from.
    id_detected : bool
        True when ``id_column`` was detected rather than given.
    n_read, n_kept : int
        Rows in the file, and polygon rows kept.
    repaired : int
        Invalid geometries repaired with ``shapely.make_valid``.
    dropped_non_polygon : int
        Rows dropped because their geometry was a point or a line.
    dropped_empty : int
        Rows dropped because their geometry was missing or empty.
    crs_in : str
        The file's CRS (``""`` when it had none).
    assumed_crs : bool
        True when the file had no CRS and EPSG:4326 was assumed from its coordinates.
    warnings : list of str
        Warnings logged while reading, in order.
    """

    path: str
    layer: str = ""
    id_column: str = ""
    id_detected: bool = False
    n_read: int = 0
    n_kept: int = 0
    repaired: int = 0
    dropped_non_polygon: int = 0
    dropped_empty: int = 0
    crs_in: str = ""
    assumed_crs: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the report, for the manifest."""
        return dataclasses.asdict(self)

    def warn(self, message: str) -> None:
        """Log ``message`` as a warning and keep it in :attr:`warnings`."""
        log.warning(message)
        self.warnings.append(message)


def read_areas(
    path: str | Path, id_column: str = "", layer: str | None = None
) -> tuple[gpd.GeoDataFrame, AreasReport]:
    """Read a polygon layer of study areas.

    Parameters
    ----------
    path : path
        GeoPackage, GeoJSON, Shapefile, zipped Shapefile or GeoParquet file.
    id_column : str
        Column holding the area codes; empty to detect a single obvious code
        column (see :data:`ID_CANDIDATES`; also ONS-style ``XXXX21CD`` names).
    layer : str, optional
        Layer to read from a multi-layer file (GeoPackage). When omitted and the
        file has several layers, the only polygon layer is used.

    Returns
    -------
    areas : GeoDataFrame
        Columns ``area_id`` (str), ``geometry`` (Polygon/MultiPolygon, 2D), then
        the file's other columns; in the file's CRS (or EPSG:4326 when assumed).
    report : AreasReport

    Raises
    ------
    InputError
        Missing or unreadable file, no rows, no CRS (with projected coordinates),
        unknown or ambiguous id column, null or duplicate codes, no polygons.
    """
    p = Path(path)
    report = AreasReport(path=str(p))
    gdf, report.layer = _read_any(p, layer)
    report.n_read = len(gdf)
    if gdf.empty:
        raise InputError(f"areas file {p} has no rows; give a file with one polygon per area")
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise InputError(f"areas file {p} has no geometry column; give a polygon layer")

    # id column first: a wrong column name is the most common mistake
    col, report.id_detected = _pick_id_column(p, gdf, id_column)
    report.id_column = col

    _check_coordinates(p, gdf, col)
    _set_crs(p, gdf, report)

    gdf = _clean_geometries(p, gdf, report)
    ids = _check_ids(p, gdf[col])

    geom_name = gdf.geometry.name
    others = [c for c in gdf.columns if c != geom_name]
    rest = gdf[others].copy()
    if "area_id" in rest.columns and col != "area_id":
        rest = rest.rename(columns={"area_id": "area_id_original"})
    if col == "area_id":
        rest = rest.drop(columns="area_id")
    out = gpd.GeoDataFrame(
        {"area_id": ids.to_numpy()}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
        index=pd.RangeIndex(len(gdf)),
    )
    if geom_name != "geometry":
        out = out.rename_geometry("geometry")
    rest = rest.reset_index(drop=True)
    out = pd.concat([out, rest], axis=1)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=gdf.crs)
    report.n_kept = len(out)
    log.info("areas: %d of %d rows kept from %s (id column %s)",
             report.n_kept, report.n_read, p, col)
    return out, report


def _read_any(p: Path, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    """Read ``p`` with geopandas/pyogrio; returns the frame and the layer name used."""

    problem = special_file(p)
    if problem:
        raise InputError(f"areas file {shown(str(p), 200)} {problem}; give the path of a saved "
                         f"file (formats: {_SUPPORTED})")
    if not p.exists():
        raise InputError(f"areas file {p} not found; check the path (formats: {_SUPPORTED})")
    suffix = "".join(p.suffixes[-2:]).lower() if p.suffix.lower() == ".zip" else p.suffix.lower()
    if suffix in (".parquet", ".geoparquet"):
        try:
            return gpd.read_parquet(p), ""
        except (ValueError, OSError) as exc:
            raise InputError(f"areas file {p} is not a readable GeoParquet file "
                             f"({_first_line(exc)}); write it with geopandas to_parquet "
                             f"or convert it with ogr2ogr") from exc
    if p.is_file() and p.stat().st_size == 0:
        raise InputError(f"areas file {p} is empty (0 bytes); export the areas again "
                         f"(formats: {_SUPPORTED})")
    source = f"zip://{p}" if p.suffix.lower() == ".zip" else str(p)
    try:
        layers = pyogrio.list_layers(source)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputError(f"areas file {p} cannot be read ({_first_line(exc)}); "
                         f"give a polygon file in one of: {_SUPPORTED}") from exc
    names = [str(n) for n in layers[:, 0]] if len(layers) else []
    if not names:
        raise InputError(f"areas file {p} has no layers; export the areas into it again "
                         f"(formats: {_SUPPORTED})")
    if layer is not None:
        if layer not in names:
            raise InputError(f"areas file {p} has no layer {shown(layer)}; its layers are: "
                             f"{_names(names)}")
        chosen = layer
    elif len(names) > 1:
        poly = [str(n) for n, t in layers if t and "polygon" in str(t).lower()]
        if len(poly) != 1:
            raise InputError(f"areas file {p} has {len(names)} layers ({_names(names)}); "
                             f"export the one to use, e.g. `ogr2ogr areas.gpkg {p.name} LAYER`")
        chosen = poly[0]
        log.info("areas: %s has %d layers; using the only polygon layer %s", p, len(names),
                 shown(chosen))
    else:
        chosen = names[0] if names else ""
    try:
        gdf = gpd.read_file(source, layer=chosen or None, engine="pyogrio")
    except Exception as exc:
        raise InputError(f"areas file {p} cannot be read ({_first_line(exc)}); "
                         f"give a polygon file in one of: {_SUPPORTED}") from exc
    return gdf, (chosen if len(names) > 1 or layer is not None else "")


def _pick_id_column(p: Path, gdf: gpd.GeoDataFrame, id_column: str) -> tuple[str, bool]:
    """The area-code column: the given one (checked) or a single obvious candidate."""
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    listing = _names(columns)
    if id_column:
        if id_column in columns:
            return id_column, False
        folded = [c for c in columns if c.lower() == id_column.lower()]
        if len(folded) == 1:
            log.info("areas: using column %s for %s (case differs)", shown(folded[0]),
                     shown(id_column))
            return folded[0], False
        raise InputError(f"areas file {p} has no column {shown(id_column)}; its columns are: "
                         f"{listing}; set area_id to one of them")
    lower = {c.lower(): c for c in columns}
    known = [lower[c.lower()] for c in ID_CANDIDATES if c.lower() in lower]
    ons = [c for c in columns if _ONS_CODE_COLUMN.match(c) and c not in known]
    found = known + ons
    if len(found) == 1:
        log.info("areas: detected the area-code column %s", shown(found[0]))
        return found[0], True
    # several candidates: a single current-census code column wins (LSOA21CD over LSOA11CD)
    if len(known) >= 1 and not ons:
        uniq = [c for c in known if gdf[c].is_unique and gdf[c].notna().all()]
        if len(uniq) == 1:
            log.info("areas: detected the area-code column %s (the only unique one of %s)",
                     shown(uniq[0]), _names(known))
            return uniq[0], True
    what = (f"several possible area-code columns ({_names(found)})" if found
            else "no obvious area-code column")
    raise InputError(f"areas file {p} has {what}; its columns are: {listing}; "
                     f"name the code column with --area-id (area_id in the config)")


def _names(names: list[str], n: int = 20) -> str:
    """Column or layer names from a file for a message: escaped, each capped, at most ``n``."""
    if not names:
        return "none"
    more = f" and {len(names) - n} more" if len(names) > n else ""
    return ", ".join(clipped(c, 40) for c in names[:n]) + more


#: British National Grid easting/northing ranges (metres), with a margin
_BNG_X = (-100_000.0, 800_000.0)
_BNG_Y = (-100_000.0, 1_400_000.0)


def _check_coordinates(p: Path, gdf: gpd.GeoDataFrame, id_col: str) -> None:
    """Refuse coordinates that are not numbers, or not degrees in a longitude/latitude CRS.

    A GeoJSON without a ``crs`` member is read as EPSG:4326 (RFC 7946), so
    British National Grid metres in it would otherwise be taken for degrees;
    a latitude of 95 is a typo. Both are refused with the CRS or the fix.
    """
    geom = gdf.geometry.to_numpy()
    present = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    if not present.any():
        return
    geom, ids = geom[present], gdf[id_col].to_numpy()[present]
    bounds = shapely.bounds(geom)
    finite = np.isfinite(bounds).all(axis=1)
    for start in range(0, len(geom), 2000):  # bounds skip NaN coordinates; look at them
        chunk = geom[start:start + 2000]
        lengths = shapely.get_num_coordinates(chunk)
        coords = shapely.get_coordinates(chunk)
        if not np.isfinite(coords).all():
            per_geom = np.repeat(np.arange(len(chunk)), lengths)
            bad_rows = np.unique(per_geom[~np.isfinite(coords).all(axis=1)])
            finite[start + bad_rows] = False
    if not finite.all():
        raise InputError(f"areas file {p}: {int((~finite).sum()):,} areas have coordinates "
                         f"that are not numbers (NaN or infinity), e.g. area "
                         f"{shown(ids[np.argmin(finite)])}; fix or drop those polygons")
    if gdf.crs is not None and not gdf.crs.is_geographic:
        x0, y0, x1, y1 = bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), \
            bounds[:, 3].max()
        if gdf.crs.is_projected and max(abs(x0), abs(x1)) <= 180 and \
                max(abs(y0), abs(y1)) <= 90:
            raise InputError(f"areas file {p} has the projected CRS {gdf.crs.name} (metres) "
                             f"but its coordinates look like longitude/latitude (x {x0:.3f}.."
                             f"{x1:.3f}, y {y0:.3f}..{y1:.3f}); set the CRS to EPSG:4326, e.g. "
                             f"`ogr2ogr -a_srs EPSG:4326 fixed.gpkg {p.name}`")
        return
    outside = (bounds[:, 0] < -180) | (bounds[:, 2] > 180) | (bounds[:, 1] < -90) \
        | (bounds[:, 3] > 90)
    if not outside.any():
        return
    x0, y0, x1, y1 = bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), \
        bounds[:, 3].max()
    geojson = p.suffix.lower() in (".geojson", ".json")
    declared = ("has no coordinate reference system" if gdf.crs is None else
                f"is read as longitude/latitude ({gdf.crs.name}"
                + ("; a GeoJSON without a \"crs\" member always is)" if geojson else ")"))
    if outside.mean() > 0.5 and max(abs(x0), abs(x1), abs(y0), abs(y1)) > 1000:
        bng = _BNG_X[0] <= x0 and x1 <= _BNG_X[1] and _BNG_Y[0] <= y0 and y1 <= _BNG_Y[1]
        guess = "British National Grid?" if bng else "a projected CRS such as UTM?"
        srs = "EPSG:27700" if bng else "EPSG:NNNN"
        raise InputError(
            f"areas file {p} {declared} but its coordinates look like metres ({guess}: x "
            f"{x0:,.0f}..{x1:,.0f}, y {y0:,.0f}..{y1:,.0f}), not longitude/latitude; set the "
            f"CRS in the file or convert it to EPSG:4326, e.g. `ogr2ogr -s_srs {srs} -t_srs "
            f"EPSG:4326 fixed.geojson {p.name}` (or `ogr2ogr -a_srs {srs} fixed.gpkg "
            f"{p.name}`)")
    first = int(np.argmax(outside))
    b = bounds[first]
    where = (f"latitude {b[3]:g}" if b[3] > 90 else f"latitude {b[1]:g}" if b[1] < -90
             else f"longitude {b[2]:g}" if b[2] > 180 else f"longitude {b[0]:g}")
    raise InputError(
        f"areas file {p}: {int(outside.sum()):,} areas have coordinates outside longitude "
        f"-180..180 / latitude -90..90 (e.g. area {shown(ids[first])} reaches {where}); fix "
        f"those coordinates, or set the file's CRS if it is not longitude/latitude")


def _set_crs(p: Path, gdf: gpd.GeoDataFrame, report: AreasReport) -> None:
    """Record the CRS; assume EPSG:4326 for lon/lat-looking coordinates, else refuse."""
    if gdf.crs is not None:
        report.crs_in = gdf.crs.to_string()
        try:
            pyproj.Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True)
        except pyproj.exceptions.ProjError as exc:
            raise InputError(f"areas file {p} has a coordinate reference system that cannot be "
                             f"converted to longitude/latitude ({gdf.crs.name}); reproject it "
                             f"to a known one, e.g. `ogr2ogr -t_srs EPSG:27700 fixed.gpkg "
                             f"{p.name}`, or assign the right one with -a_srs") from exc
        return
    bounds = gdf.total_bounds
    if np.all(np.isfinite(bounds)) and bounds[0] >= -180 and bounds[2] <= 180 \
            and bounds[1] >= -90 and bounds[3] <= 90:
        gdf.set_crs("EPSG:4326", inplace=True)
        report.assumed_crs = True
        report.warn(f"areas file {p} has no CRS; its coordinates look like longitude/latitude, "
                    f"so EPSG:4326 is assumed (set the CRS in the file to be sure)")
        return
    raise InputError(f"areas file {p} has no coordinate reference system and its coordinates "
                     f"are not longitude/latitude; set it, e.g. "
                     f"`ogr2ogr -a_srs EPSG:27700 fixed.gpkg {p.name}`")


def _clean_geometries(p: Path, gdf: gpd.GeoDataFrame, report: AreasReport) -> gpd.GeoDataFrame:
    """Drop empty and non-polygon rows, repair invalid polygons, flatten to 2D."""
    geom = gdf.geometry.to_numpy()
    empty = shapely.is_missing(geom) | shapely.is_empty(geom)
    report.dropped_empty = int(empty.sum())
    if report.dropped_empty:
        report.warn(f"areas file {p}: {report.dropped_empty} rows without geometry dropped")
    gdf = gdf.loc[~empty]
    geom = shapely.force_2d(gdf.geometry.to_numpy())

    invalid = ~shapely.is_valid(geom)
    report.repaired = int(invalid.sum())
    if report.repaired:
        geom = geom.copy()
        geom[invalid] = shapely.make_valid(geom[invalid])
        report.warn(f"areas file {p}: {report.repaired} invalid polygons repaired with "
                    f"make_valid (check them if the result looks odd)")
    geom = np.array([_polygonal_part(g) for g in geom], dtype=object)
    keep = ~shapely.is_missing(geom)
    report.dropped_non_polygon = int((~keep).sum())
    if not keep.any():
        types = ", ".join(sorted(set(gdf.geom_type.dropna()))) or "none"
        raise InputError(f"areas file {p} has no polygons (geometry types: {types}); "
                         f"give a polygon layer of areas")
    if report.dropped_non_polygon:
        report.warn(f"areas file {p}: {report.dropped_non_polygon} point or line rows dropped "
                    f"(areas must be polygons)")
    gdf = gdf.loc[keep].copy()
    gdf[gdf.geometry.name] = gpd.GeoSeries(geom[keep], index=gdf.index, crs=gdf.crs)
    return gdf


def _polygonal_part(g: shapely.Geometry) -> shapely.Geometry | None:
    """The polygonal part of ``g`` (Polygon or MultiPolygon), or None when it has none."""
    kind = g.geom_type
    if kind in _POLYGONAL:
        return g
    if kind == "GeometryCollection":
        polys = [part for part in shapely.get_parts(g) if part.geom_type in _POLYGONAL]
        parts = []
        for part in polys:
            parts.extend(shapely.get_parts(part))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    return None


def _check_ids(p: Path, raw: pd.Series) -> pd.Series:
    """Area codes as stripped strings; refuse nulls and duplicates."""
    ids = raw.astype("string").str.strip()
    null = ids.isna() | (ids == "")
    if null.any():
        raise InputError(f"areas file {p}: {int(null.sum())} of {len(ids)} rows have no code in "
                         f"column {shown(raw.name)}; fill them or drop those rows")
    dup = ids.duplicated(keep=False)
    if dup.any():
        examples = ", ".join(clipped(c, 40) for c in pd.unique(ids[dup])[:5])
        raise InputError(f"areas file {p}: {int(ids[dup].nunique())} codes in column "
                         f"{shown(raw.name)} "
                         f"appear more than once ({int(dup.sum())} rows, e.g. {examples}); "
                         f"dissolve them to one row per code (e.g. ogr2ogr -dialect sqlite "
                         f"-sql with ST_Union ... GROUP BY) or choose another column")
    # integer-like codes read as floats (e.g. from GeoJSON) lose their ".0"
    if pd.api.types.is_float_dtype(raw.dtype):
        ids = ids.str.replace(r"\.0$", "", regex=True)
    return ids.astype(str)


def choose_projected_crs(gdf: gpd.GeoDataFrame) -> str:
    """A projected CRS (metres) for the areas.

    ``"EPSG:27700"`` (British National Grid) when the areas lie within Great
    Britain (:data:`GB_BOUNDS`, which also covers Northern Ireland's extent
    where BNG distortion stays below about 0.1 %), else the UTM zone of the areas'
    centre (``GeoDataFrame.estimate_utm_crs``).

    Parameters
    ----------
    gdf : GeoDataFrame
        Areas with a CRS.

    Returns
    -------
    str
        An ``"EPSG:NNNN"`` string.
    """
    if gdf.crs is None:
        raise InputError("the areas have no CRS; set one before choosing a projection")
    minx, miny, maxx, maxy = gdf.to_crs("EPSG:4326").total_bounds
    if not (np.all(np.isfinite([minx, miny, maxx, maxy])) and -180 <= minx <= maxx <= 180
            and -90 <= miny <= maxy <= 90):
        name = gdf.crs.name
        raise InputError(f"the areas' coordinates do not convert to longitude/latitude with "
                         f"their CRS ({name}): they lie outside the region it is defined for; "
                         f"check that the file's CRS is the one its coordinates were made in "
                         f"(set it with `ogr2ogr -a_srs EPSG:NNNN`)")
    gx0, gy0, gx1, gy1 = GB_BOUNDS
    if minx >= gx0 and miny >= gy0 and maxx <= gx1 and maxy <= gy1:
        chosen = BNG
    else:
        try:
            utm = gdf.estimate_utm_crs()
        except RuntimeError as exc:
            raise InputError(f"no UTM zone fits the areas (longitude {minx:.2f}..{maxx:.2f}, "
                             f"latitude {miny:.2f}..{maxy:.2f}); give areas with a projected "
                             f"CRS in metres") from exc
        epsg = utm.to_epsg()
        chosen = f"EPSG:{epsg}" if epsg else utm.to_string()
    if gdf.crs.is_geographic:
        log.info("areas: their CRS (%s) is in degrees and distances need metres: reprojected "
                 "to %s", gdf.crs.name, chosen)
    return chosen


def areas_to_crs(gdf: gpd.GeoDataFrame, crs: str | None = None) -> gpd.GeoDataFrame:
    """Reproject the areas to ``crs`` (default: :func:`choose_projected_crs`).

    Parameters
    ----------
    gdf : GeoDataFrame
        Areas with a CRS.
    crs : str, optional
        Target CRS; when omitted, chosen with :func:`choose_projected_crs`.

    Returns
    -------
    GeoDataFrame
        A reprojected copy (the input is not changed).
    """
    target = crs or choose_projected_crs(gdf)
    out = gdf.to_crs(target)
    # reprojection can leave slivers invalid at high precision; repair them quietly
    bad = ~out.geometry.is_valid
    if bad.any():
        out.loc[bad, "geometry"] = shapely.make_valid(out.geometry[bad].to_numpy())
        log.info("areas: %d geometries repaired after reprojection to %s", int(bad.sum()), target)
    return out


def _first_line(exc: BaseException) -> str:
    """GDAL's message, first line only, capped and escaped (it may quote the file's bytes)."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    # GDAL's advice on driver prefixes does not apply here
    return clipped(line.split("; It might help")[0].split(".; ")[0].rstrip(".;"), 160)


def osm_coverage(areas: gpd.GeoDataFrame, osm: Any, path: str | Path = "",
                 min_outside: float = 0.02) -> dict[str, Any]:
    """Which areas lie outside the OpenStreetMap data, entirely or partly.

    The data's extent is the convex hull of its walking-network nodes and
    building footprints (what an extract covers, whatever its cut line).

    Parameters
    ----------
    areas : GeoDataFrame
        Areas with ``area_id``, in the network's projected CRS.
    osm : PbfData
        The OSM tables (``network`` with ``x``/``y`` and ``crs``; ``buildings``).
    path : path
        The areas file, for messages.
    min_outside : float
        Share of an area's surface outside the extent above which it counts as
        partly outside (default 2 %: slivers along a coast are not reported).

    Returns
    -------
    dict
        ``outside`` and ``partly_outside``: area ids (lists), and
        ``partly_outside_share``: the share of each partly-outside area's surface
        beyond the data. Both lists are logged as warnings.

    Raises
    ------
    InputError
        When every area lies entirely outside the OSM data.
    """
    net = osm.network
    pts = [np.column_stack([net.x, net.y])]
    bld = getattr(osm, "buildings", None)
    if bld is not None and len(bld):
        c = shapely.get_coordinates(shapely.centroid(bld.to_crs(net.crs).geometry.to_numpy()))
        pts.append(c)
    xy = np.vstack(pts)
    # the hull of a line through the points is the points' hull (the same polygon), without
    # making a shapely Point of each of them first (0.2 s for the island's 136k points)
    hull = shapely.convex_hull(shapely.linestrings(xy) if len(xy) >= 2
                               else shapely.multipoints(xy))
    geom = areas.to_crs(net.crs).geometry.to_numpy()
    ids = areas["area_id"].astype(str).to_numpy()
    total = shapely.area(geom)
    inside = shapely.area(shapely.intersection(geom, hull))
    share_out = np.where(total > 0, 1.0 - inside / np.where(total > 0, total, 1.0), 0.0)
    outside = ~shapely.intersects(geom, hull) | (share_out >= 0.999)
    partly = ~outside & (share_out > min_outside)
    name = str(path) if path else "the areas"
    if outside.all():
        a = areas.to_crs("EPSG:4326").total_bounds
        o = gpd.GeoSeries([hull], crs=net.crs).to_crs("EPSG:4326").total_bounds
        raise InputError(
            f"areas file {name}: none of its {len(ids)} areas overlaps the OpenStreetMap data "
            f"(areas lon {a[0]:.3f}..{a[2]:.3f}, lat {a[1]:.3f}..{a[3]:.3f}; OSM data lon "
            f"{o[0]:.3f}..{o[2]:.3f}, lat {o[1]:.3f}..{o[3]:.3f}); give an OSM extract that "
            f"covers the areas (e.g. from download.geofabrik.de) or areas inside the extract")
    out = {"outside": ids[outside].tolist(), "partly_outside": ids[partly].tolist(),
           "partly_outside_share": {i: round(float(v), 3)
                                    for i, v in zip(ids[partly], share_out[partly], strict=True)}}
    if outside.any():
        log.warning("%s: %d of %d areas lie entirely outside the OpenStreetMap data (%s); "
                    "their access indicators are NaN; use an extract that covers them",
                    name, int(outside.sum()), len(ids), ", ".join(out["outside"][:10])
                    + (" ..." if outside.sum() > 10 else ""))
    if partly.any():
        log.warning("%s: %d areas lie partly outside the OpenStreetMap data (%s); amenities "
                    "beyond the extract are missed, so their access may look worse than it is; "
                    "use an extract with a margin around the areas", name, int(partly.sum()),
                    ", ".join(f"{i} {v:.0%} outside" for i, v in
                              list(out["partly_outside_share"].items())[:10]))
    return out
