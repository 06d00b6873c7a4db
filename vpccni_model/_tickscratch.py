"""The scratch of one ``reconcile`` call (``_tick``): the cards as the tick sees them, the
tick's plan (started now, or resumed from ``NodeState.tick``), and Go's fresh reads.

Mutable, but only inside one call: ``reconcile`` builds a ``Scratch``, runs the tick's steps on
it, and returns immutable values. ``progress()`` is what the state keeps while the tick waits.
"""

from __future__ import annotations

from vpccni_model._actions import Action, Allocation
from vpccni_model._config import Config
from vpccni_model._datastore import Datastore, unchecked_in_flight
from vpccni_model._iteration import SITE_CARDS, IterationPolicy, clock_key, visit_order
from vpccni_model._progress import (
    Answer,
    Stage,
    TickProgress,
    unchecked_decision,
    unchecked_progress,
)
from vpccni_model._state import NodeState
from vpccni_model.pool import (
    CardPolicy,
    PoolStats,
    TargetState,
    datastore_stats,
    pool_too_low,
    target_state,
)

__all__ = ["Card", "Decision", "Scratch"]


Decision = tuple[int, PoolStats, bool]
"""One card's entry of ``isDatastorePoolTooLow``: (card number, start-of-tick stats, low)."""


class Card:
    """One card as the tick sees it at one moment: computed once, read by the steps after."""

    __slots__ = ("ds", "policy", "stats", "target")

    def __init__(self, ds: Datastore, policy: CardPolicy) -> None:
        self.ds = ds
        self.policy = policy
        self.stats: PoolStats = datastore_stats(ds, policy.prefix_delegation)
        self.target: TargetState = target_state(self.stats, policy)


class Scratch:
    """Mutable scratch for one ``reconcile`` call; the functions below stay pure from outside.

    ``resumed``: this call goes on with a tick started by an earlier call, so time has passed
    and pods may have come and gone: what Go reads fresh is computed again, not taken from the
    decisions of the tick's start.
    """

    # Defaults read until a step sets its own (class attributes: a tick sets few of them).
    resumed = False
    start_error: str | None = None
    pre_scaling = False
    scaled_down = False
    position = 0
    stage = Stage.DECIDE
    candidates: tuple[str, ...] = ()
    want = 0
    answer: Answer | None = None
    iteration: IterationPolicy | None = None
    draw = 0

    def __init__(self, state: NodeState, clock: float, actions: list[Action]) -> None:
        self.state = state
        self.config: Config = state.config
        self.clock = clock
        self.actions = actions
        self.started_at = clock
        # Each card's (number, start-of-tick stats, low): CardDecision values once the tick waits.
        self.decisions: list[Decision] = []
        self.cards: list[Card | None] = []  # the start-of-tick view, while it is still fresh
        iteration = state.iteration
        if iteration.is_random:
            self.iteration = iteration
            self.draw = clock_key(clock)

    def start(self, pre_scaling: bool) -> None:
        """``isDatastorePoolTooLow`` for every card, once, in the order the tick visits them."""
        state = self.state
        self.pre_scaling = pre_scaling
        cards = [Card(ds, CardPolicy.for_state(state, ds.network_card)) for ds in state.datastores]
        go = self.iteration
        if go is not None and len(cards) > 1:  # N1: the map[int]Decisions, made afresh each tick
            order = visit_order(
                go, self.draw, SITE_CARDS, SITE_CARDS, self.draw, len(cards),
                lambda: [card.ds.network_card for card in cards],
            )  # fmt: skip
            cards = [cards[i] for i in order]
        self.cards = cards  # type: ignore[assignment]  # list[Card] as list[Card | None]
        self.decisions = [
            (card.ds.network_card, card.stats, pool_too_low(card.stats, card.policy, card.target))
            for card in cards
        ]

    def resume(self, progress: TickProgress) -> None:
        self.resumed = True
        self.pre_scaling = progress.pre_scaling
        self.scaled_down = progress.scaled_down
        self.started_at = progress.started_at
        self.decisions = [(d.network_card, d.stats, d.low) for d in progress.cards]
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
        return unchecked_progress(
            self.started_at, tuple(unchecked_decision(*d) for d in self.decisions), self.position,
            self.stage, self.candidates,
            self.want, None, self.pre_scaling, self.scaled_down, self.draw,
        )  # fmt: skip

    def fresh(self, at: int) -> Card:
        """The card at position ``at`` as Go would read it now (``datastoreTargetState(nil)``,
        ``GetIPStats``): the start-of-tick view while nothing can have changed it."""
        card = self.cards[at]
        if card is None:
            number = self.decisions[at][0]
            card = Card(self.state.datastore(number), CardPolicy.for_state(self.state, number))
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
        number = self.decisions[at][0]
        return self.state.datastore(number), CardPolicy.for_state(self.state, number)

    def wait(self, action: Allocation, network_card: int) -> None:
        """Stop the tick on ``action``, an allocation ipamd blocks on."""
        self.actions.append(action)
        self.state = self.state.replace(
            in_flight=unchecked_in_flight(action, network_card, self.clock),
            tick=self.progress(),
        )
