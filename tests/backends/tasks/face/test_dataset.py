"""The UniF2aceD-1M reader on a synthetic fixture in the recognised layouts, and the scoring of answers against
the dataset's and of the closed loop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.core.errors import InvalidInput
from backends.tasks.face.types import accuracy, load_unif2ace, score, summarize_scores

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "unif2ace"


def test_the_fixture_reads_captions_and_vqa_pairs():
    dataset = load_unif2ace(FIXTURE)
    summary = dataset.summary()
    assert summary["files"] == ["captions.jsonl", "vqa.json"]
    assert summary["records"] == 7 and summary["with_image"] == 6 and summary["captions"] == 4
    assert summary["qa_pairs"] == 5 and any("not in the folder" in n for n in summary["notes"])
    questions = dataset.questions()
    assert len(questions) == 5 and questions[0][1] == "Is the person smiling?"  # the <image> tag is dropped
    assert questions[-1][1:] == ("Is the mouth open?", "No, the mouth is closed.")
    assert all(dataset.records[i].image.is_file() for i, _, _ in questions)
    assert dataset.captions()[0].startswith("The man has short black hair")


def test_other_layouts_and_bad_lines(tmp_path: Path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes((FIXTURE / "images" / "00001.jpg").read_bytes())
    (tmp_path / "qa.jsonl").write_text(
        json.dumps({"file_name": "a.jpg", "qa": [{"question": "Hat?", "answer": "No hat."}]}) + "\nnot json\n\n"
        + json.dumps({"img": "a.jpg", "text": "a caption"}) + "\n", "utf-8")
    (tmp_path / "meta.json").write_text(json.dumps({"data": [{"image": "a.jpg", "conversations": [
        {"role": "user", "content": "Glasses?"}, {"role": "assistant", "content": "Yes, glasses."}]}]}), "utf-8")
    (tmp_path / "train.parquet").write_bytes(b"PAR1")
    dataset = load_unif2ace(tmp_path)
    assert len(dataset.records) == 3 and len(dataset.questions()) == 2 and dataset.captions() == ["a caption"]
    notes = " ".join(dataset.notes)
    assert "qa.jsonl:2: not JSON" in notes
    # pyarrow is a requirement now: a file that is not parquet is a note, never a crash
    assert "train.parquet: not a readable parquet file" in notes
    assert len(load_unif2ace(tmp_path, limit=1).records) == 1


@pytest.mark.parametrize("folder, message", [("", "give the path"), ("/no/such/folder", "is not a folder")])
def test_bad_folders(folder, message):
    with pytest.raises(InvalidInput, match=f"folder: .*{message}"):
        load_unif2ace(folder)


def test_a_folder_without_records(tmp_path: Path):
    (tmp_path / "x.json").write_text("[1, 2]", "utf-8")
    with pytest.raises(InvalidInput, match="no UniF2ace records found"):
        load_unif2ace(tmp_path)


def test_scoring_compares_the_attributes_both_state():
    reference = "No, he is not smiling; he has short black hair and wears glasses."
    good = score("He is not smiling. Black hair, with glasses.", reference)
    assert good["overlap"] == ["glasses", "hair_color", "smile"] and good["agree"] == good["overlap"]
    bad = score("Yes, he is smiling; blond hair.", reference)
    assert bad["overlap"] == ["hair_color", "smile"] and bad["agree"] == []
    assert score("不是。测量结果：没有微笑。", "No, she is not smiling.")["agree"] == ["smile"]
    assert score("Unrelated words", reference)["overlap"] == [] and good["token_f1"] > bad["token_f1"]
    rows = summarize_scores([{"engine": "a", "answer": "He is not smiling.", "reference": reference},
                             {"engine": "a", "answer": "He is smiling.", "reference": reference},
                             {"engine": "b", "answer": "A face.", "reference": reference}])
    assert rows[0]["agreement"] == 0.5 and rows[0]["overlapping_attributes"] == 2 and rows[1]["agreement"] is None


def test_closed_loop_accuracy_over_seeds():
    records = [{"model": "m", "checks": [{"attribute": "eyes.open", "passed": True},
                                         {"attribute": "hat.yes", "passed": None}]},
               {"model": "m", "checks": [{"attribute": "eyes.open", "passed": False}]},
               {"model": "n", "checks": []}]
    rows = accuracy(records)
    assert rows[0] == {"model": "m", "accuracy": 0.5, "passed": 1, "checked": 2, "per_attribute": {"eyes.open": "1/2"}}
    assert rows[1]["accuracy"] is None
