"""Deploy the studio's model groups to a Ray cluster, on their own (the UI can then run on a CPU box).

    python deploy/ray/studio_ray.py plan   [--gpu-gb 80] [--config deploy/ray/groups.example.json] [--spaces]
    python deploy/ray/studio_ray.py deploy [--address auto] [--config ...] [--gpu-gb 80] [--ship-code]
    python deploy/ray/studio_ray.py status [--address ...]
    python deploy/ray/studio_ray.py delete [--address ...]

Settings come from the same environment variables as ``app.py`` (``STUDIO_PROFILE``, ``STUDIO_DTYPE``,
``STUDIO_OFFLOAD``, ``STUDIO_RAY_*``...); the flags override the Ray ones. The replicas run with these settings, so
set them as the GPU workers need them. Point the UI at the same cluster and config:
``STUDIO_EXECUTOR=ray STUDIO_RAY_ADDRESS=auto STUDIO_RAY_CONFIG=... python app.py`` on a box that joined the
cluster with ``ray start --address=<head>:6379 --num-cpus=0`` (or a Ray Client address ``ray://head:10001``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backends.core.errors import StudioError
from backends.core.settings import Settings
from backends.models.executors.groups import GroupConfig, groups_table, plan_groups, plan_spaces
from backends.models.registry import default_registry


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("plan", "deploy", "status", "delete"))
    parser.add_argument("--address", help="Ray cluster address (STUDIO_RAY_ADDRESS); empty: a local Ray")
    parser.add_argument("--config", type=Path, help="JSON group settings (STUDIO_RAY_CONFIG)")
    parser.add_argument("--gpu-gb", type=float, help="memory of one GPU of the cluster (STUDIO_RAY_GPU_GB)")
    parser.add_argument("--app", help="prefix of the Serve applications (STUDIO_RAY_APP)")
    parser.add_argument("--ship-code", action="store_true",
                        help="upload this checkout to the cluster instead of expecting the studio on its workers")
    parser.add_argument("--spaces", action="store_true", help="plan: the ZeroGPU Spaces instead of Ray deployments")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
        overrides = {"ray_address": args.address, "ray_config": args.config, "ray_gpu_gb": args.gpu_gb,
                     "ray_app": args.app}
        settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        registry = default_registry()
        if args.command == "plan" and args.spaces:
            print(groups_table(plan_spaces(registry), spaces=True))
            return 0
        groups = plan_groups(registry, settings.ray_gpu_gb, GroupConfig.load(settings.ray_config))
        if args.command == "plan":
            print(groups_table(groups, settings.ray_gpu_gb))
            return 0
        from ray import serve

        from backends.models.executors import ray_serve

        ray_serve.connect(settings, ship_code=args.ship_code)
        if args.command == "deploy":
            for name in ray_serve.deploy(settings, groups):
                print(f"deployed {name}")
        elif args.command == "delete":
            for name in ray_serve.delete(settings, groups):
                print(f"deleted {name}")
        else:
            apps = serve.status().applications
            print(json.dumps({name: {"status": str(app.status), "deployments": {
                dep: dict(info.replica_states) for dep, info in app.deployments.items()}}
                for name, app in apps.items() if name.startswith(f"{settings.ray_app}-")}, indent=2))
    except StudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
