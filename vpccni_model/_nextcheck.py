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

from vpccni_model._state import NodeState

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


def next_check(state: NodeState, clock: float, busy: bool) -> float | None:
    """The next tick at which a reconcile of ``state`` could decide something new: None while
    a call is in flight (its answer comes first) or when only an event can change anything;
    the next tick when this one acted (``busy``) or calls are queued."""
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


__all__ = ["next_check"]
