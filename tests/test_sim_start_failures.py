"""ipamd's failed start-ups in the simulator (spec 7.5): the process exits, kubelet restarts it
after its crash-loop back-off (10 s, doubling, at most 300 s), and nodeInit and pre-scaling run
again; while ipamd is down its node hands out no address."""

from __future__ import annotations

import attrs
from sim_record import SilentObserver

from vpccni_model import Config, NoENIConfig, instance_limits
from vpccni_model._actions import Action, ReleaseIPs
from vpccni_model.cloud import (
    ASSIGN,
    UNASSIGN,
    CallResult,
    FaultRule,
    Latency,
    SdkRetry,
    Throttle,
    TokenBucket,
)
from vpccni_model.sim import SimulationSpec, cluster, simulate
from vpccni_model.sim.engine import Simulation
from vpccni_model.sim.workloads import Constant

M5 = instance_limits("m5.large")


def test_custom_networking_without_an_eniconfig_crash_loops_with_kubelets_back_off() -> None:
    # No ENIConfig: pre-scaling creates nothing, card 0 has no IP, nodeInit fails at 0 s.
    # kubelet restarts after 10, 20, 40, 80, 160, then 300 s: start-ups at 0, 10, 30, 70,
    # 150, 310, 610, 910 within 1000 s, each failing the same way, with no EC2 call.
    config = Config(custom_networking=True)
    spec = SimulationSpec(
        nodes=cluster(M5, config, 1, eni_config=NoENIConfig("default", "default")),
        workload=Constant(5),
        duration=1000.0,
    )
    sim = Simulation(spec)
    crashes: list[float] = []
    crash = sim._crash

    def record(node: object) -> None:
        crashes.append(sim.now)
        crash(node)  # type: ignore[arg-type]

    sim._crash = record  # type: ignore[method-assign]
    result = sim.run()
    assert crashes == [0.0, 10.0, 30.0, 70.0, 150.0, 310.0, 610.0, 910.0]
    summary = result.summary
    assert summary.ipamd_start_failures == 8
    assert summary.ec2_calls == 0
    # The 5 pods never get an address and give up after 600 s with no EC2 error.
    assert (summary.pods_started, summary.pods_failed, summary.pods_failed_timeout) == (0, 5, 5)


def test_a_grow_error_at_start_up_restarts_ipamd_until_the_call_succeeds() -> None:
    # AssignPrivateIpAddresses fails with UnauthorizedOperation until 15 s: at 0 s pre-scaling's
    # Assign(9) and its retry Assign(1) fail (6.2) and nodeInit fails (7.5); the restart at
    # 10 s fails the same way; the one at 10 + 20 = 30 s succeeds. No latency: calls return
    # at once.
    spec = SimulationSpec(
        nodes=cluster(M5, Config(), 1),
        workload=Constant(5),
        duration=120.0,
        latency=Latency.zero(),
        faults=(FaultRule(ASSIGN, "UnauthorizedOperation", 1.0, 0.0, 15.0),),
    )
    result = simulate(spec)
    assert result.summary.ipamd_start_failures == 2
    assert result.calls_by_api[ASSIGN] == {"failed": 4, "ok": 1}
    assert result.summary.pods_started == 5
    # The pods (arrived at 0 s) retry their CNI ADD every second; the retry at 30 s comes
    # before the restart of the same instant (queued first), so they get addresses at 31 s.
    assert result.summary.time_to_ip_max_s == 31.0


# -- the AWS SDK's retries (cloud._retry) --------------------------------------------------
# SdkRetry(max_backoff=1.5): int(log2(1.5)) == 0, so every retry waits exactly 1.5 s.
FLAT = SdkRetry(max_backoff=1.5)


def test_the_sdk_retries_a_server_error_before_ipamd_sees_it_and_fails_its_start_up() -> None:
    # InternalError (HTTP 500, which the SDK retries) until 15 s. Pre-scaling's Assign(9): its
    # 3 attempts at 0, 1.5, 3.0 fail; tryAssignIPs' Assign(1): at 3.0, 4.5, 6.0. Only then does
    # ipamd see the error and exit (7.5): at 6.0, so kubelet restarts it at 16.0, when the
    # fault is over. The pods' CNI retry at 16 s comes before the restart of that instant:
    # they get addresses at 17 s.
    spec = SimulationSpec(
        nodes=cluster(M5, Config(), 1),
        workload=Constant(5),
        duration=120.0,
        latency=Latency.zero(),
        faults=(FaultRule(ASSIGN, "InternalError", 1.0, 0.0, 15.0),),
        sdk_retry=FLAT,
    )
    sim = Simulation(spec)
    sim.observer = _Calls(sim)
    result = sim.run()
    assert result.summary.ipamd_start_failures == 1
    assert result.calls_by_api[ASSIGN] == {"failed": 6, "ok": 1}
    assert [t for t, _, calls in sim.observer.seen if calls[0][0] == ASSIGN] == [
        0.0, 1.5, 3.0, 4.5, 6.0, 16.0
    ]  # fmt: skip
    assert result.summary.time_to_ip_max_s == 17.0
    # Without the SDK's retries ipamd sees the error at 0 s, again after its restart at 10 s,
    # and starts at 10 + 20 = 30 s (as for UnauthorizedOperation above).
    plain = simulate(attrs.evolve(spec, sdk_retry=SdkRetry.none()))
    assert plain.calls_by_api[ASSIGN] == {"failed": 4, "ok": 1}
    assert plain.summary.ipamd_start_failures == 2
    assert plain.summary.time_to_ip_max_s == 31.0


def test_a_throttled_retry_takes_its_token_when_it_is_made() -> None:
    # One Assign token, refilled 0.4 a second. At 0 both nodes' pre-scaling Assign(9) is made:
    # node-000's gets the token, node-001's is throttled and retried at 1.5 (0.6 tokens:
    # throttled again) and at 3.0 (1.2, capped at 1: made).
    spec = SimulationSpec(
        nodes=cluster(M5, Config(), 2),
        workload=Constant(1),
        duration=30.0,
        latency=Latency.zero(),
        throttle=Throttle(per_api={ASSIGN: TokenBucket(1, 0.4)}),
        sdk_retry=FLAT,
    )
    sim = Simulation(spec)
    sim.observer = _Calls(sim)
    sim.run()
    assigns = [(t, node, calls) for t, node, calls in sim.observer.seen if calls[0][0] == ASSIGN]
    assert assigns[:4] == [
        (0.0, "node-000", ((ASSIGN, "ok"),)),
        (0.0, "node-001", ((ASSIGN, "throttled"),)),
        (1.5, "node-001", ((ASSIGN, "throttled"),)),
        (3.0, "node-001", ((ASSIGN, "ok"),)),
    ]


class _Calls(SilentObserver):
    """An observer that keeps each step of every call family: (time, node, api_calls)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.seen: list[tuple[float, str, tuple[tuple[str, str], ...]]] = []

    def calls(self, node: str, action: Action, result: CallResult) -> None:
        if result.api_calls:
            self.seen.append((self.sim.now, node, result.api_calls))


def test_a_release_left_retrying_by_a_crashed_ipamd_makes_the_node_reconcile() -> None:
    # The release's retry falls due after ipamd exited: the new process never makes it, so
    # EC2 may still hold the addresses; the node's next metadata reconcile (Q26) settles it.
    spec = SimulationSpec(
        nodes=cluster(M5, Config(), 1),
        workload=Constant(1),
        duration=60.0,
        latency=Latency.zero(),
        throttle=Throttle(per_api={UNASSIGN: TokenBucket(1, 0)}),
        sdk_retry=FLAT,
    )
    sim = Simulation(spec)
    node = sim.nodes["node-000"]
    release = ReleaseIPs("eni-node-000", ("10.0.0.9",))
    sim.ec2.submit(release, node="node-000", at=0.0)  # takes the one Unassign token
    waiting = sim.ec2.submit(release, node="node-000", at=0.0)
    assert waiting.pending is not None
    sim._crash(node)
    assert not waiting.pending.live
    assert not node.divergent and node.observe_at is None
    sim._on_ec2((node, release, waiting.pending))
    assert node.divergent and node.observe_at is not None
