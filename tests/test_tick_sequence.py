"""A tick's EC2 calls in Go's order (spec 7.3, 7.5, 6.1-6.6): what one whole
``updateIPPoolIfRequired`` (or ``handlePreScaling``) asks of EC2, answered call by call.

Each test drives one tick with scripted answers at one clock (ipamd's loop waits on every
allocation and goes on when it returns) and compares the whole sequence of calls with the one
derived by hand from the spec. Unless said otherwise the instance is ``LIMITS``: 3 ENIs, 4
IPv4 per ENI, so S = 3 secondary IPs or Pmax = 3 prefixes per ENI.
"""

from __future__ import annotations

from ticks import (
    INSUFFICIENT_BLOCKS,
    INSUFFICIENT_IPS,
    LIMITS,
    MULTI,
    NOW,
    c28,
    c32,
    eni,
    ip,
    node,
    pfx,
    primary,
)

from vpccni_model import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    AllocationFailed,
    Answer,
    Config,
    ENIAttached,
    ENIConfig,
    ENIConfigSubnet,
    Event,
    FakeEC2,
    FreeENI,
    IPsAllocated,
    NodeState,
    PrefixesAllocated,
    ReleaseIPs,
    ReleasePrefixes,
    Stage,
    apply,
    converge,
    reconcile,
    restart,
    run_tick,
)


def drive(
    state: NodeState, config: Config, clock: float, answers: list[Event]
) -> tuple[NodeState, list[Action], float | None, str | None]:
    """One whole tick at ``clock``, each allocation answered by the next of ``answers``."""
    calls: list[Action] = []
    step = reconcile(state, config, clock)
    while True:
        calls.extend(step.actions)
        state = step.state
        if state.in_flight is None:
            assert state.tick is None, "a reconcile left its tick part-way with no call"
            return state, calls, step.next_check_at, step.start_error
        assert step.next_check_at is None  # waiting: only the answer moves the tick on
        assert step.actions[-1] == state.in_flight.action  # the call it waits on comes last
        state = apply(state, answers.pop(0), clock)
        step = reconcile(state, config, clock)


# -- the known wrong outcome of the one-call-per-reconcile model -------------------------------


def test_insufficient_blocks_on_eni_0_continue_to_the_idle_eni_1_which_is_then_freed() -> None:
    # PD, WARM_PREFIX_TARGET=0, subnet discovery on, max pods 110 (the calculator's for PD).
    # eni-0 holds one full /28 (16 pods), eni-1 is old and has nothing. T=16 < 110, A=16,
    # Avail 0, WP=0: low (5.4, Q6). getPrefixesNeeded = max(1, WP - F) = 1;
    # GetAllocatableENIs: eni-0 (1 < Pmax 3), eni-1 (0 < 3).
    config = Config(
        prefix_delegation=True, warm_prefix_target=0, subnet_discovery=True, max_pods=110
    )
    state = node(config, primary(c28(16, 16)), eni("eni-1", 1), clock=NOW)
    answers: list[Event] = [
        AllocationFailed(INSUFFICIENT_BLOCKS),  # eni-0: 6.2 "continue" under discovery
        PrefixesAllocated("eni-1", (pfx(48),)),  # eni-1 gets the prefix: increased
    ]
    after, calls, next_check, error = drive(state, config, NOW, answers)
    # Then shouldRemoveExtraENIs on the stale stats (Avail 0 < 1 * 48, PD: a freeable ENI
    # exists, eni-1) and tryFreeENI on the datastore as the increase left it: eni-1 is old and
    # holds no pod, so it goes, with its new prefix. No new ENI, no backoff.
    assert calls == [
        AllocatePrefixes("eni-0", 1),
        AllocatePrefixes("eni-1", 1),
        FreeENI("eni-1"),
    ]
    assert not any(isinstance(call, AllocateENI) for call in calls)
    assert after.find_eni("eni-1") is None
    assert after.last_insufficient_cidr_at is None
    assert after.last_pool_action_at == NOW
    assert (next_check, error) == (NOW + 5, None)


# -- continuations, multi-card ticks, frees and decreases ---------------------------------------


def test_subnet_discovery_walks_every_eni_then_creates_one_in_the_same_tick() -> None:
    # SIP, W=2: primary and eni-1 hold 2 /32s with pods each (short 2, one slot left on each).
    config = Config(warm_ip_target=2, subnet_discovery=True)
    state = node(
        config, primary(c32(5, "a"), c32(6, "b")), eni("eni-1", 1, c32(8, "c"), c32(9, "d"))
    )
    answers: list[Event] = [
        AllocationFailed(INSUFFICIENT_IPS),
        AllocationFailed(INSUFFICIENT_BLOCKS),
        ENIAttached("eni-2", 2, ips=(ip(20), ip(21))),
    ]
    after, calls, _, _ = drive(state, config, NOW, answers)
    # 6.2: min(3 - 2, 2) = 1 on eni-0, then eni-1; every ENI failed -> 6.1 hasRoomForEni (2 < 3)
    # -> 5.9 R = min(short 2, S 3) = 2, all in the one tick.
    assert calls == [AllocateIPs("eni-0", 1), AllocateIPs("eni-1", 1), AllocateENI(0, 2)]
    assert after.find_eni("eni-2") is not None
    assert after.last_insufficient_cidr_at is None


def test_a_tick_waits_with_its_progress_and_records_the_answer() -> None:
    config = Config(warm_ip_target=2, subnet_discovery=True)
    state = node(
        config, primary(c32(5, "a"), c32(6, "b")), eni("eni-1", 1, c32(8, "c"), c32(9, "d"))
    )
    step = reconcile(state, config, NOW)
    assert step.actions == (AllocateIPs("eni-0", 1),)
    tick = step.state.tick
    assert tick is not None and tick.stage is Stage.GROW
    # short = max(W 2 - Avail 0, M 0 - T 4) = 2 is what each ENI is asked for, at most its room.
    assert (tick.candidates, tick.want, tick.answer) == (("eni-1",), 2, None)
    # Nothing happens until the answer: the same clock or later.
    assert reconcile(step.state, config, NOW + 30).actions == ()
    answered = apply(step.state, AllocationFailed(INSUFFICIENT_IPS), NOW)
    assert answered.tick is not None and answered.tick.answer is Answer.NEXT_ENI
    assert reconcile(answered, config, NOW).actions == (AllocateIPs("eni-1", 1),)


def test_every_low_card_increases_in_the_one_tick() -> None:
    # MULTI, multi-NIC: card 0's primary has no IPs (WARM_ENI_TARGET=1: low), card 1 has no ENI
    # (W=M=1 there: short 1, low). handlePreScaling serves both: card 0 fills the primary
    # (6.2: S = 3), then card 1 gets an ENI with R = min(short 1, S) = 1 (5.9).
    config = Config(multi_nic=True)
    state = NodeState.boot(MULTI, config, NOW)
    answers: list[Event] = [
        IPsAllocated("eni-0", (ip(5), ip(6), ip(7))),
        ENIAttached("eni-c1", 0, network_card=1, ips=(ip(40),)),
    ]
    after, calls, next_check, _ = drive(state, config, NOW, answers)
    assert calls == [AllocateIPs("eni-0", 3), AllocateENI(1, 1)]
    assert after.datastore(1).eni("eni-c1") is not None
    # nodeInit returns; the pool manager's loop sleeps half an interval (7.2).
    assert next_check == NOW + 2.5


def test_decreases_on_several_cards_in_one_tick_stamp_the_timer_once() -> None:
    # Card 0: W=1, primary with 3 free /32s: over = min(Avail 3 - W 1, T 3 - M 0) = 2.
    # Card 1 (W=M=1): a young ENI with 3 free /32s: over = min(3 - 1, 3 - 1) = 2; young, so
    # tryFreeENI keeps it (60 s lifetime).
    config = Config(warm_ip_target=1, multi_nic=True)
    state = node(
        config,
        primary(c32(5), c32(6), c32(7)),
        eni("eni-c1", 0, c32(40), c32(41), c32(42), card=1, created_at=NOW - 10),
        limits=MULTI,
        clock=NOW,
    )
    after, calls, _, _ = drive(state, config, NOW, [])
    # 6.5: the lowest free CIDRs first (ordered policy); lastDecreaseIPPool after the loop.
    assert calls == [
        ReleaseIPs("eni-0", (ip(5), ip(6))),
        ReleaseIPs("eni-c1", (ip(40), ip(41))),
    ]
    assert after.last_decrease_at == NOW
    assert after.last_pool_action_at == NOW


def test_a_new_eni_is_young_so_the_free_in_the_same_tick_skips_it() -> None:
    # SIP default WARM_ENI_TARGET=1: the primary is full of pods (Avail 0 < S 3): an ENI with
    # S = 3 IPs. shouldRemoveExtraENIs (stale stats: Avail 0 < 2 * 3) is false: no free step.
    config = Config()
    state = node(config, primary(c32(5, "a"), c32(6, "b"), c32(7, "c")), clock=NOW)
    answers: list[Event] = [ENIAttached("eni-1", 1, ips=(ip(9), ip(10), ip(11)))]
    after, calls, _, _ = drive(state, config, NOW, answers)
    assert calls == [AllocateENI(0, 3)]
    found = after.find_eni("eni-1")
    assert found is not None and found.created_at == NOW


# -- start-up: pre-scaling only increases --------------------------------------------------------


def test_restart_with_a_minimum_target_releases_at_the_first_regular_tick_not_at_once() -> None:
    # PD, WP=2, no pods: two free /28s (F = 2 = WP: settled). Restarted with
    # MINIMUM_IP_TARGET=16: targets defined, in prefix units M = 1: over = min(Avail 2 - W 0,
    # T 2 - M 1) = 1, too high (5.1, 5.5). Pre-scaling only increases (7.5): nothing. The
    # first regular tick, 2.5 s later (7.2), releases the lowest free /28.
    before = Config(prefix_delegation=True, warm_prefix_target=2)
    state = node(before, primary(c28(16), c28(32)), clock=NOW)
    config = Config(prefix_delegation=True, warm_prefix_target=2, minimum_ip_target=16)
    state = restart(state, config, NOW)
    assert state.pre_scaling
    first = reconcile(state, config, NOW)
    assert first.actions == ()
    assert not first.state.pre_scaling
    assert first.next_check_at == NOW + 2.5
    second = reconcile(first.state, config, NOW + 2.5)
    assert second.actions == (ReleasePrefixes("eni-0", (pfx(16),)),)


def test_pre_scaling_fails_start_up_on_a_grow_error() -> None:
    # 7.5: a non-insufficient error from tryAssignIPs is returned by increaseDatastorePool and
    # fails nodeInit; handlePreScaling stops there (card 1 is never served).
    config = Config(multi_nic=True)
    state = NodeState.boot(MULTI, config, NOW)
    after, calls, next_check, error = drive(
        state, config, NOW, [AllocationFailed("UnauthorizedOperation")]
    )
    assert calls == [AllocateIPs("eni-0", 3)]
    assert error == "error while trying to increase datastore pool"
    assert next_check is None  # ipamd exited: only a restart goes on
    assert after.tick is None and not after.pre_scaling


def test_pre_scaling_fails_start_up_when_custom_networking_attached_nothing() -> None:
    # Custom networking skips the primary ENI (6.2): the increase creates an ENI (S = 3) in
    # the ENIConfig's subnet; when that fails the pool is still empty (T = 0) and nodeInit
    # fails (7.5). Without an ENIConfig no ENI is even asked for (6.4 step 1), with the same
    # end. An ENI-creation failure alone would not fail start-up.
    config = Config(custom_networking=True)
    eni_config = ENIConfig("az1", "subnet-pods", ("sg-pods",))
    state = NodeState.boot(LIMITS, config, NOW, eni_config=eni_config)
    _, calls, next_check, error = drive(
        state, config, NOW, [AllocationFailed("UnauthorizedOperation")]
    )
    assert calls == [AllocateENI(0, 3, destination=ENIConfigSubnet("subnet-pods", ("sg-pods",)))]
    assert error == "Failed to attach any ENIs for custom networking"
    assert next_check is None  # ipamd exited: only a restart goes on
    _, calls, _, error = drive(NodeState.boot(LIMITS, config, NOW), config, NOW, [])
    assert (calls, error) == ([], "Failed to attach any ENIs for custom networking")
    plain = Config()
    _, calls, _, error = drive(
        NodeState.boot(LIMITS, plain, NOW), plain, NOW, [AllocationFailed("UnauthorizedOperation")]
    )
    assert (calls, error) == (
        [AllocateIPs("eni-0", 3)],
        "error while trying to increase datastore pool",
    )


def test_a_later_grow_error_is_only_logged() -> None:
    # Past start-up the same error ends the increase and the tick goes on (6.1, 7.3).
    config = Config()
    state = node(config, primary(c32(5, "a")), clock=NOW)
    _, calls, _, error = drive(state, config, NOW, [AllocationFailed("UnauthorizedOperation")])
    assert (calls, error) == ([AllocateIPs("eni-0", 2)], None)


def test_run_tick_drives_a_whole_tick_against_fake_ec2() -> None:
    config = Config(multi_nic=True)
    state = NodeState.boot(MULTI, config, NOW)
    ec2 = FakeEC2.for_node(state)
    run = run_tick(state, config, ec2, NOW)
    assert run.actions == (AllocateIPs("eni-0", 3), AllocateENI(1, 1))
    assert [type(e).__name__ for e in run.events] == ["IPsAllocated", "ENIAttached"]
    assert run.state.tick is None and run.state.in_flight is None
    assert run.next_check_at == NOW + 2.5
    # The same node settles under converge, which runs run_tick each tick.
    settled = converge(run.state, config, ec2, run.next_check_at)
    assert settled.settled
