"""Page: what if a facility were added or removed (planners, commissioners).

The recomputation (affected origins only, then the index) is
:mod:`socialrisk.scenarios`; this page only collects the choice and shows
the change per area: scores and deciles on the baseline run's scale (an area
the change does not touch keeps its decile), a before/after map coloured by
the change in risk, and the table of changed areas.
"""

from __future__ import annotations

import json
import logging

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from socialrisk.core.errors import InputError
from socialrisk.core.sanitize import csv_safe, html_text
from socialrisk.core.schema import (
    AREA_ID,
    AREA_NAME,
    ISOLATION_RISK,
    ISOLATION_RISK_DECILE,
    walk_min_column,
)
from socialrisk.scenarios import (
    SCALE_NOTE,
    add_facility,
    baseline_table,
    category_state,
    remove_facility,
)
from socialrisk.ui.site import (
    ATTR,
    base_map,
    clicked_map,
    location_input,
    md_text,
    point_marker,
    state_parts,
)
from socialrisk.webmap import Legend, tooltip_text

log = logging.getLogger(__name__)

#: the before/after map's classes: (key, colour, legend label)
CHANGE_CLASSES = (("better", "#1a9641", "lower risk (better)"),
                  ("worse", "#d7191c", "higher risk (worse)"),
                  ("unchanged", "#ffffff", "unchanged (outline only)"))


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
            point_marker(point[0], point[1], f"new {in_text(labels.get(cat, cat))}",
                         "#1a9641").add_to(fmap)
        existing_markers(fmap, am, rows)
        st.caption("Click the map where the new place would be (grey: existing ones).")
        clicked_map(fmap, "whatif", height=420)
        go = st.button("Run the what-if", type="primary", key="whatif_go_add",
                       disabled=point is None)
    else:
        if len(rows) == 0:
            st.error(f"There is no {md_text(in_text(labels.get(cat, cat)))} in the data to "
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
    _show(res, labels, r, p)
    st.caption(f"Map data {ATTR}.")


def existing_markers(fmap: folium.Map, amenities, rows) -> None:
    """Grey markers of the existing places (``amenities`` rows ``rows``), name as tooltip."""
    for i in rows:
        g = amenities.geometry.iloc[i].representative_point()
        name = amenities["name"].iloc[i]
        folium.CircleMarker([g.y, g.x], radius=4, color="#555", fill=True,
                            tooltip=tooltip_text(name if isinstance(name, str) and name
                                                 else "(no name)")).add_to(fmap)


def risk_change_class(changes: pd.DataFrame) -> pd.Series:
    """Per area ``"better"``, ``"worse"`` or ``"unchanged"`` (risk on the baseline's scale).

    An area without a score before or after is ``"unchanged"``.
    """
    d = changes[f"{ISOLATION_RISK}_change"].to_numpy(dtype=float)
    out = np.where(d < 0, "better", np.where(d > 0, "worse", "unchanged"))
    return pd.Series(out, index=changes.index, dtype=object)


def change_map(p, res, labels: dict, areas: gpd.GeoDataFrame) -> folium.Map:
    """The before/after map: the areas whose risk changed, coloured by the change.

    Every study area is outlined (:func:`socialrisk.ui.site.base_map`), so the
    map reads without basemap tiles; the areas whose risk went down (up) are
    filled green (red), with a tooltip of the area, its walk and its score and
    decile before and after (outside text escaped); a legend counts the areas
    of each class; the new or removed place is marked; the view is fitted to
    the changed areas.
    """
    ch = res.changes
    cls = risk_change_class(ch)
    fmap = base_map(p)
    lab = labels.get(res.category, res.category)
    walk = walk_min_column(res.category)
    moved = cls[cls != "unchanged"].index
    a = areas.set_index(AREA_ID).loc[moved].to_crs("EPSG:4326") if len(moved) else None
    colours = {k: c for k, c, _ in CHANGE_CLASSES}
    if a is not None:
        c = ch.loc[moved]

        def fmt(v, f):
            return "no data" if v != v else f.format(v)

        props = pd.DataFrame({
            "area": [html_text(f"{i} {n}".strip()) for i, n in
                     zip(moved, c.get(AREA_NAME, pd.Series("", index=moved)).fillna(""),
                         strict=True)],
            "walk": [html_text(f"{fmt(o, '{:.0f}')} -> {fmt(n, '{:.0f}')} min") for o, n in
                     zip(c[f"{walk}_old"], c[f"{walk}_new"], strict=True)],
            "risk": [html_text(f"{fmt(o, '{:.1f}')} -> {fmt(n, '{:.1f}')} "
                               f"({fmt(n - o, '{:+.2f}')})") for o, n in
                     zip(c[f"{ISOLATION_RISK}_old"], c[f"{ISOLATION_RISK}_new"], strict=True)],
            "decile": [html_text(f"{fmt(_num(o), '{:.0f}')} -> {fmt(_num(n), '{:.0f}')}")
                       for o, n in zip(c[f"{ISOLATION_RISK_DECILE}_old"],
                                       c[f"{ISOLATION_RISK_DECILE}_new"], strict=True)],
            "_fill": [colours[k] for k in cls.loc[moved]],
        }, index=moved)
        g = gpd.GeoDataFrame(props, geometry=a.geometry.simplify(0.00005).to_numpy(),
                             crs="EPSG:4326")
        fields = ["area", "walk", "risk", "decile"]
        aliases = [html_text(t) for t in ("Area", f"Walk to {in_text(lab)}",
                                          "Isolation risk (baseline scale)",
                                          "Decile (baseline scale)")]
        folium.GeoJson(json.loads(g.to_json(drop_id=True)),
                       name=html_text("Change in isolation risk"),
                       style_function=lambda f: {"fillColor": f["properties"]["_fill"],
                                                 "color": "#333333", "weight": 1.2,
                                                 "fillOpacity": 0.6},
                       highlight_function=lambda f: {"weight": 3, "color": "#000000"},
                       tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases,
                                                     sticky=True)).add_to(fmap)
        b = a.total_bounds
        lat0, lon0 = min(b[1], res.facility["lat"]), min(b[0], res.facility["lon"])
        lat1, lon1 = max(b[3], res.facility["lat"]), max(b[2], res.facility["lon"])
        # room on the left for the legend (bottom-left), so it covers no changed area
        fmap.fit_bounds([[lat0, lon0], [lat1, lon1]], padding_top_left=(300, 30),
                        padding_bottom_right=(30, 50))
    verb = "new" if res.kind == "add" else "removed"
    point_marker(res.facility["lat"], res.facility["lon"],
                 f"{verb} {in_text(lab)}: {res.facility.get('name') or ''}",
                 "#1a9641" if res.kind == "add" else "#d7191c").add_to(fmap)
    counts = cls.value_counts()
    rows = [(c, f"{t}: {int(counts.get(k, 0))} areas") for k, c, t in CHANGE_CLASSES]
    Legend("Change in isolation risk", rows,
           f"on the baseline run's scale; circle: the {verb} place").add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def in_text(label: str) -> str:
    """A category label inside a sentence: "Community centre" -> "community centre".

    Abbreviations keep their capitals ("GP surgery" stays).
    """
    label = str(label)
    if len(label) > 1 and label[:2].isupper():
        return label
    return label[:1].lower() + label[1:]


def _num(v) -> float:
    return float("nan") if v is None or v is pd.NA or v != v else float(v)


def _show(res, labels: dict, r, p=None) -> None:
    lab = in_text(labels.get(res.category, res.category))
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
    c3.metric("Areas changing risk decile", int(moved.sum()),
              help="On the baseline run's scale: see the note below.")
    c4.metric("Recomputed in", f"{res.seconds:.2f} s")
    st.caption(decile_note(ch))
    for n in res.notes:
        st.info(md_text(n))
    if p is not None:
        st.markdown("**Before and after: change in isolation risk**")
        st_folium(change_map(p, res, labels, r.areas), height=460, use_container_width=True,
                  key="whatif_change_map", returned_objects=[])
    cat = res.category
    show = ch[ch["changed"]].reset_index()
    if show.empty:
        st.info("No area changes: nobody's nearest place of this kind changed.")
        return
    table, tiny = changes_table(show, res)
    if table.empty:
        st.info(f"No area's walk or risk changes by as much as the table shows (0.01 minutes "
                f"or 0.01 risk points): {tiny} area(s) change by less; they are in the CSV.")
    else:
        people = people_header(res)
        num = st.column_config.NumberColumn
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "Area": st.column_config.TextColumn(width=86),
            "Name": st.column_config.TextColumn(width=118),
            "Minutes before": num(format="%.2f", width=100,
                                  help=md_text(f"Walk to the nearest {in_text(lab)}")),
            "Minutes after": num(format="%.2f", width=90),
            "Change": num(format="%+.2f", width=64, help="Minutes; below 0: a shorter walk"),
            "Risk before": num(format="%.2f", width=82,
                               help="Isolation risk (0-100, higher = more risk)"),
            "Risk after": num(format="%.2f", width=72),
            "Decile before": num(width=92, help="1 = the highest-risk 10 % of areas"),
            "Decile after": num(width=82),
            people: num(format="localized", width=124,
                        help=("People whose walk is now within" if res.kind == "add" else
                              "People whose walk was within and now is not")
                        + f" {res.within_min:g} minutes")})
    shown = "" if not tiny else (
        f" {tiny} more area(s) change by less than 0.01 minutes and 0.01 risk points; "
        f"they are in the CSV.")
    st.caption("Decile 1 = the 10 % of areas with the highest isolation risk in the run "
               "before the change; 'after' is on the same (baseline) scale. Minutes are "
               "population-weighted means over the area's homes." + shown)
    st.download_button("Download the changes (CSV)",
                       csv_safe(show).to_csv(index=False).encode("utf-8"),
                       file_name=f"whatif_{res.kind}_{cat}.csv", mime="text/csv",
                       key="whatif_csv")


def decile_note(ch: pd.DataFrame) -> str:
    """The note under the metrics: how many areas change decile, on which scale, and in a
    fresh run (re-ranked) -- the first count is the metric's, said the same way."""
    dec_old = ch[f"{ISOLATION_RISK_DECILE}_old"].fillna(-1)
    moved = dec_old != ch[f"{ISOLATION_RISK_DECILE}_new"].fillna(-1)
    outside = moved & ~ch["changed"]
    rerun = dec_old != ch[f"{ISOLATION_RISK_DECILE}_rerun"].fillna(-1)
    untouched = rerun & ~ch["changed"]
    n, n_out, n_re, n_un = (int(x.sum()) for x in (moved, outside, rerun, untouched))
    first = (f"{_areas(n)} {'change' if n > 1 else 'changes'} risk decile; "
             + ("no area the change does not reach moves." if n_out == 0 else
                f"{_areas(n_out).lower()} the change does not reach "
                f"{'move' if n_out > 1 else 'moves'}."))
    again = (f"{_areas(n_re).lower()} would change decile"
             + ("" if n_re == 0 else
                " (none of them outside the areas the change reaches)" if n_un == 0 else
                f", {n_un} of them outside the areas the change reaches (they move only "
                f"because the others' ranks moved)"))
    return (f"{first} {SCALE_NOTE} A fresh run that included this change would instead rank "
            f"every area again against the others' new values; then {again}.")


def _areas(n: int) -> str:
    return "No area" if n == 0 else "1 area" if n == 1 else f"{n:,} areas"


def people_header(res) -> str:
    """The changes table's people column: newly within reach (add) or now beyond (remove)."""
    return (f"Newly within {res.within_min:g} min" if res.kind == "add"
            else f"Now beyond {res.within_min:g} min")


def changes_table(show: pd.DataFrame, res) -> tuple[pd.DataFrame, int]:
    """The table of changed areas, and how many changed areas it leaves out.

    Only the areas where a value changes at the precision shown (0.01 minutes,
    0.01 risk points, a decile, a whole person) are listed, so no row reads
    "0" with the same values before and after; the others are in the CSV.
    Largest change in walk first.
    """
    walk = walk_min_column(res.category)
    dec_old, dec_new = f"{ISOLATION_RISK_DECILE}_old", f"{ISOLATION_RISK_DECILE}_new"
    mins = show[[f"{walk}_old", f"{walk}_new"]].round(2)
    risk = show[[f"{ISOLATION_RISK}_old", f"{ISOLATION_RISK}_new"]].round(2)
    ppl = "people_newly_within" if res.kind == "add" else "people_no_longer_within"
    people = show[ppl].round(0)

    def differs(a: pd.Series, b: pd.Series) -> pd.Series:
        return (a != b) & ~(a.isna() & b.isna())

    seen = (differs(mins.iloc[:, 0], mins.iloc[:, 1])
            | differs(risk.iloc[:, 0], risk.iloc[:, 1])
            | differs(show[dec_old].astype("Float64").fillna(-1),
                      show[dec_new].astype("Float64").fillna(-1))
            | (people.fillna(0) > 0)).to_numpy(dtype=bool)
    s = show[seen]
    table = pd.DataFrame({
        "Area": s[AREA_ID].astype(str),
        "Name": s[AREA_NAME].fillna("").astype(str) if AREA_NAME in s.columns
        else pd.Series([""] * len(s), index=s.index),
        "Minutes before": mins[f"{walk}_old"][seen],
        "Minutes after": mins[f"{walk}_new"][seen],
        "Change": (s[f"{walk}_new"] - s[f"{walk}_old"]).round(2),
        "Risk before": risk[f"{ISOLATION_RISK}_old"][seen],
        "Risk after": risk[f"{ISOLATION_RISK}_new"][seen],
        "Decile before": s[dec_old],
        "Decile after": s[dec_new],
        people_header(res): people[seen],
    })
    table = table.iloc[np.argsort(-table["Change"].abs().fillna(0).to_numpy(), kind="stable")]
    return table, int(len(show) - seen.sum())


def _people(x: float) -> str:
    return "no population data" if x != x else f"{x:,.0f}"
