"""The app with a council's own list of community groups: sidebar upload -> Connect.

A hand-made list (three groups in Newport, Isle of Wight, with contact, opening
times and accessibility; one outside the island) is uploaded in the sidebar as
a new kind of place; Connect then lists the groups within a walk with those
fields. Streamlit's AppTest, no browser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("streamlit_folium")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
NEWPORT = (50.7008, -1.2926)  # St James' Square, Newport (lat, lon)

GROUPS = (
    b"group_id,name,latitude,longitude,contact,opening_times,accessibility\n"
    b"CG1,Newport Knit and Natter,50.7012,-1.2935,knit@example.org,Tue 10:00-12:00,"
    b"Step-free entrance; accessible toilet\n"
    b"CG2,Men's Shed Newport,50.6990,-1.2900,01983 000111,Mon-Fri 09:00-15:00,"
    b"Ground floor only\n"
    b"CG3,Riverside Singing for the Brain,50.7030,-1.2890,sing@example.org,Thu 14:00-15:30,\n"
    b"CG4,Mainland group (outside the island),50.9097,-1.4044,x@example.org,,\n"
)

pytestmark = pytest.mark.slow


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=240)


def _no_problem(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_uploaded_community_groups_drive_connect():
    at = _app()
    at.run()
    _no_problem(at)
    at.file_uploader(key="assets_upload").set_value(("groups.csv", GROUPS, "text/csv"))
    at.run()
    _no_problem(at)
    assert at.text_input(key="assets_label").value == "Community group"
    # the new kind is on every tab: a column to map in Explore, a kind of place in Connect
    assert "Share of residents who cannot reach a community group" in \
        at.selectbox(key="explore_column").options
    assert "Community group" in at.multiselect(key="connect_cats").options
    at.session_state["connect_point"] = NEWPORT
    at.run()
    _no_problem(at)
    tables = [d.value for d in at.dataframe if "Contact" in d.value.columns]
    assert len(tables) == 1
    groups = tables[0].set_index("Name")
    assert sorted(groups.index) == ["Men's Shed Newport", "Newport Knit and Natter",
                                    "Riverside Singing for the Brain"]
    assert groups["Minutes"].is_monotonic_increasing  # nearest first
    assert groups.loc["Newport Knit and Natter", "Contact"] == "knit@example.org"
    assert groups.loc["Newport Knit and Natter", "Opening hours"] == "Tue 10:00-12:00"
    assert groups.loc["Men's Shed Newport", "Accessibility"] == "Ground floor only"
    assert groups.loc["Riverside Singing for the Brain", "Accessibility"] == "not listed"
    assert set(groups["From"]) == {"uploaded_list.csv"}
    assert (groups["Minutes"] <= 15).all()
    # the OSM places beside them say where they come from too, and have no contact column
    others = [d.value for d in at.dataframe if "Opening hours" in d.value.columns
              and "Contact" not in d.value.columns]
    assert others


def test_a_bad_uploaded_list_is_one_error_with_the_fix():
    at = _app()
    at.run()
    at.file_uploader(key="assets_upload").set_value(
        ("groups.csv", b"name,postcode\nKnit and Natter,PO30 1AA\n", "text/csv"))
    at.run()
    assert not at.exception
    assert len(at.error) == 1
    assert "no coordinate columns" in at.error[0].value
    assert "postcode" in at.error[0].value
