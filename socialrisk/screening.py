"""Screen a development site, and list the community assets within a walk of a person.

Pure computation on a :class:`~socialrisk.pipeline.Prepared`; no I/O.

A site (a point, or a polygon such as a housing allocation) is snapped to the
walking network like an origin (:mod:`risk.snap`); a polygon is
reached at its edge by default (every network node inside it or within the
snap tolerance, at its distance from the polygon), or at a representative
point. One Dijkstra from the site then gives the walking distance to every
amenity of every category (:func:`risk.engine.nearest_distance`
with the site as the only source), so the numbers are the same shortest paths
the area indicators are built from.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from risk.engine import nearest_distance
from risk.rules import unreachable_at_limit
from risk.snap import snap_geometries
from risk.standards import standards_table
from socialrisk.connectplaces import (
    DUPLICATE_M,
    describe_places,
    group_duplicates,
    projected_points,
)
from socialrisk.core import schema
from socialrisk.core.errors import InputError
from socialrisk.core.network import Attachments

log = logging.getLogger(__name__)

__all__ = ["SiteScreening", "site_attachments", "amenity_distances", "screen_site",
           "assets_within", "filter_wheelchair", "WHEELCHAIR_CHOICES"]

#: values of the ``wheelchair`` filter of :func:`assets_within`
WHEELCHAIR_CHOICES = (None, "yes", "limited")


@dataclass
class SiteScreening:
    """Result of :func:`screen_site`.

    Attributes
    ----------
    site : dict
        ``kind`` ("point" or "polygon"), ``lon``, ``lat`` (a representative
        point), ``x``, ``y`` (projected), ``snap_m`` (metres to the network),
        ``reached_at`` ("point" or "edge").
    table : DataFrame
        One row per category, in taxonomy order: ``category``, ``label``,
        ``nearest_name``, ``nearest_row`` (row of ``prepared.amenities``, -1 when
        none), ``nearest_m``, ``walk_min``, ``walk_min_slow``, ``count_within``
        (amenities within ``within_m``), ``better_than_share`` (share of areas,
        0..1, whose ``<cat>_nearest_m`` is larger; NaN without area values),
        ``comparison`` (the same in words).
    distances : DataFrame
        Every amenity reached within the search limit: ``row``, ``category``,
        ``walk_m`` (sorted by category then distance).
    within_m : float
    speed_kmh, slow_speed_kmh : float
    """

    site: dict
    table: pd.DataFrame
    distances: pd.DataFrame
    within_m: float
    speed_kmh: float
    slow_speed_kmh: float
    notes: list[str] = field(default_factory=list)
    #: one row per absolute standard (:func:`risk.standards.standards_table`): pass/FAILS
    #: on the site's exact walking distances, beside the relative ``comparison``
    standards: pd.DataFrame = field(default_factory=pd.DataFrame)


def _to_network(network, geom: BaseGeometry, crs: str | None) -> BaseGeometry:
    if crs is None or pyproj.CRS.from_user_input(crs) == pyproj.CRS.from_user_input(network.crs):
        return geom
    tr = pyproj.Transformer.from_crs(crs, network.crs, always_xy=True)
    return shapely.transform(geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))


def site_attachments(network, x: float | None = None, y: float | None = None, *,
                     polygon: BaseGeometry | None = None, crs: str | None = "EPSG:4326",
                     max_snap_m: float = schema.MAX_SNAP_M, at: str = "edge"):
    """Snap a site (point or polygon) to the network.

    Parameters
    ----------
    network : WalkNetwork
    x, y : float, optional
        A point site in ``crs`` (longitude, latitude by default).
    polygon : shapely Polygon or MultiPolygon, optional
        A site polygon in ``crs`` (instead of ``x``/``y``).
    crs : str or None
        CRS of the inputs; None = the network's CRS.
    max_snap_m : float
    at : {"edge", "point"}
        How a polygon is reached: at its edge (every node inside or near it), or
        at its representative point.

    Returns
    -------
    att : Attachments
        One item.
    site : dict
        See :attr:`SiteScreening.site`.

    Raises
    ------
    InputError
        No location given, or the site is farther than ``max_snap_m`` from the network.
    """

    if network is None:
        raise InputError("this run has no walking network (osm = \"none\"); site screening "
                         "needs OpenStreetMap data")
    if polygon is None:
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            raise InputError("give a site: a point (x, y) or a polygon")
        geom = _to_network(network, shapely.Point(float(x), float(y)), crs)
        kind = "point"
    else:
        if polygon.is_empty or shapely.get_type_id(polygon) not in (3, 6):
            raise InputError("the site must be a Polygon or MultiPolygon")
        geom = _to_network(network, polygon, crs)
        kind = "polygon"
        if at == "point":
            geom = geom.representative_point()
        elif at != "edge":
            raise ValueError(f"at must be 'edge' or 'point', not {at!r}")
    att = snap_geometries(network, np.array([geom], dtype=object), max_snap_m,
                          edge_access=kind == "polygon")
    if not att.snapped[0]:
        raise InputError(f"the site is farther than {max_snap_m:g} m from the walking network; "
                         "choose a place nearer a street or footpath")
    rp = geom.representative_point() if kind == "polygon" else geom
    lon, lat = pyproj.Transformer.from_crs(network.crs, "EPSG:4326",
                                           always_xy=True).transform(rp.x, rp.y)
    site = {"kind": kind, "lon": float(lon), "lat": float(lat), "x": float(rp.x),
            "y": float(rp.y), "snap_m": float(att.snap_m[0]),
            "reached_at": "point" if kind == "point" or at == "point" else "edge",
            "geometry": geom}
    return att, site


def _combined(prepared, categories=None):
    """All categories' amenity attachments as one item set: (att, rows, category)."""

    cats = list(prepared.taxonomy) if categories is None else list(categories)
    parts, rows, labels = [], [], []
    base = 0
    for cat in cats:
        att = prepared.snapped.amenities[cat]
        parts.append((att.item + base, att.node, att.offset, att.edge, att.along))
        rows.append(np.asarray(prepared.snapped.amenity_rows[cat], dtype=np.int64))
        labels.append(np.full(att.n_items, cat, dtype=object))
        base += att.n_items
    if not parts:
        raise InputError("no categories to search")
    cols = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    snap_m = np.concatenate([prepared.snapped.amenities[c].snap_m for c in cats])
    snapped = np.concatenate([prepared.snapped.amenities[c].snapped for c in cats])
    att = Attachments(item=cols[0], node=cols[1], offset=cols[2], edge=cols[3], along=cols[4],
                      snap_m=snap_m, snapped=snapped)
    return att, np.concatenate(rows), np.concatenate(labels)


def amenity_distances(prepared, site_att, limit: float | None = None,
                      categories=None) -> pd.DataFrame:
    """Walking distance from a snapped site to every amenity within ``limit``.

    Parameters
    ----------
    prepared : Prepared
    site_att : Attachments
        One item (from :func:`site_attachments`).
    limit : float, optional
        Metres; ``settings.max_distance_m`` by default.
    categories : list of str, optional
        Default: every category.

    Returns
    -------
    DataFrame
        ``row`` (of ``prepared.amenities``), ``category``, ``walk_m``; only
        amenities reached, sorted by category (taxonomy order) then distance.
    """

    lim = prepared.settings.max_distance_m if limit is None else float(limit)
    att, rows, cats = _combined(prepared, categories)
    d, _ = nearest_distance(prepared.network, site_att, att, limit=lim)
    ok = np.isfinite(d)
    out = pd.DataFrame({"row": rows[ok], "category": cats[ok], "walk_m": d[ok]})
    order = {c: i for i, c in enumerate(prepared.taxonomy)}
    out["_o"] = out["category"].map(order)
    out = out.sort_values(["_o", "walk_m", "row"], kind="stable").drop(columns="_o")
    return out.reset_index(drop=True)


def _minutes(m, speed_kmh: float):
    return schema.walk_minutes(m, speed_kmh)


def screen_site(prepared, x: float | None = None, y: float | None = None, *,
                polygon: BaseGeometry | None = None, crs: str | None = "EPSG:4326",
                at: str = "edge", areas: pd.DataFrame | None = None,
                within_m: float = schema.BEYOND_M) -> SiteScreening:
    """Walking access from a site to every category, compared with the areas.

    Parameters
    ----------
    prepared : Prepared
    x, y : float, optional
        Point site in ``crs`` (longitude, latitude by default).
    polygon : shapely geometry, optional
        Site polygon in ``crs`` instead of a point; see ``at``.
    crs : str or None
    at : {"edge", "point"}
        Polygon reached at its edge or at its representative point.
    areas : DataFrame, optional
        The run's area table (``RunResult.areas``) for the comparison; people
        who cannot reach a category count at ``max_distance_m``, as in the index.
    within_m : float
        Distance for ``count_within`` (metres; 800 m = 10 minutes at 4.8 km/h).

    Returns
    -------
    SiteScreening
    """

    s = prepared.settings
    att, site = site_attachments(prepared.network, x, y, polygon=polygon, crs=crs,
                                 max_snap_m=s.max_snap_m, at=at)
    dist = amenity_distances(prepared, att)
    names = prepared.amenities["name"].to_numpy(dtype=object)
    cmp_table = None
    if areas is not None:
        t = pd.DataFrame(areas).drop(columns=["geometry"], errors="ignore")
        cmp_table = unreachable_at_limit(t, prepared.taxonomy, s.max_distance_m)
    rows = []
    for cat, spec in prepared.taxonomy.items():
        d = dist[dist["category"] == cat]
        n_used = int(prepared.snapped.amenities[cat].snapped.sum())
        if len(d):
            first = d.iloc[0]
            near_m, near_row = float(first["walk_m"]), int(first["row"])
            near_name = names[near_row]
        else:
            near_m, near_row, near_name = (math.inf if n_used else math.nan), -1, None
        count = float((d["walk_m"] <= within_m).sum()) if n_used else math.nan
        share = math.nan
        col = schema.nearest_column(cat)
        if cmp_table is not None and col in cmp_table.columns and not math.isnan(near_m):
            vals = cmp_table[col].to_numpy(dtype=float)
            vals = vals[~np.isnan(vals)]
            if vals.size:
                site_m = min(near_m, s.max_distance_m)
                share = float((vals > site_m).mean())
        rows.append({"category": cat, "label": spec.label,
                     "nearest_name": near_name if isinstance(near_name, str) else None,
                     "nearest_row": near_row, "nearest_m": near_m,
                     "walk_min": float(_minutes(near_m, s.walk_speed_kmh)),
                     "walk_min_slow": float(_minutes(near_m, s.slow_walk_speed_kmh)),
                     "count_within": count, "better_than_share": share,
                     "comparison": _comparison(share, spec.label, near_m, n_used)})
    table = pd.DataFrame(rows)
    notes = []
    if site["snap_m"] > 50:
        notes.append(f"the site is {site['snap_m']:.0f} m from the nearest street or path; "
                     "that walk is included")
    stds = standards_table({schema.nearest_column(c): m for c, m in
                            zip(table["category"], table["nearest_m"], strict=True)},
                           s.standards, labels={c: t.label for c, t in prepared.taxonomy.items()})
    return SiteScreening(site=site, table=table, distances=dist, within_m=float(within_m),
                         speed_kmh=s.walk_speed_kmh, slow_speed_kmh=s.slow_walk_speed_kmh,
                         notes=notes, standards=stds)


def _comparison(share: float, label: str, near_m: float, n_used: int) -> str:
    lab = label if label[:2].isupper() else label[:1].lower() + label[1:]  # GP, not gp
    if n_used == 0:
        return f"no {lab} in the data"
    if math.isinf(near_m):
        return f"no {lab} can be reached on foot"
    if math.isnan(share):
        return ""
    if share >= 1:
        return f"better than every area for {lab} access"
    if share <= 0:
        return f"no better than any area for {lab} access"
    pct = min(max(round(100 * share), 1), 99)  # never "0 %" or "100 %" when it is not
    return f"better than {pct} % of areas for {lab} access"


def filter_wheelchair(table: pd.DataFrame, wheelchair: str | None) -> pd.DataFrame:
    """Keep places OSM tags as wheelchair accessible.

    Parameters
    ----------
    table : DataFrame
        With a ``wheelchair`` column (OSM ``wheelchair`` tag values).
    wheelchair : {None, "yes", "limited"}
        None keeps everything; "yes" keeps ``wheelchair=yes`` (and
        ``designated``); "limited" also keeps ``wheelchair=limited``.
    """
    if wheelchair not in WHEELCHAIR_CHOICES:
        raise ValueError(f"wheelchair must be one of {WHEELCHAIR_CHOICES}, not {wheelchair!r}")
    if wheelchair is None:
        return table
    ok = {"yes", "designated"} | ({"limited"} if wheelchair == "limited" else set())
    tag = table["wheelchair"].astype("string").str.strip().str.lower()
    return table[tag.isin(ok).fillna(False).to_numpy(dtype=bool)]


def assets_within(prepared, x: float | None = None, y: float | None = None,
                  minutes: float = 15.0, speed_kmh: float | None = None, *,
                  crs: str | None = "EPSG:4326", wheelchair: str | None = None,
                  categories=None, site=None,
                  duplicate_m: float | None = DUPLICATE_M) -> pd.DataFrame:
    """The community assets within a walk of a place, grouped by category, nearest first.

    A place mapped twice (same category and name within ``duplicate_m`` metres,
    e.g. a node and a polygon of one cafe) is one row; a place without a name is
    described by where it is (:mod:`socialrisk.connectplaces`).

    Parameters
    ----------
    prepared : Prepared
    x, y : float
        The person's location in ``crs`` (longitude, latitude by default).
    minutes : float
        Longest walk.
    speed_kmh : float, optional
        Walking speed; the run's ``walk_speed_kmh`` by default (use
        ``slow_walk_speed_kmh``, 3 km/h, for someone who walks slowly).
    crs : str or None
    wheelchair : {None, "yes", "limited"}
        See :func:`filter_wheelchair`.
    categories : list of str, optional
        Default: every category.
    site : Attachments, optional
        An already snapped location (then ``x``/``y`` are ignored).
    duplicate_m : float or None
        Same-name places of a category closer than this are one place; None
        keeps every feature.

    Returns
    -------
    DataFrame
        ``category``, ``label``, ``name``, ``walk_m``, ``walk_min``,
        ``amenity_type``, ``opening_hours``, ``wheelchair``, ``website``,
        ``lon``, ``lat``, ``row`` (the nearest feature of the place),
        ``description`` (the name, or e.g. "park (no name in OpenStreetMap),
        120 m north-east of Ryde Library (library)"), ``n_features`` (features
        grouped into the row) and ``rows`` (their rows, a tuple); sorted by
        category (taxonomy order) then walking distance. Empty (same columns)
        when nothing is in reach.
    """
    s = prepared.settings
    speed = s.walk_speed_kmh if speed_kmh is None else float(speed_kmh)
    if speed <= 0 or minutes <= 0:
        raise InputError("walking speed and minutes must be greater than 0")
    if site is None:
        site, _ = site_attachments(prepared.network, x, y, crs=crs, max_snap_m=s.max_snap_m)
    limit = schema.minutes_to_metres(minutes, speed)
    dist = amenity_distances(prepared, site, limit=limit, categories=categories)
    am = prepared.amenities
    sub = am.iloc[dist["row"].to_numpy()]
    pts = sub.geometry.representative_point()
    out = pd.DataFrame({
        "category": dist["category"].to_numpy(),
        "label": dist["category"].map({c: t.label for c, t in prepared.taxonomy.items()})
        .to_numpy(),
        "name": sub["name"].to_numpy(dtype=object),
        "walk_m": dist["walk_m"].to_numpy(),
        "walk_min": _minutes(dist["walk_m"].to_numpy(), speed),
        "amenity_type": sub["amenity_type"].to_numpy(dtype=object),
        "opening_hours": sub["opening_hours"].to_numpy(dtype=object),
        "wheelchair": sub["wheelchair"].to_numpy(dtype=object),
        "website": sub["website"].to_numpy(dtype=object),
        "lon": pts.x.to_numpy() if am.crs is None or am.crs.is_geographic
        else pts.to_crs("EPSG:4326").x.to_numpy(),
        "lat": pts.y.to_numpy() if am.crs is None or am.crs.is_geographic
        else pts.to_crs("EPSG:4326").y.to_numpy(),
        "row": dist["row"].to_numpy(),
    })
    px, py = projected_points(sub.geometry, prepared.network.crs)
    if duplicate_m is not None:
        out = group_duplicates(out, px, py, duplicate_m)
        kept = out.index.to_numpy()
        px, py = px[kept], py[kept]
    out = out.reset_index(drop=True)
    out["description"] = describe_places(out, px, py, am, prepared.network.crs)
    return filter_wheelchair(out, wheelchair).reset_index(drop=True)
