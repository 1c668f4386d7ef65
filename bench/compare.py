"""``socialrisk compare`` for all of England (33,755 LSOAs 2021): time per step.

Two run folders are built from the real tables in ``../shared/data/england/``
(read in place): LSOA 2021 boundaries (English codes), IoD2025 income and health
scores and deciles, Census 2021 residents. The access columns are **synthetic**
(no England-wide OpenStreetMap extract here): for the 13 categories a nearest
distance drawn from a log-normal per area (seeded), walking minutes at 4.8 km/h,
a count within 800 m and a share of residents beyond 800 m. The index is the
real :func:`risk.index.isolation_index` with the default domains. The "after"
run has 5 % of areas with a GP and a community centre brought 40 % nearer.

Timed: reading both runs, the comparison (fixed-reference re-scoring included)
and writing change.csv/.gpkg/.html/manifest.json.

Run: ``python -m bench.compare [--work DIR] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from risk.index import isolation_index
from socialrisk.compare import compare_runs, read_run, write_comparison
from socialrisk.outputs import write_run_outputs
from socialrisk.settings import Settings

ENGLAND = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "england"
CATEGORIES = ("community_centre", "library", "place_of_worship", "green_space", "gp",
              "pharmacy", "post_office", "transit_stop", "cafe_pub", "food_shop",
              "primary_school", "social_care", "leisure_centre")


def _tables() -> gpd.GeoDataFrame:
    b = gpd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet")
    b = b[b["lsoa21_code"].str.startswith("E01")].rename(
        columns={"lsoa21_code": "area_id", "lsoa21_name": "area_name"})
    imd = pd.read_csv(ENGLAND / "imd2025_lsoa21.csv").set_index("lsoa21_code")
    pop = pd.read_csv(ENGLAND / "census21_ts038_disability_lsoa21.csv").set_index("lsoa21_code")
    ids = b["area_id"].to_numpy()
    b["population"] = pop["residents_total"].reindex(ids).to_numpy(dtype=float)
    b["income_score"] = imd["Income_score"].reindex(ids).to_numpy()
    b["health_score"] = imd["Health_score"].reindex(ids).to_numpy()
    b["imd_decile"] = imd["IMD_decile"].reindex(ids).to_numpy()
    rng = np.random.default_rng(11)
    for cat in CATEGORIES:
        near = rng.lognormal(np.log(700), 0.8, len(b))
        b[f"{cat}_nearest_m"] = near
        b[f"{cat}_walk_min"] = near / 80.0
        b[f"{cat}_count_800m"] = np.maximum(0, rng.poisson(800 / near))
        b[f"{cat}_share_beyond_800m"] = np.clip((near - 400) / 800, 0, 1)
    return b.reset_index(drop=True)


def _write(areas: gpd.GeoDataFrame, folder: Path, label: str) -> None:
    s = Settings()
    table = pd.DataFrame(areas.drop(columns="geometry")).set_index("area_id")
    res = isolation_index(table, s.domains, s.normalisation, n_drivers=0)
    for c in res.frame.columns:
        if c != "drivers":
            areas[c] = res.frame[c].reindex(areas["area_id"]).to_numpy()
    manifest = {"socialrisk_version": "bench", "started": label, "settings": s.as_dict(),
                "inputs": {"osm": {"path": f"synthetic-{label}", "sha256": label}},
                "index": res.report}
    am = gpd.GeoDataFrame({"category": []}, geometry=[], crs="EPSG:4326")
    write_run_outputs(folder, areas, am, None, manifest)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", help="folder for the run folders (default: a temporary one)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-compare-"))
    t0 = time.perf_counter()
    before = _tables()
    after = before.copy()
    pick = np.random.default_rng(12).random(len(after)) < 0.05
    for cat in ("gp", "community_centre"):
        after.loc[pick, f"{cat}_nearest_m"] *= 0.6
        after.loc[pick, f"{cat}_walk_min"] *= 0.6
    _write(before, work / "before", "2025-01-01")
    _write(after, work / "after", "2026-01-01")
    setup = time.perf_counter() - t0
    times = {}
    t = time.perf_counter()
    b, a = read_run(work / "before"), read_run(work / "after")
    times["read_runs_s"] = time.perf_counter() - t
    t = time.perf_counter()
    comp = compare_runs(b, a)
    times["compare_s"] = time.perf_counter() - t
    t = time.perf_counter()
    write_comparison(comp, work / "change", b, a)
    times["write_s"] = time.perf_counter() - t
    times["total_s"] = sum(times.values())
    fr = comp.summary["fixed_reference"]
    out = {"areas": len(before), "setup_s": round(setup, 1),
           **{k: round(v, 2) for k, v in times.items()},
           "areas_better": fr["areas_better"], "areas_unchanged": fr["areas_unchanged"],
           "change_html_mb": round((work / "change" / "change.html").stat().st_size / 1e6, 1),
           "work": str(work)}
    print(json.dumps(out, indent=1) if args.json else
          "\n".join(f"{k:>18}: {v}" for k, v in out.items()))
    return out


if __name__ == "__main__":
    main()
