"""Decision functions of vpccni_model.pool against ipamd-spec.md sections 3.4, 5, 10 and 13.

Every expected value is worked out by hand from the spec rule named in the comment next to it.
Notation as in the spec: T/A/C/P/F are TotalIPs, AssignedIPs, CooldownIPs, TotalPrefixes and
free prefixes (3.4); S = IPs per ENI, Pmax = prefixes per ENI (2.2).
"""

from __future__ import annotations

import attrs
import pytest
from builders import CLOCK, addr, ds, eni, eni_from_cidrs, node, prefix28, slash32

from vpccni_model import (
    Config,
    Datastore,
    InstanceLimits,
    NetworkCard,
    NoAvailableIPError,
    assign_pod_ip,
    unassign_pod_ip,
)
from vpccni_model.pool import (
    CardPolicy,
    PoolStats,
    TargetState,
    allocatable_enis,
    datastore_stats,
    deletable_eni,
    eni_resources_to_allocate,
    extra_prefixes_over_warm_target,
    freeable_cidrs,
    freeable_eni_exists,
    has_room_for_eni,
    pool_too_high,
    pool_too_low,
    prefix_target_state,
    prefixes_needed,
    should_remove_extra_enis,
    target_state,
)

# ipv4_per_eni counts the ENI's primary IP (2.2): S = 3 in SIP, Pmax = 3 / S = 48 in PD.
LIMITS = InstanceLimits(name="test", max_enis=4, ipv4_per_eni=4)
TWO_CARDS = InstanceLimits(
    name="test2",
    max_enis=4,
    ipv4_per_eni=4,
    network_cards=(NetworkCard(index=0, max_interfaces=4), NetworkCard(index=1, max_interfaces=4)),
)


def policy(
    config: Config,
    *,
    network_card: int = 0,
    prefix_delegation: bool | None = None,
    limits: InstanceLimits = LIMITS,
    max_pods: int | None = None,
) -> CardPolicy:
    """The policy of ``network_card`` running ``config`` on ``limits``; ``prefix_delegation``
    and ``max_pods``, when given, override the resolved mode and cap (as a test states them)."""
    got = CardPolicy.of(config, limits, network_card)
    if prefix_delegation is not None:
        got = attrs.evolve(got, prefix_delegation=prefix_delegation)
    if max_pods is not None:
        got = attrs.evolve(got, max_pods=max_pods)
    return got


def stats(t: int, a: int, *, p: int = 0, f: int = 0, c: int = 0) -> PoolStats:
    return PoolStats(total_ips=t, assigned_ips=a, cooldown_ips=c, total_prefixes=p, free_prefixes=f)


def as_tuple(s: PoolStats) -> tuple[int, int, int, int, int]:
    """(T, A, C, P, F)."""
    return (s.total_ips, s.assigned_ips, s.cooldown_ips, s.total_prefixes, s.free_prefixes)


# =============================================================================================
# datastore_stats (spec 3.4)


def _mixed_store() -> Datastore:
    """eni-0: 3 /32s (1 pod). eni-1: 2 /32s (2 pods), a /28 with 1 pod, an empty /28."""
    return ds(
        eni("eni-0", 0, primary=True, ips=3, assigned=1),
        eni("eni-1", 1, ips=2, assigned=2, prefixes=2, prefix_pods=(1, 0)),
    )


def test_stats_sip_counts_only_slash32s_and_their_pods() -> None:
    # 3.4: SIP T = number of /32s on non-excluded ENIs (3 + 2 = 5); A = pods on them (1 + 2);
    # the pod on the leftover /28 is not counted. P = the prefix counter = 2 prefixes; F = empty
    # /28s on all ENIs = 1. No clock -> C = 0.
    assert as_tuple(datastore_stats(_mixed_store(), False)) == (5, 3, 0, 2, 1)


def test_stats_pd_counts_only_prefixes_and_their_pods() -> None:
    # 3.4: PD T = 16 per /28 (2 x 16 = 32); A = pods in /28s (1); /32s and their pods ignored.
    s = datastore_stats(_mixed_store(), True)
    assert as_tuple(s) == (32, 1, 0, 2, 1)
    assert s.available_ips == 31


def test_stats_excluded_eni_counts_in_p_and_f_but_not_in_t_and_a() -> None:
    store = ds(
        eni("eni-0", 0, primary=True, ips=2, assigned=1, prefixes=1, prefix_pods=(2,)),
        # excluded: 4 /32s (1 pod), a /28 with 3 pods, an empty /28
        eni("eni-2", 2, ips=4, assigned=1, prefixes=2, prefix_pods=(3, 0), excluded=True),
    )
    # 3.4 / Q8: T and A skip excluded ENIs; P (counter: 3 prefixes) and F (1 empty /28 on the
    # excluded ENI) include them.
    assert as_tuple(datastore_stats(store, False)) == (2, 1, 0, 3, 1)
    assert as_tuple(datastore_stats(store, True)) == (16, 2, 0, 3, 1)


def test_stats_p_is_the_counter_not_a_recount() -> None:
    # 3.3 / Q9: P is the running allocated_prefix counter, which can drift (even negative).
    store = attrs.evolve(ds(eni("eni-0", 0, primary=True, prefixes=2)), prefix_counter=-1)
    assert datastore_stats(store, True).total_prefixes == -1


def _cooling_store() -> Datastore:
    """SIP: 3 /32s: one pod, one freed at t=10, one never used; plus a leftover /28 with an
    entry freed at t=10 (mismatched kind) and an excluded ENI with a /32 freed at t=10."""
    return ds(
        eni(
            "eni-0",
            0,
            primary=True,
            ips=3,
            assigned=1,
            cooling=1,
            unassigned_at=10.0,
            prefixes=1,
            prefix_cooling=(1,),
        ),
        eni("eni-1", 1, ips=1, cooling=1, unassigned_at=10.0, excluded=True),
    )


@pytest.mark.parametrize(
    ("clock", "cooldown", "expected_c"),
    [
        (None, 30.0, 0),  # no clock -> C not counted
        (20.0, 30.0, 1),  # elapsed 10 <= 30
        (40.0, 30.0, 1),  # elapsed 30 <= 30 (3.5 uses <=)
        (40.5, 30.0, 0),  # elapsed 30.5 > 30
        (10.0, 0.0, 1),  # cooldown 0: cools only while elapsed == 0 (3.5)
        (10.001, 0.0, 0),
        (10.0, -1.0, 0),  # negative cooldown: never cooling (1.2, 3.5)
    ],
)
def test_stats_cooldown_ips(clock: float | None, cooldown: float, expected_c: int) -> None:
    s = datastore_stats(_cooling_store(), False, clock, cooldown)
    # 3.4: C counts cooling entries of mode-matching CIDRs on non-excluded ENIs only: the
    # cooling entry in the leftover /28 and on the excluded ENI do not count.
    assert s.cooldown_ips == expected_c
    # Q1: cooling IPs stay available: T = 3, A = 1 -> Avail = 2 whatever C is.
    assert (s.total_ips, s.assigned_ips, s.available_ips) == (3, 1, 2)


def test_stats_cooldown_in_pd_counts_prefix_entries() -> None:
    s = datastore_stats(_cooling_store(), True, 20.0, 30.0)
    # PD: only the /28's cooling entry matches the mode -> C = 1; T = 16, A = 0; F = 1
    # (a /28 whose only entry is cooling is still free, 3.4).
    assert as_tuple(s) == (16, 0, 1, 1, 1)


# --- spec 13: stats with cooldown = 1 s --------------------------------------------------------


@pytest.mark.parametrize("prefix_delegation", [False, True])
def test_vector_stats_with_one_second_cooldown(prefix_delegation: bool) -> None:
    config = Config(ip_cooldown_period=1, prefix_delegation=prefix_delegation)
    if prefix_delegation:
        store = ds(eni("eni-0", 0, primary=True, prefixes=1))
    else:
        store = ds(eni("eni-0", 0, primary=True, ips=2))
    state = node(LIMITS, config, store)
    state, _ = assign_pod_ip(state, config, "a", clock=0.0)
    state, _ = assign_pod_ip(state, config, "b", clock=0.0)
    expected_t = 16 if prefix_delegation else 2
    expected_p = 1 if prefix_delegation else 0

    def at(clock: float) -> tuple[int, int, int, int, int]:
        return as_tuple(datastore_stats(state.datastore(0), prefix_delegation, clock, 1.0))

    # Spec 13: two assigned -> A = 2, C = 0 (T = 2 SIP / 16 and P = 1 PD).
    assert at(0.0) == (expected_t, 2, 0, expected_p, 0)
    state, _ = unassign_pod_ip(state, config, "a", clock=5.0)
    state.check()
    # After one unassign: A = 1, C = 1.
    assert at(5.0) == (expected_t, 1, 1, expected_p, 0)
    # Go slept 1 s, so elapsed was a little over 1 s: C = 0. (At exactly 1 s, 3.5's "<="
    # still cools.)
    assert at(6.0)[2] == 1
    assert at(6.01) == (expected_t, 1, 0, expected_p, 0)


# --- spec 13: excluded ENI ----------------------------------------------------------------------


def test_vector_excluded_primary_stats() -> None:
    store = ds(
        eni("eni-1", 0, primary=True, ips=3, excluded=True),
        eni("eni-2", 1, ips=2),
    )
    s = datastore_stats(store, False)
    # Spec 13: T = 2, Avail = 2 (the excluded primary's 3 /32s are not counted).
    assert (s.total_ips, s.available_ips) == (2, 2)


def test_vector_assign_from_only_excluded_enis_fails() -> None:
    config = Config()
    state = node(LIMITS, config, ds(eni("eni-1", 0, primary=True, ips=3, excluded=True)))
    # Spec 13 / 4.1 step 2.1: excluded ENIs are skipped -> "no available IP/Prefix addresses".
    with pytest.raises(NoAvailableIPError, match="no available IP/Prefix addresses"):
        assign_pod_ip(state, config, "pod", clock=1.0)


# =============================================================================================
# target_state (spec 5.1)


@pytest.mark.parametrize("prefix_delegation", [False, True])
def test_target_state_undefined_on_card_zero(prefix_delegation: bool) -> None:
    # 5.1: card 0 without W/M -> (0, 0, False), whatever the pool looks like.
    got = target_state(
        stats(0, 0, p=3, f=3),
        policy(Config(warm_prefix_target=5), prefix_delegation=prefix_delegation),
    )
    assert got == TargetState(0, 0, False)


# --- spec 13: datastoreTargetState, SIP, W=5 -------------------------------------------------


@pytest.mark.parametrize(
    ("free_ips", "short", "over"),
    [
        (0, 5, 0),  # empty: short = 5 - 0
        (2, 3, 0),  # 2 free /32: short = 5 - 2
        (5, 0, 0),  # 5 free /32: short = 0, over = 0
    ],
)
def test_vector_target_state_sip_w5(free_ips: int, short: int, over: int) -> None:
    store = ds(eni("eni-0", 0, primary=True, ips=free_ips))
    s = datastore_stats(store, False)
    got = target_state(s, policy(Config(warm_ip_target=5), prefix_delegation=False))
    assert got == TargetState(short, over, True)


# --- spec 13: datastoreTargetState, PD, W=5 ---------------------------------------------------


@pytest.mark.parametrize(
    ("free_prefixes", "short", "over"),
    [
        (0, 1, 0),  # empty: short = ceil16(5) = 1
        (2, 0, 1),  # needW = ceil16(0 + 5) = 1, F = 2, P = 2 -> overP = min(2, 2 - 1) = 1
        (1, 0, 0),  # overP = min(1, 1 - 1) = 0
    ],
)
def test_vector_target_state_pd_w5(free_prefixes: int, short: int, over: int) -> None:
    store = ds(eni("eni-0", 0, primary=True, prefixes=free_prefixes))
    s = datastore_stats(store, True)
    got = target_state(
        s, policy(Config(warm_ip_target=5, prefix_delegation=True), prefix_delegation=True)
    )
    assert got == TargetState(short, over, True)


@pytest.mark.parametrize(
    ("w", "m", "t", "a", "short", "over"),
    [
        # short = max(max(W - Avail, 0), M - T); over = max(min(max(Avail - W, 0), T - M), 0)
        (2, 5, 3, 0, 2, 0),  # short = max(0, 5 - 3) = 2; over = min(1, -2) -> 0
        (1, 0, 4, 2, 0, 1),  # spec 13 decrease vector: Avail 2 -> over 1
        (1, 0, 3, 2, 0, 0),  # ... after one release: Avail 1 -> over 0
        (1, 3, 4, 0, 0, 1),  # over = min(3, 4 - 3) = 1 (M caps the release)
        (0, 3, 1, 1, 2, 0),  # Q21: M alone: short = M - T = 2
        (5, 0, 3, 3, 5, 0),  # all used: short = W
    ],
)
def test_target_state_sip_formula(w: int, m: int, t: int, a: int, short: int, over: int) -> None:
    got = target_state(stats(t, a), policy(Config(warm_ip_target=w, minimum_ip_target=m)))
    assert got == TargetState(short, over, True)


@pytest.mark.parametrize(
    ("w", "m", "t", "a", "p", "f", "short", "over"),
    [
        # 11.2 t3.small W=7 M=20, 0 pods: short = max(7, 20) = 20 -> ceil16 = 2 prefixes.
        (7, 20, 0, 0, 0, 0, 2, 0),
        # ... at 2 free prefixes: needW = 1, needM = ceil16(20) = 2 -> overP = min(1, 2-2) = 0.
        (7, 20, 32, 0, 2, 2, 0, 0),
        # W=16: 1 pod in the only prefix -> Avail 15 -> short 1 -> 1 prefix (11.2 README).
        (16, 0, 16, 1, 1, 0, 1, 0),
        # overP never exceeds F: 3 prefixes, 1 free, W=1 -> needW = ceil16(A + 1).
        # A = 20 -> needW = 2; overP = min(F=1, 3 - 2) = 1.
        (1, 0, 48, 20, 3, 1, 0, 1),
        # needW uses A + W: A = 31, W = 2 -> needW = ceil16(33) = 3; overP = min(1, 3-3) = 0.
        (2, 0, 48, 31, 3, 1, 0, 0),
    ],
)
def test_target_state_pd_formula(
    w: int, m: int, t: int, a: int, p: int, f: int, short: int, over: int
) -> None:
    config = Config(warm_ip_target=w, minimum_ip_target=m, prefix_delegation=True)
    got = target_state(stats(t, a, p=p, f=f), policy(config, prefix_delegation=True))
    assert got == TargetState(short, over, True)


def test_target_state_pd_counts_excluded_prefixes_in_f_and_p() -> None:
    store = ds(
        eni("eni-0", 0, primary=True, prefixes=1, prefix_pods=(1,)),
        eni("eni-1", 1, prefixes=2, excluded=True),
    )
    s = datastore_stats(store, True)
    config = Config(warm_ip_target=1, prefix_delegation=True)
    # T = 16, A = 1 (excluded not counted); F = 2 and P = 3 include the excluded ENI (5.1 note).
    # needW = ceil16(1 + 1) = 1 -> overP = min(F=2, P - 1 = 2) = 2.
    assert target_state(s, policy(config, prefix_delegation=True)) == TargetState(0, 2, True)


@pytest.mark.parametrize(
    ("config", "free", "short", "over"),
    [
        # 1.3: card > 0 always uses W = M = 1, whatever is configured.
        (Config(), 0, 1, 0),  # W=M=0 configured, still defined: short = 1
        (Config(), 3, 0, 2),  # over = min(3 - 1, 3 - 1) = 2
        (Config(warm_ip_target=10, minimum_ip_target=20), 3, 0, 2),
        (Config(warm_eni_target=0), 1, 0, 0),
    ],
)
def test_target_state_card_above_zero_is_w1_m1(
    config: Config, free: int, short: int, over: int
) -> None:
    got = target_state(stats(free, 0), policy(config, network_card=1))
    assert got == TargetState(short, over, True)


def test_target_state_q5_pd_card_above_zero_uses_ip_units() -> None:
    # Q5: card 1, PD, one completely free /28: T = 16, A = 0, P = F = 1.
    # No prefix conversion on card > 0: over = max(min(16 - 1, 16 - 1), 0) = 15 (IP units).
    s = stats(16, 0, p=1, f=1)
    got = target_state(
        s, policy(Config(prefix_delegation=True), network_card=1, prefix_delegation=True)
    )
    assert got == TargetState(0, 15, True)
    # The same stats on card 0 with W=M=1 convert to prefixes: needW = ceil16(0 + 1) = 1 ->
    # overP = min(1, 1 - 1) = 0.
    card0 = Config(warm_ip_target=1, minimum_ip_target=1, prefix_delegation=True)
    assert target_state(s, policy(card0, prefix_delegation=True)) == TargetState(0, 0, True)


# =============================================================================================
# prefix_target_state (spec 5.2)


@pytest.mark.parametrize(
    ("pd", "wp", "f", "expected"),
    [
        (False, 3, 0, (0, False)),  # not PD -> (0, False)
        (True, 3, 1, (2, True)),  # WP - F
        (True, 1, 2, (0, True)),  # never negative
        (True, 0, 0, (0, True)),  # 1.3: defined is just "PD", even with WP = 0
    ],
)
def test_prefix_target_state(pd: bool, wp: int, f: int, expected: tuple[int, bool]) -> None:
    config = Config(warm_prefix_target=wp, prefix_delegation=pd)
    assert (
        prefix_target_state(stats(16, 0, p=1, f=f), policy(config, prefix_delegation=pd))
        == expected
    )


# =============================================================================================
# prefixes_needed (spec 5.3)


@pytest.mark.parametrize(
    ("config", "s", "card", "expected"),
    [
        # No W/M, PD: max(1, WP - F).
        (Config(warm_prefix_target=0), stats(0, 0), 0, 1),  # always >= 1
        (Config(warm_prefix_target=3), stats(0, 0), 0, 3),
        (Config(warm_prefix_target=3), stats(80, 0, p=5, f=5), 0, 1),  # WP - F < 0 -> 1
        # W/M take precedence over WP: W = 40 on an empty pool -> ceil16(40) = 3, not WP = 10.
        (Config(warm_ip_target=40, warm_prefix_target=10), stats(0, 0), 0, 3),
        # W defined and satisfied (short 0) -> 1, WP = 5 with F = 2 is not consulted (would be 3).
        (Config(warm_ip_target=5, warm_prefix_target=5), stats(32, 0, p=2, f=2), 0, 1),
        # M alone: ceil16(20 - 0) = 2.
        (Config(minimum_ip_target=20), stats(0, 0), 0, 2),
        # card 1: W = M = 1 -> short in IP units = 1.
        (Config(warm_prefix_target=4), stats(0, 0), 1, 1),
    ],
)
def test_prefixes_needed(config: Config, s: PoolStats, card: int, expected: int) -> None:
    config = attrs.evolve(config, prefix_delegation=True)
    assert prefixes_needed(s, policy(config, network_card=card, prefix_delegation=True)) == expected


# =============================================================================================
# pool_too_low (spec 5.4)

# --- spec 13: isDatastorePoolTooLow, SIP ------------------------------------------------------


@pytest.mark.parametrize(
    ("s_ips", "max_eni", "e", "w", "ips", "pods", "max_pods", "is_low"),
    [
        (14, 4, 1, 0, 0, 0, 500, True),
        (14, 4, 0, 0, 0, 0, 500, True),
        (14, 4, 0, 3, 0, 0, 500, True),
        (3, 4, 1, 1, 3, 0, 500, False),
        (3, 4, 1, 0, 3, 1, 500, True),
        (3, 4, 0, 0, 3, 1, 500, False),
        (3, 4, 1, 0, 3, 3, 500, True),
        (3, 4, 0, 0, 3, 3, 500, True),
        (3, 4, 0, 5, 3, 3, 3, False),  # T = 3 >= maxPods = 3
    ],
)
def test_vector_pool_too_low_sip(
    s_ips: int, max_eni: int, e: int, w: int, ips: int, pods: int, max_pods: int, is_low: bool
) -> None:
    limits = InstanceLimits(name="t", max_enis=max_eni, ipv4_per_eni=s_ips + 1)
    config = Config(warm_eni_target=e, warm_ip_target=w)
    store = ds(eni("eni-0", 0, primary=True, ips=ips, assigned=pods))
    s = datastore_stats(store, False)
    got = pool_too_low(s, policy(config, prefix_delegation=False, limits=limits, max_pods=max_pods))
    assert got is is_low


# --- spec 13: isDatastorePoolTooLow, PD (S = 256, Pmax = 16) -------------------------------------


@pytest.mark.parametrize(
    ("wp", "prefixes", "pods", "max_pods", "is_low"),
    [
        (1, 0, 0, 500, True),
        (0, 0, 0, 500, True),
        (1, 1, 0, 500, False),
        (1, 1, 1, 500, True),
        (0, 1, 1, 500, False),
        (1, 1, 3, 500, True),
        (0, 1, 3, 500, False),
        (1, 1, 3, 4, False),  # T = 16 >= maxPods = 4
    ],
)
def test_vector_pool_too_low_pd(
    wp: int, prefixes: int, pods: int, max_pods: int, is_low: bool
) -> None:
    limits = InstanceLimits(name="t", max_enis=4, ipv4_per_eni=17)
    config = Config(warm_prefix_target=wp, prefix_delegation=True)
    store = ds(eni("eni-0", 0, primary=True, prefixes=prefixes, prefix_pods=(pods,)))
    s = datastore_stats(store, True)
    got = pool_too_low(s, policy(config, prefix_delegation=True, limits=limits, max_pods=max_pods))
    assert got is is_low


def test_pool_too_low_max_pods_checked_before_minimum_target() -> None:
    # 5.4: T >= maxPods -> not low, even though M = 100 leaves short = 90 (caps MIN_IP too).
    config = Config(minimum_ip_target=100)
    assert not pool_too_low(stats(10, 10), policy(config, limits=LIMITS, max_pods=10))
    assert pool_too_low(stats(10, 10), policy(config, limits=LIMITS, max_pods=11))


def test_pool_too_low_max_pods_compares_ips_not_pods() -> None:
    # Q15: T counts IPs, pods are irrelevant: T = 16 free IPs, 0 pods, maxPods 11 -> not low even
    # with WP = 2 (Avail 16 < 32).
    config = Config(warm_prefix_target=2, prefix_delegation=True)
    s = stats(16, 0, p=1, f=1)
    assert not pool_too_low(s, policy(config, prefix_delegation=True, limits=LIMITS, max_pods=11))
    assert pool_too_low(s, policy(config, prefix_delegation=True, limits=LIMITS, max_pods=17))


@pytest.mark.parametrize(
    ("e", "t", "a", "is_low"),
    [
        (2, 6, 1, True),  # Avail 5 < E x S = 2 x 3
        (2, 6, 0, False),  # Avail 6
        (0, 3, 2, False),  # E = 0: only Avail == 0 is low
        (0, 3, 3, True),
    ],
)
def test_pool_too_low_sip_warm_eni(e: int, t: int, a: int, is_low: bool) -> None:
    got = pool_too_low(stats(t, a), policy(Config(warm_eni_target=e), limits=LIMITS, max_pods=500))
    assert got is is_low


def test_pool_too_low_pd_counts_partial_prefixes_as_available() -> None:
    # 5.4: PD WP=1 keeps Avail >= 16; two half-used /28s give Avail 16 -> not low, although
    # F = 0 ("not WP whole free prefixes").
    config = Config(warm_prefix_target=1, prefix_delegation=True)
    s = stats(32, 16, p=2, f=0)
    assert not pool_too_low(s, policy(config, prefix_delegation=True, limits=LIMITS, max_pods=500))


def test_pool_too_low_pd_ignores_warm_eni_target() -> None:
    # 1.2: E is ignored in PD. E = 3, WP = 0, Avail = 5 -> not low (E x S would say low).
    config = Config(warm_eni_target=3, prefix_delegation=True)
    s = stats(16, 11, p=1)
    assert not pool_too_low(s, policy(config, prefix_delegation=True, limits=LIMITS, max_pods=500))


def test_pool_too_low_pd_with_warm_ip_target_uses_short() -> None:
    # 5.4 + 5.1: W = 5, one /28 with 12 pods -> Avail 4 -> short = ceil16(1) = 1 -> low.
    config = Config(warm_ip_target=5, prefix_delegation=True)
    assert pool_too_low(
        stats(16, 12, p=1), policy(config, prefix_delegation=True, limits=LIMITS, max_pods=500)
    )
    assert not pool_too_low(
        stats(16, 11, p=1), policy(config, prefix_delegation=True, limits=LIMITS, max_pods=500)
    )


@pytest.mark.parametrize(("t", "a", "is_low"), [(0, 0, True), (1, 1, True), (1, 0, False)])
def test_pool_too_low_card_above_zero_uses_w1_m1(t: int, a: int, is_low: bool) -> None:
    # 1.3: card 1 uses W = M = 1 even with nothing configured (E=1 would need Avail >= 3).
    got = pool_too_low(stats(t, a), policy(Config(), network_card=1, limits=LIMITS, max_pods=500))
    assert got is is_low


# =============================================================================================
# pool_too_high (spec 5.5)


@pytest.mark.parametrize(
    ("config", "card", "pd", "s", "expected"),
    [
        # Defined: over > 0.
        (Config(warm_ip_target=1), 0, False, stats(4, 2), True),  # over 1
        (Config(warm_ip_target=1), 0, False, stats(3, 2), False),  # over 0
        # SIP without W/M never releases IPs, however many are free.
        (Config(warm_eni_target=0), 0, False, stats(30, 0), False),
        # PD without W/M: F > WP.
        (Config(warm_prefix_target=1), 0, True, stats(32, 0, p=2, f=2), True),
        (Config(warm_prefix_target=1), 0, True, stats(32, 0, p=2, f=1), False),
        (Config(warm_prefix_target=0), 0, True, stats(16, 0, p=1, f=1), True),  # Q6
        (Config(warm_prefix_target=0), 0, True, stats(16, 1, p=1, f=0), False),
        # Card 1 SIP with nothing configured: W=M=1, 3 free -> over 2.
        (Config(), 1, False, stats(3, 0), True),
        # Q5: card 1 PD one free /28 -> over 15 -> too high.
        (Config(warm_prefix_target=1), 1, True, stats(16, 0, p=1, f=1), True),
        # PD with W defined: over in prefixes; W = 5, 1 free /28 -> 0 (spec 13 table).
        (Config(warm_ip_target=5, warm_prefix_target=0), 0, True, stats(16, 0, p=1, f=1), False),
    ],
)
def test_pool_too_high(config: Config, card: int, pd: bool, s: PoolStats, expected: bool) -> None:
    config = attrs.evolve(config, prefix_delegation=pd)
    got = pool_too_high(s, policy(config, network_card=card, prefix_delegation=pd))
    assert got is expected


# =============================================================================================
# extra_prefixes_over_warm_target (spec 5.7)


@pytest.mark.parametrize(
    ("pd", "wp", "f", "expected"),
    [(False, 0, 3, 0), (True, 1, 3, 2), (True, 1, 1, 0), (True, 2, 0, 0), (True, 0, 4, 4)],
)
def test_extra_prefixes_over_warm_target(pd: bool, wp: int, f: int, expected: int) -> None:
    config = Config(warm_prefix_target=wp, prefix_delegation=pd)
    s = stats(16 * f, 0, p=f, f=f)
    assert extra_prefixes_over_warm_target(s, policy(config, prefix_delegation=pd)) == expected


# =============================================================================================
# freeable_eni_exists (spec 5.10)


def test_freeable_eni_exists() -> None:
    base = [
        eni("eni-0", 0, primary=True, ips=3),  # primary: never
        eni("eni-1", 1, ips=2, assigned=1),  # has pods
        eni("eni-2", 2, trunk=True),
        eni("eni-3", 3, efa=True, ips=1),
    ]
    assert not freeable_eni_exists(ds(*base))
    # A young ENI (created at CLOCK) with a cooling IP still counts: age and cooldown are not
    # checked here (5.10).
    young = eni("eni-4", 4, ips=1, cooling=1, unassigned_at=CLOCK, created_at=CLOCK)
    assert freeable_eni_exists(ds(*base, young))
    # Excluded ENIs are not special here.
    assert freeable_eni_exists(ds(*base, eni("eni-5", 5, excluded=True)))
    # Pods on a mismatched /28 still make the ENI busy (3.5 has_pods: any CIDR kind).
    assert not freeable_eni_exists(ds(*base, eni("eni-6", 6, prefixes=1, prefix_pods=(1,))))


# =============================================================================================
# should_remove_extra_enis (spec 5.8)


@pytest.mark.parametrize(
    ("config", "card", "pd", "s", "extra_empty_eni", "expected"),
    [
        # W or M defined, or card > 0 -> True (the real check is in deletable_eni).
        (Config(warm_ip_target=1), 0, False, stats(0, 0), False, True),
        (Config(minimum_ip_target=1), 0, True, stats(0, 0), False, True),
        (Config(), 1, False, stats(0, 0), False, True),
        # SIP E=1, S=3: Avail >= (1+1) x 3 = 6.
        (Config(), 0, False, stats(6, 0), False, True),
        (Config(), 0, False, stats(6, 1), False, False),
        # SIP never falls back to CheckFreeableENIexists.
        (Config(), 0, False, stats(6, 1), True, False),
        # PD WP=1, S = Pmax x 16 = 48: Avail >= 2 x 48 = 96.
        (Config(warm_prefix_target=1), 0, True, stats(96, 0, p=6), False, True),
        (Config(warm_prefix_target=1), 0, True, stats(96, 1, p=6), False, False),
        # ... else CheckFreeableENIexists.
        (Config(warm_prefix_target=1), 0, True, stats(96, 1, p=6), True, True),
        # PD uses WP, not E: E = 5, WP = 0 -> k = 1 -> Avail 48 >= 48.
        (Config(warm_eni_target=5), 0, True, stats(48, 0, p=3), False, True),
    ],
)
def test_should_remove_extra_enis(
    config: Config, card: int, pd: bool, s: PoolStats, extra_empty_eni: bool, expected: bool
) -> None:
    config = attrs.evolve(config, prefix_delegation=pd)
    enis = [eni("eni-0", 0, primary=True, card=card, ips=1, assigned=1)]
    if extra_empty_eni:
        enis.append(eni("eni-1", 1, card=card))
    got = should_remove_extra_enis(
        s, ds(*enis, card=card), policy(config, network_card=card, prefix_delegation=pd)
    )
    assert got is expected


# =============================================================================================
# eni_resources_to_allocate (spec 5.9, 2.6)


@pytest.mark.parametrize(
    ("config", "card", "pd", "s", "expected"),
    [
        (Config(), 0, False, stats(0, 0), 3),  # SIP, no W/M: S = 3
        (Config(warm_ip_target=2), 0, False, stats(0, 0), 2),  # min(short 2, S)
        (Config(warm_ip_target=10), 0, False, stats(0, 0), 3),  # min(10, 3)
        (Config(warm_ip_target=1), 0, False, stats(3, 0), 0),  # short 0 -> R = 0 (Q23)
        (Config(), 1, False, stats(0, 0), 1),  # card 1: W = M = 1 -> short 1
        (Config(warm_prefix_target=1), 0, True, stats(0, 0), 1),  # PD: max(1, WP - F)
        (Config(warm_prefix_target=5), 0, True, stats(0, 0), 3),  # min(5, Pmax = 3)
        (Config(warm_prefix_target=0), 0, True, stats(16, 0, p=1, f=1), 1),  # always >= 1
        (Config(warm_ip_target=40), 0, True, stats(0, 0), 3),  # min(ceil16(40) = 3, 3)
        (Config(warm_ip_target=20), 0, True, stats(0, 0), 2),  # ceil16(20) = 2
    ],
)
def test_eni_resources_to_allocate(
    config: Config, card: int, pd: bool, s: PoolStats, expected: int
) -> None:
    config = attrs.evolve(config, prefix_delegation=pd)
    got = eni_resources_to_allocate(
        s, policy(config, network_card=card, prefix_delegation=pd, limits=LIMITS)
    )
    assert got == expected


# =============================================================================================
# deletable_eni (spec 5.11)


def _del(
    store: Datastore,
    *,
    w: int = 0,
    m: int = 0,
    wp: int = 0,
    pd: bool = False,
    clock: float = CLOCK,
    cooldown: float = 30.0,
) -> str | None:
    config = Config(
        warm_ip_target=w, minimum_ip_target=m, warm_prefix_target=wp, ip_cooldown_period=cooldown
    )
    found = deletable_eni(store, policy(config, prefix_delegation=pd), clock)
    return None if found is None else found.eni_id


def test_deletable_check1_primary_is_never_freed() -> None:
    assert _del(ds(eni("eni-0", 0, primary=True, ips=2))) is None


def test_deletable_returns_first_in_device_order() -> None:
    # 9 N7 (sorted policy): the lowest device number that passes every check.
    store = ds(eni("eni-0", 0, primary=True), eni("eni-b", 2, ips=1), eni("eni-a", 1, ips=1))
    assert _del(store) == "eni-a"


@pytest.mark.parametrize(("age", "expected"), [(59.9, None), (60.0, "eni-1"), (0.0, None)])
def test_deletable_check2_too_young(age: float, expected: str | None) -> None:
    # 5.11 check 2: kept while elapsed(create_time) < 60 s.
    store = ds(eni("eni-0", 0, primary=True), eni("eni-1", 1, ips=1, created_at=CLOCK - age))
    assert _del(store) == expected


@pytest.mark.parametrize(
    ("freed_ago", "cooldown", "expected"),
    [
        (10.0, 30.0, None),  # cooling
        (30.0, 30.0, None),  # elapsed 30 <= 30: still cooling
        (30.5, 30.0, "eni-1"),
        (0.0, -1.0, "eni-1"),  # negative cooldown: never cooling
    ],
)
def test_deletable_check3_cooling(freed_ago: float, cooldown: float, expected: str | None) -> None:
    young_ip = eni("eni-1", 1, ips=2, cooling=1, unassigned_at=CLOCK - freed_ago)
    store = ds(eni("eni-0", 0, primary=True), young_ip)
    assert _del(store, cooldown=cooldown) == expected


def test_deletable_check3_cooling_on_mismatched_cidr_protects() -> None:
    # 3.5: has_ip_in_cooling includes mismatched CIDRs: SIP ENI whose leftover /28 has a
    # cooling entry is kept.
    cooling_prefix = eni("eni-1", 1, ips=1, prefixes=1, prefix_cooling=(1,), unassigned_at=CLOCK)
    assert _del(ds(eni("eni-0", 0, primary=True), cooling_prefix)) is None


def test_deletable_check4_pods_on_any_cidr_kind() -> None:
    # 5.11 check 4: assigned addresses on any CIDR kind.
    assert _del(ds(eni("eni-0", 0, primary=True), eni("eni-1", 1, ips=2, assigned=1))) is None
    leftover = eni("eni-1", 1, ips=2, prefixes=1, prefix_pods=(1,))
    assert _del(ds(eni("eni-0", 0, primary=True), leftover)) is None


@pytest.mark.parametrize(("w", "expected"), [(2, "eni-1"), (3, None)])
def test_deletable_check5_warm_ip_sip(w: int, expected: str | None) -> None:
    # other free = primary's 2 free /32s (one of them cooling: cooling counts as warm).
    store = ds(
        eni("eni-0", 0, primary=True, ips=3, assigned=1, cooling=1, unassigned_at=CLOCK),
        eni("eni-1", 1, ips=2),
    )
    assert _del(store, w=w) == expected


@pytest.mark.parametrize(
    ("primary_eni", "expected"),
    [
        # W = 1 -> W' = ceil16(1) x 16 = 16.
        (eni("eni-0", 0, primary=True, prefixes=1), "eni-1"),  # other free 16
        (eni("eni-0", 0, primary=True, prefixes=1, prefix_pods=(1,)), None),  # 15 < 16
        # Empty /32s don't count as warm in PD (mode-matching CIDRs only).
        (eni("eni-0", 0, primary=True, ips=3, prefixes=1, prefix_pods=(1,)), None),
    ],
)
def test_deletable_check5_warm_ip_pd_rounds_to_prefixes(
    primary_eni: object, expected: str | None
) -> None:
    store = ds(primary_eni, eni("eni-1", 1, prefixes=1))  # type: ignore[arg-type]
    assert _del(store, w=1, pd=True) == expected


def test_deletable_excluded_eni_is_freeable_and_not_counted_as_other() -> None:
    store = ds(
        eni("eni-0", 0, primary=True, ips=1, assigned=1),
        eni("eni-1", 1, ips=2),
        eni("eni-2", 2, ips=5, excluded=True),
    )
    # W = 1. eni-1: other = primary 0 (the excluded ENI's 5 free IPs don't count) -> kept.
    # eni-2 (excluded, 5.11 "not checked"): other = eni-1's 2 >= 1 -> freed.
    assert _del(store, w=1) == "eni-2"


@pytest.mark.parametrize(
    ("m", "pd", "primary_eni", "expected"),
    [
        (4, False, eni("eni-0", 0, primary=True, ips=2, assigned=2), None),  # other size 2 < 4
        (2, False, eni("eni-0", 0, primary=True, ips=2, assigned=2), "eni-1"),  # 2 >= 2
        # PD: M' = ceil16(17) x 16 = 32.
        (17, True, eni("eni-0", 0, primary=True, prefixes=2, prefix_pods=(16, 16)), "eni-1"),
        (17, True, eni("eni-0", 0, primary=True, prefixes=1, prefix_pods=(16,)), None),
        (16, True, eni("eni-0", 0, primary=True, prefixes=1, prefix_pods=(16,)), "eni-1"),
    ],
)
def test_deletable_check6_minimum_ip(
    m: int, pd: bool, primary_eni: object, expected: str | None
) -> None:
    candidate = eni("eni-1", 1, prefixes=1) if pd else eni("eni-1", 1, ips=2)
    assert _del(ds(primary_eni, candidate), m=m, pd=pd) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("primary_eni", "pd", "wp", "expected"),
    [
        # PD, WP = 1: other empty CIDRs on the primary = 0 < 1 -> kept.
        (eni("eni-0", 0, primary=True, prefixes=1, prefix_pods=(1,)), True, 1, None),
        # Q7: an empty /32 counts as a free prefix -> other = 1 -> freed.
        (eni("eni-0", 0, primary=True, ips=1, prefixes=1, prefix_pods=(1,)), True, 1, "eni-1"),
        # WP = 0 -> check off.
        (eni("eni-0", 0, primary=True, prefixes=1, prefix_pods=(1,)), True, 0, "eni-1"),
        # SIP -> check off even with WP = 1.
        (eni("eni-0", 0, primary=True, ips=1, assigned=1), False, 1, "eni-1"),
    ],
)
def test_deletable_check7_warm_prefix(
    primary_eni: object, pd: bool, wp: int, expected: str | None
) -> None:
    candidate = eni("eni-1", 1, prefixes=1)
    assert _del(ds(primary_eni, candidate), wp=wp, pd=pd) == expected  # type: ignore[arg-type]


def test_deletable_check7_excluded_empty_prefixes_do_not_count() -> None:
    store = ds(
        eni("eni-0", 0, primary=True, prefixes=1, prefix_pods=(1,)),
        eni("eni-1", 1, prefixes=1),
        eni("eni-2", 2, prefixes=2, excluded=True, created_at=CLOCK),  # young: not a candidate
    )
    # other empty CIDRs for eni-1: primary 0; the excluded ENI's 2 empty /28s don't count.
    assert _del(store, wp=1, pd=True) is None


def test_deletable_q12_warm_prefix_protects_even_with_warm_ip_target() -> None:
    # Q12: primary: two /28s with one pod each -> other free = 30 >= W' = 16 (W passes) but
    # other empty CIDRs = 0 < WP = 1 -> still kept.
    store = ds(
        eni("eni-0", 0, primary=True, prefixes=2, prefix_pods=(1, 1)), eni("eni-1", 1, prefixes=1)
    )
    assert _del(store, w=1, wp=1, pd=True) is None
    assert _del(store, w=1, wp=0, pd=True) == "eni-1"


@pytest.mark.parametrize("flag", ["trunk", "efa"])
def test_deletable_check8_9_trunk_and_efa_never(flag: str) -> None:
    special = eni("eni-1", 1, ips=1, **{flag: True})  # type: ignore[arg-type]
    assert _del(ds(eni("eni-0", 0, primary=True), special), m=1) is None


# --- spec 13: RemoveUnusedENIFromStore sequence ---------------------------------------------


def test_vector_remove_unused_eni_sequence() -> None:
    eni1 = eni("eni-1", 0, primary=True, ips=2, assigned=2)
    eni2 = eni("eni-2", 1, ips=2)
    eni3 = eni("eni-3", 2, ips=1)
    store = ds(eni1, eni2, eni3)
    # (W, M) = (3, 1): eni-2 other free 1 < 3; eni-3 other free 2 < 3 -> none.
    assert _del(store, w=3, m=1) is None
    # (1, 5): eni-2 other size 3 < 5; eni-3 other size 4 < 5 -> none.
    assert _del(store, w=1, m=5) is None
    # (2, 4): eni-2 other free 1 < 2; eni-3 other free 2 >= 2 and size 4 >= 4 -> eni-3.
    assert _del(store, w=2, m=4) == "eni-3"

    store = ds(eni1, eni2)
    # (0, 3): eni-2 other size 2 < 3 -> none.  (0, 2): 2 >= 2 -> eni-2.
    assert _del(store, w=0, m=3) is None
    assert _del(store, w=0, m=2) == "eni-2"

    trunk = eni("eni-4", 3, ips=1, trunk=True)
    efa = eni("eni-5", 4, ips=1, efa=True)
    store = ds(eni1, trunk, efa)
    # Trunk and EFA pass checks 1-7 but are never freed (checks 8, 9).
    assert _del(store, w=0, m=2) is None

    store = ds(eni1, trunk, efa, eni("eni-6", 5))
    # eni-6: empty, other size 2 + 1 + 1 = 4 >= 2 -> freed.
    assert _del(store, w=0, m=2) == "eni-6"


# =============================================================================================
# freeable_cidrs (spec 6.5, Q2, Q7)


def test_freeable_cidrs_any_kind_and_cooling_does_not_protect() -> None:
    e = eni_from_cidrs(
        "eni-1",
        1,
        [
            slash32("10.0.1.1", "pod-a"),
            slash32("10.0.1.2"),
            slash32("10.0.1.3", unassigned_at=CLOCK),  # cooling right now (Q2)
            prefix28("10.0.1.16", addr("10.0.1.17", "pod-b")),
            prefix28("10.0.1.32"),
            prefix28("10.0.1.48", addr("10.0.1.48", unassigned_at=CLOCK)),  # cooling
        ],
    )
    keys = [c.key for c in freeable_cidrs(e)]
    # Every CIDR with 0 assigned, both kinds (Q7), cooling ignored (Q2), ascending (9).
    assert keys == ["10.0.1.2/32", "10.0.1.3/32", "10.0.1.32/28", "10.0.1.48/28"]


def test_vector_decrease_sip_w1() -> None:
    # Spec 13: two ENIs, each 2 /32s and 1 pod, W = 1 -> T = 4, A = 2 -> over = 1.
    config = Config(warm_ip_target=1)
    before = ds(
        eni("eni-0", 0, primary=True, ips=2, assigned=1), eni("eni-1", 1, ips=2, assigned=1)
    )
    assert target_state(datastore_stats(before, False), policy(config)).over == 1
    # The first ENI (9 N5) offers its free /32 10.0.0.2.
    assert [c.key for c in freeable_cidrs(before.enis[0])] == ["10.0.0.2/32"]
    # After releasing it: T = 3, A = 2 -> over = 0, so a second decrease releases nothing.
    after = ds(
        eni_from_cidrs("eni-0", 0, [before.enis[0].cidrs[0]], primary=True),
        before.enis[1],
    )
    assert target_state(datastore_stats(after, False), policy(config)) == TargetState(0, 0, True)


# =============================================================================================
# allocatable_enis (spec 6.2)


def test_allocatable_enis() -> None:
    store = ds(
        eni("eni-0", 0, primary=True, ips=1),
        eni("eni-1", 1, ips=2, prefixes=1),  # 3 CIDRs of both kinds = full at limit 3 (Q7)
        eni("eni-2", 2, ips=2),
        eni("eni-3", 3, trunk=True),
        eni("eni-4", 4, excluded=True),
        eni("eni-5", 5, efa=True, ips=2, assigned=2),  # EFA is grown (Q27)
        eni("eni-6", 6, ips=3),  # full
    )
    got = [e.eni_id for e in allocatable_enis(store, policy(Config()))]
    assert got == ["eni-0", "eni-2", "eni-5"]
    # Custom networking skips the primary.
    got = [e.eni_id for e in allocatable_enis(store, policy(Config(custom_networking=True)))]
    assert got == ["eni-2", "eni-5"]
    # The limit counts CIDRs: at limit 4 eni-1 (3 CIDRs) and eni-6 (3) have room.
    five = InstanceLimits(name="five", max_enis=4, ipv4_per_eni=5)
    got = [e.eni_id for e in allocatable_enis(store, policy(Config(), limits=five))]
    assert got == ["eni-0", "eni-1", "eni-2", "eni-5", "eni-6"]


# =============================================================================================
# has_room_for_eni (spec 2.4)


def _room(
    n_enis: int,
    config: Config,
    *,
    excluded: int = 0,
    unmanaged: int = 0,
    trunk: bool = False,
    card: int = 0,
) -> bool:
    enis = [eni("eni-0", 0, primary=True)]
    for i in range(1, n_enis):
        enis.append(eni(f"eni-{i}", i, excluded=i <= excluded, trunk=trunk and i == 1))
    limits = LIMITS
    if card == 0:
        stores = [ds(*enis, unmanaged=unmanaged)]
    else:
        limits = TWO_CARDS
        config = attrs.evolve(config, multi_nic=True)
        card_enis = [eni(f"eni-c{i}", i, card=card) for i in range(n_enis)]
        stores = [ds(enis[0]), ds(*card_enis, card=card, unmanaged=unmanaged)]
    state = node(limits, config, *stores)
    return has_room_for_eni(state.datastore(card), policy(config, network_card=card, limits=limits))


@pytest.mark.parametrize(
    ("n", "kw", "config", "expected"),
    [
        (1, {}, Config(), True),  # 1 < 4
        (3, {}, Config(), True),  # 3 < 4
        (4, {}, Config(), False),  # 4 = L_eni
        (3, {"unmanaged": 1}, Config(), False),  # 3 + 1 unmanaged
        (2, {"unmanaged": 1}, Config(), True),
        (3, {"excluded": 2}, Config(), True),  # Q11: excluded just occupy slots: 3 < 4
        (4, {"excluded": 2}, Config(), False),
        (2, {}, Config(max_eni=2), False),  # MAX_ENI = 2
        (1, {}, Config(max_eni=2), True),
        (3, {}, Config(max_eni=10), True),  # MAX_ENI > L_eni -> 4
        (4, {}, Config(max_eni=10), False),
        # Pod ENI: one slot reserved on card 0 until a trunk exists.
        (3, {}, Config(pod_eni=True), False),  # 3 + 1 reserve = 4
        (2, {}, Config(pod_eni=True), True),
        (3, {"trunk": True}, Config(pod_eni=True), True),  # trunk present: no reserve
        # Card 1: MAX_ENI applies per card, no trunk reserve, its own unmanaged count.
        (3, {"card": 1}, Config(pod_eni=True), True),
        (2, {"card": 1}, Config(max_eni=2), False),
        (3, {"card": 1, "unmanaged": 1}, Config(), False),
    ],
)
def test_has_room_for_eni(n: int, kw: dict[str, object], config: Config, expected: bool) -> None:
    assert _room(n, config, **kw) is expected  # type: ignore[arg-type]
