"""Local asset registers: lists of places kept by councils, the NHS or partners.

A list is a CSV with coordinate columns, or a GeoPackage, GeoJSON or Shapefile
of points. Each ``[[assets]]`` block of the settings (:class:`AssetList`) says
which category its rows are, which rows to keep (``where``), which columns hold
the name, coordinates, capacity and id, and how it combines with OpenStreetMap
(``mode``): ``replace`` drops OSM's features of the category, ``add`` adds the
list's items beside them, ``merge`` adds only the items OSM lacks (see
:mod:`geo.asset_match`). Every amenity then carries its ``source``: ``osm`` or
``<file name>:<row id>``. The user guide is ``docs/assets.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geo.csvtable import read_header, read_table
from geo.taxonomy import _NAME_RE, Category, Matcher
from socialrisk.core import schema
from socialrisk.core.errors import ConfigError, InputError, clipped, shown
from socialrisk.core.files import special_file

log = logging.getLogger(__name__)

MODES = ("replace", "add", "merge")
TABLE_SUFFIXES = (".csv", ".txt", ".tsv")
LAYER_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp")
#: the OSM tag of the filter that new categories get (the taxonomy needs one; OSM has none)
LIST_TAG = "socialrisk:asset_list"
#: optional text fields: setting key -> column names used when the key is not given
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "opening_hours": ("opening_hours", "opening_times", "opening hours", "opening times"),
    "wheelchair": ("wheelchair",),
    "website": ("website", "url", "web"),
    "contact": ("contact", "phone", "telephone", "email", "contact_details"),
    "accessibility": ("accessibility", "access_notes", "accessibility_notes"),
}
#: coordinate columns looked for when x/y are not given: (x, y, CRS they imply)
XY_COLUMNS = (("longitude", "latitude", "EPSG:4326"), ("lon", "lat", "EPSG:4326"),
              ("lng", "lat", "EPSG:4326"), ("long", "lat", "EPSG:4326"),
              ("easting", "northing", "EPSG:27700"), ("x", "y", ""))


@dataclass
class AssetList:
    """One ``[[assets]]`` block: a list of places and how to read it (docs/assets.md).

    Column settings left empty are looked for by their usual names (``name``;
    ``longitude``/``latitude``, ``easting``/``northing``; :data:`FIELD_COLUMNS`).
    """

    path: str
    category: str = ""            # taxonomy category, or a new one with label
    category_column: str = ""     # or: the column holding each row's category
    label: str = ""               # label of a new category
    where: dict[str, list] = field(default_factory=dict)  # column -> allowed values
    name: str = ""
    x: str = ""
    y: str = ""
    crs: str = ""                 # of x/y (default EPSG:4326; EPSG:27700 for easting/northing)
    capacity: str = ""
    id: str = ""
    mode: str = "merge"
    match_m: float = schema.ASSET_MATCH_M
    min_similarity: float = schema.ASSET_NAME_SIMILARITY
    buffer_m: float = schema.ASSET_BUFFER_M  # keep items this far outside the study area
    layer: str = ""               # GeoPackage layer
    opening_hours: str = ""
    wheelchair: str = ""
    website: str = ""
    contact: str = ""
    accessibility: str = ""


_KEYS = {f.name for f in dataclasses.fields(AssetList)}
_TEXT_KEYS = [f.name for f in dataclasses.fields(AssetList) if f.type == "str"]


# --------------------------------------------------------------------------- settings


def _nearest(key: str, valid) -> str:
    match = difflib.get_close_matches(str(key), sorted(valid), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def parse_asset_lists(value: Any) -> list[AssetList]:
    """The ``assets`` setting: ``[[assets]]`` tables, or ``FILE`` / ``FILE:CATEGORY`` strings.

    A string is the command line's simple case (``--assets``): a list whose
    rows say their category in a ``category`` column, or are all ``CATEGORY``.

    Raises
    ------
    ConfigError
        One line naming the key and the fix.
    """
    items = value if isinstance(value, list) else [value]
    return [_parse_one(item) for item in items]


def _parse_one(item: Any) -> AssetList:
    if isinstance(item, str):
        path, _, cat = item.rpartition(":")
        if path and _NAME_RE.match(cat) and not Path(item).exists():
            item = {"path": path, "category": cat}
        else:
            item = {"path": item, "category_column": "category"}
    if not isinstance(item, dict):
        raise ConfigError(f"assets must be a list of [[assets]] tables (path, category, ...) "
                          f"or file names, not {shown(item)}")
    for k in item:
        if k not in _KEYS:
            raise ConfigError(f"unknown key {shown(k)} in [[assets]]{_nearest(k, _KEYS)}")
    if not isinstance(item.get("path"), str) or not item["path"].strip():
        raise ConfigError('each [[assets]] list needs path = "FILE" (a CSV with coordinates, '
                          'or a GeoPackage, GeoJSON or Shapefile of points)')
    for k in _TEXT_KEYS:
        v = item.get(k, "")
        if not isinstance(v, str):
            raise ConfigError(f"[[assets]] {k} must be a string, not {shown(v)}")
        if "\x00" in v:
            raise ConfigError(f"[[assets]] {k} contains a NUL byte (\\x00); give it without")
    spec = AssetList(**{**item, "where": _parse_where(item.get("where", {}))})
    for k in ("match_m", "min_similarity", "buffer_m"):
        v = item.get(k, getattr(spec, k))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or v < 0 or (k == "min_similarity" and v > 1) or (k == "match_m" and v == 0):
            raise ConfigError(f"[[assets]] {k} must be a number "
                              f"{'from 0 to 1' if k == 'min_similarity' else 'of metres >= 0'}"
                              f"{' and > 0' if k == 'match_m' else ''}, not {shown(v)}")
        setattr(spec, k, float(v))
    if spec.mode not in MODES:
        raise ConfigError(f"[[assets]] mode must be replace, add or merge, not "
                          f"{shown(spec.mode)}{_nearest(spec.mode, MODES)}")
    if bool(spec.category) == bool(spec.category_column):
        raise ConfigError(f"[[assets]] {shown(spec.path, 80)}: give category = \"NAME\" (every "
                          f"row) or category_column = \"COLUMN\" (one per row), not "
                          f"{'both' if spec.category else 'neither'}")
    if spec.category and not _NAME_RE.match(spec.category):
        raise ConfigError(f"[[assets]] category {shown(spec.category)} must be lower-case "
                          f"letters, digits and _ (it becomes column names)")
    if spec.label and not spec.category:
        raise ConfigError("[[assets]] label names a new category: give it with category")
    if bool(spec.x) != bool(spec.y):
        raise ConfigError(f"[[assets]] {shown(spec.path, 80)}: give both x and y (the "
                          f"coordinate columns), or neither to find them by name")
    if spec.crs:
        try:
            pyproj.CRS.from_user_input(spec.crs)
        except pyproj.exceptions.CRSError as exc:
            raise ConfigError(f"[[assets]] crs {shown(spec.crs)} is not a known CRS; give "
                              f"e.g. \"EPSG:27700\" (British National Grid) or "
                              f"\"EPSG:4326\" (longitude/latitude)") from exc
    problem = special_file(spec.path)
    if problem:
        raise ConfigError(f"[[assets]] path {shown(spec.path, 200)} {problem}; give the path "
                          f"of a saved file")
    return spec


def _parse_where(where: Any) -> dict[str, list]:
    if not isinstance(where, dict):
        raise ConfigError(f"[[assets]] where must be a table of column = value, e.g. where = "
                          f"{{ education_phase = \"Primary\" }}, not {shown(where)}")
    out = {}
    for col, val in where.items():
        vals = val if isinstance(val, list) else [val]
        if not vals or any(isinstance(v, bool) or not isinstance(v, (str, int, float))
                           for v in vals):
            raise ConfigError(f"[[assets]] where {shown(col)} must be a value or a non-empty "
                              f"list of values (text or numbers), not {shown(val)}")
        out[str(col)] = list(vals)
    return out


# --------------------------------------------------------------------------- reading


def _kind(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return "table"
    if suffix in LAYER_SUFFIXES:
        return "layer"
    raise InputError(f"asset list {p.name}: files of type {shown(suffix or '(none)')} are not "
                     f"read; give a CSV with coordinate columns, or a GeoPackage, GeoJSON or "
                     f"Shapefile of points")


def _check_file(p: Path) -> None:
    problem = special_file(p)
    if problem:
        raise InputError(f"asset list {shown(str(p), 200)} {problem}; give a saved file")
    if not p.is_file():
        raise InputError(f"asset list {shown(str(p), 200)} not found; check the path in "
                         f"[[assets]] (relative paths start from where you run socialrisk)")


def _columns(spec: AssetList) -> list[str]:
    """The column names of a list without reading its rows."""
    p = Path(spec.path)
    _check_file(p)
    if _kind(p) == "table":
        return read_header(p)

    try:
        info = pyogrio.read_info(p, layer=spec.layer or None)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError(f"asset list {p.name} could not be read ({clipped(exc)}); export it "
                         f"again as GeoPackage or GeoJSON") from exc
    return [str(c) for c in info["fields"]]


def _read(spec: AssetList) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    """The list's attribute table and, for a layer, its geometries."""
    p = Path(spec.path)
    _check_file(p)
    if _kind(p) == "table":
        return read_table(p), None
    try:
        gdf = gpd.read_file(p, layer=spec.layer or None)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError(f"asset list {p.name} could not be read ({clipped(exc)}); export it "
                         f"again as GeoPackage or GeoJSON") from exc
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), gdf.geometry


def _find(columns: list[str], wanted: str, what: str, spec: AssetList) -> str:
    if wanted in columns:
        return wanted
    raise InputError(f"asset list {Path(spec.path).name} has no column {shown(wanted)} "
                     f"({what}){_nearest(wanted, columns)}; its columns are "
                     f"{clipped(', '.join(columns), 300)}")


def _by_name(columns: list[str], names: tuple[str, ...]) -> str:
    low = {c.strip().lower(): c for c in columns}
    return next((low[n] for n in names if n in low), "")


def _xy_columns(spec: AssetList, columns: list[str]) -> tuple[str, str, str]:
    """``(x, y, crs)`` of a table: as set, or found by name."""
    if spec.x:
        return (_find(columns, spec.x, "x", spec), _find(columns, spec.y, "y", spec),
                spec.crs or "EPSG:4326")
    for xn, yn, crs in XY_COLUMNS:
        x, y = _by_name(columns, (xn,)), _by_name(columns, (yn,))
        if x and y:
            return x, y, spec.crs or crs or "EPSG:4326"
    raise InputError(f"asset list {Path(spec.path).name} has no coordinate columns; name them "
                     f"with x = \"...\" and y = \"...\" (longitude/latitude, or easting/"
                     f"northing with crs = \"EPSG:27700\"); its columns are "
                     f"{clipped(', '.join(columns), 300)}")


def check_asset_lists(lists: list[AssetList], taxonomy: Mapping[str, Category]) -> None:
    """Check what can be checked before a run: files, categories and named columns.

    Raises
    ------
    InputError, ConfigError
        One line with the fix.
    """
    for spec in lists:
        _category_of(spec, taxonomy)
        columns = _columns(spec)
        for key in ("name", "capacity", "id", "category_column", *FIELD_COLUMNS):
            if getattr(spec, key):
                _find(columns, getattr(spec, key), key, spec)
        for col in spec.where:
            _find(columns, col, "where", spec)
        if _kind(Path(spec.path)) == "table":
            _xy_columns(spec, columns)


def _category_of(spec: AssetList, taxonomy: Mapping[str, Category]) -> Category | None:
    """The category of a fixed-category list (a new one when it has a label)."""
    if not spec.category:
        return None
    if spec.category in taxonomy:
        if spec.label:
            raise ConfigError(f"[[assets]] category {spec.category!r} already exists (label "
                              f"{taxonomy[spec.category].label!r}); leave label out, or give "
                              f"a new category name for a new kind of place")
        return taxonomy[spec.category]
    if not spec.label:
        raise ConfigError(_unknown_category(spec.category, taxonomy))
    return Category(name=spec.category, label=spec.label.strip(),
                    filters=(Matcher(tags=((LIST_TAG, frozenset([spec.category])),)),),
                    capacity=("capacity",) if spec.capacity else ())


def _unknown_category(name: str, taxonomy: Mapping[str, Category]) -> str:
    return (f"unknown category {shown(name)} in [[assets]]{_nearest(name, taxonomy)}; use a "
            f"category of `socialrisk categories`, or add a new one with label = \"Plain "
            f"words\"")


# --------------------------------------------------------------------------- rows


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _text(values: pd.Series) -> np.ndarray:
    """Cells as stripped text, whole numbers without ``.0``; None when empty."""
    def one(v: Any) -> str | None:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return None
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        text = str(v).strip()
        return text or None
    return np.array([one(v) for v in values], dtype=object)


def _where_mask(frame: pd.DataFrame, spec: AssetList) -> np.ndarray:
    columns = [str(c) for c in frame.columns]
    mask = np.ones(len(frame), dtype=bool)
    for col, values in spec.where.items():
        _find(columns, col, "where", spec)
        cells = frame[col]
        if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
            nums = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
            ok = cells.isin(nums.to_numpy()).to_numpy()
        else:
            want = {str(v).strip().casefold() for v in values}
            ok = np.array([isinstance(t, str) and t.casefold() in want for t in _text(cells)])
        if not ok.any():
            top = pd.Series(_text(cells)).value_counts().index[:8]
            raise InputError(f"asset list {Path(spec.path).name}: no row has {col} = "
                             f"{clipped(values, 80)}; values in that column include "
                             f"{clipped(', '.join(map(str, top)), 200)}")
        mask &= ok
    if spec.where and not mask.any():
        raise InputError(f"asset list {Path(spec.path).name}: no row matches every condition "
                         f"of where = {clipped(spec.where, 120)}; loosen it")
    return mask


def _projected(spec: AssetList, frame: pd.DataFrame, geoms: gpd.GeoSeries | None,
               crs: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Points in ``crs`` (None when missing), their swapped versions, and what was read."""
    name = Path(spec.path).name
    if geoms is None:
        x_col, y_col, src = _xy_columns(spec, [str(c) for c in frame.columns])
        x = pd.to_numeric(frame[x_col], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(frame[y_col], errors="coerce").to_numpy(dtype=float)
        info = {"x": x_col, "y": y_col, "crs": src}
    else:
        src = spec.crs or (geoms.crs.to_string() if geoms.crs is not None else "")
        if geoms.geom_type.isin(["LineString", "MultiLineString"]).any():
            raise InputError(f"asset list {name} holds lines; give points (or polygons) of "
                             f"the places")
        pts = geoms.representative_point() if len(geoms) else geoms
        x, y = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
        have = (~geoms.isna() & ~geoms.is_empty).to_numpy()
        x[have], y[have] = pts[have].x.to_numpy(), pts[have].y.to_numpy()
        if not src:
            src = "EPSG:4326"
            log.info("asset list %s has no CRS: read as longitude/latitude", name)
        info = {"geometry": str(geoms.name), "crs": src}
    ok = np.isfinite(x) & np.isfinite(y)
    geographic = pyproj.CRS.from_user_input(src).is_geographic
    degrees = ok & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    where = f"{info['x']}/{info['y']}" if "x" in info else "the geometries"
    if geographic and (ok & ~degrees).any():
        k = int(np.flatnonzero(ok & ~degrees)[0])
        raise InputError(f"asset list {name}: {where} hold values like {x[k]:.6g}, {y[k]:.6g}, "
                         f"not longitude/latitude; if they are British National Grid eastings"
                         f"/northings add crs = \"EPSG:27700\" (or the list's own CRS)")
    if not geographic and ok.any() and degrees[ok].all():
        raise InputError(f"asset list {name}: {where} hold values like {x[ok][0]:.6g}, "
                         f"{y[ok][0]:.6g}, which look like longitude/latitude degrees, not "
                         f"the metres of {src}; leave crs out (or set crs = \"EPSG:4326\")")
    tr = pyproj.Transformer.from_crs(src, crs, always_xy=True)
    px, py = tr.transform(x, y)
    sx, sy = tr.transform(y, x)
    return _points(px, py, ok), _points(sx, sy, ok), info


def _points(x: np.ndarray, y: np.ndarray, ok: np.ndarray) -> np.ndarray:
    ok = ok & np.isfinite(x) & np.isfinite(y)
    out = np.full(len(x), None, dtype=object)
    out[ok] = shapely.points(x[ok], y[ok])
    return out


def _check_ids(spec: AssetList, frame: pd.DataFrame) -> np.ndarray:
    if not spec.id:
        return np.array([str(i + 1) for i in range(len(frame))], dtype=object)
    name = Path(spec.path).name
    ids = _text(frame[_find([str(c) for c in frame.columns], spec.id, "id", spec)])
    missing = np.flatnonzero(pd.isna(ids))
    if missing.size:
        raise InputError(f"asset list {name}: the id column {shown(spec.id)} is empty on "
                         f"{missing.size} row(s) (first: row {missing[0] + 1}); fill them or "
                         f"leave id out to number the rows")
    dup = pd.Series(ids)[pd.Series(ids).duplicated()].unique()
    if dup.size:
        raise InputError(f"asset list {name}: duplicate ids in {shown(spec.id)}: "
                         f"{clipped(', '.join(map(str, dup[:5])), 120)}"
                         f"{f' and {dup.size - 5} more' if dup.size > 5 else ''}; give each "
                         f"row its own id (or another id column)")
    return ids


def _outside_error(spec: AssetList, pts: np.ndarray, area: Any, crs: str) -> InputError:
    have = pts[pd.notna(pts)]
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lx, ly = to_ll.transform(shapely.get_x(have), shapely.get_y(have))
    b = area.bounds
    ax, ay = to_ll.transform([b[0], b[2]], [b[1], b[3]])
    return InputError(
        f"asset list {Path(spec.path).name}: none of its {have.size} located rows lies in the "
        f"study area (they span longitude {np.min(lx):.3f} to {np.max(lx):.3f}, latitude "
        f"{np.min(ly):.3f} to {np.max(ly):.3f}; the areas {ax[0]:.3f} to {ax[1]:.3f}, "
        f"{ay[0]:.3f} to {ay[1]:.3f}); check x, y and crs, the where filter, or the list")


def read_asset_list(spec: AssetList, taxonomy: Mapping[str, Category], area: Any, crs: str,
                    ) -> tuple[gpd.GeoDataFrame, dict, dict[str, Category], list[str]]:
    """Read, check and filter one list.

    Parameters
    ----------
    spec : AssetList
    taxonomy : dict of Category
    area : shapely geometry
        The study area (union of the areas) in ``crs``.
    crs : str
        The run's projected CRS.

    Returns
    -------
    items : GeoDataFrame
        Kept rows as amenity rows (EPSG:4326): the amenity columns,
        ``source`` and :data:`~socialrisk.core.schema.ASSET_TEXT_COLUMNS`.
    record : dict
        For the manifest: file, checksum, rows read, kept, dropped by reason.
    new : dict of Category
        Categories the list adds to the taxonomy (new, or given a capacity).
    notes : list of str
        Rows left out for a problem in the data (not a choice of the settings).
    """
    p = Path(spec.path)
    fixed = _category_of(spec, taxonomy)
    frame, geoms = _read(spec)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    ids = _check_ids(spec, frame)
    record: dict[str, Any] = {"path": str(p), "bytes": p.stat().st_size, "sha256": _sha256(p),
                              "mode": spec.mode, "rows_read": len(frame)}
    notes: list[str] = []
    keep = _where_mask(frame, spec)
    dropped = {"not_matching_where": int((~keep).sum())}
    pts, swapped, record["coordinates"] = _projected(spec, frame, geoms, crs)
    located = keep & pd.notna(pts)
    dropped["no_coordinates"] = int((keep & ~located).sum())
    zone = area.buffer(spec.buffer_m) if spec.buffer_m else area
    shapely.prepare(zone)
    inside = np.zeros(len(frame), dtype=bool)
    inside[located] = shapely.intersects(zone, pts[located].astype(object))
    if located.any() and not inside.any():
        sw = pd.notna(swapped) & keep
        if sw.any() and shapely.intersects(zone, swapped[sw]).any():
            c = record["coordinates"]
            where = f"{c['x']} and {c['y']}" if "x" in c else "x and y of the geometries"
            raise InputError(f"asset list {p.name}: the coordinates look swapped ({where} "
                             f"hold latitude and longitude the other way round); swap x and y")
        raise _outside_error(spec, pts[located], zone, crs)
    if not located.any():
        raise InputError(f"asset list {p.name}: no row has coordinates; fill them in (or check "
                         f"x, y)")
    dropped["outside_study_area"] = int((located & ~inside).sum())
    record["kept"] = int(inside.sum())
    record["dropped"] = dropped
    if dropped["no_coordinates"]:
        notes.append(f"asset list {p.name}: {dropped['no_coordinates']} row(s) without usable "
                     f"coordinates left out (first: row {np.flatnonzero(keep & ~located)[0] + 1})")
    rows = np.flatnonzero(inside)
    sub = frame.iloc[rows]
    if fixed is not None:
        cats = np.full(rows.size, fixed.name, dtype=object)
        record["category"] = fixed.name
    else:
        col = _find(columns, spec.category_column, "category_column", spec)
        cats = _text(sub[col])
        bad = [c for c in dict.fromkeys(cats) if c not in taxonomy]
        if bad:
            raise ConfigError(f"asset list {p.name}, column {shown(col)}: "
                              + _unknown_category(str(bad[0]), taxonomy)
                              .replace(" in [[assets]]", "").replace(
                                  "add a new one with label", "put a new kind of place in a "
                                  "list of its own with category and label"))
        record["category_column"] = col
    items = _items(spec, sub, cats, ids[rows], pts[rows], crs, record, notes)
    new = _categories(spec, fixed, items, taxonomy)
    return items, record, new, notes


def _items(spec: AssetList, sub: pd.DataFrame, cats: np.ndarray, ids: np.ndarray,
           pts: np.ndarray, crs: str, record: dict, notes: list[str]) -> gpd.GeoDataFrame:
    fname = Path(spec.path).name
    columns = list(sub.columns)
    name_col = _find(columns, spec.name, "name", spec) if spec.name else \
        _by_name(columns, ("name",))
    record["name_column"] = name_col or None
    cap = np.full(len(sub), np.nan)
    if spec.capacity:
        raw = sub[_find(columns, spec.capacity, "capacity", spec)]
        cap = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, copy=True)
        cap[cap < 0] = np.nan
        bad = int((np.isnan(cap) & pd.notna(_text(raw))).sum())
        record["capacity"] = {"column": spec.capacity, "numeric": int(np.isfinite(cap).sum()),
                              "missing": int(np.isnan(cap).sum()), "not_a_number": bad}
        if bad:
            notes.append(f"asset list {fname}: {bad} capacity value(s) in {spec.capacity} are "
                         f"not numbers; E2SFCA gives those places the median capacity")
    data: dict[str, Any] = {
        "osm_type": np.full(len(sub), None, dtype=object),
        "osm_id": np.zeros(len(sub), dtype=np.int64),
        "category": cats,
        "name": _text(sub[name_col]) if name_col else np.full(len(sub), None, dtype=object),
        "amenity_type": np.full(len(sub), fname, dtype=object),
    }
    fields = {}
    for key, names in FIELD_COLUMNS.items():
        col = _find(columns, getattr(spec, key), key, spec) if getattr(spec, key) else \
            _by_name(columns, names)
        fields[key] = col or None
        data[key] = _text(sub[col]) if col else np.full(len(sub), None, dtype=object)
    record["fields"] = {k: v for k, v in fields.items() if v}
    data["capacity"] = cap
    data[schema.AMENITY_SOURCE] = np.array([f"{fname}:{i}" for i in ids], dtype=object)
    geo = gpd.GeoSeries(list(pts), crs=crs).to_crs("EPSG:4326")
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geo.to_numpy(), crs="EPSG:4326")


def _categories(spec: AssetList, fixed: Category | None, items: gpd.GeoDataFrame,
                taxonomy: Mapping[str, Category]) -> dict[str, Category]:
    """New categories, and existing ones that now have a capacity (so E2SFCA uses it)."""
    out = {}
    if fixed is not None and fixed.name not in taxonomy:
        out[fixed.name] = fixed
    if spec.capacity:
        for cat in dict.fromkeys(items["category"]):
            base = out.get(cat) or taxonomy[cat]
            if not base.capacity:
                out[cat] = dataclasses.replace(base, capacity=("capacity",))
    return out
