"""What makes a GeoPackage open described and styled in QGIS.

* Field descriptions in ``gpkg_data_columns`` (the OGC GeoPackage *Schema*
  extension, registered in ``gpkg_extensions``): ``title`` holds the label and
  ``description`` the meaning, unit and source (GDAL 3.7+ reads them as a field's
  alternative name and comment; QGIS shows them as the alias and comment).
* The areas layer's style: ``data/areas.qml`` (graduated on
  ``isolation_risk_decile``, decile 1 red, labelled with the decile when zoomed in),
  with the run's field aliases added, stored as the default style in the
  GeoPackage's ``layer_styles`` table (QGIS's own convention) and written beside
  the outputs as ``areas.qml``.

Both are written with :mod:`sqlite3` into a GeoPackage that GDAL has just written
and closed (in the staging folder, before any checksum is taken).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

from socialrisk.core.data import embedded_file

__all__ = ["AREAS_STYLE", "areas_style", "read_data_columns", "read_default_style",
           "write_data_columns", "write_default_style"]

log = logging.getLogger(__name__)

#: the style shipped with socialrisk (in ``data/``)
AREAS_STYLE = "areas.qml"
_SCHEMA_URL = "http://www.geopackage.org/spec/#extension_schema"
_DATA_COLUMNS = """CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
  description TEXT, mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name))"""
_CONSTRAINTS = """CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC,
  min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"""
_EXTENSIONS = """CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"""
_STYLES = """CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
  styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT CURRENT_TIMESTAMP)"""

Describe = Callable[[str], tuple[str, str, str]]


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]


def _geometry_column(con: sqlite3.Connection, table: str) -> str | None:
    row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                      (table,)).fetchone()
    return row[0] if row else None


def write_data_columns(gpkg: str | Path, table: str, describe: Describe) -> int:
    """Describe every field of ``table`` in ``gpkg_data_columns``; return how many.

    Parameters
    ----------
    gpkg : path
        A GeoPackage GDAL has written and closed.
    table : str
        The layer (feature table) name.
    describe : callable
        Column name -> ``(label, unit, description)``
        (:func:`socialrisk.columns.describe_column`). The feature id gets none;
        the geometry column is described too.
    """
    con = sqlite3.connect(gpkg)
    try:
        with con:
            con.execute(_DATA_COLUMNS)
            con.execute(_CONSTRAINTS)
            con.execute(_EXTENSIONS)
            for t in ("gpkg_data_columns", "gpkg_data_column_constraints"):
                con.execute("INSERT OR IGNORE INTO gpkg_extensions VALUES (?, NULL, "
                            "'gpkg_schema', ?, 'read-write')", (t, _SCHEMA_URL))
            geom = _geometry_column(con, table)
            rows = []
            for col in _columns(con, table):
                if col == "fid":
                    continue
                label, unit, text = describe("geometry" if col == geom else col)
                text = f"{text} Unit: {unit}." if unit and unit not in text else text
                rows.append((table, col, col, label, text.strip()))
            con.executemany("INSERT OR REPLACE INTO gpkg_data_columns (table_name, "
                            "column_name, name, title, description) VALUES (?, ?, ?, ?, ?)",
                            rows)
    finally:
        con.close()
    return len(rows)


def read_data_columns(gpkg: str | Path, table: str) -> dict[str, tuple[str, str]]:
    """``{column: (title, description)}`` of ``table`` from ``gpkg_data_columns``."""
    con = sqlite3.connect(gpkg)
    try:
        return {c: (t, d) for c, t, d in con.execute(
            "SELECT column_name, title, description FROM gpkg_data_columns "
            "WHERE table_name = ?", (table,))}
    finally:
        con.close()


def areas_style(columns: Iterable[str], describe: Describe | None = None) -> str:
    """The QML of the areas layer: ``data/areas.qml`` with the fields' aliases."""
    qml = embedded_file(AREAS_STYLE).read_text(encoding="utf-8")
    if describe is None:
        return qml
    aliases = "\n".join(f"    <alias field={quoteattr(c)} index=\"{i}\" "
                        f"name={quoteattr(describe(c)[0])}/>"
                        for i, c in enumerate(columns))
    return qml.replace("<aliases/>", f"<aliases>\n{aliases}\n  </aliases>", 1)


def write_default_style(gpkg: str | Path, table: str, qml: str,
                        name: str = "socialrisk isolation risk deciles",
                        description: str = "Isolation-risk decile, 1 (red) = highest risk"
                        ) -> None:
    """Store ``qml`` as ``table``'s default QGIS style in the GeoPackage's ``layer_styles``.

    The table is registered in ``gpkg_contents`` as attributes (as QGIS does), so
    GDAL lists it; an earlier default of ``table`` stops being the default.
    """
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
    con = sqlite3.connect(gpkg)
    try:
        with con:
            geom = _geometry_column(con, table) or ""
            con.execute(_STYLES)
            con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, "
                        "identifier, description, last_change) VALUES ('layer_styles', "
                        "'attributes', 'layer_styles', '', ?)", (now,))
            ogr = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                              "name = 'gpkg_ogr_contents'").fetchone() is not None
            con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?",
                        (table,))
            con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, "
                        "f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
                        "useAsDefault, description, owner, ui, update_time) "
                        "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'socialrisk', '', ?)",
                        (table, geom, name, qml, description, now))
            if ogr:  # GDAL's feature counts
                con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents VALUES ('layer_styles', "
                            "(SELECT COUNT(*) FROM layer_styles))")
    finally:
        con.close()


def read_default_style(gpkg: str | Path, table: str) -> tuple[str, str] | None:
    """``(styleName, styleQML)`` of ``table``'s default style, or None."""
    con = sqlite3.connect(gpkg)
    try:
        return con.execute("SELECT styleName, styleQML FROM layer_styles WHERE "
                           "f_table_name = ? AND useAsDefault ORDER BY id DESC LIMIT 1",
                           (table,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()
