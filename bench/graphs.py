"""Synthetic planar street-like walking networks for scale benchmarks.

Everything made here is **synthetic**: generated street grids and generated
amenity positions, used only to measure how the engines scale past the real
Isle of Wight network. They are never presented as data about a place.

The street model mimics an unsimplified OSM walking network (the form
:func:`geo.pbf.network_from_pbf` returns): junctions on a jittered
square grid (``spacing`` metres apart), a share of the street segments removed
(dead ends, blocks of different sizes), and every remaining street split into
short straight pieces by degree-2 "shape" nodes with a small sideways wiggle, so
most nodes have degree 2 as in OSM. Edge lengths are the straight-line lengths
of the pieces in metres, exactly as :func:`~socialrisk.core.network.network_from_edges`
measures them. Only the largest connected component is kept.

With the defaults (100 m junction spacing, 20 % of segments removed, pieces of
at most 30 m) there are about 5.8 nodes per junction and 1.1 edges per node (the
Isle of Wight network of 2020-04-22 has 76,524 nodes and 81,907 edges: 1.07).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from socialrisk.core.network import WalkNetwork

#: nodes generated per grid junction with the default parameters (measured; used for sizing)
NODES_PER_JUNCTION = 5.55


def synthetic_street_network(n_nodes: int, seed: int = 0, spacing: float = 100.0,
                             drop: float = 0.2, piece: float = 30.0,
                             jitter: float = 0.2, wiggle: float = 3.0) -> WalkNetwork:
    """A synthetic planar street-like :class:`WalkNetwork` of about ``n_nodes`` nodes.

    Parameters
    ----------
    n_nodes : int
        Approximate number of nodes wanted (the result is within a few percent).
    seed : int
        Random seed; the same arguments give the same network.
    spacing : float
        Distance between grid junctions in metres.
    drop : float
        Share of street segments (junction to junction) removed.
    piece : float
        Longest straight piece of a street in metres (shape nodes in between).
    jitter : float
        Junction displacement as a share of ``spacing`` (uniform, each axis);
        below 0.25 streets of neighbouring junctions cannot cross.
    wiggle : float
        Sideways displacement of shape nodes in metres (uniform).

    Returns
    -------
    WalkNetwork
        ``crs`` is ``"synthetic metres"`` (a plain metric plane, no real place);
        ``node_id`` is the position.
    """
    if not 0 <= jitter < 0.25:
        raise ValueError("jitter must be in [0, 0.25) for the grid to stay planar")
    rng = np.random.default_rng(seed)
    side = max(2, int(round(np.sqrt(n_nodes / NODES_PER_JUNCTION))))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    jx = ii.ravel() * spacing + rng.uniform(-jitter, jitter, side * side) * spacing
    jy = jj.ravel() * spacing + rng.uniform(-jitter, jitter, side * side) * spacing
    idx = (ii * side + jj)
    seg = np.vstack([np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
                     np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()])])
    seg = seg[rng.random(len(seg)) >= drop]
    a, b = seg[:, 0], seg[:, 1]
    seg_len = np.hypot(jx[b] - jx[a], jy[b] - jy[a])
    k = np.maximum(1, np.ceil(seg_len / piece).astype(np.int64))  # pieces per street
    # shape nodes: k - 1 per street, evenly spaced, wiggled sideways
    n_shape = int((k - 1).sum())
    street = np.repeat(np.arange(len(seg)), k - 1)
    step = np.arange(n_shape) - np.repeat(np.cumsum(k - 1) - (k - 1), k - 1) + 1
    t = step / k[street]
    dx, dy = jx[b] - jx[a], jy[b] - jy[a]
    nx_, ny_ = -dy / seg_len, dx / seg_len
    w = rng.uniform(-wiggle, wiggle, n_shape)
    sx = jx[a][street] + t * dx[street] + w * nx_[street]
    sy = jy[a][street] + t * dy[street] + w * ny_[street]
    x = np.concatenate([jx, sx])
    y = np.concatenate([jy, sy])
    # chain of node ids per street: a, shape..., b
    shape_ids = side * side + np.arange(n_shape)
    first_shape = np.cumsum(k - 1) - (k - 1)
    starts = np.repeat(np.cumsum(k) - k, k)
    pos = np.arange(int(k.sum())) - starts  # piece index within its street
    st = np.repeat(np.arange(len(seg)), k)
    kk = k[st]
    u = np.where(pos == 0, a[st], shape_ids[np.minimum(first_shape[st] + pos - 1,
                                                        max(n_shape - 1, 0))])
    v = np.where(pos == kk - 1, b[st], shape_ids[np.minimum(first_shape[st] + pos,
                                                             max(n_shape - 1, 0))])
    n = x.size
    # keep the largest connected component (as network_from_edges does)
    adj = sparse.csr_matrix((np.ones(u.size), (u, v)), shape=(n, n))
    _, labels = csgraph.connected_components(adj, directed=False)
    used = np.zeros(n, dtype=bool)
    used[u] = True
    used[v] = True
    sizes = np.bincount(labels[used])
    keep = used & (labels == np.argmax(sizes))
    new = np.full(n, -1, dtype=np.int64)
    new[keep] = np.arange(int(keep.sum()))
    e_ok = keep[u] & keep[v]
    u, v = new[u[e_ok]], new[v[e_ok]]
    x, y = x[keep], y[keep]
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    return WalkNetwork(node_id=np.arange(x.size, dtype=np.int64), x=x, y=y, u=u, v=v,
                       length=length, crs="synthetic metres",
                       dropped_nodes=int(n - keep.sum()))


def synthetic_sources(network: WalkNetwork, per_category: dict[str, int],
                      seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic amenity positions: for each category, that many distinct random nodes.

    Parameters
    ----------
    network : WalkNetwork
    per_category : dict of str to int
        Number of amenities wanted per category (e.g. real Isle of Wight counts
        scaled by the node ratio).
    seed : int

    Returns
    -------
    dict of str to ndarray of int64
        Node positions per category (synthetic, uniform over the network's nodes).
    """
    rng = np.random.default_rng(seed)
    return {cat: np.sort(rng.choice(network.n_nodes, min(int(k), network.n_nodes),
                                    replace=False)).astype(np.int64)
            for cat, k in per_category.items()}
