"""Max pods as the EKS tools compute it (``_maxpods``), checked by hand against the formulas."""

from __future__ import annotations

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
