"""Bootstrap machinery: reproducible replicates on 1 or N processes, and resampled performance.

Replicate ``b`` always draws from ``np.random.default_rng(SeedSequence(seed).spawn(B)[b])``, so the
results do not depend on the number of workers or on scheduling.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import CancelledError, NACResistanceError, describe
from ..threads import ignore_interrupt, stop_pool
from .roc import delong_placements

Task = Callable[[int, np.random.Generator], Any]
Progress = Callable[[str, float], bool]

CHUNKS_PER_WORKER = 64
"""Replicates go to the workers in about this many chunks per worker. Small chunks keep both workers busy
to the end: with 8 per worker, a chunk of the demo's 1000 replicates took about 27 s of CPU, and a worker
could wait up to that long for the other's last chunk. The task is pickled once per chunk (about 1 ms for
160 patients x 900 columns)."""


@dataclass(frozen=True)
class ReplicateFailure:
    """A replicate that could not be computed (e.g. a bootstrap sample with one class)."""

    replicate: int
    reason: str


def _run_one(task: Task, b: int, seed: np.random.SeedSequence) -> Any:
    try:
        return task(b, np.random.default_rng(seed))
    except (NACResistanceError, np.linalg.LinAlgError, FloatingPointError) as error:
        return ReplicateFailure(b, describe(error))


def _run_chunk(task: Task, items: Sequence[tuple[int, np.random.SeedSequence]]) -> list[Any]:
    with threadpool_limits(limits=1, user_api="blas"):
        return [_run_one(task, b, seed) for b, seed in items]


def run_replicates(task: Task, n: int, seed: int, *, workers: int = 1, progress: Progress | None = None,
                   label: str = "bootstrap") -> list[Any]:
    """Run ``task(b, rng)`` for b = 0..n-1; returns results in replicate order.

    ``task`` must be picklable when ``workers > 1`` (processes are spawned). Replicates raising a
    library error, ``LinAlgError`` or ``FloatingPointError`` become :class:`ReplicateFailure`.
    ``progress(message, fraction)`` returning True cancels (:class:`CancelledError`).
    """
    children = np.random.SeedSequence(seed).spawn(n)
    items = list(zip(range(n), children))
    results: dict[int, Any] = {}
    if workers <= 1:
        with threadpool_limits(limits=1, user_api="blas"):
            for b, child in items:
                results[b] = _run_one(task, b, child)
                _report(progress, label, len(results), n)
        return [results[b] for b in range(n)]
    n_chunks = min(n, workers * CHUNKS_PER_WORKER)
    chunks = [items[i::n_chunks] for i in range(n_chunks)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=ignore_interrupt) as pool:
        pending = {pool.submit(_run_chunk, task, chunk): chunk for chunk in chunks}
        while pending:
            try:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:  # Ctrl-C: the workers ignore it; stop them now instead of finishing
                stop_pool(pool)
                raise
            for future in done:
                chunk = pending.pop(future)
                results.update(zip((b for b, _ in chunk), future.result()))
            try:
                _report(progress, label, len(results), n)
            except CancelledError:
                for future in pending:
                    future.cancel()
                raise
    return [results[b] for b in range(n)]


def _report(progress: Progress | None, label: str, done: int, n: int) -> None:
    if progress is not None and progress(f"{label} {done}/{n}", done / n):
        raise CancelledError(f"{label} cancelled after {done} of {n} replicates")


def _resampled_metrics(y: np.ndarray, prob: np.ndarray, threshold: float, rng: np.random.Generator):
    idx = rng.integers(0, y.size, y.size)
    ys, ps = y[idx], prob[idx]
    if ys.min() == ys.max():
        return None
    auc = delong_placements(ps[ys == 1], ps[ys == 0])[0]
    positive = ps >= threshold
    return auc, positive[ys == 1].mean(), (~positive[ys == 0]).mean()


def bootstrap_performance(y_true, prob, threshold: float, *, n_boot: int = 1000, seed: int = 0,
                          level: float = 0.95) -> pd.DataFrame:
    """Stability of a fixed model on one cohort (the seed's Table 6): resample patients with replacement.

    Returns
    -------
    DataFrame
        Rows ``auc``, ``sensitivity``, ``specificity``; columns ``mean``, ``sd`` (ddof 1),
        ``ci_low``, ``ci_high`` (percentile interval at ``level``), ``n_replicates`` (resamples
        with both classes; the others are skipped).
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(prob, dtype=float)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_boot)]
    values = np.array([m for m in (_resampled_metrics(y, p, threshold, r) for r in rngs) if m is not None])
    q = [(1 - level) / 2, (1 + level) / 2]
    rows = {name: values[:, i] for i, name in enumerate(("auc", "sensitivity", "specificity"))}
    return pd.DataFrame({name: {"mean": v.mean(), "sd": v.std(ddof=1), "ci_low": np.quantile(v, q[0]),
                                "ci_high": np.quantile(v, q[1]), "n_replicates": v.size}
                         for name, v in rows.items()}).T
