"""ipamd's 60 s metadata reconciliation, ``nodeIPPoolReconcile`` (spec 7.7): when it is due,
and how what instance metadata shows is folded into the datastores (``observe``).

The reconciliation adds ENIs and CIDRs EC2 has and the datastore lacks (except CIDRs released
within the reconcile cooldown, and those a queued release in the outbox names, which ipamd
would have released already), force-deletes what EC2 no longer shows, pods included (Q26),
and sweeps detached ENIs with ipamd's double-counted prefix counter (Q9).
"""

from __future__ import annotations

from vpccni_model._admission import check_observation, not_queued, queued_releases
from vpccni_model._config import Config
from vpccni_model._datastore import Datastore
from vpccni_model._eni import ENI
from vpccni_model._errors import UnexpectedEventError
from vpccni_model._events import MetadataObserved, ObservedENI
from vpccni_model._model import Cidr, parse_cidrs
from vpccni_model._podindex import PodIP
from vpccni_model._state import NodeState, fixed_config


def _due(state: NodeState, clock: float) -> bool:
    if state.config.enable_ipv6:
        return False  # StartNodeIPPoolManager returns at once in IPv6: no reconcile (Q29)
    if state.awaiting_trunk:
        return True
    last = state.last_pool_action_at
    return last is None or clock - last > state.config.reconcile_interval


def reconcile_due(state: NodeState, config: Config, clock: float) -> bool:
    """Whether ipamd's 60 s ``nodeIPPoolReconcile`` would run at ``clock`` (spec 7.7): every
    tick while a trunk ENI is awaited, else once no pool action happened for the interval;
    never on an IPv6 node (Q29).

    ``apply(MetadataObserved)`` folds an observation in exactly when this says True.
    """
    return _due(*fixed_config(state, config, clock))


def _force_delete_cidrs(eni: ENI, keep: set[int], pods: dict[str, PodIP]) -> tuple[ENI, int]:
    """Drop CIDRs not in ``keep``, unassigning their pods (Q26); returns prefixes dropped."""
    dropped = [c for c in eni.cidrs if c.network not in keep]
    if not dropped:
        return eni, 0
    for cidr in dropped:
        for entry in cidr.addresses:
            if entry.pod is not None:
                pods.pop(entry.pod, None)
    gone = {c.network for c in dropped}
    return eni.without_cidrs(gone), sum(c.is_prefix for c in dropped)


def observe(state: NodeState, event: MetadataObserved, clock: float) -> NodeState:
    """``nodeIPPoolReconcile`` (spec 7.7) against what IMDS shows; skipped when not due.

    The observation must be one instance metadata can show (``_rules.check_observation``).
    An IPv6 node never reconciles (Q29): the observation is ignored.
    """
    if state.config.enable_ipv6:
        return state
    check_observation(state, event)
    config = state.config
    if state.in_flight is not None:
        raise UnexpectedEventError(event, "ipamd's loop is blocked on an EC2 allocation")
    if state.tick is not None:
        raise UnexpectedEventError(
            event, "ipamd's loop is in a pool tick: reconcile at the answer's clock to end it"
        )
    if not _due(state, clock):
        return state
    pods = state.pods_copy()
    cache = state.cooldown_copy()
    queued = queued_releases(state)  # released already, in ipamd's time: not re-added
    stores: list[Datastore] = []
    for ds in state.datastores:
        observed = [o for o in event.enis if o.network_card == ds.network_card]
        managed: dict[str, ObservedENI] = {o.eni_id: o for o in observed if o.managed}
        known = {e.eni_id for e in ds.enis}
        unmanaged = ds.unmanaged_enis
        if any(eni_id not in known for eni_id in managed):
            unmanaged = len(observed) - len(managed)
        counter = ds.prefix_counter
        enis: list[ENI] = []
        for eni in ds.enis:
            seen = managed.get(eni.eni_id)
            if seen is None:
                # Swept: no longer attached. Force removal double-counts when it had pods (Q9).
                _, dropped = _force_delete_cidrs(eni, set(), pods)
                counter -= dropped * (2 if eni.has_pods else 1)
                continue
            wanted = parse_cidrs(seen.ips, seen.prefixes)
            listed = {c.network for c in wanted}
            have = {c.network for c in eni.cidrs}
            addable: list[Cidr] = []
            for cidr in not_queued(wanted, queued.get(eni.eni_id)):
                if cidr.network in have:
                    continue
                freed_at = cache.get(cidr.cooldown_key)
                if freed_at is not None:
                    if clock < freed_at + config.reconcile_cooldown:
                        continue
                    del cache[cidr.cooldown_key]
                addable.append(cidr)
            eni, dropped = _force_delete_cidrs(eni, listed, pods)
            counter -= dropped
            eni, added = eni.with_added_cidrs(addable)
            counter += added
            enis.append(eni)
        for eni_id, seen in managed.items():
            if eni_id in known or (eni_id in queued and queued[eni_id] is None):
                continue  # known, or its FreeENI is queued
            new_eni = ENI(
                eni_id=eni_id,
                device_number=seen.device_number,
                network_card=ds.network_card,
                is_primary=eni_id == state.primary_eni_id,
                is_trunk=seen.is_trunk,
                is_efa=seen.is_efa,
                is_excluded=seen.is_excluded,
                created_at=clock,
                subnet_id=seen.subnet_id,
            )
            listed_cidrs = not_queued(parse_cidrs(seen.ips, seen.prefixes), queued.get(eni_id))
            new_eni, added = new_eni.with_added_cidrs(listed_cidrs)
            counter += added
            enis.append(new_eni)
        stores.append(
            Datastore(
                network_card=ds.network_card,
                enis=tuple(sorted(enis, key=ENI.sort_key)),
                prefix_counter=counter,
                unmanaged_enis=unmanaged,
            )
        )
    return state.replace(
        datastores=tuple(stores),
        pods=pods,
        reconcile_cooldown=cache,
        last_pool_action_at=clock,
    )
