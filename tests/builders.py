"""Small builders for datastore values, used by test_pool.py and test_pods.py.

Everything goes through the public constructors (``Address``, ``Cidr``, ``ENI``, ``Datastore``,
``NodeState``); nothing here computes an expected value.

Address plan of :func:`eni` (so that two ENIs never overlap): on card ``c``, ENI device ``d``

* secondary /32 number ``i`` is ``10.c.d.(1 + i)`` (``i < 112``);
* /28 prefix number ``j`` is ``10.c.d.(128 + 16 j)`` (``j < 8``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from vpccni_model import ENI, Address, Cidr, Config, Datastore, InstanceLimits, NodeState, PodIP
from vpccni_model._ipv4 import ip_to_int

#: A clock far enough past every ``created_at`` default (0.0) that ENIs are older than the
#: 60 s minimum lifetime (spec 5.11 check 2).
CLOCK = 1000.0


def ip(text: str) -> int:
    """Dotted IPv4 to the int the model stores."""
    return ip_to_int(text)


def addr(
    address: str,
    pod: str | None = None,
    *,
    assigned_at: float | None = None,
    unassigned_at: float | None = None,
) -> Address:
    """One address entry: assigned to ``pod`` or, with ``unassigned_at``, freed at that time."""
    if pod is not None and assigned_at is None:
        assigned_at = 0.0
    return Address(ip=ip(address), pod=pod, assigned_at=assigned_at, unassigned_at=unassigned_at)


def slash32(address: str, pod: str | None = None, *, unassigned_at: float | None = None) -> Cidr:
    """A /32 secondary IP: never used, assigned to ``pod``, or freed at ``unassigned_at``."""
    entries: tuple[Address, ...] = ()
    if pod is not None or unassigned_at is not None:
        entries = (addr(address, pod, unassigned_at=unassigned_at),)
    return Cidr(network=ip(address), is_prefix=False, addresses=entries)


def prefix28(network: str, *entries: Address) -> Cidr:
    """A /28 prefix with the given address entries (sorted here)."""
    ordered = tuple(sorted(entries, key=lambda a: a.ip))
    return Cidr(network=ip(network), is_prefix=True, addresses=ordered)


def eni_from_cidrs(
    eni_id: str,
    device: int,
    cidrs: Iterable[Cidr],
    *,
    card: int = 0,
    primary: bool = False,
    trunk: bool = False,
    efa: bool = False,
    excluded: bool = False,
    created_at: float = 0.0,
) -> ENI:
    """An ENI holding exactly ``cidrs`` (sorted here)."""
    return ENI(
        eni_id=eni_id,
        device_number=device,
        network_card=card,
        is_primary=primary,
        is_trunk=trunk,
        is_efa=efa,
        is_excluded=excluded,
        created_at=created_at,
        cidrs=tuple(sorted(cidrs, key=lambda c: c.network)),
    )


def eni(
    eni_id: str,
    device: int,
    *,
    card: int = 0,
    ips: int = 0,
    assigned: int = 0,
    cooling: int = 0,
    prefixes: int = 0,
    prefix_pods: Sequence[int] = (),
    prefix_cooling: Sequence[int] = (),
    unassigned_at: float = 0.0,
    created_at: float = 0.0,
    primary: bool = False,
    trunk: bool = False,
    efa: bool = False,
    excluded: bool = False,
) -> ENI:
    """An ENI with ``ips`` /32s and ``prefixes`` /28s (address plan in the module docstring).

    * The first ``assigned`` /32s hold pods ``<eni_id>/ip<i>``; the next ``cooling`` /32s carry
      an unassigned entry freed at ``unassigned_at``; the rest are empty.
    * Prefix ``j`` holds ``prefix_pods[j]`` pods ``<eni_id>/pfx<j>/<k>`` on its lowest
      addresses, then ``prefix_cooling[j]`` entries freed at ``unassigned_at``.
    """
    if assigned + cooling > ips:
        raise ValueError("more assigned/cooling /32s than /32s")
    if ips > 112 or prefixes > 8:
        raise ValueError("address plan holds 112 /32s and 8 prefixes per ENI")
    base = f"10.{card}.{device}."
    cidrs: list[Cidr] = []
    for i in range(ips):
        address = base + str(1 + i)
        if i < assigned:
            cidrs.append(slash32(address, f"{eni_id}/ip{i}"))
        elif i < assigned + cooling:
            cidrs.append(slash32(address, unassigned_at=unassigned_at))
        else:
            cidrs.append(slash32(address))
    for j in range(prefixes):
        start = 128 + 16 * j
        pods = prefix_pods[j] if j < len(prefix_pods) else 0
        cool = prefix_cooling[j] if j < len(prefix_cooling) else 0
        if pods + cool > 16:
            raise ValueError("a /28 holds 16 addresses")
        entries = [addr(base + str(start + k), f"{eni_id}/pfx{j}/{k}") for k in range(pods)]
        entries += [
            addr(base + str(start + pods + k), unassigned_at=unassigned_at) for k in range(cool)
        ]
        cidrs.append(prefix28(base + str(start), *entries))
    return eni_from_cidrs(
        eni_id,
        device,
        cidrs,
        card=card,
        primary=primary,
        trunk=trunk,
        efa=efa,
        excluded=excluded,
        created_at=created_at,
    )


def ds(*enis: ENI, card: int = 0, unmanaged: int = 0) -> Datastore:
    """A datastore whose prefix counter matches its ENIs."""
    return Datastore.of(card, enis, unmanaged_enis=unmanaged)


def pod_index(datastores: Iterable[Datastore]) -> dict[str, PodIP]:
    """The pod index that matches the assigned address entries of ``datastores``."""
    index: dict[str, PodIP] = {}
    for store in datastores:
        for e in store.enis:
            for cidr in e.cidrs:
                for entry in cidr.addresses:
                    if entry.pod is not None:
                        index[entry.pod] = PodIP(
                            pod=entry.pod,
                            network_card=store.network_card,
                            eni_id=e.eni_id,
                            cidr=cidr.network,
                            ip=entry.ip,
                        )
    return index


def latest_time(datastores: Iterable[Datastore]) -> float | None:
    """The newest timestamp in ``datastores`` (ENI creation, address assignment or release):
    a state's clock is never earlier than any of them."""
    times = [
        t
        for store in datastores
        for e in store.enis
        for t in (
            e.created_at,
            *(a.assigned_at for c in e.cidrs for a in c.addresses),
            *(a.unassigned_at for c in e.cidrs for a in c.addresses),
        )
        if t is not None
    ]
    return max(times, default=None)


def node(
    limits: InstanceLimits,
    config: Config,
    *datastores: Datastore,
    clock: float = 0.0,
) -> NodeState:
    """``NodeState.boot`` then the given datastores (ascending cards) and a matching pod index,
    past its pre-scaling.

    The primary ENI id is taken from the card-0 ENI flagged primary (``eni-0`` if none). The
    node's clock is ``clock``, or the newest timestamp of the datastores if that is later.
    """
    primary = next((e.eni_id for e in datastores[0].enis if e.is_primary), "eni-0")
    clock = max(clock, latest_time(datastores) or clock)
    booted = NodeState.boot(limits, config, clock, primary_eni_id=primary)
    # A node in its life, not at start-up: its next tick is a regular one (not pre-scaling).
    state = attrs.evolve(
        booted, datastores=tuple(datastores), pods=pod_index(datastores), pre_scaling=False
    )
    state.check()
    return state
