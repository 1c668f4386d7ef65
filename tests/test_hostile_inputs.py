"""Hostile and broken inputs: every one is one line and exit code 2, or read correctly.

The rule (issue "Every remaining traceback becomes one line"): bad input gets
one ``socialrisk: error: ...`` line naming the problem and the fix, exit code 2;
never a traceback, a half-written output, a silent drop or a silently changed
analysis. Every case goes through ``socialrisk.cli.main`` on real data (the
Cowes extract of ``conftest.cowes``, the embedded Isle of Wight LSOAs, and the
shared England boundaries and IoD2025 File 7) or through the reader it is about.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pytest
import shapely
from conftest import ENGLAND, IOW_FILE7, IOW_LSOA, ROOT, cli_error, needs_shared

from geo.areas import read_areas
from geo.csvtable import read_header, read_table
from geo.tables import load_area_data, table_for_areas
from geo.uploads import (
    MAX_UPLOAD_BYTES,
    read_upload_layer,
    read_upload_table,
    safe_extract_zip,
)
from risk.index import isolation_index
from risk.normalise import minmax, zscore
from socialrisk.cli import _parser, main
from socialrisk.core.errors import ConfigError, InputError, JoinError, clipped, shown
from socialrisk.settings import DeprivationSource, DomainSpec, IndicatorSpec, load_settings

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")

SECRET = "SECRET-ROW-hunter2"


def _argv(cowes, out: Path, *extra: str, areas: Path | None = None) -> list[str]:
    return ["run", "--areas", str(areas or cowes.areas), "--osm", str(cowes.pbf), "--out",
            str(out), "--no-download", "--quiet", "--no-map", "--cache-dir",
            str(out.parent / "cache"), *extra]


def _one_error_line(capsys) -> str:
    """The whole stderr is exactly one ``socialrisk: error:`` line."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("socialrisk: error: "), err
    assert "Traceback" not in err
    return lines[0]




@pytest.fixture(scope="module")
def cowes_lsoas(cowes) -> gpd.GeoDataFrame:
    return gpd.read_file(cowes.areas)


# ------------------------------------------------------- 1. a cell over the csv field limit


@pytest.mark.slow
@needs_shared
def test_csv_cell_over_the_csv_field_limit_is_read(cowes, tmp_path, capsys):
    """A File 7 with a 200 kB WKT column (a real polygon's size) is read, not a traceback."""
    f7 = pd.read_csv(IOW_FILE7, dtype=str)
    lsoas = gpd.read_file(IOW_LSOA).to_crs(27700)
    poly = lsoas.geometry.iloc[int(lsoas.length.argmax())]  # a vertex every metre of its edge
    wkt = shapely.to_wkt(shapely.segmentize(poly, 1.0), rounding_precision=3)
    assert len(wkt) > 200_000  # over the csv module's 131,072-character field limit
    path = tmp_path / "file7_with_wkt.csv"
    f7.assign(geometry_wkt=wkt).to_csv(path, index=False)
    assert "LSOA code (2021)" in read_header(path)
    out = tmp_path / "out"
    assert main(_argv(cowes, out, "--deprivation", str(path))) == 0, capsys.readouterr().err
    joined = json.loads((out / "manifest.json").read_text())["counts"]["joins"][0]
    assert joined["kind"] == "file7" and joined["n_matched"] == joined["n_areas"] == 6
    plain, _ = load_area_data([DeprivationSource(path=str(IOW_FILE7))], ["E01017282"])
    wide, _ = load_area_data([DeprivationSource(path=str(path))], ["E01017282"])
    pd.testing.assert_frame_equal(wide, plain)
    generic = table_for_areas(path, ["E01017282"], columns={"Income Score (rate)": "x"})[0]
    assert generic["x"].iloc[0] == float(f7.set_index("LSOA code (2021)").loc[
        "E01017282", "Income Score (rate)"])


# ------------------------------------------------------- 2-3. coordinates and CRS


@needs_shared
def test_geojson_in_british_national_grid_without_crs(cowes, tmp_path, capsys):
    b = gpd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet")
    iow = b[b["lsoa21_code"].isin(["E01017282", "E01017283", "E01017284", "E01017302"])]
    assert len(iow) == 4
    doc = json.loads(iow.to_crs(27700).to_json(drop_id=True))
    doc.pop("crs", None)
    path = tmp_path / "lsoa_bng.geojson"
    path.write_text(json.dumps(doc))
    assert '"crs"' not in path.read_text() and doc["features"][0]["geometry"]["coordinates"]
    line = cli_error(_argv(cowes, tmp_path / "out", "--area-id", "lsoa21_code", areas=path),
                     capsys, tmp_path / "out")
    assert "coordinates look like metres (British National Grid?" in line
    assert "set the CRS in the file or convert it to EPSG:4326" in line
    assert "ogr2ogr -s_srs EPSG:27700 -t_srs EPSG:4326" in line


def _with_vertex(gdf: gpd.GeoDataFrame, row: int, xy: tuple[float, float]) -> gpd.GeoDataFrame:
    out = gdf.copy()
    geom = out.geometry.iloc[row]
    coords = shapely.get_coordinates(geom)
    coords[1] = xy
    out.loc[out.index[row], "geometry"] = shapely.set_coordinates(geom, coords)
    return out


def test_latitude_95_is_named(cowes, cowes_lsoas, tmp_path, capsys):
    x = float(shapely.get_coordinates(cowes_lsoas.geometry.iloc[2])[1, 0])
    path = tmp_path / "lat95.geojson"
    _with_vertex(cowes_lsoas, 2, (x, 95.0)).to_file(path, driver="GeoJSON")
    line = cli_error(_argv(cowes, tmp_path / "out", areas=path), capsys, tmp_path / "out")
    code = cowes_lsoas["lsoa11_code"].iloc[2]
    assert "1 areas have coordinates outside longitude -180..180 / latitude -90..90" in line
    assert f"area '{code}' reaches latitude 95" in line and "fix those coordinates" in line


def test_nan_coordinates_are_named(cowes, cowes_lsoas, tmp_path, capsys):
    path = tmp_path / "nan.gpkg"
    _with_vertex(cowes_lsoas, 1, (np.nan, 50.7)).to_file(path)
    line = cli_error(_argv(cowes, tmp_path / "out", areas=path), capsys, tmp_path / "out")
    assert "1 areas have coordinates that are not numbers (NaN or infinity)" in line
    assert repr(cowes_lsoas["lsoa11_code"].iloc[1]) in line


def test_degrees_under_a_projected_crs(cowes, cowes_lsoas, tmp_path, capsys):
    path = tmp_path / "wrong_crs.gpkg"
    cowes_lsoas.set_crs(27700, allow_override=True).to_file(path)
    line = cli_error(_argv(cowes, tmp_path / "out", areas=path), capsys, tmp_path / "out")
    assert "has the projected CRS OSGB36 / British National Grid (metres)" in line
    assert "look like longitude/latitude" in line and "ogr2ogr -a_srs EPSG:4326" in line


# ------------------------------------------------------- 4. NUL bytes, checked before the run


@pytest.mark.parametrize("flag", ["--out", "--areas", "--osm", "--deprivation", "--taxonomy",
                                  "--cache-dir", "--area-id", "--config"])
def test_nul_byte_in_a_path_is_refused_before_the_run(tmp_path, capsys, no_compute, flag):
    out = tmp_path / "out"
    argv = ["run", "--out", str(out), "--quiet"]
    if flag == "--out":
        argv = ["run", "--out", f"{tmp_path}/o\0ut", "--quiet"]
    else:
        argv += [flag, f"{tmp_path}/in\0put"]
    t0 = time.perf_counter()
    code = main(argv)
    elapsed = time.perf_counter() - t0
    line = _one_error_line(capsys)
    assert code == 2 and elapsed < 1.0
    assert "NUL byte (\\x00)" in line and "\0" not in line
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------- 5. GDAL errors while writing


@pytest.mark.parametrize("error", [
    pyogrio.errors.DataSourceError("sqlite3_exec(CREATE TABLE ...) failed: database or disk "
                                   "is full"),
    pyogrio.errors.FeatureError("failed to write feature 3 to areas: No space left on device"),
])
def test_gdal_write_errors_are_one_line_and_leave_nothing(cowes, tmp_path, capsys, monkeypatch,
                                                          error):
    def full_disk(*args, **kwargs):
        raise error

    monkeypatch.setattr(pyogrio, "write_dataframe", full_disk)  # what GeoDataFrame.to_file calls
    out = tmp_path / "out"
    before = sorted(p.name for p in tmp_path.iterdir())
    line = cli_error(_argv(cowes, out), capsys, out)
    assert line.startswith("socialrisk: error: GDAL could not write or read a file (")
    assert str(error).split(":")[-1].strip() in line
    assert "check that the output folder is writable and the disk has free space" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no half-written folder


def test_debug_keeps_the_gdal_traceback(cowes, tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise pyogrio.errors.DataSourceError("disk is full")

    monkeypatch.setattr(pyogrio, "write_dataframe", full_disk)
    with pytest.raises(pyogrio.errors.DataSourceError):
        main(_argv(cowes, tmp_path / "out", "--debug"))


def _unwritable_parent(tmp_path: Path) -> Path:
    """A folder the test process cannot create anything in (root ignores chmod)."""
    if os.geteuid() != 0:
        d = tmp_path / "readonly"
        d.mkdir()
        d.chmod(0o555)
        return d
    for d in (Path("/sys"), Path("/proc/sys")):
        probe = d / f"socialrisk-probe-{os.getpid()}"
        try:
            probe.mkdir()
        except OSError:
            return d
        probe.rmdir()
    pytest.skip("running as root with no read-only folder to write into")


def test_really_unwritable_output_folder(cowes, tmp_path, capsys):
    parent = _unwritable_parent(tmp_path)
    out = parent / f"socialrisk-out-{os.getpid()}"
    try:
        code = main(_argv(cowes, out))
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.startswith("socialrisk: error:")]
        assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
        line = lines[0]
        assert not out.exists()
        assert any(w in line.lower() for w in ("permission", "not permitted", "read-only",
                                                "writable"))
    finally:
        if parent.is_relative_to(tmp_path):
            parent.chmod(0o755)


# ------------------------------------------------------- 6. argparse errors


@pytest.mark.parametrize("argv, words", [
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", "--origins", "roofs"], "argument --origins: invalid choice: 'roofs'"),
    (["run", "--walk-speed", "abc"], "argument --walk-speed: invalid float value: 'abc'"),
    (["run", "--normalisation"], "argument --normalisation: expected one argument"),
    (["lint"], "argument command: invalid choice: 'lint'"),
    ([], "the following arguments are required: command"),
])
def test_command_line_syntax_errors_are_one_line(argv, words, capsys):
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert words in line and "--help` for the options" in line
    assert "usage:" not in line


def test_help_and_version_still_exit_0(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and "socialrisk" in capsys.readouterr().out


# ------------------------------------------------------- 7. weights that overflow


@pytest.mark.parametrize("toml, words", [
    ("[domains.access]\nweight = 1e308\nindicators = ['gp_nearest_m']\n"
     "[domains.deprivation]\nweight = 1e308\nindicators = ['income_score']\n",
     "the domain weights (access, deprivation) add up to more than the largest number"),
    ("[domains.access]\nweight = 1\nindicators = [{column = 'gp_nearest_m', weight = 1e308}, "
     "{column = 'cafe_pub_nearest_m', weight = 1e308}]\n",
     "[domains.access] indicator weights add up to more than the largest number"),
    ("[domains.access]\nweight = 1" + "0" * 400 + "\nindicators = ['gp_nearest_m']\n",
     "[domains.access] weight is too large a number (401 digits)"),
])
def test_overflowing_weights_are_refused(tmp_path, capsys, no_compute, toml, words):
    cfg = tmp_path / "weights.toml"
    cfg.write_text(toml)
    out = tmp_path / "out"
    line = cli_error(["run", "--config", str(cfg), "--out", str(out)], capsys, out)
    assert words in line


def test_index_refuses_overflowing_weights_given_directly():
    t = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0)[::-1]},
                     index=[f"E0101{i:04d}" for i in range(10)])
    with pytest.raises(ConfigError, match="domain weights add up to more than the largest"):
        isolation_index(t, {"x": DomainSpec(1e308, [IndicatorSpec("a")]),
                            "y": DomainSpec(1e308, [IndicatorSpec("b")])})
    with pytest.raises(ConfigError, match="indicator weights add up to more than the largest"):
        isolation_index(t, {"x": DomainSpec(1, [IndicatorSpec("a", 1e308),
                                                IndicatorSpec("b", 1e308)])})
    with pytest.raises(ConfigError, match="weight must be a number >= 0, not inf"):
        isolation_index(t, {"x": DomainSpec(float("inf"), [IndicatorSpec("a")])})
    # huge but finite weights are relative weights like any other
    big = isolation_index(t, {"x": DomainSpec(1e307, [IndicatorSpec("a")]),
                              "y": DomainSpec(1e307, [IndicatorSpec("b")])}, "minmax")
    small = isolation_index(t, {"x": DomainSpec(1, [IndicatorSpec("a")]),
                                "y": DomainSpec(1, [IndicatorSpec("b")])}, "minmax")
    pd.testing.assert_series_equal(big.frame["isolation_risk"], small.frame["isolation_risk"])


def test_huge_indicator_values_normalise_like_small_ones():
    s = pd.Series([1e308, -1e308, 0.0, 5e307])
    np.testing.assert_allclose(minmax(s), minmax(s / 1e308))
    np.testing.assert_allclose(zscore(s), zscore(s / 1e308))
    assert minmax(s).tolist() == [100.0, 0.0, 50.0, 75.0]


# ------------------------------------------------------- 8. named pipes never block


def _run_with_timeout(argv: list[str], fifo: Path, seconds: float = 60.0) -> int:
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", main(argv)),
                              daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():  # release the blocked reader before failing
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(10)
        pytest.fail(f"socialrisk blocked on the named pipe given as {argv}")
    return result["code"]


@pytest.mark.parametrize("flag", ["--areas", "--osm", "--deprivation", "--config",
                                  "--taxonomy"])
def test_a_named_pipe_as_input_is_refused_not_waited_on(cowes, tmp_path, capsys, no_compute,
                                                        flag):
    fifo = tmp_path / "input.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    argv = _argv(cowes, out)
    if flag in ("--areas", "--osm"):
        argv[argv.index(flag) + 1] = str(fifo)
    else:
        argv += [flag, str(fifo)]
    assert _run_with_timeout(argv, fifo) == 2
    line = _one_error_line(capsys)
    assert f"'{fifo}' is not a regular file but a named pipe (FIFO)" in line
    assert not out.exists()


def test_named_pipes_in_readers_and_categories(tmp_path, capsys):
    fifo = tmp_path / "t.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is not a regular file but a named pipe"):
        read_table(fifo)
    with pytest.raises(InputError, match="is not a regular file but a named pipe"):
        read_areas(fifo)
    assert _run_with_timeout(["categories", "--taxonomy", str(fifo)], fifo) == 2
    assert "is not a regular file" in _one_error_line(capsys)


# ------------------------------------------------------- 9. the app's uploads


def test_the_server_enforces_the_upload_limit_of_the_checks():
    """``server.maxUploadSize`` (MB as Streamlit counts them, MiB) = MAX_UPLOAD_BYTES."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == MAX_UPLOAD_BYTES
    assert (ROOT / "app.py").is_file()  # next to the app, where `streamlit run app.py` runs
    with pytest.raises(InputError, match="is 20.0 MB, more than the 20 MB allowed"):
        read_upload_table(b"x" * (MAX_UPLOAD_BYTES + 1), "big.csv")


def test_upload_errors_do_not_echo_the_files_contents():
    long_name = SECRET * 10
    body = f"code,{long_name},{long_name}\nE01017282,1,2\n".encode()
    with pytest.raises(InputError) as info:
        read_upload_table(body, "mine.csv")
    msg = str(info.value)
    assert "has more than one column named" in msg and msg.count(SECRET) <= 3
    assert len(msg) < 300 and "\n" not in msg and "E01017282,1,2" not in msg
    # a broken GeoJSON: GDAL's message is capped, the secret row never shown
    with pytest.raises(InputError) as info:
        read_upload_layer(f'{{"type": "FeatureCollection", "x": {SECRET}}}'.encode(),
                          "sites.geojson")
    assert SECRET not in str(info.value)
    # the browser's file name is text from a stranger too
    with pytest.raises(InputError) as info:
        read_upload_layer(b"", "\x1b[31m" + "a" * 500 + ".geojson")
    assert "\x1b" not in str(info.value) and len(str(info.value)) < 200
    with pytest.raises(InputError) as info:
        read_upload_table(b"\x00\x01\x02 binary", "x\0y.csv")
    assert "is not a CSV text file" in str(info.value) and "\0" not in str(info.value)


def test_zip_entry_names_are_capped(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../" + SECRET * 20 + ".shp", b"x")
    with pytest.raises(InputError, match="unsafe entry") as info:
        safe_extract_zip(buf.getvalue(), tmp_path)
    assert len(str(info.value)) < 250


@needs_shared
def test_table_errors_show_capped_quoted_values(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(f"code,value\nE01017282,{SECRET * 5}\nE01017283,2\n")
    with pytest.raises(InputError) as info:
        table_for_areas(path, ["E01017282"], columns={"value": "v"})
    msg = str(info.value)
    assert "column 'value' is not numeric (e.g. 'SECRET-ROW-hunter2SE...', '2')" in msg
    with pytest.raises(InputError) as info:
        table_for_areas(path, ["E01017282"], code_column=SECRET * 5)
    assert f"has no column {shown(SECRET * 5)}" in str(info.value)
    assert str(info.value).count(SECRET) == 2  # 40 characters of it, not 90


def test_shown_and_clipped():
    assert shown("a" * 50) == repr("a" * 40 + "...")
    assert shown("x\x1b[2Jy") == "'x\\x1b[2Jy'"
    assert clipped("line one\nline two\x07", 12) == "line one lin..."
    assert clipped("bell\x07") == "bell\\x07"


# ------------------------------------------------------- tables people save


def test_utf16_without_bom_is_read(tmp_path):
    text = "code,value\nE01017282,1.5\nE01017283,2\n"
    for enc in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{enc}.csv"
        path.write_bytes(text.encode(enc))
        df = read_table(path)
        assert df.attrs["encoding"] == enc and df.columns.tolist() == ["code", "value"]
        assert df["value"].tolist() == [1.5, 2.0]


@pytest.mark.parametrize("body", [bytes(range(256)) * 8, b"code,value\nE01017282,1\x00\x00\n",
                                  b"SQLite format 3\x00" + b"\x01" * 200])
def test_binary_file_as_csv_is_refused(tmp_path, body):
    path = tmp_path / "data.csv"
    path.write_bytes(body)
    with pytest.raises(InputError, match="is not a CSV text file .*binary data"):
        read_table(path)


def test_duplicate_column_names_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("code,value,value \nE01017282,1,5\n")  # equal once stripped
    with pytest.raises(InputError, match="has more than one column named 'value'; rename"):
        read_table(path)
    path.write_text("code,value,value\nE01017282,1,5\n")  # pandas would call one value.1
    with pytest.raises(InputError, match="more than one column named 'value'"):
        read_table(path)


def test_infinite_values_are_refused_nan_is_missing(tmp_path):
    path = tmp_path / "inf.csv"
    path.write_text("code,value\nE01017282,inf\nE01017283,2\nE01017284,1e999\n")
    with pytest.raises(InputError, match=r"column 'value' has 2 infinite values .*for code "
                                         r"'E01017282'.*leave the cells empty for missing"):
        table_for_areas(path, ["E01017282", "E01017283"])
    path.write_text("code,value\nE01017282,nan\nE01017283,2\n")
    data, _ = table_for_areas(path, ["E01017282", "E01017283"])
    assert np.isnan(data.loc["E01017282", "value"]) and data.loc["E01017283", "value"] == 2


def test_a_column_of_numbers_with_a_text_cell_is_not_dropped_silently(tmp_path, caplog):
    path = tmp_path / "mixed.csv"
    path.write_text("code,value,other,name\nE01017282,12a,1,Ryde\nE01017283,2,2,Cowes\n"
                    "E01017284,3,3,Ventnor\n")
    ids = ["E01017282", "E01017283", "E01017284"]
    data, report = table_for_areas(path, ids)
    assert list(data.columns) == ["other"]
    assert report.notes == ["mixed.csv: column 'value' left out: 1 of 3 cells are not numbers "
                            "(e.g. '12a'); fix them, or empty them for missing values, to use "
                            "the column"]
    assert "column 'value' left out" in caplog.text
    with pytest.raises(JoinError, match="column 'value' left out.*--strict refuses"):
        table_for_areas(path, ids, strict=True)
    path.write_text("code,value\nE01017282,12a\nE01017283,2\n")
    with pytest.raises(InputError, match="no numeric columns besides 'code'.*column 'value' "
                                         "left out: 1 of 2 cells are not numbers"):
        table_for_areas(path, ids)


def test_empty_and_header_only_tables(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        read_table(path)
    path.write_text("code,value\n")
    with pytest.raises(JoinError, match="no column holds any of the 1 area ids"):
        table_for_areas(path, ["E01017282"])


# ------------------------------------------------------- layers and configs


def test_geopackage_without_layers_or_geometry(cowes, cowes_lsoas, tmp_path, capsys):
    import sqlite3

    empty = tmp_path / "empty.gpkg"
    cowes_lsoas.iloc[:1].to_file(empty, layer="x")
    with sqlite3.connect(empty) as con:  # a GeoPackage whose only layer was dropped
        con.execute("DROP TABLE x")
        con.execute("DELETE FROM gpkg_contents")
        con.execute("DELETE FROM gpkg_geometry_columns")
    line = cli_error(_argv(cowes, tmp_path / "out", areas=empty), capsys, tmp_path / "out")
    assert "cannot be read" in line or "has no layers" in line
    table = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"code": ["E01017282"]}), table, layer="t")
    line = cli_error(_argv(cowes, tmp_path / "out", areas=table), capsys, tmp_path / "out")
    assert "has no geometry column; give a polygon layer" in line


@pytest.mark.parametrize("toml, words", [
    ("x = " + "[" * 50_000 + "]" * 50_000 + "\n", "nests tables or lists too deeply"),
    ("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "nests tables or lists too deeply"),
    ("thresholds_m = [1e308]\n", "thresholds_m must be walking distances of at most 20,000 m"),
    ("thresholds_m = [1" + "0" * 400 + "]\n", "a value of thresholds_m is too large a number"),
    ("max_snap_m = 1" + "0" * 400 + "\n", "config key 'max_snap_m' is too large a number"),
    ("catchment_m = 1e300\n", "catchment_m must be at most 20,000 m"),
    ("max_distance_m = 1e12\n", "max_distance_m must be at most 100,000 m"),
    ("walk_speed_kmh = 1e308\n", "walk_speed_kmh must be a walking speed greater than 0 and "
                                 "at most 30 km/h"),
    ("n_drivers = 1" + "0" * 30 + "\n", "n_drivers must be 0 or more and at most 20"),
])
def test_hostile_config_values(tmp_path, toml, words):
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert words in str(info.value) and len(str(info.value)) < 400


def test_a_data_file_given_as_config_is_refused(tmp_path):
    cfg = tmp_path / "big.toml"
    cfg.write_text("# " + "x" * 2_000_000 + "\n")
    with pytest.raises(ConfigError, match="more than the 1,000,000 a settings file needs"):
        load_settings(cfg)


# ------------------------------------------------------- --strict


def test_strict_flag_and_setting():
    assert _parser().parse_args(["run", "--strict"]).strict is True
    assert _parser().parse_args(["run"]).strict is None  # the config decides
    assert load_settings(None, {"strict": True}).strict is True
    assert load_settings(None).strict is False


def test_strict_index_refuses_what_it_would_drop():
    t = pd.DataFrame({"a": np.arange(5.0), "b": np.arange(5.0)[::-1], "e": np.nan},
                     index=list("ABCDE"))
    absent = {"x": DomainSpec(1, [IndicatorSpec("a"), IndicatorSpec("typo_m")])}
    empty = {"x": DomainSpec(1, [IndicatorSpec("a")]), "y": DomainSpec(1, [IndicatorSpec("e")])}
    assert isolation_index(t, absent).report["domains"]["x"]["indicators_absent"] == ["typo_m"]
    assert isolation_index(t, empty).report["domains_dropped"] == ["y"]
    with pytest.raises(ConfigError, match="^x: indicator typo_m is not in the table; --strict "
                                          "refuses to leave it out of the index: give the data"):
        isolation_index(t, absent, strict=True)
    with pytest.raises(ConfigError, match="^y: indicator e has no values; --strict refuses"):
        isolation_index(t, empty, strict=True)
    # a zero weight is the configuration itself, not a change to it
    zero = {"x": DomainSpec(1, [IndicatorSpec("a"), IndicatorSpec("b", 0.0)])}
    assert isolation_index(t, zero, strict=True).frame["isolation_risk"].notna().all()


def test_strict_joins_refuse_areas_without_data_and_renamed_columns(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("code,value\nE01017282,1\nE01017283,2\n")
    ids = ["E01017282", "E01017283", "E01017284"]
    data, reports = load_area_data([DeprivationSource(path=str(a))], ids)
    assert np.isnan(data.loc["E01017284", "value"]) and reports[0].notes
    with pytest.raises(JoinError, match="only 2 of 3 areas matched.*--strict refuses a table "
                                        "that leaves areas without data"):
        load_area_data([DeprivationSource(path=str(a))], ids, strict=True)
    b = tmp_path / "b.csv"
    b.write_text("code,value\nE01017282,3\nE01017283,4\n")
    data, reports = load_area_data([DeprivationSource(path=str(a)),
                                    DeprivationSource(path=str(b))], ids[:2])
    assert reports[1].renamed == {"value": "value_2"}
    with pytest.raises(JoinError, match="renamed value -> value_2.*--strict refuses renamed"):
        load_area_data([DeprivationSource(path=str(a)), DeprivationSource(path=str(b))],
                       ids[:2], strict=True)
    full, _ = load_area_data([DeprivationSource(path=str(a))], ids[:2], strict=True)
    assert full["value"].tolist() == [1.0, 2.0]


def test_strict_run_fails_on_a_dropped_indicator(cowes, tmp_path, capsys):
    cfg = tmp_path / "typo.toml"
    cfg.write_text("[domains.access]\nweight = 1\nindicators = ['community_centre_nearest_m', "
                   "'cafe_pub_nearst_m']\n[domains.deprivation]\nweight = 0\n"
                   "[domains.demographic]\nweight = 0\n")
    out = tmp_path / "out"
    line = cli_error(_argv(cowes, out, "--config", str(cfg), "--strict"), capsys, out)
    assert "cafe_pub_nearst_m is not in the table (did you mean 'cafe_pub_nearest_m'?); " \
           "--strict refuses to leave it out of the index" in line


if sys.platform == "win32":  # pragma: no cover
    pytestmark = [pytestmark, pytest.mark.skip(reason="named pipes and modes are POSIX here")]
