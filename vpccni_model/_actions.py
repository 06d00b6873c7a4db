"""Actions: what ipamd asks EC2 to do. Each value is one EC2 call family (spec 6).

``reconcile`` returns them; a driver (the in-library :class:`~vpccni_model.cloud.FakeEC2`, a
simulator, or real AWS) performs them. Allocations are answered with an event through
``apply``; releases and frees need no answer, because ipamd forgets the resources before it
calls EC2 and only logs a failure (spec 6.5, 6.6).
"""

from __future__ import annotations

import attrs

from vpccni_model._checks import as_bool, as_instance, as_int, as_text, as_tuple, slot_setters
from vpccni_model._subnets import (
    DISCOVERED_SUBNET,
    DiscoveredSubnet,
    ENIConfigSubnet,
    ENIDestination,
    PrimarySubnet,
)

# Construction checks each field's type (what the JSON reader reads back); whether the values
# fit a node (the ENI exists, the count is within its limit) is for the node's rules
# (``_rules``) when an action is held in a state. The tick builds its actions through the
# unchecked constructors at the end of this module.


def _check_allocation(eni_id: object, count: object) -> None:
    as_text("eni_id", eni_id, empty=True)
    as_int("count", count)


@attrs.frozen(repr=False)
class AllocateENI:
    """Create an ENI on ``network_card``, attach it at the lowest free device index, and give it
    ``count`` secondary IPs (or ``count`` /28 prefixes when ``prefixes``) (spec 6.4).

    ``destination`` says which subnet and security groups it gets (``_subnets``): the default,
    subnet discovery, is what the default configuration asks for.
    """

    network_card: int
    count: int
    prefixes: bool = False
    destination: ENIDestination = DISCOVERED_SUBNET

    def __attrs_post_init__(self) -> None:
        as_int("network_card", self.network_card)
        as_int("count", self.count)
        as_bool("prefixes", self.prefixes)
        as_instance(
            "destination",
            self.destination,
            _DESTINATIONS,
            "a PrimarySubnet, DiscoveredSubnet or ENIConfigSubnet",
        )

    def __repr__(self) -> str:
        """attrs' form; the default destination is left out, so the common case reads short."""
        fields = f"network_card={self.network_card!r}, count={self.count!r}"
        fields += f", prefixes={self.prefixes!r}"
        if self.destination != DISCOVERED_SUBNET:
            fields += f", destination={self.destination!r}"
        return f"AllocateENI({fields})"


_DESTINATIONS = (PrimarySubnet, DiscoveredSubnet, ENIConfigSubnet)


@attrs.frozen
class AllocateIPs:
    """AssignPrivateIpAddresses(count) on an attached ENI; on a non-limit error the driver
    retries once with count 1, and on PrivateIpAddressLimitExceeded it describes the ENI and
    reports what is attached (spec 6.2, 8)."""

    eni_id: str
    count: int

    def __attrs_post_init__(self) -> None:
        _check_allocation(self.eni_id, self.count)


@attrs.frozen
class AllocatePrefixes:
    """AssignPrivateIpAddresses(Ipv4PrefixCount=count), same retry rules as AllocateIPs."""

    eni_id: str
    count: int

    def __attrs_post_init__(self) -> None:
        _check_allocation(self.eni_id, self.count)


@attrs.frozen
class ReleaseIPs:
    """UnassignPrivateIpAddresses for /32 secondary IPs (dotted strings, ascending)."""

    eni_id: str
    addresses: tuple[str, ...]

    def __attrs_post_init__(self) -> None:
        as_text("eni_id", self.eni_id, empty=True)
        as_tuple("addresses", self.addresses, str, "address strings")


@attrs.frozen
class ReleasePrefixes:
    """UnassignPrivateIpAddresses for /28 prefixes (``a.b.c.d/28``, ascending)."""

    eni_id: str
    prefixes: tuple[str, ...]

    def __attrs_post_init__(self) -> None:
        as_text("eni_id", self.eni_id, empty=True)
        as_tuple("prefixes", self.prefixes, str, "prefix strings")


@attrs.frozen
class FreeENI:
    """Detach and delete an ENI that the datastore has already dropped (spec 6.6)."""

    eni_id: str

    def __attrs_post_init__(self) -> None:
        as_text("eni_id", self.eni_id, empty=True)


@attrs.frozen
class SignalTrunkENI:
    """Security groups for pods: ipamd adds the ``SecurityGroupsForPods`` feature to the node's
    CNINode (``tryEnableSecurityGroupsForPods`` -> ``AddFeatureToCNINode``, spec 1.5.2, 7.3),
    the signal on which the VPC resource controller attaches a trunk ENI to card 0.

    A Kubernetes write, not an EC2 call, and it needs no answer: the trunk ENI shows up in
    instance metadata (``MetadataObserved``, ``ObservedENI.is_trunk``). ``reconcile`` emits
    it once per node (``_trunk.request_trunk`` says when and why).
    """


@attrs.frozen
class AllocateIPv6ENI:
    """IPv6 mode: create an ENI on ``network_card`` with ``Ipv6AddressCount=1`` (its primary
    IPv6 address, never a pod address) and attach it at the lowest free device index
    (``createENIInput`` when v6 is enabled, spec 2.6). Answered by ``ENIAttached``; its /80
    comes next, with ``AllocateIPv6Prefix`` (``setupENI``)."""

    network_card: int

    def __attrs_post_init__(self) -> None:
        as_int("network_card", self.network_card)


@attrs.frozen
class AllocateIPv6Prefix:
    """IPv6 mode, ``assignIPv6Prefix``: read the ENI's IPv6 prefixes from EC2
    (DescribeNetworkInterfaces) and, if it has none, ``AssignIpv6Addresses`` with
    ``Ipv6PrefixCount=1``. Answered by ``IPv6PrefixAllocated`` listing every /80 the ENI then
    has, in EC2's order (ipamd uses the first, spec 4.6)."""

    eni_id: str

    def __attrs_post_init__(self) -> None:
        as_text("eni_id", self.eni_id, empty=True)


Allocation = AllocateENI | AllocateIPs | AllocatePrefixes | AllocateIPv6ENI | AllocateIPv6Prefix
Release = ReleaseIPs | ReleasePrefixes | FreeENI
Action = (
    AllocateENI
    | AllocateIPs
    | AllocatePrefixes
    | ReleaseIPs
    | ReleasePrefixes
    | FreeENI
    | SignalTrunkENI
    | AllocateIPv6ENI
    | AllocateIPv6Prefix
)

ALLOCATIONS = (AllocateENI, AllocateIPs, AllocatePrefixes, AllocateIPv6ENI, AllocateIPv6Prefix)
IPV6_ALLOCATIONS = (AllocateIPv6ENI, AllocateIPv6Prefix)


# -- unchecked constructors, for the tick (its values come from a checked state) ---------------
# Unrolled on purpose rather than ``_checks.build_unchecked``: the tick builds one per action,
# and the generic loop over the setters costs about 5% of an acting reconcile.

_new = object.__new__
_ALLOCATE_ENI = slot_setters(AllocateENI)
_ALLOCATE_IPS = slot_setters(AllocateIPs)
_ALLOCATE_PREFIXES = slot_setters(AllocatePrefixes)
_RELEASE_IPS = slot_setters(ReleaseIPs)
_RELEASE_PREFIXES = slot_setters(ReleasePrefixes)
_FREE_ENI = slot_setters(FreeENI)


def allocate_eni(
    network_card: int, count: int, prefixes: bool, destination: ENIDestination
) -> AllocateENI:
    action = _new(AllocateENI)
    set_card, set_count, set_prefixes, set_destination = _ALLOCATE_ENI
    set_card(action, network_card)
    set_count(action, count)
    set_prefixes(action, prefixes)
    set_destination(action, destination)
    return action


def allocate_cidrs(eni_id: str, count: int, prefixes: bool) -> AllocateIPs | AllocatePrefixes:
    """``AllocatePrefixes`` when ``prefixes``, else ``AllocateIPs``."""
    if prefixes:
        grow: AllocateIPs | AllocatePrefixes = _new(AllocatePrefixes)
        set_eni, set_count = _ALLOCATE_PREFIXES
    else:
        grow = _new(AllocateIPs)
        set_eni, set_count = _ALLOCATE_IPS
    set_eni(grow, eni_id)
    set_count(grow, count)
    return grow


def release_ips(eni_id: str, addresses: tuple[str, ...]) -> ReleaseIPs:
    action = _new(ReleaseIPs)
    set_eni, set_addresses = _RELEASE_IPS
    set_eni(action, eni_id)
    set_addresses(action, addresses)
    return action


def release_prefixes(eni_id: str, prefixes: tuple[str, ...]) -> ReleasePrefixes:
    action = _new(ReleasePrefixes)
    set_eni, set_prefixes = _RELEASE_PREFIXES
    set_eni(action, eni_id)
    set_prefixes(action, prefixes)
    return action


def free_eni(eni_id: str) -> FreeENI:
    action = _new(FreeENI)
    (set_eni,) = _FREE_ENI
    set_eni(action, eni_id)
    return action
