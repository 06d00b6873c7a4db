"""One call family as the fake runs it: its clock and calls (``Run``), its steps (a generator
that waits at each SDK retry) and a family waiting for its retry (``PendingCalls``, what
``CallResult.pending`` holds and ``FakeEC2.resume`` takes).
"""

from __future__ import annotations

from collections.abc import Generator

from vpccni_model._events import Event
from vpccni_model.cloud._retry import Retrier


class Run:
    """One call family in progress: its clock, the calls made so far and the buckets used.

    ``at_once`` marks ``execute``'s runs: no latency, throttling or faults; the clock, the
    buckets and the list of calls (which ``execute`` does not return) stay untouched.
    ``retrier`` makes the SDK's retries (``_retry``), None for one attempt per call. A plain
    slotted class: one is made per submit; ``calls``, ``errors``, ``ended`` and ``apis`` hold
    what the current step made (a family waiting for a retry goes on in a later step).
    """

    __slots__ = ("apis", "at", "at_once", "calls", "ended", "errors", "retrier")

    def __init__(self, at: float, at_once: bool = False, retrier: Retrier | None = None) -> None:
        self.at = at
        self.at_once = at_once
        self.retrier = retrier
        self.calls: list[tuple[str, str]] = []
        self.apis: set[str] = set()
        self.errors: list[tuple[str, str]] = []
        self.ended: list[tuple[str, str, str | None, float]] = []  # CallResult.sdk_calls


Steps = Generator[None, None, Event | None]
"""A call family as the fake runs it: it yields when a call waits for an SDK retry (the
retry's time is then ``Run.at``) and returns the event ipamd sees."""


class PendingCalls:
    """A submitted family waiting for an SDK retry: its run and the rest of its steps
    (``CallResult.pending``; ``FakeEC2.resume`` goes on with it)."""

    __slots__ = ("node", "resumed", "run", "steps")

    def __init__(self, node: str, run: Run, steps: Steps) -> None:
        self.node = node
        self.run = run
        self.steps = steps
        self.resumed = False  # each step goes on once: its own next step is a new one

    @property
    def at(self) -> float:
        """When the waiting retry is made."""
        return self.run.at

    @property
    def live(self) -> bool:
        """False once the node's client was restarted (``FakeEC2.restart_client``)."""
        retrier = self.run.retrier
        return retrier is not None and retrier.live


AT_ONCE = Run(0.0, at_once=True)
"""The run every ``execute`` shares: a run at once is never changed."""
