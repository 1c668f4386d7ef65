"""The app's loaded run: prepared inputs and results, cached across reruns and sessions."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from geo.assets import parse_asset_lists
from geo.uploads import TABLE_TYPES, check_upload
from socialrisk.runcache import load_or_compute
from socialrisk.rundir import load_run_dir
from socialrisk.settings import DeprivationSource, Settings

log = logging.getLogger(__name__)


@dataclass
class AppState:
    """What every page gets: the run's prepared inputs, its results and category labels."""

    prepared: object          # socialrisk.pipeline.Prepared
    result: object            # socialrisk.pipeline.RunResult
    labels: dict[str, str]
    settings: Settings
    run_dir: str | None
    seconds: float = 0.0


#: Monte Carlo draws in the app (issue: "default on in the app"): rank intervals and the
#: "robustly at risk" flag in every area's profile (about 3 s on the Isle of Wight)
APP_UNCERTAINTY = 1000


def default_settings(deprivation: list[str], assets: tuple = ()) -> Settings:
    """The embedded Isle of Wight, offline, with the deprivation CSVs and asset lists given.

    ``assets``: ``(path, category, category_column, label, mode)`` per uploaded list
    (:func:`socialrisk.ui.asset_upload.sidebar`).
    """
    lists = parse_asset_lists([{"path": a[0], "category": a[1], "category_column": a[2],
                                "label": a[3], "mode": a[4]} for a in assets])
    return Settings(file7_download=False,
                    deprivation=[DeprivationSource(path=p) for p in deprivation],
                    assets=lists, map=False, quiet=True,
                    uncertainty=APP_UNCERTAINTY).validate()


@st.cache_resource(show_spinner="Loading the run: OpenStreetMap, walking network, access for "
                                "every category, the index. The default's first start "
                                "computes it (about 10 s); later starts read it from disk "
                                "(about 2 s) ...",
                   max_entries=4)
def load_state(run_dir: str | None, deprivation: tuple[str, ...] = (),
               assets: tuple = ()) -> AppState:
    """Load a run once per (run directory, deprivation files).

    Parameters
    ----------
    run_dir : str or None
        Output directory of a ``socialrisk run``: its ``app/`` data is loaded
        (data-only files; nothing is recomputed, and no path, cache or URL
        recorded in its manifest is followed). None: the embedded Isle of Wight
        default, computed once and then read from the user's own disk cache.
    deprivation : tuple of str
        Deprivation CSV paths for the default (ignored with ``run_dir``).
    assets : tuple
        Uploaded asset lists for the default (ignored with ``run_dir``), see
        :func:`default_settings`.

    Raises
    ------
    socialrisk.core.errors.SocialRiskError
        With the fix, for a bad run directory, app data or input file.
    """
    t0 = time.perf_counter()
    if run_dir:
        prepared, result, settings = load_run_dir(run_dir)
        cached = True
    else:
        settings = default_settings(list(deprivation), assets)
        prepared, result, cached = load_or_compute(settings)  # disk cache across restarts
    seconds = time.perf_counter() - t0
    log.info("app: loaded %s in %.1f s%s", run_dir or "the Isle of Wight default", seconds,
             " (from disk)" if cached else "")
    return AppState(prepared, result, dict(result.labels), settings, run_dir, seconds)


def save_upload(data: bytes, filename: str, allowed: tuple[str, ...] = TABLE_TYPES,
                stem: str = "") -> str:
    """Keep an uploaded CSV under a content-addressed temporary path (stable for caching).

    Raises
    ------
    socialrisk.core.errors.InputError
        Empty, too large or not a CSV (the same checks as every other upload).
    """

    check_upload(data, filename, allowed)
    digest = hashlib.sha256(data).hexdigest()[:16]
    d = Path(tempfile.gettempdir()) / "socialrisk_uploads"
    d.mkdir(parents=True, exist_ok=True)
    suffix = Path(filename).suffix.lower() or ".csv"
    if stem:  # a fixed name in a folder of its own (e.g. "uploaded_list.csv:3" as a source)
        (d / digest).mkdir(exist_ok=True)
    path = d / digest / f"{stem}{suffix}" if stem else d / f"{digest}{suffix}"
    if not path.exists():
        path.write_bytes(data)
    return str(path)
