"""Lenses: the isolation risk of one group (older people, disabled people, ...).

A lens says who is counted (the group's head count per area), how fast they
walk, which amenities count for them (e.g. only places tagged wheelchair
accessible), which categories matter to them (with weights) and the group's own
indicators (e.g. older people in income deprivation). From that it builds the
domains of an index scored by :func:`risk.index.risk_index` as ``risk_<lens>``:

* ``access``: one indicator per category of the lens, the lens's walking
  minutes to the nearest place (``<category>_walk_min_slow`` at the slow speed,
  ``<category>_walk_min`` at the normal one), or the distance to the nearest
  *accessible* place (``<category>_wheelchair_nearest_m``) when the lens filters
  amenities by a tag;
* ``group``: the group's own indicators, as given.

Lenses are TOML files (``data/lenses/*.toml``), read by :mod:`socialrisk.lenses`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from risk.index import DomainSpec, IndicatorSpec
from socialrisk.core import schema

__all__ = ["LensSpec", "lens_access_column", "lens_domains", "lens_population"]


@dataclass(frozen=True)
class LensSpec:
    """One lens (see the module docstring and ``docs/method.md``).

    Attributes
    ----------
    name : str
        Short name (``older_people``): the output columns are ``risk_<name>``...
    label, who : str
        Human label and who is counted, in words.
    population : str
        Column with the group's head count per area (e.g. ``pop_60_plus``), or "".
    population_share : str
        Column with the group's share of residents (e.g. ``disabled_share``): the
        head count is that share of the area's population. Used when
        ``population`` is empty or absent.
    walk_speed : {"normal", "slow"}
    amenity_filter : mapping of tag to accepted values
        Only amenities whose tag has one of the values count (missing tags do
        not: they are not "no", so the tag's coverage is reported).
    categories : mapping of category to weight
    indicators : list of IndicatorSpec
        The group's own indicators.
    access_weight, group_weight : float
        Weights of the two domains.
    min_tag_coverage : float
        The filter is applied to a category only when at least this share of
        its amenities carries the tag at all; below it, untagged places cannot
        be told from inaccessible ones, so every place of the category counts
        (and the report says so).
    """

    name: str
    label: str
    who: str = ""
    population: str = ""
    population_share: str = ""
    walk_speed: str = "normal"
    amenity_filter: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    categories: Mapping[str, float] = field(default_factory=dict)
    indicators: tuple[IndicatorSpec, ...] = ()
    access_weight: float = 0.5
    group_weight: float = 0.5
    min_tag_coverage: float = 0.5


def lens_access_column(lens: LensSpec, category: str, filtered: bool = True) -> str:
    """The access indicator of ``category`` for ``lens`` (see the module docstring).

    ``filtered=False``: the column without the amenity filter (a category whose
    tag coverage is below ``lens.min_tag_coverage``).
    """
    if lens.amenity_filter and filtered:
        return f"{category}_{'_'.join(lens.amenity_filter)}_{schema.NEAREST_SUFFIX}"
    suffix = schema.SLOW_SUFFIX if lens.walk_speed == "slow" else schema.WALK_MIN_SUFFIX
    return f"{category}_{suffix}"


def lens_domains(lens: LensSpec, categories: Iterable[str],
                 filtered: Iterable[str] | None = None) -> dict[str, DomainSpec]:
    """The index domains of a lens, restricted to the run's ``categories``.

    Categories of the lens that the run's taxonomy does not have are left out
    (the caller reports them). ``filtered``: the categories whose amenity
    filter applies (default: all of them).
    """
    known = set(categories)
    use = known if filtered is None else set(filtered)
    access = [IndicatorSpec(lens_access_column(lens, c, c in use), float(w))
              for c, w in lens.categories.items() if c in known]
    domains: dict[str, DomainSpec] = {}
    if access:
        domains["access"] = DomainSpec(lens.access_weight, access)
    if lens.indicators:
        domains["group"] = DomainSpec(lens.group_weight, list(lens.indicators))
    return domains


def lens_population(lens: LensSpec, table: pd.DataFrame) -> tuple[pd.Series, str]:
    """The group's head count per area, and how it was obtained (for the manifest).

    NaN where the count is unknown; all residents (``population``) when the lens
    names no count or share that the table has.
    """
    if lens.population and lens.population in table.columns:
        return (pd.to_numeric(table[lens.population], errors="coerce"),
                f"column {lens.population}")
    pop = (pd.to_numeric(table[schema.POPULATION], errors="coerce")
           if schema.POPULATION in table.columns
           else pd.Series(np.nan, index=table.index))
    if lens.population_share and lens.population_share in table.columns:
        share = pd.to_numeric(table[lens.population_share], errors="coerce")
        return pop * share, f"{lens.population_share} x population"
    return pop, "all residents (no count of the group was given)"
