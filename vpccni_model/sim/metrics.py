"""Simulation metrics: time series per cluster and per node, a summary, and the files a run
writes.

Samples are taken every ``sample_interval`` seconds and at the end. Every column name carries
its unit (``_s`` seconds, ``_addresses`` subnet addresses; ``ips`` count ipamd's pool
addresses, ``_cumulative`` counts since the start). Percentiles use the nearest-rank method,
so they are always observed values; pods that gave up waiting rank after every pod that got
an IP (see :class:`Summary`).
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import math
import operator
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, overload

import attrs

from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._ipv6 import pool_size as ipv6_pool_size
from vpccni_model._state import NodeState
from vpccni_model.cloud import Ec2
from vpccni_model.pool import cooling_ips, effective_max_pods
from vpccni_model.sim.spec import NodeSpec, SimulationSpec

#: Why a pod gave up waiting for an IP (``engine.failure_reason``), in the summary's order.
FAILURE_REASONS = ("subnet_full", "ec2_error", "timeout")


class _Node(Protocol):
    """What the recorder reads of a simulated node (the engine's node record has it)."""

    @property
    def spec(self) -> NodeSpec: ...
    @property
    def state(self) -> NodeState: ...
    @property
    def waiting(self) -> Mapping[str, object]: ...

    seen: SampleMemo | None  # what the last sample kept of it (``_node_row``)


class _Pod(Protocol):
    """What the recorder reads of a pod: when it arrived."""

    @property
    def arrived(self) -> float: ...


def package_version() -> str:
    """The installed vpccni-model version, or ``"unknown"`` when run from a source tree."""
    try:
        return importlib.metadata.version("vpccni-model")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def percentile_with_failures(
    ordered: Sequence[float], failures: int, fraction: float
) -> float | None:
    """Nearest rank over ``ordered`` (sorted waits) followed by ``failures`` pods that never
    got an IP: None when the rank falls on one of those, or when there are no pods at all."""
    count = len(ordered) + failures
    if count == 0:
        return None
    rank = max(1, math.ceil(fraction * count))
    return ordered[rank - 1] if rank <= len(ordered) else None


@attrs.frozen
class Sample:
    """The cluster at one instant: sums over nodes; ``_cumulative`` columns count since the
    start. ``subnet_addresses`` is what the nodes take from their subnets (ENI primaries,
    secondary IPs, 16 per /28 prefix); ``subnet_free_blocks`` counts the aligned /28 blocks
    wholly free (what a prefix needs); ``ips_*`` are ipamd's pool counts."""

    time_s: float
    pods: int
    pods_waiting: int
    pods_pending: int
    pods_failed_cumulative: int
    pods_unschedulable_cumulative: int
    ips_total: int
    ips_unused: int
    ips_cooling: int
    enis: int
    prefixes: int
    subnet_addresses: int
    subnet_free_addresses: int
    subnet_free_blocks: int
    ec2_calls_ok_cumulative: int
    ec2_calls_failed_cumulative: int
    ec2_calls_throttled_cumulative: int


@attrs.frozen
class NodeSample:
    """One node at one instant (columns as in :class:`Sample`)."""

    time_s: float
    node: str
    pods: int
    pods_waiting: int
    ips_total: int
    ips_unused: int
    ips_cooling: int
    enis: int
    prefixes: int
    subnet_addresses: int


@attrs.frozen
class SubnetSample:
    """One subnet at one instant, recorded when the run has more than one subnet (e.g. custom
    networking: the nodes' subnet and the ENIConfig's). ``used_addresses`` is what is taken
    from it (ENI primaries, secondary IPs, 16 per /28 prefix: every node's, and leaked ENIs')."""

    time_s: float
    subnet: str
    used_addresses: int
    free_addresses: int
    free_blocks: int


@attrs.frozen
class Summary:
    """What a run comes to.

    ``pods_started`` got an IP. ``pods_failed`` gave up after ``pod_timeout`` seconds, split by
    the error of their node's last allocation: ``_subnet_full`` (InsufficientFreeAddressesInSubnet
    or InsufficientCidrBlocks), ``_ec2_error`` (any other error, throttling included) and
    ``_timeout`` (no error: the pool could not or did not grow in time).
    ``pods_unschedulable`` found no node with room on arrival (kubelet's max pods less the
    host-network pods): they stay pending and are placed, oldest first, as slots free up;
    ``pods_pending_at_end`` never were. A trace pod naming a full node is refused outright
    (kubelet's admission) and counted as unschedulable, not pending. ``ipamd_start_failures``
    counts the start-ups that failed; while ipamd is down its node hands out no address.

    Time to IP is counted from a pod's placement. The percentiles rank the pods that got an
    IP and, after all of them, the pods that gave up, so failures are never dropped: a
    percentile is None when its rank falls on a pod that gave up. Pods still waiting at the
    end are not ranked (``pods_waiting_at_end``). ``time_to_ip_max_s`` is the longest wait of
    a pod that got an IP (None if none did).
    """

    duration_s: float
    nodes: int
    pods_started: int
    pods_failed: int
    pods_failed_subnet_full: int
    pods_failed_ec2_error: int
    pods_failed_timeout: int
    pods_unschedulable: int
    pods_pending_at_end: int
    pods_waiting_at_end: int
    time_to_ip_p50_s: float | None
    time_to_ip_p95_s: float | None
    time_to_ip_p99_s: float | None
    time_to_ip_max_s: float | None
    pods_that_waited: int
    ips_total_mean: float
    ips_total_max: int
    ips_unused_mean: float
    ips_unused_max: int
    enis_max: int
    subnet_addresses_max: int
    subnet_free_addresses_min: int
    subnet_free_blocks_min: int
    ec2_calls: int
    ec2_calls_failed: int
    ec2_calls_throttled: int
    ec2_calls_per_hour: float
    #: ipamd start-ups that failed (spec 7.5: a pre-scaling error, or custom networking with
    #: no IP after it); each is followed by kubelet's restart after its crash-loop back-off.
    ipamd_start_failures: int = 0


def _jsonable(value: Any) -> Any:
    """JSON-safe copy: infinities (an open-ended fault window, an unlimited bucket) as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class PodWaits(Sequence[tuple[float, float]]):
    """(placement time, seconds until the pod got its IP) of every pod that got one, in the
    order they got it: a sequence of pairs kept as two arrays of doubles (16 bytes a pod,
    where a tuple of tuples takes about 100), for a day of a large cluster starts millions."""

    __slots__ = ("_placed", "_waits")

    def __init__(self, placed: Iterable[float] = (), waits: Iterable[float] = ()) -> None:
        self._placed = array("d", placed)
        self._waits = array("d", waits)
        if len(self._placed) != len(self._waits):
            raise ValueError("one wait per placement time")

    def __len__(self) -> int:
        return len(self._waits)

    @overload
    def __getitem__(self, index: int) -> tuple[float, float]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[float, float]]: ...
    def __getitem__(self, index: int | slice) -> tuple[float, float] | list[tuple[float, float]]:
        if isinstance(index, slice):
            return list(zip(self._placed[index], self._waits[index], strict=True))
        return self._placed[index], self._waits[index]

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return zip(self._placed, self._waits, strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PodWaits):
            return self._placed == other._placed and self._waits == other._waits
        if isinstance(other, Sequence):
            return list(self) == [tuple(pair) for pair in other]
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._placed.tobytes(), self._waits.tobytes()))

    def __repr__(self) -> str:
        return f"PodWaits({len(self)} pods)"

    @property
    def waits(self) -> array[float]:
        """The waits alone, in the same order."""
        return self._waits


class _Ranked(Sequence[float]):
    """Sorted waits as ``zeros`` waits of 0 s then the sorted others, without building the
    list of every pod (most pods of a churning cluster never wait)."""

    def __init__(self, zeros: int, others: list[float]) -> None:
        self.zeros = zeros
        self.others = others

    def __len__(self) -> int:
        return self.zeros + len(self.others)

    @overload
    def __getitem__(self, index: int) -> float: ...
    @overload
    def __getitem__(self, index: slice) -> list[float]: ...
    def __getitem__(self, index: int | slice) -> float | list[float]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return 0.0 if index < self.zeros else self.others[index - self.zeros]


@attrs.frozen
class SimulationResult:
    """The outcome of a run: summary, cluster series, per-node series, calls by API.

    ``calls_by_api``: per API, calls by outcome (``ok``, ``failed``, ``throttled``);
    ``errors_by_api``: per API, failed calls by EC2 error code; ``inputs``: what the run
    depended on (see :func:`spec_inputs`).
    """

    summary: Summary
    series: tuple[Sample, ...]
    node_series: tuple[NodeSample, ...]
    calls_by_api: Mapping[str, Mapping[str, int]]
    pod_waits: PodWaits = attrs.Factory(lambda: PodWaits())
    """(placement time, seconds until the pod got its IP) for every pod that got one."""
    errors_by_api: Mapping[str, Mapping[str, int]] = attrs.field(factory=dict)
    inputs: Mapping[str, Any] = attrs.field(factory=dict)
    subnet_series: tuple[SubnetSample, ...] = ()
    """Each subnet every sample interval; empty for a run with one subnet (``series`` says
    it all)."""

    @property
    def subnets(self) -> dict[str, dict[str, int]]:
        """Per subnet over the run (from ``subnet_series``; empty with one subnet): the most
        addresses used, the fewest free addresses and wholly free /28 blocks."""
        out: dict[str, dict[str, int]] = {}
        for row in self.subnet_series:
            seen = out.get(row.subnet)
            if seen is None:
                out[row.subnet] = {
                    "used_addresses_max": row.used_addresses,
                    "free_addresses_min": row.free_addresses,
                    "free_blocks_min": row.free_blocks,
                }
                continue
            seen["used_addresses_max"] = max(seen["used_addresses_max"], row.used_addresses)
            seen["free_addresses_min"] = min(seen["free_addresses_min"], row.free_addresses)
            seen["free_blocks_min"] = min(seen["free_blocks_min"], row.free_blocks)
        return out

    def waits_after(self, time: float) -> list[float]:
        """Time-to-IP of the pods that arrived after ``time`` (e.g. after boot)."""
        return [wait for arrived, wait in self.pod_waits if arrived > time]

    def to_dict(self, *, series: bool = True) -> dict[str, Any]:
        """Inputs, summary and calls; with ``series`` the cluster and per-node series too."""
        out: dict[str, Any] = {
            "inputs": _jsonable(self.inputs),
            "summary": _jsonable(attrs.asdict(self.summary)),
            "calls_by_api": {api: dict(v) for api, v in sorted(self.calls_by_api.items())},
            "errors_by_api": {api: dict(v) for api, v in sorted(self.errors_by_api.items())},
        }
        if self.subnet_series:
            out["subnets"] = self.subnets
        if series:
            out["series"] = [attrs.asdict(s) for s in self.series]
            out["node_series"] = [attrs.asdict(s) for s in self.node_series]
            if self.subnet_series:
                out["subnet_series"] = [attrs.asdict(s) for s in self.subnet_series]
        return out

    def to_json(self, indent: int | None = 2, *, series: bool = True) -> str:
        return json.dumps(self.to_dict(series=series), indent=indent, sort_keys=True)

    def call_rows(self) -> list[dict[str, object]]:
        """``calls.csv``: one row per API, result and error code (throttles are
        RequestLimitExceeded that never reached EC2)."""
        rows: list[dict[str, object]] = []
        for api, counts in sorted(self.calls_by_api.items()):
            if counts.get("ok"):
                rows.append({"api": api, "result": "ok", "error_code": "", "calls": counts["ok"]})
            codes = dict(self.errors_by_api.get(api, {}))
            unknown = counts.get("failed", 0) - sum(codes.values())
            if unknown > 0:  # a result built without errors_by_api
                codes["unknown"] = unknown
            for code, n in sorted(codes.items()):
                rows.append({"api": api, "result": "failed", "error_code": code, "calls": n})
            if counts.get("throttled"):
                rows.append(
                    {
                        "api": api,
                        "result": "throttled",
                        "error_code": "RequestLimitExceeded",
                        "calls": counts["throttled"],
                    }
                )
        return rows

    def write(self, directory: str | Path, inputs: Mapping[str, Any] | None = None) -> list[Path]:
        """Write ``summary.json`` (``inputs`` added to the run's own), ``series.csv``,
        ``nodes.csv`` (only when the run kept per-node series: ``summary.json`` says so
        otherwise) and ``calls.csv``; returns the paths written."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        doc = self.to_dict(series=False)
        doc["inputs"] = _jsonable({**self.inputs, **(inputs or {})})
        files = {
            "series.csv": "the cluster every sample interval (sums over nodes)",
            "calls.csv": "EC2 calls by API, result and error code",
        }
        paths = [out / "summary.json", out / "series.csv"]
        if self.node_series:
            files["nodes.csv"] = "each node every sample interval"
            paths.append(out / "nodes.csv")
        else:
            files["nodes.csv"] = (
                "not written: the run kept no per-node series (SimulationSpec.per_node_series"
                "=False; on the command line, above 200 nodes unless --per-node-series)"
            )
        if self.subnet_series:
            files["subnets.csv"] = "each subnet every sample interval"
        paths.append(out / "calls.csv")
        if self.subnet_series:
            paths.append(out / "subnets.csv")
        doc["files"] = files
        paths[0].write_text(json.dumps(doc, indent=2) + "\n")
        _write_rows(paths[1], [attrs.asdict(s) for s in self.series], Sample)
        if self.node_series:
            _write_rows(paths[2], [attrs.asdict(s) for s in self.node_series], NodeSample)
        with paths[-1].open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["api", "result", "error_code", "calls"])
            writer.writeheader()
            writer.writerows(self.call_rows())
        if self.subnet_series:
            rows = [attrs.asdict(s) for s in self.subnet_series]
            _write_rows(out / "subnets.csv", rows, SubnetSample)
        return paths


def _write_rows(path: Path, rows: list[dict[str, Any]], cls: type) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in attrs.fields(cls)])
        writer.writeheader()
        writer.writerows(rows)


def _workload_inputs(workload: object) -> dict[str, Any]:
    """The workload's type and parameters; a trace by its size, not its rows."""
    params: dict[str, Any] = {"type": type(workload).__name__}
    cls = type(workload)
    if attrs.has(cls):
        for field in attrs.fields(cls):
            value = getattr(workload, field.name)
            if isinstance(value, tuple):  # a trace's rows: their number, not a copy
                params[f"{field.name}_count"] = len(value)
            else:
                params[field.name] = attrs.asdict(value) if attrs.has(type(value)) else value
    return params


def spec_inputs(spec: SimulationSpec, usable: Mapping[str, int]) -> dict[str, Any]:
    """What a run depends on, for ``summary.json``: node groups (instance type, config,
    host-network pods, max pods, subnet), workload, seed, iteration policy, subnets, duration,
    EC2 cost model,
    and the package version. ``usable`` is each subnet's usable address count."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    tagged = dict(spec.subnet_tags)
    for node in spec.nodes:
        key = (node.limits.name, node.config, node.host_network_pods, node.subnet, node.eni_config)
        group = groups.get(key)
        if group is None:
            max_pods = effective_max_pods(node.limits, node.config.for_instance(node.limits))
            group = groups[key] = {
                "instance_type": node.limits.name,
                "nodes": 0,
                "max_pods": max_pods,
                "host_network_pods": node.host_network_pods,
                "pod_ips_per_node_max": max(max_pods - node.host_network_pods, 0),
                "subnet": node.subnet if node.subnet is not None else spec.subnets[0][0],
                "config": attrs.asdict(node.config.for_instance(node.limits)),
            }
            if node.eni_config is not None:  # only when given: outputs stay as they were
                group["eni_config"] = attrs.asdict(node.eni_config)
        group["nodes"] += 1
    return {
        "vpccni_model_version": package_version(),
        "nodes": len(spec.nodes),
        "node_groups": list(groups.values()),
        "workload": _workload_inputs(spec.workload),
        "seed": spec.seed,
        "iteration": spec.iteration,
        "trunk_controller": spec.trunk_controller,
        "duration_s": spec.duration,
        "hours": spec.duration / 3600,
        "subnets": {
            name: {"cidr": cidr, "usable_addresses": usable.get(name)}
            | ({"tags": dict(tagged[name])} if name in tagged else {})  # only when tagged
            for name, cidr in spec.subnets
        },
        "latency_s": attrs.asdict(spec.latency),
        "throttle": attrs.asdict(spec.throttle) if spec.throttle is not None else None,
        "faults": [attrs.asdict(f) for f in spec.faults],
        "sdk_retry": attrs.asdict(spec.sdk_retry, filter=lambda field, _: field.init),
        "sample_interval_s": spec.sample_interval,
        "pod_retry_interval_s": spec.pod_retry_interval,
        "pod_timeout_s": spec.pod_timeout,
        "per_node_series": spec.per_node_series,
    }


#: What a node's sample takes from its datastores alone: (IPs, assigned IPs, ENIs, prefixes,
#: subnet addresses), with the datastores it was counted on.
_Counts = tuple[int, int, int, int, int]


def _counts(state: NodeState) -> _Counts:
    """The clock-free part of a node's sample, from the per-ENI counters."""
    ips = assigned = enis = prefixes = secondaries = 0
    pd = state.prefix_delegation
    for ds in state.datastores:
        enis += len(ds.enis)
        for eni in ds.enis:
            prefixes += eni.prefix_cidrs
            secondaries += eni.ip_cidrs
            if eni.is_excluded:
                continue  # the pool (datastore_stats) counts non-excluded ENIs only
            if pd:
                ips += eni.prefix_cidrs * PREFIX_SIZE
                assigned += eni.assigned_in_prefixes
            else:
                ips += eni.ip_cidrs
                assigned += eni.assigned_in_ips
    taken = enis + secondaries + PREFIX_SIZE * prefixes  # each ENI's primary address too
    if state.config.enable_ipv6:  # /80s of 2**48 addresses, from the IPv6 CIDR (_ipv6)
        (ips, assigned), taken = ipv6_pool_size(state), enis
    return ips, assigned, enis, prefixes, taken


def _cooling(state: NodeState, time: float) -> int:
    """Pool addresses still cooling at ``time``, every card's."""
    cooldown = state.config.ip_cooldown_period
    pd = state.prefix_delegation
    cooling = 0
    for ds in state.datastores:
        cooling += cooling_ips(ds, pd, time, cooldown)
    return cooling


_Row = tuple[str, int, int, int, int, int, int, int, int]
_NO_COUNTS = (0,) * 8  # a node's row before its first sample, less its name


class SampleMemo:
    """What a sample keeps of a node until the next (on the node: ``_Node.seen``): its
    datastores then, their clock-free counts, whether nothing on them was cooling (with the
    same datastores nothing can start cooling, so nothing is now), and its row."""

    __slots__ = ("cooled", "counts", "row", "stores")

    def __init__(self, stores: object, counts: _Counts) -> None:
        self.stores = stores
        self.counts = counts
        self.cooled = False
        self.row: _Row | None = None


def _node_row(time: float, node: _Node) -> _Row:
    """One node's numbers at ``time``: (name, pods, waiting, IPs, unused IPs, cooling IPs,
    ENIs, prefixes, subnet addresses). The counts are kept on the node and counted again
    only when its datastores changed (many nodes of a large run do not change between two
    samples), and cooling only while something may be cooling."""
    state = node.state
    stores = state.datastores
    seen = node.seen
    if seen is None or seen.stores is not stores:
        seen = node.seen = SampleMemo(stores, _counts(state))
    cooling = 0
    if not seen.cooled:
        cooling = _cooling(state, time)
        seen.cooled = cooling == 0
    ips, assigned, enis, prefixes, taken = seen.counts
    row = seen.row = (
        node.spec.name,
        len(state.pods),
        len(node.waiting),
        ips,
        ips - assigned,
        cooling,
        enis,
        prefixes,
        taken,
    )
    return row


class MetricsRecorder:
    """Collects samples and pod timings while a simulation runs."""

    def __init__(self, spec: SimulationSpec, ec2: Ec2) -> None:
        self.spec = spec
        self.ec2 = ec2
        # Before any node boots, every usable address of each subnet is free.
        self.usable = {name: ec2.subnet_free(name)[0] for name, _ in spec.subnets}
        self.series: list[Sample] = []
        self.subnet_series: list[SubnetSample] = []
        self.per_subnet = len(spec.subnets) > 1
        self.node_series: list[NodeSample] = []
        # The sums of the nodes' last rows (each kept on its node, ``SampleMemo``): a sample
        # recounts only the nodes that changed.
        self.sums = [0] * 8
        self.waits: array[float] = array("d")
        self.arrivals: array[float] = array("d")
        self.failed: Counter[str] = Counter()
        self.unschedulable = 0
        self.start_failures = 0  # ipamd start-ups that failed (the engine counts them)
        self.pending = 0  # pods without a node now; the engine sets it before each sample
        self.by_api: dict[str, Counter[str]] = {}
        self.errors_by_api: dict[str, Counter[str]] = {}
        self.totals: Counter[str] = Counter()

    def calls(
        self, api_calls: Iterable[tuple[str, str]], errors: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Count one submit's calls by API and outcome, and its failed calls by code."""
        for api, outcome in api_calls:
            self.by_api.setdefault(api, Counter())[outcome] += 1
            self.totals[outcome] += 1
        for api, code in errors:
            self.errors_by_api.setdefault(api, Counter())[code] += 1

    def pod_started(self, pod: _Pod, time: float) -> None:
        self.waits.append(time - pod.arrived)
        self.arrivals.append(pod.arrived)

    def pod_failed(self, pod: _Pod, reason: str = "timeout") -> None:
        """A pod gave up waiting; ``reason`` is one of :data:`FAILURE_REASONS`."""
        self.failed[reason] += 1

    def sample(self, time: float, nodes: Iterable[_Node], final: bool = False) -> None:
        if self.series and self.series[-1].time_s == time:
            return
        keep_rows = self.spec.per_node_series
        sums = self.sums
        node_series = self.node_series
        for node in nodes:
            seen = node.seen
            old = None
            if seen is not None:
                old = seen.row
                if (
                    old is not None
                    and seen.cooled
                    and seen.stores is node.state.datastores
                    and old[2] == len(node.waiting)
                ):
                    if keep_rows:  # nothing on the node changed since the last sample
                        node_series.append(NodeSample(time, *old))
                    continue
            row = _node_row(time, node)
            # Each sum moves by the node's change since its last row (C-level, in order).
            old_values = old[1:] if old is not None else _NO_COUNTS
            sums[:] = map(operator.add, sums, map(operator.sub, row[1:], old_values))
            if keep_rows:
                node_series.append(NodeSample(time, *row))
        pods, waiting, ips, unused, cooling, enis, prefixes, addresses = sums
        free = blocks = 0
        for name, _ in self.spec.subnets:
            left, whole = self.ec2.subnet_free(name)
            free += left
            blocks += whole
            if self.per_subnet:
                used = self.usable[name] - left
                self.subnet_series.append(SubnetSample(time, name, used, left, whole))
        self.series.append(
            Sample(
                time,
                pods,
                waiting,
                self.pending,
                self.failed.total(),
                self.unschedulable,
                ips,
                unused,
                cooling,
                enis,
                prefixes,
                addresses,
                free,
                blocks,
                self.totals["ok"],
                self.totals["failed"],
                self.totals["throttled"],
            )
        )

    def result(self, nodes: Iterable[_Node], pods: Iterable[_Pod]) -> SimulationResult:
        nodes = list(nodes)
        series = self.series
        waits = self.waits
        others = sorted(w for w in waits if w != 0)
        ordered = _Ranked(len(waits) - len(others), others)
        failed = self.failed.total()
        calls = sum(self.totals.values())
        hours = self.spec.duration / 3600
        summary = Summary(
            duration_s=self.spec.duration,
            nodes=len(nodes),
            pods_started=len(waits),
            pods_failed=failed,
            pods_failed_subnet_full=self.failed["subnet_full"],
            pods_failed_ec2_error=self.failed["ec2_error"],
            pods_failed_timeout=self.failed["timeout"],
            pods_unschedulable=self.unschedulable,
            pods_pending_at_end=self.pending,
            pods_waiting_at_end=sum(len(n.waiting) for n in nodes),
            time_to_ip_p50_s=percentile_with_failures(ordered, failed, 0.50),
            time_to_ip_p95_s=percentile_with_failures(ordered, failed, 0.95),
            time_to_ip_p99_s=percentile_with_failures(ordered, failed, 0.99),
            time_to_ip_max_s=ordered[-1] if ordered else None,
            pods_that_waited=sum(1 for w in others if w > 0),
            ips_total_mean=sum(s.ips_total for s in series) / len(series),
            ips_total_max=max(s.ips_total for s in series),
            ips_unused_mean=sum(s.ips_unused for s in series) / len(series),
            ips_unused_max=max(s.ips_unused for s in series),
            enis_max=max(s.enis for s in series),
            subnet_addresses_max=max(s.subnet_addresses for s in series),
            subnet_free_addresses_min=min(s.subnet_free_addresses for s in series),
            subnet_free_blocks_min=min(s.subnet_free_blocks for s in series),
            ec2_calls=calls,
            ec2_calls_failed=self.totals["failed"],
            ec2_calls_throttled=self.totals["throttled"],
            ec2_calls_per_hour=calls / hours if hours else 0.0,
            ipamd_start_failures=self.start_failures,
        )
        return SimulationResult(
            summary=summary,
            series=tuple(series),
            node_series=tuple(self.node_series),
            calls_by_api={api: dict(c) for api, c in sorted(self.by_api.items())},
            pod_waits=PodWaits(self.arrivals, waits),
            errors_by_api={api: dict(c) for api, c in sorted(self.errors_by_api.items())},
            inputs=spec_inputs(self.spec, self.usable),
            subnet_series=tuple(self.subnet_series),
        )
