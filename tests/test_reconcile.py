"""Scenario tests of one pool tick (``reconcile``) and of ``apply``.

Every expected value below is derived by hand from /work/shared/docs/ipamd-spec.md; the
comment next to each assertion names the rule. Nothing is computed by the code under test.

Unless a test says otherwise the instance is ``LIMITS`` (3 ENIs, 4 IPv4 per ENI), so in
secondary-IP mode S = 4 - 1 = 3 and in prefix mode Pmax = 3 (spec 2.2); its EKS max pods is
3 * 3 + 2 = 11 (spec 12). Pods are written into the state directly so that every number of
T, A and Avail is visible in the test.
"""

from __future__ import annotations

import attrs
import pytest

from vpccni_model import (
    ENI,
    Address,
    Cidr,
    Datastore,
    InFlight,
    NodeState,
    PodIP,
    apply,
    reconcile,
    reconcile_due,
)
from vpccni_model._actions import (
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._config import Config
from vpccni_model._errors import UnexpectedEventError
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    IPsAllocated,
    MetadataObserved,
    NodeCordoned,
    NodeTerminating,
    NodeUncordoned,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model._ipv4 import ip_to_int
from vpccni_model._limits import InstanceLimits, NetworkCard
from vpccni_model._pods import assign_pod_ip, unassign_pod_ip
from vpccni_model._steady import converge
from vpccni_model.cloud import FakeEC2

LIMITS = InstanceLimits(name="test.small", max_enis=3, ipv4_per_eni=4)
MULTI = InstanceLimits(
    name="test.multi",
    max_enis=4,
    ipv4_per_eni=4,
    network_cards=(NetworkCard(0, 4), NetworkCard(1, 4)),
)
NOW = 1000.0
INSUFFICIENT_IPS = Ec2Error.INSUFFICIENT_FREE_ADDRESSES
INSUFFICIENT_BLOCKS = Ec2Error.INSUFFICIENT_CIDR_BLOCKS


# -- builders ---------------------------------------------------------------------------------


def ip(n: int) -> str:
    return f"10.0.0.{n}"


def ipi(n: int) -> int:
    return ip_to_int(ip(n))


def pfx(n: int) -> str:
    return f"10.0.0.{n}/28"


def c32(n: int, pod: str | None = None, *, unassigned_at: float | None = None) -> Cidr:
    """A /32 secondary IP 10.0.0.n, free, held by ``pod``, or freed at ``unassigned_at``."""
    if pod is not None:
        return Cidr(ipi(n), False, (Address(ipi(n), pod, 0.0),))
    if unassigned_at is not None:
        return Cidr(ipi(n), False, (Address(ipi(n), None, 0.0, unassigned_at),))
    return Cidr(ipi(n), False)


def c28(base: int, pods: int = 0, tag: str = "") -> Cidr:
    """A /28 at 10.0.0.base whose first ``pods`` addresses hold pods."""
    entries = tuple(Address(ipi(base + k), f"pod{tag}-{base}-{k}", 0.0) for k in range(pods))
    return Cidr(ipi(base), True, entries)


def eni(
    eni_id: str, device: int, *cidrs: Cidr, card: int = 0, created_at: float = 0.0, **flags: bool
) -> ENI:
    return ENI(
        eni_id=eni_id,
        device_number=device,
        network_card=card,
        created_at=created_at,
        cidrs=tuple(cidrs),
        **flags,
    )


def primary(*cidrs: Cidr) -> ENI:
    return eni("eni-0", 0, *cidrs, is_primary=True)


def node(
    config: Config, *enis: ENI, limits: InstanceLimits = LIMITS, **fields: object
) -> NodeState:
    """A consistent node state: one datastore per card (every card when multi-NIC is on),
    the pod index built from the assigned addresses, prefix counters exact."""
    effective = config.for_instance(limits)
    cards = {0} | {e.network_card for e in enis}
    if effective.multi_nic:
        cards |= set(limits.card_indices)
    stores = tuple(
        Datastore.of(card, [e for e in enis if e.network_card == card]) for card in sorted(cards)
    )
    pods: dict[str, PodIP] = {}
    for e in enis:
        for cidr in e.cidrs:
            for entry in cidr.addresses:
                if entry.pod is not None:
                    pods[entry.pod] = PodIP(
                        entry.pod, e.network_card, e.eni_id, cidr.network, entry.ip
                    )
    if "clock" not in fields:
        # A state's clock is never earlier than its timestamps (ENIs, addresses, timers).
        times = [
            t
            for e in enis
            for t in (
                e.created_at,
                *(a.assigned_at for c in e.cidrs for a in c.addresses),
                *(a.unassigned_at for c in e.cidrs for a in c.addresses),
            )
            if t is not None
        ]
        times += [t for t in fields.values() if isinstance(t, float)]
        times += [t.started_at for t in fields.values() if isinstance(t, InFlight)]
        fields["clock"] = max(times, default=0.0)
    state = NodeState(
        limits=limits,
        config=effective,
        primary_eni_id="eni-0",
        datastores=stores,
        pods=pods,
        **fields,  # type: ignore[arg-type]
    )
    state.check()
    return state


def keys(state: NodeState, eni_id: str) -> list[str]:
    found = state.find_eni(eni_id)
    assert found is not None, eni_id
    return [c.key for c in found.cidrs]


def allocations(actions: tuple[object, ...]) -> list[object]:
    return [a for a in actions if isinstance(a, AllocateENI | AllocateIPs | AllocatePrefixes)]


# -- increase (spec 5.4, 6.1-6.4) -------------------------------------------------------------


def test_e_mode_boot_fills_the_primary_eni_with_s_ips() -> None:
    state = NodeState.boot(LIMITS, Config(), clock=NOW)
    step = reconcile(state, Config(), NOW)
    # 5.4: E=1, Avail 0 < 1*S -> low. 6.2: want = S = 3 (no warm-IP target); the primary is
    # the first allocatable ENI and has 3 free slots -> count = min(3 - 0, 3) = 3.
    assert step.actions == (AllocateIPs("eni-0", 3),)
    assert step.state.in_flight is not None
    assert step.state.in_flight.action == AllocateIPs("eni-0", 3)
    # Waiting on the call: only its answer can change anything.
    assert step.next_check_at is None


def test_e_mode_tops_up_a_partly_filled_primary() -> None:
    config = Config()
    state = node(config, primary(c32(5, "a")))
    step = reconcile(state, config, NOW)
    # 5.4: T=1, A=1, Avail 0 < 3 -> low. 6.2: n = min(S - len(cidrs), S) = min(2, 3) = 2.
    assert step.actions == (AllocateIPs("eni-0", 2),)


def test_e_mode_creates_an_eni_with_s_ips_when_no_eni_has_room() -> None:
    config = Config()
    state = node(config, primary(c32(5, "a"), c32(6), c32(7)))
    step = reconcile(state, config, NOW)
    # 5.4: Avail 2 < S=3 -> low. 6.2: the primary holds S CIDRs, so no allocatable ENI;
    # 2.4: 1 ENI < maxENI 3 -> room; 5.9 SIP without W/M: R = S = 3.
    assert step.actions == (AllocateENI(0, 3, prefixes=False),)
    assert step.next_check_at is None


def test_warm_ip_target_asks_for_short_not_for_the_free_slots() -> None:
    config = Config(warm_ip_target=1)
    state = node(config, primary(c32(5, "a")))
    step = reconcile(state, config, NOW)
    # 5.1: short = max(W - Avail, 0) = 1 - 0 = 1; 6.2: n = min(3 - 1, 1) = 1 (not 2).
    assert step.actions == (AllocateIPs("eni-0", 1),)


def test_warm_and_minimum_targets_fill_primary_then_new_eni_with_short() -> None:
    # The t3.small W=2 M=5 row of docs/eni-and-ip-target.md (spec 11.1), step by step.
    config = Config(warm_ip_target=2, minimum_ip_target=5)
    state = NodeState.boot(LIMITS, config, clock=NOW)
    step = reconcile(state, config, NOW)
    # 5.1: short = max(2 - 0, 5 - 0) = 5; primary has 3 slots -> min(3, 5) = 3.
    assert step.actions == (AllocateIPs("eni-0", 3),)
    state = apply(step.state, IPsAllocated("eni-0", (ip(5), ip(6), ip(7))), NOW)
    step = reconcile(state, config, NOW + 5)
    # 5.1: T=3, A=0: short = max(2 - 3, 5 - 3) = 2; primary full -> 5.9: R = min(2, 3) = 2.
    assert step.actions == (AllocateENI(0, 2, prefixes=False),)
    state = apply(step.state, ENIAttached("eni-1", 1, ips=(ip(9), ip(10))), NOW + 5)
    # Settled: T=5, Avail=5: short = max(2-5, 5-5) = 0; over = min(5-2, 5-5) = 0.
    # 5.11: eni-1 is kept by the minimum target (other size 3 < 5), even once it is old.
    for clock in (NOW + 10, NOW + 70, NOW + 200):
        assert reconcile(state, config, clock).actions == ()
    assert keys(state, "eni-0") == ["10.0.0.5/32", "10.0.0.6/32", "10.0.0.7/32"]
    assert keys(state, "eni-1") == ["10.0.0.9/32", "10.0.0.10/32"]


@pytest.mark.parametrize(
    ("extra", "count"),
    [
        # WP=1, F=0: 5.3 -> max(1, WP - F) = 1.
        ({"warm_prefix_target": 1}, 1),
        # WP=3, F=0: max(1, 3 - 0) = 3 (Pmax = 3 leaves room for all of them).
        ({"warm_prefix_target": 3}, 3),
        # W=7 M=20: short = max(7, 20) = 20 -> ceil16(20) = 2 prefixes (spec 11.2 row).
        ({"warm_ip_target": 7, "minimum_ip_target": 20}, 2),
        # WP=0 (Q6): Avail 0 and target 0 -> low; needed is still max(1, 0) = 1.
        ({"warm_prefix_target": 0}, 1),
    ],
)
def test_prefix_mode_asks_for_the_prefixes_needed(extra: dict[str, int], count: int) -> None:
    config = Config(prefix_delegation=True, max_pods=110, **extra)
    state = NodeState.boot(LIMITS, config, clock=NOW)
    step = reconcile(state, config, NOW)
    assert step.actions == (AllocatePrefixes("eni-0", count),)


def test_prefix_mode_new_eni_gets_the_prefixes_needed() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=2, max_pods=110)
    state = node(config, primary(c28(16, 16), c28(32, 16), c28(48, 1)))
    step = reconcile(state, config, NOW)
    # T = 48, A = 33, Avail 15 < 16*WP = 32 -> low (5.4). The primary holds Pmax = 3 CIDRs;
    # F = 0 -> needed = max(1, 2 - 0) = 2 -> 5.9: R = min(2, Pmax 3) = 2.
    assert step.actions == (AllocateENI(0, 2, prefixes=True),)


def test_at_most_one_allocation_per_tick_and_none_while_in_flight() -> None:
    config = Config(warm_ip_target=5)
    state = NodeState.boot(LIMITS, config, clock=NOW)
    step = reconcile(state, config, NOW)
    # 6.1: fill one ENI *or* create one ENI per increase: short = 5 but only the primary's
    # 3 slots are asked for in this tick.
    assert step.actions == (AllocateIPs("eni-0", 3),)
    waiting = step.state
    for clock in (NOW + 5, NOW + 60):
        again = reconcile(waiting, config, clock)
        assert again.actions == ()
        assert again.next_check_at is None
        assert again.state.in_flight == waiting.in_flight
    state = apply(waiting, IPsAllocated("eni-0", (ip(5), ip(6), ip(7))), NOW + 5)
    # Next tick: short = 5 - 3 = 2, primary full -> a new ENI with min(2, 3) = 2 IPs.
    assert reconcile(state, config, NOW + 10).actions == (AllocateENI(0, 2, prefixes=False),)


@pytest.mark.parametrize(("max_pods", "expected"), [(3, ()), (4, (AllocateENI(0, 3),))])
def test_max_pods_stops_growth(max_pods: int, expected: tuple[object, ...]) -> None:
    config = Config(warm_ip_target=5, max_pods=max_pods)
    state = node(config, primary(c32(5, "a"), c32(6, "b"), c32(7, "c")))
    # Spec 13 vector (S=3, W=5, 3 IPs / 3 pods, maxPods=3 -> not low): 5.4 checks T >= maxPods
    # first. With maxPods 4: T=3 < 4, short = 5 - 0 = 5 -> new ENI with min(5, S=3) = 3.
    assert reconcile(state, config, NOW).actions == expected


def test_custom_networking_never_grows_the_primary_eni() -> None:
    config = Config(custom_networking=True)
    state = NodeState.boot(LIMITS, config, clock=NOW)
    # 1.5.1 / 6.2: GetAllocatableENIs skips the primary -> straight to a new ENI with S IPs.
    assert reconcile(state, config, NOW).actions == (AllocateENI(0, 3, prefixes=False),)
    # Primary with free slots and eni-1 with 1 of 3: only eni-1 is grown, by 3 - 1 = 2.
    state = node(config, primary(c32(5, "a")), eni("eni-1", 1, c32(8, "b")))
    assert reconcile(state, config, NOW).actions == (AllocateIPs("eni-1", 2),)


@pytest.mark.parametrize(
    ("max_enis", "pod_eni", "with_trunk", "expected"),
    [
        # 2.4: 1 ENI + 0 unmanaged + 1 trunk reserve < 2 is false -> no ENI.
        (2, True, False, ()),
        # Without pod ENI there is no reserve: 1 < 2.
        (2, False, False, (AllocateENI(0, 3),)),
        # With 3 ENIs allowed: 1 + 1 < 3.
        (3, True, False, (AllocateENI(0, 3),)),
        # A trunk is attached: no reserve, but it occupies a slot: 2 < 2 is false.
        (2, True, True, ()),
        # Trunk attached, 3 allowed: 2 < 3.
        (3, True, True, (AllocateENI(0, 3),)),
    ],
)
def test_trunk_slot_reservation(
    max_enis: int, pod_eni: bool, with_trunk: bool, expected: tuple[object, ...]
) -> None:
    limits = InstanceLimits(name="test.trunk", max_enis=max_enis, ipv4_per_eni=4)
    config = Config(pod_eni=pod_eni, max_pods=50)
    enis = [primary(c32(5, "a"), c32(6, "b"), c32(7, "c"))]
    if with_trunk:
        # The trunk is never grown (6.2), so it cannot absorb the shortage either.
        enis.append(eni("eni-t", 1, is_trunk=True))
    state = node(config, *enis, limits=limits)
    assert reconcile(state, config, NOW).actions == expected


@pytest.mark.parametrize(("max_eni", "expected"), [(2, ()), (3, (AllocateENI(0, 3),))])
def test_max_eni_caps_the_eni_count(max_eni: int, expected: tuple[object, ...]) -> None:
    limits = InstanceLimits(name="test.four", max_enis=4, ipv4_per_eni=4)
    config = Config(max_eni=max_eni, max_pods=50)
    state = node(
        config,
        primary(c32(5, "a"), c32(6, "b"), c32(7, "c")),
        eni("eni-1", 1, c32(8, "d"), c32(9, "e"), c32(10, "f")),
        limits=limits,
    )
    # 2.3: maxENI = min(MAX_ENI, 4). 2.4: 2 ENIs < 2 is false; 2 < 3 is true.
    assert reconcile(state, config, NOW).actions == expected


def test_q23_eni_allocation_of_zero_resources_stamps_the_pool_action() -> None:
    # An instance with one IPv4 per ENI: S = 0. W=1 -> short 1 -> low (5.4, T 0 < max pods 2).
    limits = InstanceLimits(name="test.one", max_enis=3, ipv4_per_eni=1)
    config = Config(warm_ip_target=1)
    state = NodeState.boot(limits, config, clock=0.0)
    step = reconcile(state, config, NOW)
    # 6.2: no ENI has a free slot (0 < 0 false). 2.4: room. 5.9: R = min(1, S=0) = 0 ->
    # Q23: tryAllocateENI succeeds without creating anything and lastNodeIPPoolAction = now.
    assert step.actions == ()
    assert step.state.in_flight is None
    assert step.state.last_pool_action_at == NOW
    # The stamp is what defers the 60 s reconcile (7.7).
    assert not reconcile_due(step.state, config, NOW + 60)


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
    seen = _observed(ObservedENI("eni-0", 0), ObservedENI("eni-5", 1, prefixes=(pfx(16),)))
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
    state = apply(state, AllocationFailed(code), NOW + 1)
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
    state = apply(step.state, AllocationFailed(code), NOW)
    # Spec 8 (discovery off): lastInsufficientCidrError = now; not an error for the loop.
    assert state.last_insufficient_cidr_at == NOW
    assert state.in_flight is None
    # 6.1: elapsed(lastInsufficientCidrError) <= 120 s -> no increase on ANY card.
    for clock in (NOW + 5, NOW + 60, NOW + 120):
        assert allocations(reconcile(state, config, clock).actions) == []
    # Backoff over: card 0 retries first (ascending cards), card 1 waits for the next tick.
    assert reconcile(state, config, NOW + 125).actions == (AllocateIPs("eni-0", 1),)


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "UnauthorizedOperation"])
@pytest.mark.parametrize("grow", [True, False])
def test_other_errors_only_clear_in_flight(code: str, grow: bool) -> None:
    config = Config()
    cidrs = (c32(5, "a"),) if grow else (c32(5, "a"), c32(6), c32(7))
    expected = AllocateIPs("eni-0", 2) if grow else AllocateENI(0, 3)
    state = node(config, primary(*cidrs), last_pool_action_at=500.0)
    step = reconcile(state, config, NOW)
    assert step.actions == (expected,)
    state = apply(step.state, AllocationFailed(code), NOW + 1)
    # Spec 8: a generic error is logged; no backoff, no pool-action stamp, no fall-through to
    # another ENI or to ENI creation.
    assert state.in_flight is None
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
        (idle, AllocationFailed("RequestLimitExceeded")),
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
    # A continuation (after an insufficient-address failure) waits on no EC2 call.
    cont = apply(waiting_ips, AllocationFailed(INSUFFICIENT_IPS), NOW)
    assert cont.in_flight is not None and cont.in_flight.action is None
    with pytest.raises(UnexpectedEventError):
        apply(cont, AllocationFailed(INSUFFICIENT_IPS), NOW + 1)


# -- decrease (spec 5.5, 5.6, 6.5) ------------------------------------------------------------


def _warm1_over3() -> tuple[Config, NodeState]:
    config = Config(warm_ip_target=1)
    state = node(
        config,
        primary(c32(5), c32(6, "a"), c32(7)),
        eni("eni-1", 1, c32(8), c32(9, "b"), c32(10)),
    )
    return config, state


def test_warm_ip_decrease_releases_over_lowest_first_eni_by_eni() -> None:
    config, state = _warm1_over3()
    step = reconcile(state, config, NOW)
    # 5.1: T=6, A=2, Avail=4: over = min(4 - 1, 6 - 0) = 3. 6.5 with the spec-9 order:
    # primary's free .5, .7, then eni-1's lowest free .8 (.10 survives).
    assert step.actions == (
        ReleaseIPs("eni-0", (ip(5), ip(7))),
        ReleaseIPs("eni-1", (ip(8),)),
    )
    assert keys(step.state, "eni-0") == ["10.0.0.6/32"]
    assert keys(step.state, "eni-1") == ["10.0.0.9/32", "10.0.0.10/32"]
    # 6.5 DeallocCidrs: each released /32 enters the reconcile cooldown cache (bare IP key).
    assert dict(step.state.reconcile_cooldown) == {ip(5): NOW, ip(7): NOW, ip(8): NOW}
    # 7.3: scaledDown -> lastDecreaseIPPool = lastNodeIPPoolAction = now.
    assert step.state.last_decrease_at == NOW
    assert step.state.last_pool_action_at == NOW
    # Pods are untouched.
    assert set(step.state.pods) == {"a", "b"}


def test_decrease_is_not_repeated_within_the_decrease_interval() -> None:
    config, state = _warm1_over3()
    state = attrs.evolve(state, last_decrease_at=NOW)
    # 5.6: skipped while elapsed <= 30 s.
    for clock in (NOW + 5, NOW + 30):
        assert reconcile(state, config, clock).actions == ()
    assert len(reconcile(state, config, NOW + 35).actions) == 2


def test_decrease_interval_after_a_real_decrease() -> None:
    config = Config(warm_ip_target=1)
    state = node(config, primary(c32(5, "a"), c32(6, "b"), c32(7)))
    # T=3, A=2, Avail 1: nothing over. Pod b leaves at NOW: Avail 2, over = min(1, 3) = 1.
    state, _ = unassign_pod_ip(state, config, "b", NOW)
    step = reconcile(state, config, NOW + 5)
    # Q2: releases ignore cooldown - the just-freed .6 is the lowest free /32 and goes.
    assert step.actions == (ReleaseIPs("eni-0", (ip(6),)),)
    state = step.state
    state, _ = unassign_pod_ip(state, config, "a", NOW + 6)
    # Avail 2 again: over 1, but elapsed(lastDecreaseIPPool) <= 30 s until NOW + 35.
    assert reconcile(state, config, NOW + 35).actions == ()
    assert reconcile(state, config, NOW + 40).actions == (ReleaseIPs("eni-0", (ip(5),)),)


def test_releases_ignore_cooldown_q2() -> None:
    config = Config(warm_ip_target=1)
    state = node(config, primary(c32(5, "a"), c32(6, unassigned_at=NOW - 1), c32(7)))
    # .6 is cooling (elapsed 1 <= 30, 3.5). T=3, A=1, Avail=2 -> over = 1; Q2 / 6.5:
    # FindFreeableCidrs does not check cooldown, so the lowest free CIDR .6 is released.
    step = reconcile(state, config, NOW)
    assert step.actions == (ReleaseIPs("eni-0", (ip(6),)),)


def test_prefix_mode_warm_ip_decrease_counts_prefixes() -> None:
    config = Config(prefix_delegation=True, warm_ip_target=5, max_pods=110)
    state = node(config, primary(c28(16), c28(32)))
    step = reconcile(state, config, NOW)
    # Spec 13 vector: PD, W=5, 2 free /28 -> over = 1 (needW = ceil16(0 + 5) = 1, F=2, P=2).
    assert step.actions == (ReleasePrefixes("eni-0", (pfx(16),)),)
    assert keys(step.state, "eni-0") == ["10.0.0.32/28"]
    # 3.3: DelIPv4CidrFromStore decrements allocated_prefix.
    assert step.state.datastore(0).prefix_counter == 1
    assert dict(step.state.reconcile_cooldown) == {pfx(16): NOW}


def test_prefix_mode_wp0_releases_every_free_prefix_then_reallocates_q6() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=0, max_pods=110)
    state = node(config, primary(c28(16), c28(32), c28(48)))
    step = reconcile(state, config, NOW)
    # 5.5: no W/M, PD -> too high iff F > WP: 3 > 0. 5.7: over = F - WP = 3 -> all three go.
    assert step.actions == (ReleasePrefixes("eni-0", (pfx(16), pfx(32), pfx(48))),)
    assert step.state.datastore(0).prefix_counter == 0
    # Q6: with T = 0, Avail == 0 and target 0 -> low -> one prefix comes straight back.
    again = reconcile(step.state, config, NOW + 5)
    assert again.actions == (AllocatePrefixes("eni-0", 1),)


def test_prefix_mode_wp0_does_not_grow_while_anything_is_free() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=0, max_pods=110)
    state = node(config, primary(c28(16, 15)))
    # Q6 / 5.4: WP=0 grows only at Avail == 0. Avail = 1 -> not low; F = 0 -> not high.
    assert reconcile(state, config, NOW).actions == ()
    state, _ = assign_pod_ip(state, config, "last", NOW)
    assert reconcile(state, config, NOW + 5).actions == (AllocatePrefixes("eni-0", 1),)


def test_secondary_ip_mode_without_warm_ip_targets_never_releases_ips() -> None:
    config = Config(warm_eni_target=1)
    state = node(
        config,
        primary(c32(5), c32(6), c32(7)),
        eni("eni-1", 1, c32(8), c32(9), c32(10), created_at=NOW - 10),
    )
    # 5.5: SIP without W/M -> never too high, whatever Avail (6 here). 5.8 asks for an ENI
    # free (6 >= 2*3), but eni-1 is too young (5.11).
    assert reconcile(state, config, NOW).actions == ()


def test_decrease_takes_cidrs_from_efa_enis_too() -> None:
    config = Config(warm_ip_target=1)
    state = node(config, primary(c32(5, "a")), eni("eni-1", 1, c32(8), c32(9), is_efa=True))
    # T=3 (EFA ENIs count, 3.4), A=1, Avail 2 -> over 1. 6.5 walks ALL ENIs, EFA included.
    assert reconcile(state, config, NOW).actions == (ReleaseIPs("eni-1", (ip(8),)),)


def test_leftover_slash32_uses_up_the_prefix_over_q7() -> None:
    config = Config(prefix_delegation=True, warm_ip_target=5, max_pods=110)
    state = node(config, primary(c32(5), c28(16), c28(32)))
    # PD W=5: overP = 1 as in the spec-13 vector (F=2, P=2, needW=1). FindFreeableCidrs returns
    # both kinds (Q7); in address order the leftover /32 .5 comes first and uses up over = 1,
    # so both prefixes survive this decrease.
    step = reconcile(state, config, NOW)
    assert step.actions == (ReleaseIPs("eni-0", (ip(5),)),)
    assert step.state.datastore(0).prefix_counter == 2


def test_every_card_can_decrease_in_the_same_tick() -> None:
    config = Config(warm_ip_target=1, multi_nic=True)
    state = node(
        config,
        primary(c32(5), c32(6)),
        eni("eni-1", 0, c32(9), c32(10), card=1),
        limits=MULTI,
    )
    # Card 0: Avail 2, W=1 -> over 1. Card 1 (W=M=1): over = min(2 - 1, 2 - 1) = 1. 7.3: the
    # decrease stamp is written after the card loop, so both cards release now.
    step = reconcile(state, config, NOW)
    assert step.actions == (ReleaseIPs("eni-0", (ip(5),)), ReleaseIPs("eni-1", (ip(9),)))
    assert step.state.last_decrease_at == NOW


@pytest.mark.parametrize("gate", [NodeTerminating(), NodeCordoned()])
def test_decrease_still_runs_while_terminating_or_cordoned_q24(gate: object) -> None:
    config, state = _warm1_over3()
    state = apply(state, gate, NOW)  # type: ignore[arg-type]
    # Q24 / 1.5.3: decreaseDatastorePool is not gated.
    assert reconcile(state, config, NOW).actions == (
        ReleaseIPs("eni-0", (ip(5), ip(7))),
        ReleaseIPs("eni-1", (ip(8),)),
    )


# -- gates (spec 1.5.3) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "manage", "allowed"),
    [
        ((), False, True),
        ((NodeCordoned(),), False, False),
        ((NodeCordoned(),), True, True),
        ((NodeTerminating(),), False, False),
        ((NodeTerminating(),), True, False),
        ((NodeCordoned(), NodeUncordoned()), False, True),
    ],
)
def test_increase_and_eni_free_are_gated(
    events: tuple[object, ...], manage: bool, allowed: bool
) -> None:
    config = Config(manage_enis_non_schedulable=manage)
    # Low: Avail 0 < S (increase). Gate off -> AllocateIPs("eni-0", 2).
    low = node(config, primary(c32(5, "a")))
    # Freeable: E-mode Avail 3 + 3 = 6 >= (E+1)*S = 6 (5.8), eni-1 old and empty of pods.
    free = node(config, primary(c32(5), c32(6), c32(7)), eni("eni-1", 1, c32(8), c32(9), c32(10)))
    for event in events:
        low = apply(low, event, NOW)  # type: ignore[arg-type]
        free = apply(free, event, NOW)  # type: ignore[arg-type]
    grow = reconcile(low, config, NOW).actions
    shrink = reconcile(free, config, NOW).actions
    if allowed:
        assert grow == (AllocateIPs("eni-0", 2),)
        assert shrink == (FreeENI("eni-1"),)
    else:
        assert grow == ()
        assert shrink == ()


def test_node_events_set_and_clear_flags() -> None:
    state = NodeState.boot(LIMITS, Config(), clock=0.0)
    cordoned = apply(state, NodeCordoned(), NOW)
    assert (cordoned.cordoned, cordoned.terminating) == (True, False)
    back = apply(cordoned, NodeUncordoned(), NOW)
    assert (back.cordoned, back.terminating) == (False, False)
    ending = apply(back, NodeTerminating(), NOW)
    assert (ending.cordoned, ending.terminating) == (False, True)


# -- ENI free (spec 5.8, 5.11, 6.6) -----------------------------------------------------------


def test_eni_free_waits_for_the_minimum_lifetime() -> None:
    config = Config(warm_ip_target=1)
    state = node(config, primary(c32(5)), eni("eni-1", 1, created_at=NOW))
    # T=1, Avail=1: short 0, over min(0, 1) = 0. eni-1: no pods, no cooling; the W check
    # leaves 1 free IP elsewhere >= 1. Only youth (elapsed < 60 s) keeps it.
    young = reconcile(state, config, NOW + 55)
    assert young.actions == ()
    # The next tick that can free it: created + 60 s (the youth rule is '<').
    assert young.next_check_at == NOW + 60
    step = reconcile(state, config, NOW + 60)
    assert step.actions == (FreeENI("eni-1"),)
    assert step.state.find_eni("eni-1") is None
    assert [e.eni_id for e in step.state.enis] == ["eni-0"]


def test_eni_free_waits_for_cooling_addresses() -> None:
    config = Config()
    state = node(
        config,
        primary(c32(5), c32(6), c32(7)),
        eni("eni-1", 1, c32(8), c32(9, unassigned_at=NOW), c32(10)),
    )
    # E-mode: Avail 6 >= (1+1)*3 (5.8). eni-1 is old but .9 cools while elapsed <= 30 s.
    assert reconcile(state, config, NOW + 30).actions == ()
    step = reconcile(state, config, NOW + 35)
    assert step.actions == (FreeENI("eni-1"),)
    assert step.state.find_eni("eni-1") is None


def test_primary_trunk_and_efa_enis_are_never_freed() -> None:
    limits = InstanceLimits(name="test.four", max_enis=4, ipv4_per_eni=4)
    config = Config(warm_eni_target=0)
    enis = [
        primary(c32(5), c32(6), c32(7)),
        eni("eni-1", 1, is_trunk=True),
        eni("eni-2", 2, c32(8), is_efa=True),
    ]
    state = node(config, *enis, limits=limits)
    # E=0: not low (Avail 4 > 0); 5.8: Avail 4 >= (0+1)*3 -> try. 5.11: primary, trunk and EFA
    # are always kept, even empty and old.
    assert reconcile(state, config, NOW).actions == ()
    state = node(config, *enis, eni("eni-3", 3), limits=limits)
    assert reconcile(state, config, NOW).actions == (FreeENI("eni-3"),)


@pytest.mark.parametrize(
    ("warm_eni", "pods", "freed"),
    [
        (1, 0, True),  # 5.8: Avail 6 >= (1+1)*3
        (1, 1, False),  # Avail 5 < 6
        (0, 1, True),  # Avail 5 >= (0+1)*3
        (2, 0, False),  # Avail 6 < (2+1)*3 (and 6 < 2*3 is false: not low either)
    ],
)
def test_e_mode_frees_only_with_e_plus_one_enis_worth_free(
    warm_eni: int, pods: int, freed: bool
) -> None:
    config = Config(warm_eni_target=warm_eni)
    state = node(
        config,
        primary(c32(5, "a" if pods else None), c32(6), c32(7)),
        eni("eni-1", 1, c32(8), c32(9), c32(10)),
    )
    expected = (FreeENI("eni-1"),) if freed else ()
    assert reconcile(state, config, NOW).actions == expected


def test_warm_ip_mode_tries_the_eni_free_every_tick() -> None:
    state_enis = (primary(c32(5)), eni("eni-1", 1))
    warm = Config(warm_ip_target=1)
    # 7.3: with W/M shouldRemoveExtraENIs is always true - even in a tick where the decrease
    # is skipped (lastDecreaseIPPool 5 s ago).
    state = node(warm, *state_enis, last_decrease_at=NOW - 5)
    assert reconcile(state, warm, NOW).actions == (FreeENI("eni-1"),)
    # The same node in E-mode: Avail 1 < 2*3 -> no free attempt (5.8).
    e_mode = Config()
    state = node(e_mode, primary(c32(5), c32(6), c32(7)), eni("eni-1", 1))
    assert reconcile(state, e_mode, NOW).actions == ()


# -- multi-NIC (spec 1.3, 1.5.5, Q5) ----------------------------------------------------------


def test_multi_nic_card_one_gets_its_own_pool_with_w1_m1() -> None:
    config = Config(multi_nic=True)
    state = NodeState.boot(MULTI, config, clock=0.0)
    assert [ds.network_card for ds in state.datastores] == [0, 1]
    step = reconcile(state, config, NOW)
    # Card 0 (E-mode): S = 3 on the primary. Card 1 is low too but waits (one call per tick).
    assert step.actions == (AllocateIPs("eni-0", 3),)
    state = apply(step.state, IPsAllocated("eni-0", (ip(5), ip(6), ip(7))), NOW)
    step = reconcile(state, config, NOW + 5)
    # Card 1: no ENI, W=M=1 -> short = max(1 - 0, 1 - 0) = 1 -> 5.9: R = min(1, 3) = 1.
    assert step.actions == (AllocateENI(1, 1, prefixes=False),)
    state = apply(step.state, ENIAttached("eni-1", 0, network_card=1, ips=(ip(9),)), NOW + 5)
    assert [e.eni_id for e in state.datastore(1).enis] == ["eni-1"]
    assert [e.eni_id for e in state.datastore(0).enis] == ["eni-0"]
    assert reconcile(state, config, NOW + 10).actions == ()


def test_multi_nic_off_manages_only_card_zero() -> None:
    state = NodeState.boot(MULTI, Config(), clock=0.0)
    assert [ds.network_card for ds in state.datastores] == [0]


def test_card_one_grows_one_ip_at_a_time() -> None:
    config = Config(multi_nic=True)
    state = node(
        config,
        primary(c32(5), c32(6), c32(7)),
        eni("eni-1", 0, c32(9, "p"), card=1),
        limits=MULTI,
    )
    # Card 1: T=1, A=1: short = max(1 - 0, 1 - 1) = 1 -> 6.2: min(3 - 1, 1) = 1, although
    # card 0 runs in E-mode (which would ask for the 2 free slots).
    assert reconcile(state, config, NOW).actions == (AllocateIPs("eni-1", 1),)


def test_card_one_releases_down_to_one_warm_ip() -> None:
    config = Config(multi_nic=True)
    state = node(
        config,
        primary(c32(5), c32(6), c32(7)),
        eni("eni-1", 0, c32(9), c32(10), c32(11), card=1),
        limits=MULTI,
    )
    # Card 1: T=3, Avail=3: over = min(3 - 1, 3 - 1) = 2 -> the two lowest go. Card 0
    # (E-mode SIP) never releases IPs.
    step = reconcile(state, config, NOW)
    assert step.actions == (ReleaseIPs("eni-1", (ip(9), ip(10))),)


@pytest.mark.parametrize(
    ("max_eni", "card1_enis", "expected"),
    [
        # 1.5.5: maxENI applies to each card separately: card 1 has 0 < 1 ENIs although card 0
        # already holds one; W=M=1 -> short 1 -> R = 1.
        (1, 0, (AllocateENI(1, 1),)),
        (1, 1, ()),
        # The card's own MaximumNetworkInterfaces (1 here) is not used: 1 < 4 (L_eni).
        (None, 1, (AllocateENI(1, 1),)),
    ],
)
def test_max_eni_applies_per_card(
    max_eni: int | None, card1_enis: int, expected: tuple[object, ...]
) -> None:
    limits = InstanceLimits(
        name="test.cards",
        max_enis=4,
        ipv4_per_eni=4,
        network_cards=(NetworkCard(0, 4), NetworkCard(1, 1)),
    )
    config = Config(multi_nic=True, max_eni=max_eni, max_pods=50)
    enis = [primary(c32(5), c32(6), c32(7))]
    if card1_enis:
        enis.append(eni("eni-1", 0, c32(9, "p"), c32(10, "q"), c32(11, "r"), card=1))
    state = node(config, *enis, limits=limits)
    assert reconcile(state, config, NOW).actions == expected


def test_q5_prefix_mode_card_one_churns() -> None:
    config = Config(multi_nic=True, prefix_delegation=True, warm_prefix_target=1, max_pods=200)
    state = node(
        config,
        primary(c28(16)),
        eni("eni-1", 0, c28(32), card=1),
        limits=MULTI,
    )
    # Card 0: Avail 16 >= 16 and F = 1 <= WP -> settled. Card 1 (IP units, Q5): T=16,
    # over = min(16 - 1, 16 - 1) = 15 -> its only, free, prefix is released.
    step = reconcile(state, config, NOW)
    assert step.actions == (ReleasePrefixes("eni-1", (pfx(32),)),)
    # Next tick: T = 0 -> short 1 -> needed max(1, 1) = 1 prefix back on the same ENI (5.11:
    # the empty ENI is kept by W=1: 0 other free IPs < 16).
    step = reconcile(step.state, config, NOW + 5)
    assert step.actions == (AllocatePrefixes("eni-1", 1),)
    # Driven against a cooperative EC2 the cycle never settles.
    ec2 = FakeEC2.for_node(state)
    result = converge(state, config, ec2, NOW, max_ticks=60)
    assert not result.settled


# -- observation: nodeIPPoolReconcile (spec 7.7, Q9, Q26) ------------------------------------


def _observed(*enis: ObservedENI) -> MetadataObserved:
    return MetadataObserved(enis)


def _unchanged(after: NodeState, before: NodeState) -> bool:
    """Nothing ipamd knows changed (the state's own notion of time may move on)."""
    fields = ("datastores", "pods", "last_pool_action_at", "reconcile_cooldown", "in_flight")
    return all(getattr(after, f) == getattr(before, f) for f in fields)


def test_observation_is_ignored_while_reconcile_is_not_due() -> None:
    config = Config()
    state = node(config, primary(c32(5)), last_pool_action_at=NOW)
    event = _observed(ObservedENI("eni-0", 0, ips=(ip(5), ip(6))))
    # 7.7: skipped while elapsed(lastNodeIPPoolAction) <= 60 s.
    assert _unchanged(apply(state, event, NOW + 60), state)
    after = apply(state, event, NOW + 65)
    assert keys(after, "eni-0") == ["10.0.0.5/32", "10.0.0.6/32"]
    # 7.7 step 2: lastNodeIPPoolAction = now, even for a plain reconcile.
    assert after.last_pool_action_at == NOW + 65


def test_observation_runs_every_tick_with_pod_eni_until_the_trunk_appears() -> None:
    config = Config(pod_eni=True)
    state = node(config, primary(c32(5)), last_pool_action_at=NOW)
    trunk_seen = _observed(
        ObservedENI("eni-0", 0, ips=(ip(5),)), ObservedENI("eni-t", 1, is_trunk=True)
    )
    # 1.5.2 / 7.7: no trunk yet -> due every loop.
    assert reconcile_due(state, config, NOW + 5)
    state = apply(state, trunk_seen, NOW + 5)
    added = state.find_eni("eni-t")
    assert added is not None and added.is_trunk
    # Trunk present: the 60 s rule applies again.
    assert not reconcile_due(state, config, NOW + 10)
    later = _observed(ObservedENI("eni-0", 0, ips=(ip(5), ip(6))), ObservedENI("eni-t", 1))
    assert _unchanged(apply(state, later, NOW + 10), state)


def test_reconcile_due_boundaries() -> None:
    config = Config()
    fresh = NodeState.boot(LIMITS, config, clock=0.0)
    # 7.1: lastNodeIPPoolAction starts at zero time -> due.
    assert reconcile_due(fresh, config, 0.0)
    state = attrs.evolve(fresh, last_pool_action_at=NOW)
    assert not reconcile_due(state, config, NOW + 60)
    assert reconcile_due(state, config, NOW + 60.5)


def test_observation_adds_new_enis_and_missing_cidrs() -> None:
    config = Config()
    state = node(config, primary(c32(5)))
    event = _observed(
        ObservedENI("eni-0", 0, ips=(ip(5), ip(6))),
        ObservedENI("eni-4", 1, ips=(ip(20),), prefixes=(pfx(32),)),
    )
    after = apply(state, event, NOW)
    assert keys(after, "eni-0") == ["10.0.0.5/32", "10.0.0.6/32"]
    new = after.find_eni("eni-4")
    assert new is not None
    # setupENI: create_time = now; every IMDS IP and prefix, whatever the mode (7.4, 7.7).
    assert new.created_at == NOW
    assert not new.is_primary
    assert keys(after, "eni-4") == ["10.0.0.20/32", "10.0.0.32/28"]
    assert after.datastore(0).prefix_counter == 1
    assert after.last_pool_action_at == NOW


def test_observation_force_deletes_unlisted_cidrs_and_their_pods_q26() -> None:
    config = Config()
    state = node(config, primary(c32(5, "a"), c32(6, "b"), c32(7)))
    after = apply(state, _observed(ObservedENI("eni-0", 0, ips=(ip(5), ip(7)))), NOW)
    # Q26: .6 is no longer attached -> force-deleted with its pod record.
    assert keys(after, "eni-0") == ["10.0.0.5/32", "10.0.0.7/32"]
    assert set(after.pods) == {"a"}
    after.check()


@pytest.mark.parametrize(("pods", "counter"), [(0, 1), (3, -1)])
def test_observation_sweeps_detached_enis_q9(pods: int, counter: int) -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=1, max_pods=200)
    state = node(
        config,
        primary(c28(16)),
        eni("eni-1", 1, c28(32, pods, tag="x"), c28(48)),
    )
    assert state.datastore(0).prefix_counter == 3
    after = apply(state, _observed(ObservedENI("eni-0", 0, prefixes=(pfx(16),))), NOW)
    # 7.7 sweep: eni-1 is no longer attached -> force-removed with every pod on it (Q26).
    assert after.find_eni("eni-1") is None
    assert dict(after.pods) == {}
    # 3.3: removal subtracts 1 per prefix (P = 3 - 2 = 1), twice when the ENI had pods
    # (Q9: P = 3 - 2*2 = -1).
    assert after.datastore(0).prefix_counter == counter


def test_released_cidrs_are_not_readded_before_the_reconcile_cooldown() -> None:
    # pod_eni without a trunk makes reconcile due on every tick (7.7), so it can run
    # within the 60 s of a release.
    config = Config(warm_ip_target=1, pod_eni=True)
    state = node(config, primary(c32(5, "a"), c32(6), c32(7)))
    step = reconcile(state, config, NOW)
    # T=3, A=1, Avail 2 -> over = 1 -> .6 released, cached at NOW.
    assert step.actions == (ReleaseIPs("eni-0", (ip(6),)),)
    # EC2's unassign failed: IMDS still lists .6.
    listed = _observed(ObservedENI("eni-0", 0, ips=(ip(5), ip(6), ip(7))))
    state = step.state
    for clock in (NOW + 5, NOW + 59):
        state = apply(state, listed, clock)
        assert keys(state, "eni-0") == ["10.0.0.5/32", "10.0.0.7/32"]
    # 7.1 ipReconcileCooldown: not re-added before freed + 60 s.
    state = apply(state, listed, NOW + 65)
    assert keys(state, "eni-0") == ["10.0.0.5/32", "10.0.0.6/32", "10.0.0.7/32"]
    assert ip(6) not in state.reconcile_cooldown


def test_observation_while_an_allocation_is_in_flight_raises() -> None:
    config = Config()
    state = reconcile(NodeState.boot(LIMITS, config, clock=0.0), config, NOW).state
    with pytest.raises(UnexpectedEventError):
        apply(state, _observed(ObservedENI("eni-0", 0)), NOW + 100)


# -- next_check_at (Reconciliation docstring, spec 7.1 timers on the 5 s cadence) ------------


def test_settled_node_without_timers_needs_no_check() -> None:
    config = Config()
    state = node(config, primary(c32(5), c32(6), c32(7)))
    step = reconcile(state, config, NOW)
    assert step.actions == ()
    assert step.next_check_at is None


def test_next_check_after_youth() -> None:
    config = Config()
    state = node(
        config,
        primary(c32(5), c32(6), c32(7)),
        eni("eni-1", 1, c32(8), c32(9), c32(10), created_at=NOW - 8),
    )
    step = reconcile(state, config, NOW)
    # Freeable once elapsed >= 60 s, i.e. at NOW + 52; the first 5 s tick at or after it.
    assert step.actions == ()
    assert step.next_check_at == NOW + 55
    assert reconcile(state, config, NOW + 55).actions == (FreeENI("eni-1"),)


def test_next_check_after_decrease_interval() -> None:
    config, state = _warm1_over3()
    state = attrs.evolve(state, last_decrease_at=NOW - 10)
    step = reconcile(state, config, NOW)
    # 5.6: skipped while elapsed <= 30 s, so the first tick strictly after NOW + 20.
    assert step.actions == ()
    assert step.next_check_at == NOW + 25


def test_next_check_after_cooldown() -> None:
    config = Config()
    state = node(
        config,
        primary(c32(5), c32(6), c32(7)),
        eni("eni-1", 1, c32(8), c32(9, unassigned_at=NOW - 2), c32(10)),
    )
    step = reconcile(state, config, NOW)
    # 3.5: cooling while elapsed <= 30 s, i.e. up to NOW + 28; first tick strictly after.
    assert step.actions == ()
    assert step.next_check_at == NOW + 30


def test_next_check_after_insufficient_cidr_backoff() -> None:
    config = Config()
    state = node(config, primary(c32(5, "a"), c32(6), c32(7)))
    state = reconcile(state, config, NOW).state
    state = apply(state, AllocationFailed(INSUFFICIENT_IPS), NOW)
    step = reconcile(state, config, NOW + 5)
    # 6.1: no increase while elapsed <= 120 s (up to NOW + 120); ticks from NOW + 5.
    assert step.actions == ()
    assert step.next_check_at == NOW + 125


# -- multi-tick runs against FakeEC2 ----------------------------------------------------------


def test_e_mode_node_converges_and_grows_one_eni_per_shortage() -> None:
    config = Config()
    state = NodeState.boot(LIMITS, config, clock=0.0)
    ec2 = FakeEC2.for_node(state, "10.0.0.0/24")
    result = converge(state, config, ec2, 0.0)
    assert result.settled
    # FakeEC2: .0-.3 reserved, .4 is eni-0's primary IP -> .5, .6, .7 (S = 3).
    assert keys(result.state, "eni-0") == ["10.0.0.5/32", "10.0.0.6/32", "10.0.0.7/32"]
    state, _ = assign_pod_ip(result.state, config, "p0", result.clock)
    result = converge(state, config, ec2, result.clock + 5)
    assert result.settled
    # Avail 2 < 3 -> one ENI with S = 3 IPs: primary .8, secondaries .9-.11, device 1.
    assert [e.eni_id for e in result.state.enis] == ["eni-0", "eni-1"]
    assert keys(result.state, "eni-1") == ["10.0.0.9/32", "10.0.0.10/32", "10.0.0.11/32"]
    assert result.state.find_eni("eni-1").device_number == 1  # type: ignore[union-attr]
