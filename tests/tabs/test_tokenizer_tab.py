"""Tokenizer tab handlers: side-by-side runs, dataset evaluation with FID plumbing, sending to a labeling session."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arena.sessions import LabelingService, SessionConfig
from arena.store import ArenaStore
from backends.core.errors import InvalidInput
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from tabs.common import AppContext, make_i18n
from tabs.tokenizer import check_tokenizers, metrics_rows, tokenize_all
from tabs.tokenizer_eval import evaluate, image_paths

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"


@pytest.fixture(scope="module")
def ctx(tiny_settings, registry, tmp_path_factory) -> AppContext:
    folder = tmp_path_factory.mktemp("arena")
    arena = LabelingService(ArenaStore(f"sqlite:///{folder / 'a.db'}", folder / "images"), b"k" * 32, "pw",
                            rng=random.Random(0))
    executor = LocalExecutor(ModelCache(registry, tiny_settings))
    return AppContext(tiny_settings, registry, executor, make_i18n(), arena=arena)


def test_side_by_side_with_a_rate_matched_dct(ctx: AppContext) -> None:
    results = tokenize_all(ctx, EXAMPLES / "coffee.png", ["tok/vq", "tok/dct"], RunControl(), alpha=0.2)
    vq, dct = results["tok/vq"].summary, results["tok/dct"].summary
    assert dct["bits"] <= vq["bits"] and dct["bits"] > 0.9 * vq["bits"]
    rows = metrics_rows(results)
    assert [r[0] for r in rows] == ["tok/vq", "tok/dct"] and "α=0.2" in rows[0][9]


@pytest.mark.parametrize("keys, message", [([], "pick at least one"), (["t2i/kolors"], "not a tokenizer"),
                                           (["tok/titok"], "not available here"), (["tok/pca"] * 2, "different")])
def test_tokenizer_selection_is_checked(ctx: AppContext, keys: list, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"tokenizers: .*{message}"):
        check_tokenizers(ctx, keys)


def test_dataset_evaluation_with_a_small_feature_extractor(ctx: AppContext, tmp_path: Path) -> None:
    projection = np.random.default_rng(0).normal(size=(48, 16))

    def features(images: list[np.ndarray]) -> np.ndarray:  # 4x4 average pooling then a fixed random projection
        pooled = [np.asarray(Image.fromarray((i * 255).astype(np.uint8)).resize((4, 4)), float).ravel() / 255
                  for i in images]
        return np.asarray(pooled) @ projection

    outcome = evaluate(ctx, image_paths(EXAMPLES, None), ["tok/vq", "tok/pca"], RunControl(), alpha=0.5, delta=8,
                       features=features)
    summary = {s["tokenizer"]: s for s in outcome["summary"]}
    assert summary["tok/vq"]["images"] == 3 and isinstance(summary["tok/vq"]["rfid"], float)
    assert isinstance(summary["tok/vq"]["pfid"], float) and summary["tok/vq"]["pfid"] > summary["tok/vq"]["rfid"]
    assert summary["tok/pca"]["pfid"].startswith("continuous tokens")
    assert summary["tok/vq"]["perturbation"] == {"alpha": 0.5, "delta": 8, "seed": 0}
    with outcome["csv"].open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and {r["tokenizer"] for r in rows} == {"tok/vq", "tok/pca"}
    prompts = [json.loads(x) for x in (outcome["pool"] / "prompts.jsonl").read_text().splitlines()]
    assert len(prompts) == 3 and all((outcome["pool"] / p["input_image"]).is_file() for p in prompts)


def test_without_inception_fid_is_reported_unavailable(ctx: AppContext) -> None:
    outcome = evaluate(ctx, [EXAMPLES / "chelsea.png"], ["tok/vq"], RunControl())
    assert outcome["fid"].startswith("unavailable") and "torchmetrics" in outcome["fid"]
    assert outcome["summary"][0]["rfid"].startswith("unavailable")


def test_reconstructions_become_a_labeling_session(ctx: AppContext) -> None:
    outcome = evaluate(ctx, image_paths(EXAMPLES, None), ["tok/vq", "tok/dct"], RunControl())
    session = ctx.arena.create_session("pw", SessionConfig(name="faithful", task="tok", mode="pool"))
    imported = ctx.arena.import_pool("pw", session.id, outcome["pool"])
    assert imported["models"] == ["tok/dct", "tok/vq"] and imported["items"] == 3
    served = ctx.arena.next_battle(session.id, "rater")
    assert served.input_image is not None and "faithful" in served.prompt


def test_bad_folders(ctx: AppContext, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="folder: .* is not a folder"):
        image_paths(tmp_path / "missing", None)
    with pytest.raises(InvalidInput, match="give a folder of images"):
        image_paths(tmp_path, None)
