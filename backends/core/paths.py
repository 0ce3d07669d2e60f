"""Server paths a client names are confined to folders the operator configured.

On a public server, a path from a form or the API is untrusted: it may point anywhere (``..``, a symlink out, an
absolute path), and loading a model file from it can run code (TorchScript, pickles). Every such path is resolved
(symlinks and ``..`` followed) and must lie inside one of the configured roots. The error never says whether the
path exists, so the server's folders cannot be probed through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backends.core.errors import InvalidInput


def confine(value: Any, roots: Sequence[Path], field: str, setting: str, kind: str = "folder") -> Path:
    """The resolved path of ``value`` if it is a ``kind`` ("folder" or "file") inside one of ``roots``.

    Args:
        value: the path the client sent.
        roots: the allowed folders (their own symlinks are resolved too).
        field: the form field, for the message.
        setting: the environment variable that configures ``roots``, named in the message.
        kind: "folder" or "file".

    Raises:
        InvalidInput: no roots are configured, or the path is not an existing ``kind`` inside one; the same
            message whether the path exists or not.
    """
    if not roots:
        raise InvalidInput(field, f"server {kind}s are disabled on this server (uploads only); the operator can "
                                  f"allow folders with {setting}")
    refused = InvalidInput(field, f"{str(value)!r} is not a {kind} this server may read (see {setting})")
    if not isinstance(value, str | Path) or not str(value).strip() or "\x00" in str(value):
        raise refused
    try:
        path = Path(str(value)).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a symlink loop, unreadable: all look the same from outside
        raise refused from None
    if not (path.is_dir() if kind == "folder" else path.is_file()):
        raise refused
    for root in roots:
        try:
            path.relative_to(Path(root).expanduser().resolve())
            return path
        except (OSError, ValueError):
            continue
    raise refused
