"""What ipamd will do next on a node imported by ``node_dump``: the next pool tick's EC2
calls (``reconcile`` at the dump's now), the addresses still cooling and when each returns,
and what a pod arriving now gets, or why it waits. The answers are the model's own
functions run on the imported state, not a second set of rules.
"""

from __future__ import annotations

from typing import Any

import attrs

from vpccni_model._actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
    SignalTrunkENI,
)
from vpccni_model._eniconfig import stand_in_eni_config
from vpccni_model._errors import NoAvailableIPError
from vpccni_model._ipv4 import ip_to_int
from vpccni_model._pods import assign_pod_ip
from vpccni_model._policy import effective_max_pods
from vpccni_model._state import NodeState
from vpccni_model._tick import reconcile
from vpccni_model.node_dump import NodeDump
from vpccni_model.pool import pool_stats
from vpccni_model.serialize import to_dict


@attrs.frozen
class CoolingAddress:
    """An unassigned address still in IP_COOLDOWN_PERIOD: no pod gets it until after
    ``free_after`` (a model clock; ipamd's test is ``elapsed <= cooldown``)."""

    eni_id: str
    address: str
    unassigned_at: float
    free_after: float


@attrs.frozen
class NewPod:
    """What a pod arriving now gets: ``code`` ``gets-address`` (with ``address`` and
    ``eni_id``), or why it waits: ``all-free-cooling``, ``pool-growing``, ``call-in-flight``,
    ``max-pods``, ``eni-limit``, ``pool-not-growing``."""

    code: str
    message: str
    address: str | None = None
    eni_id: str | None = None


@attrs.frozen
class NodeExplanation:
    """What ipamd will do next on an imported node: the next tick's calls, when it
    reconciles again, the cooling addresses, and what a new pod gets."""

    dump: NodeDump
    actions: tuple[Action, ...]
    next_check_at: float | None
    cooling: tuple[CoolingAddress, ...]
    new_pod: NewPod
    max_pods: int

    def to_dict(self) -> dict[str, Any]:
        dump, state = self.dump, self.dump.state
        return {
            "source": dump.source,
            "now": dump.wall(0.0),
            "inferred_prefix_delegation": dump.inferred_prefix_delegation,
            "warnings": [w.to_dict() for w in dump.warnings],
            "pods": len(state.pods),
            "max_pods": self.max_pods,
            "cards": [
                {
                    "network_card": ds.network_card,
                    **attrs.asdict(pool_stats(state, 0.0, ds.network_card)),
                    "enis": len(ds.enis),
                    "unmanaged_enis": ds.unmanaged_enis,
                }
                for ds in state.datastores
            ],
            "enis": [
                {
                    "eni_id": e.eni_id,
                    "network_card": e.network_card,
                    "device_number": e.device_number,
                    "primary": e.is_primary,
                    "secondary_ips": e.ip_cidrs,
                    "prefixes": e.prefix_cidrs,
                    "assigned": e.assigned_in_ips + e.assigned_in_prefixes,
                }
                for e in state.enis
            ],
            "next_tick": {
                "actions": [{**to_dict(a), "call": describe_action(a)} for a in self.actions],
                "next_check_at": self.next_check_at,
                "next_check_at_time": None
                if self.next_check_at is None
                else dump.wall(self.next_check_at),
            },
            "cooling": [
                {**attrs.asdict(c), "free_after_time": dump.wall(c.free_after)}
                for c in self.cooling
            ],
            "new_pod": attrs.asdict(self.new_pod),
        }


def describe_action(action: Action) -> str:
    """One action as the EC2 calls ipamd makes for it."""
    if isinstance(action, AllocateENI):
        unit = "/28 prefixes" if action.prefixes else "secondary IPs"
        return (
            f"CreateNetworkInterface + AttachNetworkInterface on card {action.network_card} "
            f"with {action.count} {unit}"
        )
    if isinstance(action, AllocateIPs):
        return f"AssignPrivateIpAddresses {action.eni_id}: {action.count} secondary IPs"
    if isinstance(action, AllocatePrefixes):
        return f"AssignPrivateIpAddresses {action.eni_id}: {action.count} /28 prefixes"
    if isinstance(action, ReleaseIPs):
        return f"UnassignPrivateIpAddresses {action.eni_id}: {', '.join(action.addresses)}"
    if isinstance(action, ReleasePrefixes):
        return f"UnassignPrivateIpAddresses {action.eni_id}: prefixes {', '.join(action.prefixes)}"
    if isinstance(action, SignalTrunkENI):
        # A Kubernetes write, no EC2 call; on a live node the feature may be there already.
        return (
            "CNINode: add feature SecurityGroupsForPods unless present (the VPC resource "
            "controller then attaches a trunk ENI)"
        )
    assert isinstance(action, FreeENI)
    return f"DetachNetworkInterface + DeleteNetworkInterface {action.eni_id}"


def _cooling(state: NodeState) -> tuple[CoolingAddress, ...]:
    cooldown = state.config.ip_cooldown_period
    found = [
        CoolingAddress(eni.eni_id, a.address, a.unassigned_at, a.unassigned_at + cooldown)
        for eni in state.enis
        for cidr in eni.cidrs
        for a in cidr.addresses
        if a.unassigned_at is not None and a.cooling(state.clock, cooldown)
    ]
    return tuple(sorted(found, key=lambda c: (c.free_after, c.eni_id, c.address)))


def _new_pod(
    state: NodeState,
    actions: tuple[Action, ...],
    cooling: tuple[CoolingAddress, ...],
    max_pods: int,
    wall: Any,
) -> NewPod:
    try:
        after, ip = assign_pod_ip(state, state.config, "new-pod/probe", state.clock)
    except NoAvailableIPError:
        pass
    else:
        ref = after.pods["new-pod/probe"]
        return NewPod("gets-address", f"gets {ip} on {ref.eni_id} at once", ip, ref.eni_id)
    pd = state.config.prefix_delegation

    def usable(c: CoolingAddress) -> bool:
        eni = state.find_eni(c.eni_id)
        ip = ip_to_int(c.address)
        return (
            eni is not None
            and not eni.is_excluded
            and any(cidr.is_prefix == pd and cidr.contains(ip) for cidr in eni.cidrs)
        )

    mode_cooling = [c for c in cooling if usable(c)]
    if mode_cooling:
        first = mode_cooling[0]
        return NewPod(
            "all-free-cooling",
            f"waits: every free address is cooling (IP_COOLDOWN_PERIOD="
            f"{state.config.ip_cooldown_period:g} s): the first, {first.address}, returns "
            f"after {wall(first.free_after)} ({first.free_after:+.1f} s)",
        )
    grows = [a for a in actions if isinstance(a, AllocateENI | AllocateIPs | AllocatePrefixes)]
    if grows:
        return NewPod(
            "pool-growing",
            f"waits: no free address now, until the next tick's call is answered "
            f"({describe_action(grows[0])})",
        )
    if state.in_flight is not None:
        return NewPod("call-in-flight", "waits: no free address; ipamd waits on an EC2 call")
    if len(state.pods) >= max_pods:
        return NewPod(
            "max-pods",
            f"waits: no free address, and {len(state.pods)} pods hold addresses: the pool "
            f"is capped at max pods {max_pods}",
        )
    ds = state.datastore(0)
    limit = state.limits.max_interfaces(0)
    if len(ds.enis) + ds.unmanaged_enis >= min(limit, state.config.max_eni or limit):
        return NewPod(
            "eni-limit",
            f"waits: no free address, and card 0 has {len(ds.enis) + ds.unmanaged_enis} of "
            f"{min(limit, state.config.max_eni or limit)} ENIs (MAX_ENI / the instance limit) "
            "with no room for more addresses",
        )
    return NewPod(
        "pool-not-growing",
        "waits: no free address, and the next tick asks EC2 for nothing",
    )


def _assume_eni_config(state: NodeState) -> NodeState:
    """The state to explain: a dump does not show the node's ENIConfig, so a node running
    custom networking without one is explained as if it had one, in the subnet its secondary
    ENIs report (the primary's, or a placeholder, when the dump does not say). A node that
    really has none creates no ENI at all (spec 1.5.1)."""
    if not state.config.custom_networking or state.eni_config is not None:
        return state
    seen = [e.subnet_id for e in state.enis if not e.is_primary and e.subnet_id is not None]
    primary = [e.subnet_id for e in state.enis if e.is_primary and e.subnet_id is not None]
    subnet = (seen or primary or ["eniconfig-subnet"])[0]
    return attrs.evolve(state, eni_config=stand_in_eni_config(state.config, subnet))


def explain_node(dump: NodeDump) -> NodeExplanation:
    """What ipamd will do next on the imported node, at its clock (now). With custom
    networking the node is taken to have an ENIConfig (``_assume_eni_config``)."""
    state = _assume_eni_config(dump.state)
    step = reconcile(state, state.config, state.clock)
    cooling = _cooling(state)
    max_pods = effective_max_pods(state.limits, state.config)

    def wall(clock: float) -> str:
        return dump.wall(clock) or f"{clock:+.1f} s"

    new_pod = _new_pod(state, step.actions, cooling, max_pods, wall)
    return NodeExplanation(dump, step.actions, step.next_check_at, cooling, new_pod, max_pods)


__all__ = ["CoolingAddress", "NewPod", "NodeExplanation", "describe_action", "explain_node"]
