"""How many threads this process may use, set per context and restored afterwards.

Two process-wide pools run our numerics: BLAS/LAPACK/OpenMP (numpy, scipy; set with threadpoolctl) and
SimpleITK's filters (``ProcessObject.SetGlobalDefaultNumberOfThreads``). Left alone, each takes every
core, so two workers on two cores run four spinning pools against each other. :func:`limit` sets both
to a budget for the duration of a ``with`` block and restores the previous settings on exit:

- a cohort worker (a local process or a Dask worker) runs ``with limit(1)``: the parallelism comes from
  the exams running side by side (a Dask worker should then run one task at a time, ``--nthreads 1``);
- an interactive exam (Slicer's Apply, a single-exam ``predict``) runs outside any ``limit`` and gets
  :func:`budget` = the cores this process may run on; feature extraction spends it on image types
  computed side by side, each on one BLAS thread (:func:`NACResistanceLib.features.extract`).

The budget is process state, like the pools it sets, so contexts nest but are not per thread.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_budgets: list[tuple[object, int]] = []
"""(token, budget) of the open :func:`limit` contexts, innermost last."""


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform reports it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def budget() -> int:
    """Threads the current context may use: the innermost :func:`limit`, else :func:`usable_cores`."""
    with _lock:
        return _budgets[-1][1] if _budgets else usable_cores()


@contextlib.contextmanager
def limit(n_threads: int) -> Iterator[int]:
    """Use at most ``n_threads`` BLAS/LAPACK/OpenMP threads and SimpleITK threads inside the block.

    Yields the budget. On exit both pools and :func:`budget` return to their previous values.
    """
    import SimpleITK as sitk
    from threadpoolctl import threadpool_limits

    n_threads, token = max(1, int(n_threads)), object()
    with _lock:
        _budgets.append((token, n_threads))
    previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            yield n_threads
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)
        with _lock:
            _budgets[:] = [entry for entry in _budgets if entry[0] is not token]


def ignore_interrupt() -> None:
    """Initializer of worker processes: Ctrl-C (SIGINT) is handled by the parent alone.

    Without it, every worker of a pool prints its own ``KeyboardInterrupt`` traceback when the user
    presses Ctrl-C; the parent stops the pool and the command line reports the interruption once.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_pool(executor) -> None:
    """Stop a ``ProcessPoolExecutor`` at once (after Ctrl-C): pending tasks cancelled, workers terminated.

    Finished results have been stored by the caller already; the tasks that were running are lost and
    run again on the next attempt.
    """
    executor.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.terminate()
