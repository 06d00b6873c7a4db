"""The simulator and steady-state take the iteration policy (spec 9): the simulator's default
is Go's random order, seeded per node from the run's seed and the node's name; ``ordered``
replays the model's fixed order; a wrong value is a clear error."""

from __future__ import annotations

import json

import pytest

from vpccni_model import Config, ConfigError, IterationPolicy, instance_limits, steady_state
from vpccni_model._iteration import mix, text_key
from vpccni_model.cli import main
from vpccni_model.sim import PoissonChurn, SimulationSpec, cluster
from vpccni_model.sim.engine import Simulation
from vpccni_model.sim.spec import NodeSpec

LIMITS = instance_limits("m5.large")


def _spec(**extra: object) -> SimulationSpec:
    return SimulationSpec(
        nodes=cluster(LIMITS, Config(), 2),
        workload=PoissonChurn(pods_per_node=10),
        duration=3600.0,
        seed=11,
        **extra,  # type: ignore[arg-type]
    )


def test_the_simulator_defaults_to_go_random_seeded_per_node() -> None:
    sim = Simulation(_spec())
    for name, node in sim.nodes.items():
        assert node.state.iteration == IterationPolicy.go_random(mix(11, text_key(name)))
    seeds = {node.state.iteration.seed for node in sim.nodes.values()}
    assert len(seeds) == 2  # two nodes, two streams


def test_ordered_runs_in_the_models_order_and_a_node_may_override() -> None:
    sim = Simulation(_spec(iteration="ordered"))
    assert {n.state.iteration for n in sim.nodes.values()} == {IterationPolicy.ordered()}
    own = IterationPolicy.go_random(5)
    nodes = (NodeSpec("a", LIMITS, Config(), iteration=own), NodeSpec("b", LIMITS, Config()))
    sim = Simulation(
        SimulationSpec(nodes=nodes, workload=PoissonChurn(), duration=60.0, iteration="ordered")
    )
    assert sim.nodes["a"].state.iteration == own
    assert sim.nodes["b"].state.iteration == IterationPolicy.ordered()


@pytest.mark.parametrize("value", ["random", "go_random", None])
def test_a_bad_iteration_names_the_field(value: object) -> None:
    with pytest.raises(ConfigError) as raised:
        _spec(iteration=value)
    assert raised.value.field == "iteration"
    with pytest.raises(ConfigError) as raised:
        NodeSpec("a", LIMITS, Config(), iteration="go-random")  # type: ignore[arg-type]
    assert raised.value.field == "iteration"
    with pytest.raises(ConfigError) as raised:
        steady_state(LIMITS, Config(), 3, iteration="go-random")  # type: ignore[arg-type]
    assert raised.value.field == "iteration"


def test_simulate_says_which_order_it_ran(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--instance", "t3.small", "--nodes", "1", "--hours", "0.05", "--quiet"]
    assert main([*argv, "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "iteration: go-random (ipamd's Go map order imitated, seeded by --seed 3;" in out
    assert main([*argv, "--iteration", "ordered"]) == 0
    out = capsys.readouterr().out
    assert "iteration: ordered (the model's fixed order" in out
    assert main([*argv, "--iteration", "ordered", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["inputs"]["iteration"] == "ordered"
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--iteration", "random"])
    assert exited.value.code == 2
    assert "invalid choice: 'random'" in capsys.readouterr().err


def test_steady_state_takes_the_policy(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["steady-state", "--instance", "m5.large", "--pods", "10"]
    assert main([*argv, "--iteration", "go-random", "--seed", "9", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["iteration"] == {"kind": "go-random", "seed": 9}
    # SIP, W=1, 10 pods: 2 ENIs hold them, a third is the warm ENI (9 IPs each), either order.
    assert doc["rows"][0]["enis"] == 3 and doc["rows"][0]["total_ips"] == 27
    assert main([*argv, "--seed", "9"]) == 2
    assert "--seed is only read with --iteration go-random" in capsys.readouterr().err
    for bad in ("-1", str(2**64), "x"):
        with pytest.raises(SystemExit) as exited:
            main([*argv, "--iteration", "go-random", "--seed", bad])
        assert exited.value.code == 2
        assert "--seed" in capsys.readouterr().err
