"""ipamd's ways down within a tick: ``decreaseDatastorePool`` and ``tryFreeENI`` (spec 5.8,
5.11, 6.5, 6.6), as pure steps on one card's datastore, and the due ``deallocateEmptyCIDR``
cleanups of excluded ENIs (Q10) that run first.

The tick (``_tick``) decides when each runs and gates the ENI free; these functions say what
it releases. What ipamd does to its own datastore (forgetting released CIDRs and the freed ENI,
the reconcile cooldown entries) is done in the returned state; the EC2 calls come back as
actions. Under the node's ``go_random`` policy, Go's map order picks the ENIs and CIDRs
(spec 9 N5-N7), drawn from the tick's ``draw``.
"""

from __future__ import annotations

from vpccni_model._actions import Action, free_eni, release_ips, release_prefixes
from vpccni_model._datastore import Datastore
from vpccni_model._goorder import cidr_order, eni_infos_order, eni_order
from vpccni_model._iteration import (
    SITE_DECREASE_ENI,
    SITE_FREE_ENI,
    SITE_FREEABLE,
    IterationPolicy,
)
from vpccni_model._model import Cidr
from vpccni_model._state import NodeState
from vpccni_model.pool import (
    CardPolicy,
    PoolStats,
    TargetState,
    deletable_eni,
    extra_prefixes_over_warm_target,
    freeable_cidrs,
)


def _network(cidr: Cidr) -> int:
    return cidr.network


def decrease(
    state: NodeState,
    ds: Datastore,
    policy: CardPolicy,
    stats: PoolStats,
    target: TargetState,
    clock: float,
    go: IterationPolicy | None,
    draw: int,
) -> tuple[NodeState, list[Action]]:
    """``decreaseDatastorePool`` (spec 6.5) on ``ds`` with its fresh ``stats``/``target``:
    release empty CIDRs of either kind, ENI by ENI, until ``over`` is used up.

    Cooling addresses do not protect a CIDR (Q2); a mismatched-kind CIDR still counts one
    unit of ``over`` (Q7). Released CIDRs enter the reconcile cooldown cache.
    """
    over = target.over
    if not target.defined:
        over = extra_prefixes_over_warm_target(stats, policy)
    if over <= 0:
        return state, []
    actions: list[Action] = []
    cache = state.cooldown_copy()
    enis = list(ds.enis)
    prefix_counter = ds.prefix_counter
    visits: range | list[int] = range(len(enis))
    if go is not None:
        visits = eni_infos_order(go, draw, SITE_DECREASE_ENI, ds)
    for index in visits:
        eni = enis[index]
        if go is None:
            take = freeable_cidrs(eni)[:over]
        else:  # Go's CIDR map order picks which; the release lists them by address
            chosen = freeable_cidrs(eni, cidr_order(go, draw, SITE_FREEABLE, eni))[:over]
            take = tuple(sorted(chosen, key=_network))
        if not take:
            continue
        enis[index] = eni.without_cidrs({c.network for c in take})
        prefixes = tuple(c for c in take if c.is_prefix)
        singles = tuple(c for c in take if not c.is_prefix)
        prefix_counter -= len(prefixes)
        for cidr in take:
            cache[cidr.cooldown_key] = clock
        if prefixes:
            actions.append(release_prefixes(eni.eni_id, tuple(c.key for c in prefixes)))
        if singles:
            actions.append(release_ips(eni.eni_id, tuple(c.cooldown_key for c in singles)))
        over -= len(take)
        if over <= 0:
            break
    new_ds = ds.replace(enis=tuple(enis), prefix_counter=prefix_counter)
    return state.replace_datastore(new_ds, reconcile_cooldown=cache), actions


def free_one_eni(
    state: NodeState,
    ds: Datastore,
    policy: CardPolicy,
    clock: float,
    go: IterationPolicy | None,
    draw: int,
) -> tuple[NodeState, Action | None]:
    """``tryFreeENI`` past its gates (spec 6.6): ``RemoveUnusedENIFromStore`` drops at most one
    deletable ENI of ``ds`` (as it is now) from the datastore, then ipamd frees it in EC2."""
    order = None if go is None else eni_order(go, draw, SITE_FREE_ENI, ds)
    eni = deletable_eni(ds, policy, clock, order)
    if eni is None:
        return state, None
    new_ds = ds.replace(
        enis=tuple(e for e in ds.enis if e.eni_id != eni.eni_id),
        prefix_counter=ds.prefix_counter - eni.prefix_cidrs,
    )
    return state.replace_datastore(new_ds), free_eni(eni.eni_id)


def run_deferred_cleanups(state: NodeState, clock: float) -> NodeState:
    """``deallocateEmptyCIDR`` tasks that are due: datastore-only delete, no counter update
    (Q10)."""
    due = [task for task in state.deferred_cleanups if task.due_at <= clock]
    if not due:
        return state
    pending = tuple(task for task in state.deferred_cleanups if task.due_at > clock)
    for task in due:
        ds = state.datastore(task.network_card)
        eni = ds.eni(task.eni_id)
        if eni is None or not eni.is_excluded:
            continue
        cidr = eni.cidr(task.cidr)
        if cidr is None or cidr.assigned != 0:
            continue
        new_eni = eni.without_cidrs((task.cidr,))
        state = state.replace_datastore(ds.replace_eni(new_eni))
    return state.replace(deferred_cleanups=pending)


__all__ = ["decrease", "free_one_eni", "run_deferred_cleanups"]
