"""Network distances between attached items, with ``scipy.sparse.csgraph.dijkstra``.

Sources and targets are :class:`~risk.snap.Attachments`. Every source
item becomes one *virtual node* joined to its attachment nodes by directed
edges (virtual node -> network node) weighted by the snap offsets, so paths
start exactly at the item and can never pass through another item's virtual
node. A target's distance is the minimum over its attachments of
``d[node] + offset``.

Two items snapped onto the *same edge* can also walk along that edge directly,
without reaching either end node; this path (``snap_s + |along_s - along_t| +
snap_t``) is added exactly, so distances are exact shortest paths of the
snapping model (walk straight to the nearest edge, then along the network).

Bounded searches (:func:`distances_within`, :func:`counts_within`) run one
Dijkstra per source item with ``limit = cutoff``. On networks whose edges are
never shorter than the straight line between their end nodes (true when
lengths are measured in the projected CRS; :func:`tiling_is_exact`), sources
are grouped in spatial tiles and each tile searches only the subgraph of nodes
within ``cutoff`` (straight line) of its sources: every node within ``cutoff``
on the network, and every node on a path to it, lies in that subgraph, so the
results are identical to a search of the whole graph while the cost follows
the local network size (tiles: :mod:`risk.tiles`). :func:`counts_within`
counts pairs within thresholds (and the nearest source within the cutoff)
without keeping the pairs; on large searches it runs a compiled loop instead
(:mod:`risk.kernel`: search, counts and nearest distance per source off the
GIL, on the network renumbered in spatial order), with identical results.

Conventions
-----------
* Results are aligned to the target items (position ``i`` is target item ``i``).
* A target that cannot be reached (different component, or farther than
  ``limit``) has distance ``inf`` and source ``-1``.
* A target that is not on the network (unsnapped) has distance ``NaN`` and
  source ``-1``: its distance is unknown, not infinite.
* Zero-length edges (duplicate coordinates) and zero offsets (an item exactly
  on a node) are explicit zeros in the sparse matrix and still connect:
  csgraph treats explicit zeros in a sparse matrix as edges, and the matrix is
  assembled from index arrays so they are never pruned.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from risk.kernel import (
    COMPILED_MIN_SOURCES,
    compiled_available,
    count_within_compiled,
    is_compiled,
    spatial_order,
)
from risk.tiles import (
    DEFAULT_WORKERS,
    TILE_CELL_M,
    TILE_FACTOR,
    TILE_MIN_M,
    TILE_MIN_NODES,
    run_tiles,
    tile_workers,
    tiling_is_exact,
    use_tiles,
)
from socialrisk.core.network import Attachments, WalkNetwork, concat_attachments, edges_to_csr

__all__ = ["BATCH_BYTES", "COMPILED_MIN_SOURCES", "DEFAULT_WORKERS", "TILE_CELL_M", "TILE_FACTOR",
           "TILE_MIN_M", "TILE_MIN_NODES", "augmented_graph", "counts_within", "distances_within",
           "nearest_distance", "tiling_is_exact"]

log = logging.getLogger(__name__)

#: memory budget (bytes) for one batch of dense Dijkstra rows in :func:`distances_within`
BATCH_BYTES = 64 * 1024 * 1024


def augmented_graph(network: WalkNetwork, sources: Attachments) -> sparse.csr_matrix:
    """Network matrix plus one virtual node per source item (rows/columns ``n + item``).

    Virtual node ``n + s`` has directed edges to the attachment nodes of source
    item ``s`` (the smallest offset if a node is attached twice); no edge leads
    into a virtual node.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n + n_items, n + n_items)
    """
    net = network.csr()
    n, k = network.n_nodes, sources.n_items
    item, node, off = sources.item, sources.node, sources.offset
    if item.size:
        order = np.lexsort((off, node, item))
        item, node, off = item[order], node[order], off[order]
        first = np.ones(item.size, dtype=bool)
        first[1:] = (item[1:] != item[:-1]) | (node[1:] != node[:-1])
        item, node, off = item[first], node[first], off[first]
    counts = np.bincount(item, minlength=k)
    idx_dtype = np.int32 if (n + k) < 2**31 - 1 and net.nnz + item.size < 2**31 - 1 else np.int64
    indptr = np.concatenate([net.indptr.astype(idx_dtype),
                             (net.indptr[-1] + np.cumsum(counts)).astype(idx_dtype)])
    indices = np.concatenate([net.indices.astype(idx_dtype), node.astype(idx_dtype)])
    data = np.concatenate([net.data.astype(np.float64), off.astype(np.float64)])
    return sparse.csr_matrix((data, indices, indptr), shape=(n + k, n + k))


def _check(network: WalkNetwork, *atts: Attachments) -> None:
    for att in atts:
        if att.node.size and (att.node.max() >= network.n_nodes
                              or (att.edge.size and att.edge.max() >= network.n_edges)):
            raise ValueError("attachments refer to nodes or edges outside this network; "
                             "snap the items to the same network")


def _same_edge_pairs(sources: Attachments, targets: Attachments) -> pd.DataFrame:
    """Source/target items snapped onto the same edge, with the direct cost along it."""
    def one_per_item(att: Attachments) -> pd.DataFrame:
        m = att.edge >= 0
        df = pd.DataFrame({"item": att.item[m], "edge": att.edge[m], "along": att.along[m]})
        df = df.drop_duplicates("item")
        df["snap"] = att.snap_m[df["item"].to_numpy()]
        return df

    s, t = one_per_item(sources), one_per_item(targets)
    if s.empty or t.empty:
        return pd.DataFrame({"source": np.zeros(0, np.int64), "target": np.zeros(0, np.int64),
                             "cost": np.zeros(0)})
    pairs = s.merge(t, on="edge", suffixes=("_s", "_t"))
    cost = (pairs["snap_s"].to_numpy() + np.abs(pairs["along_s"].to_numpy()
                                                - pairs["along_t"].to_numpy())
            + pairs["snap_t"].to_numpy())
    return pd.DataFrame({"source": pairs["item_s"].to_numpy(np.int64),
                         "target": pairs["item_t"].to_numpy(np.int64), "cost": cost})


def nearest_distance(network: WalkNetwork, sources: Attachments, targets: Attachments,
                     limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Network distance from every target item to its nearest source item.

    One multi-source Dijkstra run (``min_only=True``) from the virtual nodes of
    all snapped sources.

    Parameters
    ----------
    network : WalkNetwork
    sources, targets : Attachments
        Items snapped to ``network`` (e.g. amenities and origins).
    limit : float
        Search limit in metres; targets farther than ``limit`` are unreachable.

    Returns
    -------
    dist : ndarray of float64, shape (targets.n_items,)
        Metres to the nearest source; ``inf`` when unreachable (or beyond
        ``limit``), ``NaN`` when the target is unsnapped.
    source_item : ndarray of int64, shape (targets.n_items,)
        Position of that nearest source item, ``-1`` when there is none.
    """
    _check(network, sources, targets)
    n = network.n_nodes
    nt = targets.n_items
    dist = np.full(nt, np.inf)
    src = np.full(nt, -1, dtype=np.int64)
    virtual = n + np.flatnonzero(sources.snapped)
    if virtual.size and targets.item.size:
        graph = augmented_graph(network, sources)
        d, _, from_node = csgraph.dijkstra(graph, directed=True, indices=virtual, min_only=True,
                                           return_predecessors=True, limit=limit)
        cand = d[targets.node] + targets.offset
        cand_src = from_node[targets.node].astype(np.int64) - n
        # per target item: the attachment with the smallest distance
        order = np.lexsort((cand, targets.item))
        first = np.ones(order.size, dtype=bool)
        first[1:] = targets.item[order][1:] != targets.item[order][:-1]
        best = order[first]
        items = targets.item[best]
        dist[items] = cand[best]
        src[items] = np.where(np.isfinite(cand[best]), cand_src[best], -1)
        direct = _same_edge_pairs(sources, targets)
        if not direct.empty:
            direct = direct.sort_values("cost", kind="stable").drop_duplicates("target")
            t = direct["target"].to_numpy()
            c = direct["cost"].to_numpy()
            better = c < dist[t]
            dist[t[better]] = c[better]
            src[t[better]] = direct["source"].to_numpy()[better]
    beyond = dist > limit
    dist[beyond] = np.inf
    src[beyond] = -1
    dist[~targets.snapped] = np.nan
    src[~targets.snapped] = -1
    return dist, src


class _TargetIndex:
    """Target attachments grouped by node, and the same-edge direct pairs within a cutoff."""

    def __init__(self, n: int, sources: Attachments, targets: Attachments, cutoff: float):
        by_node = np.argsort(targets.node, kind="stable")
        self.item = targets.item[by_node]
        self.off = targets.offset[by_node]
        self.first = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(targets.node, minlength=n), out=self.first[1:])
        self.has_target = self.first[1:] > self.first[:-1]
        self.nt = targets.n_items
        # one attachment per item: (source, target) pairs from one batch are unique
        self.single = bool(np.all(np.bincount(targets.item, minlength=1) <= 1))
        # ... and one target per node: a reached node gives one pair (else all its targets)
        self.one_per_node = self.single and bool(np.all(self.first[1:] - self.first[:-1] <= 1))
        direct = _same_edge_pairs(sources, targets)
        direct = direct[direct["cost"] <= cutoff].sort_values("source", kind="stable")
        self.d_src = direct["source"].to_numpy(np.int64)
        self.d_tgt = direct["target"].to_numpy(np.int64)
        self.d_cost = direct["cost"].to_numpy(np.float64)

    def pairs(self, batch: np.ndarray, d: np.ndarray, nodes: np.ndarray | None,
              cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row in batch, target item, smallest cost) for every pair within ``cutoff``.

        ``d`` holds Dijkstra distances of the batch to ``nodes`` (all nodes when None).
        Rows are sorted by (row, target) unless the pairs are unique already.
        """
        has = self.has_target if nodes is None else self.has_target[nodes]
        reached = d <= cutoff
        reached &= has[None, :]
        r, nd_local = np.nonzero(reached)
        nd = nd_local if nodes is None else nodes[nd_local]
        cnt = self.first[nd + 1] - self.first[nd]
        if self.one_per_node:
            att = self.first[nd]
            cost = d[r, nd_local] + self.off[att]
            row, tgt = r, self.item[att]
        else:
            rep = np.repeat(np.arange(r.size), cnt)
            att = np.repeat(self.first[nd], cnt) + (np.arange(rep.size)
                                                    - np.repeat(np.cumsum(cnt) - cnt, cnt))
            cost = d[r, nd_local][rep] + self.off[att]
            row, tgt = r[rep], self.item[att]
        unique = self.single
        lo, hi = np.searchsorted(self.d_src, [batch.min(), batch.max() + 1])
        if hi > lo:
            pos = np.searchsorted(batch, self.d_src[lo:hi]) if _is_sorted(batch) else None
            if pos is None:
                order = np.argsort(batch)
                pos = order[np.searchsorted(batch[order], self.d_src[lo:hi])]
            pos = np.minimum(pos, batch.size - 1)
            hit = batch[pos] == self.d_src[lo:hi]
            if hit.any():
                row = np.concatenate([row, pos[hit]])
                tgt = np.concatenate([tgt, self.d_tgt[lo:hi][hit]])
                cost = np.concatenate([cost, self.d_cost[lo:hi][hit]])
                unique = False
        ok = cost <= cutoff
        row, tgt, cost = row[ok], tgt[ok], cost[ok]
        if unique or row.size == 0:
            return row, tgt, cost
        # smallest cost per (row, target) pair, in (row, target) order
        key = row.astype(np.int64) * self.nt + tgt
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        return (row[order[starts]], tgt[order[starts]],
                np.minimum.reduceat(cost[order], starts))


def _is_sorted(a: np.ndarray) -> bool:
    return bool(a.size < 2 or np.all(a[1:] >= a[:-1]))


def _batches(network: WalkNetwork, sources: Attachments, src_items: np.ndarray,
             cutoff: float, batch_size: int | None, tiled: bool, workers: int,
             consume) -> None:
    """Run bounded Dijkstra from every source item and hand each batch to ``consume``.

    ``consume(batch, d, nodes)`` gets the batch's source items, their distances
    (rows) to ``nodes`` (network node positions; None: all nodes, in order).
    Untiled: Dijkstra on the whole augmented graph. Tiled: on the subgraph of
    each tile (exact, see :func:`tiling_is_exact`); tiles run on ``workers``
    threads (csgraph releases the GIL), so ``consume`` must be thread-safe.
    """
    n = network.n_nodes
    if not tiled:
        graph = augmented_graph(network, sources)
        if batch_size is None:
            batch_size = max(1, int(BATCH_BYTES // (9 * graph.shape[0])))
        for b in range(0, src_items.size, batch_size):
            batch = src_items[b:b + batch_size]
            d = csgraph.dijkstra(graph, directed=True, indices=n + batch, limit=cutoff)[:, :n]
            consume(batch, d, None)
        return
    run_tiles(network, sources, src_items, cutoff, batch_size, BATCH_BYTES, workers, consume)


def distances_within(network: WalkNetwork, sources: Attachments, targets: Attachments,
                     cutoff: float, batch_size: int | None = None, tiled: bool | None = None,
                     workers: int | None = None) -> pd.DataFrame:
    """Every (source item, target item) pair within ``cutoff`` metres on the network.

    This is the *cost table* used for counts, gravity sums and 2SFCA. Sources
    are processed in batches (Dijkstra with ``limit=cutoff``); only the target
    attachment nodes are read from each batch, so memory stays bounded by
    ``BATCH_BYTES`` plus the pairs found.

    On large networks (``TILE_MIN_NODES`` nodes or more) sources are grouped in
    spatial tiles and each tile runs Dijkstra on the subgraph of nodes within
    ``cutoff`` (straight line) of the tile's sources, so the cost grows with the
    local network size, not the whole network. This is exact when edges are at
    least as long as the straight line between their end nodes
    (:func:`tiling_is_exact`; otherwise the whole graph is used): the result is
    identical to the untiled one.

    Parameters
    ----------
    network : WalkNetwork
    sources, targets : Attachments
    cutoff : float
        Largest cost kept, in metres (inclusive). Must be finite.
    batch_size : int, optional
        Sources per Dijkstra call; by default as many as fit in ``BATCH_BYTES``.
    tiled : bool, optional
        Force (True) or forbid (False) spatial tiles; None decides by network size.
    workers : int, optional
        Threads for tiles (default ``min(DEFAULT_WORKERS, cpu count)``).

    Returns
    -------
    pandas.DataFrame
        Columns ``source`` (int64 source item), ``target`` (int64 target item)
        and ``cost`` (float64 metres), sorted by source then target. Pairs not
        listed are farther than ``cutoff`` or unreachable; unsnapped items
        appear in no pair.
    """
    if not np.isfinite(cutoff) or cutoff < 0:
        raise ValueError("cutoff must be a finite distance >= 0 in metres")
    _check(network, sources, targets)
    empty = pd.DataFrame({"source": np.zeros(0, np.int64), "target": np.zeros(0, np.int64),
                          "cost": np.zeros(0)})
    src_items = np.flatnonzero(sources.snapped)
    if src_items.size == 0 or targets.item.size == 0:
        return empty
    index = _TargetIndex(network.n_nodes, sources, targets, cutoff)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def consume(batch, d, nodes) -> None:
        row, tgt, cost = index.pairs(batch, d, nodes, cutoff)
        if row.size:
            parts.append((batch[row].astype(np.int64), tgt.astype(np.int64), cost))

    use = use_tiles(network, tiled)
    _batches(network, sources, src_items, cutoff, batch_size, use, tile_workers(workers), consume)
    if not parts:
        return empty
    s = np.concatenate([p[0] for p in parts])
    t = np.concatenate([p[1] for p in parts])
    c = np.concatenate([p[2] for p in parts])
    order = np.lexsort((t, s))
    s, t, c = s[order], t[order], c[order]
    out = pd.DataFrame({"source": s, "target": t, "cost": c})
    log.debug("distances_within: %d pairs within %g m", len(out), cutoff)
    return out


def counts_within(network: WalkNetwork, sources: Attachments | Sequence[Attachments],
                  targets: Attachments, thresholds: Sequence[float],
                  batch_size: int | None = None, tiled: bool | None = None,
                  workers: int | None = None, return_nearest: bool = False,
                  kernel: str | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Number of source items within each threshold of every target item.

    The same pairs as :func:`distances_within` with ``cutoff = max(thresholds)``
    (a pair counts when its cost is ``<= threshold``), counted batch by batch
    without keeping the pairs, so memory does not grow with their number.
    Several source sets (e.g. one per amenity category) are counted in one
    pass over the network.

    Parameters
    ----------
    network : WalkNetwork
    sources : Attachments or sequence of Attachments
        One set, or several (counted separately).
    targets : Attachments
    thresholds : sequence of float
        Distances in metres (finite, >= 0).
    batch_size, tiled, workers
        As in :func:`distances_within`.
    return_nearest : bool
        Also return the distance to the nearest source of each set, from the
        same Dijkstra runs (no extra search).
    kernel : {None, "compiled", "csgraph"}
        ``"compiled"``: one compiled loop per source (:mod:`risk.kernel`, numba,
        two threads give close to 2x); ``"csgraph"``: scipy's Dijkstra on tiles
        with numpy accumulation. Both give identical results. None: compiled
        for ``COMPILED_MIN_SOURCES`` source items or more, or once compiled in
        this process.

    Returns
    -------
    counts : ndarray of int32, shape (n_sets, len(thresholds), targets.n_items)
        ``[k, j, i]``: sources of set ``k`` within ``thresholds[j]`` of target
        ``i``. ``n_sets`` is 1 for a single :class:`Attachments`. Unsnapped
        targets count 0 (callers mask them as unknown).
    nearest : ndarray of float64, shape (n_sets, targets.n_items)
        Only with ``return_nearest``: identical to the distances of
        :func:`nearest_distance` with ``limit = max(thresholds)`` (``inf``
        beyond it, ``NaN`` for unsnapped targets).
    """
    sets = [sources] if isinstance(sources, Attachments) else list(sources)
    thr = np.asarray(thresholds, dtype=np.float64)
    if thr.ndim != 1 or thr.size == 0 or not np.all(np.isfinite(thr)) or np.any(thr < 0):
        raise ValueError("thresholds must be finite distances >= 0 in metres")
    _check(network, *sets, targets)
    nt, ns, nk = targets.n_items, len(sets), thr.size
    # int32: a count never exceeds the number of source items (half the memory of int64:
    # 0.5 GB for 13 sets x 2 thresholds x 5 million targets)
    counts = np.zeros(ns * nk * nt, dtype=np.int32)
    near = np.full(ns * nt, np.inf) if return_nearest else np.zeros(0)

    def result():
        c = counts.reshape(ns, nk, nt)
        if not return_nearest:
            return c
        d = near.reshape(ns, nt)
        d[:, ~targets.snapped] = np.nan
        return c, d

    if ns == 0 or targets.item.size == 0:
        return result()
    cutoff = float(thr.max())
    allsrc, group = _concat(sets)
    src_items = np.flatnonzero(allsrc.snapped)
    if src_items.size == 0:
        return result()
    if _use_compiled(kernel, src_items.size):
        _counts_compiled(network, allsrc, group, src_items, targets, cutoff, thr, counts,
                         near, ns, nk, nt, return_nearest, tile_workers(workers))
        return result()
    index = _TargetIndex(network.n_nodes, allsrc, targets, cutoff)
    lock = threading.Lock()

    def consume(batch, d, nodes) -> None:
        row, tgt, cost = index.pairs(batch, d, nodes, cutoff)
        if not row.size:
            return
        base = group[batch[row]] * (nk * nt) + tgt
        idx = [base[cost <= t] + j * nt for j, t in enumerate(thr)]
        flat = np.concatenate(idx)
        ones = np.ones(flat.size, dtype=np.int32)  # an array, not the scalar 1: numpy's
        with lock:                                  # fast path for ufunc.at
            np.add.at(counts, flat, ones)
            if return_nearest:
                np.minimum.at(near, group[batch[row]] * nt + tgt, cost)

    use = use_tiles(network, tiled)
    _batches(network, allsrc, src_items, cutoff, batch_size, use, tile_workers(workers), consume)
    return result()


def _concat(sets: list[Attachments]) -> tuple[Attachments, np.ndarray]:
    """Source sets as one :class:`Attachments` (items renumbered in order) and each item's set."""
    att, starts = concat_attachments(sets)
    return att, np.repeat(np.arange(len(sets)), np.diff(starts))


def _use_compiled(kernel: str | None, n_sources: int) -> bool:
    if kernel not in (None, "compiled", "csgraph"):
        raise ValueError(f"kernel must be None, 'compiled' or 'csgraph', not {kernel!r}")
    if kernel == "compiled" and not compiled_available():
        raise RuntimeError("kernel='compiled' needs numba; install it with "
                           "pip install \"socialrisk[fast]\" (or pip install numba)")
    if kernel is None:
        return (is_compiled() or n_sources >= COMPILED_MIN_SOURCES) and compiled_available()
    return kernel == "compiled"


def _check_for_kernel(*atts: Attachments) -> None:
    """Refuse what the compiled kernel cannot take (it has no bounds checks): item positions
    outside ``0 .. n_items - 1`` or unsorted, negative nodes, and offsets that are negative
    or not finite (the network's lengths: :func:`_kernel_network`)."""
    for att in atts:
        item = att.item
        if item.size and (item[0] < 0 or item[-1] >= att.n_items or np.any(item[1:] < item[:-1])
                          or att.node.min() < 0):
            raise ValueError("attachments must have sorted item positions below n_items and "
                             "node positions >= 0")
        if not (np.all(np.isfinite(att.offset)) and np.all(att.offset >= 0)):
            raise ValueError("attachment offsets must be finite distances >= 0")


def _kernel_network(network: WalkNetwork) -> tuple[np.ndarray, sparse.csr_matrix]:
    """The network renumbered in :func:`~risk.kernel.spatial_order`: (new position of every
    node, CSR matrix in the new numbering), kept on the network for later searches.
    Refuses negative or non-finite edge lengths (the kernel's heap is sized for >= 0)."""
    cached = getattr(network, "_engine_kernel_network", None)
    if cached is None:
        if not (np.all(np.isfinite(network.length)) and np.all(network.length >= 0)):
            raise ValueError("the network has negative or non-finite edge lengths")
        order = spatial_order(network.x, network.y)
        new = np.empty(network.n_nodes, dtype=np.int64)
        new[order] = np.arange(network.n_nodes)
        cached = (new, edges_to_csr(new[network.u], new[network.v], network.length,
                                    network.n_nodes))
        object.__setattr__(network, "_engine_kernel_network", cached)
    return cached


def _counts_compiled(network: WalkNetwork, allsrc: Attachments, group: np.ndarray,
                     src_items: np.ndarray, targets: Attachments, cutoff: float,
                     thr: np.ndarray, counts: np.ndarray, near: np.ndarray, ns: int, nk: int,
                     nt: int, return_nearest: bool, workers: int) -> None:
    """:func:`counts_within` with the compiled kernel (fills ``counts`` and ``near``).

    The kernel searches the network in its spatial numbering; attachments are renumbered
    to it (edges keep their positions, so same-edge pairs are unchanged).
    """
    new, csr = _kernel_network(network)
    _check_for_kernel(allsrc, targets)
    allsrc = dataclasses.replace(allsrc, node=new[allsrc.node])
    index = _TargetIndex(network.n_nodes, allsrc, dataclasses.replace(
        targets, node=new[targets.node]), cutoff)
    n_items = allsrc.n_items
    ends = np.arange(n_items + 1)
    s_first = np.searchsorted(allsrc.item, ends).astype(np.int64)
    d_first = np.searchsorted(index.d_src, ends).astype(np.int64)
    # by set, then by position of the first attachment (neighbours share cache lines)
    order = np.lexsort((allsrc.node[s_first[src_items]], group[src_items]))
    items = src_items[order].astype(np.int64, copy=False)
    count_within_compiled(
        csr, items, group[items], s_first,
        allsrc.node.astype(np.int64, copy=False), allsrc.offset.astype(np.float64, copy=False),
        index.first,
        index.item.astype(np.int64, copy=False), index.off.astype(np.float64, copy=False),
        d_first, index.d_tgt, index.d_cost, cutoff, thr, counts.reshape(ns, nk, nt),
        near.reshape(ns, nt) if return_nearest else None, index.single, workers)
