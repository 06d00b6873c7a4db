"""Cards are found by number, not by position (spec 4.3, 9; the fixed half of Q13).

On instances whose card numbers skip (cards 0, 2, 3: card 1 absent or unmanaged), a pod that
finds no address on one card goes on to every card above it, and is refused only when no
card has an address it could take. The model once stopped at the card whose *number* equals
the *position* of the last datastore; these histories catch that.
"""

from __future__ import annotations

import attrs
from hypothesis import event, given, settings
from hypothesis import strategies as st

from vpccni_model import (
    Config,
    FakeEC2,
    InstanceLimits,
    NetworkCard,
    NoAvailableIPError,
    NodeState,
    apply,
    assign_pod_ip,
    reconcile,
)
from vpccni_model.testing import configs, synthetic_limits

PREFIX = 16
TICK = 5.0

# Layouts in which some card's number is the position of the last datastore and is not the
# last card: exactly where a number/position mix-up stops early.
LAYOUTS = ((0, 2, 3), (0, 2, 5), (0, 1, 3, 4), (0, 3, 4, 6))


@st.composite
def gapped_limits(draw: st.DrawFn) -> InstanceLimits:
    """Made-up instance types whose card numbers skip: the layouts above, or any."""
    if draw(st.booleans()):
        return draw(synthetic_limits(3, skip_card_numbers=True))
    cards = draw(st.sampled_from(LAYOUTS))
    per_card = draw(st.integers(1, 3))
    return InstanceLimits(
        name="gapped",
        max_enis=per_card,
        ipv4_per_eni=draw(st.integers(2, 4)),
        network_cards=tuple(NetworkCard(index, per_card) for index in cards),
    )


def free_address(state: NodeState, clock: float) -> tuple[int, int] | None:
    """(card, address) of one address some pod could take now, recounted from the entries:
    a mode-matching CIDR of a non-excluded ENI with no entry there, or an unassigned entry
    that no longer cools (spec 3.5, 4.2)."""
    pd = state.config.prefix_delegation
    cooldown = state.config.ip_cooldown_period
    for ds in state.datastores:
        for eni in ds.enis:
            if eni.is_excluded:
                continue
            for cidr in eni.cidrs:
                if cidr.is_prefix != pd:
                    continue
                entries = {a.ip: a for a in cidr.addresses}
                for ip in range(cidr.network, cidr.network + (PREFIX if pd else 1)):
                    entry = entries.get(ip)
                    if entry is None:
                        return ds.network_card, ip
                    freed = entry.unassigned_at
                    if entry.pod is None and (freed is None or clock - freed > cooldown):
                        return ds.network_card, ip
    return None


@settings(max_examples=60)
@given(node_limits=gapped_limits(), config=configs(multi_nic=True), warm_ticks=st.integers(4, 30))
def test_a_pod_is_refused_only_when_no_card_has_an_address(
    node_limits: InstanceLimits, config: Config, warm_ticks: int
) -> None:
    """Warm the pool of every card with a cooperative EC2, then place pods with no tick in
    between until one is refused: at that point no card has an address left."""
    config = attrs.evolve(config, max_pods=None)  # no per-card cap on the warm pool
    clock = 0.0
    state = NodeState.boot(node_limits, config, clock)
    ec2 = FakeEC2.for_node(state)
    for _ in range(warm_ticks):
        step = reconcile(state, config, clock)
        state = step.state
        for action in step.actions:
            answer = ec2.execute(action)
            if answer is not None:
                state = apply(state, answer, clock)
        clock += TICK
    cards = {ds.network_card for ds in state.datastores}
    placed: dict[int, int] = {}
    for index in range(4096):
        pod = f"default/pod-{index}"
        try:
            state, _ = assign_pod_ip(state, config, pod, clock)
        except NoAvailableIPError:
            spare = free_address(state, clock)
            assert spare is None, f"{pod} refused while card {spare[0]} has an address"
            break
        card = state.pods[pod].network_card
        placed[card] = placed.get(card, 0) + 1
    else:
        raise AssertionError("the pool never ran out")
    last = max(cards)
    if placed.get(last) and len(cards) > 2:
        event("a pod got its address on the highest card")
