"""All of England (33,755 LSOAs) and all of Wales (1,917) without OpenStreetMap: both scores.

    python -m bench.national [--uncertainty 1000] [--only england|wales]

Builds the areas layer of each nation from the shared LSOA 2021 boundaries
(``../shared/data/england/lsoa21_boundaries_bsc.parquet``) into a temporary
folder, then runs ``socialrisk run --osm none`` in a child process with the
shared tables (England: tidy IoD2025, IoD2025 indicators, TS011, TS038, TS054;
Wales: WIMD 2019 through the LSOA 2011 -> 2021 lookup, TS011, TS038, TS054) and
prints wall time, peak memory (the child's maximum resident set) and how many
areas got each score.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ENGLAND = SHARED / "england"
TABLES = {
    "england": [ENGLAND / "imd2025_lsoa21.csv", ENGLAND / "iod2025_indicators_lsoa21.csv",
                ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv",
                ENGLAND / "census21_ts038_disability_lsoa21.csv",
                ENGLAND / "census21_ts054_tenure_lsoa21.csv"],
    "wales": [SHARED / "wales" / "wimd2019_lsoa11.csv",
              ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv",
              ENGLAND / "census21_ts038_disability_lsoa21.csv",
              ENGLAND / "census21_ts054_tenure_lsoa21.csv"],
}
PREFIX = {"england": "E01", "wales": "W01"}


def areas_file(nation: str, folder: Path) -> Path:
    """The nation's LSOA 2021 boundaries as a GeoPackage in ``folder``."""
    g = gpd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet")
    g = g[g["lsoa21_code"].str.startswith(PREFIX[nation])]
    path = folder / f"{nation}_lsoa21.gpkg"
    g.to_file(path, driver="GPKG")
    return path


def run(nation: str, folder: Path, uncertainty: int) -> dict:
    """One run in a child process; wall time, peak memory and scores."""
    areas = areas_file(nation, folder)
    out = folder / f"out_{nation}_{uncertainty}"
    cmd = [sys.executable, "-m", "socialrisk.cli", "run", "--osm", "none", "--areas", str(areas),
           "--area-id", "lsoa21_code", "--no-map", "--quiet", "--out", str(out),
           "--lsoa-lookup", str(ENGLAND / "lookup_lsoa11_lsoa21_ltla22.csv")]
    for t in TABLES[nation]:
        cmd += ["--deprivation", str(t)]
    if uncertainty:
        cmd += ["--uncertainty", str(uncertainty)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode:
        raise SystemExit(f"{nation}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    a = pd.read_csv(out / "areas.csv", usecols=lambda c: c.endswith(("risk", "_robust"))
                    or c == "area_id")
    m = json.loads((out / "manifest.json").read_text())
    return {"nation": nation, "areas": len(a), "uncertainty": uncertainty,
            "wall_s": round(wall, 1), "peak_mb": round(max(peak, before) / 1024),
            "isolation_scored": int(a["isolation_risk"].notna().sum()),
            "loneliness_scored": int(a["loneliness_risk"].notna().sum()),
            "robust_isolation": int(a.get("isolation_risk_robust", pd.Series(dtype=bool))
                                    .sum()),
            "timings_s": m.get("timings_s", {})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uncertainty", type=int, default=0)
    ap.add_argument("--only", choices=["england", "wales"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for nation in ([args.only] if args.only else ["wales", "england"]):
            print(json.dumps(run(nation, Path(tmp), args.uncertainty)))


if __name__ == "__main__":
    main()
