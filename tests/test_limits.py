"""Tests of vpccni_model._limits: the packaged catalog and the EKS max-pods formula.

The published EKS max-pods file (tests/data/eni-max-pods.txt; provenance in
vpccni_model/data/README.md) is an independent check: AWS produced it, not our CSV.
"""

from __future__ import annotations

import csv
import importlib.resources
import io
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpccni_model._errors import ConfigError, UnknownInstanceTypeError
from vpccni_model._limits import (
    InstanceLimits,
    NetworkCard,
    catalog,
    eks_enis_for_pods,
    instance_limits,
    max_pods,
)

PUBLISHED = Path(__file__).parent / "data" / "eni-max-pods.txt"

# The 194 catalog types (of 1391) absent from the published file, which was frozen when
# it moved into nodeadm's instance-info.jsonl: the c8i/m8i/r8i "b", "db", "dn", "n" and
# "ne" variants, c9g(d), m9g(d), g7, mac-m3ultra.metal and c7i.32xlarge.
ABSENT_FROM_PUBLISHED_COUNT = 194
_ABSENT_FROM_PUBLISHED_TEXT = """
    c7i.32xlarge c8ib.12xlarge c8ib.16xlarge c8ib.24xlarge c8ib.2xlarge
    c8ib.32xlarge c8ib.48xlarge c8ib.4xlarge c8ib.8xlarge c8ib.96xlarge c8ib.large
    c8ib.metal-48xl c8ib.metal-96xl c8ib.xlarge c8in.12xlarge c8in.16xlarge
    c8in.24xlarge c8in.2xlarge c8in.32xlarge c8in.48xlarge c8in.4xlarge c8in.8xlarge
    c8in.96xlarge c8in.large c8in.metal-48xl c8in.metal-96xl c8in.xlarge
    c8ine.12xlarge c8ine.2xlarge c8ine.4xlarge c8ine.8xlarge c8ine.large
    c8ine.xlarge c9g.12xlarge c9g.16xlarge c9g.24xlarge c9g.2xlarge c9g.48xlarge
    c9g.4xlarge c9g.8xlarge c9g.large c9g.medium c9g.metal-48xl c9g.xlarge
    c9gd.12xlarge c9gd.16xlarge c9gd.24xlarge c9gd.2xlarge c9gd.48xlarge
    c9gd.4xlarge c9gd.8xlarge c9gd.large c9gd.medium c9gd.metal-48xl c9gd.xlarge
    g7.12xlarge g7.24xlarge g7.2xlarge g7.48xlarge g7.4xlarge g7.8xlarge
    m8ib.12xlarge m8ib.16xlarge m8ib.24xlarge m8ib.2xlarge m8ib.32xlarge
    m8ib.48xlarge m8ib.4xlarge m8ib.8xlarge m8ib.96xlarge m8ib.large m8ib.metal-48xl
    m8ib.metal-96xl m8ib.xlarge m8idb.12xlarge m8idb.16xlarge m8idb.24xlarge
    m8idb.2xlarge m8idb.32xlarge m8idb.48xlarge m8idb.4xlarge m8idb.8xlarge
    m8idb.96xlarge m8idb.large m8idb.metal-48xl m8idb.metal-96xl m8idb.xlarge
    m8idn.12xlarge m8idn.16xlarge m8idn.24xlarge m8idn.2xlarge m8idn.32xlarge
    m8idn.48xlarge m8idn.4xlarge m8idn.8xlarge m8idn.96xlarge m8idn.large
    m8idn.metal-48xl m8idn.metal-96xl m8idn.xlarge m8in.12xlarge m8in.16xlarge
    m8in.24xlarge m8in.2xlarge m8in.32xlarge m8in.48xlarge m8in.4xlarge m8in.8xlarge
    m8in.96xlarge m8in.large m8in.metal-48xl m8in.metal-96xl m8in.xlarge
    m8ine.12xlarge m8ine.2xlarge m8ine.4xlarge m8ine.8xlarge m8ine.large
    m8ine.xlarge m9g.12xlarge m9g.16xlarge m9g.24xlarge m9g.2xlarge m9g.48xlarge
    m9g.4xlarge m9g.8xlarge m9g.large m9g.medium m9g.metal-48xl m9g.xlarge
    m9gd.12xlarge m9gd.16xlarge m9gd.24xlarge m9gd.2xlarge m9gd.48xlarge
    m9gd.4xlarge m9gd.8xlarge m9gd.large m9gd.medium m9gd.metal-48xl m9gd.xlarge
    mac-m3ultra.metal r8ib.12xlarge r8ib.16xlarge r8ib.24xlarge r8ib.2xlarge
    r8ib.32xlarge r8ib.48xlarge r8ib.4xlarge r8ib.8xlarge r8ib.96xlarge r8ib.large
    r8ib.metal-48xl r8ib.metal-96xl r8ib.xlarge r8idb.12xlarge r8idb.16xlarge
    r8idb.24xlarge r8idb.2xlarge r8idb.32xlarge r8idb.48xlarge r8idb.4xlarge
    r8idb.8xlarge r8idb.96xlarge r8idb.large r8idb.metal-48xl r8idb.metal-96xl
    r8idb.xlarge r8idn.12xlarge r8idn.16xlarge r8idn.24xlarge r8idn.2xlarge
    r8idn.32xlarge r8idn.48xlarge r8idn.4xlarge r8idn.8xlarge r8idn.96xlarge
    r8idn.large r8idn.metal-48xl r8idn.metal-96xl r8idn.xlarge r8in.12xlarge
    r8in.16xlarge r8in.24xlarge r8in.2xlarge r8in.32xlarge r8in.48xlarge
    r8in.4xlarge r8in.8xlarge r8in.96xlarge r8in.large r8in.metal-48xl
    r8in.metal-96xl r8in.xlarge
"""
ABSENT_FROM_PUBLISHED = frozenset(_ABSENT_FROM_PUBLISHED_TEXT.split())


def _published() -> dict[str, int]:
    values: dict[str, int] = {}
    for line in PUBLISHED.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, value = line.split()
        assert name not in values, f"duplicate {name} in published file"
        values[name] = int(value)
    return values


# --- catalog --------------------------------------------------------------------------


def test_catalog_has_every_csv_row() -> None:
    text = (importlib.resources.files("vpccni_model") / "data" / "instance_limits.csv").read_text(
        encoding="utf-8"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    table = catalog()
    assert len(rows) == 1391
    assert len(table) == 1391
    assert [row["instance_type"] for row in rows] == sorted(table)
    for name, limits in table.items():
        assert isinstance(limits, InstanceLimits)
        assert limits.name == name
        assert limits.hypervisor in {"nitro", "xen", "unknown"}
        assert limits.default_network_card in limits.card_indices


def test_catalog_is_cached_and_read_only() -> None:
    table = catalog()
    assert catalog() is table
    with pytest.raises(TypeError):
        table["m5.large"] = InstanceLimits(name="x", max_enis=1, ipv4_per_eni=1)  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        table["m5.large"].max_enis = 99  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "enis", "ips"),
    [("m5.large", 3, 10), ("t3.small", 3, 4), ("p3dn.24xlarge", 15, 50)],
)
def test_spot_values(name: str, enis: int, ips: int) -> None:
    limits = instance_limits(name)
    assert (limits.max_enis, limits.ipv4_per_eni) == (enis, ips)
    assert limits.cidrs_per_eni == ips - 1
    assert limits.hypervisor == "nitro"
    assert limits.supports_prefix_delegation


def test_multi_card_type() -> None:
    limits = instance_limits("p4d.24xlarge")
    assert limits.card_indices == (0, 1, 2, 3)
    assert limits.network_cards == tuple(NetworkCard(i, 15) for i in range(4))
    assert limits.default_network_card == 0
    assert instance_limits("m5.large").card_indices == (0,)


def test_prefix_delegation_support_by_hypervisor() -> None:
    xen = instance_limits("m4.large")
    assert (xen.hypervisor, xen.bare_metal) == ("xen", False)
    assert not xen.supports_prefix_delegation
    # No xen type is bare metal; bare-metal types say hypervisor "unknown" yet qualify.
    metal = instance_limits("c5.metal")
    assert (metal.hypervisor, metal.bare_metal) == ("unknown", True)
    assert metal.supports_prefix_delegation
    hand_added = instance_limits("cr1.8xlarge")
    assert (hand_added.hypervisor, hand_added.bare_metal) == ("unknown", False)
    assert not hand_added.supports_prefix_delegation
    assert not any(t.hypervisor == "xen" and t.bare_metal for t in catalog().values())


@pytest.mark.parametrize("name", ["m5.larg", "M5.LARGE", " m5.large "])
def test_unknown_name_suggests(name: str) -> None:
    with pytest.raises(UnknownInstanceTypeError) as info:
        instance_limits(name)
    assert info.value.name == name
    assert info.value.suggestions[0] == "m5.large"
    assert 1 <= len(info.value.suggestions) <= 3
    assert all(s in catalog() for s in info.value.suggestions)
    assert isinstance(info.value, LookupError)


def test_unknown_name_without_close_match() -> None:
    with pytest.raises(UnknownInstanceTypeError) as info:
        instance_limits("definitely-not-an-instance")
    assert info.value.suggestions == ()


# --- InstanceLimits validation --------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_enis", 0),
        ("max_enis", -1),
        ("max_enis", True),
        ("max_enis", 3.0),
        ("max_enis", "3"),
        ("ipv4_per_eni", 0),
        ("ipv4_per_eni", False),
        ("default_network_card", -1),
        ("default_network_card", 1),  # not among the cards
        ("hypervisor", None),
        ("hypervisor", 1),
        ("bare_metal", "false"),
        ("name", None),
        ("network_cards", [NetworkCard(0, 3)]),
        ("network_cards", (NetworkCard(0, 3), NetworkCard(0, 3))),
        ("network_cards", ((0, 3),)),
    ],
)
def test_invalid_field_raises_config_error(field: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"name": "x.large", "max_enis": 3, "ipv4_per_eni": 10}
    kwargs[field] = value
    with pytest.raises(ConfigError) as info:
        InstanceLimits(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("index", {"index": -1, "max_interfaces": 1}),
        ("index", {"index": True, "max_interfaces": 1}),
        ("max_interfaces", {"index": 0, "max_interfaces": 0}),
    ],
)
def test_invalid_network_card(field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        NetworkCard(**kwargs)
    assert info.value.field == field


def test_valid_defaults_and_unsorted_cards() -> None:
    limits = InstanceLimits(
        name="x",
        max_enis=2,
        ipv4_per_eni=1,
        network_cards=(NetworkCard(1, 2), NetworkCard(0, 2)),
    )
    assert limits.card_indices == (0, 1)
    assert limits.cidrs_per_eni == 0
    assert InstanceLimits(name="y", max_enis=1, ipv4_per_eni=1).card_indices == (0,)


# --- max_pods -------------------------------------------------------------------------


def test_max_pods_matches_published_for_every_type() -> None:
    published = _published()
    table = catalog()
    checked = 0
    mismatches = []
    for name, value in published.items():
        if name in table:
            checked += 1
            if max_pods(table[name]) != value:
                mismatches.append((name, max_pods(table[name]), value))
    assert mismatches == []
    assert checked > 1000
    assert checked == len(published)  # every published type is in the catalog


def test_absent_from_published_list() -> None:
    absent = set(catalog()) - set(_published())
    assert len(ABSENT_FROM_PUBLISHED) == ABSENT_FROM_PUBLISHED_COUNT
    assert absent == ABSENT_FROM_PUBLISHED


def test_max_pods_hand_computed() -> None:
    m5 = instance_limits("m5.large")  # 3 ENIs x 10 IPs, 2 vCPUs
    p3dn = instance_limits("p3dn.24xlarge")  # 15 ENIs x 50 IPs, 96 vCPUs
    assert max_pods(m5) == 3 * 9 + 2 == 29
    assert max_pods(m5, prefix_delegation=True) == 3 * 9 * 16 + 2 == 434
    assert max_pods(m5, prefix_delegation=True, vcpus=2) == 110
    assert max_pods(m5, vcpus=2) == 29
    assert max_pods(p3dn, prefix_delegation=True) == 15 * 49 * 16 + 2 == 11762
    assert max_pods(p3dn, prefix_delegation=True, vcpus=96) == 250
    assert max_pods(p3dn, prefix_delegation=True, vcpus=30) == 110
    assert max_pods(p3dn, prefix_delegation=True, vcpus=31) == 250
    assert max_pods(m5, custom_networking=True) == (3 - 1) * 9 + 2 == 20
    assert max_pods(m5, max_eni=1) == 1 * 9 + 2 == 11
    assert max_pods(m5, max_eni=100) == 29
    assert max_pods(m5, max_eni=1, custom_networking=True) == 2  # no ENI left for pods
    assert max_pods(m5, max_eni=2, custom_networking=True, prefix_delegation=True) == 146


def test_max_pods_xen_ignores_prefix_delegation() -> None:
    xen = instance_limits("m4.large")
    assert not xen.supports_prefix_delegation
    sip = xen.max_enis * (xen.ipv4_per_eni - 1) + 2
    assert max_pods(xen) == sip
    assert max_pods(xen, prefix_delegation=True) == sip
    metal = instance_limits("c5.metal")
    assert (
        max_pods(metal, prefix_delegation=True)
        == metal.max_enis * (metal.ipv4_per_eni - 1) * 16 + 2
    )


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("max_eni", {"max_eni": 0}),
        ("max_eni", {"max_eni": -3}),
        ("max_eni", {"max_eni": True}),
        ("max_eni", {"max_eni": 2.0}),
        ("vcpus", {"vcpus": 0}),
        ("vcpus", {"vcpus": "4"}),
        ("vcpus", {"vcpus": False}),
        ("prefix_delegation", {"prefix_delegation": 1}),
        ("custom_networking", {"custom_networking": "yes"}),
    ],
)
def test_max_pods_rejects_bad_options(field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        max_pods(instance_limits("m5.large"), **kwargs)
    assert info.value.field == field


def test_max_pods_rejects_non_limits() -> None:
    with pytest.raises(ConfigError) as info:
        max_pods("m5.large")  # type: ignore[arg-type]
    assert info.value.field == "limits"


synthetic_limits = st.builds(
    InstanceLimits,
    name=st.just("synthetic.large"),
    max_enis=st.integers(1, 64),
    ipv4_per_eni=st.integers(1, 64),
    hypervisor=st.sampled_from(["nitro", "xen", "unknown"]),
    bare_metal=st.booleans(),
)


@given(
    limits=synthetic_limits,
    a=st.integers(1, 80),
    b=st.integers(1, 80),
    custom_networking=st.booleans(),
    prefix_delegation=st.booleans(),
    vcpus=st.none() | st.integers(1, 200),
)
def test_max_pods_monotone_in_max_eni(
    limits: InstanceLimits,
    a: int,
    b: int,
    custom_networking: bool,
    prefix_delegation: bool,
    vcpus: int | None,
) -> None:
    low, high = sorted((a, b))
    opts: dict[str, Any] = {
        "custom_networking": custom_networking,
        "prefix_delegation": prefix_delegation,
        "vcpus": vcpus,
    }
    at_low = max_pods(limits, max_eni=low, **opts)
    at_high = max_pods(limits, max_eni=high, **opts)
    uncapped = max_pods(limits, **opts)
    assert 2 <= at_low <= at_high <= uncapped
    if high >= limits.max_enis:
        assert at_high == uncapped


@given(
    limits=synthetic_limits,
    custom_networking=st.booleans(),
    max_eni=st.none() | st.integers(1, 80),
    vcpus=st.none() | st.integers(1, 200),
)
def test_prefix_delegation_never_below_secondary_ip(
    limits: InstanceLimits,
    custom_networking: bool,
    max_eni: int | None,
    vcpus: int | None,
) -> None:
    opts: dict[str, Any] = {
        "custom_networking": custom_networking,
        "max_eni": max_eni,
        "vcpus": vcpus,
    }
    pd = max_pods(limits, prefix_delegation=True, **opts)
    sip = max_pods(limits, prefix_delegation=False, **opts)
    assert pd >= sip
    if not limits.supports_prefix_delegation:
        assert pd == sip
    if vcpus is None:
        enis = max(min(max_eni or limits.max_enis, limits.max_enis) - custom_networking, 0)
        assert sip == enis * limits.cidrs_per_eni + 2


def test_eks_enis_for_pods_caps_before_subtracting_the_primary() -> None:
    m5 = instance_limits("m5.large")  # 3 ENIs on the default card
    assert eks_enis_for_pods(m5, max_eni=None, custom_networking=False) == 3
    assert eks_enis_for_pods(m5, max_eni=None, custom_networking=True) == 2
    assert eks_enis_for_pods(m5, max_eni=2, custom_networking=True) == 1  # min(2, 3) - 1
    assert eks_enis_for_pods(m5, max_eni=9, custom_networking=True) == 2  # min(9, 3) - 1
    assert eks_enis_for_pods(m5, max_eni=1, custom_networking=True) == 0
