"""``elyte``: lists the toolkit's commands (``elyte --help``) and runs one (``elyte <command> ...``)."""

from __future__ import annotations

import importlib
import sys

from elyte.cli.registry import COMMANDS, not_landed


def usage() -> str:
    lines = [
        "elyte: force fields for liquid electrolytes",
        "",
        "usage: elyte <command> [hydra overrides ...]   (or run the command's own script)",
        "       <command> --help shows its options; key=value overrides any config value",
        "",
        "commands:",
    ]
    for name, command in COMMANDS.items():
        state = "" if command.entry else f"  [not landed yet: issue #{command.issue}]"
        lines.append(f"  {name:<20} {command.summary}{state}")
    lines += ["", "Every run writes runs/<command>/<time>/ with config.yaml (resolved), a log and outputs."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        sys.exit(0 if argv else 2)
    name = argv[0] if argv[0] in COMMANDS else f"elyte-{argv[0]}"
    if name not in COMMANDS:
        print(f"elyte: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        sys.exit(2)
    command = COMMANDS[name]
    if command.entry is None:
        sys.exit(not_landed(name))
    module, function = command.entry.split(":")
    sys.argv = [name, *argv[1:]]
    getattr(importlib.import_module(module), function)()
