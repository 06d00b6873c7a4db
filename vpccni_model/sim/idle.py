"""Skipped pool ticks: the engine does not queue a tick that would only move the clock.

With churn at the shipped settings about 70% of the ticks a pod change brings find the pool
between its thresholds and do nothing but move the node's clock. ``tick_idle`` (``_nextcheck``)
tells such a state; with pods waiting, the tick must also wake none of them (each waiting pod
last failed on these datastores). Such a tick is noted on the node (``idle_at``), not queued:

* an event that touches the node first calls ``_settle``: the skipped ticks whose instant has
  passed count as run (``last_tick``; each superseded any tick queued after it), and a
  chain of them goes on while pods wait, one per cadence point;
* once the event is handled, ``_confirm`` looks again: a tick still to come that the event
  has given work is queued after all (ticks run after the other events of their instant, so
  one at the event's instant is still to come);
* a tick that is wanted anyway (``_schedule_tick``) queues the skipped one first;
* at the end of the run the skipped ticks before it count as run (``_settle_at_end``).

The run is the one in which every tick is queued (``elide_idle_ticks = False``), to the call
and the final node states (``tests/test_sim_idle_ticks.py``); while it runs, a node's state
may keep the clock of its last change until the end.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from typing import Any, Protocol

from vpccni_model._config import Config
from vpccni_model._nextcheck import tick_idle
from vpccni_model._state import NodeState
from vpccni_model.sim.spec import NodeSpec

__all__ = ["SkippedTicks", "cadence_steps", "idle_ticks"]


class _Waiting(Protocol):
    """What this module reads of a waiting pod (``engine._Pod``)."""

    @property
    def failed_on(self) -> object: ...


class _Node(Protocol):
    """What this module reads and keeps of a node (``engine._Node``)."""

    idle_at: float | None
    idle_repeats: bool
    idle_of: object
    idle_verdict: bool
    last_tick: float | None
    tick_at: float | None

    @property
    def spec(self) -> NodeSpec: ...

    state: NodeState

    @property
    def config(self) -> Config: ...
    @property
    def down(self) -> bool: ...
    @property
    def waiting(self) -> Mapping[str, _Waiting]: ...
    def cadence(self, time: float) -> float: ...
    def tick_point(self, time: float) -> float: ...


def cadence_steps(q: float) -> int:
    """``math.ceil(round(q, 9))``, without ``round`` but where ``q`` lies within 1e-9 above
    a whole number (``round`` to 9 places is a decimal conversion, the dearest step of a
    cadence point, and elsewhere it cannot move ``q`` past a whole number)."""
    whole = math.floor(q)
    above = q - whole
    if above == 0.0:
        return whole
    if above > 1e-9:
        return whole + 1
    return math.ceil(round(q, 9))


def _idle(node: _Node) -> bool:
    """``tick_idle`` of the node's state, kept for that state: an event that brings a tick
    asks once, and ``_confirm`` asks again after it, most often of the same state."""
    state = node.state
    if node.idle_of is not state:
        node.idle_of, node.idle_verdict = state, tick_idle(state)
    return node.idle_verdict


def idle_ticks(node: _Node, until: float, inclusive: bool) -> tuple[float, float]:
    """For ``node``'s skipped tick at ``idle_at``, run by ``until`` (``inclusive``: a tick at
    ``until`` counts as run): the last of its chain to have run, and the next. The chain is
    ``idle_at`` alone without ``idle_repeats``; else each tick schedules the next at the
    cadence point at least an interval on (``Simulation._reconcile``)."""
    at = node.idle_at
    assert at is not None
    interval = node.config.pool_check_interval
    following = node.cadence(at + interval)
    if not node.idle_repeats or following > until or (following == until and not inclusive):
        return at, following
    boot = node.spec.boot_at

    def ran(steps: int) -> bool:
        point = boot + steps * interval
        return point < until or (inclusive and point == until)

    steps = max(cadence_steps((until - boot) / interval) - 1, 0)
    while ran(steps + 1):
        steps += 1
    while steps > 0 and not ran(steps):
        steps -= 1
    return boot + steps * interval, boot + (steps + 1) * interval


class SkippedTicks(abc.ABC):
    """The skipped-tick half of ``Simulation`` (a base class: it reads the run's clock and
    observer, and asks ``_schedule_tick`` for a tick)."""

    #: Skip the ticks ``tick_idle`` shows would only move the clock; False queues every one,
    #: for tests that check the run is the same either way.
    elide_idle_ticks = True

    now: float
    observer: object | None
    # Nodes whose skipped tick an event has touched: looked at again after it (_confirm).
    touched: list[_Node]

    @abc.abstractmethod
    def _schedule_tick(self, node: Any, time: float, *, exact: bool = False) -> None:
        """Queue a tick at ``time`` (its cadence point unless ``exact``), unless one comes
        before it; a skipped tick is queued first (``_queue_skipped``)."""

    def _may_skip(self, node: _Node) -> bool:
        """Whether a tick of ``node`` may be skipped at all, its pool aside: skipping is on,
        ipamd runs, and no waiting pod would be woken."""
        return (
            self.elide_idle_ticks
            and not node.down
            and (not node.waiting or self._wake_is_idle(node))
        )

    def _skip(self, node: _Node, at: float) -> None:
        """Note the tick at ``at`` as skipped; it repeats while pods wait."""
        node.idle_at = at
        node.idle_repeats = bool(node.waiting)

    def _tick_after_change(self, node: _Node, time: float) -> None:
        """``_schedule_tick(node, time)`` for a tick an event or a tick's ``next_check_at``
        brings, skipped if it would do nothing but move the clock."""
        if not self._may_skip(node):
            self._schedule_tick(node, time)
            return
        at = node.tick_point(time)
        skipped = node.idle_at
        if skipped is not None and skipped <= at:
            return  # the skipped tick comes first (``_confirm`` looks at it again)
        queued = node.tick_at
        if queued is not None and queued <= at:
            # That tick serves this change too; if it now has nothing to do, skip it instead
            # (its entry goes stale: ``_on_tick`` ignores a tick that is not ``tick_at``).
            if _idle(node):
                node.tick_at = None
                self._skip(node, queued)
            return
        if _idle(node):
            self._skip(node, at)  # any later skipped or queued tick is superseded by this one
        else:
            self._schedule_tick(node, at, exact=True)  # at: the cadence point found above

    def _settle(self, node: _Node) -> None:
        """Before an event touches ``node``: the skipped ticks before now have run (each
        superseding any tick queued after it); one still to come is looked at again after
        the event (``_confirm``)."""
        at = node.idle_at
        if at is None:
            return
        if at < self.now:
            ran, upcoming = idle_ticks(node, self.now, inclusive=False)
            node.last_tick, node.tick_at = ran, None
            if not node.idle_repeats:
                node.idle_at = None
                return
            node.idle_at = upcoming  # pods wait: the chain goes on, unchanged so far
        self.touched.append(node)

    def _confirm(self, node: _Node) -> None:
        """After an event that touched ``node``: its skipped tick still to come stays skipped
        if it would still do nothing, else it is queued."""
        at = node.idle_at
        if at is None:
            return
        if self._may_skip(node) and _idle(node):
            self._skip(node, at)
        else:
            self._queue_skipped(node)

    def _queue_skipped(self, node: _Node) -> None:
        """Queue the skipped tick after all (no tick is ever queued before a skipped one)."""
        at = node.idle_at
        assert at is not None
        node.idle_at = None
        self._schedule_tick(node, at, exact=True)

    def _settle_at_end(self, node: _Node, end: float) -> None:
        """At the end of the run, as if every tick had been queued: the skipped ticks at or
        before ``end`` have run (the clock as they left it), a later one is still to come."""
        at = node.idle_at
        if at is not None and at <= end:
            ran, upcoming = idle_ticks(node, end, inclusive=True)
            node.last_tick = ran
            node.tick_at = upcoming if node.idle_repeats else None
        elif at is not None:
            node.tick_at = at
        node.idle_at = None
        last = node.last_tick
        if last is not None and last > node.state.clock:
            node.state = node.state.at(last)

    def _wake_is_idle(self, node: _Node) -> bool:
        """Whether ``_wake`` would queue nothing now: every waiting pod last failed on these
        datastores (or an observer is attached, and every retry is queued anyway)."""
        if self.observer is not None:
            return True
        stores = node.state.datastores
        return all(pod.failed_on is stores for pod in node.waiting.values())
