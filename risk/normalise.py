"""Normalisation of indicators and domain scores before they are combined.

Every function takes a numeric :class:`pandas.Series` (one value per area) and
returns a float Series aligned to the same index. Missing values (NaN) stay
NaN and are left out of every statistic (ranks, means, minima and maxima are
computed over the non-missing areas only).

All outputs follow the same orientation: **higher = worse** (higher risk).
:func:`normalise` applies an indicator's direction first, so an indicator where
lower values are worse (``"lower_is_worse"``) is negated before normalising.

Methods
-------
``rank_exp``
    The exponential transformation used by the English Indices of Deprivation
    to combine domains (IoD 2019 and 2025 technical reports): areas are ranked
    so that the worst gets the highest rank, the rank is scaled to
    ``R = rank / N`` in (0, 1] and transformed with
    ``X = -23 ln(1 - R (1 - exp(-100 / 23)))``. ``X`` runs from about 0 (best
    area) to exactly 100 (worst area); the worst 10 % of areas take the range
    about 50 to 100, so a high value in one domain is not fully cancelled out
    by a low value in another.
``zscore``
    ``(x - mean) / sd`` with the population standard deviation (``ddof=0``).
    Mean 0, standard deviation 1.
``minmax``
    ``100 (x - min) / (max - min)``: 0 for the best area, 100 for the worst,
    the same range as ``rank_exp`` so weights mean the same under both.

A constant input (every non-missing area has the same value) carries no
information about which areas are worse: ``zscore`` returns 0 and ``minmax``
returns 50 for every area, ``rank_exp`` gives every area the same (tied) value;
a warning is logged.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from socialrisk.core.errors import ConfigError, InputError, shown

logger = logging.getLogger(__name__)

__all__ = [
    "METHODS",
    "DIRECTIONS",
    "EXP_CONSTANT",
    "rank_exp",
    "exp_transform",
    "zscore",
    "minmax",
    "apply_direction",
    "normalise",
]

METHODS = ("rank_exp", "zscore", "minmax")
DIRECTIONS = ("higher_is_worse", "lower_is_worse")
EXP_CONSTANT = 23.0
"""The constant of the IoD exponential transformation (``-23 ln(...)``)."""


def _as_float(s: pd.Series, *, allow_inf: bool) -> pd.Series:
    """Return ``s`` as float64, refusing text and (unless allowed) infinite values."""
    if not isinstance(s, pd.Series):
        s = pd.Series(s)
    try:
        out = pd.to_numeric(s, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        text = pd.to_numeric(s, errors="coerce").isna() & s.notna()
        n = int(text.sum())
        raise InputError(f"column {shown(s.name)} must be numeric ({n:,} value(s) are not "
                         f"numbers); convert it to numbers or leave it out") from exc
    if not allow_inf and np.isinf(out.to_numpy()).any():
        raise InputError(f"column {shown(s.name)} has infinite values; replace them with a "
                         f"finite cap (e.g. the search limit) or NaN before normalising")
    return out


def _rescaled(x: pd.Series, valid: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``x`` divided by its largest magnitude when its spread would overflow a float.

    ``zscore`` and ``minmax`` do not change when every value is divided by the
    same positive number, but ``1e308 - (-1e308)`` is infinite: such values
    are scaled to at most 1 first (and only then, so ordinary data keep their
    exact arithmetic).
    """
    big = float(valid.abs().max())
    with np.errstate(over="ignore"):
        spread = float(valid.max()) - float(valid.min())
        square = big * big
    if np.isfinite(spread) and np.isfinite(square * len(valid)):
        return x, valid
    return (x / big).rename(x.name), valid / big


def exp_transform(r: pd.Series | np.ndarray | float) -> pd.Series | np.ndarray | float:
    """The IoD exponential transformation of a scaled rank.

    Parameters
    ----------
    r : Series, array or float
        Scaled rank ``R = rank / N`` in (0, 1], 1 for the worst area.

    Returns
    -------
    Series, array or float
        ``X = -23 ln(1 - R (1 - exp(-100 / 23)))``, from 0 (``R -> 0``) to 100
        (``R = 1``).
    """
    c = EXP_CONSTANT
    return -c * np.log(1.0 - r * (1.0 - np.exp(-100.0 / c)))


def rank_exp(s: pd.Series) -> pd.Series:
    """Rank areas (highest value = highest rank) and apply the IoD exponential transform.

    Parameters
    ----------
    s : Series
        Values, higher = worse. ``+inf`` / ``-inf`` are allowed and ranked as
        the worst / best.

    Returns
    -------
    Series
        ``X = -23 ln(1 - R (1 - exp(-100/23)))`` with ``R = rank / N``, where
        ``rank`` is 1 for the lowest value and ``N`` for the highest (ties get
        the average of their ranks) and ``N`` is the number of non-missing
        values. Exactly 100 for the worst area and about ``22.7 / N`` for the
        best; NaN stays NaN.

    Notes
    -----
    Source: the exponential transformation used to combine the domains of the
    English Indices of Deprivation (McLennan et al., *The English Indices of
    Deprivation 2019: Technical Report*, MHCLG 2019; the same transformation is
    used in the IoD 2025). Applied to the published IoD 2025 domain ranks and
    combined with the IMD domain weights it reproduces the published IMD 2025
    scores to the published three decimals (see ``tests/test_index.py``).
    """
    x = _as_float(s, allow_inf=True)
    n = int(x.notna().sum())
    if n == 0:
        return pd.Series(np.nan, index=x.index, name=x.name, dtype="float64")
    if n > 1 and x.dropna().nunique() == 1:
        logger.warning("rank_exp: %r is constant; every area gets the same value", x.name)
    rank = x.rank(method="average", ascending=True, na_option="keep")
    out = exp_transform(rank / n)
    return out.rename(x.name)


def zscore(s: pd.Series) -> pd.Series:
    """Standardise to mean 0 and (population) standard deviation 1.

    Parameters
    ----------
    s : Series
        Finite values, higher = worse.

    Returns
    -------
    Series
        ``(x - mean) / sd`` with ``sd`` the population standard deviation
        (``ddof=0``) of the non-missing values. A constant input gives 0
        everywhere (and a warning). NaN stays NaN.
    """
    x = _as_float(s, allow_inf=False)
    valid = x.dropna()
    if valid.empty:
        return x
    x, valid = _rescaled(x, valid)
    sd = float(valid.std(ddof=0))
    mean = float(valid.mean())
    if sd == 0.0:
        logger.warning("zscore: %r is constant; every area gets 0", x.name)
        return (x - mean).rename(x.name)
    return ((x - mean) / sd).rename(x.name)


def minmax(s: pd.Series) -> pd.Series:
    """Rescale linearly to 0 (lowest value) .. 100 (highest value).

    Parameters
    ----------
    s : Series
        Finite values, higher = worse.

    Returns
    -------
    Series
        ``100 (x - min) / (max - min)`` over the non-missing values. A constant
        input gives 50 everywhere (and a warning). NaN stays NaN.
    """
    x = _as_float(s, allow_inf=False)
    valid = x.dropna()
    if valid.empty:
        return x
    x, valid = _rescaled(x, valid)
    lo, hi = float(valid.min()), float(valid.max())
    if hi == lo:
        logger.warning("minmax: %r is constant; every area gets 50", x.name)
        return x.where(x.isna(), 50.0).rename(x.name)
    return (100.0 * (x - lo) / (hi - lo)).rename(x.name)


_FUNCS = {"rank_exp": rank_exp, "zscore": zscore, "minmax": minmax}


def apply_direction(s: pd.Series, direction: str = "higher_is_worse") -> pd.Series:
    """Orient values so that higher = worse.

    Parameters
    ----------
    s : Series
        Values.
    direction : {"higher_is_worse", "lower_is_worse"}
        ``"lower_is_worse"`` negates the values; ``"higher_is_worse"`` keeps them.

    Returns
    -------
    Series
        Float values, higher = worse.
    """
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction must be higher_is_worse or lower_is_worse, "
                          f"not {direction!r}")
    x = _as_float(s, allow_inf=True)
    return -x if direction == "lower_is_worse" else x


def normalise(s: pd.Series, method: str = "rank_exp",
              direction: str = "higher_is_worse") -> pd.Series:
    """Apply the direction, then a normalisation method.

    Parameters
    ----------
    s : Series
        Raw values, one per area.
    method : {"rank_exp", "zscore", "minmax"}
        See the module docstring.
    direction : {"higher_is_worse", "lower_is_worse"}
        Which end of the raw scale is worse.

    Returns
    -------
    Series
        Normalised values aligned to ``s.index``, higher = worse, NaN where
        ``s`` is NaN.
    """
    if method not in _FUNCS:
        raise ConfigError(f"normalisation must be rank_exp, zscore or minmax, not {method!r}")
    return _FUNCS[method](apply_direction(s, direction))
