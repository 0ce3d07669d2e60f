"""The composition root's launch options that protect a public server."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest
from PIL import Image

import app
from arena.sessions import SessionConfig
from backends.core import imaging
from backends.core.settings import Settings
from tabs.arena_admin import EXPORTS_KEPT_SECONDS, arena_export


@pytest.fixture
def ctx(tmp_path: Path):
    settings = Settings(profile="tiny", device="cpu", data_dir=tmp_path, offline=True, admin_password="pw",
                        max_upload_mb=7)
    return app.create_context(settings)


class FakeDemo:
    def launch(self, **options):
        self.options = options
        return options


def test_launch_limits_uploads_and_image_pixels(ctx, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 89_478_485)  # PIL's own default
    demo = FakeDemo()
    app.launch(demo, ctx)
    assert demo.options["max_file_size"] == "7mb"
    assert Image.MAX_IMAGE_PIXELS == imaging.MAX_PIXELS
    assert demo.options["allowed_paths"] == [str(ctx.settings.outputs_dir.resolve())]


def test_exports_leave_no_temporary_folders_behind(ctx) -> None:
    session = ctx.arena.create_session("pw", SessionConfig(name="exported"))
    before = {p.name for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("arena-export-*")}
    first = Path(arena_export(ctx, "pw", session.id, "fastchat"))
    assert first.is_file() and first.is_relative_to(ctx.settings.data_dir / "exports")
    old = time.time() - EXPORTS_KEPT_SECONDS - 60
    os.utime(first.parent, (old, old))  # an export from over an hour ago
    second = Path(arena_export(ctx, "pw", session.id, "fastchat"))
    assert not first.parent.exists() and second.is_file()
    assert [p.name for p in (ctx.settings.data_dir / "exports").iterdir()] == [second.parent.name]
    assert {p.name for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("arena-export-*")} == before
    refused = dataclasses.replace(ctx)
    with pytest.raises(Exception, match="wrong admin password"):
        arena_export(refused, "guess", session.id, "fastchat")
