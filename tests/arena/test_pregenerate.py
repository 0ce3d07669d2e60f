"""``python -m arena.pregenerate`` on the tiny profile, in this process and as the real command: the pool has the
layout the labeling service imports (no text chunks in the PNGs, recipes in the manifest), a run killed with
SIGKILL resumes making only what is missing and ends identical to an uninterrupted run, and bad input is a clear
error."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from arena import pregenerate
from arena.pregen_jobs import MANIFEST, TEMP_SUFFIX, Job, Params, PoolWriter, parse_seeds, plan
from arena.pregenerate import run_local
from arena.sessions import SessionConfig
from backends.core.errors import GenerationFailed, InvalidInput
from backends.core.settings import Settings
from tests.arena.pools import ADMIN
from tests.arena.pregen_cli import (
    MODELS,
    PROMPTS,
    ROOT,
    SEEDS,
    arguments,
    cli_env,
    command,
    files,
    kill_after,
    manifest,
    studio_options,
    write_prompts,
)

TOTAL = len(PROMPTS) * 2 * len(MODELS)


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_prompts(tmp_path_factory.mktemp("prompts") / "prompts.jsonl")


@pytest.fixture(scope="module")
def reference(prompts: Path, tiny_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of the real command."""
    pool = tmp_path_factory.mktemp("reference") / "pool"
    done = subprocess.run(command(prompts, pool, tiny_settings), env=cli_env(), cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{TOTAL} to make" in done.stdout and f"made {TOTAL} image(s)" in done.stdout
    return pool


# --------------------------------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "seeds"), [("0-9", tuple(range(10))), ("1,2,3", (1, 2, 3)),
                                             ("0-2, 10,20-21", (0, 1, 2, 10, 20, 21)), ("7", (7,))])
def test_seed_specs(spec: str, seeds: tuple[int, ...]) -> None:
    assert parse_seeds(spec) == seeds


@pytest.mark.parametrize(("spec", "says"), [("", "is not a seed"), ("a", "'a' is not a seed"),
                                            ("1,,2", "'' is not a seed"), ("9-0", "runs backwards"),
                                            ("-1", "is not a seed"), ("1.5", "is not a seed"),
                                            ("1,2,1", "seed 1 more than once"), ("0-3,2", "seed 2 more than once"),
                                            ("2147483648", "above the largest seed")])
def test_bad_seed_specs_name_the_option_and_the_rule(spec: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(says)) as caught:
        parse_seeds(spec)
    assert caught.value.field == "--seeds"


def test_job_ids_are_deterministic_and_change_with_every_parameter(prompts: Path) -> None:
    params = Params(width=256, height=256, steps=2, profile="tiny")
    items, jobs = plan(prompts, MODELS, (0, 1), params)
    assert [i["item_id"] for i in items] == ["fox-s0", "fox-s1", "cat-s0", "cat-s1"]
    assert len({j.job_id for j in jobs}) == TOTAL
    assert [j.job_id for j in plan(prompts, MODELS, (0, 1), params)[1]] == [j.job_id for j in jobs]
    for change in ({"steps": 3}, {"width": 512}, {"guidance": 2.0}, {"profile": "real"}, {"negative_prompt": "x"}):
        changed = plan(prompts, MODELS, (0, 1), Params(**{**params.__dict__, **change}))[1]
        assert not {j.job_id for j in changed} & {j.job_id for j in jobs}, change


# --------------------------------------------------------------------------------------------------------------------
# Local runs
# --------------------------------------------------------------------------------------------------------------------
def test_the_pool_has_the_import_layout_and_no_text_chunks(reference: Path, prompts: Path, service,
                                                           tmp_path: Path) -> None:
    lines = [json.loads(line) for line in (reference / "prompts.jsonl").read_text("utf-8").splitlines()]
    assert [(e["item_id"], e["seed"], e["source_item"]) for e in lines] == [
        ("fox-s0", 0, "fox"), ("fox-s1", 1, "fox"), ("cat-s0", 0, "cat"), ("cat-s1", 1, "cat")]
    assert lines[2]["language"] == "zh"
    records = manifest(reference)
    _, jobs = plan(prompts, MODELS, (0, 1), Params(width=256, height=256, steps=2, profile="tiny"))
    assert set(records) == {j.job_id for j in jobs}
    for job in jobs:
        record = records[job.job_id]
        with Image.open(reference / job.file) as image:
            assert image.format == "PNG" and image.size == (256, 256)
            assert image.text == {} and not image.info.keys() - {"dpi"}  # nothing names the model
        recipe = record["recipe"]
        assert (recipe["model"], recipe["seed"], recipe["prompt"], recipe["steps"], recipe["profile"]) == (
            job.model, job.seed, job.prompt, 2, "tiny")
    # Each item was made by every model on the same prompt and seed, and the labeling service imports the pool.
    session = service.create_session(ADMIN, SessionConfig(name="Bulk pool", models=MODELS, gold_rate=0.0,
                                                          repeat_rate=0.0, overlap_rate=0.0))
    imported = service.import_pool(ADMIN, session.id, shutil.copytree(reference, tmp_path / "pool"))
    assert imported["items"] == 4 and imported["models"] == sorted(MODELS)


def test_a_killed_run_resumes_with_only_what_is_missing(reference: Path, prompts: Path, tiny_settings: Settings,
                                                        tmp_path: Path) -> None:
    pool = tmp_path / "pool"
    done = kill_after(command(prompts, pool, tiny_settings), cli_env(), pool, records=2, log=tmp_path / "killed.log")
    assert 2 <= done < TOTAL
    # No half-written image under a final name: every one is whole (a temporary file may remain; it is cleaned).
    for path in pool.glob("*/*.png"):
        with Image.open(path) as image:
            image.load()
    kept = {job_id: (pool / r["file"]).stat().st_ino for job_id, r in manifest(pool).items()}

    resumed = subprocess.run(command(prompts, pool, tiny_settings), env=cli_env(), cwd=ROOT, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{done} already done, {TOTAL - done} to make" in resumed.stdout
    assert f"made {TOTAL - done} image(s)" in resumed.stdout
    # What the killed run recorded was not made again, and the pool ends as the uninterrupted run's.
    records = manifest(pool)
    assert all((pool / records[job_id]["file"]).stat().st_ino == inode for job_id, inode in kept.items())
    assert set(records) == set(manifest(reference))
    assert files(pool) == files(reference)  # same seed, same bytes
    assert not list(pool.glob(f"*/.*{TEMP_SUFFIX}"))
    assert (pool / "prompts.jsonl").read_bytes() == (reference / "prompts.jsonl").read_bytes()


def test_a_rerun_heals_leftovers_of_a_crash(reference: Path, prompts: Path, tiny_settings: Settings,
                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pool = shutil.copytree(reference, tmp_path / "pool")
    lost = pool / "t2i__flux-schnell" / "cat-s1.png"
    lost.unlink()  # recorded, but gone: made again
    (pool / "t2i__qwen-image" / f".fox-s0.png.123{TEMP_SUFFIX}").write_bytes(b"\x89PNG half")
    with (pool / MANIFEST).open("ab") as handle:
        handle.write(b'{"job_id": "half a li')  # a line cut by the crash
    argv = arguments(prompts, pool, tiny_settings)
    assert pregenerate.main(argv) == 0
    out = capsys.readouterr().out
    assert f"{TOTAL - 1} already done, 1 to make" in out and "made 1 image(s)" in out
    assert lost.is_file() and not list(pool.glob(f"*/.*{TEMP_SUFFIX}"))
    assert (pool / MANIFEST).read_bytes().endswith(b"\n")
    assert set(manifest(pool)) == set(manifest(reference))
    # And a complete pool makes nothing.
    assert pregenerate.main(argv) == 0
    assert f"{TOTAL} already done, 0 to make" in capsys.readouterr().out


@dataclass
class FakeRecipe:
    seed: int

    def to_dict(self) -> dict:
        return {"seed": self.seed}


@dataclass
class FakeResult:
    image: Image.Image
    recipe: FakeRecipe


class FailingExecutor:
    """Fails every job of the first model with seed 1, as a model whose output came out NaN would."""

    def run(self, key: str, request) -> FakeResult:
        if key == MODELS[0] and request.seed == 1:
            raise GenerationFailed("NaN pixels")
        return FakeResult(Image.new("RGB", (16, 16)), FakeRecipe(request.seed))

    def free(self, keys: list[str]) -> list[str]:
        return keys


def test_a_failing_job_is_reported_and_the_others_are_kept(tmp_path: Path, prompts: Path) -> None:
    _, jobs = plan(prompts, MODELS, (0, 1), Params(profile="tiny"))
    lines: list[str] = []
    with PoolWriter(tmp_path / "pool") as pool:
        assert run_local(pool, jobs, Params(), FailingExecutor(), lines.append) == TOTAL - 2
    assert [(job.model, job.seed) for job, _ in pool.failures] == [(MODELS[0], 1)] * 2
    assert sum("failed: GenerationFailed: NaN pixels" in line for line in lines) == 2
    assert len(manifest(tmp_path / "pool")) == TOTAL - 2


# --------------------------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "says"), [
    ({"prompts": "missing.jsonl"}, "missing.jsonl' is not a file"),
    ({"--models": ["t2i/flux-schnell", "t2i/nope"]}, "'t2i/nope' is not a text-to-image model; choose from"),
    ({"--models": ["hand/mediapipe"]}, "'hand/mediapipe' is not a text-to-image model"),
    ({"--models": ["t2i/flux-schnell", "t2i/flux-schnell"]}, "lists a model twice"),
    ({"--seeds": "0-9-3"}, "--seeds: '0-9-3'"),
    ({"--seeds": "3-1"}, "the range 3-1 runs backwards"),
    ({"--width": "100"}, "width: 100 is outside 256..2048 pixels for t2i/flux-schnell"),
    ({"--steps": "0"}, "--steps"),
    ({"--device": "gpu"}, "--device: 'gpu' is not auto, cpu, cuda, cuda:N or mps"),
    ({"bad_line": True}, "prompts.jsonl: line 3 is not valid JSON"),
])
def test_bad_input_is_a_clear_error(change: dict, says: str, tmp_path: Path, prompts: Path,
                                    tiny_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / change.get("prompts", "prompts.jsonl")
    if "prompts" not in change:
        shutil.copy(prompts, source)
    if change.get("bad_line"):
        with source.open("a", encoding="utf-8") as handle:
            handle.write("{not json\n")
    options = {"--models": list(MODELS), "--seeds": SEEDS, "--width": "256", "--height": "256", "--steps": "2",
               **{k: v for k, v in change.items() if k.startswith("--")}}
    argv = [str(source), "--out", str(tmp_path / "pool"), *studio_options(tiny_settings)]
    for option, value in options.items():
        argv += [option, *(value if isinstance(value, list) else [value])]
    assert pregenerate.main(argv) == pregenerate.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err
    assert not (tmp_path / "pool").exists()  # nothing was written


def test_a_second_run_on_the_same_pool_is_refused(tmp_path: Path, prompts: Path, tiny_settings: Settings,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with PoolWriter(tmp_path / "pool"):
        assert pregenerate.main(arguments(prompts, tmp_path / "pool", tiny_settings)) == pregenerate.EXIT_BAD_INPUT
    assert "another pregenerate run is writing" in capsys.readouterr().err


def test_a_file_is_not_a_pool_folder(tmp_path: Path, prompts: Path, tiny_settings: Settings,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pool").write_text("not a folder")
    assert pregenerate.main(arguments(prompts, tmp_path / "pool", tiny_settings)) == pregenerate.EXIT_BAD_INPUT
    assert "is a file, not a pool folder" in capsys.readouterr().err


def test_a_job_names_its_file_in_the_model_folder() -> None:
    job = Job("id", "t2i/kolors", "fox-s3", "a fox", "", 3)
    assert job.file == "t2i__kolors/fox-s3.png"
