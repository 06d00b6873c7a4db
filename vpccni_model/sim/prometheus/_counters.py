"""ipamd's counters of every simulated node, kept from the engine's hooks (``Observer``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import attrs

from vpccni_model._actions import Action
from vpccni_model._state import NodeState
from vpccni_model.cloud import DELETE, DESCRIBE, CallResult
from vpccni_model.sim.engine import Simulation

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

    def __init__(self, sim: Simulation, on_sample: Callable[[float], None] | None = None) -> None:
        self.sim = sim
        self.nodes: dict[str, NodeCounters] = {name: NodeCounters() for name in sim.nodes}
        self.on_sample = on_sample
        # Copies handed out, dropped when the node's counters change (most nodes make no
        # call between two samples: their copy is reused).
        self._copies: dict[str, NodeCounters] = {}

    def copy_of(self, node: str) -> NodeCounters:
        """An unchanging copy of ``node``'s counters as they are now."""
        copy = self._copies.get(node)
        if copy is None:
            copy = self._copies[node] = self.nodes[node].copy()
        return copy

    def calls(self, node: str, action: Action, result: CallResult) -> None:
        """ipamd counts each SDK call once, when it returns (``sdk_calls``): its retries are
        inside it, and its latency runs from the first attempt to the answer."""
        self._copies.pop(node, None)
        counters = self.nodes[node]
        for api, _outcome, code, seconds in result.sdk_calls:
            counters.requests[api] += 1
            if code is None:
                key = (api, "false", "200")
            else:
                key = (api, "true", code)
                if not (code == _NOT_FOUND and api in _NOT_FOUND_APIS):
                    counters.api_errors[(api, code)] += 1
                    counters.request_errors[api] += 1
            counters.latency_count[key] += 1
            counters.latency_ms[key] = counters.latency_ms.get(key, 0.0) + seconds * 1000.0

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
        if self.on_sample is not None:
            self.on_sample(time)
