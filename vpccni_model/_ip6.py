"""IPv6 text and numbers: the one place IPv6 addresses and /80 prefixes are parsed and formatted.

In IPv6 mode ipamd holds one /80 prefix per ENI (spec 4.6) and hands pods addresses from it.
The state holds IPv6 values as ints, like IPv4 ones, and tells the families apart by range:
an IPv4 address is below 2**32, and an IPv6 /80 the model accepts starts at or above 2**48
(the only /80 below that is ``::/80``, the unspecified, loopback and IPv4-compatible block,
never a VPC prefix). So an address int above ``MAX_IPV4`` is IPv6, with no flag to carry, and
the JSON form of a state is unchanged. Text is RFC 5952 (what Go's ``net.IP.String`` writes).
"""

from __future__ import annotations

import ipaddress
from typing import Final

from vpccni_model._errors import StateError

IPV6_PREFIX_LENGTH: Final = 80
"""The length of the IPv6 prefix ipamd assigns to each ENI (``AssignIpv6Addresses``)."""

IPV6_PREFIX_SIZE: Final = 1 << (128 - IPV6_PREFIX_LENGTH)
"""Addresses in an IPv6 /80 (2**48): what ipamd adds to its total per prefix (``Size()``)."""

MAX_IPV6: Final = (1 << 128) - 1

MIN_IPV6_PREFIX: Final = IPV6_PREFIX_SIZE
"""The lowest /80 network accepted: the one after ``::/80`` (see the module docstring)."""


def ipv6_text(value: int) -> str:
    """An IPv6 address held as an int, in RFC 5952 text (``2600:1f14::5``)."""
    return ipaddress.IPv6Address(value).compressed


def ipv6_prefix_text(network: int) -> str:
    """``2600:1f14:0:1:2::/80`` for the /80 starting at ``network``."""
    return f"{ipv6_text(network)}/{IPV6_PREFIX_LENGTH}"


def check_ipv6_prefix(network: int, *, field: str = "network") -> None:
    """A /80 network the model holds: aligned, inside the space, not ``::/80``."""
    if not MIN_IPV6_PREFIX <= network <= MAX_IPV6 - IPV6_PREFIX_SIZE + 1:
        raise StateError(field, network, "an IPv6 /80 must lie above ::/80 in the IPv6 space")
    if network % IPV6_PREFIX_SIZE:
        raise StateError(field, ipv6_text(network), "an IPv6 /80 must be aligned to 2**48")


def parse_ipv6_prefix(value: object, *, field: str = "prefix") -> int:
    """Parse an aligned ``x:y::/80`` (how EC2 reports an IPv6 prefix) into its network int."""
    if type(value) is not str:
        raise StateError(field, value, "expected an IPv6 /80 prefix as text")
    try:
        net = ipaddress.IPv6Network(value, strict=True)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError) as exc:
        raise StateError(field, value, "expected an aligned IPv6 /80 prefix") from exc
    if net.prefixlen != IPV6_PREFIX_LENGTH:
        raise StateError(field, value, "ipamd holds IPv6 only as /80 prefixes")
    network = int(net.network_address)
    check_ipv6_prefix(network, field=field)
    return network


def parse_ipv6_address(value: object, *, field: str = "ip") -> int:
    """Parse one IPv6 address in text form into its int."""
    if type(value) is not str:
        raise StateError(field, value, "expected an IPv6 address as text")
    try:
        return int(ipaddress.IPv6Address(value))
    except (ipaddress.AddressValueError, ValueError) as exc:
        raise StateError(field, value, "expected an IPv6 address") from exc


def parse_ipv6_subnet(value: object, *, field: str = "ipv6_subnet") -> tuple[int, int]:
    """A subnet's IPv6 CIDR (``2600:1f14:0:1::/64``): its (network, prefix length), which must
    hold at least one /80 and lie above ``::/80``."""
    if type(value) is not str:
        raise StateError(field, value, "expected an IPv6 CIDR as text")
    try:
        net = ipaddress.IPv6Network(value, strict=True)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError) as exc:
        raise StateError(field, value, "expected an aligned IPv6 CIDR") from exc
    if net.prefixlen > IPV6_PREFIX_LENGTH:
        raise StateError(field, value, "an IPv6 subnet must hold at least one /80")
    network = int(net.network_address)
    if network < MIN_IPV6_PREFIX:
        raise StateError(field, value, "an IPv6 subnet must lie above ::/80")
    return network, net.prefixlen
