"""One ipamd pool tick: ``reconcile`` and its ``Reconciliation`` (spec 6, 7.3, 7.5).

A tick follows ``updateIPPoolIfRequired``: every card's decision is taken once at the start;
then card by card (ascending, or Go's map order under ``go_random``, spec 9 N1) the pool is
increased or decreased and an ENI may be freed. An increase runs to its end as Go's does: each
existing ENI in turn (the next after an insufficient-address failure under subnet discovery),
then a new ENI; the ENI free after it reads the datastore as the increase left it and the
statistics of the tick's start. The first tick after ``boot`` or ``restart`` is
``handlePreScaling``: increases only.

ipamd blocks on each EC2 allocation. The model stops the tick there: the call is the last
action returned, ``state.in_flight`` names it and ``state.tick`` keeps the tick's progress
(``_progress``). Once ``apply`` has folded the answer in, ``reconcile`` at the answer's clock
goes on until the tick is over (``state.tick`` None). Releases and frees do not stop it: ipamd
never reads their outcome. ipamd's own datastore changes are done in the returned state.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from vpccni_model._actions import Action, allocate_cidrs, allocate_eni
from vpccni_model._config import Config
from vpccni_model._datastore import Datastore
from vpccni_model._eni import ENI
from vpccni_model._eniconfig import eni_destination
from vpccni_model._goorder import eni_order
from vpccni_model._ipv6 import init_step as ipv6_init_step
from vpccni_model._iteration import (
    SITE_GROW,
)
from vpccni_model._nextcheck import next_check as next_check_at
from vpccni_model._progress import (
    Answer,
    Stage,
)
from vpccni_model._shrink import decrease, free_one_eni, run_deferred_cleanups
from vpccni_model._state import NodeState, begin
from vpccni_model._tickscratch import Card, Scratch
from vpccni_model._trunk import request_trunk
from vpccni_model.pool import (
    CardPolicy,
    PoolStats,
    allocatable_enis,
    eni_resources_to_allocate,
    has_room_for_eni,
    pool_too_high,
    prefixes_needed,
    should_remove_extra_enis,
)


@attrs.frozen
class Reconciliation:
    """The outcome of one ``reconcile`` call.

    ``actions`` are EC2 calls to make in order; when the tick waits on an allocation, that
    allocation is the last one and ``state.in_flight`` names it. ``next_check_at``: None while
    the tick waits (apply the answer, then reconcile again at the answer's clock to finish the
    tick), else the earliest time (on the pool-check cadence) at which another ``reconcile``
    could decide something new without any event in between, or None when only an event can
    change anything (a pod, a metadata observation). After any event, reconcile again at the
    next tick. Only timers that can change a tick's decision count (``_nextcheck``): an
    address cooling on an ENI that cannot be freed, say, brings no check, though a pod
    waiting for that address gets it once it has cooled (``sim.retry.cooling_ends``).
    ``start_error``: this call ended ipamd's pre-scaling with an error that fails
    start-up (spec 7.5); ipamd exits (``next_check_at`` None) and is restarted.
    """

    state: NodeState
    actions: tuple[Action, ...]
    next_check_at: float | None
    start_error: str | None = None


def _within(since: float | None, clock: float, window: float) -> bool:
    return since is not None and clock - since <= window


def _run(tick: Scratch) -> bool:
    """Serve the cards from ``tick.position`` on; False when the tick stopped on a call."""
    decisions = tick.decisions
    while tick.position < len(decisions):
        if not _serve(tick, tick.position):
            return False
        tick.position += 1
        if tick.stage is not Stage.DECIDE:
            tick.stage, tick.candidates, tick.want, tick.answer = Stage.DECIDE, (), 0, None
    return True


def _serve(tick: Scratch, at: int) -> bool:
    """One card of ``updateIPPoolIfRequired`` (or ``handlePreScaling``); False: waiting."""
    _, start_stats, low = tick.decisions[at]
    stage = tick.stage
    if stage is Stage.DECIDE:
        if low:
            if not _begin_increase(tick, at):
                return False
        elif not tick.pre_scaling:
            _maybe_decrease(tick, at, start_stats)
    elif stage is Stage.GROW:
        if tick.answer is Answer.NEXT_ENI:
            if not _grow(tick, at):
                return False
        else:
            _after_increase(tick, at)
    else:  # Stage.CREATE answered
        _after_increase(tick, at)
    if tick.start_error is not None:
        tick.position = len(tick.decisions)  # handlePreScaling returns at once
        return True
    if not tick.pre_scaling:
        ds, policy = tick.now(at)
        if should_remove_extra_enis(start_stats, ds, policy):
            _try_free_eni(tick, at, ds, policy)
    return True


# -- increase (spec 6.1-6.4) -------------------------------------------------------------------


def _begin_increase(tick: Scratch, at: int) -> bool:
    """``increaseDatastorePool``: the gates, then the ENI list of ``tryAssignCidrs``."""
    state, config = tick.state, tick.config
    backoff = config.insufficient_cidr_backoff
    if not tick.state.attachment_allowed or _within(
        state.last_insufficient_cidr_at, tick.clock, backoff
    ):
        _after_increase(tick, at)
        return True
    card = tick.fresh(at)
    policy, stats = card.policy, card.stats
    if policy.prefix_delegation:
        want = prefixes_needed(stats, policy, card.target)
    else:
        want = card.target.short if card.target.defined else policy.cidrs_per_eni
    tick.want = want
    tick.stage = Stage.GROW
    if not (policy.prefix_delegation or want > 0):
        return _grow(tick, at, card, iter(()))  # short == 0 with targets: the ENI step (Q23)
    go = tick.iteration
    order = None if go is None else eni_order(go, tick.draw, SITE_GROW, card.ds)
    return _grow(tick, at, card, allocatable_enis(card.ds, policy, order))


def _grow(
    tick: Scratch, at: int, card: Card | None = None, listed: Iterator[ENI] | None = None
) -> bool:
    """``tryAssignIPs`` / ``tryAssignPrefixes`` over the ENIs ``GetAllocatableENIs`` listed
    (``listed`` when the increase starts now; else the ids left in ``tick.candidates``), then
    the ENI step (``hasRoomForEni``, ``tryAllocateENI``) when no existing ENI took it."""
    number = tick.decisions[at][0]
    if card is None:
        card = tick.fresh(at)
    policy = card.policy
    slots = policy.cidrs_per_eni
    pd = policy.prefix_delegation
    if listed is None:
        found = (card.ds.eni(eni_id) for eni_id in tick.candidates)
        listed = (eni for eni in found if eni is not None)
    for eni in listed:
        if not pd and len(eni.cidrs) >= slots:
            continue
        count = min(slots - len(eni.cidrs), tick.want)
        tick.candidates = tuple(rest.eni_id for rest in listed)
        if count < 1:
            # AllocIPAddresses makes no call for < 1 and ipamd still reports "increased".
            tick.state = tick.state.replace(last_pool_action_at=tick.clock)
            _after_increase(tick, at)
            return True
        tick.wait(allocate_cidrs(eni.eni_id, count, pd), number)
        return False
    tick.candidates = ()
    if not has_room_for_eni(card.ds, policy):
        _after_increase(tick, at)
        return True
    destination = eni_destination(tick.config, tick.state.eni_config)
    if destination is None:  # custom networking, no ENIConfig: tryAllocateENI fails, logged only
        _after_increase(tick, at)
        return True
    resources = eni_resources_to_allocate(card.stats, policy, card.target)
    if resources <= 0:
        # Q23: nothing to create, yet ipamd counts it as a pool action.
        tick.state = tick.state.replace(last_pool_action_at=tick.clock)
        _after_increase(tick, at)
        return True
    tick.stage = Stage.CREATE
    tick.wait(allocate_eni(number, resources, pd, destination), number)
    return False


def _after_increase(tick: Scratch, at: int) -> None:
    """The increase is over. Pre-scaling fails ipamd's start-up on a grow error, or when
    custom networking left the card's pool empty (spec 7.5). An increase changes the
    datastore only through an answer, after which every card is read afresh anyway."""
    if not tick.pre_scaling:
        return
    if tick.answer is Answer.ERROR:
        tick.start_error = "error while trying to increase datastore pool"
    elif tick.config.custom_networking:
        card = tick.fresh(at)
        if card.stats.total_ips == 0:
            tick.start_error = "Failed to attach any ENIs for custom networking"


# -- decrease (spec 5.5, 5.6, 6.5) -------------------------------------------------------------


def _maybe_decrease(tick: Scratch, at: int, start_stats: PoolStats) -> None:
    """``isDatastorePoolTooHigh`` on the start-of-tick statistics (the prefix count without
    warm-IP targets read fresh), then ``shouldSkipDataStorePoolDecrease``."""
    card = tick.fresh(at)
    stats = start_stats
    if card.policy.prefix_delegation and stats is not card.stats:
        stats = attrs.evolve(stats, free_prefixes=card.stats.free_prefixes)
    if not pool_too_high(stats, card.policy, card.target if stats is card.stats else None):
        return
    if _within(tick.state.last_decrease_at, tick.clock, tick.config.decrease_interval):
        return
    tick.scaled_down = True
    tick.state, released = decrease(
        tick.state, card.ds, card.policy, card.stats, card.target, tick.clock,
        tick.iteration, tick.draw,
    )  # fmt: skip
    if released:
        tick.actions.extend(released)
        tick.touched(at)


def _try_free_eni(tick: Scratch, at: int, ds: Datastore, policy: CardPolicy) -> None:
    """``tryFreeENI`` (spec 6.6): its gates, then at most one ENI freed, looking at the
    datastore ``ds`` as it is now, after this tick's increase or decrease on the card."""
    if not tick.state.attachment_allowed:
        return
    tick.state, freed = free_one_eni(tick.state, ds, policy, tick.clock, tick.iteration, tick.draw)
    if freed is not None:
        tick.actions.append(freed)
        tick.touched(at)


def reconcile(state: NodeState, config: Config, clock: float) -> Reconciliation:
    """One ipamd pool tick (``updateIPPoolIfRequired``, spec 7.3) at ``clock``, or the part of
    it after the answer to the call it waited on; the first after boot or restart is
    ``handlePreScaling`` (spec 7.5).

    ``config`` must be the configuration the node booted with (``fixed_at_boot``: ipamd
    reads its settings only at start-up; ``restart`` changes them). Actions queued by the pod
    path (``state.outbox``) come first. While the call in ``state.in_flight`` is unanswered
    nothing else happens.
    """
    state = begin(state, config, clock)
    clock = state.clock
    actions: list[Action] = list(state.outbox)
    if actions:
        state = state.replace(outbox=())
    state = run_deferred_cleanups(state, clock)
    if state.config.enable_ipv6:  # no pool loop in IPv6, no pre-scaling: nodeInit's steps
        state = state.replace(pre_scaling=False) if state.pre_scaling else state
        return Reconciliation(*ipv6_init_step(state, clock, actions))
    if state.in_flight is not None:
        return Reconciliation(state, tuple(actions), None)
    tick = Scratch(state, clock, actions)
    progress = state.tick
    if progress is not None:
        tick.resume(progress)
    else:
        pre_scaling = state.pre_scaling
        if pre_scaling:
            tick.state = state = state.replace(pre_scaling=False)
        # Security groups for pods: the CNINode write asking for a trunk ENI (_trunk), at the
        # start of a tick, before its pool decisions (and in nodeInit before pre-scaling).
        tick.state, signal = request_trunk(tick.state)
        if signal is not None:
            actions.append(signal)
        if tick.config.disable_provisioning:
            return _result(tick, busy=False)
        tick.start(pre_scaling)
    if not _run(tick):
        return Reconciliation(tick.state, tuple(tick.actions), None)
    if tick.scaled_down:
        tick.state = tick.state.replace(last_decrease_at=clock, last_pool_action_at=clock)
    if tick.resumed:
        tick.state = tick.state.replace(tick=None)
    return _result(tick, busy=True if tick.resumed or tick.pre_scaling else None)


def _result(tick: Scratch, busy: bool | None = None) -> Reconciliation:
    if tick.start_error is not None:
        next_check = None  # ipamd exits: only a restart (``restart``) goes on
    elif tick.pre_scaling:
        # nodeInit returns; the pool manager's loop sleeps half an interval before its first
        # tick (spec 7.2).
        next_check = tick.clock + tick.config.pool_check_interval / 2
    else:
        acted = bool(tick.actions) if busy is None else busy
        cards = tick.cards
        views = None
        if not acted and cards and all(card is not None for card in cards):
            # Nothing changed since the tick read its cards: they are still every card's view.
            views = [(c.ds, c.policy, c.stats, c.target) for c in cards if c is not None]
        next_check = next_check_at(tick.state, tick.clock, acted, views)
    return Reconciliation(tick.state, tuple(tick.actions), next_check, tick.start_error)
