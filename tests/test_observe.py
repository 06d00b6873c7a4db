"""ipamd's metadata reconciliation (``nodeIPPoolReconcile``, spec 7.7, Q9, Q26):
``reconcile_due`` and ``apply(MetadataObserved)``.

Every expected value below is derived by hand from /work/shared/docs/ipamd-spec.md; the
comment next to each assertion names the rule. Builders are in ``ticks.py``.
"""

from __future__ import annotations

import attrs
import pytest
from ticks import LIMITS, NOW, c28, c32, eni, ip, keys, node, pfx, primary

from vpccni_model import (
    Config,
    MetadataObserved,
    NodeState,
    ObservedENI,
    ReleaseIPs,
    SignalTrunkENI,
    UnexpectedEventError,
    apply,
    reconcile,
    reconcile_due,
)

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
    # T=3, A=1, Avail 2 -> over = 1 -> .6 released, cached at NOW; before it, the trunk
    # signal (7.3: 1 ENI < maxENI 3).
    assert step.actions == (SignalTrunkENI(), ReleaseIPs("eni-0", (ip(6),)))
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
