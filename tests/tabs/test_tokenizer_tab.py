"""Tokenizer tab handlers: side-by-side runs, dataset evaluation with FID plumbing, sending to a labeling session."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio.context import LocalContext
from PIL import Image

from arena.sessions import LabelingService, SessionConfig
from arena.store import ArenaStore
from backends.core.errors import InvalidInput
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from tabs.common import AppContext, make_i18n
from tabs.tokenizer import check_tokenizers, diffusion_options, robustness_ab, save_outputs, show_view, tokenize_all
from tabs.tokenizer_eval import (
    PFID_NOTE,
    evaluate,
    image_paths,
    send_view,
    summary_note,
    summary_rows,
    tokenizer_eval,
)
from tabs.tokenizer_views import metrics_rows, metrics_table, save_views, sliders, table_note
from tests.tabs.served import assert_unguessable

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"


@pytest.fixture(scope="module")
def ctx(tiny_settings, registry, tmp_path_factory) -> AppContext:
    folder = tmp_path_factory.mktemp("arena")
    # The module's admin calls all come from "local" within a minute: a limit its tests do not reach.
    arena = LabelingService(ArenaStore(f"sqlite:///{folder / 'a.db'}", folder / "images"), b"k" * 32, "pw",
                            rng=random.Random(0), admin_rate=1000)
    executor = LocalExecutor(ModelCache(registry, tiny_settings))
    return AppContext(tiny_settings, registry, executor, make_i18n(), arena=arena)


def test_side_by_side_with_a_rate_matched_dct(ctx: AppContext) -> None:
    results = tokenize_all(ctx, EXAMPLES / "coffee.png", ["tok/vq", "tok/dct"], RunControl(), alpha=0.2)
    vq, dct = results["tok/vq"].summary, results["tok/dct"].summary
    assert dct["bits"] <= vq["bits"] and dct["bits"] > 0.9 * vq["bits"]
    rows = {row[0]: row[1:] for row in metrics_rows(results)}  # one column per tokenizer, in the order chosen
    perturbed = rows["PSNR (dB), perturbed tokens"]
    assert rows["Tokens"] == [str(vq["count"]), str(dct["count"])] and "α=0.2" in perturbed[0] and perturbed[1] == "—"
    assert rows["PSNR (dB), first k tokens"] == ["—", "—"]  # neither has a token order


class FakeRequest:
    """What ``tabs.common.locale_of`` reads from a Gradio request."""

    def __init__(self, accept_language: str) -> None:
        self.headers, self.cookies = {"accept-language": accept_language}, {}


@pytest.fixture
def chinese():
    token = LocalContext.request.set(FakeRequest("zh-CN,zh;q=0.9"))
    yield
    LocalContext.request.reset(token)


@pytest.fixture(scope="module")
def compared(ctx: AppContext) -> tuple[dict, list[dict]]:
    results = tokenize_all(ctx, EXAMPLES / "coffee.png", ["tok/pca", "tok/vq"], RunControl(), prefix=8, alpha=0.25,
                           curves=False)
    return results, save_views(results, save_outputs(ctx, results))


def right(slider: gr.ImageSlider) -> str:
    """The file name of what a slider sets against the original."""
    return slider.value[1]["orig_name"]


def test_the_main_sliders_follow_the_prefix_and_alpha(compared) -> None:
    results, shown = compared
    full, prefix, perturbed = (sliders(shown, view) for view in ("full", "prefix", "perturbed"))
    assert [s.visible for s in full] == [True, True, False, False]
    pca, vq = shown
    assert full[0].label == "tok/pca: original / reconstruction" and right(full[0]) == Path(pca["full"]).name
    # PCA is ordered: its slider shows the first 8 tokens; VQ has no token order and keeps its reconstruction.
    assert prefix[0].label == "tok/pca: original / first 8 tokens" and right(prefix[0]) == Path(pca["prefix"]).name
    assert pca["prefix"].endswith("_k8.png") and full[0].value[0]["orig_name"] == Path(pca["original"]).name
    assert "no token order" in prefix[1].label and right(prefix[1]) == Path(vq["full"]).name
    assert right(perturbed[1]) == Path(vq["perturbed"]).name
    # VQ is discrete: its slider shows the perturbed tokens with alpha and delta in the label; PCA cannot be perturbed.
    assert perturbed[1].label == "tok/vq: original / perturbed, α = 0.25, δ = 8"
    assert "continuous tokens" in perturbed[0].label
    assert all(Path(item[name]).is_file() for item in shown for name in ("original", "full"))
    assert Path(vq["perturbed"]).is_file() and vq["prefix"] is None and pca["perturbed"] is None
    assert show_view(None, None, "prefix") == [gr.skip()] * 4  # nothing to switch before a comparison


def test_the_metrics_table_fits_and_speaks_chinese(compared, chinese) -> None:
    results, _ = compared
    table = metrics_table(results)
    assert table.visible and table.headers == ["指标", "tok/pca", "tok/vq"]
    widths = [float(w.rstrip("%")) for w in table.column_widths]
    assert len(widths) == 3 and abs(sum(widths) - 100) < 0.1
    assert table.value["data"][0][0] == "token 数" and "PSNR" in table.value["data"][3][0]
    note = table_note(results)
    assert "越高越好" in note and note.count("LPIPS") >= 1
    labels = [s.label for s in sliders(compared[1], "prefix")[:2]]
    assert labels[0] == "tok/pca：原图 / 前 8 个 token" and "无顺序" in labels[1]


@pytest.mark.parametrize("keys, message", [([], "pick at least one"), (["t2i/kolors"], "not a tokenizer"),
                                           (["tok/lactok"], "not available here"), (["tok/pca"] * 2, "different")])
def test_tokenizer_selection_is_checked(ctx: AppContext, keys: list, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"tokenizers: .*{message}"):
        check_tokenizers(ctx, keys)


def test_dataset_evaluation_with_a_small_feature_extractor(ctx: AppContext, tmp_path: Path) -> None:
    projection = np.random.default_rng(0).normal(size=(48, 16))

    def features(images: list[np.ndarray]) -> np.ndarray:  # 4x4 average pooling then a fixed random projection
        pooled = [np.asarray(Image.fromarray((i * 255).astype(np.uint8)).resize((4, 4)), float).ravel() / 255
                  for i in images]
        return np.asarray(pooled) @ projection

    outcome = evaluate(ctx, image_paths(EXAMPLES, None, (EXAMPLES,)), ["tok/vq", "tok/pca"], RunControl(), alpha=0.5,
                       delta=8, features=features, pool=True)
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
    assert_unguessable(outcome["csv"].parent, ctx.settings.outputs_dir / "tokenizer_eval", r"\d{8}-\d{6}")


def test_without_inception_fid_is_reported_unavailable(ctx: AppContext) -> None:
    outcome = evaluate(ctx, [EXAMPLES / "chelsea.png"], ["tok/vq", "tok/pca"], RunControl())
    assert outcome["fid"].startswith("unavailable") and "torchmetrics" in outcome["fid"]
    assert outcome["summary"][0]["rfid"].startswith("unavailable")
    # On screen: "—" in every rFID / pFID cell, and why, once, in the note.
    rows = {row[0]: row[1:] for row in summary_rows(outcome["summary"])}
    assert rows["rFID"] == rows["pFID"] == ["—", "—"] and rows["Images"] == ["1", "1"]
    note = summary_note({"summary": outcome["summary"], "fid": outcome["fid"]})
    assert note.count(outcome["fid"].removeprefix("unavailable: ")) == 1 and note.count("not computed here") == 1
    assert "α = 0.5" in note


def test_the_evaluation_note_says_why_a_value_is_missing(ctx: AppContext, chinese) -> None:
    summary = [{"tokenizer": "tok/vq", "images": 3, "psnr": 20.0, "ssim": 0.5, "ms_ssim": 0.7, "bits_per_pixel": 0.1,
                "rfid": 12.5, "pfid": 30.25, "perturbation": {"alpha": 0.5, "delta": 8, "seed": 0}},
               {"tokenizer": "tok/pca", "images": 3, "psnr": 30.0, "ssim": 0.9, "ms_ssim": 0.95, "bits_per_pixel": 2,
                "rfid": 3.5, "pfid": "continuous tokens: no perturbation",
                "perturbation": {"alpha": 0.5, "delta": 8, "seed": 0}}]
    rows = {row[0]: row[1:] for row in summary_rows(summary)}
    assert rows["rFID"] == ["12.5", "3.5"] and rows["pFID"] == ["30.25", "—"] and rows["图片数"] == ["3", "3"]
    note = summary_note({"summary": summary, "fid": "computed"})
    assert "Inception-v3" in note and "连续分词器的 pFID 为 —" in note and "δ = 8" in note


def test_reconstructions_become_a_labeling_session(ctx: AppContext) -> None:
    outcome = evaluate(ctx, image_paths(EXAMPLES, None, (EXAMPLES,)), ["tok/vq", "tok/dct"], RunControl(), pool=True)
    session = ctx.arena.create_session("pw", SessionConfig(name="faithful", task="tok", mode="pool"))
    imported = ctx.arena.import_pool("pw", session.id, outcome["pool"], trusted=True)  # the studio wrote it
    assert imported["models"] == ["tok/dct", "tok/vq"] and imported["items"] == 3
    served = ctx.arena.next_battle(session.id, "rater")
    assert served.input_image is not None and "faithful" in served.prompt


def test_bad_folders(ctx: AppContext, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="folder: .* is not a folder"):
        image_paths(tmp_path / "missing", None, (tmp_path,))
    with pytest.raises(InvalidInput, match="give a folder of images"):
        image_paths(tmp_path, None, (tmp_path,))
    with pytest.raises(InvalidInput, match="folder: server folders are disabled .* STUDIO_INPUT_ROOTS"):
        image_paths(EXAMPLES, None)  # no roots configured: uploads only
    with pytest.raises(InvalidInput, match="is not a folder this server may read"):
        image_paths(EXAMPLES, None, (tmp_path,))


def test_the_robustness_ab_is_one_architecture_trained_two_ways(ctx: AppContext) -> None:
    keys, alpha, delta = robustness_ab(ctx)
    assert keys == ["tok/xqgan-4096", "tok/robusttok"] and (alpha, delta) == (0.5, 50)
    results = tokenize_all(ctx, EXAMPLES / "coffee.png", check_tokenizers(ctx, keys), RunControl(), alpha=alpha,
                           delta=delta, curves=False)
    xqgan, robust = (results[k].summary for k in keys)
    assert xqgan["shape"] == robust["shape"] == [16, 16] and xqgan["bits"] == robust["bits"] == 256 * 12
    assert xqgan["perturbation"]["delta"] == robust["perturbation"]["delta"] == 50
    assert results[keys[0]].recipe.revision != results[keys[1]].recipe.revision  # two miniatures, two "trainings"


def test_diffusion_settings_reach_semanticist(ctx: AppContext) -> None:
    assert diffusion_options(None, "") == {}
    assert diffusion_options(3, 2.5) == {"steps": 3, "guidance": 2.5}
    with pytest.raises(InvalidInput, match="steps: 0 is below"):
        diffusion_options(0, None)
    results = tokenize_all(ctx, EXAMPLES / "coffee.png", ["tok/semanticist"], RunControl(), curves=False,
                           **diffusion_options(2, 1.0))
    assert results["tok/semanticist"].recipe.extra["steps"] == 2


def test_evaluation_writes_alpha_delta_and_seed_beside_every_row(ctx: AppContext) -> None:
    outcome = evaluate(ctx, [EXAMPLES / "chelsea.png"], ["tok/vq", "tok/pca"], RunControl(), alpha=0.25, delta=4,
                       seed=9)
    rows = {r["tokenizer"]: r for r in outcome["rows"]}
    assert (rows["tok/vq"]["alpha"], rows["tok/vq"]["delta"], rows["tok/vq"]["seed"]) == (0.25, 4, 9)
    assert rows["tok/pca"]["alpha"] is None  # continuous tokens are not perturbed
    assert outcome["summary"][0]["perturbation"] == {"alpha": 0.25, "delta": 4, "seed": 9}
    assert "unreleased" in PFID_NOTE


def test_sending_an_evaluation_trusts_only_the_studios_own_pools(ctx: AppContext, tmp_path: Path) -> None:
    outcome = evaluate(ctx, [EXAMPLES / "chelsea.png"], ["tok/vq", "tok/pca"], RunControl(), pool=True)
    sent = send_view(ctx, "pw", "faithful", str(outcome["pool"]))
    assert sent["items"] == 1 and sent["models"] == ["tok/pca", "tok/vq"]
    with pytest.raises(gr.Error, match="STUDIO_INPUT_ROOTS"):  # a folder a client names is confined
        send_view(ctx, "pw", "elsewhere", str(tmp_path))


def test_a_refused_folder_leaves_no_session_behind(ctx: AppContext, tmp_path: Path) -> None:
    before = {s.id for s in ctx.arena.store.sessions()}
    for folder, message in ((str(tmp_path), "STUDIO_INPUT_ROOTS"), ("/etc", "STUDIO_INPUT_ROOTS"),
                            (str(ctx.settings.outputs_dir / "tokenizer_eval" / "no-such-run"), "not a folder")):
        with pytest.raises(gr.Error, match=message):
            send_view(ctx, "pw", "refused", folder)
    with pytest.raises(gr.Error, match="wrong admin password"):
        send_view(ctx, "guess", "refused", str(tmp_path))
    assert {s.id for s in ctx.arena.store.sessions()} == before


def test_the_public_evaluation_writes_no_pool_without_the_admin_password(ctx: AppContext, tmp_path: Path) -> None:
    """Anyone may measure uploads; keeping them as a labeling pool (copies under the served outputs) or reading a
    server folder needs the admin password, checked before the folder is looked at."""
    files = [str(EXAMPLES / "chelsea.png")]
    path, data = tokenizer_eval(ctx, "", files, ["tok/vq", "tok/pca"])
    out = Path(path).parent
    assert data["pool"] == "" and data["summary"][0]["images"] == 1
    assert sorted(p.name for p in out.iterdir()) == ["results.csv", "summary.json"]  # no copies of the upload
    with pytest.raises(gr.Error, match="evaluate with the admin password"):
        send_view(ctx, "pw", "nothing to send", data["pool"])
    written = set(ctx.settings.outputs_dir.rglob("*"))
    with pytest.raises(gr.Error, match="folder: reading a server folder needs the admin password"):
        tokenizer_eval(ctx, str(EXAMPLES), None, ["tok/vq"])
    with pytest.raises(gr.Error, match="admin_password: wrong admin password"):
        tokenizer_eval(ctx, "", files, ["tok/vq"], admin_password="guess")
    assert set(ctx.settings.outputs_dir.rglob("*")) == written  # refused: nothing written
    path, data = tokenizer_eval(ctx, "", files, ["tok/vq", "tok/pca"], admin_password="pw")
    assert Path(data["pool"]) == Path(path).parent / "pool" and (Path(data["pool"]) / "prompts.jsonl").is_file()
    assert send_view(ctx, "pw", "kept", data["pool"])["items"] == 1
