"""The AWS SDK's retries around each EC2 call ipamd makes: aws-sdk-go-v2's standard retryer.

ipamd's EC2 client (``awsutils.New`` in v1.23.1) comes from ``config.LoadDefaultConfig`` with
a region, an HTTP client and a user agent, and no retry option, so every EC2 call goes through
the SDK's default retryer: ``retry.Standard`` with 3 attempts (``AWS_MAX_ATTEMPTS`` in the
aws-node environment sets another count), 20 s maximum backoff and a retry quota of 500
tokens per client. (The 10-attempt retryer of ``awssession.New`` serves the instance
metadata client only.) ipamd sees a call's error only once the retryer gives up.

One attempt after another, as the SDK's retry middleware takes them:

* a successful attempt puts 1 token back into the quota (at most its capacity), and the 5
  tokens of the retry that made it, if it was one;
* a failed attempt with an error the SDK retries (a throttle, a server error) is tried again
  if attempts remain and the quota holds 5 tokens, which the retry takes; any other error,
  the last attempt and an empty quota end the call with that error;
* the retry waits ``U * 2**attempt`` seconds (U uniform in [0, 1), ``attempt`` the attempt
  that failed, from 1) while ``attempt <= int(log2(max_backoff))``, then ``max_backoff``.

The quota belongs to the client, so to one ipamd process: a restart starts with a full one.
Network timeouts (whose retries cost 10 tokens) are not modelled.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

import attrs

from vpccni_model._checks import int_at_least, is_number
from vpccni_model._env import AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, go_atoi, go_to_lower
from vpccni_model._errors import ConfigError

RETRYABLE_CODES = frozenset(
    {
        # retry.DefaultThrottleErrorCodes
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        # retry.DefaultRetryableErrorCodes
        "RequestTimeout",
        "RequestTimeoutException",
        # EC2's server errors, HTTP 500 and 503 (retry.DefaultRetryableHTTPStatusCodes)
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "Unavailable",
    }
)
"""EC2 error codes the standard retryer tries again: its throttle and retryable codes, and
the codes EC2 answers with HTTP 500 or 503 (the retryer retries those statuses)."""


def _seconds_above_zero(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError(attribute.name, value, "must be a finite number of seconds > 0")


@attrs.frozen
class SdkRetry:
    """The SDK retryer of each node's EC2 client (aws-sdk-go-v2 ``retry.Standard``).

    The defaults are the SDK's, which ipamd v1.23.1 runs with: ``max_attempts`` 3 (set
    ``AWS_MAX_ATTEMPTS`` on aws-node for another), ``max_backoff`` 20 s, a ``quota`` of 500
    tokens, ``retry_cost`` 5 per retry, ``success_refill`` 1 per successful attempt.
    ``SdkRetry.none()`` makes every call once, as a client with retries off (``aws.NopRetryer``).
    """

    max_attempts: int = attrs.field(default=3, validator=int_at_least(1))
    max_backoff: float = attrs.field(default=20.0, validator=_seconds_above_zero)
    quota: int = attrs.field(default=500, validator=int_at_least(0))
    retry_cost: int = attrs.field(default=5, validator=int_at_least(0))
    success_refill: int = attrs.field(default=1, validator=int_at_least(0))
    #: ``int(log2(max_backoff))``: the last attempt whose retry waits a jittered time.
    jittered_attempts: int = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "jittered_attempts", int(math.log2(self.max_backoff)))

    @classmethod
    def none(cls) -> SdkRetry:
        """One attempt per call: ipamd sees every error at once."""
        return cls(max_attempts=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SdkRetry:
        """The retryer an aws-node environment gives ipamd's EC2 client: the SDK's default,
        with ``AWS_MAX_ATTEMPTS`` when set (0 or empty keeps the default, as the SDK does).
        Raises ``ConfigError`` where the SDK refuses the value (ipamd then fails to start)
        and for what is not modelled: ``AWS_RETRY_MODE=adaptive`` (its client-side rate
        limiter) and a negative count (no limit on attempts)."""
        mode = env.get(AWS_RETRY_MODE, "")
        folded = go_to_lower(mode)  # aws.ParseRetryMode ignores case
        if folded == "adaptive":
            raise ConfigError(AWS_RETRY_MODE, mode, "the adaptive retryer is not modelled")
        if folded not in ("", "standard"):
            raise ConfigError(
                AWS_RETRY_MODE, mode, "the SDK knows standard and adaptive; ipamd fails to start"
            )
        text = env.get(AWS_MAX_ATTEMPTS, "")
        if text == "":
            return cls()
        attempts = go_atoi(text)
        if attempts is None:
            raise ConfigError(
                AWS_MAX_ATTEMPTS,
                text,
                "must be an int: the SDK refuses it and ipamd fails to start",
            )
        if attempts < 0:
            raise ConfigError(
                AWS_MAX_ATTEMPTS, text, "a negative count (attempts without limit) is not modelled"
            )
        return cls() if attempts == 0 else cls(max_attempts=attempts)

    @property
    def retries(self) -> bool:
        """Whether a call may be made more than once."""
        return self.max_attempts > 1

    def backoff(self, attempt: int, draw: random.Random) -> float:
        """Seconds before the retry of failed attempt ``attempt`` (1 for the first call);
        ``draw`` gives U only when the wait is jittered (``ExponentialJitterBackoff``)."""
        if attempt > self.jittered_attempts:
            return self.max_backoff
        return draw.random() * float(1 << attempt)


class RetryQuota:
    """One client's retry token bucket (``ratelimit.TokenRateLimit``): starts full. ``live``
    turns False when the process that owns the client restarts."""

    __slots__ = ("capacity", "live", "tokens")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.tokens = capacity
        self.live = True

    def take(self, cost: int) -> bool:
        """Take ``cost`` tokens for a retry, if the bucket holds them."""
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def give(self, tokens: int) -> None:
        """Put tokens back, up to the capacity."""
        self.tokens = min(self.capacity, self.tokens + tokens)


class Retrier:
    """What one call's attempts need: the retryer's settings, the node's quota and the
    fake's backoff generator. ``retry_after`` is the middleware's bookkeeping after an
    attempt."""

    __slots__ = ("draw", "quota", "settings")

    def __init__(self, settings: SdkRetry, quota: RetryQuota, draw: random.Random) -> None:
        self.settings = settings
        self.quota = quota
        self.draw = draw

    @property
    def live(self) -> bool:
        """Whether the client is still the node's (no restart since)."""
        return self.quota.live

    def retry_after(self, code: str | None, attempt: int) -> float | None:
        """After attempt ``attempt`` ended with ``code`` (None: success): the seconds to wait
        before the next attempt, or None when the call ends here."""
        settings, quota = self.settings, self.quota
        if code is None:
            quota.give(settings.success_refill + (settings.retry_cost if attempt > 1 else 0))
            return None
        if code not in RETRYABLE_CODES or attempt >= settings.max_attempts:
            return None
        if not quota.take(settings.retry_cost):
            return None
        return settings.backoff(attempt, self.draw)
