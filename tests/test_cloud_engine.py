"""One call engine: ``FakeEC2.execute`` is ``submit`` with no latency, throttling or faults.

``steady_state`` and ``converge`` drive the fake through ``execute``, the simulator through
``submit``. Both must make and count exactly the same EC2 calls for the same action, so each
test drives two fresh fakes with the same actions - one through ``execute``, one through
``submit`` with zero latency, unlimited throttle, no faults and an increasing ``at`` - and
compares calls, per-outcome counters, events and what the instance metadata shows.

The call counts follow ipamd v1.23.1 (``tryAssignIPs``/``tryAssignPrefixes`` retry with a count
of 1 after any error but PrivateIpAddressLimitExceeded, whatever the first count was;
``AllocENI`` creates, then attaches, and deletes the new ENI when the attach fails; ``freeENI``
describes the ENI before it detaches and deletes it).
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from vpccni_model import NodeState
from vpccni_model._actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._config import Config
from vpccni_model._events import AllocationFailed, Ec2Error, Event, IPsAllocated
from vpccni_model._limits import InstanceLimits
from vpccni_model.cloud import (
    ASSIGN,
    ATTACH,
    CREATE,
    DELETE,
    DESCRIBE,
    DETACH,
    MODIFY,
    FakeEC2,
    FaultRule,
    Latency,
    Throttle,
    TokenBucket,
)
from vpccni_model.testing import limits as limits_strategy

SMALL = InstanceLimits(name="test.small", max_enis=3, ipv4_per_eni=4)  # 3 secondary slots
WIDE = InstanceLimits(name="test.wide", max_enis=3, ipv4_per_eni=50)  # 49 secondary slots
NODE = "n"


def fakes(
    limits: InstanceLimits, subnet: str = "10.0.0.0/24", *, hostile_execute: bool = False
) -> tuple[FakeEC2, FakeEC2]:
    """(driven by execute, driven by submit), each holding the same freshly booted node.

    With ``hostile_execute`` the first fake is configured so that every submitted call would
    be slow, throttled and failed; ``execute`` must ignore all of it.
    """
    if hostile_execute:
        empty = TokenBucket(1, 0)
        by_execute = FakeEC2(
            subnets={"s": subnet},
            latency=Latency(jitter=0.5),
            throttle=Throttle(mutating=empty, non_mutating=empty),
            faults=[FaultRule("*", "InternalError")],
        )
    else:
        by_execute = FakeEC2(subnets={"s": subnet})
    by_submit = FakeEC2(
        subnets={"s": subnet}, latency=Latency.zero(), throttle=Throttle.unlimited()
    )
    for ec2 in (by_execute, by_submit):
        ec2.boot_node(NODE, NodeState.boot(limits, Config()))
    return by_execute, by_submit


def run_both(
    by_execute: FakeEC2, by_submit: FakeEC2, actions: list[Action]
) -> list[tuple[Event | None, Event | None]]:
    """Each action through both fakes: (execute's event, submit's event)."""
    events = []
    for step, action in enumerate(actions):
        executed = by_execute.execute(action, node=NODE)
        submitted = by_submit.submit(action, node=NODE, at=float(step)).event
        events.append((executed, submitted))
    return events


def assert_same(by_execute: FakeEC2, by_submit: FakeEC2) -> None:
    assert by_execute.calls == by_submit.calls
    assert by_execute.stats == by_submit.stats  # per-API outcomes, errors, subnets, leaks
    assert by_execute.observe() == by_submit.observe()


def test_free_eni_makes_the_same_calls_through_execute_and_submit() -> None:
    # ipamd's freeENI looks the attachment up (DescribeNetworkInterfaces) before Detach and
    # Delete. The old execute skipped the Describe.
    by_execute, by_submit = fakes(SMALL)
    events = run_both(by_execute, by_submit, [AllocateENI(0, 1), FreeENI("eni-1")])
    assert [e for e, _ in events] == [s for _, s in events]
    assert by_execute.calls == Counter(
        {CREATE: 1, ATTACH: 1, MODIFY: 1, DESCRIBE: 1, DETACH: 1, DELETE: 1}
    )
    assert_same(by_execute, by_submit)


def test_one_ip_on_an_exhausted_subnet_makes_the_same_calls_through_both() -> None:
    # 10.0.0.0/28: usable .4-.14; the primary holds .4, the first call takes the other 10.
    # The count-1 call fails with InsufficientFreeAddressesInSubnet and ipamd retries it with
    # count 1 all the same (tryAssignIPs does not look at the first count): 1 + 2 Assigns.
    # The old execute skipped the retry when the count was already 1.
    by_execute, by_submit = fakes(WIDE, "10.0.0.0/28")
    events = run_both(by_execute, by_submit, [AllocateIPs("eni-0", 10), AllocateIPs("eni-0", 1)])
    failed = AllocationFailed(Ec2Error.INSUFFICIENT_FREE_ADDRESSES)
    assert events[1] == (failed, failed)
    assert by_execute.calls == Counter({ASSIGN: 3})
    assert_same(by_execute, by_submit)


def test_eni_at_the_card_limit_makes_the_same_calls_through_both() -> None:
    # ipamd's AllocENI creates the ENI, then EC2 refuses the attach at the card's ENI limit,
    # and the new ENI is deleted. The old execute stopped after Create.
    by_execute, by_submit = fakes(SMALL)
    actions: list[Action] = [AllocateENI(0, 1), AllocateENI(0, 1), AllocateENI(0, 1)]
    events = run_both(by_execute, by_submit, actions)
    limit = AllocationFailed(Ec2Error.ATTACHMENT_LIMIT_EXCEEDED)
    assert events[2] == (limit, limit)
    assert by_execute.calls == Counter({CREATE: 3, ATTACH: 3, MODIFY: 2, DELETE: 1})
    assert_same(by_execute, by_submit)


def test_execute_ignores_the_configured_throttle_faults_and_latency() -> None:
    by_execute, _ = fakes(WIDE, hostile_execute=True)
    twin, _ = fakes(WIDE, hostile_execute=True)
    for count in (1, 2, 3):
        event = by_execute.execute(AllocateIPs("eni-0", count), node=NODE)
        assert isinstance(event, IPsAllocated) and len(event.ips) == count
    # No token was taken, no bucket clock moved, no jitter or fault was drawn: the fake's
    # next submit goes exactly as on a twin that executed nothing, even at an early time.
    action = AllocateENI(0, 1)
    assert by_execute.submit(action, node=NODE, at=-5.0).api_calls == (
        twin.submit(action, node=NODE, at=-5.0).api_calls
    )
    assert by_execute.submit(action, node=NODE, at=0.0).completes_at == (
        twin.submit(action, node=NODE, at=0.0).completes_at
    )


KINDS = st.sampled_from(
    (AllocateENI, AllocateIPs, AllocatePrefixes, ReleaseIPs, ReleasePrefixes, FreeENI)
)
COUNTS = st.integers(0, 8)
PICK = st.integers(0, 63)  # an index into whatever the fake holds now, modulo its length


def action_for(data: st.DataObject, ec2: FakeEC2, limits: InstanceLimits) -> Action:
    """An action on what ``ec2`` holds now, or on what it does not hold.

    Drawn from a few fixed strategies (building strategies per step costs more than the test).
    """
    observed = ec2.observe()

    def pick(items: set[str]) -> str:
        ordered = sorted(items)
        return ordered[data.draw(PICK) % len(ordered)]

    def some(items: set[str], most: int) -> tuple[str, ...]:
        return tuple(sorted({pick(items) for _ in range(data.draw(PICK) % (most + 1))}))

    kind = data.draw(KINDS)
    if kind is AllocateENI:
        card = limits.card_indices[data.draw(PICK) % len(limits.card_indices)]
        return AllocateENI(card, data.draw(COUNTS), data.draw(st.booleans()))
    eni_id = pick({o.eni_id for o in observed} | {"eni-404"})
    if kind is AllocateIPs or kind is AllocatePrefixes:
        return kind(eni_id, data.draw(COUNTS))
    if kind is ReleaseIPs:
        return ReleaseIPs(eni_id, some({a for o in observed for a in o.ips} | {"10.0.0.200"}, 3))
    if kind is ReleasePrefixes:
        held = {p for o in observed for p in o.prefixes} | {"10.0.0.224/28"}
        return ReleasePrefixes(eni_id, some(held, 2))
    return FreeENI(eni_id)


@settings(max_examples=200, deadline=None)
@given(
    limits=limits_strategy(),
    subnet=st.sampled_from(["10.0.0.0/24", "10.0.0.0/26", "10.0.0.0/27", "10.0.0.0/28"]),
    hostile_execute=st.booleans(),
    data=st.data(),
)
def test_execute_and_submit_agree_on_every_sequence_of_actions(
    limits: InstanceLimits, subnet: str, hostile_execute: bool, data: st.DataObject
) -> None:
    by_execute, by_submit = fakes(limits, subnet, hostile_execute=hostile_execute)
    for step in range(data.draw(st.integers(1, 30), label="steps")):
        action = action_for(data, by_execute, limits)
        executed = by_execute.execute(action, node=NODE)
        submitted = by_submit.submit(action, node=NODE, at=float(step))
        assert executed == submitted.event
    assert by_execute.calls == by_submit.calls
    assert by_execute.stats.api == by_submit.stats.api
    assert by_execute.stats == by_submit.stats
    assert by_execute.observe() == by_submit.observe()
