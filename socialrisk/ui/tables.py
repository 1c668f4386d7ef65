"""On-screen tables in plain words: the data dictionary's headers and readable numbers.

Downloads keep the output column names (they are for machines); a table shown
on a page gets the headers of :func:`socialrisk.columns.describe_column` (the
words of ``data_dictionary.csv``) and one number format per kind of column:
scores to 1 decimal, walking minutes to 0.1 minute, residents and other whole
numbers with thousands separators, shares as percentages.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from socialrisk.columns import column_info, describe_column
from socialrisk.ui.site import md_text

#: column kind (socialrisk.columns_data) -> (decimals kept, st.column_config format)
_FORMATS: dict[str, tuple[int | None, str]] = {
    "whole": (0, "%,d"),
    "metres": (0, "%,d m"),
    "score": (1, "%.1f"),
    "minutes": (1, "%.1f"),
    "count": (1, "%.1f"),
    "share": (3, "percent"),
}

#: text columns that hold sentences: shown wide
WIDE_TEXT = ("isolation_risk_drivers", "standards_failed")
#: columns that name the row: kept in view when the table scrolls sideways
PINNED = ("area_id", "area_name")


def thousands(label: str | None = None) -> st.column_config.NumberColumn:
    """A whole-number column with thousands separators (``3,643``)."""
    return st.column_config.NumberColumn(label, format="%,d")


def human_table(frame: pd.DataFrame, labels: Mapping[str, str] | None = None
                ) -> tuple[pd.DataFrame, dict[str, object]]:
    """``frame`` with plain-word headers and rounded numbers, and its ``column_config``.

    Give both to ``st.dataframe(table, column_config=config)``. A column without
    a data-dictionary entry gets its name in words and is shown as it is.
    """
    out = pd.DataFrame(index=frame.index)
    config: dict[str, object] = {}
    for col in frame.columns:
        label, _unit, about = describe_column(col, labels)
        # the header's hover text (Markdown): the data dictionary's meaning, whose category
        # labels come from the run's taxonomy: outside text, made literal
        about = md_text(about) if about else None
        if label in out.columns:  # two columns with the same words: tell them apart
            label = f"{label} ({col})"
        info = column_info(col, labels)
        values = frame[col]
        kind = info.kind if info is not None else ""
        if kind in _FORMATS and pd.api.types.is_numeric_dtype(values):
            decimals, fmt = _FORMATS[kind]
            values = pd.to_numeric(values, errors="coerce").astype("float64").round(decimals)
            config[label] = st.column_config.NumberColumn(label, format=fmt, help=about)
        elif col in WIDE_TEXT:
            config[label] = st.column_config.TextColumn(label, width="large", help=about)
        elif col in PINNED:
            config[label] = st.column_config.TextColumn(label, pinned=True, help=about)
        elif about:
            config[label] = st.column_config.Column(label, help=about)
        out[label] = values
    return out, config
