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
