"""map.html layout: title, wrapping tooltips, the legend beside the areas, attribution
off the scale bar; outlines of the study areas on the app's maps.

The browser test measures element rectangles in a real headless Chromium (selenium,
Debian ``chromium`` and ``chromium-driver``; skipped with the reason otherwise) on the
Isle of Wight LSOAs shipped in ``data/isle_of_wight`` (ONS boundaries, OGL).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from socialrisk import webmap
from socialrisk.core import schema
from socialrisk.maplayers import LAYOUT_CSS, OUTLINE_CLASS
from socialrisk.ui.site import base_map as app_base_map
from socialrisk.webmap import build_map, map_html, study_area_name

ROOT = Path(__file__).resolve().parents[1]
IOW = ROOT / "data" / "isle_of_wight" / "lsoa11_isle_of_wight.geojson"
NO_AMENITIES = gpd.GeoDataFrame({"category": pd.Series([], dtype=object)}, geometry=[],
                                crs="EPSG:4326")


def _areas(lad: str = "Isle of Wight") -> gpd.GeoDataFrame:
    boxes = [shapely.box(-1.3 + 0.02 * i, 50.6, -1.29 + 0.02 * i, 50.61) for i in range(3)]
    return gpd.GeoDataFrame({schema.AREA_ID: ["A", "B", "C"], "lad_name": [lad] * 3,
                             schema.ISOLATION_RISK_DECILE: [1.0, 5.0, 10.0]},
                            geometry=boxes, crs="EPSG:4326")


def test_title_in_the_page_and_on_the_map():
    doc = map_html(build_map(_areas(), NO_AMENITIES, {}, basemap=False, run_date="2026-01-31"))
    title = "Isolation risk (decile, 1 = highest risk) - Isle of Wight, 3 areas - run of 2026-01-31"
    assert f"<title>{title}</title>" in doc
    assert "socialrisk-title" in doc and "run of 2026-01-31" in doc


def test_hostile_study_area_is_escaped_in_the_title():
    doc = map_html(build_map(_areas("<script>x</script>"), NO_AMENITIES, {}, basemap=False))
    assert "<script>x</script>" not in doc
    assert "<title>Isolation risk (decile, 1 = highest risk) - &lt;script&gt;x&lt;/script&gt;" \
        in doc


def test_study_area_name():
    assert study_area_name(_areas()) == "Isle of Wight, 3 areas"
    assert study_area_name(_areas().drop(columns="lad_name")) == "3 areas"
    many = _areas().assign(lad_name=["a", "b", "c"])
    assert study_area_name(many) == "a, b, c, 3 areas"
    assert study_area_name(pd.concat([many, many.assign(lad_name="d")])) \
        == "4 local authorities, 6 areas"


def test_tooltip_wraps_and_attribution_wraps():
    doc = map_html(build_map(_areas(), NO_AMENITIES, {}, basemap=False))
    assert f"<style>{LAYOUT_CSS}</style>" in doc
    tip = LAYOUT_CSS.split(".leaflet-container .leaflet-tooltip{", 1)[1].split("}", 1)[0]
    assert "max-width:320px" in tip and "white-space:normal" in tip
    attr = LAYOUT_CSS.split(".leaflet-control-attribution.leaflet-control{", 1)[1]
    assert attr.startswith("white-space:normal;max-width:45vw")


def test_legend_is_collapsible_bottom_left():
    doc = map_html(build_map(_areas(), NO_AMENITIES, {}, basemap=False))
    assert '"bottomleft"' in doc and "\\u003cdetails open\\u003e\\u003csummary\\u003e" in doc


def test_app_maps_draw_the_area_outlines():
    areas = _areas().to_crs("EPSG:27700")
    doc = map_html(app_base_map(SimpleNamespace(areas=areas)))
    assert OUTLINE_CLASS in doc and '"interactive": false' in doc
    assert doc.count('"type": "LineString"') == 3  # one outline per area, lines: no fill


def test_webmap_names_still_importable_and_files_short():
    for name in webmap.__all__:
        assert hasattr(webmap, name), name
    for f in ("webmap.py", "maplayers.py", "maplegend.py", "connectplaces.py"):
        assert len((ROOT / "socialrisk" / f).read_text().splitlines()) <= 600, f


# ---------------------------------------------------------------- real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

_RECTS = """
function r(e){if(!e)return null;var b=e.getBoundingClientRect();
  return [b.left,b.top,b.right,b.bottom];}
var u=null;
document.querySelectorAll('path.leaflet-interactive').forEach(function(p){var b=r(p);
  if(!u){u=b.slice();} else {u=[Math.min(u[0],b[0]),Math.min(u[1],b[1]),
                               Math.max(u[2],b[2]),Math.max(u[3],b[3])];}});
return {legend: r(document.querySelector('.socialrisk-legend')),
        title: r(document.querySelector('.socialrisk-title')),
        scale: r(document.querySelector('.leaflet-control-scale')),
        attribution: r(document.querySelector('.leaflet-control-attribution')),
        areas: u, n: document.querySelectorAll('path.leaflet-interactive').length};
"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                    reason="chromium and chromium-driver are not installed "
                           "(apt-get install -y chromium chromium-driver)")
@pytest.mark.parametrize("size", [(1400, 900), (900, 700)])
def test_legend_beside_areas_and_attribution_off_scale_bar(tmp_path, size):
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    areas = gpd.read_file(IOW).rename(columns={"lsoa11cd": schema.AREA_ID})
    if schema.AREA_ID not in areas.columns:
        areas[schema.AREA_ID] = [f"a{i}" for i in range(len(areas))]
    areas[schema.ISOLATION_RISK_DECILE] = np.arange(len(areas)) % 10 + 1.0
    path = tmp_path / "map.html"
    build_map(areas, NO_AMENITIES, {}, basemap=False).save(str(path))
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              f"--window-size={size[0]},{size[1]}"):
        opts.add_argument(a)
    opts.binary_location = CHROMIUM
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        d.get(path.as_uri())
        time.sleep(1.5)
        got = d.execute_script(_RECTS)
    finally:
        d.quit()
    assert got["n"] == len(areas)
    assert not _overlap(got["legend"], got["areas"]), got
    assert not _overlap(got["title"], got["areas"]), got
    assert not _overlap(got["attribution"], got["scale"]), got
