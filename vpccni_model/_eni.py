"""The ENI value: an elastic network interface as ipamd's datastore sees it (spec 3.1).

It holds its CIDRs in address order with counters over them (CIDRs, addresses assigned and
empty CIDRs, per kind) and two derived hints kept outside equality: the newest unassignment
and ``room_from``. Its named copies (``with_cidr_at``, ``without_cidrs``, ``with_added_cidrs``)
and ``claim`` (the pod path's search on one ENI) keep all of them right; see ``_model``.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable

import attrs

from vpccni_model._checks import (
    INT64_MAX,
    MAX_CLOCK,
    as_bool,
    as_int,
    as_text,
    as_time,
    as_tuple,
    is_int,
)
from vpccni_model._errors import StateError
from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._model import (
    PENDING,
    Cidr,
    Pending,
    by_network,
    copy_with,
    latest_of,
    sorted_cidrs,
)

# An ENI's counters over one CIDR kind: CIDRs, addresses assigned in them, empty CIDRs.
_IP_COUNTERS = ("ip_cidrs", "assigned_in_ips", "free_ip_cidrs")
_PREFIX_COUNTERS = ("prefix_cidrs", "assigned_in_prefixes", "free_prefix_cidrs")


@attrs.frozen(slots=False)  # as NodeState: the pod path copies an ENI per operation
class ENI:
    """An elastic network interface as the datastore sees it (spec 3.1).

    ``created_at`` is when the ENI entered the datastore, which is what the 60 s minimum
    lifetime is measured from. Counters over the CIDRs are derived at construction.
    ``subnet_id`` is the subnet the ENI lives in (None: not known); ipamd keeps no such field
    in its datastore and no pool decision reads it (it is here for per-subnet accounting).
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
    subnet_id: str | None = None
    ip_cidrs: int = attrs.field(init=False)
    prefix_cidrs: int = attrs.field(init=False)
    assigned_in_ips: int = attrs.field(init=False)
    assigned_in_prefixes: int = attrs.field(init=False)
    free_ip_cidrs: int = attrs.field(init=False)
    free_prefix_cidrs: int = attrs.field(init=False)
    # The newest unassignment over the CIDRs, or PENDING until someone asks (see below).
    _newest: float | Pending | None = attrs.field(init=False, eq=False, repr=False)
    # A lower bound on the position of the first CIDR with a free address (of either kind):
    # none before it has one. Exact at construction; the pod path lowers it when it frees an
    # address, moves it past a CIDR it fills at that position, and raises it after a search
    # (see _note_room_from), so the search for a free address starts here instead of at 0.
    room_from: int = attrs.field(init=False, eq=False, repr=False)
    # The CIDRs' networks, or None until someone asks (Go's map order keys on them). A copy
    # that keeps the CIDR set (``with_cidr_at``) keeps it; one that changes the set drops it.
    _networks: tuple[int, ...] | None = attrs.field(init=False, eq=False, repr=False)
    # Go's order of the CIDR map for one seed, or None until asked (``_goorder.cidr_ring``):
    # kept and dropped with ``_networks``, as it hangs on the same CIDR set.
    go_ring: object = attrs.field(init=False, eq=False, repr=False)

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
        if self.subnet_id is not None and (type(self.subnet_id) is not str or not self.subnet_id):
            as_text("subnet_id", self.subnet_id)

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
        setter(self, "_newest", PENDING)
        setter(self, "room_from", len(self.cidrs) if room_from < 0 else room_from)
        setter(self, "_networks", None)
        setter(self, "go_ring", None)

    @property
    def networks(self) -> tuple[int, ...]:
        """The CIDRs' first addresses, in order (kept once asked, while the set is the same)."""
        networks = self._networks
        if networks is None:
            networks = tuple(cidr.network for cidr in self.cidrs)
            object.__setattr__(self, "_networks", networks)
        return networks

    @property
    def latest_unassigned_at(self) -> float | None:
        """The newest unassignment time of any unassigned address on this ENI, or None.

        Derived on first use and kept: a pod taking the address that held the newest time
        would otherwise rescan every CIDR at once, though often nothing reads it before the
        ENI changes again.
        """
        latest = self._newest
        if latest is PENDING:
            latest = latest_of([c.latest_unassigned_at for c in self.cidrs])
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
        grown = copy_with(self, cidrs=sorted_cidrs((*self.cidrs, *new.values())))
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
        if latest is not PENDING:
            if new.latest_unassigned_at is not None and (
                latest is None or new.latest_unassigned_at >= latest
            ):
                latest = new.latest_unassigned_at
            elif old.latest_unassigned_at is not None and old.latest_unassigned_at == latest:
                latest = PENDING
        cidrs = cidrs[:index] + (new,) + cidrs[index + 1 :]  # noqa: RUF005 (faster)
        # Only the counters of the changed CIDR's kind move. Two calls with literal keywords,
        # not one with a dict of computed names: that dict costs ~3% of a pod operation.
        if new.is_prefix:
            return copy_with(
                self,
                cidrs=cidrs,
                assigned_in_prefixes=self.assigned_in_prefixes + moved,
                free_prefix_cidrs=self.free_prefix_cidrs + emptied,
                room_from=room_from,
                _newest=latest,
            )
        return copy_with(
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
                latest = PENDING
        return copy_with(
            self,
            cidrs=tuple(kept),
            room_from=room_from,
            _newest=latest,
            _networks=None,
            go_ring=None,
            **changes,
        )

    def cidr_index(self, network: int) -> int | None:
        """Position of the CIDR starting at ``network`` (binary search: CIDRs are sorted)."""
        cidrs = self.cidrs
        index = bisect.bisect_left(cidrs, network, key=by_network)
        if index < len(cidrs) and cidrs[index].network == network:
            return index
        return None

    def cidr(self, network: int) -> Cidr | None:
        index = self.cidr_index(network)
        return None if index is None else self.cidrs[index]

    def sort_key(self) -> tuple[int, str]:
        return (self.device_number, self.eni_id)


def sorted_enis(enis: Iterable[ENI]) -> tuple[ENI, ...]:
    return tuple(sorted(enis, key=ENI.sort_key))
