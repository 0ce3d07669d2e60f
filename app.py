"""Image-generation research studio: the composition root.

``Settings.from_env()`` -> registry, ``ModelCache``, executor, labeling service -> ``build_demo()`` -> ``launch()``.
This is the only module that reads the environment and builds singletons; every tab receives them through an
``AppContext``. Importing it loads no model and does not import torch.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

import gradio as gr
from PIL import Image

from arena.sessions import LabelingService
from backends.core import imaging
from backends.core.errors import ModelUnavailable, StudioError
from backends.core.settings import Settings, env_help
from backends.models import weights
from backends.models.cache import ModelCache
from backends.models.executors import Executor, LocalExecutor
from backends.models.registry import default_registry
from backends.tasks.t2i.types import T2IRequest
from tabs import arena as arena_tab
from tabs import arena_admin as admin_tab
from tabs import hand_batch as hand_batch_tab
from tabs import hand_repair as hand_tab
from tabs import leaderboard as leaderboard_tab
from tabs import models as models_tab
from tabs import text_to_image as t2i_tab
from tabs import tokenizer as tok_tab
from tabs import tokenizer_eval as tok_eval_tab
from tabs.common import ASSETS, AppContext, make_i18n

TITLE = "Image Generation Research Studio"


class ExecutorGenerator:
    """Live labeling sessions generate both sides through the executor, like every other device job.

    Args:
        executor: where models run (its device gate serialises these jobs with the tabs' ones).
    """

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def models(self) -> list[str]:
        """Text-to-image keys."""
        return [spec.key for spec in self.executor.registry.by_task("t2i")]

    def check(self, model: str, prompt: str, width: int, height: int, steps: int | None) -> None:
        """Validate the live settings for ``model`` before a session is created."""
        self.executor.check(model, T2IRequest(prompt=prompt, width=width, height=height, steps=steps))
        ok, why = self.executor.availability(model)
        if not ok:
            raise ModelUnavailable(f"{model} is not available here: {why}")

    def __call__(self, model: str, prompt: str, seed: int, width: int, height: int,
                 steps: int | None) -> tuple[Any, dict[str, Any]]:
        """One output with its recipe."""
        result = self.executor.run(model, T2IRequest(prompt=prompt, seed=seed, width=width, height=height,
                                                     steps=steps))
        return result.image, result.recipe.to_dict()


def create_context(settings: Settings) -> AppContext:
    """Build the singletons the tabs share. Nothing is loaded: models load on first use."""
    registry = default_registry()
    executor = LocalExecutor(ModelCache(registry, settings))
    # Pools may be imported from the operator's input roots and from what the studio itself wrote.
    arena = LabelingService.open(settings.data_dir, settings.database_url, settings.admin_password,
                                 generate=ExecutorGenerator(executor),
                                 pool_roots=(*settings.input_roots, settings.outputs_dir),
                                 admin_rate=settings.admin_rate)
    return AppContext(settings=settings, registry=registry, executor=executor, i18n=make_i18n(), arena=arena)


def build_demo(ctx: AppContext) -> gr.Blocks:
    """Compose the tabs into one Blocks app (not launched)."""
    i18n = ctx.i18n
    with gr.Blocks(title=TITLE, delete_cache=(3600, 24 * 3600)) as demo:
        gr.Markdown(i18n("app.header"))
        with gr.Tabs() as tabs:
            with gr.Tab(i18n("tabs.t2i"), id="t2i"):
                t2i = t2i_tab.build(ctx)
            with gr.Tab(i18n("tabs.hand"), id="hand"):
                hand = hand_tab.build(ctx)
                hand_batch_tab.build(ctx, hand)
            with gr.Tab(i18n("tabs.tok"), id="tok"):
                tok = tok_tab.build(ctx)
                tok_eval_tab.build(ctx, tok["tokenizers"])
            with gr.Tab(i18n("tabs.arena"), id="arena") as arena_page:
                arena = arena_tab.build(ctx)
            with gr.Tab(i18n("tabs.leaderboard"), id="leaderboard") as leaderboard_page:
                leaderboard = leaderboard_tab.build(ctx)
            with gr.Tab(i18n("tabs.admin"), id="admin"):
                admin = admin_tab.build(ctx)
            with gr.Tab(i18n("tabs.models"), id="models") as models_page:
                models = models_tab.build(ctx)
        # Cross-tab wiring: send a generated image to hand repair; session lists follow admin changes; tables
        # refresh when their tab opens.
        private = {"api_visibility": "private", "queue": False}
        t2i["send_to_hand"].click(_open_image, t2i["selected"], hand["image"], **private).then(
            lambda: gr.Tabs(selected="hand"), None, tabs, **private)
        for event in admin["changed"]:
            event.then(arena["refresh"], None, arena["session"], **private)
            event.then(leaderboard["refresh"], None, leaderboard["session"], **private)
        arena_page.select(arena["refresh"], None, arena["session"], **private)
        leaderboard_page.select(leaderboard["refresh"], None, leaderboard["session"], **private)
        models_page.select(models["show"], None, models["outputs"], **private)
        demo.load(models["show"], None, models["outputs"], **private)
    demo.queue(default_concurrency_limit=1, max_size=ctx.settings.max_queue)
    return demo


def _open_image(path: str | None) -> Any:
    """The generated PNG selected in the text-to-image gallery, for the hand-repair tab."""
    if not path:
        raise gr.Error("Select an image in the results first.")
    return path


def launch(demo: gr.Blocks, ctx: AppContext, **overrides: object) -> tuple:
    """Serve ``demo`` with the studio's launch options (tests pass ``prevent_thread_lock=True``)."""
    ctx.settings.outputs_dir.mkdir(parents=True, exist_ok=True)
    # PIL refuses images over the studio's own pixel limit on open (not just its default warning threshold).
    Image.MAX_IMAGE_PIXELS = imaging.MAX_PIXELS
    options = dict(
        max_file_size=f"{ctx.settings.max_upload_mb:g}mb",
        server_name=ctx.settings.host,
        server_port=ctx.settings.port,
        i18n=ctx.i18n,
        show_error=True,
        allowed_paths=[str(ctx.settings.outputs_dir.resolve())],
        # Browser-side run history would keep blind-labeling outputs around between annotators.
        run_history=False,
        css_paths=[ASSETS / "studio.css"],
        js=(ASSETS / "studio.js").read_text("utf-8"),  # keyboard shortcuts for labeling
        theme=gr.themes.Soft(),
    )
    options.update(overrides)
    return demo.launch(**options)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line: serving is the default; ``--fetch`` downloads weights; ``--list-models`` prints the table."""
    parser = argparse.ArgumentParser(
        prog="app.py",
        description=f"{TITLE}: bilingual text-to-image and more, with models loaded lazily. Configure it with "
        "the environment variables below; `STUDIO_PROFILE=tiny python app.py` runs with random-weight "
        "miniatures and no downloads.",
        epilog=env_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--fetch", metavar="MODEL", nargs="+", help="download the weights of these registry keys")
    parser.add_argument("--list-models", action="store_true", help="print the registry and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse arguments, read settings, then serve, fetch or list."""
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
    except StudioError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    registry = default_registry()
    if args.list_models:
        for spec in registry.values():
            ok, why = weights.availability(spec, settings)
            print(f"{spec.key:28} {spec.name:36} {'available' if ok else 'unavailable'}: {why}")
        return 0
    if args.fetch:
        try:
            for key in args.fetch:
                print(f"{key}: {weights.fetch(registry.get_spec(key), settings)}")
        except StudioError as exc:
            print(f"fetch failed: {exc}", file=sys.stderr)
            return 1
        return 0
    ctx = create_context(settings)
    launch(build_demo(ctx), ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
