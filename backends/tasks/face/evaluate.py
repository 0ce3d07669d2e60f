"""Scoring: engines' answers against UniF2ace's reference answers where they overlap, and the closed loop's
accuracy over seeds.

UniF2ace's answers are free text listing attributes, so answers are compared attribute by attribute: an attribute
"overlaps" when both the reference and the engine's answer state it (present or negated; for hair colour, which
colours). Agreement over the overlapping attributes is the score; a token F1 against the whole reference is reported
beside it as a rough text similarity. Both are heuristics on text, stated as such in the UI.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

# attribute -> words that state it (lower case; English, with the Chinese words of the studio's own answers).
PRESENCE: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "smile": ("smiling", "smile", "smiles", "微笑", "在笑"), "laugh": ("laughing", "laugh", "大笑"),
    "glasses": ("glasses", "eyeglasses", "spectacles", "眼镜"), "hat": ("hat", "cap", "beanie", "帽"),
    "beard": ("beard", "胡子", "络腮胡"), "mustache": ("mustache", "moustache", "小胡子"),
    "stubble": ("stubble", "5 o'clock shadow", "five o'clock shadow", "胡茬"),
    "sideburns": ("sideburns", "鬓角"), "bangs": ("bangs", "fringe", "刘海"), "bald": ("bald", "光头"),
    "jewelry": ("earring", "earrings", "necklace", "jewelry", "jewellery", "首饰", "耳环"),
    "mask": ("mask", "口罩"), "lipstick": ("lipstick", "口红"), "eyes_open": ("eyes are open", "eyes open", "睁开"),
    "mouth_open": ("mouth is open", "mouth open", "open mouth", "张开"),
})
HAIR_COLOURS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "black": ("black", "黑"), "brown": ("brown", "brunette", "棕"), "blond": ("blond", "blonde", "golden", "金"),
    "red": ("red", "auburn", "ginger", "红"), "grey": ("grey", "gray", "white", "silver", "灰", "白"),
})
NEGATIONS = ("no", "not", "without", "n't", "neither", "nor", "never", "没有", "不是", "没", "未", "无", "不")
_WORD = re.compile(r"[a-z']+|[\u4e00-\u9fff]")


def states(text: str) -> dict[str, Any]:
    """The attributes a text states: attribute -> True (present) / False (negated); ``hair_color`` -> colours."""
    lower = text.lower()
    found: dict[str, Any] = {}
    for attribute, words in PRESENCE.items():
        for word in words:
            at = lower.find(word)
            if at < 0:
                continue
            before = lower[max(0, at - 24):at]
            negated = any(re.search(rf"(^|\W){re.escape(n)}(\W|$)", before) if n.isascii() else n in before[-4:]
                          for n in NEGATIONS)
            found[attribute] = not negated
            break
    if "hair" in lower or "发" in lower:
        colours = {name for name, words in HAIR_COLOURS.items() if any(w in lower for w in words)}
        if colours:
            found["hair_color"] = colours
    return found


def token_f1(answer: str, reference: str) -> float:
    """Bag-of-words F1 between an answer and the reference (English words and single Han characters)."""
    a, r = Counter(_WORD.findall(answer.lower())), Counter(_WORD.findall(reference.lower()))
    common = sum((a & r).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(r.values())
    return 2 * precision * recall / (precision + recall)


def score(answer: str, reference: str) -> dict[str, Any]:
    """One answer against its reference: overlapping attributes, how many agree, and the token F1."""
    mine, theirs = states(answer), states(reference)
    overlap = sorted(set(mine) & set(theirs))
    agree = [k for k in overlap if (mine[k] & theirs[k] if k == "hair_color" else mine[k] == theirs[k])]
    return {"overlap": overlap, "agree": agree, "token_f1": round(token_f1(answer, reference), 3)}


def summarize_scores(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per engine: answers scored, attributes overlapping, agreement over them, mean token F1.

    Args:
        rows: ``{"engine", "answer", "reference"}`` per answer.
    """
    totals: dict[str, dict[str, float]] = {}
    for row in rows:
        result = score(row["answer"], row["reference"])
        t = totals.setdefault(row["engine"], {"answers": 0, "overlap": 0, "agree": 0, "f1": 0.0})
        t["answers"] += 1
        t["overlap"] += len(result["overlap"])
        t["agree"] += len(result["agree"])
        t["f1"] += result["token_f1"]
    return [{"engine": engine, "answers": int(t["answers"]), "overlapping_attributes": int(t["overlap"]),
             "agreement": round(t["agree"] / t["overlap"], 3) if t["overlap"] else None,
             "mean_token_f1": round(t["f1"] / t["answers"], 3) if t["answers"] else None}
            for engine, t in totals.items()]


def accuracy(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The closed loop's accuracy per model: passed checks over decided checks, over every seed, and per attribute.

    Args:
        records: ``{"model": key, "seed": int, "checks": [AttributeCheck or its dict]}`` per generated image.
    """
    models: dict[str, dict[str, list[int]]] = {}
    for record in records:
        per = models.setdefault(record["model"], {})
        for check in record["checks"]:
            data = check if isinstance(check, Mapping) else vars(check)  # an AttributeCheck or its dict
            if data["passed"] is None:
                continue
            tally = per.setdefault(data["attribute"], [0, 0])
            tally[0] += bool(data["passed"])
            tally[1] += 1
    rows = []
    for model, per in models.items():
        passed, total = sum(p for p, _ in per.values()), sum(n for _, n in per.values())
        rows.append({"model": model, "accuracy": round(passed / total, 3) if total else None, "passed": passed,
                     "checked": total, "per_attribute": {k: f"{p}/{n}" for k, (p, n) in per.items()}})
    return rows
