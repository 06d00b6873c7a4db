"""Boto3EC2: the model's actions as ipamd's EC2 calls, for one instance, through boto3.

Each :class:`~vpccni_model.Action` is one call family of awsutils.go / ipamd.go, made the way
ipamd makes it, and its answers become the model's events (spec 6.2-6.6, 8):

- ``AllocateIPs`` / ``AllocatePrefixes``: AssignPrivateIpAddresses with
  ``SecondaryPrivateIpAddressCount`` or ``Ipv4PrefixCount`` (``AllocIPAddresses``); on any
  error but PrivateIpAddressLimitExceeded, once more for one (``tryAssignIPs`` /
  ``tryAssignPrefixes``); on PrivateIpAddressLimitExceeded, DescribeNetworkInterfaces of the
  ENI and everything on it (``GetIPv4sFromEC2`` / ``GetIPv4PrefixesFromEC2``).
- ``AllocateENI``: CreateNetworkInterface (``createENI``: description ``aws-K8S-<instance>``,
  ipamd's tags, the count) in the subnet its ``destination`` names, or under subnet
  discovery in each eligible subnet DescribeSubnets lists until one succeeds
  (``_placement``); DescribeInstances for the lowest free device index on the card
  (``awsGetFreeDeviceNumber``); AttachNetworkInterface with ``DeviceIndex`` and
  ``NetworkCardIndex``; ModifyNetworkInterfaceAttribute ``DeleteOnTermination``
  (``AllocENI``). A failed attach deletes the new ENI; a failed modify frees it (describe,
  detach, delete).
- ``ReleaseIPs`` / ``ReleasePrefixes``: UnassignPrivateIpAddresses with
  ``PrivateIpAddresses`` or ``Ipv4Prefixes`` (``DeallocIPAddresses`` /
  ``DeallocPrefixAddresses``); a failure is only counted, as ipamd only logs it.
- ``FreeENI``: DescribeNetworkInterfaces for the attachment (not found: already freed),
  DetachNetworkInterface (retried as ipamd retries it), a pause (2 s in ipamd), then
  DeleteNetworkInterface (retried; not found counts as deleted) (``freeENI``).
- ``SignalTrunkENI``: no EC2 call; the CNINode write is left to ipamd or a Kubernetes client.
- IPv6 mode: ``AllocateIPv6ENI`` is ``AllocateENI``'s family with ``Ipv6AddressCount=1`` in
  the primary ENI's subnet; ``AllocateIPv6Prefix`` reads the ENI's ``Ipv6Prefixes`` and, with
  none, AssignIpv6Addresses ``Ipv6PrefixCount=1`` (``assignIPv6Prefix``).

Time: ``submit`` reports ``completes_at`` as ``at`` plus the wall time the calls took
(``time.perf_counter``), so a caller on its own clock sees real latency; the simulator's
cost model is not expected to run against it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from vpccni_model._actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocateIPv6ENI,
    AllocateIPv6Prefix,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
    SignalTrunkENI,
)
from vpccni_model._config import Config
from vpccni_model._errors import StateError
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    Event,
    IPsAllocated,
    IPv6PrefixAllocated,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model._limits import InstanceLimits, instance_limits
from vpccni_model._state import NodeState
from vpccni_model.aws._client import DEFAULT_MAX_ATTEMPTS, ApiMeter, make_client
from vpccni_model.aws._placement import Placement, excluded_subnets, placement
from vpccni_model.aws._shapes import (
    ENI_DESCRIPTION_PREFIX,
    attachment_of,
    eni_tags,
    free_blocks,
    free_device,
    metadata_order,
    observed_eni,
    prefixes_of,
    primary_ip,
    secondary_ips,
)
from vpccni_model.cloud._api import (
    ASSIGN,
    ASSIGN_IPV6,
    ATTACH,
    CREATE,
    DELETE,
    DESCRIBE,
    DETACH,
    MODIFY,
    UNASSIGN,
    CallResult,
    CloudStats,
)

DESCRIBE_INSTANCES = "DescribeInstances"
DESCRIBE_SUBNETS = "DescribeSubnets"
#: awsutils.go ``maxENIEC2APIRetries``: tries of the detach and delete loops.
ENI_API_RETRIES = 12
#: The detach and delete loops' first backoff and its cap (``NewSimpleBackoff``; ipamd adds
#: 15 % jitter, left out here).
DETACH_BACKOFF = 0.2
DELETE_BACKOFF = 0.5
MAX_BACKOFF = 60.0
#: ``FreeENI`` sleeps this long between detach and delete.
DETACH_WAIT = 2.0


def _rfc3339_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Run:
    """The attempts and failures of one call family."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str]] = []
        self.errors: list[tuple[str, str]] = []
        self.sdk_calls: list[tuple[str, str, str | None, float]] = []  # CallResult.sdk_calls


class Boto3EC2:
    """ipamd's EC2 calls for one instance, through a boto3 EC2 client; an
    :class:`~vpccni_model.cloud.Ec2`.

    ``Boto3EC2(instance_id, region=..., endpoint_url=...)`` builds its client (botocore's
    standard retry mode, ``max_attempts`` attempts per call); ``client=`` takes one made
    elsewhere (a Stubber's). At construction it reads the instance (DescribeInstances): its
    type, VPC, zone, and its primary ENI's subnet and security groups, where new ENIs go.
    The node is named ``None`` or by the instance id; any other name is a ``StateError``.

    ``cluster_name`` (CLUSTER_NAME) and ``additional_tags`` (ADDITIONAL_ENI_TAGS) go on the
    ENIs it creates, as ipamd tags them. ``sleep`` is how the driver waits (ipamd's 2 s
    between detach and delete, the backoff of its detach and delete loops); tests pass a
    function that returns at once.

    ``stats`` counts every attempt by API and outcome (throttled attempts that botocore
    retried included) and failures by error code; ``leaked_enis`` are ENIs whose delete
    gave up (their addresses stay taken in the subnet).
    """

    def __init__(
        self,
        instance_id: str,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        cluster_name: str = "",
        additional_tags: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(instance_id, str) or not instance_id.startswith("i-"):
            raise StateError("instance_id", instance_id, "must be an EC2 instance id (i-...)")
        if not isinstance(cluster_name, str):
            raise StateError("cluster_name", cluster_name, "must be a str")
        tags = dict(additional_tags or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise StateError("additional_tags", tags, "must map str to str")
        self.instance_id = instance_id
        self.cluster_name = cluster_name
        self.additional_tags = MappingProxyType(tags)
        self._sleep = sleep
        self.client: Any = (
            client
            if client is not None
            else make_client(region=region, endpoint_url=endpoint_url, max_attempts=max_attempts)
        )
        self.meter = ApiMeter()
        self.meter.attach(self.client)
        self._primary_ips: dict[str, str] = {}
        self._leaked: set[str] = set()
        instance = self._describe_instance(_Run())
        if instance is None:
            raise StateError("instance_id", instance_id, "DescribeInstances does not show it")
        self.instance_type = str(instance["InstanceType"])
        self.vpc_id = str(instance.get("VpcId", ""))
        self.availability_zone = str(instance.get("Placement", {}).get("AvailabilityZone", ""))
        primary = next(
            (
                eni
                for eni in instance.get("NetworkInterfaces", ())
                if (attachment_of(eni) or {}).get("DeviceIndex") == 0
                and int((attachment_of(eni) or {}).get("NetworkCardIndex", 0) or 0) == 0
            ),
            None,
        )
        if primary is None:
            raise StateError("instance_id", instance_id, "has no ENI at device 0 of card 0")
        self.primary_eni_id = str(primary["NetworkInterfaceId"])
        self.subnet_id = str(primary.get("SubnetId") or instance.get("SubnetId", ""))
        self.security_groups = tuple(sorted(str(g["GroupId"]) for g in primary.get("Groups", ())))

    # -- what the instance is ----------------------------------------------------------

    @property
    def limits(self) -> InstanceLimits:
        """The instance type's limits (``instance_limits``)."""
        return instance_limits(self.instance_type)

    def boot_state(self, config: Config, clock: float = 0.0) -> NodeState:
        """The node as ipamd finds it at first start: ``NodeState.boot`` with the instance's
        limits and its primary ENI's id. Only for an instance with nothing but its primary
        ENI and address (read a running node with ``vpccni_model.node_dump`` instead)."""
        for seen in self.observe():
            if seen.eni_id != self.primary_eni_id or seen.ips or seen.prefixes:
                raise StateError(
                    "instance_id",
                    self.instance_id,
                    f"already has {seen.eni_id} with addresses or ENIs beyond the primary;"
                    " import it with vpccni_model.node_dump",
                )
        return NodeState.boot(self.limits, config, clock, primary_eni_id=self.primary_eni_id)

    @property
    def stats(self) -> CloudStats:
        """Attempts per API and outcome, failures by code, leaked ENIs (``subnets`` is
        empty: free space costs calls, ask :meth:`subnet_free`)."""
        return CloudStats(
            api=self.meter.api,
            errors=MappingProxyType(dict(sorted(self.meter.errors.items()))),
            subnets=MappingProxyType({}),
            leaked_enis=len(self._leaked),
        )

    @property
    def calls(self) -> Counter[str]:
        """Attempts made, by API name."""
        return self.meter.calls()

    # -- the Ec2 protocol --------------------------------------------------------------

    def submit(self, action: Action, *, node: str | None, at: float) -> CallResult:
        """Make ``action``'s call family now; ``completes_at`` is ``at`` plus the wall time
        it took. ``api_calls`` lists every attempt, ``errors`` each failed (not throttled)
        attempt's code."""
        self._check_node(node)
        family = _FAMILIES.get(type(action))
        if family is None:
            raise StateError("action", action, "not an action Boto3EC2 knows")
        run = _Run()
        started = time.perf_counter()
        event = family(self, run, action)
        took = time.perf_counter() - started
        return CallResult(
            event,
            float(at) + took,
            tuple(run.attempts),
            tuple(run.errors),
            sdk_calls=tuple(run.sdk_calls),
        )

    def execute(self, action: Action, *, node: str | None = None) -> Event | None:
        """:meth:`submit`'s call family; the event ipamd sees (None for releases and frees)."""
        return self.submit(action, node=node, at=0.0).event

    def observe(self, node: str | None = None) -> tuple[ObservedENI, ...]:
        """The instance's attached ENIs (DescribeNetworkInterfaces filtered by
        ``attachment.instance-id``, every page), by card, then device number."""
        self._check_node(node)
        enis = self._instance_enis(_Run())
        return metadata_order(observed_eni(eni) for eni in enis)

    def subnet_free(self, name: str | None = None) -> tuple[int, int]:
        """(AvailableIpAddressCount, wholly free aligned /28 blocks) of subnet ``name`` (a
        subnet id; None: the primary ENI's). The blocks are counted from the addresses and
        prefixes of every ENI in the subnet (one DescribeNetworkInterfaces); CIDR
        reservations are not read."""
        subnet_id = self.subnet_id if name is None else name
        run = _Run()
        found, code = self._call(run, DESCRIBE_SUBNETS, SubnetIds=[subnet_id])
        if found is None or not found.get("Subnets"):
            raise StateError("subnet", subnet_id, f"DescribeSubnets failed: {code}")
        subnet = found["Subnets"][0]
        enis = self._paged(run, Filters=[{"Name": "subnet-id", "Values": [subnet_id]}])
        if enis is None:
            raise StateError("subnet", subnet_id, "DescribeNetworkInterfaces failed")
        return int(subnet["AvailableIpAddressCount"]), free_blocks(subnet["CidrBlock"], enis)

    # -- reading EC2 -------------------------------------------------------------------

    def _check_node(self, node: str | None) -> None:
        if node is not None and node != self.instance_id:
            raise StateError("node", node, f"this driver serves {self.instance_id} only")

    def _call(self, run: _Run, api: str, **params: Any) -> tuple[dict[str, Any] | None, str | None]:
        started = time.perf_counter()
        answer = self.meter.call(self.client, api, run.attempts, run.errors, **params)
        outcome = run.attempts[-1][1] if run.attempts else "ok"
        run.sdk_calls.append((api, outcome, answer[1], time.perf_counter() - started))
        return answer

    def _describe_instance(self, run: _Run) -> dict[str, Any] | None:
        instance, code = self._read_instance(run)
        if code is not None:
            raise StateError("instance_id", self.instance_id, f"DescribeInstances failed: {code}")
        return instance

    def _read_instance(self, run: _Run) -> tuple[dict[str, Any] | None, str | None]:
        """DescribeInstances of the instance: (it or None when not listed, None), or (None,
        the error code)."""
        found, code = self._call(run, DESCRIBE_INSTANCES, InstanceIds=[self.instance_id])
        if found is None:
            return None, code
        for reservation in found.get("Reservations", ()):
            for instance in reservation.get("Instances", ()):
                if instance.get("InstanceId") == self.instance_id:
                    self._learn(instance.get("NetworkInterfaces", ()))
                    return dict(instance), None
        return None, None

    def _paged(self, run: _Run, **params: Any) -> list[dict[str, Any]] | None:
        enis: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page_params = dict(params, NextToken=token) if token else params
            page, _ = self._call(run, DESCRIBE, **page_params)
            if page is None:
                return None
            enis.extend(page.get("NetworkInterfaces", ()))
            token = page.get("NextToken")
            if not token:
                break
        self._learn(enis)
        return enis

    def _instance_enis(self, run: _Run) -> list[dict[str, Any]]:
        enis = self._paged(
            run, Filters=[{"Name": "attachment.instance-id", "Values": [self.instance_id]}]
        )
        if enis is None:
            raise StateError("instance_id", self.instance_id, "DescribeNetworkInterfaces failed")
        return enis

    def _learn(self, enis: Any) -> None:
        """Remember each ENI's primary address: an Assign answer must not report it."""
        for eni in enis:
            address = primary_ip(eni)
            if address is not None:
                self._primary_ips[str(eni["NetworkInterfaceId"])] = address

    def _describe_eni(self, run: _Run, eni_id: str) -> tuple[dict[str, Any] | None, str | None]:
        found, code = self._call(run, DESCRIBE, NetworkInterfaceIds=[eni_id])
        if found is None:
            return None, code
        enis = found.get("NetworkInterfaces", ())
        if not enis:
            return None, Ec2Error.NOT_FOUND
        self._learn(enis)
        return dict(enis[0]), None

    # -- the call families -------------------------------------------------------------

    def _assign(self, run: _Run, eni_id: str, count: int, prefixes: bool) -> tuple[Any, str | None]:
        field = "Ipv4PrefixCount" if prefixes else "SecondaryPrivateIpAddressCount"
        return self._call(run, ASSIGN, NetworkInterfaceId=eni_id, **{field: count})

    def _grow(self, run: _Run, action: AllocateIPs | AllocatePrefixes) -> Event:
        """``tryAssignIPs`` / ``tryAssignPrefixes`` around ``AllocIPAddresses`` (ipamd.go)."""
        prefixes = isinstance(action, AllocatePrefixes)
        eni_id = action.eni_id
        if action.count < 1:  # AllocIPAddresses makes no call for nothing
            return PrefixesAllocated(eni_id, ()) if prefixes else IPsAllocated(eni_id, ())
        answer, code = self._assign(run, eni_id, action.count, prefixes)
        if code is not None and code != Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED:
            answer, code = self._assign(run, eni_id, 1, prefixes)
        if code is None:
            if prefixes:
                return PrefixesAllocated(
                    eni_id, prefixes_of(answer.get("AssignedIpv4Prefixes", ()))
                )
            # EC2 lists the new addresses only; moto lists every address of the ENI, which
            # the datastore takes as duplicates. The primary is never a pod address.
            ips = secondary_ips(
                answer.get("AssignedPrivateIpAddresses", ()), self._primary_ips.get(eni_id)
            )
            return IPsAllocated(eni_id, ips)
        if code != Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED:
            return AllocationFailed(code)
        # The datastore is behind EC2: read back what the ENI has.
        eni, code = self._describe_eni(run, eni_id)
        if eni is None:
            return AllocationFailed(code or Ec2Error.NOT_FOUND)
        if prefixes:
            return PrefixesAllocated(eni_id, prefixes_of(eni.get("Ipv4Prefixes", ())))
        return IPsAllocated(
            eni_id, secondary_ips(eni.get("PrivateIpAddresses", ()), primary_ip(eni))
        )

    def _list_subnets(self, run: _Run) -> tuple[list[dict[str, Any]] | None, str | None]:
        """``GetVpcSubnets``: DescribeSubnets of the instance's VPC and zone."""
        found, code = self._call(
            run,
            DESCRIBE_SUBNETS,
            Filters=[
                {"Name": "vpc-id", "Values": [self.vpc_id]},
                {"Name": "availability-zone", "Values": [self.availability_zone]},
            ],
        )
        return (None, code) if found is None else (list(found.get("Subnets", ())), None)

    def _create(self, run: _Run, action: AllocateENI) -> Event:
        """``AllocENI``: create (in each subnet the destination allows, until one succeeds),
        attach at the lowest free device, DeleteOnTermination."""
        self._check_card(action.network_card)
        where = placement(
            action.destination,
            primary_subnet=self.subnet_id,
            primary_groups=self.security_groups,
            cluster_name=self.cluster_name,
            list_subnets=lambda: self._list_subnets(run),
        )
        if isinstance(where, str):
            return AllocationFailed(where)  # createENI gave up before any creation
        field = "Ipv4PrefixCount" if action.prefixes else "SecondaryPrivateIpAddressCount"
        return self._new_eni(
            run, action.network_card, where, {field: action.count} if action.count > 0 else {}
        )

    def _create_ipv6(self, run: _Run, action: AllocateIPv6ENI) -> Event:
        """IPv6 mode's new ENI (``createENIInput`` with ``Ipv6AddressCount=1``): the primary
        ENI's subnet and groups, as the fake places it; attached as ``AllocENI`` attaches."""
        self._check_card(action.network_card)
        where = Placement((self.subnet_id,), self.security_groups)
        return self._new_eni(run, action.network_card, where, {"Ipv6AddressCount": 1})

    def _check_card(self, card: int) -> None:
        if card not in self.limits.card_indices:
            raise StateError(
                "network_card", card, f"{self.instance_type} has cards {self.limits.card_indices}"
            )

    def _new_eni(self, run: _Run, card: int, where: Placement, count: dict[str, int]) -> Event:
        """Create in each of ``where``'s subnets until one succeeds, attach at the lowest
        free device of ``card``, set DeleteOnTermination, then setupENI's exclusion check."""
        tags = eni_tags(self.instance_id, _rfc3339_now(), self.cluster_name, self.additional_tags)
        created: dict[str, Any] | None = None
        code: str | None = Ec2Error.NO_ELIGIBLE_SUBNET
        for subnet_id in where.subnets:
            answer, code = self._call(
                run,
                CREATE,
                Description=ENI_DESCRIPTION_PREFIX + self.instance_id,
                Groups=list(where.groups),
                SubnetId=subnet_id,
                TagSpecifications=[{"ResourceType": "network-interface", "Tags": tags}],
                **count,
            )
            if answer is not None:
                created = dict(answer["NetworkInterface"])
                created.setdefault("SubnetId", subnet_id)
                break
        if created is None:
            return AllocationFailed(code or Ec2Error.NO_ELIGIBLE_SUBNET)
        self._learn([created])
        eni_id = str(created["NetworkInterfaceId"])
        # attachENI: the lowest free device number on the card, from DescribeInstances (none
        # free: EC2's code for a full card).
        instance, code = self._read_instance(run)
        device = None if instance is None else free_device(instance, card)
        attached: dict[str, Any] | None = None
        if device is None and code is None:
            code = Ec2Error.ATTACHMENT_LIMIT_EXCEEDED
        if device is not None:
            attached, code = self._call(
                run,
                ATTACH,
                DeviceIndex=device,
                InstanceId=self.instance_id,
                NetworkInterfaceId=eni_id,
                NetworkCardIndex=card,
            )
        if attached is None or device is None:
            self._delete(run, eni_id)  # AllocENI deletes the ENI it could not attach
            return AllocationFailed(code or Ec2Error.ATTACHMENT_LIMIT_EXCEEDED)
        _, code = self._call(
            run,
            MODIFY,
            Attachment={"AttachmentId": attached["AttachmentId"], "DeleteOnTermination": True},
            NetworkInterfaceId=eni_id,
        )
        if code is not None:
            self._free(run, eni_id)  # AllocENI frees an ENI whose attribute it could not set
            return AllocationFailed(code)
        subnet = str(created["SubnetId"])
        excluded = False
        if where.check:  # setupENI: IsSubnetExcluded of the ENI's subnet (a failure: no)
            listed, _ = self._list_subnets(run)
            excluded = subnet in excluded_subnets(listed or (), self.cluster_name)
        return ENIAttached(
            eni_id=eni_id,
            device_number=device,
            network_card=card,
            ips=secondary_ips(created.get("PrivateIpAddresses", ()), primary_ip(created)),
            prefixes=prefixes_of(created.get("Ipv4Prefixes", ())),
            # setupENI marks an ENI in an excluded subnet when subnet discovery is on
            is_excluded=excluded,
            subnet_id=subnet,
        )

    def _ipv6_prefix(self, run: _Run, action: AllocateIPv6Prefix) -> Event:
        """``assignIPv6Prefix``: the ENI's IPv6 prefixes from EC2 (``GetIPv6PrefixesFromEC2``)
        and, when it has none, AssignIpv6Addresses ``Ipv6PrefixCount=1``
        (``AllocIPv6Prefixes``). The answer lists them in EC2's order."""
        eni, code = self._describe_eni(run, action.eni_id)
        if eni is None:
            return AllocationFailed(code or Ec2Error.NOT_FOUND)
        held = tuple(str(p["Ipv6Prefix"]) for p in eni.get("Ipv6Prefixes", ()) or ())
        if held:
            return IPv6PrefixAllocated(action.eni_id, held)
        answer, code = self._call(
            run, ASSIGN_IPV6, NetworkInterfaceId=action.eni_id, Ipv6PrefixCount=1
        )
        if answer is None:
            return AllocationFailed(code or Ec2Error.NOT_FOUND)
        return IPv6PrefixAllocated(
            action.eni_id, tuple(str(p) for p in answer.get("AssignedIpv6Prefixes", ()))
        )

    def _release_ips(self, run: _Run, action: ReleaseIPs) -> None:
        if action.addresses:  # DeallocIPAddresses makes no call for nothing
            self._call(
                run,
                UNASSIGN,
                NetworkInterfaceId=action.eni_id,
                PrivateIpAddresses=list(action.addresses),
            )

    def _release_prefixes(self, run: _Run, action: ReleasePrefixes) -> None:
        if action.prefixes:
            self._call(
                run, UNASSIGN, NetworkInterfaceId=action.eni_id, Ipv4Prefixes=list(action.prefixes)
            )

    def _signal_trunk(self, run: _Run, action: SignalTrunkENI) -> None:
        """A CNINode write, not an EC2 call: nothing here."""

    def _free_eni(self, run: _Run, action: FreeENI) -> None:
        self._free(run, action.eni_id)

    def _free(self, run: _Run, eni_id: str) -> None:
        """``freeENI``: the attachment from EC2, detach (retried), wait, delete (retried)."""
        eni, _ = self._describe_eni(run, eni_id)
        if eni is None:
            return  # not found: already freed; any other error: it stays attached
        attachment = attachment_of(eni)
        if attachment is None or not attachment.get("AttachmentId"):
            return  # no attachment id: ipamd's detach cannot succeed and it gives up
        if not self._retrying(
            run, DETACH, DETACH_BACKOFF, (), AttachmentId=attachment["AttachmentId"]
        ):
            return
        self._sleep(DETACH_WAIT)
        self._delete(run, eni_id)

    def _delete(self, run: _Run, eni_id: str) -> None:
        """``deleteENI``: retried; not found counts as deleted; giving up leaks the ENI."""
        if self._retrying(
            run, DELETE, DELETE_BACKOFF, (Ec2Error.NOT_FOUND,), NetworkInterfaceId=eni_id
        ):
            self._primary_ips.pop(eni_id, None)
        else:
            self._leaked.add(eni_id)

    def _retrying(
        self, run: _Run, api: str, backoff: float, done_codes: tuple[str, ...], **params: Any
    ) -> bool:
        """``retry.NWithBackoff``: up to ENI_API_RETRIES tries, the pause doubling from
        ``backoff`` to MAX_BACKOFF; True when one succeeded (or ended with a done code)."""
        delay = backoff
        for attempt in range(ENI_API_RETRIES):
            _, code = self._call(run, api, **params)
            if code is None or code in done_codes:
                return True
            if attempt + 1 < ENI_API_RETRIES:
                self._sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
        return False


_FAMILIES: dict[type, Callable[[Boto3EC2, _Run, Any], Event | None]] = {
    AllocateIPs: Boto3EC2._grow,
    AllocatePrefixes: Boto3EC2._grow,
    AllocateENI: Boto3EC2._create,
    ReleaseIPs: Boto3EC2._release_ips,
    ReleasePrefixes: Boto3EC2._release_prefixes,
    FreeENI: Boto3EC2._free_eni,
    SignalTrunkENI: Boto3EC2._signal_trunk,
    AllocateIPv6ENI: Boto3EC2._create_ipv6,
    AllocateIPv6Prefix: Boto3EC2._ipv6_prefix,
}
