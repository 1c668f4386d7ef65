"""Places found by :func:`socialrisk.screening.assets_within`, made readable for a person.

* Duplicates grouped: OpenStreetMap often maps one place twice (a node and a
  polygon of the same cafe, the same bus stop on both sides of a road). Places
  of one category with the same name (ignoring case and spaces) within
  :data:`DUPLICATE_M` metres of each other become one row, the nearest by walk;
  its missing opening hours, wheelchair and website tags are taken from the
  others, and ``n_features`` says how many features it stands for.
* Unnamed places described: the walking network keeps no street names
  (:class:`socialrisk.core.network.WalkNetwork` holds only coordinates and
  lengths, and reading names in :mod:`geo.pbf` would slow the read), so a place
  without a name is placed by the nearest named place:
  ``"park (no name in OpenStreetMap), 120 m north-east of St Mary's Church
  (place of worship)"``.

Pure computation, no I/O.
"""

from __future__ import annotations

import logging
import math
import re

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

log = logging.getLogger(__name__)

__all__ = ["DUPLICATE_M", "DESCRIBE_WITHIN_M", "NO_NAME", "compass", "group_duplicates",
           "describe_places", "kind_words", "projected_points"]

#: places of a category with the same name closer than this are one place (metres): the
#: stands of a bus station (the island's "Newport, Bus Station": five stops 27-81 m apart)
DUPLICATE_M = 100.0
#: an unnamed place is described by a named place at most this far away (metres)
DESCRIBE_WITHIN_M = 2000.0
NO_NAME = "(no name in OpenStreetMap)"
_POINTS = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
           "north-west")
#: columns filled from a duplicate when the kept row has no value
_FILL = ("opening_hours", "wheelchair", "website")


def compass(dx: float, dy: float) -> str:
    """The 8-point compass direction of a vector (x east, y north), e.g. ``"north-east"``."""
    angle = math.degrees(math.atan2(dx, dy)) % 360.0  # 0 = north, clockwise
    return _POINTS[int((angle + 22.5) // 45) % 8]


def kind_words(amenity_type: object, fallback: str = "place") -> str:
    """``"highway=bus_stop"`` -> ``"bus stop"``; the fallback when there is no tag."""
    if not isinstance(amenity_type, str) or not amenity_type.strip():
        return fallback
    value = amenity_type.split("=", 1)[-1]
    return value.replace("_", " ").strip() or fallback


def _has_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _name_key(value: object) -> str | None:
    """A name for comparison: case, spacing and punctuation do not count."""
    if not _has_name(value):
        return None
    return " ".join(re.sub(r"[^\w]+", " ", value.casefold()).split()) or value.strip()


def projected_points(geometry, crs_to: str) -> tuple[np.ndarray, np.ndarray]:
    """x, y (metres in ``crs_to``) of the representative points of a GeoSeries."""
    pts = geometry.representative_point()
    x, y = pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)
    if geometry.crs is not None and pyproj.CRS.from_user_input(geometry.crs) \
            != pyproj.CRS.from_user_input(crs_to):
        tr = pyproj.Transformer.from_crs(geometry.crs, crs_to, always_xy=True)
        x, y = tr.transform(x, y)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def group_duplicates(found: pd.DataFrame, x: np.ndarray, y: np.ndarray,
                     within_m: float = DUPLICATE_M) -> pd.DataFrame:
    """One row per place: same category, same name and within ``within_m`` metres.

    Parameters
    ----------
    found : DataFrame
        Rows of :func:`~socialrisk.screening.assets_within` (``category``, ``name``,
        ``walk_m``, the tags), nearest first within a category.
    x, y : ndarray
        Projected coordinates (metres) of the rows.
    within_m : float
        Greatest distance between two features of one place.

    Returns
    -------
    DataFrame
        The kept rows (the nearest of each group, in the input order) with the
        tags missing from them taken from their duplicates, and ``n_features``
        (features the row stands for) and ``rows`` (their rows of the amenity
        table, a tuple).
    """
    n = len(found)
    keep = np.ones(n, dtype=bool)
    owner = np.arange(n)
    seen: dict[tuple, list[int]] = {}
    cats = found["category"].to_numpy(dtype=object)
    names = found["name"].to_numpy(dtype=object)
    order = np.argsort(found["walk_m"].to_numpy(dtype=float), kind="stable")
    for i in order:  # nearest first: the nearest feature of a place is kept
        key = _name_key(names[i])
        if key is None:
            continue
        group = seen.setdefault((cats[i], key), [])
        for j in group:
            if math.hypot(x[i] - x[j], y[i] - y[j]) <= within_m:
                keep[i], owner[i] = False, j
                break
        else:
            group.append(i)
    out = found.copy()
    out["n_features"] = 1
    out["rows"] = [(int(r),) for r in found["row"].to_numpy()]
    if keep.all():
        return out
    cols = {c: out.columns.get_loc(c) for c in (*_FILL, "n_features", "rows") if c in out}
    for i in np.flatnonzero(~keep):
        j = int(owner[i])
        out.iat[j, cols["n_features"]] += 1
        out.iat[j, cols["rows"]] = (*out.iat[j, cols["rows"]], int(found["row"].iat[i]))
        for c in _FILL:
            if c in cols and not _has_name(out.iat[j, cols[c]]) and _has_name(found[c].iat[i]):
                out.iat[j, cols[c]] = found[c].iat[i]
    return out[keep]


def describe_places(found: pd.DataFrame, x: np.ndarray, y: np.ndarray, amenities,
                    crs_to: str, within_m: float = DESCRIBE_WITHIN_M) -> list[str]:
    """Words for each place: its name, or where it is when it has none.

    Parameters
    ----------
    found : DataFrame
        With ``name``, ``amenity_type``, ``label`` and ``row`` (of ``amenities``).
    x, y : ndarray
        Projected coordinates (metres, ``crs_to``) of the rows.
    amenities : GeoDataFrame
        Every place of the run (``name``, ``amenity_type``); named ones near the
        unnamed rows are the landmarks.
    crs_to : str
        The projected CRS of ``x``/``y``.
    within_m : float
        Farthest landmark used; farther, the place is given by its coordinates.

    Returns
    -------
    list of str
        ``name`` for named places; otherwise e.g. ``"park (no name in
        OpenStreetMap), 120 m north-east of Ryde Library (library)"``.
    """
    names = found["name"].to_numpy(dtype=object)
    out = [str(v).strip() if _has_name(v) else "" for v in names]
    todo = [i for i, v in enumerate(out) if not v]
    if not todo:
        return out
    am_names = amenities["name"].to_numpy(dtype=object)
    named = np.flatnonzero([_has_name(v) for v in am_names])
    cand = np.empty(0, dtype=np.int64)
    if named.size:
        # cheap pre-filter on bounding boxes (in the amenities' CRS), then exact points
        b = shapely.bounds(amenities.geometry.to_numpy()[named])
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        sub = amenities.iloc[found["row"].to_numpy()[todo]]
        sb = shapely.bounds(sub.geometry.to_numpy())
        geographic = amenities.crs is not None and amenities.crs.is_geographic
        lat = float(np.nanmean((sb[:, 1] + sb[:, 3]) / 2)) if geographic else 0.0
        my = within_m / 111_000 if geographic else within_m
        mx = my / max(math.cos(math.radians(lat)), 0.1) if geographic else within_m
        near = ((cx >= np.nanmin(sb[:, 0]) - 1.5 * mx) & (cx <= np.nanmax(sb[:, 2]) + 1.5 * mx)
                & (cy >= np.nanmin(sb[:, 1]) - 1.5 * my) & (cy <= np.nanmax(sb[:, 3]) + 1.5 * my))
        cand = named[near]
    own_rows = found["row"].to_numpy()
    if cand.size:
        lx, ly = projected_points(amenities.geometry.iloc[cand], crs_to)
        tree = cKDTree(np.column_stack([lx, ly]))
    for i in todo:
        kind = kind_words(found["amenity_type"].iat[i], str(found["label"].iat[i]).lower())
        where = ""
        if cand.size:
            k = min(4, cand.size)
            dist, idx = tree.query([x[i], y[i]], k=k)
            for d, j in zip(np.atleast_1d(dist), np.atleast_1d(idx), strict=True):
                if not np.isfinite(d) or d > within_m or cand[j] == own_rows[i]:
                    continue
                land = str(am_names[cand[j]]).strip()
                land_kind = kind_words(amenities["amenity_type"].iat[cand[j]], "place")
                if d < 15:
                    where = f"at {land} ({land_kind})"
                else:
                    step = 10 if d < 1000 else 50
                    metres = f"{int(round(d / step) * step):,} m"
                    where = (f"{metres} {compass(x[i] - lx[j], y[i] - ly[j])} of {land} "
                             f"({land_kind})")
                break
        if not where:
            sub = found.iloc[i]
            where = f"at {sub['lat']:.5f}, {sub['lon']:.5f}"
        out[i] = f"{kind} {NO_NAME}, {where}"
    return out
