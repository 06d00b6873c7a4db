"""FakeEC2 as a shared cluster EC2: subnets, /28 fragmentation, throttling, faults, latency.

Expected values are worked out by hand. EC2 reserves the first four addresses and the last one
of every subnet, so in 10.0.0.0/24 the first address handed out is .4 and the last .254. Nodes
are booted in the order a, b, so their primary ENIs (eni-a, eni-b) hold .4 and .5. The call
families follow spec 6.2-6.6 and 8 of /work/shared/docs/ipamd-spec.md.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest

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
from vpccni_model._errors import ConfigError, StateError
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    IPsAllocated,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model._limits import InstanceLimits
from vpccni_model.cloud import (
    ASSIGN,
    ATTACH,
    CREATE,
    DEFAULT_NODE,
    DELETE,
    DESCRIBE,
    DETACH,
    MODIFY,
    UNASSIGN,
    CallResult,
    FakeEC2,
    FaultRule,
    Latency,
    SubnetStats,
    Throttle,
    TokenBucket,
)

SMALL = InstanceLimits(name="test.small", max_enis=3, ipv4_per_eni=4)  # 3 secondary slots
WIDE = InstanceLimits(name="test.wide", max_enis=3, ipv4_per_eni=50)  # 49 secondary slots
ZERO = Latency.zero()
FREE = Ec2Error.INSUFFICIENT_FREE_ADDRESSES
BLOCKS = Ec2Error.INSUFFICIENT_CIDR_BLOCKS
THROTTLED = Ec2Error.REQUEST_LIMIT_EXCEEDED


def ip(n: int, third: int = 0) -> str:
    return f"10.0.{third}.{n}"


def pfx(n: int) -> str:
    return f"10.0.0.{n}/28"


def cluster(
    nodes: dict[str, InstanceLimits],
    subnets: dict[str, str] | None = None,
    *,
    seed: int = 0,
    latency: Latency = ZERO,
    throttle: Throttle | None = None,
    faults: Sequence[FaultRule] = (),
) -> FakeEC2:
    """A fake with one booted node per entry (primary ENI ``eni-<node>``), in order."""
    ec2 = FakeEC2(
        subnets=subnets or {"main": "10.0.0.0/24"},
        seed=seed,
        latency=latency,
        throttle=throttle,
        faults=faults,
    )
    for name, limits in nodes.items():
        ec2.boot_node(name, NodeState.boot(limits, Config(), primary_eni_id=f"eni-{name}"))
    return ec2


def outcomes(result: CallResult) -> tuple[str, ...]:
    return tuple(outcome for _, outcome in result.api_calls)


# -- subnets: /28 fragmentation and exhaustion --------------------------------------------------


def test_fragmented_subnet_refuses_prefixes_while_single_ips_remain() -> None:
    # 10.0.0.0/26: usable .4-.62 (59). Wholly usable aligned blocks: .16/28 and .32/28 only
    # (.0/28 holds the reserved .0-.3, .48/28 the broadcast .63).
    ec2 = cluster({"a": WIDE, "b": WIDE}, {"main": "10.0.0.0/26"})
    assert ec2.subnet_free() == (57, 2)  # primaries .4 (a) and .5 (b)
    # Node b takes single IPs .6-.32, then gives back all but .16 and .32: every aligned
    # block keeps exactly one used address.
    taken = ec2.submit(AllocateIPs("eni-b", 27), node="b", at=0.0).event
    assert taken == IPsAllocated("eni-b", tuple(ip(n) for n in range(6, 33)))
    keep = {ip(16), ip(32)}
    back = tuple(a for a in taken.ips if a not in keep)
    assert ec2.submit(ReleaseIPs("eni-b", back), node="b", at=0.0).event is None
    assert ec2.subnet_free() == (55, 0)
    assert ec2.free_addresses == 55
    # Node a asks for a prefix: Assign(1) fails, the fallback Assign(1) fails the same way.
    result = ec2.submit(AllocatePrefixes("eni-a", 1), node="a", at=0.0)
    assert result.event == AllocationFailed(BLOCKS)
    assert result.api_calls == ((ASSIGN, "failed"), (ASSIGN, "failed"))
    # A prefix ENI fails the same way at creation and gives back the primary IP it took.
    result = ec2.submit(AllocateENI(0, 1, prefixes=True), node="a", at=0.0)
    assert result.event == AllocationFailed(BLOCKS)
    assert result.api_calls == ((CREATE, "failed"),)
    assert ec2.subnet_free() == (55, 0)
    # Single IPs are still there: the lowest free one is .6.
    assert ec2.submit(AllocateIPs("eni-a", 1), node="a", at=0.0).event == IPsAllocated(
        "eni-a", (ip(6),)
    )
    # Freeing .16 makes its block whole again, and node a gets it.
    ec2.submit(ReleaseIPs("eni-b", (ip(16),)), node="b", at=0.0)
    assert ec2.subnet_free() == (55, 1)
    assert ec2.submit(AllocatePrefixes("eni-a", 1), node="a", at=0.0).event == (
        PrefixesAllocated("eni-a", (pfx(16),))
    )
    assert ec2.subnet_free() == (39, 0)


def test_exhausted_subnet_reports_insufficient_free_addresses() -> None:
    # 10.0.0.0/28: usable .4-.14 (11); eni-a's primary takes .4, so 10 are free.
    ec2 = cluster({"a": WIDE}, {"tiny": "10.0.0.0/28"})
    assert ec2.subnet_free("tiny") == (10, 0)
    event = ec2.submit(AllocateIPs("eni-a", 10), node="a", at=0.0).event
    assert event == IPsAllocated("eni-a", tuple(ip(n) for n in range(5, 15)))
    assert ec2.subnet_free("tiny") == (0, 0)
    # As ipamd, the fallback Assign(1) follows even a 1-sized call.
    for count in (1, 2):
        result = ec2.submit(AllocateIPs("eni-a", count), node="a", at=0.0)
        assert result.event == AllocationFailed(FREE)
        assert result.api_calls == ((ASSIGN, "failed"), (ASSIGN, "failed"))
    result = ec2.submit(AllocateENI(0, 1), node="a", at=0.0)
    assert result.event == AllocationFailed(FREE)
    assert result.api_calls == ((CREATE, "failed"),)
    # One address back: Assign(2) fails, the fallback Assign(1) gets it.
    ec2.submit(ReleaseIPs("eni-a", (ip(9),)), node="a", at=0.0)
    result = ec2.submit(AllocateIPs("eni-a", 2), node="a", at=0.0)
    assert result.event == IPsAllocated("eni-a", (ip(9),))
    assert result.api_calls == ((ASSIGN, "failed"), (ASSIGN, "ok"))
    assert ec2.stats.errors == {FREE: 6}  # 2 + 2 + 1 + 1


def test_nodes_compete_for_one_subnet_and_keep_their_own_limits() -> None:
    ec2 = cluster({"a": SMALL, "b": WIDE})
    # Node a has 3 slots: 4 exceeds them -> PrivateIpAddressLimitExceeded, describe, resync.
    result = ec2.submit(AllocateIPs("eni-a", 4), node="a", at=0.0)
    assert result.event == IPsAllocated("eni-a", ())
    assert result.api_calls == ((ASSIGN, "failed"), (DESCRIBE, "ok"))
    # Node b has 49: it gets the lowest free addresses of the shared subnet.
    assert ec2.submit(AllocateIPs("eni-b", 4), node="b", at=0.0).event == IPsAllocated(
        "eni-b", (ip(6), ip(7), ip(8), ip(9))
    )
    # ENI ids are unique across the cluster; device numbers are per node.
    assert ec2.submit(AllocateENI(0, 1), node="a", at=0.0).event == ENIAttached(
        "eni-1", 1, 0, ips=(ip(11),), subnet_id="main"
    )
    assert ec2.submit(AllocateENI(0, 1), node="b", at=0.0).event == ENIAttached(
        "eni-2", 1, 0, ips=(ip(13),), subnet_id="main"
    )
    assert [o.eni_id for o in ec2.observe(node="a")] == ["eni-a", "eni-1"]
    assert [o.eni_id for o in ec2.observe(node="b")] == ["eni-b", "eni-2"]
    # An ENI belongs to its node: another node naming it is a driver bug.
    with pytest.raises(StateError):
        ec2.submit(AllocateIPs("eni-a", 1), node="b", at=0.0)
    with pytest.raises(StateError):
        ec2.submit(FreeENI("eni-2"), node="a", at=0.0)


def test_each_node_draws_from_its_own_subnet() -> None:
    ec2 = FakeEC2(subnets={"a": "10.0.0.0/24", "b": "10.0.1.0/24"}, latency=ZERO)
    ec2.boot_node("x", NodeState.boot(WIDE, Config(), primary_eni_id="eni-x"))
    ec2.boot_node("y", NodeState.boot(WIDE, Config(), primary_eni_id="eni-y"), "b")
    assert ec2.submit(AllocateIPs("eni-y", 2), node="y", at=0.0).event == IPsAllocated(
        "eni-y", (ip(5, 1), ip(6, 1))
    )
    assert ec2.submit(AllocateENI(0, 1), node="y", at=0.0).event == ENIAttached(
        "eni-1", 1, 0, ips=(ip(8, 1),), subnet_id="b"
    )
    # x's primary .4; whole blocks .16/28 ... .224/28 (.240/28 holds the broadcast .255).
    assert ec2.subnet_free("a") == (250, 14)
    assert ec2.subnet_free("b") == (246, 14)
    assert ec2.free_addresses == 496
    # Terminating a node deletes its ENIs and returns their addresses.
    ec2.terminate_node("y")
    assert ec2.subnet_free("b") == (251, 14)
    assert ec2.observe() == (ObservedENI("eni-x", 0, subnet_id="a"),)


# -- throttling ---------------------------------------------------------------------------------


def drain(ec2: FakeEC2, node: str, eni: str, at: float) -> int:
    """Submit empty releases (one Unassign each) until one is throttled; count the others."""
    done = 0
    while True:
        result = ec2.submit(ReleaseIPs(eni, ()), node=node, at=at)
        if result.api_calls == ((UNASSIGN, "throttled"),):
            return done
        assert result.api_calls == ((UNASSIGN, "ok"),)
        done += 1


def test_node_b_is_throttled_after_node_a_drains_the_bucket() -> None:
    throttle = Throttle(mutating=TokenBucket(5, 2), non_mutating=TokenBucket(100, 20))
    ec2 = cluster({"a": WIDE, "b": WIDE}, throttle=throttle)
    for n in range(5):
        result = ec2.submit(AllocateIPs("eni-a", 1), node="a", at=0.0)
        assert result.event == IPsAllocated("eni-a", (ip(6 + n),))
    # The account-wide Assign bucket is empty: node b's Assign and its fallback are refused.
    result = ec2.submit(AllocateIPs("eni-b", 2), node="b", at=0.0)
    assert result.event == AllocationFailed(THROTTLED)
    assert result.api_calls == ((ASSIGN, "throttled"), (ASSIGN, "throttled"))
    # Throttled calls never reached EC2: nothing was taken from the subnet.
    assert ec2.subnet_free() == (244, 14)
    # Every other API has a bucket of its own: five Unassigns pass, the sixth is throttled.
    assert drain(ec2, "b", "eni-b", 0.0) == 5
    # 1.25 s later the Assign bucket holds 2 * 1.25 = 2.5 tokens: two calls, then the third
    # Assign and its fallback are throttled again.
    for n in range(2):
        result = ec2.submit(AllocateIPs("eni-b", 1), node="b", at=1.25)
        assert result.event == IPsAllocated("eni-b", (ip(11 + n),))
    result = ec2.submit(AllocateIPs("eni-b", 1), node="b", at=1.25)
    assert result.api_calls == ((ASSIGN, "throttled"), (ASSIGN, "throttled"))
    # A free's Describe, Detach and Delete are not slowed by the drained Assign bucket.
    result = ec2.submit(FreeENI("eni-b"), node="b", at=1.25)
    assert result.api_calls == ((DESCRIBE, "ok"), (DETACH, "ok"), (DELETE, "ok"))
    assert ec2.stats.api[ASSIGN] == {"ok": 7, "failed": 0, "throttled": 4}
    assert ec2.stats.api[UNASSIGN] == {"ok": 5, "failed": 0, "throttled": 1}
    assert ec2.stats.throttled == 5
    assert ec2.stats.errors == {THROTTLED: 5}


def test_per_api_overrides_one_bucket() -> None:
    throttle = Throttle(per_api={UNASSIGN: TokenBucket(2, 0)})
    ec2 = cluster({"a": WIDE}, throttle=throttle)
    assert drain(ec2, "a", "eni-a", 0.0) == 2
    # The other mutating APIs keep the default 200-token bucket.
    for _ in range(10):
        assert ec2.submit(AllocateIPs("eni-a", 1), node="a", at=0.0).event is not None
    assert ec2.stats.api[ASSIGN]["throttled"] == 0
    assert throttle.bucket(UNASSIGN) == TokenBucket(2, 0)
    assert throttle.bucket(ASSIGN) == TokenBucket(200, 5)
    assert throttle.bucket(DESCRIBE) == TokenBucket(100, 20)


@pytest.mark.parametrize(
    "per_api",
    [{"AssignPrivateNatGatewayAddress": TokenBucket(1, 1)}, {ASSIGN: (1, 1)}, [ASSIGN]],
)
def test_per_api_rejects_unknown_apis_and_non_buckets(per_api: object) -> None:
    with pytest.raises(ConfigError) as raised:
        Throttle(per_api=per_api)  # type: ignore[arg-type]
    assert raised.value.field == "per_api"


@pytest.mark.parametrize(
    ("elapsed", "calls"),
    [(0.0, 0), (0.4, 0), (0.5, 1), (1.0, 2), (1.5, 3), (1.7, 3), (2.4, 4), (2.5, 5), (60.0, 5)],
)
def test_refill_restores_floor_of_rate_times_elapsed_up_to_capacity(
    elapsed: float, calls: int
) -> None:
    throttle = Throttle(mutating=TokenBucket(5, 2))
    ec2 = cluster({"a": WIDE, "b": WIDE}, throttle=throttle)
    assert drain(ec2, "a", "eni-a", 10.0) == 5
    assert drain(ec2, "b", "eni-b", 10.0 + elapsed) == min(5, math.floor(2 * elapsed))


def test_each_call_takes_its_token_at_its_own_time() -> None:
    # One Assign token, refilled in 1 s; an Assign lasts 1 s.
    throttle = Throttle(mutating=TokenBucket(1, 1))
    ec2 = cluster({"a": WIDE}, throttle=throttle, latency=Latency(assign=1.0))
    ec2.submit(AllocateIPs("eni-a", 1), node="a", at=0.0)  # the token; gets .5
    # Assign(3) at 0 is throttled; the fallback Assign(1) at 1.0 finds the refilled token.
    result = ec2.submit(AllocateIPs("eni-a", 3), node="a", at=0.0)
    assert result.event == IPsAllocated("eni-a", (ip(6),))
    assert result.api_calls == ((ASSIGN, "throttled"), (ASSIGN, "ok"))
    assert result.completes_at == 2.0


def test_time_never_goes_backwards_per_bucket() -> None:
    ec2 = cluster({"a": WIDE, "b": WIDE}, throttle=Throttle())
    ec2.submit(AllocateIPs("eni-a", 1), node="a", at=5.0)
    with pytest.raises(StateError):
        ec2.submit(AllocateIPs("eni-b", 1), node="b", at=4.0)
    # The refused submit changed nothing; the same time is fine.
    assert ec2.calls[ASSIGN] == 1
    assert outcomes(ec2.submit(AllocateIPs("eni-b", 1), node="b", at=5.0)) == ("ok",)
    # Unassign's bucket has seen no call yet: an earlier release is accepted.
    assert outcomes(ec2.submit(ReleaseIPs("eni-b", ()), node="b", at=4.0)) == ("ok",)


def test_an_eni_family_may_not_run_behind_a_describe_already_submitted() -> None:
    # AllocateENI frees its ENI (Describe, Detach, Delete) when Modify fails, so its start is
    # checked against the Describe bucket's latest submit too.
    ec2 = cluster({"a": SMALL}, throttle=Throttle())
    assert outcomes(ec2.submit(FreeENI("eni-404"), node="a", at=5.0)) == ("failed",)
    with pytest.raises(StateError):
        ec2.submit(AllocateENI(0, 1), node="a", at=4.0)
    assert ec2.calls[CREATE] == 0
    assert outcomes(ec2.submit(AllocateENI(0, 1), node="a", at=5.0)) == ("ok", "ok", "ok")


# -- faults -------------------------------------------------------------------------------------


def test_injected_fault_on_the_sized_call_falls_back_to_one() -> None:
    # The rule covers [0, 0.3): the Assign(3) at 0; the fallback starts at 0.3, outside it.
    rule = FaultRule(ASSIGN, "InternalError", end=0.3)
    ec2 = cluster({"a": WIDE}, faults=[rule], latency=Latency(assign=0.3))
    result = ec2.submit(AllocateIPs("eni-a", 3), node="a", at=0.0)
    assert result.event == IPsAllocated("eni-a", (ip(5),))
    assert result.api_calls == ((ASSIGN, "failed"), (ASSIGN, "ok"))
    assert result.completes_at == pytest.approx(0.6)
    assert ec2.stats.errors == {"InternalError": 1}
    # Both calls inside the window: the event carries the last failed call's code.
    ec2 = cluster({"a": WIDE}, faults=[rule], latency=ZERO)
    result = ec2.submit(AllocatePrefixes("eni-a", 2), node="a", at=0.0)
    assert result.event == AllocationFailed("InternalError")
    assert ec2.subnet_free() == (250, 14)


def test_injected_limit_exceeded_resyncs_with_describe() -> None:
    rule = FaultRule(ASSIGN, Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED, start=1.0)
    ec2 = cluster({"a": WIDE}, faults=[rule])
    ec2.submit(AllocateIPs("eni-a", 2), node="a", at=0.0)  # .5 .6
    result = ec2.submit(AllocateIPs("eni-a", 2), node="a", at=1.0)
    assert result.event == IPsAllocated("eni-a", (ip(5), ip(6)))
    assert result.api_calls == ((ASSIGN, "failed"), (DESCRIBE, "ok"))
    # A failing describe ends the family with its code.
    ec2 = cluster({"a": WIDE}, faults=[rule, FaultRule(DESCRIBE, "Unavailable")])
    result = ec2.submit(AllocateIPs("eni-a", 2), node="a", at=1.0)
    assert result.event == AllocationFailed("Unavailable")


def test_scheduled_fault_applies_only_inside_its_window() -> None:
    rule = FaultRule(UNASSIGN, Ec2Error.UNAUTHORIZED_OPERATION, start=10.0, end=20.0)
    ec2 = cluster({"a": WIDE}, faults=[rule])
    seen = [
        outcomes(ec2.submit(ReleaseIPs("eni-a", ()), node="a", at=t))
        for t in (0.0, 9.999, 10.0, 15.0, 19.999, 20.0, 30.0)
    ]
    assert seen == [("ok",), ("ok",), ("failed",), ("failed",), ("failed",), ("ok",), ("ok",)]
    # Other APIs are untouched inside the window.
    assert outcomes(ec2.submit(AllocateIPs("eni-a", 1), node="a", at=30.0)) == ("ok",)
    assert ec2.stats.errors == {Ec2Error.UNAUTHORIZED_OPERATION: 3}


def release_outcomes(seed: int, faults: list[FaultRule], times: list[float]) -> list[str]:
    ec2 = cluster({"a": WIDE}, seed=seed, faults=faults)
    return [outcomes(ec2.submit(ReleaseIPs("eni-a", ()), node="a", at=t))[0] for t in times]


def test_rate_faults_draw_only_inside_their_window_and_reproduce_by_seed() -> None:
    rule = FaultRule(UNASSIGN, "InternalError", rate=0.3, start=10.0, end=30.0)
    times = [float(t) for t in range(40)]
    got = release_outcomes(7, [rule], times)
    # Derived by hand: one draw per call inside [10, 30), none outside.
    rng = random.Random(7)
    expected = [("failed" if rng.random() < 0.3 else "ok") if 10 <= t < 30 else "ok" for t in times]
    assert got == expected
    assert 0 < got.count("failed") < 20
    assert release_outcomes(7, [rule], times) == got
    assert release_outcomes(8, [rule], times) != got


def test_jitter_does_not_shift_fault_draws() -> None:
    rule = FaultRule("*", "InternalError", rate=0.5)
    plain = cluster({"a": WIDE}, seed=3, faults=[rule])
    jittered = cluster({"a": WIDE}, seed=3, faults=[rule], latency=Latency(jitter=0.5))
    for t in range(30):
        action = ReleaseIPs("eni-a", ())
        a = plain.submit(action, node="a", at=float(t))
        b = jittered.submit(action, node="a", at=float(t))
        assert a.api_calls == b.api_calls


# -- latency ------------------------------------------------------------------------------------


def test_latency_is_the_sum_of_the_calls_made() -> None:
    ec2 = cluster({"a": SMALL}, latency=Latency())  # 0.3 / 0.2 / 1.0 / 3.0 / 4.0
    at = 100.0

    def took(action: Action) -> float:
        return ec2.submit(action, node="a", at=at).completes_at - at

    assert took(AllocateIPs("eni-a", 1)) == pytest.approx(0.3)  # Assign
    assert took(AllocateIPs("eni-a", 3)) == pytest.approx(0.5)  # Assign (limit) + Describe
    assert took(ReleaseIPs("eni-a", (ip(5),))) == pytest.approx(0.3)  # Unassign
    assert took(ReleasePrefixes("eni-a", ())) == pytest.approx(0.3)
    assert took(AllocateENI(0, 1)) == pytest.approx(4.0)  # Create + Attach + Modify
    assert took(FreeENI("eni-1")) == pytest.approx(4.2)  # Describe + Detach(+sleep+Delete)
    assert took(FreeENI("eni-1")) == pytest.approx(0.2)  # Describe: not found, done
    assert took(AllocateIPs("eni-a", 0)) == 0.0  # no call at all


def test_jitter_stays_within_bounds_and_reproduces_by_seed() -> None:
    def run(seed: int) -> list[float]:
        ec2 = cluster({"a": WIDE}, seed=seed, latency=Latency(jitter=0.5))
        out = []
        for n in range(200):
            result = ec2.submit(ReleaseIPs("eni-a", ()), node="a", at=float(n))
            out.append(result.completes_at - n)
        return out

    took = run(11)
    assert all(0.15 - 1e-9 <= t <= 0.45 + 1e-9 for t in took)  # 0.3 s +- 50 %
    assert min(took) < 0.2 and max(took) > 0.4
    assert run(11) == took
    assert run(12) != took
    # An ENI: Create in [0.5, 1.5] s plus Attach in [1.5, 4.5] s; Modify costs nothing.
    ec2 = cluster({"a": WIDE}, latency=Latency(jitter=0.5))
    for _ in range(2):
        assert 2.0 <= ec2.submit(AllocateENI(0, 0), node="a", at=0.0).completes_at <= 6.0


# -- failures in ENI and release families -------------------------------------------------------


def test_attach_failure_deletes_the_new_eni_and_returns_its_addresses() -> None:
    rule = FaultRule(ATTACH, "InvalidParameterValue", end=1.0)
    ec2 = cluster({"a": SMALL}, faults=[rule])
    result = ec2.submit(AllocateENI(0, 2), node="a", at=0.0)
    assert result.event == AllocationFailed("InvalidParameterValue")
    assert result.api_calls == ((CREATE, "ok"), (ATTACH, "failed"), (DELETE, "ok"))
    assert ec2.subnet_free() == (250, 14)
    assert ec2.observe(node="a") == (ObservedENI("eni-a", 0, subnet_id="main"),)
    # The deleted ENI used eni-1; the next one is eni-2 at device 1, again from .5.
    assert ec2.submit(AllocateENI(0, 1), node="a", at=1.0).event == ENIAttached(
        "eni-2", 1, 0, ips=(ip(6),), subnet_id="main"
    )


def test_the_card_limit_fails_at_attach() -> None:
    ec2 = cluster({"a": SMALL})
    ec2.submit(AllocateENI(0, 1), node="a", at=0.0)
    ec2.submit(AllocateENI(0, 1), node="a", at=0.0)
    before = ec2.subnet_free()
    result = ec2.submit(AllocateENI(0, 1), node="a", at=0.0)  # 3 ENIs on card 0 already
    assert result.event == AllocationFailed(Ec2Error.ATTACHMENT_LIMIT_EXCEEDED)
    assert result.api_calls == ((CREATE, "ok"), (ATTACH, "failed"), (DELETE, "ok"))
    assert ec2.subnet_free() == before


def test_a_failed_cleanup_delete_leaks_the_eni_with_its_addresses() -> None:
    # No Delete token: Create passes, Attach fails, the cleanup Delete is throttled.
    throttle = Throttle(per_api={DELETE: TokenBucket(0.5, 0)})
    ec2 = cluster({"a": SMALL}, throttle=throttle, faults=[FaultRule(ATTACH, "InternalError")])
    result = ec2.submit(AllocateENI(0, 2), node="a", at=0.0)
    assert result.event == AllocationFailed("InternalError")
    assert result.api_calls == ((CREATE, "ok"), (ATTACH, "failed"), (DELETE, "throttled"))
    assert ec2.stats.leaked_enis == 1
    assert ec2.subnet_free() == (247, 14)  # primary .5 and .6, .7 stay taken
    assert ec2.observe(node="a") == (ObservedENI("eni-a", 0, subnet_id="main"),)


def test_modify_failure_frees_the_new_eni() -> None:
    ec2 = cluster({"a": SMALL}, faults=[FaultRule(MODIFY, "InternalError")], latency=Latency())
    result = ec2.submit(AllocateENI(0, 1), node="a", at=0.0)
    assert result.event == AllocationFailed("InternalError")
    assert result.api_calls == (
        (CREATE, "ok"),
        (ATTACH, "ok"),
        (MODIFY, "failed"),
        (DESCRIBE, "ok"),
        (DETACH, "ok"),
        (DELETE, "ok"),
    )
    assert result.completes_at == pytest.approx(1.0 + 3.0 + 0.2 + 4.0)
    assert ec2.subnet_free() == (250, 14)
    assert ec2.describe("eni-1") is None


def test_a_failed_release_leaves_the_address_attached() -> None:
    ec2 = cluster({"a": SMALL}, faults=[FaultRule(UNASSIGN, "InternalError", start=1.0)])
    ec2.submit(AllocateIPs("eni-a", 2), node="a", at=0.0)  # .5 .6
    ec2.submit(AllocatePrefixes("eni-a", 1), node="a", at=0.0)  # .16/28
    before = ec2.subnet_free()
    result = ec2.submit(ReleaseIPs("eni-a", (ip(5),)), node="a", at=1.0)
    assert result == CallResult(
        None,
        1.0,
        ((UNASSIGN, "failed"),),
        ((UNASSIGN, "InternalError"),),
        sdk_calls=((UNASSIGN, "failed", "InternalError", 0.0),),
    )
    result = ec2.submit(ReleasePrefixes("eni-a", (pfx(16),)), node="a", at=1.0)
    assert result.event is None
    assert ec2.describe("eni-a") == ObservedENI(
        "eni-a", 0, ips=(ip(5), ip(6)), prefixes=(pfx(16),), subnet_id="main"
    )
    assert ec2.subnet_free() == before


def test_failed_free_steps() -> None:
    # Detach fails: the ENI stays attached. Delete fails: detached, addresses kept (leaked).
    faults = [FaultRule(DETACH, "InternalError", end=1.0), FaultRule(DELETE, "InternalError")]
    ec2 = cluster({"a": SMALL}, faults=faults)
    ec2.submit(AllocateENI(0, 1), node="a", at=0.0)  # eni-1: .5 primary, .6
    result = ec2.submit(FreeENI("eni-1"), node="a", at=0.0)
    assert result.api_calls == ((DESCRIBE, "ok"), (DETACH, "failed"))
    assert ec2.describe("eni-1") == ObservedENI("eni-1", 1, ips=(ip(6),), subnet_id="main")
    result = ec2.submit(FreeENI("eni-1"), node="a", at=1.0)
    assert result.api_calls == ((DESCRIBE, "ok"), (DETACH, "ok"), (DELETE, "failed"))
    assert ec2.describe("eni-1") is None
    assert ec2.stats.leaked_enis == 1
    assert ec2.subnet_free() == (248, 14)
    # The device is free again for the next ENI; its id is new.
    assert ec2.submit(AllocateENI(0, 1), node="a", at=2.0).event == ENIAttached(
        "eni-2", 1, 0, ips=(ip(8),), subnet_id="main"
    )


# -- stats, determinism, compatibility ----------------------------------------------------------


def test_stats_count_outcomes_per_api_and_free_space_per_subnet() -> None:
    throttle = Throttle(per_api={UNASSIGN: TokenBucket(0.5, 0)})
    ec2 = cluster({"a": SMALL}, throttle=throttle, faults=[FaultRule(ATTACH, "InternalError")])
    ec2.submit(AllocateIPs("eni-a", 1), node="a", at=0.0)  # Assign ok
    ec2.submit(AllocateENI(0, 1), node="a", at=0.0)  # Create ok, Attach failed, Delete ok
    ec2.submit(ReleaseIPs("eni-a", (ip(5),)), node="a", at=0.0)  # Unassign throttled
    stats = ec2.stats
    assert stats.api == {
        ASSIGN: {"ok": 1, "failed": 0, "throttled": 0},
        ATTACH: {"ok": 0, "failed": 1, "throttled": 0},
        CREATE: {"ok": 1, "failed": 0, "throttled": 0},
        DELETE: {"ok": 1, "failed": 0, "throttled": 0},
        UNASSIGN: {"ok": 0, "failed": 0, "throttled": 1},
    }
    assert stats.errors == {"InternalError": 1, THROTTLED: 1}
    assert (stats.failed, stats.throttled, stats.leaked_enis) == (1, 1, 0)
    # .4 primary and .5 stay taken (the release was throttled).
    assert stats.subnets == {"main": SubnetStats("10.0.0.0/24", 249, 14)}
    assert dict(ec2.calls) == {ASSIGN: 1, CREATE: 1, ATTACH: 1, DELETE: 1, UNASSIGN: 1}
    # execute() makes its calls through the same engine: counted in calls and stats alike,
    # and never throttled (the Unassign bucket is empty).
    ec2.execute(ReleaseIPs("eni-a", ()), node="a")
    assert ec2.calls[UNASSIGN] == 2
    assert ec2.stats.api[UNASSIGN] == {"ok": 1, "failed": 0, "throttled": 1}
    assert ec2.stats.errors == stats.errors


def test_same_seed_and_submits_give_identical_results() -> None:
    def run(seed: int) -> list[CallResult]:
        """Both nodes grow, add ENIs, release and free them, competing for tight buckets."""
        ec2 = cluster(
            {"a": SMALL, "b": WIDE},
            seed=seed,
            latency=Latency(jitter=0.2),
            throttle=Throttle(mutating=TokenBucket(6, 1), non_mutating=TokenBucket(3, 1)),
            faults=[FaultRule("*", "InternalError", rate=0.2)],
        )
        out = []
        for step in range(60):
            node = "ab"[step % 2]
            eni = f"eni-{node}"
            own = [o.eni_id for o in ec2.observe(node=node) if o.eni_id != eni]
            actions: list[Action] = [
                AllocateIPs(eni, 2),
                AllocateENI(0, 1),
                ReleaseIPs(eni, (ip(5 + step % 7),)),
                FreeENI(own[0]) if own else AllocatePrefixes(eni, 1),
            ]
            out.append(ec2.submit(actions[step // 2 % 4], node=node, at=step * 0.5))
        return out

    first = run(5)
    assert run(5) == first
    assert run(6) != first
    seen = {call for result in first for call in result.api_calls}
    assert {outcome for _, outcome in seen} == {"ok", "failed", "throttled"}
    assert {api for api, _ in seen} == {
        ASSIGN,
        UNASSIGN,
        DESCRIBE,
        CREATE,
        ATTACH,
        MODIFY,
        DETACH,
        DELETE,
    }


def test_default_submit_is_cooperative_and_matches_execute() -> None:
    state = NodeState.boot(WIDE, Config())
    simulated = FakeEC2.for_node(state, "10.0.0.0/24")
    immediate = FakeEC2.for_node(state, "10.0.0.0/24")
    actions: list[Action] = [
        AllocateIPs("eni-0", 3),
        AllocatePrefixes("eni-0", 2),
        AllocateENI(0, 2),
        ReleaseIPs("eni-0", (ip(6),)),
        AllocateIPs("eni-1", 1),
        FreeENI("eni-1"),
        AllocateENI(0, 1, prefixes=True),
    ]
    for n, action in enumerate(actions):
        result = simulated.submit(action, node=DEFAULT_NODE, at=float(n))
        assert result.event == immediate.execute(action)
        assert result.completes_at == float(n)  # no latency unless configured
        assert set(outcomes(result)) == {"ok"}
    assert simulated.observe() == immediate.observe()
    assert simulated.subnet_free() == immediate.subnet_free()


# -- bad input ----------------------------------------------------------------------------------


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigError):
        FaultRule("AssignPrivateIpAddress", "X")  # typo in the API name
    with pytest.raises(ConfigError):
        FaultRule(ASSIGN, "X", rate=1.5)
    with pytest.raises(ConfigError):
        FaultRule(ASSIGN, "X", start=5.0, end=4.0)
    with pytest.raises(ConfigError):
        FaultRule(ASSIGN, "")
    with pytest.raises(ConfigError):
        TokenBucket(0, 1)
    with pytest.raises(ConfigError):
        TokenBucket(1, -1)
    with pytest.raises(ConfigError):
        Latency(assign=-0.1)
    with pytest.raises(ConfigError):
        Latency(attach=math.inf)
    with pytest.raises(ConfigError):
        Latency(jitter=2.0)
    with pytest.raises(ConfigError):
        FakeEC2(seed=True)
    with pytest.raises(ConfigError):
        FakeEC2(faults=["boom"])  # type: ignore[list-item]


def test_bad_cluster_setup_is_refused() -> None:
    with pytest.raises(StateError):
        FakeEC2(subnets={"a": "10.0.0.0/16", "b": "10.0.5.0/24"})  # overlap
    with pytest.raises(StateError):
        FakeEC2(SMALL, "10.1.0.0/16", subnets={"a": "10.0.0.0/16"})  # both forms
    with pytest.raises(StateError):
        FakeEC2(subnets={})
    ec2 = cluster({"a": SMALL})
    with pytest.raises(StateError):
        ec2.register_node("a", SMALL)
    with pytest.raises(StateError):
        ec2.register_node("c", SMALL, "nope")
    with pytest.raises(StateError):
        ec2.submit(AllocateIPs("eni-a", 1), node="ghost", at=0.0)
    with pytest.raises(StateError):
        ec2.submit(AllocateIPs("eni-a", 1), node="a", at=math.nan)
    with pytest.raises(StateError):
        ec2.execute(AllocateIPs("eni-a", 1))  # no default node without limits
    # A second node booted with the same primary ENI id is refused and not half-registered.
    with pytest.raises(StateError):
        ec2.boot_node("b", NodeState.boot(SMALL, Config(), primary_eni_id="eni-a"))
    assert ec2.subnet_free() == (250, 14)
    ec2.boot_node("b", NodeState.boot(SMALL, Config(), primary_eni_id="eni-b"))
    assert ec2.describe("eni-b") == ObservedENI("eni-b", 0, subnet_id="main")
