"""socialrisk's Streamlit app from the repository: ``streamlit run app.py`` (``-- --run DIR``
for a run's output).

A shim: the app is ``socialrisk/app/streamlit_app.py``, installed with the package and
started by ``socialrisk app``. Streamlit runs this file again on every interaction, so
it calls :func:`main` each time (importing alone would run the app only once).
"""

from socialrisk.app.streamlit_app import main

main()
