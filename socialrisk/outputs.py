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
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.part-"))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; outputs are for sharing
    try:
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
