"""End to end in a real headless Chromium: the app loads, the map appears, a click on an
area shows its profile, and a screenshot is saved.

Needs Debian ``chromium`` and ``chromium-driver`` and the ``selenium`` package (skipped with
the reason otherwise). The screenshot is written to the test's tmp directory, or to
``$SOCIALRISK_SCREENSHOT_DIR`` when set.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.browser, pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                       "(apt-get install -y chromium)"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason="chromedriver is not installed "
                       "(apt-get install -y chromium-driver)"),
]
selenium = pytest.importorskip("selenium", reason="selenium is not installed (pip install "
                               "selenium)")
pytest.importorskip("streamlit_folium")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402, N812
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def driver(tmp_path):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--window-size=1400,1100",
                f"--user-data-dir={tmp_path / 'profile'}"]:
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield d
    d.quit()


def _click_an_area(d) -> None:
    """Click inside the largest area polygon of the map (inside its iframe)."""
    paths = WebDriverWait(d, 60).until(
        lambda x: x.find_elements(By.CSS_SELECTOR, "path.leaflet-interactive") or False)
    target = d.execute_script("""
        const paths = Array.from(document.querySelectorAll('path.leaflet-interactive'));
        paths.sort((p, q) => {
          const a = p.getBoundingClientRect(), b = q.getBoundingClientRect();
          return b.width * b.height - a.width * a.height;
        });
        for (const p of paths) {
          const r = p.getBoundingClientRect();
          for (const [fx, fy] of [[.5, .5], [.4, .5], [.6, .5], [.5, .4], [.5, .6]]) {
            const x = r.left + fx * r.width, y = r.top + fy * r.height;
            if (document.elementFromPoint(x, y) === p) { return [x, y]; }
          }
        }
        return null;""")
    assert paths and target, "no clickable area on the map"
    d.execute_script("""
        const [x, y] = arguments;
        const el = document.elementFromPoint(x, y);
        for (const type of ['mousedown', 'mouseup', 'click']) {
          el.dispatchEvent(new MouseEvent(type, {bubbles: true, clientX: x, clientY: y,
                                                 view: window}));
        }""", *target)


def test_click_an_area_shows_its_profile(app_url, driver, tmp_path):
    d = driver
    t0 = time.monotonic()
    d.get(app_url)
    wait = WebDriverWait(d, 180)
    css = "iframe[title*='st_folium'], iframe[title*='streamlit_folium']"
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))

    def legend_in_the_map(x) -> bool:
        # a Streamlit rerun replaces the map's iframe: look in the current one each time
        x.switch_to.default_content()
        frames = x.find_elements(By.CSS_SELECTOR, css)
        if not frames:
            return False
        try:
            x.switch_to.frame(frames[0])
            return bool(x.find_elements(By.CSS_SELECTOR, ".socialrisk-legend"))
        except WebDriverException:  # the iframe went stale while switching
            return False

    WebDriverWait(d, 120).until(legend_in_the_map)
    map_s = time.monotonic() - t0
    legend = d.find_element(By.CSS_SELECTOR, ".socialrisk-legend").text
    assert "Isolation-risk decile" in legend
    _click_an_area(d)
    d.switch_to.default_content()
    # Streamlit draws the profile element by element: wait until all of it is there
    want = ["Area E0", "Isolation-risk decile (1 = highest risk)", "Nearest places by walking"]
    wait.until(lambda x: all(w in x.find_element(By.TAG_NAME, "body").text for w in want))
    body = d.find_element(By.TAG_NAME, "body").text
    assert "Area E0" in body and "Isolation-risk decile (1 = highest risk)" in body
    # the profile's tables are drawn on a canvas (no text in the page); the metrics are text
    assert "Isolation-risk score (0-100)" in body
    out = Path(os.environ.get("SOCIALRISK_SCREENSHOT_DIR", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    shot = out / "app_explore_profile.png"
    heading = d.find_element(By.XPATH, "//h3[starts-with(normalize-space(.), 'Area E0')]")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'});", heading)
    time.sleep(1.0)
    d.save_screenshot(str(shot))
    print(f"map shown after {map_s:.1f} s; screenshot {shot}")
    assert shot.stat().st_size > 10_000
