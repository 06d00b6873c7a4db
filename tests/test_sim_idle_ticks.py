"""The simulator skips the pool ticks that ``tick_idle`` shows would only move the clock.

``tick_idle`` must never say idle of a state whose tick would act, change the state or ask
for a check: checked against ``reconcile`` itself on every state the runs below reach. And a
run that skips those ticks (``Simulation.elide_idle_ticks``, the default) must be the run that
queues every one: the same reports, EC2 calls at the same instants and the same pod waits,
with fewer ticks, over the scenarios of the next-check and retry tests and a few more.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from sim_record import SilentObserver, record_run
from test_next_check import SCENARIOS as NEXT_CHECK_SCENARIOS
from test_sim_retry import SCENARIOS as RETRY_SCENARIOS

import vpccni_model.sim.engine as engine_module
from vpccni_model import Config, NodeState, instance_limits
from vpccni_model._nextcheck import tick_idle
from vpccni_model._tick import Reconciliation, reconcile
from vpccni_model.cloud import Latency
from vpccni_model.sim import Constant, PoissonChurn, Simulation, SimulationSpec, cluster

M5 = instance_limits("m5.large")
LATENCY = Latency(assign=0.3, describe=0.2, create=1.0, attach=3.0, detach_delete=4.0)

EXTRA = {
    "ordered iteration, per-node series": SimulationSpec(
        nodes=cluster(M5, Config(), 4),
        workload=PoissonChurn(pods_per_node=10, changes_per_node_per_minute=2),
        duration=3600.0,
        latency=LATENCY,
        iteration="ordered",
        seed=9,
    ),
    "WARM_ENI_TARGET=0 with MINIMUM_IP_TARGET, a long cooldown": SimulationSpec(
        nodes=cluster(
            M5,
            Config(warm_eni_target=0, minimum_ip_target=4, warm_ip_target=1, ip_cooldown_period=90),
            3,
        ),
        workload=PoissonChurn(pods_per_node=14, changes_per_node_per_minute=5),
        duration=2400.0,
        latency=LATENCY,
        seed=6,
    ),
    "a full node with pods pending": SimulationSpec(
        nodes=cluster(instance_limits("t3.small"), Config(), 2),
        workload=Constant(40),
        duration=900.0,
        latency=LATENCY,
    ),
}

SCENARIOS = {
    **{f"next check: {k}": v for k, v in NEXT_CHECK_SCENARIOS.items()},
    **{f"retries: {k}": v for k, v in RETRY_SCENARIOS.items()},
    **EXTRA,
}


def _record(spec: SimulationSpec, elide: bool, observed: bool = False) -> dict[str, Any]:
    sim = Simulation(spec)
    sim.elide_idle_ticks = elide
    if observed:
        sim.observer = SilentObserver()  # every retry made, and _wake never queues one
    record = record_run(sim)
    record["final_states"] = [node.state for node in sim.nodes.values()]
    record["last_ticks"] = [node.last_tick for node in sim.nodes.values()]
    return record


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_skipping_idle_ticks_changes_nothing(name: str) -> None:
    spec = SCENARIOS[name]
    every = _record(spec, elide=False)
    skipping = _record(spec, elide=True)
    for key in ("summary", "series", "node_series", "calls", "errors", "waits", "submitted"):
        assert skipping[key] == every[key], key
    assert skipping["final_states"] == every["final_states"]
    assert [s.clock for s in skipping["final_states"]] == [s.clock for s in every["final_states"]]
    assert skipping["last_ticks"] == every["last_ticks"]
    assert skipping["ticks"] <= every["ticks"]


@pytest.mark.parametrize(
    "name",
    [
        "retries: churn, shipped settings",
        "retries: start-up failures crash-loop ipamd while pods wait",
    ],
)
def test_skipping_idle_ticks_changes_nothing_with_an_observer(name: str) -> None:
    spec = SCENARIOS[name]
    every = _record(spec, elide=False, observed=True)
    skipping = _record(spec, elide=True, observed=True)
    for key in ("summary", "series", "calls", "errors", "waits", "submitted", "retries"):
        assert skipping[key] == every[key], key
    assert skipping["final_states"] == every["final_states"]
    assert skipping["ticks"] <= every["ticks"]


def test_skipping_idle_ticks_skips_most_ticks_of_quiet_churn() -> None:
    spec = NEXT_CHECK_SCENARIOS["shipped settings, churn"]
    every, skipping = _record(spec, elide=False), _record(spec, elide=True)
    assert skipping["ticks"] < every["ticks"] / 2


def _checked(monkeypatch: pytest.MonkeyPatch, seen: list[bool]) -> None:
    """Wrap the engine's ``reconcile``: on every state it is given, an idle verdict must match
    what the tick does."""

    def checking(state: NodeState, config: Config, clock: float) -> Reconciliation:
        idle = tick_idle(state)
        step = reconcile(state, config, clock)
        if idle:
            assert step.actions == ()
            assert step.next_check_at is None and step.start_error is None
            assert step.state == state.at(clock)
            assert step.state.datastores is state.datastores
            # and at any later clock, with nothing in between
            later = reconcile(state, config, clock + 3600.0)
            assert later.actions == () and later.next_check_at is None
        seen.append(idle)
        return step

    monkeypatch.setattr(engine_module, "reconcile", checking)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_an_idle_verdict_is_what_the_tick_does(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    _checked(monkeypatch, seen)
    sim = Simulation(SCENARIOS[name])
    sim.elide_idle_ticks = False  # every tick runs, so every state a tick sees is checked
    sim.run()
    assert seen


def _idle_state() -> NodeState:
    """A node of a short quiet run, once its pool has settled: an idle state."""
    sim = Simulation(NEXT_CHECK_SCENARIOS["shipped settings, churn"])
    sim.run()
    state = next(node.state for node in sim.nodes.values() if tick_idle(node.state))
    assert state.in_flight is None and state.tick is None and not state.pre_scaling
    return state


def test_idle_is_false_where_a_tick_has_work() -> None:
    config = Config()
    booted = NodeState.boot(M5, config, 0.0, primary_eni_id="eni-0")
    assert not tick_idle(booted)  # pre-scaling comes first
    step = reconcile(booted, config, 0.0)
    assert step.actions and not tick_idle(step.state)  # a call in flight
    idle = _idle_state()
    # Each change below alone gives the tick something to do (or a reason not to be sure).
    assert not tick_idle(attrs.evolve(idle, pre_scaling=True))
    assert not tick_idle(attrs.evolve(idle, config=attrs.evolve(idle.config, pod_eni=True)))
    provisioning_off = attrs.evolve(idle.config, disable_provisioning=True)
    assert not tick_idle(attrs.evolve(idle, config=provisioning_off))


def test_cadence_steps_is_ceil_of_round_to_nine_places() -> None:
    """The cadence's step count skips ``round`` away from whole numbers; it must agree with
    ``math.ceil(round(q, 9))`` everywhere, above all a hair either side of a whole number."""
    import math
    import random

    from vpccni_model.sim.idle import cadence_steps

    rng = random.Random(5)
    values = [rng.uniform(-50, 20_000) for _ in range(20_000)]
    for whole in [0, 1, 7, 17_280, 2**20, 2**24 + 3, 2**30]:
        for offset in [0.0, 1e-12, 4e-10, 5e-10, 6e-10, 1e-9, 1.0000001e-9, 2e-9, 0.5, 1 - 1e-10]:
            values += [whole + offset, whole - offset, -whole + offset, -whole - offset]
            values.append(math.nextafter(whole + offset, math.inf))
            values.append(math.nextafter(whole + offset, -math.inf))
    values += [t / 5.0 for t in range(0, 100_000, 7)] + [(t + 1e-6) / 5.0 for t in range(0, 5000)]
    for q in values:
        assert cadence_steps(q) == math.ceil(round(q, 9)), q
