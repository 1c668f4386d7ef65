"""socialrisk's Streamlit app: ``socialrisk app [--run DIR]``, or ``streamlit run app.py``
(``-- --run DIR`` for a run's output) from the repository.

Installed with the package; ``socialrisk app`` runs this file itself with
``python -m streamlit run``, and the repository's ``app.py`` is a shim that calls
:func:`main`. Thin: the sidebar chooses the run; every tab is
``socialrisk.ui.<page>.render(state)``.
"""

from __future__ import annotations

import argparse
import logging
import sys

import streamlit as st

from geo.uploads import MAX_UPLOAD_BYTES
from socialrisk.core.errors import SocialRiskError
from socialrisk.ui import asset_upload, change, connect, explore, site, underserved, whatif
from socialrisk.ui.site import md_text
from socialrisk.ui.state import load_state, save_upload

log = logging.getLogger("socialrisk.app")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="socialrisk app")
    parser.add_argument("--run", default="", help="output directory of a socialrisk run")
    parser.add_argument("--deprivation", action="append", default=[],
                        help="deprivation CSV for the Isle of Wight default (repeatable)")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return args


def main() -> None:
    st.set_page_config(page_title="socialrisk", layout="wide")
    args = _args()
    with st.sidebar:
        st.title("socialrisk")
        st.caption("Social infrastructure and the risk of social isolation, area by area.")
        run_dir = st.text_input("Run output directory (empty = Isle of Wight default)",
                                value=args.run, key="run_dir",
                                help="The --out directory of `socialrisk run`.")
        dep_path = st.text_input("Deprivation CSV for the default (path)",
                                 value=";".join(args.deprivation), key="dep_path",
                                 help="e.g. the IoD 2025 File 7; several paths separated by ;")
        upload = st.file_uploader("... or upload a deprivation CSV", type=["csv"],
                                  key="dep_upload",
                                  max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024))
    deprivation = [p.strip() for p in dep_path.split(";") if p.strip()]
    try:
        if upload is not None:
            deprivation.append(save_upload(upload.getvalue(), upload.name))
        with st.sidebar:  # your own list of places (docs/assets.md), on every tab
            assets = asset_upload.sidebar()
        if assets and run_dir.strip():
            st.sidebar.info("An uploaded list of places is used with the Isle of Wight "
                            "default; for a run folder give it to `socialrisk run --assets`.")
        state = load_state(run_dir.strip() or None, tuple(deprivation),
                           () if run_dir.strip() else assets)
    except SocialRiskError as exc:
        st.error(f"{md_text(exc)}.")
        st.stop()
    except FileNotFoundError as exc:
        st.error(f"{md_text(exc)}. Check the path in the sidebar.")
        st.stop()
    except Exception as exc:  # never a traceback for what a run folder holds; details logged
        log.exception("loading the run failed")
        st.error(f"The run could not be loaded ({type(exc).__name__}); the details are in "
                 f"the app's log.")
        st.stop()
    st.sidebar.caption(f"{len(state.result.areas)} areas; loaded in {state.seconds:.1f} s.")
    areas = state.result.areas
    if "imd_decile" not in areas.columns or areas["imd_decile"].isna().all():
        st.sidebar.info("No deprivation data: access only. Give a File 7 CSV above for the "
                        "deprivation domain and the equity view.")
    tabs = st.tabs(["Explore", "Underserved", "Site", "What if", "Connect", "Change"])
    for tab, page in zip(tabs, [explore, underserved, site, whatif, connect, change],
                         strict=True):
        with tab:
            page.render(state)


if __name__ == "__main__":  # run by Streamlit (`socialrisk app`), not imported
    main()
