"""Several processes download the same URL into one cache at once: nothing corrupt, all valid."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading
import time

import pytest
from conftest import IOW_FILE7, needs_shared

pytestmark = [needs_shared, pytest.mark.network]

N_PROCESSES = 4

SCRIPT = """
import hashlib, sys
from geo.deprivation import file7_download
path = file7_download(sys.argv[1], sys.argv[2], min_rows=80, retries=1, backoff=0.05)
print(path, hashlib.sha256(path.read_bytes()).hexdigest())
"""


class _Slow(http.server.BaseHTTPRequestHandler):
    """Sends the real File 7 in four pieces 0.1 s apart, so that the downloads overlap."""

    body = b""
    hits: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        step = len(self.body) // 4 + 1
        for i in range(0, len(self.body), step):
            self.wfile.write(self.body[i:i + step])
            self.wfile.flush()
            time.sleep(0.1)


def test_concurrent_downloads_into_one_cache(tmp_path):
    body = IOW_FILE7.read_bytes()
    handler = type("H", (_Slow,), {"body": body, "hits": []})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/File_7.csv"
    cache = tmp_path / "cache"
    try:
        procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(cache), url],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(N_PROCESSES)]
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        srv.shutdown()
        srv.server_close()
    want = hashlib.sha256(body).hexdigest()
    paths = set()
    for (out, err), p in zip(results, procs, strict=True):
        assert p.returncode == 0, err
        path, digest = out.split()
        assert digest == want
        paths.add(path)
    assert len(paths) == 1
    files = sorted((cache / "downloads").iterdir())
    assert [f.name for f in files] == [paths.pop().rsplit("/", 1)[-1]]  # no partial files left
    assert files[0].read_bytes() == body
    assert len(handler.hits) >= 2  # the downloads really did overlap (none found a cached copy)
