"""Immutable node state: addresses, CIDRs, ENIs, per-card datastores and the node itself.

The shapes follow ipamd's datastore (spec 3). Every container is a tuple kept in one documented
order (spec 9): ENIs by ``(device_number, eni_id)``, CIDRs and addresses by numeric value,
datastores by ascending network card. Each CIDR and ENI carries counters derived once, at
construction, so that pool statistics cost O(ENIs) instead of O(addresses).
"""

from __future__ import annotations

import bisect
import enum
import math
from collections.abc import Collection, Iterable, Mapping
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from vpccni_model._errors import StateError
from vpccni_model._ipv4 import MAX_IPV4, PREFIX_SIZE, int_to_ip, parse_cidr
from vpccni_model._podindex import PodIndex

if TYPE_CHECKING:
    from vpccni_model._actions import Action
    from vpccni_model._config import Config
    from vpccni_model._limits import InstanceLimits

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
        size = PREFIX_SIZE if self.is_prefix else 1
        if isinstance(self.network, bool) or not isinstance(self.network, int):
            raise StateError("network", self.network, "must be an IPv4 address as an int")
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
    # (see note_room_from), so the search for a free address starts here instead of at 0.
    room_from: int = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.eni_id, str) or not self.eni_id:
            raise StateError("eni_id", self.eni_id, "must be a non-empty string")
        if isinstance(self.device_number, bool) or not 0 <= self.device_number < 100:
            raise StateError("device_number", self.device_number, "must be 0..99 (spec 7.1)")
        ip_cidrs = prefix_cidrs = in_ips = in_prefixes = free_ips = free_prefixes = 0
        end = -1
        room_from = -1
        for position, cidr in enumerate(self.cidrs):
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

    def with_cidr(self, new: Cidr, index: int | None = None) -> ENI:
        """This ENI with its CIDR at ``new.network`` replaced by ``new``.

        The pod path's hot update: the counters move by the difference between the old and
        the new CIDR instead of being recounted over every CIDR of the ENI. ``index``, when the
        caller knows it, is the CIDR's position in ``cidrs``.
        """
        cidrs = self.cidrs
        if index is None or not 0 <= index < len(cidrs) or cidrs[index].network != new.network:
            index = self.cidr_index(new.network)
        if index is None or cidrs[index].is_prefix != new.is_prefix:
            raise StateError("cidr", new.key, f"not on {self.eni_id}")
        return self.with_cidr_at(index, new)

    def with_cidr_at(self, index: int, new: Cidr) -> ENI:
        """``with_cidr`` for a caller that knows ``new`` replaces the CIDR at position
        ``index`` (same network and kind): nothing is looked up or checked."""
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

    def note_room_from(self, position: int) -> None:
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


_network = attrgetter("network")  # a C-level key for bisect


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


@attrs.frozen(slots=False)  # as NodeState: the pod path copies one per operation
class Datastore:
    """One managed network card's pool (spec 3.1 DataStore).

    ``prefix_counter`` is ipamd's running ``allocated_prefix`` counter (``TotalPrefixes``, P). It is
    kept as a counter, not recomputed, because ipamd's drifts (spec 10 Q9, Q10) and decisions
    read it.
    """

    network_card: int
    enis: tuple[ENI, ...]
    prefix_counter: int
    unmanaged_enis: int = 0

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        previous: tuple[int, str] | None = None
        for eni in self.enis:
            if eni.network_card != self.network_card:
                raise StateError("enis", eni.eni_id, f"belongs to card {eni.network_card}")
            if eni.eni_id in seen:
                raise StateError("enis", eni.eni_id, "duplicate ENI id")
            seen.add(eni.eni_id)
            key = eni.sort_key()
            if previous is not None and key <= previous:
                raise StateError("enis", eni.eni_id, "ENIs must be sorted by (device_number, id)")
            previous = key
        if self.unmanaged_enis < 0:
            raise StateError("unmanaged_enis", self.unmanaged_enis, "must be >= 0")

    @classmethod
    def of(cls, network_card: int, enis: Iterable[ENI], unmanaged_enis: int = 0) -> Datastore:
        """A datastore whose prefix counter matches its ENIs (no drift yet)."""
        ordered = sorted_enis(enis)
        return cls(
            network_card=network_card,
            enis=ordered,
            prefix_counter=sum(e.prefix_cidrs for e in ordered),
            unmanaged_enis=unmanaged_enis,
        )

    def eni(self, eni_id: str) -> ENI | None:
        for eni in self.enis:
            if eni.eni_id == eni_id:
                return eni
        return None

    def replace_eni(self, eni: ENI, index: int | None = None) -> Datastore:
        """This datastore with the ENI of the same id (and device number) replaced; the order
        cannot change, so construction checks are not run again. ``index``, when the caller
        knows it, is the ENI's position in ``enis`` (saves the lookup)."""
        enis = self.enis
        if index is None or not 0 <= index < len(enis) or enis[index].eni_id != eni.eni_id:
            index = next((i for i, e in enumerate(enis) if e.eni_id == eni.eni_id), None)
        if index is None or enis[index].device_number != eni.device_number:
            raise StateError("enis", eni.eni_id, "replace_eni needs the same id and device")
        return _changed(self, enis=enis[:index] + (eni,) + enis[index + 1 :])  # noqa: RUF005

    def replace(
        self, *, enis: tuple[ENI, ...] | None = None, prefix_counter: int | None = None
    ) -> Datastore:
        """This datastore with new ``enis`` and/or ``prefix_counter``, unchecked: for the
        core's transitions, which keep the ENIs in order (drop some, or replace one)."""
        changes: dict[str, Any] = {}
        if enis is not None:
            changes["enis"] = enis
        if prefix_counter is not None:
            changes["prefix_counter"] = prefix_counter
        return _changed(self, **changes)

    @property
    def has_trunk(self) -> bool:
        return any(e.is_trunk for e in self.enis)


@attrs.frozen
class PodIP:
    """Where a pod's address lives, so the pod path never scans every address."""

    pod: str
    network_card: int
    eni_id: str
    cidr: int
    ip: int

    @property
    def address(self) -> str:
        return int_to_ip(self.ip)


@attrs.frozen
class InFlight:
    """An increase that is waiting for EC2 (``action`` set) or about to try the next ENI.

    ipamd's pool loop blocks on each EC2 call; while ``action`` is set, ``reconcile`` starts
    nothing. ``action`` is None after an insufficient-address failure under subnet discovery:
    the same increase then continues with the next ENI (spec 6.2) at the next ``reconcile``.
    """

    action: Action | None
    network_card: int
    started_at: float
    skipped_enis: tuple[str, ...] = ()


@attrs.frozen
class DeferredCleanup:
    """ipamd's ``deallocateEmptyCIDR``: 5 s after an excluded ENI's CIDR empties (spec 4.4)."""

    eni_id: str
    network_card: int
    cidr: int
    due_at: float


def _pod_index(value: Mapping[str, PodIP] | Iterable[tuple[str, PodIP]]) -> PodIndex:
    return PodIndex.of(value)


def _frozen_times(value: Mapping[str, float]) -> Mapping[str, float]:
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


@attrs.frozen(slots=False)  # a __dict__ instance copies in one C call (see _changed)
class NodeState:
    """Everything ipamd knows about one node, plus the calls it is waiting on.

    Build one with :meth:`boot`; change it only through ``reconcile``, ``apply`` and the pod
    path. ``config`` is the effective configuration the datastores were created with (prefix
    delegation and cooldown are fixed at that point, as in ipamd). ``clock`` is the latest time
    any operation was given; an earlier one is refused with a ``StateError``.
    """

    limits: InstanceLimits
    config: Config
    primary_eni_id: str
    datastores: tuple[Datastore, ...]
    pods: PodIndex = attrs.field(factory=PodIndex, converter=_pod_index)
    last_pool_action_at: float | None = None
    last_decrease_at: float | None = None
    last_insufficient_cidr_at: float | None = None
    reconcile_cooldown: Mapping[str, float] = attrs.field(factory=dict, converter=_frozen_times)
    in_flight: InFlight | None = None
    outbox: tuple[Action, ...] = ()
    deferred_cleanups: tuple[DeferredCleanup, ...] = ()
    cordoned: bool = False
    terminating: bool = False
    clock: float = 0.0

    def __attrs_post_init__(self) -> None:
        number = isinstance(self.clock, int | float) and not isinstance(self.clock, bool)
        if not number or not math.isfinite(self.clock):
            raise StateError("clock", self.clock, "must be a finite number of seconds")
        cards = [ds.network_card for ds in self.datastores]
        if not cards or cards != sorted(set(cards)):
            raise StateError("datastores", cards, "need unique cards in ascending order")
        if cards[0] != 0:
            raise StateError("datastores", cards, "card 0 is always managed")

    @classmethod
    def boot(
        cls,
        limits: InstanceLimits,
        config: Config,
        clock: float = 0.0,
        *,
        primary_eni_id: str = "eni-0",
    ) -> NodeState:
        """A freshly started node: the primary ENI with no secondary IPs.

        Multi-NIC nodes get an empty datastore for every other card (cards with no ENIs are
        managed, spec 1.5.5). The first ``reconcile`` at the boot clock is ipamd's pre-scaling.
        """
        effective = config.for_instance(limits)
        primary = ENI(
            eni_id=primary_eni_id,
            device_number=0,
            network_card=0,
            is_primary=True,
            created_at=clock,
        )
        stores = [Datastore.of(0, (primary,))]
        if effective.multi_nic:
            stores.extend(Datastore.of(card, ()) for card in limits.card_indices if card != 0)
        return cls(
            limits=limits,
            config=effective,
            primary_eni_id=primary_eni_id,
            datastores=tuple(stores),
            clock=clock,
        )

    # -- lookups -------------------------------------------------------------------------

    def replace(self, **changes: Any) -> NodeState:
        """``attrs.evolve`` for the core's own transitions, without re-running the
        construction checks those transitions cannot break; several times cheaper, which
        matters on the hot path (every tick and pod operation)."""
        if not _NODE_STATE_FIELDS.issuperset(changes):
            unknown = sorted(set(changes) - _NODE_STATE_FIELDS)
            raise TypeError(f"NodeState has no field {unknown[0]!r}")
        pods = changes.get("pods")
        if pods is not None and type(pods) is not PodIndex:
            changes["pods"] = PodIndex.of(pods)
        cache = changes.get("reconcile_cooldown")
        if cache is not None and not isinstance(cache, MappingProxyType):
            # The caller hands over a dict it built and keeps no reference to.
            changes["reconcile_cooldown"] = MappingProxyType(cache)
        return _changed(self, **changes)

    def pods_copy(self) -> dict[str, PodIP]:
        """A mutable copy of the pod index, in sorted pod order (for bulk edits)."""
        return dict(self.pods.items())

    def cooldown_copy(self) -> dict[str, float]:
        """A mutable copy of the reconcile cooldown cache."""
        cache = self.reconcile_cooldown
        return cache.copy() if isinstance(cache, MappingProxyType) else dict(cache)

    def check_clock(self, clock: float) -> float:
        """``clock`` as a float, if it is a finite time not earlier than the state's."""
        number = type(clock) is float or (
            isinstance(clock, int | float) and not isinstance(clock, bool)
        )
        if not number or not math.isfinite(clock):
            raise StateError("clock", clock, "must be a number of seconds")
        if clock < self.clock:
            raise StateError("clock", clock, f"earlier than the state's clock {self.clock}")
        return float(clock)

    def at(self, clock: float) -> NodeState:
        """The state with its clock moved to ``clock``; time never goes backwards."""
        clock = self.check_clock(clock)
        return self if clock == self.clock else self.replace(clock=clock)

    def datastore(self, network_card: int) -> Datastore:
        for ds in self.datastores:
            if ds.network_card == network_card:
                return ds
        raise StateError("network_card", network_card, "no datastore for this card")

    def find_eni(self, eni_id: str) -> ENI | None:
        for ds in self.datastores:
            eni = ds.eni(eni_id)
            if eni is not None:
                return eni
        return None

    @property
    def enis(self) -> tuple[ENI, ...]:
        """All datastore ENIs, card by card, each card in device order."""
        return tuple(e for ds in self.datastores for e in ds.enis)

    @property
    def prefix_delegation(self) -> bool:
        return self.config.prefix_delegation

    def with_pod_change(
        self, card: int, eni: int, cidr: int, new: Cidr, pods: PodIndex, clock: float
    ) -> NodeState:
        """The state after one pod operation: the CIDR at position ``cidr`` of the ENI at
        position ``eni`` of the datastore at position ``card`` replaced by ``new``, with the
        pod index and the clock. The pod path's whole update in one step: positions stay
        valid (nothing is added or removed), so no lookup or construction check runs."""
        stores = self.datastores
        ds = stores[card]
        enis = ds.enis
        new_eni = enis[eni].with_cidr_at(cidr, new)
        new_ds = _changed(ds, enis=enis[:eni] + (new_eni,) + enis[eni + 1 :])  # noqa: RUF005
        return _changed(
            self,
            datastores=stores[:card] + (new_ds,) + stores[card + 1 :],  # noqa: RUF005
            pods=pods,
            clock=clock,
        )

    def replace_datastore(self, ds: Datastore, **changes: Any) -> NodeState:
        """The state with one card's datastore replaced (and any other ``changes``)."""
        stores = self.datastores
        if len(stores) == 1 and stores[0].network_card == ds.network_card:
            stores = (ds,)
        else:
            stores = tuple(ds if d.network_card == ds.network_card else d for d in stores)
        return self.replace(datastores=stores, **changes)

    def address_of(self, pod: str) -> str | None:
        ref = self.pods.get(pod)
        return None if ref is None else ref.address

    def check(self) -> None:
        """Full consistency check (O(addresses)); raises StateError naming what is wrong.

        Construction already validates each value; this adds the cross-references: every pod
        points at an assigned address it owns, no address is in two CIDRs, and every assigned
        address has a pod entry.
        """
        seen_ips: dict[int, str] = {}
        owners: dict[str, int] = {}
        for ds in self.datastores:
            for eni in ds.enis:
                for cidr in eni.cidrs:
                    for ip in range(cidr.network, cidr.network + cidr.size):
                        if ip in seen_ips:
                            raise StateError("cidrs", int_to_ip(ip), f"also on {seen_ips[ip]}")
                        seen_ips[ip] = eni.eni_id
                    for entry in cidr.addresses:
                        if entry.pod is not None:
                            if entry.pod in owners:
                                raise StateError("pods", entry.pod, "holds two addresses")
                            owners[entry.pod] = entry.ip
        for pod, ref in self.pods.items():
            if ref.pod != pod:
                raise StateError("pods", pod, f"index entry names {ref.pod!r}")
            if owners.get(pod) != ref.ip:
                raise StateError("pods", pod, "index does not match the assigned address")
            owner = self.find_eni(ref.eni_id)
            if owner is None or owner.network_card != ref.network_card:
                raise StateError("pods", pod, f"unknown ENI {ref.eni_id!r}")
            home = owner.cidr(ref.cidr)
            if home is None or not home.contains(ref.ip):
                raise StateError("pods", pod, "address is not in the recorded CIDR")
        for pod in owners:
            if pod not in self.pods:
                raise StateError("pods", pod, "assigned address without a pod index entry")


_NODE_STATE_FIELDS = frozenset(f.name for f in attrs.fields(NodeState))
