"""Checks on input paths that must hold before a reader opens them."""

from __future__ import annotations

import os
import stat


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
