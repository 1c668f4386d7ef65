"""England-wide run: the index for all 33,755 LSOAs (2021) in one go, time and memory per stage.

Inputs are the real tables in ``../shared/data/england/`` (read in place, never
copied into the repository):

* ``lsoa21_boundaries_bsc.parquet``: LSOA 2021 boundaries of England and Wales,
  filtered to English codes (``E01``) into a GeoParquet in ``--work``;
* ``imd2025_lsoa21.csv``: IoD2025 domain scores, mapped to the index's names
  (``Income_score`` -> ``income_score``, ``Health_score`` -> ``health_score``);
* ``census21_ts011_household_deprivation_lsoa21.csv``: Census 2021 TS011.

The only OpenStreetMap extract available here is the Isle of Wight, so access
is computed for the island's 89 LSOAs only (``--osm iow``, the default) and is
NaN, with the reason, everywhere else; ``--osm none`` runs without OSM. The
access domain is left out of the England-wide index in both cases, so that all
33,755 areas are ranked on the same domains (deprivation and demographic);
the island's access columns are still in the output table.

``--scaling`` also times the index and output stages at 1k, 5k, 10k and all
LSOAs (random samples, ``osm = "none"``) and saves ``bench/results/england_scaling.csv``
and, with matplotlib, ``england_scaling.png``.

Run: ``python -m bench.england [--osm iow|none] [--scaling] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger("bench.england")

ROOT = Path(__file__).resolve().parents[1]
ENGLAND = ROOT.parent / "shared" / "data" / "england"
RESULTS = ROOT / "bench" / "results"
IMD_COLUMNS = {"Income_score": "income_score", "Health_score": "health_score",
               "Employment_score": "employment_score", "Education_score": "education_score"}
SIZES = [1000, 5000, 10000, 33755]


class MemorySampler:
    """Resident memory of this process sampled every ``interval`` s, with stage marks.

    Stage boundaries come from the pipeline's own log records
    (``"<stage> ..."`` / ``"<stage> done in"``), so the stages measured are
    exactly the ones in ``manifest["timings_s"]``.
    """

    def __init__(self, interval: float = 0.02) -> None:
        import psutil

        self.proc = psutil.Process(os.getpid())
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self.marks: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self.proc.memory_info().rss / 2**20))
            time.sleep(self.interval)

    def __enter__(self) -> MemorySampler:
        handler = _StageHandler(self)
        logging.getLogger("socialrisk.pipeline").addHandler(handler)
        self._handler = handler
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        logging.getLogger("socialrisk.pipeline").removeHandler(self._handler)

    def mark(self, stage: str, when: str) -> None:
        self.marks.setdefault(stage, [np.nan, np.nan])[0 if when == "start" else 1] = \
            time.perf_counter()

    def peak(self, stage: str) -> tuple[float, float]:
        """(peak RSS MiB during the stage, RSS MiB at its start)."""
        t0, t1 = self.marks.get(stage, (np.nan, np.nan))
        s = np.array(self.samples)
        if not len(s) or not np.isfinite(t0):
            return np.nan, np.nan
        t1 = t1 if np.isfinite(t1) else s[-1, 0]
        inside = s[(s[:, 0] >= t0) & (s[:, 0] <= t1), 1]
        before = s[s[:, 0] <= t0, 1]
        start = float(before[-1]) if before.size else float(s[0, 1])
        return float(max(inside.max(initial=start), start)), start


class _StageHandler(logging.Handler):
    def __init__(self, sampler: MemorySampler) -> None:
        super().__init__(level=logging.INFO)
        self.sampler = sampler

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "%s ...":
            self.sampler.mark(str(record.args[0]), "start")
        elif record.msg == "%s done in %.1f s":
            self.sampler.mark(str(record.args[0]), "end")


def english_areas(work: Path, n: int | None = None, seed: int = 0) -> Path:
    """GeoParquet of the English LSOAs (``E01``), all or a random sample of ``n``."""
    import geopandas as gpd

    work.mkdir(parents=True, exist_ok=True)
    out = work / f"lsoa21_england_{n or 'all'}.parquet"
    if not out.is_file():
        g = gpd.read_parquet(ENGLAND / "lsoa21_boundaries_bsc.parquet")
        g = g[g["lsoa21_code"].str.startswith("E01")].reset_index(drop=True)
        if n and n < len(g):
            g = g.iloc[np.sort(np.random.default_rng(seed).choice(len(g), n, replace=False))]
        g.to_parquet(out)
    return out


def england_settings(areas: Path, osm: str, out: Path, map_: bool = True):
    """Settings for an England-wide run (access domain left out; see the module docstring)."""
    from socialrisk.core.data import EMBEDDED_OSM, embedded_file
    from socialrisk.settings import DeprivationSource, load_settings

    s = load_settings(None, {
        "areas": str(areas), "area_id": "lsoa21_code",
        "osm": str(embedded_file(EMBEDDED_OSM)) if osm == "iow" else "none",
        "file7_download": False, "quiet": True, "out": str(out), "map": map_})
    s.deprivation = [
        DeprivationSource(path=str(ENGLAND / "imd2025_lsoa21.csv"), kind="table",
                          code_column="lsoa21_code", columns=dict(IMD_COLUMNS)),
        DeprivationSource(path=str(ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv"),
                          kind="ts011")]
    s.domains = {k: v for k, v in s.domains.items() if k != "access"}
    return s.validate()


def timed_run(settings) -> dict:
    """Run and write with time and peak memory per stage; returns a record."""
    from socialrisk.outputs import map_areas, write_run_outputs
    from socialrisk.pipeline import compute, prepare
    from socialrisk.webmap import build_map

    map_s = {}
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        p = prepare(settings)
        res = compute(p)
        mem.mark("outputs", "start")

        def render(path: Path) -> None:
            t = time.perf_counter()
            tips = [c for c in ["area_id", "population", "isolation_risk", "drivers"]
                    if res.areas[c].notna().any()]  # as run_and_write does
            build_map(map_areas(res.areas), res.amenities, res.labels, tips).save(str(path))
            map_s["map"] = time.perf_counter() - t

        out = write_run_outputs(settings.out, res.areas, res.amenities, res.amenity_polygons,
                                res.manifest, render if settings.map else None)
        mem.mark("outputs", "end")
        total = time.perf_counter() - t0
    manifest = json.loads((out / "manifest.json").read_text())
    stages = []
    for name, sec in manifest["timings_s"].items():
        peak, start = mem.peak(name)
        stages.append({"stage": name, "seconds": sec, "peak_rss_mb": round(peak, 1),
                       "rss_delta_mb": round(peak - start, 1)})
    if "map" in map_s:
        stages.append({"stage": "  of which map.html", "seconds": round(map_s["map"], 3),
                       "peak_rss_mb": np.nan, "rss_delta_mb": np.nan})
    areas = res.areas
    sizes = {f: (out / f).stat().st_size for f in ("areas.gpkg", "areas.csv", "map.html")
             if (out / f).is_file()}
    return {"areas": len(areas), "total_s": round(total, 2), "stages": stages,
            "files_bytes": sizes,
            "scored": int(areas["isolation_risk"].notna().sum()),
            "with_access": int(areas["gp_nearest_m"].notna().sum())
            if "gp_nearest_m" in areas else 0,
            "index": manifest.get("index", {}), "notes": manifest.get("notes", [])}


def scaling(work: Path) -> pd.DataFrame:
    """Index and output seconds at 1k, 5k, 10k and all English LSOAs (osm none)."""
    rows = []
    for n in SIZES:
        rec = timed_run(england_settings(english_areas(work, n if n < 33755 else None), "none",
                                         work / f"out_{n}"))
        st = {r["stage"]: r for r in rec["stages"]}
        rows.append({"areas": rec["areas"], "index_s": st["index"]["seconds"],
                     "outputs_s": st["outputs"]["seconds"],
                     "map_s": st.get("  of which map.html", {}).get("seconds", np.nan),
                     "total_s": rec["total_s"], "map_mb": rec["files_bytes"]["map.html"] / 2**20,
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in rec["stages"]
                                        if np.isfinite(r["peak_rss_mb"]))})
        log.info("scaling: %d areas: %s", rec["areas"], rows[-1])
    return pd.DataFrame(rows)


def _plot(df: pd.DataFrame, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for col, label in [("index_s", "index"), ("outputs_s", "outputs (incl. map)"),
                       ("total_s", "whole run")]:
        ax.plot(df["areas"], df[col], "o-", label=label)
    ax.set_xlabel("LSOAs")
    ax.set_ylabel("seconds")
    ax.set_title("socialrisk, England LSOAs (no OSM), 2-core machine")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--osm", choices=["iow", "none"], default="iow")
    ap.add_argument("--scaling", action="store_true", help="also time 1k/5k/10k/all LSOAs")
    ap.add_argument("--work", default="/tmp/socialrisk_bench_england",
                    help="where the filtered areas and the run outputs go (not the repo)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("pyogrio", "fiona", "matplotlib", "PIL", "socialrisk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("socialrisk.pipeline").setLevel(logging.INFO)
    if not ENGLAND.is_dir():
        print(f"bench.england: {ENGLAND} is not present", file=sys.stderr)
        return 2
    work = Path(args.work)
    load = os.getloadavg()
    rec = timed_run(england_settings(english_areas(work), args.osm, work / "out_england"))
    rec["osm"] = args.osm
    rec["load_avg_1m_at_start"] = round(load[0], 2)
    out = {"england": rec}
    if args.scaling:
        df = scaling(work)
        RESULTS.mkdir(parents=True, exist_ok=True)
        df.round(3).to_csv(RESULTS / "england_scaling.csv", index=False)
        out["scaling"] = df.round(3).to_dict("records")
        out["plot"] = str(RESULTS / "england_scaling.png") if _plot(
            df, RESULTS / "england_scaling.png") else "matplotlib not installed: CSV only"
    if args.json:
        print(json.dumps(out, indent=1, default=float))
        return 0
    print(f"England: {rec['areas']} LSOAs, {rec['scored']} scored, {rec['with_access']} with "
          f"access (osm={args.osm}); total {rec['total_s']} s; load avg {load[0]:.2f}")
    print(pd.DataFrame(rec["stages"]).to_string(index=False))
    print("files:", {k: f"{v / 2**20:.1f} MB" for k, v in rec["files_bytes"].items()})
    if args.scaling:
        print(pd.DataFrame(out["scaling"]).to_string(index=False))
        print("plot:", out["plot"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
