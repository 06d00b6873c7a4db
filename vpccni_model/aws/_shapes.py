"""EC2 response shapes into the model's values, and the request shapes ipamd sends.

Pure functions over the dictionaries boto3 returns (the EC2 API reference's shapes): an ENI
(``NetworkInterface``) as instance metadata would list it, its secondary addresses and
prefixes, the lowest free device index on a card, the free aligned /28 blocks of a subnet,
and the description and tags ipamd puts on the ENIs it creates. No boto3 import, no call.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from vpccni_model._events import ObservedENI
from vpccni_model._ipv4 import PREFIX_SIZE, int_to_ip, ip_to_int, parse_cidr, prefix_text

#: awsutils.go ``eniDescriptionPrefix``: a new ENI's description is this and the instance id.
ENI_DESCRIPTION_PREFIX: Final = "aws-K8S-"
#: awsutils.go ``eniNodeTagKey``: the instance the ENI was created for.
NODE_TAG: Final = "node.k8s.amazonaws.com/instance_id"
#: awsutils.go ``eniCreatedAtTagKey``: when it was created (RFC 3339, UTC).
CREATED_AT_TAG: Final = "node.k8s.amazonaws.com/createdAt"
#: awsutils.go ``eniClusterTagKey``: CLUSTER_NAME, when set.
CLUSTER_TAG: Final = "cluster.k8s.amazonaws.com/name"
#: awsutils.go ``eniOwnerTagKey`` / ``eniOwnerTagValue``: set with the cluster tag.
OWNER_TAG: Final = "eks:eni:owner"
OWNER_VALUE: Final = "amazon-vpc-cni"
#: The tag that tells ipamd to leave an ENI alone (spec 1.5.6).
NO_MANAGE_TAG: Final = "node.k8s.amazonaws.com/no_manage"
#: awsutils.go ``maxENIs``: device indices 0..99.
MAX_DEVICES: Final = 100
#: EC2 reserves the first four addresses of a subnet and its last one.
RESERVED_LOW: Final = 4


def eni_tags(
    instance_id: str, created_at: str, cluster_name: str = "", extra: Mapping[str, str] = {}
) -> list[dict[str, str]]:
    """``createENITags``/``buildENITags``: the instance id, the creation time, the cluster
    name and owner when CLUSTER_NAME is set, then ADDITIONAL_ENI_TAGS; sorted by key, as
    ``convertTagsToSDKTags`` sorts them."""
    tags = {CREATED_AT_TAG: created_at, NODE_TAG: instance_id}
    if cluster_name:
        tags[CLUSTER_TAG] = cluster_name
        tags[OWNER_TAG] = OWNER_VALUE
    tags.update(extra)
    return [{"Key": key, "Value": tags[key]} for key in sorted(tags)]


def tag_map(resource: Mapping[str, Any]) -> dict[str, str]:
    """The ``TagSet`` (ENIs) or ``Tags`` (subnets, instances) of a resource as a dict."""
    pairs = resource.get("TagSet", resource.get("Tags", ())) or ()
    return {str(t.get("Key", "")): str(t.get("Value", "")) for t in pairs}


def primary_ip(eni: Mapping[str, Any]) -> str | None:
    """The ENI's primary private address (``Primary`` true, else ``PrivateIpAddress``)."""
    for entry in eni.get("PrivateIpAddresses", ()) or ():
        if entry.get("Primary"):
            return str(entry["PrivateIpAddress"])
    found = eni.get("PrivateIpAddress")
    return None if found is None else str(found)


def _sorted_ips(texts: Iterable[str]) -> tuple[str, ...]:
    return tuple(int_to_ip(ip) for ip in sorted({ip_to_int(t) for t in texts}))


def _sorted_prefixes(texts: Iterable[str]) -> tuple[str, ...]:
    return tuple(prefix_text(p) for p in sorted({parse_cidr(t)[0] for t in texts}))


def secondary_ips(entries: Iterable[Mapping[str, Any]], primary: str | None) -> tuple[str, ...]:
    """Every address of ``entries`` (``PrivateIpAddresses`` or ``AssignedPrivateIpAddresses``
    items) but the primary one, ascending: what ipamd adds as /32s
    (``addENIsecondaryIPsToDataStore`` skips the primary)."""
    return _sorted_ips(
        str(e["PrivateIpAddress"])
        for e in entries
        if not e.get("Primary") and e.get("PrivateIpAddress") != primary
    )


def prefixes_of(entries: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The ``Ipv4Prefix`` of each ``Ipv4Prefixes`` / ``AssignedIpv4Prefixes`` item, ascending."""
    return _sorted_prefixes(str(e["Ipv4Prefix"]) for e in entries)


def attachment_of(eni: Mapping[str, Any]) -> Mapping[str, Any] | None:
    attachment = eni.get("Attachment")
    return attachment if isinstance(attachment, Mapping) else None


def observed_eni(eni: Mapping[str, Any]) -> ObservedENI:
    """One attached ENI as ipamd's metadata reconcile sees it (spec 7.7): device, card,
    secondary IPs, prefixes, trunk and EFA from ``InterfaceType``, unmanaged when tagged
    ``no_manage`` (the MANAGE_UNTAGGED_ENI rule is the caller's)."""
    attachment = attachment_of(eni) or {}
    kind = eni.get("InterfaceType", "interface")
    return ObservedENI(
        eni_id=str(eni["NetworkInterfaceId"]),
        device_number=int(attachment.get("DeviceIndex", 0)),
        network_card=int(attachment.get("NetworkCardIndex", 0) or 0),
        ips=secondary_ips(eni.get("PrivateIpAddresses", ()) or (), primary_ip(eni)),
        prefixes=prefixes_of(eni.get("Ipv4Prefixes", ()) or ()),
        is_trunk=kind == "trunk",
        is_efa=kind in ("efa", "efa-only"),
        managed=tag_map(eni).get(NO_MANAGE_TAG, "").lower() != "true",
        subnet_id=str(eni["SubnetId"]) if eni.get("SubnetId") else None,
    )


def metadata_order(enis: Iterable[ObservedENI]) -> tuple[ObservedENI, ...]:
    """By card, then device number, then id: the order ``observe`` promises."""
    return tuple(sorted(enis, key=lambda e: (e.network_card, e.device_number, e.eni_id)))


def free_device(instance: Mapping[str, Any], card: int) -> int | None:
    """``awsGetFreeDeviceNumber``: the lowest device index below 100 that no ENI attached on
    ``card`` uses (from DescribeInstances' ``NetworkInterfaces``), None when all are taken."""
    used = set()
    for eni in instance.get("NetworkInterfaces", ()) or ():
        attachment = attachment_of(eni)
        if attachment is not None and int(attachment.get("NetworkCardIndex", 0) or 0) == card:
            used.add(int(attachment.get("DeviceIndex", 0)))
    return next((d for d in range(MAX_DEVICES) if d not in used), None)


def free_blocks(cidr: str, enis: Sequence[Mapping[str, Any]]) -> int:
    """Aligned /28 blocks wholly inside the usable range of subnet ``cidr`` (EC2's reserved
    first four and last address left out, as the fake counts them) that no address or
    prefix of ``enis`` touches."""
    network = ipaddress.IPv4Network(cidr)
    first = int(network.network_address) + RESERVED_LOW
    last = int(network.broadcast_address) - 1
    lowest = -(-first // PREFIX_SIZE) * PREFIX_SIZE
    highest = (last + 1) // PREFIX_SIZE * PREFIX_SIZE - PREFIX_SIZE
    if highest < lowest:
        return 0
    busy: set[int] = set()
    for eni in enis:
        for entry in eni.get("PrivateIpAddresses", ()) or ():
            ip = ip_to_int(str(entry["PrivateIpAddress"]))
            busy.add(ip - ip % PREFIX_SIZE)
        for entry in eni.get("Ipv4Prefixes", ()) or ():
            busy.add(parse_cidr(str(entry["Ipv4Prefix"]))[0])
    inside = sum(1 for base in busy if lowest <= base <= highest)
    return (highest - lowest) // PREFIX_SIZE + 1 - inside
