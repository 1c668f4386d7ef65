"""Writing a run's outputs: complete in a temporary directory, then moved into place.

An interrupted run never leaves a half-written output directory: files are
written next to the target and swapped in only when all of them exist.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from socialrisk.errors import InputError

log = logging.getLogger(__name__)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


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
        import shapely

        a = a.copy()
        geom = shapely.set_precision(a.geometry.to_numpy(), precision_deg, mode="pointwise")
        a["geometry"] = geom
    return a


def write_run_outputs(
    out_dir: str | Path,
    areas: gpd.GeoDataFrame,
    amenities: gpd.GeoDataFrame,
    amenity_polygons: gpd.GeoDataFrame | None,
    manifest: dict,
    render_map: Callable[[Path], None] | None = None,
) -> Path:
    """Write ``areas.gpkg``, ``areas.csv``, ``amenities.gpkg``, ``map.html`` and ``manifest.json``.

    Parameters
    ----------
    out_dir : path
        Target directory; replaced only once every file has been written.
    areas, amenities : GeoDataFrame
        The output tables (EPSG:4326 is written for maximum reuse).
    amenity_polygons : GeoDataFrame, optional
        Polygon amenities (parks...), written as a second layer ``amenity_polygons``.
    manifest : dict
        Run description; the output files' SHA-256 are added to it.
    render_map : callable, optional
        Called with the path of ``map.html`` to write the map.

    Returns
    -------
    Path
        The output directory.
    """
    t0 = time.perf_counter()
    target = Path(out_dir).resolve()
    if target.exists() and not target.is_dir():
        raise InputError(f"--out {target} is a file; give a directory path")
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted(target)
    umask = os.umask(0)
    os.umask(umask)
    tmp = Path(tempfile.mkdtemp(dir=target.parent,
                                prefix=f".{target.name}.part-{os.getpid()}-"))
    try:  # from here on, an interruption removes tmp (a kill is tidied by the next run)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; outputs are for sharing
        a = areas.to_crs("EPSG:4326")
        a.to_file(tmp / "areas.gpkg", layer="areas", driver="GPKG")
        pd.DataFrame(a.drop(columns="geometry")).to_csv(tmp / "areas.csv", index=False)
        am = amenities.to_crs("EPSG:4326")
        am.to_file(tmp / "amenities.gpkg", layer="amenities", driver="GPKG")
        if amenity_polygons is not None and len(amenity_polygons):
            amenity_polygons.to_crs("EPSG:4326").to_file(
                tmp / "amenities.gpkg", layer="amenity_polygons", driver="GPKG")
        if render_map is not None:
            render_map(tmp / "map.html")
        manifest = dict(manifest)
        manifest["timings_s"] = {**manifest.get("timings_s", {}),
                                 "outputs": round(time.perf_counter() - t0, 3)}
        manifest["outputs"] = {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                               for p in sorted(tmp.iterdir())}
        write_json(tmp / "manifest.json", manifest)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def recover_interrupted(target: Path) -> None:
    """Tidy up after a run that was killed (SIGKILL, power loss) while writing ``target``.

    A temporary ``.NAME.part-PID-*`` directory of a dead process is removed. A
    ``.NAME.old-PID`` directory of a dead process is the previous output: it is
    moved back when the kill came between the two renames (no ``target``), and
    removed otherwise.
    """
    for p in target.parent.glob(f".{target.name}.part-*"):
        pid = p.name[len(f".{target.name}.part-"):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            log.info("removing %s, left by an interrupted run", p)
            shutil.rmtree(p, ignore_errors=True)
    for p in target.parent.glob(f".{target.name}.old-*"):
        pid = p.name[len(f".{target.name}.old-"):]
        if not pid.isdigit() or _pid_alive(int(pid)):
            continue
        if target.exists():
            shutil.rmtree(p, ignore_errors=True)
        else:
            log.warning("restoring the previous outputs of %s from an interrupted run", target)
            os.replace(p, target)


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Replace ``target`` by ``tmp``; the old directory survives until the new one is in place."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
