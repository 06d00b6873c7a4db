"""The node state: per-card datastores and everything ipamd knows about one node.

``Datastore`` is one managed network card's pool (spec 3.1), ``NodeState`` the whole node:
limits, the effective configuration fixed at boot, datastores in ascending card order, the
pod index, ipamd's timers, the call it waits on and the calls the pod path queued. Values are
immutable; ``NodeState.replace``, ``replace_datastore`` and ``with_pod_change`` are the core's
unchecked copies (its transitions keep every rule), ``attrs.evolve`` the checked one.
Datastores are found by card number, never by position in the tuple: cards may skip numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

from vpccni_model._checks import MAX_CLOCK, check_clock
from vpccni_model._config import Config, fixed_at_boot
from vpccni_model._eni import ENI, sorted_enis
from vpccni_model._errors import StateError
from vpccni_model._ipv4 import PREFIX_SIZE, int_to_ip
from vpccni_model._model import Cidr, copy_with
from vpccni_model._podindex import PodIndex, PodIP

if TYPE_CHECKING:
    from vpccni_model._actions import Action
    from vpccni_model._limits import InstanceLimits


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
        return copy_with(self, enis=enis[:index] + (eni,) + enis[index + 1 :])  # noqa: RUF005

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


_NONE_YET: Final = object()
"""No config object accepted yet (a value no caller can pass)."""


def _pod_index(value: Mapping[str, PodIP] | Iterable[tuple[str, PodIP]]) -> PodIndex:
    return PodIndex.of(value)


def _frozen_times(value: Mapping[str, float]) -> Mapping[str, float]:
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


@attrs.frozen(slots=False)  # a __dict__ instance copies in one C call (see copy_with)
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
    # The last Config object ``fixed_config`` accepted for this node (see there).
    _accepted_config: object = attrs.field(init=False, default=_NONE_YET, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "clock", check_clock(self.clock))
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
        return copy_with(self, **changes)

    def pods_copy(self) -> dict[str, PodIP]:
        """A mutable copy of the pod index, in sorted pod order (for bulk edits)."""
        return dict(self.pods.items())

    def cooldown_copy(self) -> dict[str, float]:
        """A mutable copy of the reconcile cooldown cache."""
        cache = self.reconcile_cooldown
        return cache.copy() if isinstance(cache, MappingProxyType) else dict(cache)

    def check_clock(self, clock: float) -> float:
        """``clock`` as a float, if it is a valid time (``check_clock``) not earlier than the
        state's."""
        if type(clock) is not float or not self.clock <= clock <= MAX_CLOCK:
            clock = check_clock(clock)
        if clock < self.clock:
            raise StateError("clock", clock, f"earlier than the state's clock {self.clock}")
        return clock

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

    @property
    def awaiting_trunk(self) -> bool:
        """Security groups for pods are on and card 0 has no trunk ENI yet: ipamd keeps a slot
        for it (spec 2.4) and runs its metadata reconcile every tick until it appears (7.7)."""
        return self.config.pod_eni and not self.datastore(0).has_trunk

    def with_pod_change(
        self, ds_at: int, eni_at: int, cidr_at: int, new: Cidr, pods: PodIndex, clock: float
    ) -> NodeState:
        """The state after one pod operation: the CIDR at position ``cidr_at`` of the ENI at
        position ``eni_at`` of ``datastores[ds_at]`` replaced by ``new``, with the pod index
        and the clock. Positions, not card numbers or ids: the pod path found them, they stay
        valid (nothing is added or removed), so no lookup or construction check runs."""
        stores = self.datastores
        ds = stores[ds_at]
        enis = ds.enis
        new_eni = enis[eni_at].with_cidr_at(cidr_at, new)
        new_ds = copy_with(ds, enis=enis[:eni_at] + (new_eni,) + enis[eni_at + 1 :])  # noqa: RUF005
        return copy_with(
            self,
            datastores=stores[:ds_at] + (new_ds,) + stores[ds_at + 1 :],  # noqa: RUF005
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


def fixed_config(state: NodeState, config: Config, clock: float) -> tuple[NodeState, float]:
    """The checks every operation with a ``config`` argument starts with, in one place:
    ``state`` is a NodeState, ``config`` is the one it booted with (``fixed_at_boot``), and
    ``clock`` is a valid time not before the state's. Returns the state and the clock."""
    if not isinstance(state, NodeState):
        raise StateError("state", state, "must be a NodeState")
    if config is not state.config and config is not state._accepted_config:
        fixed_at_boot(state.config, config, state.limits)
        # Remember the object, so the next call with it (and with any state copied from this
        # one) skips the comparison: a hint like ENI.room_from, outside equality.
        object.__setattr__(state, "_accepted_config", config)
    return state, state.check_clock(clock)


def begin(state: NodeState, config: Config, clock: float) -> NodeState:
    """``fixed_config``, then the state at ``clock``: how a pod operation or tick starts."""
    state, clock = fixed_config(state, config, clock)
    return state if clock == state.clock else state.replace(clock=clock)
