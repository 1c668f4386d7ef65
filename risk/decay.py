"""Distance-decay functions: plain callables ``f(d) -> weight`` with ``f(0) = 1``.

Every function is vectorised (scalars or arrays of metres), returns float64,
maps ``inf`` to 0 and keeps ``NaN`` as ``NaN``. Negative distances are refused.

============  ================================================  ==================
name          formula                                           f(scale or limit)
============  ================================================  ==================
gaussian      exp(-d^2 / (2 s^2))                               0.6065
exponential   exp(-d / s)                                       0.3679
linear        max(0, 1 - d / L)                                 0
step          1 if d <= L else 0                                1
zones         w_i for the first break b_i with d <= b_i, else 0  --
============  ================================================  ==================

The Gaussian is the unnormalised kernel used by PySAL ``access``
(``access.weights.gaussian(sigma)``), so results compare one to one. ``zones``
reproduces the stepped weights of Luo & Qi (2009), *An enhanced two-step
floating catchment area (E2SFCA) method*, Health & Place 15(4): 1.00, 0.68 and
0.22 for three travel-time zones (0-10, 10-20, 20-30 min in the paper); breaks
are inclusive at their upper end as in ``access.weights.step_fn``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Decay = Callable[[np.ndarray | float], np.ndarray | float]

#: Luo & Qi (2009) E2SFCA zone weights
LUO_QI_WEIGHTS = (1.0, 0.68, 0.22)


def _dist(d) -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    if np.any(d < 0):
        raise ValueError("distances must be >= 0")
    return d


def _out(d_in, values: np.ndarray):
    return values if np.ndim(d_in) else float(values)


def _check(value: float, name: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number greater than 0, not {value!r}")
    return value


def gaussian(scale: float) -> Decay:
    """Gaussian decay ``exp(-d**2 / (2 * scale**2))`` (``scale`` = sigma, metres)."""
    s = _check(scale, "scale")

    def f(d):
        x = _dist(d)
        return _out(d, np.exp(-(x * x) / (2.0 * s * s)))

    f.__name__ = f"gaussian({s:g})"
    return f


def exponential(scale: float) -> Decay:
    """Negative exponential decay ``exp(-d / scale)`` (``scale`` in metres)."""
    s = _check(scale, "scale")

    def f(d):
        x = _dist(d)
        return _out(d, np.exp(-x / s))

    f.__name__ = f"exponential({s:g})"
    return f


def linear(limit: float) -> Decay:
    """Linear decay ``max(0, 1 - d / limit)``: 1 at the item, 0 at ``limit`` and beyond."""
    s = _check(limit, "limit")

    def f(d):
        x = _dist(d)
        with np.errstate(invalid="ignore"):
            v = np.clip(1.0 - x / s, 0.0, None)
        return _out(d, np.where(np.isnan(x), np.nan, v))

    f.__name__ = f"linear({s:g})"
    return f


def step(limit: float) -> Decay:
    """Step (cumulative opportunities): 1 when ``d <= limit``, else 0."""
    s = _check(limit, "limit")

    def f(d):
        x = _dist(d)
        return _out(d, np.where(np.isnan(x), np.nan, (x <= s).astype(np.float64)))

    f.__name__ = f"step({s:g})"
    return f


def zones(breaks: Sequence[float], weights: Sequence[float] = LUO_QI_WEIGHTS) -> Decay:
    """Stepped zone weights (E2SFCA, Luo & Qi 2009).

    Parameters
    ----------
    breaks : sequence of float
        Increasing upper bounds of the zones in metres (inclusive).
    weights : sequence of float
        Weight of each zone; the first must be 1 so that ``f(0) = 1``. Defaults
        to Luo & Qi's 1.00, 0.68, 0.22.

    Returns
    -------
    callable
        ``f(d) = weights[i]`` for the first ``i`` with ``d <= breaks[i]``; 0 beyond the last.
    """
    b = np.asarray(breaks, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if b.ndim != 1 or b.size == 0 or b.shape != w.shape:
        raise ValueError("breaks and weights must be non-empty and of the same length")
    if np.any(np.diff(b) <= 0) or b[0] <= 0:
        raise ValueError("breaks must be increasing and greater than 0")
    if w[0] != 1.0 or np.any(w < 0):
        raise ValueError("the first zone weight must be 1 and no weight may be negative")
    w0 = np.append(w, 0.0)

    def f(d):
        x = _dist(d)
        i = np.searchsorted(b, np.nan_to_num(x, nan=0.0), side="left")
        return _out(d, np.where(np.isnan(x), np.nan, w0[i]))

    f.__name__ = "zones(" + ", ".join(f"{bb:g}:{ww:g}" for bb, ww in zip(b, w, strict=True)) + ")"
    return f


def make_decay(kind: str, scale: float) -> Decay:
    """Decay by name, as in ``Settings.decay`` / ``Settings.decay_scale_m``.

    ``"gaussian"`` and ``"exponential"`` use ``scale`` as their scale,
    ``"linear"`` and ``"step"`` as their limit.
    """
    makers = {"gaussian": gaussian, "exponential": exponential, "linear": linear, "step": step}
    if kind not in makers:
        raise ValueError(f"decay must be one of {sorted(makers)}, not {kind!r}")
    return makers[kind](scale)
