"""The end-to-end run: inputs -> network, amenities, origins -> access -> index -> outputs.

Each stage is a small function; :func:`run` chains them and times them, and
:func:`run_and_write` adds the outputs. I/O is confined to ``geo`` (reading) and
``socialrisk.outputs`` (writing); ``risk`` is pure computation.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.areas import choose_projected_crs, osm_coverage, read_areas
from geo.asset_match import apply_asset_lists
from geo.boundaries import download_record
from geo.deprivation import FILE7_2025_URL, file7_download
from geo.download import cache_path, default_cache_dir
from geo.origins import origins_from_buildings, origins_from_centroids
from geo.pbf import osm_timestamp, read_pbf
from geo.tables import load_area_data
from geo.taxonomy import amenities_frame, load_taxonomy
from socialrisk import __version__
from socialrisk.core import schema
from socialrisk.core.errors import DownloadError, clipped
from socialrisk.grouping import grouping_extra, read_groups
from socialrisk.hotspotmap import add_hotspot_layers
from socialrisk.lenses import load_lenses
from socialrisk.outdir import check_out_dir
from socialrisk.outputs import map_areas, sha256_file, write_run_outputs
from socialrisk.runstore import APP_DATA_DIR, save_run
from socialrisk.scores import filtered_access, score_all
from socialrisk.settings import DeprivationSource, Settings
from socialrisk.sources import resolve_sources
from socialrisk.stages import (
    Prepared,
    RunResult,
    Snapped,
    Timings,
    access_all,
    access_params,
    amenity_outputs,
    assemble_areas,
    snap_all,
)
from socialrisk.standards import area_standards
from socialrisk.targets import check_wards_lookup, targets_extra
from socialrisk.webmap import build_map

log = logging.getLogger(__name__)

PACKAGES = ["numpy", "pandas", "scipy", "shapely", "pyproj", "geopandas", "pyogrio",
            "osmium", "osmnx", "folium", "scikit-learn"]


#: ``osm = "none"``: no OpenStreetMap input; access indicators are NaN and the domain left out
NO_OSM = "none"
NO_OSM_NOTE = ("osm = \"none\": no OpenStreetMap input, so no walking network and no amenities; "
               "every access indicator is NaN (unknown, not 0), the access domain is left out "
               "of the index and origins are area centroids")


def osm_disabled(s: Settings) -> bool:
    """Whether the run has no OpenStreetMap input (``osm = "none"`` / ``--osm none``)."""
    return s.osm.strip().lower() == NO_OSM


def _versions() -> dict[str, str]:
    out = {"socialrisk": __version__, "python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _projected(frame: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    return frame.to_crs(crs) if len(frame) and frame.crs is not None else frame


def run(settings: Settings) -> RunResult:
    """Compute everything for one run (no files written); see the module docstring."""
    return compute(prepare(settings))


def prepare(settings: Settings) -> Prepared:
    """Read and resolve every input, build origins and snap everything to the network."""

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
        with timings.stage("osm_coverage"):
            # footprints projected once, for the coverage check and the origins
            pbf = replace(pbf, buildings=_projected(pbf.buildings, crs),
                          residential=_projected(pbf.residential, crs))
            manifest["counts"]["areas_osm_coverage"] = osm_coverage(areas, pbf, areas_path)
    manifest["counts"]["osm_skipped"] = getattr(pbf, "skipped", {})
    # local asset lists (docs/assets.md): replace, add to or merge with OSM's amenities
    amenities, taxonomy, manifest["inputs"]["assets"] = apply_asset_lists(
        amenities, s.assets, taxonomy, areas, strict=s.strict, notes=manifest["notes"])
    labels = {name: cat.label for name, cat in taxonomy.items()}

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
            snapped = snap_all(network, amenities, origins, taxonomy, s.max_snap_m, s.quiet)
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
                access, manifest["access"] = access_all(
                    p.network, p.snapped, p.origins, p.amenities, taxonomy, access_params(s),
                    quiet=s.quiet)

    # ---- index
    with timings.stage("index"):

        lenses = load_lenses(s.lenses)
        lens_access, filters = filtered_access(p, lenses, access_params(s))
        table = pd.concat([access.reindex(area_ids), lens_access.reindex(area_ids),
                           p.data.reindex(area_ids)], axis=1)
        if p.population is None:
            table["population"] = np.nan
        shapes = p.areas.set_index(schema.AREA_ID).geometry
        frame, manifest["index"], _ = score_all(table, s, labels, list(taxonomy), lenses,
                                                filters, shapes)
    table = pd.concat([table, area_standards(table, s, labels, manifest["notes"])], axis=1)
    out_areas = assemble_areas(p.areas, table, frame, taxonomy, access_params(s))

    am_points, am_polys = amenity_outputs(p.amenities, p.snapped, p.crs)
    manifest["counts"]["amenities_per_category"] = (
        p.amenities.groupby("category").size().reindex(list(taxonomy), fill_value=0).to_dict())
    manifest["timings_s"] = timings.stages
    return RunResult(areas=out_areas, amenities=am_points, amenity_polygons=am_polys,
                     origins=p.origins, manifest=manifest, labels=labels)


def run_and_write(settings: Settings) -> Path:
    """Run and write the outputs to ``settings.out``; returns the output directory."""
    check_out_dir(settings.out)  # a wrong --out fails now, not after the computation
    check_wards_lookup(settings)  # so does a wrong ward lookup for [targets]
    groups = read_groups(settings)  # ... and for wards.csv
    t0 = time.perf_counter()
    prepared = prepare(settings)
    res = compute(prepared)
    t1 = time.perf_counter()
    out = write_run(prepared, res, settings.out, make_map=settings.map, groups=groups)
    log.info("run: %.1f s in total (outputs %.1f s)", time.perf_counter() - t0,
             time.perf_counter() - t1)
    return out


def write_run(prepared: Prepared, res: RunResult, out: str | Path, make_map: bool = True,
              groups: pd.DataFrame | None = None) -> Path:
    """Write a computed run to the output folder ``out`` (see :mod:`socialrisk.outdir`).

    ``areas.gpkg``, ``areas.csv``, ``amenities.gpkg``, ``map.html`` (unless
    ``make_map`` is False), ``manifest.json`` and the app's data in ``app/``;
    with a ward lookup (``groups``, :func:`socialrisk.grouping.read_groups`, read
    here when None), ``wards.csv``, ``districts.csv`` and ``briefings/``.
    """
    def render(path: Path) -> None:
        tips = [c for c in [schema.AREA_ID, schema.POPULATION, schema.ISOLATION_RISK,
                            schema.DRIVERS]
                if res.areas[c].notna().any()]  # e.g. no population column: no tooltip row
        shapes = map_areas(res.areas)
        build_map(shapes, res.amenities, res.labels, tips,
                  extra_layers=lambda m: add_hotspot_layers(m, shapes)).save(str(path))

    def app_data(tmp: Path) -> None:  # what the app opens a run from (data-only files)
        save_run(prepared, res, tmp / APP_DATA_DIR)

    return write_run_outputs(out, res.areas, res.amenities, res.amenity_polygons,
                             res.manifest, render if make_map else None, labels=res.labels,
                             extra=grouping_extra(  # wards.csv, then targets, then app data
                                 res.areas, prepared.settings, res.manifest, res.labels,
                                 targets_extra(res.areas, prepared.settings, res.manifest,
                                               app_data), groups))


# ---------------------------------------------------------------- stages


def _input_record(path: Path, sha) -> dict:
    p = Path(path)
    return {"path": str(p), "bytes": p.stat().st_size, "sha256": sha(p),
            "modified": time.strftime("%Y-%m-%d", time.gmtime(p.stat().st_mtime))}


def _load_area_data(s: Settings, area_ids: np.ndarray, manifest: dict
                    ) -> tuple[pd.DataFrame, list]:

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
            manifest["notes"].append(msg)  # the whole hint; the terminal gets one short line
            log.warning("no deprivation data: File 7 could not be downloaded (%s); computing "
                        "access only. Offline, pass File 7 with --deprivation FILE.csv "
                        "(where to get it: manifest.json notes)",
                        clipped(getattr(exc, "reason", "") or exc, 120))
    if not sources:
        manifest["index_inputs"] = "access only"
        return pd.DataFrame(index=pd.Index(area_ids, name="area_id")), []
    data, reports = load_area_data(sources, area_ids, cache_dir=cache, strict=s.strict,
                                   lookup=s.lsoa_lookup)
    manifest["inputs"]["deprivation"] = [
        _source_record(src, cache, manifest, sha256_file) for src in sources]
    if s.lsoa_lookup:
        manifest["inputs"]["lsoa_lookup"] = _input_record(Path(s.lsoa_lookup), sha256_file)
        if not any("converted LSOA 2011" in n for r in reports for n in r.notes):
            manifest["notes"].append(f"lsoa_lookup {Path(s.lsoa_lookup).name} was given but no "
                                     f"table is keyed by LSOA 2011 codes: it was not used")
    manifest["counts"]["joins"] = [r.as_dict() if hasattr(r, "as_dict") else vars(r)
                                   for r in reports]
    for r in reports:  # renamed columns, 2011 -> 2021 conversions, WIMD vs IoD: said once more
        name = Path(str(r.source)).name
        manifest["notes"].extend(n if n.startswith(name) else f"{name}: {n}" for n in r.notes)
    return data.reindex(area_ids), reports


def _source_record(src: DeprivationSource, cache: Path, manifest: dict, sha) -> dict:
    """Manifest record of a deprivation source; one given by URL is recorded as a download."""

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
