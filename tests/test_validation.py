"""Regression tests for the issue "validation at one boundary": one group per family of inputs
its fuzzer found, each asserting the typed error (and the field it names) or, where input is
accepted, that the result is sound. ``tests/property/test_fuzz.py`` searches the same space.

Rule: whatever a public function or ``from_json`` accepts passes ``check()``, round-trips and
keeps working; everything else is a typed error naming the field and value.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from vpccni_model import (
    ENI,
    Address,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    AllocationFailed,
    Cidr,
    Config,
    ConfigError,
    Datastore,
    DeferredCleanup,
    ENIAttached,
    FakeEC2,
    FreeENI,
    InFlight,
    InstanceLimits,
    IPsAllocated,
    MetadataObserved,
    NetworkCard,
    NodeState,
    ObservedENI,
    PodIP,
    PrefixesAllocated,
    ReleaseIPs,
    ReleasePrefixes,
    StateError,
    UnexpectedEventError,
    VpcCniModelError,
    apply,
    assign_pod_ip,
    converge,
    from_json,
    reconcile,
    reconcile_due,
    restart,
    steady_state,
    take_outbox,
    to_json,
    unassign_pod_ip,
)
from vpccni_model._ipv4 import ip_to_int
from vpccni_model.serialize import from_dict, to_dict

LIMITS = InstanceLimits(
    name="two-cards",
    max_enis=3,
    ipv4_per_eni=4,
    network_cards=(NetworkCard(0, 3), NetworkCard(1, 3)),
)
CONFIG = Config(multi_nic=True)


def _node() -> NodeState:
    """Card 0: eni-0 (primary, .5 .6 .7, pod ns/a on .5) and eni-2 (.11 .12 .13); card 1:
    eni-1 (.9). Clock 125. Built by the model itself against a FakeEC2."""
    state = NodeState.boot(LIMITS, CONFIG, 0.0)
    ec2 = FakeEC2.for_node(state)
    settled = converge(state, CONFIG, ec2, 0.0)
    state, _ = assign_pod_ip(settled.state, CONFIG, "ns/a", settled.clock)
    return converge(state, CONFIG, ec2, settled.clock).state


NODE = _node()
CLOCK = NODE.clock


def ip(text: str) -> int:
    return ip_to_int(text)


def raises(
    error: type[VpcCniModelError], call: Callable[[], object], field: str | None = None
) -> VpcCniModelError:
    """``call()`` raises exactly a typed ``error`` (whose ``field`` is ``field`` if given)."""
    try:
        result = call()
    except VpcCniModelError as exc:
        assert isinstance(exc, error), f"{type(exc).__name__} instead of {error.__name__}: {exc}"
        if field is not None:
            assert getattr(exc, "field", None) == field, exc
        return exc
    except Exception as exc:
        pytest.fail(f"untyped {type(exc).__name__} instead of {error.__name__}: {exc}")
    pytest.fail(f"accepted (returned {type(result).__name__}), expected {error.__name__}")


def test_the_base_node_is_what_the_tests_expect() -> None:
    NODE.check()
    cards = [(ds.network_card, [e.eni_id for e in ds.enis]) for ds in NODE.datastores]
    assert cards == [(0, ["eni-0", "eni-2"]), (1, ["eni-1"])]
    assert NODE.pods["ns/a"].address == "10.0.0.5"
    assert from_json(to_json(NODE), NodeState) == NODE


# -- 1. clocks that overflow, timers whose next check would be infinite -------------------------

OVERFLOWING = (10**400, 1e308, -1e308, 2e12, math.inf, math.nan)


@pytest.mark.parametrize(
    "clock", OVERFLOWING, ids=["10**400", "1e308", "-1e308", "2e12", "inf", "nan"]
)
@pytest.mark.parametrize(
    "call",
    [
        lambda c: reconcile(NODE, CONFIG, c),
        lambda c: apply(NODE, AllocationFailed("x"), c),
        lambda c: assign_pod_ip(NODE, CONFIG, "ns/b", c),
        lambda c: unassign_pod_ip(NODE, CONFIG, "ns/a", c),
        lambda c: reconcile_due(NODE, CONFIG, c),
        lambda c: restart(NODE, CONFIG, c),
        lambda c: NodeState.boot(LIMITS, CONFIG, c),
        lambda c: converge(NODE, CONFIG, FakeEC2.for_node(NODE), c),
    ],
    ids=[
        "reconcile",
        "apply",
        "assign",
        "unassign",
        "reconcile_due",
        "restart",
        "boot",
        "converge",
    ],
)
def test_overflowing_clocks(call: Callable[[object], object], clock: object) -> None:
    raises(StateError, lambda: call(clock), "clock")


@pytest.mark.parametrize(
    "value", [1e-300, 5e-324, 1e300, 10**400], ids=["1e-300", "5e-324", "1e300", "10**400"]
)
def test_timers_whose_next_check_is_not_finite(value: float) -> None:
    raises(ConfigError, lambda: Config(pool_check_interval=value), "pool_check_interval")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"created_at": 10**400}, "created_at"),
        ({"created_at": 2e12}, "created_at"),
        ({"created_at": math.nan}, "created_at"),
    ],
)
def test_overflowing_timestamps_in_values(changes: dict[str, Any], field: str) -> None:
    raises(StateError, lambda: ENI("eni-1", 1, **changes), field)


def test_overflowing_timestamps_in_a_document() -> None:
    doc = to_dict(NODE)
    doc["datastores"][0]["enis"][1]["created_at"] = 10**400
    raises(StateError, lambda: from_dict(doc, NodeState), "$.datastores[0].enis[1].created_at")


# -- 2. wrong-typed event fields ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: IPsAllocated("eni-0", None), "ips"),  # type: ignore[arg-type]
        (lambda: IPsAllocated("eni-0", 5), "ips"),  # type: ignore[arg-type]
        (lambda: IPsAllocated("eni-0", ["10.0.0.5", 5]), "ips"),  # type: ignore[list-item]
        (lambda: IPsAllocated(None, ()), "eni_id"),  # type: ignore[arg-type]
        (lambda: PrefixesAllocated("eni-0", 5), "prefixes"),  # type: ignore[arg-type]
        (lambda: PrefixesAllocated("eni-0", [b"10.0.0.16/28"]), "prefixes"),  # type: ignore[list-item]
        (lambda: ENIAttached("eni-3", "1"), "device_number"),  # type: ignore[arg-type]
        (lambda: ENIAttached("eni-3", 1.0), "device_number"),  # type: ignore[arg-type]
        (lambda: ENIAttached("eni-3", 1, True), "network_card"),
        (lambda: ENIAttached("eni-3", 1, ips=None), "ips"),  # type: ignore[arg-type]
        (lambda: ENIAttached("eni-3", 1, is_excluded=1), "is_excluded"),  # type: ignore[arg-type]
        (lambda: AllocationFailed(None), "code"),  # type: ignore[arg-type]
        (lambda: ObservedENI("eni-0", 0, managed="yes"), "managed"),  # type: ignore[arg-type]
        (lambda: ObservedENI("eni-0", 0, prefixes=7), "prefixes"),  # type: ignore[arg-type]
        (lambda: MetadataObserved(None), "enis"),  # type: ignore[arg-type]
        (lambda: MetadataObserved([("eni-0", 0)]), "enis"),  # type: ignore[list-item]
    ],
    ids=[
        "IPsAllocated.ips=None",
        "IPsAllocated.ips=5",
        "IPsAllocated.ips=[str,int]",
        "IPsAllocated.eni_id=None",
        "PrefixesAllocated.prefixes=5",
        "PrefixesAllocated.prefixes=[bytes]",
        "ENIAttached.device_number='1'",
        "ENIAttached.device_number=1.0",
        "ENIAttached.network_card=True",
        "ENIAttached.ips=None",
        "ENIAttached.is_excluded=1",
        "AllocationFailed.code=None",
        "ObservedENI.managed='yes'",
        "ObservedENI.prefixes=7",
        "MetadataObserved.enis=None",
        "MetadataObserved.enis=[tuple]",
    ],
)
def test_wrong_typed_event_fields(build: Callable[[], object], field: str) -> None:
    raises(StateError, build, field)


def test_event_address_lists_still_take_one_string_or_any_iterable() -> None:
    assert IPsAllocated("eni-0", "10.0.0.5").ips == ("10.0.0.5",)
    assert IPsAllocated("eni-0", ["10.0.0.5", "10.0.0.6"]).ips == ("10.0.0.5", "10.0.0.6")
    assert MetadataObserved([ObservedENI("eni-0", 0)]).enis == (ObservedENI("eni-0", 0),)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: AllocateENI("0", 1), "network_card"),  # type: ignore[arg-type]
        (lambda: AllocateENI(0, 1.0), "count"),  # type: ignore[arg-type]
        (lambda: AllocateENI(0, 1, prefixes=1), "prefixes"),  # type: ignore[arg-type]
        (lambda: AllocateIPs("eni-0", True), "count"),
        (lambda: AllocatePrefixes(0, 1), "eni_id"),  # type: ignore[arg-type]
        (lambda: ReleaseIPs("eni-0", ["10.0.0.5"]), "addresses"),  # type: ignore[arg-type]
        (lambda: ReleaseIPs("eni-0", (5,)), "addresses"),  # type: ignore[arg-type]
        (lambda: ReleasePrefixes("eni-0", "10.0.0.16/28"), "prefixes"),  # type: ignore[arg-type]
        (lambda: FreeENI(None), "eni_id"),  # type: ignore[arg-type]
    ],
    ids=[
        "AllocateENI.network_card='0'",
        "AllocateENI.count=1.0",
        "AllocateENI.prefixes=1",
        "AllocateIPs.count=True",
        "AllocatePrefixes.eni_id=0",
        "ReleaseIPs.addresses=list",
        "ReleaseIPs.addresses=(5,)",
        "ReleasePrefixes.prefixes=str",
        "FreeENI.eni_id=None",
    ],
)
def test_wrong_typed_action_fields(build: Callable[[], object], field: str) -> None:
    raises(StateError, build, field)


# -- 3. wrong-typed top-level arguments ---------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "field"),
    [
        (lambda: reconcile(NODE, None, CLOCK), ConfigError, "config"),
        (lambda: reconcile(None, CONFIG, CLOCK), StateError, "state"),
        (lambda: assign_pod_ip(NODE, None, "ns/b", CLOCK), ConfigError, "config"),
        (lambda: unassign_pod_ip(NODE, None, "ns/a", CLOCK), ConfigError, "config"),
        (lambda: reconcile_due(NODE, None, CLOCK), ConfigError, "config"),
        (lambda: apply(None, AllocationFailed("x"), CLOCK), StateError, "state"),
        (lambda: apply(NODE, None, CLOCK), UnexpectedEventError, None),
        (lambda: restart(None, CONFIG, CLOCK), StateError, "state"),
        (lambda: restart(NODE, None, CLOCK), ConfigError, "config"),
        (lambda: take_outbox(None), StateError, "state"),
        (lambda: NodeState.boot(None, CONFIG), ConfigError, "limits"),
        (lambda: NodeState.boot(LIMITS, None), ConfigError, "config"),
        (lambda: NodeState.boot(LIMITS, CONFIG, primary_eni_id=""), StateError, "primary_eni_id"),
        (lambda: steady_state(None, CONFIG, 1), ConfigError, "limits"),
        (lambda: steady_state(LIMITS, CONFIG, 1, max_ticks=True), ConfigError, "max_ticks"),
        (lambda: steady_state(LIMITS, CONFIG, 1, max_ticks=0), ConfigError, "max_ticks"),
        (lambda: converge(None, CONFIG, FakeEC2(LIMITS), 0.0), StateError, "state"),
        (lambda: converge(NODE, None, FakeEC2(LIMITS), CLOCK), ConfigError, "config"),
        (lambda: converge(NODE, CONFIG, None, CLOCK), StateError, "ec2"),
        (lambda: Config.from_env(None), ConfigError, "env"),
        (lambda: Config.from_env(["ENABLE_IPv4=true"]), ConfigError, "env"),
        (lambda: to_json(None), StateError, "value"),
        (lambda: to_json({"a": 1}), StateError, "value"),
        (lambda: to_json(NODE, indent="  "), StateError, "indent"),
        (lambda: to_json(NODE, indent=10**400), StateError, "indent"),
        (lambda: from_json("{}", None), StateError, "cls"),
        (lambda: from_json("{}", dict), StateError, "cls"),
    ],
    ids=[
        "reconcile config=None",
        "reconcile state=None",
        "assign config=None",
        "unassign config=None",
        "reconcile_due config=None",
        "apply state=None",
        "apply event=None",
        "restart state=None",
        "restart config=None",
        "take_outbox state=None",
        "boot limits=None",
        "boot config=None",
        "boot primary_eni_id=''",
        "steady_state limits=None",
        "steady_state max_ticks=True",
        "steady_state max_ticks=0",
        "converge state=None",
        "converge config=None",
        "converge ec2=None",
        "from_env None",
        "from_env list",
        "to_json None",
        "to_json dict",
        "to_json indent=str",
        "to_json indent=10**400",
        "from_json cls=None",
        "from_json cls=dict",
    ],
)
def test_wrong_typed_arguments(
    call: Callable[[], object], error: type[VpcCniModelError], field: str | None
) -> None:
    raises(error, call, field)


def test_none_is_not_the_config_a_node_accepted() -> None:
    """``fixed_config`` remembers the last Config object it accepted; before any, None must not
    match that memory (it did: the slot started as None)."""
    fresh = attrs.evolve(NODE)
    raises(ConfigError, lambda: reconcile(fresh, None, CLOCK), "config")  # type: ignore[arg-type]


# -- 4. reconcile_due checks its clock ----------------------------------------------------------


@pytest.mark.parametrize("clock", [math.nan, "5", None, CLOCK - 1])
def test_reconcile_due_checks_its_clock(clock: object) -> None:
    raises(StateError, lambda: reconcile_due(NODE, CONFIG, clock), "clock")  # type: ignore[arg-type]


# -- 5. events that would make the state inconsistent -------------------------------------------


def _waiting_for(action: AllocateENI | AllocateIPs | AllocatePrefixes, card: int = 0) -> NodeState:
    return attrs.evolve(NODE, in_flight=InFlight(action, card, CLOCK))


@pytest.mark.parametrize(
    ("state", "event", "field"),
    [
        # An attached ENI carrying an address another ENI holds.
        (_waiting_for(AllocateENI(0, 1)), ENIAttached("eni-9", 2, ips=("10.0.0.12",)), "ips"),
        (_waiting_for(AllocateENI(0, 1)), ENIAttached("eni-9", 2, ips=("10.0.0.9",)), "ips"),
        (
            _waiting_for(AllocateENI(0, 1, prefixes=True)),
            ENIAttached("eni-9", 2, prefixes=("10.0.0.0/28",)),
            "prefixes",
        ),
        # An allocation carrying one.
        (_waiting_for(AllocateIPs("eni-2", 1)), IPsAllocated("eni-2", ("10.0.0.6",)), "ips"),
        (
            _waiting_for(AllocatePrefixes("eni-2", 1)),
            PrefixesAllocated("eni-2", ("10.0.0.0/28",)),
            "prefixes",
        ),
        # An answer whose own CIDRs overlap.
        (
            _waiting_for(AllocateENI(0, 2)),
            ENIAttached("eni-9", 2, ips=("10.0.1.17",), prefixes=("10.0.1.16/28",)),
            "ips",
        ),
        # More CIDRs than the ENI may hold (3 here).
        (
            _waiting_for(AllocateIPs("eni-2", 1)),
            IPsAllocated("eni-2", ("10.0.0.14",)),
            "ips",
        ),
        (
            _waiting_for(AllocateENI(0, 3)),
            ENIAttached("eni-9", 2, ips=("10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4")),
            "ips",
        ),
    ],
    ids=[
        "ENIAttached ip of eni-2",
        "ENIAttached ip of eni-1 (card 1)",
        "ENIAttached prefix over eni-0's ips",
        "IPsAllocated ip of eni-0",
        "PrefixesAllocated prefix over eni-0's ips",
        "ENIAttached ip inside its prefix",
        "IPsAllocated past the ENI limit",
        "ENIAttached past the ENI limit",
    ],
)
def test_answers_that_would_corrupt_the_state(state: NodeState, event: object, field: str) -> None:
    before = to_json(state)
    raises(StateError, lambda: apply(state, event, CLOCK), field)  # type: ignore[arg-type]
    assert to_json(state) == before


def test_an_answer_that_re_reports_what_the_eni_holds_is_fine() -> None:
    """After PrivateIpAddressLimitExceeded the driver reports every address the ENI has."""
    state = _waiting_for(AllocateIPs("eni-2", 1))
    after = apply(state, IPsAllocated("eni-2", ("10.0.0.11", "10.0.0.12", "10.0.0.13")), CLOCK)
    after.check()
    assert after.in_flight is None


def test_an_eni_attached_to_a_full_card() -> None:
    full = attrs.evolve(
        NODE, datastores=(NODE.datastores[0], attrs.evolve(NODE.datastores[1], unmanaged_enis=2))
    )
    full.check()
    state = attrs.evolve(full, in_flight=InFlight(AllocateENI(1, 1), 1, CLOCK))
    raises(
        StateError,
        lambda: apply(state, ENIAttached("eni-9", 3, 1, ips=("10.0.3.1",)), CLOCK),
        "network_card",
    )


def _observed(*changes: Callable[[list[ObservedENI]], None]) -> MetadataObserved:
    """What a FakeEC2 holding NODE shows, changed by ``changes``."""
    seen = list(FakeEC2.for_node(NODE).observe())
    for change in changes:
        change(seen)
    return MetadataObserved(tuple(seen))


def test_the_unchanged_observation_is_fine() -> None:
    after = apply(NODE, _observed(), CLOCK + 61)
    after.check()
    assert after.enis == NODE.enis


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # More ENIs on card 1 than it has slots for (3).
        (
            lambda seen: seen.extend(ObservedENI(f"eni-x{i}", 1 + i, 1) for i in range(3)),
            "enis",
        ),
        # A card the instance does not have.
        (lambda seen: seen.append(ObservedENI("eni-x", 0, 2)), "enis[3].network_card"),
        # An ENI with more CIDRs than the instance type allows.
        (
            lambda seen: seen.append(
                ObservedENI("eni-x", 2, 0, ips=tuple(f"10.0.5.{i}" for i in range(1, 5)))
            ),
            "enis[3].ips",
        ),
        # The primary ENI missing, or shown unmanaged (instance metadata always lists it).
        (lambda seen: seen.pop(0), "enis"),
        (lambda seen: seen.__setitem__(0, attrs.evolve(seen[0], managed=False)), "enis"),
        # A device index EC2 never uses.
        (
            lambda seen: seen.__setitem__(1, attrs.evolve(seen[1], device_number=100)),
            "enis[1].device_number",
        ),
    ],
    ids=[
        "too many ENIs on card 1",
        "card 2",
        "too many CIDRs",
        "primary missing",
        "primary unmanaged",
        "device 100",
    ],
)
def test_observations_instance_metadata_cannot_show(
    change: Callable[[list[ObservedENI]], None], field: str
) -> None:
    event = _observed(change)
    raises(StateError, lambda: apply(NODE, event, CLOCK + 61), field)


def test_an_address_that_moved_between_enis_is_re_added() -> None:
    """The observation replaces the datastore's view: an address EC2 now shows on another ENI
    moves there (it is not a conflict with the datastore's old holder)."""

    def move(seen: list[ObservedENI]) -> None:
        by_id = {o.eni_id: i for i, o in enumerate(seen)}
        donor, taker = by_id["eni-2"], by_id["eni-1"]
        seen[donor] = attrs.evolve(seen[donor], ips=seen[donor].ips[1:])
        seen[taker] = attrs.evolve(seen[taker], ips=(*seen[taker].ips, "10.0.0.11"))

    after = apply(NODE, _observed(move), CLOCK + 61)
    after.check()
    moved = after.find_eni("eni-1")
    assert moved is not None
    assert [c.key for c in moved.cidrs] == ["10.0.0.9/32", "10.0.0.11/32"]


# -- 6. values check() accepted but from_json refused -------------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: ENI("eni-1", 1.0), "device_number"),  # type: ignore[arg-type]
        (lambda: ENI("eni-1", 1, network_card=0.0), "network_card"),  # type: ignore[arg-type]
        (lambda: ENI("eni-1", 1, is_primary=1), "is_primary"),  # type: ignore[arg-type]
        (lambda: ENI("eni-1", 1, is_excluded=0), "is_excluded"),  # type: ignore[arg-type]
        (lambda: ENI("eni-1", 1, created_at="0"), "created_at"),  # type: ignore[arg-type]
        (lambda: ENI("eni-1", 1, cidrs=[Cidr(ip("10.0.0.5"), False)]), "cidrs"),  # type: ignore[arg-type]
        (lambda: Cidr(ip("10.0.0.5"), 0), "is_prefix"),  # type: ignore[arg-type]
        (lambda: Cidr(ip("10.0.0.5"), False, [Address(ip("10.0.0.5"))]), "addresses"),  # type: ignore[arg-type]
        (lambda: Address(ip("10.0.0.5"), pod=""), "pod"),
        (lambda: Address(ip("10.0.0.5"), pod=5), "pod"),  # type: ignore[arg-type]
        (lambda: Address(2**128), "ip"),
        (lambda: Address(ip("10.0.0.5"), "ns/a", assigned_at=True), "assigned_at"),
        (lambda: Datastore(0, (), 0, unmanaged_enis=1.0), "unmanaged_enis"),  # type: ignore[arg-type]
        (lambda: Datastore(0, (), 0.0), "prefix_counter"),  # type: ignore[arg-type]
        (lambda: Datastore(0, [], 0), "enis"),  # type: ignore[arg-type]
        (lambda: Datastore(True, (), 0), "network_card"),
        (lambda: PodIP("ns/a", 0, "eni-0", 1.0, 1), "cidr"),  # type: ignore[arg-type]
        (lambda: PodIP("", 0, "eni-0", 1, 1), "pod"),
        (lambda: InFlight(FreeENI("eni-0"), 0, 1.0), "action"),
        (lambda: InFlight(None, 0, 1.0), "action"),  # type: ignore[arg-type]
        (lambda: InFlight(AllocateIPs("eni-0", 1), 0, "1"), "started_at"),  # type: ignore[arg-type]
        (lambda: DeferredCleanup("eni-0", 0, -1, 1.0), "cidr"),
        (lambda: attrs.evolve(NODE, cordoned=1), "cordoned"),
        (lambda: attrs.evolve(NODE, last_decrease_at="1"), "last_decrease_at"),
        (lambda: attrs.evolve(NODE, datastores=list(NODE.datastores)), "datastores"),
        (lambda: attrs.evolve(NODE, outbox=(NodeCordonedLike(),)), "outbox"),
        (lambda: attrs.evolve(NODE, reconcile_cooldown={"10.0.0.6": "1"}), "reconcile_cooldown"),
        (lambda: attrs.evolve(NODE, reconcile_cooldown=5), "reconcile_cooldown"),
        (lambda: attrs.evolve(NODE, pods=5), "pods"),
        (lambda: attrs.evolve(NODE, config=None), "config"),
        (lambda: attrs.evolve(NODE, limits="m5.large"), "limits"),
    ],
    ids=[
        "ENI.device_number=1.0",
        "ENI.network_card=0.0",
        "ENI.is_primary=1",
        "ENI.is_excluded=0",
        "ENI.created_at='0'",
        "ENI.cidrs=list",
        "Cidr.is_prefix=0",
        "Cidr.addresses=list",
        "Address.pod=''",
        "Address.pod=5",
        "Address.ip=2**128",
        "Address.assigned_at=True",
        "Datastore.unmanaged_enis=1.0",
        "Datastore.prefix_counter=0.0",
        "Datastore.enis=list",
        "Datastore.network_card=True",
        "PodIP.cidr=1.0",
        "PodIP.pod=''",
        "InFlight.action=FreeENI",
        "InFlight.started_at='1'",
        "InFlight.action=None",
        "DeferredCleanup.cidr=-1",
        "NodeState.cordoned=1",
        "NodeState.last_decrease_at='1'",
        "NodeState.datastores=list",
        "NodeState.outbox=(object,)",
        "NodeState.reconcile_cooldown value '1'",
        "NodeState.reconcile_cooldown=5",
        "NodeState.pods=5",
        "NodeState.config=None",
        "NodeState.limits=str",
    ],
)
def test_values_the_json_reader_would_refuse(build: Callable[[], object], field: str) -> None:
    raises(StateError, build, field)


class NodeCordonedLike:
    """Not an action."""


def test_ints_of_seconds_become_floats() -> None:
    """What from_json reads back (a float) equals what was built (an int), and the value keeps
    a float, so the two also serialize alike."""
    eni = ENI("eni-1", 1, created_at=5)
    assert type(eni.created_at) is float
    assert from_json(to_json(eni), ENI) == eni


# -- 7. documents from_json accepted although inconsistent ----------------------------------------


def _edited(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(to_dict(NODE))
    edit(doc)
    return doc


def _eni_doc(eni_id: str, device: int, card: int, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = to_dict(ENI(eni_id, device, card, created_at=CLOCK))
    doc.update(changes)
    return doc


def _stores(doc: dict[str, Any]) -> list[dict[str, Any]]:
    stores: list[dict[str, Any]] = doc["datastores"]
    return stores


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        # One ENI id on two cards.
        (
            lambda d: _stores(d)[1]["enis"].append(_eni_doc("eni-2", 5, 1)),
            "$.datastores[1].enis[1].eni_id",
        ),
        # Two primary ENIs; none; a primary_eni_id naming no ENI; the primary on card 1.
        (
            lambda d: _stores(d)[0]["enis"][1].update(is_primary=True),
            "$.datastores[0].enis[1].is_primary",
        ),
        (lambda d: _stores(d)[0]["enis"][0].update(is_primary=False), "$.primary_eni_id"),
        (lambda d: d.update(primary_eni_id="eni-9"), "$.primary_eni_id"),
        (
            lambda d: (
                _stores(d)[0]["enis"][0].update(is_primary=False),
                _stores(d)[1]["enis"][0].update(is_primary=True),
                d.update(primary_eni_id="eni-1"),
            ),
            "$.datastores[1].enis[0].network_card",
        ),
        # Timestamps later than the clock.
        (
            lambda d: _stores(d)[0]["enis"][1].update(created_at=CLOCK + 1),
            "$.datastores[0].enis[1].created_at",
        ),
        (
            lambda d: _stores(d)[0]["enis"][0]["cidrs"][0]["addresses"][0].update(
                assigned_at=CLOCK + 1
            ),
            "$.datastores[0].enis[0].cidrs[0].addresses[0].assigned_at",
        ),
        (lambda d: d.update(last_pool_action_at=CLOCK + 1), "$.last_pool_action_at"),
        (
            lambda d: d.update(reconcile_cooldown={"10.0.0.8": CLOCK + 1}),
            "$.reconcile_cooldown['10.0.0.8']",
        ),
        (
            lambda d: d.update(
                in_flight={
                    "action": {
                        "type": "AllocateENI",
                        "network_card": 0,
                        "count": 1,
                        "prefixes": False,
                    },
                    "network_card": 0,
                    "started_at": CLOCK + 1,
                }
            ),
            "$.in_flight.started_at",
        ),
        # A deferred cleanup for a card that does not exist (the node could never tick again).
        (
            lambda d: d.update(
                deferred_cleanups=[
                    {"eni_id": "eni-2", "network_card": 5, "cidr": ip("10.0.0.11"), "due_at": 0.0}
                ]
            ),
            "$.deferred_cleanups[0].network_card",
        ),
        # A datastore for a card the instance lacks; more CIDRs or ENIs than allowed.
        (
            lambda d: _stores(d).append(
                {"network_card": 2, "enis": [], "prefix_counter": 0, "unmanaged_enis": 0}
            ),
            "$.datastores[2].network_card",
        ),
        (
            lambda d: _stores(d)[0]["enis"][1]["cidrs"].append(
                {"network": ip("10.0.0.14"), "is_prefix": False, "addresses": []}
            ),
            "$.datastores[0].enis[1].cidrs",
        ),
        (lambda d: _stores(d)[1].update(unmanaged_enis=3), "$.datastores[1].enis"),
        # The same address on two ENIs (this one check() always refused).
        (
            lambda d: _stores(d)[1]["enis"][0]["cidrs"].append(
                {"network": ip("10.0.0.11"), "is_prefix": False, "addresses": []}
            ),
            "$.cidrs",
        ),
        # Calls that name nothing that exists.
        (
            lambda d: d.update(
                in_flight={
                    "action": {"type": "AllocateIPs", "eni_id": "eni-1", "count": 1},
                    "network_card": 0,
                    "started_at": CLOCK,
                }
            ),
            "$.in_flight.action.eni_id",
        ),
        (
            lambda d: d.update(
                in_flight={
                    "action": {"type": "FreeENI", "eni_id": "eni-2"},
                    "network_card": 0,
                    "started_at": CLOCK,
                }
            ),
            "$.in_flight.action",
        ),
        (
            lambda d: d.update(outbox=[{"type": "AllocateIPs", "eni_id": "eni-2", "count": 1}]),
            "$.outbox[0]",
        ),
        # Releases of what the datastore still holds (EC2 would drop it under the datastore).
        (lambda d: d.update(outbox=[{"type": "FreeENI", "eni_id": "eni-2"}]), "$.outbox[0].eni_id"),
        (
            lambda d: d.update(
                outbox=[{"type": "ReleaseIPs", "eni_id": "eni-2", "addresses": ["10.0.0.12"]}]
            ),
            "$.outbox[0]",
        ),
    ],
    ids=[
        "ENI id on two cards",
        "two primaries",
        "no primary",
        "primary_eni_id names no ENI",
        "primary on card 1",
        "created_at after clock",
        "assigned_at after clock",
        "last_pool_action_at after clock",
        "cooldown entry after clock",
        "in_flight.started_at after clock",
        "cleanup for a missing card",
        "datastore for a card the instance lacks",
        "ENI over its CIDR limit",
        "card over its ENI limit",
        "address on two ENIs",
        "in-flight IPs for an ENI of another card",
        "in-flight release",
        "allocation in the outbox",
        "queued FreeENI of a held ENI",
        "queued release of a held IP",
    ],
)
def test_inconsistent_documents(edit: Callable[[dict[str, Any]], None], field: str | None) -> None:
    doc = _edited(edit)
    exc = raises(StateError, lambda: from_dict(doc, NodeState), field)
    assert exc.field.startswith("$")  # type: ignore[attr-defined]


def test_an_eni_grown_in_a_tick_is_freed_in_the_rest_of_it() -> None:
    """In prefix mode with no warm targets, a tick grows the only ENI with room (no CIDRs, no
    pods) and then, with the start-of-tick statistics, frees that same ENI (spec 5.8, 6.6): Go
    waits for the grow call, so the free comes after it, in the same tick. Every state on the
    way is consistent."""
    limits = InstanceLimits(name="small", max_enis=3, ipv4_per_eni=3)
    config = Config(prefix_delegation=True, warm_prefix_target=0, warm_eni_target=0, max_pods=99)
    base = ip("10.0.1.0")
    full = tuple(
        Cidr(
            base + 16 * i,
            True,
            tuple(Address(base + 16 * i + k, f"p{i}-{k}", 0.0) for k in range(16)),
        )
        for i in range(2)
    )
    pods = {
        f"p{i}-{k}": PodIP(f"p{i}-{k}", 0, "eni-0", base + 16 * i, base + 16 * i + k)
        for i in range(2)
        for k in range(16)
    }
    state = NodeState(
        limits=limits,
        config=config.for_instance(limits),
        primary_eni_id="eni-0",
        datastores=(
            Datastore.of(0, (ENI("eni-0", 0, is_primary=True, cidrs=full), ENI("eni-1", 1))),
        ),
        pods=pods,
        clock=100.0,
    )
    state.check()
    step = reconcile(state, config, 100.0)
    assert step.actions == (AllocatePrefixes("eni-1", 1),)
    step.state.check()
    answered = apply(step.state, PrefixesAllocated("eni-1", ("10.0.2.0/28",)), 100.0)
    answered.check()
    rest = reconcile(answered, config, 100.0)
    assert rest.actions == (FreeENI("eni-1"),)
    rest.state.check()
    assert rest.state.in_flight is None and rest.state.tick is None
    assert rest.state.find_eni("eni-1") is None


def _leftover_prefix_released() -> tuple[NodeState, FakeEC2]:
    """Secondary-IP mode; eni-0 holds .5 and a leftover /28 whose one pod leaves: the DEL path
    queues the prefix's release (Q3), which ipamd would have made at once. The FakeEC2 still
    holds the prefix: the driver has not run the release yet."""
    limits = InstanceLimits(name="small", max_enis=2, ipv4_per_eni=4)
    config = Config()
    pod = Address(ip("10.0.1.0"), "ns/p", 0.0)
    cidrs = (Cidr(ip("10.0.0.5"), False), Cidr(ip("10.0.1.0"), True, (pod,)))
    state = NodeState(
        limits=limits,
        config=config.for_instance(limits),
        primary_eni_id="eni-0",
        datastores=(Datastore.of(0, (ENI("eni-0", 0, is_primary=True, cidrs=cidrs),)),),
        pods={"ns/p": PodIP("ns/p", 0, "eni-0", ip("10.0.1.0"), ip("10.0.1.0"))},
        clock=100.0,
    )
    state.check()
    ec2 = FakeEC2.for_node(state)
    state, _ = unassign_pod_ip(state, config, "ns/p", 100.0)
    assert state.outbox == (ReleasePrefixes("eni-0", ("10.0.1.0/28",)),)
    return state, ec2


def test_an_observation_does_not_re_add_what_the_outbox_releases() -> None:
    """The model defers ipamd's immediate DEL-path release to the outbox; an observation made
    before the driver runs it must not re-add the prefix (it re-added it, and once the release
    ran the datastore held a prefix EC2 could hand to another ENI)."""
    state, ec2 = _leftover_prefix_released()
    after = apply(state, MetadataObserved(ec2.observe()), 200.0)
    after.check()
    eni = after.find_eni("eni-0")
    assert eni is not None and [c.key for c in eni.cidrs] == ["10.0.0.5/32"]
    step = reconcile(after, Config(), 200.0)
    assert step.actions[0] == ReleasePrefixes("eni-0", ("10.0.1.0/28",))


def test_a_report_does_not_re_add_what_the_outbox_releases() -> None:
    """Same for the report of every address an ENI has (after PrivateIpAddressLimitExceeded)."""
    state, _ = _leftover_prefix_released()
    waiting = attrs.evolve(state, in_flight=InFlight(AllocatePrefixes("eni-0", 1), 0, 100.0))
    after = apply(waiting, PrefixesAllocated("eni-0", ("10.0.1.0/28", "10.0.2.0/28")), 100.0)
    after.check()
    eni = after.find_eni("eni-0")
    assert eni is not None
    assert [c.key for c in eni.cidrs] == ["10.0.0.5/32", "10.0.2.0/28"]


def test_a_cleanup_for_a_missing_card_would_stop_every_tick() -> None:
    """Why the rule exists: the tick looks the card up (and raised on every call)."""
    state = attrs.evolve(
        NODE, deferred_cleanups=(DeferredCleanup("eni-2", 5, ip("10.0.0.11"), 0.0),)
    )
    raises(StateError, state.check, "deferred_cleanups[0].network_card")


def test_a_cidr_on_a_card_zero_only_node_without_multi_nic() -> None:
    single = restart(NODE, Config(), CLOCK)  # multi-NIC off: card 1 is no longer managed
    assert [ds.network_card for ds in single.datastores] == [0]
    single.check()
    doc = to_dict(single)
    doc["datastores"].append(to_dict(NODE.datastores[1]))
    raises(StateError, lambda: from_dict(doc, NodeState), "$.datastores[1].network_card")


# -- 8. pod keys that could be assigned but never unassigned -----------------------------------


class Key(str):
    """A str subclass: it may hash and compare unlike its text."""


@pytest.mark.parametrize(
    "pod", [Key("ns/b"), "", b"ns/b", None], ids=["str subclass", "empty", "bytes", "None"]
)
def test_pod_keys_that_could_never_be_unassigned(pod: object) -> None:
    raises(StateError, lambda: assign_pod_ip(NODE, CONFIG, pod, CLOCK), "pod")  # type: ignore[arg-type]


def test_a_document_with_an_empty_pod_key() -> None:
    def rename(doc: dict[str, Any]) -> None:
        ref = doc["pods"].pop("ns/a")
        ref["pod"] = ""
        doc["pods"][""] = ref
        _stores(doc)[0]["enis"][0]["cidrs"][0]["addresses"][0]["pod"] = ""

    raises(StateError, lambda: from_dict(_edited(rename), NodeState))
