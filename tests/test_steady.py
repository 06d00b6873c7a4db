"""``converge`` and ``steady_state`` (``vpccni_model._steady``) on small inputs worked out by
hand; the upstream docs tables are in ``tests/conformance/test_docs_tables.py``.
"""

from __future__ import annotations

import pytest

from vpccni_model import (
    Config,
    ConfigError,
    FakeEC2,
    InstanceLimits,
    NodeState,
    converge,
    instance_limits,
    steady_state,
)

# S = 3 secondary IPs per ENI, 3 ENIs: EKS max pods 3 * 3 + 2 = 11.
LIMITS = InstanceLimits(name="test", max_enis=3, ipv4_per_eni=4)


def test_boot_converges_to_the_warm_eni_target() -> None:
    # E = 1 (the code default): the primary ENI gets S = 3 IPs at pre-scaling; one ENI's worth
    # is free, so nothing more (spec 5.4).
    config = Config()
    state = NodeState.boot(LIMITS, config, 0.0)
    result = converge(state, config, FakeEC2.for_node(state), 0.0)
    assert result.settled
    assert [len(e.cidrs) for e in result.state.enis] == [3]


def test_steady_state_grows_an_eni_when_the_warm_eni_is_used() -> None:
    # 2 pods on 3 IPs leave 1 free < S = 3: a second ENI with 3 IPs (spec 5.4, 5.9).
    got = steady_state(LIMITS, Config(), 2)
    assert (got.enis, got.cidrs_per_eni, got.total_ips, got.unused_ips) == (2, (3, 3), 6, 4)
    assert got.pods_placed == 2 and got.settled


def test_warm_ip_target_keeps_exactly_w_free() -> None:
    got = steady_state(LIMITS, Config(warm_ip_target=2), 4)
    # T = 6 = 4 pods + 2 warm: the primary's 3 IPs, then a new ENI with 3 (short 2 then 1).
    assert (got.total_ips, got.unused_ips, got.pods_placed) == (6, 2, 4)


def test_minimum_ip_target_alone_starves_pods_q21() -> None:
    got = steady_state(LIMITS, Config(minimum_ip_target=2), 3)
    # Q21: short = max(0, M - T); with 2 IPs and no W the pool never grows past M.
    assert (got.total_ips, got.pods_placed) == (2, 2)


@pytest.mark.parametrize("pods", [-1, True, 1.5, "3"])
def test_bad_pod_counts_are_typed_errors(pods: object) -> None:
    with pytest.raises(ConfigError) as info:
        steady_state(LIMITS, Config(), pods)  # type: ignore[arg-type]
    assert info.value.field == "pods"


# -- host-network pods and subnet addresses (issue 11) ---------------------------------------

M5 = instance_limits("m5.large")  # 3 ENIs x 10 addresses: 9 secondaries each, max pods 29
M6I = instance_limits("m6i.large")  # the same limits, Nitro: prefix delegation applies


def test_m5_large_at_0_pods_takes_10_subnet_addresses_and_pools_9() -> None:
    # WARM_ENI_TARGET=1: the primary ENI gets its 9 secondaries and stays alone (9 free >= 9).
    # The subnet gives 1 primary + 9 secondaries = 10; ipamd's TotalIPs counts the 9.
    got = steady_state(M5, Config(), 0)
    assert (got.enis, got.total_ips, got.unused_ips) == (1, 9, 9)
    assert got.subnet_addresses == 10


def test_subnet_addresses_count_16_per_prefix_and_each_primary() -> None:
    got = steady_state(M6I, Config(prefix_delegation=True, warm_prefix_target=1), 5)
    # 5 pods in one /28 leave 11 < 16 free: a second prefix; 1 ENI: 1 + 2 x 16 = 33.
    assert (got.enis, got.prefixes, got.total_ips) == (1, 2, 32)
    assert got.subnet_addresses == 33


def test_pods_beyond_max_pods_less_host_network_pods_are_unschedulable() -> None:
    # m6i.large prefix mode keeps the node default max pods 29 (Q15): kubelet admits 29 - 2 =
    # 27 pods with an IP. The old code placed 32 (two prefixes' worth) of 50.
    config = Config(prefix_delegation=True, warm_prefix_target=1)
    got = steady_state(M6I, config, 50)
    assert (got.pods, got.pods_placed, got.pods_unschedulable) == (50, 27, 23)
    # ipamd's own cap is untouched: it stops growing once TotalIPs 32 >= max pods 29.
    assert (got.prefixes, got.total_ips, got.unused_ips) == (2, 32, 5)


def test_max_pods_10_admits_8_pods_with_an_ip() -> None:
    # The old code placed 18 (two ENIs' worth) with max pods 10.
    got = steady_state(M5, Config(max_pods=10), 20)
    assert (got.pods_placed, got.pods_unschedulable) == (8, 12)
    # 8 pods on 9 IPs leave 1 free < 9: a second ENI; then TotalIPs 18 >= 10 stops it.
    assert (got.enis, got.total_ips, got.subnet_addresses) == (2, 18, 20)


def test_host_network_pods_is_settable() -> None:
    got = steady_state(M5, Config(max_pods=10), 20, host_network_pods=0)
    assert (got.pods_placed, got.pods_unschedulable) == (10, 10)
    got = steady_state(M5, Config(max_pods=10), 20, host_network_pods=12)
    assert (got.pods_placed, got.pods_unschedulable) == (0, 20)


@pytest.mark.parametrize("host", [-1, True, 1.0, "2"])
def test_bad_host_network_pods_are_typed_errors(host: object) -> None:
    with pytest.raises(ConfigError) as info:
        steady_state(LIMITS, Config(), 1, host_network_pods=host)  # type: ignore[arg-type]
    assert info.value.field == "host_network_pods"
