"""The planner's Streamlit app: one module per tab, each with ``render(state)``."""

import streamlit as st


def loaded_result(state):
    """The loaded run's result, or None after telling the user (``st.error``) what to do.

    A run is loaded when the state has both its prepared inputs and its result.
    """
    r = getattr(state, "result", None)
    if r is None or getattr(state, "prepared", None) is None:
        r = None
        st.error("No run is loaded. Choose the Isle of Wight default or a run output "
                 "directory in the sidebar.")
    return r
