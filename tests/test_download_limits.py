"""Downloads are bounded and correct, against a real local server that misbehaves.

The server (127.0.0.1 only) serves the real IoD2025 File 7 rows of the Isle of
Wight (../shared/data), whole, gzip-encoded, cut short with or without a
Content-Length or inside chunked encoding, as an HTML error page, after a 503;
and bodies that never end: endless rows, a gzip bomb (2 MB inflating to 2 GB of
zeros), a drip of one byte every 0.5 s. Every failure must leave nothing in the
cache (no file, no temporary file) and say what went wrong in one line.
"""

from __future__ import annotations

import gzip
import http.server
import json
import struct
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from conftest import IOW_FILE7, needs_shared, serve

from geo.deprivation import file7_download
from geo.download import cache_path, fetch
from socialrisk.cli import main
from socialrisk.core.errors import DownloadError

pytestmark = [needs_shared, pytest.mark.network]

MB = 1_000_000
ROWS = 89  # data rows of the Isle of Wight File 7
HTML = b"<!DOCTYPE html><html><head><title>Error</title></head><body>oops</body></html>"


def gzip_bomb(size: int, unit: int = 1 << 20) -> bytes:
    """One gzip member of ``size`` zero bytes (a multiple of ``unit``), built in ~1 s.

    The deflate output of ``unit`` zeros ended by a full flush does not depend on
    what came before, so it is repeated instead of compressing ``size`` bytes.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(unit)) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(bytes(unit)) + comp.flush(zlib.Z_FULL_FLUSH) == block
    crc, zeros = 0, bytes(unit)
    for _ in range(size // unit):
        crc = zlib.crc32(zeros, crc)
    return b"".join([b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff", block * (size // unit),
                     comp.flush(), struct.pack("<II", crc, size & 0xFFFFFFFF)])


class _Handler(http.server.BaseHTTPRequestHandler):
    """One misbehaviour per path; ``hits`` counts requests per path."""

    body = b""
    bomb = b""
    hits: dict[str, int] = {}
    stop: threading.Event

    def log_message(self, *args):
        pass

    def _head(self, headers: dict[str, str], status: str = "HTTP/1.0 200 OK") -> None:
        lines = [status] + [f"{k}: {v}" for k, v in headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def do_GET(self):  # noqa: N802
        path = self.path
        n = self.hits[path] = self.hits.get(path, 0) + 1
        body = self.body
        try:
            if path == "/File_7.csv" or (path == "/flaky.csv" and n > 1):
                self._head({"Content-Type": "text/csv", "Content-Length": str(len(body))})
                self.wfile.write(body)
            elif path == "/flaky.csv":
                self._head({"Content-Length": "4"}, "HTTP/1.0 503 Service Unavailable")
                self.wfile.write(b"busy")
            elif path == "/gzip.csv":
                packed = gzip.compress(body)
                self._head({"Content-Type": "text/csv", "Content-Encoding": "gzip",
                            "Content-Length": str(len(packed))})
                self.wfile.write(packed)
            elif path == "/bomb.csv":
                self._head({"Content-Encoding": "gzip", "Content-Length": str(len(self.bomb))})
                self.wfile.write(self.bomb)
            elif path == "/endless.csv":  # no Content-Length: ends when the connection closes
                self._head({"Content-Type": "text/csv"})
                rows = body[body.index(b"\n") + 1:] * 20
                self.wfile.write(body)
                while not self.stop.is_set():
                    self.wfile.write(rows)
            elif path == "/drip.csv":
                self._head({"Content-Type": "text/csv"})
                for byte in body[:120]:
                    if self.stop.wait(0.5):
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            elif path == "/short-length.csv":  # says 29 kB, sends half, closes
                self._head({"Content-Type": "text/csv", "Content-Length": str(len(body))})
                self.wfile.write(body[: len(body) // 2])
            elif path == "/short-rows.csv":  # no length, cut after a whole row
                self._head({"Content-Type": "text/csv"})
                self.wfile.write(body[: body.index(b"\n", len(body) // 2) + 1])
            elif path == "/short-mid-row.csv":  # no length, cut inside a row
                self._head({"Content-Type": "text/csv"})
                self.wfile.write(body[: len(body) // 2])
            elif path == "/short-chunked.csv":  # chunked, closed before the last chunk
                self._head({"Content-Type": "text/csv", "Transfer-Encoding": "chunked"},
                           "HTTP/1.1 200 OK")
                half = body[: len(body) // 2]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
            elif path == "/error.csv":
                self._head({"Content-Type": "text/html", "Content-Length": str(len(HTML))})
                self.wfile.write(HTML)
            else:
                self._head({"Content-Length": "0"}, "HTTP/1.0 404 Not Found")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should
        self.close_connection = True


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip_bomb(2048 << 20)
    assert 1.5 * MB < len(data) < 2.5 * MB
    return data


@pytest.fixture
def server(bomb):
    stop = threading.Event()
    handler = type("H", (_Handler,), {"body": IOW_FILE7.read_bytes(), "bomb": bomb,
                                      "hits": {}, "stop": stop})
    with serve(handler):
        try:
            yield handler
        finally:
            stop.set()


def _get(server, path: str, cache: Path, **kw) -> Path:
    kw = {"min_rows": ROWS, "retries": 2, "backoff": 0.01, "timeout": 5.0, **kw}
    return file7_download(cache, f"{server.url}{path}", **kw)


def _left_in_cache(cache: Path) -> list[str]:
    """Every file under the cache's downloads folder, temporary files included."""
    d = cache / "downloads"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def _fails(server, path: str, cache: Path, **kw) -> tuple[str, float, int]:
    """Message, seconds taken and peak traced memory (bytes) of a download that must fail."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(DownloadError) as info:
            _get(server, path, cache, **kw)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"could not download {server.url}{path}: ")
    assert "--deprivation FILE.csv" in msg  # what to do instead
    assert _left_in_cache(cache) == []
    return msg, seconds, peak


def test_gzip_encoded_file7_is_accepted_byte_identical(server, tmp_path):
    path = _get(server, "/gzip.csv", tmp_path)
    assert path.read_bytes() == IOW_FILE7.read_bytes()
    assert path == cache_path(f"{server.url}/gzip.csv", tmp_path, ".csv")
    assert _left_in_cache(tmp_path) == [path.name] and server.hits["/gzip.csv"] == 1


def test_endless_body_stops_at_the_size_cap_with_small_memory(server, tmp_path):
    msg, seconds, peak = _fails(server, "/endless.csv", tmp_path, max_bytes=20 * MB)
    assert "the body is larger than the 20 MB limit for File 7" in msg
    assert peak < 8 * MB, f"peak traced memory {peak / MB:.1f} MB"
    assert server.hits["/endless.csv"] == 1  # too large is not retried
    assert seconds < 30


def test_gzip_bomb_stops_at_the_size_cap_with_small_memory(server, tmp_path):
    msg, seconds, peak = _fails(server, "/bomb.csv", tmp_path, max_bytes=20 * MB)
    assert "the body is larger than the 20 MB limit for File 7" in msg
    assert peak < 8 * MB, f"peak traced memory {peak / MB:.1f} MB"
    assert server.hits["/bomb.csv"] == 1


def test_drip_is_stopped_at_the_deadline(server, tmp_path):
    msg, seconds, _ = _fails(server, "/drip.csv", tmp_path, deadline=2.0)
    assert "the download took longer than the 2 s deadline for File 7" in msg
    assert 1.9 < seconds < 3.0
    assert server.hits["/drip.csv"] == 1  # no time left for a retry


def test_body_shorter_than_its_content_length_is_not_cached(server, tmp_path):
    msg, _, _ = _fails(server, "/short-length.csv", tmp_path)
    assert "truncated" in msg
    assert server.hits["/short-length.csv"] == 3  # retried: the next answer may be whole


def test_chunked_body_cut_short_is_not_cached(server, tmp_path):
    msg, _, _ = _fails(server, "/short-chunked.csv", tmp_path)
    assert "the connection broke before the whole body arrived (truncated)" in msg
    assert server.hits["/short-chunked.csv"] == 3


def test_body_without_length_cut_after_a_row_is_caught_by_the_row_count(server, tmp_path):
    msg, _, _ = _fails(server, "/short-rows.csv", tmp_path)
    assert "only 40 rows (a full File 7 has 33,755); it may be truncated" in msg
    assert server.hits["/short-rows.csv"] == 1  # a bad body is not asked for again


def test_body_without_length_cut_inside_a_row_is_caught_by_the_last_row(server, tmp_path):
    msg, _, _ = _fails(server, "/short-mid-row.csv", tmp_path, min_rows=10)
    assert "the last row has 6 fields, the header 56: the body is truncated" in msg


def test_html_error_page_with_200_is_refused(server, tmp_path):
    msg, _, _ = _fails(server, "/error.csv", tmp_path)
    assert "the server sent an HTML page instead of data" in msg
    assert server.hits["/error.csv"] == 1
    with pytest.raises(DownloadError, match="HTML page"):  # any fetch, validator or not
        fetch(f"{server.url}/error.csv", tmp_path, retries=0)
    assert _left_in_cache(tmp_path) == []


def test_503_then_200_is_retried_and_cached_then_reused_without_a_request(server, tmp_path):
    path = _get(server, "/flaky.csv", tmp_path)
    assert path.read_bytes() == IOW_FILE7.read_bytes() and server.hits["/flaky.csv"] == 2
    assert _get(server, "/flaky.csv", tmp_path) == path
    assert server.hits["/flaky.csv"] == 2  # the cache answered


def test_interrupted_download_leaves_no_temporary_file(server, tmp_path, monkeypatch):
    import geo.download as download

    def interrupt(path: Path) -> str | None:
        assert path.name.startswith(".part-") and path.stat().st_size == len(server.body)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download.fetch(f"{server.url}/File_7.csv", tmp_path, suffix=".csv", validate=interrupt)
    assert _left_in_cache(tmp_path) == []


@pytest.mark.slow
def test_run_with_deprivation_url_downloads_and_records_it(server, tmp_path, capsys):
    url = f"{server.url}/File_7.csv"
    out, cache = tmp_path / "out", tmp_path / "cache"
    code = main(["run", "--deprivation", url, "--out", str(out), "--cache-dir", str(cache),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    cached = cache_path(url, cache, ".csv")
    assert cached.read_bytes() == IOW_FILE7.read_bytes() and server.hits["/File_7.csv"] == 1
    m = json.loads((out / "manifest.json").read_text())
    assert any(d["url"] == url and d["cache"] == str(cached) for d in m.get("downloads", []))
    assert m["counts"]["joins"][0]["source"] == url
