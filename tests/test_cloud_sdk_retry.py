"""The AWS SDK's retries in the fake EC2 (``FakeEC2(retry=SdkRetry(...))``, ``cloud._retry``).

The expectations are worked out by hand from aws-sdk-go-v2's standard retryer (``retry.Standard``
with its ``ExponentialJitterBackoff`` and ``ratelimit.TokenRateLimit``): 3 attempts, a retry
costs 5 quota tokens, a successful attempt gives 1 back and the retry that made it its 5, the
wait after failed attempt ``i`` is ``U * 2**i`` up to attempt ``int(log2(max_backoff))`` and
``max_backoff`` after. With ``max_backoff`` below 2 s every wait is exactly ``max_backoff``,
which keeps the timelines here free of draws.
"""

from __future__ import annotations

import math
import random

import pytest

from vpccni_model._actions import AllocateIPs, ReleaseIPs
from vpccni_model._config import Config
from vpccni_model._env import MANIFEST_ENV
from vpccni_model._errors import ConfigError, StateError
from vpccni_model._events import AllocationFailed, Ec2Error, IPsAllocated
from vpccni_model._limits import InstanceLimits
from vpccni_model._lint import lint_env
from vpccni_model._state import NodeState
from vpccni_model.cli import main
from vpccni_model.cloud import (
    ASSIGN,
    RETRYABLE_CODES,
    CallResult,
    FakeEC2,
    FaultRule,
    Latency,
    SdkRetry,
    Throttle,
    TokenBucket,
)
from vpccni_model.sweep import SweepSpec

LIMITS = InstanceLimits(name="test.wide", max_enis=3, ipv4_per_eni=50)
FLAT = 1.5  # int(log2(1.5)) == 0: every retry waits exactly 1.5 s


def fake(
    retry: SdkRetry | None,
    bucket: TokenBucket,
    nodes: tuple[str, ...] = ("a",),
    faults: tuple[FaultRule, ...] = (),
) -> FakeEC2:
    ec2 = FakeEC2(
        subnets={"s": "10.0.0.0/16"},
        latency=Latency.zero(),
        throttle=Throttle(mutating=bucket),
        faults=faults,
        retry=retry,
    )
    for node in nodes:
        ec2.boot_node(node, NodeState.boot(LIMITS, Config(), 0.0, primary_eni_id=f"eni-{node}"))
    return ec2


def grow(node: str) -> AllocateIPs:
    return AllocateIPs(f"eni-{node}", 1)


def run_out(ec2: FakeEC2, result: CallResult) -> list[CallResult]:
    """Every step of one family, resuming it at each retry's time."""
    steps = [result]
    while steps[-1].pending is not None:
        steps.append(ec2.resume(steps[-1].pending))
    return steps


def test_a_call_that_stays_throttled_makes_three_attempts_per_call_of_the_family() -> None:
    # An empty bucket that never refills: tryAssignIPs' Assign(1) and its retry of Assign(1)
    # after the failure are two SDK calls of 3 attempts each: 6 attempts, 4 retries waited.
    ec2 = fake(SdkRetry(max_backoff=FLAT), TokenBucket(1, 0))
    assert ec2.submit(grow("a"), node="a", at=0.0).event is not None  # takes the one token
    steps = run_out(ec2, ec2.submit(grow("a"), node="a", at=1.0))
    assert [len(s.api_calls) for s in steps] == [1, 1, 2, 1, 1]
    assert [s.completes_at for s in steps] == [2.5, 4.0, 5.5, 7.0, 7.0]
    assert all(outcome == "throttled" for s in steps for _, outcome in s.api_calls)
    assert steps[-1].event == AllocationFailed(Ec2Error.REQUEST_LIMIT_EXCEEDED)
    assert [s.pending is None for s in steps] == [False] * 4 + [True]
    assert ec2.stats.api[ASSIGN] == {"ok": 1, "failed": 0, "throttled": 6}
    # Four retries at 5 tokens; the first call's success gave 1 back to a full quota.
    assert ec2.retry_quota("a") == 500 - 4 * 5


def test_without_sdk_retries_the_throttle_reaches_ipamd_at_once() -> None:
    for retry in (None, SdkRetry.none()):
        ec2 = fake(retry, TokenBucket(1, 0))
        ec2.submit(grow("a"), node="a", at=0.0)
        result = ec2.submit(grow("a"), node="a", at=1.0)
        assert result.pending is None
        assert result.api_calls == ((ASSIGN, "throttled"), (ASSIGN, "throttled"))
        assert result.event == AllocationFailed(Ec2Error.REQUEST_LIMIT_EXCEEDED)
        assert ec2.retry_quota("a") is None


def test_a_retry_that_succeeds_gives_back_its_tokens_and_one_more() -> None:
    # A bucket of 1 refilling 1 a second; quota 20. t=0: A takes the token (quota stays 20,
    # the cap). B and C at 0 are throttled: two retries, quota 10, both due at 1.5.
    ec2 = fake(SdkRetry(max_backoff=FLAT, quota=20), TokenBucket(1, 1.0))
    assert ec2.submit(grow("a"), node="a", at=0.0).pending is None
    b = ec2.submit(grow("a"), node="a", at=0.0)
    c = ec2.submit(grow("a"), node="a", at=0.0)
    assert b.pending is not None and c.pending is not None
    assert (b.completes_at, c.completes_at) == (1.5, 1.5)
    assert ec2.retry_quota("a") == 10
    # 1.5: B's retry finds the refilled token: its 5 back and 1 more, 16.
    b2 = ec2.resume(b.pending)
    assert b2.pending is None and isinstance(b2.event, IPsAllocated)
    assert ec2.retry_quota("a") == 16
    # 1.5: C's retry finds the bucket empty again: 5 more for a third attempt, at 3.0.
    c2 = ec2.resume(c.pending)
    assert c2.pending is not None and c2.completes_at == 3.0
    assert ec2.retry_quota("a") == 11
    c3 = ec2.resume(c2.pending)
    assert isinstance(c3.event, IPsAllocated) and c3.api_calls == ((ASSIGN, "ok"),)
    assert ec2.retry_quota("a") == 17


def test_an_empty_retry_quota_ends_the_call_with_its_error() -> None:
    # Quota 7: the first retry takes 5; the second attempt's failure finds 2 < 5 and ends the
    # call; the family's Assign(1) fails at once for the same reason.
    ec2 = fake(SdkRetry(max_backoff=FLAT, quota=7), TokenBucket(1, 0))
    ec2.submit(grow("a"), node="a", at=0.0)
    steps = run_out(ec2, ec2.submit(grow("a"), node="a", at=0.0))
    assert [len(s.api_calls) for s in steps] == [1, 2]
    assert steps[-1].event == AllocationFailed(Ec2Error.REQUEST_LIMIT_EXCEEDED)
    assert ec2.retry_quota("a") == 2


def test_retries_take_their_tokens_in_time_order_with_other_nodes_calls() -> None:
    # A bucket of 1 refilling 0.5 a second. a takes the token at 0. b is throttled at 0 and
    # retries at 1.5; c is throttled at 1.0 and retries at 2.5. At 1.5 the bucket holds 0.75:
    # b is throttled again (retry at 3.0). At 2.5 it holds 1: c gets it. At 3.0, 0.25: b's
    # third attempt is throttled and its call ends. Booked at submit time instead, b's
    # retries would have taken the refill before c's call was made.
    ec2 = fake(SdkRetry(max_backoff=FLAT), TokenBucket(1, 0.5), nodes=("a", "b", "c"))
    assert ec2.submit(grow("a"), node="a", at=0.0).pending is None
    b = ec2.submit(grow("b"), node="b", at=0.0)
    c = ec2.submit(grow("c"), node="c", at=1.0)
    assert b.pending is not None and c.pending is not None
    b = ec2.resume(b.pending)  # 1.5
    assert b.api_calls == ((ASSIGN, "throttled"),) and b.completes_at == 3.0
    c = ec2.resume(c.pending)  # 2.5
    assert isinstance(c.event, IPsAllocated)
    assert b.pending is not None
    b = ec2.resume(b.pending)  # 3.0: the third attempt; then tryAssignIPs' Assign(1)
    assert b.api_calls == ((ASSIGN, "throttled"), (ASSIGN, "throttled"))
    assert b.pending is not None and b.completes_at == 4.5


def test_the_backoff_is_jittered_up_to_the_fourth_retry_then_the_maximum() -> None:
    # Default max_backoff 20 s: int(log2(20)) == 4. The draws come from the fake's own
    # generator, seeded "sdk-backoff:<seed>" (seed 0 here).
    retry = SdkRetry(max_attempts=7)
    assert retry.jittered_attempts == 4
    ec2 = fake(retry, TokenBucket(1, 0))
    ec2.submit(grow("a"), node="a", at=0.0)
    steps = run_out(ec2, ec2.submit(grow("a"), node="a", at=0.0))
    draws = random.Random("sdk-backoff:0")
    expected, at = [], 0.0
    for attempt in range(1, 7):
        at += draws.random() * 2**attempt if attempt <= 4 else 20.0
        expected.append(at)
    assert [s.completes_at for s in steps[:6]] == pytest.approx(expected, abs=1e-9)
    gaps = [b - a for a, b in zip([0.0, *expected], expected, strict=False)]
    assert all(0 <= gap < 2**i for i, gap in enumerate(gaps[:4], start=1))
    assert gaps[4:] == pytest.approx([20.0, 20.0])


def test_only_the_errors_the_sdk_retries_are_retried() -> None:
    retried = FaultRule(ASSIGN, "InternalError", start=0.0, end=1.0)
    kept = FaultRule(ASSIGN, Ec2Error.INSUFFICIENT_FREE_ADDRESSES)
    assert "InternalError" in RETRYABLE_CODES and kept.code not in RETRYABLE_CODES
    # A server error at 0 is retried at 1.5, when the fault window has closed: the call
    # succeeds on its second attempt and ipamd never sees the error.
    ec2 = fake(SdkRetry(max_backoff=FLAT), TokenBucket(10, 0), faults=(retried,))
    steps = run_out(ec2, ec2.submit(grow("a"), node="a", at=0.0))
    assert [s.api_calls for s in steps] == [((ASSIGN, "failed"),), ((ASSIGN, "ok"),)]
    assert isinstance(steps[-1].event, IPsAllocated)
    # A client error is final on its first attempt (and again on tryAssignIPs' second call).
    ec2 = fake(SdkRetry(max_backoff=FLAT), TokenBucket(10, 0), faults=(kept,))
    result = ec2.submit(grow("a"), node="a", at=0.0)
    assert result.pending is None and len(result.api_calls) == 2
    assert ec2.retry_quota("a") == 500


def test_a_restarted_client_abandons_its_retries_and_starts_with_a_full_quota() -> None:
    ec2 = fake(SdkRetry(max_backoff=FLAT), TokenBucket(1, 0))
    release = ReleaseIPs("eni-a", ("10.0.0.5",))
    ec2.submit(release, node="a", at=0.0)  # takes the Unassign bucket's one token
    waiting = ec2.submit(release, node="a", at=0.0)
    assert waiting.pending is not None and waiting.pending.live
    assert ec2.retry_quota("a") == 495
    ec2.restart_client("a")
    assert not waiting.pending.live
    assert ec2.retry_quota("a") == 500
    with pytest.raises(StateError, match="restarted"):
        ec2.resume(waiting.pending)
    with pytest.raises(StateError):
        ec2.restart_client("nobody")


def test_a_step_goes_on_once() -> None:
    ec2 = fake(SdkRetry(max_backoff=FLAT), TokenBucket(1, 0))
    ec2.submit(grow("a"), node="a", at=0.0)
    first = ec2.submit(grow("a"), node="a", at=0.0)
    assert first.pending is not None
    second = ec2.resume(first.pending)
    with pytest.raises(StateError, match="already resumed"):
        ec2.resume(first.pending)
    assert second.pending is not None and ec2.resume(second.pending).pending is not None


def test_execute_never_retries_or_waits() -> None:
    ec2 = fake(SdkRetry(), TokenBucket(1, 0))
    for _ in range(3):  # execute takes no token
        assert isinstance(ec2.execute(grow("a"), node="a"), IPsAllocated)
    assert ec2.retry_quota("a") == 500


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", 0),
        ("max_attempts", 2.0),
        ("max_attempts", True),
        ("max_backoff", 0),
        ("max_backoff", math.inf),
        ("max_backoff", "20"),
        ("quota", -1),
        ("retry_cost", None),
        ("success_refill", -2),
    ],
)
def test_bad_retry_settings_name_their_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        SdkRetry(**{field: value})  # type: ignore[arg-type]


def test_the_defaults_are_the_sdks() -> None:
    retry = SdkRetry()
    assert (retry.max_attempts, retry.max_backoff, retry.quota) == (3, 20.0, 500)
    assert (retry.retry_cost, retry.success_refill) == (5, 1)
    assert not SdkRetry.none().retries
    with pytest.raises(ConfigError, match="retry"):
        FakeEC2(retry=3)  # type: ignore[arg-type]


# -- the aws-node variables the SDK reads ----------------------------------------------------


@pytest.mark.parametrize(
    ("env", "attempts"),
    [
        ({}, 3),
        ({"AWS_MAX_ATTEMPTS": ""}, 3),  # empty is unset
        ({"AWS_MAX_ATTEMPTS": "0"}, 3),  # 0 keeps the retryer's own count
        ({"AWS_MAX_ATTEMPTS": "1"}, 1),
        ({"AWS_MAX_ATTEMPTS": "+10"}, 10),  # strconv.Atoi takes a sign
        ({"AWS_MAX_ATTEMPTS": "10", "AWS_RETRY_MODE": "Standard"}, 10),  # mode: any case
    ],
)
def test_aws_max_attempts_sets_the_attempts(env: dict[str, str], attempts: int) -> None:
    assert SdkRetry.from_env(env) == SdkRetry(max_attempts=attempts)


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"AWS_MAX_ATTEMPTS": "abc"}, "AWS_MAX_ATTEMPTS"),
        ({"AWS_MAX_ATTEMPTS": " 5"}, "AWS_MAX_ATTEMPTS"),  # Atoi refuses spaces
        ({"AWS_MAX_ATTEMPTS": "1_0"}, "AWS_MAX_ATTEMPTS"),  # ... and Python's underscores
        ({"AWS_MAX_ATTEMPTS": "9" * 20}, "AWS_MAX_ATTEMPTS"),  # beyond int64
        ({"AWS_MAX_ATTEMPTS": "-1"}, "AWS_MAX_ATTEMPTS"),  # no limit: not modelled
        ({"AWS_RETRY_MODE": "adaptive"}, "AWS_RETRY_MODE"),  # not modelled
        ({"AWS_RETRY_MODE": "legacy"}, "AWS_RETRY_MODE"),  # not an SDK v2 mode
    ],
)
def test_bad_sdk_variables_name_their_variable(env: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError, match=field) as caught:
        SdkRetry.from_env(env)
    assert caught.value.field == field


def test_simulate_reads_aws_max_attempts_from_the_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "m5.large", "--nodes", "1", "--hours", "0.1", "--env",
                 "AWS_MAX_ATTEMPTS=x1"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "AWS_MAX_ATTEMPTS='x1'" in err and "not a variable" not in err


def test_a_sweep_env_set_carries_aws_max_attempts_to_its_runs() -> None:
    spec = SweepSpec(instances=("m5.large",), env=({"label": "x", "AWS_MAX_ATTEMPTS": "7"},))
    assert spec.simulation(spec.run(0)).sdk_retry == SdkRetry(max_attempts=7)
    with pytest.raises(ConfigError, match=r"env\[0\]\.AWS_MAX_ATTEMPTS"):
        SweepSpec(instances=("m5.large",), env=({"label": "x", "AWS_MAX_ATTEMPTS": "abc"},))


def test_the_lint_knows_the_sdks_variables() -> None:
    findings = lint_env({**MANIFEST_ENV, "AWS_MAX_ATTEMPTS": "10"}, LIMITS)
    (finding,) = [f for f in findings if f.variable == "AWS_MAX_ATTEMPTS"]
    assert finding.severity == "info" and "AWS SDK" in finding.message
    findings = lint_env({**MANIFEST_ENV, "AWS_MAX_ATTEMPS": "10"}, LIMITS)
    (typo,) = [f for f in findings if f.variable == "AWS_MAX_ATTEMPS"]
    assert typo.severity == "warning" and "did you mean AWS_MAX_ATTEMPTS?" in typo.message
