"""Batch hand repair under the hand-repair tab: a folder or a pool, a CSV of confidences (tiny profile)."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from arena.sessions import LabelingService
from arena.store import ArenaStore
from backends.core.errors import InvalidInput
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from tabs.common import AppContext, make_i18n
from tabs.hand_batch import batch_repair, batch_view
from tests.tabs.served import assert_unguessable

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"


@pytest.fixture(scope="module")
def ctx(tiny_settings, registry, tmp_path_factory) -> AppContext:
    # Batches read only folders under STUDIO_INPUT_ROOTS: here the tests' scratch area.
    settings = dataclasses.replace(tiny_settings, input_roots=(tmp_path_factory.getbasetemp(),))
    arena = LabelingService(ArenaStore(f"sqlite:///{tmp_path_factory.mktemp('db') / 'a.db'}",
                                       tmp_path_factory.mktemp("images")), b"k" * 32, "pw")
    return AppContext(settings, registry, LocalExecutor(ModelCache(registry, settings)), make_i18n(), arena=arena)


def test_batch_repair_writes_a_csv_of_confidences(ctx: AppContext, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("hagrid_call_0413d5c5.jpg", "hagrid_four_06aa70cc.jpg"):
        shutil.copyfile(PHOTOS / name, folder / name)
    Image.new("RGB", (128, 128), "gray").save(folder / "no_hand.png")
    seen: list[float] = []
    table, summary = batch_repair(ctx, folder, "mghand", "inpaint/sd15",
                                  RunControl(on_progress=lambda e: seen.append(e.fraction)), seed=0, steps=3)
    rows = list(csv.reader(table.open()))
    assert rows[0] == ["image", "hand", "confidence_before", "confidence_after", "note"]
    hands = [r for r in rows[1:] if r[1] != "" and r[0] != "MEAN"]
    assert len(hands) >= 2 and all(0 < float(r[2]) <= 1 for r in hands)
    assert any("No hand found" in r[4] for r in rows)
    assert rows[-1][0] == "MEAN" and "3 images" in summary and seen[-1] == 1.0


def test_batch_repair_of_a_pool_returns_a_pool(ctx: AppContext, tmp_path: Path) -> None:
    pool = tmp_path / "pool"
    (pool / "model_a").mkdir(parents=True)
    shutil.copyfile(PHOTOS / "hagrid_call_0413d5c5.jpg", pool / "model_a" / "it0.jpg")
    (pool / "prompts.jsonl").write_text(json.dumps({"item_id": "it0", "prompt": "a person waving"}) + "\n")
    table, _ = batch_repair(ctx, pool, "inpaint", "inpaint/sd15", RunControl(), seed=0, steps=3)
    out = table.parent
    assert (out / "prompts.jsonl").is_file() and (out / "model_a" / "it0.jpg").is_file()
    assert (out / "model_a__inpaint" / "it0.png").is_file()
    # The batch holds copies of the pool's images under the served outputs: an unguessable folder, a readable name.
    assert_unguessable(out, ctx.settings.outputs_dir / "hand_repair", r"batch-\d{8}-\d{6}")


def test_batches_read_only_configured_folders_and_need_the_admin_password(ctx: AppContext, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copyfile(PHOTOS / "hagrid_call_0413d5c5.jpg", folder / "a.jpg")
    for outside in ("/etc", str(tmp_path / ".." / ".." / ".." / ".." / "etc"), "/no/such/folder"):
        with pytest.raises(InvalidInput, match="is not a folder this server may read"):
            batch_repair(ctx, outside, "inpaint", "inpaint/sd15", RunControl(), seed=0, steps=2)
    with pytest.raises(Exception, match="wrong admin password"):
        batch_view(ctx, "guess", str(folder), "inpaint", "inpaint/sd15", 0, 2, 0.75, 1.5, 0.0, 1.0, 0.3, None)
    locked = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, input_roots=()))
    with pytest.raises(InvalidInput, match="server folders are disabled on this server"):
        batch_repair(locked, folder, "inpaint", "inpaint/sd15", RunControl(), seed=0, steps=2)
