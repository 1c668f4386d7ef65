"""Plain words for a run's score columns (isolation, loneliness, lenses and their parts)."""

from __future__ import annotations

from socialrisk.core import schema

__all__ = ["is_risk_column", "score_label"]


def is_risk_column(column: str) -> bool:
    """Whether a column is one of a run's scores or derived from one (rank, decile, ...)."""
    return column.startswith((schema.ISOLATION_RISK, schema.LONELINESS_RISK, "risk_"))


_SCORE_PARTS = [
    ("_rank_p05", "rank, 5th percentile of the Monte Carlo draws"),
    ("_rank_p95", "rank, 95th percentile of the Monte Carlo draws"),
    ("_p_top_decile", "share of Monte Carlo draws in the highest-risk decile"),
    ("_robust", "robustly at risk (top decile in 90 % of draws)"),
    ("_hotspot", "hot or cold spot (Getis-Ord Gi*)"),
    ("_drivers", "what drives it"),
    ("_decile", "decile (1 = highest risk)"),
    ("_rank", "rank (1 = highest risk)"),
]


def score_label(column: str) -> str | None:
    """Label of a score column, or None when it is not one (domain scores, populations)."""
    base, part = column, "score (0-100, higher = more risk)"
    for suffix, words in _SCORE_PARTS:
        if column.endswith(suffix):
            base, part = column[: -len(suffix)], words
            break
    if base.endswith("_score") or base.endswith("_population") or base.endswith("_missing"):
        return None
    if base.startswith("risk_"):
        return f"Risk for {base[len('risk_'):].replace('_', ' ')}: {part}"
    return f"{base.replace('_', '-', 1).replace('_', ' ').capitalize()} {part}"
