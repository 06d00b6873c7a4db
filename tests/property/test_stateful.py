"""Whole-node histories: random pod churn, clock jumps, EC2 outcomes and faults, metadata that
disagrees with the datastore, ENIs attached behind ipamd's back (trunk, EFA, unmanaged, in
excluded subnets), restarts that find an ENI's subnet excluded, cordon and termination. After
every step the invariants that ipamd promises (or should) are checked; at the end the history
is replayed and must give the same states and actions (determinism).

Invariants, each recomputed from the states and actions, never by the function it checks:

1. requests and ENIs stay within the instance's limits;
2. nothing a pod holds is released, no address is held twice;
3. a released address is not reused before its cooldown ends;
4. primary, trunk, EFA, busy and young ENIs are never freed;
5. one allocation at a time, none while gated;
6. the per-ENI counters and the room_from hint agree with a recount; the prefix counter
   equals the prefixes held plus the drift ipamd's own bugs explain (Q9, Q10);
7. the history replays identically;
8. (a) a deferred cleanup of an excluded ENI's emptied CIDR runs at the first reconcile at
   or after it is due, and not before; (b) ``next_check_at`` is never later than the tick
   at which the earliest pending cleanup comes due; (c) no AllocateENI for a card whose ENIs,
   unmanaged ENIs (as ipamd last counted them) and trunk slot fill the ENI limit, and ipamd
   counts the unmanaged ENIs it is shown; (d) every tick moves the prefix counter by exactly
   the prefixes it releases and the prefixes of the ENIs it frees; (e) a pod is refused an
   address only when no card has one it could take (cards are found by number, not position);
   (f) the trunk signal (SignalTrunkENI) comes exactly at the first tick with pod ENI on, no
   trunk on card 0 and a free card-0 slot (unmanaged ENIs counted), and never again.
9. a tick driven to completion leaves no tick behind: every ``reconcile`` either ends its
   tick (``state.tick`` is None) or stops it on the allocation it returns last, and the
   machine resumes the tick at the answer's clock, as ipamd's loop goes on.
10. a tick of a state ``tick_idle`` calls idle (the simulator skips such ticks) does nothing
   but move the clock: no action, the same datastores, no check asked for.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import attrs
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from vpccni_model import (
    ENI,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    Cidr,
    Config,
    ENIAttached,
    FakeEC2,
    FreeENI,
    InstanceLimits,
    IterationPolicy,
    MetadataObserved,
    NoAvailableIPError,
    NodeCordoned,
    NodeState,
    NodeTerminating,
    NodeUncordoned,
    ReleaseIPs,
    ReleasePrefixes,
    UnknownPodError,
    apply,
    assign_pod_ip,
    reconcile,
    reconcile_due,
    restart,
    take_outbox,
    unassign_pod_ip,
)
from vpccni_model._actions import Action, SignalTrunkENI
from vpccni_model._ipv4 import PREFIX_SIZE, ip_to_int, parse_cidr
from vpccni_model._nextcheck import tick_idle
from vpccni_model._progress import Stage
from vpccni_model.testing import (
    boot_with_unmanaged,
    card_limit,
    catalog_limits,
    clock_steps,
    configs,
    ec2_outcome,
    observation,
    outcome_kinds,
    pod_keys,
    synthetic_limits,
)

ALLOCATIONS = (AllocateENI, AllocateIPs, AllocatePrefixes)

# What the observe rule may change in EC2 first. Trunk and EFA ENIs come twice: they matter
# only once they are old and idle, which few histories reach (invariant 4).
PERTURBATIONS = (
    "none",
    "ip_vanished",
    "prefix_vanished",
    "ip_appeared",
    "prefix_appeared",
    "eni_detached",
    "trunk_attached",
    "efa_attached",
    "trunk_attached",
    "efa_attached",
    "unmanaged_attached",
    "excluded_attached",
)


def _recount(eni: ENI) -> dict[str, int]:
    """Counters of an ENI recomputed from its addresses, independently of model.py."""
    out = dict.fromkeys(
        (
            "ip_cidrs",
            "prefix_cidrs",
            "assigned_in_ips",
            "assigned_in_prefixes",
            "free_ip_cidrs",
            "free_prefix_cidrs",
        ),
        0,
    )
    for cidr in eni.cidrs:
        used = _busy(cidr)
        if cidr.is_prefix:
            out["prefix_cidrs"] += 1
            out["assigned_in_prefixes"] += used
            out["free_prefix_cidrs"] += used == 0
        else:
            out["ip_cidrs"] += 1
            out["assigned_in_ips"] += used
            out["free_ip_cidrs"] += used == 0
    return out


def _busy(cidr: Cidr) -> int:
    """Addresses of ``cidr`` a pod holds, counted from its entries."""
    return sum(1 for a in cidr.addresses if a.pod is not None)


def _holds_pods(eni: ENI) -> bool:
    return any(_busy(c) for c in eni.cidrs)


def _prefix_count(eni: ENI) -> int:
    return sum(1 for c in eni.cidrs if c.is_prefix)


def _find(enis: tuple[ENI, ...], eni_id: str) -> ENI | None:
    return next((e for e in enis if e.eni_id == eni_id), None)


def _cidr_at(eni: ENI, network: int) -> Cidr | None:
    return next((c for c in eni.cidrs if c.network == network), None)


def _released(action: Action) -> set[int]:
    """Every address a release action gives back to EC2."""
    if isinstance(action, ReleaseIPs):
        return {ip_to_int(a) for a in action.addresses}
    if isinstance(action, ReleasePrefixes):
        out: set[int] = set()
        for text in action.prefixes:
            network, _ = parse_cidr(text)
            out.update(range(network, network + PREFIX_SIZE))
        return out
    return set()


def eni_cap(node_limits: InstanceLimits, config: Config) -> int:
    """Spec 2.3 ``getMaxENI``: MAX_ENI when 1 <= MAX_ENI < L_eni, else L_eni; ipamd applies it
    to every card separately (spec 1.5.5)."""
    configured = config.max_eni
    if configured is not None and 1 <= configured < node_limits.max_enis:
        return configured
    return node_limits.max_enis


def cadence_tick(clock: float, interval: float, due: float) -> float:
    """The first tick ``clock + k * interval`` (k >= 1) at or after ``due``."""
    steps = max(1, math.ceil((due - clock) / interval))
    tick = clock + steps * interval
    while tick < due:  # float rounding
        tick += interval
    return tick


def assignable(state: NodeState, clock: float) -> tuple[int, str, int] | None:
    """An address some pod could take now (spec 4.1, 4.2), recomputed from the addresses:
    on a datastore's non-excluded ENI, in a CIDR of the mode, with no entry or an unassigned
    one that no longer cools (spec 3.5). Returns (card, ENI, address) or None."""
    pd = state.config.prefix_delegation
    cooldown = state.config.ip_cooldown_period
    for ds in state.datastores:
        for eni in ds.enis:
            if eni.is_excluded:
                continue
            for cidr in eni.cidrs:
                if cidr.is_prefix != pd:
                    continue
                entries = {a.ip: a for a in cidr.addresses}
                for ip in range(cidr.network, cidr.network + (PREFIX_SIZE if pd else 1)):
                    entry = entries.get(ip)
                    if entry is None:
                        return ds.network_card, eni.eni_id, ip
                    freed = entry.unassigned_at
                    if entry.pod is None and (freed is None or clock - freed > cooldown):
                        return ds.network_card, eni.eni_id, ip
    return None


@attrs.define
class Node:
    """The system under test: the model's state, the fake EC2 behind it, the clock."""

    state: NodeState
    config: Config
    ec2: FakeEC2
    clock: float
    undelivered: list[Action] = attrs.field(factory=list)
    special: dict[str, str] = attrs.field(factory=dict)
    """ENIs attached out of band as trunk, EFA or unmanaged interfaces, by id."""
    excluded: set[str] = attrs.field(factory=set)
    """ENIs whose subnet is excluded (spec 1.5.7): metadata shows them ``is_excluded``."""

    @classmethod
    def boot(
        cls,
        node_limits: InstanceLimits,
        config: Config,
        unmanaged: dict[int, int],
        iteration: IterationPolicy | None = None,
    ) -> Node:
        state, ec2, ids = boot_with_unmanaged(node_limits, config, unmanaged, 0.0, iteration)
        return cls(state, config, ec2, 0.0, special=dict.fromkeys(ids, "unmanaged"))

    def kind(self, kind: str) -> set[str]:
        return {eni_id for eni_id, k in self.special.items() if k == kind}

    def observed(self) -> MetadataObserved:
        return observation(
            self.ec2,
            trunk=self.kind("trunk"),
            efa=self.kind("efa"),
            excluded=self.excluded,
            unmanaged=self.kind("unmanaged"),
        )


def excluded_copy(state: NodeState, eni_id: str) -> NodeState:
    """``state`` with one ENI marked excluded: its subnet was tagged ``kubernetes.io/role/cni=0``
    and the restart that follows (nodeInit's setupENI) marks the ENI (spec 1.5.7, 7.4)."""
    stores = []
    for ds in state.datastores:
        enis = (attrs.evolve(e, is_excluded=True) if e.eni_id == eni_id else e for e in ds.enis)
        stores.append(attrs.evolve(ds, enis=tuple(enis)))
    return attrs.evolve(state, datastores=tuple(stores))


def perform(node: Node, op: str, args: tuple[Any, ...]) -> Any:
    """Run one logged operation; the replay runs the same function on a fresh node."""
    if op == "advance":
        node.clock += args[0]
        return None
    if op == "assign":
        try:
            node.state, ip = assign_pod_ip(node.state, node.config, args[0], node.clock)
        except NoAvailableIPError:
            return None
        return ip
    if op == "unassign":
        try:
            node.state, ip = unassign_pod_ip(node.state, node.config, args[0], node.clock)
        except UnknownPodError:
            return None
        return ip
    if op == "tick":
        step = reconcile(node.state, node.config, node.clock)
        node.state = step.state
        drop_releases = args[0]
        for action in step.actions:
            if isinstance(action, ALLOCATIONS):
                node.undelivered.append(action)
            elif not drop_releases:
                node.ec2.execute(action)
        return step
    if op == "deliver":
        kind, excluded = args
        action = node.undelivered.pop(0)
        answer = ec2_outcome(node.ec2, action, kind)
        if excluded and isinstance(answer, ENIAttached):
            # The new ENI's subnet is excluded (spec 1.5.7): setupENI marks it.
            answer = attrs.evolve(answer, is_excluded=True)
            node.excluded.add(answer.eni_id)
        if answer is not None:
            node.state = apply(node.state, answer, node.clock)
        return answer
    if op == "observe":
        # Calls the pod path or a restart queued go out first: ipamd makes them before its
        # reconcile runs (synchronously, in DEL and in nodeInit). Folded in while queued, an
        # observation would put the CIDRs back (they leave no reconcile-cooldown entry) and
        # the release would then make them stale.
        node.state, queued = take_outbox(node.state)
        for action in queued:
            node.ec2.execute(action)
        perturb(node, args[0], args[1])
        seen = node.observed()
        node.state = apply(node.state, seen, node.clock)
        return seen
    if op == "restart":
        state = node.state
        if args[0] is not None:
            state = excluded_copy(state, args[0])
            node.excluded.add(args[0])
        node.state = restart(state, node.config, node.clock)
        node.undelivered.clear()  # the answers to calls in flight die with the process
        return None
    if op in ("cordon", "uncordon", "terminate"):
        kind = {"cordon": NodeCordoned, "uncordon": NodeUncordoned, "terminate": NodeTerminating}
        node.state = apply(node.state, kind[op](), node.clock)
        return None
    raise AssertionError(op)


def perturb(node: Node, kind: str, pick: int) -> None:
    """Change EC2 behind ipamd's back, so that the observation disagrees with the state."""
    ec2 = node.ec2
    seen = ec2.observe()
    secondary = [o for o in seen if o.eni_id != node.state.primary_eni_id]
    managed = [o for o in seen if node.special.get(o.eni_id) != "unmanaged"]
    cards = [ds.network_card for ds in node.state.datastores]
    card = cards[pick % len(cards)]
    pd = node.state.prefix_delegation
    if kind == "ip_vanished":
        holders = [o for o in seen if o.ips]
        if holders:
            target = holders[pick % len(holders)]
            ec2.execute(ReleaseIPs(target.eni_id, (target.ips[pick % len(target.ips)],)))
    elif kind == "prefix_vanished":
        holders = [o for o in seen if o.prefixes]
        if holders:
            target = holders[pick % len(holders)]
            prefix = target.prefixes[pick % len(target.prefixes)]
            ec2.execute(ReleasePrefixes(target.eni_id, (prefix,)))
    elif kind == "ip_appeared":
        target = seen[pick % len(seen)]
        ec2.execute(AllocateIPs(target.eni_id, 1))
    elif kind == "prefix_appeared":
        # A /28 assigned out of band: in secondary-IP mode a leftover prefix (spec 7.6). An
        # ENI without pods is preferred: a leftover there lasts until the ENI is freed.
        idle = {e.eni_id for e in node.state.enis if not e.has_pods and not e.is_primary}
        targets = [o for o in managed if o.eni_id in idle] or managed
        target = targets[pick % len(targets)]
        ec2.execute(AllocatePrefixes(target.eni_id, 1))
    elif kind == "eni_detached" and secondary:
        target_id = secondary[pick % len(secondary)].eni_id
        if target_id not in node.special:
            ec2.execute(FreeENI(target_id))
    elif kind in ("trunk_attached", "efa_attached"):
        # The VPC resource controller attaches a trunk ENI; an EFA ENI comes with the
        # instance. Neither may ever be freed by ipamd (invariant 4).
        attached = ec2.execute(AllocateENI(0, 1))
        if isinstance(attached, ENIAttached):
            node.special[attached.eni_id] = kind.removesuffix("_attached")
    elif kind == "unmanaged_attached":
        # Another controller attaches an ENI tagged no_manage (spec 1.5.6). ipamd counts it
        # only when DescribeAllENIs runs, i.e. when the reconcile also finds a new managed ENI;
        # two times in three one comes with it (an ENI a failed wait left behind, spec 6.4).
        attached = ec2.execute(AllocateENI(card, 1))
        if isinstance(attached, ENIAttached):
            node.special[attached.eni_id] = "unmanaged"
            if pick % 3:
                ec2.execute(AllocateENI(card, 1, prefixes=pd))
    elif kind == "excluded_attached":
        # An ENI in an excluded subnet (spec 1.5.7), e.g. one a failed wait left behind
        # before the subnet was tagged: the reconcile adopts it with is_excluded. Two in three
        # hold /28s whatever the mode (leftovers in secondary-IP mode).
        count = 1 + pick % node.state.limits.cidrs_per_eni
        attached = ec2.execute(AllocateENI(card, count, prefixes=pd or pick % 3 != 0))
        if isinstance(attached, ENIAttached):
            node.excluded.add(attached.eni_id)


@attrs.frozen
class Cycle:
    """The parameters of one ``NodeMachine.grow_and_shrink``."""

    enis: int
    extra: int
    keep: int
    answers: tuple[str, ...]
    idle: int
    first: str
    attach_excluded: bool
    perturbation: str
    staged: bool
    exclude: bool
    phase: float


def cycles() -> st.SearchStrategy[Cycle]:
    return st.builds(
        Cycle,
        enis=st.integers(1, 3),
        extra=st.integers(0, 4),
        keep=st.sampled_from((0, 0, 1, 3)),
        answers=st.lists(outcome_kinds(), max_size=3).map(lambda a: ("ok", *a)),
        idle=st.integers(13, 24),
        first=st.sampled_from(
            ("unmanaged_attached", "unmanaged_attached", "trunk_attached", "efa_attached", "none")
        ),
        attach_excluded=st.sampled_from((False, False, True)),
        # An excluded ENI twice as often: freed with its /28s, it is the likeliest way for a
        # history to free an ENI that holds prefixes (others lose them to a decrease first).
        perturbation=st.sampled_from(("excluded_attached", "excluded_attached", "prefix_appeared")),
        staged=st.booleans(),
        exclude=st.sampled_from((False, False, False, True)),
        phase=st.sampled_from((5.0, 2.5, 0.5)),
    )


class NodeMachine(RuleBasedStateMachine):
    """Random histories of one node, with invariants 1-8 checked at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.node: Node | None = None
        self.log: list[tuple[str, tuple[Any, ...], Any]] = []
        self.boot: tuple[InstanceLimits, Config, dict[int, int], IterationPolicy | None] | None = (
            None
        )
        # Released address -> (when, the ENI that held it): the cooldown binds the address on
        # that ENI only (a /28 released and handed to another ENI starts afresh).
        self.released_at: dict[int, tuple[float, str]] = {}
        self.pod_ip: dict[str, str] = {}
        self.adopted = False
        self.restarts = 0
        self.cycles = 0
        self.perturbation = "none"  # what the next reconcile of a cycle sees first
        self.attach_excluded = False  # whether the next ENI of a cycle is in an excluded subnet
        # What ipamd's unmanaged count per card should be (spec 1.5.6, 7.7), kept here from
        # what the machine attached and showed, never read from the model.
        self.unmanaged: dict[int, int] = {}
        # prefix_counter - prefixes held, per card: ipamd's counter drifts by its own bugs
        # only (Q9 sweeps, Q10 cleanups); tracked here as each happens.
        self.drift: Counter[int] = Counter()
        self.cap = 0

    def iteration(self, seed: int) -> IterationPolicy | None:
        """The node's iteration policy: the default order here (see the go_random machine)."""
        return None

    # -- plumbing ------------------------------------------------------------------------

    @property
    def n(self) -> Node:
        assert self.node is not None
        return self.node

    def do(self, op: str, *args: Any) -> Any:
        result = perform(self.n, op, args)
        self.log.append((op, args, result))
        return result

    def _forget_released_outside_datastore(self) -> None:
        """Drop released addresses whose CIDR left the ENI that held them: EC2 may hand them
        out again, to that ENI or another one (of any card), as new CIDRs with no cooldown.
        Run after every operation that can remove a CIDR (a tick, an observation), also
        inside the rules that run many of them."""
        if not self.released_at:
            return
        present: set[tuple[int, str]] = set()
        for eni in self.n.state.enis:
            for cidr in eni.cidrs:
                present.update(
                    (ip, eni.eni_id) for ip in range(cidr.network, cidr.network + cidr.size)
                )
        for ip, (_, holder) in list(self.released_at.items()):
            if (ip, holder) not in present:
                del self.released_at[ip]

    def _release(self, pod: str, ip: str) -> None:
        assert ip == self.pod_ip.pop(pod)
        number = ip_to_int(ip)
        # The entry stays on its CIDR while it cools, unless the DEL path released the CIDR
        # at once (Q3); then EC2 may hand the address out again with no cooldown.
        holder = next(
            (e.eni_id for e in self.n.state.enis for c in e.cidrs if c.contains(number)), None
        )
        if holder is not None:
            self.released_at[number] = (self.n.clock, holder)

    # -- rules ---------------------------------------------------------------------------

    @initialize(
        node_limits=st.one_of(
            synthetic_limits(), synthetic_limits(3, skip_card_numbers=True), catalog_limits()
        ),
        config=configs(),
        unmanaged=st.lists(st.integers(0, 11), max_size=3),
        first=st.one_of(st.none(), cycles(), cycles()),
        seed=st.integers(0, 2**64 - 1),
    )
    def start(
        self,
        node_limits: InstanceLimits,
        config: Config,
        unmanaged: list[int],
        first: Cycle | None = None,
        seed: int = 0,
    ) -> None:
        """Boot, sometimes with unmanaged ENIs already attached (``unmanaged`` picks cards),
        and in two histories in three go through a ``grow_and_shrink`` cycle at once
        (``first``): as a rule alone it is drawn too seldom for ENI frees to be common."""
        cards = node_limits.card_indices
        counts: dict[int, int] = {}
        for pick in unmanaged:
            card = cards[pick % len(cards)]
            room = card_limit(node_limits, card) - (1 if card == 0 else 0)
            if counts.get(card, 0) < room:
                counts[card] = counts.get(card, 0) + 1
        self.boot = (node_limits, config, counts, self.iteration(seed))
        self.node = Node.boot(*self.boot)
        managed = {ds.network_card for ds in self.n.state.datastores}
        self.unmanaged = {card: counts.get(card, 0) for card in managed}
        self.cap = eni_cap(node_limits, config)
        if any(self.unmanaged.values()):
            event("boot: unmanaged ENIs counted")
        if len(cards) > 1 and list(cards) != list(range(len(cards))):
            event("boot: card numbers skip" + (" (multi-NIC)" if len(managed) > 1 else ""))
        if first is not None:
            self.grow_and_shrink(first)

    def _check_room_from(self) -> None:
        """Invariant 6 (hint): room_from is a lower bound, no CIDR before it has a free
        address. Checked after every assignment too: a search moves the hint of every ENI it
        visits, and later operations can hide a wrong one before the next rule ends."""
        for eni in self.n.state.enis:
            assert all(c.assigned == c.size for c in eni.cidrs[: eni.room_from]), (
                f"6: {eni.eni_id} has room before its room_from {eni.room_from}"
            )

    @rule(pod=pod_keys())
    def add_pod(self, pod: str) -> None:
        before = self.n.state
        ip = self.do("assign", pod)
        self._check_room_from()
        if pod in self.pod_ip:
            # Idempotent: the same pod gets the same address back.
            assert ip == self.pod_ip[pod], f"2: {pod} holds {self.pod_ip[pod]} and got {ip}"
            return
        if ip is None:
            # Invariant 8e: refused only when nothing is free anywhere (every card tried).
            spare = assignable(before, self.n.clock)
            assert spare is None, f"8e: {pod} refused while card {spare[0]} {spare[1]} has one"
            return
        number = ip_to_int(ip)
        assert pod not in before.pods
        released = self.released_at.pop(number, None)
        freed = None if released is None else released[0]
        if freed is not None:
            event("assign: reused a released address")
        ref = self.n.state.pods[pod]
        if ref.network_card != before.datastores[0].network_card:
            event("assign: the pod's address came from a card above 0")
        cooldown = self.n.state.config.ip_cooldown_period
        # Invariant 3: a released address is not reused before its cooldown ends.
        assert freed is None or self.n.clock - freed > cooldown, (
            f"3: {ip} released at {freed} handed out again at {self.n.clock}"
        )
        self.pod_ip[pod] = ip

    def _note_unassign(self, before: NodeState, pod: str) -> None:
        ref = before.pods[pod]
        eni = before.find_eni(ref.eni_id)
        if eni is not None and eni.is_excluded:
            event("unassign: a pod left an excluded ENI")
            if any(t.cidr == ref.cidr for t in self.n.state.deferred_cleanups):
                event("unassign: a deferred cleanup was scheduled")

    @rule(data=st.data())
    def delete_pod(self, data: st.DataObject) -> None:
        known = sorted(self.n.state.pods)
        if known and data.draw(st.booleans()):
            pod = data.draw(st.sampled_from(known))
        else:
            pod = data.draw(pod_keys())
        before = self.n.state
        present = pod in before.pods
        ip = self.do("unassign", pod)
        assert (ip is not None) == present  # UnknownPodError exactly for unknown pods
        if ip is not None:
            self._release(pod, ip)
            self._note_unassign(before, pod)

    @rule(keep=st.integers(0, 4))
    def scale_down(self, keep: int) -> None:
        """Delete all but ``keep`` pods, as a deployment scale-down does."""
        for pod in sorted(self.n.state.pods)[keep:]:
            before = self.n.state
            self._release(pod, self.do("unassign", pod))
            self._note_unassign(before, pod)

    @rule(step=clock_steps())
    def advance(self, step: float) -> None:
        self.do("advance", step)

    @rule(
        drop_releases=st.sampled_from((False, False, False, True)),
        answer=st.one_of(st.none(), outcome_kinds()),
    )
    def tick(self, drop_releases: bool, answer: str | None) -> None:
        """One pool tick; ``answer`` delivers its allocation at once (None: later, or never)."""
        self._tick(drop_releases)
        if answer is not None and self.n.undelivered:
            self.deliver(answer, False)

    @rule(
        ticks=st.integers(1, 30),
        answers=st.lists(outcome_kinds(), min_size=1, max_size=4),
        releases_fail=st.booleans(),
        excluded=st.sampled_from((False, False, False, True)),
    )
    def run_for(self, ticks: int, answers: list[str], releases_fail: bool, excluded: bool) -> None:
        """ipamd's loop for a while: a tick every 5 s, each allocation answered at once
        (outcomes cycle through ``answers``), so histories reach ENI frees and timers. With
        ``excluded`` the first ENI that attaches is in an excluded subnet."""
        for index in range(ticks):
            self.do("advance", 5.0)
            self._tick(releases_fail and index % 3 == 0)
            if self.n.undelivered:
                attached = self._deliver(answers[index % len(answers)], excluded)
                excluded = excluded and not attached

    def _loop_once(self, answer: str, step: float = 5.0) -> bool:
        """One pass of ipamd's loop, ``step`` s on: the 60 s metadata reconcile when its
        interval has passed (after the cycle's pending perturbation), the pool tick, and the
        answer to the allocation it started. Returns whether the reconcile ran.

        While a trunk ENI is awaited ipamd reconciles at every pass; this loop does not, to
        save time: with nothing changed in EC2 it would only restamp the reconcile timer."""
        self.do("advance", step)
        state, clock = self.n.state, self.n.clock
        last = state.last_pool_action_at
        observed = False
        interval_passed = last is None or clock - last > self.n.config.reconcile_interval
        if state.in_flight is None and state.tick is None and interval_passed:
            assert reconcile_due(state, self.n.config, clock)
            self.observe(self.perturbation, len(self.log))
            self.perturbation = "none"
            observed = True
        self._tick(False)
        if self.n.undelivered and self._deliver(answer, self.attach_excluded):
            self.attach_excluded = False
        return observed

    @precondition(lambda self: self.node is not None and self.cycles < 2)
    @rule(cycle=cycles())
    def grow_and_shrink(self, cycle: Cycle) -> None:
        """A deployment scales up by ``cycle.enis`` ENIs' worth of pods and ``cycle.extra``
        (at most 160; a pod that finds no address waits while the pool grows, as the CNI
        retries), then down to ``cycle.keep`` pods, and the node idles past the ENI lifetime
        and the cooldown: the history in which ENIs are freed, with their prefixes.

        * The cycle's first reconcile sees ``cycle.first``: an unmanaged ENI attached, or a
          trunk or EFA ENI (which pods may use, and ipamd must never free).
        * ``cycle.attach_excluded``: the first ENI ipamd attaches is in an excluded subnet
          (it serves no pod, holds its CIDRs, and may be freed with them).
        * The first reconcile after the scale-down sees ``cycle.perturbation`` (an ENI in an
          excluded subnet, or a /28 ipamd did not ask for: a leftover in secondary-IP mode);
          the idle phase lasts ``cycle.idle`` passes after it (waiting at most 24).
        * ``cycle.staged``: the pods stay 60 s, so the new ENIs are old enough to go, and the
          scale-down comes in two steps 15 s apart: the second finds the decrease interval
          running, and an emptied ENI can be freed before a decrease takes its /28s.
        * ``cycle.exclude``: before the scale-down ipamd restarts and finds the subnet of an
          ENI holding pods excluded, so the scale-down schedules deferred cleanups.
        * ``cycle.phase``: the first pass after the scale-down comes that many seconds later
          (ipamd's loop does not wait for pods), so cleanups are pending at some ticks.

        Twice per history at most: it is the costliest rule."""
        self.cycles += 1
        self.perturbation = cycle.first
        self.attach_excluded = cycle.attach_excluded
        answers = cycle.answers
        state = self.n.state
        per_eni = state.limits.cidrs_per_eni * (PREFIX_SIZE if state.prefix_delegation else 1)
        pods = min(160, cycle.enis * per_eni) + cycle.extra
        for index in range(pods):
            pod = f"default/pod-{index}"
            for attempt in range(4):
                self.add_pod(pod)
                if pod in self.pod_ip:
                    break
                self._loop_once(answers[attempt % len(answers)])
            else:
                break  # the pool does not grow (a limit, or EC2 keeps failing): scale down
        for index in range(12 if cycle.staged else 0):
            self._loop_once(answers[index % len(answers)])  # the new ENIs age
        if cycle.exclude and self.restarts < 2 and self.n.state.pods:
            self.restart_node(len(self.log), True)
        if cycle.staged:
            self.scale_down(cycle.keep + len(self.n.state.pods) // 2)
            for index in range(3):
                self._loop_once(answers[index % len(answers)], cycle.phase if index else 5.0)
        self.scale_down(cycle.keep)
        self.perturbation = cycle.perturbation
        self._loop_once(answers[0], cycle.phase)
        waited = 0
        while waited < 24 and self.perturbation != "none":
            self._loop_once(answers[waited % len(answers)])
            waited += 1
        for index in range(cycle.idle):
            self._loop_once(answers[index % len(answers)])

    @rule(pods=st.lists(pod_keys(), min_size=2, max_size=12))
    def burst(self, pods: list[str]) -> None:
        """Many pods at once, as a deployment scale-up does."""
        for pod in pods:
            self.add_pod(pod)

    def _tick(self, drop_releases: bool) -> None:
        before = self.n.state
        clock = self.n.clock
        idle = tick_idle(before)
        step = self.do("tick", drop_releases)
        after = step.state
        if idle:  # Invariant 10
            assert step.actions == () and step.start_error is None, f"10: idle, yet {step}"
            assert step.next_check_at is None, f"10: idle, yet a check at {step.next_check_at}"
            assert after == before.at(clock) and after.datastores is before.datastores, "10"
            event("tick: idle")
        # A CIDR released now can come back from EC2 before this step ends (Q6: the answer
        # to the next allocation); its addresses start afresh then, so forget the releases.
        self._forget_released_outside_datastore()
        allocations = [a for a in step.actions if isinstance(a, ALLOCATIONS)]
        config = self.n.config
        # Invariant 5: one allocation at a time, and none while gated.
        assert len(allocations) <= 1, f"5: two allocations at once: {allocations}"
        if allocations:
            gated = f"5: {allocations[0]} while"
            assert before.in_flight is None, f"{gated} waiting for {before.in_flight}"
            # increaseDatastorePool checks isENIAttachmentAllowed once, at its start (spec
            # 6.1): an increase that was under way when the node was cordoned or began to
            # terminate goes on (the next ENI, then an ENI of its own). A new one is gated.
            if not self._same_increase(before, allocations[0]):
                assert not before.terminating, f"{gated} terminating"
                assert not before.cordoned or config.manage_enis_non_schedulable, (
                    f"{gated} cordoned"
                )
            last = before.last_insufficient_cidr_at
            backoff = last is not None and clock - last <= config.insufficient_cidr_backoff
            assert not backoff, f"{gated} in the insufficient-CIDR backoff since {last}"
            assert not config.disable_provisioning, f"{gated} provisioning is disabled"
        assigned = {ref.ip for ref in after.pods.values()}
        for action in step.actions:
            event(f"tick: {type(action).__name__}")
            # Invariant 2: nothing a pod holds is released.
            assert not (_released(action) & assigned), f"2: {action} releases a pod's address"
            if isinstance(action, FreeENI):
                eni = before.find_eni(action.eni_id)
                assert eni is not None
                # Invariant 4: primary, trunk, EFA, busy and young ENIs are never freed.
                kind = "primary" if eni.is_primary else "trunk" if eni.is_trunk else "EFA"
                assert not (eni.is_primary or eni.is_trunk or eni.is_efa), f"4: {action} ({kind})"
                assert not eni.has_pods, f"4: {action} while it holds pods"
                age = clock - eni.created_at
                assert age >= config.min_eni_lifetime, f"4: {action} only {age} s old"
                assert after.find_eni(action.eni_id) is None
        # Invariant 1 (requests): never ask for more than the instance holds.
        slots = after.limits.ipv4_per_eni - 1
        for action in allocations:
            assert action.count >= 1
            if isinstance(action, AllocateENI):
                assert action.count <= slots
            else:
                eni = before.find_eni(action.eni_id)
                assert eni is not None and len(eni.cidrs) + action.count <= slots
        if step.next_check_at is not None:
            assert step.next_check_at > clock
        # Invariant 9: a reconcile ends its tick, or stops it on the one call it waits for.
        waiting = after.in_flight is not None
        assert after.tick is None or waiting, f"9: tick left part-way with no call: {after.tick}"
        assert (
            not waiting
            or (allocations and allocations[-1] == step.actions[-1])
            or (before.in_flight is not None)
        ), f"9: waiting on {after.in_flight} without asking for it last"
        cleaned = self._check_cleanups(before, step, clock)
        self._check_eni_room(before, step)
        self._check_trunk_signal(before, step)
        self._check_prefix_counter(before, step, cleaned)
        self._forget_released_outside_datastore()

    @staticmethod
    def _same_increase(before: NodeState, allocation: Action) -> bool:
        """The allocation goes on the increase the resumed tick was in (same card, past its
        start), rather than one this call began."""
        progress = before.tick
        if progress is None or progress.stage is Stage.DECIDE:
            return False
        card = getattr(allocation, "network_card", None)
        if card is None:
            eni = before.find_eni(getattr(allocation, "eni_id", ""))
            card = None if eni is None else eni.network_card
        return card == progress.network_card

    def _check_cleanups(self, before: NodeState, step: Any, clock: float) -> set[tuple[str, int]]:
        """Invariants 8a and 8b; returns the (ENI, CIDR) pairs the due cleanups deleted and
        books their prefix-counter drift (Q10)."""
        after: NodeState = step.state
        due = [t for t in before.deferred_cleanups if t.due_at <= clock]
        # 8a: every cleanup due by now has run; the others wait, untouched.
        waiting = tuple(t for t in before.deferred_cleanups if t.due_at > clock)
        assert after.deferred_cleanups == waiting, (
            f"8a: cleanups after the tick at {clock}: {after.deferred_cleanups}, expected {waiting}"
        )
        cleaned: set[tuple[str, int]] = set()
        for task in due:
            ds = next((d for d in before.datastores if d.network_card == task.network_card), None)
            eni = None if ds is None else _find(ds.enis, task.eni_id)
            if eni is None or not eni.is_excluded:
                continue
            cidr = _cidr_at(eni, task.cidr)
            if cidr is None or _busy(cidr) or (eni.eni_id, cidr.network) in cleaned:
                continue  # gone already, or a pod took an address there again
            cleaned.add((eni.eni_id, cidr.network))
            event("tick: a deferred cleanup deleted an excluded ENI's CIDR")
            if task.due_at == clock:
                event("tick: a deferred cleanup ran at the very tick it came due")
            if cidr.is_prefix:
                self.drift[task.network_card] += 1  # Q10: deleted without a decrement
            kept = _find(after.enis, eni.eni_id)
            assert kept is None or _cidr_at(kept, cidr.network) is None, (
                f"8a: {cidr.key} on {eni.eni_id} was due at {task.due_at} and is still there"
                f" after the tick at {clock}"
            )
        # 8b: with nothing in flight, the next check comes no later than the first tick at
        # or after the earliest pending cleanup.
        # (A start-up failure ends ipamd: nothing is scheduled until a restart.)
        blocked = after.in_flight is not None or step.start_error is not None
        if after.deferred_cleanups and not blocked:
            earliest = min(t.due_at for t in after.deferred_cleanups)
            bound = cadence_tick(clock, self.n.config.pool_check_interval, earliest)
            event("tick: a deferred cleanup is pending")
            assert step.next_check_at is not None and step.next_check_at <= bound, (
                f"8b: next check {step.next_check_at} after the cleanup due at {earliest}"
                f" (tick {bound})"
            )
        return cleaned

    def _trunk_reserve(self, enis: tuple[ENI, ...], card: int) -> int:
        """Spec 2.4: pod ENI keeps a card-0 slot for the trunk until one is attached."""
        return int(self.n.config.pod_eni and card == 0 and not any(e.is_trunk for e in enis))

    def _check_trunk_signal(self, before: NodeState, step: Any) -> None:
        """Invariant 8f: the CNINode write for a trunk (spec 1.5.2, 7.3) comes exactly when
        pod ENI is on, card 0 has no trunk, ``len(DS[0].ENIs) < maxENI - unmanaged[0]`` (as
        ipamd last counted them), the loop is not blocked on a call, and it was not written
        before (one write per node)."""
        signals = [a for a in step.actions if isinstance(a, SignalTrunkENI)]
        ds = before.datastore(0)
        due = (
            self.n.config.pod_eni
            and not before.trunk_requested
            and not any(e.is_trunk for e in ds.enis)
            and before.in_flight is None
            and len(ds.enis) < self.cap - self.unmanaged.get(0, 0)
        )
        if self.n.config.pod_eni and not before.trunk_requested and not due:
            event("tick: no slot for the trunk, or blocked")
        assert len(signals) == int(due), f"8f: {len(signals)} trunk signals, due {due}"
        if signals:
            event("tick: SignalTrunkENI")
            assert step.state.trunk_requested

    def _check_eni_room(self, before: NodeState, step: Any) -> None:
        """Invariant 8c: an ENI is requested only for a card with room, unmanaged ENIs (as
        ipamd last counted them) and the trunk slot included (spec 2.4, Q11)."""
        for ds in before.datastores:
            card = ds.network_card
            unmanaged = self.unmanaged.get(card, 0)
            used = len(ds.enis) + self._trunk_reserve(ds.enis, card)
            if unmanaged and used < self.cap <= used + unmanaged:
                event("tick: a card is at its ENI limit only because of unmanaged ENIs")
            for action in step.actions:
                if isinstance(action, AllocateENI) and action.network_card == card:
                    assert used + unmanaged < self.cap, (
                        f"8c: AllocateENI on card {card} with {len(ds.enis)} ENIs,"
                        f" {unmanaged} unmanaged, limit {self.cap}"
                    )
                    if unmanaged:
                        event("tick: AllocateENI on a card with unmanaged ENIs")

    def _check_prefix_counter(
        self, before: NodeState, step: Any, cleaned: set[tuple[str, int]]
    ) -> None:
        """Invariant 8d: the tick moves each card's prefix counter by exactly the prefixes it
        releases (decrease) and the prefixes the ENIs it frees still hold; the cleanups that
        ran move it not at all (Q10). Calls the pod path queued (``outbox``, sent first) were
        counted when they were queued."""
        after: NodeState = step.state
        queued = len(before.outbox)
        assert step.actions[:queued] == before.outbox
        own = step.actions[queued:]
        for ds in before.datastores:
            card = ds.network_card
            enis = {e.eni_id: e for e in ds.enis}
            released: dict[str, set[int]] = {}
            for action in own:
                if isinstance(action, ReleasePrefixes) and action.eni_id in enis:
                    released.setdefault(action.eni_id, set()).update(
                        parse_cidr(text)[0] for text in action.prefixes
                    )
            expected = ds.prefix_counter - sum(len(p) for p in released.values())
            for action in own:
                if isinstance(action, FreeENI) and action.eni_id in enis:
                    eni = enis[action.eni_id]
                    held = [
                        c
                        for c in eni.cidrs
                        if c.is_prefix
                        and (eni.eni_id, c.network) not in cleaned
                        and c.network not in released.get(eni.eni_id, set())
                    ]
                    expected -= len(held)
                    if held:
                        mode = "prefix mode" if before.prefix_delegation else "leftover /28s"
                        event("tick: FreeENI of an ENI holding prefixes")
                        event(f"tick: FreeENI of an ENI holding prefixes ({mode})")
                    if eni.is_excluded:
                        event("tick: FreeENI of an excluded ENI")
            got = next(d.prefix_counter for d in after.datastores if d.network_card == card)
            assert got == expected, (
                f"8d: card {card} prefix counter {ds.prefix_counter} -> {got}, expected"
                f" {expected} (actions {own})"
            )

    @precondition(lambda self: self.node is not None and bool(self.n.undelivered))
    @rule(kind=outcome_kinds(), excluded=st.sampled_from((False,) * 5 + (True,)))
    def deliver(self, kind: str, excluded: bool) -> None:
        """The answer to the outstanding allocation; with ``excluded`` a new ENI turns out
        to be in an excluded subnet."""
        self._deliver(kind, excluded)

    def _deliver(self, kind: str, excluded: bool) -> bool:
        """``deliver``; returns whether an ENI attached."""
        action = self.n.undelivered[0]
        result = self.do("deliver", kind, excluded)
        event(f"deliver: {type(result).__name__}")
        if self.n.state.tick is not None and self.n.state.in_flight is None:
            # ipamd's tick goes on at once after the call returns (spec 7.3).
            resumed = self.n.state.tick
            self._tick(False)
            if resumed.stage.name == "GROW" and self.n.state.in_flight is not None:
                event("deliver: increase continues on the next ENI")
        if isinstance(action, AllocateENI) and isinstance(result, ENIAttached):
            ds = self.n.state.datastore(action.network_card)
            if _find(ds.enis, result.eni_id) is not None:
                if result.is_excluded:
                    event("deliver: an ENI attached in an excluded subnet")
                # 8c after the increase: the card still fits its limit.
                card = action.network_card
                used = len(ds.enis) + self.unmanaged.get(card, 0)
                assert used + self._trunk_reserve(ds.enis, card) <= self.cap, (
                    f"8c: card {card} holds {len(ds.enis)} ENIs and"
                    f" {self.unmanaged.get(card, 0)} unmanaged after an increase,"
                    f" limit {self.cap}"
                )
                return True
        return False

    @precondition(
        lambda self: (
            self.node is not None
            and self.n.state.in_flight is None
            and self.n.state.tick is None
            and reconcile_due(self.n.state, self.n.config, self.n.clock)
        )
    )
    @rule(kind=st.sampled_from(PERTURBATIONS), pick=st.integers(0, 50))
    def observe(self, kind: str, pick: int) -> None:
        """EC2 changes behind ipamd's back and ipamd's 60 s reconcile sees it at once.

        Perturbing only when the reconcile is due keeps the datastore from holding a stale
        address that EC2 has meanwhile handed to another ENI, which would break invariants
        that ipamd itself cannot keep in that window.
        """
        before = self.n.state
        seen = self.do("observe", kind, pick)
        after = self.n.state
        for ds in before.datastores:
            card = ds.network_card
            here = [o for o in seen.enis if o.network_card == card]
            known = {e.eni_id for e in ds.enis}
            if any(o.managed and o.eni_id not in known for o in here):
                # A new managed ENI: DescribeAllENIs recounts the unmanaged ones (spec 7.7).
                self.unmanaged[card] = sum(1 for o in here if not o.managed)
                self.adopted = True
                event("observe: adopted an ENI")
                if any(o.is_excluded and o.eni_id not in known for o in here):
                    event("observe: adopted an ENI as excluded")
                if self.unmanaged[card]:
                    event("observe: unmanaged ENIs counted")
            kept = {e.eni_id for e in after.datastore(card).enis}
            for eni in ds.enis:
                if eni.eni_id not in kept and _holds_pods(eni):
                    # Q9: a swept ENI with pods has its prefixes counted off twice.
                    self.drift[card] -= _prefix_count(eni)
            # 8c: ipamd records what it counted, no more and no less.
            assert after.datastore(card).unmanaged_enis == self.unmanaged[card], (
                f"8c: card {card} counts {after.datastore(card).unmanaged_enis} unmanaged ENIs,"
                f" metadata showed {self.unmanaged[card]}"
            )
        if any(
            c.is_prefix and not c.assigned
            for e in after.enis
            for c in e.cidrs
            if not after.prefix_delegation
        ):
            event("observe: a leftover /28 in secondary-IP mode")
        # Pods whose addresses vanished from EC2 lose them (Q26).
        for pod in [p for p in self.pod_ip if p not in after.pods]:
            event("observe: a pod lost its address (Q26)")
            del self.pod_ip[pod]
        self._forget_released_outside_datastore()

    @precondition(
        lambda self: self.node is not None and self.restarts < 1 and bool(self.n.state.pods)
    )
    @rule(pick=st.integers(0, 50), exclude=st.sampled_from((True, True, True, False)))
    def restart_node(self, pick: int, exclude: bool) -> None:
        """ipamd restarts with the same configuration; with ``exclude``, an ENI holding pods
        is in a subnet tagged excluded meanwhile, so nodeInit marks it and the checkpoint puts
        its pods back on it. That is how pods come to sit on an excluded ENI: the pod path
        never picks one (spec 4.1).

        Once per history as a rule (a cycle may add a second): a restart forgets all cooling
        (Q18), so histories with many would check invariant 3 seldom."""
        before = self.n.state
        holders = [e for e in before.enis if _holds_pods(e) and not e.is_excluded]
        # The primary ENI only when no other holds pods: excluded, it leaves the rest of the
        # history without its addresses, which would starve the other invariants.
        holders = [e for e in holders if not e.is_primary] or holders
        target = holders[pick % len(holders)].eni_id if exclude and holders else None
        self.do("restart", target)
        after = self.n.state
        self.restarts += 1
        # The checkpoint brings every pod back; nothing cools any more (Q18) and no cleanup
        # survives the process.
        assert dict(after.pods.items()) == dict(before.pods.items())
        assert not after.deferred_cleanups
        self.released_at.clear()
        if target is not None:
            event("restart: an ENI holding pods is now excluded")

    @rule(kind=st.sampled_from(("uncordon",) * 12 + ("cordon",) * 4 + ("terminate",)))
    def node_condition(self, kind: str) -> None:
        # One rule for all three, weighted so that a terminated or cordoned node stays rare
        # enough for most histories to keep growing, shrinking and freeing ENIs (termination
        # stops increases and frees for good: about one history in five reaches it).
        if kind == "terminate" and self.n.state.terminating:
            return
        if kind == "terminate":
            event("node: terminating")
        self.do(kind)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def consistent(self) -> None:
        if self.node is None:
            return
        state = self.n.state
        # Invariants 2 and 6: no address twice, one address per pod, index == addresses.
        state.check()
        assert {p: r.address for p, r in state.pods.items()} == self.pod_ip
        for eni in state.enis:
            recount = _recount(eni)
            counters = {k: getattr(eni, k) for k in recount}
            assert recount == counters, f"6: {eni.eni_id} counters {counters}, recount {recount}"
            for cidr in eni.cidrs:
                assert cidr.assigned == _busy(cidr)
        self._check_room_from()
        for ds in state.datastores:
            held = sum(_prefix_count(e) for e in ds.enis)
            drift = self.drift[ds.network_card]
            assert ds.prefix_counter == held + drift, (
                f"6: card {ds.network_card} prefix counter {ds.prefix_counter}, {held} prefixes"
                f" held, drift {drift} (Q9, Q10)"
            )
        self._forget_released_outside_datastore()

    @invariant()
    def within_limits(self) -> None:
        if self.node is None:
            return
        state = self.n.state
        slots = state.limits.ipv4_per_eni - 1
        for ds in state.datastores:
            # Invariant 1: ENIs never exceed what EC2 lets the card hold, nor ipamd's own
            # cap (MAX_ENI, trunk slot, unmanaged ENIs) once ipamd added one, unless an
            # orphaned ENI was adopted by a reconcile (ipamd does not count those, spec 2.4).
            # Unmanaged ENIs attached at boot may fill the cap by themselves.
            card = ds.network_card
            unmanaged = self.unmanaged.get(card, 0)
            assert len(ds.enis) + unmanaged <= card_limit(state.limits, card)
            if not self.adopted and len(ds.enis) > (1 if card == 0 else 0):
                reserve = self._trunk_reserve(ds.enis, card)
                assert len(ds.enis) + unmanaged + reserve <= self.cap, (
                    f"1: card {card} holds {len(ds.enis)} ENIs and {unmanaged} unmanaged,"
                    f" cap {self.cap}"
                )
            for eni in ds.enis:
                assert len(eni.cidrs) <= slots, f"1: {eni.eni_id} holds {len(eni.cidrs)} CIDRs"

    def teardown(self) -> None:
        # Invariant 7: the same history replays to the same states and actions.
        if self.boot is None or not self.log:
            return
        event(f"history length ~{len(self.log) // 20 * 20}")
        event(f"ticks {sum(op == 'tick' for op, _, _ in self.log) // 5 * 5}+")
        replay = Node.boot(*self.boot)
        for op, args, result in self.log:
            again = perform(replay, op, args)
            assert again == result, f"7: {op}{args} replays differently"
        assert replay.state == self.n.state, "7: the replay ends in another state"


TestNodeHistories = NodeMachine.TestCase
# Histories are the strongest evidence, so they get three times the active profile's examples
# (ci: 180 histories of up to 60 steps; deep: 4,500 of up to 250).
TestNodeHistories.settings = settings(
    settings.default, max_examples=3 * settings.default.max_examples
)


class GoRandomNodeMachine(NodeMachine):
    """The same histories and invariants under Go's randomised map iteration (spec 9): pods
    spread over ENIs and CIDRs, releases and ENI frees pick in Go's order."""

    def iteration(self, seed: int) -> IterationPolicy | None:
        return IterationPolicy.go_random(seed)


TestGoRandomNodeHistories = GoRandomNodeMachine.TestCase
TestGoRandomNodeHistories.settings = settings(
    settings.default, max_examples=2 * settings.default.max_examples
)
