"""The pod path: CNI ADD and DEL as ipamd's datastore serves them (spec 4.1-4.5).

Both functions are pure: they return a new state and never touch EC2 directly. The one EC2
call the DEL path makes itself (releasing empty leftover prefixes in secondary-IP mode, Q3)
goes to ``state.outbox``; the next ``reconcile`` hands it out (or use ``take_outbox``).
"""

from __future__ import annotations

import bisect
from operator import attrgetter

from vpccni_model._actions import Action, ReleasePrefixes
from vpccni_model._config import Config
from vpccni_model._errors import ConfigError, NoAvailableIPError, StateError, UnknownPodError
from vpccni_model._ipv4 import PREFIX_SIZE, int_to_ip
from vpccni_model._model import Address, Cidr, DeferredCleanup, NodeState, PodIP


def check_pod_key(pod: object) -> str:
    if not isinstance(pod, str) or not pod:
        raise StateError("pod", pod, "a pod key must be a non-empty string")
    return pod


def _check_fixed_settings(state: NodeState, config: Config) -> None:
    """``check_mode`` for the pod path, which needs no effective config: when the settings
    ipamd fixes at boot are equal as given, they are equal in effect, and nothing is
    resolved."""
    fixed = state.config
    if (
        config.prefix_delegation != fixed.prefix_delegation
        or config.ip_cooldown_period != fixed.ip_cooldown_period
        or config.multi_nic != fixed.multi_nic
    ):
        check_mode(state, config)


def check_mode(state: NodeState, config: Config) -> Config:
    """The effective ``config`` on this node; raises if it changes what ipamd fixes when the
    datastores are created (prefix delegation, cooldown, multi-NIC)."""
    fixed = state.config
    effective = config.for_instance(state.limits)
    if effective is fixed:
        return effective
    for field in ("prefix_delegation", "ip_cooldown_period", "multi_nic"):
        if getattr(effective, field) != getattr(fixed, field):
            raise ConfigError(
                field,
                getattr(config, field),
                f"fixed at {getattr(fixed, field)!r} when the node booted; "
                "use restart() to change it",
            )
    return effective


_ip = attrgetter("ip")  # a C-level key for bisect


def _take_unused_ip(cidr: Cidr, clock: float, cooldown: float, pod: str) -> tuple[Cidr, int] | None:
    """``getUnusedIP`` (spec 4.2) and the assignment: purge every cooled entry and give
    ``pod`` the lowest of them, else the lowest never-used address. Returns the updated CIDR
    and the address, or None when the CIDR has nothing to give."""
    if not cidr.is_prefix:
        # A /32 holds at most one entry: reuse it once cooled, or take the address afresh.
        if cidr.assigned or (cidr.addresses and cidr.addresses[0].cooling(clock, cooldown)):
            return None
        fresh = Address(ip=cidr.network, pod=pod, assigned_at=clock)
        return cidr.with_addresses((fresh,)), cidr.network
    if cidr.assigned == cidr.size:
        return None
    kept: list[Address] = []
    ip: int | None = None
    for entry in cidr.addresses:
        if entry.pod is None and not entry.cooling(clock, cooldown):
            if ip is None:
                ip = entry.ip
            continue
        kept.append(entry)
    if ip is None:
        used = {entry.ip for entry in kept}
        ip = next((a for a in range(cidr.network, cidr.network + cidr.size) if a not in used), None)
        if ip is None:
            return None
    kept.insert(bisect.bisect_left(kept, ip, key=_ip), Address(ip=ip, pod=pod, assigned_at=clock))
    return cidr.with_addresses(tuple(kept)), ip


def _release_ip(cidr: Cidr, ip: int, pod: str, clock: float) -> Cidr | None:
    """``UnassignPodIPAddress`` on one CIDR: ``pod``'s entry at ``ip`` becomes unassigned at
    ``clock`` (its cooldown starts). None if ``pod`` does not hold ``ip`` here."""
    entries = cidr.addresses
    if not cidr.is_prefix:  # a /32 holds at most one entry
        at = 0 if entries and entries[0].ip == ip else -1
    else:
        at = bisect.bisect_left(entries, ip, key=_ip)
        at = at if at < len(entries) and entries[at].ip == ip else -1
    if at < 0 or entries[at].pod != pod:
        return None
    freed = Address(ip=ip, pod=None, assigned_at=entries[at].assigned_at, unassigned_at=clock)
    return cidr.with_addresses(entries[:at] + (freed,) + entries[at + 1 :])  # noqa: RUF005


def assign_pod_ip(
    state: NodeState, config: Config, pod: str, clock: float
) -> tuple[NodeState, str]:
    """CNI ADD: give ``pod`` an address, or the one it already has (idempotent by key).

    Datastores are tried in ascending card order, falling through to the next card only on
    "no available IP" (spec 4.3); within a card ENIs go in device order and CIDRs in address
    order, so pods pack onto the lowest ENI and CIDR (spec 9, N3). Excluded ENIs and CIDRs of
    the other mode are skipped. ipamd checks neither max pods nor warm targets here.
    """
    pod = check_pod_key(pod)
    _check_fixed_settings(state, config)
    clock = state.check_clock(clock)
    existing = state.pods.get(pod)
    if existing is not None:
        return state.at(clock), existing.address
    fixed = state.config
    prefix_delegation = fixed.prefix_delegation
    cooldown = fixed.ip_cooldown_period
    last_position = len(state.datastores) - 1
    full = PREFIX_SIZE if prefix_delegation else 1
    for card, ds in enumerate(state.datastores):
        for position, eni in enumerate(ds.enis):
            if eni.is_excluded:
                continue
            if prefix_delegation:
                if eni.assigned_in_prefixes >= eni.prefix_cidrs * PREFIX_SIZE:
                    continue
            elif eni.assigned_in_ips >= eni.ip_cidrs:
                continue
            cidrs = eni.cidrs
            room = -1  # the first CIDR of this search with a free address
            for index in range(eni.room_from, len(cidrs)):  # none before room_from has room
                cidr = cidrs[index]
                if cidr.is_prefix != prefix_delegation:
                    if room < 0 and cidr.assigned < cidr.size:
                        room = index
                    continue
                if cidr.assigned == full:
                    continue
                if room < 0:
                    room = index
                taken = _take_unused_ip(cidr, clock, cooldown, pod)
                if taken is None:
                    continue
                if room > eni.room_from:
                    eni.note_room_from(room)
                new_cidr, ip = taken
                ref = PodIP(
                    pod=pod,
                    network_card=ds.network_card,
                    eni_id=eni.eni_id,
                    cidr=cidr.network,
                    ip=ip,
                )
                pods = state.pods.set(pod, ref)
                new_state = state.with_pod_change(card, position, index, new_cidr, pods, clock)
                return new_state, int_to_ip(ip)
            eni.note_room_from(len(cidrs) if room < 0 else room)
        if ds.network_card == last_position:
            break
    raise NoAvailableIPError(pod)


def _card_position(state: NodeState, ref: PodIP) -> int:
    """Position in ``state.datastores`` of the card the pod's address is on."""
    for position, ds in enumerate(state.datastores):
        if ds.network_card == ref.network_card:
            return position
    raise StateError("pods", ref.pod, "index points at a missing network card")


def unassign_pod_ip(
    state: NodeState, config: Config, pod: str, clock: float
) -> tuple[NodeState, str]:
    """CNI DEL: free the pod's address; it cools for IP_COOLDOWN_PERIOD before reuse.

    Also reproduces the DEL-path side effects: in secondary-IP mode, an address that came from
    a leftover /28 releases every empty prefix of that ENI at once (Q3, outbox); on an excluded
    ENI an emptied CIDR is dropped from the datastore 5 s later (Q10).
    """
    pod = check_pod_key(pod)
    _check_fixed_settings(state, config)
    clock = state.check_clock(clock)
    ref = state.pods.get(pod)
    if ref is None:
        raise UnknownPodError(pod)
    card = _card_position(state, ref)
    ds = state.datastores[card]
    position, eni = -1, None
    for number, candidate in enumerate(ds.enis):
        if candidate.eni_id == ref.eni_id:
            position, eni = number, candidate
            break
    index = None if eni is None else eni.cidr_index(ref.cidr)
    if eni is None or index is None:
        raise StateError("pods", pod, "index points at a missing ENI or CIDR")
    cidr = eni.cidrs[index]
    new_cidr = _release_ip(cidr, ref.ip, pod, clock)
    if new_cidr is None:
        raise StateError("pods", pod, "index points at an address the pod does not hold")
    new_state = state.with_pod_change(
        card, position, index, new_cidr, state.pods.delete(pod), clock
    )
    if eni.is_excluded and new_cidr.assigned == 0:
        cleanup = DeferredCleanup(
            eni_id=eni.eni_id,
            network_card=ds.network_card,
            cidr=cidr.network,
            due_at=clock + state.config.deallocate_empty_cidr_delay,
        )
        new_state = new_state.replace(deferred_cleanups=(*state.deferred_cleanups, cleanup))
    # Q3: the address came from a /28 (CIDRs never overlap, so it is not also a /32 here).
    if cidr.is_prefix and not state.config.prefix_delegation:
        new_ds = new_state.datastores[card]
        new_eni = new_ds.enis[position]
        empty = tuple(c for c in new_eni.cidrs if c.is_prefix and c.assigned == 0)
        if empty:
            new_eni = new_eni.without_cidrs({c.network for c in empty})
            new_ds = new_ds.replace_eni(new_eni, position).replace(
                prefix_counter=new_ds.prefix_counter - len(empty)
            )
            release = ReleasePrefixes(eni.eni_id, tuple(c.key for c in empty))
            new_state = new_state.replace_datastore(new_ds, outbox=(*state.outbox, release))
    return new_state, int_to_ip(ref.ip)


def take_outbox(state: NodeState) -> tuple[NodeState, tuple[Action, ...]]:
    """Hand out the EC2 calls the pod path queued, for drivers that run them at once."""
    if not state.outbox:
        return state, ()
    return state.replace(outbox=()), state.outbox
