"""Cached HTTP downloads: one place for retries, limits, validation and atomic cache writes.

Parsing lives elsewhere; this module only fetches bytes. Every body streams to a
temporary file next to the cache, bounded in size (decompressed bytes) and in
wall-clock time, and is moved into the cache only when it is complete and passed
its validator, so an error page, a truncated body or a runaway download is never
reused. The temporary file is removed on every failure, Ctrl-C included.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, NamedTuple

import requests
import urllib3

from socialrisk.core.errors import DownloadError

log = logging.getLogger(__name__)

RETRY_STATUS = {429, 500, 502, 503, 504}
MB = 1_000_000
#: Default size cap (decompressed bytes) of one download.
MAX_BYTES = 100 * MB
#: Default wall-clock limit (seconds) of one :func:`fetch`, retries and waits included.
DEADLINE = 300.0
CHUNK = 64 * 1024


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


class _Limits(NamedTuple):
    timeout: float   # per read
    end: float       # time.monotonic() deadline
    deadline: float  # seconds, for messages
    max_bytes: int
    label: str
    max_wait: float


class _AttemptError(Exception):
    """One attempt failed: ``reason`` in words, whether a retry may help, and how long to wait."""

    def __init__(self, reason: str, retry: bool = False, wait: float = 0.0) -> None:
        super().__init__(reason)
        self.reason, self.retry, self.wait = reason, retry, wait


def fetch(
    url: str,
    cache_dir: str | Path,
    *,
    suffix: str = "",
    validate: Callable[[Path], str | None] | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
    hint: str = "",
    max_wait: float = 60.0,
    max_bytes: int = MAX_BYTES,
    deadline: float = DEADLINE,
    label: str = "this download",
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
        Called with the path of the complete downloaded body (a temporary file);
        returns ``None`` when it is good, or a short reason. A body that fails is
        neither cached nor returned. HTML bodies are always refused. A body sent
        with neither ``Content-Length`` nor chunking that the server cut short
        looks complete at HTTP level: only the validator can catch it.
    timeout : float
        Per-read timeout in seconds (connecting, and each read of the body).
    retries, backoff : int, float
        Number of retries on timeouts, connection errors, truncated bodies and
        HTTP 429/5xx, with exponential back-off starting at ``backoff`` seconds
        (longer when the server's ``Retry-After`` asks for it).
    hint : str
        What to tell a user whose download failed (e.g. where to download the
        file by hand); ``{cache}`` in it is replaced by the path the file is
        cached at, where a file saved by hand is picked up.
    max_wait : float
        Longest ``Retry-After`` honoured, in seconds.
    max_bytes : int
        Largest body accepted, counted in decompressed bytes, so a compression
        bomb stops at the cap with small memory.
    deadline : float
        Wall-clock limit in seconds for the whole call: every attempt, every
        read and every wait between attempts.
    label : str
        What is downloaded, for messages (e.g. ``"File 7"``).

    Raises
    ------
    DownloadError
        When the download fails after retries, is too large or too slow, or the
        body is not valid; a one-line message.
    """
    target = cache_path(url, cache_dir, suffix)
    if target.is_file() and target.stat().st_size > 0:
        log.info("using cached %s (%s)", url, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    end = time.monotonic() + deadline
    limits = _Limits(timeout, end, deadline, max_bytes, label, max_wait)
    last, wait = "", 0.0
    for attempt in range(retries + 1):
        if attempt:
            pause = max(wait, backoff * 2 ** (attempt - 1))
            if time.monotonic() + pause >= end:
                last += f" (no time left to retry within the {deadline:g} s deadline)"
                break
            time.sleep(pause)
        try:
            _download(url, target, validate, limits)
            return target
        except _AttemptError as failed:
            last, wait = failed.reason, failed.wait
            log.debug("download %s failed (%s), attempt %d%s", url, last, attempt + 1,
                     f"; the server asks to wait {wait:g} s" if wait else "")
            if not failed.retry:
                break
    extra = f"; {hint}" if hint else ""
    err = DownloadError(f"could not download {url}: {last}{extra}".replace("{cache}", str(target)))
    err.reason = last  # the short reason alone, for a one-line warning (the hint is long)
    raise err


def _download(url: str, target: Path, validate: Callable[[Path], str | None] | None,
              limits: _Limits) -> None:
    """One attempt: stream to a temporary file, check it, move it to ``target``."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-", suffix=target.suffix)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            _receive(url, fh, limits)
        with tmp.open("rb") as fh:
            head = fh.read(512)
        if looks_like_html(head):
            raise _AttemptError("the server sent an HTML page instead of data")
        problem = validate(tmp) if validate else None
        if problem:
            raise _AttemptError(problem)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after the replace


def _receive(url: str, fh: BinaryIO, limits: _Limits) -> None:
    """GET ``url`` and write its decoded body to ``fh`` within the size and time limits."""
    timeout, end, deadline, max_bytes, label, max_wait = limits
    late = f"the download took longer than the {deadline:g} s deadline for {label}"
    per_read = min(timeout, end - time.monotonic())
    if per_read <= 0:
        raise _AttemptError(late)
    try:
        resp = requests.get(url, timeout=per_read, stream=True)
    except requests.RequestException as exc:
        reason = _describe(exc, per_read)
        if _offline(exc):
            raise _AttemptError("this machine cannot resolve the host (offline?)") from None
        # nothing listens there: retrying will not help
        raise _AttemptError(reason, retry="connection refused" not in reason) from None
    with resp:
        if resp.status_code in RETRY_STATUS:
            raise _AttemptError(f"HTTP {resp.status_code}", retry=True,
                                wait=_retry_after(resp.headers.get("Retry-After"), max_wait))
        if resp.status_code != 200:
            raise _AttemptError(f"HTTP {resp.status_code}")
        written = 0
        try:
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    raise _AttemptError(late)
                sock = getattr(resp.raw.connection, "sock", None)
                if sock is not None:  # a read never blocks past the deadline
                    sock.settimeout(min(timeout, left))
                chunk = resp.raw.read1(CHUNK, decode_content=True)
                if not chunk:
                    break
                written += len(chunk)
                if written > max_bytes:
                    raise _AttemptError(f"the body is larger than the {max_bytes / MB:g} MB "
                                        f"limit for {label}")
                fh.write(chunk)
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            if time.monotonic() >= end:
                raise _AttemptError(late) from None
            raise _AttemptError(_describe(exc, per_read), retry=True) from None
        expected = resp.headers.get("Content-Length", "").strip()
        encoded = resp.headers.get("Content-Encoding", "identity").strip().lower()
        received = written if encoded in ("", "identity") else resp.raw.tell()
        if expected.isdigit() and int(expected) != received:
            raise _AttemptError(f"truncated body ({received} of {expected} bytes)", retry=True)


def _describe(exc: BaseException, timeout: float) -> str:
    """A short reason for a failed request or read, in words."""
    if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError, socket.timeout)):
        name = "ReadTimeout" if isinstance(exc, urllib3.exceptions.ReadTimeoutError) \
            else type(exc).__name__
        return f"no answer within {timeout:g} s ({name})"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError,
                        urllib3.exceptions.ProtocolError)):
        return "the connection broke before the whole body arrived (truncated)"
    if isinstance(exc, urllib3.exceptions.DecodeError):
        return "the server sent a compressed body that could not be decompressed"
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
