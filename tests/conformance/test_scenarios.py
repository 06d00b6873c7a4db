"""Behaviours users reported upstream, reproduced end to end with exact, hand-derived numbers.

Every expected value below is derived by hand from the spec (``ipamd-spec.md``, sections 5, 6,
7.1 and 10) in the comments next to it; none is computed with the code under test.

Conventions used in the derivations:

* Instance limits (spec 2.2 table): t3.small S=3, maxENI=3, max pods 11; t3.medium S=5,
  maxENI=3, max pods 17; m5.large S=9 (PD: Pmax=9), maxENI=3, max pods 29.
* ``short = max(W - (T - A), M - T, 0)``, ``over = max(min(T - A - W, T - M), 0)`` (5.1); in SIP
  without W/M the pool is low when ``T - A < S * E`` (5.4); one EC2 allocation per tick (6.1).
* FakeEC2 (N11): the subnet's first usable address (10.0.0.4) goes to the primary ENI's primary
  IP, secondary IPs are the lowest free addresses, prefixes the lowest wholly free aligned /28.
* Simulator runs use zero latency and no throttling: a node ticks on its 5 s cadence from boot
  (0, 5, 10, ...), an allocation completes at the instant it is made and the node's next tick
  is 5 s later; a pod without an IP retries every 1 s after it arrived (CNI retry).
  Bursts arrive at t=101, off the tick grid, so a tick and an arrival never coincide.
* Direct runs (``Driven``) call ``reconcile`` every 5 s like ipamd's loop, execute each action on
  FakeEC2 at once, and retry waiting pods right after every tick.

Actions are written as short strings: ``ips+2@dev0`` = AssignPrivateIpAddresses(2) on the
ENI at device 0, ``eni+2`` = a new ENI with 2 secondary IPs, ``pfx+1@dev0`` = one /28 prefix,
``pfx-10.0.0.16/28@dev0`` = UnassignPrivateIpAddresses of that prefix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pytest

from vpccni_model import (
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    Config,
    FakeEC2,
    NodeState,
    ReleasePrefixes,
    apply,
    assign_pod_ip,
    instance_limits,
    restart,
    take_outbox,
    unassign_pod_ip,
)
from vpccni_model._actions import Action
from vpccni_model._errors import NoAvailableIPError
from vpccni_model._ipv4 import ip_to_int
from vpccni_model.cloud import CallResult, Latency, run_tick
from vpccni_model.sim import (
    Burst,
    NodeSpec,
    PodEvent,
    Simulation,
    SimulationResult,
    SimulationSpec,
    Trace,
    Workload,
    cluster,
)

Grow = AllocateIPs | AllocateENI

ASSIGN = "AssignPrivateIpAddresses"
UNASSIGN = "UnassignPrivateIpAddresses"
CREATE = "CreateNetworkInterface"
ATTACH = "AttachNetworkInterface"
MODIFY = "ModifyNetworkInterfaceAttribute"


# -- helpers ----------------------------------------------------------------------------------


def _short(action: Action, device_of: dict[str, int]) -> str:
    """A readable one-word form of an action (see the module docstring)."""
    if isinstance(action, AllocateIPs):
        return f"ips+{action.count}@dev{device_of[action.eni_id]}"
    if isinstance(action, AllocatePrefixes):
        return f"pfx+{action.count}@dev{device_of[action.eni_id]}"
    if isinstance(action, AllocateENI):
        kind = "eni-pfx" if action.prefixes else "eni"
        return f"{kind}+{action.count}"
    if isinstance(action, ReleasePrefixes):
        return f"pfx-{','.join(action.prefixes)}@dev{device_of[action.eni_id]}"
    return repr(action)


def _devices(ec2: FakeEC2, node: str) -> dict[str, int]:
    return {o.eni_id: o.device_number for o in ec2.observe(node=node)}


class SimRun:
    """A simulator run that also records every EC2 call family submitted (time, node, action)
    and the instant each pod got its IP."""

    def __init__(self, spec: SimulationSpec, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sim = Simulation(spec)
        self.submitted: list[tuple[float, str, Action]] = []
        self.started: dict[str, float] = {}
        submit = self.sim.ec2.submit

        def recording(action: Action, *, node: str, at: float) -> CallResult:
            self.submitted.append((at, node, action))
            return submit(action, node=node, at=at)

        monkeypatch.setattr(self.sim.ec2, "submit", recording)
        self.result: SimulationResult = self.sim.run(self._progress)

    def _progress(self, time: float) -> None:
        for name, pod in self.sim.pods.items():
            if pod.ip is not None and name not in self.started:
                self.started[name] = time

    def actions(self, node: str) -> list[tuple[float, str]]:
        devices = _devices(self.sim.ec2, node)
        return [(at, _short(a, devices)) for at, n, a in self.submitted if n == node]

    def waits(self) -> dict[str, float]:
        return {
            name: self.started[name] - pod.arrived
            for name, pod in self.sim.pods.items()
            if name in self.started
        }

    def final_ips(self, node: str) -> tuple[int, int]:
        """(TotalIPs, TotalIPs - AssignedIPs) of a node in the last sample."""
        last = [s for s in self.result.node_series if s.node == node][-1]
        return last.ips_total, last.ips_unused


def _spec(
    nodes: tuple[NodeSpec, ...],
    workload: Workload,
    duration: float,
    *,
    pod_timeout: float = 600.0,
    sample_interval: float = 60.0,
) -> SimulationSpec:
    """Zero latency, no throttling, no faults (see the module docstring), and the model's
    documented order (conformance is claimed for ``ordered``, not for Go's random order)."""
    return SimulationSpec(
        nodes=nodes,
        workload=workload,
        duration=duration,
        iteration="ordered",
        latency=Latency.zero(),
        throttle=None,
        pod_timeout=pod_timeout,
        sample_interval=sample_interval,
    )


class Driven:
    """One node driven by hand: ``reconcile`` every 5 s, FakeEC2 answering at once."""

    NODE = "node"

    def __init__(self, instance: str, config: Config, subnet: str = "10.0.0.0/16") -> None:
        self.config = config
        self.ec2 = FakeEC2(subnets={"subnet": subnet})
        self.state = NodeState.boot(
            instance_limits(instance), config, 0.0, primary_eni_id="eni-node"
        )
        self.ec2.boot_node(self.NODE, self.state)
        self.log: list[tuple[float, Action]] = []
        self.waiting: list[str] = []
        self.started: dict[str, float] = {}

    def _run(self, actions: Iterable[Action], clock: float) -> None:
        for action in actions:
            self.log.append((clock, action))
            event = self.ec2.execute(action, node=self.NODE)
            if event is not None:
                self.state = apply(self.state, event, clock)

    def tick(self, clock: float) -> None:
        """One whole tick: after each answer the tick goes on at once (spec 7.3)."""
        run = run_tick(self.state, self.config, self.ec2, clock, node=self.NODE)
        self.state = run.state
        self.log.extend((clock, action) for action in run.actions)
        self.retry(clock)

    def ticks(self, start: float, end: float) -> None:
        """Ticks at start, start + 5, ..., end (inclusive)."""
        clock = start
        while clock <= end:
            self.tick(clock)
            clock += 5.0

    def add(self, pod: str, clock: float) -> None:
        self.waiting.append(pod)
        self.retry(clock)

    def retry(self, clock: float) -> None:
        still: list[str] = []
        for pod in self.waiting:
            try:
                self.state, _ = assign_pod_ip(self.state, self.config, pod, clock)
            except NoAvailableIPError:
                still.append(pod)
            else:
                self.started[pod] = clock
        self.waiting = still

    def flush(self, clock: float) -> None:
        """Run what the DEL path queued at once, as the simulator does."""
        self.state, queued = take_outbox(self.state)
        self._run(queued, clock)

    def actions(self) -> list[tuple[float, str]]:
        devices = _devices(self.ec2, self.NODE)
        return [(at, _short(a, devices)) for at, a in self.log]


# -- 1. aws/amazon-vpc-cni-k8s#730: a burst of pods with WARM_IP_TARGET --------------------------

# Per node: pods=10 arrive at t=101 on a converged node. Expected per-node EC2 call families,
# their times, the final (TotalIPs, unused) and the longest time-to-IP.
#
# t3.medium (S=5), W=2, M=0:
#   boot t=0: T=0 -> short=2 -> ips+2@dev0 (T=2). At 101 two pods take them, 8 wait.
#   105: T=2, A=2 -> short 2 -> primary has 2 of 5 slots -> ips+2@dev0 (T=4); the retries
#        at 106 place 2 (A=4, 6 waiting).
#   110: short 2, primary has 1 free slot -> ips+1@dev0 (T=5); 111: A=5, 5 waiting.
#   115: primary full, room for an ENI -> eni+min(short 2, S)=eni+2 (T=7); 116: A=7, 3 waiting.
#   120: ips+2@dev1 (T=9); 121: A=9, 1 waiting.   125: ips+1@dev1 (T=10); 126: A=10, 0 waiting.
#   130: Avail 0 -> short 2 -> dev1 full -> eni+2 (T=12, A=10, Avail 2 = W): settled.
#   6 calls after the burst, 2 unused, the last pod got its IP at 126: 25 s.
# t3.medium, default WARM_ENI_TARGET=1 (keep Avail >= S*E = 5):
#   boot: ips+5@dev0 (T=5). 101: 5 pods placed, 5 wait. 105: Avail 0 -> primary full -> eni+S
#   = eni+5 (T=10); 106: A=10. 110: Avail 0 < 5 -> eni+5 (T=15, Avail 5): settled.
#   2 calls after the burst, 5 unused, longest wait 106 - 101 = 5 s.
# m5.large (S=9), W=2:
#   boot ips+2@dev0 (T=2); 105 ips+2 (T=4); 110 ips+2 (T=6); 115 ips+2 (T=8); 120 ips+1 (T=9,
#   primary full); each placing the pods one second later; 125 eni+2 (T=11) places the 10th pod
#   at 126 (A=10, Avail 1 < W); 130 ips+1@dev1 (T=12, Avail 2): 6 calls, 2 unused, 25 s.
# m5.large, E=1 (keep Avail >= 9):
#   boot ips+9@dev0 (T=9); 101: 9 placed, 1 waits; 105 eni+9 (T=18); 106: A=10, Avail 8 < 9;
#   110 eni+9 (T=27, Avail 17): 2 calls, 17 unused, 5 s.
BURST_CASES = [
    (
        "t3.medium",
        Config(warm_ip_target=2),
        3,  # nodes: the burst lands on every node (30 pods, the scheduler places 10 per node)
        [
            (0.0, "ips+2@dev0"),
            (105.0, "ips+2@dev0"),
            (110.0, "ips+1@dev0"),
            (115.0, "eni+2"),
            (120.0, "ips+2@dev1"),
            (125.0, "ips+1@dev1"),
            (130.0, "eni+2"),
        ],
        (12, 2),
        # waits per node: 2 at once, then 2, 1, 2, 2, 1 pods one second after each tick
        [0, 0, 5, 5, 10, 15, 15, 20, 20, 25],
    ),
    (
        "t3.medium",
        Config(),
        3,
        [(0.0, "ips+5@dev0"), (105.0, "eni+5"), (110.0, "eni+5")],
        (15, 5),
        [0] * 5 + [5] * 5,
    ),
    (
        "m5.large",
        Config(warm_ip_target=2),
        1,
        [
            (0.0, "ips+2@dev0"),
            (105.0, "ips+2@dev0"),
            (110.0, "ips+2@dev0"),
            (115.0, "ips+2@dev0"),
            (120.0, "ips+1@dev0"),
            (125.0, "eni+2"),
            (130.0, "ips+1@dev1"),
        ],
        (12, 2),
        [0, 0, 5, 5, 10, 10, 15, 15, 20, 25],
    ),
    (
        "m5.large",
        Config(),
        1,
        [(0.0, "ips+9@dev0"), (105.0, "eni+9"), (110.0, "eni+9")],
        (27, 17),
        [0] * 9 + [5],
    ),
]


@pytest.mark.parametrize(
    ("instance", "config", "nodes", "per_node", "final", "waits"),
    BURST_CASES,
    ids=["t3.medium-W2", "t3.medium-E1", "m5.large-W2", "m5.large-E1"],
)
def test_issue_730_burst_allocates_one_step_per_tick(
    monkeypatch: pytest.MonkeyPatch,
    instance: str,
    config: Config,
    nodes: int,
    per_node: list[tuple[float, str]],
    final: tuple[int, int],
    waits: list[int],
) -> None:
    spec = _spec(
        cluster(instance_limits(instance), config, nodes),
        Burst(10 * nodes, at=101.0),
        duration=400.0,
    )
    run = SimRun(spec, monkeypatch)
    names = [n.name for n in spec.nodes]
    for name in names:
        assert run.actions(name) == per_node
        assert run.final_ips(name) == final
    # Spec 6.1: one EC2 call family per tick. An "ips" family is one AssignPrivateIpAddresses,
    # an "eni" family is Create + Attach + Modify(DeleteOnTermination).
    assigns = sum(1 for _, a in per_node if a.startswith("ips")) * nodes
    creates = sum(1 for _, a in per_node if a.startswith("eni")) * nodes
    expected_calls = {ASSIGN: {"ok": assigns}}
    if creates:
        expected_calls |= {api: {"ok": creates} for api in (CREATE, ATTACH, MODIFY)}
    assert run.result.calls_by_api == expected_calls
    summary = run.result.summary
    assert summary.pods_started == 10 * nodes
    assert summary.pods_failed == 0
    assert summary.pods_waiting_at_end == 0
    assert sorted(run.waits().values()) == sorted(waits * nodes)
    assert summary.time_to_ip_max_s == max(waits)
    # Over-allocation at the end: total IPs minus pods, cluster-wide.
    last = run.result.series[-1]
    assert (last.ips_total, last.ips_unused, last.pods) == (
        final[0] * nodes,
        final[1] * nodes,
        10 * nodes,
    )


def test_issue_730_one_pool_tick_per_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spec 6.1 and 7.2: ipamd's loop runs one pool tick per 5 s, so a node never starts two
    EC2 allocations at the same instant. The burst above has pods retrying on whole seconds, so
    a retry fails at 110 while the tick's allocation (zero latency) is still to be applied; no
    second tick may run at 110 once it is."""
    spec = _spec(
        cluster(instance_limits("t3.medium"), Config(warm_ip_target=2), 1),
        Burst(10, at=101.0),
        duration=400.0,
    )
    run = SimRun(spec, monkeypatch)
    times = [at for at, _ in run.actions("node-000")]
    assert len(times) == len(set(times)), run.actions("node-000")


def test_issue_730_warm_ip_target_trades_ec2_calls_for_unused_ips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The comparison users made: per node, W=2 makes 6 allocation calls after the burst and
    leaves 2 IPs unused, but the slowest pod waits 25 s; the warm-ENI default makes 2 larger
    calls (whole ENIs), leaves 5 unused and no pod waits more than 5 s (numbers above)."""
    limits = instance_limits("t3.medium")
    runs = {}
    for label, config in (("W=2", Config(warm_ip_target=2)), ("E=1", Config())):
        spec = _spec(cluster(limits, config, 3), Burst(30, at=101.0), duration=400.0)
        runs[label] = SimRun(spec, monkeypatch)
    after = {
        label: [a for at, _, a in run.submitted if at > 101.0 and isinstance(a, Grow)]
        for label, run in runs.items()
    }
    assert (len(after["W=2"]), len(after["E=1"])) == (18, 6)  # 3 nodes x (6, 2)
    assert max(a.count for a in after["W=2"]) == 2
    assert {a.count for a in after["E=1"]} == {5}
    unused = {label: run.result.series[-1].ips_unused for label, run in runs.items()}
    assert unused == {"W=2": 6, "E=1": 15}
    slowest = {label: run.result.summary.time_to_ip_max_s for label, run in runs.items()}
    assert slowest == {"W=2": 25.0, "E=1": 5.0}


# -- 2. #2650: MINIMUM_IP_TARGET without WARM_IP_TARGET (Q21) -----------------------------------


def test_issue_2650_minimum_ip_target_alone_starves_pods_above_m(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # t3.small, M=3, W=0: boot T=0 -> short = max(0 - 0, 3 - 0) = 3 -> ips+3@dev0 (T=3).
    # 4 pods at 101: three take the 3 IPs; then T=3, A=3: short = max(W - Avail, M - T)
    # = max(0 - 0, 3 - 3) = 0, so the pool is never low (5.4) and never grows (Q21).
    # The 4th pod retries every second and gives up once 120 s have passed: at 221.
    spec = _spec(
        cluster(instance_limits("t3.small"), Config(minimum_ip_target=3), 1),
        Burst(4, at=101.0),
        duration=400.0,
        pod_timeout=120.0,
    )
    run = SimRun(spec, monkeypatch)
    assert run.actions("node-000") == [(0.0, "ips+3@dev0")]
    assert run.started == {"burst-0": 101.0, "burst-1": 101.0, "burst-2": 101.0}
    summary = run.result.summary
    assert (summary.pods_started, summary.pods_failed, summary.pods_waiting_at_end) == (3, 1, 0)
    assert {s.ips_total for s in run.result.series if s.time_s > 0} == {3}
    assert run.result.calls_by_api == {ASSIGN: {"ok": 1}}


def test_issue_2650_adding_warm_ip_target_lets_every_pod_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # t3.small, M=3, W=1: boot short = max(1 - 0, 3 - 0) = 3 -> ips+3@dev0 (T=3; then
    # short = max(1 - 3, 0) = 0 and over = min(3 - 1, T - M = 0) = 0: settled).
    # 101: 3 pods placed, the 4th waits. 105: short = max(1 - 0, 3 - 3) = 1, primary full
    # (3 = S) -> eni+min(1, S) = eni+1 (T=4); 106: the 4th pod starts (5 s), A=4.
    # 110: Avail 0 -> short 1 -> ips+1@dev1 (T=5, Avail 1 = W): settled.
    spec = _spec(
        cluster(instance_limits("t3.small"), Config(minimum_ip_target=3, warm_ip_target=1), 1),
        Burst(4, at=101.0),
        duration=400.0,
        pod_timeout=120.0,
    )
    run = SimRun(spec, monkeypatch)
    assert run.actions("node-000") == [(0.0, "ips+3@dev0"), (105.0, "eni+1"), (110.0, "ips+1@dev1")]
    assert run.started == {
        "burst-0": 101.0,
        "burst-1": 101.0,
        "burst-2": 101.0,
        "burst-3": 106.0,
    }
    summary = run.result.summary
    assert (summary.pods_started, summary.pods_failed, summary.pods_waiting_at_end) == (4, 0, 0)
    assert run.final_ips("node-000") == (5, 1)


# -- 3. #2896: cooling IPs count as available (Q1) ---------------------------------------------

OLD = [f"old-{i}" for i in range(7)]
NEW = [f"new-{i}" for i in range(7)]


def _rollout() -> Trace:
    """A Deployment of 7 pods started at 50, then replaced: the old pods are deleted at 200
    and the new ones created half a second later."""
    rows = [PodEvent(50.0, pod, "add") for pod in OLD]
    rows += [PodEvent(200.0, pod, "delete") for pod in OLD]
    rows += [PodEvent(200.5, pod, "add") for pod in NEW]
    return Trace(tuple(rows))


def _rollout_run(cooldown: float, monkeypatch: pytest.MonkeyPatch) -> SimRun:
    # The shape of the issue's settings (W=2 plus a MINIMUM_IP_TARGET that holds the pool, so
    # that no decrease interferes), scaled to one m5.large: W=2, M=9.
    config = Config(warm_ip_target=2, minimum_ip_target=9, ip_cooldown_period=cooldown)
    spec = _spec(
        cluster(instance_limits("m5.large"), config, 1),
        _rollout(),
        duration=300.0,
        sample_interval=5.0,
    )
    return SimRun(spec, monkeypatch)


def test_issue_2896_pods_wait_for_cooldown_while_pool_counts_cooling_ips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # boot: short = max(2 - 0, 9 - 0) = 9 -> ips+9@dev0: 10.0.0.5 .. 10.0.0.13 (T=9).
    # 50: old-0..old-6 take .5 .. .11 (A=7, Avail 2 = W; over = min(0, T - M = 0) = 0).
    # 200: all 7 deleted; .5 .. .11 cool until elapsed > 30 s, i.e. after 230.
    # 200.5: new-0, new-1 get the never-used .12, .13; new-2 .. new-6 find only cooling /32s.
    # Every tick from 205 on: T=9, A=2, Avail = 7 (the 7 cooling IPs count, Q1) ->
    # short = max(2 - 7, 9 - 9) = 0: not low, so ipamd does not grow; over = min(5, 0) = 0.
    # The 5 waiting pods retry at 201.5, 202.5, ...; the first retry after 230 is 230.5, when
    # new-2 .. new-6 take the cooled .5 .. .9. Wait: 230.5 - 200.5 = 30.0 s.
    run = _rollout_run(30.0, monkeypatch)
    assert run.actions("node-000") == [(0.0, "ips+9@dev0")]
    assert run.result.calls_by_api == {ASSIGN: {"ok": 1}}
    started = {pod: run.started[pod] for pod in NEW}
    assert started == {
        "new-0": 200.5,
        "new-1": 200.5,
        **{pod: 230.5 for pod in NEW[2:]},
    }
    waits = run.waits()
    assert [waits[pod] for pod in NEW] == [0.0, 0.0, 30.0, 30.0, 30.0, 30.0, 30.0]
    assert min(waits[pod] for pod in NEW[2:]) > 30.0 - 1.0  # cooldown minus the retry slack
    ips = {pod: run.sim.pods[pod].ip for pod in NEW}
    assert ips == {f"new-{i}": f"10.0.0.{n}" for i, n in enumerate((12, 13, 5, 6, 7, 8, 9))}
    # While they wait, ipamd's own stats say 7 IPs are available, all 7 of them cooling.
    during = [s for s in run.result.series if 205.0 <= s.time_s <= 230.0]
    assert [s.time_s for s in during] == [205.0, 210.0, 215.0, 220.0, 225.0, 230.0]
    for sample in during:
        assert (sample.pods, sample.pods_waiting) == (2, 5)
        assert (sample.ips_total, sample.ips_unused, sample.ips_cooling) == (9, 7, 7)
    assert {s.ips_total for s in run.result.series if s.time_s > 0} == {9}
    after = next(s for s in run.result.series if s.time_s == 235.0)
    assert (after.pods, after.pods_waiting, after.ips_cooling) == (7, 0, 0)


def test_issue_2896_without_cooldown_the_same_rollout_starts_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # IP_COOLDOWN_PERIOD=0: an address cools only while elapsed == 0 (spec 3.5); the new pods
    # arrive 0.5 s after the deletes, so new-0 .. new-6 reuse .5 .. .11 at once (lowest first,
    # N4) and the pool is untouched: A=7, Avail 2 = W.
    run = _rollout_run(0.0, monkeypatch)
    assert run.actions("node-000") == [(0.0, "ips+9@dev0")]
    assert {pod: run.started[pod] for pod in NEW} == {pod: 200.5 for pod in NEW}
    ips = {pod: run.sim.pods[pod].ip for pod in NEW}
    assert ips == {f"new-{i}": f"10.0.0.{5 + i}" for i in range(7)}
    assert run.result.summary.pods_that_waited == 0


# -- 4. Q6: prefix delegation with WARM_PREFIX_TARGET=0 churns ---------------------------------

PREFIX = "10.0.0.16/28"  # 10.0.0.0/28 holds the primary IP .4, so the lowest free /28 is .16


def _q6_expected(end: float) -> list[tuple[float, str]]:
    """Spec 5.4/5.5/5.6/5.7 with WP=0 and no W/M, on an idle m5.large:

    * T=0: low (target 0 and Avail == 0) -> getPrefixesNeeded = max(1, WP - F) = 1 prefix.
    * T=16, F=1: not low (Avail 16), too high (F=1 > WP=0) -> release F - WP = 1 prefix, unless
      the decrease ran within the last 30 s (skipped while elapsed <= 30).
    Ticks every 5 s: 0 grow; 5 release (first decrease is never skipped); 10 grow; 15 .. 35
    skipped (elapsed 10 .. 30); 40 release; 45 grow; then every 35 s (30 s + one tick):
    releases at 5 + 35k, re-allocations at 10 + 35k, the prefix always the same lowest /28.
    """
    out = [(0.0, "pfx+1@dev0")]
    k = 0
    while 5.0 + 35 * k <= end:
        out.append((5.0 + 35 * k, f"pfx-{PREFIX}@dev0"))
        if 10.0 + 35 * k <= end:
            out.append((10.0 + 35 * k, "pfx+1@dev0"))
        k += 1
    return out


def test_q6_expected_sequence_literal_prefix() -> None:
    # The first entries written out, to pin the helper above to the hand derivation.
    assert _q6_expected(600.0)[:7] == [
        (0.0, "pfx+1@dev0"),
        (5.0, f"pfx-{PREFIX}@dev0"),
        (10.0, "pfx+1@dev0"),
        (40.0, f"pfx-{PREFIX}@dev0"),
        (45.0, "pfx+1@dev0"),
        (75.0, f"pfx-{PREFIX}@dev0"),
        (80.0, "pfx+1@dev0"),
    ]
    # Over 10 minutes (ticks 0 .. 600 inclusive): releases at 5 + 35k for k = 0 .. 17, the last
    # at 5 + 595 = 600 (18); allocations at 0 and at 10 + 35k for k = 0 .. 16, the last at 570
    # (1 + 17 = 18).
    assert Counter(a[:4] for _, a in _q6_expected(600.0)) == {"pfx+": 18, "pfx-": 18}


PD_WP0 = Config(prefix_delegation=True, warm_prefix_target=0)
PD_WP1 = Config(prefix_delegation=True, warm_prefix_target=1)


def test_q6_prefix_churn_every_35_s_direct_loop() -> None:
    node = Driven("m5.large", PD_WP0)
    node.ticks(0.0, 600.0)
    assert node.actions() == _q6_expected(600.0)
    assert node.ec2.calls[ASSIGN] == 18
    assert node.ec2.calls[UNASSIGN] == 18


def test_q6_prefix_churn_every_35_s_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    # The event-driven simulator skips idle ticks using next_check_at; it must not miss one.
    spec = _spec(cluster(instance_limits("m5.large"), PD_WP0, 1), Burst(0), duration=600.0)
    run = SimRun(spec, monkeypatch)
    assert run.actions("node-000") == _q6_expected(600.0)
    assert run.result.calls_by_api == {ASSIGN: {"ok": 18}, UNASSIGN: {"ok": 18}}


def test_q6_warm_prefix_target_1_is_quiet_after_convergence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # WP=1: boot T=0 -> Avail 0 < 16*1 -> one prefix (T=16). Then Avail 16 is not < 16 and
    # F=1 is not > WP=1: neither low nor high; shouldRemoveExtraENIs finds no ENI to free.
    # Nothing else happens in 10 minutes.
    node = Driven("m5.large", PD_WP1)
    node.ticks(0.0, 600.0)
    assert node.actions() == [(0.0, "pfx+1@dev0")]
    spec = _spec(cluster(instance_limits("m5.large"), PD_WP1, 1), Burst(0), duration=600.0)
    run = SimRun(spec, monkeypatch)
    assert run.actions("node-000") == [(0.0, "pfx+1@dev0")]
    assert run.result.series[-1].prefixes == 1


# -- 5a. The insufficient-CIDR backoff stalls growth after the subnet frees up -----------------


def test_insufficient_cidr_backoff_stalls_growth_for_120_s() -> None:
    # Subnet 10.0.0.0/27: usable .4 .. .30 (first four and last reserved), 27 addresses.
    # t3.small, default E=1 (keep Avail >= S = 3).
    node = Driven("t3.small", Config(), subnet="10.0.0.0/27")
    node.tick(0.0)  # primary IP .4; Avail 0 < 3 -> ips+3@dev0: .5 .6 .7
    assert node.actions() == [(0.0, "ips+3@dev0")]
    # Another node takes the rest of the subnet: its primary IP .8, secondaries .9 .. .30.
    node.ec2.register_node("other", instance_limits("t3.small"))
    rest = {ip_to_int(f"10.0.0.{n}") for n in range(9, 31)}
    node.ec2.register_eni("eni-other", 0, 0, ips=rest, node="other")
    assert node.ec2.subnet_free("subnet") == (0, 0)
    node.ticks(5.0, 100.0)
    for pod in ("p0", "p1", "p2", "p3"):
        node.add(pod, 101.0)
    assert node.waiting == ["p3"]
    # 105: A=T=3, Avail 0 < 3, primary full -> eni+3, which needs 4 addresses: EC2 answers
    # InsufficientFreeAddressesInSubnet and ipamd stamps lastInsufficientCidrError = 105.
    node.tick(105.0)
    assert node.state.last_insufficient_cidr_at == 105.0
    # 106: the other node goes away; 23 addresses are free again.
    node.ec2.terminate_node("other")
    assert node.ec2.subnet_free("subnet")[0] == 23
    # Spec 6.1/7.1: no increase while elapsed(105) <= 120 s, i.e. through the tick at 225.
    node.ticks(110.0, 225.0)
    assert node.waiting == ["p3"]
    assert len(node.log) == 2
    # 230 (elapsed 125): eni+3 -> primary .8, IPs .9 .10 .11 (T=6); p3 starts: 129 s late.
    # 235: A=4, Avail 2 < 3 -> eni+3 -> .12 and .13 .14 .15 (T=9, Avail 5); maxENI=3 reached.
    node.ticks(230.0, 400.0)
    assert node.actions() == [
        (0.0, "ips+3@dev0"),
        (105.0, "eni+3"),
        (230.0, "eni+3"),
        (235.0, "eni+3"),
    ]
    assert node.started["p3"] == 230.0
    assert node.ec2.calls == Counter({ASSIGN: 1, CREATE: 3, ATTACH: 2, MODIFY: 2})
    observed = {o.device_number: o.ips for o in node.ec2.observe(node=Driven.NODE)}
    assert observed == {
        0: ("10.0.0.5", "10.0.0.6", "10.0.0.7"),
        1: ("10.0.0.9", "10.0.0.10", "10.0.0.11"),
        2: ("10.0.0.13", "10.0.0.14", "10.0.0.15"),
    }


# -- 5b. Q3: after turning prefix delegation off, a pod DEL releases the leftover prefix --------


def test_q3_del_path_releases_leftover_prefix_at_once() -> None:
    # m5.large, PD on, WP=1 (the manifest): boot T=0 -> pfx+1 = 10.0.0.16/28.
    node = Driven("m5.large", PD_WP1)
    node.tick(0.0)
    node.add("a", 1.0)  # 10.0.0.16 (every address of a /28 is handed out, the network one too)
    node.add("b", 1.0)  # 10.0.0.17
    # 5: T=16, A=2, Avail 14 < 16 -> max(1, WP - F = 1) = 1 more prefix: 10.0.0.32/28.
    # 10: Avail 30 >= 16 and F=1 is not > WP: settled.
    node.ticks(5.0, 10.0)
    assert node.actions() == [(0.0, "pfx+1@dev0"), (5.0, "pfx+1@dev0")]
    assert node.state.datastore(0).prefix_counter == 2

    # 100: ipamd restarts with PD off (spec 7.6): the empty /28 .32 is released, the one with
    # pods stays (a mismatched CIDR, invisible to the SIP stats, yet it uses an ENI slot).
    node.config = Config()
    node.state = restart(node.state, node.config, 100.0)
    assert node.state.outbox == (ReleasePrefixes("eni-node", ("10.0.0.32/28",)),)
    # Pre-scaling: T=0 (no /32 yet), Avail 0 < 9 -> fill the primary: 9 slots minus the
    # leftover prefix = 8 IPs, the lowest free .5 .. .12. 105: Avail 8 < 9, primary full ->
    # eni+9. 110: Avail 17 >= 9: settled.
    node.ticks(100.0, 110.0)
    assert node.actions()[2:] == [
        (100.0, "pfx-10.0.0.32/28@dev0"),
        (100.0, "ips+8@dev0"),
        (105.0, "eni+9"),
    ]
    assert node.state.datastore(0).prefix_counter == 1

    # 200: a is deleted. Its IP has no /32 of its own, so the DEL path releases every empty
    # prefix of that ENI (spec 4.5 b): the /28 still holds b -> nothing.
    state, _ = unassign_pod_ip(node.state, node.config, "a", 200.0)
    assert state.outbox == ()
    node.state = state
    # 201: b is deleted: the /28 is now empty and goes at once, although both of its used
    # addresses are still cooling (Q3), and nothing enters the reconcile cooldown cache.
    state, _ = unassign_pod_ip(node.state, node.config, "b", 201.0)
    assert state.outbox == (ReleasePrefixes("eni-node", (PREFIX,)),)
    primary = state.find_eni("eni-node")
    assert primary is not None
    assert all(not c.is_prefix for c in primary.cidrs)
    assert len(primary.cidrs) == 8
    assert state.datastore(0).prefix_counter == 0
    assert dict(state.reconcile_cooldown) == {}
    node.state = state
    node.flush(201.0)
    observed = {o.device_number: o.prefixes for o in node.ec2.observe(node=Driven.NODE)}
    assert observed[0] == ()
