"""Shared test helpers: where the real data lives, and a local HTTP server."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
IOW_PBF = DATA / "isle_of_wight" / "isle-of-wight-2020-04-22.osm.pbf"
IOW_LSOA = DATA / "isle_of_wight" / "lsoa11_isle_of_wight.geojson"
SHARED = ROOT.parent / "shared" / "data"
IOW_FILE7 = SHARED / "isle_of_wight" / "File_7_IoD2025_Isle_of_Wight.csv"
ENGLAND = SHARED / "england"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason="../shared/data (real England reference data) is not present"
)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a directory; ``routes`` maps a request path to (status, body, type)."""

    routes: dict[str, tuple[int, bytes, str]] = {}
    hits: list[str] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.hits.append(self.path)
        key = self.path.split("?", 1)[0]
        if key in self.routes:
            status, body, ctype = self.routes[key]
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def do_POST(self):  # noqa: N802 (Overpass uses POST)
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        self.do_GET()


@pytest.fixture
def http_server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving ``tmp_path / "www"``.

    Yields an object with ``url`` (base URL), ``root`` (the served directory),
    ``routes`` (path -> (status, body bytes, content type), checked first) and
    ``hits`` (request paths seen, in order).
    """
    root = tmp_path / "www"
    root.mkdir()
    handler = type("Handler", (_Handler,), {"routes": {}, "hits": []})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    class Info:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        routes = handler.routes
        hits = handler.hits

    Info.root = root
    try:
        yield Info
    finally:
        server.shutdown()
        server.server_close()
