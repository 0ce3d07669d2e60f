"""Every string a person sees goes through i18n: component text in the built UI, text handlers write, and the
messages the backends raise (errors, progress), which reach the UI through their English templates.

The browser side of the same promise (the page in zh-CN after real runs, at 1440 and 390 px) is the tabs' browser
tests: tests/e2e/test_*_browser.py (e.g. test_t2i_ux_browser.py, test_labeling_browser.py, test_face_browser.py).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio.context import LocalContext
from gradio.i18n import I18nData

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.settings import Settings
from tabs.common import error_message, headed, texts, tr, ui_errors

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("message_templates", ROOT / "scripts" / "message_templates.py")
message_templates = importlib.util.module_from_spec(spec)
spec.loader.exec_module(message_templates)

# Text that is the same in every language: model and file names, units, letters for the two sides, symbols.
NEUTRAL = re.compile(r"^[\sA-Z0-9.,:;·/×x%()+\-–—→←↑↓#*_|<>=?!'\"`]*$|^(A|B|CSV|JSON|PNG|LoRA|MCP)$")
# "black hair · 黑色头发", "中文 · 这个人戴着眼镜吗？": both languages on purpose, or a question in its own language.
BILINGUAL = re.compile(r"[A-Za-z].* · .*[\u4e00-\u9fff]|^(EN|中文) · ")
# Messages the backends build at run time (not readable from the source), with why that is fine.
RUNTIME_MESSAGES = {
    "backends/core/run.py": "Cancelled(message): the callers' own messages, each a template of its own",
    "backends/models/cache.py": "OutOfMemory(_oom_message(...)): an f-string template in the same module",
    "backends/models/executors/batch.py": "relays the message of a job's own report",
    "backends/models/executors/ray_serve.py": "relays the message of the remote job's report",
    "backends/models/executors/remote.py": "relays the message of the remote studio's report",
    "backends/models/executors/wire.py": "rebuilds a remote InvalidInput from its own message",
    "arena/pregen_jobs.py": "re-raises a job's InvalidInput message",
    "arena/pregenerate.py": "re-raises a job's InvalidInput message",
}


class FakeRequest:
    """What ``tabs.common.locale_of`` reads from a Gradio request."""

    def __init__(self, accept_language: str = "", cookie: str | None = None) -> None:
        self.headers = {"accept-language": accept_language}
        self.cookies = {"studio-locale": cookie} if cookie else {}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> gr.Blocks:
    import app

    settings = Settings(profile="tiny", device="cpu", data_dir=tmp_path_factory.mktemp("ui-i18n"), offline=True)
    ctx = app.create_context(settings)
    return app.build_demo(ctx)


def shown_text(component: Any) -> list[tuple[str, Any]]:
    """The text a component puts on screen: label, info, placeholder, button text, Markdown, choice labels."""
    found = [(name, getattr(component, name, None)) for name in ("label", "info", "placeholder")]
    if isinstance(component, gr.Button | gr.Markdown | gr.HTML):
        found.append(("value", component.value))
    for choice in getattr(component, "choices", None) or []:
        label = choice[0] if isinstance(choice, list | tuple) else choice
        found.append(("choice", label))
    return found


def test_every_visible_component_text_goes_through_i18n(demo: gr.Blocks) -> None:
    registry_names = {spec.name for spec in demo_registry(demo)}
    offenders = []
    for component in demo.blocks.values():
        if getattr(component, "visible", True) is False or not isinstance(component, gr.components.Component) \
                or type(component).__name__ == "Api":
            continue
        for name, value in shown_text(component):
            if value is None or isinstance(value, I18nData) or callable(value) or str(value).startswith("__i18n__"):
                continue
            text = str(value).strip()
            if not text or NEUTRAL.match(text) or text in registry_names or name == "choice" and "/" in text:
                continue  # empty, symbols, model names and registry keys read the same in every language
            if name == "placeholder" and re.fullmatch(r"[\w./:-]+", text):
                continue  # an example value to type (a repo id, a file name): not a sentence to translate
            if BILINGUAL.search(text):
                continue  # vocabulary shown in both languages on purpose (face attributes and their prompts)
            offenders.append(f"{type(component).__name__}#{component.elem_id or component._id} {name}={text[:60]!r}")
    assert not offenders, "visible text that does not go through ctx.i18n:\n" + "\n".join(offenders)


# The tokenizer tab (tabs/tokenizer.py, tabs/tokenizer_eval.py) is being reworked in parallel: its tables are left
# out of the header check until that work lands; every other tab's tables are checked.
HEADER_CHECK_SKIPS_TABS = ("tok",)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def tab_of(block: Any) -> str | None:
    """The id of the tab a component sits in (None outside the tabs)."""
    while block is not None:
        if isinstance(block, gr.Tab):
            return block.id
        block = getattr(block, "parent", None)
    return None


def test_every_table_header_reads_in_chinese(demo: gr.Blocks) -> None:
    """A table shown from the start shows its headers as built; a hidden one shows what its handler's ``headed``
    gives in the reader's language: either way a zh-CN reader gets no English header (acronyms and numbers aside)."""
    tables = [c for c in demo.blocks.values() if isinstance(c, gr.Dataframe)
              and tab_of(c) not in HEADER_CHECK_SKIPS_TABS]
    assert {"models-table", "face-answers", "face-accuracy", "tryon-eval-table"} <= {t.elem_id for t in tables}
    token = LocalContext.request.set(FakeRequest("zh-CN,zh;q=0.9"))
    try:
        offenders = []
        for table in tables:
            hidden = getattr(table, "visible", True) is False
            shown = headed([], table.headers).headers if hidden else table.headers
            for built, header in zip(table.headers, shown, strict=True):
                text = str(header).strip()
                if isinstance(header, I18nData) or NEUTRAL.match(text) or CHINESE.search(text):
                    continue
                offenders.append(f"{tab_of(table)}: #{table.elem_id or table._id} {built!r} -> {text!r}")
    finally:
        LocalContext.request.reset(token)
    assert not offenders, "table headers a zh-CN reader sees in English (add a col.<header> key or a message " \
                          "template in both locales):\n" + "\n".join(offenders)


def demo_registry(demo: gr.Blocks) -> list[Any]:
    from backends.models.registry import default_registry

    return list(default_registry().values())


def test_every_backend_message_has_a_chinese_template() -> None:
    found: dict[str, str] = {}
    runtime = set()
    for file, line, kind, templates in message_templates.message_sites():
        if templates is None:
            runtime.add(file)
        for template in templates or []:
            found.setdefault(template, f"{file}:{line} ({kind})")
    missing = message_templates.missing(found, message_templates.catalog("zh-CN"))
    assert not missing, ("backend messages without a zh-CN translation (run `python scripts/message_templates.py "
                         "--missing zh-CN` and add them to assets/i18n/messages/zh-CN.json):\n"
                         + "\n".join(f"{found[t]}: {t}" for t in missing))
    unexplained = runtime - set(RUNTIME_MESSAGES)
    assert not unexplained, f"messages built at run time cannot be translated by template: {sorted(unexplained)}"


def test_the_message_templates_are_read_from_the_source() -> None:
    tree = message_templates.ast.parse('raise InvalidInput("width", f"{w} is not a multiple of {m:d}")')
    call = tree.body[0].exc
    assert message_templates.templates_of(call.args[1]) == ["{} is not a multiple of {}"]
    branches = message_templates.ast.parse('f"{a} x" if b else "plain"').body[0].value
    assert message_templates.templates_of(branches) == ["{} x", "plain"]
    assert message_templates.templates_of(message_templates.ast.parse("message").body[0].value) is None


def test_errors_reach_the_reader_in_their_language() -> None:
    token = LocalContext.request.set(FakeRequest("zh-CN,zh;q=0.9"))
    try:
        exc = InvalidInput("width", "520 is not a multiple of 32, which t2i/cogview4 needs (try 512 or 544)")
        assert error_message(exc) == "width: 520 不是 32 的倍数，而 t2i/cogview4 需要这样（试试 512 或 544）"
        nested = ModelUnavailable("Seedream (t2i/seedream) is not available: Seedream runs through the ModelArk / "
                                  "Ark API and needs a key: set ARK_API_KEY (and STUDIO_ARK_BASE_URL for Volcengine) "
                                  "before starting the studio")
        assert error_message(nested).startswith("Seedream（t2i/seedream）不可用：Seedream 通过 ModelArk")

        @ui_errors
        def refuse() -> None:
            raise InvalidInput("prompt", "must not be empty or only whitespace")

        with pytest.raises(gr.Error) as raised:
            refuse()
        assert raised.value.message == "prompt: 不能为空，也不能只有空白" and raised.value.title == "输入无效"
    finally:
        LocalContext.request.reset(token)
    assert error_message(InvalidInput("prompt", "must not be empty or only whitespace")) == \
        "prompt: must not be empty or only whitespace"  # no request: English


def test_the_page_language_wins_over_the_browser_header() -> None:
    token = LocalContext.request.set(FakeRequest("en-US,en;q=0.9", cookie="zh-CN"))
    try:
        assert tr("t2i.col.steps") == "步数"  # Gradio's Settings switched the page to Chinese
    finally:
        LocalContext.request.reset(token)
    assert tr("t2i.col.steps") == "Steps"


def test_server_made_keys_exist_in_both_locales() -> None:
    """Keys that handlers pass to ``tr`` (read from the source) exist, so no raw key reaches the screen."""
    used = set()
    for path in sorted((ROOT / "tabs").glob("*.py")):
        used |= set(re.findall(r"\btr\(\s*f?\"([a-z0-9_.]+)\"", path.read_text("utf-8")))
    catalog = texts()
    missing = sorted(k for k in used if not catalog.has(k))
    assert len(used) > 50 and not missing, missing


def test_the_api_page_names_parameters_in_english(demo: gr.Blocks) -> None:
    info = demo.get_api_info()
    labels = [p["label"] for endpoint in info["named_endpoints"].values() for p in endpoint["parameters"]]
    assert labels and all(isinstance(label, str | type(None)) for label in labels)
    t2i = info["named_endpoints"]["/t2i"]["parameters"]
    assert t2i[0]["label"] == "Prompt (中文 / English / mixed)" and t2i[0]["parameter_name"] == "prompt"


def test_the_seed_grid_labels_its_rows_in_the_readers_language(tmp_path: Path, monkeypatch) -> None:
    """The seed grid is drawn on the server: its row labels are the captions' words in the reader's language."""
    from types import SimpleNamespace

    from PIL import Image

    from tabs import text_to_image

    paths = []
    for i in range(2):
        paths.append(str(tmp_path / f"20250101-000000-{i}_t2i-kolors_{i}.png"))
        Image.new("RGB", (8, 8)).save(paths[-1])
    drawn = {}

    def fake_grid(cells, rows, columns, title):
        drawn.update(rows=rows, columns=columns)
        return Image.new("RGB", (8, 8))

    monkeypatch.setattr(text_to_image, "xy_grid", fake_grid)
    ctx = SimpleNamespace(registry={"t2i/kolors": SimpleNamespace(name="Kolors")})
    token = LocalContext.request.set(FakeRequest("zh-CN,zh;q=0.9"))
    try:
        text_to_image.seed_grid(ctx, "一只猫", ["t2i/kolors"], [7, 8], paths)
    finally:
        LocalContext.request.reset(token)
    assert drawn == {"rows": ["种子 7", "种子 8"], "columns": ["Kolors"]}
    text_to_image.seed_grid(ctx, "a cat", ["t2i/kolors"], [7, 8], paths)
    assert drawn["rows"] == ["seed 7", "seed 8"]
