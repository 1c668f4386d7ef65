"""Page: what if a facility were added or removed (planners, commissioners).

The recomputation (affected origins only, then the index) is
:mod:`socialrisk.scenarios`; this page only collects the choice and shows
the change per area.
"""

from __future__ import annotations

import logging

import folium
import pandas as pd
import streamlit as st

from socialrisk.core.errors import InputError
from socialrisk.core.sanitize import csv_safe
from socialrisk.core.schema import (
    AREA_ID,
    AREA_NAME,
    ISOLATION_RISK_DECILE,
    POPULATION,
    walk_min_column,
)
from socialrisk.scenarios import add_facility, baseline_table, category_state, remove_facility
from socialrisk.ui.site import (
    ATTR,
    base_map,
    clicked_map,
    location_input,
    md_text,
    point_marker,
    state_parts,
)
from socialrisk.webmap import tooltip_text

log = logging.getLogger(__name__)


def _category_state(p, category: str):
    """The category's per-origin state before any change, kept for the session.

    Every what-if starts from the run as computed (scenarios are not chained).
    """

    cache = st.session_state.setdefault("whatif_states", {})
    key = (id(p), category)
    if key not in cache:
        if len(cache) >= 6:
            cache.clear()
        cache[key] = category_state(p, category)
    return cache[key]


def render(state) -> None:
    """The what-if page."""

    parts = state_parts(state)
    if parts is None:
        return
    p, r, labels = parts
    st.header("What if a facility were added or removed?")
    st.caption("Walking access is recomputed for the people whose nearest place changes, and "
               "the isolation-risk index for every area.")
    cats = list(p.taxonomy)
    cat = st.selectbox("Kind of place", cats, format_func=lambda c: labels.get(c, c),
                       index=cats.index("gp") if "gp" in cats else 0, key="whatif_cat")
    action = st.radio("Change", ["Add a new one", "Remove an existing one"], horizontal=True,
                      key="whatif_action")
    within = st.slider("'Within' line (minutes' walk)", 5, 20, 10, key="whatif_within")
    rows = p.snapped.amenity_rows[cat]
    am = p.amenities
    fmap = base_map(p)
    if action == "Add a new one":
        location_input("whatif", p)
        point = st.session_state.get("whatif_point")
        name = st.text_input("Name of the new place", "New facility", key="whatif_name")
        if point:
            point_marker(point[0], point[1], f"new {labels.get(cat, cat).lower()}",
                         "#1a9641").add_to(fmap)
        existing_markers(fmap, am, rows)
        st.caption("Click the map where the new place would be (grey: existing ones).")
        clicked_map(fmap, "whatif", height=420)
        go = st.button("Run the what-if", type="primary", key="whatif_go_add",
                       disabled=point is None)
    else:
        if len(rows) == 0:
            st.error(f"There is no {md_text(labels.get(cat, cat).lower())} in the data to "
                     "remove; choose another kind of place.")
            return
        names = {int(i): f"{am['name'].iloc[i] or '(no name)'} (row {int(i)})" for i in rows}
        row = st.selectbox("Place to remove", list(names), format_func=names.get,
                           key="whatif_row")
        g = am.geometry.iloc[row].representative_point()
        point_marker(g.y, g.x, names[row], "#d7191c").add_to(fmap)
        fmap.location = [g.y, g.x]
        clicked_map(fmap, "whatif_rm", height=360)
        go = st.button("Run the what-if", type="primary", key="whatif_go_rm")

    if go:
        try:
            with st.spinner("Recomputing ..."):
                cstate = _category_state(p, cat)
                tables = st.session_state.setdefault("whatif_tables", {})
                if id(p) not in tables:
                    tables.clear()
                    tables[id(p)] = baseline_table(r)
                if action == "Add a new one":
                    lat, lon = st.session_state["whatif_point"]
                    res = add_facility(p, r, cat, lon, lat, name=name, state=cstate,
                                       within_min=within, base_table=tables[id(p)])
                else:
                    res = remove_facility(p, r, cat, int(row), state=cstate,
                                          within_min=within, base_table=tables[id(p)])
            st.session_state["whatif_result"] = res
        except InputError as exc:
            st.error(f"{md_text(exc)}.")
            return
    res = st.session_state.get("whatif_result")
    if res is None:
        return
    _show(res, labels, r)
    st.caption(f"Map data {ATTR}.")


def existing_markers(fmap: folium.Map, amenities, rows) -> None:
    """Grey markers of the existing places (``amenities`` rows ``rows``), name as tooltip."""
    for i in rows:
        g = amenities.geometry.iloc[i].representative_point()
        name = amenities["name"].iloc[i]
        folium.CircleMarker([g.y, g.x], radius=4, color="#555", fill=True,
                            tooltip=tooltip_text(name if isinstance(name, str) and name
                                                 else "(no name)")).add_to(fmap)


def _show(res, labels: dict, r) -> None:
    lab = labels.get(res.category, res.category).lower()
    verb = "adding" if res.kind == "add" else "removing"
    st.subheader(f"Result of {verb} {md_text(res.facility.get('name') or 'the place')} "
                 f"({md_text(lab)})")
    ch = res.changes
    c1, c2, c3, c4 = st.columns(4)
    if res.kind == "add":
        c1.metric(f"People newly within {res.within_min:g} minutes",
                  _people(res.people_newly_within))
    else:
        c1.metric(f"People no longer within {res.within_min:g} minutes",
                  _people(res.people_no_longer_within))
    walk = walk_min_column(res.category)
    dec_old, dec_new = f"{ISOLATION_RISK_DECILE}_old", f"{ISOLATION_RISK_DECILE}_new"
    c2.metric("Areas whose walk changes", int((ch[f"{walk}_change"].abs() > 1e-9).sum()))
    moved = ch[dec_old].fillna(-1) != ch[dec_new].fillna(-1)
    c3.metric("Areas changing risk decile", int(moved.sum()))
    c4.metric("Recomputed in", f"{res.seconds:.2f} s")
    for n in res.notes:
        st.info(md_text(n))
    cat = res.category
    show = ch[ch["changed"]].reset_index()
    if show.empty:
        st.info("No area changes: nobody's nearest place of this kind changed.")
        return
    table = pd.DataFrame({
        "Area": show[AREA_ID],
        "Name": show.get(AREA_NAME, pd.Series([""] * len(show))),
        "Population": show[POPULATION].round(0),
        "Minutes before": show[f"{walk}_old"].round(1),
        "Minutes after": show[f"{walk}_new"].round(1),
        "Change": show[f"{walk}_change"].round(2),
        "Decile before": show[dec_old],
        "Decile after": show[dec_new],
        f"Newly within {res.within_min:g} min": show["people_newly_within"].round(0),
        f"No longer within {res.within_min:g} min": show["people_no_longer_within"].round(0),
    }).sort_values("Change")
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption("Decile 1 = the 10 % of areas with the highest isolation risk. Minutes are "
               "population-weighted means over the area's homes.")
    st.download_button("Download the changes (CSV)",
                       csv_safe(show).to_csv(index=False).encode("utf-8"),
                       file_name=f"whatif_{res.kind}_{cat}.csv", mime="text/csv",
                       key="whatif_csv")


def _people(x: float) -> str:
    return "no population data" if x != x else f"{x:,.0f}"
