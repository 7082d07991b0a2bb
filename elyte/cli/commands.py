"""Console-script entry points of commands whose capability has not landed: each says so and exits 3."""

from __future__ import annotations

import sys

from elyte.cli.registry import not_landed


def _pending(script: str):
    def entry() -> None:
        sys.exit(not_landed(script))

    entry.__doc__ = f"{script} (not landed yet)"
    return entry


polff_train = _pending("polff-train")
