"""Ec2: the EC2 driver interface, what running a node's ipamd against EC2 needs, and
``run_tick``, the loop that drives one whole pool tick through it.

:class:`~vpccni_model.cloud.FakeEC2` satisfies it, and so will a driver that makes ipamd's
calls against real EC2 (boto3). ``converge`` (and so ``steady_state``), the simulator's engine
and its metrics use nothing else of an EC2 once the nodes exist, so they run unchanged on
either.

Registration is deliberately not part of it. Nodes, subnets and ENIs created elsewhere are
registered on a fake (``register_node``, ``boot_node``, ``register_eni``, ``for_node``); a
real driver discovers its instance, its subnets and their ENIs from EC2 and the instance
metadata. Counters (``FakeEC2.calls``, ``FakeEC2.stats``) are the fake's too: the simulator
counts what ``submit`` reports.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

from vpccni_model._actions import Action
from vpccni_model._config import Config
from vpccni_model._events import Event, ObservedENI
from vpccni_model._outcomes import apply
from vpccni_model._state import NodeState
from vpccni_model._tick import reconcile
from vpccni_model.cloud._api import CallResult


@runtime_checkable
class Ec2(Protocol):
    """An EC2 that performs ipamd's call families (one :class:`~vpccni_model.Action` each).

    Nodes are named by the caller (a driver for a single instance may accept only its own
    name, and ``None`` for it). Addresses and prefixes travel as text, as EC2 reports them.
    """

    def submit(self, action: Action, *, node: str, at: float) -> CallResult:
        """Make ``action``'s whole call family for ``node``, starting at ``at`` (seconds on
        the caller's clock): the event ipamd sees (None for releases and frees), when the
        family completes, and each call's API and outcome. A real driver makes the calls
        when asked and reports the time they took after ``at``. ``SignalTrunkENI`` is no EC2
        call: a real driver patches the node's CNINode (or leaves it to ipamd) and reports
        no call and no event. A real driver's SDK makes its retries inside the call; only a
        fake modelling them on simulated time (``FakeEC2(retry=...)``) returns a step whose
        ``pending`` the caller resumes."""
        ...

    def execute(self, action: Action, *, node: str | None = None) -> Event | None:
        """Make ``action``'s call family at once and return the event ipamd sees (None for
        releases and frees); ``node=None`` is the driver's default node."""
        ...

    def observe(self, node: str | None = None) -> tuple[ObservedENI, ...]:
        """The ENIs attached to ``node`` as instance metadata lists them: by card, then
        device number (``node=None``: every node the driver serves)."""
        ...

    def subnet_free(self, name: str | None = None) -> tuple[int, int]:
        """(free addresses, wholly free aligned /28 blocks) of the subnet ``name`` (None: the
        default subnet). A real driver reads the first from DescribeSubnets and derives the
        second from the addresses and prefixes in use on the subnet's interfaces."""
        ...


@attrs.frozen
class TickRun:
    """One whole pool tick driven by :func:`run_tick`: the state after it, every EC2 call it
    made in order (``actions``), the events the allocations answered with, when to tick next
    (``next_check_at``, as :class:`~vpccni_model.Reconciliation` says it), and the pre-scaling
    error that fails ipamd's start-up, if any."""

    state: NodeState
    actions: tuple[Action, ...]
    events: tuple[Event, ...]
    next_check_at: float | None
    start_error: str | None = None


def run_tick(
    state: NodeState, config: Config, ec2: Ec2, clock: float, *, node: str | None = None
) -> TickRun:
    """One ipamd pool tick against ``ec2``, all at ``clock``, as ipamd's loop runs it.

    The loop every driver runs, here for a driver whose calls complete at once: reconcile;
    make each call (``ec2.execute``); fold each allocation's answer in; reconcile again at the
    answer's clock, which goes on with the same tick; stop when the tick has ended
    (``state.tick`` is None). A driver with latency runs the same loop, applying each answer
    and reconciling at the clock it arrives. If the driver answers an allocation with nothing,
    the tick stays waiting on it and the run stops there.
    """
    actions: list[Action] = []
    events: list[Event] = []
    step = reconcile(state, config, clock)
    while True:
        state = step.state
        for action in step.actions:
            actions.append(action)
            event = ec2.execute(action, node=node)
            if event is not None:
                events.append(event)
                state = apply(state, event, clock)
        if state.tick is None or state.in_flight is not None:
            next_check = step.next_check_at if state.in_flight is None else None
            return TickRun(state, tuple(actions), tuple(events), next_check, step.start_error)
        step = reconcile(state, config, clock)
