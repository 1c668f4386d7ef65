"""Printable reports (socialrisk/report.py), on the hand-drawn street of test_site
(synthetic) so they run in well under a second."""

from __future__ import annotations

import pytest
from test_isochrone import grid
from test_site import hand_prepared

from risk.isochrone import isochrone
from socialrisk.report import (
    assets_list_html,
    html_to_pdf,
    pdf_available,
    site_report_html,
    svg_map,
)
from socialrisk.screening import assets_within, screen_site
from socialrisk.webmap import OGL_ATTRIBUTION, OSM_ATTRIBUTION


def _report():
    p = hand_prepared()
    sc = screen_site(p, 0.0, 10.0, crs=None)
    iso = isochrone(p.network, 0.0, 10.0, minutes=(2, 4), speed_kmh=4.8)
    return p, sc, iso


def test_site_report_is_one_self_contained_page():
    p, sc, iso = _report()
    doc = site_report_html(sc, iso, p.amenities, title="Land east of <Ventnor>")
    assert doc.startswith("<!DOCTYPE html>")
    assert "Land east of &lt;Ventnor&gt;" in doc  # escaped
    assert "<svg" in doc and doc.count("<path") >= 3  # 2 isochrones + the site marker
    assert "East Surgery" in doc and "GP surgery" in doc and "430" in doc
    assert OSM_ATTRIBUTION in doc and OGL_ATTRIBUTION in doc
    assert "<script" not in doc and "http" not in doc.split("<svg", 1)[0].replace(
        "http://www.w3.org", "")


def test_assets_list_groups_by_category():
    p = hand_prepared()
    a = assets_within(p, 0.0, 10.0, minutes=12, speed_kmh=3.0, crs=None)
    doc = assets_list_html(a, place="12 High Street", minutes=12, speed_kmh=3.0,
                           wheelchair="yes")
    assert doc.index("GP surgery") < doc.index("Cafe")
    assert "12 High Street" in doc and "wheelchair accessible" in doc
    assert "Mo-Fr 08:00-18:00" in doc and "not listed" in doc
    assert OSM_ATTRIBUTION in doc
    empty = assets_list_html(a.iloc[0:0])
    assert "No places found" in empty
    assert "<th>Contact</th>" not in doc  # OSM places carry no contact column


def test_assets_list_shows_an_asset_lists_contact_and_accessibility():
    p = hand_prepared()
    a = assets_within(p, 0.0, 10.0, minutes=12, speed_kmh=3.0, crs=None)
    a["contact"] = ["<script>alert(1)</script>"] + [""] * (len(a) - 1)
    a["accessibility"] = ["step-free entrance"] + [None] * (len(a) - 1)
    doc = assets_list_html(a)
    assert "<th>Contact</th><th>Accessibility</th>" in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc and "<script>alert" not in doc
    assert "step-free entrance" in doc


def test_svg_map_scales_into_the_box():
    svg = svg_map(isochrone(grid(), 0, 0, minutes=[3]), (0.0, 0.0), width=200, height=100)
    assert 'width="200"' in svg and 'viewBox="0 0 200 100"' in svg


@pytest.mark.skipif(not pdf_available(), reason="WeasyPrint is not installed")
def test_pdf_from_weasyprint():
    p, sc, iso = _report()
    pdf = html_to_pdf(site_report_html(sc, iso, p.amenities))
    assert pdf[:5] == b"%PDF-" and len(pdf) > 1000
