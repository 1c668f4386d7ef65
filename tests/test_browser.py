"""End to end in a real headless Chromium: the app loads, the map appears, a click on an
area shows its profile, and a screenshot is saved; and every tab of the app, started with
``socialrisk app --run DIR`` on a run folder with a baseline run and wards, is visited and
photographed (``app_<tab>.png``).

Needs Debian ``chromium`` and ``chromium-driver`` and the ``selenium`` package (skipped with
the reason otherwise); the every-tab test also needs ``../shared/data`` (File 7 and the ONS
ward lookup). Screenshots are written to the test's tmp directory, or to
``$SOCIALRISK_SCREENSHOT_DIR`` when set.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
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
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402, N812
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """Wait until Streamlit's health check answers ``ok``; fail with the log's end otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
        time.sleep(0.5)


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
        _wait_healthy(url, proc, log)
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


# ------------------------------------------------------- every tab, on a run folder with wards

SHOT_DIR = os.environ.get("SOCIALRISK_SCREENSHOT_DIR")
MAP_CSS = "iframe[title*='st_folium'], iframe[title*='streamlit_folium']"
ERROR_CSS = "[data-testid='stException']"
#: Material icons: their names are the text of the icons Streamlit draws (expanders)
ICONS = {"keyboard_arrow_down", "keyboard_arrow_right", "expand_more", "expand_less"}
#: a GP opened at Brighstone since the baseline (the later run has it as a list of your own)
NEW_GP = "name,longitude,latitude\nBrighstone GP,-1.3640,50.6420\n"


def _cli(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "socialrisk.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"socialrisk {' '.join(args)}: {done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def run_folders(tmp_path_factory):
    """Two real runs of the Isle of Wight with the ONS ward lookup, by the command line:
    ``base`` (the baseline) and ``later`` (the same with a new GP)."""
    shared = ROOT.parent / "shared" / "data"
    file7 = shared / "isle_of_wight" / "File_7_IoD2025_Isle_of_Wight.csv"
    lookup = shared / "england" / "lookup_lsoa21_ward24_ltla24.csv"
    missing = [str(f) for f in (file7, lookup) if not f.is_file()]
    if missing:
        pytest.skip(f"../shared/data (real reference data) is not present: {missing}")
    root = tmp_path_factory.mktemp("runs")
    lookup_toml = str(lookup).replace("\\", "\\\\").replace('"', '\\"')
    (root / "wards.toml").write_text(f'wards_lookup = "{lookup_toml}"\n', encoding="utf-8")
    (root / "new_gp.csv").write_text(NEW_GP, encoding="utf-8")
    common = ["run", "--config", "wards.toml", "--deprivation", str(file7), "--no-download",
              "--no-map", "--quiet"]
    _cli(*common, "--out", "base", cwd=root)
    _cli(*common, "--assets", "new_gp.csv:gp", "--out", "later", cwd=root)
    assert (root / "later" / "wards.csv").is_file()
    return root / "base", root / "later"


@pytest.fixture(scope="module")
def run_app_url(run_folders, tmp_path_factory):
    """The app started as a user does, ``socialrisk app --run later --port P`` (127.0.0.1)."""
    later = run_folders[1]
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "socialrisk.cli", "app", "--run", str(later),
             "--port", str(port)],
            cwd=later.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log, seconds=90)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)  # like Ctrl-C: the command stops Streamlit, then exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the command and Streamlit
            proc.wait()


def _panel(d):
    """The shown tab's panel (Streamlit keeps only it displayed)."""
    d.switch_to.default_content()
    return d.execute_script("""
        return Array.from(document.querySelectorAll('[data-testid="stTabPanel"]'))
          .find(p => p.getClientRects().length > 0) || null;""")


def _idle(d) -> bool:
    """Streamlit is not running the script (no status widget, no spinner)."""
    return not d.find_elements(By.CSS_SELECTOR,
                               "[data-testid='stStatusWidget'], [data-testid='stSpinner']")


def _no_error_box(d) -> None:
    d.switch_to.default_content()
    boxes = d.find_elements(By.CSS_SELECTOR, ERROR_CSS)
    assert not boxes, f"Streamlit exception box: {boxes[0].text[:1500]}"


def _open_tab(d, label: str) -> None:
    _no_error_box(d)
    tabs = WebDriverWait(d, 120).until(
        lambda x: x.find_elements(By.CSS_SELECTOR, "[role='tab']") or False)
    names = [t.text.strip() for t in tabs]
    assert label in names, f"no tab {label!r}: {names}"
    tab = tabs[names.index(label)]
    # the tab bar scrolls with the page: bring it out from under the app's top bar
    d.execute_script("arguments[0].scrollIntoView({block: 'center'});", tab)
    tab.click()
    WebDriverWait(d, 30).until(lambda x: tab.get_attribute("aria-selected") == "true")


def _maps(d) -> list[dict]:
    """Each map shown in the tab: its clickable shapes, outlines drawn, legend text."""
    found = []
    panel = _panel(d)
    if panel is None:
        return found
    for frame in panel.find_elements(By.CSS_SELECTOR, MAP_CSS):
        try:
            if frame.size["height"] < 50:
                continue
            d.switch_to.frame(frame)
            found.append({
                "shapes": len(d.find_elements(By.CSS_SELECTOR, "path.leaflet-interactive")),
                "paths": len(d.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path")),
                "legend": " ".join(e.text for e in d.find_elements(
                    By.CSS_SELECTOR, ".socialrisk-legend")),
                "text": d.find_element(By.TAG_NAME, "body").text})
        except WebDriverException:  # a rerun replaced the iframe while looking into it
            found.append({"shapes": 0, "paths": 0, "legend": "", "text": ""})
        finally:
            d.switch_to.default_content()
    return found


def _wait_tab(d, texts: list[str], *, tables: int = 0, maps: int = 0, shapes: int = 1,
              legend: bool = False, timeout: float = 240) -> dict:
    """Wait until the shown tab has all ``texts``, ``tables`` dataframes and ``maps`` maps
    with at least ``shapes`` drawn paths each (and a legend), and the app is idle."""
    state: dict = {}

    def ready(x) -> bool:
        if x.find_elements(By.CSS_SELECTOR, ERROR_CSS):
            return True  # reported below
        panel = _panel(x)
        if panel is None or not _idle(x):
            return False
        state["text"] = panel.text
        state["tables"] = len(panel.find_elements(By.CSS_SELECTOR,
                                                  "[data-testid='stDataFrame']"))
        if not all(t in state["text"] for t in texts) or state["tables"] < tables:
            return False
        state["maps"] = _maps(x) if maps else []
        drawn = [m for m in state["maps"]
                 if m["paths"] >= shapes and (m["legend"] or not legend)]
        return len(drawn) >= maps

    try:
        WebDriverWait(d, timeout, ignored_exceptions=(WebDriverException,)).until(ready)
    except Exception:
        missing = [t for t in texts if t not in state.get("text", "")]
        pytest.fail(f"the tab did not render: missing texts {missing}, "
                    f"{state.get('tables')} tables, maps {state.get('maps')}; the tab shows: "
                    f"{state.get('text', '')[:1500]!r}")
    _no_error_box(d)
    return state


def _button(d, label: str):
    panel = _panel(d)
    for b in panel.find_elements(By.CSS_SELECTOR, "button"):
        if b.text.strip() == label and b.is_displayed():
            return b
    raise AssertionError(f"no button {label!r} in the tab")


def _field(d, label: str, testid: str = "stTextInput"):
    """The input of the widget labelled ``label`` in the shown tab."""
    for w in _panel(d).find_elements(By.CSS_SELECTOR, f"[data-testid='{testid}']"):
        if w.find_element(By.CSS_SELECTOR, "label").text.strip().startswith(label):
            return w.find_element(By.CSS_SELECTOR, "input")
    raise AssertionError(f"no input {label!r} in the tab")


def _heading(d, text: str):
    return _panel(d).find_element(
        By.XPATH, f".//*[self::h1 or self::h2 or self::h3][contains(normalize-space(.), "
                  f"'{text}')]")


def _shot(d, out: Path, name: str, anchor=None) -> Path:
    """Screenshot of the window, ``anchor`` (an element) just under the app's top bar."""
    d.switch_to.default_content()
    if anchor is None:
        d.execute_script("""
            const m = document.querySelector('[data-testid="stMain"]');
            if (m) { m.scrollTop = 0; } window.scrollTo(0, 0);""")
    else:
        d.execute_script("""
            const el = arguments[0];
            el.scrollIntoView({block: 'start'});
            let p = el.parentElement;
            while (p && !(p.scrollHeight > p.clientHeight &&
                          /(auto|scroll)/.test(getComputedStyle(p).overflowY))) {
              p = p.parentElement;
            }
            (p || window).scrollBy(0, -70);  // below Streamlit's top bar""", anchor)
    d.execute_script("if (document.activeElement) { document.activeElement.blur(); }")
    time.sleep(1.5)  # Leaflet redraws after a scroll
    path = out / f"app_{name}.png"
    d.save_screenshot(str(path))
    size = path.stat().st_size
    assert 10_000 < size < 400_000, f"{path}: {size} bytes"
    return path


def test_every_tab_renders_on_a_run_folder(run_folders, run_app_url, driver, tmp_path):
    """Every tab of ``socialrisk app --run`` (a run with wards; the Change tab compares it
    with its baseline): its content is drawn, no exception box, one screenshot each."""
    base, later = run_folders
    d = driver
    d.set_window_size(1400, 1000)
    out = Path(SHOT_DIR or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    d.get(run_app_url)
    shots, seen = [], {}

    # Explore: the risk map with its legend, every area drawn
    _open_tab(d, "Explore")
    s = _wait_tab(d, ["Explore: isolation risk and access, area by area"], maps=1,
                  shapes=89, legend=True)
    assert any(m["shapes"] >= 89 and "Isolation-risk decile" in m["legend"] for m in s["maps"])
    assert "89 areas" in d.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
    seen["explore"] = s
    shots.append(_shot(d, out, "explore"))

    # Underserved: the table of areas and the equity chart
    _open_tab(d, "Underserved")
    s = _wait_tab(d, ["Find underserved neighbourhoods", "of 89 areas, highest isolation risk",
                      "Equity: access by deprivation"], tables=2)
    assert d.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart']")
    seen["underserved"] = s
    shots.append(_shot(d, out, "underserved"))

    # Site: the default coordinates (Newport), screened from the site
    _open_tab(d, "Site")
    _wait_tab(d, ["Screen a development site", "Latitude"], maps=1)
    _button(d, "Use these").click()
    s = _wait_tab(d, ["Screen a development site", "Walkable area", "from the nearest street"],
                  tables=1, maps=1, shapes=3)
    seen["site"] = s
    shots.append(_shot(d, out, "site", _panel(d).find_element(By.CSS_SELECTOR, MAP_CSS)))

    # What if: a new GP at the default coordinates, run, and its result
    _open_tab(d, "What if")
    _wait_tab(d, ["What if a facility were added or removed?", "Name of the new place"],
              maps=1)
    _button(d, "Use these").click()
    WebDriverWait(d, 120).until(lambda x: _idle(x) and _button(x, "Run the what-if")
                                .is_enabled())
    _button(d, "Run the what-if").click()
    s = _wait_tab(d, ["Result of adding New facility", "Areas whose walk changes",
                      "Before and after: change in isolation risk"], maps=2)
    seen["whatif"] = s
    shots.append(_shot(d, out, "whatif", _heading(d, "Result of adding")))

    # Connect: places within 15 minutes' walk of the default coordinates
    _open_tab(d, "Connect")
    _wait_tab(d, ["Connect a person to places nearby", "Kinds of place"], maps=1)
    _button(d, "Use these").click()
    s = _wait_tab(d, ["places within 15 minutes' walk"], tables=1, maps=1, shapes=5)
    seen["connect"] = s
    shots.append(_shot(d, out, "connect", _panel(d).find_element(By.CSS_SELECTOR, MAP_CSS)))

    # Change: the later run (loaded) against its baseline, typed as a user would
    _open_tab(d, "Change")
    _wait_tab(d, ["What changed between two runs", "Give both run folders"])
    assert _field(d, "Later run folder").get_attribute("value") == str(later)
    box = _field(d, "Earlier run folder")
    box.send_keys(str(base))
    box.send_keys(Keys.ENTER)
    s = _wait_tab(d, ["Areas compared", "Inputs changed", "Areas that moved most, and why",
                      "minutes' walk"], tables=2)
    assert "89" in s["text"] and "No area's score changed" not in s["text"]
    seen["change"] = s
    shots.append(_shot(d, out, "change"))

    # By ward: its own tab when the app has one, else the section of the Underserved tab
    tabs = [t.text.strip() for t in d.find_elements(By.CSS_SELECTOR, "[role='tab']")]
    ward_tab = next((t for t in tabs if "ward" in t.lower()), "Underserved")
    _open_tab(d, ward_tab)
    s = _wait_tab(d, ["By ward", "39 wards, highest mean isolation risk first",
                      "Briefing for the ward"], tables=1)
    seen["wards"] = s
    shots.append(_shot(d, out, "wards", _heading(d, "By ward")))
    _no_error_box(d)

    took = time.monotonic() - t0
    print(f"every tab in {took:.1f} s ({ward_tab!r} for the wards); screenshots:")
    for p in shots:
        print(f"  {p} {p.stat().st_size // 1024} kB")
    for name, s in seen.items():  # words a planner should not see, for the review
        text = " ".join([s["text"], *(m["text"] for m in s.get("maps", []))])
        words = [w for w in re.findall(r"\b(?:nan|NaN|None|[a-z0-9]+_[a-z0-9_]+)\b", text)
                 if w not in ICONS]
        assert not {"nan", "NaN"} & set(words), f"{name}: 'nan' shown in the tab"
        if words:
            print(f"  {name}: raw words in the tab: {sorted(set(words))[:20]}")
