"""The node state: per-card datastores and everything ipamd knows about one node.

``NodeState`` is the whole node (its per-card values are in ``_datastore``):
limits, the effective configuration fixed at boot, datastores in ascending card order, the
pod index, ipamd's timers, the call it waits on and the calls the pod path queued. Values are
immutable; ``NodeState.replace``, ``replace_datastore`` and ``with_pod_change`` are the core's
unchecked copies (its transitions keep every rule), as are ``unchecked_in_flight`` and
``unchecked_cleanup``; ``attrs.evolve`` and the constructors are the checked ones (each field
on its own, ``_checks``), and ``NodeState.check`` adds what must agree (``_rules``).
Datastores are found by card number, never by position in the tuple: cards may skip numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from vpccni_model._actions import Action
from vpccni_model._checks import (
    MAX_CLOCK,
    as_bool,
    as_instance,
    as_pod_key,
    as_text,
    as_time,
    as_tuple,
    check_clock,
)
from vpccni_model._config import Config, fixed_at_boot
from vpccni_model._datastore import ACTION_TYPES, Datastore, DeferredCleanup, InFlight
from vpccni_model._eni import ENI
from vpccni_model._eniconfig import ENIConfig, NoENIConfig, as_eni_config
from vpccni_model._errors import ConfigError, StateError
from vpccni_model._iteration import DEFAULT as ORDERED_ITERATION
from vpccni_model._iteration import IterationPolicy
from vpccni_model._limits import InstanceLimits
from vpccni_model._model import Cidr, copy_with
from vpccni_model._podindex import PodIndex, PodIP
from vpccni_model._progress import TickProgress
from vpccni_model._rules import check_node

if TYPE_CHECKING:
    pass


def _pod_index(value: Mapping[str, PodIP] | Iterable[tuple[str, PodIP]]) -> PodIndex:
    if isinstance(value, PodIndex):
        return value
    try:
        return PodIndex(value)
    except (TypeError, ValueError) as exc:
        raise StateError("pods", value, f"must map pod keys to PodIP values ({exc})") from None


def _frozen_times(value: Mapping[str, float]) -> Mapping[str, float]:
    if isinstance(value, MappingProxyType):
        return value
    try:
        return MappingProxyType(dict(value))
    except (TypeError, ValueError) as exc:
        raise StateError("reconcile_cooldown", value, f"must map keys to times ({exc})") from None


@attrs.frozen(slots=False)  # a __dict__ instance copies in one C call (see copy_with)
class NodeState:
    """Everything ipamd knows about one node, plus the calls it is waiting on.

    Build one with :meth:`boot`; change it only through ``reconcile``, ``apply`` and the pod
    path. ``config`` is the effective configuration the datastores were created with (prefix
    delegation and cooldown are fixed at that point, as in ipamd). ``clock`` is the latest time
    any operation was given; an earlier one is refused with a ``StateError``.

    ``in_flight`` is the EC2 allocation ipamd waits on and ``tick`` the pool tick it belongs
    to (resumed by the next ``reconcile`` once the answer is in). ``pre_scaling``: the next
    tick is ipamd's start-up pre-scaling (increases only); ``boot`` and ``restart`` set it.
    any operation was given; an earlier one is refused with a ``StateError``. ``eni_config`` is
    the node's ENIConfig, resolved at boot or restart (``select_eni_config``); only custom
    networking reads it (spec 1.5.1).
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
    tick: TickProgress | None = None
    pre_scaling: bool = False
    outbox: tuple[Action, ...] = ()
    deferred_cleanups: tuple[DeferredCleanup, ...] = ()
    cordoned: bool = False
    terminating: bool = False
    clock: float = 0.0
    iteration: IterationPolicy = ORDERED_ITERATION
    #: The node's CNINode carries ipamd's SecurityGroupsForPods feature: ipamd has signalled
    #: for a trunk ENI (``SignalTrunkENI``). The CNINode is a Kubernetes object, so a restart
    #: keeps it, and ipamd never removes the feature.
    trunk_requested: bool = False
    eni_config: ENIConfig | None = None
    #: IPv6 only: the cards on which nodeInit's ENI creation (``createSecondaryIPv6ENIs``, or
    #: the card-0 ENI when subnet discovery excluded every ENI) has run since the last boot or
    #: restart, ascending; each is tried once (``_ipv6``). Always () in IPv4.
    ipv6_enis_tried: tuple[int, ...] = ()
    #: IPv6 only: the ENIs (ids, sorted) whose ``setupENI`` has not run since the last
    #: restart, which sets up every ENI again (``assignIPv6Prefix`` reads EC2, ``_ipv6``).
    ipv6_setup_pending: tuple[str, ...] = ()
    # The last Config object ``fixed_config`` accepted for this node (see there); at first the
    # node's own, so that no other object (None included) passes unchecked.
    _accepted_config: object = attrs.field(
        init=False,
        default=attrs.Factory(lambda self: self.config, takes_self=True),
        eq=False,
        repr=False,
    )

    def __attrs_post_init__(self) -> None:
        """Each field on its own (types, bounds, card order); ``check`` adds what must agree."""
        setter = object.__setattr__
        if not (
            isinstance(self.limits, InstanceLimits)
            and isinstance(self.config, Config)
            and type(self.primary_eni_id) is str
            and self.primary_eni_id
            and type(self.datastores) is tuple
            and all(isinstance(ds, Datastore) for ds in self.datastores)
        ):  # the common case costs one test; the checks below name what is wrong
            as_instance("limits", self.limits, InstanceLimits, "an InstanceLimits")
            as_instance("config", self.config, Config, "a Config")
            as_text("primary_eni_id", self.primary_eni_id)
            as_tuple("datastores", self.datastores, Datastore, "Datastore values")
        if self.pods:
            self._check_pod_index()
        for name in ("last_pool_action_at", "last_decrease_at", "last_insufficient_cidr_at"):
            value = getattr(self, name)
            if value is not None:
                setter(self, name, as_time(name, value))
        cache = self.reconcile_cooldown
        if cache:
            times = {
                as_text("reconcile_cooldown", key, empty=True): as_time("reconcile_cooldown", at)
                for key, at in cache.items()
            }
            if any(times[key] is not at for key, at in cache.items()):
                setter(self, "reconcile_cooldown", MappingProxyType(times))
        if self.in_flight is not None:
            as_instance("in_flight", self.in_flight, InFlight, "an InFlight or None")
        if self.tick is not None:
            as_instance("tick", self.tick, TickProgress, "a TickProgress or None")
        if type(self.pre_scaling) is not bool:
            as_bool("pre_scaling", self.pre_scaling)
        if self.outbox or type(self.outbox) is not tuple:
            as_tuple("outbox", self.outbox, ACTION_TYPES, "actions")
        if self.deferred_cleanups or type(self.deferred_cleanups) is not tuple:
            as_tuple("deferred_cleanups", self.deferred_cleanups, DeferredCleanup, "cleanups")
        if (
            type(self.cordoned) is not bool
            or type(self.terminating) is not bool
            or type(self.trunk_requested) is not bool
        ):
            as_bool("cordoned", self.cordoned)
            as_bool("terminating", self.terminating)
            as_bool("trunk_requested", self.trunk_requested)
        setter(self, "clock", check_clock(self.clock))
        if self.ipv6_enis_tried or type(self.ipv6_enis_tried) is not tuple:
            tried = as_tuple("ipv6_enis_tried", self.ipv6_enis_tried, int, "card numbers")
            if list(tried) != sorted(set(tried)) or any(
                type(card) is not int or card < 0 for card in tried
            ):
                raise StateError("ipv6_enis_tried", tried, "need unique cards >= 0, ascending")
            if not self.config.enable_ipv6:
                raise StateError("ipv6_enis_tried", tried, "only an IPv6 node creates ENIs at init")
        if self.ipv6_setup_pending or type(self.ipv6_setup_pending) is not tuple:
            pending = as_tuple("ipv6_setup_pending", self.ipv6_setup_pending, str, "ENI ids")
            if list(pending) != sorted(set(pending)) or not self.config.enable_ipv6:
                raise StateError(
                    "ipv6_setup_pending", pending, "unique ENI ids, sorted, on an IPv6 node"
                )
        if type(self.iteration) is not IterationPolicy:
            as_instance("iteration", self.iteration, IterationPolicy, "an IterationPolicy")
        if self.eni_config is not None and type(self.eni_config) is not ENIConfig:
            as_instance("eni_config", self.eni_config, ENIConfig, "an ENIConfig or None")
        cards = [ds.network_card for ds in self.datastores]
        if not cards or cards != sorted(set(cards)):
            raise StateError("datastores", cards, "need unique cards in ascending order")
        if cards[0] != 0:
            raise StateError("datastores", cards, "card 0 is always managed")

    def _check_pod_index(self) -> None:
        """Keys are pod keys, values PodIPs; the first bad entry by key text is reported, so
        the error does not depend on the (salted) hash order of the index."""
        bad = [
            (repr(pod), pod, ref)
            for pod, ref in self.pods.unordered_items()
            if type(pod) is not str or not pod or not isinstance(ref, PodIP)
        ]
        if bad:
            _, pod, ref = min(bad, key=lambda entry: entry[0])
            as_pod_key(pod, "pods")
            raise StateError("pods", ref, f"the entry of {pod!r} must be a PodIP")

    @classmethod
    def boot(
        cls,
        limits: InstanceLimits,
        config: Config,
        clock: float = 0.0,
        *,
        primary_eni_id: str = "eni-0",
        iteration: IterationPolicy = ORDERED_ITERATION,
        eni_config: ENIConfig | NoENIConfig | None = None,
    ) -> NodeState:
        """A freshly started node: the primary ENI with no secondary IPs.

        Multi-NIC nodes get an empty datastore for every other card (cards with no ENIs are
        managed, spec 1.5.5). The first ``reconcile`` is ipamd's pre-scaling (``pre_scaling``).
        ``iteration`` is the order at Go's map iterations (spec 9), kept for the node's life.
        ``eni_config`` is the node's ENIConfig for custom networking (a ``NoENIConfig`` from
        ``select_eni_config`` is kept as None: with custom networking on, no ENI is created).
        """
        if not isinstance(limits, InstanceLimits):
            raise ConfigError("limits", limits, "must be an InstanceLimits")
        if not isinstance(config, Config):
            raise ConfigError("config", config, "must be a Config")
        clock = check_clock(clock)
        as_text("primary_eni_id", primary_eni_id)
        resolved = as_eni_config(eni_config)
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
            iteration=iteration,
            pre_scaling=True,
            eni_config=resolved,
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
    def attachment_allowed(self) -> bool:
        """``isENIAttachmentAllowed`` (spec 1.5.3): not terminating, and not cordoned unless
        AWS_MANAGE_ENIS_NON_SCHEDULABLE. It gates increases and ENI frees."""
        if self.terminating:
            return False
        return not (self.cordoned and not self.config.manage_enis_non_schedulable)

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

        Construction already validates each value; this adds the cross-references, the rules
        of ``_rules`` (ENIs and cards within the instance's limits, one primary ENI, no address
        twice, pods and addresses agree, no timestamp after the clock, calls that name what
        exists). ``from_json`` runs it on every state it reads.
        """
        check_node(self)


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
