"""Compare population-weighted building origins with area centroids on the same run.

    python -m bench.origins [--deprivation FILE7.csv]

Runs the pipeline twice in one process (``origins = "buildings"`` and
``"centroids"``), then prints, per category, how the area-level distance to the
nearest amenity changed, and how many areas changed isolation-risk decile.
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np
import pandas as pd

from socialrisk.pipeline import run
from socialrisk.settings import load_settings


def compare(deprivation: list[str]) -> dict:
    results = {}
    for method in ("buildings", "centroids"):
        s = load_settings(overrides={"origins": method, "deprivation": deprivation,
                                     "file7_download": False, "quiet": True})
        results[method] = run(s).areas.set_index("area_id")
    b, c = results["buildings"], results["centroids"]
    cats = [col[: -len("_nearest_m")] for col in b.columns if col.endswith("_nearest_m")]
    rows = []
    for cat in cats:
        x, y = b[f"{cat}_nearest_m"], c[f"{cat}_nearest_m"]
        diff = y - x
        rows.append({
            "category": cat,
            "median_buildings_m": round(float(x.median()), 0),
            "median_centroids_m": round(float(y.median()), 0),
            "median_abs_diff_m": round(float(diff.abs().median()), 0),
            "max_abs_diff_m": round(float(diff.abs().max()), 0),
            "areas_diff_over_250m": int((diff.abs() > 250).sum()),
            "spearman": round(float(x.rank().corr(y.rank())), 3),
        })
    dec = (b["isolation_risk_decile"] - c["isolation_risk_decile"]).abs()
    return {
        "areas": len(b),
        "categories": rows,
        "decile_changed": int((dec > 0).sum()),
        "decile_changed_by_2_or_more": int((dec >= 2).sum()),
        "risk_rank_spearman": round(float(b["isolation_risk_rank"].astype(float).corr(
            c["isolation_risk_rank"].astype(float), method="spearman")), 3),
        "top_decile_overlap": int(len(set(b.index[b["isolation_risk_decile"] == 1])
                                      & set(c.index[c["isolation_risk_decile"] == 1]))),
        "top_decile_size": int((b["isolation_risk_decile"] == 1).sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deprivation", action="append", default=[])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    res = compare(args.deprivation)
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(pd.DataFrame(res["categories"]).to_string(index=False))
    print({k: v for k, v in res.items() if k != "categories"})


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
