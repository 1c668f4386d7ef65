"""Reading and checking the files of a stored run (:mod:`socialrisk.runstore`).

Every table, array and JSON file of an app-data folder is read here and checked
before anything uses it: sizes before reading, dtypes and lengths of arrays from
their headers, recorded columns, dtypes and row counts of tables, CRS texts
(``AUTHORITY:CODE`` or WKT, never a PROJ string). A problem raises
:class:`_BadDataError`, which :func:`socialrisk.runstore.load_run` turns into one
:class:`~socialrisk.core.errors.InputError` line.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

#: largest JSON file read (index, manifest, settings ...)
MAX_JSON_BYTES = 10 * 1024 * 1024
#: column holding a table's index in its Parquet file
_INDEX_NAME = "__index__"


# ------------------------------------------------------------------------ errors


class _BadDataError(Exception):
    """A problem found while validating; turned into one InputError line by load_run."""


def _one_line(text: object, limit: int = 200) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[:limit - 3] + "..."


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise _BadDataError(message)


# ------------------------------------------------------------------------ JSON


def _read_json(path: Path) -> Any:
    _check(path.is_file(), f"{path.name} is missing")
    with open(path, "rb") as fh:
        raw = fh.read(MAX_JSON_BYTES + 1)
    _check(len(raw) <= MAX_JSON_BYTES, f"{path.name} is larger than "
                                       f"{MAX_JSON_BYTES // 2**20} MB")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _BadDataError(f"{path.name} is not valid JSON ({_one_line(exc, 80)})") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------ tables


_AUTHORITY_CRS = re.compile(r"[A-Z]{2,10}:[0-9A-Za-z_]{1,16}")
_WKT_CRS = re.compile(r"(PROJCRS|GEOGCRS|PROJCS|GEOGCS|COMPOUNDCRS|BOUNDCRS|GEODCRS)\[")


def _crs_text(crs) -> str | None:
    """A CRS as ``AUTHORITY:CODE`` (or WKT when it has no code), never a PROJ string."""
    if crs is None:
        return None
    text = crs.to_string()
    return text if _AUTHORITY_CRS.fullmatch(text) else crs.to_wkt()


def _safe_crs(text: Any, where: str) -> str:
    """``text`` when it is an ``AUTHORITY:CODE`` or WKT CRS.

    PROJ strings are refused (``+init=`` and grid options name files PROJ would
    open), and so is WKT naming a file (``PARAMETERFILE``).
    """
    _check(isinstance(text, str) and len(text) < 20_000
           and (_AUTHORITY_CRS.fullmatch(text) is not None
                or (_WKT_CRS.match(text) is not None
                    and not re.search(r"PARAMETERFILE|\+\w+\s*=", text, re.IGNORECASE))),
           f"{where} has a bad CRS")
    return text



def _restore_dtype(col: pd.Series, want: str, where: str) -> pd.Series:
    got = str(col.dtype)
    if got == want:
        return col
    if want == "object" and (got in ("str", "string") or col.isna().all()):
        # pandas reads text back as its string dtype; the run had plain objects (None)
        return col.astype(object).where(col.notna(), None)
    if want in ("str", "string") and col.isna().all():
        return col.astype(want)
    raise _BadDataError(f"{where} has type {got}, not {want}")


def _pyarrow_is_safe(version: str) -> bool:
    """Whether pyarrow ``version`` never unpickles extension types (CVE-2023-47248: < 14.0.1)."""
    parts = []
    for piece in version.split(".")[:3]:
        digits = re.match(r"\d+", piece)
        parts.append(int(digits.group()) if digits else 0)
    return tuple(parts) >= (14, 0, 1)


def _read_frame(folder: Path, name: str, meta: Any) -> pd.DataFrame:
    """Read one table written by :func:`_write_frame` and check it against its record."""
    _check(isinstance(meta, dict), f"the index has no table {name}")
    file, rows, cols = meta.get("file"), meta.get("rows"), meta.get("columns")
    dtypes, geom, index = meta.get("dtypes"), meta.get("geometry"), meta.get("index")
    _check(file == f"{name}.parquet", f"table {name} has a bad file name")
    _check(isinstance(rows, int) and rows >= 0, f"table {name} has a bad row count")
    _check(isinstance(cols, list) and all(isinstance(c, str) for c in cols)
           and len(set(cols)) == len(cols), f"table {name} has bad columns")
    _check(isinstance(dtypes, dict) and all(isinstance(v, str) for v in dtypes.values())
           and set(dtypes) == set(cols) - {geom}, f"table {name} has bad dtypes")
    _check(geom is None or (isinstance(geom, str) and geom in cols),
           f"table {name} has a bad geometry column")
    _check(index is None or (isinstance(index, dict) and isinstance(index.get("dtype"), str)
                             and (index.get("name") is None or isinstance(index["name"], str))),
           f"table {name} has a bad index")
    path = folder / file
    _check(path.is_file(), f"{file} is missing")
    try:
        table = pq.read_table(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _BadDataError(f"{file} is not a readable Parquet file ({_one_line(exc, 80)})"
                            ) from None
    for field in table.schema:
        _check(not isinstance(field.type, pa.BaseExtensionType),
               f"{file}: column {field.name} has an extension type")
    stored = [_INDEX_NAME, *cols] if index is not None else list(cols)
    _check(table.column_names == stored, f"{file} does not have the recorded columns")
    _check(table.num_rows == rows, f"{file} has {table.num_rows} rows, not {rows}")
    if geom is not None:
        gcol = table.column(geom)
        _check(pa.types.is_binary(gcol.type) or pa.types.is_large_binary(gcol.type),
               f"{file}: geometry is not WKB")
        table = table.drop_columns([geom])
    df = table.to_pandas()
    _check(isinstance(df.index, pd.RangeIndex) and list(df.columns) == [c for c in stored
                                                                        if c != geom],
           f"{file} has unexpected pandas metadata")
    for c, want in dtypes.items():
        if str(df[c].dtype) != want:
            df[c] = _restore_dtype(df[c], want, f"{file} column {c}")
    if index is not None:
        idx = pd.Index(df.pop(_INDEX_NAME)).rename(index.get("name"))
        if str(idx.dtype) != index["dtype"]:
            if index["dtype"] == "object" and str(idx.dtype) in ("str", "string"):
                idx = idx.astype(object)
            else:
                raise _BadDataError(f"{file}: the index has type {idx.dtype}, not {index['dtype']}")
        df.index = idx
    cix = meta.get("columns_index")
    if cix == "range" and not cols:
        df.columns = pd.RangeIndex(0)
    elif cix in ("object", "str") and str(df.columns.dtype) != cix:
        df.columns = df.columns.astype(cix)
    if geom is None:
        return df
    try:
        geoms = shapely.from_wkb(gcol.to_numpy(zero_copy_only=False))
    except Exception as exc:  # shapely.errors.GEOSException and friends
        raise _BadDataError(f"{file}: geometries cannot be read ({_one_line(exc, 80)})") from None
    crs = meta.get("crs")
    crs = None if crs is None else _safe_crs(crs, f"table {name}")
    try:
        gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, index=df.index, name=geom),
                               crs=crs)
    except Exception as exc:  # pyproj.exceptions.CRSError
        raise _BadDataError(f"{file}: bad CRS {crs!r} ({_one_line(exc, 80)})") from None
    return gdf[cols]


# ------------------------------------------------------------------------ arrays


def _read_npz(path: Path, expected: dict[str, tuple[type, int | None]]) -> dict[str, np.ndarray]:
    """Arrays of an ``.npz`` with exactly the given 1-D dtypes and lengths.

    ``None`` as a length: any length the stored bytes can hold. Each array header
    is checked before its data is read, so a dtype (objects: pickles) or a size
    that is not the expected one is refused without reading it; ``allow_pickle``
    stays False anyway.
    """
    _check(path.is_file(), f"{path.name} is missing")
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise _BadDataError(f"{path.name} is not a readable .npz ({_one_line(exc, 80)})") from None
    with zf:
        names = {i.filename: i for i in zf.infolist()}
        _check(set(names) == {f"{k}.npy" for k in expected},
               f"{path.name} does not hold the expected arrays")
        for key, (dtype, length) in expected.items():
            info = names[f"{key}.npy"]
            _check(info.compress_type == zipfile.ZIP_STORED,
                   f"{path.name}: {key} is compressed")
            try:
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, fortran, dt = np.lib.format.read_array_header_1_0(fh)
                    elif version == (2, 0):
                        shape, fortran, dt = np.lib.format.read_array_header_2_0(fh)
                    else:
                        raise _BadDataError(f"{path.name}: {key} has npy format {version}")
                    header = fh.tell()
            except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
                raise _BadDataError(f"{path.name}: {key} has a bad header ({_one_line(exc, 80)})"
                           ) from None
            _check(dt == np.dtype(dtype),
                   f"{path.name}: {key} has dtype {dt}, not {np.dtype(dtype)}")
            _check(len(shape) == 1, f"{path.name}: {key} is not one-dimensional")
            _check(length is None or shape[0] == length,
                   f"{path.name}: {key} has {shape[0]} values, not {length}")
            _check(info.file_size == header + shape[0] * dt.itemsize,
                   f"{path.name}: {key} is truncated")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: np.ascontiguousarray(npz[k]) for k in expected}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise _BadDataError(f"{path.name} cannot be read ({_one_line(exc, 80)})") from None
