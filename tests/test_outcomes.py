"""``apply`` of EC2 outcomes and node events (spec 1.5.3, 6.2-6.4, 8).

Every expected value below is derived by hand from /work/shared/docs/ipamd-spec.md; the
comment next to each assertion names the rule. Builders are in ``ticks.py``.
"""

from __future__ import annotations

import attrs
import pytest
from ticks import (
    INSUFFICIENT_BLOCKS,
    INSUFFICIENT_IPS,
    LIMITS,
    MULTI,
    NOW,
    allocations,
    answer,
    c28,
    c32,
    eni,
    ip,
    keys,
    node,
    pfx,
    primary,
)

from vpccni_model import (
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    AllocationFailed,
    Answer,
    Config,
    Ec2Error,
    ENIAttached,
    InFlight,
    InstanceLimits,
    IPsAllocated,
    MetadataObserved,
    NodeCordoned,
    NodeState,
    NodeTerminating,
    NodeUncordoned,
    ObservedENI,
    PrefixesAllocated,
    PrimarySubnet,
    UnexpectedEventError,
    apply,
    reconcile,
)

# -- apply: allocation outcomes (spec 6.2-6.4, 8) ---------------------------------------------


def test_ips_allocated_adds_cidrs_clears_in_flight_and_stamps() -> None:
    config = Config()
    state = reconcile(NodeState.boot(LIMITS, config, clock=0.0), config, NOW).state
    state = apply(state, IPsAllocated("eni-0", (ip(7), ip(5), ip(6))), NOW + 2)
    assert keys(state, "eni-0") == ["10.0.0.5/32", "10.0.0.6/32", "10.0.0.7/32"]
    assert state.in_flight is None
    # 6.1: increased -> lastNodeIPPoolAction = now.
    assert state.last_pool_action_at == NOW + 2
    assert state.datastore(0).prefix_counter == 0


def test_prefixes_allocated_adds_prefixes_and_counts_them() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=2, max_pods=110)
    state = reconcile(NodeState.boot(LIMITS, config, clock=0.0), config, NOW).state
    assert state.in_flight is not None
    assert state.in_flight.action == AllocatePrefixes("eni-0", 2)
    state = apply(state, PrefixesAllocated("eni-0", (pfx(32), pfx(16))), NOW + 1)
    assert keys(state, "eni-0") == ["10.0.0.16/28", "10.0.0.32/28"]
    # 3.3: AddIPv4CidrToStore adds 1 to allocated_prefix per prefix.
    assert state.datastore(0).prefix_counter == 2
    assert state.in_flight is None
    assert state.last_pool_action_at == NOW + 1


def test_duplicate_addresses_are_ignored() -> None:
    config = Config(warm_ip_target=3)
    state = node(config, primary(c32(5)))
    state = reconcile(state, config, NOW).state
    # short = 3 - 1 = 2 -> min(2, 2) = 2.
    assert state.in_flight is not None
    assert state.in_flight.action == AllocateIPs("eni-0", 2)
    # 6.2: "add every non-primary addr as a /32 (duplicates ignored)" - .5 is already there
    # and .6 is reported twice (a resync after PrivateIpAddressLimitExceeded lists all).
    state = apply(state, IPsAllocated("eni-0", (ip(5), ip(6), ip(6))), NOW)
    assert keys(state, "eni-0") == ["10.0.0.5/32", "10.0.0.6/32"]


def test_a_resync_that_adds_nothing_still_counts_as_increased() -> None:
    config = Config(warm_ip_target=3)
    state = node(config, primary(c32(5)), last_pool_action_at=500.0)
    state = reconcile(state, config, NOW).state
    # 8: after PrivateIpAddressLimitExceeded ipamd adds what EC2 lists and reports
    # "increased" -> 6.1 stamps lastNodeIPPoolAction even though every address was known.
    state = apply(state, IPsAllocated("eni-0", (ip(5),)), NOW + 1)
    assert keys(state, "eni-0") == ["10.0.0.5/32"]
    assert state.in_flight is None
    assert state.last_pool_action_at == NOW + 1


def test_duplicate_prefixes_do_not_inflate_the_prefix_counter() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=2, max_pods=110)
    state = node(config, primary(c28(16)))
    state = reconcile(state, config, NOW).state
    # WP=2, F=1: Avail 16 < 32 -> low; needed = max(1, 2 - 1) = 1.
    assert state.in_flight is not None
    assert state.in_flight.action == AllocatePrefixes("eni-0", 1)
    state = apply(state, PrefixesAllocated("eni-0", (pfx(16), pfx(32), pfx(32))), NOW)
    assert keys(state, "eni-0") == ["10.0.0.16/28", "10.0.0.32/28"]
    assert state.datastore(0).prefix_counter == 2


def test_eni_attached_adds_the_eni_created_now() -> None:
    config = Config()
    state = node(config, primary(c32(5, "a"), c32(6), c32(7)))
    state = reconcile(state, config, NOW).state
    state = apply(state, ENIAttached("eni-9", 1, ips=(ip(12), ip(11), ip(13))), NOW + 3)
    added = state.find_eni("eni-9")
    assert added is not None
    # 6.4 step 6: create_time = now, not primary/trunk/EFA, its secondary IPs as /32s.
    assert added.created_at == NOW + 3
    assert added.device_number == 1
    assert (added.is_primary, added.is_trunk, added.is_efa) == (False, False, False)
    assert keys(state, "eni-9") == ["10.0.0.11/32", "10.0.0.12/32", "10.0.0.13/32"]
    assert [e.eni_id for e in state.datastore(0).enis] == ["eni-0", "eni-9"]
    assert state.in_flight is None
    assert state.last_pool_action_at == NOW + 3


@pytest.mark.parametrize(
    ("prefixes", "requested", "got", "accepted"),
    [
        (False, 3, 3, True),
        # 6.4 step 5: SIP accepts a partial result with >= 1 secondary IP.
        (False, 3, 1, True),
        (False, 3, 0, False),
        # Q14: PD needs >= 2 prefixes when more were asked for ...
        (True, 3, 1, False),
        (True, 2, 1, False),
        (True, 3, 2, True),
        # ... and a full result (>= R) is always fine.
        (True, 1, 1, True),
    ],
)
def test_partial_eni_results(prefixes: bool, requested: int, got: int, accepted: bool) -> None:
    config = Config(prefix_delegation=prefixes, max_pods=110)
    action = AllocateENI(0, requested, prefixes=prefixes)
    state = node(
        config,
        primary(),
        last_pool_action_at=500.0,
        in_flight=InFlight(action, 0, NOW),
    )
    if prefixes:
        event = ENIAttached("eni-5", 1, prefixes=tuple(pfx(16 * (k + 1)) for k in range(got)))
    else:
        event = ENIAttached("eni-5", 1, ips=tuple(ip(20 + k) for k in range(got)))
    after = apply(state, event, NOW + 1)
    assert after.in_flight is None
    if accepted:
        assert after.find_eni("eni-5") is not None
        assert len(keys(after, "eni-5")) == got
        assert after.last_pool_action_at == NOW + 1
        assert after.datastore(0).prefix_counter == (got if prefixes else 0)
    else:
        # Not added: the ENI stays attached outside the datastore until reconcile; the
        # failed tryAllocateENI does not refresh lastNodeIPPoolAction (6.1).
        assert after.find_eni("eni-5") is None
        assert after.last_pool_action_at == 500.0
        assert after.datastore(0).prefix_counter == 0


def test_orphaned_partial_eni_is_picked_up_by_the_next_reconcile_q14() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=3, max_pods=110)
    state = node(config, primary(), last_pool_action_at=500.0)
    state = attrs.evolve(state, in_flight=InFlight(AllocateENI(0, 3, prefixes=True), 0, NOW))
    state = apply(state, ENIAttached("eni-5", 1, prefixes=(pfx(16),)), NOW)
    assert state.find_eni("eni-5") is None
    # Q14 / 6.4 step 5: orphaned "until reconcile". Reconcile is due (NOW - 500 > 60 s):
    # the ENI is set up like any new ENI, create_time = now (7.7).
    seen = MetadataObserved((ObservedENI("eni-0", 0), ObservedENI("eni-5", 1, prefixes=(pfx(16),))))
    state = apply(state, seen, NOW + 5)
    found = state.find_eni("eni-5")
    assert found is not None
    assert found.created_at == NOW + 5
    assert keys(state, "eni-5") == ["10.0.0.16/28"]
    assert state.datastore(0).prefix_counter == 1


def _two_full_enis(config: Config, limits: InstanceLimits = LIMITS) -> NodeState:
    """Primary and eni-1 with 2 /32s each, all four with pods: W=2 gives short 2."""
    return node(
        config,
        primary(c32(5, "a"), c32(6, "b")),
        eni("eni-1", 1, c32(8, "c"), c32(9, "d")),
        limits=limits,
    )


def test_insufficient_addresses_with_subnet_discovery_continue_the_same_increase() -> None:
    config = Config(warm_ip_target=2)
    state = _two_full_enis(config)
    step = reconcile(state, config, NOW)
    # short = 2 - 0 = 2; primary has 3 - 2 = 1 slot -> min(1, 2) = 1.
    assert step.actions == (AllocateIPs("eni-0", 1),)
    state = apply(step.state, AllocationFailed(INSUFFICIENT_IPS), NOW)
    # Spec 8: subnet discovery on -> next allocatable ENI, no backoff stamp.
    assert state.last_insufficient_cidr_at is None
    step = reconcile(state, config, NOW + 5)
    assert step.actions == (AllocateIPs("eni-1", 1),)
    state = apply(step.state, AllocationFailed(INSUFFICIENT_BLOCKS), NOW + 5)
    assert state.last_insufficient_cidr_at is None
    step = reconcile(state, config, NOW + 10)
    # Every ENI failed -> falls through to ENI creation: R = min(short 2, S 3) = 2.
    assert step.actions == (AllocateENI(0, 2, prefixes=False),)
    # Spec 8: the same codes during ENI creation stamp the backoff.
    state = apply(step.state, AllocationFailed(INSUFFICIENT_IPS), NOW + 10)
    assert state.last_insufficient_cidr_at == NOW + 10
    assert state.in_flight is None


@pytest.mark.parametrize("code", [INSUFFICIENT_IPS, INSUFFICIENT_BLOCKS])
def test_insufficient_on_eni_creation_stamps_the_backoff(code: str) -> None:
    config = Config()
    state = node(config, primary(c32(5, "a"), c32(6), c32(7)))
    state = reconcile(state, config, NOW).state
    state = answer(state, config, AllocationFailed(code), NOW + 1).state
    # 6.4 step 4: lastInsufficientCidrError = now.
    assert state.last_insufficient_cidr_at == NOW + 1
    assert state.in_flight is None
    # 6.1: elapsed <= 120 s -> no increase; 125 s later the same ENI creation is retried.
    assert reconcile(state, config, NOW + 121).actions == ()
    assert reconcile(state, config, NOW + 126).actions == (AllocateENI(0, 3),)


@pytest.mark.parametrize("code", [INSUFFICIENT_IPS, INSUFFICIENT_BLOCKS])
def test_insufficient_without_subnet_discovery_blocks_every_card_for_120s(code: str) -> None:
    config = Config(warm_ip_target=2, subnet_discovery=False, multi_nic=True)
    state = _two_full_enis(config, MULTI)
    # Card 1 exists and is empty: W=M=1 there, short = 1 -> low as well (1.3, 5.4).
    step = reconcile(state, config, NOW)
    assert step.actions == (AllocateIPs("eni-0", 1),)
    rest = answer(step.state, config, AllocationFailed(code), NOW)
    state = rest.state
    # Spec 8 (discovery off): lastInsufficientCidrError = now; not an error for the loop.
    assert state.last_insufficient_cidr_at == NOW
    assert state.in_flight is None
    # 6.1: the backoff is global, so card 1's increase in the rest of the same tick is skipped,
    # and for 120 s there is no increase on ANY card.
    assert allocations(rest.actions) == []
    for clock in (NOW + 5, NOW + 60, NOW + 120):
        assert allocations(reconcile(state, config, clock).actions) == []
    # Backoff over: card 0 first (ascending cards), then card 1 in the same tick once card 0's
    # call has returned (spec 7.3): an ENI on the empty card, W=M=1 there -> R = 1.
    step = reconcile(state, config, NOW + 125)
    assert step.actions == (AllocateIPs("eni-0", 1),)
    rest = answer(step.state, config, IPsAllocated("eni-0", (ip(7),)), NOW + 125)
    assert rest.actions == (AllocateENI(1, 1, destination=PrimarySubnet()),)  # discovery off


@pytest.mark.parametrize("code", [Ec2Error.REQUEST_LIMIT_EXCEEDED, Ec2Error.UNAUTHORIZED_OPERATION])
@pytest.mark.parametrize("grow", [True, False])
def test_other_errors_only_clear_in_flight(code: str, grow: bool) -> None:
    config = Config()
    cidrs = (c32(5, "a"),) if grow else (c32(5, "a"), c32(6), c32(7))
    expected = AllocateIPs("eni-0", 2) if grow else AllocateENI(0, 3)
    state = node(config, primary(*cidrs), last_pool_action_at=500.0)
    step = reconcile(state, config, NOW)
    assert step.actions == (expected,)
    rest = answer(step.state, config, AllocationFailed(code), NOW + 1)
    state = rest.state
    # Spec 8: a generic error is logged; no backoff, no pool-action stamp, no fall-through to
    # another ENI or to ENI creation.
    assert rest.actions == ()
    assert state.in_flight is None
    assert state.tick is None
    assert state.last_insufficient_cidr_at is None
    assert state.last_pool_action_at == 500.0
    # The next tick tries exactly the same call again.
    assert reconcile(state, config, NOW + 5).actions == (expected,)


def test_events_that_do_not_answer_the_outstanding_call_raise() -> None:
    config = Config()
    idle = node(config, primary(c32(5, "a")))
    waiting_ips = reconcile(idle, config, NOW).state  # AllocateIPs("eni-0", 2)
    assert waiting_ips.in_flight is not None
    full = node(config, primary(c32(5, "a"), c32(6), c32(7)))
    waiting_eni = reconcile(full, config, NOW).state  # AllocateENI(0, 3)
    cases = [
        (idle, IPsAllocated("eni-0", (ip(6),))),
        (idle, ENIAttached("eni-5", 1, ips=(ip(20),))),
        (idle, AllocationFailed(Ec2Error.REQUEST_LIMIT_EXCEEDED)),
        (waiting_ips, IPsAllocated("eni-7", (ip(6),))),  # another ENI
        (waiting_ips, PrefixesAllocated("eni-0", (pfx(16),))),  # another kind
        (waiting_ips, ENIAttached("eni-5", 1, ips=(ip(20),))),
        (waiting_eni, IPsAllocated("eni-0", (ip(8),))),
        (waiting_eni, ENIAttached("eni-5", 0, network_card=1, ips=(ip(20),))),  # other card
        (waiting_eni, ENIAttached("eni-5", 0, ips=(ip(20),))),  # the primary's device number
        (waiting_eni, ENIAttached("eni-0", 1, ips=(ip(20),))),  # an ENI id already known
    ]
    for state, event in cases:
        with pytest.raises(UnexpectedEventError):
            apply(state, event, NOW + 1)
    # A continuation (after an insufficient-address failure) waits on no EC2 call: the tick
    # has its answer and goes on at the next reconcile.
    cont = apply(waiting_ips, AllocationFailed(INSUFFICIENT_IPS), NOW)
    assert cont.in_flight is None
    assert cont.tick is not None and cont.tick.answer is Answer.NEXT_ENI
    with pytest.raises(UnexpectedEventError):
        apply(cont, AllocationFailed(INSUFFICIENT_IPS), NOW + 1)


# -- node events (spec 1.5.3) ---------------------------------------------------------------


def test_node_events_set_and_clear_flags() -> None:
    state = NodeState.boot(LIMITS, Config(), clock=0.0)
    cordoned = apply(state, NodeCordoned(), NOW)
    assert (cordoned.cordoned, cordoned.terminating) == (True, False)
    back = apply(cordoned, NodeUncordoned(), NOW)
    assert (back.cordoned, back.terminating) == (False, False)
    ending = apply(back, NodeTerminating(), NOW)
    assert (ending.cordoned, ending.terminating) == (False, True)
