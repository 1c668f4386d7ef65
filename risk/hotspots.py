"""Hot spots of a score: local Getis-Ord Gi* or local Moran's I (PySAL ``esda``).

Where do high (or low) values of a score cluster in space, more than chance
would put them? Both statistics compare each area with its neighbours, with
queen contiguity (areas sharing an edge or a corner, ``libpysal``), weights
row-standardised, and a two-sided pseudo p-value from conditional permutations
(each area's value kept, the others' values drawn at random as its neighbours,
``permutations`` times; ``p_sim`` = 2 (shuffles at least as extreme in the
observed direction + 1) / (permutations + 1), at most 1, as esda's documentation
advises for a two-sided test; GeoDa shows the one-sided value, half of it).

* Getis-Ord Gi* (``method="gi_star"``, Getis and Ord 1992; Ord and Getis 1995):
  the weighted local sum around an area, the area included, as a z-score;
  significant and positive = "hot spot", significant and negative = "cold spot".
* Local Moran's I (``method="moran"``, Anselin 1995): the product of an area's
  deviation from the mean with its neighbours' average deviation; significant
  areas are labelled by quadrant: "high-high", "low-low" (clusters),
  "high-low", "low-high" (outliers).

An area with no neighbour (an island) or no value gets NaN and the label
"no neighbours" or "no value"; the returned frame's ``attrs["note"]`` says how
many. The p-values are not corrected for multiple testing (as in GeoDa's maps):
with 89 areas and ``alpha = 0.05`` about 4 areas are flagged by chance alone.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialrisk.core.errors import ConfigError, InputError

log = logging.getLogger(__name__)

__all__ = ["METHODS", "hotspots"]

METHODS = ("gi_star", "moran")
NOT_SIGNIFICANT = "not significant"
NO_NEIGHBOURS = "no neighbours"
NO_VALUE = "no value"
_QUADRANTS = {1: "high-high", 2: "low-high", 3: "low-low", 4: "high-low"}


def _geoms(gdf_or_geoms: Any) -> gpd.GeoSeries:
    if isinstance(gdf_or_geoms, gpd.GeoDataFrame):
        return gdf_or_geoms.geometry
    if isinstance(gdf_or_geoms, gpd.GeoSeries):
        return gdf_or_geoms
    return gpd.GeoSeries(list(gdf_or_geoms))


def _two_sided(p_directed: Any) -> np.ndarray:
    """esda's one-sided pseudo p-value (observed direction) made two-sided: doubled, at most 1."""
    return np.minimum(1.0, 2.0 * np.asarray(p_directed, dtype="float64"))


def _queen(geoms: gpd.GeoSeries):
    """Queen contiguity of ``geoms`` (positions 0..n-1); libpysal's island warnings silenced."""
    from libpysal.weights import Queen  # PySAL takes ~2 s to import: only when asked for

    frame = gpd.GeoDataFrame(geometry=geoms.reset_index(drop=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return Queen.from_dataframe(frame, use_index=False)


def hotspots(gdf_or_geoms: gpd.GeoDataFrame | gpd.GeoSeries | Sequence[Any],
             values: pd.Series | Sequence[float], *, method: str = "gi_star",
             permutations: int = 999, alpha: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Local hot spots (Gi*) or clusters and outliers (local Moran's I) of ``values``.

    Parameters
    ----------
    gdf_or_geoms : GeoDataFrame, GeoSeries or sequence of polygons
        The areas; contiguity is read from their shapes (any one CRS).
    values : Series or sequence of float
        One value per area: a Series is aligned on the areas' index (an area
        it lacks has no value), anything else is taken in the areas' order.
        NaN: the area is left out (label "no value").
    method : {"gi_star", "moran"}
    permutations : int
        Conditional permutations for the pseudo p-values (at least 39, so that
        the two-sided ``p_sim`` can reach 0.05).
    alpha : float
        Significance level applied to ``p_sim`` (0 < alpha < 1).
    seed : int
        Seed of the permutations (results are reproducible).

    Returns
    -------
    DataFrame aligned to the input areas
        ``gi_star``: ``z`` (Gi* z-score), ``p_sim``, ``hotspot`` in {"hot spot",
        "cold spot", "not significant", "no neighbours", "no value"}.
        ``moran``: ``Is`` (local I), ``p_sim``, ``cluster`` in {"high-high",
        "low-low", "high-low", "low-high", "not significant", "no neighbours",
        "no value"}. ``attrs["note"]`` says what was left out ("" if nothing)
        and ``attrs["method"]`` how it was computed.

    Raises
    ------
    ConfigError
        An unknown method, ``permutations`` < 39, ``alpha`` outside (0, 1).
    InputError
        ``values`` of another length than the areas.
    """
    if method not in METHODS:
        raise ConfigError(f"hot-spot method must be gi_star or moran, not {method!r}")
    if not isinstance(permutations, (int, np.integer)) or permutations < 39:
        raise ConfigError(f"hot-spot permutations must be a whole number of at least 39, not "
                          f"{permutations!r}")
    if not 0 < alpha < 1:
        raise ConfigError(f"hot-spot alpha must be between 0 and 1, not {alpha!r}")
    geoms = _geoms(gdf_or_geoms)
    index = geoms.index
    if isinstance(values, pd.Series):  # aligned on the index: an area it lacks has no value
        y_all = pd.to_numeric(values.reindex(index), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan)
    else:
        y_all = np.asarray(values, dtype="float64")
    if len(y_all) != len(index):
        raise InputError(f"hot spots: {len(y_all)} values for {len(index)} areas; give one "
                         f"value per area")
    stat, label = ("z", "hotspot") if method == "gi_star" else ("Is", "cluster")
    out = pd.DataFrame({stat: np.nan, "p_sim": np.nan, label: NO_VALUE}, index=index)
    valid = np.isfinite(y_all) & ~geoms.isna().to_numpy() & ~geoms.is_empty.to_numpy()
    pos = np.flatnonzero(valid)
    islands: list[int] = []
    if len(pos):
        w = _queen(geoms.iloc[pos])
        islands = [pos[i] for i in w.islands]
        if islands:  # they have no neighbour: the others' neighbours are unchanged without them
            out.iloc[islands, out.columns.get_loc(label)] = NO_NEIGHBOURS
            pos = np.array([p for p in pos if p not in set(islands)], dtype=int)
            w = _queen(geoms.iloc[pos]) if len(pos) else None
    notes = []
    if (~valid).any():
        notes.append(f"{int((~valid).sum())} area(s) without a value or shape: left out "
                     f"(\"{NO_VALUE}\")")
    if islands:
        notes.append(f"{len(islands)} area(s) with no neighbour (islands): no statistic "
                     f"(\"{NO_NEIGHBOURS}\")")
    if len(pos) >= 3 and np.ptp(y_all[pos]) > 0:
        import esda  # PySAL takes ~2 s to import: only when hot spots are asked for
        from libpysal.weights import fill_diagonal

        y = y_all[pos]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # esda's p_sim is one-sided in the observed direction ("directed"); it warns that
            # its default will become two-sided, which is what is reported here (doubled)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)  # libpysal: "not fully connected"
            if method == "gi_star":
                # Gi*: the area counts as its own neighbour (self-weight 1 before the
                # row-standardisation, so 1 / (k + 1) after, as Ord and Getis 1995)
                g = esda.G_Local(y, fill_diagonal(w, 1.0), transform="R",
                                 permutations=int(permutations), star=None, seed=seed,
                                 n_jobs=1)
                z, p = np.asarray(g.Zs, dtype="float64"), _two_sided(g.p_sim)
                lab = np.where(p > alpha, NOT_SIGNIFICANT,
                               np.where(z > 0, "hot spot", "cold spot"))
                col = pd.Series(z)
            else:
                m = esda.Moran_Local(y, w, transformation="r", permutations=int(permutations),
                                     seed=seed, n_jobs=1)
                p = _two_sided(m.p_sim)
                lab = np.array([_QUADRANTS.get(int(q), NOT_SIGNIFICANT) for q in m.q],
                               dtype=object)
                lab[p > alpha] = NOT_SIGNIFICANT
                col = pd.Series(np.asarray(m.Is, dtype="float64"))
        out.iloc[pos, out.columns.get_loc(stat)] = col.to_numpy()
        out.iloc[pos, out.columns.get_loc("p_sim")] = p
        out.iloc[pos, out.columns.get_loc(label)] = lab
    elif len(pos):
        notes.append(f"{len(pos)} area(s) with neighbours and a value, too few or all equal: "
                     f"no statistic (\"{NOT_SIGNIFICANT}\")")
        out.iloc[pos, out.columns.get_loc(label)] = NOT_SIGNIFICANT
    out.attrs["note"] = "; ".join(notes)
    out.attrs["method"] = (f"{'Getis-Ord Gi*' if method == 'gi_star' else 'local Moran I'}, "
                           f"queen contiguity, row-standardised, {permutations} conditional "
                           f"permutations (seed {seed}, drawn by esda with {_generator()}'s "
                           f"random generator), two-sided pseudo p-values, alpha "
                           f"{alpha:g}, no correction for multiple tests")
    if notes:
        log.info("hot spots: %s", out.attrs["note"])
    return out


def _generator() -> str:
    """Whose random numbers esda's permutations use: numba's when it is installed, else
    numpy's. The same seed gives different draws on the two, so borderline areas (p near
    alpha) can differ between installs; the run's method note says which was used."""
    return "numba" if importlib.util.find_spec("numba") is not None else "numpy"
