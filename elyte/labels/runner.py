"""Label many structures into a :class:`LabelStore`: resumable, in parallel, with a summary.

Jobs already in the store (labelled or failed) are skipped, so a rerun after an interruption
continues where it stopped. Workers are processes (``spawn``), each building its own backend with
its own thread count; only the parent writes to the store, one flushed record per finished job,
so a crash loses at most the jobs in flight.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from elyte.labels.engines import check_requests, make_backend
from elyte.labels.compute import label_structure
from elyte.labels.store import LabelStore
from elyte.labels.structure import QMStructure
from elyte.progress import progress

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

_worker: dict = {}


@contextmanager
def _thread_environment(threads: int) -> Iterator[None]:
    """Thread-count variables for child processes: a spawned worker reads them before any library loads."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: str(threads) for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _init_worker(spec: Mapping, requests: list[str], counterpoise: bool) -> None:
    _worker.update(backend=make_backend(spec), requests=requests, counterpoise=counterpoise)


def _label(structure: QMStructure) -> tuple[dict | None, str | None, float]:
    """Labels or the failure reason, and the wall time (s); never raises (failures are data)."""
    start = time.perf_counter()
    try:
        labels = label_structure(_worker["backend"], structure, _worker["requests"], _worker["counterpoise"])
        return labels, None, time.perf_counter() - start
    except Exception as err:  # any failure of one structure is recorded, the run goes on
        reason = f"{type(err).__name__}: {err}".strip()
        if not isinstance(err, (RuntimeError, ValueError)):
            reason += "\n" + traceback.format_exc(limit=3)
        return None, reason, time.perf_counter() - start


@dataclass
class RunSummary:
    """What one run did: counts per structure kind, failures, time and label ranges."""

    method: str
    total: int = 0
    skipped: int = 0
    labelled: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    energy_range: dict[str, list[float]] = field(default_factory=dict)
    interaction_range: dict[str, list[float]] = field(default_factory=dict)
    wall_s: float = 0.0

    def add(self, kind: str, labels: dict | None, seconds: float, n_atoms: int) -> None:
        target = self.labelled if labels is not None else self.failed
        target[kind] = target.get(kind, 0) + 1
        self.seconds[kind] = self.seconds.get(kind, 0.0) + seconds
        if labels is None:
            return
        for name, ranges, value in (("energy", self.energy_range, float(labels["energy"]) / n_atoms),
                                    ("interaction_energy", self.interaction_range, labels.get("interaction_energy"))):
            if name in labels:
                lo, hi = ranges.get(kind, [np.inf, -np.inf])
                ranges[kind] = [min(lo, float(value)), max(hi, float(value))]

    def table(self) -> str:
        """Markdown table: per kind, labelled / failed, mean time, energy per atom and E_int ranges."""
        lines = [f"Method {self.method}: {self.total} structures, {self.skipped} already in the store, "
                 f"wall time {self.wall_s:.1f} s", "",
                 "| kind | labelled | failed | s/structure | energy/atom (kcal/mol) | E_int (kcal/mol) |",
                 "|---|---|---|---|---|---|"]
        for kind in sorted(set(self.labelled) | set(self.failed)):
            n_ok, n_bad = self.labelled.get(kind, 0), self.failed.get(kind, 0)
            e = self.energy_range.get(kind)
            i = self.interaction_range.get(kind)
            lines.append(f"| {kind} | {n_ok} | {n_bad} | {self.seconds[kind] / (n_ok + n_bad):.3f} | "
                         f"{f'{e[0]:.1f} .. {e[1]:.1f}' if e else '-'} | {f'{i[0]:.2f} .. {i[1]:.2f}' if i else '-'} |")
        return "\n".join(lines)


def _check_counterpoise(store: LabelStore, counterpoise: bool) -> None:
    """Refuse to resume a store whose interaction energies were computed the other way: the record
    key (structure and method) does not hold the counterpoise choice, so the two would mix."""
    for record in store:
        if "interaction_energy" in record.labels:
            if bool(record.provenance.get("counterpoise", False)) != counterpoise:
                done = "with" if not counterpoise else "without"
                raise ValueError(f"{store.path} holds interaction energies computed {done} counterpoise correction; "
                                 f"label into another store or set counterpoise={str(not counterpoise).lower()}")
            return


def run(structures: Sequence[QMStructure], spec: Mapping, requests: Collection[str], store_path: str | Path,
        workers: int = 1, threads: int = 1, counterpoise: bool = False) -> RunSummary:
    """Label ``structures`` with the backend ``spec`` into the store at ``store_path``.

    ``workers`` <= 1 runs in this process (with the current thread settings); more start a pool of
    processes with ``threads`` threads each.
    """
    requests = list(requests)
    backend = make_backend(spec)
    check_requests(backend, requests)
    if counterpoise and not backend.ghost_atoms:
        raise ValueError(f"counterpoise corrections need ghost atoms, which {backend.method} lacks; use the pyscf "
                         "backend or counterpoise=false")
    summary = RunSummary(method=backend.method, total=len(structures))
    start = time.perf_counter()
    with LabelStore(store_path) as store:
        if "interaction_energy" in requests:
            _check_counterpoise(store, counterpoise)
        todo = [s for s in structures if s.record(backend.method).key() not in store]
        summary.skipped = len(structures) - len(todo)

        def save(structure: QMStructure, result: tuple[dict | None, str | None, float]) -> None:
            labels, reason, seconds = result
            record = structure.record(backend.method, labels)
            record.provenance["seconds"] = round(seconds, 4)
            if counterpoise and labels is not None and "interaction_energy" in labels:
                record.provenance["counterpoise"] = True  # the method string does not say it
            store.add(record) if labels is not None else store.add_failure(record, reason)
            summary.add(structure.provenance.get("kind", "structure"), labels, seconds, len(structure.numbers))

        if workers <= 1:
            _worker.update(backend=backend, requests=requests, counterpoise=counterpoise)
            for s in progress(todo, desc=f"labelling ({backend.method})", unit="structure"):
                save(s, _label(s))
        else:
            with _thread_environment(threads), ProcessPoolExecutor(
                    workers, mp_context=get_context("spawn"), initializer=_init_worker,
                    initargs=(dict(spec), requests, counterpoise)) as pool:
                futures = {pool.submit(_label, s): s for s in todo}
                for future in progress(as_completed(futures), desc=f"labelling ({backend.method})",
                                       total=len(futures), unit="structure"):
                    save(futures[future], future.result())
    summary.wall_s = time.perf_counter() - start
    return summary
