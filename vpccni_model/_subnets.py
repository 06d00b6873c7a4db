"""Where a new ENI goes, and ipamd's rules over subnet tags (spec 1.5.1, 1.5.7, 6.4).

``AllocateENI`` carries one destination value (``ENIDestination``), chosen by the tick from
the node's mode (``_eniconfig.eni_destination``), which the EC2 driver honours:

- ``PrimarySubnet``: subnet discovery off, no custom networking. The primary ENI's subnet and
  security groups; ``createENI`` refuses when that subnet is excluded (``IsSubnetExcluded``).
- ``ENIConfigSubnet``: custom networking. The ENIConfig's subnet with its security groups, or
  the primary ENI's when the list is empty (``createENIUsingCustomCfg``); one attempt, no
  eligibility check.
- ``DiscoveredSubnet``: subnet discovery on. Every eligible subnet of the node's VPC and
  availability zone, most available addresses first, until one creation succeeds
  (``createENI``, ``GetVpcSubnets``), with the primary ENI's security groups.

The tag rules are pure functions of a subnet's tags (awsutils.go ``isSubnetValidForENICreation``,
``IsSubnetExcluded``, ``ValidSubnetTagsMatchingClusterName``), so a fake and a real driver
decide alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from vpccni_model._checks import as_bool, as_text, as_tuple

#: The subnet tag that opts a subnet in (any value but "0") or out ("0") of pod ENIs.
ROLE_TAG: Final = "kubernetes.io/role/cni"
#: Its value that excludes a subnet.
ROLE_EXCLUDED: Final = "0"
#: Prefix of the cluster tags: ``cni.networking.k8s.aws/cluster/<CLUSTER_NAME>``.
CLUSTER_TAG_PREFIX: Final = "cni.networking.k8s.aws/cluster/"


def _tag(tags: Mapping[str, str], key: str) -> str:
    """``getTagValue``: the tag's value, "" when absent (so an empty value reads as absent)."""
    return tags.get(key, "")


def cluster_tags_match(tags: Mapping[str, str], cluster_name: str) -> bool:
    """``ValidSubnetTagsMatchingClusterName``: true when CLUSTER_NAME is empty, when the subnet
    has no cluster tag at all, or when one of its cluster tags is this cluster's."""
    if not cluster_name:
        return True
    mine = CLUSTER_TAG_PREFIX + cluster_name
    cluster_keys = [key for key in tags if key.startswith(CLUSTER_TAG_PREFIX)]
    return not cluster_keys or mine in cluster_keys


def subnet_excluded(tags: Mapping[str, str], cluster_name: str = "") -> bool:
    """``IsSubnetExcluded`` (spec 1.5.7): the role tag is "0", or it is set (to anything else)
    and the cluster tags name other clusters only. Untagged is not excluded. (A subnet the
    node's VPC and zone do not list is not excluded either: the caller's case.)"""
    role = _tag(tags, ROLE_TAG)
    if not role:
        return False
    if role == ROLE_EXCLUDED:
        return True
    return not cluster_tags_match(tags, cluster_name)


def subnet_eligible(tags: Mapping[str, str], is_primary: bool, cluster_name: str = "") -> bool:
    """``isSubnetValidForENICreation`` (spec 6.4): role tag "0" never; no role tag only for the
    primary subnet (backwards compatibility); otherwise the cluster tags must match."""
    role = _tag(tags, ROLE_TAG)
    if role == ROLE_EXCLUDED:
        return False
    if not role:
        return is_primary
    return cluster_tags_match(tags, cluster_name)


# -- destinations ------------------------------------------------------------------------------


@attrs.frozen
class PrimarySubnet:
    """Subnet discovery off, no custom networking: the primary ENI's subnet and security
    groups, unless that subnet is excluded (then ipamd creates nothing, spec 6.4)."""


@attrs.frozen
class DiscoveredSubnet:
    """Subnet discovery on (no custom networking): the driver tries every eligible subnet of
    the node's VPC and zone (``subnet_eligible``), most available addresses first, until one
    creation succeeds; the primary ENI's security groups (spec 6.4)."""


def _groups(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        value = tuple(value)
    return as_tuple("security_groups", value, str, "security group ids")


@attrs.frozen
class ENIConfigSubnet:
    """Custom networking: the ENIConfig's ``subnet``, with its ``security_groups`` (empty: the
    primary ENI's, ``createENIUsingCustomCfg``). One attempt, no eligibility check.

    ``exclusion_check``: subnet discovery is on too, so ipamd's ``setupENI`` marks the new ENI
    excluded when its subnet is (``subnet_excluded``, spec 1.5.7).
    """

    subnet: str
    security_groups: tuple[str, ...] = attrs.field(default=(), converter=_groups)
    exclusion_check: bool = True

    def __attrs_post_init__(self) -> None:
        as_text("subnet", self.subnet)
        for group in self.security_groups:
            as_text("security_groups", group)
        as_bool("exclusion_check", self.exclusion_check)


ENIDestination = PrimarySubnet | DiscoveredSubnet | ENIConfigSubnet

PRIMARY_SUBNET: Final = PrimarySubnet()
DISCOVERED_SUBNET: Final = DiscoveredSubnet()
