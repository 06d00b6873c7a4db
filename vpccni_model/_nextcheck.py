"""When a pool tick could next decide something new: ``next_check_at`` of a reconcile (spec 3.5,
5.6, 5.11, 6.1, Q10).

With nothing asked of EC2 and no event in between, a tick's decisions change only when a
timer runs out: an ENI reaching the minimum lifetime, a cooling address cooling down, the
decrease interval, the insufficient-address backoff, a deferred cleanup coming due. The
answer lies on the pool-check cadence from the clock; a timer too far ahead to be reached
exactly (more than 2**53 ticks) is never scheduled.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from vpccni_model._datastore import Datastore
from vpccni_model._eni import ENI
from vpccni_model._state import NodeState
from vpccni_model._stats import PoolStats
from vpccni_model.pool import (
    CardPolicy,
    TargetState,
    datastore_stats,
    pool_too_high,
    pool_too_low,
    should_remove_extra_enis,
    target_state,
)

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


#: A card as the tick saw it: its datastore, policy, statistics and target state.
CardView = tuple[Datastore, CardPolicy, PoolStats, TargetState]


def next_check(
    state: NodeState, clock: float, busy: bool, cards: Sequence[CardView] | None = None
) -> float | None:
    """The next tick at which a reconcile of ``state`` could decide something new: None while
    a call is in flight (its answer comes first) or when only an event can change anything;
    the next tick when this one acted (``busy``) or calls are queued.

    Only the timers that can change a decision count. When no card's pool is too low:
    the decrease interval only if some card's pool is too high; an ENI's minimum lifetime and
    its addresses' cooldown only if ``tryFreeENI`` could free it (its card has extra ENIs,
    spec 5.8, and it is an ENI without pods that may be freed at all, spec 5.11); deferred
    cleanups always. Each of these is decided by the datastores alone, which only an event
    changes, and an event brings a tick of its own. With a card too low, every timer counts:
    such a tick can stamp the pool-action time without acting (Q23). ``cards``, when the
    caller has them, are every card's current view (a tick that changed nothing), read
    instead of computing them again.
    """
    config = state.config
    interval = config.pool_check_interval
    if state.in_flight is not None:
        return None
    if busy or state.outbox:
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

    every = config.disable_provisioning or config.enable_ipv6
    too_high = False
    freeing: set[int] = set()  # cards whose ENIs tryFreeENI could free
    if not every:
        for ds, policy, stats, target in cards if cards is not None else _views(state):
            if pool_too_low(stats, policy, target):
                every = True
                break
            too_high = too_high or pool_too_high(stats, policy, target)
            if state.attachment_allowed and should_remove_extra_enis(stats, ds, policy):
                freeing.add(ds.network_card)
    for ds in state.datastores:
        if not (every or ds.network_card in freeing):
            continue
        for eni in ds.enis:
            if not (every or _may_be_freed(eni)):
                continue
            if not eni.is_primary:
                later(eni.created_at + config.min_eni_lifetime, strict=False)
            if eni.latest_unassigned_at is not None:
                later(eni.latest_unassigned_at + cooldown, strict=True)
    if state.last_decrease_at is not None and (every or too_high):
        later(state.last_decrease_at + config.decrease_interval, strict=True)
    if state.last_insufficient_cidr_at is not None and every:
        later(state.last_insufficient_cidr_at + config.insufficient_cidr_backoff, strict=True)
    for task in state.deferred_cleanups:
        later(task.due_at, strict=False)
    return min(candidates) if candidates else None


def tick_idle(state: NodeState) -> bool:
    """Whether a pool tick of ``state`` now, or at any later clock with no event in between,
    would do nothing but move the clock: no action, no datastore or timestamp change, and
    ``next_check_at`` None. Conservative: False whenever that is not plain from the state.

    A driver may then skip the tick an event would bring (``sim.idle``). Nothing here reads
    the clock: with no card's pool too low or too high, no extra ENIs that ``tryFreeENI``
    could free (an ENI without pods, spec 5.11), and nothing queued, pending or deferred, no
    decision hangs on a timer (``next_check``) and none fires now.
    """
    config = state.config
    if (
        state.in_flight is not None
        or state.tick is not None
        or state.outbox
        or state.deferred_cleanups
        or state.pre_scaling
        or config.enable_ipv6
        or config.disable_provisioning
        or config.pod_eni
    ):
        return False
    allowed: bool | None = None  # read only when needed
    for ds, policy, stats, target in _views(state):
        if pool_too_low(stats, policy, target) or pool_too_high(stats, policy, target):
            return False
        if should_remove_extra_enis(stats, ds, policy):
            if allowed is None:
                allowed = state.attachment_allowed
            if allowed and any(_may_be_freed(eni) for eni in ds.enis):
                return False
    return True


def _views(state: NodeState) -> Iterator[CardView]:
    """Each card's view, computed."""
    for ds in state.datastores:
        policy = CardPolicy.for_state(state, ds.network_card)
        stats = datastore_stats(ds, policy.prefix_delegation)
        yield ds, policy, stats, target_state(stats, policy)


def _may_be_freed(eni: ENI) -> bool:
    """What ``getDeletableENI`` requires of an ENI whatever the clock (spec 5.11)."""
    return not (eni.is_primary or eni.has_pods or eni.is_trunk or eni.is_efa)


__all__ = ["next_check", "tick_idle"]
