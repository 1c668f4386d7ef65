"""No script runs from text: hostile OSM tags, area ids/names and taxonomy labels in every
HTML page we write (``map.html``, the app's maps, the site report, the printable list).

The real Isle of Wight run (the session fixture ``iow_prepared``) gets payloads written into
some amenities' name, opening_hours, wheelchair and website, some areas' id, name and
drivers, and some category labels. Each page is then built by the same code as the CLI and
the app pages and opened in a real headless Chromium: every layer is switched on, every
tooltip and popup opened, and nothing may run, while the payloads are shown as text.

The browser tests need Debian ``chromium`` and ``chromium-driver`` and ``selenium``
(skipped with the reason otherwise); the plain-Python tests always run.
"""

from __future__ import annotations

import dataclasses
import html
import shutil
import string
import time

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

_BROWSER_MARKS = [
    pytest.mark.browser, pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                       "(apt-get install -y chromium)"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason="chromedriver is not installed "
                       "(apt-get install -y chromium-driver)"),
    pytest.mark.skipif(not HAVE_SELENIUM, reason="selenium is not installed "
                       "(pip install selenium)"),
]


def browser_test(func):
    """Marks a test as driving Chromium (skipped with the reason when it cannot)."""
    for mark in reversed(_BROWSER_MARKS):
        func = mark(func)
    return func

IMG = '<img src=x onerror="window.__pwned=(window.__pwned||0)+1">'
SCRIPT = "</script><script>window.__pwned=1</script>"
TEMPLATE = "`${window.__pwned=1}`"
SVG = '"><svg onload=window.__pwned=1>'
QUOTE = "'-alert(1)-'"
JS_URL = "javascript:window.__pwned=1"
MD_LINK = "[click me](javascript:window.__pwned=1)"
#: branca renders a map's script as a Jinja template again: this must stay text
JINJA = "{{ 'jinja' ~ '-ran' }}{% if true %}{{ 'jinja-if' ~ '-ran' }}{% endif %}"
PAYLOADS = [IMG, SCRIPT, TEMPLATE, SVG, QUOTE, JINJA]
NORMAL = ["St Mary's Church", "Fish & Chips"]
#: what must never be in a page as it is (after undoing JSON's \u escapes)
RAW = ["<img src=x", "<script>window", "${window", "<svg onload", "'-alert(1)-'", "javascript:",
       "jinja-ran", "jinja-if-ran"]

HOSTILE_LABELS = {"gp": f"GP {IMG} surgery", "library": f"Library {TEMPLATE}",
                  "pharmacy": f"Pharmacy {QUOTE}", "cafe_pub": f"Cafe {SCRIPT}",
                  "food_shop": f"Food shop {SVG}"}
HOSTILE_CATEGORY = '<svg onload=window.__pwned=1>cat'
SITE = (50.7006, -1.2924)  # Newport (lat, lon)
MAP_RADIUS_M = 2000.0


# ---------------------------------------------------------------- hostile inputs


def _distance_m(gdf, near: tuple[float, float]) -> np.ndarray:
    import geopandas as gpd
    from shapely.geometry import Point

    c = gpd.GeoSeries([Point(near[1], near[0])], crs="EPSG:4326").to_crs("EPSG:27700").iloc[0]
    return gdf.to_crs("EPSG:27700").geometry.representative_point().distance(c).to_numpy()


def _hostile_amenities(amenities, near: tuple[float, float], radius_m: float = 900.0):
    """A copy with payloads in the tags of every amenity within ``radius_m`` of ``near``."""
    am = amenities.copy()
    rows = np.flatnonzero(_distance_m(am, near) <= radius_m)
    assert len(rows) > 40
    pool = PAYLOADS + NORMAL
    for k, i in enumerate(rows):
        am.iloc[i, am.columns.get_loc("name")] = pool[k % len(pool)]
        am.iloc[i, am.columns.get_loc("opening_hours")] = PAYLOADS[(k + 1) % len(PAYLOADS)]
        am.iloc[i, am.columns.get_loc("wheelchair")] = PAYLOADS[(k + 2) % len(PAYLOADS)]
        am.iloc[i, am.columns.get_loc("website")] = (
            JS_URL if k % 3 == 0 else MD_LINK if k % 3 == 1 else f"https://example.org/{k}")
    return am


def _hostile_areas(areas):
    a = areas.copy()
    a["area_id"] = a["area_id"].astype(object)
    for k, text in enumerate(PAYLOADS + NORMAL):
        a.loc[a.index[k], "area_id"] = f"E0{k}{text}"
        a.loc[a.index[k], "area_name"] = text
        a.loc[a.index[k], "isolation_risk_drivers"] = text
    return a


@pytest.fixture(scope="module")
def hostile(iow_prepared):
    """(prepared, result, labels) with payloads everywhere outside text reaches."""
    p, r = iow_prepared
    labels = {**r.labels, **HOSTILE_LABELS}
    hp = dataclasses.replace(p, amenities=_hostile_amenities(p.amenities, SITE), labels=labels)
    ram = _hostile_amenities(r.amenities, SITE)
    # the maps draw the places within 2 km (every category): opening the tooltip and popup of
    # each of the island's 2,618 places would take a minute; the code path is the same
    ram = ram[_distance_m(ram, SITE) <= MAP_RADIUS_M].copy()
    ram.iloc[:3, ram.columns.get_loc("category")] = HOSTILE_CATEGORY  # a category with no label
    hr = dataclasses.replace(r, areas=_hostile_areas(r.areas), amenities=ram, labels=labels)
    return hp, hr, labels


@pytest.fixture(scope="module")
def pages(hostile, tmp_path_factory):
    """Every hostile page written to a file: ({name: path}, {map name: texts it must show})."""
    from risk.isochrone import isochrone
    from socialrisk.outputs import map_areas
    from socialrisk.report import assets_list_html, site_report_html
    from socialrisk.screening import assets_within, screen_site
    from socialrisk.ui.connect import found_markers
    from socialrisk.ui.explore import explore_map
    from socialrisk.ui.site import base_map, point_marker, site_map
    from socialrisk.ui.whatif import existing_markers
    from socialrisk.webmap import build_map, map_html

    p, r, labels = hostile
    out = tmp_path_factory.mktemp("hostile")
    docs: dict[str, str] = {}
    # map.html exactly as socialrisk.pipeline.run_and_write renders it
    tips = [c for c in ["area_id", "population", "isolation_risk", "isolation_risk_drivers"]
            if r.areas[c].notna().any()]
    build_map(map_areas(r.areas), r.amenities, r.labels, tips).save(str(out / "map.html"))
    docs["map"] = (out / "map.html").read_text(encoding="utf-8")
    # explore page: indicator with a hostile label, every amenity layer shown, one selected
    a = map_areas(r.areas).to_crs("EPSG:4326").reset_index(drop=True)
    docs["explore"] = map_html(explore_map(a, r.amenities, labels, "gp_walk_min", "deciles",
                                           shown=list(labels) + [HOSTILE_CATEGORY],
                                           selected=str(a["area_id"].iloc[0])))
    # site page
    sc = screen_site(p, SITE[1], SITE[0], areas=r.areas)
    iso = isochrone(p.network, sc.site["x"], sc.site["y"], (5, 10, 15), p.settings.walk_speed_kmh)
    assert sc.table["nearest_name"].isin(PAYLOADS).sum() >= 3
    docs["site"] = map_html(site_map(p, sc, iso, None, labels))
    docs["site_report"] = site_report_html(sc, iso, p.amenities, title=f"Site {IMG}",
                                           labels=labels, data_note=SCRIPT)

    # what-if page: both branches' markers on one map
    fmap = base_map(p)
    point_marker(SITE[0], SITE[1], f"new {labels['gp'].lower()}", "#1a9641").add_to(fmap)
    rows = np.flatnonzero(p.amenities["category"].to_numpy() == "gp")
    existing_markers(fmap, p.amenities, rows)
    row = int(rows[p.amenities["name"].iloc[rows].isin(PAYLOADS).to_numpy()][0])
    point_marker(SITE[0], SITE[1] + 0.001, f"{p.amenities['name'].iloc[row]} (row {row})",
                 "#d7191c").add_to(fmap)
    docs["whatif"] = map_html(fmap)
    # connect page and its printable list
    found = assets_within(p, SITE[1], SITE[0], 15, 4.8)
    assert found["name"].isin(PAYLOADS).sum() >= 10
    fmap = base_map(p)
    point_marker(SITE[0], SITE[1], "start", "#d7191c").add_to(fmap)
    found_markers(fmap, found, labels, list(p.taxonomy))
    docs["connect"] = map_html(fmap)
    docs["assets_list"] = assets_list_html(
        found.assign(label=found["category"].map(labels).fillna(found["label"])),
        place=f"{SVG} {QUOTE}", minutes=15, speed_kmh=4.8, data_note=TEMPLATE)
    paths = {}
    for name, doc in docs.items():
        path = out / f"{name}.html"
        path.write_text(doc, encoding="utf-8")
        paths[name] = path
    # payloads each map shows as text in a tooltip, popup, layer control or legend
    nearest = [t for t in PAYLOADS + NORMAL if t in set(sc.table["nearest_name"])]
    expect = {
        "map": PAYLOADS + NORMAL + [HOSTILE_CATEGORY, HOSTILE_LABELS["gp"]],
        "explore": PAYLOADS + NORMAL + [HOSTILE_LABELS["gp"], HOSTILE_LABELS["library"]],
        "site": [HOSTILE_LABELS["gp"], *nearest],
        "whatif": [f"new {HOSTILE_LABELS['gp'].lower()}", p.amenities["name"].iloc[row]],
        "connect": PAYLOADS + NORMAL + [HOSTILE_LABELS["cafe_pub"]],
    }
    return paths, expect


# ---------------------------------------------------------------- plain Python


def _unjson(doc: str) -> str:
    """The page with JSON's HTML-safe escapes undone (jinja's tojson writes < as \\u003c)."""
    for esc, ch in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"), ("\\u0027", "'"),
                    ('\\"', '"')):
        doc = doc.replace(esc, ch)
    return doc


@pytest.mark.parametrize("name", ["map", "explore", "site", "whatif", "connect", "site_report",
                                  "assets_list"])
def test_no_outside_text_is_written_unescaped(pages, name):
    doc = _unjson(pages[0][name].read_text(encoding="utf-8"))
    for raw in RAW:
        assert raw not in doc, f"{raw!r} is in {name}.html as it is"
    # ... but it is there, escaped, to be read
    assert "&lt;img src=x onerror=" in doc


def test_links_only_to_http(pages):
    doc = pages[0]["assets_list"].read_text(encoding="utf-8")
    assert 'href="https://example.org/' in doc
    assert "javascript" not in doc.lower() and "click me" not in doc


def test_normal_text_is_escaped_once(pages):
    from socialrisk.core.sanitize import html_text

    doc = _unjson(pages[0]["map"].read_text(encoding="utf-8"))
    assert html_text("St Mary's Church") in doc and html_text("Fish & Chips") in doc
    assert "&amp;#x27;" not in doc and "&amp;amp;" not in doc


def test_markdown_text_is_literal():
    from socialrisk.ui.site import md_text

    for text in [MD_LINK, f"![x](http://example.org/x.png) {IMG}", "a_b*c* `d` $x$ :red[e]",
                 "line\n# heading", None, float("nan")]:
        out = md_text(text)
        plain = "" if text is None or text != text else " ".join(str(text).splitlines())
        # every ASCII punctuation character is backslash-escaped; removing the escapes
        # gives the text back, so CommonMark shows exactly the text
        assert "\n" not in out
        i = 0
        rebuilt = []
        while i < len(out):
            if out[i] == "\\":
                assert out[i + 1] in string.punctuation
                rebuilt.append(out[i + 1])
                i += 2
            else:
                assert out[i] not in string.punctuation, out
                rebuilt.append(out[i])
                i += 1
        assert "".join(rebuilt) == plain


def test_clicked_area_id_is_unescaped():
    from socialrisk.core.sanitize import html_text
    from socialrisk.ui.explore import _clicked_area

    area = f"E0{IMG}"
    out = {"last_active_drawing": {"properties": {"area_id": html_text(area)}}}
    assert _clicked_area(out) == area


# ---------------------------------------------------------------- browser

_INIT = ("window.__alerts = 0; window.alert = window.confirm = window.prompt = "
         "function () { window.__alerts += 1; };")

# switch every layer on, open every tooltip and popup, collect their text
_FIRE = """
const done = arguments[arguments.length - 1];
const out = {tips: new Set(), pops: new Set(), injected: 0, leaves: 0, control: '', legend: ''};
const maps = [];
for (const k of Object.keys(window)) {
  let v; try { v = window[k]; } catch (e) { continue; }
  if (v instanceof L.Map) maps.push(v);
}
document.querySelectorAll('input.leaflet-control-layers-selector').forEach(el => {
  if (el.type === 'checkbox' && !el.checked) el.click();
});
for (const k of Object.keys(window)) {
  let v; try { v = window[k]; } catch (e) { continue; }
  if (v instanceof L.LayerGroup && !maps.some(m => m.hasLayer(v))) maps[0].addLayer(v);
}
L.Popup.prototype.options.autoPan = false;
const bad = '[onerror],[onload],script,iframe,object,a[href^="javascript"]';
for (const m of maps) {
  const leaves = [];
  m.eachLayer(l => { if (l instanceof L.Path || l instanceof L.Marker) leaves.push(l); });
  const tipPane = m.getPane('tooltipPane'), popPane = m.getPane('popupPane');
  for (const l of leaves) {
    out.leaves += 1;
    const ll = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
    l.fire('mouseover', {latlng: ll}, true);
    out.tips.add(tipPane.textContent);
    out.injected += tipPane.querySelectorAll(bad).length;
    l.fire('mouseout', {latlng: ll}, true);
    l.fire('click', {latlng: ll}, true);
    out.pops.add(popPane.textContent);
    out.injected += popPane.querySelectorAll(bad).length;
    m.closePopup();
  }
}
const ctl = document.querySelector('.leaflet-control-layers');
out.control = ctl ? ctl.textContent : '';
out.legend = Array.from(document.querySelectorAll('.socialrisk-legend'))
  .map(e => e.textContent).join('|');
out.injected += document.querySelectorAll('.leaflet-control-container ' +
                                          bad.split(',').join(', .leaflet-control-container ')
                                          ).length;
// give an injected <img onerror> time to fire
setTimeout(() => done({tips: Array.from(out.tips).join('\\n'),
                       pops: Array.from(out.pops).join('\\n'), injected: out.injected,
                       leaves: out.leaves, control: out.control, legend: out.legend,
                       pwned: window.__pwned === undefined ? null : String(window.__pwned),
                       alerts: window.__alerts}), 400);
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--window-size=1200,900",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                f"--user-data-dir={profile}"]:
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_script_timeout(60)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _INIT})
    yield d
    d.quit()


def _open(d, path):
    d.get(path.as_uri())
    for _ in range(100):
        if d.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.05)
    time.sleep(0.2)


def _fire_all(d, path) -> dict:
    _open(d, path)
    return d.execute_async_script(_FIRE)


def _assert_nothing_ran(res: dict) -> None:
    assert res["pwned"] is None, "a payload ran"
    assert res["alerts"] == 0, "alert() was called"
    assert res["injected"] == 0, "an element or handler was injected"


def _text(res: dict) -> str:
    return "\n".join([res["tips"], res["pops"], res["control"], res["legend"]])


@pytest.mark.parametrize("name", ["map", "explore", "site", "whatif", "connect"])
@browser_test
def test_map_runs_no_payload(pages, driver, name):
    res = _fire_all(driver, pages[0][name])
    _assert_nothing_ran(res)
    assert res["leaves"] > 1
    text = _text(res)
    assert len(pages[1][name]) >= 2
    for want in pages[1][name]:
        assert want in text, f"{want!r} is not shown as text on the {name} map"
    assert "&#x27;" not in text and "&amp;" not in text and "&lt;" not in text


@pytest.mark.parametrize("name", ["site_report", "assets_list"])
@browser_test
def test_printable_page_runs_no_payload(pages, driver, name):
    _open(driver, pages[0][name])
    time.sleep(0.2)
    res = driver.execute_script("""
        return {pwned: window.__pwned === undefined ? null : String(window.__pwned),
                alerts: window.__alerts, text: document.body.innerText,
                injected: document.querySelectorAll(
                  '[onerror],[onload],script,iframe,object,svg svg').length,
                hrefs: Array.from(document.querySelectorAll('a[href]')).map(a => a.href)};""")
    _assert_nothing_ran(res)
    for want in [IMG, SCRIPT, SVG, QUOTE] if name == "site_report" else PAYLOADS:
        assert want in res["text"], f"{want!r} is not shown as text in {name}"
    assert all(h.startswith(("http://", "https://")) for h in res["hrefs"]), res["hrefs"]
    if name == "assets_list":
        assert any(h.startswith("https://example.org/") for h in res["hrefs"])


@browser_test
def test_harness_catches_an_unescaped_tooltip(driver, tmp_path):
    """The check above would see a payload run: a raw folium tooltip does run it."""
    import folium

    from socialrisk.webmap import base_map, map_html

    fmap = base_map((-1.3, 50.69, -1.28, 50.71), basemap=False)
    folium.CircleMarker([50.7, -1.29], tooltip=folium.Tooltip(IMG)).add_to(fmap)
    path = tmp_path / "raw.html"
    path.write_text(map_html(fmap), encoding="utf-8")
    res = _fire_all(driver, path)
    assert res["pwned"] is not None


def test_unescaped_text_would_be_caught():
    """The plain check finds a raw payload in a folium page."""
    import folium

    from socialrisk.webmap import base_map, map_html

    fmap = base_map((-1.3, 50.69, -1.28, 50.71), basemap=False)
    folium.GeoJson({"type": "FeatureCollection", "features": [
                       {"type": "Feature", "properties": {"n": IMG},
                        "geometry": {"type": "Point", "coordinates": [-1.29, 50.7]}}]},
                   tooltip=folium.GeoJsonTooltip(["n"])).add_to(fmap)
    assert "<img src=x" in _unjson(map_html(fmap))
    assert "<img src=x" not in map_html(fmap)  # jinja's tojson alone hides it: hence _unjson


def test_html_unescape_gives_the_text_back():
    """html.unescape undoes html_text (what _clicked_area relies on)."""
    from socialrisk.core.sanitize import html_text

    for text in PAYLOADS + NORMAL + ["\\ $ `"]:
        assert html.unescape(html_text(text)) == text
