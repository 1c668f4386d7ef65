"""One place for output column names, units and defaults.

Every module that names an output column, converts a walking speed or needs a
default distance takes it from here, so a column is spelled once and a default
cannot differ between the command line, the app and the computation.

Column scheme (per amenity category, e.g. ``gp``)::

    <category>_nearest_m, <category>_walk_min, <category>_walk_min_slow,
    <category>_count_<t>m, <category>_share_beyond_<t>m, <category>_gravity,
    <category>_e2sfca, <category>_unreachable_share

and per area ``area_id``, ``area_name``, ``population``, the domain scores
``<domain>_score`` and ``isolation_risk``, ``isolation_risk_rank``,
``isolation_risk_decile``, ``drivers``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

# ---------------------------------------------------------------- defaults (see docs/method.md)

#: average walking speed, km/h (4.8 km/h = 80 m a minute; 800 m = 10 minutes)
WALK_SPEED_KMH = 4.8
#: the slow profile (older and disabled people), km/h
SLOW_WALK_SPEED_KMH = 3.0
#: farthest a home, amenity or site may lie from the walking network, metres
MAX_SNAP_M = 250.0
#: distance thresholds of the counts, metres
THRESHOLDS_M = (400.0, 800.0, 1200.0)
#: threshold of ``<category>_share_beyond_<t>m``, metres
BEYOND_M = 800.0
#: search limit of the nearest amenity; farther counts as unreachable, metres
MAX_DISTANCE_M = 20000.0
#: E2SFCA catchment, metres
CATCHMENT_M = 1600.0
#: scale of the distance decay, metres
DECAY_SCALE_M = 800.0
#: fewest areas a group (e.g. the least deprived fifth) needs before its median is compared
#: with another's: the median of 1-4 areas swings with any one of them (risk.equity)
EQUITY_MIN_AREAS = 5

# ---------------------------------------------------------------- area columns

AREA_ID = "area_id"
AREA_NAME = "area_name"
POPULATION = "population"
ISOLATION_RISK = "isolation_risk"
ISOLATION_RISK_RANK = "isolation_risk_rank"
ISOLATION_RISK_DECILE = "isolation_risk_decile"
DRIVERS = "isolation_risk_drivers"
#: the structural score (access + the factors that make distance matter) and the
#: loneliness score (published risk factors only): see docs/method.md
LONELINESS_RISK = "loneliness_risk"
HEADLINE_SCORES = (ISOLATION_RISK, LONELINESS_RISK)
#: domain-score prefix of the loneliness score (``loneliness_health_score``)
LONELINESS_PREFIX = "loneliness_"
#: per score ``<score>_rank``, ``<score>_decile``, ``<score>_drivers`` (and ``_missing``)
SCORE_SUFFIXES = ("_rank", "_decile", "_drivers", "_missing")
#: uncertainty columns per score (``--uncertainty N``)
UNCERTAINTY_SUFFIXES = ("_rank_p05", "_rank_p95", "_p_top_decile", "_robust")
#: whole-number ordinal columns (1 = highest risk or most deprived); ``_p_top_decile``
#: ends like a decile but is a share of draws
ORDINAL_SUFFIXES = ("_rank", "_decile", "_rank_p05", "_rank_p95")


def is_ordinal(column: str) -> bool:
    """Whether ``column`` is a rank or decile (``isolation_risk_rank``, ``imd_decile`` ...)."""
    return column.endswith(ORDINAL_SUFFIXES) and not column.endswith("_p_top_decile")


def is_decile(column: str) -> bool:
    """Whether ``column`` is a decile (1-10), not the share of draws in the top decile."""
    return column.endswith("_decile") and is_ordinal(column)
#: the index columns every run writes, in order
INDEX_COLUMNS = ("access_score", ISOLATION_RISK, ISOLATION_RISK_RANK, ISOLATION_RISK_DECILE)

NEAREST_SUFFIX = "nearest_m"
WALK_MIN_SUFFIX = "walk_min"
SLOW_SUFFIX = "walk_min_slow"
UNREACHABLE_SUFFIX = "unreachable_share"

# ---- absolute walking-distance standards (risk.standards, docs/method.md "Standards")
#: per standard ``<name>_pass`` (True / False / empty = unknown)
STANDARD_PASS_SUFFIX = "_pass"
#: the failed standards of an area, in words
STANDARDS_FAILED = "standards_failed"


def standard_pass_column(name: str) -> str:
    """``<name>_pass``: whether an area meets the standard ``name``."""
    return f"{name}{STANDARD_PASS_SUFFIX}"


# ---- local asset lists (geo.assets, docs/assets.md)
#: amenity column: where a row came from, "osm" or "<list file name>:<row id>"
AMENITY_SOURCE = "source"
OSM_SOURCE = "osm"
#: amenity columns only asset lists fill (None for OpenStreetMap features)
ASSET_TEXT_COLUMNS = ("contact", "accessibility")
#: merge: a list item and an OSM feature of its category this close (metres) may be one place
ASSET_MATCH_M = 100.0
#: merge: names at least this similar (0-1, after dropping generic words) are one place
ASSET_NAME_SIMILARITY = 0.6
#: list items this close outside the study areas are kept (a riverside or coastal place
#: geocoded into the water; a place just across the boundary), as far as snapping reaches
ASSET_BUFFER_M = MAX_SNAP_M


def lens_score(lens: str) -> str:
    """``risk_<lens>``: a lens's score column (``risk_older_people``)."""
    return f"risk_{lens}"


def lens_population(lens: str) -> str:
    """``<lens>_population``: the lens group's head count per area."""
    return f"{lens}_population"


def score_column(domain: str) -> str:
    """The column of a domain's score, e.g. ``access`` -> ``access_score``."""
    return f"{domain}_score"


def _t(threshold: float) -> str:
    return f"{float(threshold):g}m"


@dataclass(frozen=True)
class AccessColumns:
    """Column names of the access measures of one category.

    ``count`` and ``share_beyond`` map a threshold in metres to its column.
    """

    nearest: str
    walk_min: str
    count: dict[float, str] = field(default_factory=dict)
    share_beyond: dict[float, str] = field(default_factory=dict)
    gravity: str = ""
    e2sfca: str = ""
    unreachable_share: str = ""
    walk_min_slow: str = ""

    def origin_columns(self) -> list[str]:
        """Columns of :func:`risk.access.origin_access`, in order."""
        return [self.nearest, self.walk_min, *self.count.values(), self.gravity]

    def all(self) -> list[str]:
        """Every column of the category, in a stable order."""
        return [self.nearest, self.walk_min, *self.count.values(), *self.share_beyond.values(),
                self.walk_min_slow, self.gravity, self.e2sfca, self.unreachable_share]


def access_columns(category: str = "", thresholds: Iterable[float] = THRESHOLDS_M,
                   beyond: Iterable[float] = (BEYOND_M,)) -> AccessColumns:
    """Names of the access columns of ``category`` (no prefix when ``category`` is empty).

    Examples
    --------
    >>> c = access_columns("gp", [400, 800], beyond=[800])
    >>> c.nearest, c.walk_min, c.count[800.0], c.share_beyond[800.0]
    ('gp_nearest_m', 'gp_walk_min', 'gp_count_800m', 'gp_share_beyond_800m')
    """
    p = f"{category}_" if category else ""
    return AccessColumns(
        nearest=f"{p}{NEAREST_SUFFIX}",
        walk_min=f"{p}{WALK_MIN_SUFFIX}",
        count={float(t): f"{p}count_{_t(t)}" for t in thresholds},
        share_beyond={float(t): f"{p}share_beyond_{_t(t)}" for t in beyond},
        gravity=f"{p}gravity",
        e2sfca=f"{p}e2sfca",
        unreachable_share=f"{p}{UNREACHABLE_SUFFIX}",
        walk_min_slow=f"{p}{SLOW_SUFFIX}",
    )


def nearest_column(category: str) -> str:
    """``<category>_nearest_m``."""
    return f"{category}_{NEAREST_SUFFIX}"


def walk_min_column(category: str) -> str:
    """``<category>_walk_min``."""
    return f"{category}_{WALK_MIN_SUFFIX}"


# ---------------------------------------------------------------- units


def metres_per_minute(speed_kmh: float) -> float:
    """Metres walked in a minute at ``speed_kmh``.

    Examples
    --------
    >>> metres_per_minute(4.8)
    80.0
    """
    if not speed_kmh > 0:
        raise ValueError(f"a walking speed must be greater than 0 km/h, not {speed_kmh!r}")
    return speed_kmh * 1000.0 / 60.0


def walk_minutes(dist_m, speed_kmh: float) -> np.ndarray:
    """Walking time in minutes for distances in metres at ``speed_kmh`` (inf stays inf).

    Examples
    --------
    >>> walk_minutes([800.0, float("inf")], 4.8).tolist()
    [10.0, inf]
    """
    return np.asarray(dist_m, dtype=np.float64) / metres_per_minute(speed_kmh)


def minutes_to_metres(minutes: float, speed_kmh: float) -> float:
    """Distance walked in ``minutes`` at ``speed_kmh``, metres.

    Examples
    --------
    >>> minutes_to_metres(10, 4.8)
    800.0
    """
    return float(minutes) * metres_per_minute(speed_kmh)
