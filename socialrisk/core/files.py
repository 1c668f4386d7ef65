"""Checks on input paths that must hold before a reader opens them; small TOML files."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

from socialrisk.core.errors import ConfigError, clipped, shown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def special_file(path: str | os.PathLike[str]) -> str:
    """Why ``path`` cannot be read as an input file, or ``""``.

    A named pipe (FIFO), a device or a socket would block a reader forever or
    stream endless bytes, so only regular files are read. Paths that do not
    exist and directories (a Shapefile directory) are left to the readers.
    Does not open the path, so it never blocks.
    """
    text = os.fspath(path)
    if "\x00" in text:
        return "contains a NUL byte (\\x00)"
    try:
        mode = os.stat(os.path.expanduser(text)).st_mode
    except (OSError, ValueError):
        return ""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return ""
    what = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device")
    return f"is not a regular file but {what}"


def read_toml(path: str | os.PathLike[str], what: str, *, max_bytes: int, missing_fix: str,
              big_fix: str, deep_fix: str = "") -> dict[str, Any]:
    """A small TOML file a user gives (config, taxonomy, lens, standards), as a mapping.

    Every problem is one :class:`ConfigError` naming ``what`` ("config file",
    "lens file" ...) and the fix: a special file (pipe, device), a folder, a
    missing file (``missing_fix``), a file over ``max_bytes`` (``big_fix``),
    invalid TOML or text, or nesting too deep to parse (``deep_fix``).
    """
    text = os.fspath(path)
    problem = special_file(text)
    if problem:
        raise ConfigError(f"{what} {shown(text, 200)} {problem}; give the path of a saved "
                          f".toml file")
    p = Path(os.path.expanduser(text))
    if p.is_dir():
        raise ConfigError(f"{what} {p} is a folder; give the path to a .toml file")
    if not p.is_file():
        raise ConfigError(f"{what} {shown(text, 200)} not found; {missing_fix}")
    size = p.stat().st_size
    if size > max_bytes:
        raise ConfigError(f"{what} {p} is {size:,} bytes, more than the {max_bytes:,} "
                          f"{big_fix}")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {p} is not valid TOML ({clipped(exc)}); fix the line "
                          f"named") from exc
    except RecursionError as exc:
        raise ConfigError(f"{what} {p} nests tables or lists too deeply to read"
                          + (f"; {deep_fix}" if deep_fix else "")) from exc
