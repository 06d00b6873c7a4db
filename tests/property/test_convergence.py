"""Whole-run properties of the pool loop against a cooperative FakeEC2 (issue items 8-10).

Every EC2 call succeeds at once. A run boots a node and brings it to a fixed number of pods
(a pod that finds no address waits while the pool ticks, as the CNI retries; optionally a
surplus of pods arrives and leaves first), then ticks, jumping to ``next_check_at`` when
idle, until ipamd settles.

* 8 Convergence: the run settles within a bounded number of ticks, and there each card's
  configured target holds, or a limit (ENIs at the cap and full, or max pods) is why not. The
  targets are stated from first principles below and cross-checked against the model's
  ``pool_too_low`` / ``pool_too_high`` (spec 5.4, 5.5), which define them.
* 9 No oscillation: once settled, nothing happens through every timer, except the churns the
  spec explains (Q5, Q6, and warm-ENI target 0, "E0"), which must churn exactly as it says.
* 10 Monotone response and bounded requests: adding pods never shrinks the pool, and no
  action ever asks for more than the instance can hold (checked on every tick of every run).

Pods are packed (spec 9, N3); nothing is excluded, trunk or EFA here.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator

import attrs
import pytest
from hypothesis import assume, event, example, given, settings
from hypothesis import strategies as st

from vpccni_model import ENI, Datastore, NodeState, Reconciliation, apply, reconcile, restart
from vpccni_model._actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
    SignalTrunkENI,
)
from vpccni_model._config import Config
from vpccni_model._eniconfig import stand_in_eni_config
from vpccni_model._errors import NoAvailableIPError
from vpccni_model._limits import InstanceLimits, instance_limits
from vpccni_model._pods import assign_pod_ip, unassign_pod_ip
from vpccni_model.cloud import DEFAULT_SUBNET, FakeEC2
from vpccni_model.pool import (
    CardPolicy,
    datastore_stats,
    effective_max_pods,
    pool_too_high,
    pool_too_low,
)
from vpccni_model.sim.retry import cooling_ends
from vpccni_model.testing import configs, limits, synthetic_limits

TICK = 5.0
"""ipPoolMonitorInterval (spec 7.1)."""
PREFIX = 16
MIN_ENI_LIFETIME = 60.0
QUIET_WINDOW = 150.0
"""Longer than every timer of spec 7.1 (the longest is the 120 s insufficient-CIDR backoff)."""
CHURN_TICKS = 120
"""Ticks of 5 s (10 minutes) watched when a run churns."""


def cooldown_of(run: Run) -> float:
    return run.state.config.ip_cooldown_period


# -- the driver ----------------------------------------------------------------------------


@attrs.define
class Tick:
    clock: float
    actions: tuple[Action, ...]
    next_check_at: float | None
    before: NodeState
    after: NodeState


@attrs.define
class Run:
    """A node, the cooperative FakeEC2 behind it, the clock, and every tick so far."""

    limits: InstanceLimits
    config: Config
    state: NodeState
    ec2: FakeEC2
    clock: float = 0.0
    trace: list[Tick] = attrs.field(factory=list)
    start_error: str | None = None  # ipamd's last failed start-up (spec 7.5), if any

    @classmethod
    def boot(cls, node_limits: InstanceLimits, config: Config) -> Run:
        # Custom networking needs an ENIConfig to create ENIs (spec 1.5.1): the node's own
        # subnet, the fake's default.
        eni_config = stand_in_eni_config(config, DEFAULT_SUBNET)
        state = NodeState.boot(node_limits, config, 0.0, eni_config=eni_config)
        return cls(node_limits, config, state, FakeEC2.for_node(state))

    @property
    def pd(self) -> bool:
        return self.state.prefix_delegation

    def tick(self) -> Tick:
        """One reconcile at ``clock``; every action runs on EC2 and is answered at once."""
        before = self.state
        actions: list[Action] = []
        state = before
        while True:  # after each answer the same tick goes on at once (spec 7.3)
            step: Reconciliation = reconcile(state, self.config, self.clock)
            check_requests(self, state, step)
            state = step.state
            for action in step.actions:
                actions.append(action)
                answer = self.ec2.execute(action)
                if answer is not None:
                    state = apply(state, answer, self.clock)
            if state.tick is None:
                break
        if step.start_error is not None:
            # ipamd's start-up failed (spec 7.5): it exits and kubelet starts it again, so the
            # next tick is nodeInit's pre-scaling once more. With this cooperative EC2 it fails
            # the same way every time: such a node never runs its pool loop.
            self.start_error = step.start_error
            state = restart(state, self.config, self.clock)
        self.state = state
        check_capacity(self)
        record = Tick(self.clock, tuple(actions), step.next_check_at, before, state)
        self.trace.append(record)
        return record

    def advance(self, record: Tick) -> None:
        """To the next tick after an action, else to ``next_check_at`` (when there is one)."""
        if record.actions or self.state.in_flight is not None or record.next_check_at is None:
            self.clock += TICK
        else:
            self.clock = record.next_check_at


SETTLED, QUIET, BUSY = "settled", "quiet", "busy"


def settle(run: Run, max_ticks: int) -> tuple[str, int]:
    """Tick until no action and no pending timer (SETTLED), or no action through a window
    longer than every timer while a timer keeps being re-armed (QUIET), or ``max_ticks``
    (BUSY). Returns the outcome and the ticks used."""
    quiet_since: float | None = None
    for used in range(1, max_ticks + 1):
        record = run.tick()
        if record.actions or run.state.in_flight is not None:
            quiet_since = None
        elif record.next_check_at is None:
            return SETTLED, used
        elif quiet_since is None:
            quiet_since = run.clock
        elif run.clock - quiet_since > QUIET_WINDOW:
            return QUIET, used
        run.advance(record)
    return BUSY, max_ticks


def place_pods(run: Run, pods: int, gap: bool, first: int = 0) -> int:
    """Place ``pods`` pods one by one; a pod that finds no address is retried after each tick
    until the pool settles without one (it then stays pending). Returns the pods placed.

    With ``gap``, one tick runs after every placed pod (pods arriving over time)."""
    for index in range(pods):
        pod = f"default/pod-{first + index}"
        for _ in range(400):
            try:
                run.state, _ = assign_pod_ip(run.state, run.config, pod, run.clock)
                break
            except NoAvailableIPError:
                record = run.tick()
                if not record.actions and record.next_check_at is None:
                    # Nothing for the pool to do; the pod can still get an address once one
                    # in its cooldown has cooled (a pod-path timer, not the tick's).
                    cooled = cooling_ends(run.state.datastores, run.clock, cooldown_of(run))
                    if cooled is None:
                        return index
                    while run.clock <= cooled:
                        run.clock += TICK
                    continue
                run.advance(record)
        else:
            raise AssertionError(f"{pod} found no address in 400 ticks of a churning pool")
        if gap:
            run.advance(run.tick())
    return pods


def remove_pods(run: Run, count: int, seed: int | None, gap: bool) -> int:
    """Delete ``count`` placed pods, the newest first (emptying whole CIDRs and ENIs), or
    chosen by ``seed``; returns how many were deleted."""
    placed = sorted(run.state.pods, key=lambda pod: int(pod.rsplit("-", 1)[1]), reverse=True)
    count = min(count, len(placed))
    victims = placed[:count] if seed is None else random.Random(seed).sample(placed, count)
    for pod in victims:
        run.state, _ = unassign_pod_ip(run.state, run.config, pod, run.clock)
        if gap:
            run.advance(run.tick())
    return len(victims)


# -- independent arithmetic (spec 2, 3.4), recomputed from addresses -------------------------


@attrs.frozen
class Card:
    """One datastore's numbers, recounted from its addresses (not the model's counters)."""

    total: int
    assigned: int
    prefixes: int
    free_prefixes: int
    empty_cidrs: int

    @property
    def available(self) -> int:
        return self.total - self.assigned


def used(cidr_addresses: tuple[object, ...]) -> int:
    return sum(1 for a in cidr_addresses if getattr(a, "pod", None) is not None)


def eni_numbers(eni: ENI, pd: bool) -> tuple[int, int, int]:
    """(size, assigned, empty CIDRs of any kind) of the mode-matching CIDRs of one ENI."""
    size = assigned = empty = 0
    for cidr in eni.cidrs:
        busy = used(cidr.addresses)
        empty += busy == 0
        if cidr.is_prefix == pd:
            size += PREFIX if cidr.is_prefix else 1
            assigned += busy
    return size, assigned, empty


def card_numbers(ds: Datastore, pd: bool) -> Card:
    total = assigned = prefixes = free = empty = 0
    for eni in ds.enis:
        size, busy, none = eni_numbers(eni, pd)
        total += size
        assigned += busy
        empty += none
        for cidr in eni.cidrs:
            if cidr.is_prefix:
                prefixes += 1
                free += used(cidr.addresses) == 0
    return Card(total, assigned, prefixes, free, empty)


def slots(node_limits: InstanceLimits) -> int:
    """Secondary /32s or /28s per ENI (spec 2.2): L_ip - 1."""
    return node_limits.ipv4_per_eni - 1


def max_eni(run: Run) -> int:
    """Spec 2.3: MAX_ENI when 1 <= MAX_ENI < L_eni, else L_eni."""
    configured = run.config.max_eni
    if configured is not None and 1 <= configured < run.limits.max_enis:
        return configured
    return run.limits.max_enis


def trunk_reserve(run: Run, card: int) -> int:
    """Spec 2.4: pod ENI reserves a card-0 slot; no trunk ever attaches in these runs."""
    return int(run.config.pod_eni and card == 0)


def kubelet_max_pods(run: Run) -> int:
    """Spec 2.5 / Q15: the configured value, else EKS's secondary-IP formula."""
    if run.config.max_pods is not None:
        return run.config.max_pods
    return run.limits.max_enis * slots(run.limits) + 2


def growable(run: Run, eni: ENI) -> bool:
    """Spec 6.2 GetAllocatableENIs, less the slot test: custom networking skips the primary."""
    return not (run.config.custom_networking and eni.is_primary)


def capacity_exhausted(run: Run, ds: Datastore) -> bool:
    """No ENI can be added on this card and every ENI that may take CIDRs is full."""
    at_cap = len(ds.enis) + trunk_reserve(run, ds.network_card) >= max_eni(run)
    full = all(len(e.cidrs) >= slots(run.limits) for e in ds.enis if growable(run, e))
    return at_cap and full


def targets(run: Run, card: int) -> tuple[int, int, int]:
    """(W, M, WP) a card runs with (spec 1.3): cards > 0 always use W = M = 1."""
    if card > 0:
        return 1, 1, run.config.warm_prefix_target
    return run.config.warm_ip_target, run.config.minimum_ip_target, run.config.warm_prefix_target


def lower_target_met(run: Run, ds: Datastore) -> bool:
    """The configured floor (spec 5.4), stated directly:

    * W/M (card 0) or cards > 0: ``Avail >= W`` and ``T >= M`` (in either mode);
    * secondary IPs, warm ENIs: ``Avail >= E*S``, and ``Avail >= 1`` when E = 0;
    * prefixes, warm prefixes: ``Avail >= 16*WP``, and ``Avail >= 1`` when WP = 0.
    """
    n = card_numbers(ds, run.pd)
    warm, minimum, warm_prefix = targets(run, ds.network_card)
    if ds.network_card > 0 or warm or minimum:
        return n.available >= warm and n.total >= minimum
    if run.pd:
        return n.available >= max(PREFIX * warm_prefix, 1)
    return n.available >= max(run.config.warm_eni_target * slots(run.limits), 1)


def nothing_to_release(run: Run, ds: Datastore) -> bool:
    """The ceiling (spec 5.1, 5.5, 6.5), stated directly: no empty CIDR could go without
    breaking a target.

    * W/M, secondary IPs (and every card > 0, in IP units even with prefixes, Q5): not
      (``Avail > W`` and ``T > M``), or no empty CIDR exists;
    * W/M, prefixes, card 0: dropping one prefix would leave ``16(P-1) < A+W`` or
      ``16(P-1) < M``, or no prefix is empty;
    * prefixes without W/M: at most WP empty prefixes;
    * secondary IPs without W/M: ipamd never releases IPs.
    """
    n = card_numbers(ds, run.pd)
    warm, minimum, warm_prefix = targets(run, ds.network_card)
    defined = ds.network_card > 0 or warm or minimum
    if defined and (ds.network_card > 0 or not run.pd):
        return not (n.available > warm and n.total > minimum) or n.empty_cidrs == 0
    if defined:
        below = PREFIX * (n.prefixes - 1)
        return n.free_prefixes == 0 or below < n.assigned + warm or below < minimum
    if run.pd:
        return n.free_prefixes <= warm_prefix
    return True


def freeable_enis(run: Run, ds: Datastore) -> list[str]:
    """ENIs that ``getDeletableENI`` would free now (spec 5.8, 5.11), timers having passed."""
    pd = run.pd
    card = ds.network_card
    warm, minimum, warm_prefix = targets(run, card)
    n = card_numbers(ds, pd)
    # shouldRemoveExtraENIs in warm-ENI mode: only with E+1 ENIs' worth of free IPs.
    warm_eni_gate = (run.config.warm_eni_target + 1) * slots(run.limits)
    if not (card > 0 or warm or minimum or pd) and n.available < warm_eni_gate:
        return []
    warm_units = -(-warm // PREFIX) * PREFIX if pd else warm
    min_units = -(-minimum // PREFIX) * PREFIX if pd else minimum
    out = []
    for eni in ds.enis:
        size, busy, empty = eni_numbers(eni, pd)
        if eni.is_primary or busy or any(used(c.addresses) for c in eni.cidrs):
            continue
        if warm and n.available - (size - busy) < warm_units:
            continue
        if minimum and n.total - size < min_units:
            continue
        if pd and warm_prefix and n.empty_cidrs - empty < warm_prefix:
            continue
        out.append(eni.eni_id)
    return out


# -- invariants checked on every tick (property 10) ------------------------------------------


def ec2_cidrs(run: Run, eni_id: str) -> int:
    seen = run.ec2.describe(eni_id)
    assert seen is not None, f"{eni_id} is in the datastore but not in EC2"
    return len(seen.ips) + len(seen.prefixes)


def check_requests(run: Run, before: NodeState, step: Reconciliation) -> None:
    """No request exceeds what the instance can hold (spec 2.2-2.4, 6.2-6.4)."""
    room_per_eni = slots(run.limits)
    for action in step.actions:
        if isinstance(action, AllocateIPs | AllocatePrefixes):
            assert isinstance(action, AllocatePrefixes) == run.pd, action
            eni = before.find_eni(action.eni_id)
            assert eni is not None, action
            assert growable(run, eni), f"{action} grows a primary ENI under custom networking"
            free_slots = room_per_eni - ec2_cidrs(run, action.eni_id)
            assert 1 <= action.count <= free_slots, (action, free_slots)
            assert action.count <= room_per_eni - len(eni.cidrs), action
        elif isinstance(action, AllocateENI):
            assert action.prefixes == run.pd, action
            assert 1 <= action.count <= room_per_eni, action
            card = action.network_card
            on_card = [o for o in run.ec2.observe() if o.network_card == card]
            assert len(on_card) + trunk_reserve(run, card) < max_eni(run), (action, on_card)
        elif isinstance(action, SignalTrunkENI):
            # 1.5.2 / 7.3: pod ENI on, no trunk on card 0, a free slot on card 0 (ENIs <
            # maxENI - unmanaged); the CNINode is written once per node.
            ds = before.datastore(0)
            assert run.config.pod_eni and not before.trunk_requested, action
            assert not ds.has_trunk, action
            assert len(ds.enis) < max_eni(run) - ds.unmanaged_enis, (action, len(ds.enis))


def check_capacity(run: Run) -> None:
    """Never more ENIs than the cap, never more CIDRs per ENI than L_ip - 1, and (the EC2
    being cooperative) the datastore agrees with EC2."""
    seen = {o.eni_id: o for o in run.ec2.observe()}
    for ds in run.state.datastores:
        cap = max(max_eni(run) - trunk_reserve(run, ds.network_card), 1)
        assert len(ds.enis) <= cap, (ds.network_card, len(ds.enis), cap)
        on_card = [o for o in seen.values() if o.network_card == ds.network_card]
        assert len(on_card) <= cap
        for eni in ds.enis:
            assert len(eni.cidrs) <= slots(run.limits), eni.eni_id
            observed = seen[eni.eni_id]
            assert len(observed.ips) + len(observed.prefixes) == len(eni.cidrs), eni.eni_id
    if run.state.in_flight is None:
        assert set(seen) == {e.eni_id for e in run.state.enis}


# -- churn (spec 10 Q5, Q6, and warm-ENI target 0) ------------------------------------------


def q6_config(run: Run) -> bool:
    """Q6: prefixes, no W/M and WP = 0: every empty prefix is released, growth only at 0."""
    config = run.config
    return run.pd and not (
        config.warm_ip_target or config.minimum_ip_target or config.warm_prefix_target
    )


def q5_config(run: Run) -> bool:
    """Q5: multi-NIC with prefixes: cards > 0 count in IP units with W = M = 1."""
    return run.pd and len(run.state.datastores) > 1


def e0_config(run: Run) -> bool:
    """Secondary IPs with WARM_ENI_TARGET = 0 and no W/M: grow a full ENI at Avail = 0
    (spec 5.4), free an empty ENI at Avail >= S (spec 5.8 with k = E+1 = 1, 5.11)."""
    config = run.config
    return not run.pd and not (
        config.warm_ip_target or config.minimum_ip_target or config.warm_eni_target
    )


GROW = (AllocateENI, AllocateIPs, AllocatePrefixes)
SHRINK = (ReleaseIPs, ReleasePrefixes, FreeENI)


def card_of(state: NodeState, action: Action) -> int:
    if isinstance(action, AllocateENI):
        return action.network_card
    eni = state.find_eni(action.eni_id)
    assert eni is not None, action
    return eni.network_card


def actions_by_card(trace: list[Tick]) -> dict[int, list[tuple[int, Action]]]:
    """Each card's actions as (index into ``trace``, action)."""
    out: dict[int, list[tuple[int, Action]]] = {}
    for index, record in enumerate(trace):
        for action in record.actions:
            if isinstance(action, SignalTrunkENI):
                continue  # not a pool action; check_requests checks it
            out.setdefault(card_of(record.before, action), []).append((index, action))
    return out


def check_churn(run: Run, trace: list[Tick]) -> set[str]:
    """Every action of a run that does not settle belongs to a churn the spec explains;
    returns which (Q5, Q6, E0).

    * Q6 (card 0): an empty prefix is released one at a time (or, under custom networking,
      the ENI holding it is freed), and one prefix (or a new ENI with one prefix) comes back.
    * Q5 (card > 0, W = M = 1 in IP units): the card's only empty prefix is released, and
      one prefix comes back. The spec describes a card without pods; the same happens when
      the card's pods fill its prefixes exactly (Avail 0 -> short 1 -> a prefix -> over 15).
    * E0 (card 0, warm-ENI target 0): an empty ENI is freed, and a full ENI comes back.

    In each, the shrink leaves the card at ``Avail == 0`` below max pods, so it is low again
    (spec 5.4), and a grow of that card follows within one tick per card (the model starts
    one allocation per tick).
    """
    assert trace and any(r.actions for r in trace), "a quiet run outlived the settle bound"
    kinds: set[str] = set()
    cards = len(run.state.datastores)
    cap = kubelet_max_pods(run)
    for card, actions in actions_by_card(trace).items():
        if card > 0:
            assert q5_config(run), f"card {card} churns outside Q5: {actions[:6]}"
            kind = "Q5"
        elif q6_config(run):
            kind = "Q6"
        else:
            assert e0_config(run), f"card 0 churns outside Q6 and E0: {actions[:6]}"
            kind = "E0"
        kinds.add(kind)
        for index, action in actions:
            if kind == "E0":
                assert isinstance(action, FreeENI | AllocateENI | AllocateIPs), action
                if isinstance(action, AllocateENI):
                    assert action.count == slots(run.limits), action
            else:
                assert not isinstance(action, ReleaseIPs | AllocateIPs), action
                if isinstance(action, ReleasePrefixes):
                    assert len(action.prefixes) == 1, action
                if isinstance(action, AllocatePrefixes | AllocateENI):
                    assert action.count == 1, action
                if kind == "Q5":
                    assert not isinstance(action, FreeENI), action
            if not isinstance(action, SHRINK):
                continue
            n = card_numbers(trace[index].after.datastore(card), run.pd)
            assert n.available == 0 and n.total < cap, (trace[index].clock, card, n)
            # One allocation per tick serves the cards in ascending order, and a card > 0 comes
            # back to "low" every decrease cycle (7 ticks), so a card may wait its turn behind
            # the others for a few cycles; it is regrown within 8 ticks per card.
            window = 8 * cards
            regrown = [i for i, a in actions if isinstance(a, GROW) and index < i <= index + window]
            assert regrown or index + window >= len(trace), (trace[index].clock, actions[:6])
    return kinds


# -- property 8 ------------------------------------------------------------------------------


def settle_bound(run: Run, pods: int) -> int:
    """Ticks from boot within which a run must settle.

    A pod that finds no address costs at most one growth tick, and a pod arriving alone one
    more (``2 * pods``). Beyond that, per card and ENI slot: one tick to create the ENI, one
    to fill it, one to free it, and one idle jump to its 60 s birthday; decreases release
    all of a card's excess at once (spec 6.5), so they add only their interval jumps.
    """
    enis = max_eni(run) * len(run.state.datastores)
    return 10 + 2 * pods + 4 * enis


def check_settled(run: Run, placed: int, wanted: int, outcome: str) -> None:
    """Spec 5.4-5.11 at a settled node, each card: target met or a limit is the reason."""
    state, config, clock = run.state, run.config, run.clock
    cap = kubelet_max_pods(run)
    assert effective_max_pods(state.limits, config) == cap
    for ds in state.datastores:
        card = ds.network_card
        n = card_numbers(ds, run.pd)
        limited = capacity_exhausted(run, ds) or n.total >= cap
        stats = datastore_stats(ds, run.pd)
        assert (stats.total_ips, stats.assigned_ips) == (n.total, n.assigned)
        policy = CardPolicy.of(config, run.limits, card)
        assert (policy.prefix_delegation, policy.max_pods) == (run.pd, cap)
        low = pool_too_low(stats, policy)
        high = pool_too_high(stats, policy)
        # Lower target (spec 5.4): met, or the limit is the reason; the model agrees.
        assert lower_target_met(run, ds) or limited, (card, n, capacity_exhausted(run, ds))
        assert not low or limited, (card, n)
        assert low == (not lower_target_met(run, ds) and n.total < cap), (card, n)
        # Upper target (spec 5.5): nothing left to release.
        assert nothing_to_release(run, ds), (card, n)
        if high:
            # Q5's IP units on a card > 0 in prefix mode: "over" with nothing to release.
            assert card > 0 and run.pd and n.empty_cidrs == 0, (card, n)
        # ENIs: none that ipamd would free (spec 5.8, 5.11).
        assert freeable_enis(run, ds) == [], (card, freeable_enis(run, ds))
        for eni in ds.enis:
            if config.custom_networking and eni.is_primary:
                assert eni.cidrs == (), "custom networking never grows the primary ENI"
        assert len(ds.enis) + trunk_reserve(run, card) <= max(
            max_eni(run), 1 + trunk_reserve(run, card)
        )
    if outcome == SETTLED:
        # Settled: no timer still running can change a decision (``next_check_at`` leaves
        # out the others), so a tick once every timer has run out acts on nothing either.
        timers = max(
            state.config.ip_cooldown_period,
            MIN_ENI_LIFETIME,
            config.decrease_interval,
            config.insufficient_cidr_backoff,
            *(task.due_at - clock for task in state.deferred_cleanups),
        )
        later = clock + TICK * (1 + int(timers // TICK) + 1)
        assert reconcile(state, run.config, later).actions == (), (clock, later)
    if placed < wanted:
        # A pending pod: no card has a free address, and each card is limited, or card 0 runs
        # with MINIMUM_IP_TARGET alone (Q21).
        for ds in state.datastores:
            n = card_numbers(ds, run.pd)
            assert n.available == 0, (ds.network_card, n)
            q21 = ds.network_card == 0 and config.minimum_ip_target and not config.warm_ip_target
            assert q21 or capacity_exhausted(run, ds) or n.total >= cap, (ds.network_card, n)
    if outcome == QUIET:
        # Only the decrease timer is re-armed, by a card > 0 in prefix mode whose IP-unit
        # "over" (Q5) finds nothing to release (spec 7.3 stamps the decrease regardless).
        last = run.trace[-1]
        assert state.last_decrease_at is not None
        assert last.next_check_at == state.last_decrease_at + 35.0, last
        assert run.pd and any(
            pool_too_high(
                datastore_stats(ds, True), CardPolicy.of(config, run.limits, ds.network_card)
            )
            for ds in state.datastores[1:]
        )


@st.composite
def pool_configs(draw: st.DrawFn) -> Config:
    """``testing.configs()`` with the target family drawn first, so that each branch of spec
    5.4 (warm ENI or warm prefix, W only, M only, both) is well represented, and max pods
    set less often (a small cap masks every target)."""
    config = draw(configs())
    family = draw(st.sampled_from(("none", "warm", "minimum", "both")), label="W/M")
    value = st.one_of(st.integers(1, 3), st.integers(1, 40))
    warm = draw(value) if family in ("warm", "both") else 0
    minimum = draw(value) if family in ("minimum", "both") else 0
    max_pods = config.max_pods if draw(st.integers(0, 3)) == 0 else None
    return attrs.evolve(config, warm_ip_target=warm, minimum_ip_target=minimum, max_pods=max_pods)


def nodes() -> st.SearchStrategy[tuple[InstanceLimits, Config]]:
    return st.tuples(limits(), pool_configs())


PODS = st.integers(0, 40)
SURPLUS = st.one_of(st.just(0), st.integers(1, 40))
"""Pods that arrive and leave again before the load settles at ``pods``."""
SEEDS = st.one_of(st.none(), st.integers(0, 2**16))
"""Which pods leave: None for the newest first, else a seeded random choice."""

# Rows of the upstream docs tables and the spec's quirks, always run: (node, pods, surplus).
T3_SMALL = instance_limits("t3.small")
M5_LARGE = instance_limits("m5.large")
P4D = instance_limits("p4d.24xlarge")
PD = Config(prefix_delegation=True)
EXAMPLES = (
    ((T3_SMALL, Config()), 1, 0),
    ((T3_SMALL, Config(warm_eni_target=2)), 4, 0),
    ((T3_SMALL, Config(warm_ip_target=2, minimum_ip_target=5)), 5, 0),
    ((T3_SMALL, Config(minimum_ip_target=3)), 4, 0),  # Q21
    ((T3_SMALL, attrs.evolve(PD, warm_prefix_target=1, max_pods=110)), 17, 0),
    ((T3_SMALL, attrs.evolve(PD, warm_ip_target=7, minimum_ip_target=20)), 5, 0),
    ((T3_SMALL, attrs.evolve(PD, warm_prefix_target=1)), 17, 0),  # Q15
    ((P4D, attrs.evolve(PD, multi_nic=True, warm_ip_target=3)), 0, 0),  # Q5
    ((M5_LARGE, Config(warm_ip_target=3)), 5, 20),
    ((M5_LARGE, Config()), 2, 20),
    ((M5_LARGE, attrs.evolve(PD, warm_prefix_target=1, max_pods=250)), 5, 40),
    ((M5_LARGE, attrs.evolve(PD, warm_ip_target=5, minimum_ip_target=3, max_pods=250)), 5, 40),
)


def with_examples(test: Callable[..., None]) -> Callable[..., None]:
    for node, pods, surplus in EXAMPLES:
        test = example(node=node, pods=pods, gap=False, surplus=surplus, seed=None)(test)
    return test


def converged(
    run: Run, pods: int, gap: bool, surplus: int = 0, seed: int | None = None
) -> tuple[str, int, int]:
    """Bring the node to ``pods`` pods, then settle; returns (outcome, ticks from boot, pods
    placed).

    With a ``surplus``, ``pods + surplus`` pods arrive, ``surplus`` of them (see
    ``remove_pods``) leave, and pods arrive again until ``pods`` are placed: the same fixed load
    reached through releases, cooling and ENI frees. A run that does not settle within the
    bound must be one of the churns the spec explains; it is watched for ten more minutes
    and every action checked against that churn."""
    arrivals = pods + surplus
    place_pods(run, arrivals, gap)
    removed = remove_pods(run, surplus, seed, gap) if surplus else 0
    missing = pods - len(run.state.pods)
    if missing > 0:
        place_pods(run, missing, gap, first=arrivals)
        arrivals += missing
    bound = settle_bound(run, arrivals + removed)
    outcome, _ = settle(run, max(bound - len(run.trace), 1))
    if run.start_error is not None:
        # A node whose ipamd cannot start never runs its pool loop: the convergence properties
        # do not apply (test_representative_types_settle_within_limits and
        # test_tick_sequence check the failure itself).
        event(f"ipamd cannot start: {run.start_error}")
        assume(False)
    if outcome != BUSY:
        assert len(run.trace) <= bound, (len(run.trace), bound)
    else:
        tail = len(run.trace)
        for _ in range(CHURN_TICKS):
            run.tick()
            run.clock += TICK
        check_churn(run, run.trace[tail:])
    return outcome, len(run.trace), len(run.state.pods)


@with_examples
@given(node=nodes(), pods=PODS, gap=st.booleans(), surplus=SURPLUS, seed=SEEDS)
@settings(deadline=None)
def test_convergence_reaches_targets_or_a_limit(
    node: tuple[InstanceLimits, Config], pods: int, gap: bool, surplus: int, seed: int | None
) -> None:
    run = Run.boot(*node)
    outcome, _, placed = converged(run, pods, gap, surplus, seed)
    event(f"outcome: {outcome}")
    event(f"mode: {mode(run)}")
    if outcome != BUSY:
        event(f"pods pending: {placed < pods}")
        for ds in run.state.datastores:
            if capacity_exhausted(run, ds):
                event("a card at its ENI and CIDR limit")
            if card_numbers(ds, run.pd).total >= kubelet_max_pods(run):
                event("a card at max pods")
        check_settled(run, placed, pods, outcome)


def mode(run: Run) -> str:
    config = run.config
    kind = "PD" if run.pd else "SIP"
    targets = "W/M" if config.warm_ip_targets_defined else ("WP" if run.pd else "E")
    cards = f", {len(run.state.datastores)} cards" if len(run.state.datastores) > 1 else ""
    return f"{kind} {targets}{cards}"


# -- property 9 ------------------------------------------------------------------------------


def idle_schedule() -> Iterator[float]:
    """40 ticks of 5 s, then jumps of 121 s (past every timer) with ticks between."""
    yield from [TICK] * 40
    for _ in range(3):
        yield 121.0
        yield from [TICK] * 5


def pool_layout(state: NodeState) -> dict[str, tuple[int, ...]]:
    return {e.eni_id: tuple(c.network for c in e.cidrs) for e in state.enis}


@with_examples
@given(node=nodes(), pods=PODS, gap=st.booleans(), surplus=SURPLUS, seed=SEEDS)
@settings(deadline=None)
def test_no_oscillation_at_constant_load(
    node: tuple[InstanceLimits, Config], pods: int, gap: bool, surplus: int, seed: int | None
) -> None:
    run = Run.boot(*node)
    outcome, _, _ = converged(run, pods, gap, surplus, seed)
    assume(outcome != BUSY)  # the churns are checked in converged() and below
    layout = pool_layout(run.state)
    for step in idle_schedule():
        run.clock += step
        record = run.tick()
        assert record.actions == (), (record.clock, record.actions)
    assert pool_layout(run.state) == layout


def watch(run: Run, ticks: int = CHURN_TICKS) -> list[tuple[float, Action]]:
    """Tick every 5 s; every pool action with its clock (the trunk signal left out)."""
    for _ in range(ticks):
        run.tick()
        run.clock += TICK
    return [(r.clock, a) for r in run.trace for a in r.actions if not isinstance(a, SignalTrunkENI)]


def nitro(node_limits: InstanceLimits) -> bool:
    return node_limits.supports_prefix_delegation


def single_card(node_limits: InstanceLimits) -> bool:
    return len(node_limits.card_indices) == 1


@given(
    node_limits=limits(max_cards=1).filter(nitro),
    config=configs(prefix_delegation=True, multi_nic=False).map(
        lambda c: attrs.evolve(
            c,
            warm_ip_target=0,
            minimum_ip_target=0,
            warm_prefix_target=0,
            custom_networking=False,
        )
    ),
)
@settings(deadline=None)
def test_q6_churn_releases_then_reallocates_one_prefix_every_35s(
    node_limits: InstanceLimits, config: Config
) -> None:
    """Q6: prefixes, W = M = WP = 0, no pods: the one prefix of the primary ENI is released
    at each decrease (the first tick strictly after 30 s: every 35 s) and allocated again one
    tick later, forever."""
    run = Run.boot(node_limits, config)
    sequence = watch(run)
    assert sequence[0] == (0.0, AllocatePrefixes("eni-0", 1)), sequence[:3]
    churn = sequence[1:]
    assert len(churn) >= 2 * ((CHURN_TICKS * TICK - 10) // 35), churn
    start = churn[0][0]
    assert start == TICK, churn[:2]  # the first decrease has no earlier one to wait for
    for index, (clock, action) in enumerate(churn):
        cycle, phase = divmod(index, 2)
        assert clock == start + 35.0 * cycle + TICK * phase, (index, churn[:6])
        if phase == 0:
            assert isinstance(action, ReleasePrefixes), (index, action)
            assert action.eni_id == "eni-0" and len(action.prefixes) == 1, action
        else:
            assert action == AllocatePrefixes("eni-0", 1), (index, action)
    assert check_churn(run, run.trace) == {"Q6"}


def multi_card_nitro() -> st.SearchStrategy[InstanceLimits]:
    synthetic = synthetic_limits(max_cards=3).filter(lambda lim: not single_card(lim))
    return st.one_of(synthetic, st.just(instance_limits("p4d.24xlarge"))).map(
        lambda lim: attrs.evolve(lim, hypervisor="nitro")
    )


@given(
    node_limits=multi_card_nitro(),
    config=configs(prefix_delegation=True, multi_nic=True).filter(
        lambda c: c.warm_ip_target or c.minimum_ip_target or c.warm_prefix_target
    ),
)
@settings(deadline=None)
def test_q5_card_without_pods_releases_and_reallocates_every_35s(
    node_limits: InstanceLimits, config: Config
) -> None:
    """Q5: each card > 0 without pods releases its one prefix at every decrease (every 35 s)
    and gets one back within a tick per card; card 0 (not Q6) settles and stays quiet."""
    run = Run.boot(node_limits, config)
    watch(run)
    # Custom networking with no room for a pod ENI on card 0 (MAX_ENI=1): ipamd cannot start
    # (7.5) and never serves the other cards.
    assume(run.start_error is None)
    warm_up = 60  # five minutes: card 0 settles and every card has its ENI
    tail = run.trace[warm_up:]
    assert check_churn(run, tail) == {"Q5"}
    by_card = actions_by_card(tail)
    assert 0 not in by_card, by_card.get(0)
    cards = len(run.state.datastores)
    for ds in run.state.datastores[1:]:
        actions = by_card[ds.network_card]
        releases = [tail[i].clock for i, a in actions if isinstance(a, ReleasePrefixes)]
        grows = [tail[i].clock for i, a in actions if isinstance(a, AllocatePrefixes)]
        assert len(releases) >= (len(tail) * TICK - 35) // 35, (ds.network_card, releases)
        assert all(b - a == 35.0 for a, b in itertools.pairwise(releases))
        for release in releases:
            assert any(release < g <= release + TICK * cards for g in grows), release
        assert len(grows) >= len(releases) - 1


@given(
    node_limits=limits(max_cards=1),
    config=configs(prefix_delegation=False, multi_nic=False).map(
        lambda c: attrs.evolve(
            c, warm_eni_target=0, warm_ip_target=0, minimum_ip_target=0, max_pods=None
        )
    ),
    data=st.data(),
)
@settings(deadline=None)
def test_warm_eni_target_zero_churns_an_empty_eni_every_65s(
    node_limits: InstanceLimits, config: Config, data: st.DataObject
) -> None:
    """E0 (spec 5.4, 5.8, 5.11; not listed in spec 10): with WARM_ENI_TARGET = 0 and full
    ENIs, ipamd creates a full ENI at Avail = 0, and once it is 60 s old frees it, since
    Avail >= (0+1)*S and E is not checked when choosing the ENI; Avail is 0 again, so the ENI
    comes back one tick later: free, create, every 65 s."""
    run = Run.boot(node_limits, config)
    growable_enis = max_eni(run) - trunk_reserve(run, 0) - int(config.custom_networking)
    assume(growable_enis >= 1 and max_eni(run) - trunk_reserve(run, 0) >= 2)
    full = data.draw(st.integers(0, growable_enis - 1), label="full ENIs")
    pods = full * slots(run.limits)
    assert place_pods(run, pods, gap=False) == pods
    start = len(run.trace)
    sequence = [(c, a) for c, a in watch(run) if c >= run.trace[start].clock]
    frees = [c for c, a in sequence if isinstance(a, FreeENI)]
    creates = [(c, a) for c, a in sequence if isinstance(a, AllocateENI)]
    if full == 0 and not config.custom_networking:
        # The primary ENI takes the warm IPs and is never freed: no churn.
        assert frees == [], sequence
        return
    assert len(frees) >= (CHURN_TICKS * TICK - 2 * 65) // 65, sequence
    assert all(b - a == 65.0 for a, b in itertools.pairwise(frees)), frees
    for free in frees:
        created = [(c, a.network_card, a.count, a.prefixes) for c, a in creates]
        assert (free + TICK, 0, slots(run.limits), False) in created
    assert {type(a) for _, a in sequence} <= {FreeENI, AllocateENI}
    assert check_churn(run, run.trace[start:]) == {"E0"}


# -- property 10 -----------------------------------------------------------------------------


@given(
    node=nodes(),
    pods=PODS,
    gap=st.booleans(),
    surplus=SURPLUS,
    seed=SEEDS,
    share=st.floats(0.0, 1.0),
)
@settings(deadline=None)
def test_adding_pods_never_shrinks_the_pool(
    node: tuple[InstanceLimits, Config],
    pods: int,
    gap: bool,
    surplus: int,
    seed: int | None,
    share: float,
) -> None:
    """From a settled node, add up to as many pods as it has free addresses: every one gets
    an address at once, and the next tick does not shrink any card's pool."""
    run = Run.boot(*node)
    outcome, _, _ = converged(run, pods, gap, surplus, seed)
    assume(outcome != BUSY)
    before = {ds.network_card: card_numbers(ds, run.pd) for ds in run.state.datastores}
    enis_before = len(run.state.enis)
    free = sum(n.available for n in before.values())
    assume(free > 0)
    extra = max(1, round(share * free))
    # A settled node may still hold addresses in their cooldown (next_check_at leaves out
    # timers that change no decision): the pods come once they have cooled.
    run.clock += TICK * (2 + int(max(run.state.config.ip_cooldown_period, 0) // TICK))
    for index in range(extra):
        run.state, _ = assign_pod_ip(run.state, run.config, f"default/extra-{index}", run.clock)
    run.clock += TICK
    run.tick()
    after = {ds.network_card: card_numbers(ds, run.pd) for ds in run.state.datastores}
    for card, n in before.items():
        assert after[card].total >= n.total, (card, n, after[card])
    assert len(run.state.enis) >= enis_before
    # Nor any later tick, while the node settles again (or churns, Q5/Q6/E0).
    mark = len(run.trace)
    settle(run, settle_bound(run, pods + extra))
    for record in run.trace[mark:]:
        for ds in record.after.datastores:
            assert card_numbers(ds, run.pd).total >= before[ds.network_card].total, record.clock


@pytest.mark.parametrize("name", ["t3.micro", "t3.small", "m5.large", "p3dn.24xlarge"])
@pytest.mark.parametrize(
    "config",
    [
        Config(),
        Config(warm_ip_target=2),
        Config(warm_ip_target=5, minimum_ip_target=30),
        Config(prefix_delegation=True, warm_prefix_target=1),
        Config(prefix_delegation=True, warm_ip_target=40, max_pods=250),
        Config(max_eni=3, pod_eni=True, custom_networking=True),
    ],
)
def test_representative_types_settle_within_limits(name: str, config: Config) -> None:
    """Catalog types under common settings: 60 pods arrive at once, the node settles,
    and every request on the way fitted the instance."""
    limits = instance_limits(name)
    run = Run.boot(limits, config)
    placed = place_pods(run, 60, gap=False)
    outcome, _ = settle(run, settle_bound(run, 60))
    assert outcome == SETTLED, (name, config)
    # Custom networking with the trunk slot: card 0 keeps min(MAX_ENI 3, its ENIs) - 1 primary
    # - 1 trunk ENIs for pods. t3.micro has 2 ENIs: none, so pre-scaling leaves the pool empty
    # and ipamd cannot start (7.5); it crash-loops and no pod gets an IP.
    no_pod_enis = config.custom_networking and config.pod_eni and limits.max_enis <= 2
    if no_pod_enis:
        assert run.start_error == "Failed to attach any ENIs for custom networking"
        assert placed == 0 and run.state.enis == run.state.datastore(0).enis[:1]
        return
    assert run.start_error is None
    check_settled(run, placed, 60, outcome)
