"""From a copy of the working tree into fresh virtual environments, as a new user installs it.

* a plain ``pip install .``: ``socialrisk run`` from another folder writes every output;
* then ``pip install ".[app]"``: the app's first page (Streamlit's AppTest) from the
  repository's ``app.py`` and from the installed script, and ``socialrisk app`` serves
  (health "ok") and stops on Ctrl-C with Streamlit;
* an editable ``pip install -e ".[app]"`` in a second venv: ``streamlit run app.py`` from the
  repository serves, ``socialrisk app`` too, and ``socialrisk run`` works.

Slow (minutes: the venvs install every dependency, from pip's cache when it has them) and
online (pip reaches PyPI): run by ``.ci/run`` with ``python -m pytest -m slow``. The
timings are printed at the end of the module.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="POSIX process groups and paths")]

OUTPUTS = ["amenities.gpkg", "app", "areas.csv", "areas.gpkg", "manifest.json", "map.html"]
TABS = ["Explore", "Underserved", "Site", "What if", "Connect", "Change"]
#: untracked tool caches that are not the project (copying them would test nothing)
TOOL_CACHES = {".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "__pycache__"}
PIP_TIMEOUT = 1800  # seconds for one pip install (a cold cache downloads a few hundred MB)
HEALTH_TIMEOUT = 90

TIMINGS: list[tuple[str, float]] = []

#: the app's first page through Streamlit's AppTest; run by the venv's python with ``-c``
#: (so that, from the repository, the repository comes first on sys.path, as for
#: ``streamlit run app.py``). $APP_SCRIPT: the script; empty = the installed one.
APPTEST = """
import os, socialrisk
from streamlit.testing.v1 import AppTest
from socialrisk.cli import app_script
script = os.environ["APP_SCRIPT"] or str(app_script())
at = AppTest.from_file(script, default_timeout=180).run()
assert not at.exception, [e.value for e in at.exception]
assert not at.error, [e.value for e in at.error]
tabs = [t.label for t in at.tabs]
assert tabs == TABS, tabs
print("script", script)
print("socialrisk", socialrisk.__file__)
print("captions", [c.value for c in at.sidebar.caption])
""".replace("TABS", repr(TABS))

#: start a command with Ctrl-C's default action even when this test runs with SIGINT
#: ignored (a background job of a shell): then the test's Ctrl-C reaches the command
EXEC_WITH_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                    "os.execv(sys.argv[1], sys.argv[1:])")


# ------------------------------------------------------------------ helpers


class _Timer:
    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        TIMINGS.append((self.what, time.perf_counter() - self.t0))


def _working_tree_files() -> list[str]:
    """Tracked files plus untracked, not ignored ones: the working tree as it is."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the working tree's files cannot be listed")
    done = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          cwd=ROOT, capture_output=True, timeout=120)
    if done.returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout: {done.stderr.decode(errors='replace')[:200]}")
    names = sorted({n for n in done.stdout.decode().split("\0") if n})
    return [n for n in names if not TOOL_CACHES & set(Path(n).parts)]


def _copy_working_tree(dest: Path) -> int:
    n = 0
    for name in _working_tree_files():
        src = ROOT / name
        if not src.is_file():  # deleted in the working tree, or not a regular file
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / name)
        n += 1
    return n


def _env(venv: Path, cache: Path) -> dict[str, str]:
    """The environment of a user who activated ``venv``: nothing of this test's Python."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(_bin(venv)), env.get("PATH", "")])
    env["SOCIALRISK_CACHE"] = str(cache)  # a fresh run cache; pip keeps its own cache
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _bin(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def _exe(venv: Path, name: str) -> str:
    return str(_bin(venv) / (f"{name}.exe" if os.name == "nt" else name))


def _run(cmd: list[str], *, cwd: Path, env: dict, log: Path, timeout: float = 600,
         what: str = "") -> str:
    """Run ``cmd``; its output goes to ``log``; fails with the log's end when it fails."""
    with _Timer(what or " ".join(Path(cmd[0]).name.split() + cmd[1:])), open(log, "ab") as f:
        f.write(f"\n$ (cd {cwd}) {' '.join(cmd)}\n".encode())
        f.flush()
        start = log.stat().st_size
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT,
                              timeout=timeout)
    output = log.read_bytes()[start:].decode(errors="replace")
    assert done.returncode == 0, f"{cmd} exit {done.returncode}:\n{output[-4000:]}"
    return output


def _make_venv(venv: Path, env: dict, log: Path) -> None:
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent, env=env, log=log,
         what=f"python -m venv {venv.name}")


def _pip(venv: Path, spec: list[str], *, repo: Path, env: dict, log: Path) -> None:
    _run([_exe(venv, "python"), "-m", "pip", "install", *spec], cwd=repo, env=env, log=log,
         timeout=PIP_TIMEOUT, what=f"{venv.name}: pip install {' '.join(spec)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_until_healthy(cmd: list[str], *, cwd: Path, env: dict, port: int, log: Path,
                         what: str) -> None:
    """Start ``cmd`` (a server), wait for /_stcore/health "ok", stop it with Ctrl-C (SIGINT).

    The server and its children run in their own process group: after the Ctrl-C none
    of them may be left; the group is killed whatever happens.
    """
    url = f"http://127.0.0.1:{port}/_stcore/health"
    with open(log, "ab") as f:
        f.write(f"\n$ (cd {cwd}) {' '.join(cmd)}\n".encode())
        f.flush()
        t0 = time.perf_counter()
        python = _exe(Path(env["VIRTUAL_ENV"]), "python")
        proc = subprocess.Popen([python, "-c", EXEC_WITH_SIGINT, *cmd], cwd=cwd, env=env,
                                stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        body = ""
        while time.perf_counter() - t0 < HEALTH_TIMEOUT and proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    body = r.read().decode()
                if body == "ok":
                    break
            except OSError:
                pass
            time.sleep(0.5)
        TIMINGS.append((f"{what}: health ok", time.perf_counter() - t0))
        assert body == "ok", f"{what}: no health 'ok' in {HEALTH_TIMEOUT} s (exit " \
                             f"{proc.poll()}):\n{log.read_text(errors='replace')[-4000:]}"
        t1 = time.perf_counter()
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        code = proc.wait(timeout=30)
        TIMINGS.append((f"{what}: stopped by Ctrl-C", time.perf_counter() - t1))
        assert code == 0, f"{what}: exit {code} after Ctrl-C:\n" \
                          f"{log.read_text(errors='replace')[-4000:]}"
        time.sleep(0.5)
        with pytest.raises(ProcessLookupError):  # nothing of it left: Streamlit stopped too
            os.killpg(proc.pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _check_run(venv: Path, *, env: dict, tmp: Path, log: Path, what: str) -> Path:
    """``socialrisk run --no-download`` from a folder outside the repository: every output."""
    elsewhere = _elsewhere(tmp)
    out = tmp / "out" / venv.name / "isle_of_wight"
    _run([_exe(venv, "socialrisk"), "run", "--out", str(out), "--no-download"],
         cwd=elsewhere, env=env, log=log, what=f"{what}: socialrisk run")
    missing = [n for n in OUTPUTS if not (out / n).exists()]
    assert not missing, f"{what}: missing outputs {missing} in {sorted(os.listdir(out))}"
    with open(out / "areas.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 89, f"{what}: {len(rows)} areas in areas.csv"
    assert (out / "app").is_dir()
    return out


def _apptest(venv: Path, script: str, *, env: dict, cwd: Path, log: Path,
             what: str) -> dict[str, str]:
    """The app's first page with AppTest; the script and socialrisk's file it used."""
    out = _run([_exe(venv, "python"), "-c", APPTEST], cwd=cwd, env={**env, "APP_SCRIPT": script},
               log=log, what=what)
    seen = dict(line.split(" ", 1) for line in out.splitlines()
                if line.startswith(("script ", "socialrisk ", "captions ")))
    assert "89 areas; loaded in" in seen.get("captions", ""), out[-4000:]
    return seen


def _elsewhere(tmp: Path) -> Path:
    """An empty folder outside the checkout, for commands run "from anywhere"."""
    folder = tmp / "elsewhere"
    folder.mkdir(exist_ok=True)
    return folder


def _module_file(venv: Path, *, env: dict, cwd: Path, log: Path) -> Path:
    code = "import socialrisk.cli; print(socialrisk.cli.__file__)"
    out = _run([_exe(venv, "python"), "-c", code], cwd=cwd, env=env, log=log,
               what=f"{venv.name}: import socialrisk")
    return Path(out.strip().splitlines()[-1]).resolve()


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, request):
    """A copy of the working tree (``repo``), a scratch folder (``tmp``) and the log."""
    tmp = tmp_path_factory.mktemp("fresh_install")
    repo = tmp / "checkout"  # not "socialrisk": from tmp, that folder would be importable
    repo.mkdir()
    t0 = time.perf_counter()
    n = _copy_working_tree(repo)
    TIMINGS.append((f"copy the working tree ({n} files)", time.perf_counter() - t0))
    assert (repo / "pyproject.toml").is_file() and (repo / "app.py").is_file()
    log = tmp / "fresh_install.log"
    log.touch()
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")

    def report():
        for venv in tmp.glob("venv_*"):  # about 0.9 GB each; the log and outputs stay
            shutil.rmtree(venv, ignore_errors=True)
        lines = ["", f"fresh install timings (log: {log}):"]
        lines += [f"  {seconds:7.1f} s  {what}" for what, seconds in TIMINGS]
        lines.append(f"  {sum(s for _, s in TIMINGS):7.1f} s  in all")
        if reporter is None or capture is None:
            print("\n".join(lines))
            return
        with capture.global_and_fixture_disabled():  # shown even when the tests pass
            for line in lines:
                reporter.write_line(line)

    request.addfinalizer(report)
    return {"tmp": tmp, "repo": repo, "log": log}


@pytest.fixture(scope="module")
def plain(fresh):
    """A fresh venv with a plain ``pip install .`` of the copy."""
    venv = fresh["tmp"] / "venv_plain"
    env = _env(venv, fresh["tmp"] / "cache_plain")
    _make_venv(venv, env, fresh["log"])
    _pip(venv, ["."], repo=fresh["repo"], env=env, log=fresh["log"])
    return venv, env


# ------------------------------------------------------------------ the tests


def test_plain_install_runs_from_anywhere(fresh, plain):
    venv, env = plain
    where = _module_file(venv, env=env, cwd=_elsewhere(fresh["tmp"]), log=fresh["log"])
    assert venv.resolve() in where.parents, f"socialrisk imported from {where}, not the venv"
    _check_run(venv, env=env, tmp=fresh["tmp"], log=fresh["log"], what="plain")


def test_plain_install_with_the_app_serves(fresh, plain):
    venv, env = plain
    repo, tmp, log = fresh["repo"], fresh["tmp"], fresh["log"]
    _pip(venv, [".[app]"], repo=repo, env=env, log=log)
    # from the repository: `streamlit run app.py`'s first page (the shim, the repository's code)
    seen = _apptest(venv, "app.py", env=env, cwd=repo, log=log, what="plain: AppTest app.py")
    assert repo.resolve() in Path(seen["socialrisk"]).resolve().parents, seen
    # from anywhere: the installed script, the installed code
    elsewhere = _elsewhere(tmp)
    seen = _apptest(venv, "", env=env, cwd=elsewhere, log=log,
                    what="plain: AppTest installed script")
    for key in ("script", "socialrisk"):
        assert venv.resolve() in Path(seen[key]).resolve().parents, seen
    # the command, from a folder without .streamlit/config.toml
    port = _free_port()
    _serve_until_healthy([_exe(venv, "socialrisk"), "app", "--port", str(port)], cwd=elsewhere,
                         env=env, port=port, log=log, what="plain: socialrisk app")


def test_editable_install_serves_from_the_repository_and_runs(fresh):
    repo, tmp, log = fresh["repo"], fresh["tmp"], fresh["log"]
    venv = tmp / "venv_editable"
    env = _env(venv, tmp / "cache_editable")
    _make_venv(venv, env, log)
    _pip(venv, ["-e", ".[app]"], repo=repo, env=env, log=log)
    where = _module_file(venv, env=env, cwd=_elsewhere(tmp), log=log)
    assert repo.resolve() in where.parents, f"socialrisk imported from {where}, not the copy"
    port = _free_port()
    _serve_until_healthy([_exe(venv, "streamlit"), "run", "app.py", "--server.port", str(port),
                          "--server.headless", "true"], cwd=repo, env=env, port=port, log=log,
                         what="editable: streamlit run app.py")
    port = _free_port()
    _serve_until_healthy([_exe(venv, "socialrisk"), "app", "--port", str(port)],
                         cwd=_elsewhere(tmp),
                         env=env, port=port, log=log, what="editable: socialrisk app")
    _check_run(venv, env=env, tmp=tmp, log=log, what="editable")
