"""Whole-node histories: random pod churn, clock jumps, EC2 outcomes and faults, metadata that
disagrees with the datastore, cordon and termination. After every step the invariants that
ipamd promises (or should) are checked; at the end the history is replayed and must give the
same states and actions (determinism).
"""

from __future__ import annotations

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
    Config,
    ENIAttached,
    FakeEC2,
    FreeENI,
    InstanceLimits,
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
    unassign_pod_ip,
)
from vpccni_model._actions import Action
from vpccni_model._ipv4 import PREFIX_SIZE, ip_to_int, parse_cidr
from vpccni_model.testing import clock_steps, configs, ec2_outcome, limits, outcome_kinds, pod_keys

ALLOCATIONS = (AllocateENI, AllocateIPs, AllocatePrefixes)


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
        used = sum(1 for a in cidr.addresses if a.pod is not None)
        if cidr.is_prefix:
            out["prefix_cidrs"] += 1
            out["assigned_in_prefixes"] += used
            out["free_prefix_cidrs"] += used == 0
        else:
            out["ip_cidrs"] += 1
            out["assigned_in_ips"] += used
            out["free_ip_cidrs"] += used == 0
    return out


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


@attrs.define
class Node:
    """The system under test: the model's state, the fake EC2 behind it, the clock."""

    state: NodeState
    config: Config
    ec2: FakeEC2
    clock: float
    undelivered: list[Action] = attrs.field(factory=list)
    special: dict[str, str] = attrs.field(factory=dict)
    """ENIs attached out of band as trunk or EFA interfaces, by id."""


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
        action = node.undelivered.pop(0)
        event = ec2_outcome(node.ec2, action, args[0])
        if event is not None:
            node.state = apply(node.state, event, node.clock)
        return event
    if op == "observe":
        perturb(node, args[0], args[1])
        seen = tuple(
            attrs.evolve(
                o,
                is_trunk=node.special.get(o.eni_id) == "trunk",
                is_efa=node.special.get(o.eni_id) == "efa",
            )
            for o in node.ec2.observe()
        )
        event = MetadataObserved(seen)
        node.state = apply(node.state, event, node.clock)
        return event
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
    elif kind == "eni_detached" and secondary:
        target = secondary[pick % len(secondary)].eni_id
        if target not in node.special:
            ec2.execute(FreeENI(target))
    elif kind in ("trunk_attached", "efa_attached"):
        # The VPC resource controller attaches a trunk ENI; an EFA ENI comes with the
        # instance. Neither may ever be freed by ipamd (invariant 4).
        attached = ec2.execute(AllocateENI(0, 1))
        if isinstance(attached, ENIAttached):
            node.special[attached.eni_id] = kind.removesuffix("_attached")


class NodeMachine(RuleBasedStateMachine):
    """Random histories of one node, with the invariants of issue 3 checked at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.node: Node | None = None
        self.log: list[tuple[str, tuple[Any, ...], Any]] = []
        self.boot: tuple[InstanceLimits, Config] | None = None
        self.released_at: dict[int, float] = {}
        self.pod_ip: dict[str, str] = {}
        self.drifted = False
        self.adopted = False

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
        present: set[int] = set()
        for eni in self.n.state.enis:
            for cidr in eni.cidrs:
                present.update(range(cidr.network, cidr.network + cidr.size))
        for ip in [ip for ip in self.released_at if ip not in present]:
            del self.released_at[ip]

    # -- rules ---------------------------------------------------------------------------

    @initialize(node_limits=limits(), config=configs())
    def start(self, node_limits: InstanceLimits, config: Config) -> None:
        state = NodeState.boot(node_limits, config, 0.0)
        self.boot = (node_limits, config)
        self.node = Node(state, config, FakeEC2.for_node(state), 0.0)

    @rule(pod=pod_keys())
    def add_pod(self, pod: str) -> None:
        before = self.n.state
        ip = self.do("assign", pod)
        if pod in self.pod_ip:
            # Idempotent: the same pod gets the same address back.
            assert ip == self.pod_ip[pod]
            return
        if ip is None:
            return
        number = ip_to_int(ip)
        assert pod not in before.pods
        freed = self.released_at.pop(number, None)
        if freed is not None:
            event("assign: reused a released address")
        cooldown = self.n.state.config.ip_cooldown_period
        # Invariant 3: a released address is not reused before its cooldown ends.
        assert freed is None or self.n.clock - freed > cooldown, (ip, freed, self.n.clock)
        self.pod_ip[pod] = ip

    @rule(data=st.data())
    def delete_pod(self, data: st.DataObject) -> None:
        known = sorted(self.n.state.pods)
        if known and data.draw(st.booleans()):
            pod = data.draw(st.sampled_from(known))
        else:
            pod = data.draw(pod_keys())
        present = pod in self.n.state.pods
        ip = self.do("unassign", pod)
        assert (ip is not None) == present  # UnknownPodError exactly for unknown pods
        if ip is not None:
            assert ip == self.pod_ip.pop(pod)
            self.released_at[ip_to_int(ip)] = self.n.clock

    @rule(keep=st.integers(0, 4))
    def scale_down(self, keep: int) -> None:
        """Delete all but ``keep`` pods, as a deployment scale-down does."""
        for pod in sorted(self.n.state.pods)[keep:]:
            ip = self.do("unassign", pod)
            assert ip == self.pod_ip.pop(pod)
            self.released_at[ip_to_int(ip)] = self.n.clock

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
            self.deliver(answer)

    @rule(
        ticks=st.integers(1, 30),
        answers=st.lists(outcome_kinds(), min_size=1, max_size=4),
        releases_fail=st.booleans(),
    )
    def run_for(self, ticks: int, answers: list[str], releases_fail: bool) -> None:
        """ipamd's loop for a while: a tick every 5 s, each allocation answered at once
        (outcomes cycle through ``answers``), so histories reach ENI frees and timers."""
        for index in range(ticks):
            self.do("advance", 5.0)
            self._tick(releases_fail and index % 3 == 0)
            if self.n.undelivered:
                self.deliver(answers[index % len(answers)])

    @rule(pods=st.lists(pod_keys(), min_size=2, max_size=12))
    def burst(self, pods: list[str]) -> None:
        """Many pods at once, as a deployment scale-up does."""
        for pod in pods:
            self.add_pod(pod)

    def _tick(self, drop_releases: bool) -> None:
        before = self.n.state
        clock = self.n.clock
        step = self.do("tick", drop_releases)
        after = step.state
        # A CIDR released now can come back from EC2 before this step ends (Q6: the answer
        # to the next allocation); its addresses start afresh then, so forget the releases.
        self._forget_released_outside_datastore()
        allocations = [a for a in step.actions if isinstance(a, ALLOCATIONS)]
        config = self.n.config
        # Invariant 5: one allocation at a time, and none while gated.
        assert len(allocations) <= 1
        if allocations:
            assert before.in_flight is None or before.in_flight.action is None
            assert not before.terminating
            assert not before.cordoned or config.manage_enis_non_schedulable
            last = before.last_insufficient_cidr_at
            assert last is None or clock - last > config.insufficient_cidr_backoff
            assert not config.disable_provisioning
        assigned = {ref.ip for ref in after.pods.values()}
        for action in step.actions:
            event(f"tick: {type(action).__name__}")
            # Invariant 2: nothing a pod holds is released.
            assert not (_released(action) & assigned), action
            if isinstance(action, FreeENI):
                eni = before.find_eni(action.eni_id)
                assert eni is not None
                # Invariant 4: primary, trunk, EFA, busy and young ENIs are never freed.
                assert not (eni.is_primary or eni.is_trunk or eni.is_efa)
                assert not eni.has_pods
                assert clock - eni.created_at >= config.min_eni_lifetime
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

    @precondition(lambda self: self.node is not None and bool(self.n.undelivered))
    @rule(kind=outcome_kinds())
    def deliver(self, kind: str) -> None:
        result = self.do("deliver", kind)
        event(f"deliver: {type(result).__name__}")
        if self.n.state.in_flight is not None:
            event("deliver: increase continues on the next ENI")

    @precondition(
        lambda self: (
            self.node is not None
            and self.n.state.in_flight is None
            and reconcile_due(self.n.state, self.n.config, self.n.clock)
        )
    )
    @rule(
        kind=st.sampled_from(
            (
                "none",
                "ip_vanished",
                "prefix_vanished",
                "ip_appeared",
                "eni_detached",
                "trunk_attached",
                "efa_attached",
            )
        ),
        pick=st.integers(0, 50),
    )
    def observe(self, kind: str, pick: int) -> None:
        """EC2 changes behind ipamd's back and ipamd's 60 s reconcile sees it at once.

        Perturbing only when the reconcile is due keeps the datastore from holding a stale
        address that EC2 has meanwhile handed to another ENI, which would break invariants
        that ipamd itself cannot keep in that window.
        """
        before = self.n.state
        self.do("observe", kind, pick)
        after = self.n.state
        if after is not before:
            known = {e.eni_id for e in before.enis}
            if any(e.eni_id not in known for e in after.enis):
                self.adopted = True
                event("observe: adopted an ENI")
            kept = {e.eni_id for e in after.enis}
            if any(e.has_pods and e.eni_id not in kept for e in before.enis):
                self.drifted = True  # Q9: a swept ENI with pods is counted off twice
            # Pods whose addresses vanished from EC2 lose them (Q26).
            for pod in [p for p in self.pod_ip if p not in after.pods]:
                event("observe: a pod lost its address (Q26)")
                del self.pod_ip[pod]

    @rule(kind=st.sampled_from(("cordon", "uncordon", "uncordon", "terminate")))
    def node_condition(self, kind: str) -> None:
        # One rule for all three, so that a terminated or cordoned node stays rare enough
        # for most histories to keep growing and shrinking.
        if kind == "terminate" and self.n.state.terminating:
            return
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
            assert recount == {k: getattr(eni, k) for k in recount}, eni.eni_id
            # room_from is a lower bound: no CIDR before it has a free address.
            assert all(c.assigned == c.size for c in eni.cidrs[: eni.room_from]), eni.eni_id
            for cidr in eni.cidrs:
                assert cidr.assigned == sum(a.pod is not None for a in cidr.addresses)
        if not self.drifted:
            for ds in state.datastores:
                assert ds.prefix_counter == sum(e.prefix_cidrs for e in ds.enis)
        self._forget_released_outside_datastore()

    @invariant()
    def within_limits(self) -> None:
        if self.node is None:
            return
        state, config = self.n.state, self.n.config
        effective = config.for_instance(state.limits)
        slots = state.limits.ipv4_per_eni - 1
        for ds in state.datastores:
            # Invariant 1: ENIs never exceed what EC2 lets the card hold, nor ipamd's own
            # cap (MAX_ENI, trunk slot, unmanaged ENIs) unless an orphaned ENI was adopted
            # by a reconcile (ipamd does not count those, spec 2.4).
            card_limit = next(
                (
                    c.max_interfaces
                    for c in state.limits.network_cards
                    if c.index == ds.network_card
                ),
                state.limits.max_enis,
            )
            assert len(ds.enis) + ds.unmanaged_enis <= card_limit
            if not self.adopted:
                reserve = int(config.pod_eni and ds.network_card == 0 and not ds.has_trunk)
                cap = effective.effective_max_eni(state.limits)
                assert len(ds.enis) + ds.unmanaged_enis <= max(cap - reserve, 1)
            for eni in ds.enis:
                assert len(eni.cidrs) <= slots

    def teardown(self) -> None:
        # Invariant 7: the same history replays to the same states and actions.
        if self.boot is None or not self.log:
            return
        event(f"history length ~{len(self.log) // 20 * 20}")
        event(f"ticks {sum(op == 'tick' for op, _, _ in self.log) // 5 * 5}+")
        node_limits, config = self.boot
        state = NodeState.boot(node_limits, config, 0.0)
        replay = Node(state, config, FakeEC2.for_node(state), 0.0)
        for op, args, result in self.log:
            again = perform(replay, op, args)
            assert again == result, (op, args)
        assert replay.state == self.n.state


TestNodeHistories = NodeMachine.TestCase
# Histories are the strongest evidence, so they get three times the active profile's examples
# (ci: 180 histories of up to 60 steps; deep: 4,500 of up to 250).
TestNodeHistories.settings = settings(
    settings.default, max_examples=3 * settings.default.max_examples
)
