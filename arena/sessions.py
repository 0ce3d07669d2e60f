"""Labeling sessions end to end: configure, fill (pool import or live generation), serve blind battles, take votes,
and turn them into a leaderboard and annotator-quality report.

No gradio and no torch here: live generation is an injected callable (``app.py`` builds it on the model cache).
Images shown to annotators are re-encoded to one format and size, carry no metadata and differ by an invisible
per-serve nonce, so neither file names, bytes, content hashes nor the API's JSON tell the model before the vote.

``LabelingService`` is the one entry point and the only code that touches the store. What a session is configured
with lives in ``arena.session_config`` and what an annotator is served in ``arena.serving``; ``SessionConfig``,
``TASKS``, ``DEFAULT_CRITERIA`` and ``ServedBattle`` are re-exported here for the callers that import them from here.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from arena import export, quality
from arena.battle_import_parse import parse_fastchat_file
from arena.live_board import BOOTSTRAP_EVERY, LiveBoards
from arena.media import ImageStore, ServedFiles, common_size, degrade, served_copy
from arena.pool_import import scan_pool
from arena.sampler import plan_battle
from arena.schema import Battle, ItemRecord, Session
from arena.serving import ServedBattle, gold_answer, parse_criteria, sampler_input
from arena.session_config import DEFAULT_CRITERIA, TASKS, SessionConfig
from arena.store import ArenaStore
from backends.core.errors import InvalidInput
from backends.core.imaging import load_image
from backends.core.paths import confine
from backends.core.text import check_prompt, detect_language
from backends.core.validation import check_number

if TYPE_CHECKING:
    from arena import board as boards
    from arena import rating

__all__ = ["DEFAULT_CRITERIA", "TASKS", "LabelingService", "LiveGenerator", "ServedBattle", "SessionConfig"]


class NoVotesYet(InvalidInput):
    """A leaderboard was asked of a session (or slice) without a countable vote: nothing is wrong, just early."""


class LiveGenerator(Protocol):
    """Generates live-session outputs with the studio's models (``app.py`` builds it on the model cache)."""

    def models(self) -> list[str]:
        """Model keys a live session may compare."""

    def check(self, model: str, prompt: str, width: int, height: int, steps: int | None) -> None:
        """Raise ``InvalidInput`` if ``model`` cannot generate this (checked when the session is created)."""

    def __call__(self, model: str, prompt: str, seed: int, width: int, height: int,
                 steps: int | None) -> tuple[Image.Image, dict[str, Any]]:
        """One output and its recipe; both sides of an item get the same seed and size."""


class LabelingService:
    """Sessions, battles and votes for blind pairwise human-preference labeling.

    Args:
        store: the database.
        secret: key for pseudonymising annotator names (kept in the data dir, never exported).
        admin_password: password for admin actions ("" disables them).
        generate: live-mode generator (None: live sessions cannot be filled).
        rng: random source for pairing and sides (seeded in tests).
        display_size: long side, in pixels, of images served to annotators.
        pool_roots: server folders pools may be imported from (empty: none; in-process callers pass paths they
            wrote themselves through ``import_pool(..., trusted=True)``).
        admin_rate: admin calls per client per minute (a refused password counts five times).
        bootstrap_every: seconds between bootstraps of a live leaderboard (see :mod:`arena.live_board`).
    """

    def __init__(self, store: ArenaStore, secret: bytes, admin_password: str = "",
                 generate: LiveGenerator | None = None, rng: random.Random | None = None,
                 display_size: int = 768, pool_roots: tuple[Path, ...] = (), admin_rate: int = 30,
                 bootstrap_every: float = BOOTSTRAP_EVERY) -> None:
        self.store = store
        self.secret = secret
        self.admin_password = admin_password
        self.pool_roots = pool_roots
        self.admin_rate = admin_rate
        self.generate = generate
        self.rng = rng or random.Random(secrets.randbits(64))
        self.display_size = display_size
        self.images = ImageStore(store.image_dir, None if store.is_sqlite else store)
        self.served_files = ServedFiles(store.image_dir.parent / "served")  # what the web API sends
        self.boards = LiveBoards(bootstrap_every)  # live leaderboards: refitted per request, bootstrapped on a clock
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path, database_url: str = "", admin_password: str = "",
             generate: LiveGenerator | None = None, **options: Any) -> LabelingService:
        """The studio's service: store under ``data_dir/arena`` and a secret created there on first use; other
        keyword arguments as for the constructor."""
        store = ArenaStore.open(data_dir, database_url)
        # The pseudonym key lives in the database, so every replica sharing it names annotators alike; a key file
        # from before (data/arena/annotator.key) is adopted, keeping existing pseudonyms.
        key_file = data_dir / "arena" / "annotator.key"
        key = store.shared_secret("annotator_key", key_file.read_bytes() if key_file.exists() else
                                  secrets.token_bytes(32))
        if not store.is_sqlite:
            store.adopt_image_files()
        return cls(store, key, admin_password, generate, **options)

    # ----------------------------------------------------------------------------------------------------------------
    # Admin
    # ----------------------------------------------------------------------------------------------------------------
    def require_admin(self, password: Any, action: str = "admin", target: Any = "", client: str = "local") -> None:
        """Raise unless ``password`` is the admin password; every attempt is audited and rate-limited per client.

        Args:
            password: what the client sent.
            action: the admin action, for the audit log (e.g. ``"create_session"``).
            target: what it acts on (a session id, model keys), for the audit log.
            client: who asks (the client's address), for the audit log and the rate limit.
        """
        if not self.admin_password:
            raise InvalidInput("admin_password", "session admin is disabled: set STUDIO_ADMIN_PASSWORD and restart")
        who, what = str(client or "unknown"), str(target or "")
        calls, refused = self.store.admin_calls(who, time.time() - 60)
        if calls + 4 * refused >= self.admin_rate:
            self.store.audit(who, action, what, ok=False)
            raise InvalidInput("admin_password", "too many admin requests from this client; wait a minute")
        if not isinstance(password, str) or not password:
            self.store.audit(who, action, what, ok=False)
            raise InvalidInput("admin_password", "enter the admin password (STUDIO_ADMIN_PASSWORD)")
        ok = hmac.compare_digest(password.encode(), self.admin_password.encode())
        self.store.audit(who, action, what, ok=ok)
        if not ok:
            raise InvalidInput("admin_password", "wrong admin password")

    def create_session(self, password: Any, config: SessionConfig, client: str = "local") -> Session:
        """Create a session (and, in live mode, its prompt pool)."""
        self.require_admin(password, "create_session", getattr(config, "name", ""), client)
        config = config.validated()
        if config.mode == "live":
            if self.generate is None:
                raise InvalidInput("mode", "live sessions need the studio's models; this server cannot generate")
            for model in config.models:
                if model not in self.generate.models():
                    raise InvalidInput("models", f"{model!r} is not a model this studio can generate with")
                self.generate.check(model, config.prompts[0], config.width, config.height, config.steps)
        slug = re.sub(r"[^a-z0-9]+", "-", config.name.lower()).strip("-")[:40] or "session"
        session_id = f"{slug}-{secrets.token_hex(3)}"
        data = asdict(config)
        session = self.store.create_session(session_id, config.name, config.task, config.mode, data)
        if config.mode == "live":
            records = [ItemRecord(f"p{i:04d}", p, detect_language(p)) for i, p in enumerate(config.prompts)]
            self.store.add_items(session_id, records)
        return session

    def import_pool(self, password: Any, session_id: Any, folder: Any, client: str = "local",
                    trusted: bool = False) -> dict[str, Any]:
        """Import pre-generated outputs: ``<folder>/prompts.jsonl`` and ``<folder>/<model>/<item_id>.png``.

        Everything is validated before anything is written; a missing or corrupt image or a bad prompts line is
        an error naming it, and the session is left as it was. A folder a client names must lie under
        ``pool_roots``; ``trusted`` is for folders the studio wrote itself.
        """
        self.require_admin(password, "import_pool", session_id, client)
        session = self.store.session(session_id)
        if session.mode != "pool":
            raise InvalidInput("session", f"{session.id} is a {session.mode} session; pools go into pool sessions")
        root = Path(str(folder)) if trusted else confine(folder, self.pool_roots, "folder", "STUDIO_INPUT_ROOTS")
        # 1. validate every file first (nothing is written if one is missing or corrupt)
        planned, names = scan_pool(root, session.models)
        # 2. store normalised images (content-addressed), then all rows in one transaction
        records = []
        for entry, files, input_file in planned:
            stored = self.images.put_many([load_image(f) for f in files.values()]
                                          + ([load_image(input_file)] if input_file else []))
            records.append(ItemRecord(
                item_key=entry["item_id"], prompt=entry["prompt"],
                language=entry.get("language") or detect_language(entry["prompt"]),
                input_image=stored[-1] if input_file else None,
                outputs={names[m]: name for m, name in zip(files, stored, strict=False)}))
        added = self.store.add_items(session.id, records)
        self.store.register_models(session.id, sorted(names.values()))
        if not session.models:
            self.store.update_config(session.id, {**session.config, "models": sorted(names.values())})
        return {"session": session.id, "items": added, "models": sorted(names.values())}

    def import_battles(self, password: Any, path: Any, name: Any = "Imported battles",
                       client: str = "local") -> dict[str, Any]:
        """Import a FastChat battle JSONL file (an upload) as a new session of battle logs (no images), all or
        nothing: a battle imported before is an error naming its line, and no session is left behind."""
        self.require_admin(password, "import_battles", name, client)
        file = Path(str(path or "")).expanduser()
        if not file.is_file():
            raise InvalidInput("path", f"{str(path)!r} is not a file on the server")
        try:
            rows = parse_fastchat_file(file, self._keyed)  # columnar when it can be, else line by line
        except UnicodeDecodeError as exc:
            raise InvalidInput("path", "the file is not UTF-8 text") from exc
        models = sorted(set(rows.left_model) | set(rows.right_model))
        config = asdict(SessionConfig(name=check_prompt(name, "name"), models=tuple(models)))
        session_id = f"imported-{secrets.token_hex(4)}"
        self.store.import_battles({"id": session_id, "name": config["name"], "task": "t2i", "config": config}, rows)
        return {"session": session_id, "battles": len(rows), "models": models}

    def set_excluded(self, password: Any, session_id: Any, annotator_ids: Any, excluded: bool = True,
                     client: str = "local") -> int:
        """Leave annotators out of the leaderboard (or bring them back)."""
        self.require_admin(password, "set_excluded", session_id, client)
        session = self.store.session(session_id)
        ids = [a.strip() for a in (annotator_ids if isinstance(annotator_ids, list) else str(annotator_ids or "")
                                   .split(",")) if a.strip()]
        if not ids:
            raise InvalidInput("annotators", "name at least one annotator id (see the quality table)")
        return self.store.set_excluded(session.id, ids, excluded)

    def close_session(self, password: Any, session_id: Any, client: str = "local") -> None:
        """Close a session: no more battles; ``after_session`` reveals become visible."""
        self.require_admin(password, "close_session", session_id, client)
        self.store.set_session_status(self.store.session(session_id).id, "closed")

    def export(self, password: Any, session_id: Any, kind: str, out_dir: Path, client: str = "local") -> Path:
        """Export a session: ``fastchat`` battle JSONL, ``preferences`` JSONL, or a ``dataset`` zip with images."""
        self.require_admin(password, "export", session_id, client)
        session = self.store.session(session_id)
        rows = self.store.battle_rows(session.id)
        stem = out_dir / f"{session.id}-{secrets.token_hex(3)}"
        if kind == "fastchat":
            return export.write_jsonl(stem.with_suffix(".battles.jsonl"), export.fastchat_rows(rows))
        if kind == "preferences":
            folder = export.model_folder
            pairs = export.preference_pairs(rows, lambda m, k: f"{folder(m)}/{folder(k)}.png")
            return export.write_jsonl(stem.with_suffix(".preferences.jsonl"), pairs)
        if kind == "dataset":
            return export.write_dataset(stem, self.store.items(session.id), rows, self.images.path,
                                        {"id": session.id, "name": session.name, "task": session.task,
                                         "config": session.config})
        raise InvalidInput("kind", f"{kind!r} is not fastchat, preferences or dataset")

    # ----------------------------------------------------------------------------------------------------------------
    # Annotators
    # ----------------------------------------------------------------------------------------------------------------
    def pseudonym(self, annotator: Any) -> str:
        """The stored id of an annotator name or token: a keyed hash, so names never reach the database."""
        if not isinstance(annotator, str) or not annotator.strip():
            raise InvalidInput("annotator", "enter a name or token to label with")
        name = annotator.strip()
        if len(name) > 64 or any(ord(c) < 32 for c in name):
            raise InvalidInput("annotator", "at most 64 printable characters")
        return self._keyed(name)

    def _keyed(self, text: str) -> str:
        """The keyed hash every annotator and imported judge is stored as."""
        return "a-" + hmac.new(self.secret, text.strip().casefold().encode(), hashlib.sha256).hexdigest()[:16]

    def create_invites(self, password: Any, session_id: Any, aliases: Any, client: str = "local") -> list[dict]:
        """Per-annotator invite tokens for a session whose identity is ``invite`` (admin).

        Args:
            password: the admin password.
            session_id: the session.
            aliases: one alias per annotator (a list, or text with one per line or comma-separated); shown in
                quality tables instead of the token's hash.
            client: who asks, for the audit log.

        Returns:
            ``[{"alias", "token"}]``: give each annotator their token; it is shown only now (only a keyed hash of
            it is stored).
        """
        self.require_admin(password, "create_invites", session_id, client)
        session = self.store.session(session_id)
        names = aliases if isinstance(aliases, list) else str(aliases or "").replace(",", "\n").splitlines()
        names = [check_prompt(a, "aliases")[:64] for a in names if str(a).strip()]
        if not names or len(names) > 1000:
            raise InvalidInput("aliases", "give 1 to 1000 aliases, one per annotator")
        tokens = [secrets.token_urlsafe(18) for _ in names]
        self.store.add_invites(session.id, [(self._keyed(t), a) for t, a in zip(tokens, names, strict=True)])
        return [{"alias": a, "token": t} for a, t in zip(names, tokens, strict=True)]

    def annotator_id(self, session: Session, annotator: Any, verified: str | None = None) -> str:
        """The annotator's stored id under the session's identity policy.

        ``name``: any name (a pseudonym of it); ``invite``: a token the admin created for this session; ``hf``: the
        Hugging Face user the server verified (``verified``, from the sign-in), never a typed name.
        """
        identity = session.config.get("identity", "name")
        if identity == "hf":
            if not verified:
                raise InvalidInput("annotator", "this session needs you to sign in with Hugging Face first")
            return self._keyed(f"hf:{verified}")
        annotator_id = self.pseudonym(annotator)
        if identity == "invite" and annotator_id not in self.store.invite_aliases(session.id):
            raise InvalidInput("annotator", "this session needs the invite token its admin gave you")
        return annotator_id

    def next_battle(self, session_id: Any, annotator: Any, group: str = "",
                    verified: str | None = None) -> ServedBattle:
        """The annotator's next battle: an unvoted one they were already served, else a new one."""
        session = self.store.session(session_id)
        annotator_id = self.annotator_id(session, annotator, verified)
        if session.mode == "imported":
            raise InvalidInput("session", f"{session.id} holds imported battle logs; there is nothing to label")
        self.store.ensure_annotator(session.id, annotator_id, str(group or "")[:64])
        with self._lock_for(session.id, annotator_id):
            battle = self.store.pending_battle(session.id, annotator_id)
            if battle is None:
                done = self._done_message(session)
                if done:
                    return self._nothing(session, annotator_id, done)
                battle = self._new_battle(session, annotator_id)
                if battle is None:
                    return self._nothing(session, annotator_id, "you have judged every pair in this session")
        return self._serve(session, battle, annotator_id)

    def vote(self, battle_id: Any, annotator: Any, outcome: Any, criteria: Any = None,
             verified: str | None = None) -> dict[str, Any]:
        """Record a vote (durably) and return what the reveal policy allows."""
        battle = self.store.battle(battle_id)
        session = self.store.session(battle.session_id)
        annotator_id = self.annotator_id(session, annotator, verified)
        if battle.kind == "imported" or battle.annotator_id != annotator_id:
            raise InvalidInput("battle_id", "this battle was not served to this annotator")
        config = session.config
        if outcome not in config["outcomes"]:
            raise InvalidInput("outcome", f"{outcome!r} is not one of {', '.join(config['outcomes'])}")
        choices = parse_criteria(criteria, config["criteria"])
        votes = self.store.record_vote(battle, annotator_id, outcome, choices, config["max_votes_per_minute"])
        reveal = None
        total = self.store.vote_count(session.id)
        session_over = session.status == "closed" or total >= config["target_votes"]
        if config["reveal"] == "after_vote" or (config["reveal"] == "after_session" and session_over):
            reveal = {"left": battle.left_model, "right": battle.right_model}
            if battle.kind == "gold":
                reveal["note"] = "quality check: one side was deliberately degraded"
        return {"recorded": True, "battle_id": battle.id, "outcome": outcome, "criteria": choices, "reveal": reveal,
                "reveal_policy": config["reveal"], "your_votes": votes, "session_votes": total,
                "target_votes": config["target_votes"]}

    # ----------------------------------------------------------------------------------------------------------------
    # Analysis
    # ----------------------------------------------------------------------------------------------------------------
    def battles_for_rating(self, session_id: Any, criterion: str = "overall", language: str = "all",
                           group: str = "all", exclude_flagged: bool = False) -> rating.Battles:
        """The countable votes of a session as a rating table (left model = model A), after the slices."""
        from arena.rating_source import read_rating_battles  # numpy: imported when a board is asked for

        session = self.store.session(session_id)
        if criterion != "overall" and criterion not in session.config.get("criteria", []):
            raise InvalidInput("criterion", f"{criterion!r} is not overall or one of {session.config['criteria']}")
        flagged: set[str] = set()
        if exclude_flagged:  # the quality checks need every battle row; the rating itself does not
            flagged = {q.annotator for q in quality.annotator_quality(self.store.battle_rows(session.id))
                       if q.flagged}
        return read_rating_battles(self.store, session.id, criterion, language, group, flagged)

    def leaderboard(self, session_id: Any, ties: str = "davidson", criterion: str = "overall",
                    language: str = "all", group: str = "all", exclude_flagged: bool = False, bootstrap: int = 200,
                    seed: int = 0, ci: str = "bootstrap") -> tuple[boards.Leaderboard, dict[str, Any]]:
        """The session's leaderboard (object for plots, and JSON), on the requested slice, with the session's
        weak prior (0: none)."""
        from arena.board import leaderboard

        if ties not in ("davidson", "fastchat"):
            raise InvalidInput("ties", f"{ties!r} is not davidson or fastchat")
        bootstrap = int(check_number(bootstrap, "bootstrap", minimum=0, maximum=5000, integer=True))
        session = self.store.session(session_id)
        battles = self.battles_for_rating(session.id, criterion, language, group, exclude_flagged)
        if len(battles) == 0:
            raise NoVotesYet("session", f"{session.id} has no countable votes for this slice yet")
        key = (session.id, ties, criterion, language, group, bool(exclude_flagged), bootstrap, int(seed), ci)
        board = self.boards.board(key, battles, partial(
            leaderboard, ties=ties, seed=int(seed), ci=ci, min_votes=session.config.get("min_votes", 50),
            prior=session.config.get("prior", 0.0)), bootstrap if ci == "bootstrap" else 0)
        data = board.to_dict()
        data.update({"session": session.id, "criterion": criterion, "language": language, "group": group,
                     "exclude_flagged": bool(exclude_flagged)})
        return board, data

    def quality_report(self, session_id: Any) -> dict[str, Any]:
        """Per-annotator quality and agreement (overall and per criterion)."""
        session = self.store.session(session_id)
        rows = self.store.battle_rows(session.id)
        aliases = self.store.invite_aliases(session.id)
        return {
            "annotators": [{**q.to_dict(), "alias": aliases.get(q.annotator, "")}
                           for q in quality.annotator_quality(rows)],
            "agreement": {"overall": quality.agreement(rows),
                          **{c: quality.agreement(rows, c) for c in session.config.get("criteria", [])}},
        }

    # ----------------------------------------------------------------------------------------------------------------
    # Internals
    # ----------------------------------------------------------------------------------------------------------------
    def _lock_for(self, session_id: str, annotator_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault((session_id, annotator_id), threading.Lock())

    def _done_message(self, session: Session) -> str:
        if session.status == "closed":
            return "this session is closed"
        if self.store.vote_count(session.id) >= session.config["target_votes"]:
            return f"this session reached its target of {session.config['target_votes']} votes; thank you"
        return ""

    def _nothing(self, session: Session, annotator_id: str, message: str) -> ServedBattle:
        return ServedBattle("", "", list(session.config["criteria"]), list(session.config["outcomes"]), None, None,
                            progress=self._progress(session, annotator_id), message=message)

    def _progress(self, session: Session, annotator_id: str) -> dict[str, int]:
        mine, total = self.store.progress(session.id, annotator_id)
        return {"your_votes": mine, "session_votes": total,
                "target_votes": session.config["target_votes"]}

    def _new_battle(self, session: Session, annotator_id: str) -> Battle | None:
        config = session.config
        items = self.store.items(session.id)
        live = session.mode == "live"
        data = sampler_input(*self.store.sampler_view(session.id, annotator_id), items, config["models"], live)
        plan = plan_battle(self.rng, data, gold_rate=config["gold_rate"], repeat_rate=config["repeat_rate"],
                           overlap_rate=config["overlap_rate"])
        if plan is None:
            return None
        item = next(i for i in items if i["id"] == plan.item_id)
        if live:
            for model in {plan.left_model, plan.right_model}:
                self._ensure_output(session, item, model)
            item = self.store.item(item["id"])
        left, right = item["outputs"][plan.left_model], item["outputs"][plan.right_model]
        if plan.kind == "gold":
            degraded = self.images.put(degrade(self.images.open(left), self.rng))
            left, right = (degraded, left) if plan.degraded_side == "left" else (left, degraded)
        battle = Battle(
            id=secrets.token_urlsafe(12), session_id=session.id, item_id=item["id"], annotator_id=annotator_id,
            kind=plan.kind, left_model=plan.left_model, right_model=plan.right_model, left_image=left,
            right_image=right, gold_answer=gold_answer(plan), repeat_of=plan.repeat_of, served_at=time.time())
        return self.store.add_battle(battle)

    def _ensure_output(self, session: Session, item: Mapping[str, Any], model: str) -> None:
        if model in item["outputs"]:
            return
        config = session.config
        # Live items are keyed p0000, p0001, ...: item i uses seed + i, the same for both sides.
        seed = config["seed"] + int(item["item_key"][1:])
        image, recipe = self.generate(model, item["prompt"], seed, config["width"], config["height"],
                                      config["steps"])
        self.store.add_output(item["id"], model, self.images.put(image), recipe)

    def _serve(self, session: Session, battle: Battle, annotator_id: str) -> ServedBattle:
        item = self.store.item_row(battle.item_id)
        # 1. one display size for both sides, from the stored sizes (images come from the decoded-image cache)
        size = common_size(self.images.size_of(battle.left_image), self.images.size_of(battle.right_image),
                           self.display_size)
        # 2. both sides at that size (kept as compressed bands), each a copy with a fresh nonce
        left = served_copy(self.images.banded(battle.left_image, size))
        right = served_copy(self.images.banded(battle.right_image, size))
        input_image = None
        if item.get("input_image"):
            stored = self.images.size_of(item["input_image"])
            shown = common_size(stored, stored, self.display_size)
            input_image = served_copy(self.images.banded(item["input_image"], shown))
        return ServedBattle(
            battle_id=battle.id, prompt=item["prompt"], criteria=list(session.config["criteria"]),
            outcomes=list(session.config["outcomes"]), left=left, right=right, input_image=input_image,
            progress=self._progress(session, annotator_id))
