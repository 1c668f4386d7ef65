"""Network distances between attached items, with ``scipy.sparse.csgraph.dijkstra``.

Sources and targets are :class:`~socialrisk.geo.snap.Attachments`. Every source
item becomes one *virtual node* joined to its attachment nodes by directed
edges (virtual node -> network node) weighted by the snap offsets, so paths
start exactly at the item and can never pass through another item's virtual
node. A target's distance is the minimum over its attachments of
``d[node] + offset``.

Two items snapped onto the *same edge* can also walk along that edge directly,
without reaching either end node; this path (``snap_s + |along_s - along_t| +
snap_t``) is added exactly, so distances are exact shortest paths of the
snapping model (walk straight to the nearest edge, then along the network).

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

import logging

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from socialrisk.geo.network import WalkNetwork
from socialrisk.geo.snap import Attachments

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


def distances_within(network: WalkNetwork, sources: Attachments, targets: Attachments,
                     cutoff: float, batch_size: int | None = None) -> pd.DataFrame:
    """Every (source item, target item) pair within ``cutoff`` metres on the network.

    This is the *cost table* used for counts, gravity sums and 2SFCA. Sources
    are processed in batches (Dijkstra with ``limit=cutoff``); only the target
    attachment nodes are read from each batch, so memory stays bounded by
    ``BATCH_BYTES`` plus the pairs found.

    Parameters
    ----------
    network : WalkNetwork
    sources, targets : Attachments
    cutoff : float
        Largest cost kept, in metres (inclusive). Must be finite.
    batch_size : int, optional
        Sources per Dijkstra call; by default as many as fit in ``BATCH_BYTES``.

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
    n = network.n_nodes
    empty = pd.DataFrame({"source": np.zeros(0, np.int64), "target": np.zeros(0, np.int64),
                          "cost": np.zeros(0)})
    src_items = np.flatnonzero(sources.snapped)
    if src_items.size == 0 or targets.item.size == 0:
        return empty
    graph = augmented_graph(network, sources)
    nt = targets.n_items
    # target attachments grouped by node: node -> attachments[first[node]:first[node+1]]
    by_node = np.argsort(targets.node, kind="stable")
    a_item = targets.item[by_node]
    a_off = targets.offset[by_node]
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(targets.node, minlength=n), out=first[1:])
    has_target = first[1:] > first[:-1]
    if batch_size is None:
        batch_size = max(1, int(BATCH_BYTES // (9 * graph.shape[0])))
    # same-edge direct paths, sorted by source so each batch takes a slice
    direct = _same_edge_pairs(sources, targets)
    direct = direct[direct["cost"] <= cutoff].sort_values("source", kind="stable")
    d_src = direct["source"].to_numpy(np.int64)
    d_tgt = direct["target"].to_numpy(np.int64)
    d_cost = direct["cost"].to_numpy(np.float64)
    frames = []
    for b in range(0, src_items.size, batch_size):
        batch = src_items[b:b + batch_size]
        d = csgraph.dijkstra(graph, directed=True, indices=n + batch, limit=cutoff)[:, :n]
        reached = d <= cutoff
        reached &= has_target[None, :]
        r, nd = np.nonzero(reached)
        # expand every reached node into its target attachments
        cnt = first[nd + 1] - first[nd]
        rep = np.repeat(np.arange(r.size), cnt)
        att = np.repeat(first[nd], cnt) + (np.arange(rep.size) - np.repeat(np.cumsum(cnt) - cnt,
                                                                              cnt))
        cost = d[r, nd][rep] + a_off[att]
        row = r[rep]
        tgt = a_item[att]
        lo, hi = np.searchsorted(d_src, [batch[0], batch[-1] + 1])
        if hi > lo:
            row = np.concatenate([row, np.searchsorted(batch, d_src[lo:hi])])
            tgt = np.concatenate([tgt, d_tgt[lo:hi]])
            cost = np.concatenate([cost, d_cost[lo:hi]])
        ok = cost <= cutoff
        if not ok.any():
            continue
        row, tgt, cost = row[ok], tgt[ok], cost[ok]
        # smallest cost per (source, target) pair, in (source, target) order
        key = row.astype(np.int64) * nt + tgt
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        frames.append(pd.DataFrame({"source": batch[row[order[starts]]].astype(np.int64),
                                    "target": tgt[order[starts]].astype(np.int64),
                                    "cost": np.minimum.reduceat(cost[order], starts)}))
    if not frames:
        return empty
    out = pd.concat(frames, ignore_index=True)
    log.debug("distances_within: %d pairs within %g m", len(out), cutoff)
    return out
