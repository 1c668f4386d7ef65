"""lsoas_for_lad against a local ArcGIS-like server serving the real ONS LSOA 2021 boundaries.

The server answers ``.../query`` like an ArcGIS FeatureServer layer: it applies
the ``where`` clause, pages with ``resultOffset``/``resultRecordCount`` (capped at
a ``maxRecordCount`` of 50) and sets ``exceededTransferLimit``. The conftest
``http_server`` fixture maps a path to one fixed body, which cannot page, so it
is used here only for the fixed error responses.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pandas as pd
import pytest
from conftest import ENGLAND, IOW_FILE7, needs_shared

from geo.boundaries import arcgis_page_problem, lsoas_for_lad
from socialrisk.core.errors import DownloadError, InputError

pytestmark = [pytest.mark.network, needs_shared]

IOW_LAD = "E06000046"
MAX_RECORDS = 50


@pytest.fixture(scope="module")
def ons_tables():
    """Real IoW data in the services' field names: boundaries (BSC) and LSOA -> LAD lookup."""
    eng = gpd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet")
    iow = eng[eng["lsoa21_name"].str.startswith("Isle of Wight")]
    boundaries = iow.rename(columns={"lsoa21_code": "LSOA21CD", "lsoa21_name": "LSOA21NM"})
    file7 = pd.read_csv(IOW_FILE7, usecols=[0, 2, 3])
    file7.columns = ["LSOA21CD", "LAD24CD", "LAD24NM"]
    return boundaries, file7


class _ArcGISHandler(http.server.BaseHTTPRequestHandler):
    boundaries: gpd.GeoDataFrame
    lookup: pd.DataFrame
    hits: list[str]

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        offset = int(q.get("resultOffset", 0))
        count = min(int(q.get("resultRecordCount", MAX_RECORDS)), MAX_RECORDS)
        where = q.get("where", "1=1")
        if parts.path == "/lookup/FeatureServer/0/query":
            m = re.fullmatch(r"LAD24CD='(\w+)'", where)
            rows = self.lookup[self.lookup["LAD24CD"] == m.group(1)].sort_values("LSOA21CD")
            page = rows.iloc[offset:offset + count]
            fields = q["outFields"].split(",")
            body = {"features": [{"attributes": r} for r in page[fields].to_dict("records")]}
            if offset + count < len(rows):
                body["exceededTransferLimit"] = True
        elif parts.path == "/lsoa/FeatureServer/0/query":
            m = re.fullmatch(r"LSOA21CD IN \((.*)\)", where)
            codes = re.findall(r"'(\w+)'", m.group(1))
            rows = self.boundaries[self.boundaries["LSOA21CD"].isin(codes)]
            rows = rows.sort_values("LSOA21CD")
            page = rows.iloc[offset:offset + count]
            body = json.loads(page.to_json(drop_id=True))
            if offset + count < len(rows):
                body["properties"] = {"exceededTransferLimit": True}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def arcgis(ons_tables):
    boundaries, lookup = ons_tables
    handler = type("H", (_ArcGISHandler,), {"boundaries": boundaries, "lookup": lookup,
                                           "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield {"boundaries_url": f"{base}/lsoa/FeatureServer/0/query",
               "lookup_url": f"{base}/lookup/FeatureServer/0/query", "hits": handler.hits}
    finally:
        server.shutdown()
        server.server_close()


def test_isle_of_wight_paged_and_cached(arcgis, ons_tables, tmp_path):
    urls = {k: arcgis[k] for k in ("boundaries_url", "lookup_url")}
    gdf = lsoas_for_lad(IOW_LAD, tmp_path / "cache", **urls)
    assert len(gdf) == 89 and gdf["area_id"].is_unique
    assert list(gdf.columns) == ["area_id", "area_name", "lad_name", "geometry"]
    assert gdf.crs.to_epsg() == 4326
    assert (gdf["lad_name"] == "Isle of Wight").all()
    assert set(gdf["area_id"]) == set(ons_tables[0]["LSOA21CD"])
    # the client asked for 2000 per page; the server's limit of 50 means 2 pages each
    hits = list(arcgis["hits"])
    assert len(hits) == 4
    assert sum("resultOffset=50" in h for h in hits) == 2
    # a second call is served from the cache
    again = lsoas_for_lad(IOW_LAD, tmp_path / "cache", **urls)
    assert len(arcgis["hits"]) == 4
    assert again.geometry.equals(gdf.geometry)


def test_small_pages(arcgis, tmp_path):
    urls = {k: arcgis[k] for k in ("boundaries_url", "lookup_url")}
    gdf = lsoas_for_lad(IOW_LAD, tmp_path, page_size=30, **urls)
    assert len(gdf) == 89
    assert len(arcgis["hits"]) == 6  # 89 rows in 3 pages of up to 30, twice


def test_unknown_and_malformed_codes(arcgis, tmp_path):
    urls = {k: arcgis[k] for k in ("boundaries_url", "lookup_url")}
    with pytest.raises(InputError, match="has no LSOAs for district E06000999"):
        lsoas_for_lad("E06000999", tmp_path, **urls)
    with pytest.raises(InputError, match="not a local authority district code"):
        lsoas_for_lad("Isle of Wight", tmp_path, **urls)


def test_error_json_and_http_500_not_cached(http_server, tmp_path):
    error = json.dumps({"error": {"code": 400, "message": "Invalid or missing input parameters.",
                                  "details": []}}).encode()
    http_server.routes["/lookup/query"] = (200, error, "application/json")
    http_server.routes["/lsoa/query"] = (500, b"Internal Server Error", "text/plain")
    urls = {"boundaries_url": f"{http_server.url}/lsoa/query",
            "lookup_url": f"{http_server.url}/lookup/query"}
    with pytest.raises(DownloadError, match="ArcGIS server reported an error: Invalid or"):
        lsoas_for_lad(IOW_LAD, tmp_path, **urls)
    assert not (tmp_path / "downloads").exists() or not any((tmp_path / "downloads").iterdir())
    with pytest.raises(DownloadError, match="ArcGIS server reported an error"):
        lsoas_for_lad(IOW_LAD, tmp_path, **urls)
    assert len(http_server.hits) == 2  # asked again: the error was not cached

    # a good lookup page, then HTTP 500 from the boundaries service (retried, then refused)
    lookup = {"features": [{"attributes": {"LSOA21CD": "E01017282", "LAD24NM": "Isle of Wight"}}]}
    http_server.routes["/lookup/query"] = (200, json.dumps(lookup).encode(), "application/json")
    with pytest.raises(DownloadError, match="HTTP 500"):
        lsoas_for_lad(IOW_LAD, tmp_path, retries=1, backoff=0.01, **urls)
    assert sum("/lsoa/query" in h for h in http_server.hits) == 2
    assert len(list((tmp_path / "downloads").iterdir())) == 1  # only the lookup page


def test_page_validator():
    assert arcgis_page_problem(b'{"type": "FeatureCollection", "features": []}') is None
    assert "no features" in arcgis_page_problem(b'{"type": "FeatureCollection"}')
    assert "not send JSON" in arcgis_page_problem(b"<xml/>")
