"""IPv6 mode: ipamd's nodeInit for an IPv6 node, its answers, and the IPv6 pod search (spec 4.6).

An IPv6 node has no warm pool: ``StartNodeIPPoolManager`` returns at once (Q29), so there is
no increase, decrease, ENI free or 60 s metadata reconcile, ever. What ipamd does is all in
``nodeInit``, and ``reconcile`` on an IPv6 node performs it, one EC2 call at a time (ipamd
blocks on each), in nodeInit's order:

1. With subnet discovery, ENIs in excluded subnets are not set up; if none remains, one ENI is
   created on card 0 (``nodeInit``). The drop is ``after_restart``'s, run by ``restart``
   (the datastore of a fresh boot holds only the primary ENI, never excluded).
2. ``setupENI`` gives every managed non-trunk ENI exactly one /80 (``assignIPv6Prefix``): an
   ENI without one, and after a restart every ENI (ipamd asks EC2 at each start;
   ``NodeState.ipv6_setup_pending``), gets ``AllocateIPv6Prefix``; the answer lists what EC2
   holds and only the first /80 is used (an ENI that kept its /80 over the restart keeps it).
   A failed call is asked again at the next ``reconcile`` (ipamd retries ``setupENI`` and
   then exits and restarts; the model keeps asking, see docs/model.md).
3. ``createSecondaryIPv6ENIs``, when provisioning is enabled and ENI attachment is allowed
   (not terminating, not cordoned unless AWS_MANAGE_ENIS_NON_SCHEDULABLE): one
   ``AllocateIPv6ENI`` on every managed card above 0 with no ENI and room for one, cards
   ascending, each tried once (``NodeState.ipv6_enis_tried``); a failure is only logged. The
   new ENI then gets its /80 by step 2.

Pods take addresses from the /80s only (``AssignPodIPv6Address``): ENIs in device order,
excluded ENIs skipped, the first pod of a prefix gets its base address ``prefix::``, then
``getUnusedIP`` as in IPv4 (the lowest cooled entry, all cooled entries purged, else the
lowest address with no entry). Under the node's ``go_random`` iteration policy the ENI map
and the cooled entries are visited in Go's map order (N3, N4), as in IPv4.
"""

from __future__ import annotations

from vpccni_model._actions import (
    Action,
    AllocateIPv6ENI,
    AllocateIPv6Prefix,
)
from vpccni_model._config import Config
from vpccni_model._datastore import Datastore, unchecked_in_flight
from vpccni_model._eni import ENI
from vpccni_model._errors import UnexpectedEventError
from vpccni_model._events import AllocationFailed, ENIAttached, IPv6PrefixAllocated
from vpccni_model._goorder import eni_order
from vpccni_model._goorder import take_unused_ip as go_take_unused_ip
from vpccni_model._iteration import SITE_POD_ENI, IterationPolicy, text_key
from vpccni_model._limits import InstanceLimits
from vpccni_model._model import Cidr, parse_ipv6_prefixes
from vpccni_model._state import NodeState
from vpccni_model.pool import CardPolicy, has_room_for_eni


def _has_prefix(eni: ENI) -> bool:
    return any(cidr.is_ipv6 for cidr in eni.cidrs)


def _needs_setup(state: NodeState, eni: ENI) -> bool:
    """``setupENI`` in IPv6 is still to run for a managed non-trunk ENI: it has no /80 in
    the datastore, or it is one of the ENIs a restart found (``ipv6_setup_pending``)."""
    if eni.is_trunk:
        return False
    return not _has_prefix(eni) or eni.eni_id in state.ipv6_setup_pending


def init_step(
    state: NodeState, clock: float, actions: list[Action]
) -> tuple[NodeState, tuple[Action, ...], float | None]:
    """``reconcile`` on an IPv6 node: the next step of nodeInit (module docstring), or nothing.

    Returns the state, the actions (``actions`` first: what the pod path queued) and the next
    check time, which is None: nothing in IPv6 is timed except the excluded-ENI CIDR cleanups,
    whose earliest due time is returned when there are some.
    """
    if state.in_flight is not None:
        return state, tuple(actions), None
    config = state.config
    action: AllocateIPv6ENI | AllocateIPv6Prefix | None = None
    card = 0
    if config.subnet_discovery and not state.enis and 0 not in state.ipv6_enis_tried:
        # nodeInit: every ENI was in an excluded subnet; create one on card 0.
        action = AllocateIPv6ENI(0)
        state = state.replace(ipv6_enis_tried=tuple(sorted({*state.ipv6_enis_tried, 0})))
    if action is None:
        for ds in state.datastores:
            eni = next((e for e in ds.enis if _needs_setup(state, e)), None)
            if eni is not None:
                action, card = AllocateIPv6Prefix(eni.eni_id), ds.network_card
                break
    if action is None and not config.disable_provisioning:
        action, card, state = _next_card_eni(state)
    if action is not None:
        state = state.replace(in_flight=unchecked_in_flight(action, card, clock))
        actions.append(action)
        return state, tuple(actions), None
    due = [task.due_at for task in state.deferred_cleanups]
    return state, tuple(actions), min(due) if due else None


def _next_card_eni(state: NodeState) -> tuple[AllocateIPv6ENI | None, int, NodeState]:
    """``createSecondaryIPv6ENIs``: the next card above 0 to create an ENI on, if any; cards
    it passes over (not allowed, no room, already have ENIs) are marked as tried."""
    tried = set(state.ipv6_enis_tried)
    pending = [ds for ds in state.datastores if ds.network_card not in tried | {0}]
    if not pending:
        return None, 0, state
    if not state.attachment_allowed:
        tried.update(ds.network_card for ds in pending)
        return None, 0, state.replace(ipv6_enis_tried=tuple(sorted(tried)))
    action: AllocateIPv6ENI | None = None
    card = 0
    for ds in pending:
        tried.add(ds.network_card)
        if not ds.enis and has_room_for_eni(ds, CardPolicy.for_state(state, ds.network_card)):
            action, card = AllocateIPv6ENI(ds.network_card), ds.network_card
            break
    return action, card, state.replace(ipv6_enis_tried=tuple(sorted(tried)))


# -- answers (apply) ---------------------------------------------------------------------------


def prefix_allocated(state: NodeState, event: IPv6PrefixAllocated, clock: float) -> NodeState:
    """The answer to ``AllocateIPv6Prefix``: the first /80 listed goes into the datastore
    (``assignIPv6Prefix`` keeps ``ec2v6Prefixes[0]``); the others are ignored, never freed."""
    in_flight = state.in_flight
    action = None if in_flight is None else in_flight.action
    if not isinstance(action, AllocateIPv6Prefix) or action.eni_id != event.eni_id:
        raise UnexpectedEventError(event, f"the node is waiting for {action!r}")
    assert in_flight is not None
    prefixes = parse_ipv6_prefixes(event.prefixes)  # every one is checked, only one is used
    ds = state.datastore(in_flight.network_card)
    eni = ds.eni(event.eni_id)
    pending = tuple(e for e in state.ipv6_setup_pending if e != event.eni_id)
    if eni is None or not prefixes or _has_prefix(eni):
        return state.replace(in_flight=None, ipv6_setup_pending=pending)
    _check_unused(state, prefixes[0], event)
    new_eni, added = eni.with_added_cidrs(prefixes[:1])
    new_ds = ds.replace_eni(new_eni).replace(prefix_counter=ds.prefix_counter + added)
    return state.replace_datastore(
        new_ds, in_flight=None, last_pool_action_at=clock, ipv6_setup_pending=pending
    )


def _check_unused(state: NodeState, prefix: Cidr, event: object) -> None:
    """A /80 is on one ENI only."""
    for eni in state.enis:
        if eni.cidr(prefix.network) is not None:
            raise UnexpectedEventError(event, f"{prefix.key} is already on {eni.eni_id}")


def eni_attached(state: NodeState, event: ENIAttached, clock: float) -> NodeState:
    """The answer to ``AllocateIPv6ENI``: the ENI enters the datastore (it came with its one
    IPv6 address, which ``waitForENIAndIPsAttached`` waits for); its /80 comes next. Secondary
    IPv4 addresses and /28s are not IPv6 pod sources and are refused."""
    in_flight = state.in_flight
    action = None if in_flight is None else in_flight.action
    if not isinstance(action, AllocateIPv6ENI):
        raise UnexpectedEventError(event, f"the node is waiting for {action!r}")
    if event.network_card != action.network_card:
        raise UnexpectedEventError(event, f"the ENI was requested on card {action.network_card}")
    if event.ips or any(":" not in text for text in event.prefixes):
        raise UnexpectedEventError(event, "an IPv6 ENI carries no IPv4 secondary IPs or /28s")
    prefixes = parse_ipv6_prefixes(event.prefixes)
    if state.find_eni(event.eni_id) is not None:
        raise UnexpectedEventError(event, "ENI id already in the datastore")
    ds = state.datastore(action.network_card)
    if any(e.device_number == event.device_number for e in ds.enis):
        raise UnexpectedEventError(event, "an ENI of this card holds that device number")
    if prefixes:
        _check_unused(state, prefixes[0], event)
    eni = ENI(
        eni_id=event.eni_id,
        device_number=event.device_number,
        network_card=action.network_card,
        is_excluded=event.is_excluded,
        created_at=clock,
        cidrs=tuple(prefixes[:1]),
        subnet_id=event.subnet_id,
    )
    return state.replace_datastore(ds.with_new_eni(eni), in_flight=None, last_pool_action_at=clock)


def allocation_failed(state: NodeState, _event: AllocationFailed, _clock: float) -> NodeState:
    """An IPv6 init call failed: ipamd logs it (ENI creation) or retries setupENI; either way
    nothing waits any more, and no insufficient-CIDR backoff applies (there is no pool)."""
    return state.replace(in_flight=None)


# -- restart and the pod path --------------------------------------------------------------------


def after_restart(state: NodeState) -> NodeState:
    """nodeInit of a restarted IPv6 node: with subnet discovery, ENIs in excluded subnets are
    not set up, so they leave the datastore, with the pods restored onto them (the
    checkpoint finds no CIDR for those addresses and drops them, spec 7.4.5); every other
    non-trunk ENI is set up again (``assignIPv6Prefix`` asks EC2), ``ipv6_setup_pending``."""
    state = _drop_excluded(state)
    pending = tuple(sorted(e.eni_id for e in state.enis if not e.is_trunk))
    return state.replace(ipv6_setup_pending=pending)


def _drop_excluded(state: NodeState) -> NodeState:
    if not state.config.subnet_discovery or not any(e.is_excluded for e in state.enis):
        return state
    gone = {e.eni_id for e in state.enis if e.is_excluded}
    stores = tuple(
        Datastore.of(
            ds.network_card,
            (e for e in ds.enis if e.eni_id not in gone),
            ds.unmanaged_enis,
        )
        for ds in state.datastores
    )
    pods = {key: ref for key, ref in state.pods.items() if ref.eni_id not in gone}
    return state.replace(datastores=stores, pods=pods)


def claim(
    ds: Datastore,
    pod: str,
    clock: float,
    cooldown: float,
    policy: IterationPolicy | None = None,
    draw: int = 0,
) -> tuple[int, int, Cidr, int] | None:
    """``AssignPodIPv6Address`` on one card: the ENI map (device order, or Go's map order
    under a ``go_random`` ``policy``, N3), excluded ENIs skipped, each /80 with
    ``getUnusedIP`` (``Cidr.take_unused_ip``; which cooled entry is reused in Go's order
    under ``go_random``, N4). Returns (position of the ENI, position of the CIDR, the CIDR
    after the assignment, the address), or None."""
    enis = ds.enis
    order = range(len(enis)) if policy is None else eni_order(policy, draw, SITE_POD_ENI, ds)
    for eni_at in order:
        eni = enis[eni_at]
        if eni.is_excluded:
            continue
        for cidr_at, cidr in enumerate(eni.cidrs):  # one /80: no CIDR map order to draw
            if not cidr.is_ipv6:
                continue
            if policy is None:
                taken = cidr.take_unused_ip(pod, clock, cooldown)
            else:
                key = text_key(eni.eni_id)
                taken = go_take_unused_ip(cidr, policy, draw, key, pod, clock, cooldown)
            if taken is not None:
                return eni_at, cidr_at, taken[0], taken[1]
    return None


def pool_size(state: NodeState) -> tuple[int, int]:
    """(TotalIPs, AssignedIPs) of an IPv6 node over its cards, as ipamd counts them: each
    /80 adds its 2**48 addresses to the total (``AddIPv6CidrToStore``: ``Size()``), excluded
    ENIs left out as in IPv4."""
    total = assigned = 0
    for eni in state.enis:
        if not eni.is_excluded:
            total += sum(cidr.size for cidr in eni.cidrs if cidr.is_ipv6)
            assigned += sum(cidr.assigned for cidr in eni.cidrs if cidr.is_ipv6)
    return total, assigned


def max_pods_words(
    limits: InstanceLimits, custom_networking: bool, cards: int, node_default: int
) -> tuple[str, str]:
    """The max-pods report's formula and note for an IPv6 node with ``cards`` managed cards:
    ipamd caps nothing in IPv6 (no pool loop), so kubelet's max pods is the only limit. The
    calculator has no IPv6 input: it answers for the flags given. Raises ``ConfigError``
    where ipamd refuses IPv6 (custom networking, an instance without prefixes)."""
    Config(
        enable_ipv4=False,
        enable_ipv6=True,
        prefix_delegation=True,
        custom_networking=custom_networking,
    ).for_instance(limits)
    cards_word = "1 card" if cards == 1 else f"{cards} cards"
    formula = (
        f"IPv6: {cards_word} x one /80 prefix of 2**48 addresses; never the limit (kubelet's "
        "max pods limits the pods)"
    )
    note = (
        "IPv6: ipamd's pool does not limit pods (one /80 per ENI, no warm pool, no max-pods "
        f"cap of its own); pods are limited by kubelet's max pods alone: {node_default} by "
        "default on this type, or the calculator's value if you give it to kubelet"
    )
    return formula, note


__all__ = [
    "max_pods_words",
    "pool_size",
    "allocation_failed",
    "claim",
    "after_restart",
    "eni_attached",
    "init_step",
    "prefix_allocated",
]
