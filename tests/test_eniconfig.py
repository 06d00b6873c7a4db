"""Custom networking: which ENIConfig a node uses, where a new ENI goes, and a node without one.

Expected values come from pkg/eniconfig/eniconfig.go (``GetNodeSpecificENIConfigName``,
``getEniConfigAnnotationDef``/``LabelDef``, ``MyENIConfig``) and its test table
``TestMyENIConfig``, and from pkg/ipamd/ipamd.go ``tryAllocateENI`` and
pkg/awsutils/awsutils.go ``createENI`` (spec 1.5.1, 6.1, 6.4).
"""

from __future__ import annotations

import json

import attrs
import pytest

from vpccni_model import (
    AllocateENI,
    AllocateIPs,
    Config,
    DiscoveredSubnet,
    ENIConfig,
    ENIConfigSubnet,
    InstanceLimits,
    IPsAllocated,
    NodeState,
    NoENIConfig,
    PrimarySubnet,
    apply,
    eni_destination,
    instance_limits,
    reconcile,
    restart,
    select_eni_config,
)
from vpccni_model._errors import ConfigError, StateError
from vpccni_model.serialize import from_json, to_json

AZ1 = ENIConfig("az1", "SB1", ("SG1",))
AZ2 = ENIConfig("az2", "SB2", ("SG2",))
CUSTOM = ENIConfig("custom", "SB1", ("SG1",))
ZONE = "topology.kubernetes.io/zone"
DEFAULT_KEY = "k8s.amazonaws.com/eniConfig"
M5 = instance_limits("m5.large")  # 3 ENIs x 10 IPv4 addresses: S = 9

# -- which ENIConfig (GetNodeSpecificENIConfigName, MyENIConfig) -------------------------------

# The rows of eniconfig_test.go TestMyENIConfig: (labels, annotations, env, ENIConfigs, wanted).
UPSTREAM_TABLE = [
    # Matching ENIConfig, default label.
    ({DEFAULT_KEY: "az1"}, {}, {}, [AZ1], AZ1),
    # No matching ENIConfig, default label.
    ({DEFAULT_KEY: "az1"}, {}, {}, [AZ2], NoENIConfig("az1", f"label {DEFAULT_KEY}")),
    # ENI_CONFIG_LABEL_DEF names the zone label.
    ({ZONE: "az1"}, {}, {"ENI_CONFIG_LABEL_DEF": ZONE}, [AZ1], AZ1),
    ({ZONE: "az2"}, {}, {"ENI_CONFIG_LABEL_DEF": ZONE}, [AZ1], NoENIConfig("az2", f"label {ZONE}")),
    # The default annotation wins over the (zone) label.
    ({ZONE: "az2"}, {DEFAULT_KEY: "az1"}, {"ENI_CONFIG_LABEL_DEF": ZONE}, [AZ1], AZ1),
    (
        {ZONE: "az2"},
        {DEFAULT_KEY: "az1"},
        {"ENI_CONFIG_LABEL_DEF": ZONE},
        [AZ2],
        NoENIConfig("az1", f"annotation {DEFAULT_KEY}"),
    ),
    # ENI_CONFIG_ANNOTATION_DEF renames the annotation.
    (
        {ZONE: "az2"},
        {"k8s.amazonaws.com/myENIConfig": "az1"},
        {"ENI_CONFIG_ANNOTATION_DEF": "k8s.amazonaws.com/myENIConfig"},
        [AZ1],
        AZ1,
    ),
    # The external label wins over everything.
    (
        {"vpc.amazonaws.com/externalEniConfig": "custom", ZONE: "az2"},
        {},
        {"ENI_CONFIG_LABEL_DEF": ZONE},
        [AZ1, CUSTOM],
        CUSTOM,
    ),
]


@pytest.mark.parametrize(("labels", "annotations", "env", "configs", "wanted"), UPSTREAM_TABLE)
def test_selection_follows_the_upstream_table(
    labels: dict[str, str],
    annotations: dict[str, str],
    env: dict[str, str],
    configs: list[ENIConfig],
    wanted: ENIConfig | NoENIConfig,
) -> None:
    assert select_eni_config(labels, annotations, configs, env) == wanted


def test_precedence_external_label_then_annotation_then_label_then_default() -> None:
    named = [ENIConfig(name, f"subnet-{name}") for name in ("ext", "ann", "lab", "default")]
    labels = {"vpc.amazonaws.com/externalEniConfig": "ext", DEFAULT_KEY: "lab"}
    annotations = {DEFAULT_KEY: "ann"}
    assert select_eni_config(labels, annotations, named).name == "ext"  # type: ignore[union-attr]
    del labels["vpc.amazonaws.com/externalEniConfig"]
    assert select_eni_config(labels, annotations, named).name == "ann"  # type: ignore[union-attr]
    assert select_eni_config(labels, {}, named).name == "lab"  # type: ignore[union-attr]
    # Nothing on the node: the ENIConfig called "default" (EniConfigDefault).
    assert select_eni_config({}, {}, named).name == "default"  # type: ignore[union-attr]
    assert select_eni_config({}, {}, named[:3]) == NoENIConfig("default", "default")


def test_an_empty_key_variable_means_the_default_key() -> None:
    # getEniConfigLabelDef: set but empty -> the default key, not the empty label.
    env = {"ENI_CONFIG_LABEL_DEF": "", "ENI_CONFIG_ANNOTATION_DEF": ""}
    assert select_eni_config({DEFAULT_KEY: "az1"}, {}, [AZ1], env) == AZ1
    assert select_eni_config({}, {DEFAULT_KEY: "az1"}, [AZ1], env) == AZ1


def test_a_present_key_with_an_empty_value_names_no_eniconfig() -> None:
    # The map lookup succeeds with "", which no ENIConfig is called: ErrNoENIConfig.
    found = select_eni_config({}, {DEFAULT_KEY: ""}, [AZ1, ENIConfig("default", "SB0")])
    assert found == NoENIConfig("", f"annotation {DEFAULT_KEY}")
    assert "no ENIConfig named ''" in found.reason  # type: ignore[union-attr]


def test_the_zone_alone_is_not_read() -> None:
    # ipamd reads no availability zone: a zone label counts only through ENI_CONFIG_LABEL_DEF.
    assert select_eni_config({ZONE: "az1"}, {}, [AZ1]) == NoENIConfig("default", "default")
    assert select_eni_config({}, {}, [AZ1], zone="az1") == NoENIConfig("default", "default")
    # Given as the zone, it stands for the kubelet's label, which ENI_CONFIG_LABEL_DEF can name.
    zoned = {"ENI_CONFIG_LABEL_DEF": ZONE}
    assert select_eni_config({}, {}, [AZ1, AZ2], zoned, zone="az2") == AZ2
    # A zone label already on the node wins over the zone argument.
    assert select_eni_config({ZONE: "az1"}, {}, [AZ1, AZ2], zoned, zone="az2") == AZ1
    with pytest.raises(ConfigError, match="zone"):
        select_eni_config({}, {}, [AZ1], zone="")


def test_bad_eniconfigs_are_refused() -> None:
    with pytest.raises(ConfigError, match="subnet"):
        ENIConfig("a", "")
    with pytest.raises(ConfigError, match="name"):
        ENIConfig("", "SB1")
    with pytest.raises(ConfigError, match="security_groups"):
        ENIConfig("a", "SB1", "sg-1")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unique"):
        select_eni_config({}, {}, [AZ1, ENIConfig("az1", "SB9")])
    with pytest.raises(ConfigError, match="eni_configs"):
        select_eni_config({}, {}, ["az1"])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="labels"):
        select_eni_config(["az1"], {}, [AZ1])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="eni_config"):
        NodeState.boot(M5, Config(custom_networking=True), eni_config="az1")  # type: ignore[arg-type]


# -- where a new ENI goes (tryAllocateENI, createENI) ------------------------------------------


def test_destination_per_mode() -> None:
    assert eni_destination(Config(), None) == DiscoveredSubnet()  # discovery is on by default
    assert eni_destination(Config(subnet_discovery=False), None) == PrimarySubnet()
    # An ENIConfig without custom networking is ignored, as ipamd never loads it.
    assert eni_destination(Config(subnet_discovery=False), AZ1) == PrimarySubnet()
    # Custom networking: the ENIConfig's subnet and groups; discovery only marks exclusion.
    custom = Config(custom_networking=True)
    assert eni_destination(custom, AZ1) == ENIConfigSubnet("SB1", ("SG1",), True)
    assert eni_destination(attrs.evolve(custom, subnet_discovery=False), AZ1) == (
        ENIConfigSubnet("SB1", ("SG1",), exclusion_check=False)
    )
    # Custom networking without an ENIConfig: MyENIConfig fails, nothing is created.
    assert eni_destination(custom, None) is None


def test_the_tick_sends_the_destination_with_the_eni() -> None:
    for config, destination in [
        (Config(warm_ip_target=12), DiscoveredSubnet()),
        (Config(warm_ip_target=12, subnet_discovery=False), PrimarySubnet()),
    ]:
        state = NodeState.boot(M5, config)
        # W=12 on a bare node: fill the primary with S = 9 first (6.2) ...
        step = reconcile(state, config, 0.0)
        assert step.actions == (AllocateIPs("eni-0", 9),)
        filled = IPsAllocated("eni-0", tuple(f"10.0.0.{n}" for n in range(5, 14)))
        # (the tick, ipamd's pre-scaling, ends once the answer is in) ...
        state = reconcile(apply(step.state, filled, 0.1), config, 0.1).state
        # ... then short 12 - 9 = 3: a new ENI with 3 IPs, where the mode says (6.4).
        (action,) = reconcile(state, config, 5.0).actions
        assert action == AllocateENI(0, 3, False, destination)
    custom = Config(custom_networking=True)
    state = NodeState.boot(M5, custom, eni_config=AZ2)
    # The primary ENI is skipped (1.5.1): a new ENI with S = 9 IPs, in SB2 with SG2.
    (action,) = reconcile(state, custom, 0.0).actions
    assert action == AllocateENI(0, 9, False, ENIConfigSubnet("SB2", ("SG2",), True))


def test_custom_networking_without_an_eniconfig_creates_nothing_and_stamps_nothing() -> None:
    config = Config(custom_networking=True, warm_ip_target=3)
    booted = NodeState.boot(M5, config, eni_config=None)
    # At start-up (handlePreScaling, 7.5): no ENI, so card 0 has no IP and nodeInit fails;
    # ipamd exits, so nothing is scheduled.
    first = reconcile(booted, config, 0.0)
    assert first.actions == ()
    assert first.start_error == "Failed to attach any ENIs for custom networking"
    assert first.next_check_at is None
    # Past start-up (a regular tick on the same node):
    state = attrs.evolve(booted, pre_scaling=False)
    step = reconcile(state, config, 0.0)
    # tryAllocateENI returns MyENIConfig's error before counting resources: no call, and
    # increaseDatastorePool only logs it (6.1), so lastNodeIPPoolAction stays unset, no
    # backoff starts, and nothing is waited on.
    assert step.actions == ()
    assert step.start_error is None
    assert step.state.in_flight is None
    assert step.state.last_pool_action_at is None
    assert step.state.last_insufficient_cidr_at is None
    # Nothing can change without an event: the model schedules no check.
    assert step.next_check_at is None
    # Ticks later, the same: ipamd retries every 5 s and fails the same way.
    assert reconcile(step.state, config, 60.0).actions == ()
    # A NoENIConfig from the selection is kept as none.
    missing = select_eni_config({}, {}, [AZ1])
    assert NodeState.boot(M5, config, eni_config=missing).eni_config is None


def test_without_an_eniconfig_zero_resources_is_no_pool_action_either() -> None:
    # The Q23 node (one IPv4 per ENI: S = 0, W = 1 -> low, R = 0): with an ENIConfig,
    # tryAllocateENI gets past MyENIConfig and stamps lastNodeIPPoolAction; without one it
    # fails before counting the resources, and nothing is stamped.
    limits = InstanceLimits(name="test.one", max_enis=3, ipv4_per_eni=1)
    config = Config(warm_ip_target=1, custom_networking=True)
    with_one = reconcile(NodeState.boot(limits, config, eni_config=AZ1), config, 5.0)
    assert (with_one.actions, with_one.state.last_pool_action_at) == ((), 5.0)
    without = reconcile(NodeState.boot(limits, config), config, 5.0)
    assert (without.actions, without.state.last_pool_action_at) == ((), None)


def test_restart_keeps_or_replaces_the_eniconfig() -> None:
    config = Config(custom_networking=True)
    state = NodeState.boot(M5, config, eni_config=AZ1)
    assert restart(state, config, 1.0).eni_config == AZ1
    assert restart(state, config, 1.0, eni_config=AZ2).eni_config == AZ2
    assert restart(state, config, 1.0, eni_config=None).eni_config is None
    assert restart(state, config, 1.0, eni_config=NoENIConfig("x", "default")).eni_config is None


def test_states_and_actions_round_trip_with_eniconfig_and_destinations() -> None:
    config = Config(custom_networking=True)
    state = NodeState.boot(M5, config, eni_config=AZ1)
    step = reconcile(state, config, 0.0)  # holds the AllocateENI in flight
    assert from_json(to_json(step.state), NodeState) == step.state
    for destination in (PrimarySubnet(), DiscoveredSubnet(), ENIConfigSubnet("SB1", ("a", "b"))):
        action = AllocateENI(0, 3, True, destination)
        assert from_json(to_json(action), AllocateENI) == action
    text = to_json(AllocateENI(0, 3, False, PrimarySubnet()))
    assert '"destination":{"type":"PrimarySubnet"}' in text
    with pytest.raises(StateError, match="destination"):
        from_json(text.replace("PrimarySubnet", "Elsewhere"), AllocateENI)


def test_bad_destinations_are_refused() -> None:
    with pytest.raises(StateError, match="destination"):
        AllocateENI(0, 1, False, "SB1")  # type: ignore[arg-type]
    with pytest.raises(StateError, match="subnet"):
        ENIConfigSubnet("")
    with pytest.raises(StateError, match="security_groups"):
        ENIConfigSubnet("SB1", ("",))
    # The default destination is left out of the repr (the default configuration's).
    assert repr(AllocateENI(0, 2)) == "AllocateENI(network_card=0, count=2, prefixes=False)"


def test_documents_written_before_subnets_were_modelled_still_read() -> None:
    # A state whose JSON has no eni_config, no ENI subnet_id and no AllocateENI destination
    # (the format before this change) reads back as the same node: the defaults fill in.
    config = Config(warm_ip_target=12)
    step = reconcile(NodeState.boot(M5, config), config, 0.0)
    filled = IPsAllocated("eni-0", tuple(f"10.0.0.{n}" for n in range(5, 14)))
    state = reconcile(apply(step.state, filled, 0.1), config, 0.1).state  # the tick ends
    step = reconcile(state, config, 5.0)
    assert step.state.in_flight is not None  # the AllocateENI, with DiscoveredSubnet()
    doc = json.loads(to_json(step.state))
    del doc["eni_config"]
    for ds in doc["datastores"]:
        for eni in ds["enis"]:
            del eni["subnet_id"]
    del doc["in_flight"]["action"]["destination"]
    assert from_json(json.dumps(doc), NodeState) == step.state
