"""A run's output directory: its manifest, the settings that made it, and exports.

Plain functions (no Streamlit) used by the app to re-create a run from its
``manifest.json``.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import geopandas as gpd

from socialrisk.errors import InputError
from socialrisk.settings import Settings, settings_from_mapping

log = logging.getLogger(__name__)

#: settings that describe where a run wrote, not what it computed
_NOT_REPLAYED = ("out",)


def read_manifest(run_dir: str | Path) -> dict:
    """The ``manifest.json`` of a run output directory.

    Raises
    ------
    InputError
        With the fix, when the directory or its manifest is missing or unreadable.
    """
    d = Path(run_dir).expanduser()
    path = d / "manifest.json"
    if not d.is_dir():
        raise InputError(f"{d} is not a directory; give the output directory of a "
                         f"socialrisk run (the --out of `socialrisk run`)")
    if not path.is_file():
        raise InputError(f"{d} has no manifest.json; give the output directory of a "
                         f"socialrisk run (it holds areas.gpkg, areas.csv and manifest.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} cannot be read as JSON ({exc}); run socialrisk again to "
                         f"rewrite it") from None


def settings_from_manifest(manifest: dict) -> Settings:
    """The :class:`Settings` a run was made with, from its manifest.

    Every recorded setting is replayed except the output directory. Paths are
    kept as recorded (relative paths are relative to where the run was started).

    Raises
    ------
    InputError
        When the manifest has no settings.
    ConfigError
        When a recorded setting is not valid for this version of socialrisk.
    """
    recorded = manifest.get("settings") if isinstance(manifest, dict) else None
    if not isinstance(recorded, dict):
        raise InputError("the manifest has no 'settings'; it was not written by "
                         "`socialrisk run` (run it again to make one)")
    data = {k: v for k, v in recorded.items() if k not in _NOT_REPLAYED}
    s = settings_from_mapping(data).validate()
    missing = [p for p in [s.osm, s.areas, *[d.path for d in s.deprivation]]
               if p and p != "none" and not Path(p).expanduser().exists()]
    if missing:
        raise InputError(f"the run's input {missing[0]} is not found from {Path.cwd()}; start "
                         f"the app from the directory the run was started in, or run "
                         f"socialrisk again with absolute paths")
    return s


def geopackage_bytes(gdf: gpd.GeoDataFrame, layer: str = "areas") -> bytes:
    """The GeoPackage of ``gdf`` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{layer}.gpkg"
        gdf.to_file(path, layer=layer, driver="GPKG")
        return path.read_bytes()
