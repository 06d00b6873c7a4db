"""IPv6 mode (spec 4.6, 1.4, 7.4 step 10, Q29): configuration, nodeInit as ``reconcile`` runs
it, the pod path over the /80s, JSON, and the CLI. Expected values come from the spec and Go
(ipamd.go isConfigValid / assignIPv6Prefix / createSecondaryIPv6ENIs / StartNodeIPPoolManager,
data_store.go AssignPodIPv6Address / getUnusedIP), worked out by hand."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpccni_model import (
    ENI,
    MANIFEST_ENV,
    AllocateIPv6ENI,
    AllocateIPv6Prefix,
    AllocationFailed,
    Cidr,
    Config,
    ConfigError,
    ENIAttached,
    InstanceLimits,
    IPv6PrefixAllocated,
    MetadataObserved,
    NetworkCard,
    NodeCordoned,
    NodeState,
    StateError,
    UnexpectedEventError,
    apply,
    assign_pod_ip,
    instance_limits,
    lint_env,
    max_pods_report,
    pool_stats,
    reconcile,
    reconcile_due,
    restart,
    steady_state,
    unassign_pod_ip,
)
from vpccni_model.cli import main
from vpccni_model.cloud import ASSIGN_IPV6, DEFAULT_SUBNET, FakeEC2
from vpccni_model.serialize import from_json, to_json

V6 = Config(enable_ipv4=False, enable_ipv6=True, prefix_delegation=True)
V6_ENV = {"ENABLE_IPv6": "true", "ENABLE_IPv4": "false", "ENABLE_PREFIX_DELEGATION": "true"}
M5 = instance_limits("m5.large")  # Nitro, one card
# Two cards on a Nitro type (the catalog's multi-card types are large; a small one is clearer).
TWO_CARDS = InstanceLimits(
    name="two-cards",
    max_enis=3,
    ipv4_per_eni=10,
    network_cards=(NetworkCard(0, 3), NetworkCard(1, 2)),
)
PREFIX = "2600:1f14:0:100::/80"
SECOND = "2600:1f14:0:100:1::/80"

Capsys = pytest.CaptureFixture[str]


def booted(config: Config = V6, limits: InstanceLimits = M5) -> NodeState:
    return NodeState.boot(limits, config, clock=0.0)


def with_prefix(state: NodeState, clock: float = 0.0, prefix: str = PREFIX) -> NodeState:
    """Boot's first step answered: eni-0 holds ``prefix``."""
    step = reconcile(state, state.config, clock)
    assert step.actions == (AllocateIPv6Prefix("eni-0"),)
    return apply(step.state, IPv6PrefixAllocated("eni-0", (prefix,)), clock)


# -- configuration (spec 1.4, isConfigValid) ----------------------------------------------------


def test_ipv6_with_prefix_delegation_is_accepted() -> None:
    config = Config.from_env({**MANIFEST_ENV, **V6_ENV})
    assert (config.enable_ipv4, config.enable_ipv6, config.prefix_delegation) == (False, True, True)
    assert config.for_instance(M5).enable_ipv6


@pytest.mark.parametrize(
    ("env", "field", "words"),
    [
        ({"ENABLE_IPv6": "true"}, "ENABLE_IPv4", "both enabled"),  # the manifest has IPv4 on
        ({"ENABLE_IPv4": "false"}, "ENABLE_IPv4", "both disabled"),
        (
            {**V6_ENV, "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"},
            "ENABLE_IPv6",
            "custom networking",
        ),
        ({**V6_ENV, "ENABLE_PREFIX_DELEGATION": "false"}, "ENABLE_IPv6", "PREFIX_DELEGATION"),
    ],
)
def test_from_env_keeps_ipamds_fatal_reasons(env: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_env({**MANIFEST_ENV, **env})
    assert info.value.field == field
    assert words in info.value.reason


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"enable_ipv6": True, "prefix_delegation": True}, "enable_ipv6", "both enabled"),
        ({"enable_ipv4": False}, "enable_ipv4", "both disabled"),
        ({"enable_ipv4": False, "enable_ipv6": True}, "enable_ipv6", "PREFIX_DELEGATION"),
        (
            {
                "enable_ipv4": False,
                "enable_ipv6": True,
                "prefix_delegation": True,
                "custom_networking": True,
            },
            "enable_ipv6",
            "custom networking",
        ),
    ],
)
def test_config_keeps_ipamds_fatal_reasons(kwargs: dict[str, bool], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config(**kwargs)
    assert info.value.field == field
    assert words in info.value.reason


def test_ipv6_on_an_instance_without_prefixes_is_fatal_not_a_fallback() -> None:
    xen = instance_limits("m4.large")
    assert not xen.supports_prefix_delegation
    # IPv4 falls back to secondary IPs silently ...
    assert not Config(prefix_delegation=True).for_instance(xen).prefix_delegation
    # ... IPv6 exits (isConfigValid: "IPv6 is only supported in Prefix delegation Mode").
    with pytest.raises(ConfigError) as info:
        V6.for_instance(xen)
    assert info.value.field == "enable_ipv6"
    with pytest.raises(ConfigError):
        NodeState.boot(xen, V6)
    findings = lint_env({**MANIFEST_ENV, **V6_ENV}, xen)
    assert [(f.code, f.severity, f.variable) for f in findings] == [
        ("invalid-config", "error", "ENABLE_IPv6")
    ]


def test_lint_accepts_a_valid_ipv6_environment() -> None:
    assert lint_env({**MANIFEST_ENV, **V6_ENV}, M5) == ()


# -- nodeInit: one /80 per ENI (assignIPv6Prefix) -----------------------------------------------


def test_boot_allocates_a_prefix_when_none_and_the_fake_hands_out_the_lowest() -> None:
    state = booted()
    ec2 = FakeEC2.for_node(state)
    step = reconcile(state, V6, 0.0)
    assert step.actions == (AllocateIPv6Prefix("eni-0"),)
    assert step.next_check_at is None  # waiting on the call
    event = ec2.execute(step.actions[0])
    # The fake's IPv6 CIDR is 2600:1f14:0:100::/64; its lowest /80 is the CIDR's own start.
    assert event == IPv6PrefixAllocated("eni-0", (PREFIX,))
    assert ec2.calls[ASSIGN_IPV6] == 1
    state = apply(step.state, event, 0.2)
    assert [c.key for c in state.enis[0].cidrs] == [PREFIX]
    # Asked again, the fake describes the ENI and assigns nothing new.
    assert ec2.execute(AllocateIPv6Prefix("eni-0")) == event
    assert ec2.calls[ASSIGN_IPV6] == 1


def test_only_the_first_of_several_prefixes_is_used() -> None:
    step = reconcile(booted(), V6, 0.0)
    third = "2600:1f14:0:100:2::/80"
    state = apply(step.state, IPv6PrefixAllocated("eni-0", (SECOND, PREFIX, third)), 0.0)
    # EC2's order, not the numeric one: ec2v6Prefixes[0].
    assert [c.key for c in state.enis[0].cidrs] == [SECOND]
    state, ip = assign_pod_ip(state, V6, "ns/a", 1.0)
    assert ip == "2600:1f14:0:100:1::"


def test_an_answer_that_does_not_match_the_call_is_refused() -> None:
    step = reconcile(booted(), V6, 0.0)
    with pytest.raises(UnexpectedEventError):
        apply(step.state, IPv6PrefixAllocated("eni-9", (PREFIX,)), 0.0)
    with pytest.raises(StateError) as info:
        apply(step.state, IPv6PrefixAllocated("eni-0", ("2600:1f14::/64",)), 0.0)
    assert info.value.field == "prefixes"


def test_a_failed_prefix_allocation_is_asked_again() -> None:
    step = reconcile(booted(), V6, 0.0)
    state = apply(step.state, AllocationFailed("RequestLimitExceeded"), 0.5)
    assert state.in_flight is None
    assert state.last_insufficient_cidr_at is None  # no pool, no backoff
    assert reconcile(state, V6, 5.0).actions == (AllocateIPv6Prefix("eni-0"),)


def test_after_init_nothing_ever_happens_again() -> None:
    state = with_prefix(booted())
    for clock in (5.0, 65.0, 3600.0):
        step = reconcile(state, V6, clock)
        assert step.actions == ()
        assert step.next_check_at is None
        state = step.state
    assert not reconcile_due(state, V6, 3600.0)  # no 60 s metadata reconcile (Q29)
    observed = apply(state, MetadataObserved(()), 3700.0)  # IMDS shows nothing: ignored
    assert observed.enis == state.enis


# -- createSecondaryIPv6ENIs -------------------------------------------------------------------


def test_cards_above_0_get_one_ipv6_eni_then_its_prefix() -> None:
    config = attrs.evolve(V6, multi_nic=True)
    state = with_prefix(booted(config, TWO_CARDS))
    ec2 = FakeEC2.for_node(state)
    step = reconcile(state, config, 5.0)
    assert step.actions == (AllocateIPv6ENI(1),)
    attached = ec2.execute(step.actions[0])
    assert isinstance(attached, ENIAttached)
    assert (attached.network_card, attached.ips, attached.prefixes) == (1, (), ())
    state = apply(step.state, attached, 5.5)
    # The new ENI lives in the node's subnet (the fake's default), and records it.
    assert attached.subnet_id == DEFAULT_SUBNET
    assert state.datastore(1).enis[0].subnet_id == DEFAULT_SUBNET
    step = reconcile(state, config, 10.0)
    assert step.actions == (AllocateIPv6Prefix(attached.eni_id),)
    state = apply(step.state, ec2.execute(step.actions[0]), 10.5)
    assert [[c.key for c in e.cidrs] for e in state.enis] == [[PREFIX], [SECOND]]
    assert state.ipv6_enis_tried == (1,)
    assert reconcile(state, config, 15.0).actions == ()


def test_a_card_is_tried_once_even_when_the_eni_fails() -> None:
    config = attrs.evolve(V6, multi_nic=True)
    step = reconcile(with_prefix(booted(config, TWO_CARDS)), config, 5.0)
    state = apply(step.state, AllocationFailed("InsufficientFreeAddressesInSubnet"), 6.0)
    assert reconcile(state, config, 10.0).actions == ()


def test_a_cordoned_node_creates_no_eni_even_after_uncordon() -> None:
    config = attrs.evolve(V6, multi_nic=True)
    state = apply(with_prefix(booted(config, TWO_CARDS)), NodeCordoned(), 1.0)
    step = reconcile(state, config, 5.0)
    assert step.actions == ()  # isENIAttachmentAllowed is false at init
    assert step.state.ipv6_enis_tried == (1,)


def test_subnet_discovery_drops_excluded_enis_at_restart_and_creates_one_on_card_0() -> None:
    state = with_prefix(booted())
    state, _ = assign_pod_ip(state, V6, "ns/a", 1.0)
    excluded = attrs.evolve(state.enis[0], is_excluded=True)
    state = attrs.evolve(state, datastores=(attrs.evolve(state.datastores[0], enis=(excluded,)),))
    again = restart(state, V6, 10.0)
    assert again.enis == ()
    assert dict(again.pods.items()) == {}  # the checkpoint finds no CIDR for its address
    step = reconcile(again, V6, 10.0)
    assert step.actions == (AllocateIPv6ENI(0),)
    assert reconcile(apply(step.state, AllocationFailed("X"), 11.0), V6, 15.0).actions == ()


def test_restart_releases_nothing_of_an_excluded_eni_in_ipv6() -> None:
    # checkAndHandleAllENIExclusion finds no excluded ENI in IPv6: they were never set up.
    config = attrs.evolve(V6, multi_nic=True)
    state = with_prefix(booted(config, TWO_CARDS))
    step = reconcile(state, config, 5.0)
    state = apply(step.state, ENIAttached("eni-9", 0, 1, prefixes=(SECOND,), is_excluded=True), 6.0)
    assert state.find_eni("eni-9") is not None  # setupENI keeps a new excluded ENI
    again = restart(state, config, 10.0)
    assert again.outbox == ()
    assert again.find_eni("eni-9") is None
    assert [e.eni_id for e in again.enis] == ["eni-0"]
    # setupENI asks EC2 for eni-0's prefixes again; then card 1, empty again, gets an ENI.
    step = reconcile(again, config, 10.0)
    assert step.actions == (AllocateIPv6Prefix("eni-0"),)
    again = apply(step.state, IPv6PrefixAllocated("eni-0", (PREFIX,)), 10.5)
    assert reconcile(again, config, 15.0).actions == (AllocateIPv6ENI(1),)


def test_restart_sets_every_eni_up_again_and_keeps_its_prefix_and_pods() -> None:
    config = attrs.evolve(V6, multi_nic=True)
    state = with_prefix(booted(config, TWO_CARDS))
    ec2 = FakeEC2.for_node(state)
    clock = 5.0
    while (step := reconcile(state, config, clock)).actions:  # the card-1 ENI and its /80
        state = step.state
        for action in step.actions:
            event = ec2.execute(action)
            assert event is not None
            state = apply(state, event, clock)
        clock += 5.0
    state, ip = assign_pod_ip(state, config, "ns/a", clock)
    again = restart(state, config, clock + 1.0)
    assert again.ipv6_setup_pending == ("eni-0", "eni-1")
    calls = dict(ec2.calls)
    seen = []
    clock += 1.0
    while (step := reconcile(again, config, clock)).actions:
        seen.extend(step.actions)
        again = step.state
        event = ec2.execute(step.actions[0])
        assert event is not None
        again = apply(again, event, clock)
        clock += 5.0
    # One Describe per ENI (GetIPv6PrefixesFromEC2), no new prefix, no new ENI.
    assert seen == [AllocateIPv6Prefix("eni-0"), AllocateIPv6Prefix("eni-1")]
    after = dict(ec2.calls)
    assert after["DescribeNetworkInterfaces"] - calls["DescribeNetworkInterfaces"] == 2
    assert after[ASSIGN_IPV6] == calls[ASSIGN_IPV6]
    assert again.ipv6_setup_pending == ()
    assert [[c.key for c in e.cidrs] for e in again.enis] == [[PREFIX], [SECOND]]
    assert again.pods["ns/a"].address == ip


def test_restart_queues_no_release_for_an_empty_excluded_primary() -> None:
    state = with_prefix(booted())
    excluded = attrs.evolve(state.enis[0], is_excluded=True)
    state = attrs.evolve(state, datastores=(attrs.evolve(state.datastores[0], enis=(excluded,)),))
    again = restart(state, V6, 10.0)
    assert (again.outbox, again.enis) == ((), ())


# -- the pod path (AssignPodIPv6Address, getUnusedIP) ------------------------------------------


def test_first_pod_gets_the_base_address_then_the_next_ones() -> None:
    state = with_prefix(booted())
    got = []
    for n in range(3):
        state, ip = assign_pod_ip(state, V6, f"ns/p{n}", 1.0)
        got.append(ip)
    assert got == ["2600:1f14:0:100::", "2600:1f14:0:100::1", "2600:1f14:0:100::2"]
    state, freed = unassign_pod_ip(state, V6, "ns/p0", 2.0)
    assert freed == "2600:1f14:0:100::"
    # Cooling (30 s): the scan skips the entry and takes the next address with none.
    state, ip = assign_pod_ip(state, V6, "ns/p3", 10.0)
    assert ip == "2600:1f14:0:100::3"
    # Cooled: the freed address is reused first.
    state, ip = assign_pod_ip(state, V6, "ns/p4", 40.0)
    assert ip == "2600:1f14:0:100::"
    state.check()


def test_more_pods_than_a_28_holds_stay_on_the_one_prefix() -> None:
    state = with_prefix(booted())
    for n in range(40):
        state, ip = assign_pod_ip(state, V6, f"ns/p{n}", 1.0)
    assert ip == "2600:1f14:0:100::27"  # 39 in hex
    assert state.enis[0].cidrs[0].assigned == 40
    stats = pool_stats(state, 2.0)
    assert (stats.total_ips, stats.assigned_ips, stats.total_prefixes) == (2**48, 40, 1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 11)), max_size=40))
def test_reconcile_never_returns_a_pool_action_under_pod_churn(
    churn: list[tuple[bool, int]],
) -> None:
    state = with_prefix(booted())
    clock = 0.0
    for add, pod in churn:
        clock += 3.0
        key = f"ns/p{pod}"
        if add:
            state, _ = assign_pod_ip(state, V6, key, clock)
        elif key in state.pods:
            state, _ = unassign_pod_ip(state, V6, key, clock)
        step = reconcile(state, V6, clock)
        assert step.actions == ()
        assert step.next_check_at is None
        state = step.state
    state.check()


# -- data and JSON -------------------------------------------------------------------------------


def test_prefix_values_and_bad_text() -> None:
    cidr = Cidr.parse(PREFIX)
    assert (cidr.is_ipv6, cidr.is_prefix, cidr.size, cidr.key) == (True, True, 2**48, PREFIX)
    for bad in ("2600:1f14::1/80", "2600:1f14::/64", "::/80", "nonsense/80"):
        with pytest.raises(StateError):
            Cidr.parse(bad)
    with pytest.raises(StateError):  # an IPv6 value is held only as a /80
        Cidr(network=cidr.network, is_prefix=False)


def test_an_ipv4_node_holds_no_80_and_an_ipv6_node_no_ipv4() -> None:
    v4 = NodeState.boot(M5, Config())
    eni = attrs.evolve(v4.enis[0], cidrs=(Cidr.parse(PREFIX),))
    with pytest.raises(StateError):
        attrs.evolve(v4, datastores=(attrs.evolve(v4.datastores[0], enis=(eni,)),)).check()
    v6 = booted()
    eni = attrs.evolve(v6.enis[0], cidrs=(Cidr.parse("10.0.0.16/28"),))
    with pytest.raises(StateError):
        attrs.evolve(v6, datastores=(attrs.evolve(v6.datastores[0], enis=(eni,)),)).check()


def test_serialization_round_trips_an_ipv6_state() -> None:
    config = attrs.evolve(V6, multi_nic=True)
    state = with_prefix(booted(config, TWO_CARDS))
    state, _ = assign_pod_ip(state, config, "ns/a", 1.0)
    state, _ = unassign_pod_ip(state, config, "ns/a", 2.0)
    state, _ = assign_pod_ip(state, config, "ns/b", 3.0)
    state = reconcile(state, config, 5.0).state  # AllocateIPv6ENI(1) in flight
    text = to_json(state)
    back = from_json(text, NodeState)
    assert back == state
    assert to_json(back) == text
    assert back.in_flight is not None and back.in_flight.action == AllocateIPv6ENI(1)
    for value in (AllocateIPv6Prefix("eni-0"), IPv6PrefixAllocated("eni-0", (PREFIX,))):
        assert from_json(to_json(value), type(value)) == value


def test_json_with_a_bad_ipv6_value_is_a_state_error() -> None:
    state = with_prefix(booted())
    data = json.loads(to_json(state))
    data["datastores"][0]["enis"][0]["cidrs"][0]["network"] += 1  # not /80-aligned
    with pytest.raises(StateError):
        from_json(json.dumps(data), NodeState)
    with pytest.raises(StateError):
        text = '{"eni_id": "eni-0", "prefixes": [5], "type": "IPv6PrefixAllocated"}'
        from_json(text, IPv6PrefixAllocated)


def test_an_eni_attached_for_ipv6_carries_no_ipv4() -> None:
    config = attrs.evolve(V6, multi_nic=True)
    step = reconcile(with_prefix(booted(config, TWO_CARDS)), config, 5.0)
    with pytest.raises(UnexpectedEventError):
        apply(step.state, ENIAttached("eni-9", 0, 1, ips=("10.0.0.9",)), 6.0)
    state = apply(step.state, ENIAttached("eni-9", 0, 1, prefixes=(SECOND,)), 6.0)
    assert state.find_eni("eni-9") == ENI(
        "eni-9", 0, network_card=1, created_at=6.0, cidrs=(Cidr.parse(SECOND),)
    )


# -- steady state and the CLI ------------------------------------------------------------------


def test_steady_state_of_an_ipv6_node() -> None:
    result = steady_state(M5, V6, 20)
    # One ENI, one /80; ipamd's TotalIPs counts the /80's 2**48 addresses (Size()).
    assert (result.enis, result.prefixes, result.pods_placed) == (1, 1, 20)
    assert (result.total_ips, result.unused_ips) == (2**48, 2**48 - 20)
    assert result.subnet_addresses == 1  # the primary IPv4 only
    # m5.large's node default is 29 (3 x 9 + 2): with 2 host-network pods, 27 pod IPs at most.
    assert steady_state(M5, V6, 40).pods_placed == 27


def test_max_pods_report_for_ipv6() -> None:
    report = max_pods_report(M5, prefix_delegation=True, ipv6=True)
    assert report.ipv6
    assert report.ipamd_pod_addresses == 2**48
    assert report.node_default == 29
    assert "kubelet's max pods" in report.notes[0]
    with pytest.raises(ConfigError):
        max_pods_report(instance_limits("m4.large"), ipv6=True)


def run(capsys: Capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_steady_state_ipv6(capsys: Capsys) -> None:
    env = [arg for name, value in V6_ENV.items() for arg in ("--env", f"{name}={value}")]
    code, out, _ = run(capsys, "steady-state", "m5.large", "--pods", "20", *env)
    assert code == 0
    assert "mode: IPv6 (one /80 prefix per ENI" in out
    row = next(line.split() for line in out.splitlines() if line.startswith("  20"))
    assert row == ["20", "20", "0", "1", "1", "1", str(2**48), str(2**48 - 20), "1", "True"]
    code, _, err = run(capsys, "steady-state", "m4.large", "--pods", "1", *env)
    assert code == 2
    assert "prefix delegation is not supported on m4.large" in err


def test_cli_max_pods_ipv6(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "max-pods", "m5.large", "--ipv6")
    assert code == 0
    assert "IPv6, prefix delegation" in out
    assert f"ipamd addressable pod IPs               {2**48}" in out
    assert "pods are limited by kubelet's max pods alone: 29" in out.replace("\n    ", " ")
    code, out, _ = run(capsys, "max-pods", "m5.large", "--ipv6", "--json")
    data = json.loads(out)
    assert data["inputs"]["ipv6"] is True
    assert data["ipamd_pod_addresses"] == 2**48


def test_explain_says_there_is_no_pool_to_tune() -> None:
    from vpccni_model.sim.explain import explain

    explanation = explain(M5, V6, churn_minutes=0)
    assert [(f.code, f.severity) for f in explanation.findings] == [("ipv6-no-warm-pool", "info")]
    assert "kubelet's max pods (29)" in explanation.findings[0].detail
    assert explanation.findings[0].env == () and explanation.findings[0].max_pods is None


def test_simulated_ipv6_node_makes_only_its_init_calls() -> None:
    from vpccni_model.sim import NodeSpec, PoissonChurn, SimulationSpec, simulate

    spec = SimulationSpec(
        nodes=(NodeSpec("a", M5, V6),), workload=PoissonChurn(20, 6.0), duration=1800.0, seed=3
    )
    result = simulate(spec)
    # nodeInit's one AllocateIPv6Prefix: Describe + AssignIpv6Addresses, then nothing.
    assert result.summary.ec2_calls == 2
    assert result.summary.pods_failed == 0
    assert result.summary.ips_total_max == 2**48  # ipamd's TotalIPs: one /80
    assert result.summary.subnet_addresses_max == 1  # the primary IPv4 only


FOUR_CARDS = InstanceLimits(
    name="four-cards",
    max_enis=2,
    ipv4_per_eni=10,
    network_cards=(NetworkCard(0, 2), NetworkCard(1, 1), NetworkCard(2, 1), NetworkCard(3, 1)),
)


@settings(max_examples=60, deadline=None)
@given(
    outcomes=st.lists(st.sampled_from(["ok", "fail"]), min_size=12, max_size=12),
    cordon_at=st.one_of(st.none(), st.integers(0, 6)),
    multi_nic=st.booleans(),
)
def test_init_ends_and_creates_at_most_one_eni_per_card(
    outcomes: list[str], cordon_at: int | None, multi_nic: bool
) -> None:
    config = attrs.evolve(V6, multi_nic=multi_nic)
    state = booted(config, FOUR_CARDS)
    ec2 = FakeEC2.for_node(state)
    created: list[int] = []
    clock = 0.0
    # The drawn outcomes, then EC2 answering every call: nodeInit must come to an end.
    for step_no, outcome in enumerate([*outcomes, *["ok"] * 10]):
        if step_no == cordon_at:
            state = apply(state, NodeCordoned(), clock)
        step = reconcile(state, config, clock)
        state = step.state
        for action in step.actions:
            assert isinstance(action, AllocateIPv6ENI | AllocateIPv6Prefix)
            if isinstance(action, AllocateIPv6ENI):
                created.append(action.network_card)
            event = ec2.execute(action) if outcome == "ok" else AllocationFailed("X")
            assert event is not None
            state = apply(state, event, clock + 0.5)
        clock += 5.0
    assert len(created) == len(set(created))  # createSecondaryIPv6ENIs tries a card once
    assert set(created) <= ({1, 2, 3} if multi_nic else set())
    if cordon_at is not None and cordon_at == 0:
        assert created == []  # attachment not allowed when nodeInit reached the cards
    for eni in state.enis:
        assert len(eni.cidrs) <= 1 and all(c.is_ipv6 for c in eni.cidrs)
    state.check()
    assert from_json(to_json(state), NodeState) == state
    assert all(eni.cidrs for eni in state.enis)  # every ENI got its /80 in the end
    for later in (clock, clock + 60.0, clock + 3600.0):  # and the node never acts again
        final = reconcile(state, config, later)
        assert final.actions == () and final.next_check_at is None
        state = final.state


def test_go_random_reuses_one_cooled_address_and_purges_the_others() -> None:
    from vpccni_model import IterationPolicy

    reused = set()
    for seed in range(12):
        state = NodeState.boot(M5, V6, 0.0, iteration=IterationPolicy.go_random(seed))
        state = with_prefix(state)
        for n in range(4):
            state, _ = assign_pod_ip(state, V6, f"ns/p{n}", 1.0)
        for n in (0, 1, 2):
            state, _ = unassign_pod_ip(state, V6, f"ns/p{n}", 2.0)
        state, ip = assign_pod_ip(state, V6, "ns/new", 40.0)  # all three cooled (30 s)
        assert ip in {"2600:1f14:0:100::", "2600:1f14:0:100::1", "2600:1f14:0:100::2"}
        # getUnusedIP purges every cooled entry: only the new pod's and p3's remain.
        assert {a.pod for a in state.enis[0].cidrs[0].addresses} == {"ns/new", "ns/p3"}
        reused.add(ip)
        state.check()
    assert len(reused) > 1  # Go's map order does not always pick the lowest


def test_prometheus_total_counts_the_80() -> None:
    from vpccni_model.sim import prometheus

    state = with_prefix(booted())
    state, _ = assign_pod_ip(state, V6, "ns/a", 1.0)
    gauges = prometheus.node_gauges(state)
    assert (gauges.total_ip_addresses, gauges.assigned_ip_addresses) == (2**48, 1)
    assert (gauges.eni_allocated, gauges.total_ipv4_prefixes) == (1, 1)


def _prefix_types() -> st.SearchStrategy[InstanceLimits]:
    from vpccni_model.testing import limits

    return limits().filter(lambda found: found.supports_prefix_delegation)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_ipv6_nodes_keep_every_rule(data: st.DataObject) -> None:
    from vpccni_model.testing import ipv6_configs, iteration_policies, node_states

    state, config, ec2 = data.draw(
        node_states(_prefix_types(), ipv6_configs(), iteration_strategy=iteration_policies())
    )
    state.check()
    assert from_json(to_json(state), NodeState) == state
    for eni in state.enis:
        assert len(eni.cidrs) <= 1 and all(c.is_ipv6 for c in eni.cidrs)
    for ref in state.pods.values():
        assert ref.ip > 2**32  # every pod address is IPv6
    # EC2 answering every call, nodeInit ends within a few steps and nothing follows.
    clock = state.clock
    for _ in range(12):
        clock += 5.0
        step = reconcile(state, config, clock)
        state = step.state
        for action in step.actions:
            assert isinstance(action, AllocateIPv6ENI | AllocateIPv6Prefix)
            event = ec2.execute(action)
            assert event is not None
            state = apply(state, event, clock)
    final = reconcile(state, config, clock + 5.0)
    assert final.actions == ()
    assert all(eni.cidrs for eni in state.enis if not eni.is_trunk)


def test_cli_max_pods_takes_the_ipv6_env(capsys: Capsys) -> None:
    env = [arg for name, value in V6_ENV.items() for arg in ("--env", f"{name}={value}")]
    code, by_env, _ = run(capsys, "max-pods", "m5.large", *env)
    assert code == 0
    _, by_flag, _ = run(capsys, "max-pods", "m5.large", "--ipv6")
    assert by_env == by_flag
    code, _, err = run(capsys, "max-pods", "m5.large", "--env", "ENABLE_IPv6=true")
    assert code == 2 and "both enabled" in err  # the manifest keeps ENABLE_IPv4=true
