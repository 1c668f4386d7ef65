"""Absolute walking-distance standards: does an area or a site pass, fail, or is it unknown?

The index ranks areas against each other ("better than 46 % of areas"); a
standard says whether a place is within a published walking distance of a kind
of service, whatever the other areas are like. Each :class:`Standard` names the
amenity categories it applies to and a distance; a place passes when the nearest
place of *every* category it applies to is within that distance.

The distance compared is ``<category>_nearest_m``: for an area the
population-weighted mean walking distance to the nearest place over the area's
homes (people who cannot reach one count at the search limit, as in the index,
:func:`risk.rules.unreachable_at_limit`); for a site the exact network distance
from the site. Sources of the defaults: ``docs/method.md`` ("Standards").

Pure computation: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk.rules import unreachable_at_limit
from socialrisk.core import schema

__all__ = ["Standard", "DEFAULT_STANDARDS", "applied_categories", "evaluate_standards",
           "standards_table", "standard_notes"]


@dataclass(frozen=True)
class Standard:
    """One walking-distance standard.

    Attributes
    ----------
    name : str
        Lower-case letters, digits and ``_``; the output column is ``<name>_pass``.
    label : str
        Plain words, e.g. "Local everyday services within 800 m (10 minutes' walk)".
    categories : tuple of str
        Amenity categories it applies to (those in the run's taxonomy are used).
    max_m : float
        The longest walk that passes, metres (a walk of exactly ``max_m`` passes).
    source : str
        Where the distance comes from (citation text).
    fallback : tuple of str
        Categories used instead when none of ``categories`` is in the taxonomy
        (said in a note).
    """

    name: str
    label: str
    categories: tuple[str, ...]
    max_m: float
    source: str = ""
    fallback: tuple[str, ...] = ()


#: the shipped defaults; ``data/standards.toml`` holds the same (a test keeps them equal)
DEFAULT_STANDARDS: tuple[Standard, ...] = (
    Standard(
        "local_services_800m",
        "Local everyday services within 800 m (10 minutes' walk)",
        ("community_centre", "food_shop", "pharmacy", "transit_stop"), 800.0,
        "Manual for Streets (Department for Transport, 2007), section 4.4 'Walkable "
        "neighbourhoods': walkable neighbourhoods typically have a range of facilities within "
        "10 minutes' (up to about 800 m) walking distance of residential areas; the same "
        "800 m / 10 minutes is the one-way walk of the '20-minute neighbourhood' (TCPA, "
        "The 20-Minute Neighbourhood, 2021)"),
    Standard(
        "green_space_300m",
        "Accessible green space within 300 m (5 minutes' walk)",
        ("green_space",), 300.0,
        "Natural England, Accessible Natural Greenspace Standard (ANGSt; Nature Nearby, "
        "2010), carried into the Accessible Greenspace Standards of the Green Infrastructure "
        "Framework (2023): no one should live more than 300 m (about 5 minutes' walk) from "
        "accessible natural green space of at least 2 ha; the size is not checked here (any "
        "mapped public park or green space counts)"),
    Standard(
        "play_400m",
        "Play space within 400 m (5 minutes' walk)",
        ("play_space", "playground"), 400.0,
        "Fields in Trust, Guidance for Outdoor Sport and Play (Beyond the Six Acre Standard, "
        "2015): walking distance of 400 m to a Locally Equipped Area for Play (LEAP)",
        fallback=("green_space",)),
    Standard(
        "everyday_services_1200m",
        "Other everyday services within 1,200 m (15 minutes' walk)",
        ("gp", "post_office", "library"), 1200.0,
        "Institution of Highways and Transportation (IHT), Guidelines for Providing for "
        "Journeys on Foot (2000), table of suggested acceptable walking distances: "
        "'preferred maximum' of 1,200 m for journeys other than to town centres, commuting "
        "or school"),
)


def applied_categories(standard: Standard, available: Iterable[str]) -> tuple[list[str], str]:
    """The categories a standard is evaluated on, and a note when that differs from its list.

    Parameters
    ----------
    standard : Standard
    available : iterable of str
        Categories with a ``<category>_nearest_m`` value (the run's taxonomy).

    Returns
    -------
    categories : list of str
        ``standard.categories`` that are available; when none is, the available
        ``standard.fallback`` categories; possibly empty (the standard is unknown).
    note : str
        Empty when every listed category is used.

    Examples
    --------
    >>> s = Standard("play_400m", "Play", ("playground",), 400.0, fallback=("green_space",))
    >>> applied_categories(s, ["green_space", "gp"])[0]
    ['green_space']
    """
    avail = set(available)
    used = [c for c in standard.categories if c in avail]
    missing = [c for c in standard.categories if c not in avail]
    if used:
        note = "" if not missing else (
            f"standard {standard.name!r}: {', '.join(missing)} not in the taxonomy; applied to "
            f"{', '.join(used)} only")
        return used, note
    fb = [c for c in standard.fallback if c in avail]
    if fb:
        return fb, (f"standard {standard.name!r}: no {' or '.join(standard.categories)} "
                    f"category in the taxonomy, so it is applied to {', '.join(fb)} instead")
    return [], (f"standard {standard.name!r} applies to {', '.join(standard.categories)}, none "
                f"of which is in the taxonomy: its pass column is empty (unknown)")


def standard_notes(standards: Sequence[Standard], available: Iterable[str]) -> list[str]:
    """Every non-empty note of :func:`applied_categories`, in order."""
    avail = list(available)
    return [n for s in standards if (n := applied_categories(s, avail)[1])]


def _distances(table: pd.DataFrame, cats: Sequence[str],
               max_distance_m: float | None) -> pd.DataFrame:
    """``<cat>_nearest_m`` of ``cats``; unreachable people at the search limit when known."""
    cols = [schema.nearest_column(c) for c in cats]
    t = table[cols].apply(pd.to_numeric, errors="coerce").astype("float64")
    if max_distance_m is not None:
        unr = [f"{c}_{schema.UNREACHABLE_SUFFIX}" for c in cats]
        extra = table[[u for u in unr if u in table.columns]]
        t = unreachable_at_limit(pd.concat([t, extra.apply(pd.to_numeric, errors="coerce")],
                                           axis=1), cats, max_distance_m)[cols]
    return t


def _words(category: str, labels: Mapping[str, str]) -> str:
    label = labels.get(category, category.replace("_", " "))
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _metres(d: float) -> str:
    return "not reachable on foot" if math.isinf(d) else f"{d:,.0f} m"


def evaluate_standards(distances: pd.DataFrame, standards: Sequence[Standard], *,
                       labels: Mapping[str, str] | None = None,
                       max_distance_m: float | None = None) -> pd.DataFrame:
    """Pass or fail of every standard, per row (area or site).

    Parameters
    ----------
    distances : DataFrame
        One row per area or site with ``<category>_nearest_m`` columns (metres;
        ``inf`` = no place of the kind can be reached; NaN = unknown), optionally
        ``<category>_unreachable_share``.
    standards : sequence of Standard
    labels : mapping, optional
        Category -> label for ``standards_failed``.
    max_distance_m : float, optional
        When given and the table has ``<category>_unreachable_share``, people who
        cannot reach a category count at this distance (as in the index).

    Returns
    -------
    DataFrame
        Aligned to ``distances.index``: ``<name>_pass`` per standard (nullable
        boolean: True, False, or NA when a distance it needs is unknown and none
        fails), and ``standards_failed``: the failed standards in words with the
        distances that fail, "; "-separated ("" when none fails).

    Examples
    --------
    >>> s = Standard("near", "Shop within 800 m", ("shop",), 800.0)
    >>> t = pd.DataFrame({"shop_nearest_m": [799.0, 801.0, float("nan")]})
    >>> evaluate_standards(t, [s])["near_pass"].tolist()
    [True, False, <NA>]
    """
    labels = labels or {}
    available = [c[: -len(schema.NEAREST_SUFFIX) - 1] for c in distances.columns
                 if str(c).endswith("_" + schema.NEAREST_SUFFIX)]
    out = pd.DataFrame(index=distances.index)
    failed = [[] for _ in range(len(distances))]
    for std in standards:
        cats, _ = applied_categories(std, available)
        col = schema.standard_pass_column(std.name)
        if not cats:
            out[col] = pd.array([pd.NA] * len(distances), dtype="boolean")
            continue
        d = _distances(distances, cats, max_distance_m).to_numpy()
        over = d > std.max_m                      # NaN compares False
        fail = over.any(axis=1)
        known = ~np.isnan(d).any(axis=1)
        res = pd.array(np.where(fail, False, True), dtype="boolean")
        res[~fail & ~known] = pd.NA
        out[col] = res
        for i in np.flatnonzero(fail):
            which = ", ".join(f"{_words(c, labels)} {_metres(d[i, j])}"
                              for j, c in enumerate(cats) if over[i, j])
            failed[i].append(f"{std.label}: {which}")
    out[schema.STANDARDS_FAILED] = ["; ".join(f) for f in failed]
    return out


def standards_table(row: Mapping[str, float] | pd.Series, standards: Sequence[Standard], *,
                    labels: Mapping[str, str] | None = None,
                    max_distance_m: float | None = None) -> pd.DataFrame:
    """The standards of one area or site, one row per standard, for a report.

    Parameters
    ----------
    row : mapping or Series
        ``<category>_nearest_m`` values (and optionally ``_unreachable_share``).
    standards, labels, max_distance_m
        As in :func:`evaluate_standards`.

    Returns
    -------
    DataFrame
        ``standard`` (name), ``label``, ``max_m``, ``passed`` (True, False or
        None), ``result`` ("passes", "FAILS" or "unknown"), ``detail`` (the
        distances in words), ``applies_to`` (category labels), ``source``.
    """
    labels = labels or {}
    one = pd.DataFrame([dict(row)])
    ev = evaluate_standards(one, standards, labels=labels, max_distance_m=max_distance_m)
    available = [c[: -len(schema.NEAREST_SUFFIX) - 1] for c in one.columns
                 if str(c).endswith("_" + schema.NEAREST_SUFFIX)]
    rows = []
    for std in standards:
        cats, _ = applied_categories(std, available)
        v = ev[schema.standard_pass_column(std.name)].iloc[0]
        passed = None if pd.isna(v) else bool(v)
        if cats:
            d = _distances(one, cats, max_distance_m).iloc[0].to_numpy()
            groups: dict[str, list[str]] = {"over": [], "within": [], "unknown": []}
            for c, x in zip(cats, d, strict=True):
                key = "unknown" if np.isnan(x) else "over" if x > std.max_m else "within"
                groups[key].append(_words(c, labels) + ("" if key == "unknown"
                                                        else f" {_metres(x)}"))
            detail = "; ".join(f"{k} {std.max_m:,.0f} m: " * (k != "unknown")
                               + ("no data: " if k == "unknown" else "") + ", ".join(v)
                               for k, v in groups.items() if v)
        else:
            detail = "none of its kinds of place is in this run"
        rows.append({"standard": std.name, "label": std.label, "max_m": std.max_m,
                     "passed": passed,
                     "result": "unknown" if passed is None else "passes" if passed else "FAILS",
                     "detail": detail,
                     "applies_to": ", ".join(_words(c, labels) for c in cats),
                     "source": std.source})
    return pd.DataFrame(rows, columns=["standard", "label", "max_m", "passed", "result",
                                       "detail", "applies_to", "source"])
