"""``socialrisk validate``: does a run's ranking agree with anything measured?

``socialrisk validate RUN --against FILE.csv --column NAME`` joins an area-level
measure (a survey estimate, a published index, a local count) to the areas of
the run folder ``RUN`` and, for each score and domain column, reports Spearman's
rho with a bootstrap 95 % interval, the number of areas matched and the share of
areas whose deciles agree within one (:func:`risk.agreement.agreement`).

It writes ``RUN/validation.json`` and ``RUN/validation.png`` through the
output-folder machinery (:func:`socialrisk.outdir.staging` with ``add=True``):
only into a folder holding a socialrisk marker, atomically, and registered in
the marker so a later ``socialrisk run`` into the folder replaces them like its
other files (it removes them: a validation describes the scores it was made on).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from geo.csvtable import MAX_LISTED, read_table
from geo.join import detect_code_column, listing, looks_like_lsoa, normalise_codes
from risk.agreement import agreement
from socialrisk import __version__
from socialrisk.core import schema
from socialrisk.core.errors import InputError, JoinError, shown
from socialrisk.outdir import MARKER, sha256_file, staging
from socialrisk.outputs import write_json

log = logging.getLogger(__name__)

__all__ = ["add_parser", "main", "score_columns", "validate"]

#: at least this many matched areas for a validation (deciles and a rank correlation)
MIN_MATCHED = 10
#: default bootstrap resamples of the interval of rho
N_BOOT = 2000
#: suffixes of per-score columns that are not scores themselves
_NOT_SCORE = schema.SCORE_SUFFIXES + schema.UNCERTAINTY_SUFFIXES + ("_score",)
_LENS_RE = re.compile(r"risk_[a-z0-9_]+")


# --------------------------------------------------------------------------- command line


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``socialrisk validate`` on the CLI's sub-command parsers."""
    v = sub.add_parser(
        "validate", help="compare a run's scores with an area-level measure",
        description="Join an area-level measure (a survey estimate, a published index, a "
                    "local count) to the areas of a run folder and report, for each score and "
                    "domain, Spearman's rho with a bootstrap 95 percent interval and the share of "
                    "areas whose deciles agree within one. Writes RUN/validation.json and "
                    "RUN/validation.png.")
    v.add_argument("run", metavar="RUN", help="output folder of a `socialrisk run`")
    v.add_argument("--against", required=True, metavar="FILE.csv",
                   help="CSV with one row per area: an area code column and the measure")
    v.add_argument("--column", required=True, metavar="NAME", help="the measure's column")
    v.add_argument("--id-column", dest="id_column", metavar="COL",
                   help="the area code column of FILE (default: the column matching most areas)")
    v.add_argument("--lower-is-worse", dest="lower_is_worse", action="store_true",
                   help="lower values of the measure mean worse (default: higher is worse)")
    v.add_argument("--n-boot", dest="n_boot", type=_n_boot, default=N_BOOT, metavar="N",
                   help=f"bootstrap resamples for the interval of rho (default {N_BOOT})")
    v.add_argument("--quiet", action="store_true", help="no progress output")
    v.add_argument("--debug", action="store_true", help="show tracebacks")


def _n_boot(text: str) -> int:
    """``--n-boot``: a whole number from 0 to 100,000 (argparse makes the error one line)."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 100_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 100000, not "
                                         f"{shown(text)}")
    return n


def main(args: argparse.Namespace) -> int:
    """Run ``socialrisk validate`` from parsed arguments; print a short table; return 0."""
    report = validate(args.run, args.against, args.column, id_column=args.id_column,
                      lower_is_worse=args.lower_is_worse, n_boot=args.n_boot)
    print(summary_table(report))
    print(f"socialrisk: wrote {Path(report['run']) / 'validation.json'} and validation.png")
    return 0


def summary_table(report: dict[str, Any]) -> str:
    """The per-column results as a small text table (column, n, rho [CI], deciles within one)."""
    rows = [f"{'column':28s} {'n':>6s}  {'rho':>6s}  {'95% CI':>16s}  {'deciles +-1':>11s}"]
    for col, r in report["results"].items():
        rho, (lo, hi) = r["spearman_rho"], r["rho_ci95"]
        ci = f"[{_num(lo)}, {_num(hi)}]"
        share = r["decile_agreement_within_one"]
        within = "-" if share is None or not np.isfinite(share) else f"{100 * share:.0f}%"
        rows.append(f"{col[:28]:28s} {r['n']:>6d}  {_num(rho):>6s}  {ci:>16s}  {within:>11s}")
    return "\n".join(rows)


def _num(x: float | None) -> str:
    return "nan" if x is None or not np.isfinite(x) else f"{x:+.2f}"


# --------------------------------------------------------------------------- validation


def validate(run: str | Path, against: str | Path, column: str, *, id_column: str | None = None,
             lower_is_worse: bool = False, n_boot: int = N_BOOT, seed: int = 0
             ) -> dict[str, Any]:
    """Compare the scores of a run folder with a measure; write ``validation.json`` and ``.png``.

    Parameters
    ----------
    run : path
        A ``socialrisk run`` output folder (holds the marker and ``areas.csv``).
    against : path
        CSV with an area code column and the measure (read by
        :func:`geo.csvtable.read_table`).
    column : str
        The measure's column in ``against``.
    id_column : str, optional
        The code column of ``against``; by default the one matching most areas.
    lower_is_worse : bool
        Direction of the measure (scores are always higher = worse).
    n_boot, seed : int
        Bootstrap resamples and seed of the interval of rho.

    Returns
    -------
    dict
        What ``validation.json`` holds.

    Raises
    ------
    InputError
        RUN is not a run folder, FILE is missing or unreadable, the column is
        absent or not numeric, or fewer than :data:`MIN_MATCHED` areas match.
    """
    t0 = time.perf_counter()
    run_dir = _check_run(run)
    areas_csv = run_dir / "areas.csv"
    areas = read_table(areas_csv, keep_text=[schema.AREA_ID])
    if schema.AREA_ID not in areas.columns:
        raise InputError(f"{areas_csv} has no {schema.AREA_ID} column; give the folder of a "
                         f"`socialrisk run` (run it again if the file was edited)")
    manifest = _manifest(run_dir)
    headline, domains = score_columns(areas, manifest)
    if not headline and not domains:
        raise InputError(f"{areas_csv} holds no score column (e.g. {schema.ISOLATION_RISK}); "
                         f"give the folder of a `socialrisk run`")
    against = Path(against)
    table = read_table(against, keep_text=[id_column] if id_column else ())
    measure, join = _measure(table, column, id_column, areas[schema.AREA_ID], manifest,
                             against)
    score_ids = normalise_codes(areas[schema.AREA_ID])
    results: dict[str, Any] = {}
    for col in headline + domains:
        s = pd.Series(areas[col].to_numpy(dtype="float64"), index=score_ids.to_numpy())
        r = agreement(s, measure, measure_higher_is_worse=not lower_is_worse, n_boot=n_boot,
                      seed=seed)
        results[col] = {"kind": "score" if col in headline else "domain", **r}
    report = {
        "written_by": "socialrisk validate",
        "socialrisk_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "run": str(run_dir),
        "inputs": {
            "areas": {"path": str(areas_csv), "sha256": sha256_file(areas_csv),
                      "bytes": areas_csv.stat().st_size},
            "against": {"path": str(against.resolve()), "sha256": sha256_file(against),
                        "bytes": against.stat().st_size, "column": column,
                        "id_column": join["id_column"],
                        "direction": "lower_is_worse" if lower_is_worse else "higher_is_worse"},
        },
        "n_areas": len(areas), "n_rows": len(table),
        "n_matched": join["n_matched"],
        "unmatched": join["unmatched"],
        "method": {
            "statistic": "Spearman's rank correlation, both sides oriented higher = worse "
                         "(positive = agreement); p-value two-sided (t approximation)",
            "interval": f"bootstrap percentile 95% interval, {n_boot} resamples of the areas "
                        f"(pairs, with replacement), seed {seed}",
            "deciles": "among the areas with both values, decile = ceil(10 * rank / N), rank 1 "
                       "= worst, on each side; decile_table rows = score decile, columns = "
                       "measure decile",
            "min_matched": MIN_MATCHED,
        },
        "headline": (headline or domains)[0],
        "results": results,
        "notes": join["notes"],
    }
    with staging(run_dir, add=True) as tmp:
        write_json(tmp / "validation.json", report)
        plot(report, areas, measure, score_ids, tmp / "validation.png")
    log.info("validate: %d areas matched, %d column(s) compared in %.1f s", join["n_matched"],
             len(results), time.perf_counter() - t0)
    return report


def _check_run(run: str | Path) -> Path:
    """The run folder resolved; refused unless it holds a socialrisk marker and ``areas.csv``."""
    text = str(run)
    if not text.strip() or "\0" in text:
        raise InputError("RUN is empty or not a path; give the --out folder of a `socialrisk "
                         "run`")
    p = Path(text).expanduser().resolve()
    if not p.is_dir():
        raise InputError(f"RUN {shown(text, 200)} is not a folder; give the --out folder of a "
                         f"`socialrisk run`")
    if not (p / MARKER).is_file() or not (p / "areas.csv").is_file():
        missing = MARKER if not (p / MARKER).is_file() else "areas.csv"
        raise InputError(f"RUN {shown(text, 200)} is not a socialrisk run folder (no {missing}); "
                         f"give the --out folder of a `socialrisk run` (nothing was written)")
    return p


def _manifest(run_dir: Path) -> dict:
    """The run's ``manifest.json`` (an empty dict when absent or unreadable)."""
    path = run_dir / "manifest.json"
    try:
        if path.is_file() and path.stat().st_size < 50_000_000:
            data = json.loads(path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
    except (OSError, UnicodeDecodeError, ValueError):
        log.warning("%s is unreadable; every *_score column is taken as a domain", path)
    return {}


def _domain_columns(manifest: dict) -> list[str] | None:
    """The domain-score columns the run's index reports name, in order; None without reports.

    The isolation index's ``<domain>_score``, the loneliness score's
    ``loneliness_<domain>_score`` and a lens's ``risk_<lens>_<domain>_score``
    (:mod:`socialrisk.scores`), for the domains each report says it used.
    """
    index = manifest.get("index")
    if not isinstance(index, dict):
        return None
    reports: list[tuple[str, Any]] = [("", index),
                                      (schema.LONELINESS_PREFIX, index.get("loneliness"))]
    lenses = index.get("lenses")
    if isinstance(lenses, dict):
        reports += [(f"{schema.lens_score(str(name))}_", entry.get("index"))
                    for name, entry in lenses.items() if isinstance(entry, dict)]
    cols: list[str] = []
    for prefix, report in reports:
        if not isinstance(report, dict):
            continue
        used = report.get("domains_used", report.get("domains"))
        if isinstance(used, (dict, list)):
            cols += [f"{prefix}{schema.score_column(str(d))}" for d in used]
    return list(dict.fromkeys(cols))


def score_columns(areas: pd.DataFrame, manifest: dict | None = None
                  ) -> tuple[list[str], list[str]]:
    """The run's score columns: ``(headline scores, domain scores)``.

    Headline: ``isolation_risk``, ``loneliness_risk`` and the lenses' ``risk_<lens>``.
    Domains: the domain scores the index reports of the run's manifest name
    (:func:`_domain_columns`), so an input table's own ``*_score`` columns (the
    IoD's ``income_score`` ...) are never taken for the run's domains; without a
    manifest, every ``*_score`` column. Only numeric columns with a value count.
    """
    def usable(c: str) -> bool:
        s = areas[c]
        return is_numeric_dtype(s) and not is_bool_dtype(s) and bool(s.notna().any())

    cols = list(areas.columns)
    headline = [c for c in schema.HEADLINE_SCORES if c in cols and usable(c)]
    headline += [c for c in cols if _LENS_RE.fullmatch(c) and not c.endswith(_NOT_SCORE)
                 and c not in headline and usable(c)]
    named = _domain_columns(manifest or {})
    if named is None:
        domains = [c for c in cols if c.endswith("_score") and c not in headline]
    else:
        domains = [c for c in named if c in cols]
    return headline, [c for c in domains if usable(c)]


def _measure(table: pd.DataFrame, column: str, id_column: str | None, area_ids: pd.Series,
             manifest: dict, path: Path) -> tuple[pd.Series, dict[str, Any]]:
    """The measure indexed by normalised area code, and what matched (refusals as InputError)."""
    name = path.name
    cols = list(table.columns)
    if column not in cols:
        raise InputError(f"--column {shown(column)} is not in {name}; its columns are "
                         f"{listing(cols, 12)}")
    if id_column is not None and id_column not in cols:
        raise InputError(f"--id-column {shown(id_column)} is not in {name}; its columns are "
                         f"{listing(cols, 12)}")
    values = table[column]
    if not is_numeric_dtype(values) or is_bool_dtype(values):
        example = next((v for v in values if isinstance(v, str)), "")
        raise InputError(f"--column {shown(column)} of {name} is not numeric (e.g. "
                         f"{shown(example)}); give a column of numbers")
    if not values.notna().any():
        raise InputError(f"--column {shown(column)} of {name} is empty; give a column of "
                         f"numbers")
    areas = normalise_codes(area_ids)
    if id_column is None:
        try:
            id_column = detect_code_column(table.drop(columns=[column]), areas)
        except JoinError:
            id_column = ""
    codes = normalise_codes(table[id_column]) if id_column else pd.Series(dtype="object")
    area_set = set(areas) - {""}
    matched = set(codes) & area_set
    if not matched:
        raise InputError(_no_match(name, table, id_column, areas, manifest))
    frame = pd.DataFrame({"code": codes.to_numpy(), "value": values.to_numpy(dtype="float64")})
    frame = frame[frame["code"] != ""]
    dup = frame[frame.duplicated("code", keep=False)]
    clash = dup.groupby("code")["value"].nunique(dropna=False)
    clash = clash[clash > 1]
    if len(clash):
        raise InputError(f"{name}: {len(clash):,} area code(s) appear on several rows with "
                         f"different values of {shown(column)} (e.g. "
                         f"{listing(clash.index, 3)}); keep one row per area")
    measure = frame.drop_duplicates("code").set_index("code")["value"]
    measure.index.name = None
    with_value = {c for c in matched if np.isfinite(measure.get(c, np.nan))}
    if len(with_value) < MIN_MATCHED:
        raise InputError(f"only {len(with_value)} area(s) of the run have a value of "
                         f"{shown(column)} in {name} (column {shown(id_column)}); at least "
                         f"{MIN_MATCHED} are needed for a rank correlation and deciles")
    run_only = [a for a in areas if a and a not in matched]
    file_only = [c for c in measure.index if c not in area_set]
    no_value = [a for a in areas if a in matched and a not in with_value]
    notes = []
    for label, items in (("areas of the run with no row in the file", run_only),
                         ("areas of the run whose row has no value", no_value)):
        if items:
            notes.append(f"{len(items):,} {label} (e.g. {listing(items, 3)}), left out of "
                         f"every statistic")
            log.warning("validate: %s", notes[-1])
    if file_only:
        notes.append(f"{len(file_only):,} codes of the file match no area of the run (normal "
                     f"for a national table)")
        log.info("validate: %s", notes[-1])
    join = {"id_column": id_column, "n_matched": len(with_value), "notes": notes,
            "unmatched": {"run_areas_without_row": _few(run_only),
                          "run_areas_without_value": _few(no_value),
                          "file_codes_without_area": _few(file_only)}}
    return measure, join


def _few(items: list[str]) -> dict[str, Any]:
    """A count and the first :data:`MAX_LISTED` items (each cut to 40 characters)."""
    return {"n": len(items), "first": [i if len(i) <= 40 else i[:40] + "..."
                                       for i in items[:MAX_LISTED]]}


def _vintage(name: str) -> str:
    """``"2011"``/``"2021"`` when a column name says which LSOA vintage it holds, else ``""``."""
    m = re.search(r"(?:lsoa|code|cd)\s*_?\(?(?:20)?(11|21)\)?", name, flags=re.IGNORECASE)
    return f"20{m.group(1)}" if m else ""


def _no_match(name: str, table: pd.DataFrame, id_column: str, areas: pd.Series,
              manifest: dict) -> str:
    """The one-line refusal when no area of the run is in the file, with the likely cause."""
    example = next((a for a in areas if a), "?")
    where = (f"column {shown(id_column)}" if id_column else
             f"any of its columns ({listing(table.columns, 6)})")
    head = f"no area of the run (e.g. {shown(example)}) is in {where} of {name}"
    file_col = id_column or next(
        (c for c in table.columns if not is_numeric_dtype(table[c])
         and looks_like_lsoa(normalise_codes(table[c].head(200)))), "")
    if not looks_like_lsoa(areas) or not file_col \
            or not looks_like_lsoa(normalise_codes(table[file_col].head(200))):
        return (f"{head}; check that the file holds the same kind of area codes as the run "
                f"and give the code column with --id-column")
    run_col = str(((manifest.get("counts") or {}).get("areas") or {}).get("id_column", ""))
    run_year, file_year = _vintage(run_col), _vintage(file_col)
    years = (f" (the run's {shown(run_col)} looks like LSOA {run_year or '?'}, the file's "
             f"{shown(file_col)} like LSOA {file_year or '?'})")
    if run_year and file_year and run_year == file_year:
        return (f"{head}: both hold LSOA {run_year} codes{years} but of different places; "
                f"check that the file covers the run's areas")
    return (f"{head}: both hold LSOA codes but none in common{years}; LSOA 2011 and 2021 "
            f"codes differ where areas were split or merged, so convert the file with the ONS "
            f"LSOA 2011 to 2021 lookup (e.g. lookup_lsoa11_lsoa21_ltla22.csv) and validate "
            f"again")


# --------------------------------------------------------------------------- figure


def _label(text: str, limit: int = 40) -> str:
    """Outside text for a matplotlib label: cut, and ``$`` escaped (no mathtext)."""
    text = str(text)
    text = text if len(text) <= limit else text[:limit] + "..."
    return text.replace("$", r"\$")


def plot(report: dict[str, Any], areas: pd.DataFrame, measure: pd.Series,
         score_ids: pd.Series, path: Path) -> None:
    """Write the PNG: the headline score against the measure, and its decile-agreement table."""
    # matplotlib is imported here: it takes ~0.5 s, and only this command draws
    from matplotlib.figure import Figure

    head = report["headline"]
    r = report["results"][head]
    column = _label(report["inputs"]["against"]["column"])
    lower = report["inputs"]["against"]["direction"] == "lower_is_worse"
    s = pd.Series(areas[head].to_numpy(dtype="float64"), index=score_ids.to_numpy())
    s, m = s.align(measure, join="inner")
    fig = Figure(figsize=(11, 4.8), dpi=100)
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
    ax1.scatter(m, s, s=14, alpha=0.7, color="#1f4e79", edgecolors="none")
    ax1.set_xlabel(f"{column} ({'lower' if lower else 'higher'} = worse)")
    ax1.set_ylabel(f"{head} (higher = worse)")
    lo, hi = r["rho_ci95"]
    ax1.set_title(f"Spearman rho = {_num(r['spearman_rho'])} [{_num(lo)}, {_num(hi)}], "
                  f"n = {r['n']}", fontsize=10)
    table = np.array(r["decile_table"])
    ax2.imshow(table, cmap="Blues", origin="upper")
    ticks = np.arange(10)
    ax2.set_xticks(ticks, [str(i + 1) for i in ticks])
    ax2.set_yticks(ticks, [str(i + 1) for i in ticks])
    ax2.set_xlabel(f"{column} decile (1 = worst)")
    ax2.set_ylabel(f"{head} decile (1 = worst)")
    share = r["decile_agreement_within_one"]
    within = "n/a" if share is None or not np.isfinite(share) else f"{100 * share:.0f}%"
    ax2.set_title(f"deciles within one: {within}", fontsize=10)
    peak = table.max() or 1
    for i in range(10):
        for j in range(10):
            if table[i, j]:
                ax2.text(j, i, str(table[i, j]), ha="center", va="center", fontsize=7,
                         color="white" if table[i, j] > peak / 2 else "black")
    fig.suptitle(f"socialrisk validate: {head} against {column}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, format="png")
