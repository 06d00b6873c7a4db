"""Events: outcomes and observations that ``apply`` folds into a node state.

Addresses travel as dotted strings (``10.0.0.5``) and prefixes as ``a.b.c.d/28``, the way
EC2 and IMDS report them; the state holds them as integers.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from vpccni_model._checks import INT64_MAX, INT64_MIN, as_bool, as_int, as_str_tuple, as_text
from vpccni_model._errors import StateError


class Ec2Error:
    """EC2 error codes that change ipamd's decisions (spec 8). Any other string is 'other'."""

    INSUFFICIENT_CIDR_BLOCKS = "InsufficientCidrBlocks"
    INSUFFICIENT_FREE_ADDRESSES = "InsufficientFreeAddressesInSubnet"
    PRIVATE_IP_LIMIT_EXCEEDED = "PrivateIpAddressLimitExceeded"
    REQUEST_LIMIT_EXCEEDED = "RequestLimitExceeded"
    # EC2's other throttling code (botocore's standard retry mode retries both; vpccni_model.aws).
    THROTTLING = "Throttling"
    INSUFFICIENT = frozenset({INSUFFICIENT_CIDR_BLOCKS, INSUFFICIENT_FREE_ADDRESSES})
    # Codes the fake EC2 answers with that ipamd treats as 'other' (FreeENI counts NotFound as
    # done, spec 6.6), and the 'other' codes the test strategies inject: kept here so that
    # every EC2 error code the package names has one home.
    NOT_FOUND = "InvalidNetworkInterfaceID.NotFound"
    ATTACHMENT_LIMIT_EXCEEDED = "AttachmentLimitExceeded"
    REQUEST_TIMEOUT = "RequestTimeout"
    UNAUTHORIZED_OPERATION = "UnauthorizedOperation"
    # CreateNetworkInterface in a subnet EC2 does not know (an ENIConfig naming a wrong id).
    SUBNET_NOT_FOUND = "InvalidSubnetID.NotFound"
    # Not EC2's: ipamd's createENI gives up before any call when no subnet may take the ENI
    # (every subnet ineligible under discovery, or the primary subnet excluded; spec 6.4).
    NO_ELIGIBLE_SUBNET = "NoEligibleSubnet"


# Construction checks each field's type, exactly as the JSON reader does (StateError naming the
# field); whether the values fit the node (parse as addresses, fit the ENI, answer the call it
# waits on) is apply's business.


def _ips(value: str | Iterable[str]) -> tuple[str, ...]:
    return as_str_tuple("ips", value)


def _prefixes(value: str | Iterable[str]) -> tuple[str, ...]:
    return as_str_tuple("prefixes", value)


def _check_eni_fields(event: ENIAttached | ObservedENI) -> None:
    device, card, subnet = event.device_number, event.network_card, event.subnet_id
    if (
        type(event.eni_id) is not str
        or type(device) is not int
        or type(card) is not int
        or not INT64_MIN <= device <= INT64_MAX
        or not INT64_MIN <= card <= INT64_MAX
        or type(event.is_excluded) is not bool
        or (subnet is not None and (type(subnet) is not str or not subnet))
    ):  # the common case costs one test; the checks below name what is wrong
        as_text("eni_id", event.eni_id, empty=True)
        as_int("device_number", event.device_number)
        as_int("network_card", event.network_card)
        as_bool("is_excluded", event.is_excluded)
        if event.subnet_id is not None:
            as_text("subnet_id", event.subnet_id)


@attrs.frozen
class ENIAttached:
    """The outstanding AllocateENI finished: the ENI is attached and IMDS shows these
    secondary IPs (primary excluded) and prefixes. Fewer than requested is a partial result,
    accepted as ipamd's WaitForENIAndIPsAttached does (spec 6.4, Q14). ``subnet_id`` is the
    subnet the ENI was created in (None: not reported); it takes no part in pool decisions."""

    eni_id: str
    device_number: int
    network_card: int = 0
    ips: tuple[str, ...] = attrs.field(default=(), converter=_ips)
    prefixes: tuple[str, ...] = attrs.field(default=(), converter=_prefixes)
    is_excluded: bool = False
    subnet_id: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_eni_fields(self)


@attrs.frozen
class IPsAllocated:
    """The outstanding AllocateIPs returned these secondary IPs (after a
    PrivateIpAddressLimitExceeded, every secondary IP the ENI has in EC2)."""

    eni_id: str
    ips: tuple[str, ...] = attrs.field(converter=_ips)

    def __attrs_post_init__(self) -> None:
        if type(self.eni_id) is not str:
            as_text("eni_id", self.eni_id, empty=True)


@attrs.frozen
class PrefixesAllocated:
    """The outstanding AllocatePrefixes returned these /28 prefixes."""

    eni_id: str
    prefixes: tuple[str, ...] = attrs.field(converter=_prefixes)

    def __attrs_post_init__(self) -> None:
        if type(self.eni_id) is not str:
            as_text("eni_id", self.eni_id, empty=True)


@attrs.frozen
class IPv6PrefixAllocated:
    """The outstanding AllocateIPv6Prefix returned: every IPv6 /80 (``x:y::/80``) the ENI has
    in EC2, in EC2's order (one new prefix if it had none). ipamd uses only the first
    (``assignIPv6Prefix``, spec 4.6); the others stay attached, unused and never freed."""

    eni_id: str
    prefixes: tuple[str, ...] = attrs.field(converter=_prefixes)

    def __attrs_post_init__(self) -> None:
        if type(self.eni_id) is not str:
            as_text("eni_id", self.eni_id, empty=True)


@attrs.frozen
class AllocationFailed:
    """The outstanding allocation failed with an EC2 error code (see :class:`Ec2Error`).

    A lost or timed-out response is reported as a failure with the code the driver saw.
    """

    code: str

    def __attrs_post_init__(self) -> None:
        if type(self.code) is not str:
            as_text("code", self.code, empty=True)


@attrs.frozen
class ObservedENI:
    """One ENI as instance metadata (and EC2) show it during ipamd's reconcile (spec 7.7).

    ``managed=False`` marks an ENI ipamd leaves alone but counts against the card's ENI limit
    (``no_manage`` tag, untagged with MANAGE_UNTAGGED_ENI=false, or efa-only; spec 1.5.6).
    ``subnet_id`` is the ENI's subnet (DescribeNetworkInterfaces ``SubnetId``; None: not known).
    """

    eni_id: str
    device_number: int
    network_card: int = 0
    ips: tuple[str, ...] = attrs.field(default=(), converter=_ips)
    prefixes: tuple[str, ...] = attrs.field(default=(), converter=_prefixes)
    is_trunk: bool = False
    is_efa: bool = False
    is_excluded: bool = False
    managed: bool = True
    subnet_id: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_eni_fields(self)
        for flag in ("is_trunk", "is_efa", "managed"):
            as_bool(flag, getattr(self, flag))


def _tuple_of_enis(value: Iterable[ObservedENI]) -> tuple[ObservedENI, ...]:
    if not isinstance(value, Iterable) or isinstance(value, str | bytes):
        raise StateError("enis", value, "must be an iterable of ObservedENI")
    enis = tuple(value)
    for seen in enis:
        if not isinstance(seen, ObservedENI):
            raise StateError("enis", seen, "must be an iterable of ObservedENI")
    return enis


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
    | IPv6PrefixAllocated
)
