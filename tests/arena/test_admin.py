"""What a public server needs from the labeling admin: an audit log without secrets, a per-client rate limit kept
in the database, annotator identities stronger than a typed name, all-or-nothing imports, confined pool folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arena.sessions import LabelingService, SessionConfig
from backends.core.errors import InvalidInput
from tests.arena.pools import ADMIN, make_pool


def test_admin_actions_are_audited_without_secrets(service: LabelingService) -> None:
    service.create_session(ADMIN, SessionConfig(name="Audited"), client="203.0.113.7")
    with pytest.raises(InvalidInput, match="wrong admin password"):
        service.create_session("hunter2", SessionConfig(name="Nope"), client="198.51.100.9")
    log = service.store.audit_log()
    assert [(e["client"], e["action"], e["target"], e["ok"]) for e in log[:2]] == [
        ("198.51.100.9", "create_session", "Nope", False), ("203.0.113.7", "create_session", "Audited", True)]
    assert all(e["at"] > 0 for e in log)
    dumped = json.dumps(log)
    assert ADMIN not in dumped and "hunter2" not in dumped


def test_the_rate_limit_is_per_client_and_failures_weigh_more(service: LabelingService) -> None:
    service.admin_rate = 10
    for _ in range(2):  # two wrong passwords count as ten calls: the limit is reached
        with pytest.raises(InvalidInput, match="wrong admin password"):
            service.close_session("guess", "x", client="attacker")
    with pytest.raises(InvalidInput, match="too many admin requests"):
        service.create_session(ADMIN, SessionConfig(name="even right"), client="attacker")
    # Another client is not held back, and the count lives in the database (a second replica sees it too).
    service.create_session(ADMIN, SessionConfig(name="fine"), client="admin-desk")
    replica = LabelingService(service.store, service.secret, ADMIN, admin_rate=10)
    with pytest.raises(InvalidInput, match="too many admin requests"):
        replica.create_session(ADMIN, SessionConfig(name="even right"), client="attacker")


def test_invite_tokens_are_the_only_way_into_an_invite_session(service: LabelingService, tmp_path: Path) -> None:
    session = service.create_session(ADMIN, SessionConfig(name="Invited", identity="invite", gold_rate=0,
                                                          repeat_rate=0))
    service.import_pool(ADMIN, session.id, make_pool(tmp_path / "pool"))
    invites = service.create_invites(ADMIN, session.id, "Ana, Bo")
    assert [i["alias"] for i in invites] == ["Ana", "Bo"] and len({i["token"] for i in invites}) == 2
    with pytest.raises(InvalidInput, match="needs the invite token"):
        service.next_battle(session.id, "Ana")  # the alias is not a credential
    served = service.next_battle(session.id, invites[0]["token"])
    service.vote(served.battle_id, invites[0]["token"], "left")
    with pytest.raises(InvalidInput, match="needs the invite token"):
        service.vote(served.battle_id, "someone else", "left")
    report = service.quality_report(session.id)["annotators"]
    assert [r["alias"] for r in report] == ["Ana"]
    stored = json.dumps(service.store.audit_log()) + json.dumps(report)
    assert invites[0]["token"] not in stored  # only a keyed hash of a token is ever stored


def test_hugging_face_sessions_trust_only_the_verified_user(service: LabelingService, tmp_path: Path) -> None:
    session = service.create_session(ADMIN, SessionConfig(name="Signed in", identity="hf", gold_rate=0,
                                                          repeat_rate=0))
    service.import_pool(ADMIN, session.id, make_pool(tmp_path / "pool"))
    with pytest.raises(InvalidInput, match="sign in with Hugging Face"):
        service.next_battle(session.id, "typed-name")
    served = service.next_battle(session.id, "typed-name", verified="alice")
    with pytest.raises(InvalidInput, match="not served to this annotator"):
        service.vote(served.battle_id, "x", "left", verified="mallory")
    assert service.vote(served.battle_id, "anything", "left", verified="alice")["recorded"]


def test_reimporting_battles_names_the_duplicate_and_leaves_nothing(service: LabelingService,
                                                                    tmp_path: Path) -> None:
    rows = [{"model_a": "x", "model_b": "y", "winner": "model_a", "judge": "alice"},
            {"model_a": "y", "model_b": "z", "winner": "tie", "judge": "bob"}]
    file = tmp_path / "battles.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    first = service.import_battles(ADMIN, file, "first")
    sessions_before = {s.id for s in service.store.sessions()}
    with pytest.raises(InvalidInput, match=rf"line 1 was imported before \(into session '{first['session']}'\)"):
        service.import_battles(ADMIN, file, "again")
    assert {s.id for s in service.store.sessions()} == sessions_before  # no empty session left behind
    judges = {r["annotator_id"] for r in service.store.battle_rows(first["session"])}
    # Judges are stored under the service's keyed hash, the same as an annotator of that name.
    assert judges == {service.pseudonym("alice"), service.pseudonym("bob")}


def test_pool_folders_must_lie_under_the_configured_roots(service: LabelingService, tmp_path: Path) -> None:
    session = service.create_session(ADMIN, SessionConfig(name="Confined"))
    locked = LabelingService(service.store, service.secret, ADMIN, pool_roots=(tmp_path / "allowed",))
    pool = make_pool(tmp_path / "elsewhere")
    with pytest.raises(InvalidInput, match="is not a folder this server may read"):
        locked.import_pool(ADMIN, session.id, pool)
    with pytest.raises(InvalidInput, match="is not a folder this server may read"):
        locked.import_pool(ADMIN, session.id, tmp_path / "allowed" / ".." / "elsewhere")
    allowed = make_pool(tmp_path / "allowed" / "pool")
    assert locked.import_pool(ADMIN, session.id, allowed)["items"] == 6
