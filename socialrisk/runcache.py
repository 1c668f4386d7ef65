"""A disk cache of prepared and computed runs, so the app starts in about a second.

The key is everything the result depends on: the socialrisk version, every
setting, and the SHA-256 of every input file (OSM extract, areas, deprivation
tables, taxonomy). A changed file or setting is a new key; nothing stale is
reused. Runs that download their inputs (``--lad``/``--place``) are not cached
here (their own downloads are). The cache lives in the user's cache directory
and is read with :mod:`pickle`, so it must not be shared with untrusted users.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from pathlib import Path

from socialrisk import __version__
from socialrisk.settings import Settings

log = logging.getLogger(__name__)


def _input_files(s: Settings) -> list[Path] | None:
    """The local files a run reads, or None when it downloads something."""
    from socialrisk.geo.taxonomy import default_taxonomy_path
    from socialrisk.pipeline import EMBEDDED_AREAS, EMBEDDED_OSM, embedded_file

    if s.lad or s.place:
        return None
    files = [Path(s.osm) if s.osm and s.osm != "none" else embedded_file(EMBEDDED_OSM),
             Path(s.areas) if s.areas else embedded_file(EMBEDDED_AREAS),
             Path(s.taxonomy) if s.taxonomy else default_taxonomy_path()]
    for src in s.deprivation:
        if str(src.path).startswith(("http://", "https://")):
            return None
        files.append(Path(src.path))
    return files


def run_key(s: Settings) -> str | None:
    """Cache key of a run, or None when it cannot be cached (downloads, missing files)."""
    from socialrisk.outputs import sha256_file

    files = _input_files(s)
    if files is None or not all(f.is_file() for f in files):
        return None
    h = hashlib.sha256()
    h.update(__version__.encode())
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
        Cache root (default: the download cache, ``$SOCIALRISK_CACHE`` or
        ``~/.cache/socialrisk``); runs are kept under ``runs/``.
    """
    from socialrisk.geo.download import default_cache_dir
    from socialrisk.pipeline import compute, prepare

    root = Path(cache_dir or s.cache_dir or default_cache_dir()) / "runs"
    key = run_key(s)
    path = root / f"{key}.pkl" if key else None
    if path is not None and path.is_file():
        try:
            with open(path, "rb") as fh:
                prepared, result = pickle.load(fh)
            log.info("run loaded from the cache %s", path)
            return prepared, result, True
        except Exception as exc:  # a corrupt or incompatible cache entry: recompute
            log.warning("ignoring unreadable cache entry %s (%s)", path, exc)
    prepared = prepare(s)
    result = compute(prepared)
    if path is not None:
        _atomic_pickle(path, (prepared, result))
    return prepared, result, False


def _atomic_pickle(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
