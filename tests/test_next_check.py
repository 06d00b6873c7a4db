"""``next_check_at`` counts only the timers that can change a decision (``_nextcheck``).

The reference is the rule it replaced: the earliest of every timer (each ENI's minimum
lifetime and cooldown, the decrease interval, the insufficient-address backoff, the deferred
cleanups). A tick at a timer the precise rule leaves out must change nothing, so a simulation
driven by either rule must record the same run, with fewer ticks under the precise one.
"""

from __future__ import annotations

from typing import Any

import pytest
from sim_record import record_run

import vpccni_model._tick as tick_module
from vpccni_model import Config, NodeState, instance_limits
from vpccni_model._nextcheck import _next_tick_after
from vpccni_model.cloud import ASSIGN, FaultRule, Latency
from vpccni_model.sim import Burst, PoissonChurn, Simulation, SimulationSpec, cluster

M5 = instance_limits("m5.large")
T3 = instance_limits("t3.small")
LATENCY = Latency(assign=0.3, describe=0.2, create=1.0, attach=3.0, detach_delete=4.0)


def every_timer(state: NodeState, clock: float, busy: bool, cards: object = None) -> float | None:
    """The earliest tick after any timer (the rule before timers were filtered); the tick's
    card views are not needed for it."""
    config = state.config
    interval = config.pool_check_interval
    if state.in_flight is not None:
        return None
    if busy or state.outbox:
        return clock + interval
    found: list[float] = []

    def later(boundary: float | None, strict: bool) -> None:
        if boundary is not None and (boundary > clock or (strict and boundary >= clock)):
            tick = _next_tick_after(clock, interval, boundary, strict)
            if tick is not None:
                found.append(tick)

    for ds in state.datastores:
        for eni in ds.enis:
            if not eni.is_primary:
                later(eni.created_at + config.min_eni_lifetime, strict=False)
            if eni.latest_unassigned_at is not None:
                later(eni.latest_unassigned_at + config.ip_cooldown_period, strict=True)
    if state.last_decrease_at is not None:
        later(state.last_decrease_at + config.decrease_interval, strict=True)
    if state.last_insufficient_cidr_at is not None:
        later(state.last_insufficient_cidr_at + config.insufficient_cidr_backoff, strict=True)
    for task in state.deferred_cleanups:
        later(task.due_at, strict=False)
    return min(found) if found else None


def _record(spec: SimulationSpec) -> dict[str, Any]:
    sim = Simulation(spec)
    # Every tick queued: skipping idle ticks (tests/test_sim_idle_ticks.py) would also skip
    # most of the reference rule's extra ones, and this test counts what the rule saves.
    sim.elide_idle_ticks = False
    return record_run(sim)


SCENARIOS = {
    "shipped settings, churn": SimulationSpec(
        nodes=cluster(M5, Config(), 5),
        workload=PoissonChurn(pods_per_node=12, changes_per_node_per_minute=3),
        duration=5400.0,
        latency=LATENCY,
        seed=7,
    ),
    "warm and minimum IP targets": SimulationSpec(
        nodes=cluster(M5, Config(warm_ip_target=3, minimum_ip_target=8), 4),
        workload=PoissonChurn(pods_per_node=10, changes_per_node_per_minute=4),
        duration=3600.0,
        latency=LATENCY,
        seed=3,
    ),
    "prefix delegation with a warm prefix": SimulationSpec(
        nodes=cluster(M5, Config(prefix_delegation=True, warm_prefix_target=1), 3),
        workload=PoissonChurn(pods_per_node=25, changes_per_node_per_minute=6),
        duration=3600.0,
        latency=LATENCY,
        seed=5,
    ),
    "prefix delegation with warm IPs, a fault window, a burst": SimulationSpec(
        nodes=cluster(M5, Config(prefix_delegation=True, warm_ip_target=5), 2),
        workload=Burst(50, at=300.0, lifetime=900.0),
        duration=3000.0,
        latency=LATENCY,
        faults=(FaultRule(ASSIGN, "InternalError", 0.5, 300.0, 600.0),),
        seed=2,
    ),
    "WARM_ENI_TARGET=2, short timers, a small subnet": SimulationSpec(
        nodes=cluster(
            T3, Config(warm_eni_target=2, ip_cooldown_period=10, decrease_interval=15), 4
        ),
        workload=PoissonChurn(pods_per_node=6, changes_per_node_per_minute=5),
        duration=3600.0,
        latency=LATENCY,
        subnets=(("subnet-a", "10.0.0.0/26"),),
        seed=11,
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_leaving_out_timers_that_change_nothing_changes_no_outcome(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    precise = _record(SCENARIOS[name])
    monkeypatch.setattr(tick_module, "next_check_at", every_timer)
    reference = _record(SCENARIOS[name])
    for key in ("summary", "series", "node_series", "calls", "waits", "submitted"):
        assert precise[key] == reference[key], key
    assert precise["ticks"] < reference["ticks"]
