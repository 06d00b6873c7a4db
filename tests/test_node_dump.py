"""Importing a live node (``vpccni_model.node_dump``) and explaining what ipamd does next on
it (``vpccni_model.node_explain``). Expected counts and times are read off the fixtures by
hand (tests/data/README.md says where each comes from)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from vpccni_model import (
    AllocateENI,
    Config,
    ENIConfigSubnet,
    NodeState,
    ReleaseIPs,
    StateError,
    instance_limits,
    pool_stats,
    reconcile,
)
from vpccni_model.node_dump import (
    from_describe_network_interfaces,
    from_introspection,
    parse_time,
    read_node_dump,
)
from vpccni_model.node_explain import explain_node
from vpccni_model.serialize import from_json, to_json

DATA = Path(__file__).parent / "data"
M5 = instance_limits("m5.large")
PRIMARY = "eni-0f1e2d3c4b5a69780"
SECOND = "eni-05a4b3c2d1e0f9a8b"
#: The newest time in node-enis.json: coredns-85d5b4454c-ml29q's AssignedTime.
NEWEST = "2022-03-21T23:20:40.686935398Z"
PODS = {
    "kube-system/coredns-85d5b4454c-ml29q": "192.168.5.118",
    "kube-system/aws-load-balancer-controller-588487d8fc-tptns": "192.168.8.32",
    "kube-system/coredns-85d5b4454c-l9pwn": "192.168.12.15",
    "kube-system/aws-load-balancer-controller-588487d8fc-fcn4m": "192.168.16.112",
}


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def enis_doc() -> Any:
    return load("node-enis.json")


def field_of(excinfo: pytest.ExceptionInfo[StateError]) -> str:
    return excinfo.value.field


def cooling_count(state: NodeState) -> int:
    return pool_stats(state, state.clock).cooldown_ips


# -- the fixtures, by hand --------------------------------------------------------------------


def test_introspection_fixture_imports_to_its_counts() -> None:
    dump = from_introspection(enis_doc(), M5, Config())
    state = dump.state
    assert [e.eni_id for e in state.enis] == [PRIMARY, SECOND]
    assert [len(e.cidrs) for e in state.enis] == [9, 9]  # 9 /32s each: m5.large's 10 - 1
    assert all(not c.is_prefix for e in state.enis for c in e.cidrs)
    assert {pod: ref.address for pod, ref in state.pods.items()} == PODS
    assert state.primary_eni_id == PRIMARY
    # One address (192.168.20.7) was unassigned 9.44 s before now: cooling; 192.168.21.9
    # was unassigned at 23:05:12, a quarter of an hour earlier: not.
    assert cooling_count(state) == 1
    assert dump.wall(0.0) == "2022-03-21T23:20:40.686Z"
    assert dump.inferred_prefix_delegation is False
    assert dump.warnings == ()
    cooling = explain_node(dump).cooling
    assert [(c.address, c.eni_id) for c in cooling] == [("192.168.20.7", PRIMARY)]
    # 23:20:31.25 - 23:20:40.686935398 = -9.436935398 s; free after 30 s more.
    assert cooling[0].unassigned_at == pytest.approx(-9.436935398, abs=1e-9)
    assert cooling[0].free_after == pytest.approx(20.563064602, abs=1e-9)
    # No creation time is published: the primary ENI is as old as its oldest address time
    # (192.168.21.9, assigned 22:41:55), the other one a minimum lifetime old.
    assert state.enis[0].created_at == pytest.approx(-2325.686935398, abs=1e-9)
    assert state.enis[1].created_at == -60.0


def test_the_state_round_trips_and_checks() -> None:
    state = from_introspection(enis_doc(), M5, Config()).state
    state.check()
    assert from_json(to_json(state), NodeState) == state


def test_now_decides_what_is_cooling() -> None:
    # 192.168.20.7 was unassigned at 23:20:31.25: it cools while elapsed <= 30 s.
    at_30 = from_introspection(enis_doc(), M5, Config(), now="2022-03-21T23:21:01.25Z")
    assert cooling_count(at_30.state) == 1
    after = from_introspection(enis_doc(), M5, Config(), now="2022-03-21T23:21:02Z")
    assert cooling_count(after.state) == 0
    # Cooled, it is the lowest free entry: a new pod gets it (getUnusedIP reuses cooled ones).
    assert explain_node(after).new_pod.address == "192.168.20.7"
    assert explain_node(at_30).new_pod.address == "192.168.21.9"


def test_now_before_a_time_of_the_dump_names_it() -> None:
    with pytest.raises(StateError) as excinfo:
        from_introspection(enis_doc(), M5, Config(), now="2022-03-21T23:20:40Z")
    assert field_of(excinfo) == (
        f'$["0"].ENIs["{PRIMARY}"].AvailableIPv4Cidrs["192.168.5.118/32"]'
        '.IPAddresses["192.168.5.118"].AssignedTime'
    )


def test_checkpoint_supplies_the_pods() -> None:
    dump = from_introspection(enis_doc(), M5, Config(), checkpoint=load("ipam-pr1958.json"))
    assert {pod: ref.address for pod, ref in dump.state.pods.items()} == PODS
    assert dump.source == "introspection + checkpoint"
    assert cooling_count(dump.state) == 1  # the introspection's cooling entry stays
    assert dump.warnings == ()


def test_checkpoint_ip_in_no_cidr_is_dropped_with_a_warning() -> None:
    saved = load("ipam-pr1958.json")
    saved["allocations"][1]["ipv4"] = "10.9.9.9"
    dump = from_introspection(enis_doc(), M5, Config(), checkpoint=saved)
    assert len(dump.state.pods) == 3
    assert "kube-system/aws-load-balancer-controller-588487d8fc-fcn4m" not in dump.state.pods
    assert [(w.code, w.path) for w in dump.warnings] == [
        ("checkpoint-ip-unknown", "allocations[1].ipv4")
    ]


def test_checkpoint_of_another_version_is_refused() -> None:
    saved = load("ipam-pr1958.json")
    saved["version"] = "vpc-cni-ipam/2"
    with pytest.raises(StateError) as excinfo:
        from_introspection(enis_doc(), M5, Config(), checkpoint=saved)
    assert field_of(excinfo) == "version"


def test_describe_network_interfaces_fixture() -> None:
    doc = load("node-describe-enis.json")
    bare = from_describe_network_interfaces(doc, M5, Config())
    ds = bare.state.datastore(0)
    assert [e.eni_id for e in ds.enis] == [PRIMARY, SECOND]
    assert ds.unmanaged_enis == 1  # eni-0c9d8e7f6a5b4c3d2 is tagged no_manage
    assert [len(e.cidrs) for e in ds.enis] == [9, 9]  # the primary IPs are not pod addresses
    # Each ENI records its SubnetId (both live in the node's subnet in this capture).
    assert [e.subnet_id for e in ds.enis] == ["subnet-0c2a6f0e1b3d45a67"] * 2
    assert len(bare.state.pods) == 0
    assert [w.code for w in bare.warnings] == ["no-pods-known"]
    full = from_describe_network_interfaces(doc, M5, Config(), checkpoint=load("ipam-pr1958.json"))
    assert {pod: ref.address for pod, ref in full.state.pods.items()} == PODS
    assert full.warnings == ()
    assert cooling_count(full.state) == 0  # EC2 knows nothing of cooling
    # Now is the checkpoint's newest allocation; the primary was attached at 22:39:12.
    assert full.wall(0.0) == "2022-03-21T23:20:40.686Z"
    assert full.state.enis[0].created_at == pytest.approx(-2488.686935398, abs=1e-9)


def test_describe_reads_each_enis_subnet() -> None:
    doc = load("node-describe-enis.json")
    doc["NetworkInterfaces"][1]["SubnetId"] = "subnet-pods"  # a custom-networking ENI
    state = from_describe_network_interfaces(doc, M5, Config()).state
    assert [e.subnet_id for e in state.enis] == ["subnet-0c2a6f0e1b3d45a67", "subnet-pods"]
    del doc["NetworkInterfaces"][1]["SubnetId"]  # not in the capture: not known
    assert from_describe_network_interfaces(doc, M5, Config()).state.enis[1].subnet_id is None
    doc["NetworkInterfaces"][1]["SubnetId"] = 7
    with pytest.raises(StateError) as excinfo:
        from_describe_network_interfaces(doc, M5, Config())
    assert field_of(excinfo) == "NetworkInterfaces[1].SubnetId"
    # The round trip keeps the subnet ids.
    dumped = from_describe_network_interfaces(load("node-describe-enis.json"), M5, Config())
    assert from_json(to_json(dumped.state), NodeState) == dumped.state


def test_describe_of_two_instances_is_refused() -> None:
    doc = load("node-describe-enis.json")
    doc["NetworkInterfaces"][1]["Attachment"]["InstanceId"] = "i-0fedcba9876543210"
    with pytest.raises(StateError) as excinfo:
        from_describe_network_interfaces(doc, M5, Config())
    assert field_of(excinfo) == "NetworkInterfaces[1].Attachment.InstanceId"


def test_prefix_fixture_in_the_single_card_shape() -> None:
    doc = load("node-enis-prefix.json")
    dump = from_introspection(doc, M5, Config(prefix_delegation=True))
    state = dump.state
    assert dump.inferred_prefix_delegation is True
    assert dump.warnings == ()
    (eni,) = state.enis
    assert [c.key for c in eni.cidrs] == ["10.0.32.16/28", "10.0.47.224/28"]
    assert len(state.pods) == 3
    stats = pool_stats(state, 0.0)
    assert (stats.total_ips, stats.assigned_ips, stats.cooldown_ips) == (32, 3, 1)
    # 10.0.32.18 was unassigned at the newest time; 10.0.32.20 long before: cooled, reused.
    assert explain_node(dump).new_pod.address == "10.0.32.20"
    # The configuration says secondary IPs: the model follows it, and says so.
    other = from_introspection(doc, M5, Config())
    assert [w.code for w in other.warnings] == ["mode-mismatch"]


# -- what the model proceeds without ----------------------------------------------------------


def test_an_eni_of_an_unmanaged_card_is_left_out() -> None:
    doc = enis_doc()
    second = doc["0"]["ENIs"].pop(SECOND)
    doc["0"]["TotalIPs"] = 9  # what ipamd counts with card 0's ENI alone
    doc["1"] = {"TotalIPs": 9, "AssignedIPs": 0, "ENIs": {SECOND: second}}
    big = instance_limits("c6in.32xlarge")
    dump = from_introspection(doc, big, Config())
    assert [e.eni_id for e in dump.state.enis] == [PRIMARY]
    assert [(w.code, w.path) for w in dump.warnings] == [
        ("unmanaged-card", f'$["1"].ENIs["{SECOND}"]')
    ]
    managed = from_introspection(doc, big, Config(multi_nic=True))
    assert [e.network_card for e in managed.state.enis] == [0, 1]
    assert managed.warnings == ()


def test_totals_that_disagree_with_the_enis_warn() -> None:
    doc = enis_doc()
    doc["0"]["TotalIPs"] = 46  # issue #2041: ipamd's counter drifted
    dump = from_introspection(doc, M5, Config())
    assert [(w.code, w.path) for w in dump.warnings] == [("totals-differ", '$["0"]')]


def test_ipv6_cidrs_are_ignored_with_a_warning() -> None:
    doc = enis_doc()
    doc["0"]["ENIs"][SECOND]["IPv6Cidrs"] = {"2600:1f14::/80": {}}
    dump = from_introspection(doc, M5, Config())
    assert [w.code for w in dump.warnings] == ["ipv6-ignored"]


def test_a_pod_holding_two_addresses_is_kept_twice() -> None:
    doc = enis_doc()
    cidrs = doc["0"]["ENIs"][SECOND]["AvailableIPv4Cidrs"]
    entry = copy.deepcopy(
        doc["0"]["ENIs"][PRIMARY]["AvailableIPv4Cidrs"]["192.168.5.118/32"]["IPAddresses"][
            "192.168.5.118"
        ]
    )
    entry["Address"] = "192.168.2.201"
    cidrs["192.168.2.201/32"]["IPAddresses"] = {"192.168.2.201": entry}
    doc["0"]["AssignedIPs"] = 5
    dump = from_introspection(doc, M5, Config())
    assert [w.code for w in dump.warnings] == ["duplicate-pod"]
    assert dump.state.pods["kube-system/coredns-85d5b4454c-ml29q#192.168.2.201"].eni_id == SECOND


# -- what it cannot hold: errors name the field -----------------------------------------------


def _address(doc: Any) -> Any:
    cidr = doc["0"]["ENIs"][PRIMARY]["AvailableIPv4Cidrs"]["192.168.5.118/32"]
    return cidr["IPAddresses"]["192.168.5.118"]


BASE = f'$["0"].ENIs["{PRIMARY}"]'
CIDR = f'{BASE}.AvailableIPv4Cidrs["192.168.5.118/32"]'


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["0"]["ENIs"][PRIMARY].update(DeviceNumber=120), f"{BASE}.DeviceNumber"),
        (lambda d: d["0"]["ENIs"][PRIMARY].update(DeviceNumber="0"), f"{BASE}.DeviceNumber"),
        (lambda d: d["0"]["ENIs"][PRIMARY].pop("ID"), f"{BASE}.ID"),
        (lambda d: d["0"].pop("ENIs"), '$["0"].ENIs'),
        (lambda d: d.update(card={}), '$["card"]'),
        (
            lambda d: _address(d).update(AssignedTime="yesterday"),
            f'{CIDR}.IPAddresses["192.168.5.118"].AssignedTime',
        ),
        (
            lambda d: _address(d).update(Address="192.168.5.119"),
            f'{CIDR}.IPAddresses["192.168.5.118"].Address',
        ),
        (
            lambda d: d["0"]["ENIs"][PRIMARY]["AvailableIPv4Cidrs"]["192.168.5.118/32"][
                "Cidr"
            ].update(Mask="////8A=="),
            f"{CIDR}.Cidr.Mask",
        ),
        (
            lambda d: d["0"]["ENIs"][PRIMARY]["AvailableIPv4Cidrs"]["192.168.5.118/32"][
                "Cidr"
            ].update(IP="192.168.5.300"),
            f"{CIDR}.Cidr.IP",
        ),
        (lambda d: d["0"]["ENIs"][SECOND].update(IsPrimary=True), "IsPrimary"),
    ],
)
def test_a_bad_field_is_named(change: Any, field: str) -> None:
    doc = enis_doc()
    change(doc)
    with pytest.raises(StateError) as excinfo:
        from_introspection(doc, M5, Config())
    assert field_of(excinfo) == field


def test_the_shape_before_v1_9_is_named() -> None:
    # docs/troubleshooting.md of aws/amazon-vpc-cni-k8s shows this shape (ENIIPPools).
    old = {"AssignedIPs": 46, "ENIIPPools": {"eni-0248f7351c1dab6b4": {}}, "TotalIPs": 56}
    with pytest.raises(StateError, match=r"v1\.6 and older") as excinfo:
        from_introspection(old, M5, Config())
    assert field_of(excinfo) == "$.ENIIPPools"


def test_a_pod_without_a_namespace_keeps_its_name() -> None:
    doc = enis_doc()
    del _address(doc)["IPAMMetadata"]["k8sPodNamespace"]
    dump = from_introspection(doc, M5, Config())
    assert dump.state.pods["coredns-85d5b4454c-ml29q"].address == "192.168.5.118"


def test_a_node_too_big_for_the_instance_type_says_so() -> None:
    with pytest.raises(StateError, match=r"is --instance right\?"):
        from_introspection(enis_doc(), instance_limits("t3.nano"), Config())


def test_a_card_the_instance_lacks_is_named() -> None:
    doc = enis_doc()
    doc["1"] = {"ENIs": {SECOND: doc["0"]["ENIs"].pop(SECOND)}}
    with pytest.raises(StateError) as excinfo:
        from_introspection(doc, M5, Config())
    assert field_of(excinfo) == f'$["1"].ENIs["{SECOND}"]'


def test_files_name_themselves(tmp_path: Path) -> None:
    bad = tmp_path / "enis.json"
    bad.write_text("{not json")
    with pytest.raises(StateError, match="line 1, column 2") as excinfo:
        read_node_dump(bad, M5, Config())
    assert field_of(excinfo) == "node dump"
    doc = enis_doc()
    doc["0"]["ENIs"][PRIMARY]["DeviceNumber"] = -1
    bad.write_text(json.dumps(doc))
    with pytest.raises(StateError) as excinfo:
        read_node_dump(bad, M5, Config())
    assert field_of(excinfo) == f"{bad}: {BASE}.DeviceNumber"
    with pytest.raises(StateError, match="pass it as --checkpoint"):
        read_node_dump(DATA / "ipam-pr1958.json", M5, Config())


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:01.5Z", 1_500_000_000),
        ("2022-03-21T23:20:40.686935398Z", 1647904840686935398),  # = the checkpoint's stamp
        ("1970-01-01T01:00:00+01:00", 0),
        ("0001-01-01T00:00:00Z", None),  # Go's zero time: unset
    ],
)
def test_go_times(text: str, ns: int | None) -> None:
    assert parse_time(text, "t") == ns


# -- what ipamd does next ---------------------------------------------------------------------


def test_next_tick_releases_down_to_the_ip_targets() -> None:
    config = Config(warm_ip_target=2, minimum_ip_target=4)
    node = explain_node(from_introspection(enis_doc(), M5, config))
    released = [ip for a in node.actions if isinstance(a, ReleaseIPs) for ip in a.addresses]
    # 18 addresses, 4 assigned; the pool keeps max(4 + 2, 4) = 6: 12 go, none of them a pod's.
    assert len(released) == 12
    assert not set(released) & set(PODS.values())
    assert node.new_pod.code == "gets-address"


def _tiny(cidrs: dict[str, Any], eni_id: str = "eni-1", device: int = 0) -> dict[str, Any]:
    return {
        "ID": eni_id,
        "IsPrimary": device == 0,
        "DeviceNumber": device,
        "AvailableIPv4Cidrs": cidrs,
    }


def _slash32(ip: str, pod: str | None = None, unassigned: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"Address": ip}
    if pod is not None:
        entry["IPAMKey"] = {"networkName": "aws-cni"}
        entry["IPAMMetadata"] = {"k8sPodNamespace": "default", "k8sPodName": pod}
        entry["AssignedTime"] = "2025-01-01T00:00:00Z"
    if unassigned is not None:
        entry["AssignedTime"] = "2025-01-01T00:00:00Z"
        entry["UnassignedTime"] = unassigned
    return {
        f"{ip}/32": {
            "Cidr": {"IP": ip, "Mask": "/////w=="},
            "IPAddresses": {ip: entry},
            "IsPrefix": False,
        }
    }


NANO = instance_limits("t3.nano")  # 2 ENIs x 2 addresses: one /32 per ENI


def test_a_pod_waits_for_a_cooling_address() -> None:
    doc = {"ENIs": {"eni-1": _tiny(_slash32("10.0.0.5", unassigned="2025-01-01T00:00:10Z"))}}
    node = explain_node(from_introspection(doc, NANO, Config(), now="2025-01-01T00:00:20Z"))
    assert node.new_pod.code == "all-free-cooling"
    assert node.cooling[0].free_after == 20.0  # unassigned 10 s ago, 30 s cooldown


def test_a_pod_waits_for_the_pool_to_grow() -> None:
    doc = {"ENIs": {"eni-1": _tiny(_slash32("10.0.0.5", pod="a"))}}
    node = explain_node(from_introspection(doc, NANO, Config()))
    assert node.new_pod.code == "pool-growing"  # WARM_ENI_TARGET=1 wants an ENI more
    assert node.actions


def test_a_pod_waits_at_the_eni_limit() -> None:
    doc = {
        "ENIs": {
            "eni-1": _tiny(_slash32("10.0.0.5", pod="a")),
            "eni-2": _tiny(_slash32("10.0.0.9", pod="b"), "eni-2", 1),
        }
    }
    node = explain_node(from_introspection(doc, NANO, Config()))
    assert node.actions == ()
    assert node.new_pod.code == "eni-limit"


def test_a_pod_waits_at_max_pods() -> None:
    doc = {"ENIs": {"eni-1": _tiny(_slash32("10.0.0.5", pod="a"))}}
    node = explain_node(from_introspection(doc, NANO, Config(max_pods=1)))
    assert node.new_pod.code == "max-pods"


def test_json_of_the_explanation_is_plain_data() -> None:
    node = explain_node(from_introspection(enis_doc(), M5, Config()))
    doc = json.loads(json.dumps(node.to_dict()))
    assert doc["now"] == "2022-03-21T23:20:40.686Z"
    assert doc["cards"][0]["total_ips"] == 18
    assert doc["cooling"][0]["free_after_time"] == "2022-03-21T23:21:01.250Z"
    assert doc["new_pod"] == {
        "code": "gets-address",
        "message": f"gets 192.168.21.9 on {PRIMARY} at once",
        "address": "192.168.21.9",
        "eni_id": PRIMARY,
    }
    assert attrs.asdict(node.new_pod) == doc["new_pod"]


def test_a_simulated_node_can_start_from_an_imported_state() -> None:
    from vpccni_model import ConfigError
    from vpccni_model.sim import NodeSpec, SimulationSpec, simulate
    from vpccni_model.sim.workloads import Constant

    state = from_introspection(enis_doc(), M5, Config()).state
    node = NodeSpec("live", M5, Config(), initial_state=state)
    spec = SimulationSpec(
        nodes=(node,), workload=Constant(0), duration=60.0, subnets=(("s", "192.168.0.0/16"),)
    )
    result = simulate(spec)
    assert result.summary.pods_started == 0
    with pytest.raises(ConfigError, match=r"is not a t3\.nano"):
        NodeSpec("live", NANO, Config(), initial_state=state)
    with pytest.raises(ConfigError):  # not the boot configuration
        NodeSpec("live", M5, Config(warm_ip_target=3), initial_state=state)


def test_an_unmanaged_eni_counts_on_its_own_card() -> None:
    doc = load("node-describe-enis.json")
    doc["NetworkInterfaces"][2]["Attachment"].update(NetworkCardIndex=1, DeviceIndex=0)
    big = instance_limits("c6in.32xlarge")
    multi = from_describe_network_interfaces(doc, big, Config(multi_nic=True)).state
    assert [ds.unmanaged_enis for ds in multi.datastores] == [0, 1]
    single = from_describe_network_interfaces(doc, big, Config()).state
    assert [ds.unmanaged_enis for ds in single.datastores] == [0]


def test_a_custom_networking_dump_is_explained_as_having_its_eniconfig() -> None:
    # The dump cannot show the node's ENIConfig; its secondary ENI says which subnet it names.
    doc = load("node-describe-enis.json")
    doc["NetworkInterfaces"][1]["SubnetId"] = "subnet-pods"
    del doc["NetworkInterfaces"][2]  # the no_manage ENI: leaves room for a third ENI
    config = Config(custom_networking=True, warm_ip_target=20)
    dump = from_describe_network_interfaces(doc, M5, config)
    assert dump.state.eni_config is None  # not in the dump
    # 18 IPs, no pods, W=20: short 2. The primary is skipped (1.5.1) and the other ENI is
    # full (9 = S): a new ENI with min(2, 9) IPs, in the subnet the secondary ENI is in.
    destination = ENIConfigSubnet("subnet-pods", (), exclusion_check=True)
    assert explain_node(dump).actions == (AllocateENI(0, 2, False, destination),)
    # Taken as it is (no ENIConfig), the node would create nothing.
    assert reconcile(dump.state, config, dump.state.clock).actions == ()
