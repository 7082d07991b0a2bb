"""QM backends behind one interface (:class:`~elyte.labels.engines.base.Backend`)."""

from __future__ import annotations

from collections.abc import Mapping

from elyte.labels.engines.base import Backend, BackendError, check_requests

BACKENDS = ("xtb", "pyscf")


def make_backend(spec: Mapping) -> Backend:
    """A backend from a config mapping ``{name: xtb|pyscf, <constructor options>}``."""
    options = dict(spec)
    name = options.pop("name", None)
    if name == "xtb":
        from elyte.labels.engines.xtb import XTBBackend

        return XTBBackend(**options)
    if name == "pyscf":
        from elyte.labels.engines.pyscf_dft import PySCFBackend

        return PySCFBackend(**options)
    raise ValueError(f"unknown backend {name!r}; choose one of {BACKENDS}")


__all__ = ["Backend", "BackendError", "BACKENDS", "check_requests", "make_backend"]
