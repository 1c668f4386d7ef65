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
