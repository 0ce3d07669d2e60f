"""Studio replicas behind nginx on loopback, for tests/deploy and bench/replicas.py.

Two (or N) ``python app.py`` processes in the tiny profile, each with its own data folder and Gradio cache (so
whatever they share really goes through the database), one scratch PostgreSQL database, and Debian's nginx run
from ``deploy/nginx/studio.conf`` with the replicas' ports, as a non-root user when the tests run as root. Gradio's
REST protocol (``POST /gradio_api/call/<name>``, then the event stream) is spoken with plain httpx clients that keep
their cookies, as browsers do.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.e2e.conftest import ADMIN_PASSWORD, Studio, free_port, start_studio, stop_studio

ROOT = Path(__file__).resolve().parents[2]
SITE_CONFIG = ROOT / "deploy" / "nginx" / "studio.conf"
UPSTREAM_LINE = re.compile(r"^(\s*)server studio:7860( [^;]*)?;$", re.MULTILINE)
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class NoAnswer(Exception):
    """A call that got no answer: the connection failed, a 5xx from nginx, or an event stream cut short. The
    server may or may not have done the work; only idempotent calls may simply be sent again."""


class CallError(Exception):
    """The studio answered the call with an error (its message is the exception's)."""


def nginx_binary() -> str | None:
    """Debian's nginx, or None (scripts/ensure-nginx.sh installs it)."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def render_nginx_conf(listen: int, upstream_ports: Sequence[int], workdir: Path) -> str:
    """A whole nginx.conf for loopback: ``deploy/nginx/studio.conf`` with its upstream line replaced by one line per
    replica port and ``listen 80`` by the given loopback port, wrapped in a main context that runs in the foreground
    and keeps its pid, logs and temporary files under ``workdir``."""
    site = SITE_CONFIG.read_text("utf-8")
    upstream = UPSTREAM_LINE.search(site)
    if upstream is None or len(UPSTREAM_LINE.findall(site)) != 1 or site.count("listen 80;") != 1:
        raise ValueError(f"{SITE_CONFIG} no longer has exactly one 'server studio:7860 ...;' and 'listen 80;' line")
    indent, options = upstream.group(1), upstream.group(2) or ""
    servers = "\n".join(f"{indent}server 127.0.0.1:{port}{options};" for port in upstream_ports)
    site = site[:upstream.start()] + servers + site[upstream.end():]
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    temp = "\n".join(f"    {kind}_temp_path {workdir / 'temp' / kind};" for kind in TEMP_PATHS)
    return (f"daemon off;\nworker_processes 1;\npid {workdir / 'nginx.pid'};\n"
            f"error_log {workdir / 'error.log'} info;\nevents {{\n    worker_connections 2048;\n}}\n"
            f"http {{\n    access_log {workdir / 'access.log'};\n{temp}\n{site}}}\n")


@dataclass
class Nginx:
    url: str
    process: subprocess.Popen
    workdir: Path


def start_nginx(upstream_ports: Sequence[int]) -> Nginx:
    """Start nginx on a free loopback port in front of ``upstream_ports``; as user nobody when this is root."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (scripts/ensure-nginx.sh)")
    workdir = Path(tempfile.mkdtemp(prefix="studio-nginx-"))
    for kind in TEMP_PATHS:
        (workdir / "temp" / kind).mkdir(parents=True)
    listen = free_port()
    config = workdir / "nginx.conf"
    config.write_text(render_nginx_conf(listen, upstream_ports, workdir), "utf-8")
    user: dict[str, Any] = {}
    if os.geteuid() == 0:  # nginx needs no privilege on a high port: drop root for the master too
        nobody = pwd.getpwnam("nobody")
        for path in (workdir, *workdir.rglob("*")):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    command = [binary, "-e", str(workdir / "error.log"), "-p", str(workdir), "-c", str(config)]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, **user)
    if checked.returncode != 0:
        rendered = config.read_text()
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(f"nginx rejected the rendered config:\n{checked.stderr}\n{rendered}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               start_new_session=True, **user)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (workdir / "error.log").read_text()
            shutil.rmtree(workdir, ignore_errors=True)
            raise RuntimeError(f"nginx exited with {process.returncode}: {log}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", listen)) == 0:
                return Nginx(f"http://127.0.0.1:{listen}", process, workdir)
        time.sleep(0.05)
    stop_nginx(Nginx("", process, workdir))
    raise RuntimeError("nginx did not listen within 15 s")


def stop_nginx(nginx: Nginx) -> None:
    """Stop nginx (its master quits gracefully on SIGQUIT) and remove its folder."""
    if nginx.process.poll() is None:
        os.killpg(nginx.process.pid, signal.SIGQUIT)
        try:
            nginx.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(nginx.process.pid, signal.SIGKILL)
            nginx.process.wait(timeout=10)
    shutil.rmtree(nginx.workdir, ignore_errors=True)


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the scratch PostgreSQL server of ``server_url`` (dropped afterwards), so replicas
    start on a fresh database and other tests' databases are left alone."""
    name = f"studio_replicas_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def start_replicas(count: int, root: Path, database_url: str, input_root: Path) -> list[Studio]:
    """``count`` studio processes at once (they migrate the empty database in turns), each with its own data folder
    and Gradio cache under ``root/replica-<i>``."""

    def one(i: int) -> Studio:
        folder = root / f"replica-{i}"
        folder.mkdir(parents=True, exist_ok=True)
        return start_studio(folder / "data", folder / "studio.log", {
            "STUDIO_DATABASE_URL": database_url, "STUDIO_INPUT_ROOTS": str(input_root),
            "GRADIO_TEMP_DIR": str(folder / "gradio")})

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(one, i) for i in range(count)]
    started = [f.result() for f in futures if f.exception() is None]
    failed = [f.exception() for f in futures if f.exception() is not None]
    if failed:
        for studio in started:
            stop_studio(studio)
        raise failed[0]
    return started


def call(http: httpx.Client, name: str, data: list[Any], timeout: float = 60.0) -> list[Any]:
    """One call of a studio endpoint through Gradio's REST API: POST the inputs, then read the event stream.

    Raises:
        CallError: the studio answered with an error.
        NoAnswer: no answer came back (see the class).
    """
    deadline = time.monotonic() + timeout
    result: list[Any] | None = None
    try:
        posted = http.post(f"/gradio_api/call/{name}", json={"data": data})
        if posted.status_code >= 500:
            raise NoAnswer(f"POST {name}: HTTP {posted.status_code}")
        posted.raise_for_status()
        with http.stream("GET", f"/gradio_api/call/{name}/{posted.json()['event_id']}") as stream:
            if stream.status_code >= 500:
                raise NoAnswer(f"GET {name}: HTTP {stream.status_code}")
            stream.raise_for_status()
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: ") and event == "complete":
                    result = json.loads(line[len("data: "):])
                elif line.startswith("data: ") and event == "error":
                    message = json.loads(line[len("data: "):])
                    if isinstance(message, dict):  # gr.Error: {"error": text, "title": ..., ...}
                        message = message.get("error")
                    # Gradio's answer for an event id this process does not know: the replica that took the POST
                    # is gone (or a proxy routed the stream elsewhere). No message at all: the handler crashed.
                    if message is None or message == "404: Not Found":
                        raise NoAnswer(f"{name}: error event {message!r}")
                    raise CallError(str(message))
                if time.monotonic() > deadline:
                    raise NoAnswer(f"{name}: no result within {timeout:g} s")
    except httpx.TransportError as exc:
        if result is not None:  # the result arrived; only the end of the stream was lost
            return result
        raise NoAnswer(f"{name}: {type(exc).__name__}: {exc}") from exc
    if result is None:
        raise NoAnswer(f"{name}: the event stream ended without a result")
    return result


def create_pool_session(http: httpx.Client, folder: Path, name: str = "replicas") -> str:
    """An admin creates a pool session and imports ``folder`` into it (through whatever ``http`` points at)."""
    created = call(http, "arena_create_session", [
        ADMIN_PASSWORD, name, "t2i", "pool", [], "", ["left", "right", "both_good", "both_bad", "skip"],
        "after_vote", 0.0, 0.0, 0.0, 10**6, 5, "", 0, 512, 512, None, "name", 0.0])[0]
    call(http, "arena_import_pool", [ADMIN_PASSWORD, created["session"], str(folder)])
    return created["session"]
