"""Try-on tab handlers without a browser: both methods side by side with recipes and masks, the automatic mask and
its edit, the labeling pool, evaluation on a paired folder and the data engine."""

from __future__ import annotations

import csv
import dataclasses
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arena.sessions import LabelingService
from arena.store import ArenaStore
from backends.core.errors import InvalidInput
from backends.core.imaging import read_recipe
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from tabs.common import AppContext, make_i18n
from tabs.tryon import check_methods, mask_view, run_methods, run_view, send_view, tryon, tryon_mask
from tabs.tryon_batch import eval_view, read_pairs, tryon_dataset
from tests.tabs.served import assert_unguessable

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
PERSON = PHOTOS / "hagrid_four_06aa70cc.jpg"
TSHIRT = ROOT / "assets" / "examples" / "garments" / "tshirt.png"
FAST = {"seed": 2, "steps": 1, "width": 256, "height": 320}
PASSWORD = "pw"


@pytest.fixture(scope="module")
def ctx(tiny_settings, registry, tmp_path_factory) -> AppContext:
    scratch = tmp_path_factory.mktemp("tryon-tab")
    settings = dataclasses.replace(tiny_settings, input_roots=(scratch,), data_dir=scratch / "data")
    arena = LabelingService(ArenaStore(f"sqlite:///{scratch / 'a.db'}", scratch / "images"), b"k" * 32, PASSWORD,
                            rng=random.Random(0), pool_roots=(settings.outputs_dir,))
    return AppContext(settings, registry, LocalExecutor(ModelCache(registry, settings)), make_i18n(), arena=arena)


def test_both_methods_side_by_side_with_recipes_and_the_mask(ctx: AppContext) -> None:
    outcomes = run_methods(ctx, PERSON, TSHIRT, ["tryon/catvton-maskfree", "tryon/catvton"], RunControl(),
                           category="upper", **{**FAST, "seed": None})
    free, based = outcomes
    assert free.mask is None and based.mask.is_file()
    seeds = {o.recipe["seed"] for o in outcomes}
    assert len(seeds) == 1  # a drawn seed is shared by both methods
    recipe = read_recipe(based.path)
    assert recipe["model"] == "tryon/catvton" and recipe["extra"]["method"] == "mask-based"
    assert "cc-by-nc-sa-4.0" in recipe["extra"]["license"] and recipe["random_weights"]
    assert Image.open(free.person).size == Image.open(free.path).size == (256, 320)


def test_method_selection_is_checked(ctx: AppContext) -> None:
    assert check_methods(ctx, "tryon/catvton-maskfree, tryon/catvton") == ["tryon/catvton-maskfree", "tryon/catvton"]
    assert check_methods(ctx, '["tryon/omnitry"]') == ["tryon/omnitry"]
    for bad, message in (([], "pick at least one"), (["tryon/automask"], "is not a try-on model"),
                         (["t2i/kolors"], "is not a try-on model"), (["tryon/catvton"] * 2, "selected twice")):
        with pytest.raises(InvalidInput, match=f"methods: .*{message}"):
            check_methods(ctx, bad)


def test_the_api_handlers(ctx: AppContext) -> None:
    mask, info = tryon_mask(ctx, str(PERSON), "lower")
    assert mask.size == Image.open(PERSON).size and info["category"] == "lower" and 0 < info["area_fraction"] < 0.5
    gallery, data = tryon(ctx, str(PERSON), str(TSHIRT), "upper", "tryon/catvton-maskfree,tryon/catvton", 3, 1, 2.5,
                          256, 320, None, None)
    assert [caption for _, caption in gallery] == ["CatVTON-MaskFree", "CatVTON (mask-based)"]
    assert [r["model"] for r in data["results"]] == ["tryon/catvton-maskfree", "tryon/catvton"]
    assert data["results"][1]["mask"] and data["results"][0]["recipe"]["seed"] == 3


def test_an_edited_mask_is_used_and_comparisons_feed_a_labeling_session(ctx: AppContext) -> None:
    overlay, info, editor = mask_view(ctx, str(PERSON), "upper")
    assert overlay.size == Image.open(PERSON).size and info["landmarks_used"]
    layer = np.asarray(editor["layers"][0]).copy()
    layer[:60] = (255, 255, 255, 255)  # the user paints the top of the photo too
    editor["layers"] = [Image.fromarray(layer, "RGBA")]
    pool = None
    for seed in (1, 2):
        out = run_view(ctx, str(PERSON), str(TSHIRT), "upper", ["tryon/catvton-maskfree", "tryon/catvton"], seed, 1,
                       2.5, 256, 320, editor, True, "", False, pool, None, None)
        gallery, free_slider, based_slider, omni_slider, notes, recipes, pool = out
        assert len(gallery) == 3 and gallery[2][1].endswith("mask used")  # two results and the mask
        assert recipes[1]["extra"]["mask"] == "user" and free_slider["value"][0].endswith("_person.png")
        assert free_slider["visible"] and based_slider["visible"] and not omni_slider["visible"]  # no empty box
    assert pool["items"] == 2
    # The pool holds copies of the person photo: served outputs, so its folder must not be guessable.
    assert_unguessable(pool["folder"], ctx.settings.outputs_dir / "tryon" / "pools", r"\d{8}-\d{6}")
    sent = send_view(ctx, PASSWORD, "Try-on test", pool, None)
    assert sent["items"] == 2 and sorted(sent["models"]) == ["tryon/catvton", "tryon/catvton-maskfree"]
    with pytest.raises(Exception, match="run a comparison"):
        send_view(ctx, PASSWORD, "Empty", None, None)
    inputs = Image.open(Path(pool["folder"]) / "inputs" / "00000.png")
    assert inputs.width > 1.8 * inputs.height * 256 / 320  # person and garment side by side


def paired_folder(root: Path) -> Path:
    for sub in ("person", "garment"):
        (root / sub).mkdir(parents=True)
    for name, photo in (("a", "hagrid_four_06aa70cc.jpg"), ("b", "hagrid_four_077fa4bf.jpg")):
        shutil.copy(PHOTOS / photo, root / "person" / f"{name}.jpg")
        shutil.copy(TSHIRT, root / "garment" / f"{name}.png")
    return root


def test_evaluation_on_a_paired_folder(ctx: AppContext) -> None:
    root = paired_folder(ctx.settings.input_roots[0] / "pairs")
    items = read_pairs(root, "paired")
    assert [i["truth"] for i in items] == [i["person"] for i in items]  # no truth/: the person wears the garment
    table, notes, csv_path, pool = eval_view(ctx, PASSWORD, str(root), "paired", "upper",
                                             ["tryon/catvton-maskfree", "tryon/catvton"], 1, 1, 256, 320, "", "",
                                             None, None)
    table = table.value["data"]  # a table update with headers in the reader's language
    assert [row[0] for row in table] == ["tryon/catvton-maskfree", "tryon/catvton"] and table[0][1] == 2
    assert all(0 <= row[4] <= 1 for row in table)  # preserved SSIM outside the garment region
    assert str(table[0][7]).startswith("unavailable") and "trivial for a mask-free model" in notes
    rows = list(csv.DictReader(Path(csv_path).read_text("utf-8").splitlines()))
    assert len(rows) == 4 and rows[0]["ssim"] and rows[0]["preserved_psnr"]
    assert pool["items"] == 2 and (Path(pool["folder"]) / "prompts.jsonl").is_file()
    assert_unguessable(Path(pool["folder"]).parent, ctx.settings.outputs_dir / "tryon_eval", r"\d{8}-\d{6}")


def test_batch_jobs_need_the_password_and_a_permitted_folder(ctx: AppContext) -> None:
    root = str(ctx.settings.input_roots[0])
    with pytest.raises(Exception, match="wrong admin password"):
        eval_view(ctx, "nope", root, "paired", "upper", ["tryon/catvton"], 1, 1, 256, 320, "", "", None, None)
    with pytest.raises(Exception, match="folder: '/etc' is not a folder this server may read"):
        eval_view(ctx, PASSWORD, "/etc", "paired", "upper", ["tryon/catvton"], 1, 1, 256, 320, "", "", None, None)


def test_the_data_engine_from_the_tab(ctx: AppContext) -> None:
    base = ctx.settings.input_roots[0] / "engine"
    for sub in ("persons", "garments", "backgrounds"):
        (base / sub).mkdir(parents=True)
    shutil.copy(PERSON, base / "persons" / "p.jpg")
    shutil.copy(TSHIRT, base / "garments" / "g.png")
    Image.new("RGB", (64, 64), (30, 30, 200)).save(base / "backgrounds" / "blue.png")
    manifest, summary = tryon_dataset(ctx, PASSWORD, str(base / "persons"), str(base / "garments"),
                                      str(base / "backgrounds"), "My triples", "upper", "all", 0, 1, 256, 320, None,
                                      None)
    assert summary["triples"] == 1 and Path(manifest).is_file()
    assert_unguessable(summary["folder"], ctx.settings.outputs_dir / "tryon_data", "my-triples")
