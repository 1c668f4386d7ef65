"""Time the Monte Carlo rank intervals and the Sobol sensitivity on all of England.

Inputs are the real tables in ``../shared/data/england/`` (read in place):

* ``imd2025_lsoa21.csv``: IoD2025 domain scores (income, employment,
  education, health) of the 33,755 LSOAs 2021;
* ``census21_ts011_household_deprivation_lsoa21.csv``: Census 2021 TS011, read
  with :func:`geo.census.read_ts011` into the share of households deprived in
  two or more dimensions.

The index has three domains and five indicators (no access columns, so no
walking cap): ``deprivation`` 0.4 (income, employment, education scores),
``health`` 0.3 (health score), ``households`` 0.3 (``hh_deprived_2plus_share``).
With ``--iow`` the Isle of Wight (89 LSOAs of File 7) with the default domains
is timed too; its 12 access distances are **synthetic** (log-normal, 5 %
missing), so that the walking cap is exercised: it measures time only.

Wall time is ``time.perf_counter`` (CPU time ``time.process_time``); peak
memory is this process's resident-set high-water mark
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) after each stage, so a later
stage's figure includes the earlier stages' peak.

Run: ``python -m bench.uncertainty [--n 1000] [--n-base 256] [--iow] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from geo.census import read_ts011
from geo.deprivation import read_file7
from risk.index import DomainSpec, IndicatorSpec
from risk.sensitivity import sobol_indices
from risk.uncertainty import UncertaintyRanges, monte_carlo
from socialrisk.settings import Settings

log = logging.getLogger("bench.uncertainty")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
ENGLAND = SHARED / "england"
IOW_FILE7 = SHARED / "isle_of_wight" / "File_7_IoD2025_Isle_of_Wight.csv"

ENGLAND_DOMAINS = {
    "deprivation": DomainSpec(0.4, [IndicatorSpec("income_score"),
                                    IndicatorSpec("employment_score"),
                                    IndicatorSpec("education_score")]),
    "health": DomainSpec(0.3, [IndicatorSpec("health_score")]),
    "households": DomainSpec(0.3, [IndicatorSpec("hh_deprived_2plus_share")]),
}


def peak_mb() -> float:
    """Resident-set high-water mark of this process, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def england_table() -> pd.DataFrame:
    """The five England indicators, one row per LSOA 2021."""
    imd = pd.read_csv(ENGLAND / "imd2025_lsoa21.csv", index_col="lsoa21_code")
    table = pd.DataFrame({"income_score": imd["Income_score"],
                          "employment_score": imd["Employment_score"],
                          "education_score": imd["Education_score"],
                          "health_score": imd["Health_score"]})
    ts011 = read_ts011(ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv")
    table["hh_deprived_2plus_share"] = ts011["hh_deprived_2plus_share"].reindex(table.index)
    return table


def iow_table(seed: int = 0) -> pd.DataFrame:
    """File 7 of the Isle of Wight plus synthetic access distances (timing only)."""
    table = read_file7(IOW_FILE7)
    rng = np.random.default_rng(seed)
    for ind in Settings().domains["access"].indicators:
        v = np.round(rng.lognormal(7.0, 0.8, len(table)), -1)
        v[rng.random(len(table)) < 0.05] = np.nan
        table[ind.column] = v
    table["hh_deprived_2plus_share"] = rng.uniform(0.05, 0.4, len(table))
    return table


def time_case(label: str, table: pd.DataFrame, domains: dict, n: int, n_base: int,
              ranges: UncertaintyRanges) -> dict:
    """Monte Carlo and Sobol on one table: seconds and peak memory."""
    out: dict = {"case": label, "areas": len(table),
                 "indicators": sum(len(d.indicators) for d in domains.values()),
                 "domains": len(domains), "peak_mb_before": round(peak_mb(), 1)}
    t0, c0 = time.perf_counter(), time.process_time()
    mc = monte_carlo(table, domains, n=n, ranges=ranges, quiet=False)
    out["mc_draws"] = n
    out["mc_s"] = round(time.perf_counter() - t0, 2)
    out["mc_cpu_s"] = round(time.process_time() - c0, 2)
    out["mc_peak_mb"] = round(peak_mb(), 1)
    out["mc_robust_areas"] = mc.report["n_robust"]
    out["mc_reproduces_point"] = mc.report["point_ranks_reproduced"]
    out["mc_draws_mb"] = round(mc.draws.nbytes / 2**20, 1)
    width = (mc.frame.iloc[:, 1] - mc.frame.iloc[:, 0]).astype("float64")
    out["mc_median_interval"] = float(width.median())
    del mc
    t0, c0 = time.perf_counter(), time.process_time()
    si = sobol_indices(table, domains, ranges=ranges, n_base=n_base, quiet=False)
    out["sobol_n_base"] = n_base
    out["sobol_evaluations"] = si.attrs["report"]["n_evaluations"]
    out["sobol_s"] = round(time.perf_counter() - t0, 2)
    out["sobol_cpu_s"] = round(time.process_time() - c0, 2)
    out["sobol_peak_mb"] = round(peak_mb(), 1)
    out["sobol"] = si.round(3).reset_index().to_dict(orient="records")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="Monte Carlo draws (1000)")
    ap.add_argument("--n-base", type=int, default=256, help="Sobol base sample size (256)")
    ap.add_argument("--iow", action="store_true", help="also time the Isle of Wight")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if not ENGLAND.is_dir():
        print(f"{ENGLAND} is not present: the benchmark needs the shared England tables",
              file=sys.stderr)
        return 2
    ranges = UncertaintyRanges()
    results = []
    t0 = time.perf_counter()
    table = england_table()
    log.info("England table: %d LSOAs read in %.1f s", len(table), time.perf_counter() - t0)
    results.append(time_case("England (real)", table, ENGLAND_DOMAINS, args.n, args.n_base,
                             ranges))
    if args.iow:
        results.append(time_case("Isle of Wight (File 7 + synthetic access)", iow_table(),
                                 Settings().domains, args.n, args.n_base, ranges))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        print(f"\n{r['case']}: {r['areas']:,} areas, {r['domains']} domains, "
              f"{r['indicators']} indicators")
        print(f"  Monte Carlo {r['mc_draws']:,} draws: {r['mc_s']:.1f} s wall "
              f"({r['mc_cpu_s']:.1f} s CPU), peak RSS "
              f"{r['mc_peak_mb']:.0f} MB (before: {r['peak_mb_before']:.0f} MB; draws array "
              f"{r['mc_draws_mb']:.0f} MB); point ranks reproduced: "
              f"{r['mc_reproduces_point']}; robustly at risk: {r['mc_robust_areas']}; "
              f"median p05-p95 width {r['mc_median_interval']:.0f} ranks")
        print(f"  Sobol n_base {r['sobol_n_base']} ({r['sobol_evaluations']:,} index "
              f"computations): {r['sobol_s']:.1f} s wall ({r['sobol_cpu_s']:.1f} s CPU), "
              f"peak RSS {r['sobol_peak_mb']:.0f} MB")
        print(pd.DataFrame(r["sobol"]).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
