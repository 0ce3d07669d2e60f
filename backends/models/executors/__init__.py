"""Executors: where requests run. ``LocalExecutor`` runs them in this process through the model cache; a remote
executor (a Ray cluster, another studio over gradio_client) plugs into the same ``Executor`` protocol, moving
requests and results with ``payload.encode`` / ``payload.decode`` and progress as ``ProgressEvent`` values."""

from backends.models.executors.base import Executor
from backends.models.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
