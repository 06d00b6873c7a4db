"""One ipamd pool tick: ``reconcile``, its ``Reconciliation`` and the next check time (spec 6, 7.3).

The tick follows ``updateIPPoolIfRequired``: a view of every card (datastore, statistics,
policy, targets) is taken first, then card by card (ascending) the pool is increased, or
decreased, and an ENI may be freed. Under the node's ``go_random`` iteration policy the card
order, the ENI grown, the ENIs and CIDRs released and the ENI freed follow Go's map order
(spec 9 N1, N2, N5-N7), drawn from the clock. What ipamd does to its own datastore
(forgetting released CIDRs and freed ENIs, stamping timers) is already done in the returned
state; what it asks of EC2 comes back as actions.

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
    allocate_cidrs,
    allocate_eni,
    free_eni,
    release_ips,
    release_prefixes,
)
from vpccni_model._config import Config
from vpccni_model._datastore import Datastore, unchecked_in_flight
from vpccni_model._goorder import cidr_order, eni_infos_order, eni_order
from vpccni_model._ipv6 import init_step as ipv6_init_step
from vpccni_model._iteration import (
    SITE_CARDS,
    SITE_DECREASE_ENI,
    SITE_FREE_ENI,
    SITE_FREEABLE,
    SITE_GROW,
    IterationPolicy,
    clock_key,
    visit_order,
)
from vpccni_model._model import Cidr
from vpccni_model._state import NodeState, begin
from vpccni_model.pool import (
    CardPolicy,
    PoolStats,
    TargetState,
    allocatable_enis,
    datastore_stats,
    deletable_eni,
    eni_resources_to_allocate,
    extra_prefixes_over_warm_target,
    freeable_cidrs,
    has_room_for_eni,
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


class _Card:
    """One card as the tick sees it when it starts: computed once, read by every step."""

    __slots__ = ("ds", "policy", "stats", "target")

    def __init__(self, ds: Datastore, policy: CardPolicy) -> None:
        self.ds = ds
        self.policy = policy
        self.stats: PoolStats = datastore_stats(ds, policy.prefix_delegation)
        self.target: TargetState = target_state(self.stats, policy)


class _Tick:
    """Mutable scratch for one tick; the functions below stay pure from the outside."""

    def __init__(self, state: NodeState, clock: float, actions: list[Action]) -> None:
        self.state = state
        self.config: Config = state.config
        self.clock = clock
        self.actions = actions
        # Go's map order (spec 9) when the node's policy is go_random; None keeps the model's.
        iteration = state.iteration
        if iteration.is_random:
            self.iteration: IterationPolicy | None = iteration
            self.draw = clock_key(clock)
        else:
            self.iteration = None
            self.draw = 0

    def card(self, network_card: int) -> _Card:
        state = self.state
        return _Card(state.datastore(network_card), CardPolicy.for_state(state, network_card))

    def attachment_allowed(self) -> bool:
        """``isENIAttachmentAllowed`` (spec 1.5.3)."""
        if self.state.terminating:
            return False
        return not (self.state.cordoned and not self.config.manage_enis_non_schedulable)


def _network(cidr: Cidr) -> int:
    return cidr.network


def _within(since: float | None, clock: float, window: float) -> bool:
    return since is not None and clock - since <= window


def _settled(state: NodeState) -> NodeState:
    """``state`` with no increase in progress (the same object when there was none)."""
    return state if state.in_flight is None else state.replace(in_flight=None)


def _increase(tick: _Tick, card: _Card, skipped: tuple[str, ...] = ()) -> None:
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
    policy, stats, number = card.policy, card.stats, card.ds.network_card
    slots = policy.cidrs_per_eni
    pd = policy.prefix_delegation
    if pd:
        want = prefixes_needed(stats, policy, card.target)
    else:
        want = card.target.short if card.target.defined else slots
    if pd or want > 0:
        go = tick.iteration
        order = None if go is None else eni_order(go, tick.draw, SITE_GROW, card.ds)
        for eni in allocatable_enis(card.ds, policy, order):
            if eni.eni_id in skipped:
                continue
            count = min(slots - len(eni.cidrs), want)
            if count < 1:
                # AllocIPAddresses makes no call for < 1 and ipamd still reports "increased".
                tick.state = state.replace(last_pool_action_at=tick.clock, in_flight=None)
                return
            grow = allocate_cidrs(eni.eni_id, count, pd)
            tick.actions.append(grow)
            tick.state = state.replace(
                in_flight=unchecked_in_flight(grow, number, tick.clock, skipped)
            )
            return
    if not has_room_for_eni(card.ds, policy):
        tick.state = _settled(state)
        return
    resources = eni_resources_to_allocate(stats, policy, card.target)
    if resources <= 0:
        # Q23: nothing to create, yet ipamd counts it as a pool action.
        tick.state = state.replace(last_pool_action_at=tick.clock, in_flight=None)
        return
    action = allocate_eni(number, resources, pd)
    tick.actions.append(action)
    tick.state = state.replace(in_flight=unchecked_in_flight(action, number, tick.clock, skipped))


def _decrease(tick: _Tick, card: _Card) -> None:
    """``decreaseDatastorePool`` (spec 6.5): release empty CIDRs of either kind, ENI by ENI.

    Cooling addresses do not protect a CIDR (Q2); a mismatched-kind CIDR still counts one
    unit of ``over`` (Q7). Released CIDRs enter the reconcile cooldown cache.
    """
    state = tick.state
    over = card.target.over
    if not card.target.defined:
        over = extra_prefixes_over_warm_target(card.stats, card.policy)
    if over <= 0:
        return
    ds = card.ds
    cache = state.cooldown_copy()
    enis = list(ds.enis)
    prefix_counter = ds.prefix_counter
    go = tick.iteration
    visits: range | list[int] = range(len(enis))
    if go is not None:
        visits = eni_infos_order(go, tick.draw, SITE_DECREASE_ENI, ds)
    for index in visits:
        eni = enis[index]
        if go is None:
            take = freeable_cidrs(eni)[:over]
        else:  # Go's CIDR map order picks which; the release lists them by address
            chosen = freeable_cidrs(eni, cidr_order(go, tick.draw, SITE_FREEABLE, eni))[:over]
            take = tuple(sorted(chosen, key=_network))
        if not take:
            continue
        enis[index] = eni.without_cidrs({c.network for c in take})
        prefixes = tuple(c for c in take if c.is_prefix)
        singles = tuple(c for c in take if not c.is_prefix)
        prefix_counter -= len(prefixes)
        for cidr in take:
            cache[cidr.cooldown_key] = tick.clock
        if prefixes:
            tick.actions.append(release_prefixes(eni.eni_id, tuple(c.key for c in prefixes)))
        if singles:
            tick.actions.append(release_ips(eni.eni_id, tuple(c.cooldown_key for c in singles)))
        over -= len(take)
        if over <= 0:
            break
    new_ds = ds.replace(enis=tuple(enis), prefix_counter=prefix_counter)
    tick.state = state.replace_datastore(new_ds, reconcile_cooldown=cache)


def _try_free_eni(tick: _Tick, card: _Card) -> None:
    """``tryFreeENI`` (spec 6.6): drop at most one deletable ENI from the datastore, free it.

    It looks at the datastore as it is now, after this tick's decrease on the card.
    """
    if not tick.attachment_allowed():
        return
    state = tick.state
    ds = state.datastore(card.ds.network_card)
    go = tick.iteration
    order = None if go is None else eni_order(go, tick.draw, SITE_FREE_ENI, ds)
    eni = deletable_eni(ds, card.policy, tick.clock, order)
    if eni is None:
        return
    new_ds = ds.replace(
        enis=tuple(e for e in ds.enis if e.eni_id != eni.eni_id),
        prefix_counter=ds.prefix_counter - eni.prefix_cidrs,
    )
    tick.state = state.replace_datastore(new_ds)
    tick.actions.append(free_eni(eni.eni_id))


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


def reconcile(state: NodeState, config: Config, clock: float) -> Reconciliation:
    """One ipamd pool tick (``updateIPPoolIfRequired``, spec 7.3) at ``clock``.

    ``config`` must be the configuration the node booted with (``fixed_at_boot``: ipamd
    reads its settings only at start-up; ``restart`` changes them). Actions queued by the pod
    path (``state.outbox``) come first.
    """
    state = begin(state, config, clock)
    clock = state.clock
    actions: list[Action] = list(state.outbox)
    if actions:
        state = state.replace(outbox=())
    state = _run_deferred_cleanups(state, clock)
    if state.config.enable_ipv6:  # no pool loop in IPv6: only nodeInit's steps (_ipv6)
        return Reconciliation(*ipv6_init_step(state, clock, actions))
    tick = _Tick(state, clock, actions)
    in_flight = state.in_flight
    if in_flight is not None:
        if in_flight.action is None:
            _increase(tick, tick.card(in_flight.network_card), in_flight.skipped_enis)
        return _result(tick)
    if tick.config.disable_provisioning:
        return _result(tick, busy=False)
    cards = [_Card(ds, CardPolicy.for_state(state, ds.network_card)) for ds in state.datastores]
    lows = [pool_too_low(card.stats, card.policy, card.target) for card in cards]
    skip_decrease = _within(state.last_decrease_at, clock, tick.config.decrease_interval)
    scaled_down = False
    go = tick.iteration
    if go is not None and len(cards) > 1:  # N1: the map[int]Decisions, made afresh each tick
        order = visit_order(
            go, tick.draw, SITE_CARDS, SITE_CARDS, tick.draw, len(cards),
            lambda: [card.ds.network_card for card in cards],
        )  # fmt: skip
        cards, lows = [cards[i] for i in order], [lows[i] for i in order]
    for card, low in zip(cards, lows, strict=True):
        if low:
            _increase(tick, card)
        elif not skip_decrease and pool_too_high(card.stats, card.policy, card.target):
            scaled_down = True
            _decrease(tick, card)
        number = card.ds.network_card
        if should_remove_extra_enis(card.stats, tick.state.datastore(number), card.policy):
            _try_free_eni(tick, card)
    if scaled_down:
        tick.state = tick.state.replace(last_decrease_at=clock, last_pool_action_at=clock)
    return _result(tick)


def _result(tick: _Tick, busy: bool | None = None) -> Reconciliation:
    acted = bool(tick.actions) if busy is None else busy
    return Reconciliation(tick.state, tuple(tick.actions), _next_check(tick, acted))


# -- next check time ---------------------------------------------------------------------------

_MAX_STEPS = float(1 << 53)
"""Ticks ahead beyond which ``clock + k * interval`` is no longer exact: never scheduled."""


def _next_tick_after(clock: float, interval: float, boundary: float, strict: bool) -> float | None:
    """First tick ``clock + k*interval`` (k >= 1) past ``boundary`` (at or past it if not
    ``strict``); None when it lies too far ahead to be represented exactly."""
    ahead = (boundary - clock) / interval
    if not ahead < _MAX_STEPS:
        return None
    steps = max(1, math.ceil(ahead))
    candidate = clock + steps * interval
    if strict and candidate <= boundary:
        candidate += interval
    return candidate


def _next_check(tick: _Tick, busy: bool) -> float | None:
    state, config, clock = tick.state, tick.config, tick.clock
    interval = config.pool_check_interval
    if state.in_flight is not None and state.in_flight.action is not None:
        return None
    if busy or state.in_flight is not None or state.outbox:
        return clock + interval
    candidates: list[float] = []
    cooldown = config.ip_cooldown_period

    def later(boundary: float | None, strict: bool) -> None:
        if boundary is None:
            return
        if boundary > clock or (strict and boundary >= clock):
            candidate = _next_tick_after(clock, interval, boundary, strict)
            if candidate is not None:
                candidates.append(candidate)

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


__all__ = ["Reconciliation", "reconcile"]
