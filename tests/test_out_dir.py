"""``--out`` never deletes, moves or overwrites a file socialrisk did not write.

Every case runs the real command line on the real Cowes extract (``conftest.cowes``,
about a second a run) and compares the folder byte for byte before and after.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from socialrisk.cli import main
from socialrisk.core.errors import InputError
from socialrisk.outdir import MARKER, check_out_dir

OUTPUTS = {"areas.gpkg", "areas.csv", "amenities.gpkg", "map.html", "manifest.json"}


def _argv(cowes, out: str | Path) -> list[str]:
    return ["run", "--areas", str(cowes.areas), "--osm", str(cowes.pbf), "--out", str(out),
            "--no-download", "--quiet", "--no-map", "--cache-dir", str(cowes.root / "cache")]


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry below ``folder`` with its bytes (None for folders)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def _user_folder(root: Path) -> Path:
    d = root / "work"
    (d / "photos").mkdir(parents=True)
    (d / "thesis.docx").write_bytes(b"PK\x03\x04 four years of work")
    (d / "photos" / "ventnor.jpg").write_bytes(b"\xff\xd8\xff jpeg")
    return d


def _refused(argv: list[str], capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("socialrisk: error:")]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]




def test_folder_with_user_files_is_refused_and_untouched(cowes, tmp_path, capsys, no_compute):
    d = _user_folder(tmp_path)
    before = _tree(d)
    line = _refused(_argv(cowes, d), capsys)
    assert "already holds files socialrisk did not write" in line
    assert "'photos'" in line and "new or empty folder" in line
    assert _tree(d) == before


def test_out_dot_in_the_input_folder_keeps_the_inputs(cowes, tmp_path, capsys, monkeypatch,
                                                      no_compute):
    d = tmp_path / "inputs"
    d.mkdir()
    for src in (cowes.areas, cowes.pbf):
        (d / src.name).write_bytes(src.read_bytes())
    before = _tree(d)
    monkeypatch.chdir(d)
    line = _refused(["run", "--areas", "cowes.gpkg", "--osm", "cowes.osm.pbf", "--out", ".",
                     "--quiet"], capsys)
    assert "did not write" in line
    assert _tree(d) == before


def test_empty_out_is_refused_and_the_current_folder_untouched(cowes, tmp_path, capsys,
                                                               monkeypatch, no_compute):
    d = _user_folder(tmp_path)
    before = _tree(d)
    monkeypatch.chdir(d)
    line = _refused(_argv(cowes, ""), capsys)
    assert "--out is empty" in line
    assert _tree(d) == before


def test_nul_byte_and_a_file_as_out_are_refused(cowes, tmp_path, capsys, no_compute):
    assert "NUL" in _refused(_argv(cowes, f"{tmp_path}/a\0b"), capsys)
    f = tmp_path / "report.txt"
    f.write_text("mine")
    assert "is a file, not a folder" in _refused(_argv(cowes, f), capsys)
    assert "is a file" in _refused(_argv(cowes, f / "sub"), capsys)
    assert f.read_text() == "mine"


def test_a_link_to_a_user_folder_is_refused_and_its_target_untouched(cowes, tmp_path, capsys,
                                                                     no_compute):
    d = _user_folder(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(d, target_is_directory=True)
    before = _tree(d)
    assert "did not write" in _refused(_argv(cowes, link), capsys)
    assert _tree(d) == before and link.is_symlink()


def test_an_empty_mounted_folder_is_written_into_not_replaced(cowes, tmp_path):
    """A bind mount (``docker -v host:/out``) cannot be renamed: the folder itself stays."""
    mount = tmp_path / "out"
    mount.mkdir()
    (mount / "lost+found").mkdir()  # what the root of a mounted file system holds
    inode = mount.stat().st_ino
    for _ in range(2):
        assert main(_argv(cowes, mount)) == 0
        assert mount.stat().st_ino == inode
    names = {p.name for p in mount.iterdir()}
    assert OUTPUTS - {"map.html"} <= names and MARKER in names and "lost+found" in names
    assert not [n for n in names if n.startswith(".socialrisk-part-")]


def test_rerun_replaces_only_our_files_and_keeps_the_users(cowes, tmp_path):
    out = tmp_path / "out"
    assert main(_argv(cowes, out) + ["--walk-speed", "4"]) == 0
    (out / "notes.txt").write_text("meeting notes")
    first = json.loads((out / "manifest.json").read_text())
    assert main(_argv(cowes, out)) == 0
    second = json.loads((out / "manifest.json").read_text())
    assert first["settings"]["walk_speed_kmh"] == 4.0
    assert second["settings"]["walk_speed_kmh"] == 4.8
    assert (out / "notes.txt").read_text() == "meeting notes"
    marker = json.loads((out / MARKER).read_text())
    assert set(marker["files"]) == {p.relative_to(out).as_posix() for p in out.rglob("*")
                                    if p.is_file()} - {"notes.txt", MARKER}
    assert "pending" not in marker


def test_a_map_no_longer_made_is_removed_only_because_it_is_ours(cowes, tmp_path):
    out = tmp_path / "out"
    argv = _argv(cowes, out)
    argv.remove("--no-map")
    assert main(argv) == 0 and (out / "map.html").is_file()
    assert main(_argv(cowes, out)) == 0
    assert not (out / "map.html").exists()  # a stale map would not match the new tables


def test_an_output_edited_since_is_refused_not_overwritten(cowes, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_argv(cowes, out)) == 0
    (out / "areas.csv").write_text("my edits in a spreadsheet")
    before = _tree(out)
    line = _refused(_argv(cowes, out), capsys)
    assert "areas.csv was changed after socialrisk wrote it" in line
    assert _tree(out) == before


def test_a_forged_marker_never_makes_a_user_file_ours(cowes, tmp_path):
    """A marker is data: listing thesis.docx with its hash must not get it replaced."""
    import hashlib

    d = tmp_path / "out"
    d.mkdir()
    thesis = d / "thesis.docx"
    thesis.write_bytes(b"PK mine")
    (d / MARKER).write_text(json.dumps({"written_by": "socialrisk", "files": {
        "thesis.docx": {"sha256": hashlib.sha256(b"PK mine").hexdigest()},
        "../escape.txt": {"sha256": "0" * 64}, "/etc/passwd": {"sha256": "0" * 64}}}))
    assert main(_argv(cowes, d)) == 0
    assert thesis.read_bytes() == b"PK mine"
    assert "thesis.docx" not in json.loads((d / MARKER).read_text())["files"]


def test_a_user_file_with_an_output_name_is_not_overwritten(cowes, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_argv(cowes, out)) == 0
    marker = json.loads((out / MARKER).read_text())
    del marker["files"]["areas.csv"]  # as if the user had put their own areas.csv there
    (out / MARKER).write_text(json.dumps(marker))
    (out / "areas.csv").write_text("the user's own table")
    line = _refused(_argv(cowes, out), capsys)
    assert "areas.csv exists and was not written by socialrisk" in line
    assert (out / "areas.csv").read_text() == "the user's own table"


def test_older_versions_output_is_recognised_by_its_manifest(cowes, tmp_path):
    out = tmp_path / "out"
    assert main(_argv(cowes, out)) == 0
    (out / MARKER).unlink()  # what a folder written before the marker looks like
    assert main(_argv(cowes, out)) == 0
    assert (out / MARKER).is_file()


def test_a_swap_killed_halfway_is_rolled_back_by_the_next_run(cowes, tmp_path):
    """Simulate a SIGKILL between the renames: new files half in, the old ones aside."""
    import subprocess
    import sys

    from socialrisk.outdir import sha256_file, write_marker

    out = tmp_path / "out"
    assert main(_argv(cowes, out)) == 0
    before = _tree(out)
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout)
    old = out / f".socialrisk-old-{dead}"
    old.mkdir()
    owned = json.loads((out / MARKER).read_text())["files"]
    os.replace(out / "areas.csv", old / "areas.csv")
    (out / "areas.csv").write_text("new, half swapped")
    write_marker(out, {k: v["sha256"] for k, v in owned.items()},
                 pending={"areas.csv": sha256_file(out / "areas.csv")})
    check_out_dir(out)  # the next run starts by recovering
    assert _tree(out) == before


def test_check_is_fast_and_says_nothing_was_changed(tmp_path):
    d = _user_folder(tmp_path)
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="nothing was changed"):
        check_out_dir(d)
    assert time.perf_counter() - t0 < 0.5


def test_a_linked_app_folder_is_refused_and_its_target_untouched(cowes, tmp_path, capsys):
    """A previous output whose app/ is a link elsewhere: nothing is written through it."""
    import hashlib
    import shutil

    out = tmp_path / "out"
    assert main(_argv(cowes, out)) == 0
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "config.json").write_text('{"mine": 1}')
    shutil.rmtree(out / "app")
    (out / "app").symlink_to(victim, target_is_directory=True)
    marker = json.loads((out / MARKER).read_text())
    marker["files"]["app/config.json"] = {
        "sha256": hashlib.sha256(b'{"mine": 1}').hexdigest()}  # forged, with the right hash
    (out / MARKER).write_text(json.dumps(marker))
    before = _tree(victim)
    assert "app is a symbolic link" in _refused(_argv(cowes, out), capsys)
    assert _tree(victim) == before


def test_recovery_never_follows_links_nor_removes_what_it_did_not_make(cowes, tmp_path,
                                                                       capsys):
    import subprocess
    import sys

    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout)
    # a refused folder: nothing in it is touched, hidden names included
    u = tmp_path / "u"
    (u / f".socialrisk-part-{dead}-thesis").mkdir(parents=True)
    (u / f".socialrisk-part-{dead}-thesis" / "thesis.docx").write_bytes(b"PK")
    (u / f".socialrisk-old-{dead}").mkdir()
    (u / f".socialrisk-old-{dead}" / "areas.csv").write_text("mine")
    (u / "photos.txt").write_text("mine")
    before = _tree(u)
    assert "did not write" in _refused(_argv(cowes, u), capsys)
    assert _tree(u) == before
    # a previous output with a link named like a swap folder: files are never pulled in
    out = tmp_path / "out"
    assert main(_argv(cowes, out)) == 0
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "areas.csv").write_text("the user's own table")
    (out / f".socialrisk-old-{dead}").symlink_to(victim, target_is_directory=True)
    marker = json.loads((out / MARKER).read_text())
    marker["pending"] = {}
    (out / MARKER).write_text(json.dumps(marker))
    ours = (out / "areas.csv").read_bytes()
    check_out_dir(out)
    assert (victim / "areas.csv").read_text() == "the user's own table"
    assert (out / "areas.csv").read_bytes() == ours


def test_a_second_run_writing_at_the_same_time_is_refused(cowes, tmp_path):
    from socialrisk.outdir import staging

    out = tmp_path / "out"
    with staging(out) as tmp, pytest.raises(InputError, match="another socialrisk run"):
        (tmp / "areas.csv").write_text("a")
        with staging(out):
            pass
    assert not (out / ".socialrisk-lock").exists()
    assert (out / "areas.csv").read_text() == "a"


def test_the_marker_is_readable_like_the_other_outputs(cowes, tmp_path):
    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        assert main(_argv(cowes, out)) == 0
    finally:
        os.umask(old)
    assert (out / MARKER).stat().st_mode & 0o777 == (out / "areas.csv").stat().st_mode & 0o777


def test_publish_removes_an_emptied_app_folder_once(tmp_path):
    from socialrisk.outdir import publish, sha256_file, write_marker

    target = tmp_path / "out"
    (target / "app").mkdir(parents=True)
    for name in ("app/x.json", "app/y.json", "areas.csv"):
        (target / name).write_text(name)
    write_marker(target, {n: sha256_file(target / n)
                          for n in ("app/x.json", "app/y.json", "areas.csv")})
    tmp = target / ".socialrisk-part-new"
    tmp.mkdir()
    (tmp / "areas.csv").write_text("new")
    publish(tmp, target)  # once raised FileNotFoundError on app/ removed for app/x.json
    assert (target / "areas.csv").read_text() == "new" and not (target / "app").exists()
    assert list(json.loads((target / MARKER).read_text())["files"]) == ["areas.csv"]


def test_a_probe_folder_of_a_killed_run_is_removed_only_when_empty(tmp_path):
    """A run killed between check_out_dir's probe mkdir and rmdir leaves an empty folder."""
    import subprocess
    import sys

    from socialrisk import outdir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    empty = tmp_path / f".socialrisk-part-{pid}-probe-abc"
    empty.mkdir()
    full = tmp_path / f".socialrisk-part-{pid}-probe-def"
    full.mkdir()
    (full / "thesis.docx").write_text("not ours")
    outdir._recover(tmp_path, {})
    assert not empty.exists()
    assert (full / "thesis.docx").read_text() == "not ours"


def test_a_users_file_where_an_output_folder_goes_is_refused_before_any_change(tmp_path):
    """A file named like an output folder (briefings, app) stops publish before the swap."""
    from socialrisk.outdir import staging

    out = tmp_path / "out"
    with staging(out) as tmp:
        (tmp / "areas.csv").write_text("a\n1\n")
    (out / "briefings").write_text("a user's notes")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(InputError, match="briefings is a file that socialrisk did not write"), \
            staging(out) as tmp:
        (tmp / "areas.csv").write_text("a\n2\n")
        (tmp / "briefings").mkdir()
        (tmp / "briefings" / "ward_E05013362.html").write_text("<p>x</p>")
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "briefings").read_text() == "a user's notes"
    assert (out / "areas.csv").read_text() == "a\n1\n"
