"""The ``standards`` setting: walking-distance standards read from TOML tables.

A config gives ``[[standards]]`` tables, or ``standards = "FILE.toml"`` (a file of
``[[standards]]`` tables, read when the config is loaded, so a run records the
tables themselves and a run's settings never point at a file). The defaults are
:data:`risk.standards.DEFAULT_STANDARDS`, shipped as ``data/standards.toml``.
The computation is :mod:`risk.standards`.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from risk.standards import Standard, evaluate_standards, standard_notes
from socialrisk.core import schema
from socialrisk.core.data import embedded_file
from socialrisk.core.errors import ConfigError, clipped, shown
from socialrisk.core.files import read_toml

__all__ = ["STANDARDS_FILE", "parse_standards", "read_standards_file", "with_standards_file",
           "default_standards_file", "area_standards"]

log = logging.getLogger(__name__)

#: the shipped defaults
STANDARDS_FILE = "standards.toml"
#: a standards file is a few kB
MAX_STANDARDS_BYTES = 200_000
#: more standards than anyone reads in a report
MAX_STANDARDS = 50
#: the longest walk a standard may name (as settings.MAX_WALK_M: over 4 hours)
MAX_STANDARD_M = 20_000.0
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_KEYS = {f.name for f in dataclasses.fields(Standard)}
_EXAMPLE = ("[[standards]] name = \"gp_1000m\", label = \"GP within 1,000 m\", "
            "categories = [\"gp\"], max_m = 1000, source = \"...\"")


def default_standards_file() -> Path:
    """``data/standards.toml`` (the defaults, as shipped)."""
    return embedded_file(STANDARDS_FILE)


def _names(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v
                                                       for v in value):
        raise ConfigError(f"{what} must be a list of taxonomy categories, e.g. [\"gp\"], not "
                          f"{clipped(repr(value))}")
    return tuple(value)


def _one(item: Any, i: int) -> Standard:
    if isinstance(item, Standard):
        item = dataclasses.asdict(item)
    if not isinstance(item, dict):
        raise ConfigError(f"standards entry {i + 1} must be a table ({_EXAMPLE}), not "
                          f"{clipped(repr(item))}")
    for k in item:
        if k not in _KEYS:
            match = difflib.get_close_matches(str(k), sorted(_KEYS), n=1)
            hint = f"; did you mean {match[0]!r}?" if match else ""
            raise ConfigError(f"unknown key {shown(str(k))} in [[standards]] entry {i + 1}{hint}")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"[[standards]] entry {i + 1} needs name = \"...\" of lower-case "
                          f"letters, digits and _ (starting with a letter, at most 60), e.g. "
                          f"\"gp_1000m\", not {clipped(repr(name))}")
    where = f"[[standards]] {name}"
    for k in ("label", "source"):
        if not isinstance(item.get(k, ""), str) or "\x00" in item.get(k, ""):
            raise ConfigError(f"{where}: {k} must be text, not {clipped(repr(item.get(k)))}")
    if "categories" not in item:
        raise ConfigError(f"{where} needs categories = [\"...\"] (taxonomy categories)")
    cats = _names(item["categories"], f"{where} categories")
    if not cats:
        raise ConfigError(f"{where} categories is empty; give at least one category")
    fallback = _names(item.get("fallback", []), f"{where} fallback")
    max_m = item.get("max_m")
    if isinstance(max_m, bool) or not isinstance(max_m, (int, float)):
        raise ConfigError(f"{where} needs max_m = a distance in metres (e.g. 800), not "
                          f"{clipped(repr(max_m))}")
    try:
        max_m = float(max_m)
    except OverflowError:
        max_m = math.inf
    if not math.isfinite(max_m) or max_m <= 0 or max_m > MAX_STANDARD_M:
        raise ConfigError(f"{where}: max_m must be a walking distance greater than 0 and at "
                          f"most {MAX_STANDARD_M:,.0f} m, not {clipped(repr(item['max_m']))}")
    label = item.get("label") or f"{name.replace('_', ' ')} (within {max_m:,.0f} m)"
    return Standard(name=name, label=label, categories=cats, max_m=max_m,
                    source=item.get("source", ""), fallback=fallback)


def parse_standards(value: Any) -> list[Standard]:
    """The ``standards`` setting as :class:`~risk.standards.Standard` objects.

    Parameters
    ----------
    value : list of dict or Standard
        ``[[standards]]`` tables (a config, or a run's recorded settings). A path
        is read by :func:`with_standards_file` when a config is loaded, never here.

    Raises
    ------
    ConfigError
        A path, an unknown key, a bad name, distance or category list, a name given
        twice, or too many standards; the message names the fix.
    """
    if isinstance(value, str):
        raise ConfigError(f"standards = {shown(value)}: a standards file is read only from a "
                          f"config file (standards = \"FILE.toml\"); here give [[standards]] "
                          f"tables")
    if isinstance(value, dict) and set(value) == {"standards"}:
        value = value["standards"]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"standards must be [[standards]] tables ({_EXAMPLE}) or the path of "
                          f"a .toml file of them, not {clipped(repr(value))}")
    if len(value) > MAX_STANDARDS:
        raise ConfigError(f"standards has {len(value)} entries, more than {MAX_STANDARDS}; "
                          f"give the few standards a report should show")
    out = [_one(item, i) for i, item in enumerate(value)]
    seen: set[str] = set()
    for s in out:
        if s.name in seen:
            raise ConfigError(f"standard {s.name!r} is given twice; give each name once")
        seen.add(s.name)
    return out


def read_standards_file(path: str | os.PathLike) -> list[dict]:
    """The ``[[standards]]`` tables of a TOML file (checked by :func:`parse_standards`).

    Raises
    ------
    ConfigError
        Not found, not a regular file, too large, not TOML, or no ``[[standards]]``.
    """
    p = Path(os.path.expanduser(os.fspath(path)))
    data = read_toml(path, "standards file", max_bytes=MAX_STANDARDS_BYTES,
                     missing_fix="give the path of a .toml file of [[standards]] tables (copy "
                                 "data/standards.toml to start)",
                     big_fix="a standards file needs; give the right file")
    if set(data) != {"standards"} or not isinstance(data["standards"], list):
        other = ", ".join(sorted(k for k in data if k != "standards"))
        raise ConfigError(f"standards file {p} must hold only [[standards]] tables"
                          + (f" (it also has {other})" if other else " (it has none)"))
    parse_standards(data["standards"])  # refuse a bad file now, naming the file
    return data["standards"]


def with_standards_file(data: dict[str, Any]) -> dict[str, Any]:
    """A config mapping whose ``standards = "FILE.toml"`` is replaced by the file's tables."""
    value = data.get("standards")
    if not isinstance(value, str):
        return data
    return {**data, "standards": read_standards_file(value)}


def area_standards(table: pd.DataFrame, settings, labels: dict[str, str],
                   notes: list[str]) -> pd.DataFrame:
    """``<name>_pass`` per standard and ``standards_failed`` for the run's areas.

    The distance compared is each area's population-weighted mean walking distance
    to the nearest place (``<category>_nearest_m``), people who cannot reach one
    counted at ``settings.max_distance_m`` as in the index. A standard applied to
    other categories than it lists (missing from the taxonomy, or its fallback) is
    said in ``notes`` (and logged); one that applies to no category of the taxonomy
    is left empty, and refused under ``settings.strict``.

    Parameters
    ----------
    table : DataFrame
        Indexed by area id, with the access columns.
    settings : Settings
    labels : dict
        Category -> label of the run's taxonomy (its keys are the categories).
    notes : list of str
        The manifest's notes (appended to).

    Raises
    ------
    ConfigError
        Under ``settings.strict``, a standard none of whose categories is in the run.
    """
    standards = list(settings.standards)
    cats = list(labels)
    for note in standard_notes(standards, cats):
        log.warning("%s", note)
        notes.append(note)
        if settings.strict and "none of which" in note:
            raise ConfigError(f"{note}; --strict refuses a standard that measures nothing "
                              f"(change its categories or remove it)")
    cols = [schema.nearest_column(c) for c in cats]
    cols += [f"{c}_{schema.UNREACHABLE_SUFFIX}" for c in cats]
    dist = table.reindex(columns=cols)
    return evaluate_standards(dist, standards, labels=labels,
                              max_distance_m=settings.max_distance_m)
