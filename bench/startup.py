"""Start-up time: process start to the first HTTP 200 of the page, the studio vs a plain Gradio app with the same
number of tabs, measured alternately in the same run. Target: ratio at most 1.3.

    python bench/startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import ast
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_first_200(command: list[str], port: int, env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def studio_tab_count() -> int:
    """Tabs the studio builds, read from app.py (``gr.Tab(`` calls)."""
    tree = ast.parse((ROOT / "app.py").read_text("utf-8"))
    return sum(1 for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "gr.Tab")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tabs = studio_tab_count()
    data_dir = tempfile.mkdtemp(prefix="bench-startup-")
    base_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    studio_times, plain_times = [], []
    for _ in range(args.rounds):  # alternate so both see the same machine state
        port = free_port()
        env = {**base_env, "STUDIO_PROFILE": "tiny", "STUDIO_PORT": str(port), "STUDIO_DATA_DIR": data_dir}
        studio_times.append(time_to_first_200([sys.executable, "app.py"], port, env))
        port = free_port()
        plain_times.append(time_to_first_200(
            [sys.executable, "bench/plain_gradio_app.py", "--tabs", str(tabs), "--port", str(port)], port, base_env))
    studio, plain = statistics.median(studio_times), statistics.median(plain_times)
    print(f"tabs: {tabs}, rounds: {args.rounds}")
    print(f"studio  median {studio:.2f} s  (all: {', '.join(f'{t:.2f}' for t in studio_times)})")
    print(f"plain   median {plain:.2f} s  (all: {', '.join(f'{t:.2f}' for t in plain_times)})")
    print(f"startup ratio studio/plain = {studio / plain:.2f}  (target <= 1.3)")


if __name__ == "__main__":
    main()
