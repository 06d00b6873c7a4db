"""Pool arithmetic: ipamd's statistics and decision functions (spec 3.4, 5), all pure.

Each function states the Go function it reproduces. They read the per-ENI counters of the
state, so none of them visits individual addresses (except ``cooldown_ips``, which ipamd only
logs and which is computed on request).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import attrs

from vpccni_model._config import Config
from vpccni_model._ipv4 import PREFIX_SIZE, ceil16
from vpccni_model._limits import InstanceLimits, max_pods
from vpccni_model._model import ENI, Cidr, Datastore, NodeState


@attrs.frozen
class PoolStats:
    """ipamd's ``GetIPStats("4")`` snapshot of one datastore (spec 3.4).

    ``total_ips`` and ``assigned_ips`` count only CIDRs of the current mode on non-excluded ENIs;
    ``total_prefixes`` is the (drifting) prefix counter and ``free_prefixes`` counts empty /28s
    on every ENI, excluded ones included. Cooling addresses count as available (Q1).
    """

    total_ips: int
    assigned_ips: int
    cooldown_ips: int
    total_prefixes: int
    free_prefixes: int

    @property
    def available_ips(self) -> int:
        return self.total_ips - self.assigned_ips


@attrs.frozen
class TargetState:
    """``datastoreTargetState``: how far the pool is below / above its warm-IP targets.

    Units are prefixes on card 0 in prefix mode, IPs otherwise (Q5).
    """

    short: int
    over: int
    defined: bool


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
    cooling = 0
    if clock is not None:
        # Only CIDRs whose newest unassignment still cools can hold a cooling address.
        for eni in ds.enis:
            if eni.is_excluded or not eni.has_ip_in_cooling(clock, cooldown):
                continue
            for cidr in eni.cidrs:
                latest = cidr.latest_unassigned_at
                if cidr.is_prefix != prefix_delegation or latest is None:
                    continue
                if clock - latest <= cooldown:
                    cooling += sum(1 for entry in cidr.addresses if entry.cooling(clock, cooldown))
    return PoolStats(
        total_ips=total,
        assigned_ips=assigned,
        cooldown_ips=cooling,
        total_prefixes=ds.prefix_counter,
        free_prefixes=free_prefixes,
    )


def pool_stats(state: NodeState, clock: float, network_card: int = 0) -> PoolStats:
    """Public stats of one card's datastore, including the cooling count."""
    return datastore_stats(
        state.datastore(network_card),
        state.prefix_delegation,
        clock,
        state.config.ip_cooldown_period,
    )


def ips_per_eni(limits: InstanceLimits, prefix_delegation: bool) -> int:
    """``maxIPsPerENI`` (S): pod addresses one ENI can hold (``InstanceLimits`` owns the rule)."""
    return limits.pod_addresses_per_eni(prefix_delegation)


def effective_max_pods(state: NodeState, config: Config) -> int:
    """The kubelet max pods ipamd caps the pool with (spec 2.5).

    ``config.max_pods`` when set; otherwise EKS's published value, which follows the
    secondary-IP formula even in prefix mode (Q15).
    """
    if config.max_pods is not None:
        return config.max_pods
    return _published_max_pods(state.limits)


@functools.lru_cache(maxsize=4096)
def _published_max_pods(limits: InstanceLimits) -> int:
    return max_pods(limits)


# -- decision functions (spec 5) ------------------------------------------------------------


def target_state(
    stats: PoolStats, config: Config, *, network_card: int = 0, prefix_delegation: bool = False
) -> TargetState:
    """``datastoreTargetState`` (spec 5.1). Cards > 0 always use W=1, M=1."""
    if network_card > 0:
        warm, minimum = 1, 1
    elif not config.warm_ip_targets_defined:
        return TargetState(0, 0, False)
    else:
        warm, minimum = config.warm_ip_target, config.minimum_ip_target
    total, assigned = stats.total_ips, stats.assigned_ips
    available = total - assigned
    short = max(warm - available, 0)
    short = max(short, minimum - total)
    over = max(available - warm, 0)
    over = max(min(over, total - minimum), 0)
    if network_card == 0 and prefix_delegation:
        need_warm = ceil16(assigned + config.warm_ip_target)
        need_min = ceil16(config.minimum_ip_target)
        over_p = max(min(stats.free_prefixes, stats.total_prefixes - need_warm), 0)
        over_p = max(min(over_p, stats.total_prefixes - need_min), 0)
        return TargetState(ceil16(short), over_p, True)
    return TargetState(short, over, True)


def prefix_target_state(
    stats: PoolStats, config: Config, *, prefix_delegation: bool
) -> tuple[int, bool]:
    """``datastorePrefixTargetState`` (spec 5.2): prefixes short of WARM_PREFIX_TARGET."""
    if not prefix_delegation:
        return 0, False
    return max(config.warm_prefix_target - stats.free_prefixes, 0), True


def prefixes_needed(
    stats: PoolStats, config: Config, *, network_card: int = 0, prefix_delegation: bool = True
) -> int:
    """``getPrefixesNeeded`` (spec 5.3): always at least 1; W/M take precedence over WP."""
    target = target_state(
        stats, config, network_card=network_card, prefix_delegation=prefix_delegation
    )
    if target.defined:
        return max(1, target.short)
    short_prefixes, defined = prefix_target_state(
        stats, config, prefix_delegation=prefix_delegation
    )
    if defined:
        return max(1, short_prefixes)
    return 1


def pool_too_low(
    stats: PoolStats,
    config: Config,
    *,
    network_card: int = 0,
    prefix_delegation: bool = False,
    limits: InstanceLimits,
    max_pods: int,
) -> bool:
    """``isDatastorePoolTooLow`` for one card (spec 5.4). The max-pods cap is checked first."""
    if stats.total_ips >= max_pods:
        return False
    target = target_state(
        stats, config, network_card=network_card, prefix_delegation=prefix_delegation
    )
    if target.defined:
        return target.short > 0
    if prefix_delegation:
        unit, warm = PREFIX_SIZE, config.warm_prefix_target
    else:
        unit, warm = ips_per_eni(limits, False), config.warm_eni_target
    available = stats.available_ips
    return available < unit * warm or (warm == 0 and available == 0)


def pool_too_high(
    stats: PoolStats, config: Config, *, network_card: int = 0, prefix_delegation: bool = False
) -> bool:
    """``isDatastorePoolTooHigh`` (spec 5.5). In prefix mode without W/M: ``F > WP`` (Q6)."""
    target = target_state(
        stats, config, network_card=network_card, prefix_delegation=prefix_delegation
    )
    if target.defined:
        return target.over > 0
    if prefix_delegation:
        return stats.free_prefixes > config.warm_prefix_target
    return False


def extra_prefixes_over_warm_target(
    stats: PoolStats, config: Config, *, prefix_delegation: bool
) -> int:
    """``computeExtraPrefixesOverWarmTarget`` (spec 5.7)."""
    if not prefix_delegation:
        return 0
    return max(stats.free_prefixes - config.warm_prefix_target, 0)


def freeable_eni_exists(ds: Datastore) -> bool:
    """``CheckFreeableENIexists`` (spec 5.10): age and cooldown are not checked here."""
    return any(not (e.is_primary or e.has_pods or e.is_trunk or e.is_efa) for e in ds.enis)


def should_remove_extra_enis(
    stats: PoolStats,
    ds: Datastore,
    config: Config,
    *,
    network_card: int = 0,
    prefix_delegation: bool = False,
    limits: InstanceLimits,
) -> bool:
    """``shouldRemoveExtraENIs`` (spec 5.8), with the start-of-tick ``stats`` as ipamd uses."""
    if config.warm_ip_targets_defined or network_card > 0:
        return True
    available = stats.available_ips
    target = config.warm_prefix_target if prefix_delegation else config.warm_eni_target
    factor = target + 1
    if available >= factor * ips_per_eni(limits, prefix_delegation):
        return True
    if prefix_delegation:
        return freeable_eni_exists(ds)
    return False


def eni_resources_to_allocate(
    stats: PoolStats,
    config: Config,
    *,
    network_card: int = 0,
    prefix_delegation: bool = False,
    limits: InstanceLimits,
) -> int:
    """``GetENIResourcesToAllocate`` (spec 5.9): IPs or prefixes a new ENI is created with."""
    slots = limits.cidrs_per_eni
    if prefix_delegation:
        return min(
            prefixes_needed(
                stats, config, network_card=network_card, prefix_delegation=prefix_delegation
            ),
            slots,
        )
    target = target_state(stats, config, network_card=network_card, prefix_delegation=False)
    if target.defined:
        return min(target.short, slots)
    return slots


def _mode_size(eni: ENI, prefix_delegation: bool) -> int:
    return eni.prefix_cidrs * PREFIX_SIZE if prefix_delegation else eni.ip_cidrs


def _mode_assigned(eni: ENI, prefix_delegation: bool) -> int:
    return eni.assigned_in_prefixes if prefix_delegation else eni.assigned_in_ips


def deletable_eni(
    ds: Datastore,
    *,
    warm_ip_target: int,
    minimum_ip_target: int,
    warm_prefix_target: int,
    prefix_delegation: bool,
    clock: float,
    cooldown: float,
    min_eni_lifetime: float = 60.0,
) -> ENI | None:
    """``getDeletableENI`` (spec 5.11): the first ENI, in device order, that may be freed.

    Excluded ENIs may be freed; the warm-ENI target is not checked here (spec 5.8 does it).
    """
    warm_units = ceil16(warm_ip_target) * PREFIX_SIZE if prefix_delegation else warm_ip_target
    min_units = ceil16(minimum_ip_target) * PREFIX_SIZE if prefix_delegation else minimum_ip_target
    total_free = total_size = total_empty_cidrs = 0
    for eni in ds.enis:
        if eni.is_excluded:
            continue
        size = _mode_size(eni, prefix_delegation)
        total_size += size
        total_free += size - _mode_assigned(eni, prefix_delegation)
        total_empty_cidrs += eni.free_ip_cidrs + eni.free_prefix_cidrs
    for eni in ds.enis:
        if eni.is_primary:
            continue
        if clock - eni.created_at < min_eni_lifetime:
            continue
        if eni.has_ip_in_cooling(clock, cooldown):
            continue
        if eni.has_pods:
            continue
        own_size = own_free = own_empty = 0
        if not eni.is_excluded:
            own_size = _mode_size(eni, prefix_delegation)
            own_free = own_size - _mode_assigned(eni, prefix_delegation)
            own_empty = eni.free_ip_cidrs + eni.free_prefix_cidrs
        if warm_ip_target != 0 and total_free - own_free < warm_units:
            continue
        if minimum_ip_target != 0 and total_size - own_size < min_units:
            continue
        if (
            prefix_delegation
            and warm_prefix_target != 0
            and total_empty_cidrs - own_empty < warm_prefix_target
        ):
            continue
        if eni.is_trunk or eni.is_efa:
            continue
        return eni
    return None


def freeable_cidrs(eni: ENI) -> tuple[Cidr, ...]:
    """``FindFreeableCidrs``: every CIDR of either kind with no assigned address, in order.

    Cooling addresses do not protect a CIDR (Q2).
    """
    if not (eni.free_ip_cidrs or eni.free_prefix_cidrs):
        return ()
    return tuple(c for c in eni.cidrs if c.assigned == 0)


def allocatable_enis(ds: Datastore, limit: int, *, skip_primary: bool) -> Iterator[ENI]:
    """``GetAllocatableENIs`` (spec 6.2): ENIs that can take more CIDRs, in device order.

    Both CIDR kinds count against ``limit`` (Q7); EFA ENIs are eligible (Q27).
    """
    for eni in ds.enis:
        if skip_primary and eni.is_primary:
            continue
        if eni.is_trunk or eni.is_excluded:
            continue
        if len(eni.cidrs) < limit:
            yield eni


def has_room_for_eni(state: NodeState, config: Config, network_card: int = 0) -> bool:
    """``hasRoomForEni`` (spec 2.4): the excluded-ENI terms cancel (Q11).

    MAX_ENI applies to every card separately; with pod ENI on, card 0 keeps one slot for the
    trunk until a trunk ENI is attached. Every instance type counts as trunking-compatible.
    """
    ds = state.datastore(network_card)
    trunk_reserve = int(config.pod_eni and network_card == 0 and not ds.has_trunk)
    limit = config.effective_max_eni(state.limits)
    return len(ds.enis) + ds.unmanaged_enis + trunk_reserve < limit
