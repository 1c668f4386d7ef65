"""The end-to-end run: inputs -> network, amenities, origins -> access -> index -> outputs.

Each stage is a small function; :func:`run` chains them and times them, and
:func:`run_and_write` adds the outputs. I/O is confined to ``geo`` (reading) and
``socialrisk.outputs`` (writing); ``socialrisk.risk`` is pure computation.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from socialrisk import __version__
from socialrisk.errors import DownloadError
from socialrisk.settings import DeprivationSource, Settings

log = logging.getLogger(__name__)

EMBEDDED_AREA_ID = "lsoa11_code"
PACKAGES = ["numpy", "pandas", "scipy", "shapely", "pyproj", "geopandas", "pyogrio",
            "osmium", "osmnx", "folium", "scikit-learn"]


def embedded_file(name: str) -> Path:
    """Path of a file shipped in ``socialrisk.data`` (e.g. ``isle_of_wight/...``)."""
    return Path(str(resources.files("socialrisk.data").joinpath(name)))


EMBEDDED_OSM = "isle_of_wight/isle-of-wight-2020-04-22.osm.pbf"
EMBEDDED_AREAS = "isle_of_wight/lsoa11_isle_of_wight.geojson"
#: ``osm = "none"``: no OpenStreetMap input; access indicators are NaN and the domain left out
NO_OSM = "none"
NO_OSM_NOTE = ("osm = \"none\": no OpenStreetMap input, so no walking network and no amenities; "
               "every access indicator is NaN (unknown, not 0), the access domain is left out "
               "of the index and origins are area centroids")


def osm_disabled(s: Settings) -> bool:
    """Whether the run has no OpenStreetMap input (``osm = "none"`` / ``--osm none``)."""
    return s.osm.strip().lower() == NO_OSM


@dataclass
class Timings:
    """Seconds per stage, in order."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s ...", name)
        t0 = time.perf_counter()
        yield
        self.stages[name] = round(time.perf_counter() - t0, 3)
        log.info("%s done in %.1f s", name, self.stages[name])


@dataclass
class RunResult:
    """Everything a run computed, before writing."""

    areas: gpd.GeoDataFrame
    amenities: gpd.GeoDataFrame
    amenity_polygons: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    manifest: dict
    labels: dict[str, str]


@dataclass
class Prepared:
    """Everything up to and including snapping: what access computations start from.

    The app keeps one of these in memory to screen sites and try what-if
    scenarios without re-reading the inputs.
    """

    settings: Settings
    taxonomy: dict
    labels: dict[str, str]
    areas: gpd.GeoDataFrame          # projected, with area_id
    crs: str
    network: object                  # WalkNetwork
    amenities: gpd.GeoDataFrame      # EPSG:4326, AMENITY_COLUMNS
    data: pd.DataFrame               # deprivation/census indicators by area id
    population: pd.Series | None
    origins: gpd.GeoDataFrame        # projected, ORIGIN_COLUMNS
    snapped: Snapped
    manifest: dict
    timings: Timings


def _versions() -> dict[str, str]:
    out = {"socialrisk": __version__, "python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def run(settings: Settings) -> RunResult:
    """Compute everything for one run (no files written); see the module docstring."""
    return compute(prepare(settings))


def prepare(settings: Settings) -> Prepared:
    """Read and resolve every input, build origins and snap everything to the network."""
    from socialrisk.geo.areas import choose_projected_crs, osm_coverage, read_areas
    from socialrisk.geo.origins import origins_from_buildings, origins_from_centroids
    from socialrisk.geo.pbf import osm_timestamp, read_pbf
    from socialrisk.geo.taxonomy import load_taxonomy
    from socialrisk.outputs import sha256_file
    from socialrisk.sources import resolve_sources

    s = settings
    timings = Timings()
    manifest: dict = {"socialrisk_version": __version__,
                      "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                      "software": _versions(), "settings": s.as_dict(), "inputs": {},
                      "counts": {}, "notes": []}

    taxonomy = load_taxonomy(s.taxonomy or None)
    labels = {name: cat.label for name, cat in taxonomy.items()}

    # ---- areas
    with timings.stage("areas"):
        src = resolve_sources(s, manifest)  # files, embedded sample or --lad/--place downloads
        areas_path = src.areas
        areas, areas_report = read_areas(areas_path, src.area_id)
        crs = choose_projected_crs(areas)
        areas = areas.to_crs(crs)
        manifest["inputs"]["areas"] = _input_record(areas_path, sha256_file)
        manifest["counts"]["areas"] = areas_report.as_dict()
        manifest["crs"] = crs
    area_ids = areas["area_id"].to_numpy()

    # ---- OSM
    no_osm = osm_disabled(s)
    with timings.stage("parse_osm"):
        if no_osm:
            from socialrisk.geo.taxonomy import amenities_frame

            pbf = None
            manifest["inputs"]["osm"] = {"path": NO_OSM, "reason": NO_OSM_NOTE}
            manifest["notes"].append(NO_OSM_NOTE)
            log.warning("%s", NO_OSM_NOTE)
        elif callable(src.osm):  # Overpass download; records its own manifest input
            pbf = src.osm(taxonomy, crs, areas)
        else:
            osm_path = src.osm
            pbf = read_pbf(osm_path, taxonomy, crs, keep=s.network_keep)
            manifest["inputs"]["osm"] = {**_input_record(osm_path, sha256_file),
                                         "data_timestamp": osm_timestamp(osm_path)}
    if pbf is None:
        network = None
        amenities = amenities_frame([], taxonomy)
        manifest["counts"]["network"] = {"nodes": 0, "edges": 0, "dropped_nodes": 0}
    else:
        network = pbf.network
        amenities = pbf.amenities
        manifest["counts"]["network"] = {"nodes": network.n_nodes, "edges": network.n_edges,
                                         "dropped_nodes": network.dropped_nodes}
        manifest["counts"]["areas_osm_coverage"] = osm_coverage(areas, pbf, areas_path)
    manifest["counts"]["osm_skipped"] = getattr(pbf, "skipped", {})

    # ---- deprivation and census
    with timings.stage("deprivation"):
        data, join_reports = _load_area_data(s, area_ids, manifest)
    population = data["population"] if "population" in data.columns else None
    if population is None:
        manifest["notes"].append(
            "no population column: origins are weighted by building floor area only, "
            "areas are not population-weighted and E2SFCA is not computed")

    # ---- origins
    with timings.stage("origins"):
        if s.origins == "centroids" or pbf is None:
            origins = origins_from_centroids(areas, population)
        else:
            origins = origins_from_buildings(areas, pbf.buildings, pbf.residential, population)
        manifest["counts"]["origins"] = {
            "points": len(origins),
            "areas_by_method": origins.groupby("method")["area_id"].nunique().to_dict()}

    # ---- snapping
    with timings.stage("snapping"):
        if network is None:
            snapped = Snapped({}, {}, None, {"skipped": NO_OSM_NOTE})
        else:
            snapped = _snap_all(network, amenities, origins, taxonomy, s)
        manifest["counts"]["snapping"] = snapped.report

    return Prepared(settings=s, taxonomy=taxonomy, labels=labels, areas=areas, crs=crs,
                    network=network, amenities=amenities, data=data, population=population,
                    origins=origins, snapped=snapped, manifest=manifest, timings=timings)


def compute(p: Prepared, access: pd.DataFrame | None = None) -> RunResult:
    """Access per area, the isolation-risk index and the output tables.

    Parameters
    ----------
    p : Prepared
    access : DataFrame, optional
        Access per area computed elsewhere (``socialrisk.partition`` computes it
        part by part and records ``manifest["access"]`` itself); computed here
        when omitted.
    """
    s, taxonomy, labels, timings, manifest = p.settings, p.taxonomy, p.labels, p.timings, \
        p.manifest
    area_ids = p.areas["area_id"].to_numpy()
    if access is None:
        with timings.stage("access"):
            if p.network is None:
                access = pd.DataFrame(index=pd.Index(area_ids, name="area_id"))
                manifest["access"] = {"skipped": NO_OSM_NOTE}
            else:
                access = _access_all(p.network, p.snapped, p.origins, p.amenities, taxonomy,
                                     s, manifest)

    # ---- index
    with timings.stage("index"):
        from socialrisk.risk.index import isolation_index

        table = pd.concat([access.reindex(area_ids), p.data.reindex(area_ids)], axis=1)
        if p.population is None:
            table["population"] = np.nan
        result = isolation_index(_for_index(table, taxonomy, s), s.domains, s.normalisation,
                                 strict=s.strict,
                                 n_drivers=s.n_drivers, labels=labels)
        manifest["index"] = result.report
    out_areas = _assemble_areas(p.areas, table, result.frame, taxonomy, s)

    am_points, am_polys = _amenity_outputs(p.amenities, p.snapped, p.crs)
    manifest["counts"]["amenities_per_category"] = (
        p.amenities.groupby("category").size().reindex(list(taxonomy), fill_value=0).to_dict())
    manifest["timings_s"] = timings.stages
    return RunResult(areas=out_areas, amenities=am_points, amenity_polygons=am_polys,
                     origins=p.origins, manifest=manifest, labels=labels)


def run_and_write(settings: Settings) -> Path:
    """Run and write the outputs to ``settings.out``; returns the output directory."""
    from socialrisk.outdir import check_out_dir
    from socialrisk.outputs import map_areas, write_run_outputs
    from socialrisk.webmap import build_map

    check_out_dir(settings.out)  # a wrong --out fails now, not after the computation
    t0 = time.perf_counter()
    prepared = prepare(settings)
    res = compute(prepared)
    t1 = time.perf_counter()

    def render(path: Path) -> None:
        tips = [c for c in ["area_id", "population", "isolation_risk", "drivers"]
                if res.areas[c].notna().any()]  # e.g. no population column: no tooltip row
        build_map(map_areas(res.areas), res.amenities, res.labels, tips).save(str(path))

    def app_data(tmp: Path) -> None:  # what the app opens a run from (data-only files)
        from socialrisk.runstore import APP_DATA_DIR, save_run

        save_run(prepared, res, tmp / APP_DATA_DIR)

    out = write_run_outputs(settings.out, res.areas, res.amenities, res.amenity_polygons,
                            res.manifest, render if settings.map else None, extra=app_data)
    log.info("run: %.1f s in total (outputs %.1f s)", time.perf_counter() - t0,
             time.perf_counter() - t1)
    return out


# ---------------------------------------------------------------- stages


def _input_record(path: Path, sha) -> dict:
    p = Path(path)
    return {"path": str(p), "bytes": p.stat().st_size, "sha256": sha(p),
            "modified": time.strftime("%Y-%m-%d", time.gmtime(p.stat().st_mtime))}


def _load_area_data(s: Settings, area_ids: np.ndarray, manifest: dict
                    ) -> tuple[pd.DataFrame, list]:
    from socialrisk.geo.boundaries import download_record
    from socialrisk.geo.deprivation import FILE7_2025_URL, file7_download
    from socialrisk.geo.download import default_cache_dir
    from socialrisk.geo.tables import load_area_data
    from socialrisk.outputs import sha256_file

    sources = list(s.deprivation)
    cache = Path(s.cache_dir) if s.cache_dir else default_cache_dir()
    if not sources and s.file7_download and _looks_english_lsoa(area_ids):
        try:
            url = s.file7_url or FILE7_2025_URL
            path = file7_download(cache, url, min_rows=s.file7_min_rows)
            manifest.setdefault("downloads", []).append(
                {"what": "IoD2025 File 7 (MHCLG)", **download_record(url, path)})
            sources = [DeprivationSource(path=str(path), kind="file7")]
        except DownloadError as exc:
            msg = f"no deprivation data: {exc}; computing access only"
            log.warning(msg)
            manifest["notes"].append(msg)
    if not sources:
        manifest["index_inputs"] = "access only"
        return pd.DataFrame(index=pd.Index(area_ids, name="area_id")), []
    data, reports = load_area_data(sources, area_ids, cache_dir=cache, strict=s.strict)
    manifest["inputs"]["deprivation"] = [
        _source_record(src, cache, manifest, sha256_file) for src in sources]
    manifest["counts"]["joins"] = [r.as_dict() if hasattr(r, "as_dict") else vars(r)
                                   for r in reports]
    return data.reindex(area_ids), reports


def _source_record(src: DeprivationSource, cache: Path, manifest: dict, sha) -> dict:
    """Manifest record of a deprivation source; one given by URL is recorded as a download."""
    from socialrisk.geo.boundaries import download_record
    from socialrisk.geo.download import cache_path

    url = str(src.path)
    if not url.startswith(("http://", "https://")):
        return {**_input_record(Path(url), sha), "kind": src.kind}
    local = cache_path(url, cache, ".csv")  # where geo.tables downloaded it
    manifest.setdefault("downloads", []).append(
        {"what": "deprivation table", **download_record(url, local)})
    return {**_input_record(local, sha), "url": url, "kind": src.kind}


def _looks_english_lsoa(ids: np.ndarray) -> bool:
    s = pd.Series(ids, dtype=str)
    return bool(len(s)) and bool(s.str.match(r"^E01\d{6}$").mean() > 0.9)


@dataclass
class Snapped:
    """Attachments per category and for origins, plus the report for the manifest."""

    amenities: dict[str, object]
    amenity_rows: dict[str, np.ndarray]
    origins: object
    report: dict


def _snap_all(network, amenities: gpd.GeoDataFrame, origins: gpd.GeoDataFrame, taxonomy,
              s: Settings) -> Snapped:
    from socialrisk.geo.snap import snap_geometries, snap_points

    am = amenities.to_crs(network.crs)
    per_cat, rows, report = {}, {}, {"max_snap_m": s.max_snap_m, "categories": {}}
    for cat in tqdm(list(taxonomy), desc="snapping", disable=s.quiet, leave=False):
        idx = np.flatnonzero(am["category"].to_numpy() == cat)
        rows[cat] = idx
        edge = taxonomy[cat].access == "edge"
        att = snap_geometries(network, am.geometry.to_numpy()[idx], s.max_snap_m, edge)
        per_cat[cat] = att
        n_un = int((~att.snapped).sum())
        report["categories"][cat] = {"amenities": int(idx.size), "snapped": int(att.snapped.sum()),
                                     "unsnapped": n_un}
        if n_un:
            log.warning("%s: %d of %d amenities are farther than %.0f m from the walking network "
                        "and were not used", cat, n_un, idx.size, s.max_snap_m)
    xy = origins.geometry
    o_att = snap_points(network, xy.x.to_numpy(), xy.y.to_numpy(), s.max_snap_m)
    n_un = int((~o_att.snapped).sum())
    report["origins"] = {"points": len(origins), "snapped": int(o_att.snapped.sum()),
                         "unsnapped": n_un}
    if n_un:
        log.warning("%d of %d origins are farther than %.0f m from the walking network; "
                    "their access is unknown (NaN)", n_un, len(origins), s.max_snap_m)
    return Snapped(per_cat, rows, o_att, report)


def _access_all(network, snapped: Snapped, origins: gpd.GeoDataFrame, amenities, taxonomy,
                s: Settings, manifest: dict) -> pd.DataFrame:
    """Access per category, per origin, then population-weighted to areas."""
    have_pop = _have_population(origins)
    supplies = _supplies(amenities, snapped, taxonomy) if have_pop else {}
    values, dists, report = origin_access_all(network, snapped, origins, taxonomy, s,
                                              supplies=supplies, have_pop=have_pop)
    manifest["access"] = {"cutoff_m": access_cutoff(s),
                          "weighting": "population" if have_pop
                          else "building floor area (no population given)",
                          "categories": report}
    return areas_from_origin_access(values, dists, origins, s, have_pop)


def access_cutoff(s: Settings) -> float:
    """Largest network distance the pair tables cover (counts, gravity, E2SFCA catchment)."""
    return float(max(max(s.thresholds_m), s.catchment_m))


def _have_population(origins: gpd.GeoDataFrame) -> bool:
    return bool(np.isfinite(origins["population"].to_numpy(dtype=float)).all())


def _supplies(amenities: gpd.GeoDataFrame, snapped: Snapped, taxonomy
              ) -> dict[str, tuple[pd.Series, dict]]:
    """E2SFCA supply per capacity category, decided over all of its amenities."""
    out = {}
    for cat in taxonomy:
        att = snapped.amenities[cat]
        if taxonomy[cat].capacity and att.snapped.sum():
            out[cat] = _supply(amenities, snapped.amenity_rows[cat], att.snapped)
    return out


def origin_access_all(network, snapped: Snapped, origins: gpd.GeoDataFrame, taxonomy,
                      s: Settings, *, supplies: dict[str, tuple[pd.Series, dict]],
                      have_pop: bool, categories: list[str] | None = None,
                      ) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict]:
    """Access measures per origin for every category (no aggregation).

    Parameters
    ----------
    network : WalkNetwork
    snapped : Snapped
        Amenities and origins attached to ``network``.
    origins : GeoDataFrame
        ``population`` is the E2SFCA demand (one value per origin, in order).
    taxonomy : dict
    s : Settings
    supplies : dict
        Category -> (supply per snapped amenity item, note), see :func:`_supply`;
        categories absent get no E2SFCA column.
    have_pop : bool
        Whether E2SFCA is computed (every origin has a population).
    categories : list of str, optional
        Categories to compute even when none of their amenities is on this
        network (a partition's clip): their origins get ``inf`` distances and
        zero counts, as in a single run. By default the categories with at
        least one snapped amenity; the others are reported as NaN.

    Returns
    -------
    values : DataFrame, one row per origin
        Every category's per-origin columns side by side.
    dists : dict of str to ndarray
        Nearest distance per origin, per category with usable amenities.
    report : dict
        Per category: unreachable origins and pairs found (or why it is NaN).
    """
    from socialrisk.risk.engine import distances_within, nearest_distance

    cutoff = access_cutoff(s)
    pop = origins["population"].to_numpy(dtype=float)
    per_origin, dists, report = [], {}, {}
    for cat in tqdm(list(taxonomy), desc="access", disable=s.quiet, leave=False):
        att = snapped.amenities[cat]
        usable = att.snapped.sum() > 0 if categories is None else cat in categories
        if not usable:
            report[cat] = "no amenities of this category could be used: indicators are NaN"
            log.warning("%s: no amenities in the extract (or none snapped); its indicators are "
                        "NaN, not 0", cat)
            continue
        dist, _ = nearest_distance(network, att, snapped.origins, limit=s.max_distance_m)
        pairs = distances_within(network, att, snapped.origins, cutoff)
        supply, fca_note = supplies[cat] if have_pop and cat in supplies else (None, None)
        per_origin.append(category_origin_access(cat, dist, pairs, s, pop, supply))
        dists[cat] = dist
        report[cat] = {"origins_unreachable": int(np.isinf(dist).sum()),
                       "pairs_within_cutoff": len(pairs)}
        if fca_note:
            report[cat]["e2sfca_supply"] = fca_note
    values = (pd.concat(per_origin, axis=1) if per_origin
              else pd.DataFrame(index=pd.RangeIndex(len(origins))))
    return values, dists, report


def category_origin_access(cat: str, dist: np.ndarray, pairs: pd.DataFrame, s: Settings,
                           pop: np.ndarray, supply: pd.Series | None = None) -> pd.DataFrame:
    """One category's per-origin columns from its nearest distances and cost pairs.

    Parameters
    ----------
    cat : str
    dist : ndarray
        Nearest distance per origin (:func:`~socialrisk.risk.engine.nearest_distance`).
    pairs : DataFrame
        Amenity/origin pairs within :func:`access_cutoff`
        (:func:`~socialrisk.risk.engine.distances_within`).
    s : Settings
    pop : ndarray
        Population per origin (the E2SFCA demand).
    supply : Series, optional
        Supply per snapped amenity item (:func:`_supply`); no E2SFCA column when None.
    """
    from socialrisk.risk.access import access_columns_from_settings, origin_access, walk_minutes
    from socialrisk.risk.decay import make_decay
    from socialrisk.risk.fca import e2sfca

    decay = make_decay(s.decay, s.decay_scale_m)
    oa = origin_access(dist, pairs, s.thresholds_m, s.walk_speed_kmh, decay,
                       cutoff=access_cutoff(s), category=cat)
    oa[f"{cat}_walk_min_slow"] = walk_minutes(dist, s.slow_walk_speed_kmh)
    if supply is not None:
        cost = pairs.rename(columns={"source": "supply", "target": "demand"})
        oa[access_columns_from_settings(cat, s).e2sfca] = 1000.0 * e2sfca(
            pd.Series(pop), supply, cost, decay, s.catchment_m).to_numpy()
    return oa


def areas_from_origin_access(values: pd.DataFrame, dists: dict[str, np.ndarray],
                             origins: gpd.GeoDataFrame, s: Settings,
                             have_pop: bool) -> pd.DataFrame:
    """Per-origin access (:func:`origin_access_all`) to areas, weighted by population.

    Falls back to the origins' building weight when not every origin has a population.
    """
    from socialrisk.risk.access import (
        access_columns_from_settings,
        aggregate_to_areas,
        share_beyond,
    )

    area = origins["area_id"].to_numpy()
    weight = origins["population" if have_pop else "weight"].to_numpy(dtype=float)
    if not dists:
        return pd.DataFrame(index=pd.Index(pd.unique(area), name="area_id"))
    per_area = [share_beyond(d, s.beyond_threshold_m, area, weight).rename(
        access_columns_from_settings(cat, s)
        .share_beyond[float(s.beyond_threshold_m)]) for cat, d in dists.items()]
    agg = aggregate_to_areas(values, area, weight)
    return pd.concat([agg, *per_area], axis=1)


def _for_index(table: pd.DataFrame, taxonomy, s: Settings) -> pd.DataFrame:
    """The index's view of the table: unreachable people count at the search limit.

    ``<cat>_nearest_m`` is the mean over people who can reach an amenity; for
    ranking, people who cannot (``<cat>_unreachable_share``) count as
    ``max_distance_m`` away, so an area cut off from a service never looks better
    than one that can reach it.
    """
    t = table.copy()
    for cat in taxonomy:
        near, unr = f"{cat}_nearest_m", f"{cat}_unreachable_share"
        if near in t.columns and unr in t.columns:
            u = t[unr].to_numpy(dtype=float)
            d = t[near].to_numpy(dtype=float)
            mixed = np.where(u > 0, np.nan_to_num(d) * (1 - u) + s.max_distance_m * u, d)
            t[near] = np.where(np.isnan(u), d, mixed)
    return t


def _supply(amenities: gpd.GeoDataFrame, rows: np.ndarray, snapped: np.ndarray
            ) -> tuple[pd.Series, dict]:
    """Capacity per snapped amenity for E2SFCA, and how it was obtained.

    When at least half of the category's amenities carry a numeric capacity,
    untagged ones get the median of the tagged ones; otherwise capacity is not
    usable and every facility counts once (supply = 1). The manifest says which.
    """
    cap = amenities["capacity"].to_numpy(dtype=float)[rows][snapped]
    known = np.isfinite(cap) & (cap > 0)
    items = np.flatnonzero(snapped)
    if known.size and known.mean() >= 0.5:
        fill = float(np.median(cap[known]))
        supply = np.where(known, cap, fill)
        note = {"supply": "capacity", "tagged": int(known.sum()),
                "filled_with_median": int((~known).sum()), "median": fill}
    else:
        supply = np.ones(items.size)
        note = {"supply": "1 per facility", "tagged": int(known.sum()),
                "reason": "capacity tagged on fewer than half of the facilities"}
    return pd.Series(supply, index=items), note


def _assemble_areas(areas: gpd.GeoDataFrame, table: pd.DataFrame, index_frame: pd.DataFrame,
                    taxonomy, s: Settings) -> gpd.GeoDataFrame:
    """The output table in the documented column order (see README "Outputs")."""
    from socialrisk.risk.access import access_columns_from_settings

    ids = areas["area_id"].to_numpy()
    t = table.reindex(ids)
    f = index_frame.reindex(ids)
    lead: dict[str, object] = {"area_id": ids}
    name_col = next((c for c in areas.columns if c.lower().endswith("name")), None)
    if name_col:
        lead["area_name"] = areas[name_col].to_numpy()
    lead["population"] = t["population"].to_numpy()
    main: list[str] = []
    extra: list[str] = []
    for cat in taxonomy:
        c = access_columns_from_settings(cat, s)
        count800 = c.count.get(800.0)
        first = [c.nearest, c.walk_min] + ([count800] if count800 else [])
        main += first
        extra += [x for x in [*c.count.values(), *c.share_beyond.values(), f"{cat}_walk_min_slow",
                              c.gravity, c.e2sfca, c.unreachable_share] if x not in first]
    score_cols = [c for c in f.columns if c.endswith("_score")]
    if "access_score" not in score_cols:
        f["access_score"] = np.nan
        score_cols = ["access_score", *score_cols]
    else:
        score_cols = ["access_score", *[c for c in score_cols if c != "access_score"]]
    tail = ["isolation_risk", "isolation_risk_rank", "isolation_risk_decile", "drivers"]
    data_cols = [c for c in t.columns if c not in set(main) | set(extra) | {"population"}]
    cols: dict[str, object] = dict(lead)
    for c in main:
        cols[c] = t[c].to_numpy() if c in t.columns else np.full(len(ids), np.nan)
    for c in [*score_cols, *tail]:
        cols[c] = f[c].to_numpy()
    for c in [*extra, *data_cols]:
        if c in t.columns and c not in cols:
            cols[c] = t[c].to_numpy()
    if "isolation_risk_missing" in f.columns:
        cols["isolation_risk_missing"] = f["isolation_risk_missing"].to_numpy()
    out = pd.DataFrame(cols)
    for c in ("isolation_risk_rank", "isolation_risk_decile"):
        out[c] = pd.array(out[c].round(), dtype="Int64")
    return gpd.GeoDataFrame(out, geometry=areas.geometry.to_numpy(), crs=areas.crs)


def _amenity_outputs(amenities: gpd.GeoDataFrame, snapped: Snapped, crs: str
                     ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Amenity points (polygons at a surface point) with snap results, and the polygons."""
    am = amenities.to_crs(crs).reset_index(drop=True)
    snap_m = np.full(len(am), np.nan)
    ok = np.zeros(len(am), dtype=bool)
    for cat, rows in snapped.amenity_rows.items():
        att = snapped.amenities[cat]
        snap_m[rows] = att.snap_m
        ok[rows] = att.snapped
    am["snap_m"] = snap_m
    am["snapped"] = ok
    polys = am[am.geom_type.isin(["Polygon", "MultiPolygon"])].copy()
    points = am.copy()
    points["geometry"] = am.geometry.representative_point()
    return points, polys
