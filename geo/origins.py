"""Where people live: origin points inside each area, weighted, scaled to population.

People live in buildings, not at polygon centroids. The default origins are
residential buildings (OSM ``building=*`` values for dwellings, plus untyped
``building=yes`` inside residential land use), weighted by floor area
(footprint x levels). Areas with no such building fall back to any building of
at least ``MIN_FOOTPRINT_M2``, then to one point on the area's surface. Each
area's population (when known) is shared among its origins in proportion to the
weights. ``docs/method.md`` explains the choice and its limits.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

RESIDENTIAL_BUILDINGS = frozenset({
    "house", "residential", "detached", "semidetached_house", "semi_detached", "terrace",
    "apartments", "bungalow", "dormitory", "farm", "cottage", "flats", "houseboat",
    "static_caravan", "sheltered_housing",
})
MIN_FOOTPRINT_M2 = 25.0  # smaller buildings are sheds and garages, not homes
ORIGIN_COLUMNS = ["origin_id", "area_id", "weight", "population", "method", "geometry"]


def origins_from_centroids(areas: gpd.GeoDataFrame,
                           population: pd.Series | None = None) -> gpd.GeoDataFrame:
    """One origin per area at its centroid (at a surface point when the centroid falls outside).

    Parameters
    ----------
    areas : GeoDataFrame
        Projected areas with an ``area_id`` column.
    population : Series, optional
        Population per area id.

    Returns
    -------
    GeoDataFrame
        Columns :data:`ORIGIN_COLUMNS`, one row per area, in the areas' CRS.
    """
    cent = areas.geometry.centroid
    outside = ~cent.within(areas.geometry)
    if outside.any():
        log.info("origins: %d area centroids fall outside their area; using a surface point",
                 int(outside.sum()))
        cent = cent.where(~outside, areas.geometry.representative_point())
    pop = _lookup(population, areas["area_id"])
    return gpd.GeoDataFrame({
        "origin_id": np.arange(len(areas)),
        "area_id": areas["area_id"].to_numpy(),
        "weight": np.ones(len(areas)),
        "population": pop,
        "method": np.where(outside.to_numpy(), "surface_point", "centroid"),
    }, geometry=cent.to_numpy(), crs=areas.crs)


def origins_from_buildings(
    areas: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    residential_landuse: gpd.GeoDataFrame | None = None,
    population: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Population-weighted origins at residential buildings.

    Parameters
    ----------
    areas : GeoDataFrame
        Projected areas with an ``area_id`` column.
    buildings : GeoDataFrame
        Building polygons with ``building`` and ``levels`` columns (any CRS).
    residential_landuse : GeoDataFrame, optional
        ``landuse=residential`` polygons; untyped ``building=yes`` inside them count as homes.
    population : Series, optional
        Population per area id; each area's total is shared among its origins by weight.

    Returns
    -------
    GeoDataFrame
        Columns :data:`ORIGIN_COLUMNS` in the areas' CRS; ``method`` says how each
        area's origins were found (``residential_building``, ``any_building`` or
        ``surface_point``). Every area has at least one origin.
    """
    crs = areas.crs
    b = buildings.to_crs(crs) if len(buildings) else gpd.GeoDataFrame(
        {"building": [], "levels": []}, geometry=[], crs=crs)
    b = b[b.geometry.notna() & ~b.geometry.is_empty]
    footprint = b.geometry.area.to_numpy()
    levels = pd.to_numeric(b["levels"], errors="coerce").to_numpy(dtype=float)
    levels = np.where(np.isfinite(levels) & (levels >= 1), np.minimum(levels, 50), 1.0)
    points = gpd.GeoDataFrame({
        "building": b["building"].astype(str).str.lower().to_numpy(),
        "weight": footprint * levels,
        "footprint": footprint,
    }, geometry=b.geometry.representative_point().to_numpy(), crs=crs)
    typed = points["building"].isin(RESIDENTIAL_BUILDINGS).to_numpy()
    in_landuse = np.zeros(len(points), dtype=bool)
    if residential_landuse is not None and len(residential_landuse):
        lu = residential_landuse.to_crs(crs)
        yes = points[points["building"] == "yes"]
        hit = gpd.sjoin(yes[["geometry"]], lu[["geometry"]], predicate="within", how="inner")
        in_landuse[np.unique(hit.index.to_numpy())] = True  # points has a RangeIndex
    big = points["footprint"].to_numpy() >= MIN_FOOTPRINT_M2
    residential = (typed | in_landuse) & big
    joined = gpd.sjoin(points[["weight", "geometry"]].assign(res=residential, big=big),
                       areas[["area_id", "geometry"]], predicate="within", how="inner")
    joined = joined[~joined.index.duplicated(keep="first")]

    parts = []
    res = joined[joined["res"]]
    have_res = set(res["area_id"])
    parts.append(res.assign(method="residential_building"))
    anyb = joined[joined["big"] & ~joined["area_id"].isin(have_res)]
    parts.append(anyb.assign(method="any_building"))
    covered = have_res | set(anyb["area_id"])
    rest = areas[~areas["area_id"].isin(covered)]
    if len(rest):
        parts.append(gpd.GeoDataFrame({
            "area_id": rest["area_id"].to_numpy(), "weight": np.ones(len(rest)),
            "method": "surface_point"},
            geometry=rest.geometry.representative_point().to_numpy(), crs=crs))
    out = pd.concat([p[["area_id", "weight", "method", "geometry"]] for p in parts],
                    ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    out["weight"] = out["weight"].astype(float)
    counts = out.groupby("method")["area_id"].nunique().to_dict()
    log.info("origins: %d points; areas by method: %s", len(out), counts)
    share = out["weight"] / out.groupby("area_id")["weight"].transform("sum")
    pop = _lookup(population, out["area_id"])
    out["population"] = pop * share.to_numpy()
    out.insert(0, "origin_id", np.arange(len(out)))
    return out[ORIGIN_COLUMNS]


def _lookup(population: pd.Series | None, ids: pd.Series) -> np.ndarray:
    if population is None:
        return np.full(len(ids), np.nan)
    return population.reindex(ids.to_numpy()).to_numpy(dtype=float)
