"""``socialrisk app``: the command line it builds, its errors, and the installed script.

Nothing here starts Streamlit (tests/test_fresh_install.py does, from fresh installs).
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from conftest import ROOT

from geo.uploads import MAX_UPLOAD_BYTES
from socialrisk import cli
from socialrisk.cli import _parser, app_command, app_script, main

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

MISSING = 'socialrisk: error: the app needs streamlit: pip install "socialrisk[app]"'


def _args(*argv: str):
    return _parser().parse_args(["app", *argv])


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# ------------------------------------------------------------------ the command line


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["app", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--run DIR", "--port PORT", "--deprivation CSV", "Ctrl-C"):
        assert flag in out


def test_help_through_the_installed_entry_point():
    exe = shutil.which("socialrisk", path=os.path.dirname(sys.executable)) or \
        shutil.which("socialrisk")
    if exe is None:
        pytest.skip("the socialrisk console script is not installed")
    done = subprocess.run([exe, "app", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: socialrisk app" in done.stdout


def test_the_command_enforces_the_upload_limit_on_the_server(tmp_path):
    cmd = app_command(_args("--run", str(tmp_path), "--port", "8765"), "/x/streamlit_app.py")
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", "/x/streamlit_app.py"]
    limit = cmd[cmd.index("--server.maxUploadSize") + 1]
    assert int(limit) * 1024 * 1024 == MAX_UPLOAD_BYTES  # MB as Streamlit counts them: MiB
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[cmd.index("--server.port") + 1] == "8765"
    # this computer only, unless asked: Streamlit alone would listen on every interface
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    shared = app_command(_args("--address", "0.0.0.0"), "/x/s.py")
    assert shared[shared.index("--server.address") + 1] == "0.0.0.0"
    assert cmd.index("--server.maxUploadSize") < cmd.index("--")  # Streamlit's, not the app's
    assert cmd[cmd.index("--"):] == ["--", "--run", str(tmp_path)]


def test_the_apps_options_follow_the_double_dash_as_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmd = app_command(_args("--run=-odd", "--deprivation", "f7.csv", "--deprivation",
                            "https://example.org/f7.csv"), "/x/streamlit_app.py")
    assert "--server.port" not in cmd  # Streamlit's default
    assert cmd[cmd.index("--"):] == [
        "--", "--run", str(tmp_path / "-odd"), "--deprivation", str(tmp_path / "f7.csv"),
        "--deprivation", "https://example.org/f7.csv"]
    assert cmd[-1] != "--run"
    assert app_command(_args(), "/x/s.py")[-1] == "--"  # no --run: the Isle of Wight default


def test_the_default_script_is_the_installed_one():
    cmd = app_command(_args())
    assert cmd[4] == str(app_script())


# ------------------------------------------------------------------ errors, one line


def test_missing_streamlit_is_one_line_and_exit_2(monkeypatch, capsys):
    real = cli.importlib.util.find_spec
    monkeypatch.setattr(cli.importlib.util, "find_spec",
                        lambda name, *a: None if name == "streamlit" else real(name, *a))
    monkeypatch.setattr(cli.subprocess, "Popen", _no_launch)
    assert main(["app"]) == 2
    assert _one_error_line(capsys) == MISSING


def test_a_run_that_is_not_a_directory_is_one_line(tmp_path, monkeypatch, capsys):
    _pretend_streamlit_is_installed(monkeypatch)
    monkeypatch.setattr(cli.subprocess, "Popen", _no_launch)
    assert main(["app", "--run", str(tmp_path / "nowhere")]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("socialrisk: error: --run ") and "is not a directory" in line


@pytest.mark.parametrize("port", ["0", "65536", "http", "-1"])
def test_a_bad_port_is_one_line(port, capsys):
    assert main(["app", f"--port={port}"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("socialrisk: error: argument --port: must be a whole number")


@pytest.mark.parametrize("address", ["999.1.1.1", "example.org", "", "127.0.0.1; rm -rf /"])
def test_a_bad_address_is_one_line(address, capsys):
    assert main(["app", f"--address={address}"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("socialrisk: error: argument --address: must be an IP address")


# ------------------------------------------------------------------ running (a fake server)


class _FakeServer:
    """Stands in for the Streamlit process: ``wait`` plays the given outcomes in turn."""

    def __init__(self, cmd, outcomes):
        self.cmd, self.outcomes, self.signals = cmd, list(outcomes), []

    def wait(self, timeout=None):
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def send_signal(self, sig):
        self.signals.append(sig)

    def kill(self):
        self.signals.append("kill")


def _no_launch(*a, **k):
    raise AssertionError("Streamlit must not be started")


def _pretend_streamlit_is_installed(monkeypatch):
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name, *a: object())


def _launch(monkeypatch, outcomes) -> list[_FakeServer]:
    started = []

    def popen(cmd, **kwargs):
        started.append(_FakeServer(cmd, outcomes))
        return started[-1]

    _pretend_streamlit_is_installed(monkeypatch)
    monkeypatch.setattr(cli.subprocess, "Popen", popen)
    return started


def test_returns_streamlits_exit_code(tmp_path, monkeypatch):
    started = _launch(monkeypatch, [3])
    assert main(["app", "--run", str(tmp_path)]) == 3
    assert started[0].cmd[-2:] == ["--run", str(tmp_path)] and started[0].signals == []


def test_ctrl_c_is_forwarded_and_streamlits_code_returned(monkeypatch):
    started = _launch(monkeypatch, [KeyboardInterrupt(), 0])
    assert main(["app"]) == 0
    expected = signal.SIGINT if os.name == "posix" else signal.SIGTERM
    assert started[0].signals == [expected]


def test_a_server_that_will_not_stop_is_killed(monkeypatch):
    started = _launch(monkeypatch, [KeyboardInterrupt(),
                                    subprocess.TimeoutExpired("streamlit", 15), -9])
    assert main(["app"]) == 128 + 9  # as a shell shows a process killed by signal 9
    assert started[0].signals[-1] == "kill"


# ------------------------------------------------------------------ the installed script


def test_the_script_is_inside_the_package_alone_in_its_folder():
    script = Path(str(resources.files("socialrisk.app") / "streamlit_app.py"))
    assert script.is_file() and app_script() == script
    folder = script.parent
    assert folder.name == "app" and folder.parent.name == "socialrisk"
    # Streamlit puts this folder first on sys.path: nothing else in it may be importable
    assert sorted(p.name for p in folder.iterdir() if p.name != "__pycache__") == [
        "__init__.py", "streamlit_app.py"]


def test_pyproject_ships_the_script_and_the_command():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "socialrisk.app" in config["tool"]["setuptools"]["packages"]
    assert config["project"]["scripts"]["socialrisk"] == "socialrisk.cli:main"
    assert any(dep.startswith("streamlit") for dep in config["project"]["optional-dependencies"]
               ["app"])


def test_the_script_runs_main_when_streamlit_runs_it_and_the_shim_calls_the_same():
    script = ast.parse((ROOT / "socialrisk" / "app" / "streamlit_app.py").read_text())
    guard = script.body[-1]
    assert isinstance(guard, ast.If) and ast.unparse(guard.test) == "__name__ == '__main__'"
    assert ast.unparse(guard.body[0]) == "main()"
    shim = ast.parse((ROOT / "app.py").read_text())
    imports = [n for n in shim.body if isinstance(n, ast.ImportFrom)]
    assert [(n.module, [a.name for a in n.names]) for n in imports] == [
        ("socialrisk.app.streamlit_app", ["main"])]
    assert ast.unparse(shim.body[-1]) == "main()"  # run again on every rerun, not just imported
