"""Progress bars for long work: tqdm on a terminal, silent in logs and CI (ELYTE_PROGRESS=0/1 forces)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def enabled() -> bool:
    """Progress bars show on an interactive terminal unless ELYTE_PROGRESS says otherwise."""
    forced = os.environ.get("ELYTE_PROGRESS")
    if forced is not None:
        return forced not in ("0", "false", "no", "")
    return sys.stderr.isatty()


def progress(iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate with a progress bar (rate and ETA) labelled ``desc``."""
    return iter(tqdm(iterable, desc=desc, total=total, unit=unit, disable=not enabled(), dynamic_ncols=True))
