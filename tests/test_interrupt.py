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
    """Every file of the output folder but a killed run's staging folder and lock file."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.relative_to(out).as_posix().startswith(".socialrisk-part-")
            and p.name != ".socialrisk-lock"}  # a killed run's lock file (its lock is gone)


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
            if out.is_dir() and list(out.glob(".socialrisk-part-*")):
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
    # a killed process cannot clean up: what it leaves is its hidden staging folder in out/
    # and its (released) lock file, both removed or reused by the next run
    assert [p.name for p in out.parent.iterdir() if p.name != "cache"] == ["out"]
    assert all(p.name.startswith(".socialrisk-part-") for p in out.iterdir()
               if p.name.startswith(".")
               and p.name not in (".socialrisk-outputs.json", ".socialrisk-lock"))
    from socialrisk.cli import main as run_again

    assert run_again(_argv(cowes, out)) == 0  # the next run is not blocked by the leftovers
    assert not [p for p in out.iterdir() if p.name.startswith((".socialrisk-part-",
                                                                ".socialrisk-lock"))]


def test_sigint_on_a_first_run_leaves_no_target(cowes, tmp_path):
    out = tmp_path / "fresh"
    res = _interrupt_while_writing(cowes, out, signal.SIGINT)
    assert res.returncode == 130
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache"] == []


def test_leftovers_of_a_killed_run_are_removed_by_the_next_run(cowes, previous):
    """A dead process's staging folder inside out/ is removed; a live one's is kept."""
    import subprocess
    import sys

    from socialrisk.outdir import check_out_dir

    out, before = previous
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    part = out / f".socialrisk-part-{int(dead.stdout)}-abc"
    part.mkdir()
    (part / ".socialrisk-staging").write_text("socialrisk staging folder\n")
    (part / "areas.csv").write_text("half")
    live = out / f".socialrisk-part-{os.getpid()}-xyz"
    live.mkdir()
    check_out_dir(out)
    assert not part.exists() and live.is_dir()
    live.rmdir()
    assert _snapshot(out) == before
