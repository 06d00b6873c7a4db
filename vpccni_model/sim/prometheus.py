"""ipamd's Prometheus metrics for a simulated fleet, under ipamd's names, types and labels.

ipamd (aws-node) serves its metrics on :61678/metrics, one process per node, in the Prometheus
text format 0.0.4 (``promhttp.Handler()``: no OpenMetrics, so a counter's series keeps its
name, without ``_total``). The simulator exposes each node's series the same way, with one
label added, ``node`` (the simulated node's name), where a real Prometheus would tell nodes
apart by the scrape target it adds (``instance``, or a relabelled ``node``). The CNI metrics
helper's view (``/cni-metrics-helper/metrics``) is the six gauges it re-exports, summed over
the nodes without labels, as its ``USE_PROMETHEUS`` endpoint (:61681) does.

:data:`METRICS` lists every metric ipamd v1.23.1 registers, with where it is defined and set
(file:line at commit b52188387 of aws/amazon-vpc-cni-k8s), and how the simulator fills it or
why it does not. :class:`IpamdCollector` and :class:`MetricsHelperCollector` are
``prometheus_client`` collectors over a :class:`~vpccni_model.sim.engine.Simulation`;
:class:`PrometheusExporter` listens to a run (``Simulation.observer``), takes a
:class:`Snapshot` at each metric sample on the simulation's thread (node states are
immutable; counters are copied), serves the newest on 127.0.0.1 (rendered at its first
scrape, on the HTTP thread, which so never reads the run while it changes) and appends each
sample's OpenMetrics text to a file.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

import attrs
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from vpccni_model._actions import Action
from vpccni_model._errors import ConfigError
from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._state import NodeState
from vpccni_model.cloud import DELETE, DESCRIBE, EC2_APIS, CallResult
from vpccni_model.sim.engine import Simulation

#: The label the simulator adds to every per-node series.
NODE_LABEL = "node"

_SRC = "aws/amazon-vpc-cni-k8s@b52188387:"
_DEF = _SRC + "utils/prometheusmetrics/prometheusmetrics.go"


@attrs.frozen
class IpamdMetric:
    """One metric ipamd registers: ``kind`` is its Prometheus type, ``labels`` ipamd's own
    (the simulator adds :data:`NODE_LABEL`), ``source`` where it is defined and set, and
    ``simulated`` how the simulator fills it, or ``not_modelled`` why it does not."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...]
    source: str
    simulated: str = ""
    not_modelled: str = ""


METRICS: tuple[IpamdMetric, ...] = (
    IpamdMetric(
        "awscni_eni_allocated",
        "gauge",
        "The number of ENIs allocated",
        (),
        f"{_DEF}:119; set in pkg/ipamd/datastore/data_store.go:491,1167,1223",
        simulated="ENIs in the node's datastores (primary and trunk included), summed over "
        "network cards",
    ),
    IpamdMetric(
        "awscni_eni_max",
        "gauge",
        "The maximum number of ENIs that can be attached to the instance, accounting for "
        "unmanaged ENIs",
        (),
        f"{_DEF}:45; set in pkg/ipamd/ipamd.go:765 (updateIPStats)",
        simulated="min(MAX_ENI, the instance's ENI limit) less the unmanaged ENIs the last "
        "reconcile saw",
    ),
    IpamdMetric(
        "awscni_ip_max",
        "gauge",
        "The maximum number of IP addresses that can be allocated to the instance",
        (),
        f"{_DEF}:51; set in pkg/ipamd/ipamd.go:764 (updateIPStats)",
        simulated="maxIPsPerENI x awscni_eni_max: (IPv4 per ENI - 1), times 16 with prefix "
        "delegation",
    ),
    IpamdMetric(
        "awscni_total_ip_addresses",
        "gauge",
        "The total number of IP addresses",
        (),
        f"{_DEF}:125; set in pkg/ipamd/datastore/data_store.go:562,611,1170",
        simulated="the datastore's total: 1 per secondary IP, 16 per /28 prefix, on every ENI",
    ),
    IpamdMetric(
        "awscni_assigned_ip_addresses",
        "gauge",
        "The number of IP addresses assigned to pods",
        (),
        f"{_DEF}:131; set in pkg/ipamd/datastore/data_store.go:876,891",
        simulated="addresses held by pods",
    ),
    IpamdMetric(
        "awscni_total_ipv4_prefixes",
        "gauge",
        "The total number of IPv4 prefixes",
        (),
        f"{_DEF}:149; set in pkg/ipamd/datastore/data_store.go:560,609,1158",
        simulated="/28 prefixes in the datastores",
    ),
    IpamdMetric(
        "awscni_assigned_ip_per_eni",
        "gauge",
        "The number of allocated ips partitioned by eni",
        ("eni",),
        f"{_DEF}:168; set in pkg/ipamd/datastore/data_store.go:402,493,851,1285",
        simulated="addresses held by pods, per ENI in the datastores",
    ),
    IpamdMetric(
        "awscni_assigned_ip_per_cidr",
        "gauge",
        "The total number of IP addresses assigned per cidr",
        ("cidr",),
        f"{_DEF}:155; set in pkg/ipamd/datastore/data_store.go:405,818,847,1281",
        simulated="addresses held by pods, per /32 or /28 in the datastores that has had a pod "
        "(ipamd also keeps released CIDRs' series at 0 until it restarts)",
    ),
    IpamdMetric(
        "awscni_ipamd_action_inprogress",
        "gauge",
        "The number of ipamd actions in progress",
        ("fn",),
        f"{_DEF}:38; set in pkg/ipamd/ipamd.go:459,838,970,1580",
        simulated="fn=increaseDatastorePool only: 1 while the node's pool loop waits on an "
        "allocation (the model does not block on releases or the reconcile)",
    ),
    IpamdMetric(
        "awscni_add_ip_req_count",
        "counter",
        "The number of add IP address requests",
        (),
        f"{_DEF}:64; incremented in pkg/ipamd/rpc_handler.go:80",
        simulated="CNI ADDs: a pod's first try on its node and every retry",
    ),
    IpamdMetric(
        "awscni_del_ip_req_count",
        "counter",
        "The number of delete IP address requests",
        ("reason",),
        f"{_DEF}:70; incremented in pkg/ipamd/rpc_handler.go:327",
        simulated='reason="PodDeleted" (cmd/routed-eni-cni-plugin/cni.go:437): deletions of '
        "pods that got an address (the DELs after failed ADDs are not modelled)",
    ),
    IpamdMetric(
        "awscni_no_available_ip_addresses",
        "counter",
        "The number of pod IP assignments that fail due to no available IP addresses",
        (),
        f"{_DEF}:162; incremented in pkg/ipamd/datastore/data_store.go:857",
        simulated="CNI ADDs that found no free address",
    ),
    IpamdMetric(
        "awscni_aws_api_latency_ms",
        "summary",
        "AWS API call latency in ms",
        ("api", "error", "status"),
        f"{_DEF}:84; observed in pkg/awsutils/awsutils.go (each EC2 call)",
        simulated="each fake EC2 call: error is true/false, status 200 or the EC2 error code; "
        "the latency is the fake's cost model's (see docs/simulator.md)",
    ),
    IpamdMetric(
        "awscni_aws_api_error_count",
        "counter",
        "The number of times AWS API returns an error",
        ("api", "error"),
        f"{_DEF}:91; incremented in pkg/awsutils/awsutils.go:1417",
        simulated="failed and throttled fake EC2 calls by error code (not "
        "InvalidNetworkInterfaceID.NotFound on Describe and Delete, which ipamd takes as done)",
    ),
    IpamdMetric(
        "awscni_ec2api_req_count",
        "counter",
        "The number of requests made to EC2 APIs by CNI",
        ("fn",),
        f"{_DEF}:105; incremented in pkg/awsutils/awsutils.go (each EC2 call)",
        simulated="fake EC2 calls by API",
    ),
    IpamdMetric(
        "awscni_ec2api_error_count",
        "counter",
        "The number of failed EC2 APIs requests",
        ("fn",),
        f"{_DEF}:112; incremented in pkg/awsutils/awsutils.go (each failed call)",
        simulated="failed and throttled fake EC2 calls by API (NotFound as above)",
    ),
    IpamdMetric(
        "awscni_ipamd_error_count",
        "counter",
        "The number of errors encountered in ipamd",
        ("fn",),
        f"{_DEF}:31; incremented in pkg/ipamd/ipamd.go:1531",
        not_modelled="its fn values name Go functions' failure paths the model does not keep",
    ),
    IpamdMetric(
        "awscni_reconcile_count",
        "counter",
        "The number of times ipamd reconciles on ENIs and IP/Prefix addresses",
        ("fn",),
        f"{_DEF}:57; incremented in pkg/ipamd/ipamd.go:1681-1935",
        not_modelled="ipamd counts every address each 60 s reconcile re-verifies; the "
        "simulator reconciles only while EC2 and the datastore may disagree",
    ),
    IpamdMetric(
        "awscni_force_removed_enis",
        "counter",
        "The number of ENIs force removed while they had assigned pods",
        (),
        f"{_DEF}:137; incremented in pkg/ipamd/datastore/data_store.go:1192",
        simulated="ENIs the 60 s reconcile removed while they held pods' addresses",
    ),
    IpamdMetric(
        "awscni_force_removed_ips",
        "counter",
        "The number of IPs force removed while they had assigned pods",
        (),
        f"{_DEF}:143; incremented in pkg/ipamd/datastore/data_store.go:595,1193",
        simulated="pods' addresses the 60 s reconcile removed (with their ENI or CIDR)",
    ),
    IpamdMetric(
        "awscni_pod_eni_error_count",
        "counter",
        "The number of errors encountered for pod ENIs",
        ("fn",),
        f"{_DEF}:77; incremented in pkg/ipamd/ipamd.go:1535",
        not_modelled="branch ENIs (security groups for pods) are not modelled",
    ),
    IpamdMetric(
        "awscni_aws_utils_error_count",
        "counter",
        "The number of errors not handled in awsutils library",
        ("fn", "error"),
        f"{_DEF}:98; incremented in pkg/awsutils/awsutils.go:1423",
        not_modelled="its error label is the Go error's message text",
    ),
    IpamdMetric(
        "awscni_ipamd_startup_duration_seconds",
        "histogram",
        "The duration of IPAMD startup from process start to ready to serve CNI requests",
        ("success", "with_api_server", "failure_reason"),
        f"{_DEF}:175",
        not_modelled="start-up (API server, IMDS, nodeInit) takes no time in the model",
    ),
    IpamdMetric(
        "awscni_ipamd_node_initialization_duration_seconds",
        "histogram",
        "The duration of node initialization during IPAMD startup",
        ("success",),
        f"{_DEF}:182",
        not_modelled="as awscni_ipamd_startup_duration_seconds",
    ),
    IpamdMetric(
        "awscni_connmark_backend",
        "gauge",
        "The connmark backend in use; the active backend's series is set to 1",
        ("backend",),
        f"{_DEF}:189",
        not_modelled="host networking (iptables/nftables) is not modelled",
    ),
    IpamdMetric(
        "awscni_connmark_reconcile_total",
        "counter",
        "The number of connmark Setup/Cleanup reconciliations by result",
        ("result",),
        f"{_DEF}:196",
        not_modelled="as awscni_connmark_backend",
    ),
    IpamdMetric(
        "awscni_build_info",
        "gauge",
        "A metric with a constant '1' value labeled by version, revision, and goversion from "
        "which amazon-vpc-cni-k8s was built.",
        ("version", "goversion"),
        _SRC + "pkg/version/info.go:16",
        not_modelled="no ipamd binary runs (its Go runtime's go_* and process_* series neither)",
    ),
)

BY_NAME: Mapping[str, IpamdMetric] = {m.name: m for m in METRICS}

#: The gauges the CNI metrics helper re-exports on its own Prometheus endpoint, summed over
#: every aws-node pod (GetSupportedPrometheusCNIMetricsMapping, prometheusmetrics.go:266;
#: cmd/cni-metrics-helper/metrics/cni_metrics.go: metricsAdd). Its CloudWatch names follow.
HELPER_GAUGES: Mapping[str, str] = {
    "awscni_eni_max": "eniMaxAvailable",
    "awscni_ip_max": "maxIPAddresses",
    "awscni_eni_allocated": "eniAllocated",
    "awscni_total_ip_addresses": "totalIPAddresses",
    "awscni_assigned_ip_addresses": "assignIPAddresses",
    "awscni_total_ipv4_prefixes": "totalIPv4Prefixes",
}

# EC2 answers ipamd takes as "already done" rather than an error: Describe (awsutils.go:1497,
# 1565, 1596) and Delete (1536) of an ENI that is gone.
_NOT_FOUND = "InvalidNetworkInterfaceID.NotFound"
_NOT_FOUND_APIS = frozenset({DESCRIBE, DELETE})


@attrs.define
class NodeCounters:
    """ipamd's counters of one node since it booted (one ipamd process per node)."""

    add_requests: int = 0
    no_ip: int = 0
    del_requests: int = 0
    force_removed_enis: int = 0
    force_removed_ips: int = 0
    requests: Counter[str] = attrs.field(factory=Counter)
    request_errors: Counter[str] = attrs.field(factory=Counter)
    api_errors: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    latency_count: Counter[tuple[str, str, str]] = attrs.field(factory=Counter)
    latency_ms: dict[tuple[str, str, str], float] = attrs.field(factory=dict)

    def copy(self) -> NodeCounters:
        return NodeCounters(
            self.add_requests,
            self.no_ip,
            self.del_requests,
            self.force_removed_enis,
            self.force_removed_ips,
            Counter(self.requests),
            Counter(self.request_errors),
            Counter(self.api_errors),
            Counter(self.latency_count),
            dict(self.latency_ms),
        )


class IpamdCounters:
    """ipamd's counters of every node (``nodes``), kept from the engine's hooks: set it as
    ``Simulation.observer`` (the exporter does) before the run."""

    def __init__(self, sim: Simulation, exporter: PrometheusExporter | None = None) -> None:
        self.sim = sim
        self.nodes: dict[str, NodeCounters] = {name: NodeCounters() for name in sim.nodes}
        self.exporter = exporter
        # Copies handed out, dropped when the node's counters change (most nodes make no
        # call between two samples: their copy is reused).
        self._copies: dict[str, NodeCounters] = {}
        latency = sim.ec2.latency
        self._nominal = {api: latency.of(api) for api in EC2_APIS}
        self._jitter = latency.jitter > 0

    def copy_of(self, node: str) -> NodeCounters:
        """An unchanging copy of ``node``'s counters as they are now."""
        copy = self._copies.get(node)
        if copy is None:
            copy = self._copies[node] = self.nodes[node].copy()
        return copy

    def calls(self, node: str, action: Action, result: CallResult) -> None:
        self._copies.pop(node, None)
        counters = self.nodes[node]
        seconds = self._seconds(result)
        codes = iter(code for _, code in result.errors)
        for (api, outcome), spent in zip(result.api_calls, seconds, strict=True):
            counters.requests[api] += 1
            if outcome == "ok":
                key = (api, "false", "200")
            else:
                code = next(codes) if outcome == "failed" else "RequestLimitExceeded"
                key = (api, "true", code)
                if not (code == _NOT_FOUND and api in _NOT_FOUND_APIS):
                    counters.api_errors[(api, code)] += 1
                    counters.request_errors[api] += 1
            counters.latency_count[key] += 1
            counters.latency_ms[key] = counters.latency_ms.get(key, 0.0) + spent * 1000.0

    def _seconds(self, result: CallResult) -> list[float]:
        base = [self._nominal.get(api, 0.0) for api, _ in result.api_calls]
        if not self._jitter:
            return base
        # With jitter only the family's total is known: share it in proportion.
        total = result.completes_at - self.sim.now
        planned = sum(base)
        return [b * total / planned if planned > 0 else 0.0 for b in base]

    def cni_add(self, node: str, ok: bool) -> None:
        self._copies.pop(node, None)
        counters = self.nodes[node]
        counters.add_requests += 1
        if not ok:
            counters.no_ip += 1

    def cni_del(self, node: str) -> None:
        self._copies.pop(node, None)
        self.nodes[node].del_requests += 1

    def reconciled(self, node: str, before: NodeState, after: NodeState) -> None:
        """Pods the reconcile took addresses from: an ENI that went with its pods counts once
        in ``force_removed_enis`` and its pods in ``force_removed_ips``; a CIDR that went
        from an ENI that stays counts its pods in ``force_removed_ips`` (data_store.go:595,
        1192-1193)."""
        if len(after.pods) >= len(before.pods):
            return  # nobody lost an address
        self._copies.pop(node, None)
        counters = self.nodes[node]
        kept = {eni.eni_id: eni for ds in after.datastores for eni in ds.enis}
        for ds in before.datastores:
            for eni in ds.enis:
                held = eni.assigned_in_ips + eni.assigned_in_prefixes
                if not held:
                    continue
                now = kept.get(eni.eni_id)
                if now is None:
                    counters.force_removed_enis += 1
                    counters.force_removed_ips += held
                    continue
                left = {cidr.key for cidr in now.cidrs}
                counters.force_removed_ips += sum(
                    cidr.assigned for cidr in eni.cidrs if cidr.key not in left
                )

    def sampled(self, time: float) -> None:
        if self.exporter is not None:
            self.exporter.sampled(time)


@attrs.frozen
class NodeGauges:
    """ipamd's gauges of one node, from its state now."""

    eni_allocated: int
    eni_max: int
    ip_max: int
    total_ip_addresses: int
    assigned_ip_addresses: int
    total_ipv4_prefixes: int
    per_eni: tuple[tuple[str, int], ...]
    per_cidr: tuple[tuple[str, int], ...]
    increasing: bool


def node_gauges(state: NodeState) -> NodeGauges:
    """ipamd's gauges of one node in ``state``."""
    limits, config = state.limits, state.config
    # updateIPStats: ipamd's MAX_ENI-capped limit less the unmanaged ENIs its last reconcile
    # filtered out (no_manage, untagged with MANAGE_UNTAGGED_ENI=false, EFA-only).
    unmanaged = sum(ds.unmanaged_enis for ds in state.datastores)
    eni_max = config.effective_max_eni(limits) - unmanaged
    enis = total = assigned = prefixes = 0
    per_eni: list[tuple[str, int]] = []
    per_cidr: list[tuple[str, int]] = []
    for ds in state.datastores:
        for eni in ds.enis:
            enis += 1
            held = eni.assigned_in_ips + eni.assigned_in_prefixes
            assigned += held
            prefixes += eni.prefix_cidrs
            total += eni.ip_cidrs + PREFIX_SIZE * eni.prefix_cidrs
            per_eni.append((eni.eni_id, held))
            for cidr in eni.cidrs:
                if cidr.assigned or cidr.latest_unassigned_at is not None:
                    per_cidr.append((cidr.key, cidr.assigned))
    in_flight = state.in_flight
    return NodeGauges(
        eni_allocated=enis,
        eni_max=eni_max,
        ip_max=limits.pod_addresses_per_eni(state.prefix_delegation) * eni_max,
        total_ip_addresses=total,
        assigned_ip_addresses=assigned,
        total_ipv4_prefixes=prefixes,
        per_eni=tuple(sorted(per_eni)),
        per_cidr=tuple(sorted(per_cidr)),
        increasing=in_flight is not None and in_flight.action is not None,
    )


Labels = tuple[tuple[str, str], ...]
"""A sample's labels as (name, value) pairs sorted by name."""


@attrs.frozen
class Family:
    """One metric family ready to write: ipamd's name, type and help, and its samples as
    (sample name, labels, value), in the order they are written."""

    name: str
    kind: str
    help: str
    samples: tuple[tuple[str, Labels, float], ...]

    def metric(self, counter_kind: str = "counter", timestamp: float | None = None) -> Metric:
        """The family as a ``prometheus_client`` metric (counters typed ``counter_kind``)."""
        kind = counter_kind if self.kind == "counter" else self.kind
        family = Metric(self.name, self.help, kind)
        for name, labels, value in self.samples:
            family.add_sample(name, dict(labels), value, timestamp)
        return family


@attrs.frozen
class Snapshot:
    """The fleet at one instant: each node's name, state (immutable) and counters (a copy),
    by name. What the HTTP thread renders, so it never reads a run that is changing."""

    time: float | None
    nodes: tuple[tuple[str, NodeState, NodeCounters | None], ...]


class _Builder:
    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[str, Labels, float]]] = {}

    def add(self, name: str, labels: Labels, value: float, suffix: str = "") -> None:
        self.samples.setdefault(name, []).append((name + suffix, labels, value))

    def families(self) -> list[Family]:
        out = []
        for name in sorted(self.samples):
            info = BY_NAME[name]
            out.append(Family(name, info.kind, info.help, tuple(self.samples[name])))
        return out


def ipamd_families(snapshot: Snapshot) -> list[Family]:
    """Every node's ipamd series, labelled ``node``, families sorted by name as
    client_golang gathers them."""
    out = _Builder()
    add = out.add
    for name, state, c in snapshot.nodes:
        g = node_gauges(state)
        n: Labels = ((NODE_LABEL, name),)
        add("awscni_eni_allocated", n, g.eni_allocated)
        add("awscni_eni_max", n, g.eni_max)
        add("awscni_ip_max", n, g.ip_max)
        add("awscni_total_ip_addresses", n, g.total_ip_addresses)
        add("awscni_assigned_ip_addresses", n, g.assigned_ip_addresses)
        add("awscni_total_ipv4_prefixes", n, g.total_ipv4_prefixes)
        for eni, held in g.per_eni:
            add("awscni_assigned_ip_per_eni", (("eni", eni), *n), held)
        for cidr, held in g.per_cidr:
            add("awscni_assigned_ip_per_cidr", (("cidr", cidr), *n), held)
        busy = 1 if g.increasing else 0
        add("awscni_ipamd_action_inprogress", (("fn", "increaseDatastorePool"), *n), busy)
        if c is None:
            continue
        add("awscni_add_ip_req_count", n, c.add_requests)
        add("awscni_no_available_ip_addresses", n, c.no_ip)
        add("awscni_force_removed_enis", n, c.force_removed_enis)
        add("awscni_force_removed_ips", n, c.force_removed_ips)
        if c.del_requests:
            add("awscni_del_ip_req_count", (*n, ("reason", "PodDeleted")), c.del_requests)
        for api in sorted(c.requests):
            add("awscni_ec2api_req_count", (("fn", api), *n), c.requests[api])
        for api in sorted(c.request_errors):
            add("awscni_ec2api_error_count", (("fn", api), *n), c.request_errors[api])
        for api, code in sorted(c.api_errors):
            labels: Labels = (("api", api), ("error", code), *n)
            add("awscni_aws_api_error_count", labels, c.api_errors[(api, code)])
        for key in sorted(c.latency_count):
            api, error, status = key
            labels = (("api", api), ("error", error), *n, ("status", status))
            add("awscni_aws_api_latency_ms", labels, c.latency_ms[key], "_sum")
            add("awscni_aws_api_latency_ms", labels, c.latency_count[key], "_count")
    return out.families()


def helper_families(snapshot: Snapshot) -> list[Family]:
    """The CNI metrics helper's Prometheus view: six gauges summed over every node."""
    sums: Counter[str] = Counter()
    for _, state, _ in snapshot.nodes:
        g = node_gauges(state)
        sums["awscni_eni_allocated"] += g.eni_allocated
        sums["awscni_eni_max"] += g.eni_max
        sums["awscni_ip_max"] += g.ip_max
        sums["awscni_total_ip_addresses"] += g.total_ip_addresses
        sums["awscni_assigned_ip_addresses"] += g.assigned_ip_addresses
        sums["awscni_total_ipv4_prefixes"] += g.total_ipv4_prefixes
    out = _Builder()
    for name in HELPER_GAUGES:
        out.add(name, (), sums[name])
    return out.families()


def take_snapshot(
    sim: Simulation, counters: IpamdCounters | None, time: float | None = None
) -> Snapshot:
    """The fleet now (counters copied: the run goes on changing them)."""
    nodes = []
    for name in sorted(sim.nodes):
        copy = None if counters is None else counters.copy_of(name)
        nodes.append((name, sim.nodes[name].state, copy))
    return Snapshot(time, tuple(nodes))


class IpamdCollector(Collector):
    """Every node's ipamd series, labelled ``node``; a ``prometheus_client`` collector.

    Register it in your own ``CollectorRegistry`` (never the global one) and collect between
    steps of a run you drive yourself; :class:`PrometheusExporter` does that for a whole run
    (and adds ipamd's counters, which need its hooks).
    """

    def __init__(self, sim: Simulation, counters: IpamdCounters | None = None) -> None:
        self.sim = sim
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        snapshot = take_snapshot(self.sim, self.counters)
        return iter([family.metric() for family in ipamd_families(snapshot)])


class MetricsHelperCollector(Collector):
    """The CNI metrics helper's view (:func:`helper_families`) as a collector."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    def collect(self) -> Iterator[Metric]:
        snapshot = take_snapshot(self.sim, None)
        return iter([family.metric() for family in helper_families(snapshot)])


# -- rendering -------------------------------------------------------------------------------


def _go_float(value: float) -> str:
    """A value as client_golang writes it (Go's shortest form: ``3``, ``0.5``, ``+Inf``)."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return str(floatToGoString(number))  # type: ignore[no-untyped-call]


def _om_float(value: float) -> str:
    """A value as prometheus_client's OpenMetrics writer formats it (``3.0``; from 1e6 on
    ``1.0e+06``); small ints, most of the values, without the call."""
    if type(value) is int and -1_000_000 < value < 1_000_000:
        return f"{value}.0"
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


def _escape(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


@functools.lru_cache(maxsize=1 << 16)
def _label_text(labels: Labels) -> str:
    """``{a="x",b="y"}`` (memoised: the same label sets come back at every sample)."""
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def render_text(families: Iterable[Family]) -> bytes:
    """The Prometheus text format 0.0.4 as client_golang writes it: ``# HELP``, ``# TYPE``
    with the family's own name (a counter keeps its name, no ``_total`` added), samples with
    labels sorted by name, values as Go formats them."""
    lines: list[str] = []
    for family in families:
        doc = family.help.replace("\\", r"\\").replace("\n", r"\n")
        lines.append(f"# HELP {family.name} {doc}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for name, labels, value in family.samples:
            lines.append(f"{name}{_label_text(labels)} {_go_float(value)}")
    return ("\n".join(lines) + "\n").encode() if lines else b""


def render_openmetrics(families: Iterable[Family], timestamp: float) -> bytes:
    """One OpenMetrics exposition at ``timestamp`` (seconds), without the closing ``# EOF``:
    what ``prometheus_client``'s OpenMetrics writer gives for the same families, counters
    typed ``unknown``. An OpenMetrics counter's samples must end in ``_total``, which would
    rename ipamd's series; ``unknown`` keeps ipamd's names, and a backfill stores only the
    samples anyway. (Written here rather than by the library: it is 10 times faster.)"""
    stamp = f" {timestamp!r}"
    lines: list[str] = []
    for family in families:
        kind = "unknown" if family.kind == "counter" else family.kind
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines.append(f"# TYPE {family.name} {kind}")
        for name, labels, value in family.samples:
            lines.append(f"{name}{_label_text(labels)} {_om_float(value)}{stamp}")
    return ("\n".join(lines) + "\n").encode() if lines else b""


def library_openmetrics(families: Iterable[Family], timestamp: float) -> bytes:
    """The same exposition from ``prometheus_client``'s own writer (slower; the reference
    :func:`render_openmetrics` is tested against)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed([f.metric("unknown", timestamp) for f in families]))
    text: bytes = openmetrics_latest(registry)  # type: ignore[no-untyped-call]
    return text.removesuffix(b"# EOF\n")


class _Fixed(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self._metrics)


def split_openmetrics(text: str) -> list[str]:
    """The expositions of a ``--metrics-out`` file, each ending in ``# EOF`` (one per sample
    time), for a strict OpenMetrics parser, which reads one exposition at a time."""
    if not text.endswith("# EOF\n"):
        raise ConfigError("metrics_out", text[-40:], "does not end with '# EOF' (run unfinished?)")
    blocks: list[str] = []
    current: list[str] = []
    seen: set[str] = set()
    for line in text[: -len("# EOF\n")].splitlines(keepends=True):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            if name in seen:  # the next sample's exposition starts
                blocks.append("".join(current) + "# EOF\n")
                current, seen = [], set()
            seen.add(name)
        current.append(line)
    if current:
        blocks.append("".join(current) + "# EOF\n")
    return blocks


# -- serving and writing ---------------------------------------------------------------------

#: Paths the HTTP server answers: ipamd's view of every node, and the metrics helper's view.
IPAMD_PATH = "/metrics"
HELPER_PATH = "/cni-metrics-helper/metrics"
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Handler(http.server.BaseHTTPRequestHandler):
    exporter: PrometheusExporter

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in (IPAMD_PATH, HELPER_PATH):
            self.send_error(404, f"not found: try {IPAMD_PATH} or {HELPER_PATH}")
            return
        body = self.exporter.latest if path == IPAMD_PATH else self.exporter.latest_helper
        self.send_response(200)
        self.send_header("Content-Type", TEXT_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a scrape every few seconds would flood stderr."""


class PrometheusExporter:
    """Expose a run's metrics: on ``http://127.0.0.1:port/metrics`` while it lasts (``port``
    0 picks a free port: see :attr:`port`) and/or appended to ``out`` at each sample.

    Attach before the run (``Simulation.observer`` is set here) and :meth:`close` after it
    (or use ``with``): that stops the server and ends the file with ``# EOF``. ``epoch`` is
    added to simulated seconds for the file's timestamps (0: the run starts at 1970-01-01).
    A sample costs a snapshot (states are immutable; counters are copied when they changed);
    the server renders a snapshot on its first scrape.
    """

    def __init__(
        self,
        sim: Simulation,
        *,
        port: int | None = None,
        out: str | Path | None = None,
        epoch: float = 0.0,
    ) -> None:
        if sim.observer is not None:
            raise ConfigError("observer", sim.observer, "the simulation already has an observer")
        self.sim = sim
        self.epoch = float(epoch)
        self.counters = IpamdCounters(sim, self)
        self.samples = 0
        self._lock = threading.Lock()
        self._snapshot = take_snapshot(sim, self.counters)
        self._pages: tuple[Snapshot, bytes, bytes] | None = None
        self._file: IO[bytes] | None = None
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if out is not None:
            try:
                self._file = Path(out).open("wb")  # noqa: SIM115 (closed by close())
            except OSError as exc:
                raise ConfigError("out", str(out), f"cannot write it ({exc.strerror})") from exc
        if port is not None:
            handler = type("Handler", (_Handler,), {"exporter": self})
            try:
                self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
            except OSError as exc:
                self._close_file()
                reason = f"cannot listen on 127.0.0.1:{port} ({exc.strerror})"
                raise ConfigError("port", port, reason) from exc
            self._server.daemon_threads = True
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="vpccni-metrics", daemon=True
            )
            self._thread.start()
        sim.observer = self.counters

    @property
    def port(self) -> int | None:
        """The port the server listens on (None without one)."""
        return None if self._server is None else int(self._server.server_address[1])

    @property
    def snapshot(self) -> Snapshot:
        """The fleet at the latest sample (before the first: at the start)."""
        return self._snapshot

    def sampled(self, time: float) -> None:
        """The engine took a metric sample at ``time``: snapshot, and append to the file."""
        if time == self._snapshot.time:
            return
        self.samples += 1
        snapshot = self._snapshot = take_snapshot(self.sim, self.counters, time)
        if self._file is not None:
            stamp = round(self.epoch + time, 3)
            self._file.write(render_openmetrics(ipamd_families(snapshot), stamp))
            self._file.flush()

    def _rendered(self) -> tuple[Snapshot, bytes, bytes]:
        with self._lock:
            snapshot = self._snapshot
            if self._pages is None or self._pages[0] is not snapshot:
                ipamd = render_text(ipamd_families(snapshot))
                helper = render_text(helper_families(snapshot))
                self._pages = (snapshot, ipamd, helper)
            return self._pages

    @property
    def latest(self) -> bytes:
        """ipamd's view of every node at the latest sample, in the text format."""
        return self._rendered()[1]

    @property
    def latest_helper(self) -> bytes:
        """The metrics helper's view at the latest sample, in the text format."""
        return self._rendered()[2]

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.write(b"# EOF\n")
            self._file.close()
            self._file = None

    def close(self) -> None:
        """Stop the server (its thread joined, the port freed) and finish the file."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close_file()
        if self.sim.observer is self.counters:
            self.sim.observer = None

    def __enter__(self) -> PrometheusExporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "HELPER_GAUGES",
    "HELPER_PATH",
    "IPAMD_PATH",
    "METRICS",
    "NODE_LABEL",
    "IpamdCollector",
    "IpamdCounters",
    "IpamdMetric",
    "MetricsHelperCollector",
    "Family",
    "Labels",
    "NodeCounters",
    "NodeGauges",
    "PrometheusExporter",
    "Snapshot",
    "helper_families",
    "ipamd_families",
    "library_openmetrics",
    "node_gauges",
    "render_openmetrics",
    "render_text",
    "split_openmetrics",
    "take_snapshot",
]
