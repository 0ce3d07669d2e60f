"""The Ray Serve executor: model groups as Ray Serve applications, called through DeploymentHandles.

Each group of ``groups.plan_groups`` is one Serve application (``<STUDIO_RAY_APP>-<group>``) whose single deployment
runs ``ray_replica.StudioReplica``: the same backends and model cache as the local executor, one request at a time
per replica (``max_ongoing_requests=1``), ``num_gpus`` from the registry's VRAM figures, autoscaling between
``min_replicas`` (0 allowed: scale to zero) and ``max_replicas``. The studio sends the same request dataclasses and
gets the same results back (Ray pickles them); progress streams back as ``ProgressEvent`` values; Stop cancels the
remote call (the replica then stops its backend at the next step); errors are rebuilt with their class and message.
Built-in engines and remote APIs (OCR, MediaPipe, Seedream) stay in this process.

``deploy`` puts the applications on a cluster (``deploy/ray/studio_ray.py deploy`` runs it on its own, so the UI
can run on a CPU box with ``STUDIO_RAY_ADDRESS`` pointing at the cluster). Without an address, the executor starts a
local Ray and deploys the groups itself on first use. ``ray`` is imported only when the executor connects.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backends.core.errors import Cancelled, ModelUnavailable
from backends.core.run import RunControl
from backends.core.settings import Settings
from backends.models.cache import EntryInfo
from backends.models.executors.base import Executor
from backends.models.executors.batch import Job, run_at_once
from backends.models.executors.groups import DEVICE_LOADERS, GroupConfig, ModelGroup, plan_groups
from backends.models.executors.wire import error_from_data
from backends.models.registry import Registry

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[3]  # the studio's checkout: local Ray workers import `backends` from it
STOP_POLL_SECONDS = 0.05
QUERY_TIMEOUT_S = 2.0  # Models-tab queries to busy replicas are given up after this
RETRIES = 1  # a request whose replica died is sent once more (Serve replaces the replica)
INSTALL_HINT = "pip install -r requirements-ray.txt"


def app_name(settings: Settings, group: ModelGroup) -> str:
    """The Serve application of ``group``."""
    return f"{settings.ray_app}-{group.name}"


def replica_settings(settings: Settings, group: ModelGroup) -> Settings:
    """What a replica of ``group`` runs with: the deployer's settings, the cache budgeted to its GPU share."""
    budget = group.budget_gb(settings.ray_gpu_gb)
    return dataclasses.replace(settings, executor="local", cache_budget_gb=budget or settings.cache_budget_gb,
                               remote_models=(), serve_models=(), zero_gpu=False)


def deployment_options(settings: Settings, group: ModelGroup) -> dict[str, Any]:
    """``serve.deployment`` options of ``group``."""
    env = {"HF_HUB_OFFLINE": "1"} if settings.offline else {}
    env.update(group.options.env)
    actor: dict[str, Any] = {"num_cpus": group.options.num_cpus, "num_gpus": group.num_gpus}
    if env:
        actor["runtime_env"] = {"env_vars": env}
    return {"name": group.name, "max_ongoing_requests": group.options.max_ongoing_requests,
            "autoscaling_config": group.options.autoscaling(), "ray_actor_options": actor}


def connect(settings: Settings, ship_code: bool = False, **init_options: Any) -> None:
    """Join the Ray cluster of ``settings.ray_address`` (or start a local one) unless this process already has.

    Args:
        settings: the studio settings.
        ship_code: upload this checkout to the cluster (``runtime_env.working_dir``) instead of expecting the
            studio installed on its workers.
        init_options: more ``ray.init`` arguments (tests: ``num_cpus``).

    Raises:
        ModelUnavailable: ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise ModelUnavailable(f"STUDIO_EXECUTOR=ray needs Ray Serve: {INSTALL_HINT}") from None
    if ray.is_initialized():
        return
    if ship_code:
        runtime_env = {"working_dir": str(ROOT), "excludes": [".venv", ".git", "data", "tests", "**/__pycache__"]}
    else:
        runtime_env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
    options = {"include_dashboard": False, "runtime_env": runtime_env, **init_options}
    try:
        ray.init(address=settings.ray_address or None, **options)
    except Exception as exc:  # a wrong address, a cluster of another Ray version...
        where = settings.ray_address or "a local Ray"
        raise ModelUnavailable(f"cannot start or join {where}: {type(exc).__name__}: {exc}") from exc


def deploy(settings: Settings, groups: Sequence[ModelGroup]) -> list[str]:
    """Deploy (or update) one Serve application per group on the connected cluster; returns their names."""
    from ray import serve

    from backends.models.executors.ray_replica import StudioReplica

    serve.start(http_options={"location": "NoServer"})  # handles only: no HTTP proxy
    targets = []
    for group in groups:
        deployment = serve.deployment(StudioReplica).options(**deployment_options(settings, group))
        app = deployment.bind(replica_settings(settings, group), group)
        targets.append(serve.RunTarget(app, name=app_name(settings, group), route_prefix=None))
    serve.run_many(targets)
    return [target.name for target in targets]


def delete(settings: Settings, groups: Sequence[ModelGroup]) -> list[str]:
    """Remove the groups' applications from the cluster; returns the names removed."""
    from ray import serve

    running = set(serve.status().applications)
    removed = [app_name(settings, g) for g in groups if app_name(settings, g) in running]
    for name in removed:
        serve.delete(name)
    return removed


class RayExecutor:
    """Runs accelerator models on Ray Serve, everything else in this process.

    Args:
        registry: the model registry.
        settings: the studio settings (``ray_address``, ``ray_gpu_gb``, ``ray_config``, ``ray_app``).
        local: the executor for built-in engines and APIs (OCR, MediaPipe, Seedream).
        config: group overrides (default: ``settings.ray_config``).
        auto_deploy: deploy missing applications on first use (default: only when Ray is started locally).
    """

    def __init__(self, registry: Registry, settings: Settings, local: Executor, config: GroupConfig | None = None,
                 auto_deploy: bool | None = None) -> None:
        self.registry = registry
        self.settings = settings
        self.local = local
        self.groups = plan_groups(registry, settings.ray_gpu_gb, config or GroupConfig.load(settings.ray_config))
        self._group_of = {key: group for group in self.groups for key in group.keys}
        self._auto_deploy = not settings.ray_address if auto_deploy is None else auto_deploy
        self._lock = threading.Lock()
        self._handles: dict[str, Any] = {}
        self._deployed: set[str] | None = None

    # ----------------------------------------------------------------------------------------------------------------
    # The Executor protocol
    # ----------------------------------------------------------------------------------------------------------------
    def check(self, key: str, request: Any) -> None:
        """Validate ``request`` here (the same torch-free checks the replica runs)."""
        self.local.check(key, request)

    def availability(self, key: str) -> tuple[bool, str]:
        """Accelerator models: whether their group is deployed; the rest: as in this process."""
        group = self._group_of.get(key)
        if group is None:
            if self.registry.get_spec(key).loader in DEVICE_LOADERS:
                return False, "not deployed on the Ray cluster (not among the models of STUDIO_RAY_CONFIG)"
            return self.local.availability(key)
        try:
            deployed = self._connect()
        except ModelUnavailable as exc:
            return False, str(exc)
        if app_name(self.settings, group) not in deployed:
            return False, f"the Ray application {app_name(self.settings, group)} is not deployed"
        return True, f"on the Ray deployment {group.name}"

    def run(self, key: str, request: Any, control: RunControl | None = None) -> Any:
        """Run ``request`` on the replica of ``key``'s group (built-in engines and APIs: here).

        Raises:
            ModelUnavailable: the model's group is not deployed.
            Cancelled: Stop was pressed (the remote call is cancelled).
        """
        control = control or RunControl()
        group = self._group_of.get(key)
        if group is None:
            if self.registry.get_spec(key).loader in DEVICE_LOADERS:
                raise ModelUnavailable(f"{key} is not deployed on the Ray cluster; add it to the models of "
                                       "STUDIO_RAY_CONFIG and deploy again")
            return self.local.run(key, request, control)
        handle = self._handle(group)
        for attempt in range(RETRIES + 1):
            try:
                return self._stream(handle, group, key, request, control)
            except Exception as exc:
                if attempt == RETRIES or not _replica_died(exc) or control.stopped:
                    raise
                log.warning("the replica running %s died; sending the request again", key)
        raise AssertionError("unreachable")  # the loop returns or raises

    def run_many(self, jobs: Sequence[Job], control: RunControl | None = None) -> list[Any]:
        """Run the jobs at once: models on different replicas compute in parallel."""
        return run_at_once(self.run, jobs, control)

    def loaded(self) -> list[EntryInfo]:
        """Models held by this process and by running replicas (a busy replica is skipped, never woken)."""
        entries = list(self.local.loaded())
        for replies in self._ask_running("loaded"):
            entries.extend(replies)
        return entries

    def free(self, keys: list[str] | None = None) -> list[str]:
        """Unload models here and on running replicas, unless in use."""
        freed = list(self.local.free(keys))
        wanted = None if keys is None else set(keys)
        groups = [g for g in self.groups if wanted is None or wanted & set(g.keys)]
        for replies in self._ask_running("free", keys, groups=groups):
            freed.extend(replies)
        return freed

    def status(self) -> dict[str, Any]:
        """This process's cache, plus per Serve application its state and replica counts."""
        status = dict(self.local.status())
        try:
            self._connect()  # first: it says so when ray is not installed
            from ray import serve

            apps = serve.status().applications
            status["ray"] = {name: {"status": str(app.status), "replicas": {
                dep: dict(info.replica_states) for dep, info in app.deployments.items()}}
                for name, app in apps.items() if name.startswith(f"{self.settings.ray_app}-")}
        except Exception as exc:  # the Models tab shows the problem rather than failing
            status["ray"] = {"error": f"{type(exc).__name__}: {exc}"}
        return status

    # ----------------------------------------------------------------------------------------------------------------
    # Internals
    # ----------------------------------------------------------------------------------------------------------------
    def _connect(self) -> set[str]:
        """Connect once (deploying missing applications when allowed); the names of the deployed ones."""
        with self._lock:
            if self._deployed is None:
                connect(self.settings)
                from ray import serve

                running = set(serve.status().applications)
                missing = [g for g in self.groups if app_name(self.settings, g) not in running]
                if missing and self._auto_deploy:
                    log.info("deploying %d model groups on Ray Serve", len(missing))
                    running |= set(deploy(self.settings, missing))
                self._deployed = running
            return self._deployed

    def _handle(self, group: ModelGroup) -> Any:
        name = app_name(self.settings, group)
        if name not in self._connect():
            raise ModelUnavailable(f"the Ray application {name} is not deployed; run `python deploy/ray/studio_ray.py "
                                   "deploy` with the same STUDIO_RAY_CONFIG")
        with self._lock:
            if name not in self._handles:
                from ray import serve

                self._handles[name] = serve.get_deployment_handle(group.name, app_name=name)
            return self._handles[name]

    def _stream(self, handle: Any, group: ModelGroup, key: str, request: Any, control: RunControl) -> Any:
        from ray.exceptions import TaskCancelledError

        response = handle.options(stream=True).run.remote(key, request)
        done = threading.Event()
        watcher = threading.Thread(target=_cancel_on_stop, args=(control, done, response), daemon=True)
        watcher.start()
        try:
            for kind, value in response:
                if kind == "progress":
                    control.report(value.fraction, value.message)
                elif kind == "ok":
                    return value
                else:
                    raise error_from_data(value, f"the Ray deployment {group.name}")
        except TaskCancelledError:  # Serve's RequestCancelledError derives from it
            if control.stopped:
                raise Cancelled(f"{self.registry[key].name} stopped") from None
            raise
        finally:
            done.set()
            watcher.join()
        raise ModelUnavailable(f"the Ray deployment {group.name} ended {key}'s stream without a result")

    def _ask_running(self, method: str, *args: Any, groups: Sequence[ModelGroup] | None = None) -> list[Any]:
        """Call ``method`` on each group with a running replica; replies that do not come in time are dropped."""
        try:
            deployed = self._connect()
            from ray import serve

            apps = serve.status().applications
        except Exception:  # not reachable: the Models tab shows this process only
            log.exception("cannot read the Ray Serve status")
            return []
        calls = []
        for group in groups if groups is not None else self.groups:
            name = app_name(self.settings, group)
            deployment = apps[name].deployments.get(group.name) if name in deployed and name in apps else None
            if deployment is not None and deployment.replica_states.get("RUNNING", 0) > 0:
                calls.append(getattr(self._handle(group), method).remote(*args))
        replies = []
        for call in calls:
            try:
                replies.append(call.result(timeout_s=QUERY_TIMEOUT_S))
            except Exception:  # busy or gone: the Models tab shows what answered
                call.cancel()
        return replies


def _cancel_on_stop(control: RunControl, done: threading.Event, response: Any) -> None:
    """Cancel ``response`` when Stop is pressed before it is done."""
    while not done.wait(STOP_POLL_SECONDS):  # wakes at once when the call ends; sees a Stop within the period
        if control.stop.is_set():
            response.cancel()
            return


def _replica_died(exc: BaseException) -> bool:
    from ray.exceptions import ActorDiedError, ActorUnavailableError

    return isinstance(exc, ActorDiedError | ActorUnavailableError)
