"""Launch the studio as README says (``python app.py``) in the tiny profile, once per test session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "e2e-admin"


@dataclass
class Studio:
    url: str
    data_dir: Path
    process: subprocess.Popen
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_studio(data_dir: Path, log: Path, extra_env: dict[str, str] | None = None) -> Studio:
    """Start ``python app.py`` and wait until the page answers 200."""
    port = free_port()
    env = {**os.environ, "STUDIO_PROFILE": "tiny", "STUDIO_DEVICE": "cpu", "STUDIO_PORT": str(port),
           "STUDIO_HOST": "127.0.0.1", "STUDIO_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", "STUDIO_ADMIN_PASSWORD": ADMIN_PASSWORD,
           **(extra_env or {})}
    handle = log.open("w")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=handle,
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the studio exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return Studio(url, data_dir, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_studio(Studio(url, data_dir, process, log))
    raise RuntimeError(f"the studio did not answer within 120 s:\n{log.read_text()[-3000:]}")


def stop_studio(studio: Studio) -> None:
    if studio.process.poll() is None:
        os.killpg(studio.process.pid, signal.SIGTERM)
        try:
            studio.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(studio.process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def studio(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    log = tmp_path_factory.mktemp("studio-log") / "studio.log"
    # Server folders: only the tests' scratch area; the admin rate limit loosened for a suite that calls admin
    # endpoints many times a minute from one address (tests/arena checks the limit itself).
    running = start_studio(shared_data_dir, log, {"STUDIO_INPUT_ROOTS": str(tmp_path_factory.getbasetemp()),
                                                  "STUDIO_ADMIN_RATE": "100000"})
    yield running
    stop_studio(running)
