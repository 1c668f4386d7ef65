"""The output folder: written into, never emptied, and only ever touching our own files.

Rules (see ``docs/security.md``):

* ``--out DIR`` that does not exist is created; an empty DIR (a bind-mounted
  ``/out`` in a container, say) is written into, never renamed or removed.
* A DIR that holds files is used only when it is a previous socialrisk output:
  it has the marker :data:`MARKER` (or the ``manifest.json`` of an older
  version), and then only the files the marker lists are replaced or removed,
  and only while their SHA-256 is still the one recorded (a file edited since
  is refused, not overwritten). Anything else in DIR is left alone.
* Every file is written complete in a hidden folder inside DIR and moved into
  place with :func:`os.replace`; the marker journals the swap, so a run killed
  halfway is rolled back to the previous outputs by the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from socialrisk.core.errors import InputError

log = logging.getLogger(__name__)

#: written last into every output folder: which files socialrisk wrote, with their SHA-256
MARKER = ".socialrisk-outputs.json"
_PART = ".socialrisk-part-"
_OLD = ".socialrisk-old-"
_MAX_MARKER_BYTES = 5_000_000
#: the only files socialrisk ever writes, replaces or removes in an output folder
OUTPUT_NAMES = re.compile(r"(areas\.gpkg|areas\.csv|areas\.qml|amenities\.gpkg|map\.html"
                          r"|manifest\.json"
                          r"|validation\.json|validation\.png"
                          r"|targets\.csv|change\.csv|change\.gpkg|change\.html"
                          r"|wards\.csv|districts\.csv|briefings/ward_[A-Za-z0-9]{1,16}\.html"
                          r"|app/[a-z0-9_]{1,64}\.(parquet|npz|json))")
#: entries an operating system or a mount puts in an empty folder (never touched)
_SYSTEM_ENTRIES = ("lost+found", ".DS_Store", "Thumbs.db", "desktop.ini", ".gitkeep")
#: written first into every staging folder, so recovery removes only folders we made
_SENTINEL = ".socialrisk-staging"
#: the file that marks a staging folder as ours (never an output)
STAGING_SENTINEL = _SENTINEL
#: held (flock) while a run writes into the folder, so two runs cannot mix their files
_LOCK = ".socialrisk-lock"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_out_dir(out: str | os.PathLike[str]) -> Path:
    """Refuse an output folder socialrisk may not write into; return it resolved.

    Called before any computation, so a wrong ``--out`` fails at once.

    Raises
    ------
    InputError
        One line naming the problem and the fix: an empty path, a NUL byte, a
        file, a folder holding files socialrisk did not write, or an output
        file changed since socialrisk wrote it.
    """
    text = os.fspath(out)
    if not str(text).strip():
        raise InputError("--out is empty; give the folder to write the outputs to, e.g. "
                         "--out out/my_area")
    if "\0" in str(text):
        raise InputError("--out contains a NUL byte; give an ordinary folder path")
    target = Path(text).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise InputError(f"--out {target} is a file, not a folder; give a new or empty folder, "
                         f"or the folder of a previous socialrisk run")
    if target.is_dir():
        _owned_files(target)  # raises for a folder that is not ours
        where = target
    else:
        where = next((p for p in target.parents if p.exists()), Path(target.anchor))
        if not where.is_dir():
            raise InputError(f"--out {target}: {where} is a file, not a folder")
    try:  # can we write there at all? (os.access says yes to root on a read-only mount)
        Path(tempfile.mkdtemp(dir=where, prefix=f"{_PART}{os.getpid()}-probe-")).rmdir()
    except OSError as exc:
        raise InputError(f"--out {target}: cannot write in {where} ({exc.strerror or exc}); "
                         f"give a folder you can write to") from None
    return target


def _read_marker(target: Path) -> dict | None:
    """The marker of ``target`` (or an older version's manifest as one), or None."""
    path = target / MARKER
    if path.is_file():
        try:
            if path.stat().st_size > _MAX_MARKER_BYTES:
                raise ValueError("too large")
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("written_by") != "socialrisk" \
                    or not isinstance(data.get("files"), dict):
                raise ValueError("not a socialrisk marker")
            return data
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"--out {target}: its {MARKER} is unreadable ({exc}); give a new "
                             f"or empty folder") from None
    legacy = target / "manifest.json"
    if legacy.is_file() and legacy.stat().st_size <= _MAX_MARKER_BYTES:
        try:
            m = json.loads(legacy.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        outs = m.get("outputs") if isinstance(m, dict) else None
        if isinstance(m, dict) and "socialrisk_version" in m and isinstance(outs, dict):
            files = {k: v for k, v in outs.items() if isinstance(v, dict) and "sha256" in v}
            files["manifest.json"] = {"sha256": sha256_file(legacy)}
            return {"written_by": "socialrisk", "files": files, "legacy": True}
    return None


def _safe_name(name: object) -> bool:
    """Whether ``name`` is one of the files socialrisk writes (:data:`OUTPUT_NAMES`).

    A marker is data from disk: a forged one listing ``thesis.docx`` must not
    make it ours, so only these names are ever replaced or removed.
    """
    return isinstance(name, str) and OUTPUT_NAMES.fullmatch(name) is not None


def _linked(target: Path, name: str) -> bool:
    """Whether ``name`` or a folder on its way inside ``target`` is a symbolic link."""
    path = target
    for part in name.split("/"):
        path = path / part
        if path.is_symlink():
            return True
    return False


def _owned_files(target: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of the files of ``target`` that socialrisk wrote.

    Raises :class:`InputError` when ``target`` holds files and no marker, or a
    listed file was changed since it was written, or an output's folder is a link.
    """
    visible = [p for p in target.iterdir() if not p.name.startswith((_PART, _OLD))
               and p.name not in (MARKER, _LOCK, *_SYSTEM_ENTRIES)]
    marker = _read_marker(target)
    if marker is None:
        if visible:
            example = sorted(p.name for p in visible)[0]
            raise InputError(f"--out {target} already holds files socialrisk did not write "
                             f"(e.g. {example!r}); give a new or empty folder, or the folder "
                             f"of a previous socialrisk run (nothing was changed)")
        _recover(target, {})
        return {}
    if (target / "app").is_symlink():
        raise InputError(f"--out {target}: app is a symbolic link; socialrisk writes only "
                         f"inside --out: remove the link or give another --out")
    _recover(target, marker)
    owned: dict[str, str] = {}
    for name, rec in marker["files"].items():
        digest = rec.get("sha256") if isinstance(rec, dict) else None
        if not _safe_name(name) or not isinstance(digest, str):
            continue  # a forged entry never widens what we touch
        path = target / name
        if not path.exists():
            continue
        if _linked(target, name) or not path.is_file() or sha256_file(path) != digest:
            raise InputError(f"--out {target}: {name} was changed after socialrisk wrote it; "
                             f"move it elsewhere or give another --out (nothing was changed)")
        owned[name] = digest
    return owned


def owned_outputs(out: str | os.PathLike[str]) -> dict[str, str]:
    """``{relative path: sha256}`` of the socialrisk outputs in ``out`` ({} if no folder).

    Understands a marker and an older version's ``manifest.json``; raises
    :class:`InputError` like :func:`check_out_dir` for a folder that is not ours.
    """
    target = Path(out).expanduser().resolve()
    return _owned_files(target) if target.is_dir() else {}


def write_marker(target: Path, files: dict[str, str], **extra: object) -> None:
    """Write the marker atomically: ``files`` is ``{relative path: sha256}``."""
    data = {"written_by": "socialrisk", **extra,
            "files": {k: {"sha256": v} for k, v in sorted(files.items())}}
    fd, tmp = tempfile.mkstemp(dir=target, prefix=f"{_PART}marker-")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a colleague re-runs too
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, target / MARKER)


def dead_pid(name: str, prefix: str) -> bool:
    """Whether ``name`` (``PREFIX<pid>-...``) was made by a process of this machine now gone."""
    pid = name[len(prefix):].split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError, OSError):  # someone else's, or no pid
        return False
    return False


def _recover(target: Path, marker: dict) -> None:
    """Undo what a killed run left in ``target``: its staging folder, a half-done swap.

    Only what socialrisk made is touched: staging folders holding our sentinel,
    and (in a folder with our marker) files set aside during a swap whose
    SHA-256 the marker recorded. Links are never followed.
    """
    for p in target.glob(f"{_PART}*"):
        if p.is_symlink() or not dead_pid(p.name, _PART):
            continue
        if p.is_dir() and (p / _SENTINEL).is_file():
            log.info("removing %s, left by an interrupted run", p)
            shutil.rmtree(p, ignore_errors=True)
        elif p.is_dir() and "-probe-" in p.name:  # killed between the probe's mkdir and rmdir
            with contextlib.suppress(OSError):
                p.rmdir()  # only ever empty: never removes anything else
        elif p.is_file() and p.name.startswith(f"{_PART}marker-"):
            p.unlink(missing_ok=True)
    files = marker.get("files") if isinstance(marker.get("files"), dict) else {}
    recorded = {k: v["sha256"] for k, v in files.items()
                if _safe_name(k) and isinstance(v, dict) and isinstance(v.get("sha256"), str)}
    pending = marker.get("pending")
    for old in target.glob(f"{_OLD}*"):
        if old.is_symlink() or not old.is_dir() or not dead_pid(old.name, _OLD) \
                or not isinstance(pending, dict):
            continue
        log.warning("restoring the previous outputs of %s from an interrupted run", target)
        for name, digest in pending.items():  # killed during the swap: roll back
            p = target / name
            if _safe_name(name) and not _linked(target, name) and p.is_file() \
                    and sha256_file(p) == digest:
                p.unlink()
        for name, digest in recorded.items():
            src = old / name
            if not _linked(old, name) and src.is_file() and sha256_file(src) == digest \
                    and not _linked(target, name):
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, target / name)
        write_marker(target, recorded)
        _remove_if_empty(old)


def _remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` and its empty sub-folders; anything else in it stays."""
    for p in sorted(folder.rglob("*"), key=lambda q: len(q.parts), reverse=True):
        if p.is_dir() and not p.is_symlink():
            with contextlib.suppress(OSError):
                p.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends (the swap is a few renames)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        if got:
            raise KeyboardInterrupt


@contextlib.contextmanager
def staging(out: str | os.PathLike[str], *, add: bool = False) -> Iterator[Path]:
    """A temporary folder inside the output folder; its files replace ours on success.

    Yields the staging folder: write every output into it (sub-folders allowed).
    When the block ends without an exception, :func:`publish` moves the files
    into place; otherwise the staging folder is removed and the output folder
    is as it was (a folder created for this run and left empty is removed).
    With ``add`` (e.g. ``socialrisk validate``), the folder's other outputs are kept.
    """
    target = check_out_dir(out)
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    lock = _lock(target)
    tmp = Path(tempfile.mkdtemp(dir=target, prefix=f"{_PART}{os.getpid()}-"))
    try:
        (tmp / _SENTINEL).write_text("socialrisk staging folder\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; outputs are for sharing
        yield tmp
        publish(tmp, target, add=add)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if lock is not None:
            _unlock(target, lock)
            lock = None
        if created:
            with contextlib.suppress(OSError):
                target.rmdir()
        raise
    finally:
        if lock is not None:
            _unlock(target, lock)
    shutil.rmtree(tmp, ignore_errors=True)


def _unlock(target: Path, fh) -> None:
    """Remove the lock file (still holding the lock), then release it."""
    with contextlib.suppress(OSError):
        (target / _LOCK).unlink()
    fh.close()


def _lock(target: Path):
    """Hold an exclusive lock on ``target`` for this run (POSIX); another run is refused."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows: no lock)
        return None
    fh = open(target / _LOCK, "a+")  # noqa: SIM115 (held until the run ends)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise InputError(f"--out {target}: another socialrisk run is writing there now; wait "
                         f"for it to finish or give another --out") from None
    return fh


def publish(tmp: Path, target: Path, add: bool = False) -> None:
    """Move every file of ``tmp`` into ``target``, replacing and removing only our own files.

    With ``add``, our files not in ``tmp`` are kept (and stay in the marker).
    """
    new = {p.relative_to(tmp).as_posix(): sha256_file(p)
           for p in sorted(tmp.rglob("*")) if p.is_file() and p.name != _SENTINEL}
    owned = _owned_files(target)  # again: the folder may have changed during the run
    for name in new:
        if not _safe_name(name):  # a programming error, not a user's
            raise RuntimeError(f"{name} is not in outdir.OUTPUT_NAMES; add it there")
        dest = target / name
        if _linked(target, name):
            raise InputError(f"--out {target}: {name} or its folder is a symbolic link; "
                             f"socialrisk writes only inside --out (nothing was changed)")
        if (dest.exists() or dest.is_symlink()) and name not in owned:
            raise InputError(f"--out {target}: {name} exists and was not written by "
                             f"socialrisk; move it elsewhere or give another --out "
                             f"(nothing was changed)")
        for parent in dest.relative_to(target).parents:  # e.g. a user's FILE named briefings
            if parent != Path(".") and (target / parent).exists() \
                    and not (target / parent).is_dir():
                raise InputError(f"--out {target}: {parent} is a file that socialrisk did "
                                 f"not write, where its {parent}/ folder goes; move it "
                                 f"elsewhere or give another --out (nothing was changed)")
    with _signals_deferred():
        write_marker(target, owned, pending=new)
        # a fresh folder: a same-named link or folder of someone else's is never used
        old = Path(tempfile.mkdtemp(dir=target, prefix=f"{_OLD}{os.getpid()}-"))
        moved = [name for name in owned if not add or name in new]
        for name in moved:
            src = target / name
            if src.is_file():
                (old / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, old / name)
        for name in new:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / name, target / name)
        write_marker(target, {**owned, **new} if add else new)
        shutil.rmtree(old, ignore_errors=True)
        parents = {(target / name).parent for name in moved} - {target}
        for parent in sorted(parents, key=lambda q: len(q.parts), reverse=True):
            # sub-folders we emptied (e.g. app/ of a run now without it), deepest first
            if parent.is_dir() and not parent.is_symlink() and not any(parent.iterdir()):
                with contextlib.suppress(OSError):
                    parent.rmdir()
