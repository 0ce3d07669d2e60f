"""Image-generation research studio: the composition root.

``Settings.from_env()`` -> registry, ``ModelCache``, executor, labeling service -> ``build_demo()`` -> ``launch()``.
This is the only module that reads the environment and builds singletons; every tab receives them through an
``AppContext``. Importing it loads no model and does not import torch.
"""

from __future__ import annotations

import os

# Numpy's OpenBLAS on one thread unless set otherwise (read when numpy loads, so before the imports below): the
# studio's numpy work is small matrices for concurrent requests, where OpenBLAS's idle workers spin on the cores other
# requests need (a leaderboard of 1M votes: 1.0 s -> 0.8 s on 2 cores). torch keeps its own MKL and threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from arena.media import ServedFiles
from arena.sessions import LabelingService
from backends.core import imaging
from backends.core.errors import ModelUnavailable, StudioError
from backends.core.settings import Settings, env_help
from backends.models import weights
from backends.models.executors import Executor
from backends.models.executors.factory import make_executor
from backends.models.registry import default_registry
from backends.tasks.t2i.types import T2IRequest
from tabs import arena as arena_tab
from tabs import arena_admin as admin_tab
from tabs import arena_sessions as admin_sessions_tab
from tabs import face as face_tab
from tabs import face_dataset as face_dataset_tab
from tabs import face_generate as face_generate_tab
from tabs import hand_batch as hand_batch_tab
from tabs import hand_repair as hand_tab
from tabs import leaderboard as leaderboard_tab
from tabs import models as models_tab
from tabs import omnimamba as omnimamba_tab
from tabs import serving as serving_tab
from tabs import t2i_form as t2i_form_tab
from tabs import t2i_history as t2i_history_tab
from tabs import t2i_pnginfo as t2i_pnginfo_tab
from tabs import t2i_sweep as t2i_sweep_tab
from tabs import text_to_image as t2i_tab
from tabs import tokenizer as tok_tab
from tabs import tokenizer_eval as tok_eval_tab
from tabs import tryon as tryon_tab
from tabs import tryon_batch as tryon_batch_tab
from tabs.common import ASSETS, AppContext, StudioBlocks, make_i18n, tr

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
    if settings.zero_gpu:
        import spaces  # noqa: F401  (ZeroGPU: before anything touches CUDA; it patches torch)
    executor = make_executor(settings, registry, connect_remote=serving_tab.connect)
    # Pools may be imported from the operator's input roots and from what the studio itself wrote.
    arena = LabelingService.open(settings.data_dir, settings.database_url, settings.admin_password,
                                 generate=ExecutorGenerator(executor),
                                 pool_roots=(*settings.input_roots, settings.outputs_dir),
                                 admin_rate=settings.admin_rate)
    # Served battle images are written straight into Gradio's file cache, which Gradio then sends without
    # hashing and copying each one again (and cleans up with the rest of its cache).
    arena.served_files = ServedFiles(Path(gr.utils.get_upload_folder()) / "arena-served")
    return AppContext(settings=settings, registry=registry, executor=executor, i18n=make_i18n(), arena=arena)


def build_demo(ctx: AppContext) -> gr.Blocks:
    """Compose the tabs into one Blocks app (not launched)."""
    i18n = ctx.i18n
    with StudioBlocks(title=TITLE, delete_cache=(3600, 24 * 3600)) as demo:
        gr.Markdown(i18n("app.header"))
        # The wording of the queue line studio.js shows while a job waits (read from the page, so it is translated).
        gr.Markdown(i18n("common.queue"), elem_id="studio-queue-template", visible="hidden")
        with gr.Tabs() as tabs:
            with gr.Tab(i18n("tabs.t2i"), id="t2i"):
                t2i = t2i_tab.build(ctx)
                for helper in (t2i_form_tab, t2i_history_tab, t2i_pnginfo_tab, t2i_sweep_tab):
                    helper.build(ctx, t2i)
            with gr.Tab(i18n("tabs.hand"), id="hand"):
                hand = hand_tab.build(ctx)
                hand_batch_tab.build(ctx, hand)
            with gr.Tab(i18n("tabs.face"), id="face"):
                face = face_tab.build(ctx)
                face_generation = face_generate_tab.build(ctx)
                omnimamba_tab.build(ctx)
                face_dataset_tab.build(ctx, face, face_generation)
            with gr.Tab(i18n("tabs.tryon"), id="tryon"):
                tryon = tryon_tab.build(ctx)
                tryon_batch_tab.build(ctx, tryon)
            with gr.Tab(i18n("tabs.tok"), id="tok"):
                tok = tok_tab.build(ctx)
                tok_eval_tab.build(ctx, tok["tokenizers"])
            with gr.Tab(i18n("tabs.arena"), id="arena") as arena_page:
                arena = arena_tab.build(ctx)
            with gr.Tab(i18n("tabs.leaderboard"), id="leaderboard") as leaderboard_page:
                leaderboard = leaderboard_tab.build(ctx)
            with gr.Tab(i18n("tabs.admin"), id="admin") as admin_page:
                admin_panel = admin_sessions_tab.build(ctx)
                admin = admin_tab.build(ctx, admin_panel)
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
        admin_page.select(admin_panel["refresh"], None, admin_panel["outputs"], **private)
        serving_tab.build(ctx)  # /run_model for front studios, with STUDIO_SERVE_MODELS
        demo.load(models["show"], None, models["outputs"], **private)
    demo.queue(default_concurrency_limit=1, max_size=ctx.settings.max_queue)
    return demo


def _open_image(path: str | None) -> Any:
    """The generated PNG selected in the text-to-image gallery, for the hand-repair tab."""
    if not path:
        raise gr.Error(tr("t2i.select_first"))
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
        mcp_server=True,  # every public endpoint is also an MCP tool (its docstring the description)
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
    parser.add_argument("--check-weights", nargs=2, metavar=("KEY", "FILE"),
                        help="compare a research tokenizer checkpoint with its adapter (missing, unexpected and "
                             "mis-shaped keys); exit 0 when it matches the released architecture")
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
    if args.check_weights:
        from backends.tasks.tokenize.research.adapter import check_weights

        key, path = args.check_weights
        try:
            matches, report = check_weights(registry.get_spec(key), settings, Path(path))
        except StudioError as exc:
            print(f"check failed: {exc}", file=sys.stderr)
            return 2
        print(report)
        return 0 if matches else 1
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
