"""The leaderboard end to end, from a battle file and from the store, against FastChat's pipeline in the same run.

1,000,000 simulated battles among 64 models (seeded; ``bench/leaderboard.py``'s simulation), 1,000 bootstrap
rounds, FastChat ties, written once as FastChat battle JSONL (model_a, model_b, winner, tstamp, judge). Timed:

* **FastChat** (the baseline): ``pd.read_json(lines=True)``, the model index as FastChat's ``preprocess_for_bt``
  builds it, then ``compute_bt`` + ``compute_bootstrap_bt`` (``published`` in ``bench/leaderboard.py``: one
  L-BFGS-B fit per round; rounds beyond ``--baseline-rounds`` extrapolated linearly).
* **CLI**: ``python -m arena.leaderboard FILE --ties fastchat --bootstrap 1000`` as a subprocess, wall clock,
  interpreter start included. FastChat and the CLI run ``--repeats`` times each, alternating; medians are compared.
* **Store**: the file imported through ``LabelingService.import_battles`` (battles/s), then the studio's
  ``/leaderboard`` API over HTTP (a studio started on that database; bootstrap 1000, FastChat ties), on SQLite and,
  when ``--pg URL`` or ``STUDIO_TEST_DATABASE_URL`` names a scratch PostgreSQL database, on PostgreSQL.

Targets: the CLI and ``/leaderboard`` each at most 1/8 of FastChat's end-to-end time; import at least 50k
battles/s.

    python bench/leaderboard_e2e.py [--battles 1000000] [--models 64] [--rounds 1000] [--baseline-rounds 1000]
        [--pg postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from leaderboard import published, simulate  # noqa: E402
from vote_ingestion import call  # noqa: E402

from arena.battle_table import Battles  # noqa: E402
from arena.sessions import LabelingService  # noqa: E402
from tests.e2e.conftest import ADMIN_PASSWORD, start_studio, stop_studio  # noqa: E402

WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")


def write_jsonl(battles: Battles, path: Path) -> None:
    """The battles as FastChat JSONL, one judge per 1,000 battles."""
    with path.open("w", encoding="utf-8") as handle:
        for k in range(len(battles)):
            handle.write(json.dumps({"model_a": battles.models[battles.a[k]], "model_b": battles.models[battles.b[k]],
                                     "winner": WINNERS[battles.outcome[k]], "tstamp": 1.7e9 + k,
                                     "judge": f"judge-{k // 1000}"}) + "\n")


def fastchat(path: Path, rounds: int, measured: int, seed: int) -> dict:
    """FastChat end to end: read with pandas, index the models, fit and bootstrap."""
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_json(path, lines=True, dtype=False)
    models = pd.concat([frame["model_a"], frame["model_b"]]).unique()
    index = pd.Series(np.arange(len(models)), index=models)
    a, b = index[frame["model_a"]].to_numpy(), index[frame["model_b"]].to_numpy()
    outcome = frame["winner"].map({w: k for k, w in enumerate(WINNERS)}).to_numpy()
    read = time.perf_counter() - started
    fitted = published(Battles(tuple(models), a, b, outcome.astype(np.int8)), rounds, measured, seed)
    return {"seconds": read + fitted["seconds"], "read": read, "fit": fitted["seconds"]}


def cli(path: Path, rounds: int, seed: int, out: Path) -> float:
    """Wall seconds of the leaderboard CLI on the file (a fresh interpreter, as a user runs it)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "arena.leaderboard", str(path), "--ties", "fastchat", "--bootstrap",
                    str(rounds), "--seed", str(seed), "--json", str(out)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def store_run(name: str, path: Path, tmp: Path, url: str, rounds: int, seed: int) -> dict:
    """Import the file into a store, then time /leaderboard over HTTP from a studio on that database."""
    data = tmp / f"{name}-data"
    service = LabelingService.open(data, url, ADMIN_PASSWORD, admin_rate=1000)
    started = time.perf_counter()
    imported = service.import_battles(ADMIN_PASSWORD, path, f"bench {name}")
    import_s = time.perf_counter() - started
    session = imported["session"]
    started = time.perf_counter()
    service.battles_for_rating(session)
    read_s = time.perf_counter() - started
    service.store.close()
    studio = start_studio(data, tmp / f"{name}-studio.log",
                          {"STUDIO_DATABASE_URL": url} if url else None)
    try:
        with httpx.Client(timeout=600) as http:
            arguments = [session, "fastchat", "overall", "all", "all", False, rounds, seed, "bootstrap"]
            # A first board with other settings pays the one-time imports (scipy); the timed one is then computed
            # from the store (a board with the same votes and settings would come from the live-board memory).
            call(http, studio.url, "leaderboard", [*arguments[:6], 10, seed, "bootstrap"])
            started = time.perf_counter()
            board = call(http, studio.url, "leaderboard", arguments)[0]
            http_s = time.perf_counter() - started
            started = time.perf_counter()
            call(http, studio.url, "leaderboard", arguments)
            again_s = time.perf_counter() - started
    finally:
        stop_studio(studio)
    return {"import_s": import_s, "battles_per_s": imported["battles"] / import_s, "read_s": read_s,
            "leaderboard_s": http_s, "again_s": again_s, "n_battles": board["n_battles"], "models": board["models"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1_000)
    parser.add_argument("--baseline-rounds", type=int, default=1_000,
                        help="rounds FastChat is timed on (the rest extrapolated linearly)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="FastChat and CLI runs (alternating; medians)")
    parser.add_argument("--pg", default=os.environ.get("STUDIO_TEST_DATABASE_URL", ""),
                        help="a scratch PostgreSQL database (SQLAlchemy URL); its tables are used as they are")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-board-"))
    path = tmp / "battles.jsonl"
    write_jsonl(simulate(args.battles, args.models, args.seed), path)
    print(f"{args.battles:,} battles, {args.models} models, {args.rounds:,} bootstrap rounds, FastChat ties; "
          f"{path.stat().st_size / 1e6:.0f} MB of JSONL")

    # Median of --repeats runs each (alternating), so one noisy run on a shared machine decides neither side.
    bases, clis = [], []
    for _ in range(args.repeats):
        bases.append(fastchat(path, args.rounds, min(args.baseline_rounds, args.rounds), args.seed))
        clis.append(cli(path, args.rounds, args.seed, tmp / "cli.json"))
    base = sorted(bases, key=lambda run: run["seconds"])[len(bases) // 2]
    cli_s = sorted(clis)[len(clis) // 2]
    base_runs = ", ".join(f"{run['seconds']:.2f}" for run in bases)
    print(f"FastChat  {base['seconds']:6.2f} s end to end (read {base['read']:.2f} s, fit + bootstrap "
          f"{base['fit']:.2f} s; median of {base_runs} s)")
    print(f"CLI runs: {', '.join(f'{c:.2f}' for c in clis)} s")
    print(f"CLI       {cli_s:6.2f} s end to end: 1/{base['seconds'] / cli_s:.1f} of FastChat (target <= 1/8: "
          f"{'met' if base['seconds'] >= 8 * cli_s else 'MISSED'})")
    stores = [("sqlite", "")] + ([("postgresql", args.pg)] if args.pg else [])
    for name, url in stores:
        run = store_run(name, path, tmp, url, args.rounds, args.seed)
        print(f"{name:<10} import {run['import_s']:6.2f} s ({run['battles_per_s']:,.0f} battles/s; target >= "
              f"50,000: {'met' if run['battles_per_s'] >= 50_000 else 'MISSED'}); rating table read "
              f"{run['read_s']:.2f} s; /leaderboard over HTTP {run['leaderboard_s']:.2f} s: "
              f"1/{base['seconds'] / run['leaderboard_s']:.1f} of FastChat (target <= 1/8: "
              f"{'met' if base['seconds'] >= 8 * run['leaderboard_s'] else 'MISSED'})")
        mine = json.loads((tmp / "cli.json").read_text())
        gap = max(abs(a["rating"] - b["rating"]) for a, b in zip(
            sorted(mine["models"], key=lambda r: r["model"]), sorted(run["models"], key=lambda r: r["model"]),
            strict=True))
        print(f"{'':<10} {run['n_battles']:,} battles rated; max |rating from store - rating from CLI| = "
              f"{gap:.4f} Elo; the same board asked again (live-board memory) {run['again_s']:.2f} s")
    if not args.pg:
        print("PostgreSQL: not measured (set --pg or STUDIO_TEST_DATABASE_URL, e.g. under scripts/with-postgres.sh)")


if __name__ == "__main__":
    main()
