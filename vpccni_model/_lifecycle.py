"""Restarting ipamd on a running node (spec 7.4-7.8).

A restart is the only way ipamd picks up a new configuration. It keeps what EC2 and the pod
checkpoint hold (ENIs, CIDRs, assigned addresses) and forgets everything else: ENI ages,
cooling, the reconcile cooldown cache, the global timers and any call in flight; whether the
node's CNINode carries the trunk feature is Kubernetes' and stays. Then it
releases the free CIDRs of the mode that is no longer in effect (the prefix-delegation
toggle cleanup, spec 7.6).
"""

from __future__ import annotations

import attrs

from vpccni_model._actions import Action, ReleaseIPs, ReleasePrefixes
from vpccni_model._config import Config
from vpccni_model._datastore import Datastore
from vpccni_model._eni import ENI
from vpccni_model._eniconfig import ENIConfig, NoENIConfig, as_eni_config
from vpccni_model._errors import ConfigError, StateError
from vpccni_model._ipv6 import after_restart as ipv6_after_restart
from vpccni_model._model import Cidr
from vpccni_model._podindex import PodIP
from vpccni_model._state import NodeState


def _forget_cooling(cidr: Cidr) -> Cidr:
    if cidr.latest_unassigned_at is None:
        return cidr
    return attrs.evolve(cidr, addresses=tuple(a for a in cidr.addresses if a.pod is not None))


def _release_empty(
    cidrs: list[Cidr], prefixes: bool, eni_id: str, outbox: list[Action]
) -> tuple[list[Cidr], int]:
    """Drop the empty CIDRs of one kind and queue their release; returns prefixes dropped."""
    empty = [c for c in cidrs if c.is_prefix == prefixes and c.assigned == 0]
    if not empty:
        return cidrs, 0
    if prefixes:
        outbox.append(ReleasePrefixes(eni_id, tuple(c.key for c in empty)))
    else:
        outbox.append(ReleaseIPs(eni_id, tuple(c.cooldown_key for c in empty)))
    gone = {c.network for c in empty}
    return [c for c in cidrs if c.network not in gone], len(empty) if prefixes else 0


class _Keep:
    """The default of ``restart``'s ``eni_config``: the node keeps the one it has."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


def restart(
    state: NodeState,
    config: Config,
    clock: float,
    *,
    eni_config: ENIConfig | NoENIConfig | _Keep | None = KEEP,
) -> NodeState:
    """The node as ipamd sees it right after a restart with ``config`` at ``clock``.

    In nodeInit's order: first every excluded ENI on card 0 releases its empty CIDRs of the
    current mode (``checkAndHandleAllENIExclusion``, Q20); then the mode-toggle cleanup
    releases, card by card and ENI by ENI in device order, every empty /32 when prefix
    delegation is now on, or every empty /28 when it is now off. These calls go to
    ``state.outbox`` in that order and add no reconcile-cooldown entries. The next
    ``reconcile`` is ipamd's pre-scaling (``pre_scaling``): increases only; the first release
    can come at the regular tick after it.

    ``eni_config`` is the node's ENIConfig after the restart (as ``NodeState.boot``'s); by
    default the node keeps the one it had. ipamd itself reads it at each ENI creation, so an
    edited ENIConfig reaches the model at a restart only.
    """
    if not isinstance(state, NodeState):
        raise StateError("state", state, "must be a NodeState")
    if not isinstance(config, Config):
        raise ConfigError("config", config, "must be a Config")
    effective = config.for_instance(state.limits)
    resolved = state.eni_config if isinstance(eni_config, _Keep) else as_eni_config(eni_config)
    state = state.at(clock)
    prefix_mode = effective.prefix_delegation
    outbox: list[Action] = list(state.outbox)
    stores: list[Datastore] = []
    pods: dict[str, PodIP] = state.pods_copy()
    kept: list[tuple[Datastore, list[list[Cidr]], int]] = []
    for ds in state.datastores:
        if ds.network_card != 0 and not effective.multi_nic:
            for eni in ds.enis:
                for cidr in eni.cidrs:
                    for entry in cidr.addresses:
                        if entry.pod is not None:
                            pods.pop(entry.pod, None)
            continue
        kept.append((ds, [[_forget_cooling(c) for c in eni.cidrs] for eni in ds.enis], 0))
    # nodeInit's order: checkAndHandleAllENIExclusion over every excluded ENI first (free
    # CIDRs of the current mode; it only looks at card 0's datastore, Q20) ...
    for index, (ds, cidrs_of, released) in enumerate(kept):
        if ds.network_card != 0 or effective.enable_ipv6:
            continue  # IPv6: excluded ENIs are not set up at all (ipv6_after_restart below)
        for position, eni in enumerate(ds.enis):
            if eni.is_excluded:
                cidrs_of[position], gone = _release_empty(
                    cidrs_of[position], prefix_mode, eni.eni_id, outbox
                )
                released += gone
        kept[index] = (ds, cidrs_of, released)
    # ... then the prefix-delegation toggle cleanup (spec 7.6) over every ENI of every
    # datastore: empty CIDRs of the other kind go.
    for ds, cidrs_of, released in kept:
        enis: list[ENI] = []
        for eni, cidrs in zip(ds.enis, cidrs_of, strict=True):
            cidrs, gone = _release_empty(cidrs, not prefix_mode, eni.eni_id, outbox)
            released += gone
            enis.append(attrs.evolve(eni, cidrs=tuple(cidrs), created_at=clock))
        stores.append(
            attrs.evolve(ds, enis=tuple(enis), prefix_counter=ds.prefix_counter - released)
        )
    if effective.multi_nic:
        have = {ds.network_card for ds in stores}
        stores.extend(
            Datastore.of(card, ()) for card in state.limits.card_indices if card not in have
        )
        stores.sort(key=lambda ds: ds.network_card)
    restarted = NodeState(
        limits=state.limits,
        config=effective,
        primary_eni_id=state.primary_eni_id,
        datastores=tuple(stores),
        pods=pods,
        outbox=tuple(outbox),
        cordoned=state.cordoned,
        clock=state.clock,
        iteration=state.iteration,  # how Go's maps iterate does not change with a restart
        pre_scaling=True,
        # The CNINode outlives ipamd: a feature written before the restart is still there.
        trunk_requested=state.trunk_requested,
        eni_config=resolved,
    )
    if effective.enable_ipv6:  # nodeInit in IPv6: excluded ENIs out, the others set up anew
        restarted = ipv6_after_restart(restarted)
    return restarted
