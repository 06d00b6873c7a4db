"""One ipamd pool tick (``reconcile``) and the folding of EC2 outcomes and observations
(``apply``), spec 6-8.

The tick follows ``updateIPPoolIfRequired``: statistics for every card are taken first, then
card by card (ascending) the pool is increased, or decreased, and an ENI may be freed. What
ipamd does to its own datastore (forgetting released CIDRs and freed ENIs, stamping timers)
is already done in the returned state; what it asks of EC2 comes back as actions.

ipamd's loop waits for each EC2 allocation. The model records the outstanding allocation in
``state.in_flight`` and starts nothing else until ``apply`` folds the answer in. The rest of
the tick in which an allocation starts is evaluated on the pre-allocation datastore (ipamd
evaluates it after the call returns); this only delays by one tick an ENI free that would
coincide with an allocation.
"""

from __future__ import annotations

import math

import attrs

from vpccni_model._actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._config import Config
from vpccni_model._errors import UnexpectedEventError
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    Event,
    IPsAllocated,
    MetadataObserved,
    NodeCordoned,
    NodeTerminating,
    NodeUncordoned,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model._ipv4 import ip_to_int, parse_cidr
from vpccni_model._model import (
    ENI,
    Cidr,
    Datastore,
    InFlight,
    NodeState,
    PodIP,
    sorted_cidrs,
)
from vpccni_model._pods import check_mode
from vpccni_model.pool import (
    PoolStats,
    allocatable_enis,
    datastore_stats,
    deletable_eni,
    effective_max_pods,
    eni_resources_to_allocate,
    extra_prefixes_over_warm_target,
    freeable_cidrs,
    has_room_for_eni,
    ips_per_eni,
    pool_too_high,
    pool_too_low,
    prefixes_needed,
    should_remove_extra_enis,
    target_state,
)


@attrs.frozen
class Reconciliation:
    """The outcome of one tick.

    ``next_check_at`` is the earliest tick (on the pool-check cadence from ``clock``) at which
    another ``reconcile`` could decide something new without any event in between; None when
    only an event can change anything (an answer to ``state.in_flight``, a pod, a
    metadata observation). After any event, reconcile again at the next tick.
    """

    state: NodeState
    actions: tuple[Action, ...]
    next_check_at: float | None


class _Tick:
    """Mutable scratch for one tick; the functions below stay pure from the outside."""

    def __init__(self, state: NodeState, config: Config, clock: float) -> None:
        self.state = state
        self.config = config
        self.clock = clock
        self.actions: list[Action] = []
        self.pd = state.prefix_delegation  # fixed at boot
        # Stats by card, with the datastore value they were computed from: the pool decision
        # and the increase or decrease it leads to read the same ones.
        self.known_stats: dict[int, tuple[Datastore, PoolStats]] = {}

    def stats(self, card: int) -> PoolStats:
        ds = self.state.datastore(card)
        known = self.known_stats.get(card)
        if known is not None and known[0] is ds:
            return known[1]
        stats = datastore_stats(ds, self.pd)
        self.known_stats[card] = (ds, stats)
        return stats

    def attachment_allowed(self) -> bool:
        """``isENIAttachmentAllowed`` (spec 1.5.3)."""
        if self.state.terminating:
            return False
        return not (self.state.cordoned and not self.config.manage_enis_non_schedulable)


def _within(since: float | None, clock: float, window: float) -> bool:
    return since is not None and clock - since <= window


def _settled(state: NodeState) -> NodeState:
    """``state`` with no increase in progress (the same object when there was none)."""
    return state if state.in_flight is None else state.replace(in_flight=None)


def _increase(tick: _Tick, card: int, skipped: tuple[str, ...] = ()) -> None:
    """``increaseDatastorePool`` (spec 6.1-6.4): at most one EC2 allocation per call."""
    state, config = tick.state, tick.config
    if state.in_flight is not None and state.in_flight.action is not None:
        return
    backoff = _within(state.last_insufficient_cidr_at, tick.clock, config.insufficient_cidr_backoff)
    if backoff or not tick.attachment_allowed():
        # A continuation (``skipped``) is abandoned too: the node was cordoned or started
        # terminating between ipamd's back-to-back calls, which the model spreads over ticks.
        tick.state = _settled(state)
        return
    stats = tick.stats(card)
    ds = state.datastore(card)
    slots = state.limits.cidrs_per_eni
    if tick.pd:
        want = prefixes_needed(stats, config, network_card=card, prefix_delegation=True)
    else:
        target = target_state(stats, config, network_card=card, prefix_delegation=False)
        want = target.short if target.defined else slots
    if tick.pd or want > 0:
        for eni in allocatable_enis(ds, slots, skip_primary=config.custom_networking):
            if eni.eni_id in skipped:
                continue
            count = min(slots - len(eni.cidrs), want, slots)
            if count < 1:
                # AllocIPAddresses makes no call for < 1 and ipamd still reports "increased".
                tick.state = state.replace(last_pool_action_at=tick.clock, in_flight=None)
                return
            action: Action
            if tick.pd:
                action = AllocatePrefixes(eni.eni_id, count)
            else:
                action = AllocateIPs(eni.eni_id, count)
            tick.actions.append(action)
            tick.state = state.replace(in_flight=InFlight(action, card, tick.clock, skipped))
            return
    if not has_room_for_eni(state, config, card):
        tick.state = _settled(state)
        return
    resources = eni_resources_to_allocate(
        stats, config, network_card=card, prefix_delegation=tick.pd, limits=state.limits
    )
    if resources <= 0:
        # Q23: nothing to create, yet ipamd counts it as a pool action.
        tick.state = state.replace(last_pool_action_at=tick.clock, in_flight=None)
        return
    action = AllocateENI(card, min(resources, state.limits.cidrs_per_eni), prefixes=tick.pd)
    tick.actions.append(action)
    tick.state = state.replace(in_flight=InFlight(action, card, tick.clock, skipped))


def _decrease(tick: _Tick, card: int) -> None:
    """``decreaseDatastorePool`` (spec 6.5): release empty CIDRs of either kind, ENI by ENI.

    Cooling addresses do not protect a CIDR (Q2); a mismatched-kind CIDR still counts one
    unit of ``over`` (Q7). Released CIDRs enter the reconcile cooldown cache.
    """
    state, config = tick.state, tick.config
    stats = tick.stats(card)
    target = target_state(stats, config, network_card=card, prefix_delegation=tick.pd)
    over = target.over
    if not target.defined:
        over = extra_prefixes_over_warm_target(stats, config, prefix_delegation=tick.pd)
    if over <= 0:
        return
    ds = state.datastore(card)
    cache = state.cooldown_copy()
    enis = list(ds.enis)
    prefix_counter = ds.prefix_counter
    for index, eni in enumerate(enis):
        take = freeable_cidrs(eni)[:over]
        if not take:
            continue
        enis[index] = eni.without_cidrs({c.network for c in take})
        prefixes = tuple(c for c in take if c.is_prefix)
        singles = tuple(c for c in take if not c.is_prefix)
        prefix_counter -= len(prefixes)
        for cidr in take:
            cache[cidr.cooldown_key] = tick.clock
        if prefixes:
            tick.actions.append(ReleasePrefixes(eni.eni_id, tuple(c.key for c in prefixes)))
        if singles:
            tick.actions.append(ReleaseIPs(eni.eni_id, tuple(c.cooldown_key for c in singles)))
        over -= len(take)
        if over <= 0:
            break
    new_ds = ds.replace(enis=tuple(enis), prefix_counter=prefix_counter)
    tick.state = state.replace_datastore(new_ds, reconcile_cooldown=cache)


def _try_free_eni(tick: _Tick, card: int) -> None:
    """``tryFreeENI`` (spec 6.6): drop at most one deletable ENI from the datastore, free it."""
    if not tick.attachment_allowed():
        return
    state, config = tick.state, tick.config
    if card == 0:
        warm, minimum = config.warm_ip_target, config.minimum_ip_target
    else:
        warm, minimum = 1, 1
    ds = state.datastore(card)
    eni = deletable_eni(
        ds,
        warm_ip_target=warm,
        minimum_ip_target=minimum,
        warm_prefix_target=config.warm_prefix_target,
        prefix_delegation=tick.pd,
        clock=tick.clock,
        cooldown=state.config.ip_cooldown_period,
        min_eni_lifetime=config.min_eni_lifetime,
    )
    if eni is None:
        return
    new_ds = ds.replace(
        enis=tuple(e for e in ds.enis if e.eni_id != eni.eni_id),
        prefix_counter=ds.prefix_counter - eni.prefix_cidrs,
    )
    tick.state = state.replace_datastore(new_ds)
    tick.actions.append(FreeENI(eni.eni_id))


def _run_deferred_cleanups(state: NodeState, clock: float) -> NodeState:
    """``deallocateEmptyCIDR`` tasks that are due: datastore-only delete, no counter update
    (Q10)."""
    due = [task for task in state.deferred_cleanups if task.due_at <= clock]
    if not due:
        return state
    pending = tuple(task for task in state.deferred_cleanups if task.due_at > clock)
    for task in due:
        ds = state.datastore(task.network_card)
        eni = ds.eni(task.eni_id)
        if eni is None or not eni.is_excluded:
            continue
        cidr = eni.cidr(task.cidr)
        if cidr is None or cidr.assigned != 0:
            continue
        new_eni = eni.without_cidrs((task.cidr,))
        state = state.replace_datastore(ds.replace_eni(new_eni))
    return state.replace(deferred_cleanups=pending)


def _next_tick_after(clock: float, interval: float, boundary: float, strict: bool) -> float:
    """First tick ``clock + k*interval`` (k >= 1) past ``boundary`` (at or past it if not
    ``strict``)."""
    steps = max(1, math.ceil((boundary - clock) / interval))
    candidate = clock + steps * interval
    if strict and candidate <= boundary:
        candidate += interval
    return candidate


def _next_check(state: NodeState, config: Config, clock: float, busy: bool) -> float | None:
    interval = config.pool_check_interval
    if state.in_flight is not None and state.in_flight.action is not None:
        return None
    if busy or state.in_flight is not None or state.outbox:
        return clock + interval
    candidates: list[float] = []
    cooldown = state.config.ip_cooldown_period

    def later(boundary: float | None, strict: bool) -> None:
        if boundary is None:
            return
        if boundary > clock or (strict and boundary >= clock):
            candidates.append(_next_tick_after(clock, interval, boundary, strict))

    for ds in state.datastores:
        for eni in ds.enis:
            if not eni.is_primary:
                later(eni.created_at + config.min_eni_lifetime, strict=False)
            if eni.latest_unassigned_at is not None:
                later(eni.latest_unassigned_at + cooldown, strict=True)
    if state.last_decrease_at is not None:
        later(state.last_decrease_at + config.decrease_interval, strict=True)
    if state.last_insufficient_cidr_at is not None:
        later(state.last_insufficient_cidr_at + config.insufficient_cidr_backoff, strict=True)
    for task in state.deferred_cleanups:
        later(task.due_at, strict=False)
    return min(candidates) if candidates else None


def reconcile(state: NodeState, config: Config, clock: float) -> Reconciliation:
    """One ipamd pool tick (``updateIPPoolIfRequired``, spec 7.3) at ``clock``.

    ``config`` may change warm targets between calls; what ipamd fixes at start-up (prefix
    delegation, cooldown, multi-NIC) must match the state (``ConfigError`` otherwise).
    Actions queued by the pod path (``state.outbox``) come first.
    """
    config = check_mode(state, config)
    state = state.at(clock)
    actions: list[Action] = list(state.outbox)
    if actions:
        state = state.replace(outbox=())
    state = _run_deferred_cleanups(state, clock)
    tick = _Tick(state, config, clock)
    tick.actions = actions
    in_flight = state.in_flight
    if in_flight is not None:
        if in_flight.action is None:
            _increase(tick, in_flight.network_card, in_flight.skipped_enis)
        return Reconciliation(
            tick.state,
            tuple(tick.actions),
            _next_check(tick.state, config, clock, bool(tick.actions)),
        )
    if config.disable_provisioning:
        return Reconciliation(state, tuple(actions), _next_check(state, config, clock, False))
    limits = state.limits
    cap = effective_max_pods(state, config)
    decisions: list[tuple[int, PoolStats, bool]] = []
    for ds in state.datastores:
        stats = datastore_stats(ds, tick.pd)
        tick.known_stats[ds.network_card] = (ds, stats)
        low = pool_too_low(
            stats,
            config,
            network_card=ds.network_card,
            prefix_delegation=tick.pd,
            limits=limits,
            max_pods=cap,
        )
        decisions.append((ds.network_card, stats, low))
    skip_decrease = _within(state.last_decrease_at, clock, config.decrease_interval)
    scaled_down = False
    for card, stats, low in decisions:
        if low:
            _increase(tick, card)
        elif not skip_decrease and pool_too_high(
            stats, config, network_card=card, prefix_delegation=tick.pd
        ):
            scaled_down = True
            _decrease(tick, card)
        if should_remove_extra_enis(
            stats,
            tick.state.datastore(card),
            config,
            network_card=card,
            prefix_delegation=tick.pd,
            limits=limits,
        ):
            _try_free_eni(tick, card)
    if scaled_down:
        tick.state = tick.state.replace(last_decrease_at=clock, last_pool_action_at=clock)
    return Reconciliation(
        tick.state, tuple(tick.actions), _next_check(tick.state, config, clock, bool(tick.actions))
    )


def reconcile_due(state: NodeState, config: Config, clock: float) -> bool:
    """Whether ipamd's 60 s ``nodeIPPoolReconcile`` would run now (spec 7.7)."""
    if config.pod_eni and not state.datastore(0).has_trunk:
        return True
    return not _within(state.last_pool_action_at, clock, config.reconcile_interval)


# -- apply ---------------------------------------------------------------------------------


def _add_cidrs(eni: ENI, cidrs: list[Cidr]) -> tuple[ENI, int]:
    """Add CIDRs to an ENI, ignoring duplicates; returns the ENI and the prefixes added."""
    have = {c.network for c in eni.cidrs}
    new = [c for c in cidrs if c.network not in have]
    unique: dict[int, Cidr] = {c.network: c for c in new}
    if not unique:
        return eni, 0
    merged = sorted_cidrs((*eni.cidrs, *unique.values()))
    return attrs.evolve(eni, cidrs=merged), sum(c.is_prefix for c in unique.values())


def _parse_ips(ips: tuple[str, ...], field: str) -> list[Cidr]:
    return [Cidr(network=ip_to_int(ip, field=field), is_prefix=False) for ip in ips]


def _parse_prefixes(prefixes: tuple[str, ...], field: str) -> list[Cidr]:
    out = []
    for text in prefixes:
        network, is_prefix = parse_cidr(text if "/" in text else f"{text}/28", field=field)
        if not is_prefix:
            raise UnexpectedEventError(text, f"{field} must hold /28 prefixes")
        out.append(Cidr(network=network, is_prefix=True))
    return out


def _expect(state: NodeState, event: Event, kind: type) -> InFlight:
    in_flight = state.in_flight
    if in_flight is None or not isinstance(in_flight.action, kind):
        waiting = None if in_flight is None else in_flight.action
        raise UnexpectedEventError(event, f"the node is waiting for {waiting!r}")
    return in_flight


def _grow(state: NodeState, event: IPsAllocated | PrefixesAllocated, clock: float) -> NodeState:
    kind = AllocateIPs if isinstance(event, IPsAllocated) else AllocatePrefixes
    in_flight = _expect(state, event, kind)
    assert in_flight.action is not None
    if getattr(in_flight.action, "eni_id", None) != event.eni_id:
        raise UnexpectedEventError(event, f"the outstanding call is {in_flight.action!r}")
    if isinstance(event, IPsAllocated):
        cidrs = _parse_ips(event.ips, "ips")
    else:
        cidrs = _parse_prefixes(event.prefixes, "prefixes")
    ds = state.datastore(in_flight.network_card)
    eni = ds.eni(event.eni_id)
    if eni is None:
        return state.replace(in_flight=None)
    new_eni, added_prefixes = _add_cidrs(eni, cidrs)
    new_ds = ds.replace_eni(new_eni).replace(prefix_counter=ds.prefix_counter + added_prefixes)
    return state.replace_datastore(new_ds, in_flight=None, last_pool_action_at=clock)


def _attach(state: NodeState, event: ENIAttached, clock: float) -> NodeState:
    in_flight = _expect(state, event, AllocateENI)
    action = in_flight.action
    assert isinstance(action, AllocateENI)
    if event.network_card != action.network_card:
        raise UnexpectedEventError(event, f"the ENI was requested on card {action.network_card}")
    ips = _parse_ips(event.ips, "ips")
    prefixes = _parse_prefixes(event.prefixes, "prefixes")
    got = len(prefixes) if action.prefixes else len(ips)
    accepted = got >= action.count or got >= (2 if action.prefixes else 1)
    if not accepted:
        # WaitForENIAndIPsAttached gave up (Q14): the ENI stays attached outside the datastore
        # until a reconcile observes it.
        return state.replace(in_flight=None)
    ds = state.datastore(action.network_card)
    if state.find_eni(event.eni_id) is not None:
        raise UnexpectedEventError(event, "ENI id already in the datastore")
    # A reused device index is fine (after an out-of-band detach the datastore can still hold
    # a stale ENI there, as ipamd's can), but never the primary ENI's, which cannot detach.
    if any(e.is_primary and e.device_number == event.device_number for e in ds.enis):
        raise UnexpectedEventError(event, "the primary ENI holds that device number")
    eni = ENI(
        eni_id=event.eni_id,
        device_number=event.device_number,
        network_card=action.network_card,
        is_excluded=event.is_excluded,
        created_at=clock,
    )
    eni, added_prefixes = _add_cidrs(eni, [*ips, *prefixes])
    new_ds = Datastore(
        network_card=ds.network_card,
        enis=tuple(sorted((*ds.enis, eni), key=ENI.sort_key)),
        prefix_counter=ds.prefix_counter + added_prefixes,
        unmanaged_enis=ds.unmanaged_enis,
    )
    return state.replace_datastore(new_ds, in_flight=None, last_pool_action_at=clock)


def _fail(state: NodeState, event: AllocationFailed, clock: float) -> NodeState:
    in_flight = state.in_flight
    if in_flight is None or in_flight.action is None:
        raise UnexpectedEventError(event, "no EC2 allocation is outstanding")
    action = in_flight.action
    insufficient = event.code in Ec2Error.INSUFFICIENT
    if isinstance(action, AllocateENI):
        if insufficient:
            return state.replace(in_flight=None, last_insufficient_cidr_at=clock)
        return state.replace(in_flight=None)
    assert isinstance(action, AllocateIPs | AllocatePrefixes)
    if insufficient and state.config.subnet_discovery:
        # Spec 6.2: try the next allocatable ENI, then a new ENI, in the same increase.
        return state.replace(
            in_flight=InFlight(
                None,
                in_flight.network_card,
                in_flight.started_at,
                (*in_flight.skipped_enis, action.eni_id),
            ),
        )
    if insufficient:
        return state.replace(in_flight=None, last_insufficient_cidr_at=clock)
    return state.replace(in_flight=None)


def _force_delete_cidrs(eni: ENI, keep: set[int], pods: dict[str, PodIP]) -> tuple[ENI, int]:
    """Drop CIDRs not in ``keep``, unassigning their pods (Q26); returns prefixes dropped."""
    dropped = [c for c in eni.cidrs if c.network not in keep]
    if not dropped:
        return eni, 0
    for cidr in dropped:
        for entry in cidr.addresses:
            if entry.pod is not None:
                pods.pop(entry.pod, None)
    gone = {c.network for c in dropped}
    return eni.without_cidrs(gone), sum(c.is_prefix for c in dropped)


def _check_observation(event: MetadataObserved) -> None:
    """Refuse what real IMDS cannot show: one ENI twice, two ENIs at one device index of a
    card, or one address on two ENIs (or a /32 inside a listed /28)."""
    ids: set[str] = set()
    devices: set[tuple[int, int]] = set()
    owner: dict[int, str] = {}
    for seen in event.enis:
        if seen.eni_id in ids:
            raise UnexpectedEventError(event, f"{seen.eni_id} is listed twice")
        ids.add(seen.eni_id)
        slot = (seen.network_card, seen.device_number)
        if slot in devices:
            raise UnexpectedEventError(event, f"two ENIs at card {slot[0]} device {slot[1]}")
        devices.add(slot)
        for cidr in _parse_ips(seen.ips, "ips") + _parse_prefixes(seen.prefixes, "prefixes"):
            for ip in range(cidr.network, cidr.network + cidr.size):
                other = owner.setdefault(ip, seen.eni_id)
                if other != seen.eni_id:
                    raise UnexpectedEventError(
                        event, f"{cidr.key} on {seen.eni_id} overlaps an address of {other}"
                    )


def _observe(state: NodeState, event: MetadataObserved, clock: float) -> NodeState:
    """``nodeIPPoolReconcile`` (spec 7.7) against what IMDS shows; skipped when not due."""
    _check_observation(event)
    config = state.config
    if state.in_flight is not None:
        raise UnexpectedEventError(event, "ipamd's loop is blocked on an EC2 allocation")
    if not reconcile_due(state, config, clock):
        return state
    pods = state.pods_copy()
    cache = state.cooldown_copy()
    stores: list[Datastore] = []
    for ds in state.datastores:
        observed = [o for o in event.enis if o.network_card == ds.network_card]
        managed: dict[str, ObservedENI] = {o.eni_id: o for o in observed if o.managed}
        known = {e.eni_id for e in ds.enis}
        unmanaged = ds.unmanaged_enis
        if any(eni_id not in known for eni_id in managed):
            unmanaged = len(observed) - len(managed)
        counter = ds.prefix_counter
        enis: list[ENI] = []
        for eni in ds.enis:
            seen = managed.get(eni.eni_id)
            if seen is None:
                # Swept: no longer attached. Force removal double-counts when it had pods (Q9).
                _, dropped = _force_delete_cidrs(eni, set(), pods)
                counter -= dropped * (2 if eni.has_pods else 1)
                continue
            wanted = _parse_ips(seen.ips, "ips") + _parse_prefixes(seen.prefixes, "prefixes")
            listed = {c.network for c in wanted}
            have = {c.network for c in eni.cidrs}
            addable: list[Cidr] = []
            for cidr in wanted:
                if cidr.network in have:
                    continue
                freed_at = cache.get(cidr.cooldown_key)
                if freed_at is not None:
                    if clock < freed_at + config.reconcile_cooldown:
                        continue
                    del cache[cidr.cooldown_key]
                addable.append(cidr)
            eni, dropped = _force_delete_cidrs(eni, listed, pods)
            counter -= dropped
            eni, added = _add_cidrs(eni, addable)
            counter += added
            enis.append(eni)
        for eni_id, seen in managed.items():
            if eni_id in known:
                continue
            new_eni = ENI(
                eni_id=eni_id,
                device_number=seen.device_number,
                network_card=ds.network_card,
                is_primary=eni_id == state.primary_eni_id,
                is_trunk=seen.is_trunk,
                is_efa=seen.is_efa,
                is_excluded=seen.is_excluded,
                created_at=clock,
            )
            cidrs = _parse_ips(seen.ips, "ips") + _parse_prefixes(seen.prefixes, "prefixes")
            new_eni, added = _add_cidrs(new_eni, cidrs)
            counter += added
            enis.append(new_eni)
        stores.append(
            Datastore(
                network_card=ds.network_card,
                enis=tuple(sorted(enis, key=ENI.sort_key)),
                prefix_counter=counter,
                unmanaged_enis=unmanaged,
            )
        )
    return state.replace(
        datastores=tuple(stores),
        pods=pods,
        reconcile_cooldown=cache,
        last_pool_action_at=clock,
    )


def apply(state: NodeState, event: Event, clock: float) -> NodeState:
    """Fold one event into the state (spec 6.2-6.4, 7.7, 8).

    Allocation outcomes must answer ``state.in_flight`` (``UnexpectedEventError`` otherwise).
    """
    state = state.at(clock)
    if isinstance(event, IPsAllocated | PrefixesAllocated):
        return _grow(state, event, clock)
    if isinstance(event, ENIAttached):
        return _attach(state, event, clock)
    if isinstance(event, AllocationFailed):
        return _fail(state, event, clock)
    if isinstance(event, MetadataObserved):
        return _observe(state, event, clock)
    if isinstance(event, NodeCordoned):
        return state.replace(cordoned=True)
    if isinstance(event, NodeUncordoned):
        return state.replace(cordoned=False)
    if isinstance(event, NodeTerminating):
        return state.replace(terminating=True)
    raise UnexpectedEventError(event, "not an event this model knows")


__all__ = ["Reconciliation", "apply", "reconcile", "reconcile_due", "ips_per_eni"]
