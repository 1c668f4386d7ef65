"""The app's loaded run: prepared inputs and results, cached across reruns and sessions."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

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


def default_settings(deprivation: list[str]) -> Settings:
    """The embedded Isle of Wight, offline, with the deprivation CSVs the user gave."""
    return Settings(file7_download=False,
                    deprivation=[DeprivationSource(path=p) for p in deprivation],
                    map=False, quiet=True).validate()


@st.cache_resource(show_spinner="Loading the run (walking network, access, index) ...",
                   max_entries=4)
def load_state(run_dir: str | None, deprivation: tuple[str, ...] = ()) -> AppState:
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

    Raises
    ------
    socialrisk.core.errors.SocialRiskError
        With the fix, for a bad run directory, app data or input file.
    """
    import time


    t0 = time.perf_counter()
    if run_dir:
        prepared, result, settings = load_run_dir(run_dir)
        cached = True
    else:
        settings = default_settings(list(deprivation))
        prepared, result, cached = load_or_compute(settings)  # disk cache across restarts
    seconds = time.perf_counter() - t0
    log.info("app: loaded %s in %.1f s%s", run_dir or "the Isle of Wight default", seconds,
             " (from disk)" if cached else "")
    return AppState(prepared, result, dict(result.labels), settings, run_dir, seconds)


def save_upload(data: bytes, filename: str) -> str:
    """Keep an uploaded CSV under a content-addressed temporary path (stable for caching).

    Raises
    ------
    socialrisk.core.errors.InputError
        Empty, too large or not a CSV (the same checks as every other upload).
    """

    check_upload(data, filename, TABLE_TYPES)
    digest = hashlib.sha256(data).hexdigest()[:16]
    d = Path(tempfile.gettempdir()) / "socialrisk_uploads"
    d.mkdir(parents=True, exist_ok=True)
    suffix = Path(filename).suffix.lower() or ".csv"
    path = d / f"{digest}{suffix}"
    if not path.exists():
        path.write_bytes(data)
    return str(path)
