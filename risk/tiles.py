"""Spatial tiles for the bounded searches of :mod:`risk.engine`.

On networks whose edges are never shorter than the straight line between their
end nodes (:func:`tiling_is_exact`), sources are grouped in spatial tiles and
each tile searches only the subgraph of nodes within ``cutoff`` (straight line)
of its sources: every node within ``cutoff`` on the network, and every node on
a path to it, lies in that subgraph, so the results are identical to a search
of the whole graph while the cost follows the local network size.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from socialrisk.core.network import Attachments, WalkNetwork

#: networks with at least this many nodes use spatial tiles in :func:`~risk.engine.distances_within`
TILE_MIN_NODES = 20_000
#: tile side as a multiple of the cutoff (at least ``TILE_MIN_M``)
TILE_FACTOR = 1.0
TILE_MIN_M = 500.0
#: grid cell (metres) used to find the nodes around a tile
TILE_CELL_M = 125.0
#: default threads for tiles
DEFAULT_WORKERS = 2


def tiling_is_exact(network: WalkNetwork) -> bool:
    """Whether every edge is at least as long as the straight line between its end nodes.

    Then the straight-line distance between two nodes never exceeds their
    network distance, so every node within ``cutoff`` on the network of a
    source lies inside the source's bounding box expanded by ``cutoff``, and so
    does every node of every path of length <= ``cutoff`` from it: Dijkstra on
    that subgraph is exact (see :func:`~risk.engine.distances_within`). True for networks
    built by :func:`~socialrisk.core.network.network_from_edges`, whose lengths
    are measured in the projected CRS.
    """
    if network.n_edges == 0:
        return True
    cached = getattr(network, "_engine_tiling_exact", None)
    if cached is None:
        euclid = np.hypot(network.x[network.u] - network.x[network.v],
                          network.y[network.u] - network.y[network.v])
        cached = bool(np.all(network.length >= euclid * (1 - 1e-12)))
        object.__setattr__(network, "_engine_tiling_exact", cached)
    return cached


class _Tiler:
    """Source tiles and the network subgraph around each (exact local Dijkstra).

    Nodes are bucketed on a grid of ``cell_m`` squares (sorted by cell), so the
    nodes of any box are a few contiguous slices; a tile's subgraph is every
    node of the cells that meet the tile's bounding box expanded by
    ``cutoff + margin`` (a superset of the box, which keeps it exact).
    """

    def __init__(self, network: WalkNetwork, cutoff: float, cell_m: float):
        self.net = network
        self.csr = network.csr()
        self.cell = float(cell_m)
        # a little more than the cutoff: covers float rounding in the path sums
        self.reach = cutoff * (1 + 1e-9) + 1e-6
        self.x0, self.y0 = float(network.x.min()), float(network.y.min())
        cx = ((network.x - self.x0) // self.cell).astype(np.int64)
        cy = ((network.y - self.y0) // self.cell).astype(np.int64)
        self.ny = int(cy.max()) + 1
        self.nx = int(cx.max()) + 1
        key = cx * self.ny + cy
        self.order = np.argsort(key, kind="stable")
        self.key = key[self.order]
        self.local = np.full(network.n_nodes, -1, dtype=np.int64)

    def nodes_in_box(self, xmin: float, ymin: float, xmax: float, ymax: float) -> np.ndarray:
        """Node positions of the grid cells meeting the box (sorted by cell)."""
        c = self.cell
        cx0 = max(0, int((xmin - self.x0) // c))
        cx1 = min(self.nx - 1, int((xmax - self.x0) // c))
        cy0 = max(0, int((ymin - self.y0) // c))
        cy1 = min(self.ny - 1, int((ymax - self.y0) // c))
        if cx1 < cx0 or cy1 < cy0:
            return np.zeros(0, dtype=np.int64)
        rows = np.arange(cx0, cx1 + 1, dtype=np.int64) * self.ny
        lo = np.searchsorted(self.key, rows + cy0, side="left")
        hi = np.searchsorted(self.key, rows + cy1, side="right")
        return np.concatenate([self.order[a:b] for a, b in zip(lo, hi, strict=True)])

    def subgraph(self, nodes: np.ndarray, sources: Attachments,
                 batch: np.ndarray) -> sparse.csr_matrix:
        """Subgraph on ``nodes`` plus one virtual node per batch source (rows ``len(nodes) + i``).

        Not thread-safe across calls (uses a shared position map); callers lock.
        """
        net = self.csr
        ns = nodes.size
        local = self.local
        local[nodes] = np.arange(ns)
        start = net.indptr[nodes]
        cnt = net.indptr[nodes + 1] - start
        idx = np.repeat(start - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
        col = local[net.indices[idx]]
        row = np.repeat(np.arange(ns), cnt)
        keep = col >= 0
        # virtual nodes of the batch (same de-duplication as augmented_graph)
        lo = np.searchsorted(sources.item, batch, side="left")
        hi = np.searchsorted(sources.item, batch, side="right")
        k = hi - lo
        att = np.repeat(lo - np.cumsum(k) + k, k) + np.arange(int(k.sum()))
        v_row = ns + np.repeat(np.arange(batch.size), k)
        v_col = local[sources.node[att]]
        local[nodes] = -1
        if (v_col < 0).any():
            raise RuntimeError("tile subgraph misses a source attachment node")
        v_off = sources.offset[att]
        order = np.lexsort((v_off, v_col, v_row))
        v_row, v_col, v_off = v_row[order], v_col[order], v_off[order]
        first = np.ones(v_row.size, dtype=bool)
        first[1:] = (v_row[1:] != v_row[:-1]) | (v_col[1:] != v_col[:-1])
        rows = np.concatenate([row[keep], v_row[first]])
        cols = np.concatenate([col[keep], v_col[first]])
        data = np.concatenate([net.data[idx][keep].astype(np.float64),
                               v_off[first].astype(np.float64)])
        m = ns + batch.size
        counts = np.bincount(rows, minlength=m)
        indptr = np.zeros(m + 1, dtype=np.int32)
        np.cumsum(counts, out=indptr[1:])
        # rows are already grouped (network rows ascending, then virtual rows)
        return sparse.csr_matrix((data, cols.astype(np.int32), indptr), shape=(m, m))

    def tiles(self, sources: Attachments, items: np.ndarray,
              tile_m: float) -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
        """Source items grouped by ``tile_m`` squares, with each group's expanded box."""
        x = self.net.x[sources.node]
        y = self.net.y[sources.node]
        starts = np.searchsorted(sources.item, items)  # every item in ``items`` is snapped
        xmin = np.minimum.reduceat(x, starts) if x.size else x
        xmax = np.maximum.reduceat(x, starts) if x.size else x
        ymin = np.minimum.reduceat(y, starts) if y.size else y
        ymax = np.maximum.reduceat(y, starts) if y.size else y
        # reduceat over all attachments: segments start at every snapped item
        tx = (((xmin + xmax) / 2 - self.x0) // tile_m).astype(np.int64)
        ty = (((ymin + ymax) / 2 - self.y0) // tile_m).astype(np.int64)
        key = tx * (int(ty.max()) + 1) + ty
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1], True])
        out = []
        r = self.reach
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            sel = order[a:b]
            out.append((items[sel], (float(xmin[sel].min()) - r, float(ymin[sel].min()) - r,
                                     float(xmax[sel].max()) + r, float(ymax[sel].max()) + r)))
        return out

def use_tiles(network: WalkNetwork, tiled: bool | None) -> bool:
    """Whether to search by tiles: ``tiled`` when given (True needs
    :func:`tiling_is_exact`), else on exact networks of ``TILE_MIN_NODES`` nodes or more.
    """
    if tiled is False:
        return False
    exact = tiling_is_exact(network)
    if tiled and not exact:
        raise ValueError("tiled=True needs edge lengths >= the straight-line distance between "
                         "their end nodes (see tiling_is_exact)")
    return exact and (bool(tiled) or network.n_nodes >= TILE_MIN_NODES)


def run_tiles(network: WalkNetwork, sources: Attachments, src_items: np.ndarray,
              cutoff: float, batch_size: int | None, batch_bytes: int, workers: int,
              consume) -> None:
    """Bounded Dijkstra from every source item, tile by tile; each batch goes to ``consume``.

    ``consume(batch, d, nodes)`` gets the batch's source items and their
    distances (rows) to ``nodes`` (network node positions of the tile's
    subgraph, exact, see :func:`tiling_is_exact`). Tiles run on ``workers``
    threads (csgraph releases the GIL), so ``consume`` must be thread-safe.
    Batches hold ``batch_size`` sources, by default as many as fit in
    ``batch_bytes``.
    """
    tiler = _Tiler(network, cutoff, TILE_CELL_M)
    tile_m = max(TILE_MIN_M, TILE_FACTOR * cutoff)
    lock = threading.Lock()

    def run(tile) -> None:
        items, box = tile
        nodes = tiler.nodes_in_box(*box)
        per = batch_size or max(1, int(batch_bytes // (9 * (nodes.size + items.size))))
        for b in range(0, items.size, per):
            batch = items[b:b + per]
            with lock:
                sub = tiler.subgraph(nodes, sources, batch)
            d = csgraph.dijkstra(sub, directed=True, indices=nodes.size + np.arange(batch.size),
                                 limit=cutoff)[:, :nodes.size]
            consume(batch, d, nodes)

    tiles = tiler.tiles(sources, src_items, tile_m)
    if workers <= 1:
        for t in tiles:
            run(t)
    else:
        with ThreadPoolExecutor(workers) as ex:
            for _ in ex.map(run, tiles):
                pass


def tile_workers(workers: int | None) -> int:
    """Threads for tiles: ``workers`` (at least 1), by default ``min(DEFAULT_WORKERS, cpus)``."""
    if workers is None:
        return max(1, min(DEFAULT_WORKERS, os.cpu_count() or 1))
    return max(1, int(workers))
