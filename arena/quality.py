"""Annotator quality: gold accuracy, self-consistency on repeated pairs, side bias, and agreement between annotators.

Works on the battle rows of a session (``ArenaStore.battle_rows``): plain dicts, no database access here.
Agreement is Krippendorff's alpha (nominal) from the maintained ``krippendorff`` package, over comparisons that
two or more annotators judged; each judgement is coded side-free (which model won, or which kind of tie).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any

import numpy as np

# A flag needs evidence: thresholds apply only from these counts on.
MIN_GOLD = 3
MIN_REPEATS = 3
MIN_DECISIVE_FOR_SIDE_BIAS = 20
GOLD_ACCURACY_FLOOR = 0.7
CONSISTENCY_FLOOR = 0.5
SIDE_BIAS_P = 0.001


@dataclass
class AnnotatorQuality:
    """Quality figures of one annotator in one session.

    Attributes:
        annotator: pseudonymous id.
        group: annotator group.
        votes: votes cast (all kinds).
        gold: gold checks answered (skips excluded).
        gold_accuracy: share of gold checks where the sharp side was chosen.
        repeats: repeated pairs answered (both times not skipped).
        consistency: share of repeats judged the same way both times.
        left_rate: share of decisive votes for the left side.
        side_bias_p: two-sided binomial p-value of ``left_rate`` against 0.5.
        median_seconds: median time from serving to voting.
        flagged: whether any check failed.
        reasons: why it was flagged.
        excluded: excluded by an admin.
    """

    annotator: str
    group: str
    votes: int
    gold: int
    gold_accuracy: float | None
    repeats: int
    consistency: float | None
    left_rate: float | None
    side_bias_p: float | None
    median_seconds: float | None
    flagged: bool
    reasons: list[str]
    excluded: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def judgement(row: Mapping[str, Any], outcome: str | None = None) -> str | None:
    """A vote coded without sides: the winning model, ``tie_good``, ``tie_bad``; None for skips and unvoted."""
    outcome = outcome if outcome is not None else row.get("outcome")
    if outcome in ("left", "right"):
        return row[f"{outcome}_model"]
    if outcome in ("both_good", "tie"):
        return "tie_good"
    if outcome == "both_bad":
        return "tie_bad"
    return None


def annotator_quality(rows: Iterable[Mapping[str, Any]]) -> list[AnnotatorQuality]:
    """Per-annotator quality over a session's battle rows."""
    rows = [r for r in rows if r.get("outcome") is not None]
    by_id = {r["id"]: r for r in rows}
    per: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        per[row["annotator_id"]].append(row)
    report = []
    for annotator, mine in sorted(per.items()):
        gold = [r for r in mine if r["kind"] == "gold" and r["outcome"] != "skip"]
        gold_right = sum(r["outcome"] == r["gold_answer"] for r in gold)
        repeats = []
        for r in mine:
            original = by_id.get(r["repeat_of"]) if r["kind"] == "repeat" else None
            first, second = (judgement(original), judgement(r)) if original else (None, None)
            if first is not None and second is not None:
                repeats.append(first == second)
        decisive = [r for r in mine if r["kind"] in ("normal", "repeat") and r["outcome"] in ("left", "right")]
        lefts = sum(r["outcome"] == "left" for r in decisive)
        p_value = _binomial_p(lefts, len(decisive)) if decisive else None
        seconds = [r["seconds_to_vote"] for r in mine if r.get("seconds_to_vote") is not None]
        quality = AnnotatorQuality(
            annotator=annotator, group=mine[0].get("group_name") or "", votes=len(mine), gold=len(gold),
            gold_accuracy=gold_right / len(gold) if gold else None, repeats=len(repeats),
            consistency=sum(repeats) / len(repeats) if repeats else None,
            left_rate=lefts / len(decisive) if decisive else None, side_bias_p=p_value,
            median_seconds=median(seconds) if seconds else None, flagged=False, reasons=[],
            excluded=bool(mine[0].get("excluded")),
        )
        _flag(quality, len(decisive))
        report.append(quality)
    return report


def _flag(q: AnnotatorQuality, decisive: int) -> None:
    if q.gold >= MIN_GOLD and q.gold_accuracy is not None and q.gold_accuracy < GOLD_ACCURACY_FLOOR:
        q.reasons.append(f"gold accuracy {q.gold_accuracy:.0%} < {GOLD_ACCURACY_FLOOR:.0%}")
    if q.repeats >= MIN_REPEATS and q.consistency is not None and q.consistency < CONSISTENCY_FLOOR:
        q.reasons.append(f"self-consistency {q.consistency:.0%} < {CONSISTENCY_FLOOR:.0%}")
    if decisive >= MIN_DECISIVE_FOR_SIDE_BIAS and q.side_bias_p is not None and q.side_bias_p < SIDE_BIAS_P:
        q.reasons.append(f"side bias: left chosen {q.left_rate:.0%} of decisive votes (p={q.side_bias_p:.1e})")
    q.flagged = bool(q.reasons)


def _binomial_p(successes: int, trials: int) -> float:
    from scipy.stats import binomtest

    return float(binomtest(successes, trials, 0.5).pvalue)


def agreement(rows: Iterable[Mapping[str, Any]], criterion: str | None = None) -> dict[str, Any]:
    """Krippendorff's alpha (nominal) over comparisons judged by two or more annotators.

    Args:
        rows: the session's battle rows.
        criterion: a criterion name to measure agreement on it, None for the overall vote.

    Returns:
        ``{"alpha": float | None, "units": n, "judgements": n}`` (alpha is None with fewer than 2 shared units or
        no variation to measure).
    """
    import krippendorff

    judged: dict[tuple, dict[str, str]] = defaultdict(dict)
    for row in rows:
        if row.get("outcome") is None or row["kind"] not in ("normal", "imported") or row.get("item_id") is None:
            continue
        outcome = row["outcome"] if criterion is None else (row.get("criteria") or {}).get(criterion)
        code = judgement(row, outcome)
        if code is not None:
            key = (row["item_id"], *sorted((row["left_model"], row["right_model"])))
            judged[key].setdefault(row["annotator_id"], code)
    shared = {k: v for k, v in judged.items() if len(v) >= 2}
    result: dict[str, Any] = {"alpha": None, "units": len(shared),
                              "judgements": sum(len(v) for v in shared.values())}
    codes = sorted({c for v in shared.values() for c in v.values()})
    if len(shared) < 2 or len(codes) < 2:
        return result
    annotators = sorted({a for v in shared.values() for a in v})
    index = {c: i for i, c in enumerate(codes)}
    matrix = np.full((len(annotators), len(shared)), np.nan)
    for column, votes_here in enumerate(shared.values()):
        for annotator, code in votes_here.items():
            matrix[annotators.index(annotator), column] = index[code]
    alpha = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    result["alpha"] = None if math.isnan(alpha) else round(float(alpha), 4)
    return result
