"""Bounded Dijkstra, counts and nearest distances in one compiled loop (numba), off the GIL.

numba is optional (``pip install "socialrisk[fast]"``); without it
:func:`~risk.engine.counts_within` uses scipy's Dijkstra with the same results.

:func:`~risk.engine.counts_within` on large networks spends most of its time
outside the shortest-path search itself: scipy's ``csgraph.dijkstra``
initialises a dense row per source, the rows are then read back for the target
nodes, and the pairs found are accumulated with ``np.add.at`` under a lock, so
two threads give about 1.3x. Here one function compiled with numba
(``nogil=True``) does it all per source item:

1. a binary-heap Dijkstra (lazy deletion) from the source's attachments
   (offsets as start distances), up to ``cutoff``, on the whole network CSR. Per-worker scratch
   arrays are marked with a *stamp* per source, so nothing is re-initialised and
   the cost follows the nodes reached, not the network size;
2. every target attachment on a settled node gives ``d[node] + offset``; the
   smallest per target item is kept, then the same-edge direct pairs (see
   :mod:`risk.engine`) are taken into account;
3. each target item within a threshold is counted, and its nearest distance of
   the source's set lowered.

Distances are the same float64 sums as csgraph's (``d[u] + w`` relaxed from
settled nodes only), so results are identical, which the tests check against
the csgraph path and networkx.

Threads: source items are sorted by set and split into one contiguous part per
worker. A set that lies wholly in one part is written in place; a set split
between parts is counted in a private buffer and added under a lock. So
workers never write the same cell at once, and two cores give close to 2x.

numba compiles the function on first use in each process (about 1.1 s; its
on-disk cache is not used, as it loads pickles), so :mod:`risk.engine` uses
this kernel by default only for large searches (``COMPILED_MIN_SOURCES``) or
once it is compiled in the process.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: searches from at least this many source items use the compiled kernel by default: below,
#: compiling (about 1.1 s once per process) costs more than it saves (measured: 10,306 sources
#: on 300k nodes take 1.35 s with csgraph; 34,489 on 1M nodes 5.7 s, against 2.7 s compiled)
COMPILED_MIN_SOURCES = 20_000

_lock = threading.Lock()
_compiled = None


def compiled_available() -> bool:
    """Whether numba can be imported (it is a dependency; a broken install says so)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def is_compiled() -> bool:
    """Whether the kernel has been compiled in this process already (then it costs nothing)."""
    return bool(getattr(_compiled, "signatures", ()))  # NUMBA_DISABLE_JIT: a plain function


def _kernel():
    """The compiled kernel, compiled on first use (thread-safe)."""
    global _compiled
    with _lock:
        if _compiled is None:
            import numba

            _compiled = numba.njit(nogil=True, cache=False, fastmath=False)(_count_sources)
    return _compiled


def _count_sources(items, groups, indptr, indices, weights, s_first, s_node, s_off,
                   t_first, t_item, t_off, d_first, d_tgt, d_cost, cutoff, thr,
                   counts, near, do_near, single, group_base, dist, seen, heap_d, heap_n,
                   best, tseen, touched, stamp):
    """Count the target items within each threshold of every source in ``items``.

    ``counts[g - group_base, j, t]`` and (with ``do_near``) ``near[g - group_base, t]`` are
    updated for the source's set ``g = groups[k]``. ``single``: every target item has one
    attachment. Returns the last stamp used, or -1 if the heap would overflow.

    Dijkstra with a binary heap and lazy deletion: a node is pushed again when its
    distance drops, and an entry popped with more than the node's distance is stale.
    ``dist[v]`` is valid while ``seen[v] == stamp``.
    """
    nthr = thr.shape[0]
    for k in range(items.shape[0]):
        s = items[k]
        g = groups[k] - group_base
        stamp += 1
        size = 0
        ntouch = 0
        # one attachment per target and no same-edge pair from this source: count on settling
        direct = single and d_first[s] == d_first[s + 1]
        u = -1  # first the source itself, whose attachments are its edges
        du = 0.0
        while True:
            # targets reached: the source's same-edge pairs (costs within the cutoff), then
            # the targets on each settled node
            if u < 0:
                lo, hi = s_first[s], s_first[s + 1]
                t_lo, t_hi = d_first[s], d_first[s + 1]
            else:
                lo, hi = indptr[u], indptr[u + 1]
                t_lo, t_hi = t_first[u], t_first[u + 1]
            for a in range(t_lo, t_hi):
                if u < 0:
                    t = d_tgt[a]
                    cost = d_cost[a]
                else:
                    t = t_item[a]
                    cost = du + t_off[a]
                if cost > cutoff:
                    continue
                if direct:  # the target's only way in: its cost is final, count it now
                    for j in range(nthr):
                        if cost <= thr[j]:
                            counts[g, j, t] += 1
                    if do_near and cost < near[g, t]:
                        near[g, t] = cost
                elif tseen[t] != stamp:
                    tseen[t] = stamp
                    best[t] = cost
                    touched[ntouch] = t
                    ntouch += 1
                elif cost < best[t]:
                    best[t] = cost
            for e in range(lo, hi):  # relax the edges
                if u < 0:
                    v = s_node[e]
                    nd = s_off[e]
                else:
                    v = indices[e]
                    nd = du + weights[e]
                if nd > cutoff or (seen[v] == stamp and nd >= dist[v]):
                    continue
                if size >= heap_d.shape[0]:
                    return -1  # only with negative lengths (the caller checks them first)
                seen[v] = stamp
                dist[v] = nd
                i = size
                size += 1
                while i > 0:  # sift up
                    p = (i - 1) >> 1
                    if heap_d[p] <= nd:
                        break
                    heap_d[i] = heap_d[p]
                    heap_n[i] = heap_n[p]
                    i = p
                heap_d[i] = nd
                heap_n[i] = v
            u = -1  # the next node to settle: pop until an entry is current
            while size > 0:
                pn = heap_n[0]
                pd = heap_d[0]
                size -= 1
                if size > 0:  # move the last entry to the root and sift down
                    ld = heap_d[size]
                    ln = heap_n[size]
                    i = 0
                    while True:
                        c = 2 * i + 1
                        if c >= size:
                            break
                        if c + 1 < size and heap_d[c + 1] < heap_d[c]:
                            c += 1
                        if heap_d[c] >= ld:
                            break
                        heap_d[i] = heap_d[c]
                        heap_n[i] = heap_n[c]
                        i = c
                    heap_d[i] = ld
                    heap_n[i] = ln
                if pd <= dist[pn]:  # a stale entry carries more than the node's distance
                    u = pn
                    du = pd
                    break
            if u < 0:
                break
        for i in range(ntouch):
            t = touched[i]
            cost = best[t]
            for j in range(nthr):
                if cost <= thr[j]:
                    counts[g, j, t] += 1
            if do_near and cost < near[g, t]:
                near[g, t] = cost
    return stamp


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """The 16 low bits of ``v`` spread to the even bit positions (for a Morton code)."""
    v = v.astype(np.uint64) & np.uint64(0xFFFF)
    for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def spatial_order(x: np.ndarray, y: np.ndarray, cell_m: float = 50.0) -> np.ndarray:
    """Node positions in Z-order (Morton) of ``cell_m`` squares: neighbours end up close.

    A bounded search touches the nodes around its source; numbered in this order they
    share cache lines (measured: 1M-node synthetic graph 4.5 s against 5.2 s as built and
    16 s in random order; the Isle of Wight's OSM-id order 0.31 s against 0.26 s).
    Cells grow beyond ``cell_m`` when the extent needs more than 65,536 of them a side.
    """
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    extent = max(float(np.ptp(x)), float(np.ptp(y)))
    cell = max(cell_m, extent / 65_535.0)
    cx = (x - x.min()) // cell
    cy = (y - y.min()) // cell
    return np.argsort(_spread_bits(cx) | (_spread_bits(cy) << np.uint64(1)), kind="stable")


def _parts(groups: np.ndarray, workers: int) -> list[tuple[int, int]]:
    """``workers`` contiguous slices of the (set-sorted) source list, of equal length."""
    bounds = np.linspace(0, groups.size, workers + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def count_within_compiled(csr, items: np.ndarray, groups: np.ndarray, s_first: np.ndarray,
                          s_node: np.ndarray, s_off: np.ndarray, t_first: np.ndarray,
                          t_item: np.ndarray, t_off: np.ndarray, d_first: np.ndarray,
                          d_tgt: np.ndarray, d_cost: np.ndarray, cutoff: float,
                          thr: np.ndarray, counts: np.ndarray, near: np.ndarray | None,
                          single: bool, workers: int) -> None:
    """Run the compiled kernel for ``items`` on ``workers`` threads; fills ``counts``/``near``.

    Parameters
    ----------
    csr : scipy.sparse.csr_matrix
        The network (symmetric, edge lengths in metres).
    items, groups : ndarray of int64
        Source items to search from, sorted by their set ``groups``.
    s_first, s_node, s_off : ndarray
        Source attachments: item ``s`` has ``s_node[s_first[s]:s_first[s + 1]]``.
    t_first, t_item, t_off : ndarray
        Target attachments grouped by node: node ``u`` holds ``t_first[u]:t_first[u + 1]``.
    d_first, d_tgt, d_cost : ndarray
        Same-edge direct pairs grouped by source item (costs within ``cutoff``).
    cutoff : float
    thr : ndarray of float64
        Thresholds (``cutoff`` is the largest).
    counts : ndarray of int32, shape (n_sets, len(thr), n_targets)
    near : ndarray of float64, shape (n_sets, n_targets), or None
        Updated in place; None: nearest distances are not wanted.
    single : bool
        Every target item has exactly one attachment.
    workers : int
        Threads.
    """
    kernel = _kernel()
    do_near = near is not None
    if near is None:
        near = np.zeros((counts.shape[0], 1))
    n = csr.shape[0]
    nt = counts.shape[2]
    indptr, indices = csr.indptr, csr.indices  # int32 up to 2**31 edges, else int64
    weights = np.asarray(csr.data, dtype=np.float64)
    # node and target positions fit int32 scratch arrays (half the memory traffic of int64)
    ix = np.int32 if max(n, nt) < 2**31 - 1 and items.size < 2**31 - 1 else np.int64
    parts = _parts(groups, max(1, workers))
    owner: dict[int, set[int]] = {}
    for w, (a, b) in enumerate(parts):
        for g in np.unique(groups[a:b]):
            owner.setdefault(int(g), set()).add(w)
    merge = threading.Lock()
    # heap entries: at most one push per improving relaxation (pages are allocated as used)
    cap = indices.size + int(np.diff(s_first).max(initial=0)) + 1

    def run(w: int) -> None:
        a, b = parts[w]
        # scratch, valid where seen / tseen hold the current source's stamp; np.empty
        # and np.zeros leave untouched pages unallocated, so the heap costs what it holds
        dist = np.empty(n, dtype=np.float64)
        seen = np.zeros(n, dtype=ix)
        heap_d = np.empty(cap, dtype=np.float64)
        heap_n = np.empty(cap, dtype=ix)
        best = np.empty(nt, dtype=np.float64)
        tseen = np.zeros(nt, dtype=ix)
        touched = np.empty(nt, dtype=ix)
        stamp = 0
        cuts = np.flatnonzero(np.r_[True, groups[a + 1:b] != groups[a:b - 1], True]) + a
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            g = int(groups[lo])
            shared = len(owner[g]) > 1
            if shared:
                c_out = np.zeros((1, *counts.shape[1:]), dtype=counts.dtype)
                n_out = np.full((1, nt if do_near else 1), np.inf)
                base = g
            else:
                c_out, n_out, base = counts, near, 0
            stamp = kernel(items[lo:hi], groups[lo:hi], indptr, indices, weights, s_first,
                           s_node, s_off, t_first, t_item, t_off, d_first, d_tgt, d_cost,
                           float(cutoff), thr, c_out, n_out, do_near, single, base, dist,
                           seen, heap_d, heap_n, best, tseen, touched, stamp)
            if stamp < 0:
                raise RuntimeError("the compiled search outgrew its heap: are all lengths >= 0?")
            if shared:
                with merge:
                    counts[g] += c_out[0]
                    if do_near:
                        np.minimum(near[g], n_out[0], out=near[g])

    if len(parts) == 1:
        run(0)
        return
    with ThreadPoolExecutor(len(parts)) as ex:
        for _ in ex.map(run, range(len(parts))):
            pass
