"""Pool arithmetic: ipamd's statistics and decision functions (spec 3.4, 5), all pure.

Every decision function has the same shape: the data it looks at (a ``PoolStats`` snapshot,
a ``Datastore``, an ENI), then the ``CardPolicy`` the card's pool is held to, then the clock
where time matters; those that start from ``target_state`` take it as an optional last
argument, so a tick computes it once per card. ``CardPolicy.of(config, limits, card)`` is the
one home of the rules that differ by card (cards above 0 use W=1, M=1 and count IPs, never
prefixes: spec 1.3, Q5), of the max-pods cap and of the ENI limits, so no function below
looks them up again.

Each function states the Go function it reproduces. They read the per-ENI counters of the
state, so none of them visits individual addresses (except ``cooldown_ips``, which ipamd only
logs and which is counted on request).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

from vpccni_model._datastore import Datastore
from vpccni_model._eni import ENI
from vpccni_model._ipv4 import PREFIX_SIZE, ceil16
from vpccni_model._limits import InstanceLimits
from vpccni_model._model import Cidr
from vpccni_model._policy import CardPolicy, effective_max_pods
from vpccni_model._state import NodeState
from vpccni_model._stats import PoolStats

__all__ = [
    "CardPolicy",
    "PoolStats",
    "TargetState",
    "allocatable_enis",
    "cooling_ips",
    "datastore_stats",
    "deletable_eni",
    "effective_max_pods",
    "eni_resources_to_allocate",
    "extra_prefixes_over_warm_target",
    "freeable_cidrs",
    "freeable_eni_exists",
    "has_room_for_eni",
    "ips_per_eni",
    "pool_stats",
    "pool_too_high",
    "pool_too_low",
    "prefix_target_state",
    "prefixes_needed",
    "should_remove_extra_enis",
    "target_state",
]


@attrs.frozen
class TargetState:
    """``datastoreTargetState``: how far the pool is below / above its warm-IP targets.

    Units are prefixes on card 0 in prefix mode, IPs otherwise (Q5).
    """

    short: int
    over: int
    defined: bool


#: The target state of every card without warm-IP targets (a frozen value, so one serves).
_UNDEFINED = TargetState(0, 0, False)


# -- statistics (spec 3.4) ------------------------------------------------------------------


def datastore_stats(
    ds: Datastore, prefix_delegation: bool, clock: float | None = None, cooldown: float = 0.0
) -> PoolStats:
    """Stats of one datastore; ``cooldown_ips`` is counted only when ``clock`` is given."""
    total = assigned = free_prefixes = 0
    for eni in ds.enis:
        free_prefixes += eni.free_prefix_cidrs
        if eni.is_excluded:
            continue
        if prefix_delegation:
            total += eni.prefix_cidrs * PREFIX_SIZE
            assigned += eni.assigned_in_prefixes
        else:
            total += eni.ip_cidrs
            assigned += eni.assigned_in_ips
    cooling = 0 if clock is None else cooling_ips(ds, prefix_delegation, clock, cooldown)
    # Positional: half the cost of keywords for attrs' generated __init__ (a tick computes
    # one per card). Order: total, assigned, cooling, total prefixes, free prefixes.
    return PoolStats(total, assigned, cooling, ds.prefix_counter, free_prefixes)


def cooling_ips(ds: Datastore, prefix_delegation: bool, clock: float, cooldown: float) -> int:
    """The pool's addresses still cooling at ``clock`` (spec 3.5; ``cooldown_ips``): on the
    CIDRs of the mode of the ENIs that are not excluded. Only CIDRs whose newest
    unassignment still cools can hold one."""
    cooling = 0
    for eni in ds.enis:
        if eni.is_excluded or not eni.has_ip_in_cooling(clock, cooldown):
            continue
        for cidr in eni.cidrs:
            latest = cidr.latest_unassigned_at
            if cidr.is_prefix != prefix_delegation or latest is None:
                continue
            if clock - latest <= cooldown:
                cooling += sum(1 for entry in cidr.addresses if entry.cooling(clock, cooldown))
    return cooling


def pool_stats(state: NodeState, clock: float, network_card: int = 0) -> PoolStats:
    """Public stats of one card's datastore, including the cooling count. On an IPv6 node
    each /80 counts its 2**48 addresses, as ipamd's total does (``AddIPv6CidrToStore``)."""
    ds = state.datastore(network_card)
    stats = datastore_stats(ds, state.prefix_delegation, clock, state.config.ip_cooldown_period)
    if not state.config.enable_ipv6:
        return stats
    total = sum(c.size for e in ds.enis if not e.is_excluded for c in e.cidrs if c.is_ipv6)
    return attrs.evolve(stats, total_ips=total)


def ips_per_eni(limits: InstanceLimits, prefix_delegation: bool) -> int:
    """``maxIPsPerENI`` (S): pod addresses one ENI can hold (``InstanceLimits`` owns the rule)."""
    return limits.pod_addresses_per_eni(prefix_delegation)


# -- decision functions (spec 5) ------------------------------------------------------------


def target_state(stats: PoolStats, policy: CardPolicy) -> TargetState:
    """``datastoreTargetState`` (spec 5.1)."""
    if not policy.targets_defined:
        return _UNDEFINED
    warm, minimum = policy.warm_ip_target, policy.minimum_ip_target
    total, assigned = stats.total_ips, stats.assigned_ips
    available = total - assigned
    short = max(warm - available, 0)
    short = max(short, minimum - total)
    over = max(available - warm, 0)
    over = max(min(over, total - minimum), 0)
    if policy.prefix_units:
        need_warm = ceil16(assigned + warm)
        need_min = ceil16(minimum)
        over_p = max(min(stats.free_prefixes, stats.total_prefixes - need_warm), 0)
        over_p = max(min(over_p, stats.total_prefixes - need_min), 0)
        return TargetState(ceil16(short), over_p, True)
    return TargetState(short, over, True)


def prefix_target_state(stats: PoolStats, policy: CardPolicy) -> tuple[int, bool]:
    """``datastorePrefixTargetState`` (spec 5.2): prefixes short of WARM_PREFIX_TARGET."""
    if not policy.prefix_delegation:
        return 0, False
    return max(policy.warm_prefix_target - stats.free_prefixes, 0), True


def prefixes_needed(stats: PoolStats, policy: CardPolicy, target: TargetState | None = None) -> int:
    """``getPrefixesNeeded`` (spec 5.3): always at least 1; W/M take precedence over WP.

    ``target``: ``target_state(stats, policy)`` when the caller has it already (the tick does).
    """
    target = target_state(stats, policy) if target is None else target
    if target.defined:
        return max(1, target.short)
    short_prefixes, defined = prefix_target_state(stats, policy)
    if defined:
        return max(1, short_prefixes)
    return 1


def pool_too_low(stats: PoolStats, policy: CardPolicy, target: TargetState | None = None) -> bool:
    """``isDatastorePoolTooLow`` for one card (spec 5.4). The max-pods cap is checked first."""
    if stats.total_ips >= policy.max_pods:
        return False
    target = target_state(stats, policy) if target is None else target
    if target.defined:
        return target.short > 0
    if policy.prefix_delegation:
        unit, warm = PREFIX_SIZE, policy.warm_prefix_target
    else:
        unit, warm = policy.limits.pod_addresses_per_eni(False), policy.warm_eni_target
    available = stats.available_ips
    return available < unit * warm or (warm == 0 and available == 0)


def pool_too_high(stats: PoolStats, policy: CardPolicy, target: TargetState | None = None) -> bool:
    """``isDatastorePoolTooHigh`` (spec 5.5). In prefix mode without W/M: ``F > WP`` (Q6)."""
    target = target_state(stats, policy) if target is None else target
    if target.defined:
        return target.over > 0
    if policy.prefix_delegation:
        return stats.free_prefixes > policy.warm_prefix_target
    return False


def extra_prefixes_over_warm_target(stats: PoolStats, policy: CardPolicy) -> int:
    """``computeExtraPrefixesOverWarmTarget`` (spec 5.7)."""
    if not policy.prefix_delegation:
        return 0
    return max(stats.free_prefixes - policy.warm_prefix_target, 0)


def freeable_eni_exists(ds: Datastore) -> bool:
    """``CheckFreeableENIexists`` (spec 5.10): age and cooldown are not checked here."""
    return any(not (e.is_primary or e.has_pods or e.is_trunk or e.is_efa) for e in ds.enis)


def should_remove_extra_enis(stats: PoolStats, ds: Datastore, policy: CardPolicy) -> bool:
    """``shouldRemoveExtraENIs`` (spec 5.8), with the start-of-tick ``stats`` as ipamd uses."""
    if policy.targets_defined:
        return True
    pd = policy.prefix_delegation
    factor = (policy.warm_prefix_target if pd else policy.warm_eni_target) + 1
    if stats.available_ips >= factor * policy.limits.pod_addresses_per_eni(pd):
        return True
    if pd:
        return freeable_eni_exists(ds)
    return False


def eni_resources_to_allocate(
    stats: PoolStats, policy: CardPolicy, target: TargetState | None = None
) -> int:
    """``GetENIResourcesToAllocate`` (spec 5.9): IPs or prefixes a new ENI is created with."""
    slots = policy.cidrs_per_eni
    target = target_state(stats, policy) if target is None else target
    if policy.prefix_delegation:
        return min(prefixes_needed(stats, policy, target), slots)
    if target.defined:
        return min(target.short, slots)
    return slots


def _mode_size(eni: ENI, prefix_delegation: bool) -> int:
    return eni.prefix_cidrs * PREFIX_SIZE if prefix_delegation else eni.ip_cidrs


def _mode_assigned(eni: ENI, prefix_delegation: bool) -> int:
    return eni.assigned_in_prefixes if prefix_delegation else eni.assigned_in_ips


def deletable_eni(
    ds: Datastore, policy: CardPolicy, clock: float, order: Sequence[int] | None = None
) -> ENI | None:
    """``getDeletableENI`` (spec 5.11): the first ENI, in device order, that may be freed.

    ``order``, if given, lists positions in ``ds.enis`` in the order to try them (Go's map
    order, spec 9 N7). Excluded ENIs may be freed; the warm-ENI target is not checked here
    (spec 5.8 does it).
    """
    pd = policy.prefix_delegation
    warm, minimum = policy.warm_ip_target, policy.minimum_ip_target
    warm_units = ceil16(warm) * PREFIX_SIZE if pd else warm
    min_units = ceil16(minimum) * PREFIX_SIZE if pd else minimum
    cooldown = policy.ip_cooldown_period
    total_free = total_size = total_empty_cidrs = 0
    for eni in ds.enis:
        if eni.is_excluded:
            continue
        size = _mode_size(eni, pd)
        total_size += size
        total_free += size - _mode_assigned(eni, pd)
        total_empty_cidrs += eni.free_ip_cidrs + eni.free_prefix_cidrs
    enis = ds.enis
    for eni in enis if order is None else (enis[i] for i in order):
        if eni.is_primary:
            continue
        if clock - eni.created_at < policy.min_eni_lifetime:
            continue
        if eni.has_ip_in_cooling(clock, cooldown):
            continue
        if eni.has_pods:
            continue
        own_size = own_free = own_empty = 0
        if not eni.is_excluded:
            own_size = _mode_size(eni, pd)
            own_free = own_size - _mode_assigned(eni, pd)
            own_empty = eni.free_ip_cidrs + eni.free_prefix_cidrs
        if warm != 0 and total_free - own_free < warm_units:
            continue
        if minimum != 0 and total_size - own_size < min_units:
            continue
        wp = policy.warm_prefix_target
        if pd and wp != 0 and total_empty_cidrs - own_empty < wp:
            continue
        if eni.is_trunk or eni.is_efa:
            continue
        return eni
    return None


def freeable_cidrs(eni: ENI, order: Sequence[int] | None = None) -> tuple[Cidr, ...]:
    """``FindFreeableCidrs``: every CIDR of either kind with no assigned address, in address
    order, or in ``order`` (positions in ``eni.cidrs``: Go's map order, spec 9 N6).

    Cooling addresses do not protect a CIDR (Q2).
    """
    if not (eni.free_ip_cidrs or eni.free_prefix_cidrs):
        return ()
    cidrs = eni.cidrs
    if order is not None:
        return tuple(cidrs[i] for i in order if cidrs[i].assigned == 0)
    return tuple(c for c in cidrs if c.assigned == 0)


def allocatable_enis(
    ds: Datastore, policy: CardPolicy, order: Sequence[int] | None = None
) -> Iterator[ENI]:
    """``GetAllocatableENIs`` (spec 6.2): ENIs that can take more CIDRs, in device order, or
    in ``order`` (positions in ``ds.enis``: Go's map order, spec 9 N2).

    Both CIDR kinds count against the per-ENI limit (Q7); EFA ENIs are eligible (Q27); the
    primary ENI is skipped under custom networking.
    """
    limit = policy.cidrs_per_eni
    enis = ds.enis
    for eni in enis if order is None else (enis[i] for i in order):
        if policy.skip_primary and eni.is_primary:
            continue
        if eni.is_trunk or eni.is_excluded:
            continue
        if len(eni.cidrs) < limit:
            yield eni


def has_room_for_eni(ds: Datastore, policy: CardPolicy) -> bool:
    """``hasRoomForEni`` (spec 2.4): the excluded-ENI terms cancel (Q11).

    MAX_ENI applies to every card separately; with pod ENI on, card 0 keeps one slot for the
    trunk until a trunk ENI is attached. Every instance type counts as trunking-compatible.
    """
    trunk_reserve = int(policy.reserve_trunk_slot and not ds.has_trunk)
    return len(ds.enis) + ds.unmanaged_enis + trunk_reserve < policy.max_eni
