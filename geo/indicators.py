"""The IoD2025 underlying indicators, and which reader reads which indicator table.

The IoD2025 release publishes, besides the domain scores, the indicators the
domains are built from (one row per LSOA 2021 in England): mental health,
comparative illness and disability ratio, adult skills and English language
proficiency, broadband speeds, patient to GP ratio, crime rates, housing
affordability, overcrowding ... :func:`read_iod_indicators` keeps every column
(names in lower case with ``_``) and adds short aliases for the ones the
loneliness score uses (:data:`INDICATOR_ALIASES`), each with its direction in
:data:`INDICATOR_DIRECTIONS`.

:func:`detect_indicator_kind` and :data:`READERS` are the dispatcher's table
of the layouts recognised beyond File 7 and TS011 (see :mod:`geo.tables`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from geo.census_tables import is_nomis, is_ts038, is_ts054, read_nomis, read_ts038, read_ts054
from geo.csvtable import numeric_columns, read_header, read_table
from geo.imd_tidy import code_column_of, code_year_of, is_tidy_imd, read_imd, slug
from geo.join import index_by_code
from geo.wimd import first_codes, is_wimd, read_wimd
from socialrisk.core.errors import InputError, shown

log = logging.getLogger(__name__)

#: alias -> the IoD2025 indicator column (its name in lower case with ``_``).
INDICATOR_ALIASES: dict[str, str] = {
    "english_proficiency": "adult_skills_and_english_language_proficiency_indicator",
    "illness_disability_ratio": "comparative_illness_and_disability_ratio_indicator",
    "mental_health": "mental_health_indicator",
    "broadband": "digital_connectivity_broadband_download_and_upload_speeds",
    "patient_gp_ratio": "patient_to_gp_ratio",
}

#: alias -> direction. Checked on the shared IoD2025 files (33,755 LSOAs 2021, Spearman's
#: rho against the published IoD2025 domain scores, where higher = more deprived):
INDICATOR_DIRECTIONS: dict[str, str] = {
    # share of adults with low or no qualifications / poor English; rho = +0.93 with Education_score
    "english_proficiency": "higher_is_worse",
    # CIDR: benefit claimants for illness or disability per expected; rho = +0.95 with Health_score
    "illness_disability_ratio": "higher_is_worse",
    # mood/anxiety prescribing, admissions, suicides (a z-score); rho = +0.86 with Health_score
    "mental_health": "higher_is_worse",
    # z-score oriented so higher = slower broadband; rho = +0.36 with Housing_and_Services_score
    # (England) and +0.66 with the geographical barriers sub-domain (Isle of Wight, File 7)
    "broadband": "higher_is_worse",
    # registered patients per GP (more = scarcer GPs); rho = +0.31 with Housing_and_Services_score
    "patient_gp_ratio": "higher_is_worse",
}

#: The evidence behind each direction, in words (for the run report and docs/method.md).
INDICATOR_EVIDENCE: dict[str, str] = {
    "english_proficiency": "Spearman rho +0.93 with the IoD2025 Education domain score",
    "illness_disability_ratio": "Spearman rho +0.95 with the IoD2025 Health domain score",
    "mental_health": "Spearman rho +0.86 with the IoD2025 Health domain score",
    "broadband": "Spearman rho +0.36 with the IoD2025 Barriers to Housing and Services score "
                 "(+0.66 with its geographical barriers sub-domain on the Isle of Wight)",
    "patient_gp_ratio": "Spearman rho +0.31 with the IoD2025 Barriers to Housing and "
                        "Services score",
}


def is_iod_indicators(header: list[str]) -> bool:
    """True when at least two of the aliased IoD indicators are columns of an LSOA table."""
    slugs = {slug(c) for c in header}
    return bool(code_column_of(header)) and len(set(INDICATOR_ALIASES.values()) & slugs) >= 2


def read_iod_indicators(path: str | Path) -> pd.DataFrame:
    """Read the IoD2025 underlying indicators: every column, plus the short aliases.

    Returns
    -------
    DataFrame
        Indexed by LSOA code (index name ``"lsoa_code"``): the aliases of
        :data:`INDICATOR_ALIASES` that are present (copies of their columns;
        units as published: shares, ratios, z-scores, patients per GP), then
        every numeric column of the file under its name in lower case with
        ``_`` (e.g. ``mental_health_indicator``). Directions:
        :data:`INDICATOR_DIRECTIONS`. ``df.attrs``: ``source``, ``code_column``,
        ``code_year``, ``n_rows``, ``renamed`` (original -> tidy, where changed),
        ``aliases``.

    Raises
    ------
    InputError
        No LSOA code column, or none of the aliased indicators.
    """
    p = Path(path)
    header = read_header(p)
    code_col = code_column_of(header)
    if not code_col or not is_iod_indicators(header):
        raise InputError(f"{p.name} is not a table of IoD2025 indicators: it needs an LSOA code "
                         f"column and indicators such as mental_health_indicator and "
                         f"patient_to_gp_ratio (it starts "
                         f"{', '.join(shown(h) for h in header[:4])}); set kind = \"table\"")
    df = read_table(p, keep_text=[code_col])
    body, _ = index_by_code(df, code_col, p.name)
    nums = numeric_columns(body)
    left_out = [c for c in body.columns if c not in nums and body[c].notna().any()]
    if left_out:
        log.warning("%s: text columns left out: %s", p.name, ", ".join(map(shown, left_out[:5])))
    renamed: dict[str, str] = {}
    used: set[str] = set()
    for col in nums:
        name = slug(col) or col
        if name in used:
            raise InputError(f"{p.name}: columns {shown(col)} and another give the same name "
                             f"{shown(name)}; rename one of them")
        used.add(name)
        if name != col:
            renamed[col] = name
    tidy = body[nums].rename(columns=renamed).astype("float64")
    aliases = {a: c for a, c in INDICATOR_ALIASES.items() if c in tidy.columns}
    out = pd.concat([tidy[list(aliases.values())].set_axis(list(aliases), axis=1), tidy], axis=1)
    out.index.name = "lsoa_code"
    out.attrs.update(source=str(p), code_column=code_col, code_year=code_year_of(code_col),
                     n_rows=len(df), renamed=renamed, aliases=aliases)
    log.info("read IoD indicators from %s: %d LSOAs, %d indicators (%d aliased)", p.name,
             len(out), len(nums), len(aliases))
    return out


# --------------------------------------------------------------------------- dispatch

#: kind -> reader of the layouts recognised besides File 7 and TS011.
READERS: dict[str, Callable[[str | Path], pd.DataFrame]] = {
    "ts038": read_ts038, "ts054": read_ts054, "nomis": read_nomis,
    "iod_indicators": read_iod_indicators, "imd": read_imd, "wimd": read_wimd,
}


def detect_indicator_kind(path: str | Path, header: list[str] | None = None) -> str:
    """``ts038``, ``ts054``, ``nomis``, ``iod_indicators``, ``wimd``, ``imd`` or ``""``.

    Tried in that order on the header (and, for a tidy IMD table, on its first
    codes: Welsh codes make it WIMD).
    """
    header = read_header(path) if header is None else header
    if is_ts038(header):
        return "ts038"
    if is_ts054(header):
        return "ts054"
    if is_nomis(header):
        return "nomis"
    if is_iod_indicators(header):
        return "iod_indicators"
    if is_tidy_imd(header):
        return "wimd" if is_wimd(header, first_codes(path)) else "imd"
    return ""


__all__ = ["INDICATOR_ALIASES", "INDICATOR_DIRECTIONS", "INDICATOR_EVIDENCE", "READERS",
           "detect_indicator_kind", "is_iod_indicators", "read_iod_indicators"]
