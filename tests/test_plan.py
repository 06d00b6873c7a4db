"""Subnet planning (``vpccni_model.plan``, ``vpccni-model plan-subnet``): every expected figure
is worked out by hand from EC2's subnet rules and the steady state the docs tables give."""

from __future__ import annotations

import json

import pytest

from vpccni_model import MANIFEST_ENV, Config, ConfigError, instance_limits
from vpccni_model.cli import main
from vpccni_model.plan import plan_subnet, subnet_space

M5X = instance_limits("m5.xlarge")  # 4 ENIs x 15 IPv4: 14 secondary IPs per ENI; max pods 58
SIP = Config.from_env(MANIFEST_ENV)
PD = Config.from_env({**MANIFEST_ENV, "ENABLE_PREFIX_DELEGATION": "true"})


@pytest.mark.parametrize(
    ("cidr", "usable", "whole", "loose"),
    [
        # 4096 - 5 reserved; 256 blocks less the first (reserved .0-.3) and the last (the
        # reserved top address): 254 whole; 4091 - 254 * 16 = 27 loose (12 + 15).
        ("10.0.0.0/20", 4091, 254, 27),
        ("10.0.0.0/24", 251, 14, 27),
        # A /28 is one block, reserved at both ends: 11 usable, no whole block.
        ("10.0.0.0/28", 11, 0, 11),
    ],
)
def test_subnet_space(cidr: str, usable: int, whole: int, loose: int) -> None:
    space = subnet_space(cidr)
    assert (space.usable_addresses, space.whole_blocks, space.loose_addresses) == (
        usable,
        whole,
        loose,
    )


@pytest.mark.parametrize("cidr", ["10.0.0.1/20", "10.0.0.0/15", "10.0.0.0/29", "fd00::/64", 5])
def test_a_subnet_ec2_would_refuse_names_the_field(cidr: object) -> None:
    with pytest.raises(ConfigError) as info:
        subnet_space(cidr)  # type: ignore[arg-type]
    assert info.value.field == "cidr"


def test_secondary_ip_fleet_on_a_20() -> None:
    # A full m5.xlarge (56 pods = 58 max pods - 2 host-network) with WARM_ENI_TARGET=1 fills
    # 4 ENIs of 14: 56 secondary IPs + 4 primaries = 60 addresses. 60 nodes: 3600, headroom
    # 4091 - 3600 = 491; 4091 // 60 = 68 fit. 20% growth: 72 nodes, 4320 > 4091.
    plan = plan_subnet("10.0.0.0/20", M5X, SIP, 60, growth_percent=20)
    assert plan.pods_per_node == 56
    assert (plan.node_addresses, plan.node_prefixes, plan.node_singles) == (60, 0, 60)
    assert (plan.fleet_addresses, plan.headroom) == (3600, 491)
    assert (plan.grown_nodes, plan.grown_addresses) == (72, 4320)
    assert plan.fits_addresses == plan.fits == 68
    assert (plan.fits_packed, plan.fits_scattered, plan.stranded_scattered) == (None, None, None)


def test_prefix_fleet_bounds_for_fragmentation() -> None:
    # 30 pods, WARM_PREFIX_TARGET=1: 2 prefixes leave 2 free < 16, so a third: 3 /28s + the
    # primary = 49 addresses. By addresses 4091 // 49 = 83. Scattered: 3 + 1 blocks a node,
    # 254 // 4 = 63. Packed: 83 nodes take 249 blocks + ceil((83 - 27 loose) / 16) = 4 for
    # their primaries = 253 <= 254, so the address bound, 83, holds.
    plan = plan_subnet("10.0.0.0/20", M5X, PD, 60, pods_per_node=30)
    assert (plan.node_addresses, plan.node_prefixes, plan.node_singles) == (49, 3, 1)
    assert (plan.fits_addresses, plan.fits_packed, plan.fits_scattered) == (83, 83, 63)
    assert plan.fits == 63
    # At 60 nodes: 1151 free. Packed: 180 + ceil(33 / 16) = 183 blocks used, 71 whole free
    # (1136): 15 stranded. Scattered: 180 + 60 = 240 used, 14 whole free (224): 927 stranded.
    assert (plan.stranded_packed, plan.stranded_scattered) == (15, 927)


@pytest.mark.parametrize(
    ("nodes", "verdict"),
    [
        # m5.large in prefix mode at its 27 pod IPs: 2 /28s + the primary = 33 addresses. On a
        # /24 (251 usable, 14 whole blocks, 27 loose): by addresses 251 // 33 = 7; packed, 7
        # nodes take 14 blocks and their 7 primaries fit the 27 loose addresses: 7; scattered,
        # each primary spoils a block: 3 blocks a node, 14 // 3 = 4.
        (4, "fit"),
        (6, "may not fit"),  # fits only if EC2 packs the primaries
        (7, "may not fit"),
        (8, "does not fit"),  # 264 addresses > 251
    ],
)
def test_verdict_in_prefix_mode(nodes: int, verdict: str) -> None:
    plan = plan_subnet("10.0.0.0/24", instance_limits("m5.large"), PD, nodes)
    assert (plan.fits_addresses, plan.fits_packed, plan.fits_scattered) == (7, 7, 4)
    assert plan.verdict == verdict


def test_verdict_in_secondary_ip_mode_is_certain() -> None:
    # 60 addresses a settled m5.xlarge: 4091 // 60 = 68 nodes, no placement to hope for.
    assert plan_subnet("10.0.0.0/20", M5X, SIP, 68).verdict == "fit"
    plan = plan_subnet("10.0.0.0/20", M5X, SIP, 60, growth_percent=20)
    assert (plan.wanted, plan.verdict) == (72, "does not fit")


def test_bad_counts_name_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        plan_subnet("10.0.0.0/20", M5X, SIP, 0)
    assert info.value.field == "nodes"
    with pytest.raises(ConfigError) as info:
        plan_subnet("10.0.0.0/20", M5X, SIP, 5, pods_per_node=-1)
    assert info.value.field == "pods_per_node"
    with pytest.raises(ConfigError) as info:
        plan_subnet("10.0.0.0/20", M5X, SIP, 5, growth_percent=-5)
    assert info.value.field == "growth_percent"


def test_cli_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan-subnet", "--cidr", "10.0.0.0/20", "--instance", "m5.xlarge", "--nodes", "60"]
    assert main([*argv, "--growth", "20"]) == 0
    out = capsys.readouterr().out
    assert "60 nodes: 3,600 addresses, headroom 491" in out
    assert "after 20% growth, 72 nodes: 4,320 addresses, headroom -229" in out
    assert "verdict: 72 nodes: does not fit (at most 68 fit for sure)" in out
    assert (
        main([*argv, "--env", "ENABLE_PREFIX_DELEGATION=true", "--pods-per-node", "30", "--json"])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert (doc["fits"], doc["fits_packed"], doc["stranded_scattered"]) == (63, 83, 927)
    assert doc["verdict"] == "fit"  # 60 nodes, 63 for sure
    assert doc["space"]["whole_blocks"] == 254


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--nodes", "5"], "--cidr is required"),
        (["--cidr", "10.0.0.0/20"], "--nodes must be 1 or more"),
        (["--cidr", "10.0.0.0/20", "--nodes", "5", "--growth", "-1"], "--growth must be"),
        (["--cidr", "10.0.0.0/20", "--nodes", "5", "--pods-per-node", "-3"], "--pods-per-node"),
        (["--cidr", "10.0.0.7/20", "--nodes", "5"], "host bits set"),
    ],
)
def test_cli_usage_errors(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan-subnet", "--instance", "m5.xlarge", *extra]) == 2
    assert message in capsys.readouterr().err


def test_ipv6_nodes_take_only_their_eni_primaries_from_the_ipv4_subnet() -> None:
    # IPv6 (with prefix delegation, as ipamd requires): pods get addresses from the ENI's /80,
    # so the IPv4 subnet gives one primary address per ENI and no /28 at all. A fresh node
    # has one ENI: 1 address a node, 4091 nodes by addresses, no /28 bounds.
    v6 = Config.from_env(
        {
            **MANIFEST_ENV,
            "ENABLE_IPv6": "true",
            "ENABLE_IPv4": "false",
            "ENABLE_PREFIX_DELEGATION": "true",
        }
    )
    plan = plan_subnet("10.0.0.0/20", M5X, v6, 60, pods_per_node=30)
    assert (plan.node_addresses, plan.node_prefixes, plan.node_singles) == (1, 0, 1)
    assert (plan.fits_addresses, plan.fits_scattered, plan.prefix_delegation) == (4091, None, False)


def test_cli_says_an_ipv6_node_takes_only_primaries(capsys: pytest.CaptureFixture[str]) -> None:
    env = ["--env", "ENABLE_IPv6=true", "--env", "ENABLE_IPv4=false"]
    env += ["--env", "ENABLE_PREFIX_DELEGATION=true"]
    argv = ["plan-subnet", "--cidr", "10.0.0.0/20", "--instance", "m5.xlarge", "--nodes", "60"]
    assert main([*argv, *env]) == 0
    out = capsys.readouterr().out
    assert "(IPv6): 1 ENI, 1 address (ENI primaries only" in out
    assert "60 nodes: 60 addresses, headroom 4,031" in out  # 4091 - 60
