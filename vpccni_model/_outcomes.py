"""Folding EC2 outcomes and node events into a node state: ``apply`` (spec 6.2-6.4, 8).

An allocation outcome must answer the call the node waits on (``state.in_flight``) and records,
in the tick that waits (``state.tick``), how ``increaseDatastorePool`` goes on from it
(``Answer``); a metadata observation is ipamd's 60 s reconciliation (``_observe``); node events
set the gates that stop increases and ENI frees. One handler per event type, found by table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vpccni_model import _ipv6 as ipv6
from vpccni_model._actions import IPV6_ALLOCATIONS, AllocateENI, AllocateIPs, AllocatePrefixes
from vpccni_model._admission import (
    check_attachment,
    check_new_cidrs,
    not_queued,
    queued_releases,
)
from vpccni_model._datastore import InFlight
from vpccni_model._eni import ENI
from vpccni_model._errors import StateError, UnexpectedEventError
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    Event,
    IPsAllocated,
    IPv6PrefixAllocated,
    MetadataObserved,
    NodeCordoned,
    NodeTerminating,
    NodeUncordoned,
    PrefixesAllocated,
)
from vpccni_model._model import parse_cidrs
from vpccni_model._observe import observe
from vpccni_model._progress import Answer
from vpccni_model._state import NodeState


def _answered(state: NodeState, answer: Answer, **changes: object) -> NodeState:
    """The state with the call answered: ``in_flight`` cleared, ``answer`` recorded for the
    tick that waited (a state built by hand may have none)."""
    tick = state.tick
    if tick is not None:
        changes["tick"] = tick.answered(answer)
    return state.replace(in_flight=None, **changes)


def _expect(state: NodeState, event: Event, kind: type) -> InFlight:
    in_flight = state.in_flight
    if in_flight is None or not isinstance(in_flight.action, kind):
        waiting = None if in_flight is None else in_flight.action
        raise UnexpectedEventError(event, f"the node is waiting for {waiting!r}")
    return in_flight


def _grow(state: NodeState, event: IPsAllocated | PrefixesAllocated, clock: float) -> NodeState:
    kind = AllocateIPs if isinstance(event, IPsAllocated) else AllocatePrefixes
    in_flight = _expect(state, event, kind)
    if getattr(in_flight.action, "eni_id", None) != event.eni_id:
        raise UnexpectedEventError(event, f"the outstanding call is {in_flight.action!r}")
    if isinstance(event, IPsAllocated):
        cidrs = parse_cidrs(event.ips, ())
    else:
        cidrs = parse_cidrs((), event.prefixes)
    ds = state.datastore(in_flight.network_card)
    eni = ds.eni(event.eni_id)
    if eni is None:
        return _answered(state, Answer.DONE)
    if state.outbox:
        # A report of every address the ENI has (after PrivateIpAddressLimitExceeded) may list
        # one whose release is queued; ipamd released it already.
        cidrs = not_queued(cidrs, queued_releases(state).get(eni.eni_id))
    field = "ips" if isinstance(event, IPsAllocated) else "prefixes"
    check_new_cidrs(state, eni.eni_id, eni.cidrs, cidrs, field)
    new_eni, added_prefixes = eni.with_added_cidrs(cidrs)
    new_ds = ds.replace_eni(new_eni).replace(prefix_counter=ds.prefix_counter + added_prefixes)
    return _answered(state.replace_datastore(new_ds), Answer.DONE, last_pool_action_at=clock)


def _attach(state: NodeState, event: ENIAttached, clock: float) -> NodeState:
    if state.config.enable_ipv6:
        return ipv6.eni_attached(state, event, clock)
    in_flight = _expect(state, event, AllocateENI)
    action = in_flight.action
    assert isinstance(action, AllocateENI)
    if event.network_card != action.network_card:
        raise UnexpectedEventError(event, f"the ENI was requested on card {action.network_card}")
    ips = parse_cidrs(event.ips, ())
    prefixes = parse_cidrs((), event.prefixes)
    got = len(prefixes) if action.prefixes else len(ips)
    accepted = got >= action.count or got >= (2 if action.prefixes else 1)
    if not accepted:
        # WaitForENIAndIPsAttached gave up (Q14): the ENI stays attached outside the datastore
        # until a reconcile observes it.
        return _answered(state, Answer.DONE)
    ds = state.datastore(action.network_card)
    if state.find_eni(event.eni_id) is not None:
        raise UnexpectedEventError(event, "ENI id already in the datastore")
    # A reused device index is fine (after an out-of-band detach the datastore can still hold
    # a stale ENI there, as ipamd's can), but never the primary ENI's, which cannot detach.
    if any(e.is_primary and e.device_number == event.device_number for e in ds.enis):
        raise UnexpectedEventError(event, "the primary ENI holds that device number")
    check_attachment(state, ds, event.eni_id, [*ips, *prefixes])
    eni = ENI(
        eni_id=event.eni_id,
        device_number=event.device_number,
        network_card=action.network_card,
        is_excluded=event.is_excluded,
        created_at=clock,
        subnet_id=event.subnet_id,
    )
    eni, _ = eni.with_added_cidrs([*ips, *prefixes])
    new_ds = ds.with_new_eni(eni)
    return _answered(state.replace_datastore(new_ds), Answer.DONE, last_pool_action_at=clock)


def _fail(state: NodeState, event: AllocationFailed, clock: float) -> NodeState:
    in_flight = state.in_flight
    if in_flight is None:
        raise UnexpectedEventError(event, "no EC2 allocation is outstanding")
    action = in_flight.action
    if isinstance(action, IPV6_ALLOCATIONS):
        return ipv6.allocation_failed(state, event, clock)
    insufficient = event.code in Ec2Error.INSUFFICIENT
    if isinstance(action, AllocateENI):
        # tryAllocateENI's failures are logged only (spec 6.1); the insufficient ones stamp
        # the backoff (6.4 step 4).
        if insufficient:
            return _answered(state, Answer.DONE, last_insufficient_cidr_at=clock)
        return _answered(state, Answer.DONE)
    assert isinstance(action, AllocateIPs | AllocatePrefixes)
    if insufficient and state.config.subnet_discovery:
        # Spec 6.2: the same increase tries the next allocatable ENI, then a new ENI.
        return _answered(state, Answer.NEXT_ENI)
    if insufficient:
        return _answered(state, Answer.DONE, last_insufficient_cidr_at=clock)
    return _answered(state, Answer.ERROR)


def _cordon(state: NodeState, _event: NodeCordoned, _clock: float) -> NodeState:
    return state.replace(cordoned=True)


def _uncordon(state: NodeState, _event: NodeUncordoned, _clock: float) -> NodeState:
    return state.replace(cordoned=False)


def _terminate(state: NodeState, _event: NodeTerminating, _clock: float) -> NodeState:
    return state.replace(terminating=True)


_HANDLERS: dict[type, Callable[[NodeState, Any, float], NodeState]] = {
    IPsAllocated: _grow,
    PrefixesAllocated: _grow,
    ENIAttached: _attach,
    AllocationFailed: _fail,
    MetadataObserved: observe,
    NodeCordoned: _cordon,
    NodeUncordoned: _uncordon,
    NodeTerminating: _terminate,
    IPv6PrefixAllocated: ipv6.prefix_allocated,
}
"""The handler of each event type (exact type: events are final value classes)."""


def apply(state: NodeState, event: Event, clock: float) -> NodeState:
    """Fold one event into the state at ``clock`` (spec 6.2-6.4, 7.7, 8).

    Allocation outcomes must answer ``state.in_flight`` (``UnexpectedEventError`` otherwise).
    """
    if not isinstance(state, NodeState):
        raise StateError("state", state, "must be a NodeState")
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise UnexpectedEventError(event, "not an event this model knows")
    state = state.at(clock)
    return handler(state, event, state.clock)


__all__ = ["apply"]
