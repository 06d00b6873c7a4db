"""One pool tick (``reconcile``, spec 5-7): increase, decrease, gates, ENI free, multi-NIC,
the next check time, and multi-tick runs against the fake EC2.

Every expected value below is derived by hand from /work/shared/docs/ipamd-spec.md; the
comment next to each assertion names the rule. Nothing is computed by the code under test.
Builders and the instance used are in ``ticks.py``.
"""

from __future__ import annotations

import attrs
import pytest
from ticks import (
    INSUFFICIENT_IPS,
    LIMITS,
    MULTI,
    NOW,
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
    Config,
    ENIAttached,
    ENIConfig,
    ENIConfigSubnet,
    FreeENI,
    InstanceLimits,
    IPsAllocated,
    NetworkCard,
    NodeCordoned,
    NodeState,
    NodeTerminating,
    NodeUncordoned,
    ReleaseIPs,
    ReleasePrefixes,
    SignalTrunkENI,
    apply,
    assign_pod_ip,
    converge,
    reconcile,
    reconcile_due,
    unassign_pod_ip,
)
from vpccni_model.cloud import FakeEC2

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
    # The tick (here ipamd's pre-scaling) ends when the answer is in.
    state = answer(step.state, config, IPsAllocated("eni-0", (ip(5), ip(6), ip(7))), NOW).state
    step = reconcile(state, config, NOW + 5)
    # 5.1: T=3, A=0: short = max(2 - 3, 5 - 3) = 2; primary full -> 5.9: R = min(2, 3) = 2.
    assert step.actions == (AllocateENI(0, 2, prefixes=False),)
    state = answer(step.state, config, ENIAttached("eni-1", 1, ips=(ip(9), ip(10))), NOW + 5).state
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
    finish = answer(waiting, config, IPsAllocated("eni-0", (ip(5), ip(6), ip(7))), NOW + 5)
    # The rest of that tick makes no second allocation; its pre-scaling ends.
    assert finish.actions == ()
    assert finish.state.tick is None
    state = finish.state
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
    pods_subnet = ENIConfig("pods", "subnet-pods", ("sg-pods",))
    state = NodeState.boot(LIMITS, config, clock=NOW, eni_config=pods_subnet)
    # 1.5.1 / 6.2: GetAllocatableENIs skips the primary -> straight to a new ENI with S IPs,
    # in the ENIConfig's subnet with its security groups (6.4).
    destination = ENIConfigSubnet("subnet-pods", ("sg-pods",), exclusion_check=True)
    assert reconcile(state, config, NOW).actions == (AllocateENI(0, 3, False, destination),)
    # Primary with free slots and eni-1 with 1 of 3: only eni-1 is grown, by 3 - 1 = 2.
    state = node(config, primary(c32(5, "a")), eni("eni-1", 1, c32(8, "b")))
    assert reconcile(state, config, NOW).actions == (AllocateIPs("eni-1", 2),)


@pytest.mark.parametrize(
    ("max_enis", "pod_eni", "with_trunk", "expected"),
    [
        # 2.4: 1 ENI + 0 unmanaged + 1 trunk reserve < 2 is false -> no ENI. The trunk
        # signal (1.5.2, 7.3) has its slot: 1 ENI < 2 - 0 unmanaged.
        (2, True, False, (SignalTrunkENI(),)),
        # Without pod ENI there is no reserve: 1 < 2.
        (2, False, False, (AllocateENI(0, 3),)),
        # With 3 ENIs allowed: 1 + 1 < 3; the signal comes first (7.3).
        (3, True, False, (SignalTrunkENI(), AllocateENI(0, 3))),
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
    state = answer(state, config, AllocationFailed(INSUFFICIENT_IPS), NOW).state
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
