"""Download the LSOA (2021) boundaries of an English local authority from the ONS.

Two ArcGIS REST FeatureServer layers of the ONS Open Geography Portal
(https://geoportal.statistics.gov.uk/, Open Government Licence v3.0) are used:

1. the best-fit lookup "LSOA (2021) to Electoral Ward (2024) to LAD (2024)"
   (:data:`LOOKUP_URL`), queried by ``LAD24CD``, gives the LSOA codes of the
   authority. Codes are used rather than the LSOA *names* because LSOA names
   carry the 2021 district name, which no longer matches the authorities created
   in 2023 (e.g. Cumberland, North Yorkshire, Somerset);
2. "Lower layer Super Output Areas (December 2021) Boundaries EW BGC"
   (:data:`BOUNDARIES_URL`, generalised to 20 m and clipped to the coastline),
   queried by ``LSOA21CD IN (...)`` in chunks, returned as GeoJSON in EPSG:4326.

Both are paged with ``resultOffset``/``resultRecordCount`` while the server
reports ``exceededTransferLimit``. Every page goes through
:func:`geo.download.fetch`, so it is cached once it is valid, and an
ArcGIS error body (HTTP 200 with an ``"error"`` key) is never cached.

The service names change when ONS republishes a layer (e.g. ``..._BGC_V5``);
pass ``boundaries_url``/``lookup_url`` (config or flags) to use another version.
Outputs must carry the attribution in :data:`ATTRIBUTION`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd

from geo.download import default_cache_dir, fetch
from socialrisk.core.errors import DownloadError, InputError

log = logging.getLogger(__name__)

ARCGIS_SERVICES = "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"

#: LSOA (December 2021) boundaries, England and Wales, generalised clipped (20 m).
BOUNDARIES_URL = (f"{ARCGIS_SERVICES}/Lower_layer_Super_Output_Areas_December_2021_Boundaries"
                  f"_EW_BGC_V5/FeatureServer/0/query")
#: The super-generalised (200 m) variant, smaller but coarse at area edges.
BOUNDARIES_BSC_URL = (f"{ARCGIS_SERVICES}/Lower_layer_Super_Output_Areas_December_2021_Boundaries"
                      f"_EW_BSC_V4/FeatureServer/0/query")
#: LSOA (2021) to Electoral Ward (2024) to LAD (2024) best-fit lookup, England and Wales.
LOOKUP_URL = f"{ARCGIS_SERVICES}/LSOA21_WD24_LAD24_EW_LU/FeatureServer/0/query"

CODE_FIELD = "LSOA21CD"
NAME_FIELD = "LSOA21NM"
LAD_CODE_FIELD = "LAD24CD"
LAD_NAME_FIELD = "LAD24NM"

#: Records asked for per page (the portal's layers allow up to 2,000; a lower
#: server limit is handled by following ``exceededTransferLimit``).
PAGE_SIZE = 2000
#: LSOA codes per boundary query (keeps the URL short).
CODES_PER_QUERY = 150

ATTRIBUTION = ("Source: Office for National Statistics licensed under the Open Government "
               "Licence v3.0. Contains OS data (c) Crown copyright and database right.")

_LAD_CODE = re.compile(r"^[EW]0[6-9]\d{6}$")
_HINT = ("download 'LSOA (Dec 2021) Boundaries EW BGC' from https://geoportal.statistics.gov.uk/ "
         "by hand and pass it with --areas")


def lsoas_for_lad(
    lad_code: str,
    cache_dir: str | Path | None = None,
    *,
    boundaries_url: str = BOUNDARIES_URL,
    lookup_url: str = LOOKUP_URL,
    page_size: int = PAGE_SIZE,
    retries: int = 3,
    backoff: float = 1.0,
    record: list[dict] | None = None,
) -> gpd.GeoDataFrame:
    """LSOA (2021) boundaries of one local authority district, from the ONS.

    Parameters
    ----------
    lad_code : str
        Local authority district code (2024), e.g. ``"E06000046"`` (Isle of Wight).
    cache_dir : path, optional
        Cache root for the downloaded pages (default: the platform cache dir).
    boundaries_url, lookup_url : str
        ArcGIS ``.../FeatureServer/0/query`` endpoints of the boundaries and of
        the LSOA -> LAD lookup (defaults: :data:`BOUNDARIES_URL`, :data:`LOOKUP_URL`).
    page_size : int
        Records asked for per request.
    retries, backoff : int, float
        Passed to :func:`~geo.download.fetch`.
    record : list, optional
        Receives one ``{"url", "cache", "downloaded"}`` dict per page (see
        :func:`arcgis_query`).

    Returns
    -------
    GeoDataFrame
        Columns ``area_id`` (LSOA21CD), ``area_name`` (LSOA21NM), ``lad_name``
        and ``geometry``, EPSG:4326, sorted by ``area_id``.

    Raises
    ------
    InputError
        When the code is not a district code or the lookup has no LSOAs for it.
    DownloadError
        When a page cannot be downloaded or is not valid (nothing is cached then).
    """
    code = lad_code.strip().upper()
    if not _LAD_CODE.match(code):
        raise InputError(f"{lad_code!r} is not a local authority district code; give a 2024 "
                         f"LAD code such as E06000046 (Isle of Wight)")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    fetch_kw = {"page_size": page_size, "retries": retries, "backoff": backoff, "record": record}

    lookup = arcgis_query(lookup_url, {
        "where": f"{LAD_CODE_FIELD}='{code}'",
        "outFields": f"{CODE_FIELD},{LAD_NAME_FIELD}",
        "returnGeometry": "false",
        "orderByFields": CODE_FIELD,
        "f": "json",
    }, cache, **fetch_kw)
    attrs = [f.get("attributes", {}) for f in lookup]
    codes = sorted({a[CODE_FIELD] for a in attrs if a.get(CODE_FIELD)})
    if not codes:
        raise InputError(f"the ONS lookup {lookup_url} has no LSOAs for district {code}; check "
                         f"the code (2024 districts, England and Wales) or pass --areas")
    lad_name = next((a.get(LAD_NAME_FIELD) for a in attrs if a.get(LAD_NAME_FIELD)), "")
    log.info("boundaries: %d LSOAs in %s (%s)", len(codes), code, lad_name)

    features: list[dict] = []
    for start in range(0, len(codes), CODES_PER_QUERY):
        chunk = codes[start:start + CODES_PER_QUERY]
        where = f"{CODE_FIELD} IN ({','.join(repr(c) for c in chunk)})"
        features += arcgis_query(boundaries_url, {
            "where": where,
            "outFields": f"{CODE_FIELD},{NAME_FIELD}",
            "outSR": "4326",
            "orderByFields": CODE_FIELD,
            "f": "geojson",
        }, cache, **fetch_kw)
    if not features:
        raise DownloadError(f"the ONS boundaries service {boundaries_url} returned no LSOAs for "
                            f"district {code}; {_HINT}")
    gdf = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    gdf = gdf.rename(columns={CODE_FIELD: "area_id", NAME_FIELD: "area_name"})
    gdf = gdf.drop_duplicates("area_id").sort_values("area_id").reset_index(drop=True)
    missing = sorted(set(codes) - set(gdf["area_id"]))
    if missing:
        log.warning("boundaries: %d LSOAs of %s have no boundary (e.g. %s)",
                    len(missing), code, ", ".join(missing[:3]))
    gdf["lad_name"] = lad_name
    return gdf[["area_id", "area_name", "lad_name", "geometry"]]


def arcgis_page_problem(body: bytes) -> str | None:
    """Validator for one ArcGIS query page: ``None`` when good, else the reason.

    Accepts a GeoJSON FeatureCollection or an Esri JSON feature set; refuses
    anything else, in particular ArcGIS error bodies (``{"error": {...}}``),
    which the portal sends with HTTP 200.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "the server did not send JSON"
    if not isinstance(data, dict):
        return "the server sent JSON that is not an object"
    if "error" in data:
        err = data["error"]
        msg = err.get("message", err) if isinstance(err, dict) else err
        return f"the ArcGIS server reported an error: {msg}"
    if not isinstance(data.get("features"), list):
        return "the response has no features list"
    return None


def _exceeded(data: dict) -> bool:
    """``exceededTransferLimit`` of a page (top level in Esri JSON, in properties in GeoJSON)."""
    if data.get("exceededTransferLimit"):
        return True
    props = data.get("properties")
    return bool(isinstance(props, dict) and props.get("exceededTransferLimit"))


def arcgis_query(
    url: str,
    params: dict[str, str],
    cache_dir: str | Path,
    *,
    page_size: int = PAGE_SIZE,
    retries: int = 3,
    backoff: float = 1.0,
    hint: str = _HINT,
    record: list[dict] | None = None,
) -> list[dict]:
    """All features of an ArcGIS REST ``.../query``, page by page, each page cached.

    Pages with ``resultOffset``/``resultRecordCount`` while the server reports
    ``exceededTransferLimit``; every page goes through
    :func:`~geo.download.fetch` with :func:`arcgis_page_problem`, so an
    ArcGIS error body is never cached.

    Parameters
    ----------
    url : str
        The layer's ``.../FeatureServer/N/query`` endpoint.
    params : dict of str to str
        Query parameters (``where``, ``outFields``, ``f``...), without paging.
    cache_dir : path
        Cache root.
    page_size : int
        Records asked for per request.
    retries, backoff : int, float
        Passed to :func:`~geo.download.fetch`.
    hint : str
        What to tell a user who is offline.
    record : list, optional
        When given, one ``{"url", "cache", "downloaded"}`` dict per page is
        appended (``downloaded``: the date of the cached file), for a manifest.

    Returns
    -------
    list of dict
        The features of every page (GeoJSON features or Esri JSON features).
    """
    out: list[dict] = []
    offset = 0
    while True:
        query = dict(params, resultOffset=str(offset), resultRecordCount=str(page_size))
        page_url = f"{url}?{urlencode(query)}"
        path = fetch(page_url, cache_dir, suffix=".json", hint=hint, retries=retries,
                     backoff=backoff, max_bytes=50_000_000, deadline=180.0,
                     label="an ArcGIS page", validate=lambda p: arcgis_page_problem(p.read_bytes()))
        if record is not None:
            record.append(download_record(page_url, path))
        data = json.loads(path.read_bytes())
        feats = data["features"]
        out.extend(feats)
        if not feats or not _exceeded(data):
            return out
        offset += len(feats)


def download_record(url: str, path: Path) -> dict[str, str]:
    """``{"url", "cache", "downloaded"}`` of one cached download (date of the cached file)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime))
    return {"url": url, "cache": str(path), "downloaded": stamp}
