"""Thread pools of a Celery worker's processes, sized from the host's cores and the concurrency.

numpy's BLAS (OpenBLAS), PyTorch's intra-op pool (OpenMP) and OpenCV each start one thread per
core in every process by default. A worker with ``--concurrency N`` runs N such processes, and a
GPU host often runs several workers, so a 16-core host ends with hundreds of threads fighting for
16 cores: the severity and overlay code, which calls BLAS on small arrays many times per photo,
spends its time in thread hand-offs and spinning (the GPU host measured severity 3-5x slower
than a 2-core machine, docs/performance.md). Each process therefore gets ``cores // processes``
threads (at least one), or ``PIPELINE_THREADS_PER_PROCESS`` when set (several workers on one
host: give each its share).

The limits are applied when the worker starts (``worker_init``: the solo pool runs tasks in that
process, and the prefork pool's children inherit the environment) and again in each child
(``worker_process_init``): environment variables for the libraries not loaded yet (PyTorch reads
``OMP_NUM_THREADS`` when it is imported), threadpoolctl for those already loaded (numpy's
OpenBLAS is, by Django's import of the tasks), ``torch.set_num_threads`` and
``cv2.setNumThreads`` when those are loaded.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from celery import signals

logger = logging.getLogger(__name__)

#: Read by OpenMP (PyTorch, scikit-image's OpenMP parts), OpenBLAS, MKL and numexpr at load time.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def threads_per_process(*, cores: int, processes: int, override: int | None = None) -> int:
    """The threads each of ``processes`` worker processes may use on a host with ``cores``."""
    if override:
        return max(1, override)
    return max(1, cores // max(1, processes))


def host_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    quota = Path("/sys/fs/cgroup/cpu.max")
    try:
        limit, period = quota.read_text().split()
        if limit != "max":
            cores = min(cores, max(1, int(int(limit) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def threads_apply(threads: int) -> dict[str, object]:
    """Limit this process's thread pools to ``threads``; returns what is now in effect."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=threads)
    effective: dict[str, object] = {
        "blas/openmp": sorted({(p["internal_api"], p["num_threads"]) for p in threadpool_info()})
    }
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(threads)
        effective["torch"] = torch.get_num_threads()
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(threads)
        effective["cv2"] = threads
    return effective


def _worker_processes(worker) -> int:
    """Processes that run tasks side by side: the pool's size, except for the solo pool."""
    pool = worker.pool_cls if isinstance(worker.pool_cls, str) else worker.pool_cls.__module__
    return 1 if "solo" in str(pool) else int(worker.concurrency or 1)


def _override() -> int | None:
    value = os.environ.get("PIPELINE_THREADS_PER_PROCESS", "").strip()
    return int(value) if value else None


_planned: dict[str, int] = {}


@signals.worker_init.connect
def _on_worker_init(sender=None, **_kwargs) -> None:
    cores, processes = host_cores(), _worker_processes(sender)
    threads = threads_per_process(cores=cores, processes=processes, override=_override())
    _planned.update(cores=cores, processes=processes, threads=threads)
    threads_apply(threads)


@signals.worker_process_init.connect
def _on_worker_process_init(**_kwargs) -> None:
    if not _planned:  # not started by ``celery worker`` (a test's in-process pool)
        return
    effective = threads_apply(_planned["threads"])
    logger.info(
        "Worker process %d: %d threads per process (%d cores, %d processes); in effect: %s",
        os.getpid(),
        _planned["threads"],
        _planned["cores"],
        _planned["processes"],
        effective,
    )
