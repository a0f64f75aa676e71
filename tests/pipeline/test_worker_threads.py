"""Each worker process sizes its thread pools from the host's cores and the worker's concurrency."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config.worker_threads import host_cores, threads_per_process
from tests.pipeline.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("cores", "processes", "override", "expected"),
    [
        (16, 1, None, 16),  # one process has the host
        (16, 4, None, 4),  # four share it
        (16, 5, None, 3),  # rounded down: never more threads than cores
        (16, 32, None, 1),  # more processes than cores: one thread each, not zero
        (2, 2, None, 1),
        (2, 0, None, 2),  # a concurrency Celery has not resolved yet counts as one
        (16, 4, 2, 2),  # PIPELINE_THREADS_PER_PROCESS wins (several workers on one host)
    ],
)
def test_threads_per_process_rule(cores, processes, override, expected):
    assert threads_per_process(cores=cores, processes=processes, override=override) == expected


def test_host_cores_counts_the_cores_this_process_may_use():
    assert 1 <= host_cores() <= len(os.sched_getaffinity(0))


def test_threads_apply_limits_blas_and_a_torch_imported_afterwards():
    """numpy is loaded before the limit (as in a worker), torch after it."""
    script = (
        "import json, numpy\n"
        "from config.worker_threads import threads_apply\n"
        "threads_apply(1)\n"
        "import torch\n"
        "from threadpoolctl import threadpool_info\n"
        "print(json.dumps({'torch': torch.get_num_threads(),"
        " 'pools': [p['num_threads'] for p in threadpool_info()]}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    applied = json.loads(result.stdout.strip().splitlines()[-1])
    assert applied["torch"] == 1
    assert applied["pools"] and set(applied["pools"]) == {1}


_APPLIED = re.compile(
    r"Worker process (\d+): (\d+) threads per process \((\d+) cores, (\d+) processes\); "
    r"in effect: (.*)"
)


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.parametrize(("pool", "concurrency", "processes"), [("prefork", 2, 2), ("solo", 1, 1)])
def test_a_worker_applies_the_rule_in_each_process(start_worker, pool, concurrency, processes):
    worker = start_worker(pool=pool, concurrency=concurrency)
    expected = threads_per_process(cores=host_cores(), processes=processes)
    lines = wait_for(
        lambda: len(found := _APPLIED.findall(worker.output())) == processes and found,
        timeout=30,
        what="each process's thread limits in the log",
        worker=worker,
    )
    pids = {int(line[0]) for line in lines}
    assert pids == (set(worker.children()) if pool == "prefork" else {worker.process.pid})
    for _pid, threads, cores, count, effective in lines:
        assert (int(threads), int(cores), int(count)) == (expected, host_cores(), processes)
        # threadpoolctl's pools (numpy's OpenBLAS, loaded before the fork) report the limit.
        pools = re.findall(r"\('\w+', (\d+)\)", effective)
        assert pools and set(map(int, pools)) == {expected}
