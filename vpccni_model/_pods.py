"""The pod path: CNI ADD and DEL as ipamd's datastore serves them (spec 4.1-4.5).

Both functions are pure: they return a new state and never touch EC2 directly. The one EC2
call the DEL path makes itself (releasing empty leftover prefixes in secondary-IP mode, Q3)
goes to ``state.outbox``; the next ``reconcile`` hands it out (or use ``take_outbox``).

The search for an address and the release of one are the CIDR's and ENI's own operations
(``Cidr.take_unused_ip``, ``ENI.claim``, ``Cidr.release_ip``); this module walks cards and
ENIs in ipamd's order and keeps the pod index, the deferred cleanups and the outbox.
"""

from __future__ import annotations

from vpccni_model._actions import Action, release_prefixes
from vpccni_model._checks import as_pod_key
from vpccni_model._config import Config
from vpccni_model._datastore import unchecked_cleanup
from vpccni_model._errors import NoAvailableIPError, StateError, UnknownPodError
from vpccni_model._goorder import claim as go_claim
from vpccni_model._goorder import pod_draw
from vpccni_model._ipv4 import int_to_ip
from vpccni_model._ipv6 import claim as ipv6_claim
from vpccni_model._podindex import unchecked_pod_ip
from vpccni_model._state import NodeState, fixed_config


def assign_pod_ip(
    state: NodeState, config: Config, pod: str, clock: float
) -> tuple[NodeState, str]:
    """CNI ADD: give ``pod`` an address, or the one it already has (idempotent by key).

    Datastores are tried in ascending card order, falling through to the next card only on
    "no available IP" (spec 4.3); within a card ENIs go in device order and CIDRs in address
    order, so pods pack onto the lowest ENI and CIDR (spec 9, N3). Under the node's
    ``go_random`` iteration policy the ENIs, CIDRs and cooled addresses are visited in Go's
    map order instead (N3, N4), drawn from the clock and the pod key; cards stay ascending
    (a slice in ipamd). Excluded ENIs and CIDRs of the other mode are skipped. ipamd checks
    neither max pods nor warm targets here.
    """
    pod = as_pod_key(pod)  # exactly str: a subclass could hash unlike its text
    state, clock = fixed_config(state, config, clock)
    existing = state.pods.get(pod)
    if existing is not None:
        return state.at(clock), existing.address
    fixed = state.config
    prefix_delegation = fixed.prefix_delegation
    cooldown = fixed.ip_cooldown_period
    policy = state.iteration
    random = policy.is_random
    ipv6 = fixed.enable_ipv6
    ipv6_draw = pod_draw(clock, pod) if random and ipv6 else 0  # go_claim draws when it must
    for ds_at, ds in enumerate(state.datastores):
        if ipv6:
            claimed = ipv6_claim(ds, pod, clock, cooldown, policy if random else None, ipv6_draw)
        elif random:
            claimed = go_claim(ds, policy, pod, clock, cooldown, prefix_delegation)
        else:
            claimed = ds.claim(pod, clock, cooldown, prefix_delegation)
        if claimed is None:
            continue
        eni_at, cidr_at, new_cidr, ip = claimed
        ref = unchecked_pod_ip(pod, ds.network_card, ds.enis[eni_at].eni_id, new_cidr.network, ip)
        pods = state.pods.set(pod, ref)
        new_state = state.with_pod_change(ds_at, eni_at, cidr_at, new_cidr, pods, clock)
        return new_state, int_to_ip(ip)
    raise NoAvailableIPError(pod)


def unassign_pod_ip(
    state: NodeState, config: Config, pod: str, clock: float
) -> tuple[NodeState, str]:
    """CNI DEL: free the pod's address; it cools for IP_COOLDOWN_PERIOD before reuse.

    Also reproduces the DEL-path side effects: in secondary-IP mode, an address that came from
    a leftover /28 releases every empty prefix of that ENI at once (Q3, outbox); on an excluded
    ENI an emptied CIDR is dropped from the datastore 5 s later (Q10).
    """
    pod = as_pod_key(pod)  # exactly str: a subclass could hash unlike its text
    state, clock = fixed_config(state, config, clock)
    ref = state.pods.get(pod)
    if ref is None:
        raise UnknownPodError(pod)
    card, ds_at = ref.network_card, -1
    for at, store in enumerate(state.datastores):  # cheaper than next() of a generator
        if store.network_card == card:
            ds_at = at
            break
    if ds_at < 0:
        raise StateError("pods", pod, "index points at a missing network card")
    ds = state.datastores[ds_at]
    eni_at, eni = -1, None
    for at, candidate in enumerate(ds.enis):
        if candidate.eni_id == ref.eni_id:
            eni_at, eni = at, candidate
            break
    cidr_at = None if eni is None else eni.cidr_index(ref.cidr)
    if eni is None or cidr_at is None:
        raise StateError("pods", pod, "index points at a missing ENI or CIDR")
    cidr = eni.cidrs[cidr_at]
    new_cidr = cidr.release_ip(ref.ip, pod, clock)
    if new_cidr is None:
        raise StateError("pods", pod, "index points at an address the pod does not hold")
    new_state = state.with_pod_change(
        ds_at, eni_at, cidr_at, new_cidr, state.pods.delete(pod), clock
    )
    fixed = state.config
    if eni.is_excluded and new_cidr.assigned == 0:
        cleanup = unchecked_cleanup(
            eni.eni_id, ds.network_card, cidr.network, clock + fixed.deallocate_empty_cidr_delay
        )
        new_state = new_state.replace(deferred_cleanups=(*state.deferred_cleanups, cleanup))
    # Q3: the address came from a /28 (CIDRs never overlap, so it is not also a /32 here).
    if cidr.is_prefix and not fixed.prefix_delegation:
        new_ds = new_state.datastores[ds_at]
        new_eni = new_ds.enis[eni_at]
        empty = tuple(c for c in new_eni.cidrs if c.is_prefix and c.assigned == 0)
        if empty:
            new_eni = new_eni.without_cidrs({c.network for c in empty})
            new_ds = new_ds.replace_eni(new_eni, eni_at).replace(
                prefix_counter=new_ds.prefix_counter - len(empty)
            )
            release = release_prefixes(eni.eni_id, tuple(c.key for c in empty))
            new_state = new_state.replace_datastore(new_ds, outbox=(*state.outbox, release))
    return new_state, int_to_ip(ref.ip)


def take_outbox(state: NodeState) -> tuple[NodeState, tuple[Action, ...]]:
    """Hand out the EC2 calls the pod path queued, for drivers that run them at once."""
    if not isinstance(state, NodeState):
        raise StateError("state", state, "must be a NodeState")
    if not state.outbox:
        return state, ()
    return state.replace(outbox=()), state.outbox
