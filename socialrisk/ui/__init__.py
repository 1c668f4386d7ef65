"""The planner's Streamlit app: one module per tab, each with ``render(state)``."""


def loaded_result(state):
    """The loaded run's result, or None after telling the user (``st.error``) what to do."""
    import streamlit as st

    r = getattr(state, "result", None)
    if r is None:
        st.error("No run is loaded. Choose the Isle of Wight default or a run output "
                 "directory in the sidebar.")
    return r
