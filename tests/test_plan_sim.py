"""Subnet planning from simulation (``vpccni_model.sim.fleet``, ``plan-subnet --workload``):
a constant workload settles where the hand-worked steady state says, a churning one never
holds less than it, and the fleet figures are one node's share times the fleet."""

from __future__ import annotations

import json

import pytest

from vpccni_model import MANIFEST_ENV, Config, ConfigError, instance_limits
from vpccni_model.cli import main
from vpccni_model.sim import Constant, PoissonChurn
from vpccni_model.sim.fleet import DEFAULT_SIM_NODES, plan_subnet_simulated

M5X = instance_limits("m5.xlarge")  # 4 ENIs x 15 IPv4: 14 secondary IPs per ENI; max pods 58
SIP = Config.from_env(MANIFEST_ENV)
PD = Config.from_env({**MANIFEST_ENV, "ENABLE_PREFIX_DELEGATION": "true"})
WARM2 = Config.from_env({**MANIFEST_ENV, "WARM_IP_TARGET": "2"})
CIDR = "10.0.0.0/20"  # 4091 usable addresses, 254 whole /28 blocks


def test_constant_pods_settle_at_the_steady_state_secondary_ip() -> None:
    # 20 pods on m5.xlarge, WARM_ENI_TARGET=1: two ENIs of 14 hold them (28), a third is the
    # warm ENI: 42 secondary IPs + 3 primaries = 45 per node; 60 nodes 2700; 4091 // 45 = 90.
    plan = plan_subnet_simulated(CIDR, M5X, SIP, 60, Constant(20), pods_per_node=20, sim_nodes=4)
    for figures in (plan.steady.figures, plan.peak, plan.p95):
        assert figures.node_addresses == 45
        assert (figures.fleet_addresses, figures.headroom, figures.fits) == (2700, 1391, 90)
    assert plan.peak_enis == 3
    assert plan.result.summary.nodes == 4


def test_constant_pods_settle_at_the_steady_state_prefix_mode() -> None:
    # 30 pods, WARM_PREFIX_TARGET=1: 3 /28s + the primary = 49 addresses (test_plan works the
    # bounds out: 83 by addresses, 63 for sure, 927 stranded scattered at 60 nodes).
    plan = plan_subnet_simulated(CIDR, M5X, PD, 60, Constant(30), pods_per_node=30, sim_nodes=3)
    for figures in (plan.peak, plan.p95):
        assert (figures.node_addresses, figures.node_prefixes, figures.node_singles) == (49, 3, 1)
        assert (figures.fits_addresses, figures.fits_packed, figures.fits_scattered) == (83, 83, 63)
        assert figures.stranded_scattered == 927
    assert plan.fits == 63


def test_churn_holds_at_least_the_steady_state_and_scales_to_the_fleet() -> None:
    # WARM_IP_TARGET=2 at 20 pods: 22 secondary IPs on 2 ENIs (14 + 8) + 2 primaries = 24.
    nodes = 60
    plan = plan_subnet_simulated(
        CIDR, M5X, WARM2, nodes, PoissonChurn(20, 6.0), pods_per_node=20, sim_nodes=5
    )
    assert plan.steady.node_addresses == 24
    assert plan.peak.node_addresses >= plan.p95.node_addresses >= 0
    assert plan.peak.node_addresses >= plan.steady.node_addresses
    for figures in (plan.peak, plan.p95):
        assert figures.fleet_addresses == figures.node_addresses * nodes
        assert figures.headroom == 4091 - figures.node_addresses * nodes
        assert figures.fits_addresses == 4091 // figures.node_addresses
    # The cluster series (summed over nodes by the recorder) never exceeds every node at the
    # peak at once, and its own peak per node is the mean_node_peak.
    summary = plan.result.summary
    assert summary.subnet_addresses_max <= plan.peak.node_addresses * plan.sim_nodes
    assert plan.mean_node_peak == pytest.approx(summary.subnet_addresses_max / 5)


def test_the_sample_defaults_to_the_fleet_up_to_a_cap() -> None:
    small = plan_subnet_simulated(CIDR, M5X, SIP, 3, Constant(5), pods_per_node=5, hours=0.1)
    assert small.sim_nodes == small.result.summary.nodes == 3
    big = plan_subnet_simulated(CIDR, M5X, SIP, 500, Constant(5), pods_per_node=5, hours=0.1)
    assert big.sim_nodes == big.result.summary.nodes == DEFAULT_SIM_NODES


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"sim_nodes": 0}, "sim_nodes"), ({"hours": 0}, "hours"), ({"hours": float("inf")}, "hours")],
)
def test_bad_values_name_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        plan_subnet_simulated(CIDR, M5X, SIP, 5, Constant(5), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


ARGV = ["plan-subnet", "--cidr", CIDR, "--instance", "m5.xlarge", "--nodes", "60"]


def test_cli_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--pods-per-node", "20", "--workload", "constant", "--sim-nodes", "3"]
    assert main([*ARGV, *flags, "--hours", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "verdict: 60 nodes: fit (at most 90 fit for sure)" in out  # the steady lines stay
    assert "from simulation: 3 of 60 nodes, 0.5 h of workload constant (20 pods per node)" in out
    assert ["steady", "sim", "p95", "sim", "peak"] in [line.split() for line in out.splitlines()]
    row = next(line for line in out.splitlines() if "addresses per node" in line)
    assert row.split()[-3:] == ["45", "45", "45"]
    assert "verdict at the simulated peak: 60 nodes: fit (at most 90 fit for sure)" in out

    assert main([*ARGV, *flags, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    sim = doc["simulation"]
    assert (sim["sim_nodes"], sim["workload_name"], sim["fits"]) == (3, "constant", 90)
    assert sim["peak"]["node_addresses"] == sim["p95"]["node_addresses"] == 45
    assert sim["peak"]["fleet_addresses"] == 2700
    assert sim["summary"]["nodes"] == 3
    assert doc["fits"] == 90  # the steady-state plan is unchanged beside it


def test_cli_growth_adds_rows(capsys: pytest.CaptureFixture[str]) -> None:
    flags = [
        "--pods-per-node",
        "20",
        "--workload",
        "constant",
        "--sim-nodes",
        "2",
        "--growth",
        "50",
    ]
    assert main([*ARGV, *flags, "--hours", "0.2"]) == 0
    out = capsys.readouterr().out
    # 90 nodes after growth: 90 x 45 = 4050, headroom 41.
    grown = next(line for line in out.splitlines() if "after 50% growth (90 nodes)" in line)
    assert grown.split()[-3:] == ["4,050"] * 3
    left = next(line for line in out.splitlines() if "headroom after growth" in line)
    assert left.split()[-3:] == ["41"] * 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sim-nodes", "3"], "--sim-nodes: only with --workload"),
        (["--hours", "2", "--seed", "4"], "--hours, --seed: only with --workload"),
        (["--workload", "churn", "--sim-nodes", "0"], "--sim-nodes must be 1 or more"),
        (["--workload", "churn", "--hours", "0"], "--hours must be a number > 0"),
        (["--workload", "churn", "--changes-per-minute", "-1"], "--changes-per-minute must be"),
    ],
)
def test_cli_usage_errors(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*ARGV, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_cli_unknown_workload_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*ARGV, "--workload", "chrun"])
    assert info.value.code == 2
    assert "invalid choice: 'chrun'" in capsys.readouterr().err
