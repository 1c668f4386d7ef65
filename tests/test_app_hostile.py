"""No code runs from data: crafted run folders opened by the app.

A run folder comes from elsewhere (a share, a download). Opening one must never
unpickle anything, follow a path, cache directory or URL recorded in it, or show
a traceback: either its ``app/`` data loads (data-only files, validated), or the
app shows one line naming the fix.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from socialrisk.core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")

# ------------------------------------------------------------------ helpers

_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _OPENED is not None and args:
        target = args[0]
        if isinstance(target, (str, bytes, os.PathLike)):
            _OPENED.append(os.fsdecode(target))


sys.addaudithook(_audit)  # process-wide and permanent, but only records while _OPENED is set


class _Boom:
    """Unpickling this creates ``path``: the proof that something was unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


class Hostile:
    """Crafted run folders around one marker file that must never appear."""

    def __init__(self, root: Path, cowes_run):
        from socialrisk.outputs import write_json
        from socialrisk.runcache import run_key
        from socialrisk.settings import settings_from_mapping

        self.root = root
        self.marker = root / "PWNED"
        payload = pickle.dumps(_Boom(self.marker))
        pickle.loads(payload)  # the payload is live ...
        assert self.marker.exists()
        self.marker.unlink()  # ... and gone again before any test

        self.outside = root / "outside"
        self.outside.mkdir()
        (self.outside / "secret.csv").write_text("code,x\nE01000001,1\n")
        (self.outside / "taxonomy.toml").write_text("[x]\nlabel = \"x\"\n")
        self.cache = root / "evil_cache"
        runs = self.cache / "runs"
        runs.mkdir(parents=True)
        self.settings = {
            "osm": "/etc/passwd", "areas": "../../x", "area_id": "lsoa11_code",
            "deprivation": [{"path": str(self.outside / "secret.csv"), "kind": "auto",
                             "code_column": "", "columns": {}}],
            "taxonomy": str(self.outside / "taxonomy.toml"), "cache_dir": str(self.cache),
            "overpass_url": "http://127.0.0.1:9/", "file7_url": "http://127.0.0.1:9/f7.csv",
            "file7_download": True, "walk_speed_kmh": 4.2, "out": "/tmp/anywhere"}
        # a pickle wherever the old cache looked for this run, and a few more
        keys = ["0" * 32, "x"]
        embedded = dict(self.settings, osm="", areas="", deprivation=[], taxonomy="")
        key = run_key(settings_from_mapping({k: v for k, v in embedded.items() if k != "out"}))
        keys.append(key)
        for k in keys:
            (runs / f"{k}.pkl").write_bytes(payload)
        (runs / keys[-1]).mkdir()
        (runs / keys[-1] / "run.pkl").write_bytes(payload)
        self.manifest = {"socialrisk_version": "0.1.0", "settings": self.settings}
        self.targets = [Path("/etc/passwd"), self.outside, self.cache,
                        (root / "../../x").resolve()]

        p, r, app = cowes_run
        self.p, self.r, self.app = p, r, app
        self.result_manifest = r.manifest
        self.write_json = write_json

    def folder(self, name: str, app: bool = True, manifest: dict | None = None) -> Path:
        d = self.root / name
        d.mkdir()
        (d / "manifest.json").write_text(json.dumps(manifest or self.manifest))
        if app:
            shutil.copytree(self.app, d / "app")
            (d / "app" / "prepared.pkl").write_bytes(pickle.dumps(_Boom(self.marker)))
        return d


def _reindex(app: Path) -> None:
    """Re-record sizes and hashes so the tampered file reaches the deeper checks."""
    import hashlib

    index = json.loads((app / "index.json").read_text())
    for name in index["files"]:
        f = app / name
        index["files"][name] = {"bytes": f.stat().st_size,
                                "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
    (app / "index.json").write_text(json.dumps(index))




@pytest.fixture
def hostile(tmp_path, cowes_run):
    h = Hostile(tmp_path, cowes_run)
    yield h
    assert not h.marker.exists(), "something was unpickled"


def _crafted(h: Hostile) -> dict[str, tuple[Path, str]]:
    """Crafted folders that must be refused, with a part of their one-line message."""
    out: dict[str, tuple[Path, str]] = {}
    d = h.folder("no_app", app=False)
    out["no app data"] = (d, f"{d} was written by an older socialrisk without app data; run "
                             f"`socialrisk run ... --out {d}` again")

    d = h.folder("corrupt_parquet")
    (d / "app" / "origins.parquet").write_bytes(b"PAR1" + os.urandom(2000) + b"PAR1")
    out["corrupt parquet"] = (d, "origins.parquet has another size than recorded")

    d = h.folder("corrupt_parquet_rehashed")
    (d / "app" / "areas.parquet").write_bytes(b"PAR1" + os.urandom(2000) + b"PAR1")
    _reindex(d / "app")
    out["corrupt parquet, hashes fixed"] = (d, "areas.parquet is not a readable Parquet file")

    d = h.folder("corrupt_npz")
    (d / "app" / "network.npz").write_bytes(b"PK\x03\x04" + os.urandom(500))
    _reindex(d / "app")
    out["corrupt npz"] = (d, "network.npz is not a readable .npz")

    d = h.folder("object_npz")
    with np.load(d / "app" / "network.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    boom = np.empty(arrays["x"].shape[0], dtype=object)
    boom[:] = [_Boom(h.marker)] * boom.size
    arrays["x"] = boom
    np.savez(d / "app" / "network.npz", **arrays)  # pickles the objects into the .npz
    _reindex(d / "app")
    out["object array in npz"] = (d, "x has dtype object")

    d = h.folder("huge_manifest", app=True)
    with open(d / "manifest.json", "w") as fh:
        fh.write('{"settings": {}, "pad": "' + " " * (11 * 2**20) + '"}')
    out["huge manifest"] = (d, "larger than 10 MB")

    d = h.folder("escaping_index")
    index = json.loads((d / "app" / "index.json").read_text())
    index["files"]["../../evil_cache/runs/x.pkl"] = {"bytes": 1, "sha256": "0" * 64}
    (d / "app" / "index.json").write_text(json.dumps(index))
    out["index naming a file outside"] = (d, "bad file entry")

    d = h.folder("other_version")
    index = json.loads((d / "app" / "index.json").read_text())
    index["version"] = 99
    (d / "app" / "index.json").write_text(json.dumps(index))
    out["other version"] = (d, "run `socialrisk run` again to rewrite it")

    d = h.folder("bad_settings")
    (d / "app" / "settings.json").write_text(json.dumps({"walk_speed_kmh": "fast"}))
    _reindex(d / "app")
    out["bad settings"] = (d, "walk_speed_kmh")
    return out


def _outside_opened(h: Hostile, opened: list[str]) -> list[str]:
    bad = []
    for path in opened:
        p = Path(path)
        full = p if p.is_absolute() else (Path.cwd() / p)
        full = Path(os.path.normpath(full))
        if any(full == t or t in full.parents for t in h.targets):
            bad.append(path)
    return bad


# ------------------------------------------------------------------ functions


@pytest.mark.slow
def test_crafted_folders_are_refused_in_one_line(hostile):
    global _OPENED
    from socialrisk.rundir import load_run_dir
    from socialrisk.ui.state import load_state

    for what, (folder, message) in _crafted(hostile).items():
        for load in (load_run_dir, load_state):
            _OPENED = []
            try:
                with pytest.raises(InputError) as info:
                    load(str(folder))
            finally:
                opened, _OPENED = _OPENED, None
            msg = str(info.value)
            assert message in msg, (what, msg)
            assert "\n" not in msg and len(msg) < 600, (what, msg)
            assert not _outside_opened(hostile, opened), (what, opened)
            assert not hostile.marker.exists(), what


def test_hostile_manifest_with_good_app_data_loads_without_following_anything(hostile):
    global _OPENED
    from socialrisk.rundir import load_run_dir
    from socialrisk.ui.state import load_state

    folder = hostile.folder("good_app_hostile_manifest")
    # the app data's own settings are hostile too: recorded, never followed
    settings = json.loads((folder / "app" / "settings.json").read_text())
    settings.update({k: v for k, v in hostile.settings.items() if k != "walk_speed_kmh"})
    (folder / "app" / "settings.json").write_text(json.dumps(settings))
    _reindex(folder / "app")
    _OPENED = []
    try:
        p, r, s = load_run_dir(folder)
        state = load_state(str(folder))
    finally:
        opened, _OPENED = _OPENED, None
    assert not _outside_opened(hostile, opened), opened
    assert len(r.areas) == len(hostile.r.areas) == len(state.result.areas)
    for st in (s, p.settings, state.settings, state.prepared.settings):
        assert (st.osm, st.areas, st.taxonomy, st.cache_dir, st.overpass_url, st.file7_url) == \
            ("", "", "", "", "", "")
        assert st.deprivation == [] and st.file7_download is True and st.out == "socialrisk_out"
    assert not any(Path(x).suffix == ".pkl" for x in opened)


def test_app_cache_never_reads_the_manifests_cache_dir(hostile, monkeypatch):
    """The default run's cache is the user's own, never a manifest's ``cache_dir``."""
    from socialrisk.runcache import load_or_compute

    calls = []
    monkeypatch.setattr("socialrisk.runcache.load_or_compute",
                        lambda *a, **k: calls.append((a, k)) or load_or_compute(*a, **k))
    from socialrisk.ui.state import load_state

    for folder in (hostile.folder("a"), hostile.folder("b", app=False)):
        with contextlib.suppress(InputError):
            load_state(str(folder))
    assert calls == []  # a run folder never goes through the cache at all
    assert not any(hostile.cache.rglob("*.json"))


# ------------------------------------------------------------------ the app


def test_app_shows_one_line_for_every_crafted_folder(hostile, monkeypatch):
    pytest.importorskip("streamlit")
    pytest.importorskip("streamlit_folium")
    from streamlit.testing.v1 import AppTest

    crafted = _crafted(hostile)
    first, _ = crafted["no app data"]
    monkeypatch.setattr(sys, "argv", ["app.py", "--run", str(first)])
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for what, (folder, message) in crafted.items():
        at.text_input(key="run_dir").set_value(str(folder)).run()
        assert not at.exception, (what, [e.value for e in at.exception])
        assert len(at.error) == 1, (what, [e.value for e in at.error])
        shown = re.sub(r"\\(.)", r"\1", at.error[0].value)  # md_text escapes punctuation
        assert message in shown, (what, shown)
        assert "Traceback" not in at.error[0].value
        assert not at.tabs, what  # nothing of the run is shown
        assert not hostile.marker.exists(), what


@pytest.mark.slow
def test_app_renders_good_app_data_behind_a_hostile_manifest(hostile, monkeypatch):
    pytest.importorskip("streamlit")
    pytest.importorskip("streamlit_folium")
    from streamlit.testing.v1 import AppTest

    folder = hostile.folder("good")
    monkeypatch.setattr(sys, "argv", ["app.py", "--run", str(folder)])
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    n = len(hostile.r.areas)
    assert any(c.value.startswith(f"{n} areas; loaded in") for c in at.sidebar.caption)


# ------------------------------------------------------------------ the code


SHIPPED = [ROOT / "app.py", *sorted((ROOT / "socialrisk").rglob("*.py")),
           *sorted((ROOT / "geo").rglob("*.py")), *sorted((ROOT / "risk").rglob("*.py"))]
FORBIDDEN = re.compile(
    r"\bpickle\b|\bcPickle\b|cloudpickle|\bjoblib\b|\bdill\b|\bshelve\b|\bmarshal\b"
    r"|read_pickle|to_pickle|allow_pickle\s*=\s*True|\beval\s*\(|\bexec\s*\("
    r"|yaml\.load\s*\(|torch\.load")


def test_no_code_execution_from_data_in_shipped_code():
    """No pickle/joblib/dill, no allow_pickle=True, no eval/exec anywhere in shipped code."""
    assert len(SHIPPED) > 20
    hits = []
    for path in SHIPPED:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
            if re.search(r"\bnp\.load\s*\(|numpy\.load\s*\(", line) and \
                    "allow_pickle=False" not in line:
                hits.append(f"{path.relative_to(ROOT)}:{i}: np.load without allow_pickle=False")
    assert not hits, "\n".join(hits)


def test_a_link_inside_app_data_is_refused(cowes_run, tmp_path):
    """A file of app/ replaced by a link (even to identical content) is not followed."""
    import shutil

    from socialrisk.runstore import load_run

    _, _, app = cowes_run
    copy = tmp_path / "app"
    shutil.copytree(app, copy)
    outside = tmp_path / "labels.json"
    outside.write_bytes((copy / "labels.json").read_bytes())
    (copy / "labels.json").unlink()
    (copy / "labels.json").symlink_to(outside)
    with pytest.raises(InputError, match="symbolic link"):
        load_run(copy)
