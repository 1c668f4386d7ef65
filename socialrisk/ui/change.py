"""Page: what changed between two runs (:mod:`socialrisk.compare`).

Two run folders (earlier first; the later defaults to the loaded run), an
optional LSOA 2011 -> 2021 lookup, then the headline figures on the earlier
run's scale, the settings that differ, the areas that moved most and why,
population within 10 minutes before and after, and ``change.csv`` to download.
Works without a loaded run. Every outside text goes through ``md_text`` or a
dataframe cell (never HTML).
"""

from __future__ import annotations

import logging
import math

import pandas as pd
import streamlit as st

from geo.taxonomy import load_taxonomy
from socialrisk.compare import compare_runs, read_run
from socialrisk.core.errors import SocialRiskError
from socialrisk.core.sanitize import csv_safe
from socialrisk.ui.site import md_text

log = logging.getLogger(__name__)


@st.cache_data(show_spinner="Comparing the runs ...", max_entries=4)
def _compare(before: str, after: str, lookup: str):
    comp = compare_runs(read_run(before), read_run(after), lookup=lookup or None)
    table = pd.DataFrame(comp.change.drop(columns=comp.change.geometry.name))
    return table, comp.summary


#: plain words for the inputs a run's manifest records (``inputs_changed``'s keys)
INPUT_WORDS = {
    "areas": "the area boundaries",
    "osm": "the OpenStreetMap data (streets, paths and places)",
    "assets": "your own facility lists (asset registers)",
    "deprivation": "the deprivation data (IMD)",
    "lsoa_lookup": "the LSOA 2011 -> 2021 lookup",
    "wards_lookup": "the ward lookup",
    "scenario": "the what-if change (a facility added or removed)",
    "settings": "the run settings",
}


def input_words(key: str) -> str:
    """Plain words for an input key of a run's manifest: ``assets[2]`` -> "your own
    facility lists (asset registers), file 2"; an unknown key as it is, underscores
    as spaces."""
    base, _, rest = str(key).partition("[")
    words = INPUT_WORDS.get(base, base.replace("_", " "))
    return f"{words}, file {rest.rstrip(']')}" if rest else words


def movers_table(top: list[dict]) -> pd.DataFrame:
    """The areas that moved most (``summary["top_movers"]``) with headers for people."""
    m = pd.DataFrame(top)
    if m.empty:
        return m
    return pd.DataFrame({
        "Area": m["area_id"].astype(str),
        "Name": m.get("area_name", pd.Series(dtype=object)).fillna("").astype(str),
        "Change in risk score": pd.to_numeric(m["change"], errors="coerce").round(1),
        "Decile before": pd.array(m["decile_before"], dtype="Int64"),
        "Decile after": pd.array(m["decile_after"], dtype="Int64"),
        "Why": m["why"].fillna("").astype(str),
    })


def _category_label(cat: str, labels: dict[str, str], default: dict[str, str]) -> str:
    """The run's label, else the default taxonomy's, else the category's name in words."""
    return labels.get(cat) or default.get(cat) or str(cat).replace("_", " ").capitalize()


def _whole(x) -> float | None:
    """People to a whole number (None when not measured)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return round(v) if math.isfinite(v) else None


def _pct(x) -> str:
    return "-" if x is None or not math.isfinite(float(x)) else f"{100 * float(x):.1f} %"


def render(state) -> None:
    """The Change tab."""
    st.header("What changed between two runs")
    st.caption("Give two `socialrisk run --out` folders (or a what-if saved as a run). Scores "
               "are compared on the earlier run's scale, so an area whose inputs did not "
               "change keeps its score; raw indicators come first.")
    default_after = st.session_state.get("run_dir", "") or ""
    c1, c2 = st.columns(2)
    before = c1.text_input("Earlier run folder", key="change_before")
    after = c2.text_input("Later run folder", value=default_after, key="change_after")
    lookup = st.text_input("LSOA 2011 -> 2021 lookup CSV (only when the earlier run has "
                           "LSOA 2011 areas)", key="change_lookup")
    if not before.strip() or not after.strip():
        st.info("Give both run folders to compare them.")
        return
    try:
        table, s = _compare(before.strip(), after.strip(), lookup.strip())
    except SocialRiskError as exc:
        st.error(f"{md_text(exc)}.")
        return
    except Exception as exc:  # a folder's contents never give a traceback; details logged
        log.exception("comparing the runs failed")
        st.error(f"The runs could not be compared ({type(exc).__name__}); the details are in "
                 f"the app's log.")
        return
    for note in s.get("notes", []):
        st.warning(md_text(note))
    fr = s["fixed_reference"]
    m = st.columns(5)
    m[0].metric("Areas compared", f"{s['areas_compared']:,}")
    m[1].metric("Lower risk", f"{fr['areas_better']:,}")
    m[2].metric("Higher risk", f"{fr['areas_worse']:,}")
    m[3].metric("Unchanged", f"{fr['areas_unchanged']:,}")
    nc = s["not_compared"]
    m[4].metric("Not compared", f"{len(nc['only_before']) + len(nc['only_after']):,}")
    changed = [input_words(r["input"]) for r in s["inputs"] if r["changed"]]
    st.markdown("**Inputs changed:** " + (md_text(", ".join(changed)) if changed else "none"))
    st.subheader("Areas that moved most, and why")
    movers = movers_table(s["top_movers"])
    if movers.empty:
        st.info("No area's score changed on the earlier run's scale.")
    else:
        st.dataframe(movers, hide_index=True, width="stretch", column_config={
            "Area": st.column_config.TextColumn(width=86),
            "Name": st.column_config.TextColumn(width=125),
            "Change in risk score": st.column_config.NumberColumn(
                format="%.1f", width=140,
                help="On the earlier run's scale (0-100, higher = more risk); "
                     "below 0: lower risk."),
            "Decile before": st.column_config.NumberColumn(
                width=92, help="1 = the 10 % of areas with the highest risk"),
            "Decile after": st.column_config.NumberColumn(width=82),
            "Why": st.column_config.TextColumn(
                width=420, help="The one or two indicators whose change moved the score "
                                "most (point the mouse at a cell for all of it)")})
    st.subheader(f"Population within {s['before']['within_min']:g} minutes' walk")
    rows = []
    labels = getattr(state, "labels", {}) or {}
    default = {k: c.label for k, c in load_taxonomy().items()}
    for cat, rb in s["before"]["categories"].items():
        ra = s["after"]["categories"].get(cat, {})
        rows.append({"Kind of place": _category_label(cat, labels, default),
                     "People before": _whole(rb.get("population_within")),
                     "People after": _whole(ra.get("population_within")),
                     "Share before": _pct(rb.get("share_within")),
                     "Share after": _pct(ra.get("share_within"))})
    people = st.column_config.NumberColumn(format="localized", width=110)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"People before": people, "People after": people})
    else:
        st.info("Neither run counts the people within reach of any kind of place.")
    st.caption(md_text(f"Before: {s['before']['within_method']}. After: "
                       f"{s['after']['within_method']}."))
    st.download_button("Download change.csv", csv_safe(table).to_csv(index=False),
                       file_name="change.csv", mime="text/csv", key="change_csv")
