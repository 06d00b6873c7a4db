"""Immutable datastore values: addresses, CIDRs and ENIs, with the copy operations the core uses.

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
unassignment and ``room_from``; only this module writes them.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Collection, Iterable
from operator import attrgetter
from typing import Any, Final, TypeVar

import attrs

from vpccni_model._checks import (
    INT64_MAX,
    MAX_CLOCK,
    as_bool,
    as_int,
    as_optional_time,
    as_pod_key,
    as_time,
    as_tuple,
    is_int,
    slot_setters,
)
from vpccni_model._errors import StateError
from vpccni_model._ipv4 import MAX_IPV4, PREFIX_SIZE, int_to_ip, ip_to_int, parse_cidr


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
            as_int("ip", ip, 0, MAX_IPV4)
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
    supplies the address, the pod key and the clock were checked on entry."""
    entry = _new(Address)
    set_ip, set_pod, set_assigned, set_unassigned = _ADDRESS_SLOTS
    set_ip(entry, ip)
    set_pod(entry, pod)
    set_assigned(entry, assigned_at)
    set_unassigned(entry, unassigned_at)
    return entry


class _Pending(enum.Enum):
    """Marks a derived value not computed yet."""

    PENDING = "pending"


_PENDING: Final = _Pending.PENDING


def _latest(values: Iterable[float | None]) -> float | None:
    """The largest of ``values`` that is not None; None if there is none."""
    present = [value for value in values if value is not None]
    return max(present) if present else None


@attrs.frozen
class Cidr:
    """A /32 secondary IP or a /28 prefix on an ENI, with its address entries (sorted by IP)."""

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
        size = PREFIX_SIZE if self.is_prefix else 1
        if not 0 <= self.network <= MAX_IPV4 - size + 1:
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
            _latest(a.unassigned_at for a in self.addresses if a.pod is None),
        )

    @property
    def size(self) -> int:
        return PREFIX_SIZE if self.is_prefix else 1

    @property
    def key(self) -> str:
        """ipamd's datastore key: ``a.b.c.d/32`` or ``a.b.c.d/28``."""
        return f"{int_to_ip(self.network)}/{28 if self.is_prefix else 32}"

    @property
    def cooldown_key(self) -> str:
        """The reconcile cooldown cache key: the bare IP for a /32, the CIDR for a prefix."""
        return self.key if self.is_prefix else int_to_ip(self.network)

    def contains(self, ip: int) -> bool:
        return self.network <= ip < self.network + self.size

    @classmethod
    def parse(cls, value: str) -> Cidr:
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
        if self.assigned == PREFIX_SIZE:
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
            used = {entry.ip for entry in kept}
            end = self.network + PREFIX_SIZE
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


# An ENI's counters over one CIDR kind: CIDRs, addresses assigned in them, empty CIDRs.
_IP_COUNTERS = ("ip_cidrs", "assigned_in_ips", "free_ip_cidrs")
_PREFIX_COUNTERS = ("prefix_cidrs", "assigned_in_prefixes", "free_prefix_cidrs")


@attrs.frozen(slots=False)  # as NodeState: the pod path copies an ENI per operation
class ENI:
    """An elastic network interface as the datastore sees it (spec 3.1).

    ``created_at`` is when the ENI entered the datastore, which is what the 60 s minimum
    lifetime is measured from. Counters over the CIDRs are derived at construction.
    """

    eni_id: str
    device_number: int
    network_card: int = 0
    is_primary: bool = False
    is_trunk: bool = False
    is_efa: bool = False
    is_excluded: bool = False
    created_at: float = 0.0
    cidrs: tuple[Cidr, ...] = ()
    ip_cidrs: int = attrs.field(init=False)
    prefix_cidrs: int = attrs.field(init=False)
    assigned_in_ips: int = attrs.field(init=False)
    assigned_in_prefixes: int = attrs.field(init=False)
    free_ip_cidrs: int = attrs.field(init=False)
    free_prefix_cidrs: int = attrs.field(init=False)
    # The newest unassignment over the CIDRs, or _PENDING until someone asks (see below).
    _newest: float | _Pending | None = attrs.field(init=False, eq=False, repr=False)
    # A lower bound on the position of the first CIDR with a free address (of either kind):
    # none before it has one. Exact at construction; the pod path lowers it when it frees an
    # address, moves it past a CIDR it fills at that position, and raises it after a search
    # (see _note_room_from), so the search for a free address starts here instead of at 0.
    room_from: int = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._check_fields()
        self._derive()

    def _check_fields(self) -> None:
        """Each field's type and range (the CIDRs' order is ``_derive``'s)."""
        if type(self.eni_id) is not str or not self.eni_id:
            raise StateError("eni_id", self.eni_id, "must be a non-empty string")
        device = self.device_number
        if (type(device) is not int and not is_int(device)) or not 0 <= device < 100:
            raise StateError("device_number", device, "must be an int 0..99 (spec 7.1)")
        card = self.network_card
        if type(card) is not int or not 0 <= card <= INT64_MAX:
            as_int("network_card", card, 0, INT64_MAX)
        if (
            type(self.is_primary) is not bool
            or type(self.is_trunk) is not bool
            or type(self.is_efa) is not bool
            or type(self.is_excluded) is not bool
        ):
            for flag in ("is_primary", "is_trunk", "is_efa", "is_excluded"):
                as_bool(flag, getattr(self, flag))
        created_at = self.created_at
        if type(created_at) is not float or not -MAX_CLOCK <= created_at <= MAX_CLOCK:
            # An int of seconds is held as a float; anything else is an error.
            object.__setattr__(self, "created_at", as_time("created_at", created_at))
        if type(self.cidrs) is not tuple:
            as_tuple("cidrs", self.cidrs, Cidr, "Cidr values")

    def _derive(self) -> None:
        """The derived fields, counted over the CIDRs, which must be sorted and disjoint."""
        ip_cidrs = prefix_cidrs = in_ips = in_prefixes = free_ips = free_prefixes = 0
        end = -1
        room_from = -1
        for position, cidr in enumerate(self.cidrs):
            if not isinstance(cidr, Cidr):
                raise StateError("cidrs", cidr, "must be a tuple of Cidr values")
            if room_from < 0 and cidr.assigned < cidr.size:
                room_from = position
            if cidr.network <= end:
                raise StateError("cidrs", cidr.key, f"overlapping or unsorted on {self.eni_id}")
            end = cidr.network + cidr.size - 1
            if cidr.is_prefix:
                prefix_cidrs += 1
                in_prefixes += cidr.assigned
                free_prefixes += cidr.assigned == 0
            else:
                ip_cidrs += 1
                in_ips += cidr.assigned
                free_ips += cidr.assigned == 0
        setter = object.__setattr__
        setter(self, "ip_cidrs", ip_cidrs)
        setter(self, "prefix_cidrs", prefix_cidrs)
        setter(self, "assigned_in_ips", in_ips)
        setter(self, "assigned_in_prefixes", in_prefixes)
        setter(self, "free_ip_cidrs", free_ips)
        setter(self, "free_prefix_cidrs", free_prefixes)
        setter(self, "_newest", _PENDING)
        setter(self, "room_from", len(self.cidrs) if room_from < 0 else room_from)

    @property
    def latest_unassigned_at(self) -> float | None:
        """The newest unassignment time of any unassigned address on this ENI, or None.

        Derived on first use and kept: a pod taking the address that held the newest time
        would otherwise rescan every CIDR at once, though often nothing reads it before the
        ENI changes again.
        """
        latest = self._newest
        if latest is _PENDING:
            latest = _latest([c.latest_unassigned_at for c in self.cidrs])
            object.__setattr__(self, "_newest", latest)
        return latest

    @property
    def has_pods(self) -> bool:
        """Spec 3.5: any assigned IPv4 address, on either CIDR kind."""
        return self.assigned_in_ips + self.assigned_in_prefixes > 0

    def has_ip_in_cooling(self, clock: float, cooldown: float) -> bool:
        """Spec 3.5: any unassigned address on any CIDR kind is still cooling.

        The newest unassignment decides: entries are purged only once no longer cooling, so if
        the newest one has cooled, all older ones have too.
        """
        latest = self.latest_unassigned_at
        return latest is not None and clock - latest <= cooldown

    def claim(
        self, pod: str, clock: float, cooldown: float, prefix_delegation: bool
    ) -> tuple[int, Cidr, int] | None:
        """The address this ENI gives ``pod`` now: CIDRs of the mode are tried in address
        order (spec 4.2, 9) with ``Cidr.take_unused_ip``. Returns (position of the CIDR, the
        CIDR after the assignment, the address), or None when each is full or cooling.

        The search starts at ``room_from`` and records what it learnt there, so filled CIDRs
        at the low end are not visited again.
        """
        full = PREFIX_SIZE if prefix_delegation else 1
        cidrs = self.cidrs
        start = self.room_from
        room = -1  # the first CIDR of this search with a free address, of either kind
        for index in range(start, len(cidrs)):  # none before room_from has room
            cidr = cidrs[index]
            if cidr.is_prefix != prefix_delegation:
                if room < 0 and cidr.assigned < cidr.size:
                    room = index
                continue
            if cidr.assigned == full:
                continue
            if room < 0:
                room = index
            taken = cidr.take_unused_ip(pod, clock, cooldown)
            if taken is not None:
                if room > start:
                    self._note_room_from(room)
                return index, taken[0], taken[1]
        self._note_room_from(len(cidrs) if room < 0 else room)
        return None

    def with_added_cidrs(self, cidrs: Iterable[Cidr]) -> tuple[ENI, int]:
        """This ENI with ``cidrs`` added (networks it already holds are ignored), its CIDRs
        checked (sorted, disjoint) and counted anew; also returns how many prefixes were added
        (for the prefix counter). The other fields are this ENI's, checked already."""
        have = {c.network for c in self.cidrs}
        new: dict[int, Cidr] = {}
        for cidr in cidrs:
            if not isinstance(cidr, Cidr):
                raise StateError("cidrs", cidr, "must be Cidr values")
            if cidr.network not in have:
                new[cidr.network] = cidr
        if not new:
            return self, 0
        grown = _changed(self, cidrs=sorted_cidrs((*self.cidrs, *new.values())))
        grown._derive()
        return grown, sum(c.is_prefix for c in new.values())

    def with_cidr_at(self, index: int, new: Cidr) -> ENI:
        """This ENI with the CIDR at position ``index`` replaced by ``new`` (same network and
        kind; nothing is looked up or checked). The pod path's hot update: the counters move
        by the difference between the old and the new CIDR instead of being recounted."""
        cidrs = self.cidrs
        old = cidrs[index]
        moved = new.assigned - old.assigned
        emptied = (new.assigned == 0) - (old.assigned == 0)
        room_from = self.room_from
        if new.assigned < (PREFIX_SIZE if new.is_prefix else 1):
            if index < room_from:
                room_from = index
        elif index == room_from:
            room_from = index + 1
        latest = self._newest
        if latest is not _PENDING:
            if new.latest_unassigned_at is not None and (
                latest is None or new.latest_unassigned_at >= latest
            ):
                latest = new.latest_unassigned_at
            elif old.latest_unassigned_at is not None and old.latest_unassigned_at == latest:
                latest = _PENDING
        cidrs = cidrs[:index] + (new,) + cidrs[index + 1 :]  # noqa: RUF005 (faster)
        # Only the counters of the changed CIDR's kind move. Two calls with literal keywords,
        # not one with a dict of computed names: that dict costs ~3% of a pod operation.
        if new.is_prefix:
            return _changed(
                self,
                cidrs=cidrs,
                assigned_in_prefixes=self.assigned_in_prefixes + moved,
                free_prefix_cidrs=self.free_prefix_cidrs + emptied,
                room_from=room_from,
                _newest=latest,
            )
        return _changed(
            self,
            cidrs=cidrs,
            assigned_in_ips=self.assigned_in_ips + moved,
            free_ip_cidrs=self.free_ip_cidrs + emptied,
            room_from=room_from,
            _newest=latest,
        )

    def _note_room_from(self, position: int) -> None:
        """Record what a search found: no CIDR before ``position`` has a free address.

        Raises the ``room_from`` hint only; like ``latest_unassigned_at`` it is derived data
        kept on an immutable value (excluded from equality), so the next search on this ENI
        starts where this one found room.
        """
        if position > self.room_from:
            object.__setattr__(self, "room_from", position)

    def without_cidrs(self, networks: Collection[int]) -> ENI:
        """This ENI less the CIDRs whose network address is in ``networks``.

        Counters move by what was removed; only the latest unassignment is looked up again,
        and only when a removed CIDR held it.
        """
        kept: list[Cidr] = []
        removed: list[Cidr] = []
        room_from = self.room_from
        for position, cidr in enumerate(self.cidrs):
            if cidr.network in networks:
                removed.append(cidr)
                room_from -= position < self.room_from  # a CIDR before it is gone
            else:
                kept.append(cidr)
        if not removed:
            return self
        changes = {name: getattr(self, name) for name in (*_IP_COUNTERS, *_PREFIX_COUNTERS)}
        latest = self._newest
        for cidr in removed:
            count, assigned, free = _PREFIX_COUNTERS if cidr.is_prefix else _IP_COUNTERS
            changes[count] -= 1
            changes[assigned] -= cidr.assigned
            changes[free] -= cidr.assigned == 0
            if latest is not None and cidr.latest_unassigned_at == latest:
                latest = _PENDING
        return _changed(self, cidrs=tuple(kept), room_from=room_from, _newest=latest, **changes)

    def cidr_index(self, network: int) -> int | None:
        """Position of the CIDR starting at ``network`` (binary search: CIDRs are sorted)."""
        cidrs = self.cidrs
        index = bisect.bisect_left(cidrs, network, key=_network)
        if index < len(cidrs) and cidrs[index].network == network:
            return index
        return None

    def cidr(self, network: int) -> Cidr | None:
        index = self.cidr_index(network)
        return None if index is None else self.cidrs[index]

    def sort_key(self) -> tuple[int, str]:
        return (self.device_number, self.eni_id)


_network = attrgetter("network")  # C-level keys for bisect
_ip = attrgetter("ip")


_T = TypeVar("_T")


def _changed(value: _T, **changes: Any) -> _T:
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


def sorted_enis(enis: Iterable[ENI]) -> tuple[ENI, ...]:
    return tuple(sorted(enis, key=ENI.sort_key))


def parse_cidrs(ips: Iterable[str], prefixes: Iterable[str]) -> list[Cidr]:
    """The CIDRs an event lists: secondary IPs as dotted text, prefixes as ``a.b.c.d/28`` (or
    the bare network address, as ``AssignPrivateIpAddresses`` reports them)."""
    out = [Cidr(network=ip_to_int(ip, field="ips"), is_prefix=False) for ip in ips]
    for text in prefixes:
        bare = isinstance(text, str) and "/" not in text
        network, is_prefix = parse_cidr(f"{text}/28" if bare else text, field="prefixes")
        if not is_prefix:
            raise StateError("prefixes", text, "must be a /28 prefix")
        out.append(Cidr(network=network, is_prefix=True))
    return out
