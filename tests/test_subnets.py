"""Subnet tags, subnet discovery and the ENIConfig subnet, in the rules and in FakeEC2.

Expected values follow pkg/awsutils/awsutils.go: ``isSubnetValidForENICreation``,
``IsSubnetExcluded``, ``ValidSubnetTagsMatchingClusterName``, ``GetVpcSubnets`` (sorted by
``AvailableIpAddressCount``, descending) and ``createENI`` (one CreateNetworkInterface per
eligible subnet until one succeeds; spec 1.5.7, 6.4).
"""

from __future__ import annotations

import pytest

from vpccni_model import (
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    AllocationFailed,
    Config,
    DiscoveredSubnet,
    Ec2Error,
    ENIAttached,
    ENIConfig,
    ENIConfigSubnet,
    FreeENI,
    InstanceLimits,
    MetadataObserved,
    NodeState,
    ObservedENI,
    PrimarySubnet,
    apply,
    reconcile,
    subnet_eligible,
    subnet_excluded,
)
from vpccni_model._errors import StateError
from vpccni_model.cloud import CREATE, FakeEC2, Latency
from vpccni_model.serialize import from_json, to_json

ROLE = "kubernetes.io/role/cni"
MINE = "cni.networking.k8s.aws/cluster/mine"
THEIRS = "cni.networking.k8s.aws/cluster/theirs"
LIMITS = InstanceLimits(name="test.wide", max_enis=3, ipv4_per_eni=10)  # S = 9


# -- the tag rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "is_primary", "cluster", "eligible", "excluded"),
    [
        # Untagged: only the primary subnet is eligible (backwards compatibility); never excluded.
        ({}, True, "", True, False),
        ({}, False, "", False, False),
        # An empty tag value reads as no tag (getTagValue returns "").
        ({ROLE: ""}, False, "", False, False),
        # role/cni = 0: never eligible, always excluded, primary or not.
        ({ROLE: "0"}, True, "", False, True),
        ({ROLE: "0", MINE: "1"}, False, "mine", False, True),
        # role/cni set: eligible; any value but "0" counts, "1" is only the convention.
        ({ROLE: "1"}, False, "", True, False),
        ({ROLE: "yes"}, False, "mine", True, False),
        # Cluster tags: only another cluster's -> ineligible and excluded; ours among them -> ok.
        ({ROLE: "1", THEIRS: "1"}, False, "mine", False, True),
        ({ROLE: "1", THEIRS: "1", MINE: "1"}, False, "mine", True, False),
        ({ROLE: "1", MINE: ""}, False, "mine", True, False),
        # CLUSTER_NAME unset: cluster tags are not checked.
        ({ROLE: "1", THEIRS: "1"}, False, "", True, False),
        # No role tag: cluster tags do not matter (the primary is in, others out; none excluded).
        ({THEIRS: "1"}, True, "mine", True, False),
        ({THEIRS: "1"}, False, "mine", False, False),
    ],
)
def test_subnet_tag_rules(
    tags: dict[str, str], is_primary: bool, cluster: str, eligible: bool, excluded: bool
) -> None:
    assert subnet_eligible(tags, is_primary, cluster) is eligible
    assert subnet_excluded(tags, cluster) is excluded


# -- subnet discovery in FakeEC2 -------------------------------------------------------------


def fake(
    subnets: dict[str, str],
    tags: dict[str, dict[str, str]] | None = None,
    zones: dict[str, str] | None = None,
    *,
    primary: str = "node",
    cluster: str = "",
    prefix: bool = False,
) -> FakeEC2:
    ec2 = FakeEC2(subnets=subnets, subnet_tags=tags, subnet_zones=zones, latency=Latency.zero())
    state = NodeState.boot(LIMITS, Config(prefix_delegation=prefix))
    ec2.boot_node("n", state, primary, security_groups=("sg-node",), cluster_name=cluster)
    return ec2


def test_discovery_ranks_eligible_subnets_by_free_addresses() -> None:
    ec2 = fake(
        {
            "node": "10.0.0.0/24",  # untagged primary: eligible, 250 free after the primary
            "big": "10.1.0.0/22",  # tagged: 1019 free
            "small": "10.2.0.0/26",  # tagged: 59 free
            "untagged": "10.3.0.0/20",  # not the primary, no tag: never used
            "off": "10.4.0.0/20",  # role/cni = 0
            "theirs": "10.5.0.0/20",  # another cluster's
            "elsewhere": "10.6.0.0/20",  # tagged, another zone
        },
        {
            "big": {ROLE: "1"},
            "small": {ROLE: "1", MINE: "1"},
            "off": {ROLE: "0"},
            "theirs": {ROLE: "1", THEIRS: "1"},
            "elsewhere": {ROLE: "1"},
        },
        {name: "az-a" for name in ("node", "big", "small", "untagged", "off", "theirs")}
        | {"elsewhere": "az-b"},
        cluster="mine",
    )
    assert ec2.discovery_order("n") == ("big", "node", "small")
    event = ec2.execute(AllocateENI(0, 9, False, DiscoveredSubnet()), node="n")
    assert isinstance(event, ENIAttached)
    assert event.subnet_id == "big"
    # The primary IP and the 9 secondaries came from "big" (its 5th address first).
    assert event.ips[0] == "10.1.0.5"
    # A /22 has 62 wholly usable /28 blocks (the first holds the reserved .0-.3, the last the
    # broadcast); the new addresses .4-.13 sit in the first, so none is lost.
    assert ec2.subnet_free("big") == (1019 - 10, 62)
    assert ec2.subnet_free("node") == (250, 14)


def test_discovery_ties_keep_the_subnet_name_order() -> None:
    ec2 = fake(
        {"node": "10.0.0.0/26", "b": "10.1.0.0/24", "a": "10.2.0.0/24"},
        {"a": {ROLE: "1"}, "b": {ROLE: "1"}},
    )
    # a and b both have 251 free: DescribeSubnets' order, by name for the fake.
    assert ec2.discovery_order("n") == ("a", "b", "node")


def test_discovery_falls_through_to_the_next_subnet_on_insufficient_addresses() -> None:
    # PD: "wide" has the most free addresses but no wholly free /28, so its create fails with
    # InsufficientCidrBlocks and createENI goes on to the next eligible subnet.
    ec2 = fake({"node": "10.0.0.0/26", "wide": "10.1.0.0/24"}, {"wide": {ROLE: "1"}}, prefix=True)
    # An ENI registered elsewhere holds one address in each of wide's 14 whole blocks.
    pinned = {(10 << 24) + (1 << 16) + base for base in range(16, 240, 16)}
    ec2.register_eni("eni-x", 0, 1, ips=pinned, node="n", subnet="wide")
    assert ec2.subnet_free("wide") == (251 - 14 - 1, 0)
    assert ec2.subnet_free("node") == (58, 2)  # a /26: .16/28 and .32/28 are whole
    assert ec2.discovery_order("n") == ("wide", "node")
    event = ec2.execute(AllocateENI(0, 1, True, DiscoveredSubnet()), node="n")
    assert event == ENIAttached("eni-1", 2, 0, prefixes=("10.0.0.16/28",), subnet_id="node")
    assert ec2.stats.api[CREATE] == {"ok": 1, "failed": 1, "throttled": 0}
    # Nowhere left: every subnet tried, the last error stands.
    ec2.execute(AllocatePrefixes("eni-1", 1), node="n")  # node's last block
    event = ec2.execute(AllocateENI(0, 1, True, DiscoveredSubnet()), node="n")
    assert event == AllocationFailed(Ec2Error.INSUFFICIENT_CIDR_BLOCKS)
    assert ec2.stats.api[CREATE] == {"ok": 1, "failed": 3, "throttled": 0}


def test_discovery_with_no_eligible_subnet_makes_no_call() -> None:
    ec2 = fake({"node": "10.0.0.0/24", "other": "10.1.0.0/24"}, {"node": {ROLE: "0"}})
    assert ec2.discovery_order("n") == ()
    calls = ec2.calls.total()
    event = ec2.execute(AllocateENI(0, 1, False, DiscoveredSubnet()), node="n")
    assert event == AllocationFailed(Ec2Error.NO_ELIGIBLE_SUBNET)
    assert ec2.calls.total() == calls


def test_primary_subnet_destination_refuses_an_excluded_primary_subnet() -> None:
    ec2 = fake({"node": "10.0.0.0/24", "pods": "10.1.0.0/24"}, {"pods": {ROLE: "1"}})
    # Discovery off: the primary subnet, even when a tagged subnet has more room.
    event = ec2.execute(AllocateENI(0, 1, False, PrimarySubnet()), node="n")
    assert isinstance(event, ENIAttached) and event.subnet_id == "node"
    ec2 = fake({"node": "10.0.0.0/24"}, {"node": {ROLE: "0"}})
    event = ec2.execute(AllocateENI(0, 1, False, PrimarySubnet()), node="n")
    assert event == AllocationFailed(Ec2Error.NO_ELIGIBLE_SUBNET)


# -- the ENIConfig subnet --------------------------------------------------------------------


def test_the_eniconfig_subnet_holds_the_eni_and_its_addresses() -> None:
    ec2 = fake({"node": "10.0.0.0/24", "pods": "100.64.0.0/24"})
    node_before = ec2.subnet_free("node")
    # No tag needed: custom networking checks no eligibility.
    destination = ENIConfigSubnet("pods", ("sg-pods",), exclusion_check=True)
    event = ec2.execute(AllocateENI(0, 3, False, destination), node="n")
    assert event == ENIAttached(
        "eni-1",
        1,
        0,
        ips=("100.64.0.5", "100.64.0.6", "100.64.0.7"),
        subnet_id="pods",
    )
    assert ec2.subnet_free("node") == node_before
    assert ec2.subnet_free("pods") == (251 - 4, 14)  # primary .4 and the three secondaries
    # Grown later, the ENI keeps drawing from its own subnet.
    grown = ec2.execute(AllocateIPs("eni-1", 2), node="n")
    assert grown is not None and grown.ips == ("100.64.0.8", "100.64.0.9")  # type: ignore[union-attr]
    assert ec2.stats.subnets["pods"].free_addresses == 251 - 6
    assert ec2.stats.subnets["node"].free_addresses == node_before[0]
    # Freed, every address goes back to "pods".
    ec2.execute(FreeENI("eni-1"), node="n")
    assert ec2.subnet_free("pods") == (251, 14)
    # The observed ENI says where it lives.
    assert [o.subnet_id for o in ec2.observe("n")] == ["node"]


def test_eniconfig_security_groups_fall_back_to_the_primary_enis() -> None:
    ec2 = fake({"node": "10.0.0.0/24", "pods": "100.64.0.0/24"})
    ec2.execute(AllocateENI(0, 1, False, ENIConfigSubnet("pods", ("sg-a", "sg-b"))), node="n")
    ec2.execute(AllocateENI(0, 1, False, ENIConfigSubnet("pods", ())), node="n")
    groups = {e.eni_id: e.security_groups for e in ec2._enis.values()}
    assert groups == {
        "eni-0": ("sg-node",),
        "eni-1": ("sg-a", "sg-b"),
        "eni-2": ("sg-node",),  # createENIUsingCustomCfg: an empty list keeps the primary's
    }


def test_an_eni_in_an_excluded_eniconfig_subnet_is_marked_excluded_with_discovery_on() -> None:
    ec2 = fake({"node": "10.0.0.0/24", "pods": "100.64.0.0/24"}, {"pods": {ROLE: "0"}})
    # setupENI marks it (IsSubnetExcluded) only when subnet discovery is on.
    marked = ec2.execute(AllocateENI(0, 1, False, ENIConfigSubnet("pods")), node="n")
    assert isinstance(marked, ENIAttached) and marked.is_excluded
    assert ec2.describe("eni-1").is_excluded  # type: ignore[union-attr]
    plain = ENIConfigSubnet("pods", exclusion_check=False)
    unmarked = ec2.execute(AllocateENI(0, 1, False, plain), node="n")
    assert isinstance(unmarked, ENIAttached) and not unmarked.is_excluded


def test_an_unknown_eniconfig_subnet_fails_the_create() -> None:
    ec2 = fake({"node": "10.0.0.0/24"})
    event = ec2.execute(AllocateENI(0, 1, False, ENIConfigSubnet("subnet-typo")), node="n")
    assert event == AllocationFailed(Ec2Error.SUBNET_NOT_FOUND)
    assert ec2.stats.api[CREATE]["failed"] == 1


def test_a_custom_networking_node_takes_pod_addresses_from_the_eniconfig_subnet() -> None:
    # The whole loop: reconcile -> FakeEC2 -> apply; pods land on the pod subnet's addresses.
    config = Config(custom_networking=True, warm_ip_target=2)
    ec2 = FakeEC2(subnets={"node": "10.0.0.0/24", "pods": "100.64.0.0/24"})
    state = NodeState.boot(LIMITS, config, eni_config=ENIConfig("az", "pods"))
    ec2.boot_node("n", state)
    step = reconcile(state, config, 0.0)
    (action,) = step.actions
    event = ec2.execute(action, node="n")
    state = apply(step.state, event, 0.5)  # type: ignore[arg-type]
    eni = state.find_eni("eni-1")
    assert eni is not None and eni.subnet_id == "pods"
    assert [c.key for c in eni.cidrs] == ["100.64.0.5/32", "100.64.0.6/32"]
    assert ec2.subnet_free("node") == (250, 14)


def test_bad_subnet_setup_is_refused() -> None:
    with pytest.raises(StateError, match="subnet_tags"):
        FakeEC2(subnets={"a": "10.0.0.0/24"}, subnet_tags={"b": {ROLE: "1"}})
    with pytest.raises(StateError, match="subnet_tags"):
        FakeEC2(subnets={"a": "10.0.0.0/24"}, subnet_tags={"a": {ROLE: 1}})  # type: ignore[dict-item]
    with pytest.raises(StateError, match="subnet_zones"):
        FakeEC2(subnets={"a": "10.0.0.0/24"}, subnet_zones={"a": 1})  # type: ignore[dict-item]
    ec2 = FakeEC2(subnets={"a": "10.0.0.0/24"})
    with pytest.raises(StateError, match="cluster_name"):
        ec2.register_node("n", LIMITS, cluster_name=None)  # type: ignore[arg-type]
    with pytest.raises(StateError, match="security_groups"):
        ec2.register_node("n", LIMITS, security_groups=["sg"])  # type: ignore[arg-type]


def test_subnet_ids_round_trip_in_states_and_events() -> None:
    config = Config(custom_networking=True)
    ec2 = FakeEC2(subnets={"node": "10.0.0.0/24", "pods": "100.64.0.0/24"})
    state = NodeState.boot(LIMITS, config, eni_config=ENIConfig("az", "pods", ("sg-1",)))
    ec2.boot_node("n", state)
    step = reconcile(state, config, 0.0)
    event = ec2.execute(step.actions[0], node="n")
    assert isinstance(event, ENIAttached) and event.subnet_id == "pods"
    state = apply(step.state, event, 0.5)
    assert from_json(to_json(state), NodeState) == state
    assert '"subnet_id":"pods"' in to_json(state)
    assert from_json(to_json(event), ENIAttached) == event
    (observed,) = [o for o in ec2.observe("n") if o.eni_id == "eni-1"]
    assert observed.subnet_id == "pods"
    assert from_json(to_json(observed), ObservedENI) == observed
    # An observed ENI new to the datastore keeps its subnet.
    fresh = NodeState.boot(LIMITS, config, eni_config=ENIConfig("az", "pods"))
    seen = apply(fresh, MetadataObserved(ec2.observe("n")), 60.0)
    assert [e.subnet_id for e in seen.enis] == [None, "pods"]  # the booted primary: not known
    with pytest.raises(StateError, match="subnet_id"):
        ENIAttached("eni-9", 1, subnet_id="")
    with pytest.raises(StateError, match="subnet_id"):
        ObservedENI("eni-9", 1, subnet_id=3)  # type: ignore[arg-type]
