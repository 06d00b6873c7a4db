"""Max pods as the EKS tools compute it (``_maxpods``), checked by hand against the formulas."""

from __future__ import annotations

import csv
import dataclasses
import importlib.resources
import io
import itertools
from typing import Any

import pytest

import vpccni_model as vm
from vpccni_model._errors import ConfigError


def test_catalog_carries_specs_where_listed() -> None:
    m5 = vm.instance_limits("m5.large")
    assert (m5.vcpus, m5.memory_mib, m5.arch, m5.branch_enis) == (2, 8192, "amd64", 9)
    mac = vm.instance_limits("mac1.metal")  # not in instance_specs.csv
    assert mac.vcpus is None and mac.branch_enis is None


def test_calculator_by_hand() -> None:
    m5 = vm.instance_limits("m5.large")  # 3 ENIs x 10 IPv4, 2 vCPUs
    assert vm.calculator_max_pods(m5) == 3 * 9 + 2
    # 3 * 9 * 16 + 2 = 434, capped at 110 (2 vCPUs <= 30)
    assert vm.calculator_max_pods(m5, prefix_delegation=True) == 110
    assert vm.calculator_max_pods(m5, prefix_delegation=True, show_max_allowed=True) == 434
    assert vm.calculator_max_pods(m5, prefix_delegation=True, cni_version="1.8.0") == 29
    assert vm.calculator_max_pods(m5, custom_networking=True, max_eni=2) == 1 * 9 + 2


def test_bare_metal_prefixes_are_not_counted_by_the_calculator() -> None:
    metal = vm.instance_limits("c5.metal")  # no hypervisor given; ipamd would use prefixes
    assert metal.supports_prefix_delegation
    expected = metal.max_enis * (metal.ipv4_per_eni - 1) + 2
    assert vm.calculator_max_pods(metal, prefix_delegation=True, show_max_allowed=True) == expected


def test_unknown_vcpus_is_a_clear_error() -> None:
    with pytest.raises(ConfigError) as info:
        vm.calculator_max_pods(vm.instance_limits("mac1.metal"))
    assert info.value.field == "vcpus"
    assert vm.calculator_max_pods(vm.instance_limits("mac1.metal"), vcpus=12) == 110


def test_node_default_equals_the_published_file() -> None:
    assert (
        vm.published_max_pods("m5.large")
        == vm.node_default_max_pods(vm.instance_limits("m5.large"))
        == 29
    )
    assert vm.published_max_pods("no.such") is None


# --- the calculator's own test vectors and the EKS user guide's examples ---------------------


@pytest.mark.parametrize(
    ("instance", "flags", "expected"),
    [
        # amazon-eks-ami templates/test/cases at 0ab842803d82 (mocked DescribeInstanceTypes).
        ("c6in.32xlarge", {"cni_version": "1.18.0", "show_max_allowed": True}, 394),
        ("m5.8xlarge", {"cni_version": "1.11.2", "prefix_delegation": True}, 250),
        ("m5.8xlarge", {"cni_version": "1.11.2"}, 234),
        ("m4.xlarge", {"cni_version": "1.7.5"}, 58),
        # The EKS user guide's examples (CNI 1.9.0-eksbuild.1).
        ("m5.large", {"cni_version": "1.9.0-eksbuild.1"}, 29),
        ("m5.large", {"cni_version": "1.9.0-eksbuild.1", "prefix_delegation": True}, 110),
        ("m5.large", {"cni_version": "1.9.0-eksbuild.1", "custom_networking": True}, 20),
    ],
)
def test_published_calculator_examples(instance: str, flags: dict[str, Any], expected: int) -> None:
    assert vm.calculator_max_pods(vm.instance_limits(instance), **flags) == expected


# --- the whole catalog against a literal transcription of the script ------------------------


def _data(name: str) -> str:
    return (importlib.resources.files("vpccni_model") / "data" / name).read_text(encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class Described:
    """What ``aws ec2 describe-instance-types`` gives the script, rebuilt from the raw CSVs."""

    network_cards: list[int]  # MaximumNetworkInterfaces by position in NetworkCards
    default_card: int
    ipv4_per_interface: int
    hypervisor: str
    cpu_count: int | None


def described_types() -> dict[str, Described]:
    rows = csv.DictReader(io.StringIO(_data("instance_specs.csv")))
    specs = {row["instance_type"]: row for row in rows}
    found = {}
    for row in csv.DictReader(io.StringIO(_data("instance_limits.csv"))):
        name = row["instance_type"]
        cards = [int(item.split(":")[1]) for item in row["network_cards"].split(";")]
        if name in specs:
            hypervisor, cpus = specs[name]["hypervisor"], int(specs[name]["vcpus"])
        else:  # ipamd's generator writes "unknown" where EC2 gives no hypervisor
            hypervisor, cpus = row["hypervisor"].replace("unknown", ""), None
        found[name] = Described(
            cards, int(row["default_network_card"]), int(row["ipv4_per_eni"]), hypervisor, cpus
        )
    return found


def script(
    d: Described,
    cni_version: str,
    prefix_delegation: bool,
    custom_networking: bool,
    max_eni: int | None,
    show_max_allowed: bool,
) -> int | None:
    """max-pods-calculator.sh line by line; None where it would need a CPU count it lacks."""
    version_split = cni_version.split(".")
    major, minor = int(version_split[0]), int(version_split[1])
    pd_supported = major > 1 or (major == 1 and minor > 8)
    is_nitro = d.hypervisor == "nitro"
    instance_max_enis = d.network_cards[d.default_card]
    if max_eni is None:
        enis_for_pods = instance_max_enis
    else:
        enis_for_pods = sorted([max_eni, instance_max_enis])[0]
    if custom_networking:
        enis_for_pods = enis_for_pods - 1
    if is_nitro and prefix_delegation and pd_supported:
        max_pods = enis_for_pods * ((d.ipv4_per_interface - 1) * 16) + 2
    else:
        max_pods = enis_for_pods * (d.ipv4_per_interface - 1) + 2
    if show_max_allowed:
        return max_pods
    if d.cpu_count is None:
        return None
    if d.cpu_count > 30:
        return sorted([250, max_pods])[0]
    return sorted([110, max_pods])[0]


CNI_VERSIONS = ("1.7.5", "1.8.0", "1.9.0", "1.10.0", "1.23.1", "2.0.0")


def test_calculator_matches_the_script_for_every_type_and_flag() -> None:
    described = described_types()
    table = vm.catalog()
    assert sorted(described) == sorted(table)
    checked = 0
    mismatches = []
    for name, d in described.items():
        limits = table[name]
        enis = d.network_cards[d.default_card]
        for max_eni in dict.fromkeys((None, 1, 2, enis, enis + 1)):
            for pd, cn, show, version in itertools.product(
                (False, True), (False, True), (False, True), CNI_VERSIONS
            ):
                expected = script(d, version, pd, cn, max_eni, show)
                kwargs: dict[str, Any] = {
                    "cni_version": version,
                    "prefix_delegation": pd,
                    "custom_networking": cn,
                    "max_eni": max_eni,
                    "show_max_allowed": show,
                }
                try:
                    got: int | None = vm.calculator_max_pods(limits, **kwargs)
                except ConfigError as exc:
                    assert exc.field == "vcpus"
                    got = None
                checked += 1
                if got != expected:
                    mismatches.append((name, kwargs, got, expected))
    assert mismatches == []
    assert checked > 1391 * 2 * 2 * 2 * 6 * 4


def test_report_carries_the_script_figures_for_every_type() -> None:
    """The report's recommendation and max allowed are the script's (default CNI version)."""
    described = described_types()
    mismatches = []
    for name, limits in vm.catalog().items():
        d = described[name]
        for pd, cn in itertools.product((False, True), (False, True)):
            report = vm.max_pods_report(limits, prefix_delegation=pd, custom_networking=cn)
            expected = (
                script(d, "1.23.1", pd, cn, None, False),
                script(d, "1.23.1", pd, cn, None, True),
            )
            if (report.calculator_recommended, report.calculator_max_allowed) != expected:
                mismatches.append((name, pd, cn))
            if (report.calculator_recommended is None) != (d.cpu_count is None):
                mismatches.append((name, "unavailable"))
    assert mismatches == []


def test_node_default_is_the_published_file_or_the_formula_for_every_type() -> None:
    published = {}
    for line in _data("eni-max-pods.txt").splitlines():
        if line and not line.startswith("#"):
            name, value = line.split()
            published[name] = int(value)
    assert len(published) == 1197
    described = described_types()
    for name, limits in vm.catalog().items():
        d = described[name]
        formula = d.network_cards[d.default_card] * (d.ipv4_per_interface - 1) + 2
        if name in published:
            assert vm.node_default_max_pods(limits) == published[name] == formula, name
            assert vm.node_default_source(limits) == "eni-max-pods.txt"
        else:
            assert vm.node_default_max_pods(limits) == formula, name
            assert vm.node_default_source(limits) == "nodeadm formula"


def test_calculator_vcpu_ceiling_boundary() -> None:
    p3dn = vm.instance_limits("p3dn.24xlarge")  # 15 x 49 x 16 + 2 = 11762 with prefixes
    assert vm.calculator_max_pods(p3dn, prefix_delegation=True, vcpus=30) == 110
    assert vm.calculator_max_pods(p3dn, prefix_delegation=True, vcpus=31) == 250
    assert (vm.vcpu_ceiling(1), vm.vcpu_ceiling(30), vm.vcpu_ceiling(31)) == (110, 110, 250)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.9.0", (1, 9)), ("1.23", (1, 23)), ("v1.18.3-eksbuild.1", (1, 18)), ("2.0.0", (2, 0))],
)
def test_cni_versions_parse(text: str, expected: tuple[int, int]) -> None:
    assert vm.parse_cni_version(text) == expected


@pytest.mark.parametrize("text", ["", "1", "abc", "1.x", "1.9.0 ", None])
def test_bad_cni_versions_are_config_errors(text: object) -> None:
    with pytest.raises(ConfigError) as info:
        vm.calculator_max_pods(vm.instance_limits("m5.large"), cni_version=text)  # type: ignore[arg-type]
    assert info.value.field == "cni_version"


# --- ipamd's addressable pod IPs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance", "settings", "expected"),
    [
        ("m5.large", {}, 3 * 9),
        ("m5.large", {"prefix_delegation": True}, 3 * 9 * 16),
        ("m5.large", {"custom_networking": True}, (3 - 1) * 9),
        ("m5.large", {"custom_networking": True, "max_eni": 2}, (2 - 1) * 9),
        ("m5.large", {"pod_eni": True}, (3 - 1) * 9),  # one slot kept for the trunk ENI
        ("m5.large", {"pod_eni": True, "custom_networking": True}, (3 - 1 - 1) * 9),
        ("m5.large", {"pod_eni": True, "custom_networking": True, "max_eni": 1}, 0),
        ("t2.micro", {"prefix_delegation": True}, 2 * 1),  # xen: falls back to secondary IPs
        ("c5.metal", {"prefix_delegation": True}, 15 * 49 * 16),  # bare metal delegates
        ("p4d.24xlarge", {}, 15 * 49),  # cards above 0 unused without multi-NIC
        ("p4d.24xlarge", {"multi_nic": True}, 4 * 15 * 49),
        ("p4d.24xlarge", {"multi_nic": True, "pod_eni": True}, 4 * 15 * 49 - 49),
        ("p4d.24xlarge", {"multi_nic": True, "max_eni": 2}, 4 * 2 * 49),  # MAX_ENI per card
    ],
)
def test_ipamd_pod_addresses_by_hand(
    instance: str, settings: dict[str, Any], expected: int
) -> None:
    limits = vm.instance_limits(instance)
    assert vm.ipamd_pod_addresses(limits, vm.Config(**settings)) == expected


@pytest.mark.parametrize(
    ("instance", "settings"),
    [
        ("t3.small", {}),
        ("t3.small", {"prefix_delegation": True, "warm_prefix_target": 1}),
        ("m5.large", {"custom_networking": True}),
        ("m5.large", {"pod_eni": True, "max_eni": 2}),
        ("c6in.32xlarge", {"multi_nic": True, "max_eni": 2}),
    ],
)
def test_ipamd_pod_addresses_is_what_the_simulated_pool_reaches(
    instance: str, settings: dict[str, Any]
) -> None:
    """The core, driven to saturation with a max pods it never hits, places exactly as many."""
    limits = vm.instance_limits(instance)
    config = vm.Config(max_pods=100_000, **settings)
    capacity = vm.ipamd_pod_addresses(limits, config)
    settled = vm.steady_state(limits, config, pods=capacity + 5)
    assert (settled.pods_placed, settled.total_ips) == (capacity, capacity)


# --- the report -----------------------------------------------------------------------------


def test_report_m5_large_with_prefix_delegation() -> None:
    report = vm.max_pods_report(vm.instance_limits("m5.large"), prefix_delegation=True)
    assert (report.node_default, report.node_default_source) == (29, "eni-max-pods.txt")
    assert (report.calculator_recommended, report.calculator_max_allowed) == (110, 434)
    assert (report.vcpus, report.vcpus_source, report.vcpu_ceiling) == (2, "catalog", 110)
    assert (report.ipamd_prefix_delegation, report.ipamd_pod_addresses) == (True, 432)
    assert report.branch_enis == 9
    assert dict(report.formulas) == {
        "node_default": "eni-max-pods.txt lists 29 (= 3 ENIs x (10 - 1) IPv4 + 2)",
        "calculator_recommended": "min(110, 434) = 110 (ceiling 110 for 2 vCPUs: 30 or fewer)",
        "calculator_max_allowed": "3 ENIs x (10 - 1) prefixes x 16 + 2 = 434",
        "ipamd_pod_addresses": (
            "card 0: 3 ENIs x (10 - 1) prefixes x 16 = 432 (+ 2 host-network pods = 434 pods)"
        ),
    }
    assert len(report.notes) == 1
    assert "node default (29) ignores prefix delegation" in report.notes[0]
    assert "recommends 110" in report.notes[0]
    assert report.calculator_output() == 110 and report.calculator_output(True) == 434


def test_report_bare_metal_says_why_the_calculator_differs() -> None:
    report = vm.max_pods_report(vm.instance_limits("c5.metal"), prefix_delegation=True)
    assert (report.calculator_recommended, report.calculator_max_allowed) == (250, 15 * 49 + 2)
    assert not report.calculator_prefix_delegation
    assert report.ipamd_pod_addresses == 15 * 49 * 16
    assert any("bare metal" in n and "'nitro'" in n for n in report.notes)


def test_report_old_cni_and_xen_notes() -> None:
    old = vm.max_pods_report(
        vm.instance_limits("m5.large"), prefix_delegation=True, cni_version="1.8.0"
    )
    assert (old.calculator_recommended, old.ipamd_pod_addresses) == (29, 432)
    assert any("older than 1.9.0" in n for n in old.notes)
    xen = vm.max_pods_report(vm.instance_limits("t2.micro"), prefix_delegation=True)
    assert (xen.calculator_recommended, xen.ipamd_pod_addresses) == (2 * 1 + 2, 2)
    assert not xen.ipamd_prefix_delegation
    assert any("does not support prefix delegation" in n for n in xen.notes)


def test_report_custom_networking_with_max_eni() -> None:
    report = vm.max_pods_report(vm.instance_limits("m5.large"), custom_networking=True, max_eni=2)
    # (min(2, 3) - 1) x 9 + 2 = 11; ipamd: the same ENI, 9 addresses.
    assert (report.calculator_recommended, report.ipamd_pod_addresses) == (11, 9)
    assert report.formulas["calculator_max_allowed"] == (
        "(min(2, 3) - 1) ENIs x (10 - 1) IPv4 + 2 = 11"
    )
    assert any("--cni-max-eni 2 is applied first" in n for n in report.notes)
    # The node default (29) admits 27 IP pods where ipamd can address 9.
    assert any("only 9 here" in n and "Set max pods to 11" in n for n in report.notes)


def test_report_unknown_vcpus_keeps_the_other_figures() -> None:
    mac = vm.instance_limits("mac1.metal")  # 8 ENIs x 30 IPv4, vCPUs not in the catalog
    report = vm.max_pods_report(mac)
    assert report.calculator_recommended is None and report.vcpus is None
    assert report.calculator_unavailable is not None and "vCPU" in report.calculator_unavailable
    assert (report.node_default, report.calculator_max_allowed) == (234, 234)
    assert report.ipamd_pod_addresses == 8 * 29
    given = vm.max_pods_report(mac, vcpus=12)
    assert (given.calculator_recommended, given.vcpus_source) == (110, "given")


def test_report_node_default_from_the_formula() -> None:
    report = vm.max_pods_report(vm.instance_limits("c9g.large"))  # not in eni-max-pods.txt
    assert (report.node_default, report.node_default_source) == (3 * 19 + 2, "nodeadm formula")


def test_report_config_for_ipamd_and_multi_nic_note() -> None:
    p4d = vm.instance_limits("p4d.24xlarge")
    report = vm.max_pods_report(p4d, config=vm.Config(multi_nic=True))
    assert report.ipamd_pod_addresses == 4 * 15 * 49
    assert report.calculator_max_allowed == 15 * 49 + 2  # the default card only
    assert any("ENABLE_MULTI_NIC" in n for n in report.notes)
    differs = vm.max_pods_report(p4d, config=vm.Config(prefix_delegation=True))
    assert any("differs from the calculator's flags" in n for n in differs.notes)


def test_report_rejects_bad_arguments() -> None:
    m5 = vm.instance_limits("m5.large")
    for kwargs, field in (
        ({"max_eni": 0}, "max_eni"),
        ({"vcpus": 0}, "vcpus"),
        ({"cni_version": "x"}, "cni_version"),
        ({"config": "ENABLE_PREFIX_DELEGATION=true"}, "config"),
    ):
        with pytest.raises(ConfigError) as info:
            vm.max_pods_report(m5, **kwargs)  # type: ignore[arg-type]
        assert info.value.field == field


def test_report_notes_the_vcpu_ceiling_below_the_node_default() -> None:
    report = vm.max_pods_report(vm.instance_limits("c5.4xlarge"))  # 8 x 29 + 2, 16 vCPUs
    assert (report.node_default, report.calculator_recommended) == (234, 110)
    assert any("below the node default (234)" in n for n in report.notes)
    given = vm.max_pods_report(vm.instance_limits("m5.large"), vcpus=64)
    assert given.calculator_recommended == 29  # min(250, 29)
    assert any("differs from the catalog's (2)" in n for n in given.notes)


@pytest.mark.parametrize(
    ("instance", "settings", "pool", "branch", "default"),
    [
        # 3 ENIs x 10 IPv4: the trunk takes one slot, (3 - 1) x 9 = 18; 9 branch ENIs (the
        # CSV's vpc.amazonaws.com/pod-eni); node default 3 x 9 + 2 = 29.
        ("m5.large", {}, 18, 9, 29),
        ("c5.large", {}, 18, 9, 29),
        # 4 ENIs x 15 IPv4: (4 - 1) x 14 = 42; 18 branch ENIs; node default 4 x 14 + 2 = 58.
        ("m5.xlarge", {}, 42, 18, 58),
        # Prefix delegation: (3 - 1) x 9 x 16 = 288 pool addresses; branch ENIs unchanged.
        ("m5.large", {"prefix_delegation": True}, 288, 9, 29),
        # t3.medium lists no branch ENIs: 3 ENIs x 6 IPv4, (3 - 1) x 5 = 10, 0 branch.
        ("t3.medium", {}, 10, 0, 17),
    ],
)
def test_report_with_security_groups_for_pods_by_hand(
    instance: str, settings: dict[str, Any], pool: int, branch: int, default: int
) -> None:
    limits = vm.instance_limits(instance)
    report = vm.max_pods_report(limits, pod_eni=True, **settings)
    assert report.pod_eni and report.ipamd_cards[0].trunk_slot == 1
    assert (report.ipamd_pod_addresses, report.branch_eni_pods) == (pool, branch)
    assert report.addressable_pods == pool + branch
    assert report.node_default == default
    assert report.formulas["addressable_pods"].startswith(
        f"{pool} pool IPs + {branch} branch ENIs = {pool + branch} "
    )
    # The calculator has no pod-ENI flag: its figures are the ones without it.
    plain = vm.max_pods_report(limits, **settings)
    assert plain.calculator_max_allowed == report.calculator_max_allowed
    assert (plain.branch_eni_pods, plain.addressable_pods) == (0, plain.ipamd_pod_addresses)
    assert "addressable_pods" not in plain.formulas


def test_report_pod_eni_notes() -> None:
    report = vm.max_pods_report(vm.instance_limits("m5.large"), pod_eni=True)
    # Kubelet admits 29 - 2 = 27 pods with an address; the pool holds 18, so 9 must use
    # branch ENIs (exactly the 9 m5.large has): the node default is reachable, no warning.
    assert any("so the pool addresses 18 pods instead of 27" in n for n in report.notes)
    must = "9 of the 27 pods that need an address must use branch ENIs"
    assert any(must in n for n in report.notes)
    assert not any("wait for an IP" in n for n in report.notes)
    # t3.medium: no branch ENIs, so 17 - 2 = 15 admitted pods > 10 pool IPs: pods wait.
    t3 = vm.max_pods_report(vm.instance_limits("t3.medium"), pod_eni=True)
    assert any("ipamd can address only 10 here" in n for n in t3.notes)
    assert any("has no branch ENIs" in n for n in t3.notes)


def test_report_pod_eni_with_unknown_branch_enis() -> None:
    mac = vm.instance_limits("mac1.metal")  # not in instance_specs.csv
    report = vm.max_pods_report(mac, pod_eni=True, vcpus=12)
    assert (report.branch_eni_pods, report.addressable_pods) == (None, None)
    assert "unknown branch ENIs" in report.formulas["addressable_pods"]
    with pytest.raises(vm.ConfigError, match="pod_eni"):
        vm.max_pods_report(mac, pod_eni="yes")  # type: ignore[arg-type]


def test_report_notes_for_pod_eni_without_branch_enis_and_no_provisioning() -> None:
    t2 = vm.instance_limits("t2.medium")  # 3 ENIs x 6 IPv4, no branch ENIs listed
    report = vm.max_pods_report(t2, config=vm.Config(pod_eni=True))
    assert report.branch_enis == 0
    assert report.ipamd_pod_addresses == (3 - 1) * 5  # one slot kept for the trunk
    assert any("has no branch ENIs" in n for n in report.notes)
    quiet = vm.max_pods_report(t2, config=vm.Config(disable_provisioning=True))
    assert any("provisioning is disabled" in n for n in quiet.notes)
