"""Shared test helpers: where the real data lives, and a local HTTP server."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
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


@contextlib.contextmanager
def serve(handler: type) -> Iterator[type]:
    """Serve ``handler`` (a request handler class) on 127.0.0.1; sets ``handler.url``."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield handler
    finally:
        srv.shutdown()
        srv.server_close()


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


@pytest.fixture(scope="session")
def cowes(tmp_path_factory):
    """A small real extract: Cowes, cut from the embedded Isle of Wight data.

    ``pbf``: every node in the box and every way touching it (with all its
    nodes; no relations), so West and East Cowes are two networks joined by no
    walkable way (the Medina has a chain ferry only); ``areas``: the 6 LSOAs
    inside the box (GeoPackage, EPSG:4326, id column ``lsoa11_code``). A
    complete ``socialrisk run`` on them takes about a second.
    """
    import geopandas as gpd
    import osmium
    import shapely

    root = tmp_path_factory.mktemp("cowes")
    x0, y0, x1, y1 = -1.325, 50.735, -1.27, 50.772

    def inside(loc) -> bool:
        return loc.valid() and x0 <= loc.lon <= x1 and y0 <= loc.lat <= y1

    pbf = root / "cowes.osm.pbf"
    with osmium.BackReferenceWriter(str(pbf), ref_src=str(IOW_PBF), overwrite=True) as w:
        for obj in osmium.FileProcessor(str(IOW_PBF), osmium.osm.NODE | osmium.osm.WAY) \
                .with_locations():
            if obj.is_node():
                if inside(obj.location):
                    w.add_node(obj)
            elif any(inside(n.location) for n in obj.nodes):
                w.add_way(obj)
    lsoa = gpd.read_file(IOW_LSOA)
    box = shapely.box(x0 + 0.01, y0 + 0.006, x1 - 0.01, y1 - 0.006)
    areas = root / "cowes.gpkg"
    lsoa[lsoa.within(box)].to_file(areas, driver="GPKG")

    class Cowes:
        pass

    Cowes.pbf, Cowes.areas, Cowes.root = pbf, areas, root
    return Cowes


def cli_error(argv: list[str], capsys, out: Path) -> str:
    """Run ``socialrisk`` in-process expecting a user error; returns the error line.

    Asserts the reliability contract: exit code 2, exactly one ``socialrisk:
    error:`` line on stderr, no traceback, and no output directory at ``out``.
    """
    from socialrisk.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("socialrisk: error:")]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert not out.exists()
    assert not list(out.parent.glob(".socialrisk-part-*"))
    return lines[0]


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if the computation starts: a bad input must be refused before it."""
    from socialrisk import pipeline

    def boom(settings):
        raise AssertionError("the run started before its inputs and --out were checked")

    monkeypatch.setattr(pipeline, "prepare", boom)


@pytest.fixture(scope="session")
def iow_prepared():
    """The embedded Isle of Wight, prepared and computed once per test session.

    With the real IoD2025 File 7 when ../shared/data is present (prepare +
    compute take ~8 s). Returns ``(Prepared, RunResult)``.
    """
    from socialrisk.pipeline import compute, prepare
    from socialrisk.settings import DeprivationSource, Settings

    dep = [DeprivationSource(path=str(IOW_FILE7), kind="file7")] if IOW_FILE7.is_file() else []
    p = prepare(Settings(file7_download=False, quiet=True, deprivation=dep))
    return p, compute(p)


@pytest.fixture(scope="module")
def cowes_run(cowes, tmp_path_factory):
    """A small real run (Cowes) with its app data saved once: ``(prepared, result, app)``.

    Tests copy the ``app`` folder before tampering with it.
    """
    from socialrisk.pipeline import compute, prepare
    from socialrisk.runstore import save_run
    from socialrisk.settings import Settings

    s = Settings(osm=str(cowes.pbf), areas=str(cowes.areas), area_id="lsoa11_code",
                 file7_download=False, quiet=True, map=False)
    p = prepare(s)
    r = compute(p)
    app = tmp_path_factory.mktemp("cowes_app") / "app"
    save_run(p, r, app)
    return p, r, app
