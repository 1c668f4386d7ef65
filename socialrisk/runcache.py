"""A disk cache of prepared and computed runs, so the app starts in about a second.

The key is everything the result depends on: the socialrisk version, the app
data format, every setting, and the SHA-256 of every input file (OSM extract,
areas, deprivation tables, taxonomy). A changed file or setting is a new key;
nothing stale is reused. Runs that download their inputs (``--lad``/``--place``)
are not cached here (their own downloads are).

An entry is a folder ``<cache>/runs/<key>/`` written by
:func:`socialrisk.runstore.save_run` (data-only files: Parquet, ``.npz``
without pickles, JSON) into a temporary folder and renamed into place, so a
reader sees a complete entry or none. An unreadable entry is recomputed with a
warning. Nothing read from the cache is executed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from geo.download import default_cache_dir
from geo.taxonomy import default_taxonomy_path
from socialrisk import __version__, runstore
from socialrisk.core.data import EMBEDDED_AREAS, EMBEDDED_OSM, embedded_file
from socialrisk.core.errors import InputError
from socialrisk.lenses import is_lens_path
from socialrisk.outdir import dead_pid
from socialrisk.outputs import sha256_file
from socialrisk.pipeline import compute, prepare
from socialrisk.runstore import load_run, save_run
from socialrisk.settings import Settings

log = logging.getLogger(__name__)


def _input_files(s: Settings) -> list[Path] | None:
    """The local files a run reads, or None when it downloads something."""

    if s.lad or s.place:
        return None
    files = [Path(s.osm) if s.osm and s.osm != "none" else embedded_file(EMBEDDED_OSM),
             Path(s.areas) if s.areas else embedded_file(EMBEDDED_AREAS),
             Path(s.taxonomy) if s.taxonomy else default_taxonomy_path()]
    for src in s.deprivation:
        if str(src.path).startswith(("http://", "https://")):
            return None
        files.append(Path(src.path))
    # asset lists, lookups and the users' own lens files are inputs too: an edited file
    # must never give the cached result of the old one
    files += [Path(a.path) for a in s.assets]
    files += [Path(p) for p in (s.lsoa_lookup, s.wards_lookup) if p]
    files += [Path(x) for x in s.lenses if is_lens_path(x)]
    return files


def run_key(s: Settings) -> str | None:
    """Cache key of a run, or None when it cannot be cached (downloads, missing files)."""

    files = _input_files(s)
    if files is None or not all(f.is_file() for f in files):
        return None
    h = hashlib.sha256()
    h.update(__version__.encode())
    h.update(f"{runstore.FORMAT}/{runstore.VERSION}".encode())
    settings = {k: v for k, v in s.as_dict().items() if k not in ("quiet", "map", "out")}
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for f in files:
        h.update(sha256_file(f).encode())
    return h.hexdigest()[:32]


def load_or_compute(s: Settings, cache_dir: str | Path | None = None):
    """``(prepared, result, from_cache)`` for settings ``s``, from disk when possible.

    Parameters
    ----------
    s : Settings
    cache_dir : path, optional
        Cache root (default: ``s.cache_dir``, else the download cache,
        ``$SOCIALRISK_CACHE`` or ``~/.cache/socialrisk``); runs are kept under
        ``runs/<key>/``.
    """

    root = Path(cache_dir or s.cache_dir or default_cache_dir()) / "runs"
    key = run_key(s)
    path = root / key if key else None
    if path is not None and path.exists():
        try:
            prepared, result = load_run(path)
            log.info("run loaded from the cache %s", path)
            return prepared, result, True
        except InputError as exc:  # corrupt, interrupted or of another format: recompute
            log.warning("ignoring unreadable cache entry (%s); recomputing", exc)
    prepared = prepare(s)
    result = compute(prepared)
    if path is not None:
        try:
            _atomic_save(path, prepared, result)
        except OSError as exc:  # a full or read-only cache must not stop the app
            log.warning("could not write the run cache %s (%s)", path, exc)
    return prepared, result, False


def _atomic_save(path: Path, prepared, result) -> None:
    """Write the entry into a temporary folder next to ``path``, then rename it into place."""

    path.parent.mkdir(parents=True, exist_ok=True)
    _tidy(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.part-{os.getpid()}-"))
    try:
        save_run(prepared, result, tmp)
        if path.exists():  # an unreadable entry: set it aside, then remove it
            old = Path(tempfile.mkdtemp(dir=path.parent,
                                        prefix=f".{path.name}.part-{os.getpid()}-old-"))
            with contextlib.suppress(FileNotFoundError):  # another process removed it
                os.replace(path, old / "entry")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, path)
        except OSError:  # another process put its (identical) entry in place first
            if not path.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _tidy(path: Path) -> None:
    """Remove temporary folders of ``path`` left by killed processes (``.KEY.part-PID-*``)."""
    prefix = f".{path.name}.part-"
    for p in path.parent.glob(f"{prefix}*"):
        if not p.is_symlink() and dead_pid(p.name, prefix):
            log.info("removing %s, left by an interrupted run", p)
            shutil.rmtree(p, ignore_errors=True)
