"""Page: explore the map (planners).

A choropleth of isolation risk or any indicator (socialrisk.webmap), amenity
layers, and the profile of a clicked area (:func:`risk.profile.area_profile`).
"""

from __future__ import annotations

import html
import logging

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from risk.profile import area_profile, score_table
from risk.standards import standards_table
from socialrisk.core.schema import (
    AREA_ID,
    AREA_NAME,
    ISOLATION_RISK,
    ISOLATION_RISK_DECILE,
    POPULATION,
    is_decile,
    nearest_column,
    walk_min_column,
)
from socialrisk.outputs import map_areas
from socialrisk.ui import loaded_result
from socialrisk.ui.site import md_text
from socialrisk.webmap import (
    FitBesideControls,
    add_amenity_layers,
    add_choropleth,
    base_map,
    classify,
    format_value,
    indicator_label,
    map_html,
)

log = logging.getLogger(__name__)

SCHEMES = {"Deciles": "deciles", "Quintiles": "quintiles", "10 equal intervals": "equal"}


def indicator_choices(areas: pd.DataFrame) -> list[str]:
    """Numeric columns with at least one value, isolation risk first."""
    first = [ISOLATION_RISK_DECILE, ISOLATION_RISK, "loneliness_risk_decile", "loneliness_risk",
             *[c for c in areas.columns if c.startswith("risk_") and is_decile(c)],
             "isolation_risk_p_top_decile", "loneliness_risk_p_top_decile",
             "access_score", "deprivation_score", "demographic_score", "imd_decile",
             "imd_score"]
    skip = {"n_origins", "origin_weight", "isolation_risk_missing"}
    num = [c for c in areas.columns if c not in skip and pd.api.types.is_numeric_dtype(areas[c])
           and areas[c].notna().any()]
    return [c for c in first if c in num] + [c for c in num if c not in first]


@st.cache_data(show_spinner=False, max_entries=8)
def _map_areas(_areas, key):
    return map_areas(_areas).to_crs("EPSG:4326").reset_index(drop=True)


def render(state) -> None:
    """The explore page."""
    r = loaded_result(state)
    if r is None:
        return
    labels = state.labels
    areas = r.areas
    st.header("Explore: isolation risk and access, area by area")
    c1, c2, c3 = st.columns([3, 2, 2])
    choices = indicator_choices(areas)
    column = c1.selectbox("Colour the areas by", choices, key="explore_column",
                          format_func=lambda c: indicator_label(c, labels))
    scheme = SCHEMES[c2.selectbox("Classes", list(SCHEMES), key="explore_scheme")]
    cats = list(labels)
    shown = c3.multiselect("Show places", cats, default=[], key="explore_layers",
                           format_func=lambda c: labels.get(c, c))
    a = _map_areas(areas, id(areas))
    selected = st.session_state.get("explore_area")
    fmap = explore_map(a, r.amenities, labels, column, scheme, shown, selected)
    out = st_folium(fmap, height=520, use_container_width=True, key="explore_map",
                    returned_objects=["last_active_drawing", "last_object_clicked"])
    st.download_button("Download this map (HTML, works offline)", map_html(fmap).encode("utf-8"),
                       file_name=f"socialrisk_map_{column}.html", mime="text/html",
                       key="explore_map_html")
    clicked = _clicked_area(out)
    if clicked and clicked != selected:
        st.session_state["explore_area"] = clicked
        st.rerun()
    ids = list(areas[AREA_ID].astype(str))
    pick = st.selectbox("... or choose an area", ["(click the map)", *ids], key="explore_pick")
    if pick != "(click the map)" and pick != selected:
        st.session_state["explore_area"] = pick
        selected = pick
    if selected:
        _profile(areas, selected, labels, state.settings.standards,
                 state.settings.max_distance_m)
    else:
        st.info("Click an area on the map to see its profile.")


def explore_map(a, amenities, labels: dict[str, str], column: str, scheme: str = "deciles",
                shown=(), selected: str | None = None):
    """The page's map: areas ``a`` (EPSG:4326) by ``column``, the ``shown`` amenity layers."""
    classes = classify(a[column].astype(float), column, scheme, labels)
    fmap = base_map(tuple(a.total_bounds))
    tips = [c for c in [AREA_NAME, POPULATION, ISOLATION_RISK_DECILE] if c in a.columns]
    add_choropleth(fmap, a, column, classes, tips, highlight=selected)
    if shown:
        add_amenity_layers(fmap, amenities[amenities["category"].isin(shown)], labels,
                           show=set(shown))
    # fitted beside the legend (bottom left), so that no area is under it
    FitBesideControls(tuple(a.total_bounds)).add_to(fmap)
    return fmap


def _clicked_area(out) -> str | None:
    drawing = (out or {}).get("last_active_drawing") or {}
    props = drawing.get("properties") or {}
    # the map's properties are HTML-escaped (socialrisk.webmap): the id is unescaped
    return html.unescape(str(props[AREA_ID])) if props.get(AREA_ID) else None


def _profile(areas: pd.DataFrame, area_id: str, labels: dict[str, str],
             standards=(), max_distance_m: float | None = None) -> None:
    try:
        prof = area_profile(areas, area_id, labels)
    except KeyError:
        st.error(f"Area {md_text(area_id)} is not in this run; click an area on the map.")
        return
    n = len(areas)
    st.subheader(f"Area {md_text(prof.area_id)}"
                 + (f" ({md_text(prof.name)})" if prof.name else ""))
    c1, c2, c3 = st.columns(3)
    c1.metric("Population", format_value(POPULATION, prof.population))
    c2.metric("Isolation-risk decile (1 = highest risk)",
              format_value(ISOLATION_RISK_DECILE, prof.decile))
    c3.metric("Isolation-risk score (0-100)", format_value(ISOLATION_RISK, prof.risk))
    if prof.drivers:
        st.markdown(f"**What drives the risk here:** {md_text(prof.drivers)}.")
    _scores(areas, area_id)
    if not prof.domains.empty:
        st.markdown("**Domain scores** (0-100, higher = more risk)")
        st.dataframe(pd.DataFrame({
            "Domain": prof.domains["domain"].str.capitalize(),
            "Score": prof.domains["score"].round(1),
            f"Higher than (of {n - 1} other areas)":
                [format_value("x_share", v) for v in prof.domains["share_of_areas_lower"]],
        }), hide_index=True)
    weighted = POPULATION in areas.columns and areas[POPULATION].notna().any()
    st.markdown("**Nearest places by walking** ("
                + ("population-weighted " if weighted else "")
                + "means over the area's homes)")
    st.dataframe(pd.DataFrame({
        "Kind of place": prof.access["label"],
        "Nearest": [format_value(nearest_column("x"), v) for v in prof.access["nearest_m"]],
        "Walk": [format_value(walk_min_column("x"), v) for v in prof.access["walk_min"]],
        "Average number within 800 m": prof.access["count_800m"].round(1),
        "Other areas with a shorter walk":
            [format_value("x_share", v) for v in prof.access["share_of_areas_better"]],
    }), hide_index=True)
    _standards(areas, area_id, labels, standards, max_distance_m)


def _standards(areas: pd.DataFrame, area_id: str, labels: dict[str, str], standards,
               max_distance_m: float | None) -> None:
    """Pass / FAILS per absolute standard on the area's mean walks (risk.standards)."""
    if not standards:
        return
    row = areas.loc[areas[AREA_ID].astype(str) == str(area_id)].iloc[0]
    t = standards_table(row, standards, labels=labels, max_distance_m=max_distance_m)
    st.markdown("**Against walking-distance standards** (absolute; the area's "
                "population-weighted mean walk to the nearest place of each kind)")
    st.dataframe(pd.DataFrame({"Standard": t["label"], "Result": t["result"],
                               "Walking distances": t["detail"]}), hide_index=True,
                 key="explore_standards")
    st.caption("Sources: " + " | ".join(md_text(f"{a}: {b}") for a, b in
                                       zip(t["label"], t["source"], strict=True)))


def score_name(column: str) -> str:
    """``loneliness_risk`` -> "Loneliness risk"; ``risk_older_people`` -> "Older people"."""
    if column.startswith("risk_"):
        return column[len("risk_"):].replace("_", " ").capitalize()
    return column.replace("_", " ").capitalize()


def _scores(areas: pd.DataFrame, area_id: str) -> None:
    """Every score of the area, with its rank interval when the run has --uncertainty."""
    t = score_table(areas, area_id)
    for c in ("value", "rank", "decile", "rank_p05", "rank_p95", "p_top_decile"):
        t[c] = pd.to_numeric(t[c], errors="coerce").astype("float64")
    if len(t) < 2 and t["rank_p05"].isna().all():
        return
    n = int(areas[ISOLATION_RISK].notna().sum())
    has_mc = t["rank_p05"].notna().any()
    st.markdown(f"**Every score of this area** (rank 1 = highest risk of {n} areas"
                + ("; the interval holds 90 % of the ranks over the Monte Carlo draws"
                   if has_mc else "") + ")")
    table = pd.DataFrame({
        "Score": [score_name(c) for c in t["score"]],
        "Decile (1 = highest risk)": [format_value(ISOLATION_RISK_DECILE, v)
                                      for v in t["decile"]],
        "Rank": [format_value("x_rank", v) for v in t["rank"]],
    })
    if has_mc:
        table["Rank interval (5-95 %)"] = [
            "" if pd.isna(a) else f"{a:.0f} to {b:.0f}"
            for a, b in zip(t["rank_p05"], t["rank_p95"], strict=True)]
        table["In top decile (share of draws)"] = [
            "" if pd.isna(v) else f"{100 * v:.0f} %" for v in t["p_top_decile"]]
        table["Robustly at risk"] = ["yes" if r else "" for r in t["robust"]]
    # a dataframe cell is plain text, not Markdown: no md_text (backslashes) here
    table["What drives it"] = [d if isinstance(d, str) else "" for d in t["drivers"]]
    st.dataframe(table, hide_index=True,
                 column_config={"What drives it": st.column_config.TextColumn(width="large")})
