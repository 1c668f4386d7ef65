"""The project's error types.

Every error a user can cause is a :class:`SocialRiskError` whose message is one
line naming the problem and the fix. The command line prints that line and
exits non-zero; anything else is a bug and keeps its traceback.
"""


class SocialRiskError(Exception):
    """Base class: a problem with the user's inputs, settings or environment."""


class InputError(SocialRiskError):
    """An input file is unreadable, empty or does not have what is needed."""


class ConfigError(SocialRiskError):
    """A setting in the TOML config or on the command line is invalid."""


class DownloadError(SocialRiskError):
    """A download failed, or the machine is offline and nothing is cached."""


class JoinError(SocialRiskError):
    """A table could not be joined to the areas (no codes in common)."""


#: how many characters of an outside value (a column name, a cell, a code) a message shows
SHOWN_CHARS = 40


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``value`` quoted for an error message: at most ``limit`` characters, escaped.

    Text from a file (column names, cells, codes, layer names, upload names) is
    put in messages only through this function, so a message never carries a
    raw line of someone's file, a control character or a terminal escape, and
    stays one short line whatever the file holds.

    Examples
    --------
    >>> shown("LSOA code (2021)")
    "'LSOA code (2021)'"
    >>> shown("x" * 50)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"
    >>> shown("a\\nb\\x1b[31m")
    "'a\\\\nb\\\\x1b[31m'"
    """
    text = str(value)
    cut = text[:limit]
    return repr(cut + "...") if len(text) > limit else repr(cut)


def clipped(text: object, limit: int = 160) -> str:
    """A library's error text made safe for a one-line message: one line, escaped, capped.

    GDAL, pandas and TOML parsers sometimes quote the bytes they choked on;
    this keeps at most ``limit`` printable characters of their message.
    """
    one = " ".join(str(text).split())
    safe = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in one)
    return safe if len(safe) <= limit else safe[:limit] + "..."
