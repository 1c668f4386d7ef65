"""The amenity taxonomy: which OSM features count as which kind of social infrastructure.

The taxonomy is a TOML file (``data/taxonomy.toml`` by default, documented in
its header). This module reads and validates it, matches a feature's tags to
categories, and builds the amenity table shared by every OSM source (PBF and
Overpass), so that both produce exactly the same columns from the same tags.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialrisk.core.data import TAXONOMY, embedded_file
from socialrisk.core.errors import ConfigError
from socialrisk.core.files import read_toml

log = logging.getLogger(__name__)

#: a taxonomy is a few kB; anything much larger is another file given by mistake
MAX_TAXONOMY_BYTES = 1_000_000

#: Columns of the amenity table, in order. One row per (feature, category).
#:
#: ``osm_type`` "node" / "way" / "relation"; ``osm_id`` int64; ``category`` the
#: taxonomy key; ``name``; ``amenity_type`` the first tag of the filter that
#: matched, with the feature's value (e.g. ``"amenity=library"``);
#: ``opening_hours``, ``wheelchair``, ``website`` (``website`` or
#: ``contact:website``) as strings, None when absent; ``capacity`` float, NaN when
#: absent or not a number; ``geometry`` in EPSG:4326: Point for nodes,
#: Polygon/MultiPolygon for closed ways and multipolygon relations, LineString for
#: open ways.
AMENITY_COLUMNS: tuple[str, ...] = (
    "osm_type", "osm_id", "category", "name", "amenity_type",
    "opening_hours", "wheelchair", "website", "capacity", "geometry",
)

#: pandas dtypes of :data:`AMENITY_COLUMNS` (geometry aside).
AMENITY_DTYPES: dict[str, str] = {
    "osm_type": "object", "osm_id": "int64", "category": "object", "name": "object",
    "amenity_type": "object", "opening_hours": "object", "wheelchair": "object",
    "website": "object", "capacity": "float64",
}

OSM_TYPES = ("node", "way", "relation")
ACCESS_MODES = ("point", "edge")
CATEGORY_KEYS = ("label", "access", "capacity", "not", "filters")
FILTER_SPECIAL_KEYS = ("not", "regex", "name_regex")
ANY = "*"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Matcher:
    """One filter of a category: tag conditions that must all hold.

    Attributes
    ----------
    tags : tuple of (key, allowed values or None)
        Positive conditions; ``None`` means any value. The first one is the main tag.
    exclude : tuple of (key, values or None)
        The matcher fails when any of these holds.
    regex : tuple of (key, compiled pattern)
        Patterns that must be found (``re.search``) in the tag's value.
    """

    tags: tuple[tuple[str, frozenset[str] | None], ...]
    exclude: tuple[tuple[str, frozenset[str] | None], ...] = ()
    regex: tuple[tuple[str, re.Pattern[str]], ...] = ()

    @property
    def main_key(self) -> str:
        return self.tags[0][0]

    def matches(self, tags: Mapping[str, Any]) -> bool:
        """True when every condition holds for ``tags``."""
        for key, allowed in self.tags:
            if not _holds(tags.get(key), allowed):
                return False
        for key, pattern in self.regex:
            value = tags.get(key)
            if not isinstance(value, str) or pattern.search(value) is None:
                return False
        return not any(_holds(tags.get(key), values) for key, values in self.exclude)


@dataclass(frozen=True)
class Category:
    """A kind of social infrastructure.

    Attributes
    ----------
    name : str
        Taxonomy key (``community_centre``), used in column names.
    label : str
        Plain words for maps and reports.
    filters : tuple of Matcher
        The feature belongs to the category when any matcher matches.
    capacity : tuple of str
        OSM tags to read a numeric capacity from (first numeric wins); may be empty.
    access : {"point", "edge"}
        ``"edge"``: polygons are reached at their boundary (green space).
    """

    name: str
    label: str
    filters: tuple[Matcher, ...]
    capacity: tuple[str, ...] = ()
    access: str = "point"

    def match(self, tags: Mapping[str, Any]) -> Matcher | None:
        """The first matcher that matches ``tags``, or None."""
        for m in self.filters:
            if m.matches(tags):
                return m
        return None


def _holds(value: Any, allowed: frozenset[str] | None) -> bool:
    """Whether a tag value satisfies a condition (any part of a ``;`` list counts)."""
    if not isinstance(value, str):  # absent (None) or NaN from a table
        return False
    if allowed is None:
        return True
    if value in allowed:
        return True
    return ";" in value and any(part.strip() in allowed for part in value.split(";"))


# --------------------------------------------------------------------------- loading


def default_taxonomy_path() -> Path:
    """Path of the taxonomy shipped with the package (``data/taxonomy.toml``)."""
    return embedded_file(TAXONOMY)


def _nearest(key: str, valid: Iterable[str]) -> str:
    match = difflib.get_close_matches(key, sorted(valid), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _values(where: str, key: str, value: Any) -> frozenset[str] | None:
    if value == ANY:
        return None
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        if ANY in value:
            return None
        return frozenset(value)
    raise ConfigError(f"{where}: {key} = {value!r} must be a string, a non-empty list of "
                      f"strings or \"*\" (any value)")


def _conditions(where: str, table: Any) -> tuple[tuple[str, frozenset[str] | None], ...]:
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{where}: not must be a table of tag conditions, "
                          f"e.g. not = {{access = [\"private\", \"no\"]}}")
    return tuple((k, _values(where, k, v)) for k, v in table.items())


def _compile(where: str, key: str, pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"{where}: the regular expression for {key} must be a non-empty "
                          f"string, not {pattern!r}")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{where}: invalid regular expression {pattern!r} for {key} "
                          f"({exc}); fix the pattern") from exc


def _parse_matcher(where: str, spec: Any,
                   shared_exclude: tuple[tuple[str, frozenset[str] | None], ...]) -> Matcher:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a table of tag conditions, "
                          f"e.g. {{ amenity = \"library\" }}, not {spec!r}")
    tags: list[tuple[str, frozenset[str] | None]] = []
    exclude = list(shared_exclude)
    regex: list[tuple[str, re.Pattern[str]]] = []
    for key, value in spec.items():
        if key == "not":
            exclude.extend(_conditions(where, value))
        elif key == "regex":
            if not isinstance(value, dict) or not value:
                raise ConfigError(f"{where}: regex must be a table of tag = \"pattern\", "
                                  f"e.g. regex = {{ \"isced:level\" = \"1\" }}")
            regex.extend((k, _compile(where, k, p)) for k, p in value.items())
        elif key == "name_regex":
            regex.append(("name", _compile(where, "name", value)))
        elif isinstance(value, dict) or "regex" in key or difflib.get_close_matches(
                key, ("regex", "name_regex"), n=1, cutoff=0.8):
            # a table value is only valid for the special keys, and no OSM key looks
            # like "regex": this is a typo
            hint = _nearest(key, FILTER_SPECIAL_KEYS) or "; use not, regex or name_regex"
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")
        else:
            tags.append((key, _values(where, key, value)))
    if not tags:
        raise ConfigError(f"{where} needs at least one plain tag condition "
                          f"(e.g. amenity = \"school\") besides not/regex/name_regex")
    return Matcher(tags=tuple(tags), exclude=tuple(exclude), regex=tuple(regex))


def _parse_category(name: str, spec: Any) -> Category:
    where = f"taxonomy category [{name}]"
    if not _NAME_RE.match(name):
        raise ConfigError(f"{where}: names must be lower-case letters, digits and _ "
                          f"starting with a letter (they become column names)")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a table with label and filters")
    for key in spec:
        if key not in CATEGORY_KEYS:
            raise ConfigError(f"unknown key {key!r} in {where}{_nearest(key, CATEGORY_KEYS)}")
    label = spec.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"{where} needs label = \"plain words\"")
    access = spec.get("access", "point")
    if access not in ACCESS_MODES:
        raise ConfigError(f"{where}: access must be \"point\" or \"edge\", not {access!r}")
    capacity = spec.get("capacity", [])
    if isinstance(capacity, str) and capacity:
        capacity = (capacity,)
    elif isinstance(capacity, list) and all(isinstance(c, str) and c for c in capacity):
        capacity = tuple(capacity)
    else:
        raise ConfigError(f"{where}: capacity must be an OSM tag name or a list of them, "
                          f"e.g. capacity = \"capacity\"")
    shared = _conditions(f"{where} not", spec["not"]) if "not" in spec else ()
    filters = spec.get("filters")
    if not isinstance(filters, list) or not filters:
        raise ConfigError(f"{where} needs a non-empty filters = [ {{ tag = \"value\" }}, ... ]")
    matchers = tuple(_parse_matcher(f"{where} filter {i + 1}", f, shared)
                     for i, f in enumerate(filters))
    return Category(name=name, label=label.strip(), filters=matchers, capacity=capacity,
                    access=access)


def parse_taxonomy(data: Mapping[str, Any]) -> dict[str, Category]:
    """Validate a taxonomy already read from TOML (category name -> table)."""
    if not data:
        raise ConfigError("the taxonomy has no categories; add at least one [category] table")
    return {name: _parse_category(name, spec) for name, spec in data.items()}


def load_taxonomy(path: str | Path | None = None) -> dict[str, Category]:
    """Read and validate a taxonomy TOML file.

    Parameters
    ----------
    path : str or Path, optional
        The TOML file; None (or "") reads the embedded ``data/taxonomy.toml``.

    Returns
    -------
    dict of str to Category
        In file order.

    Raises
    ------
    ConfigError
        The file is missing, not TOML, or a category is invalid (one line naming the fix).
    """
    p = Path(path) if path else default_taxonomy_path()
    data = read_toml(p, "taxonomy file", max_bytes=MAX_TAXONOMY_BYTES,
                     missing_fix="give the path to a .toml file or leave taxonomy empty for "
                                 "the default",
                     big_fix="a taxonomy needs; give the taxonomy's .toml file")
    taxonomy = parse_taxonomy(data)
    log.debug("taxonomy %s: %d categories", p, len(taxonomy))
    return taxonomy


# --------------------------------------------------------------------------- matching


#: per main key: the categories a value admits, and those admitting any value
_KeyIndex = tuple[dict[str, tuple[int, ...]], tuple[int, ...]]
_Index = tuple[tuple[Category, ...], frozenset[str], dict[str, _KeyIndex]]
_INDEX_CACHE: dict[tuple[int, ...], _Index] = {}


def _index(taxonomy: Mapping[str, Category]) -> _Index:
    """Categories, the keys any filter starts with, and for each key which values admit which.

    A filter matches only when its main (first) condition holds, so a feature can only
    belong to the categories its main-key values admit: the index answers that with
    one dictionary look-up per key, and the full filters run on those categories only.
    Cached by the identity of the Category objects (the cache keeps them alive, so an
    id is never reused while cached): matching runs once per OSM feature.
    """
    cats = tuple(taxonomy.values())
    ident = tuple(id(c) for c in cats)
    hit = _INDEX_CACHE.get(ident)
    if hit is not None:
        return hit
    by_value: dict[str, dict[str, set[int]]] = {}
    any_value: dict[str, set[int]] = {}
    for i, cat in enumerate(cats):
        for m in cat.filters:
            key, allowed = m.tags[0]
            values = by_value.setdefault(key, {})
            users = any_value.setdefault(key, set())
            if allowed is None:
                users.add(i)
            else:
                for v in allowed:
                    values.setdefault(v, set()).add(i)
    if len(_INDEX_CACHE) >= 16:
        _INDEX_CACHE.clear()
    index = {k: ({v: tuple(sorted(c)) for v, c in by_value[k].items()},
                 tuple(sorted(any_value[k]))) for k in by_value}
    hit = (cats, frozenset(index), index)
    _INDEX_CACHE[ident] = hit
    return hit


def taxonomy_keys(taxonomy: Mapping[str, Category]) -> frozenset[str]:
    """Every OSM key that starts a filter: a feature without any of them matches nothing."""
    return _index(taxonomy)[1]


def category_matcher(taxonomy: Mapping[str, Category],
                     ) -> Callable[[Mapping[str, Any]], list[tuple[str, str]]]:
    """:func:`match_details` for one taxonomy, with its index looked up once.

    For hot loops (one call per OSM object): ``match = category_matcher(tax)``, then
    ``match(tags)``.
    """
    cats, _, index = _index(taxonomy)
    items = tuple((key, values, any_cats) for key, (values, any_cats) in index.items())

    def match(tags: Mapping[str, Any]) -> list[tuple[str, str]]:
        candidates: set[int] = set()
        # pyosmium's TagList.get wraps a C++ look-up in a Python method with checks; call the
        # look-up itself when it is there (half the cost of matching, once per OSM object)
        get = getattr(getattr(tags, "_pyosmium_data", None), "tags_get_value_by_key",
                      None) or tags.get
        for key, values, any_cats in items:
            value = get(key, None)
            if not isinstance(value, str):
                continue
            candidates.update(any_cats)
            hit = values.get(value)
            if hit:
                candidates.update(hit)
            if ";" in value:  # OSM's multi-value lists: any part counts (see _holds)
                for part in value.split(";"):
                    hit = values.get(part.strip())
                    if hit:
                        candidates.update(hit)
        out = []
        for i in sorted(candidates):
            m = cats[i].match(tags)
            if m is not None:
                out.append((cats[i].name, f"{m.main_key}={tags.get(m.main_key)}"))
        return out

    return match


def match_details(tags: Mapping[str, Any], taxonomy: Mapping[str, Category],
                  ) -> list[tuple[str, str]]:
    """Categories of a feature with the main tag that matched.

    ``tags`` may be any mapping with ``get`` (a dict, or pyosmium's tag list).

    Returns
    -------
    list of (category, amenity_type)
        In taxonomy order; ``amenity_type`` is ``"key=value"`` of the first
        condition of the first matching filter, with the feature's own value.
    """
    return category_matcher(taxonomy)(tags)


def match_categories(tags: Mapping[str, Any], taxonomy: Mapping[str, Category]) -> list[str]:
    """Names of the categories a feature with ``tags`` belongs to (possibly several, or none).

    Values that are not strings (None, NaN from a table) count as absent.
    """
    return [name for name, _ in match_details(tags, taxonomy)]


# --------------------------------------------------------------------------- amenity table


def parse_number(value: Any) -> float:
    """A tag value as a finite non-negative float, NaN when absent or not a plain number."""
    if not isinstance(value, str):
        return math.nan
    try:
        x = float(value.strip())
    except ValueError:
        return math.nan
    return x if math.isfinite(x) and x >= 0 else math.nan


def _str(tags: Mapping[str, Any], *keys: str) -> str | None:
    for k in keys:
        v = tags.get(k)
        if isinstance(v, str) and v:
            return v
    return None


def amenity_rows(osm_type: str, osm_id: int, tags: Mapping[str, Any],
                 taxonomy: Mapping[str, Category]) -> list[dict[str, Any]]:
    """The amenity-table rows (without geometry) of one feature: one per matching category."""
    if osm_type not in OSM_TYPES:
        raise ValueError(f"osm_type must be one of {OSM_TYPES}, not {osm_type!r}")
    rows = []
    for cat_name, amenity_type in match_details(tags, taxonomy):
        cap = math.nan
        for key in taxonomy[cat_name].capacity:
            cap = parse_number(tags.get(key))
            if not math.isnan(cap):
                break
        rows.append({
            "osm_type": osm_type,
            "osm_id": int(osm_id),
            "category": cat_name,
            "name": _str(tags, "name"),
            "amenity_type": amenity_type,
            "opening_hours": _str(tags, "opening_hours"),
            "wheelchair": _str(tags, "wheelchair"),
            "website": _str(tags, "website", "contact:website"),
            "capacity": cap,
        })
    return rows


def amenities_frame(records: Iterable[tuple[str, int, Mapping[str, Any], Any]],
                    taxonomy: Mapping[str, Category]) -> gpd.GeoDataFrame:
    """Build the amenity table from OSM features.

    Parameters
    ----------
    records : iterable of (osm_type, osm_id, tags, geometry)
        ``osm_type`` is "node", "way" or "relation"; ``geometry`` a shapely
        geometry in EPSG:4326 (None is refused: count such features as skipped).
    taxonomy : dict of str to Category

    Returns
    -------
    GeoDataFrame
        Columns :data:`AMENITY_COLUMNS`, CRS EPSG:4326, sorted by category (taxonomy
        order), osm_type (node, way, relation) and osm_id; features matching no
        category are left out.
    """
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for osm_type, osm_id, tags, geom in records:
        new = amenity_rows(osm_type, osm_id, tags, taxonomy)
        if new and geom is None:
            raise ValueError(f"{osm_type} {osm_id} has no geometry")
        rows.extend(new)
        geoms.extend([geom] * len(new))
    df = pd.DataFrame(rows, columns=list(AMENITY_COLUMNS[:-1]))
    df = df.astype(AMENITY_DTYPES)
    for col in ("name", "opening_hours", "wheelchair", "website"):
        df[col] = df[col].where(df[col].notna(), None)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, index=df.index, crs="EPSG:4326"),
                           crs="EPSG:4326")
    if len(gdf):
        cat_order = {name: i for i, name in enumerate(taxonomy)}
        type_order = {t: i for i, t in enumerate(OSM_TYPES)}
        order = np.lexsort((gdf["osm_id"].to_numpy(),
                            gdf["osm_type"].map(type_order).to_numpy(),
                            gdf["category"].map(cat_order).to_numpy()))
        gdf = gdf.iloc[order].reset_index(drop=True)
    return gdf[list(AMENITY_COLUMNS)]


def category_counts(amenities: pd.DataFrame, taxonomy: Mapping[str, Category] | Sequence[str],
                    ) -> dict[str, int]:
    """Rows per category of an amenity table, every taxonomy category included (0 if none)."""
    counts = amenities["category"].value_counts()
    return {name: int(counts.get(name, 0)) for name in taxonomy}
