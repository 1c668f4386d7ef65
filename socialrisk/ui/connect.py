"""Page: connect a person to community assets (social prescribers, link workers).

A location, a walk (minutes and speed) and an optional wheelchair filter give
the places within reach, grouped by kind, nearest first, with what
OpenStreetMap says about opening hours and access; and a printable list. The
search is :func:`socialrisk.screening.assets_within`.
"""

from __future__ import annotations

import logging

import folium
import pandas as pd
import streamlit as st

from socialrisk.core.errors import InputError
from socialrisk.core.sanitize import safe_url
from socialrisk.core.schema import AMENITY_SOURCE as SOURCE
from socialrisk.core.schema import OSM_SOURCE
from socialrisk.report import assets_list_html
from socialrisk.screening import assets_within
from socialrisk.ui.site import (
    ATTR,
    base_map,
    clicked_map,
    data_note,
    location_input,
    md_text,
    point_marker,
    state_parts,
)
from socialrisk.webmap import CATEGORY_COLOURS, FitBesideControls, Legend, tooltip_text

log = logging.getLogger(__name__)

WHEELCHAIR = {"Any place": None, "Wheelchair accessible": "yes",
              "Accessible or partly accessible": "limited"}
#: places of a kind listed at first; the rest behind "show all"
SHOW_FIRST = 5


@st.cache_data(show_spinner=False, max_entries=32)
def _assets(_prepared, key, lat, lon, minutes, speed, wheelchair, categories):

    return assets_within(_prepared, lon, lat, minutes, speed, wheelchair=wheelchair,
                         categories=list(categories))


def render(state) -> None:
    """The connect-a-person page."""

    parts = state_parts(state)
    if parts is None:
        return
    p, _, labels = parts
    s = p.settings
    st.header("Connect a person to places nearby")
    st.caption("Community places within a walk, nearest first, with what OpenStreetMap "
               "(and any list of your own) records about opening hours, contact and access.")
    location_input("connect", p)
    c1, c2, c3 = st.columns(3)
    minutes = c1.slider("Walk of up to (minutes)", 5, 40, 15, key="connect_minutes")
    speeds = {f"Usual ({s.walk_speed_kmh:g} km/h)": s.walk_speed_kmh,
              f"Slow ({s.slow_walk_speed_kmh:g} km/h)": s.slow_walk_speed_kmh,
              "Very slow (2 km/h)": 2.0}
    speed = speeds[c2.radio("Walking speed", list(speeds), key="connect_speed")]
    wheelchair = WHEELCHAIR[c3.radio("Access", list(WHEELCHAIR), key="connect_wheelchair")]
    cats = list(p.taxonomy)
    known = st.session_state.get("connect_known_cats")
    if "connect_cats" not in st.session_state:
        st.session_state["connect_cats"] = cats
    elif known is not None and known != cats:  # a list of your own added (or took) kinds
        st.session_state["connect_cats"] = [
            *[c for c in st.session_state["connect_cats"] if c in cats],
            *[c for c in cats if c not in known]]
    st.session_state["connect_known_cats"] = cats
    chosen = st.multiselect("Kinds of place", cats, format_func=lambda c: labels.get(c, c),
                            key="connect_cats")
    place = st.text_input("Where the walk starts, in words (for the printed list)", "",
                          key="connect_place")
    point = st.session_state.get("connect_point")
    fmap = base_map(p)
    if point is None:
        st.info("Click the person's home (or a meeting place) on the map, or type its "
                "coordinates and press 'Use these'.")
        clicked_map(fmap, "connect")
        return
    if not chosen:
        st.error("Choose at least one kind of place.")
        return
    lat, lon = point
    try:
        found = _assets(p, id(p), float(lat), float(lon), float(minutes), float(speed),
                        wheelchair, tuple(chosen))
    except InputError as exc:
        st.error(f"{md_text(exc)}.")
        clicked_map(fmap, "connect")
        return
    point_marker(lat, lon, "start", "#d7191c").add_to(fmap)
    found_markers(fmap, found, labels, cats)
    if len(found):
        # fitted beside the legend (bottom left), so that no dot is under it
        FitBesideControls((min(found["lon"].min(), lon), min(found["lat"].min(), lat),
                           max(found["lon"].max(), lon), max(found["lat"].max(), lat))
                          ).add_to(fmap)
    else:
        fmap.location = [lat, lon]
    clicked_map(fmap, "connect", height=420)
    st.subheader(f"{len(found)} places within {minutes} minutes' walk")
    if found.empty:
        st.info("Nothing in reach: try a longer walk, another speed or remove the filter.")
    for cat, grp in found.groupby("category", sort=False):
        with st.expander(f"{md_text(labels.get(cat, cat))} ({len(grp)})", expanded=True):
            first, more = collapse(grp)
            if more and st.toggle(f"Show all {len(grp)}", key=f"connect_all_{cat}"):
                first, more = grp, 0
            st.dataframe(place_table(first, p.amenities), hide_index=True, width="stretch")
            if more:
                st.caption(f"and {more} more within the walk")
    doc = assets_list_html(found.assign(label=found["category"].map(labels)
                                        .fillna(found["label"]),
                                        name=_described(found)),
                           place=place, minutes=minutes, speed_kmh=speed,
                           wheelchair=wheelchair, data_note=data_note(p))
    st.download_button("Download a printable list (HTML)", doc.encode("utf-8"),
                       file_name="places_nearby.html", mime="text/html", key="connect_list")
    st.caption(f"Map data {ATTR}.")


#: columns only your own lists fill (docs/assets.md), shown when a place has them
LIST_FIELDS = {"contact": "Contact", "accessibility": "Accessibility"}


def place_table(grp: pd.DataFrame, amenities: pd.DataFrame) -> pd.DataFrame:
    """The places of one kind as shown: OSM's fields, your lists' fields and the source.

    ``grp`` rows come from :func:`socialrisk.screening.assets_within` (``row`` is
    the row of ``amenities``); contact and accessibility columns appear when a
    place of the group has them, and ``From`` says OpenStreetMap or the list.
    """
    rows = grp["row"].to_numpy()
    out = pd.DataFrame({
        "Name": _described(grp),
        "Minutes": grp["walk_min"].round(0).to_numpy(),
        "Opening hours": grp["opening_hours"].fillna("not listed").to_numpy(),
        "Wheelchair": grp["wheelchair"].fillna("not listed").to_numpy(),
        "Website": grp["website"].map(lambda u: safe_url(u) or "").to_numpy()})
    for col, title in LIST_FIELDS.items():
        if col in amenities.columns:
            values = amenities[col].to_numpy(dtype=object)[rows]
            if pd.notna(values).any():
                out[title] = pd.Series(values).fillna("not listed").to_numpy()
    if SOURCE in amenities.columns:
        src = pd.Series(amenities[SOURCE].to_numpy(dtype=object)[rows])
        if (src != OSM_SOURCE).any():
            out["From"] = src.map(lambda v: "OpenStreetMap" if v == OSM_SOURCE or pd.isna(v)
                                  else str(v).rsplit(":", 1)[0]).to_numpy()
    return out


def collapse(grp: pd.DataFrame, first: int = SHOW_FIRST) -> tuple[pd.DataFrame, int]:
    """The nearest ``first`` places of a kind and how many more there are."""
    return grp.iloc[:first], max(len(grp) - first, 0)


def _described(found: pd.DataFrame) -> list:
    """A place's name, or where it is when it has none (``description`` of assets_within)."""
    if "description" in found.columns:
        return [d if isinstance(d, str) and d else (n if isinstance(n, str) and n
                                                    else "(no name in OpenStreetMap)")
                for d, n in zip(found["description"], found["name"], strict=True)]
    return found["name"].fillna("(no name in OpenStreetMap)").tolist()


def category_colours(cats: list) -> dict:
    """Colour of each category's dots (the order of ``cats``, as the legend)."""
    return {c: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, c in enumerate(cats)}


def found_markers(fmap: folium.Map, found, labels: dict, cats: list) -> None:
    """A marker per place found (:func:`socialrisk.screening.assets_within`), tooltip escaped.

    A legend (colour -> kind of place, with the number found) is added for the
    kinds on the map.
    """
    colours = category_colours(cats)
    for r, text in zip(found.itertuples(), _described(found), strict=True):
        folium.CircleMarker([r.lat, r.lon], radius=6, color=colours.get(r.category, "#555"),
                            fill=True, fill_opacity=0.8,
                            tooltip=tooltip_text(
                                f"{text} ({labels.get(r.category, r.label)}), "
                                f"{r.walk_min:.0f} min")).add_to(fmap)
    if len(found):
        counts = found["category"].value_counts()
        rows = [(colours.get(c, "#555555"), f"{labels.get(c, c)} ({counts[c]})")
                for c in [*cats, *sorted(set(counts.index) - set(cats))] if c in counts.index]
        rows.append(("#d7191c", "start of the walk"))
        Legend("Places within the walk", rows).add_to(fmap)
