"""The node's cross-reference rules: what must hold between the values of one node state, and
which outside events may be folded into it.

Construction checks each value on its own (``_checks``: types, ranges, order inside a value).
This module owns what only the whole node can tell, in one place for every entry point:
``NodeState.check()`` runs :func:`check_node` (so ``from_json`` does too); ``_admission``
holds the rules ``apply`` runs before it folds an EC2 answer or an observation, built on the
shared ones here. The pod path and the tick do not run them: their
transitions keep every rule (the property suites check that they do).

The rules (a violation is a ``StateError`` naming the field, or its path in the state, and
the value):

1. Cards: a datastore only for a card the instance has (``limits.card_indices``), and for a
   card above 0 only with ``config.multi_nic`` (spec 1.5.5). Construction already keeps the
   cards unique, ascending and including card 0.
2. ENIs: an ENI id at most once on the node; exactly one primary ENI, the one named
   ``primary_eni_id``, on card 0 (the default card, spec glossary); at most
   ``limits.cidrs_per_eni`` CIDRs on an ENI, both kinds counted (Q7); at most
   ``limits.max_interfaces(card)`` ENIs on a card, the datastore's plus its
   ``unmanaged_enis``.
3. Addresses: no address in two CIDRs of the node; every assigned address has exactly one
   pod-index entry, which points at it (card, ENI, CIDR, address), and the index has no other.
4. Time: no timestamp later than ``state.clock`` (address assignment and release, ENI
   creation, the pool timers, the reconcile cooldown cache, the in-flight call's start);
   only a deferred cleanup may be due later.
5. Calls: ``in_flight`` is on a card that has a datastore; an ``AllocateENI`` in flight asks
   for that card, with a count in ``1..cidrs_per_eni`` (what the tick asks for), and so does an
   ``AllocateIPs``/``AllocatePrefixes``, for an ENI that is not on another card. That ENI may
   be gone (an observation can sweep it before the answer comes), and the answer then only
   clears ``in_flight``. A tick in progress (``tick``) visits only cards that have a
   datastore, has started no later than the clock, and is, while ``in_flight`` is set,
   serving the card of that call. The outbox holds releases only (what the pod path and
   ``restart`` queue), naming an ENI id and address text EC2 can read, and nothing the
   datastore holds (see ``queued_releases``); the ENI may be gone, since an observation can
   sweep it before the outbox is handed out. A deferred cleanup is
   for a card that has a datastore (the tick looks it up); its ENI may be gone (the tick skips
   it, as ipamd's task does).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from operator import attrgetter
from typing import Protocol

from vpccni_model._actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocateIPv6ENI,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._config import Config
from vpccni_model._datastore import Datastore, DeferredCleanup, InFlight
from vpccni_model._eni import ENI
from vpccni_model._errors import StateError
from vpccni_model._ipv4 import int_to_ip, ip_to_int, parse_cidr
from vpccni_model._limits import InstanceLimits
from vpccni_model._model import Cidr
from vpccni_model._podindex import PodIP
from vpccni_model._progress import TickProgress


class NodeView(Protocol):
    """What the node rules read of a ``NodeState`` (declared here so that ``_state``, which
    runs them, is not imported back)."""

    @property
    def limits(self) -> InstanceLimits: ...
    @property
    def config(self) -> Config: ...
    @property
    def primary_eni_id(self) -> str: ...
    @property
    def datastores(self) -> tuple[Datastore, ...]: ...
    @property
    def pods(self) -> Mapping[str, PodIP]: ...
    @property
    def last_pool_action_at(self) -> float | None: ...
    @property
    def last_decrease_at(self) -> float | None: ...
    @property
    def last_insufficient_cidr_at(self) -> float | None: ...
    @property
    def reconcile_cooldown(self) -> Mapping[str, float]: ...
    @property
    def in_flight(self) -> InFlight | None: ...
    @property
    def tick(self) -> TickProgress | None: ...
    @property
    def outbox(self) -> tuple[Action, ...]: ...
    @property
    def deferred_cleanups(self) -> tuple[DeferredCleanup, ...]: ...
    @property
    def clock(self) -> float: ...
    def find_eni(self, eni_id: str) -> ENI | None: ...


DEFAULT_CARD = 0
"""The card of the primary ENI (spec glossary: card 0 is the default card)."""


# -- the shared rules ---------------------------------------------------------------------------


def check_card(limits: InstanceLimits, network_card: int, field: str) -> None:
    """The instance has ``network_card``."""
    if network_card not in limits.card_indices:
        raise StateError(
            field, network_card, f"the instance type has network cards {limits.card_indices}"
        )


def check_eni_room(limits: InstanceLimits, eni_id: str, cidrs: int, field: str) -> None:
    """An ENI holding ``cidrs`` CIDRs is within EC2's per-ENI limit (both kinds count, Q7)."""
    if cidrs > limits.cidrs_per_eni:
        raise StateError(
            field,
            eni_id,
            f"would hold {cidrs} CIDRs; {limits.name} allows {limits.cidrs_per_eni} per ENI "
            "(secondary IPs and /28 prefixes together)",
        )


def check_card_room(limits: InstanceLimits, network_card: int, enis: int, field: str) -> None:
    """A card with ``enis`` ENIs attached is within its ENI limit."""
    allowed = limits.max_interfaces(network_card)
    if enis > allowed:
        raise StateError(
            field,
            enis,
            f"ENIs on card {network_card}; {limits.name} allows {allowed} there",
        )


def check_not_after(clock: float, field: str, value: float | None) -> None:
    """A timestamp of the state is not later than its clock."""
    if value is not None and value > clock:
        raise StateError(field, value, f"later than the state's clock {clock!r}")


def held_by(eni: ENI, cidr: Cidr) -> Cidr | None:
    """The CIDR of ``eni`` that shares an address with ``cidr``, if any (binary search)."""
    cidrs = eni.cidrs
    # Of this ENI's sorted, disjoint CIDRs, only the last one starting at or before the end of
    # ``cidr`` can overlap it.
    at = bisect.bisect_right(cidrs, cidr.network + cidr.size - 1, key=_network) - 1
    if at < 0:
        return None
    held = cidrs[at]
    return held if held.network + held.size > cidr.network else None


_network = attrgetter("network")  # a C-level key for bisect

# -- whole state: NodeView.check() -------------------------------------------------------------


def check_node(state: NodeView) -> None:
    """Every rule of the module docstring (1-5) on ``state`` (O(addresses))."""
    cards = _check_cards(state)
    _check_enis(state)
    _check_addresses(state)
    _check_times(state)
    in_flight = state.in_flight
    if in_flight is not None:
        _check_in_flight(state, cards)
    _check_tick(state, cards)
    for at, action in enumerate(state.outbox):
        _check_release(state, action, f"outbox[{at}]")
    for at, task in enumerate(state.deferred_cleanups):
        if task.network_card not in cards:
            raise StateError(
                f"deferred_cleanups[{at}].network_card",
                task.network_card,
                "no datastore for this card: the tick could never run the cleanup",
            )


def _check_cards(state: NodeView) -> dict[int, Datastore]:
    limits = state.limits
    cards: dict[int, Datastore] = {}
    for at, ds in enumerate(state.datastores):
        card = ds.network_card
        check_card(limits, card, f"datastores[{at}].network_card")
        if card != DEFAULT_CARD and not state.config.multi_nic:
            raise StateError(
                f"datastores[{at}].network_card",
                card,
                "cards above 0 are managed only with multi_nic (ENABLE_MULTI_NIC, spec 1.5.5)",
            )
        cards[card] = ds
    return cards


def _check_enis(state: NodeView) -> None:
    limits = state.limits
    where: dict[str, int] = {}
    primaries: list[tuple[str, ENI]] = []
    for ds_at, ds in enumerate(state.datastores):
        path = f"datastores[{ds_at}]"
        check_card_room(limits, ds.network_card, len(ds.enis) + ds.unmanaged_enis, f"{path}.enis")
        for eni_at, eni in enumerate(ds.enis):
            field = f"{path}.enis[{eni_at}]"
            if eni.eni_id in where:
                raise StateError(f"{field}.eni_id", eni.eni_id, f"also on card {where[eni.eni_id]}")
            where[eni.eni_id] = ds.network_card
            if eni.is_primary:
                primaries.append((field, eni))
            check_eni_room(limits, eni.eni_id, len(eni.cidrs), f"{field}.cidrs")
            _check_family(state.config.enable_ipv6, eni, f"{field}.cidrs")
    primary = state.primary_eni_id
    if not primaries:
        if state.config.enable_ipv6 and state.config.subnet_discovery:
            return  # IPv6 nodeInit does not set up a primary ENI in an excluded subnet (_ipv6)
        raise StateError("primary_eni_id", primary, "no ENI of the node is flagged primary")
    if len(primaries) > 1:
        field, second = primaries[1]
        first = primaries[0][1].eni_id
        raise StateError(f"{field}.is_primary", second.eni_id, f"a second primary ENI ({first})")
    field, eni = primaries[0]
    if eni.eni_id != primary:
        raise StateError("primary_eni_id", primary, f"the ENI flagged primary is {eni.eni_id!r}")
    if eni.network_card != DEFAULT_CARD:
        raise StateError(
            f"{field}.network_card",
            eni.network_card,
            "the primary ENI is on card 0, the default card",
        )


def _check_family(ipv6: bool, eni: ENI, field: str) -> None:
    """An IPv4 node holds /32s and /28s; an IPv6 node one /80 per ENI and nothing else
    (ipamd's IPv6 ``setupENI`` adds no IPv4 address, ``assignIPv6Prefix`` one /80)."""
    if any(cidr.is_ipv6 != ipv6 for cidr in eni.cidrs):
        wrong = next(cidr for cidr in eni.cidrs if cidr.is_ipv6 != ipv6)
        node = "an IPv6 node holds only /80 prefixes" if ipv6 else "an IPv4 node holds no /80"
        raise StateError(field, wrong.key, node)
    if ipv6 and len(eni.cidrs) > 1:
        raise StateError(field, eni.eni_id, "an IPv6 ENI uses one /80 only (assignIPv6Prefix)")


def _check_addresses(state: NodeView) -> None:
    """No address in two CIDRs; the pod index and the assigned addresses agree."""
    seen_ips: dict[int, str] = {}
    owners: dict[str, int] = {}
    for ds in state.datastores:
        for eni in ds.enis:
            for cidr in eni.cidrs:
                # Aligned /80s overlap only when they are one: their network stands for them.
                span = 1 if cidr.is_ipv6 else cidr.size
                for ip in range(cidr.network, cidr.network + span):
                    if ip in seen_ips:
                        raise StateError("cidrs", int_to_ip(ip), f"also on {seen_ips[ip]}")
                    seen_ips[ip] = eni.eni_id
                for entry in cidr.addresses:
                    if entry.pod is not None:
                        if entry.pod in owners:
                            raise StateError("pods", entry.pod, "holds two addresses")
                        owners[entry.pod] = entry.ip
    for pod, ref in state.pods.items():
        if ref.pod != pod:
            raise StateError("pods", pod, f"index entry names {ref.pod!r}")
        if owners.get(pod) != ref.ip:
            raise StateError("pods", pod, "index does not match the assigned address")
        owner = state.find_eni(ref.eni_id)
        if owner is None or owner.network_card != ref.network_card:
            raise StateError("pods", pod, f"unknown ENI {ref.eni_id!r}")
        home = owner.cidr(ref.cidr)
        if home is None or not home.contains(ref.ip):
            raise StateError("pods", pod, "address is not in the recorded CIDR")
    for pod in owners:
        if pod not in state.pods:
            raise StateError("pods", pod, "assigned address without a pod index entry")


def _check_times(state: NodeView) -> None:
    clock = state.clock
    for ds_at, ds in enumerate(state.datastores):
        for eni_at, eni in enumerate(ds.enis):
            path = f"datastores[{ds_at}].enis[{eni_at}]"
            check_not_after(clock, f"{path}.created_at", eni.created_at)
            for cidr_at, cidr in enumerate(eni.cidrs):
                for entry_at, entry in enumerate(cidr.addresses):
                    field = f"{path}.cidrs[{cidr_at}].addresses[{entry_at}]"
                    check_not_after(clock, f"{field}.assigned_at", entry.assigned_at)
                    check_not_after(clock, f"{field}.unassigned_at", entry.unassigned_at)
    for name in ("last_pool_action_at", "last_decrease_at", "last_insufficient_cidr_at"):
        check_not_after(clock, name, getattr(state, name))
    for key, freed_at in state.reconcile_cooldown.items():
        check_not_after(clock, f"reconcile_cooldown[{key!r}]", freed_at)
    if state.in_flight is not None:
        check_not_after(clock, "in_flight.started_at", state.in_flight.started_at)


def _check_tick(state: NodeView, cards: dict[int, Datastore]) -> None:
    tick = state.tick
    if tick is None:
        return
    check_not_after(state.clock, "tick.started_at", tick.started_at)
    for at, decision in enumerate(tick.cards):
        if decision.network_card not in cards:
            raise StateError(
                f"tick.cards[{at}].network_card",
                decision.network_card,
                "no datastore for this card",
            )
    in_flight = state.in_flight
    if in_flight is not None and in_flight.network_card != tick.network_card:
        raise StateError(
            "tick.position",
            tick.position,
            f"the tick serves card {tick.network_card}; the call in flight is for card "
            f"{in_flight.network_card}",
        )


def _check_in_flight(state: NodeView, cards: dict[int, Datastore]) -> None:
    in_flight = state.in_flight
    assert in_flight is not None
    ds = cards.get(in_flight.network_card)
    if ds is None:
        raise StateError(
            "in_flight.network_card", in_flight.network_card, "no datastore for this card"
        )
    action = in_flight.action
    if isinstance(action, AllocateIPv6ENI) and action.network_card != in_flight.network_card:
        raise StateError(
            "in_flight.action.network_card",
            action.network_card,
            f"the call in flight is for card {in_flight.network_card}",
        )
    if not isinstance(action, AllocateENI | AllocateIPs | AllocatePrefixes):
        return  # InFlight refuses anything else
    slots = state.limits.cidrs_per_eni
    if not 1 <= action.count <= slots:
        raise StateError(
            "in_flight.action.count", action.count, f"the tick asks for 1..{slots} CIDRs"
        )
    if isinstance(action, AllocateENI):
        if action.network_card != in_flight.network_card:
            raise StateError(
                "in_flight.action.network_card",
                action.network_card,
                f"the increase in flight is for card {in_flight.network_card}",
            )
    elif not action.eni_id:
        raise StateError("in_flight.action.eni_id", action.eni_id, "must not be empty")
    elif ds.eni(action.eni_id) is None:
        # Gone is fine: the tick that started the call may have freed that ENI too (below);
        # on another card it never was.
        elsewhere = state.find_eni(action.eni_id)
        if elsewhere is not None:
            raise StateError(
                "in_flight.action.eni_id",
                action.eni_id,
                f"an ENI of card {elsewhere.network_card}; the increase in flight is for card "
                f"{in_flight.network_card}",
            )


Key = tuple[int, bool]
"""A CIDR as (network, is_prefix)."""


def _check_release(state: NodeView, action: object, field: str) -> None:
    """An outbox entry: a release EC2 can read, of nothing the datastore holds (the ENI may be
    gone already)."""
    if not isinstance(action, ReleaseIPs | ReleasePrefixes | FreeENI):
        raise StateError(
            field, action, "the outbox holds releases only (ReleaseIPs, ReleasePrefixes, FreeENI)"
        )
    if not action.eni_id:
        raise StateError(f"{field}.eni_id", action.eni_id, "must not be empty")
    keys = released_keys(action, field)
    eni = state.find_eni(action.eni_id)
    if eni is None:
        return
    if keys is None:
        raise StateError(f"{field}.eni_id", action.eni_id, "the datastore still holds this ENI")
    for network, is_prefix in sorted(keys):
        held = eni.cidr(network)
        if held is not None and held.is_prefix == is_prefix:
            raise StateError(field, held.key, f"{action.eni_id} still holds what it releases")


def released_keys(action: ReleaseIPs | ReleasePrefixes | FreeENI, field: str) -> set[Key] | None:
    """The CIDRs a release names, as (network, is_prefix); None for a whole ENI (FreeENI)."""
    if isinstance(action, ReleaseIPs):
        return {(ip_to_int(text, field=f"{field}.addresses"), False) for text in action.addresses}
    if isinstance(action, ReleasePrefixes):
        keys: set[Key] = set()
        for text in action.prefixes:
            network, is_prefix = parse_cidr(text, field=f"{field}.prefixes")
            if not is_prefix:
                raise StateError(f"{field}.prefixes", text, "must be a /28 prefix")
            keys.add((network, True))
        return keys
    return None
