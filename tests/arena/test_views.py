"""The read-only views behind the labeling UI: sessions table, pairs left and why labeling is over, own stats."""

from __future__ import annotations

from pathlib import Path

from arena import views
from arena.sessions import LabelingService, SessionConfig
from tests.arena.pools import ADMIN, make_pool


def vote_all(service: LabelingService, session_id: str, annotator: str, outcome: str = "left") -> int:
    votes = 0
    while True:
        served = service.next_battle(session_id, annotator)
        if not served.battle_id:
            return votes
        service.vote(served.battle_id, annotator, outcome)
        votes += 1


def test_pairs_left_count_down_to_done(service: LabelingService, pool_session) -> None:
    me = service.annotator_id(pool_session, "ann")
    first = views.standing(service, pool_session, me)
    assert first.state == "open" and first.pairs_total == 6 * 3 and first.pairs_left == 18
    served = service.next_battle(pool_session.id, "ann")
    service.vote(served.battle_id, "ann", "left")
    after = views.standing(service, pool_session, me)
    assert after.pairs_left == 17 and after.your_votes == 1 and after.session_votes == 1
    assert vote_all(service, pool_session.id, "ann") == 17
    done = views.standing(service, pool_session, me)
    assert done.state == "done" and done.pairs_left == 0 and done.over
    # Another annotator still has every pair ahead of them.
    assert views.standing(service, pool_session, service.annotator_id(pool_session, "other")).pairs_left == 18


def test_an_empty_pool_is_not_reported_as_judged(service: LabelingService) -> None:
    session = service.create_session(ADMIN, SessionConfig(name="Nothing yet"))
    standing = views.standing(service, service.store.session(session.id), "a-new")
    assert standing.state == "empty" and standing.pairs_total == 0 and standing.over


def test_closed_and_complete_sessions(service: LabelingService, tmp_path: Path) -> None:
    session = service.create_session(ADMIN, SessionConfig(name="Small", target_votes=2, gold_rate=0.0,
                                                          repeat_rate=0.0, overlap_rate=0.0))
    service.import_pool(ADMIN, session.id, make_pool(tmp_path / "p", items=2))
    vote_all(service, session.id, "ann")
    stored = service.store.session(session.id)
    assert views.standing(service, stored, service.annotator_id(stored, "ann")).state == "complete"
    service.close_session(ADMIN, session.id)
    stored = service.store.session(session.id)
    assert views.standing(service, stored, "a-x").state == "closed"
    [row] = [r for r in views.session_rows(service) if r.id == session.id]
    assert row.state == "closed" and row.items == 2 and row.votes == 2 and row.target == 2 and row.annotators == 1


def test_sessions_table_lists_every_session_with_its_state(service: LabelingService, pool_session) -> None:
    empty = service.create_session(ADMIN, SessionConfig(name="Empty"))
    rows = {r.id: r for r in views.session_rows(service)}
    assert rows[empty.id].state == "empty" and rows[pool_session.id].state == "open"
    assert rows[pool_session.id].items == 6 and rows[pool_session.id].models == 3
    assert rows[pool_session.id].to_dict()["state"] == "open"


def test_own_stats_and_agreement_with_the_majority(service: LabelingService, pool_session) -> None:
    vote_all(service, pool_session.id, "crowd-1", "left")
    vote_all(service, pool_session.id, "crowd-2", "left")
    vote_all(service, pool_session.id, "me", "skip")
    stats = views.annotator_stats(service, pool_session.id, service.annotator_id(pool_session, "me"))
    assert stats.votes == 18 and stats.skips == 18 and stats.decisive == 0 and stats.agreement is None
    assert stats.favourite is None


def test_majority_agreement_counts_only_decided_majorities() -> None:
    def row(annotator: str, item: int, left: str, right: str, outcome: str) -> dict:
        return {"annotator_id": annotator, "kind": "normal", "item_id": item, "left_model": left,
                "right_model": right, "outcome": outcome}

    rows = [row("x", 1, "a", "b", "left"), row("y", 1, "b", "a", "right"),  # both say a beats b (sides swapped)
            row("me", 1, "a", "b", "left"),
            row("x", 2, "a", "b", "left"), row("y", 2, "a", "b", "right"),  # a tie among the others: left out
            row("me", 2, "a", "b", "left"),
            row("x", 3, "a", "b", "left"), row("me", 3, "b", "a", "left")]  # I pick b, they pick a
    share, compared = views.majority_agreement(rows, "me")
    assert compared == 2 and share == 0.5
