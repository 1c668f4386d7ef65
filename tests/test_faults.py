"""Downloads from a local server that misbehaves: retries, back-off, detection, nothing bad cached.

The server (127.0.0.1 only) serves the real IoD2025 File 7 rows of the Isle of
Wight, after scripted failures: 429 with Retry-After, 503s, answers slower than
the client's timeout, bodies cut short of their Content-Length, HTML pages.
"""

from __future__ import annotations

import http.server
import json
import socket
import time
from pathlib import Path

import pytest
from conftest import IOW_FILE7, needs_shared, serve

from geo.deprivation import file7_download
from geo.download import cache_path, fetch
from socialrisk.cli import main
from socialrisk.core.errors import DownloadError

pytestmark = [needs_shared, pytest.mark.network]

HTML = b"<!DOCTYPE html><html><head><title>Service unavailable</title></head><body></body></html>"


class _Script(http.server.BaseHTTPRequestHandler):
    """Answers each path with the next step of its script; the last step repeats."""

    scripts: dict[str, list[tuple]] = {}
    hits: dict[str, int] = {}
    body = b""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        n = self.hits.get(self.path, 0)
        self.hits[self.path] = n + 1
        steps = self.scripts[self.path]
        kind, *arg = steps[min(n, len(steps) - 1)]
        if kind == "sleep":
            time.sleep(arg[0])
            kind = "ok"
        if kind == "ok":
            self._send(200, self.body, "text/csv")
        elif kind == "status":
            self._send(arg[0], b"busy", "text/plain", dict(arg[1]) if len(arg) > 1 else {})
        elif kind == "html":
            self._send(200, HTML, "text/html")
        elif kind == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body[: len(self.body) // 3])
            self.wfile.flush()
            self.close_connection = True

    def _send(self, status, body, ctype, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    handler = type("H", (_Script,), {"scripts": {}, "hits": {},
                                     "body": IOW_FILE7.read_bytes()})
    with serve(handler):
        yield handler


def _get(server, path, cache, **kw) -> Path:
    kw = {"min_rows": 80, "retries": 2, "backoff": 0.01, "timeout": 5.0, **kw}
    return file7_download(cache, f"{server.url}{path}", **kw)


def _cached(cache: Path) -> list[Path]:
    d = cache / "downloads"
    return sorted(d.iterdir()) if d.is_dir() else []


def test_429_then_200_waits_as_asked(server, tmp_path):
    server.scripts["/f7.csv"] = [("status", 429, {"Retry-After": "1"}), ("ok",)]
    t0 = time.perf_counter()
    path = _get(server, "/f7.csv", tmp_path)
    assert time.perf_counter() - t0 >= 1.0  # Retry-After honoured over the 0.01 s back-off
    assert server.hits["/f7.csv"] == 2
    assert path.read_bytes() == IOW_FILE7.read_bytes()
    # cached: the next call does not ask the server
    assert _get(server, "/f7.csv", tmp_path) == path and server.hits["/f7.csv"] == 2


def test_503s_back_off_then_fail_with_what_to_do(server, tmp_path):
    server.scripts["/f7.csv"] = [("status", 503)]
    t0 = time.perf_counter()
    with pytest.raises(DownloadError) as info:
        _get(server, "/f7.csv", tmp_path, backoff=0.1)
    assert time.perf_counter() - t0 >= 0.1 + 0.2  # exponential back-off: 0.1, 0.2
    assert server.hits["/f7.csv"] == 3
    msg = str(info.value)
    assert "HTTP 503" in msg and "--deprivation FILE.csv" in msg and "\n" not in msg
    assert _cached(tmp_path) == []


def test_503_then_200_recovers(server, tmp_path):
    server.scripts["/f7.csv"] = [("status", 503), ("status", 502), ("ok",)]
    assert _get(server, "/f7.csv", tmp_path).read_bytes() == IOW_FILE7.read_bytes()


def test_timeout_is_retried_then_reported(server, tmp_path):
    server.scripts["/slow.csv"] = [("sleep", 1.0)]
    t0 = time.perf_counter()
    with pytest.raises(DownloadError, match=r"no answer within 0.2 s \(ReadTimeout\)"):
        _get(server, "/slow.csv", tmp_path, timeout=0.2, retries=1)
    assert time.perf_counter() - t0 < 3
    assert server.hits["/slow.csv"] == 2 and _cached(tmp_path) == []


def test_slow_once_then_fine(server, tmp_path):
    server.scripts["/slow.csv"] = [("sleep", 1.0), ("ok",)]
    assert _get(server, "/slow.csv", tmp_path, timeout=0.3).read_bytes() == \
        IOW_FILE7.read_bytes()


def test_truncated_body_is_never_cached(server, tmp_path):
    server.scripts["/cut.csv"] = [("truncated",)]
    with pytest.raises(DownloadError, match="truncated"):
        _get(server, "/cut.csv", tmp_path)
    assert server.hits["/cut.csv"] == 3 and _cached(tmp_path) == []
    # cut once, then whole: the whole body is cached
    server.scripts["/cut2.csv"] = [("truncated",), ("ok",)]
    assert _get(server, "/cut2.csv", tmp_path).read_bytes() == IOW_FILE7.read_bytes()


def test_truncated_at_a_line_end_is_caught_by_the_validator(server, tmp_path):
    """A body cut between rows has a consistent length: the row count catches it."""
    body = IOW_FILE7.read_bytes()
    server.body = body[: body.index(b"\n", len(body) // 2) + 1]
    server.scripts["/short.csv"] = [("ok",)]
    with pytest.raises(DownloadError, match="rows .* it may be truncated"):
        _get(server, "/short.csv", tmp_path)
    assert server.hits["/short.csv"] == 1 and _cached(tmp_path) == []


def test_html_instead_of_csv_is_refused(server, tmp_path):
    server.scripts["/f7.csv"] = [("html",)]
    with pytest.raises(DownloadError, match="HTML page instead of data"):
        _get(server, "/f7.csv", tmp_path)
    assert server.hits["/f7.csv"] == 1 and _cached(tmp_path) == []
    # any fetch refuses HTML, validator or not
    with pytest.raises(DownloadError, match="HTML page"):
        fetch(f"{server.url}/f7.csv", tmp_path, retries=0)
    assert _cached(tmp_path) == []


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/File_7.csv"


def test_connection_refused_says_what_to_download_and_where_to_put_it(tmp_path):
    url = _dead_url()
    with pytest.raises(DownloadError) as info:
        file7_download(tmp_path, url, retries=1, backoff=0.01)
    msg = str(info.value)
    target = cache_path(url, tmp_path, ".csv")
    assert "connection refused" in msg
    assert "download File 7" in msg and url in msg
    assert "--deprivation FILE.csv" in msg and f"save it as {target}" in msg
    assert _cached(tmp_path) == []
    # doing what the message says works
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(IOW_FILE7.read_bytes())
    assert file7_download(tmp_path, url, retries=0) == target


def test_offline_run_computes_access_only(cowes, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'file7_url = "{_dead_url()}"\n')
    out = tmp_path / "out"
    code = main(["run", "--areas", str(cowes.areas), "--osm", str(cowes.pbf), "--config",
                 str(cfg), "--out", str(out), "--no-map", "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 0, err
    m = json.loads((out / "manifest.json").read_text())
    note = next(n for n in m["notes"] if n.startswith("no deprivation data"))
    assert "connection refused" in note and "computing access only" in note
    assert not (tmp_path / "c" / "downloads").exists() or _cached(tmp_path / "c") == []
