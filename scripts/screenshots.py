"""Regenerate the README's screenshots: one PNG per tab, ``docs/screenshots/<tab>.png``.

Starts the studio as README says (``python app.py``) in the tiny profile (random-weight miniatures, no downloads) on
a free port, drives Debian's Chromium through Playwright at 1440 px in English, does one representative action per
tab, and saves the top of each tab downscaled to 1200 px wide and optimised (each file under 400 KB).

    python scripts/screenshots.py             # every tab, the tokenizer tab last
    python scripts/screenshots.py tok models  # only these tabs (in this order)

Needs the dev requirements (playwright) and /usr/bin/chromium (``scripts/ensure-browser.sh``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTH, SAVED_WIDTH, MAX_BYTES = 1440, 1200, 400_000
ADMIN_PASSWORD = "screenshots-admin"
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
EXAMPLES = ROOT / "assets" / "examples"
# The order tabs are shot in: the labeling tabs need the session the admin tab creates; the tokenizer tab is last.
ORDER = ("t2i", "hand", "face", "tryon", "admin", "arena", "leaderboard", "models", "tok")
POOL_MODELS = ("t2i/kolors", "t2i/hunyuan-dit", "t2i/flux-schnell")
POOL_PROMPTS = ("一只戴着红围巾的橘猫坐在雪地里", "a lighthouse on a cliff at dusk", "中秋节海报，中间写着“花好月圆”")


@dataclass
class Studio:
    url: str
    folder: Path  # the studio's data dir and the one input root it may read pools from
    process: subprocess.Popen
    session: str = ""  # the labeling session the admin tab created


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def studio() -> Iterator[Studio]:
    """``python app.py`` in the tiny profile, in a scratch folder, until the block ends."""
    import httpx

    folder = Path(tempfile.mkdtemp(prefix="studio-screenshots-"))
    port = free_port()
    env = {**os.environ, "STUDIO_PROFILE": "tiny", "STUDIO_DEVICE": "cpu", "STUDIO_PORT": str(port),
           "STUDIO_HOST": "127.0.0.1", "STUDIO_DATA_DIR": str(folder / "data"), "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "STUDIO_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "STUDIO_INPUT_ROOTS": str(folder)}
    log = (folder / "studio.log").open("w")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the studio did not start:\n{(folder / 'studio.log').read_text()[-3000:]}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield Studio(url, folder, process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------------------
# Page helpers
# --------------------------------------------------------------------------------------------------------------------
def open_tab(page, tab: str) -> None:
    page.locator(f"button[role=tab][data-tab-id='{tab}']").first.click()
    page.wait_for_timeout(500)


def fill(page, elem_id: str, value: str) -> None:
    page.locator(f"#{elem_id} textarea, #{elem_id} input").first.fill(value)


def upload(page, elem_id: str, path: Path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    page.wait_for_selector(f"#{elem_id} img", timeout=30_000)


def settle(page) -> None:
    """Lazily loaded pictures in, progress bars gone."""
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function("() => [...document.querySelectorAll('img')].every(i => i.complete)", timeout=30_000)
    page.wait_for_timeout(800)


# --------------------------------------------------------------------------------------------------------------------
# One representative action per tab; each returns how many CSS pixels from the top to keep
# --------------------------------------------------------------------------------------------------------------------
def shoot_t2i(page, run: Studio) -> int:
    # The two default models (Hunyuan-DiT and Kolors, bilingual), a Chinese prompt with text to render.
    fill(page, "t2i-prompt", "春节庙会的红色灯笼下，一块木牌上写着“恭喜发财”")
    fill(page, "t2i-steps", "4")
    page.locator("#t2i-run").click()
    page.wait_for_selector("#t2i-summary table", timeout=300_000)
    return 1230


def shoot_hand(page, run: Studio) -> int:
    upload(page, "hand-image", PHOTOS / "hagrid_four_06aa70cc.jpg")
    page.locator("#hand-detect").click()
    page.wait_for_selector("#hand-hands table, #hand-hands [role=grid]", timeout=120_000)
    return 1000


def shoot_face(page, run: Studio) -> int:
    upload(page, "face-image", PHOTOS / "hagrid_call_044768ad.jpg")
    fill(page, "face-question", "Are the eyes open?")
    page.locator("#face-ask").click()
    page.wait_for_selector("#face-overlay img", timeout=180_000)
    page.wait_for_function("() => document.querySelector('#face-answers').innerText.includes('EAR')",
                           timeout=120_000)
    return 1300


def shoot_tryon(page, run: Studio) -> int:
    upload(page, "tryon-person", PHOTOS / "hagrid_four_06aa70cc.jpg")
    upload(page, "tryon-garment", EXAMPLES / "garments" / "tshirt.png")
    fill(page, "tryon-steps", "4")
    page.locator("#tryon-run").click()
    page.wait_for_function("() => document.querySelectorAll('#tryon-gallery img').length >= 3", timeout=300_000)
    page.wait_for_function("() => document.querySelectorAll('#tryon-slider-catvton img').length >= 1",
                           timeout=60_000)
    return 1450


def make_pool(run: Studio) -> Path:
    """A labeling pool from the studio's own API: three miniatures, three prompts (their outputs are noise-like)."""
    from gradio_client import Client

    client = Client(run.url, verbose=False)
    root = run.folder / "pool"
    lines = []
    for index, prompt in enumerate(POOL_PROMPTS):
        item = f"item{index}"
        gallery, _, _ = client.predict(prompt, "", list(POOL_MODELS), index, 512, 512, 4, None, 1, api_name="/t2i")
        for key, entry in zip(POOL_MODELS, gallery, strict=True):
            folder = root / key.replace("/", "__")
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(entry["image"] if isinstance(entry, dict) else entry[0], folder / f"{item}.png")
        lines.append(json.dumps({"item_id": item, "prompt": prompt}, ensure_ascii=False))
    (root / "prompts.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return root


def shoot_admin(page, run: Studio) -> int:
    pool = make_pool(run)
    fill(page, "admin-password", ADMIN_PASSWORD)
    fill(page, "admin-name", "Bilingual miniatures")
    fill(page, "admin-folder", str(pool))
    page.locator("#admin-create").click()
    page.wait_for_function("() => document.querySelector('#admin-sessions').innerText.includes('Bilingual')",
                           timeout=120_000)
    run.session = page.locator("#admin-summary code").first.inner_text().strip()
    return 1050


def choose_session(page, elem_id: str, session: str) -> None:
    """Pick the session the admin tab created in a session dropdown (typed, as its id)."""
    page.locator(f"#{elem_id} input").fill(session)
    page.locator(f"#{elem_id} input").press("Enter")
    page.locator("body").click(position={"x": 2, "y": 2})


def shoot_arena(page, run: Studio) -> int:
    choose_session(page, "arena-session", run.session)
    fill(page, "arena-annotator", "ana")
    page.locator("body").click(position={"x": 2, "y": 2})
    page.wait_for_function("() => !document.querySelector('#arena-next').disabled", timeout=30_000)
    page.locator("#arena-next").click()
    page.wait_for_function("() => document.querySelectorAll('#arena-image-left img, #arena-image-right img')"
                           ".length === 2", timeout=60_000)
    page.locator("body").click(position={"x": 2, "y": 2})
    page.keyboard.press("ArrowLeft")  # A is better: the pair keeps its names until Next
    page.wait_for_function("() => !document.querySelector('#arena-continue').disabled", timeout=30_000)
    for k in range(6):  # a few more votes, for the leaderboard
        page.keyboard.press("n")
        page.wait_for_function("() => !document.querySelector('#arena-vote-left').disabled || "
                               "document.querySelector('#arena-continue').disabled", timeout=30_000)
        if page.locator("#arena-vote-left").is_disabled():
            break
        page.keyboard.press(("ArrowLeft", "ArrowRight", "ArrowUp")[k % 3])
        page.wait_for_function("() => !document.querySelector('#arena-continue').disabled", timeout=30_000)
    return 1300


def vote_through_the_api(run: Studio, annotators: tuple[str, ...] = ("bo", "cy")) -> None:
    """Every pair of the session judged by a few more annotators (a board of one annotator says little)."""
    from gradio_client import Client

    client = Client(run.url, verbose=False)
    for n, annotator in enumerate(annotators):
        for k in range(50):
            served = client.predict(run.session, annotator, "", api_name="/arena_next")[0]
            if not served.get("battle_id"):
                break
            choice = ("left", "right", "both_good", "left")[(k + n) % 4]
            client.predict(served["battle_id"], annotator, choice, None, api_name="/arena_vote")


def shoot_leaderboard(page, run: Studio) -> int:
    vote_through_the_api(run)
    choose_session(page, "lb-session", run.session)
    page.locator("#lb-compute").click()
    page.wait_for_selector("#lb-quality table", timeout=120_000)
    page.wait_for_timeout(2000)  # the plots draw
    return 1500


def shoot_models(page, run: Studio) -> int:
    page.locator("#models-refresh").click()
    page.wait_for_function("() => [...document.querySelectorAll('#models-table [role=gridcell]')]"
                           ".some(c => c.innerText.trim() === 't2i/kolors')", timeout=30_000)
    return 1150


def shoot_tok(page, run: Studio) -> int:
    upload(page, "tok-image", EXAMPLES / "astronaut.png")
    page.locator("#tok-run").click()
    page.wait_for_function("() => document.querySelectorAll('#tok-slider-1 img').length >= 2", timeout=300_000)
    return 1500


SHOOT: dict[str, Callable[..., int]] = {"t2i": shoot_t2i, "hand": shoot_hand, "face": shoot_face,
                                        "tryon": shoot_tryon, "admin": shoot_admin, "arena": shoot_arena,
                                        "leaderboard": shoot_leaderboard, "models": shoot_models, "tok": shoot_tok}


# --------------------------------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------------------------------
def save(png: bytes, keep: int, path: Path) -> int:
    """The top ``keep`` CSS pixels of a full-page shot, ``SAVED_WIDTH`` wide, as an optimised PNG under
    ``MAX_BYTES`` (full colour when it fits, else an adaptive palette, dithered so photos keep their tones); returns
    the file's size."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.crop((0, 0, image.width, min(image.height, keep)))
    image = image.resize((SAVED_WIDTH, round(image.height * SAVED_WIDTH / image.width)), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    for colors in (None, 256, 128, 64):
        candidate = image
        if colors is not None:  # octree palettes keep photos' tones better than median cut (measured RMSE)
            palette = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
            candidate = image.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
        buffer = io.BytesIO()
        candidate.save(buffer, format="PNG", optimize=True)
        if buffer.tell() < MAX_BYTES or colors == 64:
            path.write_bytes(buffer.getvalue())
            return buffer.tell()
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tabs", nargs="*", metavar="TAB",
                        help=f"tabs to shoot (default: all, in this order: {' '.join(ORDER)})")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs (default: docs/screenshots)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.tabs) - set(ORDER))
    if unknown:
        parser.error(f"unknown tabs {unknown}; choose among {' '.join(ORDER)}")
    tabs = args.tabs or list(ORDER)
    if {"arena", "leaderboard"} & set(tabs) and "admin" not in tabs:
        tabs = ["admin", *tabs]  # the labeling tabs need the session the admin tab creates (its shot is kept too)
    from playwright.sync_api import sync_playwright

    with studio() as run, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for tab in tabs:
            context = browser.new_context(viewport={"width": WIDTH, "height": 1000}, locale="en-US")
            page = context.new_page()
            page.goto(run.url)
            page.wait_for_selector("#t2i-prompt textarea", timeout=60_000)
            open_tab(page, tab)
            started = time.monotonic()
            try:
                keep = SHOOT[tab](page, run)
            except Exception:
                failed = Path(tempfile.gettempdir()) / f"screenshot-{tab}-failed.png"
                page.screenshot(path=str(failed), full_page=True)
                print(f"{tab}: failed; the page as it was: {failed}", file=sys.stderr)
                raise
            settle(page)
            size = save(page.screenshot(full_page=True), keep, args.out / f"{tab}.png")
            print(f"{tab:12s} {args.out / f'{tab}.png'}  {size / 1000:.0f} KB  ({time.monotonic() - started:.0f} s)",
                  flush=True)
            context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
