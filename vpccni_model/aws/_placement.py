"""Where a new ENI goes on real EC2: an ``AllocateENI``'s destination as the subnets ipamd's
``createENI`` tries, in order, with the security groups it gives them (spec 1.5.7, 6.4).

The tag rules are the model's own (``vpccni_model._subnets``: ``subnet_eligible``,
``subnet_excluded``), applied to what DescribeSubnets lists for the node's VPC and
availability zone (``GetVpcSubnets``), most ``AvailableIpAddressCount`` first (a stable sort:
ties keep EC2's order). The listing is passed in as a function so that this module makes no
call itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from vpccni_model._events import Ec2Error
from vpccni_model._subnets import (
    DiscoveredSubnet,
    ENIConfigSubnet,
    ENIDestination,
    subnet_eligible,
    subnet_excluded,
)
from vpccni_model.aws._shapes import tag_map

#: ``() -> (subnets, None)`` or ``(None, error code)``: DescribeSubnets of the node's VPC and
#: zone.
Lister = Callable[[], tuple[Sequence[Mapping[str, Any]] | None, str | None]]


@attrs.frozen
class Placement:
    """The subnets to try in order, the security groups, and whether ``setupENI`` then asks
    ``IsSubnetExcluded`` of the ENI's subnet (subnet discovery on: ``check``)."""

    subnets: tuple[str, ...]
    groups: tuple[str, ...]
    check: bool = False


def by_room(subnets: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``GetVpcSubnets``' order: most available addresses first, ties in EC2's order."""
    return sorted(subnets, key=lambda s: -int(s.get("AvailableIpAddressCount", 0)))


def excluded_subnets(subnets: Sequence[Mapping[str, Any]], cluster_name: str) -> frozenset[str]:
    """The ids of ``subnets`` that ``IsSubnetExcluded`` calls excluded (a subnet not listed
    is not excluded)."""
    return frozenset(
        str(s["SubnetId"]) for s in subnets if subnet_excluded(tag_map(s), cluster_name)
    )


def placement(
    destination: ENIDestination,
    *,
    primary_subnet: str,
    primary_groups: tuple[str, ...],
    cluster_name: str,
    list_subnets: Lister,
) -> Placement | str:
    """Where ``destination`` sends a new ENI, or the error code when ipamd gives up before
    creating anything (no eligible subnet, the primary subnet excluded, or the listing it
    needed failed)."""
    if isinstance(destination, ENIConfigSubnet):
        # createENIUsingCustomCfg: the ENIConfig's subnet, its groups or the primary ENI's;
        # no listing, no eligibility check. setupENI checks exclusion when discovery is on.
        groups = destination.security_groups or primary_groups
        return Placement((destination.subnet,), groups, destination.exclusion_check)
    listed, code = list_subnets()
    if isinstance(destination, DiscoveredSubnet):
        if listed is None:
            # DescribeSubnets failed: the primary subnet, unless IsSubnetExcluded (which
            # lists again) says it is excluded or cannot tell.
            listed, code = list_subnets()
            if listed is None:
                return code or Ec2Error.NO_ELIGIBLE_SUBNET
            if primary_subnet in excluded_subnets(listed, cluster_name):
                return Ec2Error.NO_ELIGIBLE_SUBNET
            return Placement((primary_subnet,), primary_groups, True)
        order = tuple(
            str(s["SubnetId"])
            for s in by_room(listed)
            if subnet_eligible(tag_map(s), str(s["SubnetId"]) == primary_subnet, cluster_name)
        )
        if not order:
            return Ec2Error.NO_ELIGIBLE_SUBNET
        return Placement(order, primary_groups, True)
    # PrimarySubnet (discovery off): refused when IsSubnetExcluded says so; a failed listing
    # is logged by ipamd and the creation goes ahead.
    if listed is not None and primary_subnet in excluded_subnets(listed, cluster_name):
        return Ec2Error.NO_ELIGIBLE_SUBNET
    return Placement((primary_subnet,), primary_groups)
