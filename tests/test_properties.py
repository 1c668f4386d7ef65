"""Property-based tests: random geometries and tables to the loaders.

Whatever they are fed, the loaders either refuse with the project's own error
types or account for every row: counts in = counts out + counts reported dropped.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import IOW_LSOA
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from geo.areas import read_areas
from geo.csvtable import read_table
from geo.pbf import network_from_pbf
from geo.tables import table_for_areas
from risk.snap import snap_geometries, snap_points
from socialrisk.core.errors import SocialRiskError

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- geometries

lon = st.floats(-1.35, -1.25, allow_nan=False)
lat = st.floats(50.70, 50.77, allow_nan=False)
point = st.tuples(lon, lat)


@st.composite
def geometry(draw):
    kind = draw(st.sampled_from(["polygon", "polygon", "bowtie", "multi", "point", "line",
                                 "empty", "none"]))
    if kind == "polygon":
        return shapely.Polygon(draw(st.lists(point, min_size=3, max_size=8)))
    if kind == "bowtie":
        (x0, y0), (x1, y1) = draw(point), draw(point)
        return shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    if kind == "multi":
        # possibly overlapping parts: an invalid MultiPolygon
        return shapely.MultiPolygon([shapely.Point(draw(point)).buffer(0.002)
                                     for _ in range(draw(st.integers(1, 3)))])
    if kind == "point":
        return shapely.Point(draw(point))
    if kind == "line":
        return shapely.LineString(draw(st.lists(point, min_size=2, max_size=4)))
    if kind == "empty":
        return shapely.Polygon()
    return None


@SETTINGS
@given(geoms=st.lists(geometry(), min_size=0, max_size=8),
       damage=st.sampled_from(["none", "none", "none", "null id", "duplicate id"]),
       fmt=st.sampled_from(["geojson", "gpkg"]))
def test_read_areas_accounts_for_every_row(geoms, damage, fmt):
    ids: list[str | None] = [f"E0100{i:04d}" for i in range(len(geoms))]
    if ids and damage == "null id":
        ids[-1] = None
    elif len(ids) > 1 and damage == "duplicate id":
        ids[-1] = ids[0]
    rows = list(zip(geoms, ids, strict=True))
    gdf = gpd.GeoDataFrame({"code": [c for _, c in rows]},
                           geometry=[g for g, _ in rows], crs="EPSG:4326")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"areas.{fmt}"
        try:
            gdf.to_file(path, driver="GeoJSON" if fmt == "geojson" else "GPKG")
        except Exception:  # noqa: BLE001 (some random layers cannot be written at all)
            event("not writable")
            return
        try:
            areas, report = read_areas(path, "code")
        except SocialRiskError as exc:
            event(f"refused: {type(exc).__name__}")
            return
    event("read")
    assert report.n_read == len(rows)
    assert report.n_read == report.n_kept + report.dropped_empty + report.dropped_non_polygon
    assert len(areas) == report.n_kept > 0
    assert set(areas.geom_type) <= {"Polygon", "MultiPolygon"}
    assert areas.geometry.is_valid.all()
    assert areas["area_id"].is_unique and (areas["area_id"] != "").all()


# ---------------------------------------------------------------- tables

IOW_IDS = gpd.read_file(IOW_LSOA)["lsoa11_code"].tolist()[:12]


@st.composite
def table(draw):
    pool = [*IOW_IDS, "E01999999", "W01000001", "", "x"]
    chosen = draw(st.lists(st.sampled_from(pool), unique=True, max_size=15))
    rows = []
    for code in chosen:
        code = draw(st.sampled_from([code, code.lower(), f"  {code} "]))
        value = draw(st.one_of(st.integers(0, 10**7), st.floats(0, 1e4, allow_nan=False),
                               st.just(None)))
        rows.append((code, value))
    if rows and draw(st.booleans()):
        rows.append(rows[0])  # a repeated identical row
    return rows


def _cell(value, thousands: bool) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}" if thousands else str(value)
    return repr(float(value))


@SETTINGS
@given(rows=table(), delim=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
       thousands=st.booleans())
def test_table_join_accounts_for_every_row_and_area(rows, delim, encoding, thousands):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n")
    w.writerow(["code", "value"])
    for code, value in rows:
        w.writerow([code, _cell(value, thousands)])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.csv"
        path.write_bytes(buf.getvalue().encode(encoding))
        try:
            df = read_table(path, keep_text=["code"])
        except SocialRiskError:
            return
        assert len(df) == len(rows)  # every row read (n/a and thousands included)
        try:
            data, report = table_for_areas(path, IOW_IDS, code_column="code")
        except SocialRiskError as exc:
            event(f"refused: {type(exc).__name__}")
            return
    event("joined")
    assert report.n_rows == len(rows)
    assert len(data) == len(IOW_IDS) and list(data.index) == IOW_IDS
    written = {c.strip().upper() for c, _ in rows if c.strip()}
    assert report.n_matched + report.n_unmatched_table_codes == len(written)
    assert report.n_matched + report.n_areas_without_data == report.n_areas == len(IOW_IDS)
    by_code = {}
    for code, value in rows:
        if code.strip():
            by_code[code.strip().upper()] = value
    for area in IOW_IDS:
        got = data.loc[area, "value"]
        if area not in by_code or by_code[area] is None:
            assert np.isnan(got)
        else:
            assert got == pytest.approx(float(by_code[area]))


# ---------------------------------------------------------------- snapping


@pytest.fixture(scope="module")
def network(cowes):
    return network_from_pbf(cowes.pbf, "EPSG:27700")


@SETTINGS
@given(xy=st.lists(st.tuples(st.one_of(st.floats(442000, 452000), st.just(float("nan"))),
                             st.floats(92000, 98000)), max_size=30),
       max_snap=st.floats(1, 500))
def test_snapping_accounts_for_every_point(network, xy, max_snap):
    x = np.array([p[0] for p in xy], dtype=float)
    y = np.array([p[1] for p in xy], dtype=float)
    att = snap_points(network, x, y, max_snap)
    assert att.n_items == len(xy)
    assert int(att.snapped.sum()) + att.n_unsnapped == len(xy)
    assert (att.snap_m[att.snapped] <= max_snap + 1e-6).all()
    assert np.isnan(att.snap_m[~att.snapped]).all()
    assert not att.snapped[~np.isfinite(x)].any()
    assert set(np.unique(att.item)) == set(np.flatnonzero(att.snapped))
    # polygons as edge-access amenities: same accounting
    polys = np.array([shapely.Point(a, b).buffer(30) if np.isfinite(a) else None
                      for a, b in xy], dtype=object)
    att2 = snap_geometries(network, polys, max_snap, edge_access=True)
    assert att2.n_items == len(xy) and int(att2.snapped.sum()) + att2.n_unsnapped == len(xy)
