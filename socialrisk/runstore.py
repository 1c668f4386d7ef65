"""A prepared and computed run on disk, in data-only files the app loads in about a second.

:func:`save_run` writes everything the app needs (the
:class:`~socialrisk.pipeline.Prepared` inputs and the
:class:`~socialrisk.pipeline.RunResult`) to a folder; :func:`load_run` reads it
back. Nothing in the folder can run code when it is read:

* tables are (Geo)Parquet, read with pyarrow (geometries decoded from WKB);
* arrays (walking network, snapping) are ``.npz`` read with ``allow_pickle=False``;
* settings, taxonomy, labels, manifest and timings are JSON of plain values, and
  the taxonomy's dataclasses are rebuilt from them (its regular expressions are
  compiled, never evaluated).

Every file is read and checked in :mod:`socialrisk.runstore_checks`.

``index.json`` is written last and names the format version, every file with its
size and SHA-256, and the shape of every table; a folder that is incomplete, of
another version or inconsistent (a wrong dtype, a shape that does not match, a
node or row index out of range) is refused with one :class:`InputError` line, so
a crafted folder cannot reach the app's pages. See ``docs/security.md``.

Layout (``FOLDER/``)::

    index.json        format, version, files, table schemas, counts
    settings.json     Settings.as_dict()
    taxonomy.json     categories as plain values
    labels.json       prepared and result labels
    manifest.json     prepared manifest (result manifest too when it is the same dict)
    timings.json      seconds per stage
    *.parquet         areas, amenities, data, population, origins, result tables
    network.npz       WalkNetwork arrays
    snapped.npz       attachments per category and for origins
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from geo.taxonomy import _NAME_RE, ACCESS_MODES, Category, Matcher
from socialrisk import __version__
from socialrisk.core.errors import ConfigError, InputError
from socialrisk.core.network import Attachments, WalkNetwork
from socialrisk.lenses import refuse_lens_paths
from socialrisk.runstore_checks import (
    _INDEX_NAME,
    MAX_JSON_BYTES,
    _BadDataError,
    _check,
    _crs_text,
    _one_line,
    _pyarrow_is_safe,
    _read_frame,
    _read_json,
    _read_npz,
    _safe_crs,
    _sha256,
)
from socialrisk.settings import INPUT_SETTINGS, Settings, settings_from_mapping
from socialrisk.stages import Prepared, RunResult, Snapped, Timings

__all__ = ["APP_DATA_DIR", "FORMAT", "INDEX", "MAX_JSON_BYTES", "REWRITE", "VERSION",
           "load_run", "save_run"]

log = logging.getLogger(__name__)

#: subfolder of a run's output directory holding the app data (``OUT/app``)
APP_DATA_DIR = "app"
FORMAT = "socialrisk-app-data"
#: bump when the layout changes; a folder of another version is refused
VERSION = 1
INDEX = "index.json"
REWRITE = "run `socialrisk run` again to rewrite it"

_ATT_FIELDS = (("item", np.int64), ("node", np.int64), ("offset", np.float64),
               ("edge", np.int64), ("along", np.float64), ("snap_m", np.float64),
               ("snapped", np.bool_))
_NET_FIELDS = (("node_id", np.int64), ("x", np.float64), ("y", np.float64),
               ("u", np.int64), ("v", np.int64), ("length", np.float64))
#: columns (and dtypes, where they matter) every loaded table must have
_REQUIRED = {
    "areas": {"area_id": None},
    "amenities": {"category": None, "name": None, "capacity": "float64", "osm_id": "int64"},
    "origins": {"origin_id": "int64", "area_id": None, "weight": "float64",
                "population": "float64", "method": None},
    "result_areas": {"area_id": None, "isolation_risk": "float64", "access_score": "float64",
                     "isolation_risk_rank": "Int64", "isolation_risk_decile": "Int64",
                     "isolation_risk_drivers": None},
    "result_amenities": {"category": None, "name": None, "snap_m": "float64",
                         "snapped": "bool"},
    "result_amenity_polygons": {"category": None},
}


# ------------------------------------------------------------------------ JSON


def _plain(obj: Any) -> Any:
    """``obj`` as JSON values (numpy scalars and arrays, paths, tuples converted)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return str(obj)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_plain(data), allow_nan=True), encoding="utf-8")


# ------------------------------------------------------------------------ tables


def _default_index(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 \
        and index.name is None


def _write_frame(df: pd.DataFrame, folder: Path, name: str) -> dict:
    """Write one table (GeoParquet when it has geometries); returns its schema record."""
    cols = list(df.columns)
    if len(set(cols)) != len(cols) or not all(isinstance(c, str) for c in cols) \
            or _INDEX_NAME in cols:
        raise ValueError(f"{name}: column names must be unique strings")
    geo = isinstance(df, gpd.GeoDataFrame)
    geom = df.geometry.name if geo else None
    meta: dict[str, Any] = {
        "file": f"{name}.parquet", "rows": int(len(df)), "columns": cols,
        "dtypes": {c: str(df[c].dtype) for c in cols if c != geom},
        "geometry": geom, "crs": _crs_text(df.crs) if geo else None,
        "index": None,
        "columns_index": ("range" if isinstance(df.columns, pd.RangeIndex)
                          else str(df.columns.dtype))}
    out = df.copy(deep=False)
    if not _default_index(df.index):
        if isinstance(df.index, pd.MultiIndex):
            raise ValueError(f"{name}: a MultiIndex cannot be stored")
        meta["index"] = {"name": df.index.name, "dtype": str(df.index.dtype)}
        out.insert(0, _INDEX_NAME, df.index.to_numpy())
    out = out.reset_index(drop=True)
    out.to_parquet(folder / meta["file"], index=False)
    return meta


# ------------------------------------------------------------------------ taxonomy


def _values_json(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


def _taxonomy_json(taxonomy: dict) -> list:
    out = []
    for name, cat in taxonomy.items():
        filters = []
        for m in cat.filters:
            for _, pattern in m.regex:
                if pattern.flags != (re.IGNORECASE | re.UNICODE):
                    raise ValueError(f"taxonomy {name}: unexpected regex flags")
            filters.append({"tags": [[k, _values_json(v)] for k, v in m.tags],
                            "exclude": [[k, _values_json(v)] for k, v in m.exclude],
                            "regex": [[k, p.pattern] for k, p in m.regex]})
        out.append({"name": name, "label": cat.label, "access": cat.access,
                    "capacity": list(cat.capacity), "filters": filters})
    return out


def _taxonomy_from_json(data: Any) -> dict:

    def conds(items: Any, what: str) -> tuple:
        _check(isinstance(items, list), f"taxonomy: bad {what}")
        out = []
        for it in items:
            _check(isinstance(it, list) and len(it) == 2 and isinstance(it[0], str),
                   f"taxonomy: bad {what}")
            vals = it[1]
            _check(vals is None or (isinstance(vals, list)
                                    and all(isinstance(v, str) for v in vals)),
                   f"taxonomy: bad {what}")
            out.append((it[0], None if vals is None else frozenset(vals)))
        return tuple(out)

    _check(isinstance(data, list) and data, "taxonomy.json has no categories")
    taxonomy = {}
    for spec in data:
        _check(isinstance(spec, dict), "taxonomy.json: a category is not a table")
        name, label = spec.get("name"), spec.get("label")
        _check(isinstance(name, str) and bool(_NAME_RE.match(name)) and name not in taxonomy,
               f"taxonomy.json: bad category name {_one_line(name, 40)!r}")
        _check(isinstance(label, str), f"taxonomy.json: category {name} has no label")
        _check(spec.get("access") in ACCESS_MODES, f"taxonomy.json: {name} has a bad access")
        cap = spec.get("capacity")
        _check(isinstance(cap, list) and all(isinstance(c, str) for c in cap),
               f"taxonomy.json: {name} has a bad capacity")
        filters = spec.get("filters")
        _check(isinstance(filters, list) and filters, f"taxonomy.json: {name} has no filters")
        matchers = []
        for f in filters:
            _check(isinstance(f, dict), f"taxonomy.json: {name} has a bad filter")
            tags = conds(f.get("tags"), "tags")
            _check(bool(tags), f"taxonomy.json: {name} has a filter without tags")
            regex = f.get("regex")
            _check(isinstance(regex, list) and all(
                isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r)
                for r in regex), f"taxonomy.json: {name} has a bad regex")
            try:
                compiled = tuple((k, re.compile(p, re.IGNORECASE)) for k, p in regex)
            except re.error:
                raise _BadDataError(f"taxonomy.json: {name} has an invalid regex") from None
            matchers.append(Matcher(tags=tags, exclude=conds(f.get("exclude"), "exclude"),
                                    regex=compiled))
        taxonomy[name] = Category(name=name, label=label, filters=tuple(matchers),
                                  capacity=tuple(cap), access=spec["access"])
    return taxonomy


# ------------------------------------------------------------------------ save


def save_run(prepared, result, folder: str | Path) -> Path:
    """Write a prepared and computed run to ``folder`` (created) in data-only files.

    Parameters
    ----------
    prepared : socialrisk.pipeline.Prepared
    result : socialrisk.pipeline.RunResult
        ``compute(prepared)``.
    folder : path
        Written in place; ``index.json`` comes last, so an interrupted write is
        refused by :func:`load_run` (write into a temporary folder and rename it
        for atomicity, as ``socialrisk.outputs`` and ``socialrisk.runcache`` do).

    Returns
    -------
    Path
        ``folder``.
    """
    t0 = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / INDEX).unlink(missing_ok=True)
    p, r = prepared, result
    tables = {
        "areas": _write_frame(p.areas, folder, "areas"),
        "amenities": _write_frame(p.amenities, folder, "amenities"),
        "data": _write_frame(p.data, folder, "data"),
        "origins": _write_frame(p.origins, folder, "origins"),
        "result_areas": _write_frame(r.areas, folder, "result_areas"),
        "result_amenities": _write_frame(r.amenities, folder, "result_amenities"),
        "result_amenity_polygons": _write_frame(r.amenity_polygons, folder,
                                                "result_amenity_polygons"),
    }
    if p.population is not None:
        tables["population"] = _write_frame(p.population.to_frame(name="population"), folder,
                                            "population")
    origins_shared = r.origins is p.origins
    if not origins_shared:
        tables["result_origins"] = _write_frame(r.origins, folder, "result_origins")
    index: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "written_by": f"socialrisk {__version__}",
        "crs": p.crs, "tables": tables, "categories": list(p.taxonomy),
        "population_name": None if p.population is None else p.population.name,
        "origins_shared": origins_shared, "manifest_shared": r.manifest is p.manifest,
        "network": None, "snapped": None}

    if p.network is not None:
        net = p.network
        np.savez(folder / "network.npz",
                 **{k: np.ascontiguousarray(getattr(net, k), dtype=t) for k, t in _NET_FIELDS})
        index["network"] = {"crs": net.crs, "dropped_nodes": int(net.dropped_nodes),
                            "nodes": net.n_nodes, "edges": net.n_edges}
    sn = p.snapped
    arrays: dict[str, np.ndarray] = {}
    cats = list(sn.amenities)
    for i, cat in enumerate(cats):
        for k, t in _ATT_FIELDS:
            arrays[f"c{i}_{k}"] = np.ascontiguousarray(getattr(sn.amenities[cat], k), dtype=t)
        arrays[f"c{i}_rows"] = np.ascontiguousarray(sn.amenity_rows[cat], dtype=np.int64)
    if sn.origins is not None:
        for k, t in _ATT_FIELDS:
            arrays[f"o_{k}"] = np.ascontiguousarray(getattr(sn.origins, k), dtype=t)
    np.savez(folder / "snapped.npz", **arrays)
    index["snapped"] = {
        "categories": cats, "origins": sn.origins is not None,
        "attachments": {k: int(v.shape[0]) for k, v in arrays.items()
                        if k.endswith("_item")}}

    _write_json(folder / "settings.json", p.settings.as_dict())
    _write_json(folder / "taxonomy.json", _taxonomy_json(p.taxonomy))
    _write_json(folder / "labels.json", {"prepared": p.labels, "result": r.labels})
    _write_json(folder / "manifest.json", p.manifest)
    if r.manifest is not p.manifest:
        _write_json(folder / "result_manifest.json", r.manifest)
    _write_json(folder / "timings.json", p.timings.stages)
    _write_json(folder / "snapped_report.json", sn.report)
    written = [t["file"] for t in tables.values()] + [
        "settings.json", "taxonomy.json", "labels.json", "manifest.json", "timings.json",
        "snapped_report.json", "snapped.npz"]
    written += ["network.npz"] * (p.network is not None)
    written += ["result_manifest.json"] * (r.manifest is not p.manifest)
    index["files"] = {name: {"bytes": (folder / name).stat().st_size,
                             "sha256": _sha256(folder / name)} for name in sorted(written)}
    _write_json(folder / INDEX, index)
    log.info("app data written to %s in %.1f s", folder, time.perf_counter() - t0)
    return folder


# ------------------------------------------------------------------------ load


def load_run(folder: str | Path):
    """``(prepared, result)`` from a folder written by :func:`save_run`.

    Raises
    ------
    InputError
        One line naming the folder and the fix ("run `socialrisk run` again to
        rewrite it") when anything is missing, of another version, malformed or
        inconsistent. Nothing read is ever executed.
    """
    if not _pyarrow_is_safe(pa.__version__):
        raise InputError(f"pyarrow {pa.__version__} can run code from a crafted Parquet file "
                         f"(CVE-2023-47248); upgrade it: pip install 'pyarrow>=14.0.1'")
    folder = Path(folder)
    t0 = time.perf_counter()
    try:
        if not folder.is_dir():
            raise _BadDataError("it is not a directory")
        out = _load(folder)
    except _BadDataError as exc:
        raise InputError(f"{folder} is not usable app data: {exc}; {REWRITE}") from None
    except (InputError, ConfigError) as exc:
        raise InputError(f"{folder} is not usable app data: {_one_line(exc)}; {REWRITE}"
                         ) from None
    except Exception as exc:  # anything a crafted file could still provoke: one line
        log.debug("loading %s failed", folder, exc_info=True)
        raise InputError(f"{folder} is not usable app data ({type(exc).__name__}: "
                         f"{_one_line(exc, 120)}); {REWRITE}") from None
    log.info("app data loaded from %s in %.2f s", folder, time.perf_counter() - t0)
    return out


def _load(folder: Path):

    _check((folder / INDEX).is_file(), f"{INDEX} is missing (an older or interrupted write)")
    links = sorted(p.name for p in folder.iterdir() if p.is_symlink())
    _check(not folder.is_symlink() and not links,
           f"it holds a symbolic link ({_one_line(links[0] if links else folder.name, 40)}); "
           f"app data is read only from files inside the run folder")
    index = _read_json(folder / INDEX)
    _check(isinstance(index, dict) and index.get("format") == FORMAT, f"{INDEX} is not "
                                                                      f"socialrisk app data")
    _check(index.get("version") == VERSION,
           f"it is format version {_one_line(index.get('version'), 20)}, this socialrisk "
           f"reads version {VERSION}")
    files = index.get("files")
    _check(isinstance(files, dict), f"{INDEX} lists no files")
    for name, rec in files.items():
        _check(isinstance(name, str) and "/" not in name and "\\" not in name
               and name not in ("", ".", "..") and isinstance(rec, dict),
               f"{INDEX} has a bad file entry")
        f = folder / name
        _check(f.is_file(), f"{name} is missing")
        _check(f.stat().st_size == rec.get("bytes"), f"{name} has another size than recorded")
        _check(_sha256(f) == rec.get("sha256"), f"{name} has another SHA-256 than recorded")

    tables = index.get("tables")
    _check(isinstance(tables, dict), f"{INDEX} has no tables")

    def frame(name: str, geo: bool) -> pd.DataFrame:
        meta = tables.get(name)
        _check(isinstance(meta, dict) and meta.get("file") in files,
               f"table {name} is not listed")
        df = _read_frame(folder, name, meta)
        if name == "result_areas" and "drivers" in df.columns \
                and "isolation_risk_drivers" not in df.columns:  # runs of socialrisk <= 0.1
            df = df.rename(columns={"drivers": "isolation_risk_drivers"})
        _check(isinstance(df, gpd.GeoDataFrame) == geo,
               f"table {name} {'has no' if geo else 'has'} geometries")
        for col, dtype in _REQUIRED.get(name, {}).items():
            _check(col in df.columns, f"table {name} has no column {col}")
            _check(dtype is None or str(df[col].dtype) == dtype,
                   f"table {name} column {col} is {df[col].dtype}, not {dtype}")
        return df

    crs = _safe_crs(index.get("crs"), INDEX)
    areas = frame("areas", True)
    amenities = frame("amenities", True)
    data = frame("data", False)
    origins = frame("origins", True)
    r_areas = frame("result_areas", True)
    r_amenities = frame("result_amenities", True)
    r_polys = frame("result_amenity_polygons", True)
    population = None
    _check(index.get("population_name") is None or isinstance(index["population_name"], str),
           f"{INDEX} has a bad population name")
    if "population" in tables:
        pop = frame("population", False)
        _check(list(pop.columns) == ["population"], "table population has bad columns")
        population = pop["population"].rename(index.get("population_name"))
    _check(isinstance(index.get("origins_shared"), bool), f"{INDEX} is incomplete")
    r_origins = origins if index["origins_shared"] else frame("result_origins", True)
    _check(len(areas) > 0, "there are no areas")
    _check(areas["area_id"].is_unique, "area ids repeat")
    _check(r_areas["area_id"].astype(str).tolist() == areas["area_id"].astype(str).tolist(),
           "the result areas are not the run's areas")
    _check(bool(origins["area_id"].isin(areas["area_id"]).all()),
           "origins refer to areas that are not in the run")
    _check(bool(origins.geom_type.eq("Point").all()), "origins are not points")
    _check(len(r_amenities) == len(amenities), "the result amenities are not the run's")

    categories = index.get("categories")
    _check(isinstance(categories, list) and all(isinstance(c, str) for c in categories),
           f"{INDEX} has no categories")
    taxonomy = _taxonomy_from_json(_read_json(folder / "taxonomy.json"))
    _check(list(taxonomy) == categories, "taxonomy.json does not match the index")
    labels = _read_json(folder / "labels.json")
    _check(isinstance(labels, dict) and set(labels) == {"prepared", "result"}
           and all(isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str)
                                               for k, x in v.items())
                   for v in labels.values()), "labels.json is malformed")
    settings_data = _read_json(folder / "settings.json")
    _check(isinstance(settings_data, dict), "settings.json is not a table")
    try:
        refuse_lens_paths(settings_data.get("lenses"))
    except ConfigError as exc:
        _check(False, str(exc))
    settings = settings_from_mapping(settings_data)
    # the values are checked; recorded paths are kept as text, never looked at
    dataclasses.replace(settings, **{k: getattr(Settings(), k) for k in INPUT_SETTINGS
                                     if k not in ("quiet", "map")}).validate()
    manifest = _read_json(folder / "manifest.json")
    _check(isinstance(manifest, dict), "manifest.json is not a table")
    _check(isinstance(index.get("manifest_shared"), bool), f"{INDEX} is incomplete")
    r_manifest = manifest if index["manifest_shared"] else \
        _read_json(folder / "result_manifest.json")
    _check(isinstance(r_manifest, dict), "result_manifest.json is not a table")
    stages = _read_json(folder / "timings.json")
    _check(isinstance(stages, dict) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in stages.values()),
        "timings.json is malformed")
    report = _read_json(folder / "snapped_report.json")
    _check(isinstance(report, dict), "snapped_report.json is not a table")

    # ---- network
    net_meta = index.get("network")
    network = None
    if net_meta is not None:
        _check(isinstance(net_meta, dict)
               and all(isinstance(net_meta.get(k), int) and not isinstance(net_meta[k], bool)
                       and net_meta[k] >= 0 for k in ("nodes", "edges", "dropped_nodes")),
               f"{INDEX} has a bad network record")
        _safe_crs(net_meta.get("crs"), "the walking network")
        n, m = net_meta["nodes"], net_meta["edges"]
        _check("network.npz" in files, "network.npz is not listed")
        a = _read_npz(folder / "network.npz",
                      {k: (t, n if k in ("node_id", "x", "y") else m) for k, t in _NET_FIELDS})
        _check(n > 0 and m > 0, "the walking network is empty")
        _check(bool(np.isfinite(a["x"]).all() and np.isfinite(a["y"]).all()),
               "network.npz: node coordinates are not finite")
        for k in ("u", "v"):
            _check(bool((a[k] >= 0).all() and (a[k] < n).all()),
                   f"network.npz: {k} refers to nodes out of range")
        _check(bool(np.isfinite(a["length"]).all() and (a["length"] >= 0).all()),
               "network.npz: edge lengths are not finite and >= 0")
        network = WalkNetwork(node_id=a["node_id"], x=a["x"], y=a["y"], u=a["u"], v=a["v"],
                              length=a["length"], crs=net_meta["crs"],
                              dropped_nodes=net_meta["dropped_nodes"])

    # ---- snapping
    sm = index.get("snapped")
    _check(isinstance(sm, dict) and isinstance(sm.get("categories"), list)
           and isinstance(sm.get("origins"), bool) and isinstance(sm.get("attachments"), dict),
           f"{INDEX} has a bad snapping record")
    snap_cats = sm["categories"]
    _check(snap_cats == (categories if network is not None else []),
           "snapped.npz does not cover the taxonomy's categories")
    _check(sm["origins"] == (network is not None), "snapped.npz: origins do not match")
    cat_rows = amenities["category"].to_numpy(dtype=object)
    expected: dict[str, tuple[type, int | None]] = {}
    for i, cat in enumerate(snap_cats):
        k_att = sm["attachments"].get(f"c{i}_item")
        n_items = int((cat_rows == cat).sum())
        for k, t in _ATT_FIELDS:
            expected[f"c{i}_{k}"] = (t, n_items if k in ("snap_m", "snapped") else k_att)
        expected[f"c{i}_rows"] = (np.int64, n_items)
    if sm["origins"]:
        k_att = sm["attachments"].get("o_item")
        for k, t in _ATT_FIELDS:
            expected[f"o_{k}"] = (t, len(origins) if k in ("snap_m", "snapped") else k_att)
    for key, (_, length) in expected.items():
        _check(length is None or (isinstance(length, int) and not isinstance(length, bool)),
               f"{INDEX}: bad attachment count for {key}")
    _check("snapped.npz" in files, "snapped.npz is not listed")
    arr = _read_npz(folder / "snapped.npz", expected)

    def attachments(prefix: str, n_items: int) -> Attachments:
        g = {k: arr[f"{prefix}_{k}"] for k, _ in _ATT_FIELDS}
        item, node, edge = g["item"], g["node"], g["edge"]
        where = f"snapped.npz ({prefix})"
        _check(bool((item >= 0).all() and (item < n_items).all()),
               f"{where}: items out of range")
        _check(bool((np.diff(item) >= 0).all()), f"{where}: items are not sorted")
        _check(bool((node >= 0).all() and (node < network.n_nodes).all()),
               f"{where}: nodes out of range")
        _check(bool((edge >= -1).all() and (edge < network.n_edges).all()),
               f"{where}: edges out of range")
        _check(bool(np.isfinite(g["offset"]).all() and (g["offset"] >= 0).all()),
               f"{where}: offsets are not finite and >= 0")
        has = np.bincount(item, minlength=n_items)[:n_items] > 0
        _check(bool(np.array_equal(has, g["snapped"])), f"{where}: snapped does not match")
        return Attachments(**g)

    per_cat, rows = {}, {}
    for i, cat in enumerate(snap_cats):
        r_ = arr[f"c{i}_rows"]
        _check(bool((r_ >= 0).all() and (r_ < len(amenities)).all()),
               f"snapped.npz: amenity rows of {cat} out of range")
        _check(bool((cat_rows[r_] == cat).all()) and np.unique(r_).size == r_.size,
               f"snapped.npz: amenity rows of {cat} are not its amenities")
        rows[cat] = r_
        per_cat[cat] = attachments(f"c{i}", r_.size)
    o_att = attachments("o", len(origins)) if sm["origins"] else None
    snapped = Snapped(per_cat, rows, o_att, report)

    pop_ok = population is None or (population.index.astype(str).tolist()
                                     == data.index.astype(str).tolist())
    _check(pop_ok, "the population is not by the run's areas")
    _check(not any(isinstance(v, float) and math.isnan(v) for v in stages.values()),
           "timings.json is malformed")

    prepared = Prepared(settings=settings, taxonomy=taxonomy, labels=labels["prepared"],
                        areas=areas, crs=crs, network=network, amenities=amenities, data=data,
                        population=population, origins=origins, snapped=snapped,
                        manifest=manifest, timings=Timings(dict(stages)))
    result = RunResult(areas=r_areas, amenities=r_amenities, amenity_polygons=r_polys,
                       origins=r_origins, manifest=r_manifest, labels=labels["result"])
    return prepared, result
