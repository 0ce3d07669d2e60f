"""Importing battle files fast: the columnar parser returns exactly what the line-by-line one does or steps aside for
it, the columnar import stores the same battles, PostgreSQL's key checks are off only inside the import's
transaction, and migration 0005 drops the votes' redundant constraints in place."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, inspect, make_url, text
from sqlalchemy.exc import IntegrityError

from arena import export, migrate
from arena.battle_import_parse import BattleColumns, parse_columnar, parse_fastchat_file
from arena.bulk_import import bulk_transaction
from arena.sessions import LabelingService
from arena.store import ArenaStore
from backends.core.errors import InvalidInput
from tests.arena.conftest import database_url
from tests.arena.pools import ADMIN


def _line(model_a: str = "x", model_b: str = "y", winner: str = "model_a", **extra: object) -> str:
    return json.dumps({"model_a": model_a, "model_b": model_b, "winner": winner, **extra})


def _slow(data: bytes, tmp_path: Path) -> list[dict]:
    path = tmp_path / "slow.jsonl"
    path.write_bytes(data)
    with path.open(encoding="utf-8") as handle:
        return export.parse_fastchat(handle, export.default_pseudonym)


ACCEPTED = {
    "plain": "".join(_line(f"m{k % 3}", f"n{k % 5}", export.WINNERS[k % 4]) + "\n" for k in range(40)),
    "judges and time stamps of every kind": "\n".join([
        _line(judge="alice", tstamp=1700000000), _line(judge="bob", tstamp=1700000000.25),
        _line(judge="", tstamp=0), _line(judge=None, tstamp=None), _line(tstamp=-0.0), _line(judge="alice"),
        _line(judge="anonymous", tstamp=1e-300), _line(tstamp=9007199254740991),
    ]) + "\n",
    "blank lines everywhere, no final newline": ("\n\n" + _line() + "\n\n\n" + _line("a", "b", "tie") + "\n\n"
                                                 + _line()),
    "unicode names raw and escaped": (json.dumps({"model_a": "模型-α", "model_b": "ß", "winner": "tie"},
                                                 ensure_ascii=False) + "\n" + _line("模型-α", "é", "model_b") + "\n"),
    "names stripped, compared unstripped": _line(" x ", "x", "tie (bothbad)") + "\n" + _line("\tq", "r ") + "\n",
    "fields the import ignores": _line(language="en", anony=True, turn=1, criteria=None,
                                       extra={"a": [1, None]}) + "\n",
}


@pytest.mark.parametrize("content", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_the_fast_path_returns_exactly_what_the_line_parser_returns(content: str, tmp_path: Path) -> None:
    data = content.encode()
    fast = parse_columnar(data, export.default_pseudonym)
    assert fast is not None  # these files are the fast path's to read
    slow = _slow(data, tmp_path)
    assert list(fast) == slow
    assert [row["battle_id"] for row in fast] == [row["battle_id"] for row in slow]  # ids byte for byte
    assert fast[-1] == slow[-1] and fast[1:3] == slow[1:3] and len(fast) == len(slow)
    path = tmp_path / "file.jsonl"
    path.write_bytes(data)
    assert list(parse_fastchat_file(path, export.default_pseudonym)) == slow


REFUSED = {
    "crlf": (_line() + "\r\n" + _line("a", "b") + "\r\n").encode(),
    "criteria": (_line(criteria={"style": "left"}) + "\n").encode(),
    "non-string judge": (_line(judge=7) + "\n" + _line(judge=True) + "\n").encode(),
    "whitespace line": (_line() + "\n   \n" + _line() + "\n").encode(),
    "indented line": ("  " + _line() + "\n").encode(),
    "two objects on a line": (_line() + _line() + "\n").encode(),
    "nan time stamp": b'{"model_a": "x", "model_b": "y", "winner": "tie", "tstamp": NaN}\n',
    "huge integer time stamp": (_line(tstamp=2 ** 70 + 1) + "\n").encode(),
    "duplicate key": b'{"model_a": "x", "model_b": "y", "winner": "tie", "model_a": "z"}\n',
    "byte order mark": ("\ufeff" + _line() + "\n").encode(),
    "empty": b"",
    "only blank lines": b"\n\n",
}


@pytest.mark.parametrize("data", list(REFUSED.values()), ids=list(REFUSED))
def test_files_the_fast_path_cannot_reproduce_go_to_the_line_parser(data: bytes, tmp_path: Path) -> None:
    assert parse_columnar(data, export.default_pseudonym) is None
    path = tmp_path / "file.jsonl"
    path.write_bytes(data)
    try:
        slow = _slow(data, tmp_path)
    except InvalidInput as exc:
        with pytest.raises(InvalidInput, match=re.escape(str(exc))):
            parse_fastchat_file(path, export.default_pseudonym)
    else:  # the line parser's rows, as columns (time stamps as floats, NaN as none)
        assert list(parse_fastchat_file(path, export.default_pseudonym)) == list(BattleColumns.from_rows(slow))
        assert [row["battle_id"] for row in parse_fastchat_file(path)] == [row["battle_id"] for row in slow]


BAD = {
    "bad winner": (_line(winner="x"), "line 2: winner 'x'"),
    "model against itself": (_line("x", "x"), "line 2: a model cannot battle itself"),
    "missing model": (json.dumps({"model_a": "x", "winner": "tie"}), "line 2 has no 'model_b'"),
    "blank model": (_line(" ", "y"), "line 2 has no 'model_a'"),
    "not json": ("{oops}", "line 2 is not valid JSON"),
    "not an object": ("[1]", "line 2 is not a JSON object"),
}


@pytest.mark.parametrize(("bad", "message"), list(BAD.values()), ids=list(BAD))
def test_a_bad_line_is_named_by_the_line_parser(bad: str, message: str, tmp_path: Path) -> None:
    data = (_line() + "\n" + bad + "\n" + _line() + "\n").encode()
    assert parse_columnar(data) is None
    path = tmp_path / "file.jsonl"
    path.write_bytes(data)
    with pytest.raises(InvalidInput, match=message):
        parse_fastchat_file(path)


def test_invalid_utf8_anywhere_is_refused_as_the_text_reader_does(tmp_path: Path) -> None:
    path = tmp_path / "file.jsonl"
    path.write_bytes(b'{"model_a": "x", "model_b": "y", "winner": "tie", "note": "\xff"}\n')
    with pytest.raises(UnicodeDecodeError):
        parse_fastchat_file(path)


def test_columns_from_rows_keep_criteria_groups_and_missing_time_stamps() -> None:
    rows = [{"battle_id": "b1", "annotator_id": "a", "left_model": "x", "right_model": "y", "outcome": "left",
             "tstamp": None, "criteria": {"style": "right"}, "group": "lab", "line": 3},
            {"battle_id": "b2", "annotator_id": "b", "left_model": "y", "right_model": "x", "outcome": "both_bad",
             "tstamp": 12, "criteria": {}, "group": "crowd", "line": 4}]
    table = BattleColumns.from_rows(rows)
    assert list(table) == [{**rows[0]}, {**rows[1], "tstamp": 12.0}]
    assert BattleColumns.from_rows(table) is table
    with pytest.raises(IndexError):
        table[2]


def test_an_imported_file_stores_the_line_parsers_battles(service: LabelingService, tmp_path: Path) -> None:
    content = "\n".join([_line("a", "b", judge="alice", tstamp=100.5), "", _line("b", "c", "tie", judge="bob"),
                         _line("c", "a", "model_b", tstamp=99)]) + "\n"
    path = tmp_path / "battles.jsonl"
    path.write_text(content, "utf-8")
    imported = service.import_battles(ADMIN, path, "fast")
    with path.open(encoding="utf-8") as handle:
        expected = export.parse_fastchat(handle, service.pseudonym)
    stored = {row["id"]: row for row in service.store.battle_rows(imported["session"])}
    assert set(stored) == {row["battle_id"] for row in expected}
    for row in expected:
        got = stored[row["battle_id"]]
        assert (got["left_model"], got["right_model"], got["outcome"], got["annotator_id"]) == (
            row["left_model"], row["right_model"], row["outcome"], row["annotator_id"])
        if row["tstamp"]:
            assert got["served_at"] == got["voted_at"] == row["tstamp"]
    assert [m["model"] for m in service.leaderboard(imported["session"], bootstrap=0)[1]["models"]] != []
    with pytest.raises(InvalidInput, match="line 1 was imported before"):
        service.import_battles(ADMIN, path, "again")


def _downgrade(url: str, revision: str) -> None:
    config = migrate.alembic_config()
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    engine.dispose()


def _vote_constraints(url: str) -> tuple[set, set]:
    engine = create_engine(url)
    found = inspect(engine)
    uniques = {c["name"] for c in found.get_unique_constraints("votes")}
    keys = {tuple(k["constrained_columns"]) for k in found.get_foreign_keys("votes")}
    engine.dispose()
    return uniques, keys


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migration_0005_drops_the_redundant_vote_constraints_in_place(kind: str, tmp_path: Path) -> None:
    url = database_url(kind, tmp_path)
    engine = create_engine(url)
    migrate.upgrade(engine, "0004")
    engine.dispose()
    assert _vote_constraints(url) == ({"one_vote_per_battle", "one_vote_per_annotator_and_battle"},
                                      {("battle_id",), ("session_id",)})
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(text("INSERT INTO sessions (id, name, task, mode, config, status, created_at) "
                        "VALUES ('s', 'S', 't2i', 'imported', '{}', 'open', 1)"))
        for battle in ("b1", "b2"):
            db.execute(text("INSERT INTO battles (id, session_id, annotator_id, kind, left_model, right_model, "
                            f"served_at) VALUES ('{battle}', 's', 'a', 'imported', 'x', 'y', 1)"))
        db.execute(text("INSERT INTO votes (battle_id, session_id, annotator_id, outcome, criteria, created_at) "
                        "VALUES ('b1', 's', 'a', 'left', '{}', 2)"))
    engine.dispose()
    store = ArenaStore(url, tmp_path / "images")  # opening the store upgrades it
    assert migrate.current(store.engine) == "0005"
    assert _vote_constraints(url) == ({"one_vote_per_battle"}, {("battle_id",)})
    with store.engine.connect() as db:  # the store's engine: foreign keys on for SQLite too
        assert db.execute(text("SELECT battle_id, outcome FROM votes")).all() == [("b1", "left")]
        indexes = {i["name"] for i in inspect(db).get_indexes("votes")}
        assert "vote_annotator_time" in indexes and "vote_session" not in indexes
    for battle, outcome in (("b1", "right"), ("b2", "maybe"), ("nope", "left")):  # still refused
        with pytest.raises(IntegrityError), store.engine.begin() as db:
            db.execute(text("INSERT INTO votes (battle_id, session_id, annotator_id, outcome, criteria, "
                            f"created_at) VALUES ('{battle}', 's', 'a', '{outcome}', '{{}}', 3)"))
    store.close()
    _downgrade(url, "0004")
    assert _vote_constraints(url) == ({"one_vote_per_battle", "one_vote_per_annotator_and_battle"},
                                      {("battle_id",), ("session_id",)})
    restored = {i["name"] for i in inspect(create_engine(url)).get_indexes("votes")}
    assert {"vote_session", "vote_annotator_time"} <= restored


def test_imported_rows_keep_criteria_and_groups_and_skips_stay_out_of_the_rating(service: LabelingService) -> None:
    rows = [{"battle_id": f"imp-t{k}", "annotator_id": f"a{k % 2}", "left_model": "x", "right_model": "y",
             "outcome": ("left", "skip", "both_good")[k % 3], "tstamp": 50.0 - k if k % 2 else None,
             "criteria": {"style": "left"} if k == 0 else {}, "group": "lab", "line": k + 1} for k in range(6)]
    service.store.import_battles({"id": "imported-t", "name": "T", "task": "t2i", "config": {}}, rows)
    stored = {row["id"]: row for row in service.store.battle_rows("imported-t")}
    assert stored["imp-t0"]["criteria"] == {"style": "left"} and stored["imp-t2"]["criteria"] == {}
    assert stored["imp-t1"]["served_at"] == 49.0 and stored["imp-t0"]["group_name"] == "lab"
    assert len(service.battles_for_rating("imported-t")) == 4  # the two skips are not rated


def _one_connection(url: str, **credentials: str) -> SimpleNamespace:
    """A store stand-in for ``bulk_transaction`` whose engine holds one connection, so every transaction after the
    bulk one runs on the same server session."""
    return SimpleNamespace(engine=create_engine(make_url(url).set(**credentials), pool_size=1, max_overflow=0))


def _orphan_vote(db: Connection) -> None:
    db.execute(text("INSERT INTO votes (battle_id, session_id, annotator_id, outcome, criteria, created_at) "
                    "VALUES ('no-such-battle', 's', 'a', 'left', '{}', 1)"))


def test_postgresql_key_checks_are_off_only_inside_the_bulk_transaction(tmp_path: Path) -> None:
    url = database_url("postgresql", tmp_path)
    ArenaStore(url, tmp_path / "images").close()  # the schema
    store = _one_connection(url)
    with bulk_transaction(store) as db:
        assert db.execute(text("SHOW session_replication_role")).scalar() == "replica"
        pid = db.execute(text("SELECT pg_backend_pid()")).scalar()
    with pytest.raises(RuntimeError), bulk_transaction(store) as db:  # a failed import restores them too
        raise RuntimeError
    with store.engine.connect() as db:
        assert db.execute(text("SELECT pg_backend_pid()")).scalar() == pid  # the same server session
        assert db.execute(text("SHOW session_replication_role")).scalar() == "origin"
        assert "after_commit" not in db.info
        with pytest.raises(IntegrityError):
            _orphan_vote(db)
    store.engine.dispose()


def test_a_postgresql_role_that_may_not_switch_key_checks_off_imports_with_them_on(tmp_path: Path) -> None:
    url = database_url("postgresql", tmp_path)
    ArenaStore(url, tmp_path / "images").close()
    admin = create_engine(url)
    with admin.begin() as db:
        db.execute(text("DO $$ BEGIN CREATE ROLE studio_plain LOGIN; "
                        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"))
        db.execute(text("GRANT USAGE ON SCHEMA public TO studio_plain"))
        db.execute(text("GRANT ALL ON ALL TABLES IN SCHEMA public TO studio_plain"))
        db.execute(text("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO studio_plain"))
    admin.dispose()
    plain = _one_connection(url, username="studio_plain")
    with bulk_transaction(plain) as db:  # the refused SET did not abort the transaction
        assert db.execute(text("SHOW session_replication_role")).scalar() == "origin"
        with pytest.raises(IntegrityError), db.begin_nested():
            _orphan_vote(db)
    plain.engine.dispose()
    store = ArenaStore(make_url(url).set(username="studio_plain").render_as_string(hide_password=False),
                       tmp_path / "images")
    rows = [{"battle_id": f"imp-p{k}", "annotator_id": "a", "left_model": "x", "right_model": "y",
             "outcome": "left", "tstamp": 10.0 + k, "criteria": {}, "group": "", "line": k + 1} for k in range(3)]
    assert store.import_battles({"id": "imported-p", "name": "P", "task": "t2i", "config": {}}, rows) == 3
    assert sorted(row["id"] for row in store.battle_rows("imported-p")) == ["imp-p0", "imp-p1", "imp-p2"]
    store.close()
