"""``CardPolicy`` (``vpccni_model._policy``): the per-card rules resolved once, and the max-pods
cap ipamd uses. Expected values come from the spec sections named beside them.
"""

from __future__ import annotations

import pytest

from vpccni_model import (
    CardPolicy,
    Config,
    InstanceLimits,
    NetworkCard,
    NodeState,
    effective_max_pods,
    instance_limits,
)

TWO = InstanceLimits(
    name="two",
    max_enis=4,
    ipv4_per_eni=10,
    network_cards=(NetworkCard(0, 4), NetworkCard(1, 2)),
)


def test_card_zero_takes_the_configured_targets() -> None:
    config = Config(warm_ip_target=5, minimum_ip_target=7, warm_prefix_target=2)
    policy = CardPolicy.of(config, TWO, 0)
    assert (policy.warm_ip_target, policy.minimum_ip_target) == (5, 7)
    assert policy.warm_prefix_target == 2 and policy.targets_defined


@pytest.mark.parametrize("config", [Config(), Config(warm_ip_target=9, minimum_ip_target=20)])
def test_cards_above_zero_use_w1_m1_whatever_is_configured(config: Config) -> None:
    # spec 1.3: datastoreTargetState uses W = M = 1 on every card but 0.
    policy = CardPolicy.of(config, TWO, 1)
    assert (policy.warm_ip_target, policy.minimum_ip_target) == (1, 1)
    assert policy.targets_defined


def test_prefix_units_only_on_card_zero_in_prefix_mode() -> None:
    # Q5: card > 0 counts its targets in IPs even with prefix delegation on.
    pd = Config(prefix_delegation=True)
    assert CardPolicy.of(pd, TWO, 0).prefix_units
    assert not CardPolicy.of(pd, TWO, 1).prefix_units
    assert not CardPolicy.of(Config(), TWO, 0).prefix_units


def test_the_policy_is_resolved_for_the_instance() -> None:
    xen = InstanceLimits(name="xen", max_enis=3, ipv4_per_eni=4, hypervisor="xen")
    policy = CardPolicy.of(Config(prefix_delegation=True, max_eni=9), xen, 0)
    # spec 1.4.3: no prefixes on Xen; 2.3: MAX_ENI capped by the instance.
    assert (policy.prefix_delegation, policy.max_eni) == (False, 3)


def test_only_card_zero_reserves_the_trunk_slot() -> None:
    config = Config(pod_eni=True)
    assert CardPolicy.of(config, TWO, 0).reserve_trunk_slot
    assert not CardPolicy.of(config, TWO, 1).reserve_trunk_slot


def test_custom_networking_skips_the_primary_eni() -> None:
    assert CardPolicy.of(Config(custom_networking=True), TWO, 0).skip_primary
    assert not CardPolicy.of(Config(), TWO, 0).skip_primary


def test_for_state_equals_of_on_the_boot_config() -> None:
    config = Config(warm_ip_target=3, multi_nic=True)
    state = NodeState.boot(TWO, config, 0.0)
    for card in (0, 1):
        assert CardPolicy.for_state(state, card) == CardPolicy.of(config, TWO, card)


def test_effective_max_pods() -> None:
    m5 = instance_limits("m5.large")
    # spec 2.5 / Q15: EKS's published value (3 ENIs x 9 + 2 = 29), also in prefix mode.
    assert effective_max_pods(m5, Config()) == 29
    assert effective_max_pods(m5, Config(prefix_delegation=True)) == 29
    assert effective_max_pods(m5, Config(max_pods=110)) == 110
    assert CardPolicy.of(Config(max_pods=50), m5, 0).max_pods == 50
