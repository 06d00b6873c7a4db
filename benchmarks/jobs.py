"""Top-level, picklable job functions that ``vpccni_model.sweep.map_runs`` ships to worker
processes (or a cluster).

Each takes one dict of parameters and returns a plain dict, so any engine can carry them.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from typing import Any

import attrs

from benchmarks.timing import measure, reference_workload
from vpccni_model import Config, instance_limits, steady_state
from vpccni_model.sim import PoissonChurn, SimulationSpec, cluster, simulate

# -- steady_state over the upstream docs tables ------------------------------------------------

# Inputs of every row of aws/amazon-vpc-cni-k8s v1.23.1 docs/eni-and-ip-target.md and
# docs/prefix-and-ip-target.md (the same rows tests/conformance/test_docs_tables.py checks).
# (instance, E, W, M, pods)
_SIP_ROWS = [
    ("t3.small", 1, 0, 0, 0),
    ("t3.small", 1, 0, 0, 5),
    ("t3.small", 1, 0, 0, 9),
    ("t3.small", 1, 1, 1, 0),
    ("t3.small", 1, 1, 1, 5),
    ("t3.small", 1, 1, 1, 9),
    ("t3.small", 1, 2, 5, 0),
    ("t3.small", 1, 2, 5, 5),
    ("t3.small", 1, 2, 5, 9),
    ("p3dn.24xlarge", 1, 0, 0, 0),
    ("p3dn.24xlarge", 1, 0, 0, 3),
    ("p3dn.24xlarge", 1, 0, 0, 95),
    ("p3dn.24xlarge", 1, 5, 10, 0),
    ("p3dn.24xlarge", 1, 5, 10, 7),
    ("p3dn.24xlarge", 1, 5, 10, 15),
    ("p3dn.24xlarge", 1, 5, 10, 45),
]
# (instance, WP, W, M, pods); max pods as the EKS calculator's prefix-mode cap.
_PD_MAX_PODS = {"t3.small": 110, "p3dn.24xlarge": 250}
_PD_ROWS = [
    ("t3.small", 1, 0, 0, 0),
    ("t3.small", 1, 0, 0, 5),
    ("t3.small", 1, 0, 0, 16),
    ("t3.small", 1, 0, 0, 17),
    ("t3.small", 1, 0, 0, 58),
    ("t3.small", 0, 1, 1, 0),
    ("t3.small", 0, 1, 1, 5),
    ("t3.small", 0, 1, 1, 17),
    ("t3.small", 0, 1, 1, 58),
    ("t3.small", 0, 7, 20, 0),
    ("t3.small", 0, 7, 20, 5),
    ("t3.small", 0, 7, 20, 17),
    ("t3.small", 0, 7, 20, 58),
    ("p3dn.24xlarge", 1, 0, 0, 0),
    ("p3dn.24xlarge", 1, 0, 0, 3),
    ("p3dn.24xlarge", 1, 0, 0, 95),
    ("p3dn.24xlarge", 0, 5, 10, 0),
    ("p3dn.24xlarge", 0, 5, 10, 7),
    ("p3dn.24xlarge", 0, 5, 10, 15),
    ("p3dn.24xlarge", 0, 5, 10, 45),
]


def docs_rows() -> list[dict[str, Any]]:
    """Every docs-table row as sweep parameters."""
    rows: list[dict[str, Any]] = []
    for instance, e, w, m, pods in _SIP_ROWS:
        config = {"warm_eni_target": e, "warm_ip_target": w, "minimum_ip_target": m}
        label = f"SIP {instance} E={e} W={w} M={m} pods={pods}"
        rows.append({"label": label, "instance": instance, "config": config, "pods": pods})
    for instance, wp, w, m, pods in _PD_ROWS:
        config = {
            "prefix_delegation": True,
            "warm_prefix_target": wp,
            "warm_ip_target": w,
            "minimum_ip_target": m,
            "max_pods": _PD_MAX_PODS[instance],
        }
        label = f"PD {instance} WP={wp} W={w} M={m} pods={pods}"
        rows.append({"label": label, "instance": instance, "config": config, "pods": pods})
    return rows


def steady_state_row(params: dict[str, Any]) -> dict[str, Any]:
    """Time ``steady_state`` for one docs row (``batches``, ``min_batch_s`` in params)."""
    limits = instance_limits(params["instance"])
    config = Config(**params["config"])
    timing = measure(
        steady_state,
        limits,
        config,
        params["pods"],
        batches=params.get("batches", 10),
        min_batch_s=params.get("min_batch_s", 0.01),
        warmup_s=params.get("warmup_s", 0.02),
    )
    result = steady_state(limits, config, params["pods"])
    return {
        "label": params["label"],
        "instance": params["instance"],
        "config": params["config"],
        "pods": params["pods"],
        "enis": result.enis,
        "cidrs_per_eni": list(result.cidrs_per_eni),
        "total_ips": result.total_ips,
        "settled": result.settled,
        "timing": timing.to_dict(),
    }


# -- simulator -------------------------------------------------------------------------------

SIM_INSTANCE = "m5.large"
SIM_PODS_PER_NODE = 10
SIM_CHANGES_PER_NODE_PER_MINUTE = 1.0
SIM_SEED = 1


def sim_spec(nodes: int, hours: float, subnet: str | None = None) -> SimulationSpec:
    """The throughput workload: ``nodes`` m5.large nodes with the default Config, Poisson
    churn of 10 pods per node and 1 pod change per node per minute, seed 1, no per-node
    series. ``subnet`` replaces the default 10.0.0.0/16 (needed above ~2,000 nodes)."""
    extra: dict[str, Any] = {}
    if subnet is not None:
        extra["subnets"] = (("subnet-a", subnet),)
    return SimulationSpec(
        nodes=cluster(instance_limits(SIM_INSTANCE), Config(), nodes),
        workload=PoissonChurn(
            pods_per_node=SIM_PODS_PER_NODE,
            changes_per_node_per_minute=SIM_CHANGES_PER_NODE_PER_MINUTE,
        ),
        duration=hours * 3600,
        seed=SIM_SEED,
        per_node_series=False,
        **extra,
    )


def sim_run(params: dict[str, Any]) -> dict[str, Any]:
    """One timed simulation (after a tiny untimed warm-up run in the same process).

    ``marks`` maps each whole simulated hour to the wall seconds elapsed when the engine first
    reached it (the last one is the whole run), so one long run also gives the cost of its
    first hours and of its last hour.
    """
    simulate(sim_spec(1, 0.05))
    spec = sim_spec(params["nodes"], params["hours"], params.get("subnet"))
    reference_before = _reference_us()
    gc.collect()
    _reset_peak_rss()
    marks: dict[int, float] = {}
    next_mark = [3600.0]

    def progress(now: float) -> None:
        if now >= next_mark[0]:
            marks[int(next_mark[0] // 3600)] = (time.perf_counter_ns() - start) / 1e9
            next_mark[0] += 3600.0

    cpu = time.process_time()
    start = time.perf_counter_ns()
    result = simulate(spec, progress=progress)
    wall = (time.perf_counter_ns() - start) / 1e9
    cpu = time.process_time() - cpu
    marks[math.ceil(params["hours"])] = wall
    peak_rss_mb = _peak_rss_mb()
    reference_after = _reference_us()
    node_hours = params["nodes"] * params["hours"]
    return {
        "nodes": params["nodes"],
        "hours": params["hours"],
        "subnet": params.get("subnet") or "10.0.0.0/16",
        "wall_s": wall,
        "cpu_s": cpu,
        "node_hours": node_hours,
        "node_hours_per_s": node_hours / wall,
        "marks": marks,
        "peak_rss_mb": peak_rss_mb,
        "machine_reference_us": [reference_before, reference_after],
        "summary": attrs.asdict(result.summary),
    }


def _reference_us() -> float:
    """The machine reference (``timing.reference_workload``, µs per call) in this process:
    a run that lasts minutes or hours outlives the interleaved reference of the other groups,
    so it is timed just before and just after the run, to say how fast the machine was."""
    timing = measure(reference_workload, batches=7, min_batch_s=0.02, warmup_s=0.05)
    return timing.median_s * 1e6


def _reset_peak_rss() -> None:
    """Start this process's peak-RSS count afresh (Linux: ``clear_refs`` 5 resets VmHWM), so a
    worker that ran other jobs reports this run's peak; elsewhere nothing happens."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    """Peak resident memory since ``_reset_peak_rss``: VmHWM on Linux, else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
