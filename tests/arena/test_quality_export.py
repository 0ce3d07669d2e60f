"""Annotator quality, agreement, and battle exports/imports."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from arena import export, quality
from arena.sessions import LabelingService, SessionConfig
from backends.core.errors import InvalidInput
from tests.arena.pools import ADMIN, make_pool


def row(battle_id, annotator, left, right, outcome, item=1, kind="normal", **extra):
    return {"id": battle_id, "annotator_id": annotator, "left_model": left, "right_model": right,
            "outcome": outcome, "item_id": item, "kind": kind, "criteria": extra.pop("criteria", {}),
            "gold_answer": extra.pop("gold_answer", None), "repeat_of": extra.pop("repeat_of", None),
            "seconds_to_vote": 2.0, **extra}


def test_agreement_is_one_when_annotators_agree_and_low_when_they_do_not() -> None:
    agreeing, disagreeing = [], []
    for item in range(10):
        winner_left = item % 2 == 0
        for annotator in ("x", "y", "z"):
            # the same judgement, whatever side each annotator saw the winner on
            left, right = ("m1", "m2") if annotator != "y" else ("m2", "m1")
            wins = "left" if (left == "m1") == winner_left else "right"
            agreeing.append(row(f"{item}{annotator}", annotator, left, right, wins, item=item))
            disagreeing.append(row(f"{item}{annotator}", annotator, "m1", "m2",
                                   ("left", "right", "both_bad")[(item + ord(annotator)) % 3], item=item))
    assert quality.agreement(agreeing)["alpha"] == pytest.approx(1.0)
    assert quality.agreement(agreeing)["units"] == 10
    assert quality.agreement(disagreeing)["alpha"] < 0.2
    assert quality.agreement(agreeing[:1])["alpha"] is None


def test_flags_for_gold_consistency_and_side_bias() -> None:
    rows = [row(f"g{i}", "sloppy", "m", "m", "left", kind="gold", gold_answer="right") for i in range(4)]
    rows += [row(f"n{i}", "clicker", "m1" if i % 2 else "m2", "m2" if i % 2 else "m1", "left") for i in range(40)]
    rows += [row("o1", "flip", "m1", "m2", "left"), row("r1", "flip", "m2", "m1", "left", kind="repeat",
                                                        repeat_of="o1")]
    rows += [row(f"o{i}", "flip", "m1", "m2", "left", item=i) for i in range(2, 5)]
    rows += [row(f"r{i}", "flip", "m2", "m1", "left", item=i, kind="repeat", repeat_of=f"o{i}") for i in range(2, 5)]
    report = {q.annotator: q for q in quality.annotator_quality(rows)}
    assert report["sloppy"].gold_accuracy == 0.0 and report["sloppy"].flagged
    assert report["clicker"].left_rate == 1.0 and report["clicker"].flagged
    assert "side bias" in report["clicker"].reasons[0]
    assert report["flip"].consistency == 0.0 and report["flip"].flagged


def test_fastchat_round_trip(service: LabelingService, pool_session, tmp_path: Path) -> None:
    for _ in range(6):
        served = service.next_battle(pool_session.id, "Zebediah")
        service.vote(served.battle_id, "Zebediah", "left", {"aesthetics": "right"})
    path = service.export(ADMIN, pool_session.id, "fastchat", tmp_path)
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert len(rows) == 6 and {r["winner"] for r in rows} == {"model_a"}
    assert set(rows[0]) >= {"model_a", "model_b", "winner", "judge", "tstamp", "language", "anony"}
    assert "zebediah" not in json.dumps(rows).lower()  # judges are pseudonyms
    imported = service.import_battles(ADMIN, path, "re-imported")
    assert imported["battles"] == 6
    _, original = service.leaderboard(pool_session.id, bootstrap=0)
    _, again = service.leaderboard(imported["session"], bootstrap=0)

    def board(data: dict) -> dict:
        return {m["model"]: (None if m["rating"] is None else round(m["rating"], 6), m["votes"], m["note"])
                for m in data["models"]}

    assert board(original) == board(again)


def test_bad_battle_files_name_the_line(tmp_path: Path) -> None:
    good = json.dumps({"model_a": "x", "model_b": "y", "winner": "tie"})
    cases = {
        "not json": ("{oops", "line 2 is not valid JSON"),
        "winner": (json.dumps({"model_a": "x", "model_b": "y", "winner": "x"}), "line 2: winner 'x'"),
        "missing": (json.dumps({"model_a": "x", "winner": "tie"}), "line 2 has no 'model_b'"),
        "self": (json.dumps({"model_a": "x", "model_b": "x", "winner": "tie"}), "cannot battle itself"),
    }
    for bad, message in cases.values():
        with pytest.raises(InvalidInput, match=message):
            export.parse_fastchat([good, bad])
    with pytest.raises(InvalidInput, match="holds no battles"):
        export.parse_fastchat(["", "  "])


def test_dataset_export_reimports_as_a_pool_and_has_preference_pairs(service: LabelingService, pool_session,
                                                                       tmp_path: Path) -> None:
    for _ in range(5):
        served = service.next_battle(pool_session.id, "ann")
        service.vote(served.battle_id, "ann", "right", {"text_rendering": "left"})
    archive = service.export(ADMIN, pool_session.id, "dataset", tmp_path / "out")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert any(n.endswith("prompts.jsonl") for n in names) and any(n.endswith("battles.jsonl") for n in names)
    assert sum(n.endswith(".png") for n in names) == 18
    folder = archive.with_suffix("")
    prefs = [json.loads(x) for x in (folder / "preferences.jsonl").read_text("utf-8").splitlines()]
    assert len(prefs) == 10 and {p["criterion"] for p in prefs} == {"overall", "text_rendering"}
    assert all((folder / p["chosen"]).is_file() and (folder / p["rejected"]).is_file() for p in prefs)
    copy = service.create_session(ADMIN, SessionConfig(name="copy"))
    result = service.import_pool(ADMIN, copy.id, folder)
    assert result["items"] == 6 and result["models"] == ["alpha", "beta", "gamma"]


def test_preferences_export(service: LabelingService, pool_session, tmp_path: Path) -> None:
    served = service.next_battle(pool_session.id, "ann")
    service.vote(served.battle_id, "ann", "both_good")
    served = service.next_battle(pool_session.id, "ann")
    service.vote(served.battle_id, "ann", "left")
    path = service.export(ADMIN, pool_session.id, "preferences", tmp_path)
    pairs = [json.loads(x) for x in path.read_text("utf-8").splitlines()]
    assert len(pairs) == 1 and pairs[0]["chosen_model"] == service.store.battle(served.battle_id).left_model
    with pytest.raises(InvalidInput, match="kind: 'csv'"):
        service.export(ADMIN, pool_session.id, "csv", tmp_path)


def test_store_import_pool_with_input_images(service: LabelingService, tmp_path: Path) -> None:
    session = service.create_session(ADMIN, SessionConfig(name="tryon", task="tryon", gold_rate=0, repeat_rate=0))
    service.import_pool(ADMIN, session.id, make_pool(tmp_path / "cond", with_input=True))
    served = service.next_battle(session.id, "ann")
    assert served.input_image is not None and served.public()["has_input_image"]
    assert served.criteria == ["garment_fidelity", "identity", "realism"]
