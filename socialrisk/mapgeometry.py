"""Compact polygon layers for the HTML maps: quantised, delta-encoded, decoded in the page.

A national map of LSOAs written as GeoJSON is mostly text that repeats itself: every
coordinate as a decimal (``[-0.0973, 51.5216], ``), every property name in every
feature, and one ``case "E01000001":`` per area in folium's style function. Here the
same FeatureCollection is written as a compact *payload* and rebuilt by a few lines
of JavaScript in the page, before ``L.geoJson`` sees it, so that folium's
``GeoJsonTooltip`` and Leaflet's styling and highlighting work as before:

* **Coordinates** are integers on a decimal grid (``10**-decimals`` degrees; by
  default the coarsest grid of at most 5 decimals, ~1 m, on which every
  coordinate lies, so that data already cut to a grid by
  :func:`socialrisk.outputs.map_areas` is kept exactly), written as the difference
  from the previous point (zig-zag signed), without each ring's closing point.
* **Integers** (coordinate deltas, ring and point counts, indices) are written as
  variable-length digits in an alphabet of 84 printable ASCII characters that
  need no escaping in JSON or HTML and cannot start a Jinja tag: ``"&'<>\\_{};``
  are left out. A digit below ``T`` ends a number, a digit from ``T`` on carries
  ``C = 84 - T`` more; ``T`` is chosen for the shortest coordinate stream.
* **Properties** are columns: the name once, then the values as a list, as
  indices into the distinct values, as indices into the distinct ``"; "``-joined
  parts (the drivers text), or front-coded against the previous value (sorted
  area ids), whichever is shortest.
* **Styles** are an index per feature into the few distinct (style, highlight)
  pairs, held as a non-enumerable ``srKey`` of the decoded feature, instead of a
  ``switch`` over every area id.

The payload holds no JSON object, so every ``{`` or ``}`` in it is inside a string
and is written as ``\\u007b``/``\\u007d``, like ``< > & '`` (``\\u003c``...): no
outside text can end the ``<script>`` or reach Jinja, which branca runs a second
time over every rendered script. :func:`decode_payload` is the reference decoder
(the JavaScript one does the same steps).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium
import numpy as np
import shapely
from folium.template import Template

FORMAT = 1
#: characters a payload stream never uses: JSON/HTML-escaped ones, Jinja's ``{ }``,
#: and ``_ ;`` which streamlit-folium's rewriting of the script looks for
EXCLUDED = frozenset('"&\'<>\\_{};')
ALPHABET = "".join(chr(c) for c in range(33, 127) if chr(c) not in EXCLUDED)
_CODE = {ch: i for i, ch in enumerate(ALPHABET)}
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
MAX_DECIMALS = 5
PARTS_SEPARATOR = "; "

# property columns: how the values are written
PLAIN, DISTINCT, PARTS, FRONT = 0, 1, 2, 3

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


# ---------------------------------------------------------------- safe JS literals


def js_literal(obj: Any) -> str:
    """``obj`` as JSON that is safe in a ``<script>`` and in a Jinja template.

    Like Jinja's ``tojson`` (``< > & '`` as ``\\u003c``...), and ``{ }`` inside
    strings as ``\\u007b``/``\\u007d``: branca compiles every rendered script as a
    Jinja template again, which would run ``{{ ... }}`` found in outside text.

    Raises
    ------
    ValueError
        For NaN or infinite numbers (not JSON).
    """
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    if "{" in text or "}" in text:
        text = _STRING.sub(lambda m: m.group(0).replace("{", "\\u007b")
                           .replace("}", "\\u007d"), text)
    text = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027"))
    if any(tag in text for tag in ("{{", "{%", "{#")):  # cannot happen: braces are escaped
        raise ValueError("a Jinja tag survived escaping")
    return text


# ---------------------------------------------------------------- integer streams


def zigzag(values: np.ndarray) -> np.ndarray:
    """Signed integers as non-negative ones: 0, -1, 1, -2 ... -> 0, 1, 2, 3 ..."""
    v = np.asarray(values, dtype=np.int64)
    return np.where(v >= 0, 2 * v, -2 * v - 1)


def unzigzag(z: int) -> int:
    """The inverse of :func:`zigzag` for one value."""
    return -(z + 1) // 2 if z % 2 else z // 2


def stream_length(values: np.ndarray, terminal: int) -> int:
    """Characters that :func:`encode_ints` writes for ``values`` with ``terminal``."""
    v = np.sort(np.asarray(values, dtype=np.int64))
    carry = len(ALPHABET) - terminal
    total, bound = len(v), terminal
    while len(v) and bound <= v[-1]:
        total += len(v) - int(np.searchsorted(v, bound))
        bound *= carry
    return total


def best_terminal(values: np.ndarray) -> int:
    """The split of the alphabet (ending digits ``T``) that writes ``values`` shortest."""
    return min(range(8, len(ALPHABET) - 3, 4), key=lambda t: (stream_length(values, t), -t))


def encode_ints(values: Sequence[int] | np.ndarray, terminal: int) -> str:
    """Non-negative integers as one string of variable-length digits.

    A number ``v`` is written as digits ``d0 .. dm``: ``d0 .. d(m-1)`` from the
    ``C = 84 - terminal`` carrying characters (``ALPHABET[terminal:]``) and the last
    from the ``terminal`` ending ones, ``v = d0 + C*d1 + ... + C**m * dm``.
    """
    v = np.asarray(values, dtype=np.int64).ravel()
    if len(v) and v.min() < 0:
        raise ValueError("encode_ints takes non-negative integers (see zigzag)")
    carry = len(ALPHABET) - terminal
    lengths = np.ones(len(v), dtype=np.int64)
    rest = v.copy()
    while len(rest) and (big := rest >= terminal).any():
        lengths[big] += 1
        rest[big] //= carry
    starts = np.cumsum(lengths) - lengths
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    rest = v.copy()
    for j in range(int(lengths.max()) if len(v) else 0):
        on = lengths > j
        val = rest[on]
        last = lengths[on] == j + 1
        out[starts[on] + j] = _ALPHABET_BYTES[np.where(last, val, terminal + val % carry)]
        rest[on] = np.where(last, val, val // carry)
    return out.tobytes().decode("ascii")


def decode_ints(text: str, terminal: int) -> list[int]:
    """The integers of :func:`encode_ints` (reference decoder)."""
    carry = len(ALPHABET) - terminal
    out: list[int] = []
    value, scale = 0, 1
    for ch in text:
        d = _CODE[ch]
        if d < terminal:
            out.append(value + d * scale)
            value, scale = 0, 1
        else:
            value += (d - terminal) * scale
            scale *= carry
    if scale != 1:
        raise ValueError("the stream ends inside a number")
    return out


# ---------------------------------------------------------------- geometry


def grid_decimals(xy: np.ndarray, max_decimals: int = MAX_DECIMALS) -> int:
    """The fewest decimals (at most ``max_decimals``) whose grid holds every coordinate.

    ``max_decimals`` when none does: the coordinates are then rounded to it.
    """
    xy = np.asarray(xy, dtype=float)
    for k in range(max_decimals + 1):
        scaled = xy * 10.0 ** k
        if not len(xy) or np.abs(scaled - np.rint(scaled)).max() <= 1e-6:
            return k
    return max_decimals


def encode_polygons(geoms: Sequence | np.ndarray, decimals: int | None = None) -> dict:
    """(Multi)polygons as quantised, delta-encoded integer streams.

    Parameters
    ----------
    geoms : sequence of shapely geometries or None
        In EPSG:4326. Polygons and multipolygons (with holes) are encoded; None and
        empty geometries are null (as geopandas writes them); any other type is kept
        as GeoJSON text.
    decimals : int, optional
        Grid of the coordinates (``10**-decimals``); :func:`grid_decimals` by default.

    Returns
    -------
    dict
        ``scale`` (``10**decimals``), ``terminal``, ``structure`` and ``coords``
        (streams) and ``extras`` (``[index, GeoJSON text]`` of other geometries).
    """
    g = np.asarray(geoms, dtype=object)
    tid = np.where(shapely.is_empty(g), -1, shapely.get_type_id(g))  # empty: null, as geopandas
    polygonal = (tid == 3) | (tid == 6)
    parts, part_of = shapely.get_parts(g[polygonal], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, point_of = shapely.get_coordinates(rings, return_index=True)
    if decimals is None:
        decimals = grid_decimals(xy)
    scale = 10 ** int(decimals)
    n_points = np.bincount(point_of, minlength=len(rings))
    keep = np.ones(len(xy), dtype=bool)
    keep[np.cumsum(n_points)[n_points > 0] - 1] = False  # each ring's closing point
    q = np.rint(xy[keep] * scale).astype(np.int64)
    deltas = zigzag(np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel())
    # structure: per feature 0 (null or other), 1 (Polygon) or 2 + parts (MultiPolygon);
    # per polygon its rings; per ring its points without the closing one
    n_parts = np.bincount(part_of, minlength=int(polygonal.sum()))
    n_rings = np.bincount(ring_of, minlength=len(parts))
    structure: list[int] = []
    extras: list[list] = []
    k = p = r = 0
    for i, t in enumerate(tid):
        if not polygonal[i]:
            structure.append(0)
            if t >= 0:
                extras.append([i, shapely.to_geojson(g[i])])
            continue
        structure.append(1 if t == 3 else 2 + int(n_parts[k]))
        for _ in range(int(n_parts[k])):
            structure.append(int(n_rings[p]))
            for _ in range(int(n_rings[p])):
                structure.append(max(int(n_points[r]) - 1, 0))
                r += 1
            p += 1
        k += 1
    terminal = best_terminal(deltas)
    return {"scale": scale, "terminal": terminal,
            "structure": encode_ints(structure, terminal),
            "coords": encode_ints(deltas, terminal), "extras": extras}


# ---------------------------------------------------------------- properties


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, np.generic):
        return _clean(value.item())
    raise TypeError(f"property values must be str, number, bool or None, not {type(value)}")


def _utf16(text: str) -> int:
    """Length in JavaScript string units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def column_forms(name: str, values: Sequence, terminal: int) -> list[list]:
    """Every form that can write this property column (see the module doc)."""
    vals = [_clean(v) for v in values]
    forms: list[list] = [[name, PLAIN, vals]]
    index: dict[tuple, int] = {}
    idx = [index.setdefault((type(v), v), len(index)) for v in vals]
    if len(index) < len(vals):
        forms.append([name, DISTINCT, [v for _, v in index], encode_ints(idx, terminal)])
    texts = all(v is None or isinstance(v, str) for v in vals)
    if texts and any(v and PARTS_SEPARATOR in v for v in vals):
        parts: dict[str, int] = {}
        seq: list[int] = []
        for v in vals:
            if v is None:
                seq.append(0)
                continue
            pieces = v.split(PARTS_SEPARATOR)
            seq.append(len(pieces) + 1)
            seq.extend(parts.setdefault(s, len(parts)) for s in pieces)
        forms.append([name, PARTS, PARTS_SEPARATOR, list(parts), encode_ints(seq, terminal)])
    if texts and None not in vals and len(vals):
        prev, seq, tails = "", [], []
        for v in vals:
            n = 0
            for a, b in zip(prev, v, strict=False):
                if a != b:
                    break
                n += 1
            seq += [_utf16(v[:n]), _utf16(v[n:])]
            tails.append(v[n:])
            prev = v
        forms.append([name, FRONT, encode_ints(seq, terminal), "".join(tails)])
    return forms


def encode_column(name: str, values: Sequence, terminal: int) -> list:
    """One property column in the shortest of its forms (:func:`column_forms`)."""
    return min(column_forms(name, values, terminal), key=lambda f: len(js_literal(f)))


def _decode_column(col: list, n: int, terminal: int) -> list:
    mode = col[1]
    if mode == PLAIN:
        return list(col[2])
    if mode == DISTINCT:
        return [col[2][i] for i in decode_ints(col[3], terminal)]
    if mode == PARTS:
        seq, out, i = decode_ints(col[4], terminal), [], 0
        while len(out) < n:
            k = seq[i]
            i += 1
            if k:
                out.append(col[2].join(col[3][j] for j in seq[i:i + k - 1]))
                i += k - 1
            else:
                out.append(None)
        return out
    seq, tails = decode_ints(col[2], terminal), col[3].encode("utf-16-le", "surrogatepass")
    out, prev, pos = [], b"", 0
    for j in range(n):
        keep, add = 2 * seq[2 * j], 2 * seq[2 * j + 1]
        prev = prev[:keep] + tails[pos:pos + add]
        pos += add
        out.append(prev.decode("utf-16-le", "surrogatepass"))
    return out


# ---------------------------------------------------------------- payload


def encode_payload(geoms: Sequence | np.ndarray, properties: Mapping[str, Sequence],
                   decimals: int | None = None) -> list:
    """The payload list (without the style keys, see :class:`CompactGeoJson`).

    ``[FORMAT, n, scale, T, structure, coords, extras, columns]``; every column of
    ``properties`` has one value per geometry.
    """
    n = len(geoms)
    for name, vals in properties.items():
        if len(vals) != n:
            raise ValueError(f"property {name!r} has {len(vals)} values for {n} geometries")
    geo = encode_polygons(geoms, decimals)
    t = geo["terminal"]
    columns = [encode_column(str(name), vals, t) for name, vals in properties.items()]
    return [FORMAT, n, geo["scale"], t, geo["structure"], geo["coords"], geo["extras"],
            columns]


def decode_payload(payload: list) -> dict:
    """The GeoJSON FeatureCollection of a payload (the reference for the page's decoder).

    A payload with style keys (a ninth item) gives them as ``"srKey"`` of each feature
    (the page keeps them out of the feature's JSON).
    """
    fmt, n, scale, t, structure, coords, extras, columns = payload[:8]
    if fmt != FORMAT:
        raise ValueError(f"unknown payload format {fmt!r}")
    gs = iter(decode_ints(structure, t))
    cs = iter(decode_ints(coords, t))
    pos = [0, 0]

    def ring() -> list:
        pts = []
        for _ in range(next(gs)):
            pos[0] += unzigzag(next(cs))
            pos[1] += unzigzag(next(cs))
            pts.append([pos[0] / scale, pos[1] / scale])
        return pts + [list(pts[0])] if pts else pts

    def polygon() -> list:
        return [ring() for _ in range(next(gs))]

    extra = {int(i): json.loads(text) for i, text in extras}
    cols = [(col[0], _decode_column(col, n, t)) for col in columns]
    keys = decode_ints(payload[8], t) if len(payload) > 8 and payload[8] else None
    features = []
    for i in range(n):
        code = next(gs)
        geom = ({"type": "Polygon", "coordinates": polygon()} if code == 1 else
                {"type": "MultiPolygon", "coordinates": [polygon() for _ in range(code - 2)]}
                if code > 1 else extra.get(i))
        feature = {"type": "Feature", "properties": {name: v[i] for name, v in cols},
                   "geometry": geom}
        if keys is not None:
            feature["srKey"] = keys[i]
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


#: the page's decoder: payload -> FeatureCollection (the steps of decode_payload); no
#: ``{{``, ``{%`` or ``{#`` (branca runs Jinja over the rendered script) and no ``_``
DECODER_JS = """function (p) {
  var n = p[1], scale = p[2], T = p[3], tbl = [], a = 0, c;
  for (c = 33; c < 127; c++) {
    if ([34, 38, 39, 59, 60, 62, 92, 95, 123, 125].indexOf(c) < 0) { tbl[c] = a++; }
  }
  var C = a - T;
  function stream(s) {
    var i = 0;
    return function () {
      var v = 0, m = 1, d;
      for (;;) {
        d = tbl[s.charCodeAt(i++)];
        if (d < T) { return v + d * m; }
        v += (d - T) * m; m *= C;
      }
    };
  }
  function zz(z) { return z % 2 ? -(z + 1) / 2 : z / 2; }
  var gs = stream(p[4]), cs = stream(p[5]), x = 0, y = 0;
  function ring() {
    var k = gs(), r = [];
    while (k-- > 0) { x += zz(cs()); y += zz(cs()); r.push([x / scale, y / scale]); }
    if (r.length) { r.push([r[0][0], r[0][1]]); }
    return r;
  }
  function polygon() { var k = gs(), r = []; while (k-- > 0) { r.push(ring()); } return r; }
  function column(col) {
    var mode = col[1], out = [], s, i, k, j, parts, prev = '', pos = 0;
    if (mode === 0) { return col[2]; }
    if (mode === 1) { s = stream(col[3]); for (i = 0; i < n; i++) { out.push(col[2][s()]); } }
    if (mode === 2) {
      s = stream(col[4]);
      for (i = 0; i < n; i++) {
        k = s();
        if (!k) { out.push(null); continue; }
        parts = [];
        while (--k) { parts.push(col[3][s()]); }
        out.push(parts.join(col[2]));
      }
    }
    if (mode !== 3) { return out; }
    s = stream(col[2]);
    for (i = 0; i < n; i++) {
      k = s(); j = s();
      prev = prev.slice(0, k) + col[3].substr(pos, j);
      pos += j;
      out.push(prev);
    }
    return out;
  }
  var cols = p[7].map(column), keys = p[8] ? stream(p[8]) : null, extra = {}, feats = [];
  p[6].forEach(function (e) { extra[e[0]] = JSON.parse(e[1]); });
  for (var i = 0; i < n; i++) {
    var code = gs(), g = null, props = {}, f, k;
    if (code === 1) { g = {type: 'Polygon', coordinates: polygon()}; }
    else if (code > 1) {
      g = {type: 'MultiPolygon', coordinates: []};
      for (k = 2; k < code; k++) { g.coordinates.push(polygon()); }
    } else if (extra.hasOwnProperty(i)) { g = extra[i]; }
    for (k = 0; k < cols.length; k++) { props[p[7][k][0]] = cols[k][i]; }
    f = {type: 'Feature', properties: props, geometry: g};
    if (keys) { Object.defineProperty(f, 'srKey', {value: keys()}); }
    feats.push(f);
  }
  return {type: 'FeatureCollection', features: feats};
}"""


# ---------------------------------------------------------------- folium layer


class CompactGeoJson(folium.GeoJson):
    """A folium GeoJson layer of (multi)polygons written as a compact payload.

    Drawn like ``folium.GeoJson(geojson, style_function=..., highlight_function=...,
    tooltip=folium.GeoJsonTooltip(...))``: the page decodes the payload into the same
    FeatureCollection (coordinates on the ``10**-decimals`` grid) before
    ``L.geoJson`` gets it. ``data`` holds the features' properties (what the style
    functions and ``GeoJsonTooltip`` read) with no geometry; the geometry is in the
    payload (:meth:`to_geojson` decodes it). Style functions must return plain JSON
    values (not folium elements).

    Parameters
    ----------
    geometry : sequence of shapely geometries
        EPSG:4326 (multi)polygons, see :func:`encode_polygons`.
    properties : mapping of str to sequence
        Column name -> one value (str, number, bool or None) per geometry; text
        that a tooltip shows must be HTML-escaped already.
    decimals : int, optional
        Grid of the coordinates, see :func:`encode_polygons`.
    style_function, highlight_function : callable, optional
        Feature (``{"properties": ...}``) -> style dict.
    name, overlay, control, show, smooth_factor, tooltip, popup
        As for ``folium.GeoJson``.
    **kwargs
        Options of ``L.geoJson`` (e.g. ``interactive``, ``className``).
    """

    _template = Template("""
{% macro script(this, kwargs) %}
{%- if this.style %}
var {{ this.get_name() }}_styles = {{ this.styles_js }};
function {{ this.get_name() }}_styler(feature) {
    return {{ this.get_name() }}_styles[feature.srKey];
}
{%- endif %}
{%- if this.highlight %}
var {{ this.get_name() }}_highlights = {{ this.highlights_js }};
function {{ this.get_name() }}_highlighter(feature) {
    return {{ this.get_name() }}_highlights[feature.srKey];
}
{%- endif %}
function {{ this.get_name() }}_onEachFeature(feature, layer) {
    {%- if this.highlight %}
    layer.on({
        mouseout: function(e) {
            if (typeof e.target.setStyle === "function") {
                {{ this.get_name() }}.resetStyle(e.target);
            }
        },
        mouseover: function(e) {
            if (typeof e.target.setStyle === "function") {
                e.target.setStyle({{ this.get_name() }}_highlighter(e.target.feature));
            }
        },
    });
    {%- endif %}
}
var {{ this.get_name() }} = L.geoJson(null, {
    {%- if this.smooth_factor is not none %}
    smoothFactor: {{ this.smooth_factor|tojson }},
    {%- endif %}
    onEachFeature: {{ this.get_name() }}_onEachFeature,
    {%- if this.style %}
    style: {{ this.get_name() }}_styler,
    {%- endif %}
    ...{{ this.options|tojavascript }}
});
{{ this.get_name() }}.addData(({{ this.decoder_js }})({{ this.payload_js }}));
{% endmacro %}
""")

    def __init__(self, geometry: Sequence | np.ndarray, properties: Mapping[str, Sequence],
                 decimals: int | None = None, style_function: Callable | None = None,
                 highlight_function: Callable | None = None, name: str | None = None,
                 overlay: bool = True, control: bool = True, show: bool = True,
                 smooth_factor: float | None = None, tooltip=None, popup=None, **kwargs):
        geoms = np.asarray(geometry, dtype=object)
        payload = encode_payload(geoms, properties, decimals)
        self.terminal = payload[3]
        self._payload = payload
        self._payload_head = js_literal(payload)[:-1]
        names = list(properties)
        columns = [list(properties[c]) for c in names]
        features = [{"type": "Feature", "geometry": None,
                     "properties": {c: _clean(col[i]) for c, col in zip(names, columns,
                                                                         strict=True)}}
                    for i in range(len(geoms))]
        finite = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        self._bounds = (shapely.total_bounds(finite) if len(finite) else None)
        super().__init__({"type": "FeatureCollection", "features": features},
                         style_function=style_function, highlight_function=highlight_function,
                         name=name, overlay=overlay, control=control, show=show,
                         smooth_factor=smooth_factor, tooltip=tooltip, popup=popup, **kwargs)
        self.decoder_js = DECODER_JS
        self.styles_js = self.highlights_js = "[]"
        self.payload_js = self._payload_head + "]"

    def find_identifier(self) -> str:
        """Features are styled by their ``srKey`` (set by the page's decoder)."""
        return "feature.srKey"

    def _get_self_bounds(self) -> list[list[float | None]]:
        if self._bounds is None:
            return [[None, None], [None, None]]
        minx, miny, maxx, maxy = (float(b) for b in self._bounds)
        return [[miny, minx], [maxy, maxx]]

    def style_keys(self) -> tuple[list[int], list[dict | None], list[dict | None]]:
        """Each feature's key into the distinct (style, highlight) pairs, and the pairs."""
        pairs: dict[tuple[str, str], int] = {}
        keys = []
        for f in self.data["features"]:
            s = js_literal(self.style_function(f)) if self.style else "null"
            h = js_literal(self.highlight_function(f)) if self.highlight else "null"
            keys.append(pairs.setdefault((s, h), len(pairs)))
        return (keys, [json.loads(s) for s, _ in pairs], [json.loads(h) for _, h in pairs])

    def render(self, **kwargs):
        if (self.style or self.highlight) and self.data["features"]:
            keys, styles, highlights = self.style_keys()
            self.styles_js = js_literal(styles)
            self.highlights_js = js_literal(highlights)
            self.payload_js = (self._payload_head + ","
                               + js_literal(encode_ints(keys, self.terminal)) + "]")
        # folium.GeoJson.render builds the per-id switch that this layer does without
        super(folium.GeoJson, self).render(**kwargs)

    def to_geojson(self) -> dict:
        """The FeatureCollection that the page draws (decoded with :func:`decode_payload`)."""
        return decode_payload(self._payload)
