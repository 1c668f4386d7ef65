"""Outside text made harmless where it is written: HTML, URLs and CSV cells.

Everything that comes from outside the program (OpenStreetMap tags, area ids and
names, CSV headers, taxonomy labels, file names) passes through one of these
functions before it reaches an HTML page or a CSV file, so a name such as
``<img src=x onerror=alert(1)>`` or ``=HYPERLINK(...)`` is shown as the text it
is and never runs. See ``docs/security.md``.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

#: characters that start a formula in Excel, LibreOffice and Google Sheets (OWASP
#: "CSV Injection"): a cell starting with one of them is prefixed with ``'``
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

#: the backtick, ``$`` and backslash end or interpolate a JavaScript template string; the
#: braces start Jinja syntax (``{{ }}``, ``{% %}``), which branca runs when it renders a
#: folium map's script a second time (an unsandboxed template: code on the machine)
_JS_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;",
                              "{": "&#123;", "}": "&#125;"})


def html_text(value: Any) -> str:
    """``value`` as text that is safe inside HTML, attributes and JS template strings.

    ``& < > " '`` become entities (``html.escape``), and so do the backtick,
    ``$`` and the backslash, which would otherwise end or interpolate a
    JavaScript template string (folium binds tooltips as `` `...` ``), and the
    braces, which branca would run as Jinja when it renders a map's script
    again (``{{ 6*7 }}`` in an OSM name would become 42, or run any code).
    None and NaN become an empty string.

    Examples
    --------
    >>> html_text('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> html_text("`${document.cookie}`")
    '&#96;&#36;&#123;document.cookie&#125;&#96;'
    >>> html_text("{{ 6*7 }}")
    '&#123;&#123; 6*7 &#125;&#125;'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).translate(_JS_TEMPLATE)


def safe_url(value: Any) -> str | None:
    """``value`` when it is an ``http://`` or ``https://`` URL, else None.

    ``javascript:``, ``data:``, ``vbscript:`` and every other scheme are dropped,
    as are values with spaces or control characters (browsers strip them and a
    ``java\\tscript:`` URL would still run).

    Examples
    --------
    >>> safe_url("https://example.org/hall")
    'https://example.org/hall'
    >>> safe_url("javascript:alert(1)") is None
    True
    """
    if not isinstance(value, str):
        return None
    v = value.strip()
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in v):
        return None
    low = v.lower()
    if not (low.startswith("http://") or low.startswith("https://")) or len(v) > 2000:
        return None
    return v


def csv_cell(value: Any) -> Any:
    """A text cell that no spreadsheet will run as a formula (others unchanged).

    Text starting with ``= + - @``, a tab or a line break gets a leading ``'``,
    as OWASP recommends; numbers are left alone.

    Examples
    --------
    >>> csv_cell('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> csv_cell(-1.5)
    -1.5
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are :func:`csv_cell`-safe.

    Use it on every table written as CSV (files and downloads); GeoPackage and
    Parquet outputs keep the true values.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            out[col] = s.map(csv_cell)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out
