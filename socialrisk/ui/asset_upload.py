"""Sidebar: upload your own list of places (a council's community groups, a register).

The upload gets the checks of every upload (:func:`geo.uploads.check_upload`:
size, type) and is kept under a content-addressed name; the Isle of Wight
default is then computed with it (:mod:`geo.assets`, docs/assets.md), so the
list's places are on every tab.
"""

from __future__ import annotations

import re

import streamlit as st

from geo.taxonomy import load_taxonomy
from geo.uploads import MAX_UPLOAD_BYTES
from socialrisk.ui.state import save_upload

#: file types an asset list may be uploaded as
ASSET_TYPES = (".csv", ".txt", ".geojson", ".json", ".gpkg")
COLUMN = "(each row's category column)"
NEW = "(a new kind of place)"
MODES = {"merge": "Merge with OpenStreetMap (add what it lacks)",
         "add": "Add beside OpenStreetMap",
         "replace": "Replace OpenStreetMap's places of this kind"}


def category_name(label: str) -> str:
    """A category key from a label: ``"Community group"`` -> ``"community_group"``."""
    key = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
    return key if re.match(r"^[a-z]", key) else f"list_{key}".rstrip("_")


def sidebar() -> tuple[tuple[str, str, str, str, str], ...]:
    """The uploader and its options; ``((path, category, category_column, label, mode),)``.

    Empty when nothing is uploaded. Raises
    :class:`~socialrisk.core.errors.InputError` for an upload that fails the checks.
    """
    labels = {name: cat.label for name, cat in load_taxonomy().items()}
    upload = st.file_uploader("Your own list of places (CSV with coordinates, GeoJSON, "
                              "GeoPackage)", type=[t[1:] for t in ASSET_TYPES],
                              key="assets_upload",
                              max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024),
                              help="e.g. a council's community groups; columns such as name, "
                                   "longitude, latitude, contact, opening_hours, "
                                   "accessibility are shown in Connect")
    if upload is None:
        return ()
    kind = st.selectbox("What the list holds", [NEW, COLUMN, *labels], key="assets_kind",
                        format_func=lambda c: labels.get(c, c))
    label = ""
    if kind == NEW:
        label = st.text_input("Name of the new kind of place", "Community group",
                              key="assets_label").strip() or "Listed place"
    mode = st.radio("With OpenStreetMap", list(MODES), key="assets_mode",
                    format_func=MODES.get)
    path = save_upload(upload.getvalue(), upload.name, ASSET_TYPES, stem="uploaded_list")
    if kind == COLUMN:
        return ((path, "", "category", "", mode),)
    category = category_name(label) if kind == NEW else kind
    if kind == NEW and category in labels:  # the name of an existing kind: use that one
        label = ""
    return ((path, category, "", label, mode),)
