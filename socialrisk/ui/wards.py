"""Underserved page sections: equity by deprivation (with group sizes) and results by ward.

The ward table is the run's ``wards.csv`` (written when the run had a
``wards_lookup``, :mod:`socialrisk.grouping`); each ward's one-page briefing
(:func:`socialrisk.briefing.ward_briefing_html`) is made on demand.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from risk.equity import access_by_decile, fifth_gap
from socialrisk.briefing import ward_briefing_html
from socialrisk.core import schema
from socialrisk.grouping import BRIEFED_WARDS, WARDS_CSV, briefing_name
from socialrisk.ui.tables import thousands

log = logging.getLogger(__name__)


def equity_section(areas: pd.DataFrame, column: str, what: str) -> None:
    """Median ``column`` per IMD decile, with the number of areas, and the fifth gap in words.

    ``what``: the measure in words, already safe for Markdown.
    """
    by = access_by_decile(areas, column, "imd_decile")
    _decile_chart(by)
    gap = fifth_gap(areas, column, "imd_decile")
    table = pd.DataFrame({"IMD decile": by.index.astype(int),
                          "Areas": by["areas"].astype(int).to_numpy(),
                          "Residents": by["population"].round(0).to_numpy(),
                          "Median walking minutes": by["median"].round(1).to_numpy()})
    st.dataframe(table, hide_index=True, key="equity_counts",
                 column_config={"Residents": thousands(),
                                "Median walking minutes": st.column_config.NumberColumn(
                                    format="%.1f")})
    if gap.too_small or not math.isfinite(gap.gap):
        # said once: the sentence has the group sizes and why; then what would help
        st.info(f"{gap.sentence(what)} A larger study area gives both groups enough areas.")
    else:
        st.caption(gap.sentence(what))


def _decile_chart(by: pd.DataFrame) -> None:
    """Median walking minutes per IMD decile as bars, the decile labels horizontal."""
    data = pd.DataFrame({"decile": by.index.astype(int),
                         "minutes": by["median"].round(1).to_numpy(),
                         "areas": by["areas"].astype(int).to_numpy()})
    x_title = "IMD decile in England (1 = most deprived)"
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X("decile:O", title=x_title, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("minutes:Q", title="Median walking minutes"),
        tooltip=[alt.Tooltip("decile:O", title="IMD decile"),
                 alt.Tooltip("minutes:Q", title="Median walking minutes", format=".1f"),
                 alt.Tooltip("areas:Q", title="Areas")])
    st.altair_chart(chart, width="stretch")


@st.cache_data(show_spinner=False, max_entries=8)
def _read_wards(path: str, mtime: float) -> pd.DataFrame:
    text = ["code", "name", "district_code", "district_name", "top_decile_areas", "area_ids"]
    df = pd.read_csv(path, dtype=dict.fromkeys(text, str), keep_default_na=False)
    for c in df.columns:  # every other column is a number; an empty cell is missing
        if c not in text:
            df[c] = pd.to_numeric(df[c].replace("", float("nan")), errors="coerce")
    return df


def run_wards(state) -> pd.DataFrame | None:
    """The loaded run's ``wards.csv``, or None (no run folder, or no ward lookup in the run)."""
    folder = getattr(state, "run_dir", None)
    if not folder:
        return None
    path = Path(folder) / WARDS_CSV
    if not path.is_file():
        return None
    try:
        return _read_wards(str(path), path.stat().st_mtime)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        log.warning("could not read %s: %s", path, exc)
        return None


def wards_section(state, areas: pd.DataFrame) -> None:
    """"By ward": one row per ward, highest mean isolation risk first; a briefing per ward."""
    st.subheader("By ward")
    wards = run_wards(state)
    if wards is None or wards.empty:
        st.caption("No ward results in this run. Give `wards_lookup` (the ONS LSOA 2021 -> "
                   "ward 2024 -> district lookup CSV) in the run's config to get `wards.csv`, "
                   "`districts.csv` and a one-page briefing per ward.")
        return
    show = pd.DataFrame({
        "Ward": wards["name"], "District": wards.get("district_name", ""),
        "Areas": wards["areas"], "Residents": pd.to_numeric(wards["population"],
                                                            errors="coerce").round(0),
        "Mean isolation risk": pd.to_numeric(wards.get(schema.ISOLATION_RISK),
                                             errors="coerce").round(1),
        "Areas in the highest-risk decile": wards.get("top_decile", 0)})
    st.caption(f"{len(wards)} wards, highest mean isolation risk first (population-weighted "
               f"means of the ward's areas). The run folder also has one-page briefings for "
               f"the {BRIEFED_WARDS} highest.")
    st.dataframe(show, hide_index=True, key="wards_table",
                 column_config={"Residents": thousands(),
                                "Mean isolation risk": st.column_config.NumberColumn(
                                    format="%.1f")})
    code = st.selectbox("Briefing for the ward", wards["code"].tolist(), key="ward_pick",
                        format_func=lambda c: _ward_name(wards, c))
    page = ward_briefing_html(wards, code, areas, state.labels,
                              walk_speed_kmh=getattr(state.settings, "walk_speed_kmh",
                                                     schema.WALK_SPEED_KMH))
    st.download_button("Download the ward briefing (HTML, one page)", page.encode("utf-8"),
                       file_name=briefing_name(code), mime="text/html", key="ward_briefing")


def _ward_name(wards: pd.DataFrame, code: str) -> str:
    row = wards[wards["code"] == code]
    return f"{row['name'].iloc[0]} ({code})" if len(row) else str(code)
