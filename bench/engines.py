"""Engine benchmark: socialrisk vs pandana 0.8 vs a networkx baseline, side by side.

    python -m bench.engines [--sizes iow,100k,1m,5m] [--json] [--out FILE.json]

For every graph the parent process builds the network and the amenity nodes
once, then runs each engine in a forked child (same objects, copy-on-write), so
that wall time and peak memory are the engine's own; results come back through
``.npy`` files and are checked against each other *before* times are reported.

The task, for every engine: for each of the 13 amenity categories of
``data/taxonomy.toml``, the network distance from every node to the nearest
amenity of the category (searched up to 1,200 m) and the number of amenities
within 800 m and within 1,200 m of every node.

Graphs
    ``iow``: the real Isle of Wight walking network (OSM extract 2020-04-22,
    :func:`geo.pbf.read_pbf`) with its real amenities per category,
    each placed on the network node nearest to it (polygons: a point inside).
    ``100k``, ``300k``, ``1m``, ``5m``: **synthetic** street-like graphs
    (:mod:`bench.graphs`) with **synthetic** amenities at random nodes, as many
    per category per node as on the Isle of Wight.

What is comparable
    pandana puts POIs on nodes and measures node to node, so the benchmark
    attaches every amenity to one node (offset 0) and takes every node as an
    origin: socialrisk computes exactly the same quantity. (In the pipeline
    socialrisk snaps to the nearest edge with offsets; pandana cannot express
    that.) pandana stores edge weights as integer millimetres (weight x 1000,
    truncated) and returns float32, so its distances are compared with
    socialrisk's on the same network with lengths truncated to whole
    millimetres (tolerance 2e-4 m, float32 at 1.2 km), and its error against
    the exact distances is reported. Its counts (``aggregate(type="sum")`` of
    ones, flat decay) must lie between socialrisk's counts at ``t`` and at
    ``t + 0.05 m``. networkx (float64, Dijkstra from each origin with a 1,200 m
    cutoff, as tutorials do) must match socialrisk to 1e-6 m and exactly on
    counts; on large graphs it runs on a random sample of origins and its time
    is extrapolated to all origins (said in the note).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.graphs import synthetic_sources, synthetic_street_network
from socialrisk.core.network import WalkNetwork

ROOT = Path(__file__).resolve().parents[1]
IOW_PBF = ROOT / "data" / "isle_of_wight" / "isle-of-wight-2020-04-22.osm.pbf"
MAX_DIST = 1200.0
THRESHOLDS = (800.0, 1200.0)
SIZES = {"100k": 100_000, "300k": 300_000, "1m": 1_000_000, "5m": 5_000_000}
PANDANA_TOL = 2e-4
COUNT_SLACK = 0.05
NX_TOL = 1e-6


@dataclass
class Problem:
    """One graph with its amenity nodes per category."""

    name: str
    network: WalkNetwork
    sources: dict[str, np.ndarray]
    label: str
    meta: dict = field(default_factory=dict)

    @property
    def n_sources(self) -> int:
        return int(sum(v.size for v in self.sources.values()))


# ------------------------------------------------------------------ inputs

def _nearest_nodes(network: WalkNetwork, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([network.x, network.y]))
    return tree.query(np.column_stack([x, y]))[1].astype(np.int64)


def iow_problem() -> Problem:
    """The real Isle of Wight network and its real amenities, each on its nearest node."""
    from geo.pbf import read_pbf

    data = read_pbf(IOW_PBF)
    net = data.network
    amen = data.amenities.to_crs(net.crs)
    pts = amen.geometry.representative_point()
    nodes = _nearest_nodes(net, pts.x.to_numpy(), pts.y.to_numpy())
    cats = [c for c in _categories() if (amen["category"] == c).any()]
    sources = {c: np.sort(nodes[(amen["category"] == c).to_numpy()]) for c in cats}
    counts = {c: int((amen["category"] == c).sum()) for c in cats}
    return Problem("iow", net, sources, "real: Isle of Wight OSM 2020-04-22",
                   {"amenities_per_category": counts})


def _categories() -> list[str]:
    from geo.taxonomy import load_taxonomy

    return list(load_taxonomy())


def synthetic_problem(size: str, per_node: dict[str, float], seed: int = 0) -> Problem:
    """A synthetic graph of ``SIZES[size]`` nodes with synthetic amenities at IoW densities."""
    net = synthetic_street_network(SIZES[size], seed=seed)
    want = {c: max(1, round(r * net.n_nodes)) for c, r in per_node.items()}
    return Problem(size, net, synthetic_sources(net, want, seed=seed + 1),
                   "synthetic graph, synthetic amenities at IoW densities per node")


def iow_densities() -> tuple[dict[str, float], Problem | None]:
    prob = iow_problem()
    n = prob.network.n_nodes
    return {c: v.size / n for c, v in prob.sources.items()}, prob


# ------------------------------------------------------------------ engines

def run_socialrisk(prob: Problem, out: Path) -> dict:
    from risk.engine import counts_within
    from risk.snap import attachments_from_nodes

    net = prob.network
    cats = list(prob.sources)
    t0 = time.perf_counter()
    targets = attachments_from_nodes(net, np.arange(net.n_nodes))
    srcs = [attachments_from_nodes(net, prob.sources[c]) for c in cats]
    t1 = time.perf_counter()
    counts, near = counts_within(net, srcs, targets, THRESHOLDS, return_nearest=True)
    t2 = time.perf_counter()
    np.save(out / "near.npy", near)
    np.save(out / "counts.npy", counts.astype(np.int32))
    return {"seconds": t2 - t0, "stages": {"inputs": t1 - t0, "nearest_and_counts": t2 - t1}}


def run_pandana(prob: Problem, out: Path) -> dict:
    import pandana
    import pandas as pd

    net = prob.network
    cats = list(prob.sources)
    n = net.n_nodes
    t0 = time.perf_counter()
    ids = pd.Index(np.arange(n), name="id")
    pnet = pandana.Network(pd.Series(net.x, index=ids), pd.Series(net.y, index=ids),
                           pd.Series(net.u), pd.Series(net.v),
                           pd.DataFrame({"length": net.length}), twoway=True)
    t1 = time.perf_counter()
    pnet.precompute(MAX_DIST)
    t2 = time.perf_counter()
    near = np.empty((len(cats), n))
    for k, c in enumerate(cats):
        nodes = prob.sources[c]
        pnet.set_pois(c, MAX_DIST, int(nodes.size), pd.Series(net.x[nodes]),
                      pd.Series(net.y[nodes]))
        res = pnet.nearest_pois(MAX_DIST, c, num_pois=1)
        near[k] = res[1].reindex(ids).to_numpy(np.float64)
    t3 = time.perf_counter()
    counts = np.empty((len(cats), len(THRESHOLDS), n), dtype=np.int32)
    for k, c in enumerate(cats):
        nodes = prob.sources[c]
        pnet.set(pd.Series(nodes), variable=pd.Series(np.ones(nodes.size)), name=c)
        for j, t in enumerate(THRESHOLDS):
            agg = pnet.aggregate(t, type="sum", decay="flat", name=c)
            counts[k, j] = np.rint(agg.reindex(ids).to_numpy()).astype(np.int32)
    t4 = time.perf_counter()
    np.save(out / "near.npy", near)
    np.save(out / "counts.npy", counts)
    return {"seconds": t4 - t0, "stages": {"network": t1 - t0, "precompute": t2 - t1,
                                           "nearest_pois": t3 - t2, "aggregate": t4 - t3}}


def run_networkx(prob: Problem, sample: int, out: Path) -> dict:
    import networkx as nx

    net = prob.network
    cats = list(prob.sources)
    n = net.n_nodes
    rng = np.random.default_rng(11)
    origins = np.sort(rng.choice(n, min(sample, n), replace=False))
    t0 = time.perf_counter()
    g = nx.Graph()
    g.add_weighted_edges_from(zip(net.u.tolist(), net.v.tolist(), net.length.tolist(),
                                  strict=True))
    node_cats: dict[int, list[int]] = {}
    for k, c in enumerate(cats):
        for p in prob.sources[c].tolist():
            node_cats.setdefault(p, []).append(k)
    t1 = time.perf_counter()
    near = np.full((len(cats), origins.size), np.inf)
    counts = np.zeros((len(cats), len(THRESHOLDS), origins.size), dtype=np.int32)
    for i, o in enumerate(origins.tolist()):
        lengths = nx.single_source_dijkstra_path_length(g, o, cutoff=MAX_DIST, weight="weight")
        for node, d in lengths.items():
            for k in node_cats.get(node, ()):
                if d < near[k, i]:
                    near[k, i] = d
                for j, t in enumerate(THRESHOLDS):
                    if d <= t:
                        counts[k, j, i] += 1
    t2 = time.perf_counter()
    np.save(out / "near.npy", near)
    np.save(out / "counts.npy", counts)
    np.save(out / "origins.npy", origins)
    per_origin = (t2 - t1) / origins.size
    total = (t1 - t0) + per_origin * n
    return {"seconds": total, "measured_seconds": t2 - t0, "origins_timed": int(origins.size),
            "extrapolated": origins.size < n,
            "stages": {"graph": t1 - t0, "dijkstra_per_origin": per_origin}}


# ------------------------------------------------------------------ child processes

def _rss_kb(pid: int | str = "self", key: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _child(fn: Callable, args: tuple, out: Path, conn) -> None:
    os.dup2(2, 1)  # engines' progress output must not mix with --json on stdout
    try:
        # reset the RSS high-water mark to the current RSS (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base = _rss_kb()
        res = fn(*args, out)
        res["peak_mb"] = _rss_kb(key="VmHWM") / 1024
        res["base_mb"] = base / 1024
        conn.send(res)
    except BaseException as exc:  # report, never hang the parent
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def run_child(fn: Callable, args: tuple, out: Path, timeout: float, mem_mb: float) -> dict:
    """Run ``fn(*args, out)`` in a forked child; kill it past ``timeout`` s or ``mem_mb`` RSS."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(fn, args, out, send))
    t0 = time.perf_counter()
    p.start()
    send.close()
    peak = 0
    why = None
    while True:
        if recv.poll(0.2):
            res = recv.recv()
            p.join()
            return res
        if not p.is_alive():
            p.join()
            return {"error": f"child exited with code {p.exitcode} (killed: out of memory?)"}
        rss = _rss_kb(p.pid) / 1024
        peak = max(peak, rss)
        if rss > mem_mb:
            why = f"killed at {rss / 1024:.1f} GB RSS (cap {mem_mb / 1024:.0f} GB)"
        elif time.perf_counter() - t0 > timeout:
            why = f"killed after {timeout:.0f} s (time cap)"
        if why:
            p.kill()
            p.join()
            return {"error": why, "peak_mb": peak, "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------ checks

def _truncated(network: WalkNetwork) -> WalkNetwork:
    """The network with lengths truncated to whole millimetres, as pandana stores them."""
    return WalkNetwork(node_id=network.node_id, x=network.x, y=network.y, u=network.u,
                       v=network.v, length=np.floor(network.length * 1000.0) / 1000.0,
                       crs=network.crs)


def check(prob: Problem, engine: str, out: Path, ref: Path) -> tuple[bool, str]:
    """Compare an engine's results with socialrisk's (``ref``); returns (agrees, note)."""
    near_r = np.load(ref / "near.npy", mmap_mode="r")
    cnt_r = np.load(ref / "counts.npy", mmap_mode="r")
    near = np.load(out / "near.npy", mmap_mode="r")
    cnt = np.load(out / "counts.npy", mmap_mode="r")
    if engine == "networkx":
        o = np.load(out / "origins.npy")
        a, b = near_r[:, o], near
        same_inf = np.array_equal(np.isinf(a), np.isinf(b))
        fin = np.isfinite(a) & np.isfinite(b)
        diff = float(np.abs(a[fin] - b[fin]).max()) if fin.any() else 0.0
        c_ok = np.array_equal(cnt_r[:, :, o], cnt)
        ok = same_inf and diff <= NX_TOL and c_ok
        return ok, (f"{o.size} origins: max |d - socialrisk| {diff:.1e} m, same unreached "
                    f"{same_inf}, counts equal {c_ok}")
    # pandana: nodes with no POI within MAX_DIST get MAX_DIST
    from risk.engine import counts_within, nearest_distance
    from risk.snap import attachments_from_nodes

    trunc = _truncated(prob.network)
    targets = attachments_from_nodes(trunc, np.arange(trunc.n_nodes))
    worst_t = worst_e = 0.0
    unreached_ok = True
    for k, c in enumerate(prob.sources):
        s = attachments_from_nodes(trunc, prob.sources[c])
        d_t, _ = nearest_distance(trunc, s, targets, limit=MAX_DIST)
        p = np.asarray(near[k])
        e = np.asarray(near_r[k])
        reach = np.isfinite(d_t) & (d_t < MAX_DIST - 1e-3)
        unreached_ok &= bool(np.all(p[~np.isfinite(d_t)] >= MAX_DIST - PANDANA_TOL))
        if reach.any():
            worst_t = max(worst_t, float(np.abs(p[reach] - d_t[reach]).max()))
            fe = reach & np.isfinite(e)
            worst_e = max(worst_e, float(np.abs(p[fe] - e[fe]).max()))
    srcs = [attachments_from_nodes(prob.network, prob.sources[c]) for c in prob.sources]
    hi = counts_within(prob.network, srcs, attachments_from_nodes(
        prob.network, np.arange(prob.network.n_nodes)), [t + COUNT_SLACK for t in THRESHOLDS])
    lo = np.asarray(cnt_r)
    cnt = np.asarray(cnt)
    outside = int(((cnt < lo) | (cnt > hi)).sum())
    exact_cells = float((cnt == lo).mean())
    ok = worst_t <= PANDANA_TOL and unreached_ok and outside == 0
    return ok, (f"nearest: max |d - socialrisk on mm-truncated lengths| {worst_t:.1e} m, "
                f"max |d - exact| {worst_e:.1e} m; counts: {outside} cells outside "
                f"[socialrisk(t), socialrisk(t+{COUNT_SLACK} m)], {exact_cells:.6f} equal")


# ------------------------------------------------------------------ driver

def bench_problem(prob: Problem, engines: list[str], args) -> list[dict]:
    net = prob.network
    assert np.all(net.length >= np.hypot(net.x[net.u] - net.x[net.v],
                                         net.y[net.u] - net.y[net.v]) * (1 - 1e-12)), \
        "edge lengths shorter than the straight line: tiles would not be exact"
    gc.collect()
    records = []
    base = Path(tempfile.mkdtemp(prefix=f"bench_engines_{prob.name}_"))
    outs = {}
    for eng in engines:
        out = base / eng
        out.mkdir()
        outs[eng] = out
        if eng == "socialrisk":
            res = run_child(run_socialrisk, (prob,), out, args.timeout, args.mem_cap_mb)
        elif eng == "pandana":
            res = run_child(run_pandana, (prob,), out, args.timeout, args.mem_cap_mb)
        else:
            sample = net.n_nodes if net.n_nodes <= args.nx_full else args.nx_sample
            res = run_child(run_networkx, (prob, sample), out, args.timeout, args.mem_cap_mb)
        rec = {"graph": prob.name, "nodes": net.n_nodes, "edges": net.n_edges,
               "sources": prob.n_sources, "engine": eng,
               "seconds": round(res["seconds"], 3) if "seconds" in res else None,
               "peak_mb": round(res["peak_mb"], 1) if "peak_mb" in res else None,
               "agrees": None, "data": prob.label}
        if "error" in res:
            rec["note"] = "did not finish: " + res["error"]
        else:
            rec["base_mb"] = round(res["base_mb"], 1)
            rec["stages"] = {k: round(v, 6) for k, v in res["stages"].items()}
            if res.get("extrapolated"):
                rec["note"] = (f"extrapolated: {res['origins_timed']} random origins timed "
                               f"({res['measured_seconds']:.1f} s) x {net.n_nodes} origins")
        records.append(rec)
        print(f"  {prob.name} {eng}: {rec['seconds']} s, peak {rec['peak_mb']} MB "
              f"{rec.get('note', '')}", file=sys.stderr, flush=True)
    ref_ok = "socialrisk" in outs and not any(
        r["engine"] == "socialrisk" and r.get("note", "").startswith("did not") for r in records)
    for rec in records:
        eng = rec["engine"]
        if rec["engine"] == "socialrisk":
            rec["agrees"] = True if ref_ok else None
            continue
        if ref_ok and not rec.get("note", "").startswith("did not"):
            ok, note = check(prob, eng, outs[eng], outs["socialrisk"])
            rec["agrees"] = ok
            rec["check"] = note
            print(f"  {prob.name} {eng} check: {note}", file=sys.stderr, flush=True)
    pd_rec = next((r for r in records if r["engine"] == "pandana" and r["seconds"]
                   and r["agrees"] is not None), None)
    for rec in records:
        if pd_rec and rec["seconds"] and "did not" not in rec.get("note", ""):
            rec["ratio_to_pandana"] = round(rec["seconds"] / pd_rec["seconds"], 4)
    sr = next((r for r in records if r["engine"] == "socialrisk"), None)
    for rec in records:
        if rec["engine"] == "networkx" and sr and rec["seconds"] and sr["seconds"]:
            rec["networkx_over_socialrisk"] = round(rec["seconds"] / sr["seconds"], 1)
    for p in sorted(base.rglob("*.npy")):
        p.unlink()
    for d in sorted(base.iterdir()):
        d.rmdir()
    base.rmdir()
    return records


def _fmt(x: float | None, spec: str) -> str:
    return "" if x is None else format(x, spec)


def table(records: list[dict]) -> str:
    head = ("| graph | nodes | edges | sources | engine | seconds | peak MB | ratio to pandana "
            "| networkx / socialrisk | agrees | note |")
    lines = [head, "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in records:
        ratio = r.get("ratio_to_pandana")
        lines.append(
            f"| {r['graph']} | {r['nodes']:,} | {r['edges']:,} | {r['sources']:,} | "
            f"{r['engine']} | {_fmt(r['seconds'], '.2f')} | {_fmt(r['peak_mb'], '.0f')} | "
            f"{_fmt(ratio, '.3f')} | {_fmt(r.get('networkx_over_socialrisk'), '.0f')} | "
            f"{r['agrees']} | "
            f"{r.get('note', '')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="iow,100k", help="comma list of iow,100k,300k,1m,5m")
    ap.add_argument("--engines", default="socialrisk,pandana,networkx")
    ap.add_argument("--json", action="store_true", help="print the records as JSON")
    ap.add_argument("--out", help="also write the JSON records to this file")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per engine")
    ap.add_argument("--mem-cap-mb", type=float, default=14_000.0, help="RSS cap per engine")
    ap.add_argument("--nx-sample", type=int, default=500,
                    help="origins timed for networkx on graphs above --nx-full nodes")
    ap.add_argument("--nx-full", type=int, default=0,
                    help="run networkx from every origin up to this many nodes")
    args = ap.parse_args(argv)
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    bad = [s for s in sizes if s != "iow" and s not in SIZES]
    if bad:
        ap.error(f"unknown sizes {bad}; use iow, {', '.join(SIZES)}")
    if "socialrisk" not in engines:
        ap.error("socialrisk is the reference every engine is checked against")
    engines = ["socialrisk"] + [e for e in engines if e != "socialrisk"]
    t0 = time.perf_counter()
    per_node, iow = iow_densities()
    load = os.getloadavg()
    records = []
    for s in sizes:
        prob = iow if s == "iow" else synthetic_problem(s, per_node)
        print(f"{s}: {prob.network.n_nodes} nodes, {prob.n_sources} sources ({prob.label})",
              file=sys.stderr, flush=True)
        records += bench_problem(prob, engines, args)
        del prob
        gc.collect()
    meta = {"cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "total_seconds": round(time.perf_counter() - t0, 1)}
    if args.out:
        Path(args.out).write_text(json.dumps({"meta": meta, "records": records}, indent=1))
    if args.json:
        print(json.dumps(records, indent=1))
    else:
        print(table(records))
        print(f"\n{meta}")


if __name__ == "__main__":
    main()
