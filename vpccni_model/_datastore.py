"""Per-card values of a node: ``Datastore`` (one managed network card's pool, spec 3.1;
its ``claim`` is ``AssignPodIPv4Address``), ``InFlight`` (the EC2 call the loop waits on) and
``DeferredCleanup`` (the excluded-ENI CIDR cleanup, Q10), with their unchecked copies.
Datastores are found by card number, never by position in a tuple: cards may skip numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, get_args

import attrs

from vpccni_model._actions import ALLOCATIONS, Action
from vpccni_model._checks import (
    INT64_MAX,
    INT64_MIN,
    as_int,
    as_text,
    as_time,
    as_tuple,
    slot_setters,
)
from vpccni_model._eni import ENI, sorted_enis
from vpccni_model._errors import StateError
from vpccni_model._ip6 import MAX_IPV6
from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._model import Cidr, copy_with

if TYPE_CHECKING:
    from vpccni_model._actions import Allocation


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
        card, counter, unmanaged = self.network_card, self.prefix_counter, self.unmanaged_enis
        if not (
            type(card) is int
            and type(counter) is int
            and type(unmanaged) is int
            and 0 <= card <= INT64_MAX
            and INT64_MIN <= counter <= INT64_MAX  # the counter drifts below 0 (Q9)
            and 0 <= unmanaged <= INT64_MAX
        ):  # the common case costs one test; the checks below name what is wrong
            as_int("network_card", card, 0, INT64_MAX)
            as_int("prefix_counter", counter, INT64_MIN, INT64_MAX)
            as_int("unmanaged_enis", unmanaged, 0, INT64_MAX)
        if type(self.enis) is not tuple:
            as_tuple("enis", self.enis, ENI, "ENI values")
        seen: set[str] = set()
        previous: tuple[int, str] | None = None
        for eni in self.enis:
            if not isinstance(eni, ENI):
                raise StateError("enis", eni, "must be a tuple of ENI values")
            if eni.network_card != self.network_card:
                raise StateError("enis", eni.eni_id, f"belongs to card {eni.network_card}")
            if eni.eni_id in seen:
                raise StateError("enis", eni.eni_id, "duplicate ENI id")
            seen.add(eni.eni_id)
            key = eni.sort_key()
            if previous is not None and key <= previous:
                raise StateError("enis", eni.eni_id, "ENIs must be sorted by (device_number, id)")
            previous = key

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
        return copy_with(self, enis=enis[:index] + (eni,) + enis[index + 1 :])  # noqa: RUF005

    def with_new_eni(self, eni: ENI) -> Datastore:
        """This datastore with ``eni`` (just set up, ``setupENI``) added in device order and
        the prefix counter moved by its prefixes; checked, as a new ENI comes from outside."""
        return Datastore(
            network_card=self.network_card,
            enis=sorted_enis((*self.enis, eni)),
            prefix_counter=self.prefix_counter + eni.prefix_cidrs,
            unmanaged_enis=self.unmanaged_enis,
        )

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
        return copy_with(self, **changes)

    @property
    def has_trunk(self) -> bool:
        return any(e.is_trunk for e in self.enis)

    def claim(
        self, pod: str, clock: float, cooldown: float, prefix_delegation: bool
    ) -> tuple[int, int, Cidr, int] | None:
        """``AssignPodIPv4Address`` on this card: the first ENI in device order that is not
        excluded and can give ``pod`` an address now (``ENI.claim``). Returns (position of the
        ENI, position of the CIDR, the CIDR after the assignment, the address), or None."""
        for eni_at, eni in enumerate(self.enis):
            if eni.is_excluded:
                continue
            # Full ENIs are skipped here, without a call: most ENIs of a busy node are full.
            if prefix_delegation:
                if eni.assigned_in_prefixes >= eni.prefix_cidrs * PREFIX_SIZE:
                    continue
            elif eni.assigned_in_ips >= eni.ip_cidrs:
                continue
            claimed = eni.claim(pod, clock, cooldown, prefix_delegation)
            if claimed is not None:
                return eni_at, *claimed
        return None


@attrs.frozen
class InFlight:
    """The EC2 allocation ipamd's pool loop is blocked on (spec 6.1-6.4).

    While it is unanswered, ``reconcile`` does nothing; ``apply`` folds the answer in and
    the tick it belongs to (``NodeState.tick``) then goes on.
    """

    action: Action
    network_card: int
    started_at: float

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.action, ALLOCATIONS):
            raise StateError(
                "action",
                self.action,
                "only an allocation (AllocateENI, AllocateIPs, AllocatePrefixes) can be in flight",
            )
        as_int("network_card", self.network_card, 0, INT64_MAX)
        started_at = as_time("started_at", self.started_at)
        if started_at is not self.started_at:
            object.__setattr__(self, "started_at", started_at)


@attrs.frozen
class DeferredCleanup:
    """ipamd's ``deallocateEmptyCIDR``: 5 s after an excluded ENI's CIDR empties (spec 4.4)."""

    eni_id: str
    network_card: int
    cidr: int
    due_at: float

    def __attrs_post_init__(self) -> None:
        as_text("eni_id", self.eni_id)
        as_int("network_card", self.network_card, 0, INT64_MAX)
        as_int("cidr", self.cidr, 0, MAX_IPV6)
        due_at = as_time("due_at", self.due_at)
        if due_at is not self.due_at:
            object.__setattr__(self, "due_at", due_at)


ACTION_TYPES = get_args(Action)
_IN_FLIGHT_SLOTS = slot_setters(InFlight)
_CLEANUP_SLOTS = slot_setters(DeferredCleanup)


# The unchecked constructors here, in ``_model`` and in ``_actions`` are unrolled on purpose:
# a generic loop over the slot setters costs about 5% of an acting reconcile.
_new = object.__new__


def unchecked_in_flight(action: Allocation, network_card: int, started_at: float) -> InFlight:
    """An ``InFlight`` without its checks, for the tick and apply, whose values come from
    the state."""
    value = _new(InFlight)
    set_action, set_card, set_started = _IN_FLIGHT_SLOTS
    set_action(value, action)
    set_card(value, network_card)
    set_started(value, started_at)
    return value


def unchecked_cleanup(eni_id: str, network_card: int, cidr: int, due_at: float) -> DeferredCleanup:
    """A ``DeferredCleanup`` without its checks, for the pod path."""
    task = _new(DeferredCleanup)
    set_eni, set_card, set_cidr, set_due = _CLEANUP_SLOTS
    set_eni(task, eni_id)
    set_card(task, network_card)
    set_cidr(task, cidr)
    set_due(task, due_at)
    return task
