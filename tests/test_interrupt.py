"""A real ``socialrisk run`` interrupted while writing its outputs leaves the previous ones intact.

The run (the real Cowes extract, see ``conftest.cowes``) is a subprocess; the
signal is sent the moment its temporary output directory appears, i.e. while
files are being written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socialrisk.cli import main

pytestmark = pytest.mark.slow  # each case starts a Python process (about 3 s)


def _argv(cowes, out: Path) -> list[str]:
    return ["run", "--areas", str(cowes.areas), "--osm", str(cowes.pbf), "--out", str(out),
            "--no-download", "--quiet", "--cache-dir", str(out.parent / "cache")]


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.fixture
def previous(cowes, tmp_path):
    out = tmp_path / "out"
    assert main(_argv(cowes, out)) == 0
    return out, _snapshot(out)


def _interrupt_while_writing(cowes, out: Path, sig: int) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-m", "socialrisk.cli", *_argv(cowes, out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if list(out.parent.glob(f".{out.name}.part-*")):
                os.kill(proc.pid, sig)
                break
            if proc.poll() is not None:
                pytest.fail("the run finished before its outputs were seen being written")
            time.sleep(0.002)
        else:
            pytest.fail("no temporary output directory appeared within 60 s")
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_or_kill_while_writing_keeps_previous_outputs_and_cleans_up(
        cowes, previous, sig):
    out, before = previous
    res = _interrupt_while_writing(cowes, out, sig)
    assert res.returncode == 130, res.stderr
    assert b"interrupted; previous outputs left as they were" in res.stderr
    assert b"Traceback" not in res.stderr
    assert _snapshot(out) == before
    assert [p.name for p in out.parent.iterdir() if p.name != "cache"] == ["out"]  # no temp


def test_sigkill_while_writing_keeps_previous_outputs(cowes, previous):
    out, before = previous
    res = _interrupt_while_writing(cowes, out, signal.SIGKILL)
    assert res.returncode == -signal.SIGKILL
    assert _snapshot(out) == before  # the target is the previous run, never half-written
    # a killed process cannot clean up: what it leaves is a hidden temporary directory
    left = [p.name for p in out.parent.iterdir() if p.name not in ("cache", "out")]
    assert all(n.startswith(".out.part-") for n in left)


def test_sigint_on_a_first_run_leaves_no_target(cowes, tmp_path):
    out = tmp_path / "fresh"
    res = _interrupt_while_writing(cowes, out, signal.SIGINT)
    assert res.returncode == 130
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache"] == []


def test_leftovers_of_a_killed_run_are_recovered(tmp_path):
    """A dead process's temp dir is removed; its .old dir is restored when the target is gone."""
    import subprocess
    import sys

    from socialrisk.outputs import recover_interrupted

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)  # a process that has exited
    target = tmp_path / "out"
    part = tmp_path / f".out.part-{pid}-abc"
    part.mkdir()
    (part / "areas.csv").write_text("half")
    old = tmp_path / f".out.old-{pid}"
    old.mkdir()
    (old / "areas.csv").write_text("previous")
    recover_interrupted(target)
    assert not part.exists()
    assert (target / "areas.csv").read_text() == "previous" and not old.exists()
    # with the target in place, a stale .old dir is simply removed
    old.mkdir()
    recover_interrupted(target)
    assert not old.exists() and (target / "areas.csv").read_text() == "previous"
