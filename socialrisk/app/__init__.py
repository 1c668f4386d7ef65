"""The app's Streamlit script, installed with the package: ``streamlit_app.py``.

``socialrisk app`` runs that file with ``python -m streamlit run``. It sits alone
in this package on purpose: Streamlit puts the script's folder first on
``sys.path``, so no other module here must be importable as a top-level name
(a ``site.py`` or ``state.py`` beside it would shadow the standard library's
or anyone's). Keep this package to this file and ``streamlit_app.py``.
"""
