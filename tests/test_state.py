"""The node state (``vpccni_model._state``): boot, the entry checks every operation starts
with, and the one rule for the ``config`` argument (``fixed_at_boot``).

ipamd reads its settings once, at start-up, so a node's configuration lives in its state and
every entry point must use that one. These tests pin that rule for every entry point.
"""

from __future__ import annotations

import attrs
import pytest

import vpccni_model as vm
from vpccni_model import (
    Config,
    ConfigError,
    InstanceLimits,
    MetadataObserved,
    NodeState,
    ObservedENI,
    StateError,
    apply,
    assign_pod_ip,
    from_json,
    instance_limits,
    reconcile,
    reconcile_due,
    to_json,
    unassign_pod_ip,
)

LIMITS = InstanceLimits(name="test", max_enis=3, ipv4_per_eni=4)


def booted(config: Config, clock: float = 0.0) -> NodeState:
    return NodeState.boot(LIMITS, config, clock)


def test_boot_holds_the_primary_eni_and_the_effective_config() -> None:
    xen = InstanceLimits(name="xen", max_enis=3, ipv4_per_eni=4, hypervisor="xen")
    state = NodeState.boot(xen, Config(prefix_delegation=True, max_eni=10), 7.0)
    assert [e.eni_id for e in state.enis] == ["eni-0"]
    assert state.enis[0].is_primary and state.enis[0].created_at == 7.0
    # No prefixes on Xen; MAX_ENI resolved against the instance (spec 1.4.3, 2.3).
    assert (state.config.prefix_delegation, state.config.max_eni) == (False, 3)


def test_boot_gives_every_card_a_datastore_only_with_multi_nic() -> None:
    limits = instance_limits("p4d.24xlarge")
    assert len(NodeState.boot(limits, Config(), 0.0).datastores) == 1
    cards = NodeState.boot(limits, Config(multi_nic=True), 0.0).datastores
    assert [ds.network_card for ds in cards] == list(limits.card_indices)


# -- one home for the config (regression: the argument and the state used to disagree) ------


def other_configs() -> list[tuple[str, Config]]:
    return [
        ("warm_ip_target", Config(warm_ip_target=2)),
        ("reconcile_interval", Config(reconcile_interval=1000.0)),
        ("min_eni_lifetime", Config(min_eni_lifetime=1.0)),
        ("deallocate_empty_cidr_delay", Config(deallocate_empty_cidr_delay=50.0)),
        ("prefix_delegation", Config(prefix_delegation=True)),
    ]


@pytest.mark.parametrize(("field", "config"), other_configs())
def test_every_entry_point_refuses_a_config_the_node_did_not_boot_with(
    field: str, config: Config
) -> None:
    state = booted(Config())
    ec2 = vm.FakeEC2.for_node(state)
    step = reconcile(state, Config(), 0.0)
    event = ec2.execute(step.actions[0])
    assert event is not None
    state = apply(step.state, event, 0.0)
    state, _ = assign_pod_ip(state, Config(), "p", 1.0)
    calls = [
        lambda: reconcile(state, config, 5.0),
        lambda: assign_pod_ip(state, config, "q", 5.0),
        lambda: unassign_pod_ip(state, config, "p", 5.0),
        lambda: reconcile_due(state, config, 5.0),
    ]
    for call in calls:
        with pytest.raises(ConfigError) as info:
            call()
        assert info.value.field == field


def test_reconcile_due_and_apply_read_the_same_interval() -> None:
    # Regression: reconcile_due took its interval from the argument and apply from the state,
    # so reconcile_due(state, Config(reconcile_interval=1000), t) said "not due" at 65 s while
    # apply(MetadataObserved) folded the observation in. Now both read the boot config.
    config = Config()
    state = booted(config).replace(last_pool_action_at=0.0)
    seen = MetadataObserved((ObservedENI("eni-0", 0, ips=("10.0.0.9",)),))
    for clock in (30.0, 60.0, 60.5, 65.0):
        due = reconcile_due(state, config, clock)
        folded = apply(state, seen, clock).last_pool_action_at == clock
        assert due == folded == (clock > 60.0), clock


def test_an_equal_config_object_and_the_unresolved_one_are_accepted() -> None:
    xen = InstanceLimits(name="xen", max_enis=3, ipv4_per_eni=4, hypervisor="xen")
    asked = Config(prefix_delegation=True)  # resolved to secondary-IP mode on Xen
    state = NodeState.boot(xen, asked, 0.0)
    for config in (asked, Config(prefix_delegation=True), state.config):
        assert reconcile(state, config, 0.0).actions
        assert reconcile_due(state, config, 0.0)


def test_the_accepted_config_hint_is_not_part_of_the_value() -> None:
    state = booted(Config())
    step = reconcile(state, Config(warm_eni_target=1), 0.0)  # a distinct but equal object
    assert step.state == attrs.evolve(step.state)
    assert from_json(to_json(step.state), NodeState) == step.state
    assert "accepted" not in repr(step.state)


def test_restart_is_how_a_node_takes_a_new_config() -> None:
    state = booted(Config())
    changed = vm.restart(state, Config(warm_ip_target=2), 10.0)
    assert changed.config.warm_ip_target == 2
    assert reconcile(changed, Config(warm_ip_target=2), 10.0).actions


@pytest.mark.parametrize("config", [None, "WARM_IP_TARGET=2", {"warm_ip_target": 2}])
def test_a_config_that_is_no_config_is_a_typed_error(config: object) -> None:
    with pytest.raises(ConfigError) as info:
        reconcile(booted(Config()), config, 0.0)  # type: ignore[arg-type]
    assert info.value.field == "config"


@pytest.mark.parametrize("state", [None, "state", 3])
def test_a_state_that_is_no_state_is_a_typed_error(state: object) -> None:
    for call in (
        lambda: reconcile(state, Config(), 0.0),  # type: ignore[arg-type]
        lambda: assign_pod_ip(state, Config(), "p", 0.0),  # type: ignore[arg-type]
        lambda: apply(state, vm.NodeCordoned(), 0.0),  # type: ignore[arg-type]
    ):
        with pytest.raises(StateError) as info:
            call()
        assert info.value.field == "state"


@pytest.mark.parametrize("clock", [10**400, float("nan"), float("inf"), "5", True, None, 2e12])
def test_clocks_are_checked_by_every_entry_point(clock: object) -> None:
    state = booted(Config())
    for call in (
        lambda: reconcile(state, Config(), clock),  # type: ignore[arg-type]
        lambda: reconcile_due(state, Config(), clock),  # type: ignore[arg-type]
        lambda: assign_pod_ip(state, Config(), "p", clock),  # type: ignore[arg-type]
        lambda: apply(state, vm.NodeCordoned(), clock),  # type: ignore[arg-type]
    ):
        with pytest.raises(StateError) as info:
            call()
        assert info.value.field == "clock"


def test_time_never_goes_backwards() -> None:
    state = booted(Config(), 10.0)
    with pytest.raises(StateError) as info:
        reconcile(state, Config(), 9.0)
    assert info.value.field == "clock"
    assert reconcile(state, Config(), 10).state.clock == 10.0


def test_awaiting_trunk() -> None:
    assert booted(Config(pod_eni=True)).awaiting_trunk
    assert not booted(Config()).awaiting_trunk
