"""End-to-end Isle of Wight run per stage, against a pandana pipeline doing only nearest POIs.

socialrisk: the real pipeline (``prepare`` -> ``compute`` -> ``write_run_outputs``),
its stages as in ``manifest["timings_s"]``, with ``parse_osm`` split into the
libosmium scan, the amenity table, the network build and the building /
land-use tables (the same private steps ``read_pbf`` chains, timed one by one on a
second read), plus ``nearest only``: the nearest-distance Dijkstra runs alone,
which is what the pandana pipeline computes.

pandana 0.8 has no PBF reader (``pandana.loaders.osm`` downloads from Overpass,
which is not reachable here), so its network is built from *our* parsed network
arrays (same nodes, edges and lengths) and its POIs are our amenity table's
points (polygons at a surface point). It snaps POIs and origins to the nearest
*node* (a KD-tree), not the nearest edge, so its distances differ from ours by
up to an edge length; the table reports how much (median and 95th percentile of
|pandana - socialrisk| over origins).

Run: ``python -m bench.pipeline [--json]``. Timings are wall-clock on a shared
2-core machine; the load average at the start is printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.england import MemorySampler

log = logging.getLogger("bench.pipeline")
ROOT = Path(__file__).resolve().parents[1]
IOW_FILE7 = ROOT.parent / "shared" / "data" / "isle_of_wight" / "File_7_IoD2025_Isle_of_Wight.csv"


def _row(pipeline: str, stage: str, seconds: float, mem: MemorySampler | None = None,
         key: str | None = None) -> dict:
    peak = mem.peak(key or stage)[0] if mem is not None else np.nan
    return {"pipeline": pipeline, "stage": stage, "seconds": round(float(seconds), 3),
            "peak_rss_mb": round(float(peak), 1) if np.isfinite(peak) else None}


class _Mark:
    def __init__(self, mem: MemorySampler, name: str) -> None:
        self.mem, self.name = mem, name

    def __enter__(self):
        self.mem.mark(self.name, "start")
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.mem.mark(self.name, "end")


def socialrisk_run(mem: MemorySampler, out: Path) -> tuple[list[dict], object]:
    """The real pipeline, stage by stage; returns rows and the Prepared object."""
    from socialrisk.outputs import map_areas, write_run_outputs
    from socialrisk.pipeline import compute, prepare
    from socialrisk.settings import load_settings
    from socialrisk.webmap import build_map

    flags = {"file7_download": False, "quiet": True, "out": str(out)}
    if IOW_FILE7.is_file():
        flags["deprivation"] = [str(IOW_FILE7)]
    s = load_settings(None, flags)
    p = prepare(s)
    res = compute(p)
    with _Mark(mem, "outputs"):
        def render(path: Path) -> None:
            tips = [c for c in ["area_id", "population", "isolation_risk", "drivers"]
                    if res.areas[c].notna().any()]
            build_map(map_areas(res.areas), res.amenities, res.labels, tips).save(str(path))

        write_run_outputs(out, res.areas, res.amenities, res.amenity_polygons, res.manifest,
                          render)
    rows = [_row("socialrisk", k, v, mem) for k, v in res.manifest["timings_s"].items()]
    rows.append(_row("socialrisk", "outputs", mem.marks["outputs"][1] - mem.marks["outputs"][0],
                     mem))
    return rows, p


def parse_split(mem: MemorySampler, pbf: Path, crs: str) -> list[dict]:
    """``parse_osm`` split into its steps (a second read of the same file)."""
    from geo import pbf as pbfmod
    from geo.taxonomy import load_taxonomy

    tax = load_taxonomy(None)
    rows = []
    with _Mark(mem, "scan") as m:
        s = pbfmod._run(pbf, tax, network=True, buildings=True, residential=True)
    rows.append(_row("socialrisk", "  parse: libosmium scan", m.seconds, mem, "scan"))
    with _Mark(mem, "amen") as m:
        pbfmod._amenities(s, tax)
    rows.append(_row("socialrisk", "  parse: amenity table", m.seconds, mem, "amen"))
    with _Mark(mem, "net") as m:
        pbfmod._network(s, pbf, crs, "largest")
    rows.append(_row("socialrisk", "  parse: network build", m.seconds, mem, "net"))
    with _Mark(mem, "bld") as m:
        pbfmod._buildings(s)
        pbfmod._residential(s)
    rows.append(_row("socialrisk", "  parse: buildings + land use", m.seconds, mem, "bld"))
    return rows


def nearest_only(mem: MemorySampler, p) -> tuple[list[dict], dict[str, np.ndarray]]:
    """socialrisk's nearest-distance runs alone (the part pandana does)."""
    from risk.engine import nearest_distance

    dists = {}
    with _Mark(mem, "nearest") as m:
        for cat in p.taxonomy:
            att = p.snapped.amenities[cat]
            if att.snapped.sum():
                dists[cat], _ = nearest_distance(p.network, att, p.snapped.origins,
                                                 limit=p.settings.max_distance_m)
    return [_row("socialrisk", "nearest only (access part)", m.seconds, mem, "nearest")], dists


def pandana_run(mem: MemorySampler, pbf: Path, p, ours: dict[str, np.ndarray]
                ) -> tuple[list[dict], dict]:
    """pandana 0.8 nearest POIs per category from every origin (nearest-node snapping)."""
    import pandana

    from geo import pbf as pbfmod
    from geo.taxonomy import load_taxonomy

    tax = load_taxonomy(None)
    rows = []
    with _Mark(mem, "pd_parse") as m:
        s = pbfmod._run(pbf, tax, network=True, buildings=False, residential=False)
        amen = pbfmod._amenities(s, tax)
        net = pbfmod._network(s, pbf, p.crs, "largest")
    rows.append(_row("pandana", "parse (amenities + network, our reader)", m.seconds, mem,
                     "pd_parse"))
    with _Mark(mem, "pd_build") as m:
        nodes = pd.DataFrame({"x": net.x, "y": net.y}, index=np.arange(net.n_nodes))
        edges = pd.DataFrame({"from": net.u, "to": net.v, "length": net.length})
        pnet = pandana.Network(nodes["x"], nodes["y"], edges["from"], edges["to"],
                               edges[["length"]], twoway=True)
    rows.append(_row("pandana", "network (pandana.Network, CH)", m.seconds, mem, "pd_build"))
    maxd = p.settings.max_distance_m
    am = amen.to_crs(p.crs)
    pts = am.geometry.representative_point()
    ox = p.origins.geometry.x.to_numpy()
    oy = p.origins.geometry.y.to_numpy()
    with _Mark(mem, "pd_snap") as m:
        onode = pnet.get_node_ids(pd.Series(ox), pd.Series(oy)).to_numpy()
        for cat in p.taxonomy:
            sel = (am["category"] == cat).to_numpy()
            if sel.any():
                pnet.set_pois(cat, maxd, 1, pd.Series(pts.x.to_numpy()[sel]),
                              pd.Series(pts.y.to_numpy()[sel]))
    rows.append(_row("pandana", "snapping (origins + set_pois)", m.seconds, mem, "pd_snap"))
    got = {}
    with _Mark(mem, "pd_near") as m:
        for cat in ours:
            d = pnet.nearest_pois(maxd, cat, num_pois=1)
            got[cat] = d.iloc[:, 0].to_numpy()[np.searchsorted(d.index.to_numpy(), onode)]
    rows.append(_row("pandana", "nearest_pois (access part)", m.seconds, mem, "pd_near"))
    diffs = []
    for cat, d in ours.items():
        g = got[cat]
        ok = np.isfinite(d) & (g < maxd)
        diffs.append(np.abs(g[ok] - d[ok]))
    diff = np.concatenate(diffs)
    return rows, {"median_abs_m": round(float(np.median(diff)), 1),
                  "p95_abs_m": round(float(np.percentile(diff, 95)), 1),
                  "origins_x_categories": int(diff.size)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("socialrisk.pipeline").setLevel(logging.INFO)
    logging.getLogger("socialrisk.pipeline").propagate = False  # marks only, no chatter
    from socialrisk.core.data import EMBEDDED_OSM, embedded_file

    pbf = embedded_file(EMBEDDED_OSM)
    load = os.getloadavg()[0]
    with MemorySampler() as mem, tempfile.TemporaryDirectory() as tmp:
        rows, p = socialrisk_run(mem, Path(tmp) / "out")
        rows += parse_split(mem, pbf, p.crs)
        more, ours = nearest_only(mem, p)
        rows += more
        try:
            prow, agree = pandana_run(mem, pbf, p, ours)
        except ImportError:
            prow, agree = [], {"pandana": "not installed (pip install pandana==0.8)"}
    rows += prow
    sr_near = next(r["seconds"] for r in rows if r["stage"].startswith("nearest only"))
    pd_near = next((r["seconds"] for r in prow if r["stage"].startswith("nearest_pois")), None)
    summary = {"network_nodes": p.network.n_nodes, "network_edges": p.network.n_edges,
               "origins": len(p.origins), "amenities": len(p.amenities),
               "categories": len(ours), "max_distance_m": p.settings.max_distance_m,
               "load_avg_1m": round(load, 2), "pandana_vs_socialrisk": agree,
               "nearest_ratio_socialrisk_to_pandana":
                   round(sr_near / pd_near, 3) if pd_near else None}
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=1))
        return 0
    print(f"Isle of Wight: {summary['network_nodes']} nodes, {summary['network_edges']} edges, "
          f"{summary['origins']} origins, {summary['amenities']} amenities, "
          f"{summary['categories']} categories; load avg {load:.2f}")
    print(pd.DataFrame(rows).to_string(index=False))
    print("nearest part, socialrisk / pandana time:",
          summary["nearest_ratio_socialrisk_to_pandana"],
          "| |pandana - socialrisk| per origin:", agree)
    return 0


if __name__ == "__main__":
    sys.exit(main())
