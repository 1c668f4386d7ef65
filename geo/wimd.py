"""The Welsh Index of Multiple Deprivation (WIMD) 2019, one row per Welsh LSOA (2011).

WIMD ranks the 1,909 Welsh LSOAs (2011 codes ``W01...``) on eight domains. Its
scores are built like the English IoD's but on Welsh data and Welsh ranks, so
they are **not comparable** with the English IoD: an English and a Welsh LSOA
with the same score are not equally deprived. Read here with the tidy names of
:mod:`geo.deprivation` where a domain means the same thing:

============================  ==========================
WIMD 2019 domain              tidy columns
============================  ==========================
WIMD (overall)                ``wimd_score/_rank/_decile``
Income                        ``income_*``
Employment                    ``employment_*``
Health                        ``health_*``
Education                     ``education_*``
Housing                       ``housing_*``
Community safety              ``crime_*``
Physical environment          ``environment_*``
Access to services            ``access_to_services_*``
============================  ==========================

Ranks run from 1 (most deprived) to 1,909; deciles from 1 (most deprived 10 %)
to 10; higher scores are more deprived. The codes are LSOA 2011: join them to
LSOA 2021 areas with the ONS lookup (:mod:`geo.lookup`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from geo.csvtable import read_header
from geo.imd_tidy import code_column_of, has_wales_only_domains, is_tidy_imd, read_tidy_imd

log = logging.getLogger(__name__)

WIMD_NAME = "WIMD 2019 (Wales)"
#: Said wherever WIMD columns are used beside English IoD columns.
WIMD_NOTE = (f"{WIMD_NAME}: its scores, ranks and deciles rank Welsh LSOAs among themselves and "
             f"are not comparable with the English Indices of Deprivation; do not mix them in "
             f"one index with English IoD scores")
#: Rows in WIMD 2019 (Welsh LSOAs 2011).
WIMD_ROWS = 1_909


def is_wimd(header: Iterable[str], first_codes: Iterable[str] = ()) -> bool:
    """True for a tidy WIMD table: a tidy IMD header with a Welsh-only domain, or Welsh codes.

    Parameters
    ----------
    header : iterable of str
        Column names.
    first_codes : iterable of str
        A few values of the code column (optional): a tidy IMD table whose codes
        are Welsh (``W01...``) is WIMD even without the Access to services domain.
    """
    header = list(header)
    if not is_tidy_imd(header):
        return False
    if has_wales_only_domains(header):
        return True
    codes = [str(c).strip().upper() for c in first_codes if str(c).strip()]
    return bool(codes) and all(re.match(r"^W0[01]\d{6}$", c) for c in codes)


def first_codes(path: str | Path, n: int = 5) -> list[str]:
    """The first ``n`` values of a tidy table's LSOA code column (from the first lines only)."""
    p = Path(path)
    header = read_header(p)
    col = code_column_of(header)
    if not col:
        return []
    with p.open("rb") as fh:
        head = fh.read(8192).decode("utf-8", errors="replace").splitlines()[1:n + 1]
    i = header.index(col)
    out = []
    for line in head:
        cells = [c.strip().strip('"') for c in re.split(r"[,;\t|]", line)]
        if len(cells) > i:
            out.append(cells[i])
    return out


def read_wimd(path: str | Path) -> pd.DataFrame:
    """Read WIMD 2019 (tidy layout) into ``wimd_*`` and the shared domain names.

    Returns
    -------
    DataFrame
        Indexed by LSOA 2011 code (index name ``"lsoa_code"``): ``wimd_score``,
        ``wimd_rank``, ``wimd_decile`` and ``<domain>_score/_rank/_decile`` for
        the domains in the module docstring. ``df.attrs`` as
        :func:`geo.imd_tidy.read_tidy_imd` plus ``index`` (``"WIMD 2019
        (Wales)"``), ``code_year`` (``"2011"`` unless the code column says
        otherwise) and ``notes`` (the comparability warning).
    """
    out = read_tidy_imd(path, wales=True)
    out.attrs["index"] = WIMD_NAME
    out.attrs["code_year"] = out.attrs.get("code_year") or "2011"
    out.attrs["notes"] = [WIMD_NOTE]
    english = int((~out.index.str.startswith("W")).sum())
    if english:
        log.warning("%s: %d codes are not Welsh; WIMD covers Wales only", Path(path).name, english)
    return out


__all__ = ["WIMD_NAME", "WIMD_NOTE", "WIMD_ROWS", "first_codes", "is_wimd", "read_wimd"]
