"""Custom networking in the simulator: pods take their addresses from the ENIConfig subnet,
and each subnet is accounted on its own (spec 1.5.1, 6.4)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import attrs
import pytest

from vpccni_model import Config, ENIConfig, NoENIConfig, instance_limits
from vpccni_model._errors import ConfigError
from vpccni_model.cli import main
from vpccni_model.cloud import Latency
from vpccni_model.sim import Constant, SimulationResult, SimulationSpec, cluster, simulate

M5 = instance_limits("m5.large")  # 3 ENIs x 10 addresses: S = 9
CUSTOM = Config(custom_networking=True)
PODS = ENIConfig("pods", "pods", ("sg-pods",))
SUBNETS = (("nodes", "10.0.0.0/24"), ("pods", "100.64.0.0/24"))  # 251 usable each


def run(
    config: Config, eni_config: ENIConfig | NoENIConfig | None, **kw: object
) -> SimulationResult:
    spec = SimulationSpec(
        nodes=cluster(M5, config, 2, subnet="nodes", eni_config=eni_config),
        workload=Constant(10),
        duration=900.0,
        subnets=SUBNETS,
        latency=Latency.zero(),
        iteration="ordered",
        **kw,  # type: ignore[arg-type]
    )
    return simulate(spec)


def test_pods_consume_the_eniconfig_subnet_and_the_node_subnet_stays_put() -> None:
    result = run(CUSTOM, PODS)
    assert result.summary.pods_started == 20
    by_subnet: dict[str, list[int]] = {"nodes": [], "pods": []}
    for row in result.subnet_series:
        by_subnet[row.subnet].append(row.free_addresses)
    # The node subnet holds the two primary ENIs only, from boot to the end.
    assert set(by_subnet["nodes"]) == {251 - 2}
    # Each node: the primary ENI is not used (1.5.1); 10 pods fill a 9-IP ENI and need a
    # second, which WARM_ENI_TARGET=1 fills too (3 ENIs is m5.large's limit): 2 ENIs x
    # (primary + 9) = 20 addresses per node, all from the pod subnet.
    assert by_subnet["pods"][0] > by_subnet["pods"][-1] == 251 - 40
    assert result.subnets == {
        "nodes": {"used_addresses_max": 2, "free_addresses_min": 249, "free_blocks_min": 14},
        "pods": {
            "used_addresses_max": 40,
            "free_addresses_min": 211,
            "free_blocks_min": result.subnets["pods"]["free_blocks_min"],
        },
    }
    # The cluster series still sums over both subnets.
    assert result.series[-1].subnet_free_addresses == 249 + 211
    assert result.inputs["node_groups"][0]["eni_config"] == {
        "name": "pods",
        "subnet": "pods",
        "security_groups": ("sg-pods",),
    }


def test_without_an_eniconfig_given_a_custom_networking_node_uses_its_own_subnet() -> None:
    result = run(CUSTOM, None)
    assert result.summary.pods_started == 20
    assert result.subnets["pods"]["used_addresses_max"] == 0
    assert result.subnets["nodes"]["used_addresses_max"] == 2 + 40
    assert "eni_config" not in result.inputs["node_groups"][0]


def test_a_node_with_no_eniconfig_creates_no_eni_and_its_pods_wait() -> None:
    result = run(CUSTOM, NoENIConfig("pods", "default"), pod_timeout=300.0)
    summary = result.summary
    # tryAllocateENI fails before any EC2 call: no ENI, no call, every pod gives up.
    assert summary.pods_started == 0
    assert summary.pods_failed == summary.pods_failed_timeout == 20
    assert summary.ec2_calls == 0
    assert summary.enis_max == 2  # the two primaries


def test_one_subnet_runs_record_no_subnet_series(tmp_path: Path) -> None:
    spec = SimulationSpec(nodes=cluster(M5, Config(), 1), workload=Constant(3), duration=120.0)
    result = simulate(spec)
    assert result.subnet_series == ()
    assert result.subnets == {}
    doc = result.to_dict()
    assert "subnets" not in doc and "subnet_series" not in doc
    paths = result.write(tmp_path)
    assert not (tmp_path / "subnets.csv").exists()
    assert all(p.name != "subnets.csv" for p in paths)


def test_two_subnet_runs_write_subnets_csv(tmp_path: Path) -> None:
    result = run(CUSTOM, PODS)
    result.write(tmp_path)
    with (tmp_path / "subnets.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["subnet"] for row in rows} == {"nodes", "pods"}
    assert list(rows[0]) == ["time_s", "subnet", "used_addresses", "free_addresses", "free_blocks"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["subnets"]["pods"]["free_addresses_min"] == 211
    assert "subnets.csv" in summary["files"]


def test_an_eniconfig_naming_an_unknown_subnet_is_refused() -> None:
    with pytest.raises(ConfigError, match="eni_config"):
        run(CUSTOM, ENIConfig("pods", "subnet-typo"))


# -- the command line -------------------------------------------------------------------------

CLI = [
    "simulate",
    "m5.large",
    "--nodes",
    "2",
    "--workload",
    "constant",
    "--pods-per-node",
    "10",
    "--hours",
    "0.25",
    "--iteration",
    "ordered",
    "--subnet",
    "10.0.0.0/24",
    "--quiet",
]


def test_eni_config_subnet_flag_turns_on_custom_networking_and_reports_each_subnet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = [*CLI, "--eni-config-subnet", "100.64.0.0/24", "--no-plots", "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "running with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].endswith("subnet 10.0.0.0/24, pods in 100.64.0.0/24 (ENIConfig subnet)")
    # The same numbers as test_pods_consume_the_eniconfig_subnet_and_the_node_subnet_stays_put.
    assert "subnet subnet-a: at most 2 addresses used, 249 free" in captured.out
    assert "subnet subnet-pods: at most 40 addresses used, 211 free" in captured.out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["inputs"]["eni_config_subnet"] == "100.64.0.0/24"
    assert (out / "subnets.csv").is_file()


def test_without_the_flag_nothing_per_subnet_is_printed_or_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main([*CLI, "--no-plots", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "subnet subnet-a:" not in captured.out
    assert "eni_config_subnet" not in json.loads((out / "summary.json").read_text())["inputs"]
    assert not (out / "subnets.csv").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--env", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false"], "needs"),
        (["--eni-config-subnet", "10.0.0.0/16"], "overlaps"),
        (["--eni-config-subnet", "nope"], "--eni-config-subnet 'nope'"),
    ],
)
def test_bad_eni_config_subnet_use_is_a_usage_error(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*CLI, *extra]
    if "--eni-config-subnet" not in extra:
        argv += ["--eni-config-subnet", "100.64.0.0/24"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_subnet_discovery_spreads_new_enis_to_a_tagged_subnet_with_more_room() -> None:
    # Subnet discovery (the default) with a second subnet tagged kubernetes.io/role/cni=1 and
    # more free addresses: new ENIs go there (6.4); the primary ENIs stay in the nodes'.
    spec = SimulationSpec(
        nodes=cluster(M5, Config(), 2, subnet="nodes"),
        workload=Constant(10),
        duration=900.0,
        subnets=(("nodes", "10.0.0.0/24"), ("extra", "10.1.0.0/22")),
        subnet_tags=(("extra", (("kubernetes.io/role/cni", "1"),)),),
        latency=Latency.zero(),
        iteration="ordered",
    )
    result = simulate(spec)
    assert result.summary.pods_started == 20
    used = {name: seen["used_addresses_max"] for name, seen in result.subnets.items()}
    # Each node: 9 IPs on its primary (nodes); the 10th pod needs a new ENI with 9 IPs, and
    # WARM_ENI_TARGET=1 then one more (8 free < 9; 3 ENIs is the limit), both created in
    # "extra" (1019 free > 241): 2 ENIs x (primary + 9) per node.
    assert used == {"nodes": 2 * (1 + 9), "extra": 2 * 2 * (1 + 9)}
    assert result.inputs["subnets"]["extra"]["tags"] == {"kubernetes.io/role/cni": "1"}
    assert "tags" not in result.inputs["subnets"]["nodes"]
    # Untagged, the second subnet is never used.
    plain = simulate(attrs.evolve(spec, subnet_tags=()))
    assert plain.subnets["extra"]["used_addresses_max"] == 0
    with pytest.raises(ConfigError, match="subnet_tags"):
        attrs.evolve(spec, subnet_tags=(("nope", ()),))
