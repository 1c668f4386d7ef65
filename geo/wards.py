"""The ONS lookup LSOA (2021) -> electoral ward (2024) -> local authority district (2024).

Used to report progress towards targets per ward and per district
(:mod:`socialrisk.targets`). The file is the ONS Open Geography Portal's
lookup (``LSOA21CD, WD24CD, WD24NM, LAD24CD, LAD24NM``) or the same in tidy
names (``lsoa21_code, ward24_code, ward24_name, ltla24_code, ltla24_name``);
read with :func:`geo.csvtable.read_table` (any delimiter or encoding), codes
kept as text.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from geo.csvtable import read_table
from socialrisk.core.errors import InputError, shown

log = logging.getLogger(__name__)

#: output columns of :func:`read_ward_lookup`
WARD_COLUMNS = ("ward_code", "ward_name", "district_code", "district_name")
#: accepted names per output column (compared lower-cased), tidy first, then ONS headers
_ALIASES = {
    "lsoa21_code": ("lsoa21_code", "lsoa21cd"),
    "ward_code": ("ward24_code", "wd24cd", "ward_code"),
    "ward_name": ("ward24_name", "wd24nm", "ward_name"),
    "district_code": ("ltla24_code", "lad24cd", "district_code"),
    "district_name": ("ltla24_name", "lad24nm", "district_name"),
}


def read_ward_lookup(path: str | Path) -> pd.DataFrame:
    """The lookup as a table indexed by LSOA 2021 code.

    Parameters
    ----------
    path : path
        The lookup CSV.

    Returns
    -------
    DataFrame
        Index ``lsoa21_code``; columns ``ward_code``, ``ward_name``,
        ``district_code``, ``district_name`` (text).

    Raises
    ------
    InputError
        A missing column (named, with the accepted names), or an LSOA code
        listed twice with different wards.
    """
    names = ("lsoa21_code", *WARD_COLUMNS)
    raw = read_table(path, keep_text=[a for n in names for a in _ALIASES[n]]
                     + [a.upper() for n in names for a in _ALIASES[n]])
    lower = {str(c).strip().lower(): c for c in raw.columns}
    cols = {}
    for name in names:
        hit = next((lower[a] for a in _ALIASES[name] if a in lower), None)
        if hit is None:
            raise InputError(f"ward lookup {shown(str(path), 200)} has no column for {name} "
                             f"(one of {', '.join(_ALIASES[name])}); give the ONS LSOA 2021 -> "
                             f"ward 2024 -> LAD 2024 lookup")
        cols[name] = raw[hit].astype("string").str.strip()
    t = pd.DataFrame(cols).dropna(subset=["lsoa21_code"]).drop_duplicates()
    dup = t["lsoa21_code"].duplicated(keep=False)
    if dup.any():
        code = t.loc[dup, "lsoa21_code"].iloc[0]
        raise InputError(f"ward lookup {shown(str(path), 200)} gives LSOA {shown(code)} more "
                         f"than one ward; give a lookup with one ward per LSOA")
    log.info("ward lookup: %d LSOAs, %d wards, %d districts", len(t), t["ward_code"].nunique(),
             t["district_code"].nunique())
    return t.set_index("lsoa21_code")[list(WARD_COLUMNS)].astype(object)
