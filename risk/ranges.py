"""The ranges within which the Monte Carlo of :mod:`risk.uncertainty` redraws the choices."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from risk.normalise import METHODS
from socialrisk.core.errors import ConfigError, shown

__all__ = ["UncertaintyRanges", "zero_ranges"]


@dataclass(frozen=True)
class UncertaintyRanges:
    """The ranges within which the Monte Carlo redraws the analyst's choices.

    Attributes
    ----------
    weight_range : float
        r: each domain weight and each indicator weight is multiplied by an
        independent U[1 - r, 1 + r] factor; 0 <= r < 1 (0 = weights fixed).
    normalisations : tuple of str
        Methods drawn uniformly (``rank_exp``, ``zscore``, ``minmax``); a
        1-tuple fixes the method.
    walk_limit_min : (float, float) or None
        Range of the walking time T, minutes, beyond which distances and times
        are capped; ``None`` = no cap (as in the point estimate). Equal ends
        fix T.
    walk_speed_kmh : (float, float)
        Range of the walking speed v, km/h; the distance limit is T x v.
    no_limit_share : float
        Share of the draws that keep the point estimate's choice of no walking
        limit (0 <= share < 1): the drawn T runs over an interval extended above
        the range's high end by ``share / (1 - share)`` of its width, and a T
        above the high end means no cap. 0.5 by default, so the point
        estimate's choice stays among the choices drawn.
    weight_ranges : mapping, optional
        r for particular weight groups, overriding ``weight_range``: keys
        ``"weight: <domain>"`` (that domain's weight) or ``"indicator weights:
        <domain>"`` (its indicators' weights), e.g. ``{"weight: access": 0.2}``.
    """

    weight_range: float = 0.5
    normalisations: tuple[str, ...] = METHODS
    walk_limit_min: tuple[float, float] | None = (20.0, 60.0)
    walk_speed_kmh: tuple[float, float] = (3.0, 4.8)
    weight_ranges: Mapping[str, float] | None = None
    no_limit_share: float = 0.5

    def range_of(self, group: str) -> float:
        """r of a weight group (``"weight: <domain>"`` / ``"indicator weights: <domain>"``)."""
        return float((self.weight_ranges or {}).get(group, self.weight_range))

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the first range that is not usable."""
        for key, r in [("weight_range", self.weight_range),
                       *(self.weight_ranges or {}).items()]:
            if not (isinstance(r, (int, float)) and math.isfinite(r) and 0 <= r < 1):
                raise ConfigError(f"uncertainty {key} must be a number from 0 up to (not "
                                  f"including) 1, e.g. 0.5 for weights x U[0.5, 1.5]; "
                                  f"got {r!r}")
        if not (isinstance(self.no_limit_share, (int, float))
                and 0 <= self.no_limit_share < 1):
            raise ConfigError(f"uncertainty no_limit_share must be a share from 0 up to (not "
                              f"including) 1; got {self.no_limit_share!r}")
        methods = tuple(self.normalisations)
        if not methods or any(m not in METHODS for m in methods):
            raise ConfigError(f"uncertainty normalisations must be one or more of "
                              f"{', '.join(METHODS)}; got {shown(methods)}")
        for label, pair in (("walk_limit_min", self.walk_limit_min),
                            ("walk_speed_kmh", self.walk_speed_kmh)):
            if pair is None and label == "walk_limit_min":
                continue
            ok = (isinstance(pair, (tuple, list)) and len(pair) == 2
                  and all(isinstance(x, (int, float)) and math.isfinite(x) and x > 0
                          for x in pair) and pair[0] <= pair[1])
            if not ok:
                raise ConfigError(f"uncertainty {label} must be two numbers > 0, low first, "
                                  f"e.g. (20, 60); got {shown(pair)}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for the run manifest)."""
        d = asdict(self)
        d["normalisations"] = list(self.normalisations)
        d["weight_ranges"] = {str(k): float(v) for k, v in (self.weight_ranges or {}).items()}
        for k in ("walk_limit_min", "walk_speed_kmh"):
            d[k] = None if d[k] is None else [float(x) for x in d[k]]
        return d


def zero_ranges(normalisation: str = "rank_exp") -> UncertaintyRanges:
    """Ranges that change nothing: every draw is the point estimate of ``normalisation``."""
    return UncertaintyRanges(weight_range=0.0, normalisations=(normalisation,),
                             walk_limit_min=None)
