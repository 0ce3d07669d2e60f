"""Image-generation research studio: the composition root.

``Settings.from_env()`` -> ``ModelCache`` -> ``build_demo()`` -> ``launch()``. This is the only module that reads
the environment and builds singletons; every tab receives them through an ``AppContext``. Importing it loads no
model and does not import torch.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import gradio as gr

from backends import weights
from backends.base import StudioError
from backends.cache import ModelCache
from backends.registry import default_registry
from backends.settings import Settings, env_help
from tabs import models as models_tab
from tabs import text_to_image as t2i_tab
from tabs.common import ASSETS, AppContext, make_i18n

TITLE = "Image Generation Research Studio"


def create_context(settings: Settings) -> AppContext:
    """Build the singletons the tabs share. Nothing is loaded: models load on first use."""
    registry = default_registry()
    return AppContext(settings=settings, registry=registry, cache=ModelCache(registry, settings), i18n=make_i18n())


def build_demo(ctx: AppContext) -> gr.Blocks:
    """Compose the tabs into one Blocks app (not launched)."""
    i18n = ctx.i18n
    with gr.Blocks(title=TITLE, delete_cache=(3600, 24 * 3600)) as demo:
        gr.Markdown(i18n("app.header"))
        with gr.Tabs():
            with gr.Tab(i18n("tabs.t2i"), id="t2i"):
                t2i_tab.build(ctx)
            with gr.Tab(i18n("tabs.models"), id="models") as models_page:
                models = models_tab.build(ctx)
        models_page.select(models["show"], None, models["outputs"], api_visibility="private", queue=False)
        demo.load(models["show"], None, models["outputs"], api_visibility="private", queue=False)
    demo.queue(default_concurrency_limit=1, max_size=ctx.settings.max_queue)
    return demo


def launch(demo: gr.Blocks, ctx: AppContext, **overrides: object) -> tuple:
    """Serve ``demo`` with the studio's launch options (tests pass ``prevent_thread_lock=True``)."""
    ctx.settings.outputs_dir.mkdir(parents=True, exist_ok=True)
    options = dict(
        server_name=ctx.settings.host,
        server_port=ctx.settings.port,
        i18n=ctx.i18n,
        show_error=True,
        allowed_paths=[str(ctx.settings.outputs_dir.resolve())],
        # Browser-side run history would keep blind-labeling outputs around between annotators.
        run_history=False,
        css_paths=[ASSETS / "studio.css"],
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
