"""The compact geometry of the choropleth (socialrisk.mapgeometry): exact round trips on
real LSOA polygons (multipolygons and holes), safe embedding, and in a real headless
Chromium the page's decoder gives the same areas, every area is drawn, and hostile area
ids are shown as text by the tooltip without running.

The browser tests need Debian ``chromium`` and ``chromium-driver`` and ``selenium``
(skipped with the reason otherwise); the plain-Python tests always run.
"""

from __future__ import annotations

import html
import json
import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import IOW_LSOA
from shapely.geometry import MultiPolygon, Point, Polygon
from test_html_hostile import _open, driver  # noqa: F401  (the Chromium fixture)

from socialrisk.core.sanitize import html_text
from socialrisk.mapgeometry import (
    ALPHABET,
    DECODER_JS,
    DISTINCT,
    FRONT,
    PARTS,
    PLAIN,
    CompactGeoJson,
    column_forms,
    decode_ints,
    decode_payload,
    encode_column,
    encode_ints,
    encode_payload,
    grid_decimals,
    js_literal,
)

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"
JINJA = "{{ 7*7 }} {% if 1 %}x{% endif %} {# c #}"
HOSTILE = [IMG, SCRIPT, JINJA, "`${alert(1)}`", "St Mary's & Fish \U0001f41f"]


def _iow() -> gpd.GeoDataFrame:
    return gpd.read_file(IOW_LSOA).rename(columns={"lsoa11_code": "area_id"})


def _with_holes_and_empties(geoms: np.ndarray) -> np.ndarray:
    """Real polygons, some with new holes, a multipolygon of two, and awkward extras."""
    out = list(geoms)
    poly = geoms[0] if geoms[0].geom_type == "Polygon" else geoms[1]
    c = poly.representative_point()
    out.append(poly.difference(c.buffer(0.002)).difference(Point(c.x + 0.004, c.y)
                                                           .buffer(0.001)))
    out.append(MultiPolygon([geoms[5], geoms[40]]) if geoms[5].geom_type == "Polygon"
               else geoms[5])
    out += [Polygon(), MultiPolygon(), None, Point(-1.3, 50.7)]
    return np.array(out, dtype=object)


def _coords(geojson_geometry) -> np.ndarray:
    flat = json.dumps(geojson_geometry["coordinates"])
    return np.array(flat.replace("[", " ").replace("]", " ").replace(",", " ").split(), float)


def _shape(geojson_geometry) -> str:
    """Nesting of the coordinates (rings, parts) without the numbers."""
    return "".join(ch for ch in json.dumps(geojson_geometry["coordinates"]) if ch in "[]")


def _reference(geoms: np.ndarray) -> list:
    """Each geometry as the GeoJSON geopandas writes (what the map wrote before)."""
    return [f["geometry"] for f in
            json.loads(gpd.GeoSeries(list(geoms)).to_json(drop_id=True))["features"]]


# ---------------------------------------------------------------- integers and text


@pytest.mark.parametrize("terminal", [8, 44, 76, 80])
def test_integer_streams_round_trip(terminal):
    rng = np.random.default_rng(terminal)
    values = np.concatenate([np.arange(300), rng.integers(0, 2**40, 500),
                             [2**52, terminal - 1, terminal, 0]])
    text = encode_ints(values, terminal)
    assert set(text) <= set(ALPHABET)
    assert decode_ints(text, terminal) == values.tolist()
    assert encode_ints([], terminal) == "" and decode_ints("", terminal) == []
    with pytest.raises(ValueError):
        encode_ints([-1], terminal)


def test_alphabet_needs_no_escaping_and_starts_no_tag():
    assert len(ALPHABET) == 84 and len(set(ALPHABET)) == 84
    assert not set(ALPHABET) & set("\"&'<>\\_{}; ")
    assert js_literal(ALPHABET) == json.dumps(ALPHABET)
    # branca runs Jinja over the rendered script again: the decoder must not start a tag
    assert not any(tag in DECODER_JS for tag in ("{{", "{%", "{#", "_"))


def test_js_literal_escapes_script_ends_and_jinja_tags():
    obj = {"a": HOSTILE, "b": [{"c": "}}{{"}], "n": [1, 2.5, None, True]}
    text = js_literal(obj)
    for raw in ["<", ">", "&", "'", "{{", "{%", "{#"]:
        assert raw not in text
    assert "\\u007d\\u007d\\u007b\\u007b" in text and "\\u003c/script" in text
    assert json.loads(text) == obj


@pytest.mark.parametrize("values, mode", [
    ([f"E0100{i:04d}" for i in range(200)], FRONT),
    (["0.1", "0.2", None, "0.1"] * 50, DISTINCT),
    ([f"a: {i % 7}; b: {i % 11}; c: {i % 13}" if i % 3 else "" for i in range(200)]
     + [None], PARTS),
    (HOSTILE + [None, 3, 2.5, True, 1, 1.0], PLAIN),
])
def test_columns_round_trip_in_each_form(values, mode):
    col = encode_column("c", values, 60)
    assert col[1] == mode
    payload = encode_payload([None] * len(values), {"c": values})
    back = decode_payload(json.loads(js_literal(payload)))
    got = [f["properties"]["c"] for f in back["features"]]
    assert got == values
    assert [type(v) for v in got] == [type(v) for v in values]  # 1, 1.0 and True stay apart


def test_every_form_round_trips_hostile_and_astral_text():
    values = sorted(HOSTILE * 3 + ["\U0001f41f\U0001f41f; x", "; ", ""])
    forms = column_forms("c", values, 60)
    assert sorted(f[1] for f in forms) == [PLAIN, DISTINCT, PARTS, FRONT]
    for col in forms:
        payload = [1, len(values), 1, 60, encode_ints([0] * len(values), 60), "", [], [col]]
        back = decode_payload(json.loads(js_literal(payload)))["features"]
        assert [f["properties"]["c"] for f in back] == values, col[1]


# ---------------------------------------------------------------- geometry


def test_real_lsoa_polygons_round_trip_within_the_grid_step():
    a = _iow()
    geoms = _with_holes_and_empties(
        shapely.simplify(a.geometry.to_numpy(), 0.00005, preserve_topology=True))
    assert sum(g is not None and g.geom_type == "MultiPolygon" for g in geoms) >= 4
    assert sum(int(shapely.get_num_interior_rings(p).sum()) for p in
               shapely.get_parts(geoms[[g is not None for g in geoms]])) >= 3
    payload = encode_payload(geoms, {"area_id": list(a["area_id"]) + [None] * 6})
    assert payload[2] == 10**5  # the raw file has 14 decimals: rounded to ~1 m
    back = decode_payload(json.loads(js_literal(payload)))["features"]
    ref = _reference(geoms)
    assert len(back) == len(ref)
    for got, want in zip(back, ref, strict=True):
        if want is None or want["type"] == "Point":
            assert got["geometry"] == want
            continue
        assert got["geometry"]["type"] == want["type"]
        assert _shape(got["geometry"]) == _shape(want)
        err = np.abs(_coords(got["geometry"]) - _coords(want))
        assert err.size == 0 or err.max() <= 0.5e-5 + 1e-12
        # each ring closed exactly, as GeoJSON wants
        rings = (got["geometry"]["coordinates"] if want["type"] == "Polygon"
                 else [r for p in got["geometry"]["coordinates"] for r in p])
        assert all(r[0] == r[-1] for r in rings)
    assert [f["properties"]["area_id"] for f in back][:3] == list(a["area_id"][:3])


def test_coordinates_on_a_grid_come_back_exactly():
    from socialrisk.outputs import map_areas

    for precision in (1e-5, 1e-4):
        a = map_areas(_iow(), precision_deg=precision)
        geoms = shapely.simplify(a.geometry.to_numpy(), 0.00005, preserve_topology=True)
        payload = encode_payload(geoms, {})
        assert payload[2] == round(1 / precision)
        back = decode_payload(json.loads(js_literal(payload)))["features"]
        assert [f["geometry"] for f in back] == _reference(geoms)


def test_grid_decimals():
    assert grid_decimals(np.array([[-1.25, 50.5]])) == 2
    assert grid_decimals(np.array([[-1.2999999999999998, 50.7]])) == 1
    assert grid_decimals(np.array([[0.123456789, 1.0]])) == 5
    assert grid_decimals(np.empty((0, 2))) == 0


# ---------------------------------------------------------------- the map


def _hostile_map(n: int | None = None):
    from socialrisk.outputs import map_areas
    from socialrisk.webmap import build_map

    a = _iow() if n is None else _iow().head(n)
    a["area_id"] = a["area_id"].astype(object)
    for k, text in enumerate(HOSTILE):
        a.loc[a.index[k], "area_id"] = f"E0{k}{text}"
    a["isolation_risk_decile"] = (np.arange(len(a)) % 10) + 1
    a["isolation_risk_drivers"] = [f"{IMG} high; {JINJA}" if i % 2 else "" for i in range(len(a))]
    am = gpd.GeoDataFrame({"category": ["gp"], "name": [f"Dr {JINJA}"],
                           "amenity_type": ["doctors"]}, geometry=[Point(-1.29, 50.7)],
                          crs="EPSG:4326")
    fmap = build_map(map_areas(a), am, {"gp": "GP {{ 6*7 }}"},
                     ["area_id", "isolation_risk_drivers"], basemap=False)
    return a, fmap


def _layer(fmap) -> CompactGeoJson:
    return next(c for c in fmap._children.values() if isinstance(c, CompactGeoJson))


def _payload_of(doc: str) -> list:
    i = doc.index(".addData((function (p)")
    return json.JSONDecoder().raw_decode(doc, doc.index("})([", i) + 3)[0]


def test_map_embeds_the_areas_compactly_and_runs_no_jinja():
    from socialrisk.webmap import map_html

    a, fmap = _hostile_map()
    doc = map_html(fmap)
    layer = _layer(fmap)
    # the areas are in the page once, as the payload: no GeoJSON coordinates (but the one
    # amenity's) and no switch over every area id
    assert doc.count('"coordinates"') == 1 and "case " not in doc
    assert doc.count('"area_id"') <= 2
    payload = _payload_of(doc)
    fc = decode_payload(payload)
    assert [html.unescape(f["properties"]["area_id"]) for f in fc["features"]] == list(
        a["area_id"])
    keys, distinct, _ = layer.style_keys()
    assert [distinct[k] for k in keys] == [layer.style_function(f)
                                           for f in layer.data["features"]]
    assert [f["srKey"] for f in fc["features"]] == keys and len(distinct) == 10
    # Jinja tags in area ids, drivers, OSM names and labels stay text: none is run
    assert html_text("E02" + JINJA) in [f["properties"]["area_id"] for f in fc["features"]]
    assert html_text(f"{IMG} high; {JINJA}") in [
        f["properties"]["isolation_risk_drivers"] for f in fc["features"]]
    for evaluated in ("E0249", "Dr 49", "GP 42", "49 x"):
        assert evaluated not in doc
    # far smaller than the same FeatureCollection as GeoJSON
    assert len(js_literal(payload)) < 0.3 * len(json.dumps(_plain_geojson(fc)))


def _plain_geojson(fc) -> dict:
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": f["properties"],
                          "geometry": f["geometry"]} for f in fc["features"]]}


def test_layer_works_without_style_and_with_other_options():
    import folium

    from socialrisk.webmap import map_html

    a = _iow().head(4)
    fmap = folium.Map(tiles=None)
    layer = CompactGeoJson(a.geometry.to_numpy(), {"area_id": list(a["area_id"])},
                           interactive=False, className="x-outline", name="outlines")
    layer.add_to(fmap)
    doc = map_html(fmap)
    assert "_styler" not in doc and '"interactive": false' in doc
    fc = decode_payload(_payload_of(doc))
    assert len(fc["features"]) == 4 and "srKey" not in fc["features"][0]
    assert layer.to_geojson()["features"][0]["geometry"] == fc["features"][0]["geometry"]
    (s, w), (n, e) = layer._get_self_bounds()
    minx, miny, maxx, maxy = a.total_bounds
    assert (s, w, n, e) == (miny, minx, maxy, maxx)


# ---------------------------------------------------------------- browser

_READ = """
const layer = Object.keys(window).map(k => window[k])
  .find(v => v instanceof L.GeoJSON && v.getLayers().length > 1);
const tipPane = layer._map.getPane('tooltipPane');
const bad = '[onerror],[onload],script,iframe,object,img,svg';
const out = {features: [], tips: [], injected: 0,
             paths: document.querySelectorAll('path.leaflet-interactive').length,
             drawn: layer.getLayers().filter(l => l._path && l._path.isConnected).length,
             control: document.querySelector('.leaflet-control-layers').textContent};
for (const l of layer.getLayers()) {
  out.features.push([l.feature, l.feature.srKey, l.options.fillColor]);
  const ll = l.getBounds().getCenter();
  l.fire('mouseover', {latlng: ll}, true);
  out.tips.push(tipPane.textContent);
  out.injected += tipPane.querySelectorAll(bad).length;
  l.fire('mouseout', {latlng: ll}, true);
}
return JSON.stringify(out);
"""


@pytest.mark.browser
@pytest.mark.slow
def test_page_decodes_the_same_areas_and_shows_hostile_ids_as_text(driver, tmp_path):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from socialrisk.outputs import map_areas
    from socialrisk.webmap import map_html

    a, fmap = _hostile_map()
    doc = map_html(fmap)
    path = tmp_path / "map.html"
    path.write_text(doc, encoding="utf-8")
    _open(driver, path)
    res = json.loads(driver.execute_script(_READ))
    assert driver.execute_script("return window.__alerts") == 0, "alert() was called"
    assert res["injected"] == 0, "an element was injected into a tooltip"
    # every area is one SVG path on the page (the amenity layer is off)
    assert res["paths"] == res["drawn"] == len(a)
    assert "GP {{ 6*7 }}" in res["control"]
    # the page's decoder gives exactly what the reference decoder gives ...
    ref = decode_payload(_payload_of(doc))["features"]
    for f in ref:
        f.pop("srKey")
    assert [f for f, _, _ in res["features"]] == ref
    keys, styles, _ = _layer(fmap).style_keys()
    assert [k for _, k, _ in res["features"]] == keys
    assert [c for _, _, c in res["features"]] == [styles[k]["fillColor"] for k in keys]
    # ... which is the simplified geometry of the areas to within the grid step
    want = _reference(shapely.simplify(map_areas(a).geometry.to_numpy(), 0.00005,
                                       preserve_topology=True))
    for (f, _, _), w in zip(res["features"], want, strict=True):
        assert _shape(f["geometry"]) == _shape(w)
        assert np.abs(_coords(f["geometry"]) - _coords(w)).max() <= 0.5e-5 + 1e-12
    # the tooltips show the hostile ids as the text they are
    tips = "\n".join(res["tips"])
    for k, text in enumerate(HOSTILE):
        assert f"E0{k}{text}" in tips, text
    assert f"{IMG} high; {JINJA}" in tips and "&lt;" not in tips and "&amp;" not in tips
    # a real mouse over the <img> area opens its tooltip, and nothing runs
    point = a.geometry.iloc[0].representative_point()
    xy = driver.execute_script(
        "const m = Object.values(window).find(v => v instanceof L.Map);"
        "const p = m.latLngToContainerPoint([arguments[0], arguments[1]]);"
        "const r = m.getContainer().getBoundingClientRect();"
        "return [p.x - r.width / 2, p.y - r.height / 2];", point.y, point.x)
    ActionChains(driver).move_to_element_with_offset(
        driver.find_element(By.CSS_SELECTOR, ".folium-map"), int(xy[0]), int(xy[1])).perform()
    time.sleep(0.3)
    tip = driver.execute_script(
        "const t = document.querySelector('.leaflet-tooltip'); return t ? t.textContent : ''")
    assert f"E00{IMG}" in tip
    assert driver.execute_script("return window.__alerts") == 0
    assert not driver.find_elements(By.CSS_SELECTOR, ".leaflet-tooltip img, "
                                                      ".leaflet-tooltip script")
