"""List the English templates of the messages the backends show to people (errors, progress, notes), and which of
them a locale's catalog (``assets/i18n/messages/<locale>.json``) does not translate yet.

A template is the message's f-string with every ``{expression}`` written as ``{}``; the catalog maps it to the
translation, whose numbered placeholders (``{0}``, ``{1}``...) take the values in any order. Usage:

    python scripts/message_templates.py            # every template, with where it is made
    python scripts/message_templates.py --missing zh-CN   # a JSON stub of the missing ones, to translate
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from backends.core.i18n import MIN_LITERAL  # noqa: E402  (the script runs from anywhere)

PACKAGES = ("backends", "arena", "tabs")
# Constructors whose message reaches people: (name, index of the message argument).
RAISED = {"InvalidInput": 1, "ModelUnavailable": 0, "OutOfMemory": 0, "GenerationFailed": 0, "Cancelled": 0,
          "MetricUnavailable": 0, "StudioError": 0}
REPORTED = {"report": 1}  # RunControl.report(fraction, message): progress shown in the UI


def templates_of(node: ast.AST) -> list[str] | None:
    """The templates a message expression can produce (both branches of a conditional), or None when it is built
    at run time (a variable, a call) and cannot be read from the source."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)]
    if isinstance(node, ast.IfExp):
        body, orelse = templates_of(node.body), templates_of(node.orelse)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = templates_of(node.left), templates_of(node.right)
        if left is not None and right is not None:
            return [a + b for a in left for b in right]
        if left is not None:
            return [a + "{}" for a in left]
    return None


def message_sites(root: Path = ROOT) -> Iterator[tuple[str, int, str, list[str] | None]]:
    """``(file, line, kind, templates)`` for every message made in the project's packages."""
    for folder in PACKAGES:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else (
                    node.func.attr if isinstance(node.func, ast.Attribute) else "")
                index = RAISED.get(name) if name in RAISED else (
                    REPORTED.get(name) if isinstance(node.func, ast.Attribute) else None)
                if index is None or len(node.args) <= index:
                    continue
                yield str(path.relative_to(root)), node.lineno, name, templates_of(node.args[index])


def catalog(locale: str, root: Path = ROOT) -> dict[str, str]:
    """The message catalog of ``locale``."""
    path = root / "assets" / "i18n" / "messages" / f"{locale}.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}


def missing(templates: dict[str, str] | list[str], known: dict[str, str]) -> list[str]:
    """The templates ``known`` lacks, leaving out those too generic to be recognised (``"{}: {}"``; the catalog
    ignores them too, see ``backends.core.i18n.MIN_LITERAL``)."""
    return [t for t in templates if t not in known and len(t.replace("{}", "").strip()) >= MIN_LITERAL]


def main(argv: list[str] | None = None) -> int:
    """Print the templates, or the missing ones of a locale as a JSON stub."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--missing", metavar="LOCALE", help="print the templates this locale lacks, as JSON")
    args = parser.parse_args(argv)
    found = {}
    for file, line, kind, templates in message_sites():
        for template in templates or []:
            found.setdefault(template, f"{file}:{line} ({kind})")
    if args.missing:
        known = catalog(args.missing)
        print(json.dumps({t: "" for t in missing(found, known)}, ensure_ascii=False, indent=2))
        return 0
    for template, where in found.items():
        print(f"{where}\t{template}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
