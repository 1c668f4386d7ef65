"""Page: find underserved neighbourhoods (councils).

Ranked and filtered areas (:func:`risk.profile.underserved`), the
equity view (:mod:`risk.equity`), area types
(:mod:`risk.typology`) and CSV / GeoPackage downloads.
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from risk.profile import underserved
from risk.typology import typology
from socialrisk.core import schema
from socialrisk.core.sanitize import csv_safe
from socialrisk.outputs import map_areas
from socialrisk.rundir import geopackage_bytes
from socialrisk.ui import loaded_result
from socialrisk.ui.site import md_text
from socialrisk.ui.tables import human_table
from socialrisk.ui.wards import equity_section, wards_section
from socialrisk.webmap import (
    OGL_ATTRIBUTION,
    OSM_ATTRIBUTION,
    add_choropleth,
    base_map,
    classify,
    indicator_label,
)

log = logging.getLogger(__name__)

TYPE_COLUMNS = ["access_score", "deprivation_score", "demographic_score",
                schema.walk_min_column("gp"), schema.walk_min_column("community_centre"),
                "transit_stop_count_800m", "share_60_plus", "imd_score"]


@st.cache_data(show_spinner="Grouping the areas ...", max_entries=16)
def _typology(_areas, key, columns, k, labels):
    names = dict(labels)
    return typology(_areas, list(columns), k=k, label=lambda c: _short_label(c, names))


@st.cache_data(show_spinner=False, max_entries=4)
def _gpkg(_areas, key):
    return geopackage_bytes(_areas)


def render(state) -> None:
    """The underserved-areas page."""
    r = loaded_result(state)
    if r is None:
        return
    labels = state.labels
    areas = r.areas
    st.header("Find underserved neighbourhoods")
    cats = [c for c in labels if schema.walk_min_column(c) in areas.columns]
    c1, c2, c3 = st.columns([2, 2, 2])
    deciles = c1.multiselect("Isolation-risk deciles (1 = highest risk)", list(range(1, 11)),
                             default=[], key="under_deciles")
    cat = c2.selectbox("Beyond a walk of ... to", ["(any)", *cats], key="under_cat",
                       format_func=lambda c: labels.get(c, c))
    minutes = c3.slider("Minutes", 0, 60, 15, key="under_minutes",
                        disabled=cat == "(any)")
    table = underserved(areas, deciles or None, None if cat == "(any)" else cat,
                        None if cat == "(any)" else float(minutes))
    table = _fails_filter(table, getattr(getattr(state, "settings", None), "standards", ()))
    show_cols = [c for c in [schema.AREA_ID, schema.AREA_NAME, schema.POPULATION,
                             schema.ISOLATION_RISK, schema.ISOLATION_RISK_DECILE, schema.DRIVERS,
                             "access_score", "deprivation_score", "demographic_score",
                             schema.walk_min_column(cat if cat != "(any)" else "gp"),
                             schema.STANDARDS_FAILED]
                 if c in table.columns]
    st.caption(f"{len(table)} of {len(areas)} areas, highest isolation risk first.")
    shown, config = human_table(pd.DataFrame(table[show_cols]), labels)
    event = st.dataframe(shown, hide_index=True, column_config=config,
                         key="under_table", on_select="rerun", selection_mode="single-row")
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if rows:
        _zoom_map(areas, table, str(table[schema.AREA_ID].iloc[rows[0]]), labels)
    else:
        st.caption("Select a row to zoom the map to that area.")
    d1, d2 = st.columns(2)
    d1.download_button("Download these areas (CSV)",
                       pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
                       .pipe(csv_safe).to_csv(index=False).encode("utf-8"),
                       file_name="underserved_areas.csv", mime="text/csv", key="under_csv")
    d2.download_button("Download all areas (GeoPackage)", _gpkg(areas, id(areas)),
                       file_name="areas.gpkg", mime="application/geopackage+sqlite3",
                       key="under_gpkg")
    st.caption(f"Data: {OSM_ATTRIBUTION}. {OGL_ATTRIBUTION}.")

    st.subheader("Equity: access by deprivation")
    if "imd_decile" not in areas.columns or areas["imd_decile"].isna().all():
        st.info("No deprivation deciles in this run: give the IoD File 7 CSV in the sidebar "
                "to see access by deprivation decile.")
    else:
        ecat = st.selectbox("Walking minutes to", cats, key="equity_cat",
                            index=cats.index("gp") if "gp" in cats else 0,
                            format_func=lambda c: labels.get(c, c))
        col = schema.walk_min_column(ecat)
        equity_section(areas, col,
                       f"walk to the nearest {md_text(_lower(labels.get(ecat, ecat)))}")

    wards_section(state, areas)

    st.subheader("Area types")
    cols = [c for c in TYPE_COLUMNS if c in areas.columns and areas[c].notna().any()]
    t1, t2 = st.columns([3, 1])
    chosen = t1.multiselect("Group the areas on", cols, default=cols, key="types_columns",
                            format_func=lambda c: indicator_label(c, labels))
    kk = t2.selectbox("Number of types", ["best fit (chosen automatically)", *range(2, 9)],
                      key="types_k")
    if not chosen:
        st.info("Choose at least one indicator to group the areas on.")
        return
    try:
        typ = _typology(areas, id(areas), tuple(chosen), None if isinstance(kk, str) else kk,
                        tuple(labels.items()))
    except ValueError as exc:
        st.error(f"{md_text(exc)}.")
        return
    if typ.silhouette:
        st.caption(f"{typ.k} types: the number of types that separates the areas most "
                   f"clearly, each area closer to its own type than to the next one "
                   f"(silhouette score {typ.silhouette[typ.k]:.2f} on a scale from -1 to 1; "
                   f"above 0.5 is a clear grouping, below 0.25 a weak one), of "
                   f"{min(typ.silhouette)} to {max(typ.silhouette)} types tried.")
    st.dataframe(pd.DataFrame({"Type": list(typ.descriptions),
                               "Areas": [int(typ.sizes[t]) for t in typ.descriptions],
                               "Compared with the average area": list(typ.descriptions.values())}),
                 hide_index=True, key="types_table")


def _fails_filter(table: pd.DataFrame, standards) -> pd.DataFrame:
    """The "Fails standard ..." filter: keep areas that fail every standard chosen."""
    have = [s for s in standards if schema.standard_pass_column(s.name) in table.columns]
    if not have:
        return table
    names = {s.name: s.label for s in have}
    chosen = st.multiselect("Fails standard ... (absolute walking distances; areas failing "
                            "all chosen)", list(names), default=[], key="under_standards",
                            format_func=lambda n: names.get(n, n))
    keep = pd.Series(True, index=table.index)
    for n in chosen:
        keep &= table[schema.standard_pass_column(n)].astype("boolean").eq(False).fillna(False)
    return table[keep.to_numpy(dtype=bool)]


def _lower(label: str) -> str:
    """Lower-case a label for a sentence, keeping acronyms (``GP surgery``)."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _zoom_map(areas, table, area_id: str, labels: dict[str, str]) -> None:
    """A map zoomed to ``area_id``, the filtered areas coloured by risk decile."""
    from streamlit_folium import st_folium


    a = map_areas(areas[areas[schema.AREA_ID].isin(table[schema.AREA_ID])]).to_crs("EPSG:4326")
    a = a.reset_index(drop=True)
    one = a[a[schema.AREA_ID] == area_id]
    fmap = base_map(tuple(one.total_bounds))
    col = schema.ISOLATION_RISK_DECILE
    add_choropleth(fmap, a, col, classify(a[col].astype(float), col, labels=labels),
                   [schema.AREA_NAME], highlight=area_id)
    st_folium(fmap, height=380, use_container_width=True, key="under_map",
              returned_objects=[])


def _short_label(column: str, labels: dict[str, str] | None = None) -> str:
    """An indicator's words for a sentence: no parenthesis, first letter lower (not acronyms)."""
    return _lower(indicator_label(column, labels).split(" (")[0])
