"""An ENI freed while it holds /28 prefixes takes them off the prefix counter (spec 3.3, 6.6).

In secondary-IP mode with warm-IP targets met, an ENI that EC2 shows with /28s only (left
over from prefix mode, or in an excluded subnet) serves no pod and no target needs it: ipamd
frees it once it is 60 s old, and ``RemoveUnusedENIFromStore`` counts its prefixes off
``allocated_prefix``. The pool sits at its target, so no decrease takes the /28s first and
the ENI holds them all when it goes. The stateful machine reaches this in a few histories in
a hundred; every run here does.
"""

from __future__ import annotations

from hypothesis import event, given
from hypothesis import strategies as st

from vpccni_model import (
    Action,
    AllocateENI,
    AllocatePrefixes,
    Config,
    ENIAttached,
    FakeEC2,
    FreeENI,
    InstanceLimits,
    NodeState,
    ReleaseIPs,
    ReleasePrefixes,
    apply,
    reconcile,
    reconcile_due,
)
from vpccni_model.testing import observation

TICK = 5.0


@st.composite
def setups(draw: st.DrawFn) -> tuple[InstanceLimits, Config, bool]:
    """A small Nitro instance whose primary ENI alone can hold the warm target, secondary-IP
    mode with W >= M, and whether the ENI's subnet is excluded."""
    node_limits = InstanceLimits(
        name="small", max_enis=draw(st.integers(2, 4)), ipv4_per_eni=draw(st.integers(2, 6))
    )
    warm = draw(st.integers(1, node_limits.cidrs_per_eni))
    config = Config(
        warm_ip_target=warm,
        minimum_ip_target=draw(st.integers(0, warm)),
        warm_eni_target=draw(st.integers(0, 3)),
        ip_cooldown_period=draw(st.sampled_from((30.0, 0.0, -1.0, 5.0, 60.0))),
        subnet_discovery=draw(st.booleans()),
    )
    return node_limits, config, draw(st.booleans())


def held_prefixes(state: NodeState) -> int:
    return sum(1 for eni in state.enis for cidr in eni.cidrs if cidr.is_prefix)


@given(setup=setups(), data=st.data())
def test_an_eni_freed_with_prefixes_counts_them_off(
    setup: tuple[InstanceLimits, Config, bool], data: st.DataObject
) -> None:
    node_limits, config, excluded = setup
    clock = 0.0
    state = NodeState.boot(node_limits, config, clock)
    ec2 = FakeEC2.for_node(state)
    # EC2 shows a second ENI with /28s only (every slot when it may be grown: then it is not);
    # the reconcile at boot adopts it.
    attached = ec2.execute(AllocateENI(0, 1))
    assert isinstance(attached, ENIAttached)
    orphan = attached.eni_id
    ec2.execute(ReleaseIPs(orphan, attached.ips))
    slots = node_limits.cidrs_per_eni
    prefixes = data.draw(st.integers(1, slots)) if excluded else slots
    for _ in range(prefixes):
        ec2.execute(AllocatePrefixes(orphan, 1))
    assert reconcile_due(state, config, clock)
    state = apply(state, observation(ec2, excluded={orphan} if excluded else ()), clock)
    adopted = state.find_eni(orphan)
    assert adopted is not None and adopted.prefix_cidrs == prefixes
    assert state.datastore(0).prefix_counter == held_prefixes(state) == prefixes

    for _ in range(20):  # 100 s: the pool warms up, the ENI ages past 60 s and goes
        before = state.datastore(0).prefix_counter
        step = reconcile(state, config, clock)
        state = step.state
        actions: tuple[Action, ...] = step.actions
        for action in actions:
            answer = ec2.execute(action)
            if answer is not None:
                state = apply(state, answer, clock)
        released = sum(
            len(a.prefixes)
            for a in actions
            if isinstance(a, ReleasePrefixes) and a.eni_id == orphan
        )
        assert released == 0, "the pool is at its target: no decrease takes the /28s"
        if FreeENI(orphan) in actions:
            event("freed (excluded subnet)" if excluded else "freed (leftover /28s)")
            assert state.datastore(0).prefix_counter == before - prefixes == 0
            assert held_prefixes(state) == 0
            return
        assert state.datastore(0).prefix_counter == before == prefixes
        clock += TICK
    raise AssertionError(f"{orphan} was never freed: {state.find_eni(orphan)}")
