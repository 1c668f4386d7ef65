"""A run's output directory: its manifest, its app data and exports.

Plain functions (no Streamlit) used by the app to open a run. A run directory
is data from elsewhere (a colleague's share, a download): opening one runs
nothing and reads nothing outside it. The app loads the run's ``app/`` folder
(:mod:`socialrisk.runstore`, data-only files) and never recomputes from the
manifest: the input paths, cache directory and URLs recorded there are never
followed, and only analysis settings are taken from it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import tempfile
from pathlib import Path

import geopandas as gpd

from socialrisk.core.errors import ConfigError, InputError
from socialrisk.lenses import refuse_lens_paths
from socialrisk.runstore import APP_DATA_DIR, load_run
from socialrisk.settings import ANALYSIS_SETTINGS, Settings, settings_from_mapping

log = logging.getLogger(__name__)

#: largest manifest.json read
MAX_MANIFEST_BYTES = 10 * 1024 * 1024


def _run_dir(run_dir: str | Path) -> Path:
    text = str(run_dir)
    if "\x00" in text or len(text) > 4096:
        raise InputError("the run directory is not a valid path; give the output directory "
                         "of a socialrisk run (the --out of `socialrisk run`)")
    return Path(text).expanduser()


def read_manifest(run_dir: str | Path) -> dict:
    """The ``manifest.json`` of a run output directory (at most 10 MB is read).

    Raises
    ------
    InputError
        With the fix, when the directory or its manifest is missing, too large,
        not JSON or not a JSON object.
    """
    d = _run_dir(run_dir)
    path = d / "manifest.json"
    if not d.is_dir():
        raise InputError(f"{d} is not a directory; give the output directory of a "
                         f"socialrisk run (the --out of `socialrisk run`)")
    if not path.is_file():
        raise InputError(f"{d} has no manifest.json; give the output directory of a "
                         f"socialrisk run (it holds areas.gpkg, areas.csv and manifest.json)")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise InputError(f"{path} is larger than {MAX_MANIFEST_BYTES // 2**20} MB, so it "
                             f"is not a socialrisk manifest; run socialrisk again to rewrite it")
        data = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise InputError(f"{path} cannot be read as JSON ({reason}); run socialrisk again to "
                         f"rewrite it") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a JSON object, so it is not a socialrisk manifest; "
                         f"run socialrisk again to rewrite it")
    return data


def analysis_settings(recorded: dict | Settings) -> Settings:
    """Default settings with only the :data:`ANALYSIS_SETTINGS` of ``recorded`` applied.

    Paths, URLs, the cache directory and download switches are left at their
    defaults, whatever ``recorded`` says; display flags are off (``map``) and
    quiet.

    Raises
    ------
    ConfigError
        When a recorded analysis setting is not valid for this version of socialrisk.
    """
    if isinstance(recorded, Settings):
        recorded = recorded.as_dict()
    data = {k: copy.deepcopy(recorded[k]) for k in ANALYSIS_SETTINGS if k in recorded}
    refuse_lens_paths(data.get("lenses"))
    ignored = sorted(str(k) for k in recorded if k not in ANALYSIS_SETTINGS)
    if ignored:
        log.debug("settings not replayed from the run: %s", ", ".join(ignored))
    try:
        s = settings_from_mapping(data).validate()
    except ConfigError as exc:
        raise ConfigError(f"the run's settings: {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:  # shapes a crafted file may have
        raise ConfigError(f"the run's settings are malformed ({type(exc).__name__}); run "
                          f"socialrisk again to rewrite them") from None
    s.map, s.quiet = False, True
    return s


def settings_from_manifest(manifest: dict) -> Settings:
    """The analysis settings a run was made with, from its manifest.

    Only :data:`ANALYSIS_SETTINGS` are replayed (walking speeds, thresholds,
    decay, index weights ...); input paths, the cache directory, the output
    directory and URLs are never taken from a manifest.

    Raises
    ------
    InputError
        When the manifest has no settings.
    ConfigError
        When a recorded analysis setting is not valid for this version of socialrisk.
    """
    recorded = manifest.get("settings") if isinstance(manifest, dict) else None
    if not isinstance(recorded, dict):
        raise InputError("the manifest has no 'settings'; it was not written by "
                         "`socialrisk run` (run it again to make one)")
    return analysis_settings(recorded)


def app_data_dir(run_dir: str | Path) -> Path:
    """The ``app/`` folder of a run directory (checked to be a run directory with app data).

    Raises
    ------
    InputError
        Not a run directory, or one written without app data (an older
        socialrisk, or ``--no-app-data``).
    """

    d = _run_dir(run_dir)
    read_manifest(d)
    app = d / APP_DATA_DIR
    if not app.is_dir():
        raise InputError(f"{d} was written by an older socialrisk without app data; run "
                         f"`socialrisk run ... --out {d}` again")
    return app


def load_run_dir(run_dir: str | Path):
    """``(prepared, result, settings)`` of a run directory, from its ``app/`` data only.

    Nothing is recomputed and no input named in the manifest is opened; the
    returned settings (also set on ``prepared``) hold only the run's analysis
    settings (see :func:`analysis_settings`).

    Raises
    ------
    InputError
        One line with the fix: not a run directory, no app data, or app data
        that is incomplete, of another version or malformed.
    """

    app = app_data_dir(run_dir)
    prepared, result = load_run(app)
    try:
        settings = analysis_settings(prepared.settings)
    except ConfigError as exc:
        raise InputError(f"{app}: {exc}") from None
    prepared = dataclasses.replace(prepared, settings=settings)
    return prepared, result, settings


def geopackage_bytes(gdf: gpd.GeoDataFrame, layer: str = "areas") -> bytes:
    """The GeoPackage of ``gdf`` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{layer}.gpkg"
        gdf.to_file(path, layer=layer, driver="GPKG")
        return path.read_bytes()
