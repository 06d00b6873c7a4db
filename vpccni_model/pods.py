"""The pod path: CNI ADD and DEL as ipamd's datastore serves them (spec 4.1-4.5).

Both functions are pure: they return a new state and never touch EC2 directly. The one EC2
call the DEL path makes itself (releasing empty leftover prefixes in secondary-IP mode, Q3)
goes to ``state.outbox``; the next ``reconcile`` hands it out (or use ``take_outbox``).
"""

from __future__ import annotations

import attrs

from vpccni_model.actions import Action, ReleasePrefixes
from vpccni_model.config import Config
from vpccni_model.errors import ConfigError, NoAvailableIPError, StateError, UnknownPodError
from vpccni_model.model import (
    ENI,
    PREFIX_SIZE,
    Address,
    Cidr,
    DeferredCleanup,
    NodeState,
    PodIP,
    int_to_ip,
)


def check_pod_key(pod: object) -> str:
    if not isinstance(pod, str) or not pod:
        raise StateError("pod", pod, "a pod key must be a non-empty string")
    return pod


def check_mode(state: NodeState, config: Config) -> Config:
    """The effective ``config`` on this node; raises if it changes what ipamd fixes when the
    datastores are created (prefix delegation, cooldown, multi-NIC)."""
    fixed = state.config
    effective = config.for_instance(state.limits)
    for field in ("prefix_delegation", "ip_cooldown_period", "multi_nic"):
        if getattr(effective, field) != getattr(fixed, field):
            raise ConfigError(
                field,
                getattr(config, field),
                f"fixed at {getattr(fixed, field)!r} when the node booted; "
                "use restart() to change it",
            )
    return effective


def _unused_ip(cidr: Cidr, clock: float, cooldown: float) -> tuple[Cidr, int] | None:
    """``getUnusedIP`` (spec 4.2): purge every cooled entry and reuse the lowest, else hand out
    the lowest never-used address; None when the CIDR has nothing to give."""
    if cidr.assigned == cidr.size:
        return None
    kept: list[Address] = []
    candidate: int | None = None
    for entry in cidr.addresses:
        if entry.pod is None and not entry.cooling(clock, cooldown):
            if candidate is None:
                candidate = entry.ip
            continue
        kept.append(entry)
    if candidate is not None:
        return attrs.evolve(cidr, addresses=tuple(kept)), candidate
    used = {entry.ip for entry in cidr.addresses}
    for ip in range(cidr.network, cidr.network + cidr.size):
        if ip not in used:
            return cidr, ip
    return None


def _with_entry(cidr: Cidr, entry: Address) -> Cidr:
    entries = [a for a in cidr.addresses if a.ip != entry.ip]
    entries.append(entry)
    entries.sort(key=lambda a: a.ip)
    return attrs.evolve(cidr, addresses=tuple(entries))


def _replace_cidr(eni: ENI, cidr: Cidr) -> ENI:
    return eni.with_cidr(cidr)


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
    check_mode(state, config)
    clock = state.check_clock(clock)
    existing = state.pods.get(pod)
    if existing is not None:
        return state.at(clock), existing.address
    prefix_delegation = state.prefix_delegation
    cooldown = state.config.ip_cooldown_period
    last_position = len(state.datastores) - 1
    for ds in state.datastores:
        for eni in ds.enis:
            if eni.is_excluded:
                continue
            size = eni.prefix_cidrs * PREFIX_SIZE if prefix_delegation else eni.ip_cidrs
            used = eni.assigned_in_prefixes if prefix_delegation else eni.assigned_in_ips
            if used >= size:
                continue
            for cidr in eni.cidrs:
                if cidr.is_prefix != prefix_delegation:
                    continue
                found = _unused_ip(cidr, clock, cooldown)
                if found is None:
                    continue
                purged, ip = found
                fresh = Address(ip=ip, pod=pod, assigned_at=clock)
                new_eni = _replace_cidr(eni, _with_entry(purged, fresh))
                pods = state.pods_copy()
                pods[pod] = PodIP(
                    pod=pod,
                    network_card=ds.network_card,
                    eni_id=eni.eni_id,
                    cidr=cidr.network,
                    ip=ip,
                )
                new_state = state.replace_datastore(ds.replace_eni(new_eni), pods=pods, clock=clock)
                return new_state, int_to_ip(ip)
        if ds.network_card == last_position:
            break
    raise NoAvailableIPError(pod)


def unassign_pod_ip(
    state: NodeState, config: Config, pod: str, clock: float
) -> tuple[NodeState, str]:
    """CNI DEL: free the pod's address; it cools for IP_COOLDOWN_PERIOD before reuse.

    Also reproduces the DEL-path side effects: in secondary-IP mode, an address that came from
    a leftover /28 releases every empty prefix of that ENI at once (Q3, outbox); on an excluded
    ENI an emptied CIDR is dropped from the datastore 5 s later (Q10).
    """
    pod = check_pod_key(pod)
    check_mode(state, config)
    clock = state.check_clock(clock)
    ref = state.pods.get(pod)
    if ref is None:
        raise UnknownPodError(pod)
    ds = state.datastore(ref.network_card)
    eni = ds.eni(ref.eni_id)
    cidr = None if eni is None else eni.cidr(ref.cidr)
    if eni is None or cidr is None:
        raise StateError("pods", pod, "index points at a missing ENI or CIDR")
    entry = next((a for a in cidr.addresses if a.ip == ref.ip), None)
    if entry is None or entry.pod != pod:
        raise StateError("pods", pod, "index points at an address the pod does not hold")
    freed = attrs.evolve(entry, pod=None, unassigned_at=clock)
    new_cidr = _with_entry(cidr, freed)
    new_eni = _replace_cidr(eni, new_cidr)
    pods = state.pods_copy()
    del pods[pod]
    prefix_counter = ds.prefix_counter
    outbox: tuple[Action, ...] = state.outbox
    deferred = state.deferred_cleanups
    if new_eni.is_excluded and new_cidr.assigned == 0:
        deferred = (
            *deferred,
            DeferredCleanup(
                eni_id=eni.eni_id,
                network_card=ds.network_card,
                cidr=cidr.network,
                due_at=clock + state.config.deallocate_empty_cidr_delay,
            ),
        )
    if not state.prefix_delegation and not any(
        not c.is_prefix and c.network == ref.ip for c in new_eni.cidrs
    ):
        empty = tuple(c for c in new_eni.cidrs if c.is_prefix and c.assigned == 0)
        if empty:
            new_eni = new_eni.without_cidrs({c.network for c in empty})
            prefix_counter -= len(empty)
            outbox = (*outbox, ReleasePrefixes(eni.eni_id, tuple(c.key for c in empty)))
    new_ds = ds.replace_eni(new_eni)
    if prefix_counter != ds.prefix_counter:
        new_ds = attrs.evolve(new_ds, prefix_counter=prefix_counter)
    new_state = state.replace_datastore(
        new_ds, pods=pods, outbox=outbox, deferred_cleanups=deferred, clock=clock
    )
    return new_state, int_to_ip(ref.ip)


def take_outbox(state: NodeState) -> tuple[NodeState, tuple[Action, ...]]:
    """Hand out the EC2 calls the pod path queued, for drivers that run them at once."""
    return state.replace(outbox=()), state.outbox
