"""Page: screen a development site (housing teams).

Click the map, type coordinates or upload site polygons; shows walking access
to every category, 5/10/15-minute isochrones and how the site compares with the
areas, and offers a one-page report. The maths is in
:mod:`socialrisk.screening` and :mod:`risk.isochrone`.
"""

from __future__ import annotations

import logging
import math
import string

import folium
import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from geo.uploads import read_upload_layer
from risk.isochrone import isochrone
from socialrisk.core.errors import InputError
from socialrisk.report import html_to_pdf, pdf_available, site_report_html
from socialrisk.screening import screen_site
from socialrisk.ui import loaded_result
from socialrisk.webmap import (
    OGL_ATTRIBUTION,
    OSM_ATTRIBUTION,
    FitBesideControls,
    Legend,
    add_area_outlines,
    area_outlines_geojson,
    tooltip_text,
)
from socialrisk.webmap import base_map as offline_base_map

log = logging.getLogger(__name__)

ATTR = f"{OSM_ATTRIBUTION}. {OGL_ATTRIBUTION}"
ISO_COLOURS = {5: "#08519c", 10: "#3182bd", 15: "#9ecae1"}


# ---------------------------------------------------------------- shared by the pages

_MD_ESCAPE = str.maketrans({ch: "\\" + ch for ch in string.punctuation})


def md_text(value) -> str:
    """Outside text made literal for Streamlit markdown (st.markdown, captions, labels ...).

    Every ASCII punctuation character is backslash-escaped (CommonMark shows it as
    itself), so a name cannot make a link (``[x](javascript:...)``), an image,
    HTML, emphasis, LaTeX (``$``) or a Streamlit directive (``:red[...]``); line
    breaks become spaces. None and NaN become an empty string.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = " ".join(str(value).splitlines())
    return text.translate(_MD_ESCAPE)



def state_parts(state):
    """(prepared, result, labels) of the app state, or None after an st.error."""

    r = loaded_result(state)
    if r is None:
        return None
    p = state.prepared
    if getattr(p, "network", None) is None:
        st.error("This run has no walking network (osm = \"none\"). Run socialrisk with "
                 "OpenStreetMap data (the default, or --osm FILE) to use this page.")
        return None
    labels = getattr(state, "labels", None) or p.labels
    return p, r, labels


def data_note(prepared) -> str:
    osm = prepared.manifest.get("inputs", {}).get("osm", {})
    when = osm.get("data_timestamp") if isinstance(osm, dict) else None
    return f"OpenStreetMap data of {when}." if when else ""


def base_map(prepared, height_hint: int = 12) -> folium.Map:
    """An offline folium map (embedded Leaflet) over the study areas, with attribution.

    The study areas' outlines are drawn (light grey, no fill, not clickable) so
    that the map reads without basemap tiles.
    """

    fmap = offline_base_map(tuple(prepared.areas.to_crs("EPSG:4326").total_bounds))
    add_area_outlines(fmap, _outlines(prepared.areas, id(prepared.areas)))
    return fmap


@st.cache_data(show_spinner=False, max_entries=4)
def _outlines(_areas, key) -> dict:
    """The areas' outlines as GeoJSON, once per run (``key`` identifies the areas)."""
    return area_outlines_geojson(_areas)


def point_marker(lat: float, lon: float, tooltip: str, colour: str) -> folium.CircleMarker:
    """A marker that needs nothing but Leaflet (folium.Icon needs Bootstrap from a CDN)."""
    return folium.CircleMarker([lat, lon], radius=9, color="#222222", weight=2, fill=True,
                               fill_color=colour, fill_opacity=0.95,
                               tooltip=tooltip_text(tooltip))


def location_input(key: str, prepared, default=(50.6995, -1.2915)):
    """Coordinates typed by the user; the map click is handled by :func:`clicked_map`."""
    cur = st.session_state.get(f"{key}_point", None)
    lat0, lon0 = cur if cur else default
    c1, c2, c3 = st.columns([2, 2, 1])
    lat = c1.number_input("Latitude", value=float(lat0), format="%.5f", key=f"{key}_lat")
    lon = c2.number_input("Longitude", value=float(lon0), format="%.5f", key=f"{key}_lon")
    if c3.button("Use these", key=f"{key}_use"):
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            st.error("Latitude must be between -90 and 90 and longitude between -180 and "
                     "180 (decimal degrees, e.g. 50.6995, -1.2915).")
        else:
            st.session_state[f"{key}_point"] = (float(lat), float(lon))
            st.rerun()


def clicked_map(fmap: folium.Map, key: str, height: int = 480) -> None:
    """Show ``fmap``; a click stores (lat, lon) in ``session_state[key + '_point']``."""
    out = st_folium(fmap, height=height, use_container_width=True, key=f"{key}_map",
                    returned_objects=["last_clicked"])
    click = (out or {}).get("last_clicked")
    if click:
        pt = (round(float(click["lat"]), 6), round(float(click["lng"]), 6))
        if st.session_state.get(f"{key}_last_click") != pt:
            st.session_state[f"{key}_last_click"] = pt
            st.session_state[f"{key}_point"] = pt
            st.rerun()


def read_site_upload(data: bytes, filename: str) -> gpd.GeoDataFrame:
    """Site polygons from an uploaded GeoJSON, GeoPackage or zipped Shapefile, in EPSG:4326.

    Raises
    ------
    InputError
        With the fix, when the file cannot be read or holds no polygons.
    """

    gdf = read_upload_layer(data, filename)  # size, type and zip safety checked there
    if gdf.empty:
        raise InputError(f"{filename} has no features; draw the site polygons and save again")
    if gdf.crs is None:
        raise InputError(f"{filename} has no coordinate reference system; save it with one "
                         "(GeoJSON is WGS84 by definition; set EPSG:4326)")
    gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if gdf.empty:
        raise InputError(f"{filename} has no polygons (only points or lines); upload the site "
                         "boundaries as polygons, or click the site on the map")
    return gdf.to_crs("EPSG:4326").reset_index(drop=True)


# ---------------------------------------------------------------- cached computations


@st.cache_data(show_spinner=False, max_entries=32)
def _screen(_prepared, _areas, key, lat, lon, polygon_wkb, at):
    """Screening and isochrones, cached per site (``key`` identifies the run)."""
    poly = shapely.from_wkb(polygon_wkb) if polygon_wkb else None
    if poly is None:
        sc = screen_site(_prepared, lon, lat, areas=_areas)
    else:
        sc = screen_site(_prepared, polygon=poly, at=at, areas=_areas)
    s = _prepared.settings
    iso = isochrone(_prepared.network, sc.site["x"], sc.site["y"], (5, 10, 15),
                    s.walk_speed_kmh, polygon=sc.site["geometry"] if poly is not None else None,
                    max_snap_m=s.max_snap_m)
    return sc, iso


# ---------------------------------------------------------------- page


def render(state) -> None:
    """The site-screening page."""
    parts = state_parts(state)
    if parts is None:
        return
    p, r, labels = parts
    st.header("Screen a development site")
    st.caption("Walking access from a site to every kind of place, along streets and paths, "
               "compared with the small areas.")
    mode = st.radio("Site", ["Click the map or type coordinates", "Upload site polygons"],
                    horizontal=True, key="site_mode")
    polygon, at, title = None, "edge", ""
    if mode == "Upload site polygons":
        up = st.file_uploader("Site polygons (GeoJSON, GeoPackage or zipped Shapefile)",
                              type=["geojson", "json", "gpkg", "zip"], key="site_upload",
                              max_upload_size=20)
        if up is None:
            st.info("Upload a small file of site polygons (GeoJSON or GeoPackage).")
            return
        try:
            sites = read_site_upload(up.getvalue(), up.name)
        except InputError as exc:
            st.error(md_text(exc))
            return
        name_col = next((c for c in sites.columns if c.lower() in ("name", "site", "site_name",
                                                                    "id", "ref")), None)
        names = [str(sites[name_col].iloc[i]) if name_col else f"Site {i + 1}"
                 for i in range(len(sites))]
        pick = st.selectbox("Site", range(len(sites)), format_func=lambda i: names[i],
                            key="site_pick")
        at = "edge" if st.radio("Reached", ["at its edge", "at a point inside"],
                                horizontal=True, key="site_at") == "at its edge" else "point"
        polygon = sites.geometry.iloc[pick]
        title = names[pick]
        rp = polygon.representative_point()
        lat, lon = rp.y, rp.x
    else:
        location_input("site", p)
        point = st.session_state.get("site_point")
        if point is None:
            st.info("Click the site on the map, or type its coordinates and press "
                    "'Use these'.")
            fmap = base_map(p)
            clicked_map(fmap, "site")
            return
        lat, lon = point
    run_key = id(p)
    try:
        with st.spinner("Walking from the site ..."):
            sc, iso = _screen(p, r.areas, run_key, float(lat), float(lon),
                              polygon.wkb if polygon is not None else None, at)
    except InputError as exc:
        st.error(f"{md_text(exc)}.")
        if polygon is None:
            fmap = base_map(p)
            clicked_map(fmap, "site")
        return

    fmap = site_map(p, sc, iso, polygon, labels)
    c1, c2 = st.columns([3, 2])
    with c1:
        if polygon is None:
            clicked_map(fmap, "site")
        else:
            st_folium(fmap, height=480, use_container_width=True, key="site_poly_map",
                      returned_objects=[])
    with c2:
        st.markdown(f"**Site** {sc.site['lat']:.5f}, {sc.site['lon']:.5f}, "
                    f"{sc.site['snap_m']:.0f} m from the nearest street or path.")
        areas_iso = ", ".join(f"{m:g} min: {a / 1e6:.2f} km²"
                              for m, a in zip(iso["minutes"], iso["area_m2"], strict=True))
        st.markdown(f"**Walkable area** {areas_iso}.")
        _standards(sc)
        best = sc.table.dropna(subset=["better_than_share"])
        for t in best.itertuples():
            if t.comparison:
                st.markdown(f"- {md_text(t.comparison[0].upper() + t.comparison[1:])}")
        for n in sc.notes:
            st.caption(f"Note: {md_text(n)}.")
    show = pd.DataFrame({
        "Kind": [labels.get(c, lab) for c, lab in zip(sc.table["category"], sc.table["label"],
                                                     strict=True)],
        "Nearest": sc.table["nearest_name"].fillna("(no name in OSM)")
        .where(sc.table["nearest_row"] >= 0, ""),
        "Metres": sc.table["nearest_m"].round(0),
        f"Minutes ({p.settings.walk_speed_kmh:g} km/h)": sc.table["walk_min"].round(1),
        f"Minutes ({p.settings.slow_walk_speed_kmh:g} km/h)": sc.table["walk_min_slow"].round(1),
        f"Within {sc.within_m:g} m": sc.table["count_within"],
        "Better than (% of areas)": (100 * sc.table["better_than_share"]).round(0),
    })
    small = {c: st.column_config.NumberColumn(c, width="small")
             for c in show.columns if c not in ("Kind", "Nearest")}
    st.dataframe(show, hide_index=True, width="stretch", column_config=small)
    _downloads(sc, iso, p, title)
    st.caption(f"Map data {ATTR}.")


def _standards(sc) -> None:
    """Pass / FAILS per absolute standard (exact walks from the site), before the ranks."""
    stds = getattr(sc, "standards", None)
    if stds is None or not len(stds):
        return
    st.markdown("**Against walking-distance standards** (absolute):")
    for t in stds.itertuples():
        mark = {"passes": "passes", "FAILS": ":red[**FAILS**]"}.get(t.result, "unknown")
        st.markdown(f"- {mark} {md_text(t.label)}: {md_text(t.detail)}")
    st.markdown("**Compared with the areas** (relative):")


def site_map(p, sc, iso, polygon=None, labels: dict | None = None) -> folium.Map:
    """The page's map: isochrones ``iso``, the site and the nearest place of each kind."""
    labels = labels or {}
    fmap = base_map(p)
    iso4326 = iso.to_crs("EPSG:4326")
    for row in iso4326.sort_values("minutes", ascending=False).itertuples():
        colour = ISO_COLOURS.get(int(row.minutes), "#3182bd")
        folium.GeoJson(row.geometry.__geo_interface__, name=f"{row.minutes:g} min walk",
                       style_function=_style(colour),
                       tooltip=tooltip_text(f"within {row.minutes:g} minutes' walk")
                       ).add_to(fmap)
    if polygon is not None:
        folium.GeoJson(polygon.__geo_interface__, name="site",
                       style_function=lambda _f: {"color": "#000", "fill": False,
                                                  "weight": 2}).add_to(fmap)
    point_marker(sc.site["lat"], sc.site["lon"], "site", "#d7191c").add_to(fmap)
    am = p.amenities
    for t in sc.table.itertuples():
        if t.nearest_row >= 0:
            g = am.geometry.iloc[t.nearest_row].representative_point()
            name = t.nearest_name if isinstance(t.nearest_name, str) and t.nearest_name \
                else "(no name)"
            folium.CircleMarker([g.y, g.x], radius=6, color="#d95f02", fill=True,
                                tooltip=tooltip_text(f"{labels.get(t.category, t.label)}: "
                                                     f"{name}, {t.walk_min:.0f} min")
                                ).add_to(fmap)
    rows = [(ISO_COLOURS.get(int(m), "#3182bd"), f"within {m:g} minutes' walk")
            for m in sorted(iso4326["minutes"].unique())]
    rows += [("#d95f02", "nearest place of each kind"), ("#d7191c", "the site")]
    Legend("Walking time from the site", rows).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    FitBesideControls(tuple(iso4326.total_bounds)).add_to(fmap)  # after the legend
    return fmap


def _style(colour: str):
    return lambda _f: {"fillColor": colour, "color": colour, "weight": 1, "fillOpacity": 0.25}


def _downloads(sc, iso, p, title: str) -> None:

    doc = site_report_html(sc, iso, p.amenities, title=title or "Site screening",
                           data_note=data_note(p))
    c1, c2 = st.columns(2)
    c1.download_button("Download the site report (HTML)", doc.encode("utf-8"),
                       file_name="site_report.html", mime="text/html", key="site_report_html")
    if pdf_available():
        if c2.button("Make a PDF", key="site_pdf_make"):
            st.session_state["site_pdf"] = html_to_pdf(doc)
        if st.session_state.get("site_pdf"):
            c2.download_button("Download the PDF", st.session_state["site_pdf"],
                               file_name="site_report.pdf", mime="application/pdf",
                               key="site_report_pdf")
    else:
        c2.caption("For a PDF, open the HTML report and print it to PDF from the browser.")
