"""Cached HTTP downloads: one place for retries, validation and atomic cache writes.

Parsing lives elsewhere; this module only fetches bytes. A response is cached
only when it passed its validator, so an error page or a truncated body is
never reused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from socialrisk.errors import DownloadError

log = logging.getLogger(__name__)

RETRY_STATUS = {429, 500, 502, 503, 504}


def default_cache_dir() -> Path:
    """The cache root.

    ``$SOCIALRISK_CACHE`` if set, else ``$XDG_CACHE_HOME/socialrisk`` or ``~/.cache/socialrisk``.
    """
    env = os.environ.get("SOCIALRISK_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "socialrisk"


def cache_path(url: str, cache_dir: str | Path, suffix: str = "") -> Path:
    """Where ``url`` is cached: a file named by the SHA-256 of the URL."""
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    return Path(cache_dir) / "downloads" / f"{key}{suffix}"


def looks_like_html(body: bytes) -> bool:
    """True when a body is an HTML page (a portal's error or login page) rather than data."""
    head = body[:512].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html")


def fetch(
    url: str,
    cache_dir: str | Path,
    *,
    suffix: str = "",
    validate: Callable[[bytes], str | None] | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
    hint: str = "",
    max_wait: float = 60.0,
) -> Path:
    """Return a local path holding the body of ``url``, downloading it once.

    Parameters
    ----------
    url : str
        What to fetch (GET).
    cache_dir : path
        Cache root; the body is stored under ``downloads/``.
    suffix : str
        File suffix for the cached file (e.g. ``".csv"``).
    validate : callable, optional
        Called with the body; returns ``None`` when the body is good, or a short
        reason. A body that fails is neither cached nor returned. HTML bodies are
        always refused.
    timeout, retries, backoff : float, int, float
        Per-request timeout; number of retries on timeouts, connection errors,
        truncated bodies and HTTP 429/5xx, with exponential back-off starting at
        ``backoff`` seconds (longer when the server's ``Retry-After`` asks for it).
    hint : str
        What to tell an offline user (e.g. where to download the file by hand);
        ``{cache}`` in it is replaced by the path the file is cached at, where a
        file saved by hand is picked up.
    max_wait : float
        Longest ``Retry-After`` honoured, in seconds.

    Raises
    ------
    DownloadError
        When the download fails after retries, or the body is not valid.
    """
    target = cache_path(url, cache_dir, suffix)
    if target.is_file() and target.stat().st_size > 0:
        log.info("using cached %s (%s)", url, target)
        return target
    last = ""
    wait = 0.0
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(max(wait, backoff * 2 ** (attempt - 1)))
        wait = 0.0
        try:
            resp = requests.get(url, timeout=timeout)
        except requests.RequestException as exc:
            last = _describe(exc, timeout)
            log.info("download %s failed (%s), attempt %d", url, last, attempt + 1)
            if _offline(exc):
                last = "this machine cannot resolve the host (offline?)"
                break
            if "connection refused" in last:  # nothing listens there: retrying will not help
                break
            continue
        if resp.status_code in RETRY_STATUS:
            last = f"HTTP {resp.status_code}"
            wait = _retry_after(resp.headers.get("Retry-After"), max_wait)
            log.info("download %s: %s, attempt %d%s", url, last, attempt + 1,
                     f"; the server asks to wait {wait:g} s" if wait else "")
            continue
        if resp.status_code != 200:
            last = f"HTTP {resp.status_code}"
            break
        body = resp.content
        expected = resp.headers.get("Content-Length")
        if expected is not None and expected.isdigit() and int(expected) != len(body):
            last = f"truncated body ({len(body)} of {expected} bytes)"
            continue
        if looks_like_html(body):
            last = "the server sent an HTML page instead of data"
            break
        problem = validate(body) if validate else None
        if problem:
            last = problem
            break
        _atomic_write(target, body)
        return target
    extra = f"; {hint}" if hint else ""
    raise DownloadError(f"could not download {url}: {last}{extra}".replace("{cache}", str(target)))


def _describe(exc: BaseException, timeout: float) -> str:
    """A short reason for a failed request, in words."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke before the whole body arrived (truncated)"
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        if "Connection refused" in text or "Errno 111" in text:
            return "connection refused (the machine is offline or the server is down)"
        return "could not connect (the machine is offline or the server is down)"
    return type(exc).__name__


def _retry_after(value: str | None, max_wait: float) -> float:
    """Seconds asked for by a ``Retry-After`` header (seconds or HTTP date), capped."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 0.0
    return min(max(seconds, 0.0), max_wait)


def _offline(exc: BaseException) -> bool:
    """True when ``exc`` says the host name could not be resolved: retrying will not help."""
    text = repr(exc)
    return "NameResolutionError" in text or "Name or service not known" in text \
        or "Temporary failure in name resolution" in text


def _atomic_write(target: Path, body: bytes) -> None:
    """Write ``body`` to ``target`` through a temporary file and an atomic rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
