"""FakeEC2: a deterministic, in-memory stand-in for the EC2 calls ipamd makes.

It carves secondary IPs (lowest free address first) and aligned /28 prefixes (lowest free
aligned block first) from one subnet, enforces the per-ENI address limit and the per-card
ENI limit, and answers each action with the event ipamd would see, following the call
family's retry rules (spec 6.2, 8). Faults, latency and throttling are not modelled here.
"""

from __future__ import annotations

import ipaddress
from collections import Counter

import attrs

from vpccni_model.actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model.errors import StateError
from vpccni_model.events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    Event,
    IPsAllocated,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model.limits import InstanceLimits
from vpccni_model.model import PREFIX_SIZE, NodeState, int_to_ip, ip_to_int, parse_cidr

AWS_RESERVED_LOW = 4
"""EC2 reserves the first four addresses of every subnet and the last one."""


@attrs.define
class _FakeENI:
    eni_id: str
    network_card: int
    device_number: int
    primary_ip: int
    ips: set[int] = attrs.field(factory=set)
    prefixes: set[int] = attrs.field(factory=set)


class FakeEC2:
    """Deterministic EC2 for one subnet (shared by every node that uses it).

    ``calls`` counts the API calls made, by API name.
    """

    def __init__(self, limits: InstanceLimits, subnet: str = "10.0.0.0/16") -> None:
        try:
            network = ipaddress.IPv4Network(subnet, strict=True)
        except ValueError as exc:
            raise StateError(
                "subnet", subnet, "expected an IPv4 network such as 10.0.0.0/16"
            ) from exc
        if network.prefixlen > 28:
            raise StateError("subnet", subnet, "a subnet must be /28 or larger")
        self.limits = limits
        self.subnet = network
        self._first = int(network.network_address) + AWS_RESERVED_LOW
        self._last = int(network.broadcast_address) - 1
        self._used: set[int] = set()
        self._enis: dict[str, _FakeENI] = {}
        self._next_id = 1
        self.calls: Counter[str] = Counter()

    # -- registration -----------------------------------------------------------------

    @classmethod
    def for_node(cls, state: NodeState, subnet: str = "10.0.0.0/16") -> FakeEC2:
        """A fake that already holds every ENI and CIDR of ``state``."""
        ec2 = cls(state.limits, subnet)
        for eni in state.enis:
            ips = {c.network for c in eni.cidrs if not c.is_prefix}
            prefixes = {c.network for c in eni.cidrs if c.is_prefix}
            ec2.register_eni(eni.eni_id, eni.network_card, eni.device_number, ips, prefixes)
        return ec2

    def register_eni(
        self,
        eni_id: str,
        network_card: int,
        device_number: int,
        ips: set[int] | None = None,
        prefixes: set[int] | None = None,
    ) -> None:
        """Record an ENI created elsewhere; its addresses are taken from the subnet."""
        if eni_id in self._enis:
            raise StateError("eni_id", eni_id, "already registered")
        taken = set(ips or ())
        for prefix in prefixes or ():
            taken.update(range(prefix, prefix + PREFIX_SIZE))
        clash = taken & self._used
        if clash:
            raise StateError("ips", int_to_ip(min(clash)), "already in use in the subnet")
        self._used |= taken
        primary = self._take_ips(1)
        if not primary:
            raise StateError("subnet", str(self.subnet), "no address left for a primary IP")
        self._enis[eni_id] = _FakeENI(
            eni_id, network_card, device_number, primary[0], set(ips or ()), set(prefixes or ())
        )
        self._bump_id(eni_id)

    def _bump_id(self, eni_id: str) -> None:
        if eni_id.startswith("eni-") and eni_id[4:].isdigit():
            self._next_id = max(self._next_id, int(eni_id[4:]) + 1)

    # -- subnet ------------------------------------------------------------------------

    @property
    def free_addresses(self) -> int:
        return self._last - self._first + 1 - len(self._used)

    def _take_ips(self, count: int) -> list[int]:
        """The ``count`` lowest free addresses, or [] when there are fewer."""
        out: list[int] = []
        ip = self._first
        while len(out) < count and ip <= self._last:
            if ip not in self._used:
                out.append(ip)
            ip += 1
        if len(out) < count:
            return []
        self._used.update(out)
        return out

    def _take_prefixes(self, count: int) -> list[int]:
        out: list[int] = []
        base = self._first - self._first % PREFIX_SIZE
        if base < self._first:
            base += PREFIX_SIZE
        while len(out) < count and base + PREFIX_SIZE - 1 <= self._last:
            if not any(ip in self._used for ip in range(base, base + PREFIX_SIZE)):
                out.append(base)
            base += PREFIX_SIZE
        if len(out) < count:
            return []
        for prefix in out:
            self._used.update(range(prefix, prefix + PREFIX_SIZE))
        return out

    def _release_ip(self, ip: int) -> None:
        self._used.discard(ip)

    def _release_prefix(self, prefix: int) -> None:
        self._used.difference_update(range(prefix, prefix + PREFIX_SIZE))

    # -- API ---------------------------------------------------------------------------

    def describe(self, eni_id: str) -> ObservedENI | None:
        """What IMDS / DescribeNetworkInterfaces shows for one ENI."""
        eni = self._enis.get(eni_id)
        if eni is None:
            return None
        return ObservedENI(
            eni_id=eni.eni_id,
            device_number=eni.device_number,
            network_card=eni.network_card,
            ips=tuple(int_to_ip(ip) for ip in sorted(eni.ips)),
            prefixes=tuple(f"{int_to_ip(p)}/28" for p in sorted(eni.prefixes)),
        )

    def observe(self) -> tuple[ObservedENI, ...]:
        """Every ENI this fake holds, as instance metadata would list them."""
        out = [self.describe(eni_id) for eni_id in self._enis]
        return tuple(
            sorted(
                (o for o in out if o is not None), key=lambda o: (o.network_card, o.device_number)
            )
        )

    def execute(self, action: Action) -> Event | None:
        """Perform one action; allocations return their outcome event, releases None."""
        if isinstance(action, AllocateIPs | AllocatePrefixes):
            return self._grow(action)
        if isinstance(action, AllocateENI):
            return self._create(action)
        if isinstance(action, ReleaseIPs):
            self.calls["UnassignPrivateIpAddresses"] += 1
            eni = self._enis.get(action.eni_id)
            for text in action.addresses:
                ip = ip_to_int(text)
                if eni is not None and ip in eni.ips:
                    eni.ips.discard(ip)
                    self._release_ip(ip)
            return None
        if isinstance(action, ReleasePrefixes):
            self.calls["UnassignPrivateIpAddresses"] += 1
            eni = self._enis.get(action.eni_id)
            for text in action.prefixes:
                prefix, _ = parse_cidr(text)
                if eni is not None and prefix in eni.prefixes:
                    eni.prefixes.discard(prefix)
                    self._release_prefix(prefix)
            return None
        if isinstance(action, FreeENI):
            self.calls["DetachNetworkInterface"] += 1
            self.calls["DeleteNetworkInterface"] += 1
            eni = self._enis.pop(action.eni_id, None)
            if eni is not None:
                self._release_ip(eni.primary_ip)
                for ip in eni.ips:
                    self._release_ip(ip)
                for prefix in eni.prefixes:
                    self._release_prefix(prefix)
            return None
        raise StateError("action", action, "not an action FakeEC2 knows")

    def _grow(self, action: AllocateIPs | AllocatePrefixes) -> Event:
        prefixes = isinstance(action, AllocatePrefixes)
        eni = self._enis.get(action.eni_id)
        self.calls["AssignPrivateIpAddresses"] += 1
        if eni is None:
            return AllocationFailed("InvalidNetworkInterfaceID.NotFound")
        room = self.limits.ipv4_per_eni - 1 - len(eni.ips) - len(eni.prefixes)
        if action.count > room:
            # ipamd resyncs from DescribeNetworkInterfaces after PrivateIpAddressLimitExceeded.
            self.calls["DescribeNetworkInterfaces"] += 1
            return self._report(eni, prefixes)
        taken = self._take_prefixes(action.count) if prefixes else self._take_ips(action.count)
        if not taken and action.count > 1:
            self.calls["AssignPrivateIpAddresses"] += 1
            taken = self._take_prefixes(1) if prefixes else self._take_ips(1)
        if not taken:
            code = (
                Ec2Error.INSUFFICIENT_CIDR_BLOCKS
                if prefixes
                else Ec2Error.INSUFFICIENT_FREE_ADDRESSES
            )
            return AllocationFailed(code)
        if prefixes:
            eni.prefixes.update(taken)
            return PrefixesAllocated(eni.eni_id, tuple(f"{int_to_ip(p)}/28" for p in taken))
        eni.ips.update(taken)
        return IPsAllocated(eni.eni_id, tuple(int_to_ip(ip) for ip in taken))

    def _report(self, eni: _FakeENI, prefixes: bool) -> Event:
        if prefixes:
            return PrefixesAllocated(
                eni.eni_id, tuple(f"{int_to_ip(p)}/28" for p in sorted(eni.prefixes))
            )
        return IPsAllocated(eni.eni_id, tuple(int_to_ip(ip) for ip in sorted(eni.ips)))

    def _card_limit(self, card: int) -> int:
        for nc in self.limits.network_cards:
            if nc.index == card:
                return nc.max_interfaces
        return self.limits.max_enis

    def _create(self, action: AllocateENI) -> Event:
        self.calls["CreateNetworkInterface"] += 1
        on_card = [e for e in self._enis.values() if e.network_card == action.network_card]
        if len(on_card) >= self._card_limit(action.network_card):
            return AllocationFailed("AttachmentLimitExceeded")
        if action.prefixes:
            primary = self._take_ips(1)
            taken = self._take_prefixes(action.count) if primary else []
            code = Ec2Error.INSUFFICIENT_CIDR_BLOCKS
        else:
            primary = self._take_ips(1 + action.count)
            taken, primary = primary[1:], primary[:1]
            code = Ec2Error.INSUFFICIENT_FREE_ADDRESSES
        if not primary or (action.count and not taken):
            for ip in primary:
                self._release_ip(ip)
            return AllocationFailed(
                code if primary or action.prefixes else Ec2Error.INSUFFICIENT_FREE_ADDRESSES
            )
        used_devices = {e.device_number for e in on_card}
        device = next(d for d in range(100) if d not in used_devices)
        eni_id = f"eni-{self._next_id}"
        self._next_id += 1
        self.calls["AttachNetworkInterface"] += 1
        self.calls["ModifyNetworkInterfaceAttribute"] += 1
        eni = _FakeENI(eni_id, action.network_card, device, primary[0])
        if action.prefixes:
            eni.prefixes.update(taken)
        else:
            eni.ips.update(taken)
        self._enis[eni_id] = eni
        return ENIAttached(
            eni_id=eni_id,
            device_number=device,
            network_card=action.network_card,
            ips=tuple(int_to_ip(ip) for ip in sorted(eni.ips)),
            prefixes=tuple(f"{int_to_ip(p)}/28" for p in sorted(eni.prefixes)),
        )
