"""Pools generated in bulk, the parts every runner shares: the plan (items and deterministic job ids), the pool
folder written durably with its manifest, and one job run through the studio's executor.

The pool is the folder ``LabelingService.import_pool`` reads (``arena/pool_import.py``): ``POOL/prompts.jsonl`` with
one item per (prompt, seed), so every model is compared on the same prompt and seed, and
``POOL/<model>/<item_id>.png`` (``t2i/kolors`` is written as the folder ``t2i__kolors``, as dataset exports do).
The PNGs carry no text chunks (they would tell annotators the model); each image's recipe goes into the sidecar
``POOL/manifest.jsonl`` instead.

Resuming: every job (item, prompt, model, seed and the generation parameters) has a deterministic id. An image is
written to a temporary file, fsynced and renamed into place, and only then is its manifest line appended and
fsynced, so the manifest lists exactly the images that are whole on disk. A rerun makes only the jobs the manifest
does not list; a killed run leaves no half-written image (temporary files are removed by the next run).

Layers: the arena depends on ``backends.core`` only; this module and ``arena/pregen_ray.py`` are the exceptions
(``ignore_imports`` in ``pyproject.toml``) because they run models. Every model-layer import is inside a function.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from PIL import Image

from arena.pool_import import read_prompts
from backends.core.errors import InvalidInput
from backends.core.imaging import to_rgb
from backends.core.settings import Settings
from backends.core.validation import MAX_SEED

MANIFEST = "manifest.jsonl"
LOCK = ".pregenerate.lock"
TEMP_SUFFIX = ".part"
JOB_VERSION = 1  # part of every job id: bump when the meaning of a job changes
MAX_ITEM_ID = 200  # pool_import's limit on an item id (it names a file)

Report = Callable[[str], None]  # where a runner prints its progress lines


# --------------------------------------------------------------------------------------------------------------------
# The plan: items and jobs
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Params:
    """Generation parameters shared by every job of a run (part of each job id).

    Attributes:
        width: output width in pixels.
        height: output height in pixels.
        steps: denoising steps, or None for each model card's default.
        guidance: guidance strength, or None for each model card's default.
        negative_prompt: default negative prompt (a prompts line may carry its own).
        profile: ``"real"`` or ``"tiny"``: a miniature's image never stands in for a real model's.
    """

    width: int = 1024
    height: int = 1024
    steps: int | None = None
    guidance: float | None = None
    negative_prompt: str = ""
    profile: str = "real"


@dataclass(frozen=True)
class Job:
    """One image to make: one model on one (prompt, seed) item.

    Attributes:
        job_id: deterministic id from the item, prompt, model, seed and ``Params``.
        model: registry key.
        item_id: the pool item (``<source item>-s<seed>``).
        prompt: the prompt.
        negative_prompt: the negative prompt.
        seed: the seed.
    """

    job_id: str
    model: str
    item_id: str
    prompt: str
    negative_prompt: str
    seed: int

    @property
    def file(self) -> str:
        """The image's path inside the pool."""
        return f"{model_folder(self.model)}/{self.item_id}.png"


def model_folder(key: str) -> str:
    """The pool folder of a registry key (``t2i/kolors`` -> ``t2i__kolors``; pool_import maps it back)."""
    return key.replace("/", "__")


def parse_seeds(spec: str) -> tuple[int, ...]:
    """Seeds from ``"0-9"``, ``"1,2,3"`` or a mix such as ``"0-3,10,20-21"``, in the order given.

    Raises:
        InvalidInput: naming ``--seeds``: an empty part, a non-integer, a range that runs backwards, a seed outside
            0..MAX_SEED, or a seed listed twice.
    """
    seeds: list[int] = []
    parts = str(spec).split(",")
    for part in parts:
        text = part.strip()
        low, dash, high = text.partition("-")
        if not text or not low.strip().isdigit() or (dash and not high.strip().isdigit()):
            raise InvalidInput("--seeds", f"{spec!r}: {text!r} is not a seed or a range like 0-9 (seeds are whole "
                                          "numbers >= 0, separated by commas)")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise InvalidInput("--seeds", f"{spec!r}: the range {text} runs backwards (write {last}-{first})")
        if last > MAX_SEED:
            raise InvalidInput("--seeds", f"{spec!r}: {last} is above the largest seed, {MAX_SEED}")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        twice = sorted({s for s in seeds if seeds.count(s) > 1})
        raise InvalidInput("--seeds", f"{spec!r} lists seed {twice[0]} more than once")
    return tuple(seeds)


def job_id(item_id: str, prompt: str, negative_prompt: str, model: str, seed: int, params: Params) -> str:
    """The deterministic id of one job (a sha256 of its canonical JSON, 32 hex digits).

    The item id is part of it because it names the file; the width, height, steps, guidance and profile are.
    """
    fields = {"v": JOB_VERSION, "item_id": item_id, "prompt": prompt, "negative_prompt": negative_prompt,
              "model": model, "seed": seed, "width": params.width, "height": params.height, "steps": params.steps,
              "guidance": params.guidance, "profile": params.profile}
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def plan(prompts: Path, models: Sequence[str], seeds: Sequence[int],
         params: Params) -> tuple[list[dict[str, Any]], list[Job]]:
    """Read ``prompts`` and list the pool's items (one per prompt and seed) and its jobs (one per item and model).

    Args:
        prompts: JSONL, one object per line with ``item_id`` and ``prompt`` (optional ``language``,
            ``negative_prompt``): the pool format's own ``prompts.jsonl``.
        models: registry keys.
        seeds: seeds.
        params: shared generation parameters.

    Returns:
        The pool's ``prompts.jsonl`` entries, and the jobs grouped by model (in ``models`` order).

    Raises:
        InvalidInput: a missing file, a bad line (named), or an item id too long once its seed is added.
    """
    if not prompts.is_file():
        raise InvalidInput("prompts", f"{str(prompts)!r} is not a file (JSONL: one {{\"item_id\", \"prompt\"}} "
                                      "object per line)")
    try:
        entries = read_prompts(prompts)
    except InvalidInput as exc:  # name the file given, whatever it is called
        raise InvalidInput(str(prompts), exc.reason) from None
    items: list[dict[str, Any]] = []
    for entry in entries:
        negative = str(entry.get("negative_prompt") or params.negative_prompt)
        for seed in seeds:
            # "<id>-s<seed>" is one-to-one: the seed is the digits after the last "-s".
            item_id = f"{entry['item_id']}-s{seed}"
            if len(item_id) > MAX_ITEM_ID:
                raise InvalidInput("prompts", f"item_id {entry['item_id']!r} is too long to add its seed "
                                              f"(at most {MAX_ITEM_ID} characters with '-s{seed}')")
            item = {"item_id": item_id, "prompt": entry["prompt"], "seed": seed, "source_item": entry["item_id"]}
            if entry.get("language"):
                item["language"] = entry["language"]
            if negative:
                item["negative_prompt"] = negative
            items.append(item)
    jobs = [Job(job_id(item["item_id"], item["prompt"], item.get("negative_prompt", ""), model, item["seed"],
                       params), model, item["item_id"], item["prompt"], item.get("negative_prompt", ""), item["seed"])
            for model in models for item in items]
    return items, jobs


# --------------------------------------------------------------------------------------------------------------------
# The pool on disk: durable images and the manifest
# --------------------------------------------------------------------------------------------------------------------
def png_without_text(image: Image.Image) -> bytes:
    """PNG bytes with no text chunks (deterministic: the same pixels give the same bytes)."""
    buffer = io.BytesIO()
    to_rgb(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class PoolWriter:
    """The pool folder of one run: holds its lock, knows what is done, writes images durably.

    Use as a context manager; a second run on the same folder is refused while this one holds it.

    Args:
        root: the pool folder (created).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock: IO[bytes] | None = None
        self._manifest: IO[bytes] | None = None
        self.saved = 0  # images written by this run
        self.failures: list[tuple[Job, str]] = []  # jobs a model failed on, with the error

    def __enter__(self) -> PoolWriter:
        if self.root.exists() and not self.root.is_dir():
            raise InvalidInput("--out", f"{str(self.root)!r} is a file, not a pool folder")
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = (self.root / LOCK).open("ab")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise InvalidInput("--out", f"another pregenerate run is writing {self.root}") from None
        self._clean()
        self._manifest = (self.root / MANIFEST).open("ab")
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in (self._manifest, self._lock):
            if handle is not None:
                handle.close()

    def _clean(self) -> None:
        """Remove temporary files of a killed run and a manifest line it left half-written."""
        for temp in self.root.glob(f"*/.*{TEMP_SUFFIX}"):
            temp.unlink()
        manifest = self.root / MANIFEST
        if manifest.is_file():
            data = manifest.read_bytes()
            if data and not data.endswith(b"\n"):
                with manifest.open("r+b") as handle:
                    handle.truncate(data.rfind(b"\n") + 1)
                    os.fsync(handle.fileno())

    def records(self) -> dict[str, dict[str, Any]]:
        """Manifest records by job id whose image is on disk with the size recorded."""
        manifest = self.root / MANIFEST
        done: dict[str, dict[str, Any]] = {}
        if not manifest.is_file():
            return done
        for number, line in enumerate(manifest.read_text("utf-8").splitlines(), start=1):
            try:
                record = json.loads(line)
                path = self.root / record["file"]
                if path.is_file() and path.stat().st_size == record["bytes"]:
                    done[record["job_id"]] = record
            except (ValueError, KeyError, TypeError):
                print(f"warning: {manifest}:{number} is not a manifest record; its job will be made again",
                      file=sys.stderr)
        return done

    def write_prompts(self, items: Iterable[dict[str, Any]]) -> None:
        """Write the pool's ``prompts.jsonl`` (atomically)."""
        text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
        self._write_atomic(self.root / "prompts.jsonl", text.encode("utf-8"))

    def save(self, job: Job, png: bytes, recipe: dict[str, Any]) -> None:
        """Write ``job``'s image durably, then record it (with its recipe) in the manifest."""
        self._write_atomic(self.root / job.file, png)
        record = {"job_id": job.job_id, "model": job.model, "item_id": job.item_id, "seed": job.seed,
                  "file": job.file, "bytes": len(png), "sha256": hashlib.sha256(png).hexdigest(), "recipe": recipe}
        assert self._manifest is not None, "PoolWriter is used outside its with-block"
        self._manifest.write((json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
        self._manifest.flush()
        os.fsync(self._manifest.fileno())
        self.saved += 1

    def fail(self, job: Job, error: str) -> None:
        """Note that ``job`` failed (it stays missing: the next run tries it again)."""
        self.failures.append((job, error))

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)  # atomic: the final name only ever holds a whole file
        _fsync_dir(path.parent)  # and the rename itself survives a crash


# --------------------------------------------------------------------------------------------------------------------
# One job through the executor (the model layer is imported here, inside functions)
# --------------------------------------------------------------------------------------------------------------------
def local_executor(settings: Settings) -> Any:
    """The studio's in-process executor over a model cache (nothing is loaded yet)."""
    from backends.models.cache import ModelCache
    from backends.models.executors.local import LocalExecutor
    from backends.models.registry import default_registry

    return LocalExecutor(ModelCache(default_registry(), settings))


def request_for(job: Job, params: Params) -> Any:
    """The text-to-image request of ``job``."""
    from backends.tasks.t2i.types import T2IRequest

    return T2IRequest(prompt=job.prompt, negative_prompt=job.negative_prompt, seed=job.seed, width=params.width,
                      height=params.height, steps=params.steps, guidance=params.guidance)


def render(executor: Any, job: Job, params: Params) -> tuple[bytes, dict[str, Any]]:
    """Run ``job`` through ``executor``: the PNG bytes (no text chunks) and the recipe."""
    result = executor.run(job.model, request_for(job, params))
    return png_without_text(result.image), result.recipe.to_dict()


def describe(exc: BaseException) -> str:
    """An error as one line: its class and message."""
    return f"{type(exc).__name__}: {exc}"
