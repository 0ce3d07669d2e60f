"""The admin rate limit behind a reverse proxy: per visitor when the proxy is trusted (STUDIO_TRUSTED_PROXIES), one
shared limit for everyone behind it when it is not."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import gradio as gr
import pytest

from arena.sessions import LabelingService
from arena.store import ArenaStore
from backends.core.settings import Settings
from tabs.common import AppContext, client_id, make_i18n
from tabs.models import free_models

PROXY = "10.0.0.5"


def through_proxy(visitor: str) -> gr.Request:
    """A request as the studio sees it behind nginx: the peer is the proxy, the visitor is in X-Forwarded-For."""
    return gr.Request(headers={"X-Forwarded-For": visitor}, client={"host": PROXY, "port": 40000})


def context(tmp_path: Path, proxies: tuple[str, ...]) -> AppContext:
    settings = dataclasses.replace(Settings(profile="tiny", data_dir=tmp_path), trusted_proxies=proxies)
    # A refused password counts five times: with a limit of 5, one wrong password uses up a client's minute.
    arena = LabelingService(ArenaStore(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "images"), b"k" * 32, "pw",
                            rng=random.Random(0), admin_rate=5)
    return AppContext(settings, None, None, make_i18n(), arena=arena)


def test_behind_a_trusted_proxy_each_visitor_has_their_own_admin_limit(tmp_path: Path) -> None:
    ctx = context(tmp_path, (PROXY,))
    assert client_id(ctx, through_proxy("203.0.113.7")) == "203.0.113.7"
    with pytest.raises(gr.Error, match="wrong admin password"):
        free_models(ctx, "guess", None, through_proxy("203.0.113.7"))
    with pytest.raises(gr.Error, match="too many admin requests"):
        free_models(ctx, "guess", None, through_proxy("203.0.113.7"))
    with pytest.raises(gr.Error, match="wrong admin password"):  # another visitor is not locked out
        free_models(ctx, "guess", None, through_proxy("198.51.100.2"))
    audited = {row["client"] for row in ctx.arena.store.audit_log()}
    assert audited == {"203.0.113.7", "198.51.100.2"}
    ctx.arena.store.close()


def test_an_untrusted_proxy_is_the_client_whatever_the_header_says(tmp_path: Path) -> None:
    ctx = context(tmp_path, ())
    assert client_id(ctx, through_proxy("203.0.113.7")) == PROXY
    with pytest.raises(gr.Error, match="wrong admin password"):
        free_models(ctx, "guess", None, through_proxy("203.0.113.7"))
    with pytest.raises(gr.Error, match="too many admin requests"):  # a forged header does not escape the limit
        free_models(ctx, "guess", None, through_proxy("198.51.100.2"))
    assert {row["client"] for row in ctx.arena.store.audit_log()} == {PROXY}
    ctx.arena.store.close()


def test_in_process_calls_are_local(tmp_path: Path) -> None:
    ctx = context(tmp_path, (PROXY,))
    assert client_id(ctx, None) == "local"
    ctx.arena.store.close()
