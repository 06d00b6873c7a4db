"""A waiting pod's retries (``vpccni_model.sim.retry``): the grid, the give-up attempt, when a
cooling address cools, and the engine making only the retries that can succeed.

The engine's claim is that skipping the other retries changes nothing: with an observer
attached it makes every retry (the Prometheus exporter counts each CNI ADD), so each scenario
here runs both ways and the two runs must agree on everything they record.
"""

from __future__ import annotations

from typing import Any

import pytest
from sim_record import SilentObserver, record_run

from vpccni_model import Config, instance_limits
from vpccni_model.cloud import ASSIGN, CREATE, FaultRule, Latency, Throttle, TokenBucket
from vpccni_model.sim import Burst, Constant, PoissonChurn, Simulation, SimulationSpec, cluster
from vpccni_model.sim.retry import (
    attempt_time,
    first_attempt_after,
    first_attempt_from,
    give_up_attempt,
)

M5 = instance_limits("m5.large")
T3 = instance_limits("t3.small")
LATENCY = Latency(assign=0.3, describe=0.2, create=1.0, attach=3.0, detach_delete=4.0)

# -- the grid ------------------------------------------------------------------------------


def test_attempts_are_placement_plus_k_intervals_without_drift() -> None:
    # 0.1 added 600 times is 59.99999999999...; 0.1 * 600 is 60.0.
    assert attempt_time(0.3, 600, 0.1) == 0.3 + 60.0
    assert attempt_time(5.0, 0, 1.0) == 5.0


@pytest.mark.parametrize(
    ("interval", "timeout", "attempt"),
    [(1.0, 600.0, 600), (1.0, 0.5, 1), (0.3, 1.0, 4), (2.0, 5.0, 3), (0.1, 60.0, 600)],
)
def test_the_give_up_attempt_is_the_first_at_least_the_timeout_after_placement(
    interval: float, timeout: float, attempt: int
) -> None:
    # 0.3 * 3 = 0.9 < 1.0 <= 1.2; 2 * 2 = 4 < 5 <= 6; at least attempt 1 after placement.
    assert give_up_attempt(interval, timeout) == attempt


def test_the_first_attempt_from_an_instant_counts_that_instant() -> None:
    # Placed at 10.5, interval 1: attempts at 11.5, 12.5, ... The first at or after 12.5 is
    # attempt 2; strictly after it, attempt 3; never attempt 0 or one already made.
    assert first_attempt_from(10.5, 1.0, 0, 12.5) == 2
    assert first_attempt_after(10.5, 1.0, 0, 12.5) == 3
    assert first_attempt_from(10.5, 1.0, 0, 12.6) == 3
    assert first_attempt_from(10.5, 1.0, 0, 0.0) == 1
    assert first_attempt_from(10.5, 1.0, 7, 12.5) == 8


# -- a pod waiting for a cooling address ---------------------------------------------------


def test_a_pod_waiting_for_a_cooling_address_is_retried_once_it_has_cooled() -> None:
    # t3.small, W=0 M=3 (no growth beyond 3 IPs, Q21): three pods at 0 take the three IPs
    # (the pool is there at 0.3). One leaves at 100 (its address cools while
    # now - 100 <= 30 s); a fourth pod at 100.5 fails, and its first retry after 130 s is
    # attempt 30, at 130.5: it gets the address there, and no retry in between is made.
    from vpccni_model.sim import PodEvent, Trace

    rows = (
        *(PodEvent(0.0, f"p{i}", "add") for i in range(3)),
        PodEvent(100.0, "p0", "delete"),
        PodEvent(100.5, "late", "add"),
    )
    spec = SimulationSpec(
        nodes=cluster(T3, Config(minimum_ip_target=3), 1),
        workload=Trace(rows),
        duration=300.0,
        latency=LATENCY,
    )
    run = record_run(Simulation(spec))
    assert [w for w in run["waits"] if w[0] > 1] == [(100.5, 30.0)]
    # The three at 0 retry at 1 (the pool came at 0.3): one retry each; the late pod one.
    assert run["retry_times"] == [1.0, 1.0, 1.0, 130.5]


# -- skipping retries changes nothing --------------------------------------------------------


def _record(spec: SimulationSpec, every_retry: bool) -> dict[str, Any]:
    sim = Simulation(spec)
    if every_retry:
        sim.observer = SilentObserver()
    return record_run(sim)


SCENARIOS = {
    "churn, shipped settings": SimulationSpec(
        nodes=cluster(M5, Config(), 6),
        workload=PoissonChurn(pods_per_node=20, changes_per_node_per_minute=4),
        duration=3600.0,
        latency=LATENCY,
        seed=3,
    ),
    "WARM_IP_TARGET=1 under a tight throttle": SimulationSpec(
        nodes=cluster(M5, Config(warm_ip_target=1, minimum_ip_target=2), 4),
        workload=PoissonChurn(pods_per_node=15, changes_per_node_per_minute=6),
        duration=1800.0,
        latency=LATENCY,
        throttle=Throttle(mutating=TokenBucket(3, 0.2)),
        seed=5,
    ),
    "prefix delegation, burst at an integer instant, zero latency": SimulationSpec(
        nodes=cluster(M5, Config(prefix_delegation=True, warm_ip_target=2), 3),
        workload=Burst(81, at=20.0, lifetime=200.0),
        duration=900.0,
        latency=Latency.zero(),
        faults=(FaultRule(ASSIGN, "InternalError", 1.0, 20.0, 40.0),),
        seed=1,
    ),
    "a small subnet runs dry and pods give up": SimulationSpec(
        nodes=cluster(T3, Config(), 4),
        workload=PoissonChurn(pods_per_node=9, changes_per_node_per_minute=3),
        duration=1500.0,
        subnets=(("subnet-a", "10.0.0.0/27"),),
        latency=LATENCY,
        pod_timeout=120.0,
        seed=2,
    ),
    "faults and a short cooldown, retries every 0.3 s": SimulationSpec(
        nodes=cluster(T3, Config(warm_ip_target=1, ip_cooldown_period=7), 3),
        workload=PoissonChurn(pods_per_node=8, changes_per_node_per_minute=5),
        duration=1200.0,
        latency=LATENCY,
        faults=(FaultRule(ASSIGN, "InternalError", 0.3), FaultRule(CREATE, "InternalError", 0.2)),
        pod_retry_interval=0.3,
        pod_timeout=90.0,
        seed=4,
    ),
    "start-up failures crash-loop ipamd while pods wait": SimulationSpec(
        nodes=cluster(M5, Config(), 2),
        workload=Constant(12),
        duration=400.0,
        latency=Latency.zero(),
        faults=(FaultRule(ASSIGN, "UnauthorizedOperation", 1.0, 0.0, 45.0),),
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_skipping_retries_that_would_fail_changes_nothing(name: str) -> None:
    spec = SCENARIOS[name]
    every = _record(spec, every_retry=True)
    skipping = _record(spec, every_retry=False)
    assert every["summary"]["pods_that_waited"] > 0  # the scenario makes pods wait
    for key in ("summary", "series", "node_series", "calls", "errors", "waits", "submitted"):
        assert skipping[key] == every[key], key
    assert skipping["retries"] < every["retries"]
