"""The data dictionary: every output column in plain words, its unit, how it is computed.

One place for what ``areas.csv`` / ``areas.gpkg`` and ``amenities.gpkg`` hold:
:func:`describe_column` gives a column's label, unit and description;
:func:`column_info` the whole entry (also its source and how ``areas.csv``
rounds it, :func:`round_for_csv`). ``docs/columns.md`` is generated from here::

    python -m socialrisk.columns > docs/columns.md

Labels for the counts within a distance say what they are: population-weighted
*means* over an area's homes (``gp_count_800m`` = 0.35 means "on average 0.35
GP surgeries within 800 m"), so :func:`describe_column` calls them "Average
number of GP surgeries within 800 m".
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from risk.drivers import DEFAULT_LABELS, category_label, plural_label
from socialrisk.columns_data import (
    ACCESS_PATTERNS,
    AMENITY_COLUMNS,
    AREA_FIXED,
    AREAS,
    CENSUS,
    COMPUTED,
    INDEX_DOMAINS,
    IOD,
    IOD_DOMAINS,
    IOD_IND,
    OSM,
    ROUNDING,
    SCORE_PARTS,
    ColumnInfo,
)
from socialrisk.columns_data import (
    c as _c,
)
from socialrisk.core import schema

__all__ = ["ROUNDING", "ColumnInfo", "column_info", "describe_column", "format_latlon",
           "markdown", "round_for_csv"]


def _labels(cat: str, labels: Mapping[str, str] | None) -> dict[str, str]:
    one = category_label(cat, labels)
    kind = one.split(" ", 1)[1] if one.lower().startswith(("a ", "an ")) else one
    return {"one": one, "kind": kind, "many": plural_label(one)}


def _score_name(base: str) -> str | None:
    """Words for a score column (without suffix), or None when it is not a score."""
    if base == schema.ISOLATION_RISK:
        return "Isolation risk"
    if base == schema.LONELINESS_RISK:
        return "Loneliness risk"
    if base.startswith("risk_") and len(base) > 5:
        return f"Risk for {base[5:].replace('_', ' ')}"
    return None


def _score(name: str) -> ColumnInfo | None:
    for suffix, kind, unit, label, meaning in SCORE_PARTS:
        if name.endswith(suffix) and (s := _score_name(name[: -len(suffix)])) is not None:
            return _c(label.format(s=s), unit, meaning, "", COMPUTED, kind)
    if name.endswith(schema.STANDARD_PASS_SUFFIX):
        std = name[: -len(schema.STANDARD_PASS_SUFFIX)].replace("_", " ")
        return _c(f"Meets the standard: {std}", "yes/no", f"Whether the area meets the "
                  f"walking-distance standard '{std}' (data/standards.toml): the nearest "
                  "place of every kind it names is within its distance, on average over the "
                  "area's homes; empty when unknown.", "", COMPUTED, "text")
    s = _score_name(name)
    if s is not None:
        what = ("structural isolation risk: access to everyday places on foot, with the "
                "deprivation and population make-up that make distance matter"
                if name == schema.ISOLATION_RISK else
                "risk of loneliness from published risk factors (health, income, housing)"
                if name == schema.LONELINESS_RISK else
                f"isolation risk seen through the {name[5:].replace('_', ' ')} lens "
                "(data/lenses)")
        return _c(f"{s} score (0-100, higher = more risk)", "score (0-100)",
                  f"The {what}.", "Weighted mean of the domain scores (docs/method.md 5); "
                  "relative to the run's areas.", COMPUTED, "score")
    return None


def _domain(name: str) -> ColumnInfo | None:
    m = re.fullmatch(r"(?P<d>.+)_(?P<part>score|rank|decile)", name)
    if m is None:
        return None
    d, part = m["d"], m["part"]
    if d in IOD_DOMAINS:
        words, unit = IOD_DOMAINS[d]
        region = "Wales" if d in ("wimd", "access_to_services") else "England"
        if part == "score":
            return _c(f"{words} score", unit, f"{words}: the published score.", "", IOD,
                      "published")
        return _c(f"{words} {part} in {region} (1 = most deprived)",
                  "rank" if part == "rank" else "decile (1-10)",
                  f"{words}: {'rank' if part == 'rank' else 'decile'} among all areas of "
                  f"{region}, 1 = most deprived.", "", IOD, "whole")
    if part != "score":
        return None
    if d.startswith(schema.LONELINESS_PREFIX):
        sub = d[len(schema.LONELINESS_PREFIX):].replace("_", " ")
        return _c(f"Loneliness risk: {sub} domain (0-100)", "score (0-100)",
                  f"The {sub} domain of the loneliness score, higher = more risk.",
                  "Indicators normalised to 0-100 and averaged (docs/method.md 5).",
                  COMPUTED, "score")
    words = INDEX_DOMAINS.get(d, d.replace("_", " "))
    return _c(f"{d.replace('_', ' ').capitalize()} domain score (0-100)", "score (0-100)",
              f"Isolation risk's domain of {words}, higher = more risk.",
              "Indicators normalised to 0-100 and averaged (docs/method.md 5).", COMPUTED,
              "score")


def _iod_indicator(name: str) -> ColumnInfo | None:
    """The IoD2025 underlying indicators, kept under their published names (lower case)."""
    words = name.replace("_", " ")
    if name.endswith("_numerator"):
        return _c(f"IoD2025: {words}", "people", "Count of people the IoD domain or "
                  "sub-domain rate is built on.", "", IOD_IND, "published")
    m = re.fullmatch(r"(.+)_rate_per_1_000_(.+)", name)
    if m:
        return _c(f"{m[1].replace('_', ' ').capitalize()} per 1,000", "rate per 1,000",
                  f"IoD2025 crime or housing indicator: {words}.", "", IOD_IND, "published")
    if name.endswith(("_indicator", "_indicator_rooms", "_indicator_bedrooms")) \
            or name in ("patient_to_gp_ratio", "core_homelessness_rate_percent_of_households",
                        "digital_connectivity_broadband_download_and_upload_speeds"):
        return _c(f"IoD2025: {words}", "as published", f"IoD2025 underlying indicator "
                  f"'{words}' (see the IoD2025 technical report).", "", IOD_IND, "published")
    m = re.fullmatch(r"(ts\d{3})_(.+)_share", name)
    if m:
        return _c(f"{m[1].upper()}: share {m[2].replace('_', ' ')}", "share (0-1)",
                  f"Census 2021 table {m[1].upper()}: share of the table's total in the "
                  f"category '{m[2].replace('_', ' ')}'.", "", CENSUS, "share")
    return None


def _population(name: str) -> ColumnInfo | None:
    if name.endswith("_population") and name != schema.POPULATION:
        group = name[: -len("_population")].replace("_", " ")
        return _c(f"People in the group: {group}", "people", f"Head count of the {group} "
                  "lens group in the area (an estimate where it is a share times the "
                  "population).", "See the lens file in data/lenses.", IOD + "; " + CENSUS,
                  "count")
    return None


def column_info(name: str, labels: Mapping[str, str] | None = None,
                layer: str = "areas") -> ColumnInfo | None:
    """The data-dictionary entry of an output column, or None when it has none.

    Parameters
    ----------
    name : str
        Column name, e.g. ``"gp_count_800m"``.
    labels : mapping, optional
        Category -> label from the run's taxonomy (``{"gp": "GP surgery"}``).
    layer : {"areas", "amenities"}
        Which output the column belongs to.
    """
    if layer == "amenities":
        return AMENITY_COLUMNS.get(name)
    if name == "geometry":
        return _c("Boundary", "", "The area's polygon, EPSG:4326 (GeoPackage only).", "",
                  AREAS, "text")
    if name in AREA_FIXED:
        return AREA_FIXED[name]
    for finder in (_score, _domain, _population, _iod_indicator):
        if (info := finder(name)) is not None:
            return info
    for pattern, kind, unit, label, meaning, method in ACCESS_PATTERNS:
        m = re.fullmatch(pattern, name)
        if m:
            w = {**_labels(m["cat"], labels), "d": m.groupdict().get("d") or ""}
            return _c(label.format(**w), unit, meaning.format(**w), method, OSM, kind)
    return None


def describe_column(name: str, labels: Mapping[str, str] | None = None,
                    layer: str = "areas") -> tuple[str, str, str]:
    """``(label, unit, description)`` of an output column, in plain words.

    Examples
    --------
    >>> describe_column("gp_count_800m")[:2]
    ('Average number of GP surgeries within 800 m', 'places (average)')
    >>> describe_column("transit_stop_walk_min")[0]
    'Walk to the nearest bus stop, station or ferry terminal (min)'

    A column without an entry gets its name in words and an empty unit.
    """
    info = column_info(name, labels, layer)
    if info is None:
        return name.replace("_", " ").capitalize(), "", ""
    return info.label, info.unit, info.description


# ---------------------------------------------------------------- CSV rounding

def _significant(v: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(v)))
    mag = np.where(np.isfinite(mag), mag, 0)
    scale = 10.0 ** (digits - 1 - mag)
    return np.where(np.isfinite(v) & (v != 0), np.round(v * scale) / scale, v)


_DECIMALS = {"metres": 0, "minutes": 1, "share": 3, "score": 2, "count": 2}


def round_for_csv(frame: pd.DataFrame, labels: Mapping[str, str] | None = None
                  ) -> pd.DataFrame:
    """A copy of ``frame`` rounded for reading (:data:`ROUNDING`); other columns unchanged.

    Metres to 1 m, minutes to 0.1, shares to 0.001, scores and averages of counts to
    0.01, gravity/E2SFCA to 4 significant digits, ranks, deciles and head counts as
    whole numbers (nullable integers, so no ``.0``). Infinity (unreachable) stays.
    """
    out = frame.copy()
    for col in out.columns:
        info = column_info(str(col), labels)
        if info is None or not pd.api.types.is_numeric_dtype(out[col]) \
                or pd.api.types.is_bool_dtype(out[col]):
            continue
        v = out[col].to_numpy(dtype="float64", na_value=np.nan)
        if info.kind in _DECIMALS:
            out[col] = np.round(v, _DECIMALS[info.kind])
        elif info.kind == "index":
            out[col] = _significant(v, 4)
        elif info.kind == "whole":
            finite = np.isfinite(v)
            if np.isinf(v).any() or np.any(np.abs(v[finite] - np.round(v[finite])) > 1e-9):
                out[col] = np.round(v)
            else:
                out[col] = pd.array(np.round(v), dtype="Int64")  # NaN -> <NA>
    return out


# ---------------------------------------------------------------- words


def format_latlon(lat: float, lon: float, decimals: int = 3) -> str:
    """``50.642 N, 1.356 W``: a location in degrees with the hemisphere, not a sign.

    Examples
    --------
    >>> format_latlon(50.64205, -1.35600)
    '50.642 N, 1.356 W'
    """
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return "unknown location"
    return (f"{abs(lat):.{decimals}f} {'N' if lat >= 0 else 'S'}, "
            f"{abs(lon):.{decimals}f} {'E' if lon >= 0 else 'W'}")


# ---------------------------------------------------------------- docs/columns.md

_CAT = "<category>"
_DOC_PATTERNS = [f"{_CAT}_nearest_m", f"{_CAT}_walk_min", f"{_CAT}_walk_min_slow",
                 f"{_CAT}_count_<t>m", f"{_CAT}_share_beyond_<t>m",
                 f"{_CAT}_unreachable_share", f"{_CAT}_gravity", f"{_CAT}_e2sfca",
                 f"{_CAT}_wheelchair_nearest_m"]
_DOC_SCORES = [schema.ISOLATION_RISK, schema.LONELINESS_RISK, "risk_<lens>"]


def _doc_info(name: str) -> ColumnInfo:
    """Entry for a documented pattern name (``<category>`` and ``<t>`` placeholders)."""
    probe = (name.replace(_CAT, "x_cat").replace("<t>", "800").replace("<lens>", "lens_x")
             .replace("<standard>", "standard_x"))
    info = column_info(probe, {"x_cat": "place of the kind"})
    assert info is not None, name
    swap = (("800 m", "<t> m"), ("lens x", "<lens>"), ("standard x", "<standard>"))
    if "<t>" not in name:
        swap = swap[1:]

    def fix(t: str) -> str:
        for a, b in swap:
            t = t.replace(a, b)
        return t.replace("places of the kinds", "places of the kind")
    return ColumnInfo(fix(info.label), info.unit, fix(info.meaning), fix(info.method),
                      info.source, info.kind)


def _row(name: str, info: ColumnInfo, csv: bool = True) -> str:
    cells = [f"`{name}`", info.label, info.unit or "-", info.description or "-", info.source,
             *([ROUNDING[info.kind]] if csv else [])]
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def _table(names: Iterable[str], info: Callable[[str], ColumnInfo], csv: bool = True
           ) -> list[str]:
    head = ["| Column | Label | Unit | Meaning and how computed | Source |"
            + (" In areas.csv |" if csv else ""), "|" + " --- |" * (6 if csv else 5)]
    return head + [_row(n, info(n), csv) for n in names]


def markdown() -> str:
    """The text of ``docs/columns.md``."""
    def fixed(n: str) -> ColumnInfo:
        info = column_info(n)
        assert info is not None, n
        return info
    base = [schema.AREA_ID, schema.AREA_NAME, schema.POPULATION, "n_origins", "origin_weight",
            "geometry"]
    score_rows = [*_DOC_SCORES, *[f"{s}{p[0]}" for s in _DOC_SCORES for p in SCORE_PARTS]]
    domains = ["access_score", "deprivation_score", "demographic_score",
               "loneliness_health_score", "loneliness_housing_score",
               "loneliness_income_score"]
    iod = [f"{d}_{p}" for d in IOD_DOMAINS for p in ("score", "rank", "decile")]
    context = [n for n in AREA_FIXED if n not in base and n != schema.STANDARDS_FAILED]
    cats = "\n".join(f"| `{k}` | {_labels(k, None)['kind']} | {_labels(k, None)['many']} |"
                     for k in DEFAULT_LABELS)
    lines = [
        "# Output columns",
        "",
        "Generated from `socialrisk/columns.py` by `python -m socialrisk.columns > "
        "docs/columns.md`; do not edit by hand (a test checks it is up to date). The same "
        "descriptions are written into `areas.gpkg` and `amenities.gpkg` (table "
        "`gpkg_data_columns`, shown by QGIS as field comments).",
        "",
        "Which columns a run has depends on its inputs: the access columns exist for every "
        "kind of place of the taxonomy, the deprivation and census columns for the tables "
        "given with `--deprivation`, the lens columns with `--lens`, the uncertainty "
        "columns with `--uncertainty`, the hot-spot columns with `--hotspots`.",
        "",
        "## Rounding in areas.csv",
        "",
        "`areas.csv` is rounded for reading; `areas.gpkg` keeps full precision. Distances "
        "to the metre, minutes to 0.1, shares (0-1) to 0.001, scores and averages of counts "
        "to 0.01, gravity and E2SFCA access to 4 significant digits, ranks, deciles and "
        "head counts as whole numbers; published IoD values as published. "
        "`inf` means unreachable on foot; an empty cell means no value.",
        "",
        "Averages of counts: `<category>_count_<t>m` is the number of places within "
        "<t> m of each home, averaged over the area's homes weighted by population, so it "
        "is usually not a whole number (4.86 = on average almost five places within reach).",
        "",
        "## areas.csv and areas.gpkg (layer `areas`)",
        "",
        "### The area", "", *_table(base, fixed), "",
        "### Access on foot, per kind of place", "",
        "One set per kind of place (`<category>`, see below) and distance (`<t>`: 400, 800 "
        "and 1200 m by default; `share_beyond` at 800 m). E2SFCA only for the kinds with a "
        "capacity; the wheelchair column only with a lens that filters on the tag.", "",
        *_table(_DOC_PATTERNS, _doc_info), "",
        "Kinds of place of the default taxonomy (`data/taxonomy.toml`):", "",
        "| `<category>` | Label | Plural |", "| --- | --- | --- |", cats, "",
        "### Scores", "",
        "For `isolation_risk`, `loneliness_risk` and each lens `risk_<lens>` "
        "(`--lens`, e.g. `risk_older_people`).", "",
        *_table(score_rows, _doc_info), "",
        "### Domain scores", "", *_table(domains, fixed), "",
        "### Walking-distance standards", "",
        *_table(["<standard>_pass", schema.STANDARDS_FAILED], _doc_info), "",
        "`<standard>` is a name of `data/standards.toml` (e.g. `local_services_800m`) or of "
        "the run's configuration.", "",
        "Other `<domain>_score` columns are the domains of a configured index.", "",
        "### Deprivation, population and census", "",
        *_table(context, fixed), _row("<lens>_population", _doc_info("<lens>_population")), "",
        "### Indices of Deprivation: scores, ranks and deciles", "", *_table(iod, fixed), "",
        "### IoD2025 underlying indicators", "",
        "The IoD2025 indicators file (`--deprivation iod2025_indicators_lsoa21.csv`) adds "
        "every column of the file under its published name in lower case with `_`: "
        "`*_numerator` (people), `*_rate_per_1_000_*` (rates per 1,000), `*_indicator` and "
        "the other indicators (as published; see the IoD2025 technical report). A Census "
        "table in the Nomis bulk layout adds `ts<nnn>_<category>_share` (0-1).", "",
        "## amenities.gpkg (layers `amenities` and `amenity_polygons`)", "",
        *_table(list(AMENITY_COLUMNS), lambda n: column_info(n, layer="amenities"), False), "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(markdown())
