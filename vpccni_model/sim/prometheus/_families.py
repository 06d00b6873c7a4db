"""What ipamd would export for each node now: its gauges from the node's state, its counters,
gathered into metric families (one snapshot of the fleet at a time), and the
``prometheus_client`` collectors over them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import attrs
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._state import NodeState
from vpccni_model.sim.engine import Simulation
from vpccni_model.sim.prometheus._counters import IpamdCounters, NodeCounters
from vpccni_model.sim.prometheus._table import BY_NAME, HELPER_GAUGES, NODE_LABEL


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
    ipv6 = config.enable_ipv6
    for ds in state.datastores:
        for eni in ds.enis:
            enis += 1
            held = eni.assigned_in_ips + eni.assigned_in_prefixes
            assigned += held
            prefixes += eni.prefix_cidrs
            if ipv6:  # ipamd's total adds each /80's Size(), 2**48 (AddIPv6CidrToStore)
                total += sum(cidr.size for cidr in eni.cidrs)
            else:
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
        increasing=in_flight is not None,
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
