"""Download limits benchmark: memory and time of runaway downloads with the production caps.

    python -m bench.download_limits

A local HTTP server (127.0.0.1, in this process) sends two bodies that never
stop on their own:

* ``endless``: a CSV with the real IoD2025 File 7 header and rows of the Isle of
  Wight (``../shared/data``, or a stand-in row when absent), repeated forever,
  with no Content-Length;
* ``bomb``: one gzip member of 2 GB of zeros (about 2 MB on the wire), sent with
  ``Content-Encoding: gzip``.

Each is downloaded by every caller of :func:`geo.download.fetch`
with its production defaults (no test caps): :func:`~geo.deprivation.file7_download`,
a ``--deprivation`` URL (``geo.tables._fetch_source``) and an ArcGIS page
(:func:`~geo.boundaries.arcgis_query`). Every download runs in a fresh
child process; the table gives its wall time, its peak resident set size
(``VmHWM``, reset just before the download, so imports do not count) and how
much that peak is above the resident size before the download. A control row
keeps the first 64 MB of the endless body in memory (what ``resp.content`` did,
stopped early) to show that the meter sees buffering.
"""

from __future__ import annotations

import http.server
import json
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE7 = ROOT.parent / "shared" / "data" / "isle_of_wight" / "File_7_IoD2025_Isle_of_Wight.csv"
CALLERS = ["File 7", "deprivation URL", "ArcGIS page"]


def gzip_bomb(size: int, unit: int = 1 << 20) -> bytes:
    """One gzip member of ``size`` zero bytes, built from one repeated fully-flushed block."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(unit)) + comp.flush(zlib.Z_FULL_FLUSH)
    crc, zeros = 0, bytes(unit)
    for _ in range(size // unit):
        crc = zlib.crc32(zeros, crc)
    return b"".join([b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff", block * (size // unit),
                     comp.flush(), struct.pack("<II", crc, size & 0xFFFFFFFF)])


def _serve(body: bytes, bomb: bytes, stop: threading.Event) -> http.server.HTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            try:
                if self.path.startswith("/bomb"):
                    self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Encoding: gzip\r\n"
                                     b"Content-Length: %d\r\n\r\n" % len(bomb))
                    self.wfile.write(bomb)
                    return
                self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/csv\r\n\r\n")
                rows = body[body.index(b"\n") + 1:] * 50
                self.wfile.write(body)
                while not stop.is_set():
                    self.wfile.write(rows)
            except (BrokenPipeError, ConnectionResetError):
                pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _buffer(url: str, n: int) -> None:
    """The control: keep the first ``n`` bytes in memory, as ``resp.content`` did."""
    import requests

    from socialrisk.core.errors import DownloadError

    with requests.get(url, stream=True, timeout=60) as resp:
        kept, size = [], 0
        for chunk in resp.iter_content(1 << 16):
            kept.append(chunk)
            size += len(chunk)
            if size >= n:
                raise DownloadError(f"{url}: control held {size / 1e6:.0f} MB in memory")


def _child(caller: str, url: str) -> None:
    """Download ``url`` as ``caller`` does (production defaults); print one JSON line."""
    from geo.boundaries import arcgis_query
    from geo.deprivation import file7_download
    from geo.tables import _fetch_source
    from socialrisk.core.errors import DownloadError

    with tempfile.TemporaryDirectory() as cache:
        run = {"File 7": lambda: file7_download(cache, url, retries=0),
               "control": lambda: _buffer(url, 64_000_000),
               "deprivation URL": lambda: _fetch_source(url, "auto", cache),
               "ArcGIS page": lambda: arcgis_query(url, {"f": "geojson"}, cache, retries=0)}
        before = _status_kb("VmRSS")
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        t0 = time.perf_counter()
        try:
            run[caller]()
            result = "downloaded (!)"
        except DownloadError as exc:
            result = str(exc).split(": ", 1)[1].split(";")[0]
        seconds = time.perf_counter() - t0
        peak = _status_kb("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024,
                      "growth_mb": (peak - before) / 1024, "result": result}))


def main() -> None:
    """Serve the runaway bodies, download each with each caller in a child, print a table."""
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return
    body = FILE7.read_bytes() if FILE7.is_file() else \
        b"LSOA code (2021),IMD score\n" + b"E01000001,10.0\n" * 100
    t0 = time.perf_counter()
    bomb = gzip_bomb(2048 << 20)
    print(f"gzip bomb: {len(bomb) / 1e6:.1f} MB on the wire, 2,147 MB inflated "
          f"(built in {time.perf_counter() - t0:.1f} s)")
    stop = threading.Event()
    srv = _serve(body, bomb, stop)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    rows = []
    try:
        for body_kind in ("endless", "bomb"):
            for caller in CALLERS + (["control"] if body_kind == "endless" else []):
                url = f"{base}/{body_kind}/{caller.replace(' ', '_')}"
                out = subprocess.run([sys.executable, "-m", "bench.download_limits", "--child",
                                      caller, url], capture_output=True, text=True, cwd=ROOT,
                                     timeout=900, check=False)
                if out.returncode:
                    raise SystemExit(out.stderr)
                rows.append((body_kind, caller, json.loads(out.stdout.strip().splitlines()[-1])))
    finally:
        stop.set()
        srv.shutdown()
        srv.server_close()
    print(f"{'body':<8} {'caller':<16} {'wall s':>7} {'peak RSS MB':>12} {'growth MB':>10}  result")
    for body_kind, caller, r in rows:
        print(f"{body_kind:<8} {caller:<16} {r['seconds']:>7.2f} {r['peak_mb']:>12.0f} "
              f"{r['growth_mb']:>10.1f}  {r['result']}")


if __name__ == "__main__":
    main()
