"""Simulated annotators for the replica tests and bench: each is one browser-like HTTP client (its own cookies, so
nginx keeps it on one replica) that asks for a battle, downloads both images, votes, and retries what got no answer.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.deploy.harness import CallError, NoAnswer, call

OUTCOMES = ("left", "right", "both_good", "both_bad", "skip")
REPLICA_IN_PATH = re.compile(r"/replica-(\d+)/gradio/")


@dataclass
class Ack:
    """An acknowledged vote."""

    battle_id: str
    outcome: str
    served_at: float  # time.monotonic() when the battle and its images had arrived
    at: float  # time.monotonic() when the acknowledgement arrived
    replica: int  # the replica that served the battle (from the served images' cache folder)


@dataclass
class Annotator:
    """One annotator labeling through ``base_url``.

    Args:
        index: annotator number (its name is ``annotator <index>``).
        base_url: where to send requests (nginx).
        session: the labeling session.
        retry_for: how long one battle may keep failing without an answer before the annotator gives up.
    """

    index: int
    base_url: str
    session: str
    retry_for: float = 60.0
    acks: list[Ack] = field(default_factory=list)
    served: list[tuple[float, int]] = field(default_factory=list)  # (time, replica) of each battle served
    no_answers: list[float] = field(default_factory=list)  # when a call had to be sent again (no answer came back)
    rate_limited: int = 0
    failure: str = ""

    @property
    def name(self) -> str:
        return f"annotator {self.index}"

    def run(self, stop: threading.Event, dead: threading.Event | None = None, dead_replica: int = -1) -> None:
        """Label until ``stop`` is set; a battle in progress is always finished (its vote acknowledged).

        Args:
            stop: set when no new battle should be started.
            dead: set once ``dead_replica`` is being killed: images it served may then be missing.
            dead_replica: the replica that will be killed.
        """
        rng = random.Random(self.index)
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            try:
                while not stop.is_set():
                    battle_id, replica = self._next(http, dead, dead_replica)
                    self._vote(http, battle_id, rng.choice(OUTCOMES), replica, self.served[-1][0])
            except Exception as exc:  # reported by the test, with the annotator's name
                self.failure = f"{self.name}: {type(exc).__name__}: {exc}"

    def _next(self, http: httpx.Client, dead: threading.Event | None, dead_replica: int) -> tuple[str, int]:
        """The next battle with both images downloaded; an unanswered /arena_next is sent again (the battle the
        annotator was served and has not voted on is served again, so nothing is skipped)."""
        give_up = time.monotonic() + self.retry_for
        while True:
            try:
                info, left, right, _input = call(http, "arena_next", [self.session, self.name, ""])
            except NoAnswer:
                self._again(give_up, "arena_next")
                continue
            if not info["battle_id"]:
                raise RuntimeError(f"no battle served: {info.get('message')}")
            replica = self._replica(left["url"])
            if self._download(http, left["url"]) and self._download(http, right["url"]):
                self.served.append((time.monotonic(), replica))
                return info["battle_id"], replica
            # The images lived in the Gradio cache of a replica that died since: ask again (served anew).
            if dead is None or not dead.is_set() or replica != dead_replica:
                raise RuntimeError(f"an image of battle {info['battle_id']} could not be downloaded from live "
                                   f"replica {replica}")
            self._again(give_up, "image download")

    def _vote(self, http: httpx.Client, battle_id: str, outcome: str, replica: int, served_at: float) -> None:
        """Vote until acknowledged: votes are idempotent, so a vote whose answer was lost is simply sent again."""
        give_up = time.monotonic() + self.retry_for
        while True:
            try:
                result = call(http, "arena_vote", [battle_id, self.name, outcome, None])[0]
            except NoAnswer:
                self._again(give_up, "arena_vote")
                continue
            except CallError as exc:
                if "rate limit" not in str(exc):
                    raise
                self.rate_limited += 1
                time.sleep(2.0)
                continue
            if not result.get("recorded") or result.get("battle_id") != battle_id:
                raise RuntimeError(f"unexpected vote answer {result}")
            self.acks.append(Ack(battle_id, outcome, served_at, time.monotonic(), replica))
            return

    def _download(self, http: httpx.Client, url: str) -> bool:
        """Fetch a served image through the same client (so the same replica); False if it is not there."""
        if not url.startswith(self.base_url + "/"):
            raise RuntimeError(f"the studio built a file URL that bypasses nginx: {url}")
        try:
            response = http.get(url)
        except httpx.TransportError:
            return False
        if response.status_code != 200:
            return False
        if not response.content.startswith(b"\x89PNG\r\n\x1a\n"):
            raise RuntimeError(f"{url} is not a PNG ({response.headers.get('content-type')})")
        return True

    def _again(self, give_up: float, what: str) -> None:
        self.no_answers.append(time.monotonic())
        if time.monotonic() > give_up:
            raise RuntimeError(f"{what} got no answer for {self.retry_for:g} s")
        time.sleep(0.2)

    @staticmethod
    def _replica(url: str) -> int:
        found = REPLICA_IN_PATH.search(url)
        if found is None:
            raise RuntimeError(f"cannot tell which replica served {url}")
        return int(found.group(1))
