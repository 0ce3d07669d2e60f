"""Helpers for the pregeneration tests: the command on the tiny profile, killing it mid-run, reading a pool."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from arena.pregen_jobs import MANIFEST, PoolWriter
from backends.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("t2i/flux-schnell", "t2i/qwen-image")  # two fast miniatures that take 256 px
PROMPTS = ({"item_id": "fox", "prompt": "a red fox in the snow"},
           {"item_id": "cat", "prompt": "一只红色的猫", "language": "zh"})
SEEDS = "0-1"
SIZE = ["--width", "256", "--height", "256", "--steps", "2"]


def write_prompts(path: Path, entries: tuple[dict, ...] = PROMPTS) -> Path:
    """A prompts JSONL file."""
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), "utf-8")
    return path


def cli_env() -> dict[str, str]:
    """The command's environment: this checkout importable, Ray quiet."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}


def studio_options(settings: Settings) -> list[str]:
    """The options that give the command ``settings`` (the tiny profile on the CPU, the session's miniatures)."""
    return ["--profile", settings.profile, "--device", settings.device, "--data-dir", str(settings.data_dir),
            *(["--offline"] if settings.offline else [])]


def arguments(prompts: Path, out: Path, settings: Settings, *extra: str, seeds: str = SEEDS) -> list[str]:
    """The command's arguments: ``MODELS`` at 256 px and 2 steps on ``settings``."""
    return [str(prompts), "--models", *MODELS, "--seeds", seeds, "--out", str(out), *SIZE,
            *studio_options(settings), *extra]


def command(prompts: Path, out: Path, settings: Settings, *extra: str, seeds: str = SEEDS) -> list[str]:
    """``python -m arena.pregenerate`` with ``arguments``."""
    return [sys.executable, "-m", "arena.pregenerate", *arguments(prompts, out, settings, *extra, seeds=seeds)]


def manifest(pool: Path) -> dict[str, dict]:
    """The pool's valid manifest records by job id (as a resuming run sees them)."""
    return PoolWriter(pool).records()


def kill_after(cmd: list[str], env: dict[str, str], pool: Path, records: int, log: Path) -> int:
    """Run ``cmd``, SIGKILL it once the manifest holds ``records`` lines; returns how many it holds then."""
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and process.poll() is None:
                path = pool / MANIFEST
                if path.is_file() and path.read_bytes().count(b"\n") >= records:
                    break
                time.sleep(0.02)
            assert process.poll() is None, f"the run ended before it could be killed:\n{log.read_text()}"
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait()
    return len(manifest(pool))


def files(pool: Path) -> dict[str, bytes]:
    """Every image of a pool, by path."""
    return {str(p.relative_to(pool)): p.read_bytes() for p in sorted(pool.glob("*/*.png"))}
