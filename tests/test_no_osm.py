"""``osm = "none"``: runs without OpenStreetMap; map geometries light enough at scale."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from conftest import IOW_FILE7, IOW_LSOA

from socialrisk.cli import main
from socialrisk.outputs import map_areas


@pytest.mark.skipif(not IOW_FILE7.is_file(), reason="../shared/data File 7 is not present")
def test_run_without_osm(tmp_path):
    out = tmp_path / "out"
    code = main(["run", "--osm", "none", "--areas", str(IOW_LSOA), "--area-id", "lsoa11_code",
                 "--deprivation", str(IOW_FILE7), "--out", str(out), "--quiet"])
    assert code == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["inputs"]["osm"]["path"] == "none" and "NaN" in m["access"]["skipped"]
    assert "access" not in m["index"]["domains_used"]
    import pandas as pd

    a = pd.read_csv(out / "areas.csv")
    assert len(a) == 89 and a["gp_nearest_m"].isna().all()
    assert a["isolation_risk_decile"].notna().all()


def test_map_areas_simplifies_and_rounds():
    import geopandas as gpd

    areas = gpd.read_file(IOW_LSOA).to_crs("EPSG:27700")
    small = map_areas(areas)  # 89 areas: not simplified, ~1 m precision
    assert small.crs.to_epsg() == 4326
    xy = shapely.get_coordinates(small.geometry.to_numpy())
    np.testing.assert_allclose(xy, np.round(xy, 5), atol=1e-9)
    assert shapely.get_num_coordinates(small.geometry.to_numpy()).sum() == \
        shapely.get_num_coordinates(areas.geometry.to_numpy()).sum()
    light = map_areas(areas, tolerance_m=25.0, precision_deg=1e-4)
    assert (shapely.get_num_coordinates(light.geometry.to_numpy()).sum()
            < shapely.get_num_coordinates(areas.geometry.to_numpy()).sum())
    assert light.geometry.is_valid.all() and not light.geometry.is_empty.any()
