"""Events: outcomes and observations that ``apply`` folds into a node state.

Addresses travel as dotted strings (``10.0.0.5``) and prefixes as ``a.b.c.d/28``, the way
EC2 and IMDS report them; the state holds them as integers.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs


class Ec2Error:
    """EC2 error codes that change ipamd's decisions (spec 8). Any other string is 'other'."""

    INSUFFICIENT_CIDR_BLOCKS = "InsufficientCidrBlocks"
    INSUFFICIENT_FREE_ADDRESSES = "InsufficientFreeAddressesInSubnet"
    PRIVATE_IP_LIMIT_EXCEEDED = "PrivateIpAddressLimitExceeded"
    REQUEST_LIMIT_EXCEEDED = "RequestLimitExceeded"
    INSUFFICIENT = frozenset({INSUFFICIENT_CIDR_BLOCKS, INSUFFICIENT_FREE_ADDRESSES})
    # Codes the fake EC2 answers with that ipamd treats as 'other' (FreeENI counts NotFound as
    # done, spec 6.6), and the 'other' codes the test strategies inject: kept here so that
    # every EC2 error code the package names has one home.
    NOT_FOUND = "InvalidNetworkInterfaceID.NotFound"
    ATTACHMENT_LIMIT_EXCEEDED = "AttachmentLimitExceeded"
    REQUEST_TIMEOUT = "RequestTimeout"
    UNAUTHORIZED_OPERATION = "UnauthorizedOperation"


def _tuple_of_str(value: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen
class ENIAttached:
    """The outstanding AllocateENI finished: the ENI is attached and IMDS shows these
    secondary IPs (primary excluded) and prefixes. Fewer than requested is a partial result,
    accepted as ipamd's WaitForENIAndIPsAttached does (spec 6.4, Q14)."""

    eni_id: str
    device_number: int
    network_card: int = 0
    ips: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    prefixes: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    is_excluded: bool = False


@attrs.frozen
class IPsAllocated:
    """The outstanding AllocateIPs returned these secondary IPs (after a
    PrivateIpAddressLimitExceeded, every secondary IP the ENI has in EC2)."""

    eni_id: str
    ips: tuple[str, ...] = attrs.field(converter=_tuple_of_str)


@attrs.frozen
class PrefixesAllocated:
    """The outstanding AllocatePrefixes returned these /28 prefixes."""

    eni_id: str
    prefixes: tuple[str, ...] = attrs.field(converter=_tuple_of_str)


@attrs.frozen
class AllocationFailed:
    """The outstanding allocation failed with an EC2 error code (see :class:`Ec2Error`).

    A lost or timed-out response is reported as a failure with the code the driver saw.
    """

    code: str


@attrs.frozen
class ObservedENI:
    """One ENI as instance metadata (and EC2) show it during ipamd's reconcile (spec 7.7).

    ``managed=False`` marks an ENI ipamd leaves alone but counts against the card's ENI limit
    (``no_manage`` tag, untagged with MANAGE_UNTAGGED_ENI=false, or efa-only; spec 1.5.6).
    """

    eni_id: str
    device_number: int
    network_card: int = 0
    ips: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    prefixes: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    is_trunk: bool = False
    is_efa: bool = False
    is_excluded: bool = False
    managed: bool = True


def _tuple_of_enis(value: Iterable[ObservedENI]) -> tuple[ObservedENI, ...]:
    return tuple(value)


@attrs.frozen
class MetadataObserved:
    """What IMDS shows now; folded in only when ipamd's 60 s reconcile is due (spec 7.7)."""

    enis: tuple[ObservedENI, ...] = attrs.field(converter=_tuple_of_enis)


@attrs.frozen
class NodeCordoned:
    """The node got the unschedulable taint: no increases and no ENI frees (spec 1.5.3)."""


@attrs.frozen
class NodeUncordoned:
    """The unschedulable taint is gone."""


@attrs.frozen
class NodeTerminating:
    """ipamd received SIGTERM: no more increases or ENI frees; decreases go on (Q24)."""


Event = (
    ENIAttached
    | IPsAllocated
    | PrefixesAllocated
    | AllocationFailed
    | MetadataObserved
    | NodeCordoned
    | NodeUncordoned
    | NodeTerminating
)
