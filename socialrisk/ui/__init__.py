"""The planner's Streamlit app: one module per tab, each with ``render(state)``."""
