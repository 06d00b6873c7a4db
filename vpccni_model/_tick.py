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

import attrs

from vpccni_model._actions import Action, Allocation, allocate_cidrs, allocate_eni
from vpccni_model._config import Config
from vpccni_model._datastore import Datastore, unchecked_in_flight
from vpccni_model._eniconfig import eni_destination
from vpccni_model._goorder import eni_order
from vpccni_model._ipv6 import init_step as ipv6_init_step
from vpccni_model._iteration import SITE_CARDS, SITE_GROW, clock_key, visit_order
from vpccni_model._nextcheck import next_check as next_check_at
from vpccni_model._progress import (
    Answer,
    CardDecision,
    Stage,
    TickProgress,
    unchecked_decision,
)
from vpccni_model._shrink import decrease, free_one_eni, run_deferred_cleanups
from vpccni_model._state import NodeState, begin
from vpccni_model._trunk import request_trunk
from vpccni_model.pool import (
    CardPolicy,
    PoolStats,
    TargetState,
    allocatable_enis,
    datastore_stats,
    eni_resources_to_allocate,
    has_room_for_eni,
    pool_too_high,
    pool_too_low,
    prefixes_needed,
    should_remove_extra_enis,
    target_state,
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
    next tick. ``start_error``: this call ended ipamd's pre-scaling with an error that fails
    start-up (spec 7.5); ipamd exits (``next_check_at`` None) and is restarted.
    """

    state: NodeState
    actions: tuple[Action, ...]
    next_check_at: float | None
    start_error: str | None = None


class _Card:
    """One card as the tick sees it at one moment: computed once, read by the steps after."""

    __slots__ = ("ds", "policy", "stats", "target")

    def __init__(self, ds: Datastore, policy: CardPolicy) -> None:
        self.ds = ds
        self.policy = policy
        self.stats: PoolStats = datastore_stats(ds, policy.prefix_delegation)
        self.target: TargetState = target_state(self.stats, policy)


class _Tick:
    """Mutable scratch for one ``reconcile`` call; the functions below stay pure from outside.

    ``resumed``: this call goes on with a tick started by an earlier call, so time has passed
    and pods may have come and gone: what Go reads fresh is computed again, not taken from the
    decisions of the tick's start.
    """

    def __init__(self, state: NodeState, clock: float, actions: list[Action]) -> None:
        self.state = state
        self.config: Config = state.config
        self.clock = clock
        self.actions = actions
        self.resumed = False
        self.start_error: str | None = None
        self.pre_scaling = False
        self.scaled_down = False
        self.started_at = clock
        self.decisions: list[CardDecision] = []
        self.cards: list[_Card | None] = []  # the start-of-tick view, while it is still fresh
        self.position = 0
        self.stage = Stage.DECIDE
        self.candidates: tuple[str, ...] = ()
        self.want = 0
        self.answer: Answer | None = None
        iteration = state.iteration
        self.iteration = iteration if iteration.is_random else None
        self.draw = clock_key(clock) if iteration.is_random else 0

    def start(self, pre_scaling: bool) -> None:
        """``isDatastorePoolTooLow`` for every card, once, in the order the tick visits them."""
        state = self.state
        self.pre_scaling = pre_scaling
        cards = [_Card(ds, CardPolicy.for_state(state, ds.network_card)) for ds in state.datastores]
        go = self.iteration
        if go is not None and len(cards) > 1:  # N1: the map[int]Decisions, made afresh each tick
            order = visit_order(
                go, self.draw, SITE_CARDS, SITE_CARDS, self.draw, len(cards),
                lambda: [card.ds.network_card for card in cards],
            )  # fmt: skip
            cards = [cards[i] for i in order]
        self.cards = list(cards)
        self.decisions = [
            unchecked_decision(
                card.ds.network_card, card.stats, pool_too_low(card.stats, card.policy, card.target)
            )
            for card in cards
        ]

    def resume(self, progress: TickProgress) -> None:
        self.resumed = True
        self.pre_scaling = progress.pre_scaling
        self.scaled_down = progress.scaled_down
        self.started_at = progress.started_at
        self.decisions = list(progress.cards)
        self.cards = [None] * len(self.decisions)
        self.position = progress.position
        self.stage = progress.stage
        self.candidates = progress.candidates
        self.want = progress.want
        # No answer recorded: the call returned nothing ipamd could use.
        self.answer = Answer.DONE if progress.answer is None else progress.answer
        if self.iteration is not None:
            self.draw = progress.draw

    def progress(self) -> TickProgress:
        return TickProgress(
            self.started_at, tuple(self.decisions), self.position, self.stage, self.candidates,
            self.want, None, self.pre_scaling, self.scaled_down, self.draw,
        )  # fmt: skip

    def fresh(self, at: int) -> _Card:
        """The card at position ``at`` as Go would read it now (``datastoreTargetState(nil)``,
        ``GetIPStats``): the start-of-tick view while nothing can have changed it."""
        card = self.cards[at]
        if card is None:
            number = self.decisions[at].network_card
            card = _Card(self.state.datastore(number), CardPolicy.for_state(self.state, number))
            self.cards[at] = card
        return card

    def touched(self, at: int) -> None:
        """The card's datastore changed: later reads compute afresh."""
        self.cards[at] = None

    def now(self, at: int) -> tuple[Datastore, CardPolicy]:
        """The card's datastore as it is now and its policy, without statistics (what
        ``shouldRemoveExtraENIs`` and ``tryFreeENI`` read besides the start-of-tick ones)."""
        card = self.cards[at]
        if card is not None:
            return card.ds, card.policy
        number = self.decisions[at].network_card
        return self.state.datastore(number), CardPolicy.for_state(self.state, number)

    def attachment_allowed(self) -> bool:
        """``isENIAttachmentAllowed`` (spec 1.5.3)."""
        if self.state.terminating:
            return False
        return not (self.state.cordoned and not self.config.manage_enis_non_schedulable)

    def wait(self, action: Allocation, network_card: int) -> None:
        """Stop the tick on ``action``, an allocation ipamd blocks on."""
        self.actions.append(action)
        self.state = self.state.replace(
            in_flight=unchecked_in_flight(action, network_card, self.clock),
            tick=self.progress(),
        )


def _within(since: float | None, clock: float, window: float) -> bool:
    return since is not None and clock - since <= window


def _run(tick: _Tick) -> bool:
    """Serve the cards from ``tick.position`` on; False when the tick stopped on a call."""
    while tick.position < len(tick.decisions):
        if not _serve(tick, tick.position):
            return False
        tick.position += 1
        tick.stage = Stage.DECIDE
        tick.candidates = ()
        tick.want = 0
        tick.answer = None
    return True


def _serve(tick: _Tick, at: int) -> bool:
    """One card of ``updateIPPoolIfRequired`` (or ``handlePreScaling``); False: waiting."""
    decision = tick.decisions[at]
    stage = tick.stage
    if stage is Stage.DECIDE:
        if decision.low:
            if not _begin_increase(tick, at):
                return False
        elif not tick.pre_scaling:
            _maybe_decrease(tick, at, decision)
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
        if should_remove_extra_enis(decision.stats, ds, policy):
            _try_free_eni(tick, at, ds, policy)
    return True


# -- increase (spec 6.1-6.4) -------------------------------------------------------------------


def _begin_increase(tick: _Tick, at: int) -> bool:
    """``increaseDatastorePool``: the gates, then the ENI list of ``tryAssignCidrs``."""
    state, config = tick.state, tick.config
    backoff = config.insufficient_cidr_backoff
    if not tick.attachment_allowed() or _within(
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
    if policy.prefix_delegation or want > 0:
        go = tick.iteration
        order = None if go is None else eni_order(go, tick.draw, SITE_GROW, card.ds)
        tick.candidates = tuple(eni.eni_id for eni in allocatable_enis(card.ds, policy, order))
    else:
        tick.candidates = ()  # short == 0 with targets: straight to the ENI step (Q23)
    tick.want = want
    tick.stage = Stage.GROW
    return _grow(tick, at)


def _grow(tick: _Tick, at: int) -> bool:
    """``tryAssignIPs`` / ``tryAssignPrefixes`` from the next candidate on, then the ENI step
    (``hasRoomForEni``, ``tryAllocateENI``) when no existing ENI took the increase."""
    number = tick.decisions[at].network_card
    card = tick.fresh(at)
    policy = card.policy
    slots = policy.cidrs_per_eni
    pd = policy.prefix_delegation
    candidates = tick.candidates
    for index, eni_id in enumerate(candidates):
        eni = card.ds.eni(eni_id)
        if eni is None or (not pd and len(eni.cidrs) >= slots):
            continue
        count = min(slots - len(eni.cidrs), tick.want)
        tick.candidates = candidates[index + 1 :]
        if count < 1:
            # AllocIPAddresses makes no call for < 1 and ipamd still reports "increased".
            tick.state = tick.state.replace(last_pool_action_at=tick.clock)
            _after_increase(tick, at)
            return True
        tick.wait(allocate_cidrs(eni_id, count, pd), number)
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


def _after_increase(tick: _Tick, at: int) -> None:
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


def _maybe_decrease(tick: _Tick, at: int, decision: CardDecision) -> None:
    """``isDatastorePoolTooHigh`` on the start-of-tick statistics (the prefix count without
    warm-IP targets read fresh), then ``shouldSkipDataStorePoolDecrease``."""
    card = tick.fresh(at)
    stats = decision.stats
    if card.policy.prefix_delegation and stats is not card.stats:
        stats = attrs.evolve(stats, free_prefixes=card.stats.free_prefixes)
    if not pool_too_high(stats, card.policy, card.target if stats is card.stats else None):
        return
    if _within(tick.state.last_decrease_at, tick.clock, tick.config.decrease_interval):
        return
    tick.scaled_down = True
    card = tick.fresh(at)
    tick.state, released = decrease(
        tick.state, card.ds, card.policy, card.stats, card.target, tick.clock,
        tick.iteration, tick.draw,
    )  # fmt: skip
    if released:
        tick.actions.extend(released)
        tick.touched(at)


def _try_free_eni(tick: _Tick, at: int, ds: Datastore, policy: CardPolicy) -> None:
    """``tryFreeENI`` (spec 6.6): its gates, then at most one ENI freed, looking at the
    datastore ``ds`` as it is now, after this tick's increase or decrease on the card."""
    if not tick.attachment_allowed():
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
    tick = _Tick(state, clock, actions)
    if state.in_flight is not None:
        return Reconciliation(state, tuple(actions), None)
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


def _result(tick: _Tick, busy: bool | None = None) -> Reconciliation:
    acted = bool(tick.actions) if busy is None else busy
    next_check = next_check_at(tick.state, tick.clock, acted)
    if tick.start_error is not None:
        next_check = None  # ipamd exits: only a restart (``restart``) goes on
    elif tick.pre_scaling:
        # nodeInit returns; the pool manager's loop sleeps half an interval before its first
        # tick (spec 7.2).
        next_check = tick.clock + tick.config.pool_check_interval / 2
    return Reconciliation(tick.state, tuple(tick.actions), next_check, tick.start_error)
