"""Actions: what ipamd asks EC2 to do. Each value is one EC2 call family (spec 6).

``reconcile`` returns them; a driver (the in-library :class:`~vpccni_model.cloud.FakeEC2`, a
simulator, or real AWS) performs them. Allocations are answered with an event through
``apply``; releases and frees need no answer, because ipamd forgets the resources before it
calls EC2 and only logs a failure (spec 6.5, 6.6).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class AllocateENI:
    """Create an ENI on ``network_card``, attach it at the lowest free device index, and give it
    ``count`` secondary IPs (or ``count`` /28 prefixes when ``prefixes``) (spec 6.4)."""

    network_card: int
    count: int
    prefixes: bool = False


@attrs.frozen
class AllocateIPs:
    """AssignPrivateIpAddresses(count) on an attached ENI; on a non-limit error the driver
    retries once with count 1, and on PrivateIpAddressLimitExceeded it describes the ENI and
    reports what is attached (spec 6.2, 8)."""

    eni_id: str
    count: int


@attrs.frozen
class AllocatePrefixes:
    """AssignPrivateIpAddresses(Ipv4PrefixCount=count), same retry rules as AllocateIPs."""

    eni_id: str
    count: int


@attrs.frozen
class ReleaseIPs:
    """UnassignPrivateIpAddresses for /32 secondary IPs (dotted strings, ascending)."""

    eni_id: str
    addresses: tuple[str, ...]


@attrs.frozen
class ReleasePrefixes:
    """UnassignPrivateIpAddresses for /28 prefixes (``a.b.c.d/28``, ascending)."""

    eni_id: str
    prefixes: tuple[str, ...]


@attrs.frozen
class FreeENI:
    """Detach and delete an ENI that the datastore has already dropped (spec 6.6)."""

    eni_id: str


Allocation = AllocateENI | AllocateIPs | AllocatePrefixes
Release = ReleaseIPs | ReleasePrefixes | FreeENI
Action = AllocateENI | AllocateIPs | AllocatePrefixes | ReleaseIPs | ReleasePrefixes | FreeENI

ALLOCATIONS = (AllocateENI, AllocateIPs, AllocatePrefixes)
