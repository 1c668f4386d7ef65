"""Writing a run's outputs: complete in a staging folder, then moved into place.

An interrupted run never leaves a half-written output; the folder rules (what
may be replaced, what never) are :mod:`socialrisk.outdir`. ``areas.csv`` is
written formula-safe (:func:`socialrisk.core.sanitize.csv_safe`) and rounded for
reading (:func:`socialrisk.columns.round_for_csv`); the GeoPackages keep the true
values, with every field described (``gpkg_data_columns``) and the areas layer's
QGIS style stored as its default (:mod:`socialrisk.qgis`, also ``areas.qml``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from socialrisk.columns import describe_column, round_for_csv
from socialrisk.core.sanitize import csv_safe
from socialrisk.outdir import STAGING_SENTINEL, sha256_file, staging
from socialrisk.qgis import areas_style, write_data_columns, write_default_style

__all__ = ["map_areas", "sha256_file", "write_json", "write_run_outputs"]

log = logging.getLogger(__name__)


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (Path,)):
        return str(obj)
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    return str(obj)


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON (numpy values converted, NaN and inf as null)."""
    text = json.dumps(_nan_to_none(data), indent=2, default=_json_default, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _nan_to_none(obj):
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return None
    return obj


#: above this many areas, map geometries are simplified (see :func:`map_areas`)
MAP_SIMPLIFY_FROM_AREAS = 2000


def map_areas(areas: gpd.GeoDataFrame, tolerance_m: float | None = None,
              precision_deg: float | None = None) -> gpd.GeoDataFrame:
    """Areas made light enough for an HTML map: simplified, coordinates cut to ~1 m.

    Parameters
    ----------
    areas : GeoDataFrame
        Output areas; simplified only when their CRS is projected (metres),
        otherwise only the coordinate precision is cut.
    tolerance_m : float, optional
        Douglas-Peucker tolerance in metres (topology preserved per polygon). By
        default 0 (none) below :data:`MAP_SIMPLIFY_FROM_AREAS` areas and 25 m
        above, which is below one screen pixel at zoom 12 (38 m) where a
        national map of LSOAs becomes readable.
    precision_deg : float, optional
        Grid the EPSG:4326 coordinates are snapped to: by default 1e-5 degrees
        (~1 m), and 1e-4 (~7-11 m, below the simplification tolerance) above
        :data:`MAP_SIMPLIFY_FROM_AREAS` areas, where the coordinates are most of
        the file (33,755 LSOAs: ~390,000 vertices).

    Returns
    -------
    GeoDataFrame in EPSG:4326 (the table's other columns unchanged).
    """
    large = len(areas) > MAP_SIMPLIFY_FROM_AREAS
    if tolerance_m is None:
        tolerance_m = 25.0 if large else 0.0
    if precision_deg is None:
        precision_deg = 1e-4 if large else 1e-5
    a = areas
    if tolerance_m > 0 and a.crs is not None and a.crs.is_projected:
        a = a.copy()
        a["geometry"] = a.geometry.simplify(tolerance_m, preserve_topology=True)
    a = a.to_crs("EPSG:4326")
    if precision_deg > 0:
        a = a.copy()
        geom = shapely.set_precision(a.geometry.to_numpy(), precision_deg, mode="pointwise")
        a["geometry"] = geom
    return a


def _describe_and_style(tmp: Path, columns: list[str], labels: Mapping[str, str] | None,
                        polygons: bool) -> None:
    """Field descriptions in both GeoPackages; the areas style in areas.gpkg and areas.qml.

    Done on the staged files before any checksum is taken (the manifest and the
    marker hash the files as they end up).
    """
    def areas_words(c: str) -> tuple[str, str, str]:
        return describe_column(c, labels)

    def amenity_words(c: str) -> tuple[str, str, str]:
        return describe_column(c, labels, layer="amenities")

    write_data_columns(tmp / "areas.gpkg", "areas", areas_words)
    for layer in ("amenities", "amenity_polygons") if polygons else ("amenities",):
        write_data_columns(tmp / "amenities.gpkg", layer, amenity_words)
    qml = areas_style(columns, areas_words)
    write_default_style(tmp / "areas.gpkg", "areas", qml)
    (tmp / "areas.qml").write_text(qml, encoding="utf-8")


def write_run_outputs(
    out_dir: str | Path,
    areas: gpd.GeoDataFrame,
    amenities: gpd.GeoDataFrame,
    amenity_polygons: gpd.GeoDataFrame | None,
    manifest: dict,
    render_map: Callable[[Path], None] | None = None,
    extra: Callable[[Path], None] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Path:
    """Write ``areas.gpkg``, ``areas.csv``, ``areas.qml``, ``amenities.gpkg``, ``map.html``...

    ... and ``manifest.json`` (with the SHA-256 of every file, taken last).

    Parameters
    ----------
    out_dir : path
        Target folder: new, empty, or a previous socialrisk output (see
        :mod:`socialrisk.outdir`); files appear only once every one is written.
    areas, amenities : GeoDataFrame
        The output tables (EPSG:4326 is written for maximum reuse).
    amenity_polygons : GeoDataFrame, optional
        Polygon amenities (parks...), written as a second layer ``amenity_polygons``.
    manifest : dict
        Run description; the output files' SHA-256 are added to it.
    render_map : callable, optional
        Called with the path of ``map.html`` to write the map.
    extra : callable, optional
        Called with the staging folder to write further files (the app's data).
    labels : mapping, optional
        Category -> label of the run's taxonomy, for the field descriptions.

    Returns
    -------
    Path
        The output directory.

    Raises
    ------
    InputError
        When ``out_dir`` may not be written (see :func:`socialrisk.outdir.check_out_dir`).
    """
    t0 = time.perf_counter()
    with staging(out_dir) as tmp:
        a = areas.to_crs("EPSG:4326")
        a.to_file(tmp / "areas.gpkg", layer="areas", driver="GPKG")
        table = pd.DataFrame(a.drop(columns="geometry"))
        csv_safe(round_for_csv(table, labels)).to_csv(tmp / "areas.csv", index=False)
        am = amenities.to_crs("EPSG:4326")
        am.to_file(tmp / "amenities.gpkg", layer="amenities", driver="GPKG")
        if amenity_polygons is not None and len(amenity_polygons):
            amenity_polygons.to_crs("EPSG:4326").to_file(
                tmp / "amenities.gpkg", layer="amenity_polygons", driver="GPKG")
        _describe_and_style(tmp, list(table.columns), labels,
                            amenity_polygons is not None and len(amenity_polygons) > 0)
        if render_map is not None:
            render_map(tmp / "map.html")
        if extra is not None:
            extra(tmp)
        manifest = dict(manifest)
        manifest["timings_s"] = {**manifest.get("timings_s", {}),
                                 "outputs": round(time.perf_counter() - t0, 3)}
        manifest["outputs"] = {p.relative_to(tmp).as_posix():
                               {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                               for p in sorted(tmp.rglob("*"))
                               if p.is_file() and p.name != STAGING_SENTINEL}
        write_json(tmp / "manifest.json", manifest)
    return Path(out_dir).expanduser().resolve()
