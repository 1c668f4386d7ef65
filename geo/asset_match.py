"""Combining local asset lists with OpenStreetMap: matching by place and name, and the modes.

:func:`apply_asset_lists` is the pipeline's step (replace, add or merge, list by
list); :func:`match_places` finds which list items OSM already has.

A list item and an OSM feature of the same category are one place when the
feature lies within ``match_m`` metres of the item (distance to a polygon is 0
inside it) and their names are similar (:func:`name_similarity` at least
``min_similarity``), or one of them has no name. Each item matches at most one
feature and each feature at most one item: the most similar, then nearest,
pairs are taken first.
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.assets import AssetList, read_asset_list
from geo.taxonomy import Category
from socialrisk.core import schema
from socialrisk.core.errors import InputError

log = logging.getLogger(__name__)

#: words that say what kind of place it is, not which one (dropped before comparing names)
GENERIC_WORDS = frozenset({
    "the", "and", "of", "at", "for", "in", "on",
    "school", "schools", "primary", "secondary", "academy", "infant", "infants", "junior",
    "juniors", "first", "nursery", "college", "community", "foundation", "federation",
    "ce", "cofe", "c", "e", "church", "england", "aided", "controlled", "voluntary", "va",
    "vc", "catholic", "rc", "roman", "methodist", "free",
    "centre", "center", "hall", "village", "club", "group", "surgery", "practice", "medical",
    "health", "library", "pharmacy", "chemist", "post", "office", "park", "garden", "gardens",
})

_ABBREVIATIONS = (
    (re.compile(r"\bchurch of england\b"), " ce "),
    (re.compile(r"\bc of e\b"), " ce "),
    (re.compile(r"\bst\b\.?"), " saint "),
    (re.compile(r"&"), " and "),
)


def normalise_name(name: object) -> str:
    """Lower case, accents and punctuation removed, common abbreviations spelt one way.

    Examples
    --------
    >>> normalise_name("St. Mary's C of E Primary School")
    'saint marys ce primary school'
    """
    if not isinstance(name, str):
        return ""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = text.replace("'", "").replace("\u2019", "")
    for pattern, repl in _ABBREVIATIONS:
        text = pattern.sub(repl, text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _distinctive(norm: str) -> list[str]:
    words = norm.split()
    kept = [w for w in words if w not in GENERIC_WORDS]
    return kept or words


def name_similarity(a: object, b: object) -> float:
    """How alike two names are, 0 (nothing shared) to 1 (the same), NaN when one is missing.

    Compared after :func:`normalise_name` and without :data:`GENERIC_WORDS`
    (``"Newport CE Aided Primary School"`` and ``"Newport Church of England
    Primary"`` are both ``newport``): the larger of the character similarity
    (:class:`difflib.SequenceMatcher`) of the sorted words and the share of the
    shorter name's words found in the other.

    Examples
    --------
    >>> name_similarity("Newport CE Aided Primary School", "Newport Church of England Primary")
    1.0
    >>> name_similarity("Gurnard Primary School", "Nine Acres Primary School") < 0.6
    True
    """
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return float("nan")
    wa, wb = _distinctive(na), _distinctive(nb)
    chars = difflib.SequenceMatcher(None, " ".join(sorted(wa)), " ".join(sorted(wb))).ratio()
    sa, sb = set(wa), set(wb)
    overlap = len(sa & sb) / min(len(sa), len(sb))
    return float(max(chars, overlap))


@dataclass
class Matches:
    """One-to-one matches between list items and OSM features.

    Attributes
    ----------
    item, feature : ndarray of int
        Positions of matched pairs (in the arrays given to :func:`match_places`).
    distance_m, similarity : ndarray of float
        Of each pair (similarity NaN when a name is missing).
    near_misses : int
        List items left unmatched that had a feature within reach whose name was
        too different (worth a look: a renamed place, or two places side by side).
    """

    item: np.ndarray
    feature: np.ndarray
    distance_m: np.ndarray
    similarity: np.ndarray
    near_misses: int


def match_places(items: np.ndarray, item_names: np.ndarray, features: np.ndarray,
                 feature_names: np.ndarray, match_m: float, min_similarity: float,
                 ) -> Matches:
    """Match list items to features of the same category (both in one projected CRS).

    Parameters
    ----------
    items, features : ndarray of shapely geometries
        In the same projected CRS (metres).
    item_names, feature_names : ndarray of object
        Names (None or NaN when missing).
    match_m : float
        Largest distance between a matched item and feature.
    min_similarity : float
        Smallest :func:`name_similarity` of a matched pair whose names are both known.

    Returns
    -------
    Matches
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(items) == 0 or len(features) == 0:
        return Matches(empty, empty, np.zeros(0), np.zeros(0), 0)
    tree = shapely.STRtree(features)
    pi, pf = tree.query(items, predicate="dwithin", distance=match_m)
    if pi.size == 0:
        return Matches(empty, empty, np.zeros(0), np.zeros(0), 0)
    dist = shapely.distance(items[pi], features[pf])
    sim = np.array([name_similarity(item_names[i], feature_names[f])
                    for i, f in zip(pi, pf, strict=True)], dtype=float)
    ok = np.isnan(sim) | (sim >= min_similarity)
    order = np.lexsort((dist, -np.nan_to_num(sim, nan=min_similarity)))
    used_i: set[int] = set()
    used_f: set[int] = set()
    keep = []
    for k in order:
        if not ok[k] or pi[k] in used_i or pf[k] in used_f:
            continue
        used_i.add(int(pi[k]))
        used_f.add(int(pf[k]))
        keep.append(k)
    keep_arr = np.asarray(keep, dtype=np.int64)
    near = {int(i) for i in pi[~ok]} - used_i
    return Matches(pi[keep_arr].astype(np.int64), pf[keep_arr].astype(np.int64),
                   dist[keep_arr], sim[keep_arr], len(near))


# --------------------------------------------------------------------------- combining


def _with_list_columns(amenities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    am = amenities.copy()
    if schema.AMENITY_SOURCE not in am.columns:
        am[schema.AMENITY_SOURCE] = schema.OSM_SOURCE
    for col in schema.ASSET_TEXT_COLUMNS:
        if col not in am.columns:
            am[col] = np.full(len(am), None, dtype=object)
    return am


def apply_asset_lists(amenities: gpd.GeoDataFrame, lists: list[AssetList],
                      taxonomy: Mapping[str, Category], areas: gpd.GeoDataFrame, *,
                      strict: bool = False, notes: list[str] | None = None,
                      ) -> tuple[gpd.GeoDataFrame, dict[str, Category], list[dict]]:
    """Combine the asset lists with the OpenStreetMap amenities, list by list in order.

    Parameters
    ----------
    amenities : GeoDataFrame
        The OSM amenity table (EPSG:4326).
    lists : list of AssetList
    taxonomy : dict of Category
    areas : GeoDataFrame
        The study areas in the run's projected CRS.
    strict : bool
        Fail (InputError) when a list has rows left out for a data problem.
    notes : list of str, optional
        The manifest's notes; those of the lists are appended.

    Returns
    -------
    amenities : GeoDataFrame
        With ``source`` (``osm`` or ``<file name>:<row id>``) and the list-only
        text columns, sorted by category (taxonomy order), index 0..n-1.
    taxonomy : dict of Category
        With the lists' new categories at the end.
    records : list of dict
        One per list, for the manifest.
    """
    am = _with_list_columns(amenities)
    tax = dict(taxonomy)
    records = []
    if lists:
        crs = str(areas.crs)
        area = shapely.union_all(areas.geometry.to_numpy())
    for spec in lists:
        items, record, new, list_notes = read_asset_list(spec, tax, area, crs)
        tax.update(new)
        if list_notes and strict:
            raise InputError(f"{list_notes[0]}; fix the list or run without --strict")
        for n in list_notes:
            log.warning("%s", n)
        if notes is not None:
            notes.extend(list_notes)
        zone = area.buffer(spec.buffer_m) if spec.buffer_m else area
        shapely.prepare(zone)
        record["categories"] = {}
        for cat in dict.fromkeys(items["category"]):
            mine = items[items["category"].to_numpy() == cat]
            am, add, record["categories"][cat] = _combine(am, mine, cat, spec, tax, zone, crs)
            am = pd.concat([am, add], ignore_index=True)
        records.append(record)
        log.info("asset list %s: %d of %d rows kept (%s), %s", Path(spec.path).name,
                 record["kept"], record["rows_read"], spec.mode, record["categories"])
    order = {c: i for i, c in enumerate(tax)}
    am = am.iloc[np.argsort(am["category"].map(order).to_numpy(), kind="stable")]
    am = gpd.GeoDataFrame(am.reset_index(drop=True), geometry="geometry", crs="EPSG:4326")
    return am, tax, records


def _combine(am: gpd.GeoDataFrame, items: gpd.GeoDataFrame, cat: str, spec: AssetList,
             taxonomy: Mapping[str, Category], zone: Any, crs: str,
             ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """One category of one list against the OSM features: (amenities, items to add, counts)."""
    is_osm = (am[schema.AMENITY_SOURCE].to_numpy() == schema.OSM_SOURCE) & \
        (am["category"].to_numpy() == cat)
    osm_rows = np.flatnonzero(is_osm)
    osm_geo = am.geometry.iloc[osm_rows].to_crs(crs).to_numpy()
    in_zone = shapely.intersects(zone, osm_geo) if osm_rows.size else np.zeros(0, bool)
    item_geo = items.geometry.to_crs(crs).to_numpy()
    m = match_places(item_geo, items["name"].to_numpy(dtype=object), osm_geo,
                     am["name"].to_numpy(dtype=object)[osm_rows], spec.match_m,
                     spec.min_similarity)
    unmatched = np.ones(osm_rows.size, dtype=bool)
    unmatched[m.feature] = False
    counts = {"list_items": len(items), "osm_in_area": int(in_zone.sum()),
              "matched": int(m.item.size), "list_only": int(len(items) - m.item.size),
              "osm_only": int((unmatched & in_zone).sum()), "near_misses": m.near_misses,
              "median_match_m": float(np.median(m.distance_m)) if m.item.size else None}
    items = items.copy()
    if spec.mode == "replace":  # where the list applies; OSM's places beyond it stay
        counts["osm_removed"] = int(in_zone.sum())
        counts["osm_kept_outside_area"] = int((~in_zone).sum())
        am = am.drop(index=am.index[osm_rows[in_zone]])
    elif spec.mode == "merge":
        osm = am.iloc[osm_rows[m.feature]]
        for col in ("name", "opening_hours", "wheelchair", "website", "capacity", "osm_type",
                    "osm_id"):
            values = items[col].to_numpy(dtype=object).copy()
            mine = values[m.item]
            fill = pd.isna(mine) | (col == "osm_id")  # the list's values win, if it has them
            mine[fill] = osm[col].to_numpy(dtype=object)[fill]
            values[m.item] = mine
            items[col] = values
        if taxonomy[cat].access == "edge":  # parks: keep OSM's outline, reached at its edge
            poly = osm.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
            geoms = items.geometry.to_numpy().copy()
            geoms[m.item[poly]] = osm.geometry.to_numpy()[poly]
            items = items.set_geometry(gpd.GeoSeries(geoms, index=items.index, crs="EPSG:4326"))
        counts["osm_removed"] = int(m.item.size)
        am = am.drop(index=am.index[osm_rows[m.feature]])
    items["capacity"] = items["capacity"].astype("float64")
    items["osm_id"] = items["osm_id"].astype("int64")
    return am, items, counts
