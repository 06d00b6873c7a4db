"""IPv4 text and numbers: the one place addresses and CIDRs are parsed and formatted.

The state holds addresses as ints (cheap to compare, sort and count); EC2, IMDS and every
event and action carry them as text. ``PREFIX_SIZE`` is the one constant for the size of a
/28 (ipamd hands all 16 addresses of a prefix to pods, spec 2.2).
"""

from __future__ import annotations

import ipaddress
from socket import inet_ntoa as _inet_ntoa
from typing import Final

from vpccni_model._errors import StateError
from vpccni_model._ip6 import ipv6_text

PREFIX_SIZE: Final = 16
"""Addresses in an IPv4 /28 prefix."""

MAX_IPV4: Final = (1 << 32) - 1


_PARSED: dict[str, int] = {}
"""Canonical dotted quads already parsed: every event lists its addresses as text, and a
run meets the same few thousand again and again. A memo of a pure function (cleared when
full, so memory stays bounded); only canonical text enters it."""

_PARSED_MAX: Final = 1 << 17


def ip_to_int(value: str | int, *, field: str = "ip") -> int:
    """Parse a dotted IPv4 address (or pass an int through) with a typed error."""
    if type(value) is str:
        fast = _dotted_quad(value)
        if fast is not None:
            return fast
    elif isinstance(value, bool):
        raise StateError(field, value, "expected an IPv4 address")
    elif isinstance(value, int):
        if 0 <= value <= MAX_IPV4:
            return value
        raise StateError(field, value, "IPv4 address out of range")
    try:
        return int(ipaddress.IPv4Address(value))
    except (ipaddress.AddressValueError, TypeError, ValueError) as exc:
        raise StateError(field, value, "expected an IPv4 address") from exc


def _dotted_quad(value: str) -> int | None:
    """The canonical dotted quad (what EC2 and this library write) as an int, else None;
    remembered in ``_PARSED``.

    int() is lenient ("+1", " 1", "1_0"), so the text must read back exactly; anything else
    goes to ``ipaddress``, which accepts or rejects it with the error the caller gives.
    """
    known = _PARSED.get(value)
    if known is not None:
        return known
    try:
        a, b, c, d = map(int, value.split("."))
    except ValueError:
        return None
    in_range = 0 <= a <= 255 and 0 <= b <= 255 and 0 <= c <= 255 and 0 <= d <= 255
    if not in_range or f"{a}.{b}.{c}.{d}" != value:
        return None
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    parsed = _PARSED[value] = (a << 24) | (b << 16) | (c << 8) | d
    return parsed


def int_to_ip(value: int) -> str:
    """Format an address held as an int (dotted quad, as ``ipaddress`` writes it); an int
    above ``MAX_IPV4`` is an IPv6 address (``_ip6``) and is written as RFC 5952 text.

    ``inet_ntoa`` is pure formatting (no I/O) and the cheapest way to it: every pod
    operation returns an address as text.
    """
    if value > MAX_IPV4:
        return ipv6_text(value)
    return _inet_ntoa(value.to_bytes(4, "big"))


def parse_cidr(value: str, *, field: str = "cidr") -> tuple[int, bool]:
    """Parse ``a.b.c.d/32`` or an aligned ``a.b.c.d/28`` into (network, is_prefix)."""
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, TypeError, ValueError) as exc:
        raise StateError(field, value, "expected an aligned IPv4 /32 or /28") from exc
    if net.prefixlen == 32:
        return int(net.network_address), False
    if net.prefixlen == 28:
        return int(net.network_address), True
    raise StateError(field, value, "ipamd holds only /32 secondary IPs and /28 prefixes")


def prefix_network(text: str) -> int | None:
    """The network of an aligned ``a.b.c.d/28`` or of a bare aligned ``a.b.c.d`` (as
    ``AssignPrivateIpAddresses`` reports prefixes), written canonically; None for anything
    else, which :func:`parse_cidr` then accepts or rejects with its error. The fast path of
    the prefixes every event and release lists."""
    address, slash, length = text.partition("/")
    if slash and length != "28":
        return None
    network = _dotted_quad(address)
    if network is None or network % PREFIX_SIZE:
        return None
    return network


def prefix_text(network: int) -> str:
    """``a.b.c.d/28`` for the prefix starting at ``network``."""
    return f"{int_to_ip(network)}/28"


def ceil16(addresses: int) -> int:
    """Go's ``DivCeil(x, 16)``: prefixes needed to hold ``addresses`` addresses."""
    return (addresses + PREFIX_SIZE - 1) // PREFIX_SIZE
