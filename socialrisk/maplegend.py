"""Legends and colour classes of the HTML maps (:mod:`socialrisk.webmap`).

Plain words and units for output columns, colour classes of an indicator over
the areas (worst first) and a plain-HTML legend in a Leaflet control (no d3,
works offline). Every text shown is escaped with
:func:`socialrisk.core.sanitize.html_text`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from socialrisk.core import schema
from socialrisk.core.sanitize import html_text
from socialrisk.scorelabels import is_risk_column, score_label

NO_DATA_COLOUR = "#bdbdbd"
# ColorBrewer RdYlBu, 10 classes: decile 1 (highest risk) red ... decile 10 blue
DECILE_COLOURS = ["#a50026", "#d73027", "#f46d43", "#fdae61", "#fee090",
                  "#e0f3f8", "#abd9e9", "#74add1", "#4575b4", "#313695"]
# ColorBrewer RdYlBu, 5 classes: worst fifth red ... best fifth blue
QUINTILE_COLOURS = ["#d7191c", "#fdae61", "#ffffbf", "#abd9e9", "#2c7bb6"]
CATEGORY_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                    "#a6761d", "#666666", "#1f78b4", "#b15928", "#6a3d9a", "#33a02c",
                    "#fb9a99", "#cab2d6"]


class Legend(MacroElement):
    """A plain-HTML legend in a Leaflet control (no d3, works offline).

    Bottom-left by default, above the scale bar (Leaflet stacks the controls of a
    bottom corner upwards), and collapsible: its title is the ``<summary>`` of a
    ``<details>`` element, so a click folds it away.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var legend = L.control({position: {{ this.position|tojson }}});
  legend.onAdd = function () {
    var div = L.DomUtil.create('div', 'socialrisk-legend');
    div.innerHTML = {{ this.html|tojson }};
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}""")

    def __init__(self, title: str, rows: list[tuple[str, str]], note: str = "",
                 position: str = "bottomleft"):
        super().__init__()
        self._name = "Legend"
        self.position = position
        self.html = legend_html(title, rows, note)


def legend_html(title: str, rows: list[tuple[str, str]], note: str = "") -> str:
    """HTML of a legend: a title, one swatch and label per row, an optional note.

    A ``<details open>`` element whose ``<summary>`` is the title, so the legend
    can be folded away. The texts are escaped; a colour must be a ``#rrggbb``
    value (others are drawn grey).
    """
    out = [f"<details open><summary><b>{html_text(title)}</b></summary>"]
    out += [f'<div><i style="background:{_colour(c)}"></i>{html_text(t)}</div>'
            for c, t in rows]
    if note:
        out.append(f'<div style="color:#555;margin-top:3px">{html_text(note)}</div>')
    out.append("</details>")
    return "".join(out)


def _colour(value: str) -> str:
    return value if isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{3,8}", value) \
        else NO_DATA_COLOUR


# ---------------------------------------------------------------- indicators


def lower_is_worse(column: str) -> bool:
    """True for indicators where a low value is the bad end (counts, access, ranks, deciles).

    Distances, walking times, shares beyond a threshold, deprivation and domain
    scores and isolation risk are worse when higher; counts within a distance,
    gravity and E2SFCA access, IoD ranks and deciles (1 = most deprived) and the
    isolation-risk rank/decile (1 = highest risk) are worse when lower.
    """
    return schema.is_ordinal(column) or bool(re.search(r"(_count_\d+m|_gravity|_e2sfca)$",
                                                       column))


_SUFFIXES = [
    (rf"_{schema.NEAREST_SUFFIX}$", "Distance to the nearest {} (m)"),
    (rf"_{schema.SLOW_SUFFIX}$",
     f"Walking minutes to the nearest {{}} at {schema.SLOW_WALK_SPEED_KMH:g} km/h"),
    (rf"_{schema.WALK_MIN_SUFFIX}$", "Walking minutes to the nearest {}"),
    (r"_count_(\d+)m$", "Number of places within {1} m: {0}"),
    (r"_share_beyond_(\d+)m$", "Share of residents beyond {1} m of a {0}"),
    (r"_gravity$", "Gravity access to {}"),
    (r"_e2sfca$", "E2SFCA supply per 1,000 people: {}"),
    (rf"_{schema.UNREACHABLE_SUFFIX}$", "Share of residents who cannot reach a {}"),
]
_FIXED = {
    schema.ISOLATION_RISK: "Isolation-risk score (0-100, higher = more risk)",
    schema.ISOLATION_RISK_DECILE: "Isolation-risk decile (1 = highest risk)",
    schema.ISOLATION_RISK_RANK: "Isolation-risk rank (1 = highest risk)",
    schema.POPULATION: "Population",
    "imd_score": "Index of Multiple Deprivation score",
    "imd_decile": "IMD decile in England (1 = most deprived)",
    "imd_rank": "IMD rank in England (1 = most deprived)",
    "idaopi_score": "Older people in income deprivation (IDAOPI score)",
    "idaci_score": "Children in income deprivation (IDACI score)",
    "share_60_plus": "Share of residents aged 60+",
    "hh_deprived_2plus_share": "Share of households deprived in 2+ dimensions",
}


def indicator_label(column: str, labels: dict[str, str] | None = None) -> str:
    """Plain words for an output column, e.g. ``gp_walk_min`` -> walking minutes to a GP."""
    if column in _FIXED:
        return _FIXED[column]
    if is_risk_column(column) and (label := score_label(column)):
        return label
    labels = labels or {}
    for cat, label in sorted(labels.items(), key=lambda kv: -len(kv[0])):
        if not column.startswith(cat + "_"):
            continue
        rest = column[len(cat):]
        for pattern, text in _SUFFIXES:
            m = re.search(pattern, rest)
            if m and m.start() == 0:
                lab = label[:1].lower() + label[1:] if not label[:2].isupper() else label
                return text.format(lab, *m.groups())
    m = re.match(r"^(.*)_(score|rank|decile)$", column)
    if m:
        words = m.group(1).replace("_", " ")
        if column.endswith("_score") and m.group(1) in ("access", "deprivation", "demographic"):
            return f"{words.capitalize()} domain score (0-100, higher = more risk)"
        kind = {"score": "score", "rank": "rank in England (1 = most deprived)",
                "decile": "decile in England (1 = most deprived)"}[m.group(2)]
        return f"{words.capitalize()} {kind}"
    return column.replace("_", " ").capitalize()


def format_value(column: str, value: float) -> str:
    """A value with its unit, rounded for reading (``1.2 km``, ``12 min``, ``35 %``)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "no data"
    v = float(value)
    if column.endswith(f"_{schema.NEAREST_SUFFIX}"):
        return f"{v / 1000:.1f} km" if v >= 1000 else f"{v:.0f} m"
    if f"_{schema.WALK_MIN_SUFFIX}" in column:
        return f"{v:.1f} min" if v < 10 else f"{v:.0f} min"
    if column.endswith(("_share", "_p_top_decile")) or "_share_" in column \
            or column.startswith("share_"):
        return f"{100 * v:.0f} %"
    if schema.is_ordinal(column) or column.endswith(schema.POPULATION):
        return f"{v:,.0f}"
    if re.search(r"_count_\d+m$", column):
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:,.1f}"


# ---------------------------------------------------------------- classification


@dataclass
class Classes:
    """Colour classes of an indicator over the areas.

    ``cls[i]`` is area i's class (0 = the worst class, -1 = no data);
    ``colours[k]`` and ``labels[k]`` describe class k for the legend.
    """

    cls: np.ndarray
    colours: list[str]
    labels: list[str]
    title: str
    note: str

    def colour_of(self, i: int) -> str:
        k = int(self.cls[i])
        return NO_DATA_COLOUR if k < 0 else self.colours[k]

    def legend_rows(self) -> list[tuple[str, str]]:
        rows = [(c, t) for c, t in zip(self.colours, self.labels, strict=True)]
        n_missing = int((self.cls < 0).sum())
        rows.append((NO_DATA_COLOUR, f"no data ({n_missing} areas)"))
        return rows


def classify(values: pd.Series | np.ndarray, column: str, scheme: str = "deciles",
             labels: dict[str, str] | None = None) -> Classes:
    """Put areas into colour classes, worst first.

    Parameters
    ----------
    values : array-like
        The indicator per area (NaN = no data).
    column : str
        Column name; gives the direction (:func:`lower_is_worse`), label and units.
    scheme : {"deciles", "quintiles", "equal"}
        Quantile classes of the areas (as the IoD: class = ceil(n * rank / N),
        rank 1 = worst) or 10 equal-width intervals. Columns that already are
        deciles (``*_decile``) are shown as they are.
    labels : dict, optional
        Category labels for the title.

    Returns
    -------
    Classes
    """
    x = np.asarray(values, dtype=float)
    ok = np.isfinite(x)
    n = int(ok.sum())
    cls = np.full(x.size, -1, dtype=int)
    title = indicator_label(column, labels)
    worse_low = lower_is_worse(column)
    if schema.is_decile(column):
        risk = is_risk_column(column)
        cls[ok] = np.clip(np.round(x[ok]).astype(int), 1, 10) - 1
        names = ["1 (highest risk 10 %)" if risk else "1 (most deprived 10 %)",
                 *[str(k) for k in range(2, 10)],
                 "10 (lowest risk 10 %)" if risk else "10 (least deprived 10 %)"]
        return Classes(cls, list(DECILE_COLOURS), names, title,
                       "red = higher risk, relative to these areas" if risk
                       else "red = worse; deciles as published")
    if n == 0:
        return Classes(cls, [], [], title, "no area has a value")
    if scheme == "equal":
        lo, hi = float(np.min(x[ok])), float(np.max(x[ok]))
        k = 10
        if hi > lo:
            pos = (x[ok] - lo) / (hi - lo)
            pos = 1 - pos if not worse_low else pos  # 0 = worst end
            cls[ok] = np.minimum((pos * k).astype(int), k - 1)
        else:
            cls[ok] = 0
        colours = list(DECILE_COLOURS)
        note = "10 equal intervals; red = worse"
    else:
        k = 5 if scheme == "quintiles" else 10
        colours = list(QUINTILE_COLOURS if k == 5 else DECILE_COLOURS)
        bad = -x[ok] if not worse_low else x[ok]  # ascending = worst first
        rank = pd.Series(bad).rank(method="min").to_numpy()
        cls[ok] = np.clip(np.ceil(k * rank / n).astype(int), 1, k) - 1
        part = "tenth" if k == 10 else "fifth"
        note = f"{'deciles' if k == 10 else 'quintiles'} of {n} areas; red = worst {part}"
    names = []
    for j in range(len(colours)):
        sel = x[cls == j]
        if sel.size == 0:
            names.append("(no areas)")
            continue
        a, b = float(np.min(sel)), float(np.max(sel))
        fa, fb = format_value(column, a), format_value(column, b)
        rng = fa if fa == fb else f"{fa} to {fb}"
        lead = "worst" if j == 0 else ("best" if j == len(colours) - 1 else "")
        names.append(f"{j + 1}{' ' + lead if lead else ''}: {rng}")
    return Classes(cls, colours, names, title, note)
