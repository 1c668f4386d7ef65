"""Deprivation tables in "tidy" layouts: any spelling of the IMD domain columns -> File 7 names.

The IoD is republished in many shapes besides File 7: one row per LSOA with
columns such as ``IMD_decile``, ``Income_score``, ``Housing_and_Services_rank``
(IoD2025 as tidied by the humaniverse ``IMD`` R package), ``Housing_and_Access``
(IoD2019), ``IMD decile``, ``imd_score`` ... This module maps every such
spelling (case, spaces, underscores and hyphens do not matter) to the tidy names
of :mod:`geo.deprivation` (``imd_score``, ``income_rank``, ``housing_decile``
...), so that the default index (``income_score``, ``health_score``,
``idaopi_score``, ...) finds its indicators whatever the source.

The same names serve the Welsh Index of Multiple Deprivation (``wales=True``,
see :mod:`geo.wimd`): the overall index is ``wimd_*``, "Community safety" is
``crime_*``, "Physical environment" ``environment_*`` and "Access to services"
``access_to_services_*``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from geo.csvtable import first_names, numeric_columns, read_header, read_table
from geo.join import index_by_code
from socialrisk.core.errors import InputError, shown

log = logging.getLogger(__name__)

#: (pattern on the slug of the domain part, tidy domain), in the order tried.
_DOMAINS: list[tuple[str, str]] = [
    (r"(index_of_multiple_deprivation(_imd)?|imd|overall)", "imd"),
    (r"(wimd|welsh_index_of_multiple_deprivation(_wimd)?)", "wimd"),
    (r"(idaci|income_deprivation_affecting_children(_index)?(_idaci)?)", "idaci"),
    (r"(idaopi|income_deprivation_affecting_older_people(_index)?(_idaopi)?)", "idaopi"),
    (r"income(_deprivation)?", "income"),
    (r"employment(_deprivation)?", "employment"),
    (r"education(_skills_and_training)?(_deprivation)?", "education"),
    (r"health(_deprivation_and_disability)?(_deprivation)?", "health"),
    (r"(crime|community_safety)", "crime"),
    (r"(barriers_to_)?housing(_and_(services|access))?(_deprivation)?", "housing"),
    (r"(living_|physical_)?environment(_deprivation)?", "environment"),
    (r"access(_to_services)?", "access_to_services"),
    (r"children_and_young_people(_sub)?", "cyp"),
    (r"adult_skills(_sub)?", "adult_skills"),
    (r"geographical_barriers(_sub)?", "geographical_barriers"),
    (r"wider_barriers(_sub)?", "wider_barriers"),
    (r"indoors(_sub)?", "indoors"),
    (r"outdoors(_sub)?", "outdoors"),
]
_MEASURES = ("score", "rank", "decile")
#: Domains that only the Welsh index has (a table with them is WIMD, not the English IoD).
WALES_ONLY = ("access_to_services",)
_CODE_RE = re.compile(r"^(lsoa|lsoa_?(20)?(11|21))_?(code|cd)(_?(20)?(11|21))?$|^geography_code$"
                      r"|^lsoa$|^lsoa_?(20)?(11|21)$")


def slug(text: str) -> str:
    """Lower case, every run of other characters than letters and digits -> ``_``, trimmed."""
    return re.sub(r"[^0-9a-z]+", "_", str(text).replace("\ufeff", "").lower()).strip("_")


def tidy_domain_name(header: str, wales: bool = False) -> str | None:
    """The tidy name (``income_score``, ``imd_decile`` ...) of one column header, or ``None``.

    ``IMD_decile``, ``imd decile``, ``IMD-Decile``, ``Index of Multiple Deprivation
    (IMD) Score``, ``decile_imd`` are all ``imd_decile``; ``Housing_and_Services_rank``
    and ``Housing_and_Access_rank`` are ``housing_rank``. With ``wales`` the
    overall index is ``wimd_*``; without, a ``WIMD_*`` column is still
    ``wimd_*`` (never mistaken for the English IMD).

    Examples
    --------
    >>> tidy_domain_name("IMD_decile"), tidy_domain_name("Housing_and_Access_rank")
    ('imd_decile', 'housing_rank')
    >>> tidy_domain_name("IMD_score", wales=True), tidy_domain_name("Community safety score")
    ('wimd_score', 'crime_score')
    """
    s = slug(header)
    m = re.fullmatch(r"(.+?)_(?:domain_|sub_domain_)?(score|rank|decile)s?", s)
    if m:
        domain, measure = m.group(1), m.group(2)
    else:
        m = re.fullmatch(r"(score|rank|decile)s?_(?:of_)?(.+)", s)
        if not m:
            return None
        measure, domain = m.group(1), m.group(2)
    domain = re.sub(r"_(domain|sub_domain)$", "", domain)
    for pattern, name in _DOMAINS:
        if re.fullmatch(pattern, domain):
            if wales and name == "imd":
                name = "wimd"
            return f"{name}_{measure}"
    return None


def domain_columns(header: Iterable[str], wales: bool = False) -> dict[str, str]:
    """Header -> tidy name for every recognised domain column (the first wins on repeats)."""
    return first_names(header, lambda col: tidy_domain_name(col, wales))


def code_column_of(header: Iterable[str]) -> str:
    """The LSOA code column of a header (``lsoa21_code``, ``LSOA11CD``, ``LSOA code``) or ``""``."""
    for col in header:
        if _CODE_RE.match(slug(col)):
            return col
    return ""


def code_year_of(column: str) -> str:
    """``"2011"``/``"2021"`` when the code column's name says which LSOA vintage it holds."""
    m = re.search(r"(?:20)?(11|21)", slug(column))
    return f"20{m.group(1)}" if m else ""


def is_tidy_imd(header: Iterable[str]) -> bool:
    """True for a one-row-per-LSOA IoD table in a tidy layout (an LSOA code and IMD columns)."""
    header = list(header)
    names = set(domain_columns(header).values())
    has_imd = any(n.startswith(("imd_", "wimd_")) for n in names)
    return bool(code_column_of(header)) and has_imd and len(names) >= 2


def has_wales_only_domains(header: Iterable[str]) -> bool:
    """True when a header has a domain only the Welsh index has (Access to services) or ``WIMD``."""
    names = set(domain_columns(header).values())
    return any(n.startswith(WALES_ONLY + ("wimd_",)) for n in names)


def rename_for_table(columns: Iterable[str]) -> dict[str, str]:
    """Renames of a generic table's columns to the tidy IMD names (only those that differ).

    A rename is skipped when the tidy name is already a column of the table
    (nothing is overwritten).
    """
    cols = list(columns)
    mapping = domain_columns(cols)
    taken = set(cols)
    out = {}
    for col, name in mapping.items():
        if name != col and name not in taken:
            out[col] = name
            taken.add(name)
    return out


def read_tidy_imd(path: str | Path, *, wales: bool = False) -> pd.DataFrame:
    """Read a tidy IoD/WIMD table into the tidy domain names, one row per LSOA.

    Parameters
    ----------
    path : path
        A CSV with an LSOA code column and domain columns in any spelling
        (:func:`tidy_domain_name`).
    wales : bool
        The Welsh index: ``IMD_*`` columns become ``wimd_*``.

    Returns
    -------
    DataFrame
        Indexed by LSOA code (index name ``"lsoa_code"``), the recognised domain
        columns under their tidy names followed by any other numeric column
        under its own name. ``df.attrs``: ``source``, ``code_column``,
        ``code_year``, ``n_rows``, ``renamed`` (original -> tidy, only the
        columns whose name changed).

    Raises
    ------
    InputError
        No LSOA code column or no domain column; a domain column holding text.
    """
    p = Path(path)
    header = read_header(p)
    code_col = code_column_of(header)
    mapping = domain_columns(header, wales)
    if not code_col or not mapping:
        what = "WIMD" if wales else "IoD"
        raise InputError(f"{p.name} is not a tidy {what} table: it needs an LSOA code column "
                         f"(e.g. lsoa21_code) and domain columns such as IMD_score or "
                         f"Income_decile (it starts {', '.join(shown(h) for h in header[:4])}); "
                         f"set kind = \"table\" to read it as a plain table")
    df = read_table(p, keep_text=[code_col])
    n_rows = len(df)
    body, _ = index_by_code(df, code_col, p.name)
    nums = set(numeric_columns(body))
    text = [c for c in mapping if c not in nums and body[c].notna().any()]
    if text:
        ex = body[text[0]].dropna().astype(str).iloc[0]
        raise InputError(f"{p.name}: column {shown(text[0])} must hold numbers but holds text "
                         f"(e.g. {shown(ex, 20)}); fix those cells or leave them empty")
    others = [c for c in body.columns if c not in mapping and c in nums]
    out = body[list(mapping) + others].rename(columns=mapping).astype("float64")
    out.index.name = "lsoa_code"
    out.attrs.update(source=str(p), code_column=code_col, code_year=code_year_of(code_col),
                     n_rows=n_rows,
                     renamed={k: v for k, v in mapping.items() if k != v})
    log.info("read %s table %s: %d LSOAs, %d domain columns", "WIMD" if wales else "IoD",
             p.name, len(out), len(mapping))
    return out


def read_imd(path: str | Path) -> pd.DataFrame:
    """Read an English IoD table in a tidy layout (:func:`read_tidy_imd`), e.g. IoD2025/IoD2019.

    ``df.attrs["index"]`` is ``"IoD2025 (England)"`` for LSOA 2021 codes and
    ``"IoD2019 (England)"`` for LSOA 2011 codes (the vintages published on
    those geographies), else ``"IoD (England)"``.
    """
    out = read_tidy_imd(path)
    vintage = {"2021": "2025", "2011": "2019"}.get(out.attrs.get("code_year", ""), "")
    out.attrs.update(vintage=vintage, index=f"IoD{vintage} (England)")
    return out


__all__ = ["code_column_of", "code_year_of", "domain_columns", "has_wales_only_domains",
           "is_tidy_imd", "read_imd", "read_tidy_imd", "rename_for_table", "slug",
           "tidy_domain_name"]
