"""Vote ingestion, this code against an earlier commit, measured in the same run on the same machine.

Two measurements, each made on this checkout and on a baseline checkout (by default a git worktree of
``--baseline-rev``, the last commit before the labeling-at-scale work):

* **HTTP**: the studio (``python app.py``, tiny profile, SQLite) with ``--annotators`` concurrent annotators, each
  with its own HTTP client and Gradio session doing, per vote, ``/arena_next``, the download of both images, and
  ``/arena_vote`` (Gradio's REST protocol: POST the call, then read its event stream), each acknowledged before the
  next. The rate is measured over ``--seconds`` after ``--warmup`` seconds of the same load (every annotator's
  Gradio session made, images shown before kept ready to serve), as a studio runs for hours; the rate over the whole
  run from a cold start is printed too.
* **In-process**: the same number of threads calling ``LabelingService.next_battle`` and ``vote`` directly (no
  HTTP), and the ingestion of votes alone (battles served first, then the votes sent).

Pool images are ``--size`` pixels square, smooth and photo-like, so the per-serve PNG cost is a realistic one.
Every acknowledged vote is checked to be in the database exactly once. Targets: HTTP at least 5x the baseline;
in-process at least 500 votes/s.

    python bench/vote_ingestion.py [--annotators 50] [--seconds 20] [--warmup 10] [--size 768]
        [--baseline PATH | --baseline-rev REV]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import ADMIN_PASSWORD, Studio, free_port, stop_studio  # noqa: E402

BASELINE_REV = "9eb7239"  # the last commit before the labeling-at-scale work (issue 15)
MODELS = ("alpha", "beta", "gamma", "delta")

# Runs inside a checkout (this one or the baseline), so it only uses the service API both share.
IN_PROCESS = r'''
import json, random, sys, threading, time
from pathlib import Path
from arena.sessions import LabelingService, SessionConfig
data, pool, annotators, seconds, mode = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), \
    sys.argv[5]
service = LabelingService.open(data, admin_password="pw", pool_roots=(pool.parent,), rng=random.Random(0))
config = SessionConfig(name="bench", gold_rate=0, repeat_rate=0, overlap_rate=0, target_votes=10**7,
                       max_votes_per_minute=600)
session = service.create_session("pw", config).id
service.import_pool("pw", session, pool)
if mode == "session":
    print(json.dumps({"session": session}))
    sys.exit(0)
lock, acked = threading.Lock(), []
def run(work):
    threads = [threading.Thread(target=work, args=(i,)) for i in range(annotators)]
    started = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    return time.perf_counter() - started
deadline = time.perf_counter() + seconds
def cycle(i):
    while time.perf_counter() < deadline:
        served = service.next_battle(session, f"annotator {i}")
        service.vote(served.battle_id, f"annotator {i}", "left")
        with lock: acked.append(served.battle_id)
cycle_seconds = run(cycle)
cycles = len(acked)
# Votes alone: one battle served to each of many annotators first, then all the votes sent.
people = [f"voter {k}" for k in range(annotators * 40)]
served = {}
def serve(i):
    for who in people[i::annotators]:
        battle = service.next_battle(session, who).battle_id
        with lock: served[who] = battle
run(serve)
def vote(i):
    for who in people[i::annotators]:
        service.vote(served[who], who, "left")
        with lock: acked.append(served[who])
vote_seconds = run(vote)
stored = [r["id"] for r in service.store.battle_rows(session) if r["outcome"]]
print(json.dumps({"cycles_per_s": cycles / cycle_seconds, "votes_per_s": len(people) / vote_seconds,
                  "acked": len(acked), "lost": len(set(acked) - set(stored)),
                  "duplicated": len(stored) - len(set(stored))}))
'''


def make_pool(root: Path, size: int, items: int) -> Path:
    """A pool of smooth, photo-like images (gradients, shapes, faint noise) that PNG compresses as it would a
    generated image, one colour scheme per model."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size] / size
    lines = []
    for i in range(items):
        lines.append(json.dumps({"item_id": f"it{i}", "prompt": f"a painted landscape number {i}"}))
        for k, model in enumerate(MODELS):
            base = np.stack([np.sin(3 * xx + k + i), np.cos(2 * yy + k), np.sin(xx * yy * 5 + i)], -1)
            pixels = (127 + 100 * base + rng.normal(0, 2, base.shape)).clip(0, 255).astype(np.uint8)
            image = Image.fromarray(pixels)
            ImageDraw.Draw(image).ellipse((size // 4, size // 4, size // 2 + k * 20, size // 2 + i % 50),
                                          fill=(200, 60 + 40 * k, 90))
            (root / model).mkdir(exist_ok=True)
            image.save(root / model / f"it{i}.png")
    (root / "prompts.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return root


def checkout(args: argparse.Namespace, tmp: Path) -> Path:
    """The baseline's source tree: ``--baseline``, or a fresh worktree of ``--baseline-rev``."""
    if args.baseline:
        return Path(args.baseline).resolve()
    tree = tmp / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.baseline_rev],
                   check=True, capture_output=True)
    return tree


def in_process(tree: Path, data: Path, pool: Path, annotators: int, seconds: float, mode: str = "run") -> dict:
    """Run the in-process script inside ``tree`` (its own code, this Python)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", IN_PROCESS, str(data), str(pool), str(annotators), str(seconds),
                           mode], cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"in-process run in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def start(tree: Path, data: Path, log: Path, roots: Path) -> Studio:
    """``python app.py`` from ``tree`` (tiny profile), waiting until it answers."""
    port = free_port()
    env = {**os.environ, "STUDIO_PROFILE": "tiny", "STUDIO_DEVICE": "cpu", "STUDIO_PORT": str(port),
           "STUDIO_HOST": "127.0.0.1", "STUDIO_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "STUDIO_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "STUDIO_INPUT_ROOTS": str(roots), "PYTHONPATH": str(tree)}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=tree, env=env, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"the studio in {tree} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return Studio(url, data, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the studio in {tree} did not start")


def call(http: httpx.Client, url: str, name: str, data: list, session_hash: str | None = None) -> list:
    """One call of a Gradio endpoint through its REST API: POST the inputs, read the result from the event stream.

    ``session_hash`` names the client's session, as Gradio's own clients (the browser, ``gradio_client``) do: without
    one, Gradio builds a fresh session state over every component of the app for each call.
    """
    body = {"data": data} if session_hash is None else {"data": data, "session_hash": session_hash}
    posted = http.post(f"{url}/gradio_api/call/{name}", json=body)
    posted.raise_for_status()
    stream = http.get(f"{url}/gradio_api/call/{name}/{posted.json()['event_id']}").text
    for block in stream.split("\n\n"):
        if block.startswith("event: complete"):
            return json.loads(block.split("data: ", 1)[1])
    raise RuntimeError(f"{name} failed: {stream[:300]}")


def over_http(tree: Path, tmp: Path, pool: Path, annotators: int, seconds: float, warmup: float) -> dict:
    """Votes/s through the studio's HTTP API, each with its /arena_next and both image downloads: over the whole run
    from a cold start (the first ``warmup`` seconds included), and over the ``seconds`` after them, once every
    annotator has a Gradio session and the pool's images have been shown once."""
    data = tmp / "data"
    session = in_process(tree, data, pool, annotators, seconds, mode="session")["session"]
    studio = start(tree, data, tmp / "studio.log", pool.parent)
    acked: list[tuple[str, float]] = []
    lock = threading.Lock()
    image_bytes = [0]
    try:
        started = time.perf_counter()
        warm, deadline = started + warmup, started + warmup + seconds

        def annotate(i: int) -> None:
            with httpx.Client(timeout=120) as http:
                while time.perf_counter() < deadline:
                    info, left, right, _ = call(http, studio.url, "arena_next", [session, f"annotator {i}", ""],
                                                f"bench-{i}")
                    size = sum(len(http.get(image["url"]).content) for image in (left, right))
                    call(http, studio.url, "arena_vote", [info["battle_id"], f"annotator {i}", "left", None],
                         f"bench-{i}")
                    with lock:
                        acked.append((info["battle_id"], time.perf_counter()))
                        image_bytes[0] += size

        threads = [threading.Thread(target=annotate, args=(i,)) for i in range(annotators)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ended = time.perf_counter()
    finally:
        stop_studio(studio)
    count = (f"import sqlite3, json; rows = sqlite3.connect({str(data / 'arena' / 'arena.db')!r}).execute("
             "'SELECT battle_id FROM votes').fetchall(); print(json.dumps([r[0] for r in rows]))")
    stored = json.loads(subprocess.run([sys.executable, "-c", count], capture_output=True, text=True,
                                       check=True).stdout)
    ids = [battle for battle, _ in acked]
    steady = sum(at >= warm for _, at in acked)  # acknowledged after the warm-up, until the last one ended
    return {"votes_per_s": steady / (ended - warm), "cold_votes_per_s": len(acked) / (ended - started),
            "acked": len(acked), "lost": len(set(ids) - set(stored)), "duplicated": len(stored) - len(set(stored)),
            "kb_per_vote": image_bytes[0] / max(len(acked), 1) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds (after the warm-up)")
    parser.add_argument("--warmup", type=float, default=10,
                        help="HTTP seconds before the measured ones (annotators' Gradio sessions, first image serves)")
    parser.add_argument("--size", type=int, default=768, help="pool image side in pixels")
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--baseline", help="a checkout of the earlier code (default: a worktree of --baseline-rev)")
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-votes-"))
    pool = make_pool(tmp / "pools" / "pool", args.size, args.items)
    baseline = checkout(args, tmp)
    print(f"{args.annotators} annotators, {args.seconds:g} s per run, {len(MODELS)} models x {args.items} items of "
          f"{args.size}x{args.size} px; baseline {baseline}")
    try:
        results = {}
        for name, tree in (("baseline", baseline), ("this code", ROOT)):
            results[name] = {
                "http": over_http(tree, tmp / f"{name}-http", pool, args.annotators, args.seconds, args.warmup),
                "direct": in_process(tree, tmp / f"{name}-direct", pool, args.annotators, args.seconds),
            }
            http, direct = results[name]["http"], results[name]["direct"]
            print(f"{name:>9}: HTTP {http['votes_per_s']:6.1f} votes/s after the warm-up, "
                  f"{http['cold_votes_per_s']:.1f} from a cold start ({http['acked']} acked, lost {http['lost']}, "
                  f"duplicated {http['duplicated']}, {http['kb_per_vote']:.0f} kB of images per vote); in-process "
                  f"{direct['cycles_per_s']:6.1f} next+vote/s, {direct['votes_per_s']:6.1f} votes/s "
                  f"(lost {direct['lost']}, duplicated {direct['duplicated']})")
    finally:
        if not args.baseline:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], check=False)
    new, old = results["this code"], results["baseline"]
    ratio = new["http"]["votes_per_s"] / old["http"]["votes_per_s"]
    cold = new["http"]["cold_votes_per_s"] / old["http"]["cold_votes_per_s"]
    print(f"HTTP ratio this/baseline = {ratio:.2f} after the warm-up (target >= 5: "
          f"{'met' if ratio >= 5 else 'MISSED'}), {cold:.2f} from a cold start; in-process "
          f"votes {new['direct']['votes_per_s']:.0f}/s (target >= 500: "
          f"{'met' if new['direct']['votes_per_s'] >= 500 else 'MISSED'}), "
          f"{new['direct']['votes_per_s'] / old['direct']['votes_per_s']:.1f}x the baseline's; next+vote cycles "
          f"{new['direct']['cycles_per_s'] / old['direct']['cycles_per_s']:.1f}x")


if __name__ == "__main__":
    main()
