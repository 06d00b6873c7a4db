"""Simulation metrics: time series per cluster and per node, and a summary.

Samples are taken every ``sample_interval`` seconds and at the end. EC2 call counts are
cumulative in the series and totals in the summary. Percentiles use the nearest-rank method,
so they are always observed values.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from vpccni_model._state import NodeState
from vpccni_model.cloud import Ec2
from vpccni_model.pool import datastore_stats
from vpccni_model.sim.spec import NodeSpec, SimulationSpec


class _Node(Protocol):
    """What the recorder reads of a simulated node (the engine's node record has it)."""

    @property
    def spec(self) -> NodeSpec: ...
    @property
    def state(self) -> NodeState: ...
    @property
    def waiting(self) -> Mapping[str, object]: ...


class _Pod(Protocol):
    """What the recorder reads of a pod: when it arrived."""

    @property
    def arrived(self) -> float: ...


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@attrs.frozen
class Sample:
    """The cluster at one instant (sums over nodes; calls cumulative since the start)."""

    time: float
    pods: int
    pods_waiting: int
    ips_total: int
    ips_unused: int
    ips_cooling: int
    enis: int
    prefixes: int
    subnet_free: int
    calls_ok: int
    calls_failed: int
    calls_throttled: int


@attrs.frozen
class NodeSample:
    """One node at one instant."""

    time: float
    node: str
    pods: int
    pods_waiting: int
    ips_total: int
    ips_unused: int
    ips_cooling: int
    enis: int
    prefixes: int


@attrs.frozen
class Summary:
    """What a run comes to. Times in seconds."""

    duration: float
    nodes: int
    pods_started: int
    pods_failed: int
    pods_unschedulable: int
    pods_waiting_at_end: int
    time_to_ip_p50: float
    time_to_ip_p95: float
    time_to_ip_p99: float
    time_to_ip_max: float
    pods_that_waited: int
    ips_total_mean: float
    ips_total_max: int
    ips_unused_mean: float
    ips_unused_max: int
    enis_max: int
    ec2_calls: int
    ec2_calls_failed: int
    ec2_calls_throttled: int
    ec2_calls_per_hour: float
    subnet_free_min: int


@attrs.frozen
class SimulationResult:
    """The outcome of a run: summary, cluster series, per-node series, calls by API."""

    summary: Summary
    series: tuple[Sample, ...]
    node_series: tuple[NodeSample, ...]
    calls_by_api: Mapping[str, Mapping[str, int]]
    pod_waits: tuple[tuple[float, float], ...] = ()
    """(arrival time, seconds until the pod got its IP) for every pod that got one."""

    def waits_after(self, time: float) -> list[float]:
        """Time-to-IP of the pods that arrived after ``time`` (e.g. after boot)."""
        return [wait for arrived, wait in self.pod_waits if arrived > time]

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": attrs.asdict(self.summary),
            "calls_by_api": {api: dict(v) for api, v in sorted(self.calls_by_api.items())},
            "series": [attrs.asdict(s) for s in self.series],
            "node_series": [attrs.asdict(s) for s in self.node_series],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    def write(self, directory: str | Path) -> list[Path]:
        """Write ``summary.json``, ``series.csv``, ``nodes.csv`` and ``calls.csv``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "summary.json", out / "series.csv", out / "nodes.csv", out / "calls.csv"]
        paths[0].write_text(self.to_json() + "\n")
        _write_rows(paths[1], [attrs.asdict(s) for s in self.series], Sample)
        _write_rows(paths[2], [attrs.asdict(s) for s in self.node_series], NodeSample)
        rows = [
            {"api": api, **{k: counts.get(k, 0) for k in ("ok", "failed", "throttled")}}
            for api, counts in sorted(self.calls_by_api.items())
        ]
        with paths[3].open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["api", "ok", "failed", "throttled"])
            writer.writeheader()
            writer.writerows(rows)
        return paths


def _write_rows(path: Path, rows: list[dict[str, Any]], cls: type) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in attrs.fields(cls)])
        writer.writeheader()
        writer.writerows(rows)


def _node_row(time: float, node: _Node) -> NodeSample:
    """One node's numbers at ``time``, from the per-ENI counters (addresses are visited only
    on CIDRs whose newest unassignment may still be cooling)."""
    state = node.state
    ips = assigned = cooling = enis = prefixes = 0
    pd = state.prefix_delegation
    cooldown = state.config.ip_cooldown_period
    for ds in state.datastores:
        stats = datastore_stats(ds, pd, time, cooldown)
        ips += stats.total_ips
        assigned += stats.assigned_ips
        cooling += stats.cooldown_ips
        enis += len(ds.enis)
        prefixes += sum(e.prefix_cidrs for e in ds.enis)
    return NodeSample(
        time,
        node.spec.name,
        len(state.pods),
        len(node.waiting),
        ips,
        ips - assigned,
        cooling,
        enis,
        prefixes,
    )


class MetricsRecorder:
    """Collects samples and pod timings while a simulation runs."""

    def __init__(self, spec: SimulationSpec, ec2: Ec2) -> None:
        self.spec = spec
        self.ec2 = ec2
        self.series: list[Sample] = []
        self.node_series: list[NodeSample] = []
        self.waits: list[float] = []
        self.arrivals: list[float] = []
        self.failed = 0
        self.unschedulable = 0
        self.by_api: dict[str, Counter[str]] = {}
        self.totals: Counter[str] = Counter()

    def calls(self, api_calls: Iterable[tuple[str, str]]) -> None:
        for api, outcome in api_calls:
            self.by_api.setdefault(api, Counter())[outcome] += 1
            self.totals[outcome] += 1

    def pod_started(self, pod: _Pod, time: float) -> None:
        self.waits.append(time - pod.arrived)
        self.arrivals.append(pod.arrived)

    def pod_failed(self, pod: _Pod) -> None:
        self.failed += 1

    def sample(self, time: float, nodes: Iterable[_Node], final: bool = False) -> None:
        if self.series and self.series[-1].time == time:
            return
        keep_rows = self.spec.per_node_series
        pods = waiting = ips = unused = cooling = enis = prefixes = 0
        for node in nodes:
            row = _node_row(time, node)
            if keep_rows:
                self.node_series.append(row)
            pods += row.pods
            waiting += row.pods_waiting
            ips += row.ips_total
            unused += row.ips_unused
            cooling += row.ips_cooling
            enis += row.enis
            prefixes += row.prefixes
        free = sum(self.ec2.subnet_free(name)[0] for name, _ in self.spec.subnets)
        self.series.append(
            Sample(
                time,
                pods,
                waiting,
                ips,
                unused,
                cooling,
                enis,
                prefixes,
                free,
                self.totals["ok"],
                self.totals["failed"],
                self.totals["throttled"],
            )
        )

    def result(self, nodes: Iterable[_Node], pods: Iterable[_Pod]) -> SimulationResult:
        nodes = list(nodes)
        series = self.series
        waits = self.waits
        calls = sum(self.totals.values())
        hours = self.spec.duration / 3600
        summary = Summary(
            duration=self.spec.duration,
            nodes=len(nodes),
            pods_started=len(waits),
            pods_failed=self.failed,
            pods_unschedulable=self.unschedulable,
            pods_waiting_at_end=sum(len(n.waiting) for n in nodes),
            time_to_ip_p50=percentile(waits, 0.50),
            time_to_ip_p95=percentile(waits, 0.95),
            time_to_ip_p99=percentile(waits, 0.99),
            time_to_ip_max=max(waits, default=0.0),
            pods_that_waited=sum(1 for w in waits if w > 0),
            ips_total_mean=sum(s.ips_total for s in series) / len(series),
            ips_total_max=max(s.ips_total for s in series),
            ips_unused_mean=sum(s.ips_unused for s in series) / len(series),
            ips_unused_max=max(s.ips_unused for s in series),
            enis_max=max(s.enis for s in series),
            ec2_calls=calls,
            ec2_calls_failed=self.totals["failed"],
            ec2_calls_throttled=self.totals["throttled"],
            ec2_calls_per_hour=calls / hours if hours else 0.0,
            subnet_free_min=min(s.subnet_free for s in series),
        )
        return SimulationResult(
            summary=summary,
            series=tuple(series),
            node_series=tuple(self.node_series),
            calls_by_api={api: dict(c) for api, c in sorted(self.by_api.items())},
            pod_waits=tuple(zip(self.arrivals, waits, strict=True)),
        )
