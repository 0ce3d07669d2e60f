"""``python -m arena.pregenerate --ray`` on a local 2-CPU Ray (one cluster for the test session), tiny profile: a
driver joining the cluster by address is killed with SIGKILL mid-run; the rerun makes only what is missing, with one
Ray Data actor pool per model, and the pool ends complete with the planned job ids and imports into a session; a
job made again on Ray gives the same bytes. Skipped only where ray is not installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arena import pregenerate
from arena.pool_import import scan_pool
from arena.pregen_jobs import Params, plan
from backends.core.settings import Settings
from tests.arena.pregen_cli import MODELS, cli_env, command, kill_after, manifest, write_prompts

pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")

RAY_OBJECT_STORE_BYTES = 256 * 1024**2  # results are small PNGs: keep the shared-memory store small on CI
PROMPTS = tuple({"item_id": f"p{i}", "prompt": text} for i, text in
                enumerate(("a red fox in the snow", "一只红色的猫", "a lighthouse at dusk")))
SEEDS = (0, 1, 2)
TOTAL = len(PROMPTS) * len(SEEDS) * len(MODELS)


@pytest.fixture(scope="session")
def ray_address(tiny_settings: Settings) -> Iterator[str]:
    """A local Ray with 2 CPUs for the session (or the one this test session already runs); its GCS address."""
    import ray

    from backends.models.executors.ray_serve import connect

    started = not ray.is_initialized()
    connect(tiny_settings, num_cpus=2, log_to_driver=False, object_store_memory=RAY_OBJECT_STORE_BYTES)
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


def test_a_killed_ray_driver_resumes_with_only_what_is_missing(ray_address: str, tiny_settings: Settings,
                                                               tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    prompts = write_prompts(tmp_path / "prompts.jsonl", PROMPTS)
    pool = tmp_path / "pool"
    cmd = command(prompts, pool, tiny_settings, "--ray", ray_address, seeds="0-2")
    done = kill_after(cmd, cli_env(), pool, records=2, log=tmp_path / "killed.log")
    assert 2 <= done < TOTAL
    records = manifest(pool)
    # One image the killed run made is lost (recorded, then deleted): the rerun makes it again.
    lost_id, lost = next(iter(records.items()))
    made_before = (pool / lost["file"]).read_bytes()
    (pool / lost["file"]).unlink()
    kept = {job_id: (pool / r["file"]).stat().st_ino for job_id, r in records.items() if job_id != lost_id}

    # The rerun (this process, already connected) makes the rest on the same cluster.
    assert pregenerate.main(cmd[3:]) == 0
    out = capsys.readouterr().out
    missing = TOTAL - done + 1
    assert f"{done - 1} already done, {missing} to make in Ray ({ray_address})" in out
    assert f"made {missing} image(s)" in out and out.count("on Ray)") == missing
    records = manifest(pool)
    _, jobs = plan(prompts, MODELS, SEEDS, Params(width=256, height=256, steps=2, profile="tiny"))
    assert set(records) == {job.job_id for job in jobs}  # the ids a local run of the same plan has
    assert all((pool / records[job_id]["file"]).stat().st_ino == inode for job_id, inode in kept.items())
    assert (pool / lost["file"]).read_bytes() == made_before  # same seed, same bytes, on another actor
    assert {r["recipe"]["model"] for r in records.values()} == set(MODELS)
    planned, names = scan_pool(pool, list(MODELS))  # every image valid, in the layout the import reads
    assert len(planned) == len(PROMPTS) * len(SEEDS) and sorted(names.values()) == sorted(MODELS)
