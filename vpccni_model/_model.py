"""Immutable datastore values: addresses and CIDRs (``_eni`` builds ENIs on them), with the
copy operations the core uses.

The shapes follow ipamd's datastore (spec 3). Containers are tuples in one documented order
(spec 9): CIDRs and addresses by numeric value. Each CIDR and ENI carries counters derived at
construction, so that pool statistics cost O(ENIs) instead of O(addresses).

Copies come in two kinds. ``attrs.evolve`` re-runs construction: every check (each field's
type and range, ``_checks``) and a full recount; use it for anything built from outside
input. The named copies below skip the checks because the caller's transition cannot break
them, and keep every derived field right by delta: ``Cidr.with_addresses``,
``Cidr.take_unused_ip`` / ``Cidr.release_ip`` (the pod path on one CIDR, building its entries
with ``unchecked_address``), ``ENI.with_cidr_at``, ``ENI.without_cidrs`` and
``ENI.with_added_cidrs`` (which checks and recounts the CIDRs only).
Two derived hints live on ENI values and are excluded from equality: the newest
unassignment and ``room_from``; only ``_eni`` writes them.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable
from operator import attrgetter
from typing import Any, Final, TypeVar

import attrs

from vpccni_model._checks import (
    MAX_CLOCK,
    as_bool,
    as_int,
    as_optional_time,
    as_pod_key,
    as_tuple,
    slot_setters,
)
from vpccni_model._errors import StateError
from vpccni_model._ip6 import (
    IPV6_PREFIX_LENGTH,
    IPV6_PREFIX_SIZE,
    MAX_IPV6,
    check_ipv6_prefix,
    parse_ipv6_prefix,
)
from vpccni_model._ipv4 import (
    MAX_IPV4,
    PREFIX_SIZE,
    int_to_ip,
    ip_to_int,
    parse_cidr,
    prefix_network,
)


@attrs.frozen
class Address:
    """One datastore address entry (spec 3.1 AddressInfo).

    An entry exists only while the address is assigned, or after it was unassigned and before it
    is purged for reuse; never-used addresses of a prefix have no entry.
    """

    ip: int
    pod: str | None = None
    assigned_at: float | None = None
    unassigned_at: float | None = None

    def __attrs_post_init__(self) -> None:
        ip, pod = self.ip, self.pod
        if type(ip) is not int or not 0 <= ip <= MAX_IPV4:
            # An IPv6 address (``_ip6``); the CIDR holding the entry checks it belongs there.
            as_int("ip", ip, 0, MAX_IPV6)
        if pod is not None and (type(pod) is not str or not pod):
            as_pod_key(pod)
        for name in ("assigned_at", "unassigned_at"):
            value = getattr(self, name)
            if value is None or (type(value) is float and -MAX_CLOCK <= value <= MAX_CLOCK):
                continue
            # An int of seconds is held as a float; anything else is an error.
            object.__setattr__(self, name, as_optional_time(name, value))

    @property
    def assigned(self) -> bool:
        return self.pod is not None

    @property
    def address(self) -> str:
        return int_to_ip(self.ip)

    def cooling(self, clock: float, cooldown: float) -> bool:
        """Spec 3.5: unassigned and ``elapsed <= cooldown`` (a negative cooldown never cools)."""
        return (
            self.pod is None
            and self.unassigned_at is not None
            and clock - self.unassigned_at <= cooldown
        )


_ADDRESS_SLOTS = slot_setters(Address)
_new = object.__new__


def unchecked_address(
    ip: int, pod: str | None, assigned_at: float | None, unassigned_at: float | None
) -> Address:
    """An ``Address`` built without its checks, for the pod path: the CIDR it goes into
    supplies the address, the pod key and the clock were checked on entry.

    Unrolled on purpose, as the other unchecked constructors (see ``_datastore``)."""
    entry = _new(Address)
    set_ip, set_pod, set_assigned, set_unassigned = _ADDRESS_SLOTS
    set_ip(entry, ip)
    set_pod(entry, pod)
    set_assigned(entry, assigned_at)
    set_unassigned(entry, unassigned_at)
    return entry


class Pending(enum.Enum):
    """Marks a derived value not computed yet."""

    PENDING = "pending"


PENDING: Final = Pending.PENDING


def latest_of(values: Iterable[float | None]) -> float | None:
    """The largest of ``values`` that is not None; None if there is none."""
    present = [value for value in values if value is not None]
    return max(present) if present else None


@attrs.frozen
class Cidr:
    """A /32 secondary IP or a /28 prefix on an ENI, with its address entries (sorted by IP).

    In IPv6 mode the one CIDR of an ENI is its /80 prefix (spec 4.6, ipamd's ``IPv6Cidrs``):
    ``is_prefix`` with a ``network`` above ``MAX_IPV4``, which is how the family is told
    (``_ip6``); ``is_ipv6`` says so. Everything else (counters, ``take_unused_ip``,
    ``release_ip``) works on it unchanged, with ``size`` 2**48.
    """

    network: int
    is_prefix: bool
    addresses: tuple[Address, ...] = ()
    assigned: int = attrs.field(init=False)
    latest_unassigned_at: float | None = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.network, bool) or not isinstance(self.network, int):
            raise StateError("network", self.network, "must be an IPv4 address as an int")
        if type(self.is_prefix) is not bool:
            as_bool("is_prefix", self.is_prefix)
        if self.addresses:
            as_tuple("addresses", self.addresses, Address, "Address values")
        elif type(self.addresses) is not tuple:
            raise StateError("addresses", self.addresses, "must be a tuple of Address values")
        if self.network > MAX_IPV4:
            if not self.is_prefix:
                raise StateError("network", int_to_ip(self.network), "IPv6 is held only as /80s")
            check_ipv6_prefix(self.network)
        size = self.size
        if self.network <= MAX_IPV4 and not 0 <= self.network <= MAX_IPV4 - size + 1:
            raise StateError("network", self.network, "outside the IPv4 address space")
        if self.is_prefix and self.network % PREFIX_SIZE:
            raise StateError("network", int_to_ip(self.network), "a /28 must be 16-aligned")
        previous = -1
        assigned = 0
        for entry in self.addresses:
            if not self.network <= entry.ip < self.network + size:
                raise StateError("addresses", entry.address, f"outside {self.key}")
            if entry.ip <= previous:
                raise StateError("addresses", entry.address, f"duplicate or unsorted in {self.key}")
            previous = entry.ip
            if entry.pod is not None:
                assigned += 1
        object.__setattr__(self, "assigned", assigned)
        object.__setattr__(
            self,
            "latest_unassigned_at",
            latest_of(a.unassigned_at for a in self.addresses if a.pod is None),
        )

    @property
    def size(self) -> int:
        if self.is_prefix:
            return PREFIX_SIZE if self.network <= MAX_IPV4 else IPV6_PREFIX_SIZE
        return 1

    @property
    def is_ipv6(self) -> bool:
        """An IPv6 /80 (``_ip6``: IPv6 values lie above ``MAX_IPV4``)."""
        return self.network > MAX_IPV4

    @property
    def key(self) -> str:
        """ipamd's datastore key: ``a.b.c.d/32``, ``a.b.c.d/28`` or ``x:y::/80``."""
        if self.network > MAX_IPV4:
            return f"{int_to_ip(self.network)}/{IPV6_PREFIX_LENGTH}"
        return f"{int_to_ip(self.network)}/{28 if self.is_prefix else 32}"

    @property
    def cooldown_key(self) -> str:
        """The reconcile cooldown cache key: the bare IP for a /32, the CIDR for a prefix."""
        return self.key if self.is_prefix else int_to_ip(self.network)

    def contains(self, ip: int) -> bool:
        return self.network <= ip < self.network + self.size

    @classmethod
    def parse(cls, value: str) -> Cidr:
        if isinstance(value, str) and ":" in value:
            return cls(network=parse_ipv6_prefix(value, field="cidr"), is_prefix=True)
        network, is_prefix = parse_cidr(value)
        return cls(network=network, is_prefix=is_prefix)

    def with_addresses(self, addresses: tuple[Address, ...]) -> Cidr:
        """This CIDR holding ``addresses`` instead, for the pod path's own updates.

        The caller keeps them sorted and inside the CIDR, so the construction checks are
        skipped; the counters are derived as construction derives them.
        """
        assigned = 0
        latest: float | None = None
        for entry in addresses:
            if entry.pod is not None:
                assigned += 1
            elif entry.unassigned_at is not None and (
                latest is None or entry.unassigned_at > latest
            ):
                latest = entry.unassigned_at
        copy = object.__new__(Cidr)
        setter = object.__setattr__
        setter(copy, "network", self.network)
        setter(copy, "is_prefix", self.is_prefix)
        setter(copy, "addresses", addresses)
        setter(copy, "assigned", assigned)
        setter(copy, "latest_unassigned_at", latest)
        return copy

    def take_unused_ip(self, pod: str, clock: float, cooldown: float) -> tuple[Cidr, int] | None:
        """ipamd's ``getUnusedIP`` and the assignment (spec 4.2): purge every cooled entry and
        give ``pod`` the lowest of them, else the lowest never-used address. Returns this CIDR
        after the assignment and the address, or None when it has nothing to give now."""
        if not self.is_prefix:
            # A /32 holds at most one entry: reuse it once cooled, or take the address afresh.
            if self.assigned or (self.addresses and self.addresses[0].cooling(clock, cooldown)):
                return None
            taken = unchecked_address(self.network, pod, clock, None)
            return self.with_addresses((taken,)), self.network
        size = PREFIX_SIZE if self.network <= MAX_IPV4 else IPV6_PREFIX_SIZE
        if self.assigned == size:
            return None
        kept: list[Address] = []
        ip: int | None = None
        for entry in self.addresses:
            if entry.pod is None and not entry.cooling(clock, cooldown):
                if ip is None:
                    ip = entry.ip
                continue
            kept.append(entry)
        if ip is None:
            # Upward from the network address to the first address with no entry (Go's
            # getUnusedIP): at most len(kept) + 1 steps, also in a /80.
            used = {entry.ip for entry in kept}
            end = self.network + size
            ip = next((a for a in range(self.network, end) if a not in used), None)
            if ip is None:
                return None
        kept.insert(bisect.bisect_left(kept, ip, key=_ip), unchecked_address(ip, pod, clock, None))
        return self.with_addresses(tuple(kept)), ip

    def release_ip(self, ip: int, pod: str, clock: float) -> Cidr | None:
        """``UnassignPodIPAddress`` on this CIDR: ``pod``'s entry at ``ip`` becomes unassigned
        at ``clock`` (its cooldown starts). None if ``pod`` does not hold ``ip`` here."""
        entries = self.addresses
        if not self.is_prefix:  # a /32 holds at most one entry
            at = 0 if entries and entries[0].ip == ip else -1
        else:
            at = bisect.bisect_left(entries, ip, key=_ip)
            at = at if at < len(entries) and entries[at].ip == ip else -1
        if at < 0 or entries[at].pod != pod:
            return None
        freed = unchecked_address(ip, None, entries[at].assigned_at, clock)
        return self.with_addresses(entries[:at] + (freed,) + entries[at + 1 :])  # noqa: RUF005


by_network = attrgetter("network")  # C-level keys for bisect
_ip = attrgetter("ip")


_T = TypeVar("_T")


def copy_with(value: _T, **changes: Any) -> _T:
    """A copy of a frozen ``__dict__`` attrs value (``ENI``, ``Datastore``, ``NodeState``)
    with ``changes``, bypassing ``__init__``: the caller keeps every derived field right.
    Two C-level dict updates, where a field-by-field copy costs one call per field; the
    classes the core copies on its hot paths keep a ``__dict__`` for this reason."""
    out = object.__new__(type(value))
    fields = out.__dict__
    fields.update(value.__dict__)
    fields.update(changes)
    return out


def sorted_cidrs(cidrs: Iterable[Cidr]) -> tuple[Cidr, ...]:
    return tuple(sorted(cidrs, key=lambda c: c.network))


def parse_ipv6_prefixes(prefixes: Iterable[str]) -> list[Cidr]:
    """The /80s an event lists (``x:y::/80``, as EC2 reports IPv6 prefixes)."""
    return [
        Cidr(network=parse_ipv6_prefix(text, field="prefixes"), is_prefix=True) for text in prefixes
    ]


_CIDR_SLOTS = slot_setters(Cidr)


def unchecked_cidr(network: int, is_prefix: bool) -> Cidr:
    """An empty ``Cidr`` built without its checks, for a caller whose parse already checked
    what ``Cidr`` would (an address in range, a prefix aligned): ``parse_cidrs``."""
    cidr = _new(Cidr)
    set_network, set_is_prefix, set_addresses, set_assigned, set_latest = _CIDR_SLOTS
    set_network(cidr, network)
    set_is_prefix(cidr, is_prefix)
    set_addresses(cidr, ())
    set_assigned(cidr, 0)
    set_latest(cidr, None)
    return cidr


def parse_cidrs(ips: Iterable[str], prefixes: Iterable[str]) -> list[Cidr]:
    """The CIDRs an event lists: secondary IPs as dotted text, prefixes as ``a.b.c.d/28`` (or
    the bare network address, as ``AssignPrivateIpAddresses`` reports them).

    The parse checks everything ``Cidr`` would (an address in range; a prefix aligned), so
    each CIDR is built without its construction checks (``unchecked_cidr``)."""
    out: list[Cidr] = []
    for is_prefix, texts in ((False, ips), (True, prefixes)):
        for text in texts:
            if not is_prefix:
                network = ip_to_int(text, field="ips")
            else:
                fast = prefix_network(text) if type(text) is str else None
                network = fast if fast is not None else _slow_prefix(text)
            out.append(unchecked_cidr(network, is_prefix))
    return out


def _slow_prefix(text: str) -> int:
    """``parse_cidrs``' full parse of one prefix, with its errors."""
    bare = isinstance(text, str) and "/" not in text
    network, is_prefix = parse_cidr(f"{text}/28" if bare else text, field="prefixes")
    if not is_prefix:
        raise StateError("prefixes", text, "must be a /28 prefix")
    return network
