"""Plain-language drivers: which indicators push an area's risk up, in words.

For every area the indicators are scored by their contribution to the area's
risk *relative to the typical area*::

    contribution[i, j] = w[i, j] * (n[i, j] - median_k n[k, j])

where ``n`` is the normalised indicator (higher = worse, see
:mod:`risk.normalise`) and ``w[i, j]`` the indicator's effective
weight in area ``i``'s index (domain weight times the indicator's weight within
its domain, both as applied after reweighting for missing values, so they sum
to 1 over an area's indicators). The indicators with the largest positive
contributions are the area's drivers; an indicator on which the area is no
worse than the median area is never a driver. Each driver is written as::

    <phrase>: <raw value>, <comparative> than <X> % of areas

for example ``"walk to a GP surgery: 2.3 km, longer than 90 % of areas"`` or
``"share aged 60+: 41 %, higher than 85 % of areas"``. ``X`` is the share of
the *other* areas with a value for the indicator whose value is strictly
better (lower when higher is worse), rounded to the nearest whole percent and
never shown as 0 or 100 unless it is: the area that is worse than every other
reads ``"the longest of the 89 areas"`` (:func:`compare_with_areas`). Phrases
are neutral (a 440 m walk to a bus stop is not called "far"); the comparison
says how the area stands.

The vocabulary (:func:`describe_indicator`) knows the project's column scheme:
``<category>_nearest_m``, ``<category>_walk_min``, ``<category>_walk_min_slow``,
``<category>_count_<d>m``,
``<category>_share_beyond_<d>m``, ``<category>_unreachable_share``,
``<category>_gravity``, ``<category>_e2sfca`` (the scheme of
:mod:`risk.access`) and the deprivation / census names
(``imd_score``, ``income_score``, ..., ``share_60_plus``,
``hh_deprived_2plus_share``, ``population``). Shares and
IoD rates are fractions (0..1) and are shown as percentages.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from risk.normalise import apply_direction
from socialrisk.core.schema import (
    DRIVERS,
    NEAREST_SUFFIX,
    POPULATION,
    SLOW_SUFFIX,
    UNREACHABLE_SUFFIX,
    WALK_MIN_SUFFIX,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LABELS",
    "category_label",
    "compare_with_areas",
    "comparison",
    "contributions",
    "describe_indicator",
    "format_distance",
    "format_percent",
    "percent_better_than",
    "plural_label",
    "top_drivers",
]

Formatter = Callable[[float], str]

DEFAULT_LABELS: dict[str, str] = {
    "community_centre": "a community centre or village hall",
    "library": "a library",
    "place_of_worship": "a place of worship",
    "green_space": "a park or green space",
    "gp": "a GP surgery",
    "pharmacy": "a pharmacy",
    "post_office": "a post office",
    "transit_stop": "a bus stop, station or ferry terminal",
    "cafe_pub": "a cafe, pub or bar",
    "food_shop": "a food shop",
    "primary_school": "a primary school",
    "social_care": "a social care facility",
    "leisure_centre": "a leisure centre, gym or public pool",
}
"""Labels for the default categories; a caller's mapping (from the taxonomy) wins."""


def _is_missing(v: float) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v)


def format_distance(v: float) -> str:
    """Format metres: ``"850 m"`` (nearest 10 m) below 1 km, else ``"2.3 km"``."""
    if _is_missing(v):
        return "n/a"
    if math.isinf(v):
        return "unreachable"
    if v >= 995.0:
        return f"{v / 1000.0:.1f} km"
    return f"{round(v, -1):.0f} m"


def format_percent(v: float) -> str:
    """Format a fraction 0..1 as a whole percentage: ``0.41 -> "41 %"``."""
    if _is_missing(v):
        return "n/a"
    return f"{_round_half_up(100.0 * v)} %"


def _format_minutes(v: float) -> str:
    if _is_missing(v):
        return "n/a"
    if math.isinf(v):
        return "unreachable"
    return f"{v:.0f} min"


def _format_count(v: float) -> str:
    if _is_missing(v):
        return "n/a"
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def _format_thousands(v: float) -> str:
    return "n/a" if _is_missing(v) else f"{v:,.0f}"


def _fixed(decimals: int) -> Formatter:
    def fmt(v: float) -> str:
        return "n/a" if _is_missing(v) else f"{v:.{decimals}f}"
    return fmt


def _general(v: float) -> str:
    return "n/a" if _is_missing(v) else f"{v:.3g}"


# name -> (phrase, formatter, neutral); all named phrases are neutral and get
# "higher than" / "lower than" by the indicator's direction.
_NAMED: dict[str, tuple[str, Formatter, bool]] = {
    "imd_score": ("IMD score", _fixed(1), True),
    "income_score": ("income-deprived residents", format_percent, True),
    "employment_score": ("employment-deprived working-age residents", format_percent, True),
    "education_score": ("education, skills and training deprivation score", _fixed(1), True),
    "health_score": ("health deprivation and disability score", _fixed(2), True),
    "crime_score": ("crime score", _fixed(2), True),
    "housing_score": ("barriers to housing and services score", _fixed(1), True),
    "environment_score": ("living environment deprivation score", _fixed(1), True),
    "idaci_score": ("children in income-deprived families", format_percent, True),
    "idaopi_score": ("older people in income deprivation", format_percent, True),
    "share_60_plus": ("share aged 60+", format_percent, True),
    "share_0_15": ("share aged 0-15", format_percent, True),
    "hh_deprived_2plus_share": ("households deprived in 2+ dimensions", format_percent, True),
    "disabled_share": ("residents disabled under the Equality Act", format_percent, True),
    "rented_share": ("households renting their home", format_percent, True),
    "social_rented_share": ("households in social rented homes", format_percent, True),
    "private_rented_share": ("households renting privately", format_percent, True),
    "illness_disability_ratio": ("comparative illness and disability ratio", _fixed(0),
                                 True),
    "mental_health": ("mental health indicator (IoD)", _fixed(2), True),
    "english_proficiency": ("adults with low skills or English proficiency", format_percent,
                            True),
    "broadband": ("broadband speed indicator (IoD)", _fixed(2), True),
    "pop_60_plus": ("residents aged 60+", _format_thousands, True),
    "pop_0_15": ("residents aged 0-15", _format_thousands, True),
    POPULATION: ("population", _format_thousands, True),
}

_ARTICLES = ("a ", "an ", "the ")


def category_label(category: str, labels: Mapping[str, str] | None = None) -> str:
    """Noun phrase with an article for a category, e.g. ``"gp" -> "a GP surgery"``.

    Parameters
    ----------
    category : str
        Category key as used in column names (``"gp"``, ``"food_shop"``).
    labels : mapping, optional
        Caller's labels (e.g. from the taxonomy TOML); they win over
        :data:`DEFAULT_LABELS`. A label without an article gets ``"a"``/``"an"``.

    Returns
    -------
    str
        The label; for an unknown category the key with spaces, e.g.
        ``"youth_club" -> "a youth club"``.
    """
    label = ((labels or {}).get(category) or DEFAULT_LABELS.get(category) or "").strip()
    if not label:
        label = category.replace("_", " ")
    if not label.lower().startswith(_ARTICLES):
        first = label.split(" ", 1)[0].rstrip(",")
        if not (len(first) > 1 and first.isupper()):  # keep acronyms such as "GP"
            label = label[:1].lower() + label[1:]
        label = ("an " if label[:1].lower() in "aeiou" else "a ") + label
    return label


def _plural_word(phrase: str) -> str:
    """Plural of one noun phrase: the head noun is the last word, or the word before "of"."""
    head, sep, tail = phrase.partition(" of ")
    words = head.split(" ")
    w = words[-1]
    if not w:
        return phrase
    if re.search(r"[^aeiou]y$", w):
        w = w[:-1] + "ies"
    elif re.search(r"(s|x|z|ch|sh)$", w):
        w = w + "es"
    else:
        w = w + "s"
    words[-1] = w
    return " ".join(words) + (sep + tail if sep else "")


def plural_label(label: str) -> str:
    """Small English pluraliser for category labels (drops the article).

    Lists are pluralised item by item: ``"a cafe, pub or bar" -> "cafes, pubs
    or bars"``, ``"a place of worship" -> "places of worship"``.
    """
    low = label.lower()
    for art in _ARTICLES:
        if low.startswith(art):
            label = label[len(art):]
            break
    parts = re.split(r"(, | or | and )", label)
    return "".join(p if i % 2 else _plural_word(p) for i, p in enumerate(parts))


def _accessible(label: str) -> str:
    """``"a GP surgery"`` -> ``"a wheelchair-accessible GP surgery"``."""
    for art in _ARTICLES:
        if label.lower().startswith(art):
            rest = label[len(art):]
            return f"{'a' if art == 'an ' else art.strip()} wheelchair-accessible {rest}"
    return f"wheelchair-accessible {label}"


# (pattern, build(match, label) -> (phrase, formatter, comparative)); the comparative is
# fixed ("longer") or "" for neutral ("higher"/"lower", "more"/"fewer" by the direction)
_PATTERNS: list[tuple[re.Pattern[str],
                      Callable[[re.Match[str], str], tuple[str, Formatter, str]]]] = [
    (re.compile(rf"^(?P<cat>.+)_wheelchair_{NEAREST_SUFFIX}$"),
     lambda m, lab: (f"walk to {_accessible(lab)}", format_distance, "longer")),
    (re.compile(rf"^(?P<cat>.+)_{NEAREST_SUFFIX}$"),
     lambda m, lab: (f"walk to {lab}", format_distance, "longer")),
    (re.compile(rf"^(?P<cat>.+)_{WALK_MIN_SUFFIX}$"),
     lambda m, lab: (f"walk to {lab}", _format_minutes, "longer")),
    (re.compile(rf"^(?P<cat>.+)_{SLOW_SUFFIX}$"),
     lambda m, lab: (f"walk to {lab} at a slower pace", _format_minutes, "longer")),
    (re.compile(r"^(?P<cat>.+)_count_(?P<d>\d+(?:\.\d+)?)m$"),
     lambda m, lab: (f"average number of {plural_label(lab)} within {m['d']} m",
                     _format_count, "")),
    (re.compile(r"^(?P<cat>.+)_share_beyond_(?P<d>\d+(?:\.\d+)?)m$"),
     lambda m, lab: (f"residents more than {m['d']} m from {lab}", format_percent, "")),
    (re.compile(rf"^(?P<cat>.+)_{UNREACHABLE_SUFFIX}$"),
     lambda m, lab: (f"residents who cannot reach {lab} on foot", format_percent, "")),
    (re.compile(r"^(?P<cat>.+)_gravity$"),
     lambda m, lab: (f"access to {plural_label(lab)} (gravity score)", _general, "")),
    (re.compile(r"^(?P<cat>.+)_e2sfca$"),
     lambda m, lab: (f"provision of {plural_label(lab)} per 1,000 residents (E2SFCA)",
                     _general, "")),
]


def _describe(column: str, labels: Mapping[str, str] | None) -> tuple[str, Formatter, str]:
    """``(phrase, formatter, comparative)``; comparative "" = by the direction."""
    if column in _NAMED:
        phrase, fmt, _ = _NAMED[column]
        return phrase, fmt, ""
    for pattern, build in _PATTERNS:
        m = pattern.match(column)
        if m:
            return build(m, category_label(m["cat"], labels))
    return column.replace("_", " "), _general, ""


def describe_indicator(column: str, labels: Mapping[str, str] | None = None,
                       ) -> tuple[str, Formatter]:
    """Plain-words phrase and value formatter for an indicator column.

    Parameters
    ----------
    column : str
        Indicator column name, e.g. ``"gp_nearest_m"`` or ``"share_60_plus"``.
    labels : mapping, optional
        Category -> label (``{"gp": "a GP surgery"}``) for access columns.

    Returns
    -------
    (str, callable)
        The phrase (``"walk to a GP surgery"``) and a function formatting a
        raw value (``2300.0 -> "2.3 km"``; NaN -> ``"n/a"``). Unknown columns
        get the name with spaces and 3 significant figures.
    """
    phrase, fmt, _ = _describe(column, labels)
    return phrase, fmt


_SUPERLATIVE = {"longer": "longest", "higher": "highest", "lower": "lowest",
                "fewer": "fewest", "more": "most", "worse": "worst", "better": "best",
                "shorter": "shortest"}
_OPPOSITE = {"longer": "shorter", "higher": "lower", "lower": "higher", "fewer": "more",
             "more": "fewer", "worse": "better", "better": "worse", "shorter": "longer"}


def comparison(column: str, direction: str = "higher_is_worse") -> str:
    """The comparative used in the driver text for ``column`` (``"longer than"``).

    Walks and distances are ``"longer than"``; averages of counts ``"fewer than"``
    (or ``"more than"`` when declared higher-is-worse); other quantities
    ``"higher than"`` when higher is worse and ``"lower than"`` when lower is worse.
    """
    return f"{_comparative(column, direction)} than"


def _comparative(column: str, direction: str) -> str:
    _, _, word = _describe(column, None)
    low = direction == "lower_is_worse"
    if word:
        return _OPPOSITE[word] if low else word
    if re.search(r"_count_\d+(?:\.\d+)?m$", column):
        return "fewer" if low else "more"
    return "lower" if low else "higher"


def compare_with_areas(n_better: int, n_areas: int, comparative: str = "worse") -> str:
    """How an area compares with the others, in words.

    Parameters
    ----------
    n_better : int
        Number of the *other* areas that are strictly better.
    n_areas : int
        Number of areas compared, the area included (>= 2).
    comparative : str
        ``"worse"``, ``"longer"``, ``"higher"``, ``"lower"``, ``"fewer"``, ...

    Returns
    -------
    str
        ``"longer than 70 % of areas"``; ``"the longest of the 89 areas"`` when
        every other area is better; ``"no longer than any other area"`` when none
        is. The percent is rounded half up but never to 0 or 100 when it is not.

    Examples
    --------
    >>> compare_with_areas(88, 89, "worse")
    'the worst of the 89 areas'
    >>> compare_with_areas(62, 89, "longer")
    'longer than 70 % of areas'
    """
    others = n_areas - 1
    if others >= 1 and n_better >= others:
        return f"the {_SUPERLATIVE.get(comparative, comparative)} of the {n_areas} areas"
    if n_better <= 0:
        return f"no {comparative} than any other area"
    pct = min(max(_round_half_up(100.0 * n_better / others), 1), 99)
    return f"{comparative} than {pct} % of areas"


def percent_better_than(s: pd.Series, direction: str = "higher_is_worse") -> pd.Series:
    """Share (%) of the other non-missing areas whose value is strictly better.

    Parameters
    ----------
    s : Series
        Raw indicator values.
    direction : {"higher_is_worse", "lower_is_worse"}
        Which end is worse; "better" is the other end.

    Returns
    -------
    Series
        ``100 * #{k != i : x_k strictly better than x_i} / (n - 1)`` with ``n``
        the number of non-missing areas; NaN where the value is missing or
        ``n < 2``.
    """
    d = apply_direction(s, direction)
    n = int(d.notna().sum())
    if n < 2:
        return pd.Series(np.nan, index=s.index, dtype="float64")
    strictly_better = d.rank(method="min", ascending=True, na_option="keep") - 1.0
    return 100.0 * strictly_better / (n - 1)


def contributions(normalised: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Each indicator's contribution to each area's risk relative to the median area.

    Parameters
    ----------
    normalised : DataFrame
        Normalised indicators (higher = worse), one column per indicator.
    weights : DataFrame
        Effective per-area weights, same shape and labels (0 or NaN where the
        indicator is not used for the area).

    Returns
    -------
    DataFrame
        ``weights * (normalised - column median)``; NaN where the indicator
        value is missing.
    """
    centred = normalised - normalised.median(axis=0, skipna=True)
    return centred * weights.reindex_like(normalised)


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def top_drivers(values: pd.DataFrame, normalised: pd.DataFrame, weights: pd.DataFrame,
                directions: Mapping[str, str] | None = None, n: int = 3,
                labels: Mapping[str, str] | None = None) -> pd.Series:
    """Top ``n`` drivers of each area's risk, in plain words.

    Parameters
    ----------
    values : DataFrame
        Raw indicator values (for the wording), index = area id.
    normalised : DataFrame
        Normalised indicators (higher = worse), same index and columns.
    weights : DataFrame
        Effective per-area weights of each indicator in the index.
    directions : mapping, optional
        Column -> ``"higher_is_worse"`` / ``"lower_is_worse"`` (default higher).
    n : int
        Maximum number of drivers per area.
    labels : mapping, optional
        Category labels for access columns (see :func:`category_label`).

    Returns
    -------
    Series of str
        Drivers joined by ``"; "``, largest contribution first (ties in the
        column order); ``""`` when no indicator is worse than the median area
        or the area has no values.
    """
    directions = directions or {}
    cols = list(normalised.columns)
    out = pd.Series("", index=normalised.index, dtype="object", name=DRIVERS)
    if n <= 0 or not cols:
        return out
    contrib = contributions(normalised, weights).to_numpy(dtype="float64")
    texts: dict[str, list[str]] = {}
    for c in cols:
        direction = directions.get(c, "higher_is_worse")
        phrase, fmt = describe_indicator(c, labels)
        word = _comparative(c, direction)
        pct = percent_better_than(values[c], direction)
        n_areas = int(values[c].notna().sum())
        texts[c] = [
            f"{phrase}: {fmt(v)}" + ("" if pd.isna(p) else ", " + compare_with_areas(
                _round_half_up(p * (n_areas - 1) / 100.0), n_areas, word))
            for v, p in zip(values[c].to_numpy(dtype="float64"), pct.to_numpy(), strict=True)
        ]
    result = []
    for i in range(len(out)):
        row = contrib[i]
        order = [j for j in np.argsort(-np.nan_to_num(row, nan=-np.inf), kind="stable")
                 if np.isfinite(row[j]) and row[j] > 0][:n]
        result.append("; ".join(texts[cols[j]][i] for j in order))
    out[:] = result
    return out
