"""A pool tick part-way through: ``TickProgress`` (spec 7.3, 7.5, 6.1-6.4).

ipamd's loop runs a whole tick (``updateIPPoolIfRequired``, or ``handlePreScaling`` once after
start-up) in one goroutine, blocking on each EC2 call. The model keeps the core pure by
stopping the tick at each allocation it must wait for: ``reconcile`` returns the call with the
tick's progress in ``NodeState.tick``, ``apply`` records how the call ended (``Answer``), and
the next ``reconcile`` goes on exactly where Go would: with the decisions taken at the start of
the tick (``CardDecision``: each card's start-of-tick statistics and whether it was low), the
same list of ENIs the increase was walking, and the same map-iteration draw.
"""

from __future__ import annotations

import enum

import attrs

from vpccni_model._checks import INT64_MAX, as_bool, as_int, as_time, as_tuple
from vpccni_model._errors import StateError
from vpccni_model._stats import PoolStats


class Answer(enum.Enum):
    """How the awaited allocation ended, as ``increaseDatastorePool`` goes on from it."""

    DONE = "done"
    """The increase is over: CIDRs or an ENI arrived, or a failure ipamd only logs (and, for
    an insufficient-address one, stamps the 120 s backoff)."""
    NEXT_ENI = "next_eni"
    """An insufficient-address failure on an existing ENI under subnet discovery: the same
    increase tries the next ENI, then a new ENI (spec 6.2 ``continue``)."""
    ERROR = "error"
    """Any other failure to add CIDRs to an existing ENI: ``tryAssignIPs`` returns the error.
    The regular tick only logs it; pre-scaling fails ipamd's start-up (spec 7.5)."""


class Stage(enum.Enum):
    """Where the card being served stands."""

    DECIDE = "decide"
    """Not started: increase, decrease or neither, by the start-of-tick decision."""
    GROW = "grow"
    """An increase walking its ENIs (``candidates``); waiting on, or answered by, a grow call."""
    CREATE = "create"
    """An increase that asked for a new ENI; waiting on, or answered by, that call."""


def _check_stats(_inst: object, attribute: attrs.Attribute[PoolStats], value: object) -> None:
    if not isinstance(value, PoolStats):
        raise StateError(attribute.name, value, "must be a PoolStats")


@attrs.frozen
class CardDecision:
    """One entry of ipamd's ``isDatastorePoolTooLow`` map, taken once at the tick's start:
    the card's statistics then (``shouldRemoveExtraENIs`` and ``isDatastorePoolTooHigh`` read
    these stale numbers) and whether its pool was low."""

    network_card: int
    stats: PoolStats = attrs.field(validator=_check_stats)
    low: bool

    def __attrs_post_init__(self) -> None:
        as_int("network_card", self.network_card, 0, INT64_MAX)
        as_bool("low", self.low)


def unchecked_decision(network_card: int, stats: PoolStats, low: bool) -> CardDecision:
    """A ``CardDecision`` without its checks, for the tick, whose values come from the state."""
    decision = object.__new__(CardDecision)
    setter = object.__setattr__
    setter(decision, "network_card", network_card)
    setter(decision, "stats", stats)
    setter(decision, "low", low)
    return decision


@attrs.frozen
class TickProgress:
    """A tick that waits on EC2 (``NodeState.in_flight`` set) or has its answer and resumes.

    ``cards`` are the tick's decisions in the order it visits them (spec 9 N1);
    ``position`` is the card being served and ``stage`` how far it is. In ``Stage.GROW``,
    ``candidates`` are the ENIs the increase has still to try, in the order it listed them,
    and ``want`` the CIDRs it asks each for. ``answer`` is None while the call is out.
    ``draw`` is the map-iteration draw of the tick's start (``_iteration.clock_key``).
    ``pre_scaling``: the tick is ``handlePreScaling`` (increases only, no decrease, no free).
    ``scaled_down``: a card decreased; the decrease timers are stamped when the tick ends.
    """

    started_at: float
    cards: tuple[CardDecision, ...]
    position: int
    stage: Stage
    candidates: tuple[str, ...] = ()
    want: int = 0
    answer: Answer | None = None
    pre_scaling: bool = False
    scaled_down: bool = False
    draw: int = 0

    def __attrs_post_init__(self) -> None:
        started_at = as_time("started_at", self.started_at)
        if started_at is not self.started_at:
            object.__setattr__(self, "started_at", started_at)
        as_tuple("cards", self.cards, CardDecision, "CardDecision values")
        if not self.cards:
            raise StateError("cards", self.cards, "a tick visits at least card 0")
        numbers = [card.network_card for card in self.cards]
        if len(set(numbers)) != len(numbers):
            raise StateError("cards", numbers, "each card is visited once")
        as_int("position", self.position, 0, len(self.cards) - 1)
        if not isinstance(self.stage, Stage):
            raise StateError("stage", self.stage, f"must be one of {[s.name for s in Stage]}")
        as_tuple("candidates", self.candidates, str, "ENI ids")
        as_int("want", self.want, 0, INT64_MAX)
        if self.answer is not None and not isinstance(self.answer, Answer):
            raise StateError("answer", self.answer, f"must be None or {[a.name for a in Answer]}")
        as_bool("pre_scaling", self.pre_scaling)
        as_bool("scaled_down", self.scaled_down)
        as_int("draw", self.draw, 0, (1 << 64) - 1)

    @property
    def network_card(self) -> int:
        """The card being served."""
        return self.cards[self.position].network_card

    def answered(self, answer: Answer) -> TickProgress:
        """This progress with the awaited call's ``answer`` recorded."""
        if not isinstance(answer, Answer):
            raise StateError("answer", answer, f"must be one of {[a.name for a in Answer]}")
        return unchecked_progress(
            self.started_at, self.cards, self.position, self.stage, self.candidates,
            self.want, answer, self.pre_scaling, self.scaled_down, self.draw,
        )  # fmt: skip


_PROGRESS_FIELDS = tuple(field.name for field in attrs.fields(TickProgress))


def unchecked_progress(
    started_at: float, cards: tuple[CardDecision, ...], position: int, stage: Stage,
    candidates: tuple[str, ...], want: int, answer: Answer | None, pre_scaling: bool,
    scaled_down: bool, draw: int,
) -> TickProgress:  # fmt: skip
    """A ``TickProgress`` without its checks, for the tick, whose values come from a state
    already checked (one is made each time a tick waits on EC2)."""
    progress = object.__new__(TickProgress)
    values = (
        started_at, cards, position, stage, candidates, want, answer, pre_scaling,
        scaled_down, draw,
    )  # fmt: skip
    setter = object.__setattr__
    for name, value in zip(_PROGRESS_FIELDS, values, strict=True):
        setter(progress, name, value)
    return progress


__all__ = [
    "Answer",
    "CardDecision",
    "Stage",
    "TickProgress",
    "unchecked_decision",
    "unchecked_progress",
]
