"""Sweep throughput: runs per minute of one grid on each engine, and what the engine costs.

The same ``SweepSpec`` runs in this process (1 worker), on a 2-process pool and on a 2-worker
Dask ``LocalCluster`` (started and closed inside the measurement, so its start-up counts).
The LocalCluster is ``vpccni_model.sweep.local_cluster``, the one ``"dask-local"`` starts.
Each wall time includes the engine's start and stop. *Efficiency* is the speed-up over
serial divided by the workers (1.0 = linear); *overhead* is how far below linear, ``1 -
efficiency``. For Dask, the start-up (cluster and client) and the map on the running cluster
are also timed apart. The rows of every engine must be equal to the serial rows: the
benchmark checks it.

On a shared machine the speed-up mostly measures the other tenants, so each engine is also
timed on :data:`NOOP_TASKS` tasks that do nothing (``per_task_ms``: the engine's own cost per
run, start-up included for the process pool, on the running cluster for Dask), and the load
average is recorded before each engine.
"""

from __future__ import annotations

import os
import time
from typing import Any

from vpccni_model.sweep import EnvSet, SweepSpec, WorkloadSpec, local_cluster, map_runs, sweep

#: Tasks of the no-op map that times an engine's own cost per run.
NOOP_TASKS = 200


def noop(item: int) -> int:
    return item


def _load() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _per_task_ms(engine: object, workers: int) -> float:
    start = time.perf_counter()
    map_runs(noop, range(NOOP_TASKS), engine, workers=workers)
    return (time.perf_counter() - start) / NOOP_TASKS * 1000


#: The env sets of the grid: the warm-pool settings users compare most.
ENV_SETS = (
    EnvSet(label="shipped"),
    EnvSet({"WARM_IP_TARGET": 2}, label="W=2"),
    EnvSet({"WARM_IP_TARGET": 2, "MINIMUM_IP_TARGET": 10}, label="W=2 M=10"),
    EnvSet({"ENABLE_PREFIX_DELEGATION": True, "WARM_PREFIX_TARGET": 1}, label="prefix WP=1"),
)


def grid(nodes: int, hours: float, seeds: int, env_sets: int = len(ENV_SETS)) -> SweepSpec:
    """m5.large, ``env_sets`` of :data:`ENV_SETS`, churn of 10 pods per node and 1 change per
    node per minute, seeds 0 .. ``seeds`` - 1."""
    return SweepSpec(
        instances=["m5.large"],
        env=ENV_SETS[:env_sets],
        workloads=[WorkloadSpec("churn", pods_per_node=10, changes_per_minute=1.0)],
        seeds=list(range(seeds)),
        nodes=nodes,
        hours=hours,
    )


def measure_engines(spec: SweepSpec, workers: int = 2) -> list[dict[str, Any]]:
    """One dict per engine: engine, workers, runs, wall_s, runs_per_min, speedup, efficiency,
    overhead, startup_s and map_s (Dask only), identical (rows equal to serial), load_before
    (the 1-minute load average before it ran) and per_task_ms (the no-op map)."""
    runs = len(spec)
    out: list[dict[str, Any]] = []
    load = _load()
    start = time.perf_counter()
    serial = sweep(spec, "serial")
    serial_wall = time.perf_counter() - start
    out.append(_entry("serial", 1, runs, serial_wall, serial_wall, identical=True, load=load))
    out[-1]["per_task_ms"] = _per_task_ms("serial", 1)

    load = _load()
    start = time.perf_counter()
    pooled = sweep(spec, "process", workers=workers)
    wall = time.perf_counter() - start
    out.append(
        _entry("process", workers, runs, wall, serial_wall, identical=pooled == serial, load=load)
    )
    out[-1]["per_task_ms"] = _per_task_ms("process", workers)

    from distributed import Client

    load = _load()
    start = time.perf_counter()
    with local_cluster(workers) as cluster, Client(cluster) as client:
        ready = time.perf_counter()
        on_dask = sweep(spec, client)
        mapped = time.perf_counter()
        per_task = _per_task_ms(client, workers)
    wall = time.perf_counter() - start - per_task * NOOP_TASKS / 1000
    same = on_dask == serial
    entry = _entry("dask-local", workers, runs, wall, serial_wall, identical=same, load=load)
    entry["per_task_ms"] = per_task
    entry["startup_s"] = ready - start
    entry["map_s"] = mapped - ready
    out.append(entry)
    return out


def _entry(
    engine: str,
    workers: int,
    runs: int,
    wall: float,
    serial_wall: float,
    *,
    identical: bool,
    load: float | None,
) -> dict[str, Any]:
    speedup = serial_wall / wall
    return {
        "engine": engine,
        "workers": workers,
        "runs": runs,
        "wall_s": wall,
        "runs_per_min": runs / wall * 60,
        "speedup": speedup,
        "efficiency": speedup / workers,
        "overhead": 1 - speedup / workers,
        "startup_s": None,
        "map_s": None,
        "identical": identical,
        "load_before": load,
        "per_task_ms": None,
    }
