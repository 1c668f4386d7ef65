"""Files uploaded through the app: size limit, allowed types, safe unzipping.

An upload is bytes from a stranger. Before GDAL sees it: its size is checked,
its type must be one of the allowed ones, and a zipped Shapefile is extracted
into a private temporary directory only after every member passed the checks
(no absolute paths or ``..``, no links, a bounded number of files, a bounded
total uncompressed size and compression ratio, measured while extracting, not
trusted from the zip header).
"""

from __future__ import annotations

import logging
import stat
import tempfile
import warnings
import zipfile
from io import BytesIO
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd

from geo.csvtable import read_table
from socialrisk.core.errors import InputError, clipped, shown

log = logging.getLogger(__name__)

#: 20 MB as Streamlit counts them (MiB): the same limit as ``server.maxUploadSize = 20`` in
#: ``.streamlit/config.toml``, which the server enforces before any of these checks run
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_MB = 1024 * 1024
LAYER_TYPES = (".geojson", ".json", ".gpkg", ".zip", ".parquet")
TABLE_TYPES = (".csv", ".txt")
MAX_ZIP_FILES = 50
MAX_ZIP_TOTAL_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 200  # uncompressed / compressed, per member


def _name(filename: str) -> str:
    """An upload's name for a message: the browser sends any text, so it is capped and escaped."""
    return clipped(Path(str(filename)).name, 60) or "the upload"


def _suffix(filename: str, allowed: tuple[str, ...]) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in allowed:
        raise InputError(f"{_name(filename)}: files of type {clipped(suffix, 12) or '(none)'} "
                         f"are not accepted; upload one of {', '.join(allowed)}")
    return suffix


def _check_size(data: bytes, filename: str, max_bytes: int) -> None:
    if len(data) == 0:
        raise InputError(f"{_name(filename)} is empty; export it again from your GIS")
    if len(data) > max_bytes:
        raise InputError(f"{_name(filename)} is {len(data) / _MB:.1f} MB, more than the "
                         f"{max_bytes / _MB:.0f} MB allowed; upload a smaller file "
                         "(only the areas or sites you need)")


def safe_extract_zip(data: bytes, dest: Path, filename: str = "upload.zip", *,
                     max_files: int = MAX_ZIP_FILES, max_total: int = MAX_ZIP_TOTAL_BYTES,
                     max_ratio: float = MAX_ZIP_RATIO) -> list[Path]:
    """Extract a zip into ``dest`` refusing path tricks and decompression bombs.

    Parameters
    ----------
    data : bytes
        The zip file.
    dest : Path
        An empty directory of the caller's (a temporary one).
    filename : str
        For messages.
    max_files, max_total, max_ratio : int, int, float
        Limits on members, total uncompressed bytes and per-member compression ratio.

    Returns
    -------
    list of Path
        The extracted files.

    Raises
    ------
    InputError
        Not a zip, too many members, a member escaping ``dest`` (absolute path,
        ``..``, a link), or more bytes than the limits allow.
    """
    try:
        zf = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputError(f"{_name(filename)} is not a valid zip file; zip the Shapefile parts "
                         "(.shp, .shx, .dbf, .prj) again") from exc
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > max_files:
            raise InputError(f"{_name(filename)} holds {len(members)} files (at most {max_files}); "
                             "zip only the Shapefile parts")
        root = dest.resolve()
        for m in members:
            p = PurePosixPath(m.filename.replace("\\", "/"))
            mode = m.external_attr >> 16
            if p.is_absolute() or ".." in p.parts or stat.S_ISLNK(mode):
                raise InputError(f"{_name(filename)} contains an unsafe entry "
                                 f"{shown(m.filename)} (absolute path, '..' or link); zip the "
                                 f"files themselves")
            if not (root / p).resolve().is_relative_to(root):
                raise InputError(f"{_name(filename)} contains an unsafe entry "
                                 f"{shown(m.filename)}; zip the files themselves")
        total = 0
        out = []
        for m in members:
            target = root / PurePosixPath(m.filename.replace("\\", "/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            limit = min(max_total - total, max(m.compress_size, 1) * max_ratio)
            with zf.open(m) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 16):
                    written += len(chunk)
                    if written > limit:
                        raise InputError(
                            f"{_name(filename)} expands beyond the allowed size (a compression "
                            f"ratio over {max_ratio:g} or more than {max_total / _MB:.0f} MB); "
                            "upload the Shapefile parts uncompressed or as a GeoPackage")
                    dst.write(chunk)
            total += written
            out.append(target)
    return out


def check_upload(data: bytes, filename: str, allowed: tuple[str, ...],
                 max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """Refuse an empty, too large or not accepted upload (InputError); return its suffix."""
    _check_size(data, filename, max_bytes)
    return _suffix(filename, allowed)


def read_upload_layer(data: bytes, filename: str, *,
                      max_bytes: int = MAX_UPLOAD_BYTES) -> gpd.GeoDataFrame:
    """Read an uploaded GeoJSON, GeoPackage, zipped Shapefile or GeoParquet.

    Returns
    -------
    GeoDataFrame
        As read (the caller checks geometry types and CRS).

    Raises
    ------
    InputError
        One line with the fix: too large, type not accepted, unsafe zip, unreadable.
    """
    suffix = check_upload(data, filename, LAYER_TYPES, max_bytes)
    with tempfile.TemporaryDirectory(prefix="socialrisk-upload-") as tmp:
        tmpdir = Path(tmp)
        if suffix == ".zip":
            files = safe_extract_zip(data, tmpdir, filename)
            shp = [f for f in files if f.suffix.lower() == ".shp"]
            if len(shp) != 1:
                raise InputError(f"{_name(filename)} holds {len(shp)} .shp files; zip exactly one "
                                 "Shapefile (.shp, .shx, .dbf, .prj)")
            path = shp[0]
        else:
            path = tmpdir / f"upload{suffix}"
            path.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                if suffix == ".parquet":
                    return gpd.read_parquet(path)
                return gpd.read_file(path)
        except Exception as exc:  # pyogrio/arrow raise many types for broken files
            log.info("upload %s not readable: %s", _name(filename), clipped(exc))
            raise InputError(f"{_name(filename)} could not be read as {suffix[1:]}; export it "
                             "again from your GIS (GeoJSON in EPSG:4326, or GeoPackage)") from exc


def read_upload_table(data: bytes, filename: str, *,
                      max_bytes: int = MAX_UPLOAD_BYTES) -> pd.DataFrame:
    """Read an uploaded CSV with the same robust reader as files given on the command line."""

    suffix = check_upload(data, filename, TABLE_TYPES, max_bytes)
    with tempfile.TemporaryDirectory(prefix="socialrisk-upload-") as tmp:
        # a fixed name: the browser's file name is never used as a path (nor in messages
        # beyond :func:`_name`)
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            return read_table(path)
        except InputError as exc:
            raise InputError(str(exc).replace(str(path), _name(filename))) from exc
