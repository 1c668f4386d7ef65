"""The compact walking network shared by every source (PBF, Overpass) and the engine.

A :class:`WalkNetwork` is a plain, immutable set of numpy arrays: node
coordinates in a projected CRS (metres) and undirected edges with their length
in metres. Sources build one with :func:`network_from_edges`; the access engine
(``risk.engine``) turns it into a sparse matrix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pyproj
from scipy import sparse
from scipy.sparse import csgraph

from socialrisk.core.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WalkNetwork:
    """An undirected walking network.

    Attributes
    ----------
    node_id : ndarray of int64, shape (n,)
        Source identifiers of the nodes (OSM node ids for OSM networks).
    x, y : ndarray of float64, shape (n,)
        Node coordinates in ``crs`` (projected, metres).
    u, v : ndarray of int64, shape (m,)
        Edge end points as positions into the node arrays (not ids).
    length : ndarray of float64, shape (m,)
        Edge lengths in metres (> 0).
    crs : str
        The projected CRS of ``x``/``y`` (e.g. ``"EPSG:27700"``).
    dropped_nodes : int
        Nodes removed when the network was built (disconnected fragments).
    """

    node_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    crs: str
    dropped_nodes: int = 0
    _csr: sparse.csr_matrix | None = field(default=None, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        return int(self.node_id.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.u.shape[0])

    def csr(self) -> sparse.csr_matrix:
        """Symmetric sparse adjacency matrix of edge lengths (cached)."""
        if self._csr is None:
            mat = edges_to_csr(self.u, self.v, self.length, self.n_nodes)
            object.__setattr__(self, "_csr", mat)
        return self._csr


def edges_to_csr(u: np.ndarray, v: np.ndarray, length: np.ndarray,
                 n: int) -> sparse.csr_matrix:
    """Symmetric CSR matrix of edge lengths; of parallel edges the shortest is kept.

    scipy assembles the matrix by counting (no global sort; 0.07 s for 1M nodes
    against 0.8 s for a lexsort), summing parallel edges; the few entries that
    had parallel edges are then set to the shortest of them. Zero lengths stay
    explicit entries (they connect).
    """
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    data = np.concatenate([length, length]).astype(np.float64)
    mat = sparse.csr_matrix((data, (rows, cols)), shape=(n, n))  # parallel edges summed
    cnt = sparse.csr_matrix((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(n, n))
    dup = np.flatnonzero(cnt.data > 1)  # same canonical layout as ``mat``
    if dup.size:
        r = np.searchsorted(mat.indptr, dup, side="right") - 1
        key_dup = r.astype(np.int64) * n + mat.indices[dup]
        mark = np.zeros(n, dtype=bool)
        mark[r] = True
        cand = np.flatnonzero(mark[rows])  # the entries of rows with parallel edges
        key = rows[cand].astype(np.int64) * n + cols[cand]
        order = np.lexsort((data[cand], key))
        key, shortest = key[order], data[cand][order]
        first = np.r_[True, key[1:] != key[:-1]]
        mat.data[dup] = shortest[first][np.searchsorted(key[first], key_dup)]
    return mat


def network_from_edges(
    node_id: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    edge_u_id: np.ndarray,
    edge_v_id: np.ndarray,
    crs: str,
    keep: str = "largest",
) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from nodes in WGS84 and edges given by node ids.

    Parameters
    ----------
    node_id, lon, lat : array-like
        Nodes and their WGS84 coordinates.
    edge_u_id, edge_v_id : array-like
        Edges as pairs of node ids (consecutive nodes of a way). Self-loops are dropped.
    crs : str
        Projected CRS (metres) to store coordinates in; lengths are measured in it.
    keep : {"largest", "all"}
        ``"largest"`` keeps only the largest connected component (as osmnx does
        with ``retain_all=False``), so that nothing snaps to an unreachable fragment;
        the number of dropped nodes is kept in ``dropped_nodes``.

    Returns
    -------
    WalkNetwork
    """
    node_id = np.asarray(node_id, dtype=np.int64)
    if node_id.size == 0 or len(edge_u_id) == 0:
        raise InputError("the walking network is empty: no walkable ways in the input; "
                         "check that the OSM extract covers the study area")
    transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = transformer.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    order = np.argsort(node_id)
    sorted_ids = node_id[order]
    u = order[np.searchsorted(sorted_ids, np.asarray(edge_u_id, dtype=np.int64))]
    v = order[np.searchsorted(sorted_ids, np.asarray(edge_v_id, dtype=np.int64))]
    ok = u != v
    u, v = u[ok], v[ok]
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    # keep only nodes used by an edge
    used = np.zeros(node_id.size, dtype=bool)
    used[u] = True
    used[v] = True
    dropped = int((~used).sum())
    if keep == "largest":
        mat = edges_to_csr(u, v, np.maximum(length, 1e-9), node_id.size)
        _, labels = csgraph.connected_components(mat, directed=False)
        sizes = np.bincount(labels[used])
        big = np.argmax(sizes) if sizes.size else 0
        in_big = labels == big
        dropped += int((used & ~in_big).sum())
        used &= in_big
    elif keep != "all":
        raise ValueError(f"keep must be 'largest' or 'all', not {keep!r}")
    new_index = np.full(node_id.size, -1, dtype=np.int64)
    new_index[used] = np.arange(int(used.sum()))
    e_ok = used[u] & used[v]
    if dropped:
        log.debug("network: dropped %d nodes outside the largest connected component", dropped)
    return WalkNetwork(
        node_id=node_id[used],
        x=np.asarray(x)[used],
        y=np.asarray(y)[used],
        u=new_index[u[e_ok]],
        v=new_index[v[e_ok]],
        length=length[e_ok],
        crs=crs,
        dropped_nodes=dropped,
    )


@dataclass(frozen=True)
class Attachments:
    """How items are attached to network nodes.

    Per attachment (one item has 0, 1, 2 or more attachments):

    Attributes
    ----------
    item : ndarray of int64, shape (k,)
        Item position (0 .. n_items-1) the attachment belongs to. Sorted.
    node : ndarray of int64, shape (k,)
        Network node position.
    offset : ndarray of float64, shape (k,)
        Walking distance in metres from the item to ``node`` (snap + along the edge).
    edge : ndarray of int64, shape (k,)
        Network edge position the item was snapped onto, or -1 when the item is
        attached to the node directly (edge-access polygons).
    along : ndarray of float64, shape (k,)
        Position of the snapped point along ``edge`` in metres from its ``u``
        end (NaN when ``edge`` is -1). Used for exact paths between two items on
        the same edge.

    Per item:

    snap_m : ndarray of float64, shape (n_items,)
        Straight-line distance from the item to the network (the smallest offset
        for edge-access polygons); NaN when unsnapped.
    snapped : ndarray of bool, shape (n_items,)
        Whether the item has at least one attachment.
    """

    item: np.ndarray
    node: np.ndarray
    offset: np.ndarray
    edge: np.ndarray
    along: np.ndarray
    snap_m: np.ndarray
    snapped: np.ndarray

    @property
    def n_items(self) -> int:
        return int(self.snapped.shape[0])

    @property
    def n_unsnapped(self) -> int:
        return int((~self.snapped).sum())

    def select(self, items: np.ndarray) -> Attachments:
        """Attachments of a subset of items, renumbered 0 .. len(items)-1 in the given order.

        Parameters
        ----------
        items : array of int or bool
            Item positions (or a boolean mask of length ``n_items``).
        """
        items = np.asarray(items)
        if items.dtype == bool:
            if items.shape[0] != self.n_items:
                raise ValueError("boolean mask must have one value per item")
            items = np.flatnonzero(items)
        items = items.astype(np.int64)
        new_pos = np.full(self.n_items, -1, dtype=np.int64)
        new_pos[items] = np.arange(items.shape[0])
        if np.unique(items).shape[0] != items.shape[0]:
            raise ValueError("items must not repeat")
        new_item = new_pos[self.item]
        keep = new_item >= 0
        order = np.argsort(new_item[keep], kind="stable")
        return Attachments(
            item=new_item[keep][order],
            node=self.node[keep][order],
            offset=self.offset[keep][order],
            edge=self.edge[keep][order],
            along=self.along[keep][order],
            snap_m=self.snap_m[items],
            snapped=self.snapped[items],
        )


def concat_attachments(parts: list[Attachments]) -> tuple[Attachments, np.ndarray]:
    """Several attachment sets as one, items numbered one set after the other.

    Returns
    -------
    merged : Attachments
    starts : ndarray of int64, shape (len(parts) + 1,)
        Set ``i``'s items are ``starts[i] .. starts[i + 1] - 1`` of ``merged``.
    """
    starts = np.concatenate([[0], np.cumsum([p.n_items for p in parts])]).astype(np.int64)
    merged = Attachments(
        item=np.concatenate([p.item + s for p, s in zip(parts, starts[:-1], strict=True)]
                            or [np.zeros(0, np.int64)]).astype(np.int64),
        node=np.concatenate([p.node for p in parts] or [np.zeros(0, np.int64)]),
        offset=np.concatenate([p.offset for p in parts] or [np.zeros(0)]),
        edge=np.concatenate([p.edge for p in parts] or [np.zeros(0, np.int64)]),
        along=np.concatenate([p.along for p in parts] or [np.zeros(0)]),
        snap_m=np.concatenate([p.snap_m for p in parts] or [np.zeros(0)]),
        snapped=np.concatenate([p.snapped for p in parts] or [np.zeros(0, bool)]),
    )
    return merged, starts
