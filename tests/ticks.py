"""Builders shared by the tick, outcome and observation tests (test_tick, test_outcomes,
test_observe): small consistent node states whose every number is visible in the test.

Unless a test says otherwise the instance is ``LIMITS`` (3 ENIs, 4 IPv4 per ENI), so in
secondary-IP mode S = 4 - 1 = 3 and in prefix mode Pmax = 3 (spec 2.2); its EKS max pods is
3 * 3 + 2 = 11 (spec 12). Pods are written into the state directly so that every number of
T, A and Avail is visible in the test.
"""

from __future__ import annotations

from vpccni_model import (
    ENI,
    Address,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    Cidr,
    Config,
    Datastore,
    Ec2Error,
    Event,
    InFlight,
    InstanceLimits,
    NetworkCard,
    NodeState,
    PodIP,
    Reconciliation,
)
from vpccni_model._ipv4 import ip_to_int

LIMITS = InstanceLimits(name="test.small", max_enis=3, ipv4_per_eni=4)
MULTI = InstanceLimits(
    name="test.multi",
    max_enis=4,
    ipv4_per_eni=4,
    network_cards=(NetworkCard(0, 4), NetworkCard(1, 4)),
)
NOW = 1000.0
INSUFFICIENT_IPS = Ec2Error.INSUFFICIENT_FREE_ADDRESSES
INSUFFICIENT_BLOCKS = Ec2Error.INSUFFICIENT_CIDR_BLOCKS


# -- builders ---------------------------------------------------------------------------------


def ip(n: int) -> str:
    return f"10.0.0.{n}"


def ipi(n: int) -> int:
    return ip_to_int(ip(n))


def pfx(n: int) -> str:
    return f"10.0.0.{n}/28"


def c32(n: int, pod: str | None = None, *, unassigned_at: float | None = None) -> Cidr:
    """A /32 secondary IP 10.0.0.n, free, held by ``pod``, or freed at ``unassigned_at``."""
    if pod is not None:
        return Cidr(ipi(n), False, (Address(ipi(n), pod, 0.0),))
    if unassigned_at is not None:
        return Cidr(ipi(n), False, (Address(ipi(n), None, 0.0, unassigned_at),))
    return Cidr(ipi(n), False)


def c28(base: int, pods: int = 0, tag: str = "") -> Cidr:
    """A /28 at 10.0.0.base whose first ``pods`` addresses hold pods."""
    entries = tuple(Address(ipi(base + k), f"pod{tag}-{base}-{k}", 0.0) for k in range(pods))
    return Cidr(ipi(base), True, entries)


def eni(
    eni_id: str, device: int, *cidrs: Cidr, card: int = 0, created_at: float = 0.0, **flags: bool
) -> ENI:
    return ENI(
        eni_id=eni_id,
        device_number=device,
        network_card=card,
        created_at=created_at,
        cidrs=tuple(cidrs),
        **flags,
    )


def primary(*cidrs: Cidr) -> ENI:
    return eni("eni-0", 0, *cidrs, is_primary=True)


def node(
    config: Config, *enis: ENI, limits: InstanceLimits = LIMITS, **fields: object
) -> NodeState:
    """A consistent node state: one datastore per card (every card when multi-NIC is on),
    the pod index built from the assigned addresses, prefix counters exact."""
    effective = config.for_instance(limits)
    cards = {0} | {e.network_card for e in enis}
    if effective.multi_nic:
        cards |= set(limits.card_indices)
    stores = tuple(
        Datastore.of(card, [e for e in enis if e.network_card == card]) for card in sorted(cards)
    )
    pods: dict[str, PodIP] = {}
    for e in enis:
        for cidr in e.cidrs:
            for entry in cidr.addresses:
                if entry.pod is not None:
                    pods[entry.pod] = PodIP(
                        entry.pod, e.network_card, e.eni_id, cidr.network, entry.ip
                    )
    if "clock" not in fields:
        # A state's clock is never earlier than its timestamps (ENIs, addresses, timers).
        times = [
            t
            for e in enis
            for t in (
                e.created_at,
                *(a.assigned_at for c in e.cidrs for a in c.addresses),
                *(a.unassigned_at for c in e.cidrs for a in c.addresses),
            )
            if t is not None
        ]
        times += [t for t in fields.values() if isinstance(t, float)]
        times += [t.started_at for t in fields.values() if isinstance(t, InFlight)]
        fields["clock"] = max(times, default=0.0)
    state = NodeState(
        limits=limits,
        config=effective,
        primary_eni_id="eni-0",
        datastores=stores,
        pods=pods,
        **fields,  # type: ignore[arg-type]
    )
    state.check()
    return state


def keys(state: NodeState, eni_id: str) -> list[str]:
    found = state.find_eni(eni_id)
    assert found is not None, eni_id
    return [c.key for c in found.cidrs]


def allocations(actions: tuple[object, ...]) -> list[object]:
    return [a for a in actions if isinstance(a, AllocateENI | AllocateIPs | AllocatePrefixes)]


# -- driving ----------------------------------------------------------------------------------


def answer(state: NodeState, config: Config, event: Event, clock: float) -> Reconciliation:
    """Fold the answer to the call in flight in at ``clock`` and let the tick that waited on it
    go on at that clock, as ipamd's loop does (spec 7.3): the rest of the tick."""
    from vpccni_model import apply, reconcile

    return reconcile(apply(state, event, clock), config, clock)
