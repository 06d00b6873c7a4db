"""Which outside events may be folded into a node (``apply``), and what the outbox already
releases: the event half of the cross-reference rules (``_rules`` has the node half and the
shared checks). A violation is a ``StateError`` (or ``UnexpectedEventError`` for what
instance metadata cannot show) naming the field and value; the state is left unchanged.

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

from collections.abc import Sequence

from vpccni_model._actions import FreeENI, ReleaseIPs, ReleasePrefixes
from vpccni_model._datastore import Datastore
from vpccni_model._errors import StateError, UnexpectedEventError
from vpccni_model._events import MetadataObserved
from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._model import Cidr, by_network, parse_cidrs
from vpccni_model._rules import (
    DEFAULT_CARD,
    Key,
    check_card,
    check_card_room,
    check_eni_room,
    held_by,
    released_keys,
)
from vpccni_model._state import NodeState


def queued_releases(state: NodeState) -> dict[str, set[Key] | None]:
    """What the outbox will release, by ENI id: its CIDRs as (network, is_prefix), or None for
    the whole ENI.

    ipamd makes these calls at once (the DEL path's leftover-prefix release Q3, nodeInit's
    toggle cleanup, spec 4.5, 7.6); the model queues them for the driver. Until it runs them,
    an observation or an EC2 report shows what ipamd would already have released, so folding
    one in must not re-add it (``observe``, ``apply``): the datastore would then hold CIDRs
    EC2 is about to drop, and EC2 could hand them to another ENI.
    """
    queued: dict[str, set[Key] | None] = {}
    for at, action in enumerate(state.outbox):
        if not isinstance(action, ReleaseIPs | ReleasePrefixes | FreeENI):
            continue
        keys = released_keys(action, f"outbox[{at}]")
        have = queued.get(action.eni_id, set())
        queued[action.eni_id] = None if keys is None or have is None else have | keys
    return queued


def not_queued(cidrs: list[Cidr], queued: set[Key] | None) -> list[Cidr]:
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
    for cidr in sorted(cidrs, key=by_network) if len(cidrs) > 1 else cidrs:
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
