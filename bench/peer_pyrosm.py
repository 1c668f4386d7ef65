"""The peer job of ``bench.pipeline``: pyrosm + pandana, nearest amenity per category.

What a user of the two libraries would write to get "metres to the nearest X" for
every walking-network node of an OSM extract, for our taxonomy's 13 categories:

1. ``pyrosm.OSM(pbf, engine="in_memory").get_network(network_type="walking",
   nodes=True)`` (``in_memory`` is faster here than the default ``out_of_core``,
   whose first read also writes a GeoParquet cache that later runs would reuse);
2. ``pandana.Network`` from those nodes (projected to EPSG:27700, so that its
   nearest-node KD-tree works in metres) and edges (pyrosm's ``length``, metres),
   two-way as walking is;
3. ``get_pois(custom_filter=...)`` with the main tag (first key and its values) of
   every filter of every category, merged by key; each POI's representative point
   (the point itself, or a point inside the polygon);
4. per category: ``set_pois`` (POIs snapped to their nearest node) and
   ``nearest_pois(maxdist, num_pois=1)`` for every node.

Run alone: ``python -m bench.peer_pyrosm PBF [--maxdist 1200] [--engine in_memory]
[--save out.npz]``;
prints one JSON line with the stage timings (seconds, imports included, measured
from interpreter start as far as Python can see it) and counts. ``--save`` writes
the node coordinates and the per-node distances for the agreement check.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

# The pyrosm build here warns that its pandana backend is deprecated (we build the
# pandana.Network ourselves, but keep stderr quiet for the timing runs anyway).
import warnings  # noqa: E402

warnings.filterwarnings("ignore")


def main_tags(taxonomy) -> tuple[dict[str, list[str]], dict[str, list[tuple[str, object]]]]:
    """``custom_filter`` for pyrosm (key -> values, merged) and each category's main tags."""
    merged: dict[str, set[str] | None] = {}
    per_cat: dict[str, list[tuple[str, object]]] = {}
    for name, cat in taxonomy.items():
        per_cat[name] = []
        for m in cat.filters:
            key, values = m.tags[0]
            per_cat[name].append((key, values))
            if values is None or merged.get(key, set()) is None:
                merged[key] = None
            else:
                merged.setdefault(key, set()).update(values)
    # pyrosm: [True] means "any value of this key"
    return ({k: ([True] if v is None else sorted(v)) for k, v in merged.items()}, per_cat)


def run(pbf: str, maxdist: float, save: str | None = None, engine: str = "in_memory") -> dict:
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    import numpy as np
    import pandana
    import pandas as pd
    from pyproj import Transformer
    from pyrosm import OSM

    from geo.taxonomy import load_taxonomy

    t1 = time.perf_counter()
    t["imports"] = t1 - t0
    osm = OSM(pbf, engine=engine)
    nodes, edges = osm.get_network(network_type="walking", nodes=True)
    t2 = time.perf_counter()
    t["pyrosm get_network"] = t2 - t1

    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    nx, ny = to_bng.transform(nodes["lon"].to_numpy(), nodes["lat"].to_numpy())
    node_id = nodes["id"].to_numpy()
    net = pandana.Network(pd.Series(nx, index=node_id), pd.Series(ny, index=node_id),
                          edges["u"], edges["v"], edges[["length"]].astype("float64"),
                          twoway=True)
    t3 = time.perf_counter()
    t["pandana.Network"] = t3 - t2

    tax = load_taxonomy(None)
    custom, per_cat = main_tags(tax)
    pois = osm.get_pois(custom_filter=custom)
    pois = pois[pois.geometry.notna() & ~pois.geometry.is_empty]
    pts = pois.geometry.representative_point()
    px, py = to_bng.transform(pts.x.to_numpy(), pts.y.to_numpy())
    t4 = time.perf_counter()
    t["pyrosm get_pois"] = t4 - t3

    n_pois: dict[str, int] = {}
    for name, tags in per_cat.items():
        sel = np.zeros(len(pois), dtype=bool)
        for key, values in tags:
            if key in pois.columns:
                col = pois[key]
                sel |= (col.notna() if values is None else col.isin(values)).to_numpy()
        n_pois[name] = int(sel.sum())
        if sel.any():
            net.set_pois(name, maxdist, 1, pd.Series(px[sel]), pd.Series(py[sel]))
    t5 = time.perf_counter()
    t["set_pois (snap)"] = t5 - t4

    dist: dict[str, np.ndarray] = {}
    for name in per_cat:
        if n_pois[name]:
            d = net.nearest_pois(maxdist, name, num_pois=1)
            dist[name] = d.iloc[:, 0].reindex(node_id).to_numpy(dtype="float64")
    t6 = time.perf_counter()
    t["nearest_pois"] = t6 - t5

    reach = {k: round(float(np.mean(v < maxdist)), 3) for k, v in dist.items()}
    if save:
        np.savez(save, node_id=node_id, x=nx, y=ny,
                 **{f"d_{k}": v.astype("float32") for k, v in dist.items()})
    return {"timings_s": {k: round(v, 3) for k, v in t.items()},
            "since_module_start_s": round(time.perf_counter() - T_START, 3),
            "nodes": int(len(nodes)), "edges": int(len(edges)), "pois": int(len(pois)),
            "pois_per_category": n_pois, "share_nodes_within_maxdist": reach,
            "maxdist_m": maxdist, "engine": engine, "custom_filter": custom}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pbf")
    ap.add_argument("--maxdist", type=float, default=1200.0)
    ap.add_argument("--save", default=None)
    ap.add_argument("--engine", default="in_memory", choices=("in_memory", "out_of_core"))
    a = ap.parse_args(argv)
    print(json.dumps(run(a.pbf, a.maxdist, a.save, a.engine)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
