"""restart(): what ipamd forgets and what it cleans up when it starts again (spec 7.4-7.8)."""

from __future__ import annotations

import attrs
import pytest

from vpccni_model import (
    ENI,
    Address,
    Cidr,
    Config,
    ConfigError,
    Datastore,
    InstanceLimits,
    NodeState,
    PodIP,
    ReleaseIPs,
    ReleasePrefixes,
    assign_pod_ip,
    reconcile,
    restart,
    unassign_pod_ip,
)
from vpccni_model._ipv4 import ip_to_int

LIMITS = InstanceLimits(name="test", max_enis=3, ipv4_per_eni=5)


def _ip(text: str) -> int:
    return ip_to_int(text)


def _node(config: Config, *, excluded_second: bool = False) -> NodeState:
    """Primary with two /32s (one assigned to pod-a) and a /28 (one address assigned to
    pod-b); eni-1 with one empty /32 and one empty /28."""
    primary = ENI(
        eni_id="eni-0",
        device_number=0,
        is_primary=True,
        created_at=0.0,
        cidrs=(
            Cidr(_ip("10.0.0.5"), False, (Address(_ip("10.0.0.5"), "pod-a", 1.0),)),
            Cidr(_ip("10.0.0.6"), False),
            Cidr(_ip("10.0.0.16"), True, (Address(_ip("10.0.0.16"), "pod-b", 1.0),)),
        ),
    )
    second = ENI(
        eni_id="eni-1",
        device_number=1,
        created_at=0.0,
        is_excluded=excluded_second,
        cidrs=(Cidr(_ip("10.0.0.7"), False), Cidr(_ip("10.0.0.32"), True)),
    )
    pods = {
        "pod-a": PodIP("pod-a", 0, "eni-0", _ip("10.0.0.5"), _ip("10.0.0.5")),
        "pod-b": PodIP("pod-b", 0, "eni-0", _ip("10.0.0.16"), _ip("10.0.0.16")),
    }
    state = NodeState(
        limits=LIMITS,
        config=config,
        primary_eni_id="eni-0",
        datastores=(Datastore.of(0, (primary, second)),),
        pods=pods,
        last_pool_action_at=50.0,
        last_decrease_at=50.0,
        last_insufficient_cidr_at=50.0,
        reconcile_cooldown={"10.0.0.9": 40.0},
        clock=50.0,  # no timestamp of a state is later than its clock
    )
    state.check()
    return state


def test_turning_prefix_delegation_on_releases_empty_secondary_ips() -> None:
    state = restart(_node(Config()), Config(prefix_delegation=True), clock=100.0)
    # Spec 7.6: PD on -> every /32 with no pod goes, on every ENI, in device order.
    assert state.outbox == (
        ReleaseIPs("eni-0", ("10.0.0.6",)),
        ReleaseIPs("eni-1", ("10.0.0.7",)),
    )
    keys = [[c.key for c in e.cidrs] for e in state.enis]
    assert keys == [["10.0.0.5/32", "10.0.0.16/28"], ["10.0.0.32/28"]]
    # Pods survive through the checkpoint; /32s do not touch the prefix counter.
    assert set(state.pods) == {"pod-a", "pod-b"}
    assert state.datastore(0).prefix_counter == 2
    state.check()


def test_turning_prefix_delegation_off_releases_empty_prefixes() -> None:
    before = _node(Config(prefix_delegation=True))
    state = restart(before, Config(), clock=100.0)
    assert state.outbox == (ReleasePrefixes("eni-1", ("10.0.0.32/28",)),)
    # The prefix holding pod-b stays (mismatched CIDRs with pods are kept, spec 7.6).
    assert [c.key for c in state.enis[0].cidrs] == ["10.0.0.5/32", "10.0.0.6/32", "10.0.0.16/28"]
    assert state.datastore(0).prefix_counter == 1


def test_restart_forgets_ages_timers_cache_and_cooling() -> None:
    config = Config()
    state = _node(config)
    state, _ = unassign_pod_ip(state, config, "pod-a", clock=90.0)
    state = attrs.evolve(state, outbox=())
    state = restart(state, config, clock=100.0)
    # Spec 7.8: every ENI is new again, timers at zero time, cache empty, nothing cooling.
    assert [e.created_at for e in state.enis] == [100.0, 100.0]
    assert (state.last_pool_action_at, state.last_decrease_at) == (None, None)
    assert state.last_insufficient_cidr_at is None
    assert dict(state.reconcile_cooldown) == {}
    assert all(e.latest_unassigned_at is None for e in state.enis)
    # 10.0.0.5 was cooling at 90 s; after the restart at 100 s it is immediately reusable
    # (only 10 s < 30 s cooldown had passed).
    state, ip = assign_pod_ip(state, config, "pod-c", clock=100.0)
    assert ip == "10.0.0.5"


def test_excluded_enis_on_card_zero_release_empty_cidrs_of_the_mode() -> None:
    state = restart(_node(Config(), excluded_second=True), Config(), clock=100.0)
    # Q20 / spec 7.4 step 6: the excluded eni-1 loses its empty /32 first, then the toggle
    # cleanup (PD off) removes its empty /28.
    assert state.outbox == (
        ReleaseIPs("eni-1", ("10.0.0.7",)),
        ReleasePrefixes("eni-1", ("10.0.0.32/28",)),
    )
    assert state.find_eni("eni-1") is not None
    assert state.find_eni("eni-1").cidrs == ()  # type: ignore[union-attr]


def test_exclusion_cleanup_runs_over_every_eni_before_the_toggle_cleanup() -> None:
    # nodeInit runs checkAndHandleAllENIExclusion (step 6) over all ENIs, then the toggle
    # cleanup (step 7) over all ENIs: eni-0's toggle release comes after eni-1's exclusion
    # release, not before it (the old per-ENI interleaving).
    before = _node(Config(), excluded_second=True)
    state = restart(before, Config(prefix_delegation=True), clock=100.0)
    assert state.outbox == (
        ReleasePrefixes("eni-1", ("10.0.0.32/28",)),  # exclusion: empty CIDRs of the new mode
        ReleaseIPs("eni-0", ("10.0.0.6",)),  # toggle (PD on): empty /32s, in device order
        ReleaseIPs("eni-1", ("10.0.0.7",)),
    )
    assert state.datastore(0).prefix_counter == 1  # eni-0's /28 with pod-b stays
    state.check()


def test_reconcile_refuses_a_hot_mode_change() -> None:
    state = _node(Config())
    with pytest.raises(ConfigError) as info:
        reconcile(state, Config(prefix_delegation=True), clock=100.0)
    assert info.value.field == "prefix_delegation"
