"""The node's cross-reference rules: what must hold between the values of one node state, and
which outside events may be folded into it.

Construction checks each value on its own (``_checks``: types, ranges, order inside a value).
This module owns what only the whole node can tell, in one place for every entry point:
``NodeState.check()`` runs :func:`check_node` (so ``from_json`` does too), and ``apply``
runs :func:`check_new_cidrs` / :func:`check_attachment` / :func:`check_observation` before it
folds an EC2 answer or an observation. The pod path and the tick do not run them: their
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
   be gone: the tick that starts the call can free the same ENI (``tryFreeENI`` runs after the
   increase with the start-of-tick statistics, spec 5.8, 6.6; the model evaluates it on the
   pre-allocation datastore, where an ENI without CIDRs or pods is deletable), and the answer
   then only clears ``in_flight``. The outbox holds releases only (what the pod path and
   ``restart`` queue), naming an ENI id and address text EC2 can read, and nothing the
   datastore holds (see ``queued_releases``); the ENI may be gone, since an observation can
   sweep it before the outbox is handed out. A deferred cleanup is
   for a card that has a datastore (the tick looks it up); its ENI may be gone (the tick skips
   it, as ipamd's task does).

For events (``apply``):

6. CIDRs an EC2 answer adds (``IPsAllocated``, ``PrefixesAllocated``, ``ENIAttached``): no
   address another ENI of the node holds, or that overlaps another CIDR of the same ENI (one
   it already holds is ignored, as ipamd's datastore ignores it); the ENI stays within
   ``cidrs_per_eni``; an attached ENI fits its card's ENI limit.
7. ``MetadataObserved`` must be something instance metadata can show: each ENI once, one ENI
   per (card, device index), no address on two ENIs (``UnexpectedEventError``, as before);
   device indices 0..99, only cards the instance has, no more ENIs on a card than it allows,
   no ENI with more CIDRs than allowed, and the primary ENI listed, managed, on card 0
   (``StateError``). An address the datastore holds on another ENI is no conflict: the
   observation replaces the datastore's view (every CIDR the reconciliation keeps or adds is
   listed for that very ENI, and ENIs it does not list are swept), which is how ipamd re-adds
   an address that moved between ENIs.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from operator import attrgetter
from typing import TYPE_CHECKING

from vpccni_model._actions import (
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._errors import StateError, UnexpectedEventError
from vpccni_model._ipv4 import PREFIX_SIZE, int_to_ip, ip_to_int, parse_cidr
from vpccni_model._model import Cidr, parse_cidrs

if TYPE_CHECKING:
    from vpccni_model._events import MetadataObserved
    from vpccni_model._limits import InstanceLimits
    from vpccni_model._model import ENI
    from vpccni_model._state import Datastore, NodeState

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

# -- whole state: NodeState.check() -------------------------------------------------------------


def check_node(state: NodeState) -> None:
    """Every rule of the module docstring (1-5) on ``state`` (O(addresses))."""
    cards = _check_cards(state)
    _check_enis(state)
    _check_addresses(state)
    _check_times(state)
    in_flight = state.in_flight
    if in_flight is not None:
        _check_in_flight(state, cards)
    for at, action in enumerate(state.outbox):
        _check_release(state, action, f"outbox[{at}]")
    for at, task in enumerate(state.deferred_cleanups):
        if task.network_card not in cards:
            raise StateError(
                f"deferred_cleanups[{at}].network_card",
                task.network_card,
                "no datastore for this card: the tick could never run the cleanup",
            )


def _check_cards(state: NodeState) -> dict[int, Datastore]:
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


def _check_enis(state: NodeState) -> None:
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
    primary = state.primary_eni_id
    if not primaries:
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


def _check_addresses(state: NodeState) -> None:
    """No address in two CIDRs; the pod index and the assigned addresses agree."""
    seen_ips: dict[int, str] = {}
    owners: dict[str, int] = {}
    for ds in state.datastores:
        for eni in ds.enis:
            for cidr in eni.cidrs:
                for ip in range(cidr.network, cidr.network + cidr.size):
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


def _check_times(state: NodeState) -> None:
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


def _check_in_flight(state: NodeState, cards: dict[int, Datastore]) -> None:
    in_flight = state.in_flight
    assert in_flight is not None
    ds = cards.get(in_flight.network_card)
    if ds is None:
        raise StateError(
            "in_flight.network_card", in_flight.network_card, "no datastore for this card"
        )
    action = in_flight.action
    if not isinstance(action, AllocateENI | AllocateIPs | AllocatePrefixes):
        return  # None: an increase that continues with the next ENI (InFlight checks the type)
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


_Key = tuple[int, bool]
"""A CIDR as (network, is_prefix)."""


def _check_release(state: NodeState, action: object, field: str) -> None:
    """An outbox entry: a release EC2 can read, of nothing the datastore holds (the ENI may be
    gone already)."""
    if not isinstance(action, ReleaseIPs | ReleasePrefixes | FreeENI):
        raise StateError(
            field, action, "the outbox holds releases only (ReleaseIPs, ReleasePrefixes, FreeENI)"
        )
    if not action.eni_id:
        raise StateError(f"{field}.eni_id", action.eni_id, "must not be empty")
    keys = _released(action, field)
    eni = state.find_eni(action.eni_id)
    if eni is None:
        return
    if keys is None:
        raise StateError(f"{field}.eni_id", action.eni_id, "the datastore still holds this ENI")
    for network, is_prefix in sorted(keys):
        held = eni.cidr(network)
        if held is not None and held.is_prefix == is_prefix:
            raise StateError(field, held.key, f"{action.eni_id} still holds what it releases")


def _released(action: ReleaseIPs | ReleasePrefixes | FreeENI, field: str) -> set[_Key] | None:
    """The CIDRs a release names, as (network, is_prefix); None for a whole ENI (FreeENI)."""
    if isinstance(action, ReleaseIPs):
        return {(ip_to_int(text, field=f"{field}.addresses"), False) for text in action.addresses}
    if isinstance(action, ReleasePrefixes):
        keys: set[_Key] = set()
        for text in action.prefixes:
            network, is_prefix = parse_cidr(text, field=f"{field}.prefixes")
            if not is_prefix:
                raise StateError(f"{field}.prefixes", text, "must be a /28 prefix")
            keys.add((network, True))
        return keys
    return None


def queued_releases(state: NodeState) -> dict[str, set[_Key] | None]:
    """What the outbox will release, by ENI id: its CIDRs as (network, is_prefix), or None for
    the whole ENI.

    ipamd makes these calls at once (the DEL path's leftover-prefix release Q3, nodeInit's
    toggle cleanup, spec 4.5, 7.6); the model queues them for the driver. Until it runs them,
    an observation or an EC2 report shows what ipamd would already have released, so folding
    one in must not re-add it (``observe``, ``apply``): the datastore would then hold CIDRs
    EC2 is about to drop, and EC2 could hand them to another ENI.
    """
    queued: dict[str, set[_Key] | None] = {}
    for at, action in enumerate(state.outbox):
        if not isinstance(action, ReleaseIPs | ReleasePrefixes | FreeENI):
            continue
        keys = _released(action, f"outbox[{at}]")
        have = queued.get(action.eni_id, set())
        queued[action.eni_id] = None if keys is None or have is None else have | keys
    return queued


def not_queued(cidrs: list[Cidr], queued: set[_Key] | None) -> list[Cidr]:
    """``cidrs`` less those a queued release names (see ``queued_releases``)."""
    if not queued:
        return cidrs
    return [c for c in cidrs if (c.network, c.is_prefix) not in queued]


# -- events: apply ------------------------------------------------------------------------------


def check_new_cidrs(
    state: NodeState, eni_id: str, have: Sequence[Cidr], cidrs: Sequence[Cidr], field: str
) -> None:
    """Rule 6 for CIDRs an EC2 answer adds to the ENI ``eni_id`` (holding ``have`` now, in
    order; ``()`` for an ENI being attached): no address held elsewhere, the ENI within its
    limit.

    O(ENIs) when the answer lies outside every ENI's address range (the usual case), else
    a binary search per CIDR and ENI."""
    added: list[Cidr] = []
    high = -1
    for cidr in sorted(cidrs, key=_network) if len(cidrs) > 1 else cidrs:
        if added:
            last = added[-1]
            if cidr.network == last.network:
                continue  # listed twice: the datastore ignores a CIDR it holds
            if cidr.network <= high:
                kind = "prefixes" if cidr.is_prefix else "ips"
                raise StateError(kind, cidr.key, f"overlaps {last.key} of the same answer")
        added.append(cidr)
        end = cidr.network + (PREFIX_SIZE if cidr.is_prefix else 1) - 1
        if end > high:
            high = end
    if not added:
        return
    low = added[0].network
    for ds in state.datastores:
        for eni in ds.enis:
            span = eni.cidrs
            if not span or span[0].network > high:
                continue
            top = span[-1]
            if top.network + (PREFIX_SIZE if top.is_prefix else 1) <= low:
                continue  # the answer lies outside this ENI's address range
            for cidr in added:
                held = held_by(eni, cidr)
                if held is None or (
                    eni.eni_id == eni_id  # the ENI it is added to may hold it already
                    and held.network == cidr.network
                    and held.is_prefix == cidr.is_prefix
                ):
                    continue
                kind = "prefixes" if cidr.is_prefix else "ips"
                raise StateError(kind, cidr.key, f"overlaps {held.key}, which {eni.eni_id} holds")
    total = len(have) + len(added)
    if total > state.limits.cidrs_per_eni:
        # Only here is it worth finding which of them the ENI holds already.
        networks = {c.network for c in have}
        total = len(have) + sum(c.network not in networks for c in added)
        check_eni_room(state.limits, eni_id, total, field)


def check_attachment(state: NodeState, ds: Datastore, eni_id: str, cidrs: Sequence[Cidr]) -> None:
    """Rule 6 for ``ENIAttached``: the card has room for one more ENI, the CIDRs fit."""
    check_card_room(
        state.limits, ds.network_card, len(ds.enis) + ds.unmanaged_enis + 1, "network_card"
    )
    field = "prefixes" if cidrs and all(c.is_prefix for c in cidrs) else "ips"
    check_new_cidrs(state, eni_id, (), cidrs, field)


def check_observation(state: NodeState, event: MetadataObserved) -> None:
    """Rule 7: ``event`` is something instance metadata can show for this node."""
    limits = state.limits
    ids: set[str] = set()
    devices: set[tuple[int, int]] = set()
    owner: dict[int, str] = {}
    per_card: dict[int, int] = {}
    primary = None
    for at, seen in enumerate(event.enis):
        if seen.eni_id in ids:
            raise UnexpectedEventError(event, f"{seen.eni_id} is listed twice")
        ids.add(seen.eni_id)
        slot = (seen.network_card, seen.device_number)
        if slot in devices:
            raise UnexpectedEventError(event, f"two ENIs at card {slot[0]} device {slot[1]}")
        devices.add(slot)
        cidrs = parse_cidrs(seen.ips, seen.prefixes)
        for cidr in cidrs:
            for ip in range(cidr.network, cidr.network + cidr.size):
                other = owner.setdefault(ip, seen.eni_id)
                if other != seen.eni_id:
                    raise UnexpectedEventError(
                        event, f"{cidr.key} on {seen.eni_id} overlaps an address of {other}"
                    )
        field = f"enis[{at}]"
        if not 0 <= seen.device_number < 100:
            raise StateError(
                f"{field}.device_number", seen.device_number, "must be 0..99 (spec 7.1)"
            )
        check_card(limits, seen.network_card, f"{field}.network_card")
        check_eni_room(limits, seen.eni_id, len(cidrs), f"{field}.ips")
        per_card[seen.network_card] = per_card.get(seen.network_card, 0) + 1
        if seen.eni_id == state.primary_eni_id:
            primary = seen
    for card, count in sorted(per_card.items()):
        check_card_room(limits, card, count, "enis")
    if primary is None or not primary.managed or primary.network_card != DEFAULT_CARD:
        raise StateError(
            "enis",
            state.primary_eni_id,
            "instance metadata always lists the primary ENI, managed, on card 0",
        )
