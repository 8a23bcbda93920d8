"""The C allocator of a cohort worker process: keep freed image buffers for the next exam (glibc).

Why. A Dask nanny starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (dask's
``distributed.nanny.pre-spawn-environ``, to hand memory back to the OS between tasks), and it also
leaves that variable in the environment of the process that started a ``LocalCluster``, so later
spawned processes inherit it. Setting any ``MALLOC_*_`` tunable switches off glibc's *dynamic* mmap
threshold: every buffer above 128 KiB (every image, mask and feature-map array of an exam) is then
``mmap``-ed fresh, zero-filled page by page on first touch and ``munmap``-ed when freed, exam after
exam. Measured on the phantom's seed-protocol exams (``benchmarks/cohort.py``, per task with
``getrusage`` inside the worker): about 105,000 minor page faults per exam instead of 9,600, 2.5x the
system time and 7 % more CPU per exam, in Dask workers and in local worker processes alike when the
variable is set. A process left alone raises the threshold by itself after the first large free and
reuses the freed memory.

What. :func:`tune_worker_allocator` restores that steady state explicitly with ``mallopt``: buffers
up to 32 MiB (glibc's own upper bound for the dynamic threshold) come from the heap, and the heap
is trimmed only above 64 MiB of free memory at its top (twice the threshold, as glibc's dynamic rule
does). It is called once per worker process, only where the environment set a ``MALLOC_*_``
tunable, and does nothing on other C libraries (macOS, Windows, musl). Memory still goes back to the
OS above that margin, so a long-lived worker does not hold more than one exam's peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""``mallopt`` parameters of glibc's ``<malloc.h>``."""
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
"""glibc's ``DEFAULT_MMAP_THRESHOLD_MAX`` on 64-bit systems: the dynamic threshold's upper bound."""
TRIM_THRESHOLD_BYTES = 2 * MMAP_THRESHOLD_BYTES
TUNABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
"""Environment variables that switch off glibc's dynamic mmap threshold."""

_tuned = False


def needs_tuning(environ=None) -> bool:
    """True on glibc when the environment sets one of :data:`TUNABLES` (a Dask nanny does)."""
    environ = os.environ if environ is None else environ
    return platform.libc_ver()[0] == "glibc" and any(name in environ for name in TUNABLES)


def tune_worker_allocator() -> bool:
    """Set the mmap and trim thresholds of this process once (see the module docstring); True if set now."""
    global _tuned
    if _tuned or not needs_tuning():
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    ok = libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and ok
    _tuned = ok
    return ok
