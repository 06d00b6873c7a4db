"""One subnet's address space: which addresses are taken, and the lowest-first allocator
(IPv4 addresses and /28s; ``IPv6Prefixes`` for the /80s of an IPv6 CIDR).

The fake's EC2 hands out secondary IPs lowest free address first and /28 prefixes lowest
wholly free aligned block first, so that runs are deterministic (real EC2 picks as it likes).
Per-/28 usage counters make free-block counts O(1), and scan starts keep a search from
rescanning the packed low end of a busy subnet.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping

from vpccni_model._errors import StateError
from vpccni_model._events import Ec2Error
from vpccni_model._ip6 import IPV6_PREFIX_LENGTH, IPV6_PREFIX_SIZE, parse_ipv6_subnet
from vpccni_model._ipv4 import PREFIX_SIZE

AWS_RESERVED_LOW = 4
"""EC2 reserves the first four addresses of every subnet and the last one."""


def new_subnet(
    name: str,
    cidr: str,
    others: Iterable[Subnet],
    tags: Mapping[str, str] | None = None,
    zone: str = "",
) -> Subnet:
    """The subnet ``name`` over ``cidr`` (``a.b.c.d/n``, /28 or larger), which must not
    overlap any of ``others``, with its EC2 ``tags`` and availability ``zone``."""
    if not isinstance(name, str) or not name:
        raise StateError("subnets", name, "a subnet name must be a non-empty string")
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except (TypeError, ValueError) as exc:
        raise StateError("subnet", cidr, "expected an IPv4 network such as 10.0.0.0/16") from exc
    if network.prefixlen > 28:
        raise StateError("subnet", cidr, "a subnet must be /28 or larger")
    for other in others:
        if network.overlaps(other.network):
            raise StateError("subnet", cidr, f"overlaps subnet {other.name!r}")
    tags = {} if tags is None else tags
    if not isinstance(tags, Mapping) or not all(
        type(k) is str and type(v) is str for k, v in tags.items()
    ):
        raise StateError("subnet_tags", tags, f"the tags of {name!r} must map str to str")
    if type(zone) is not str:
        raise StateError("subnet_zones", zone, f"the zone of {name!r} must be a str")
    return Subnet(name, network, dict(tags), zone)


class Subnet:
    """One subnet's address space: the usable range and per-/28 usage counters; its tags and
    availability zone, which subnet discovery reads (``_subnets``)."""

    def __init__(
        self,
        name: str,
        network: ipaddress.IPv4Network,
        tags: dict[str, str] | None = None,
        zone: str = "",
    ) -> None:
        self.name = name
        self.network = network
        self.tags: dict[str, str] = {} if tags is None else tags
        self.zone = zone
        self.first = int(network.network_address) + AWS_RESERVED_LOW
        self.last = int(network.broadcast_address) - 1
        self.used: set[int] = set()
        self._block_used: Counter[int] = Counter()
        # Aligned blocks wholly inside [first, last]; only these can become prefixes.
        self._lowest_block = -(-self.first // PREFIX_SIZE) * PREFIX_SIZE
        self._highest_block = (self.last + 1) // PREFIX_SIZE * PREFIX_SIZE - PREFIX_SIZE
        self._blocks = max(0, (self._highest_block - self._lowest_block) // PREFIX_SIZE + 1)
        self._busy_blocks = 0
        # Scan starts: every address below _free_from is used or in _holes (a heap of the
        # addresses freed below it, some taken again since), and every whole block below
        # _free_block_from has a used address, which only moves down when a block frees. So
        # a search never rescans the packed low end of a busy subnet for its few holes.
        self._free_from = self.first
        self._holes: list[int] = []
        self._free_block_from = self._lowest_block

    def usable(self, ip: int) -> bool:
        return self.first <= ip <= self.last

    def _whole_block(self, base: int) -> bool:
        return self._lowest_block <= base <= self._highest_block

    @property
    def free_addresses(self) -> int:
        return self.last - self.first + 1 - len(self.used)

    @property
    def free_blocks(self) -> int:
        return self._blocks - self._busy_blocks

    def mark(self, ip: int) -> None:
        self.used.add(ip)
        base = ip - ip % PREFIX_SIZE
        self._block_used[base] += 1
        if self._block_used[base] == 1 and self._whole_block(base):
            self._busy_blocks += 1

    def unmark(self, ip: int) -> None:
        if ip not in self.used:
            return
        self.used.discard(ip)
        if ip < self._free_from:
            holes = self._holes
            heapq.heappush(holes, ip)
            if len(holes) > 2 * (self._free_from - self.first) + 64:
                # Entries taken again by ``mark`` pile up in prefix mode: keep the free ones.
                self._holes = sorted({h for h in holes if h not in self.used})
        base = ip - ip % PREFIX_SIZE
        self._block_used[base] -= 1
        if self._block_used[base] == 0:
            del self._block_used[base]
            if self._whole_block(base):
                self._busy_blocks -= 1
                self._free_block_from = min(self._free_block_from, base)

    def take_ips(self, count: int) -> list[int]:
        """The ``count`` lowest free addresses, or [] when there are fewer."""
        if count < 1 or count > self.free_addresses:
            return []
        out: list[int] = []
        used, holes = self.used, self._holes
        # The holes are below the scan start, so they come first, lowest first.
        while holes and len(out) < count:
            ip = heapq.heappop(holes)
            if ip not in used and (not out or out[-1] != ip):  # not taken since, not twice
                out.append(ip)
        if len(out) < count:
            ip = self._free_from
            while len(out) < count and ip <= self.last:
                if ip % PREFIX_SIZE == 0 and self._block_used.get(ip, 0) == PREFIX_SIZE:
                    ip += PREFIX_SIZE  # the whole block is taken
                    continue
                if ip not in used:
                    out.append(ip)
                ip += 1
            self._free_from = ip  # everything below is now used or a hole
        for taken in out:
            self.mark(taken)
        return out

    def take_prefixes(self, count: int) -> list[int]:
        """The ``count`` lowest wholly free aligned /28 blocks, or [] when there are fewer."""
        if count < 1 or count > self.free_blocks:
            return []
        out: list[int] = []
        base = self._free_block_from
        while len(out) < count and base <= self._highest_block:
            if not self._block_used.get(base):
                out.append(base)
            base += PREFIX_SIZE
        for prefix in out:
            for ip in range(prefix, prefix + PREFIX_SIZE):
                self.mark(ip)
        self._free_block_from = base  # every whole block below now has a used address
        return out

    def carve(self, count: int, prefixes: bool) -> tuple[int, list[int]] | str:
        """A new ENI's primary IP and its ``count`` IPs or prefixes, or the EC2 error code."""
        if prefixes:
            primary = self.take_ips(1)
            taken = self.take_prefixes(count) if primary and count else []
            code = Ec2Error.INSUFFICIENT_CIDR_BLOCKS
        else:
            primary = self.take_ips(1 + count)
            taken, primary = primary[1:], primary[:1]
            code = Ec2Error.INSUFFICIENT_FREE_ADDRESSES
        if not primary or (count and not taken):
            for ip in primary:
                self.unmark(ip)
            return code
        return primary[0], taken


class IPv6Prefixes:
    """The IPv6 /80s one IPv6 CIDR (a subnet's ``x:y::/64``) holds, handed out lowest free
    first, so runs are deterministic (real EC2 picks as it likes). An ipamd IPv6 node takes
    one /80 per ENI, so a set of the taken networks is all the bookkeeping needed."""

    def __init__(self, cidr: str) -> None:
        self.cidr = cidr
        self.first, length = parse_ipv6_subnet(cidr, field="ipv6_subnet")
        self.count = 1 << (IPV6_PREFIX_LENGTH - length)
        self.taken: set[int] = set()
        self._free_from = 0  # every /80 below this index is taken

    def contains(self, network: int) -> bool:
        return 0 <= network - self.first < self.count * IPV6_PREFIX_SIZE

    def take(self) -> int | None:
        """The lowest free /80, now taken; None when every one is."""
        for index in range(self._free_from, self.count):
            network = self.first + index * IPV6_PREFIX_SIZE
            if network not in self.taken:
                self.taken.add(network)
                self._free_from = index + 1
                return network
        self._free_from = self.count
        return None

    def mark(self, network: int) -> None:
        self.taken.add(network)

    def release(self, network: int) -> None:
        if network in self.taken:
            self.taken.discard(network)
            if self.contains(network):
                index = (network - self.first) // IPV6_PREFIX_SIZE
                self._free_from = min(self._free_from, index)

    @property
    def free(self) -> int:
        return self.count - sum(1 for n in self.taken if self.contains(n))
