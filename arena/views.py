"""Read-only views of labeling sessions for the UI: the sessions table, how many pairs an annotator has left, why
there is nothing to label, and an annotator's own figures for the thank-you at the end.

Only reads, through the store's and the service's public methods, so the write paths (votes, imports) stay in
``arena.sessions``. Plain data out (numbers and codes, no sentences): the tabs word them in the reader's language.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any

from arena import quality
from arena.sampler import unit
from arena.schema import Session
from arena.serving import sampler_input
from arena.sessions import LabelingService

DECISIVE = ("left", "right")


@dataclass(frozen=True)
class SessionRow:
    """One line of the admin's sessions table.

    Attributes:
        id: session id.
        name: display name.
        task: task of the session.
        mode: pool, live or imported.
        status: open or closed.
        items: prompts (items) in the session.
        models: models compared.
        votes: votes cast (battles, for imported logs).
        target: votes that complete the session.
        annotators: annotators who were served at least one battle.
        identity: who may label (name, invite, hf).
        reveal: the reveal policy.
        created_at: Unix time of creation.
    """

    id: str
    name: str
    task: str
    mode: str
    status: str
    items: int
    models: int
    votes: int
    target: int
    annotators: int
    identity: str
    reveal: str
    created_at: float

    @property
    def state(self) -> str:
        """What the session is doing: ``closed``, ``complete`` (target reached), ``empty`` (nothing to label yet:
        a pool with no items), ``imported`` (battle logs) or ``open``."""
        if self.mode == "imported":
            return "imported"
        if self.status == "closed":
            return "closed"
        if self.target and self.votes >= self.target:
            return "complete"
        if self.items == 0:
            return "empty"
        return "open"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``state``."""
        return {**asdict(self), "state": self.state}


def session_rows(service: LabelingService) -> list[SessionRow]:
    """Every session, newest first, with its counts."""
    store = service.store
    rows = []
    for session in store.sessions():
        imported = session.mode == "imported"
        votes = len(store.battle_rows(session.id)) if imported else store.vote_count(session.id)
        rows.append(SessionRow(
            id=session.id, name=session.name, task=session.task, mode=session.mode, status=session.status,
            items=0 if imported else len(store.items(session.id)), models=len(session.models), votes=votes,
            target=int(session.config.get("target_votes", 0) or 0), annotators=len(store.annotator_rows(session.id)),
            identity=str(session.config.get("identity", "name")), reveal=str(session.config.get("reveal", "")),
            created_at=session.created_at))
    return rows


@dataclass(frozen=True)
class Standing:
    """Where one annotator stands in one session.

    Attributes:
        state: ``open`` (pairs to label), ``closed``, ``complete`` (the session reached its target), ``empty``
            (the session has no pairs: a pool nobody imported), ``done`` (this annotator judged every pair),
            ``imported`` (battle logs, nothing to label).
        pairs_left: pairs this annotator has not been served yet (0 when the session is over).
        pairs_total: pairs in the session (item x model pair with outputs).
        your_votes: this annotator's votes.
        session_votes: every annotator's votes.
        target_votes: the session's target.
    """

    state: str
    pairs_left: int
    pairs_total: int
    your_votes: int
    session_votes: int
    target_votes: int

    @property
    def over(self) -> bool:
        """Nothing (more) to label here for this annotator."""
        return self.state != "open"


def standing(service: LabelingService, session: Session, annotator_id: str) -> Standing:
    """How many pairs ``annotator_id`` has left in ``session``, and whether labeling is over for them (and why)."""
    store = service.store
    items = [] if session.mode == "imported" else store.items(session.id)
    counts, own = store.sampler_view(session.id, annotator_id)
    data = sampler_input(counts, own, items, session.models, session.mode == "live")
    allowed = set(data.models)
    total = sum(len(list(itertools.combinations(sorted(set(m) & allowed), 2))) for m in data.items.values())
    left = max(total - len(data.seen), 0)
    yours = sum(1 for b in own if b["outcome"] is not None)
    votes = store.vote_count(session.id)
    target = int(session.config.get("target_votes", 0) or 0)
    if session.mode == "imported":
        state = "imported"
    elif session.status == "closed":
        state = "closed"
    elif target and votes >= target:
        state = "complete"
    elif total == 0:
        state = "empty"
    elif left == 0 and not any(b["outcome"] is None for b in own):
        state = "done"
    else:
        state = "open"
    return Standing(state, 0 if state in ("closed", "complete") else left, total, yours, votes, target)


@dataclass(frozen=True)
class AnnotatorStats:
    """An annotator's own figures in a session, for the thank-you at the end.

    Attributes:
        votes: votes cast (every kind).
        decisive: votes for one side.
        ties: "both good" and "both bad" votes.
        skips: skipped pairs.
        median_seconds: median time from seeing a pair to voting.
        gold: quality checks answered; gold_accuracy the share answered right.
        gold_accuracy: share of quality checks answered right (None without any).
        consistency: share of repeated pairs judged the same way both times (None without any).
        agreement: share of decisive votes that agree with the other annotators' majority on the same pair.
        agreement_pairs: pairs where that comparison was possible.
        favourite: the model this annotator preferred most often (None when no decisive vote).
    """

    votes: int
    decisive: int
    ties: int
    skips: int
    median_seconds: float | None
    gold: int
    gold_accuracy: float | None
    consistency: float | None
    agreement: float | None
    agreement_pairs: int
    favourite: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def annotator_stats(service: LabelingService, session_id: str, annotator_id: str) -> AnnotatorStats:
    """The figures of one annotator in one session (from every battle row of the session)."""
    rows = service.store.battle_rows(session_id)
    mine = [r for r in rows if r["annotator_id"] == annotator_id and r["outcome"] is not None]
    own = next((q for q in quality.annotator_quality(rows) if q.annotator == annotator_id), None)
    seconds = [r["seconds_to_vote"] for r in mine if r.get("seconds_to_vote") is not None]
    wins = Counter(_winner(r) for r in mine if r["kind"] == "normal" and r["outcome"] in DECISIVE)
    agreement, pairs = majority_agreement(rows, annotator_id)
    return AnnotatorStats(
        votes=len(mine), decisive=sum(1 for r in mine if r["outcome"] in DECISIVE),
        ties=sum(1 for r in mine if r["outcome"] in ("both_good", "both_bad")),
        skips=sum(1 for r in mine if r["outcome"] == "skip"),
        median_seconds=float(median(seconds)) if seconds else None,
        gold=own.gold if own else 0, gold_accuracy=own.gold_accuracy if own else None,
        consistency=own.consistency if own else None, agreement=agreement, agreement_pairs=pairs,
        favourite=wins.most_common(1)[0][0] if wins else None)


def majority_agreement(rows: Iterable[Mapping[str, Any]], annotator_id: str) -> tuple[float | None, int]:
    """How often ``annotator_id``'s decisive votes pick the model the other annotators' majority picked on the
    same comparison (same item and model pair, sides aside); ties in the majority are left out.

    Returns:
        The share (None when no comparison was possible) and the number of comparisons.
    """
    theirs: dict[tuple, Counter] = defaultdict(Counter)
    mine: list[tuple[tuple, str]] = []
    for row in rows:
        if row["kind"] not in ("normal", "repeat") or row["outcome"] not in DECISIVE:
            continue
        key = unit(row["item_id"], row["left_model"], row["right_model"])
        if row["annotator_id"] == annotator_id:
            mine.append((key, _winner(row)))
        else:
            theirs[key][_winner(row)] += 1
    agree = compared = 0
    for key, winner in mine:
        ranked = theirs.get(key, Counter()).most_common(2)
        if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
            continue
        compared += 1
        agree += ranked[0][0] == winner
    return (agree / compared if compared else None), compared


def _winner(row: Mapping[str, Any]) -> str:
    return row["left_model"] if row["outcome"] == "left" else row["right_model"]
