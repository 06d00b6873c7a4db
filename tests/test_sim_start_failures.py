"""ipamd's failed start-ups in the simulator (spec 7.5): the process exits, kubelet restarts it
after its crash-loop back-off (10 s, doubling, at most 300 s), and nodeInit and pre-scaling run
again; while ipamd is down its node hands out no address."""

from __future__ import annotations

from vpccni_model import Config, NoENIConfig, instance_limits
from vpccni_model.cloud import ASSIGN, FaultRule, Latency
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
