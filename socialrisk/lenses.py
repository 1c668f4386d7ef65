"""Read lenses (``data/lenses/*.toml`` or a user's own TOML) into :class:`risk.lens.LensSpec`.

A lens is named by its file name: ``--lens older_people`` reads the shipped
``data/lenses/older_people.toml``; ``--lens my_lens.toml`` reads a user's file
(editable like the taxonomy). Unknown keys and bad values are refused with the
fix, as for the run's settings.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from risk.index import IndicatorSpec
from risk.lens import LensSpec
from risk.normalise import DIRECTIONS
from socialrisk.core.data import data_dir
from socialrisk.core.errors import ConfigError, clipped, shown
from socialrisk.core.files import read_toml

__all__ = ["LENS_DIR", "available_lenses", "is_lens_path", "lens_record", "load_lens",
           "load_lenses", "refuse_lens_paths"]

#: shipped lenses, in ``data/``
LENS_DIR = "lenses"
_KEYS = {"label", "who", "population", "population_share", "walk_speed", "amenity_filter",
         "categories", "indicators", "access_weight", "group_weight", "min_tag_coverage"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
#: a lens name must not end like another column of its score (risk_<lens>_rank ...)
_RESERVED_ENDINGS = ("_rank", "_decile", "_drivers", "_missing", "_p05", "_p95", "_robust",
                     "_population", "_hotspot", "_score")
_MAX_BYTES = 200_000


def available_lenses() -> list[str]:
    """Names of the shipped lenses."""
    folder = data_dir() / LENS_DIR
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def _check_name(name: str, where: str) -> None:
    if name.endswith(_RESERVED_ENDINGS):
        raise ConfigError(f"{where}: a lens name must not end in "
                          f"{', '.join(_RESERVED_ENDINGS)} (risk_{name} would clash with "
                          f"another score column); rename it")


def is_lens_path(entry: Any) -> bool:
    """Whether a ``lenses`` entry names a lens file (rather than a shipped lens or a table)."""
    return isinstance(entry, str) and (entry.strip().endswith(".toml") or "/" in entry
                                       or "\\" in entry)


def _path_of(name: str) -> tuple[str, Path]:
    if name.endswith(".toml"):
        p = Path(name).expanduser()
        stem = p.stem.lower().replace("-", "_")
        if not _NAME.match(stem):
            raise ConfigError(f"lens file {shown(name)}: its name must be letters, digits and _ "
                              f"(it names the output columns risk_<name>)")
        return stem, p
    if not _NAME.match(name):
        raise ConfigError(f"unknown lens {shown(name)}; choose from "
                          f"{', '.join(available_lenses())} or give a lens .toml file")
    p = data_dir() / LENS_DIR / f"{name}.toml"
    if not p.is_file():
        near = difflib.get_close_matches(name, available_lenses(), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ConfigError(f"unknown lens {shown(name)}{hint}; choose from "
                          f"{', '.join(available_lenses())} or give a lens .toml file")
    return name, p


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(float(value)) or value < 0:
        raise ConfigError(f"{what} must be a number >= 0, not {clipped(repr(value), 60)}")
    return float(value)


def _text(data: dict, key: str, where: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be text, not {clipped(repr(value), 60)}")
    return value


def lens_from_mapping(name: str, data: dict[str, Any], where: str = "") -> LensSpec:
    """A :class:`LensSpec` from a parsed TOML mapping; :class:`ConfigError` on bad keys."""
    where = where or f"lens {name}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: a lens name must be lower-case letters, digits and _ "
                          f"(it names the output columns risk_<name>), not {shown(name)}")
    _check_name(name, where)
    for key in data:
        if key not in _KEYS:
            near = difflib.get_close_matches(str(key), sorted(_KEYS), n=1)
            raise ConfigError(f"{where}: unknown key {shown(key)}"
                              + (f" (did you mean {near[0]!r}?)" if near else ""))
    speed = _text(data, "walk_speed", where) or "normal"
    if speed not in ("normal", "slow"):
        raise ConfigError(f"{where}: walk_speed must be \"normal\" or \"slow\", not {shown(speed)}")
    filt = data.get("amenity_filter", {})
    if not isinstance(filt, dict) or not all(
            isinstance(v, list) and v and all(isinstance(x, str) for x in v)
            for v in filt.values()):
        raise ConfigError(f"{where}: amenity_filter must be a table of tag = [values], e.g. "
                          f"{{ wheelchair = [\"yes\", \"limited\"] }}")
    if any(not _NAME.match(str(k)) for k in filt):
        raise ConfigError(f"{where}: amenity_filter tags must be lower-case OSM keys such as "
                          f"wheelchair")
    cats = data.get("categories", {})
    if not isinstance(cats, dict):
        raise ConfigError(f"{where}: categories must be a table of category = weight")
    categories = {str(c): _number(w, f"{where}: weight of category {c}") for c, w in cats.items()}
    inds = data.get("indicators", [])
    if not isinstance(inds, list):
        raise ConfigError(f"{where}: indicators must be a list of [[indicators]] tables")
    indicators = []
    for ind in inds:
        if not isinstance(ind, dict) or not isinstance(ind.get("column"), str):
            raise ConfigError(f"{where}: each [[indicators]] needs column = \"NAME\"")
        for k in ind:
            if k not in ("column", "weight", "direction", "source", "evidence"):
                raise ConfigError(f"{where}: unknown key {shown(k)} in [[indicators]]")
        direction = ind.get("direction", "higher_is_worse")
        if direction not in DIRECTIONS:
            raise ConfigError(f"{where}: indicator {ind['column']} direction must be "
                              f"higher_is_worse or lower_is_worse")
        indicators.append(IndicatorSpec(ind["column"],
                                        _number(ind.get("weight", 1.0),
                                                f"{where}: weight of {ind['column']}"),
                                        direction))
    if not categories and not indicators:
        raise ConfigError(f"{where}: a lens needs [categories] or [[indicators]] (or both)")
    return LensSpec(
        name=name, label=_text(data, "label", where) or name.replace("_", " "),
        who=_text(data, "who", where), population=_text(data, "population", where),
        population_share=_text(data, "population_share", where), walk_speed=speed,
        amenity_filter={k: tuple(v) for k, v in filt.items()}, categories=categories,
        indicators=tuple(indicators),
        access_weight=_number(data.get("access_weight", 0.5), f"{where}: access_weight"),
        group_weight=_number(data.get("group_weight", 0.5), f"{where}: group_weight"),
        min_tag_coverage=_share(data.get("min_tag_coverage", 0.5),
                                f"{where}: min_tag_coverage"))


def _share(value: Any, what: str) -> float:
    x = _number(value, what)
    if x > 1:
        raise ConfigError(f"{what} must be a share from 0 to 1 (e.g. 0.5), not {value!r}")
    return x


def _read(name: str) -> tuple[str, dict[str, Any], str]:
    """``(lens name, TOML mapping, where)`` of a shipped lens name or a lens file path."""
    stem, path = _path_of(name.strip())
    data = read_toml(path, "lens file", max_bytes=_MAX_BYTES,
                     missing_fix=f"give a .toml file or one of {', '.join(available_lenses())}",
                     big_fix="a lens needs; give the lens's .toml file")
    return stem, data, f"lens file {path.name}"


def load_lens(entry: str | dict[str, Any]) -> LensSpec:
    """One lens: a shipped name, a ``*.toml`` path, or a recorded table (``lens_record``)."""
    if isinstance(entry, dict):
        data = dict(entry)
        name = data.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError("a lens table needs name = \"...\" (the lens's short name)")
        return lens_from_mapping(name, data, f"lens {name}")
    if not isinstance(entry, str):
        raise ConfigError(f"a lens is a name, a .toml file or a table, not {clipped(repr(entry))}")
    stem, data, where = _read(entry)
    return lens_from_mapping(stem, data, where)


def lens_record(entry: str | dict[str, Any]) -> str | dict[str, Any]:
    """How a ``lenses`` entry is recorded in a run: a lens file becomes its table.

    A run's recorded settings then never point at a file: replaying them (the app,
    ``socialrisk compare``) uses the lens as it was when the run was made, and a
    crafted run folder cannot make socialrisk read a file of its choosing.
    """
    if is_lens_path(entry):
        stem, data, _ = _read(str(entry))
        return {"name": stem, **data}
    return entry


def load_lenses(names: Iterable[str | dict[str, Any]]) -> list[LensSpec]:
    """Read several lenses; a name given twice is refused."""
    out: list[LensSpec] = []
    for n in names:
        lens = load_lens(n)
        if any(x.name == lens.name for x in out):
            raise ConfigError(f"lens {lens.name} is given twice; give each lens once")
        out.append(lens)
    return out


def refuse_lens_paths(lenses: Any) -> None:
    """Settings replayed from a run name shipped lenses or recorded tables, never a file.

    Raises
    ------
    ConfigError
        When an entry is a lens file path (a run records a lens file as its table,
        so only a crafted or hand-edited run can hold one).
    """
    if isinstance(lenses, list):
        for entry in lenses:
            if is_lens_path(entry):
                raise ConfigError(f"the run's settings name the lens file {shown(entry)}; a "
                                  f"run records its lenses as tables and files are never "
                                  f"read from a run's settings: run socialrisk again")
