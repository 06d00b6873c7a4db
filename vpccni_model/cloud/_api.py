"""EC2 API names, the APIs each call family may use, and the cost model's values.

The values say how a :class:`~vpccni_model.cloud.FakeEC2` charges for the calls it makes
(:class:`Latency`, :class:`Throttle` of :class:`TokenBucket`, :class:`FaultRule`) and how it
reports them (:class:`CallResult`, :class:`CloudStats`, :class:`SubnetStats`). They are
immutable and validated on construction; the fake's run-time state lives in ``_cost``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs

from vpccni_model._actions import (
    AllocateENI,
    AllocateIPs,
    AllocateIPv6ENI,
    AllocateIPv6Prefix,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
    SignalTrunkENI,
)
from vpccni_model._checks import (
    check_fraction,
    check_non_negative,
    check_positive,
    check_seconds,
    is_number,
)
from vpccni_model._errors import ConfigError
from vpccni_model._events import Event

if TYPE_CHECKING:
    from vpccni_model.cloud._run import PendingCalls

# -- EC2 API names ---------------------------------------------------------------------------

ASSIGN = "AssignPrivateIpAddresses"
ASSIGN_IPV6 = "AssignIpv6Addresses"
UNASSIGN = "UnassignPrivateIpAddresses"
DESCRIBE = "DescribeNetworkInterfaces"
CREATE = "CreateNetworkInterface"
ATTACH = "AttachNetworkInterface"
MODIFY = "ModifyNetworkInterfaceAttribute"
DETACH = "DetachNetworkInterface"
DELETE = "DeleteNetworkInterface"
EC2_APIS = frozenset(
    {ASSIGN, UNASSIGN, DESCRIBE, CREATE, ATTACH, MODIFY, DETACH, DELETE, ASSIGN_IPV6}
)
"""Every API the fake answers; a :class:`FaultRule` names one of these, or ``"*"``."""


OK = "ok"
FAILED = "failed"
THROTTLED = "throttled"
OUTCOMES = (OK, FAILED, THROTTLED)
"""How one call ends, as :attr:`CallResult.api_calls` and :attr:`CloudStats.api` count it."""

APIS_OF: Mapping[type, tuple[str, ...]] = MappingProxyType(
    {
        AllocateIPs: (ASSIGN, DESCRIBE),
        AllocatePrefixes: (ASSIGN, DESCRIBE),
        AllocateENI: (CREATE, ATTACH, MODIFY, DESCRIBE, DETACH, DELETE),  # frees on failure
        AllocateIPv6ENI: (CREATE, ATTACH, MODIFY, DESCRIBE, DETACH, DELETE),
        AllocateIPv6Prefix: (DESCRIBE, ASSIGN_IPV6),
        ReleaseIPs: (UNASSIGN,),
        ReleasePrefixes: (UNASSIGN,),
        FreeENI: (DESCRIBE, DETACH, DELETE),
        SignalTrunkENI: (),  # a CNINode write: no EC2 call of ipamd's
    }
)
"""The APIs each action's call family may use, by action type: the token buckets whose
clocks a submit of that action must not run behind (``FakeEC2.submit``)."""


# -- configuration values --------------------------------------------------------------------


def _bucket(_inst: object, attribute: attrs.Attribute[TokenBucket], value: object) -> None:
    if not isinstance(value, TokenBucket):
        raise ConfigError(attribute.name, value, "must be a TokenBucket")


@attrs.frozen
class Latency:
    """Seconds per EC2 call; an action's latency is the sum of its calls' latencies.

    Every call made costs its API's latency, whether it succeeds, fails or is throttled.
    ``attach`` covers AttachNetworkInterface, ModifyNetworkInterfaceAttribute and ipamd waiting
    for IMDS to show the ENI, so Modify costs nothing of its own; ``detach_delete`` covers
    DetachNetworkInterface, ipamd's 2 s sleep and DeleteNetworkInterface, so Delete costs
    nothing of its own (also when it cleans up after a failed attach). With ``jitter`` > 0
    each call's latency is scaled by a uniform factor in ``[1 - jitter, 1 + jitter]``.
    """

    assign: float = attrs.field(default=0.3, validator=check_seconds)
    describe: float = attrs.field(default=0.2, validator=check_seconds)
    create: float = attrs.field(default=1.0, validator=check_seconds)
    attach: float = attrs.field(default=3.0, validator=check_seconds)
    detach_delete: float = attrs.field(default=4.0, validator=check_seconds)
    jitter: float = attrs.field(default=0.0, validator=check_fraction)

    @classmethod
    def zero(cls) -> Latency:
        """Every call completes at the time it is made."""
        return cls(assign=0.0, describe=0.0, create=0.0, attach=0.0, detach_delete=0.0)

    def of(self, api: str) -> float:
        """The latency of one call of ``api``, before jitter."""
        if api in (ASSIGN, UNASSIGN, ASSIGN_IPV6):
            return self.assign
        if api == DESCRIBE:
            return self.describe
        if api == CREATE:
            return self.create
        if api == ATTACH:
            return self.attach
        if api == DETACH:
            return self.detach_delete
        return 0.0


@attrs.frozen
class TokenBucket:
    """An EC2 rate-limit bucket: starts full, each call takes one token, refills continuously."""

    capacity: float = attrs.field(validator=check_positive)
    refill_per_second: float = attrs.field(validator=check_non_negative)


def _per_api(_inst: object, attribute: attrs.Attribute[object], value: object) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError(attribute.name, value, "must map EC2 API names to TokenBucket")
    for api, bucket in value.items():
        if api not in EC2_APIS:
            raise ConfigError(attribute.name, api, f"must be one of {sorted(EC2_APIS)}")
        if not isinstance(bucket, TokenBucket):
            raise ConfigError(attribute.name, bucket, f"{api}: must be a TokenBucket")


def _frozen_buckets(value: object) -> object:
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else value


@attrs.frozen
class Throttle:
    """Account-wide request rate limits, one bucket per EC2 API (EC2's documented defaults).

    EC2 evaluates every API on its own: a throttled AssignPrivateIpAddresses does not slow
    CreateNetworkInterface. ``mutating`` is the size and refill of each mutating API's bucket
    (Assign, Unassign, Create, Attach, Modify, Detach, Delete), ``non_mutating`` of each
    non-mutating API's (DescribeNetworkInterfaces); ``per_api`` overrides single APIs.
    """

    mutating: TokenBucket = attrs.field(default=TokenBucket(200, 5), validator=_bucket)
    non_mutating: TokenBucket = attrs.field(default=TokenBucket(100, 20), validator=_bucket)
    per_api: Mapping[str, TokenBucket] = attrs.field(
        factory=dict, converter=_frozen_buckets, validator=_per_api
    )

    @classmethod
    def unlimited(cls) -> Throttle:
        """No call is ever throttled."""
        bucket = TokenBucket(math.inf, math.inf)
        return cls(mutating=bucket, non_mutating=bucket)

    def bucket(self, api: str) -> TokenBucket:
        """The limits of ``api``'s bucket."""
        if api in self.per_api:
            return self.per_api[api]
        return self.non_mutating if api == DESCRIBE else self.mutating


def _api_name(_inst: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value != "*" and value not in EC2_APIS:
        raise ConfigError(attribute.name, value, f"must be '*' or one of {sorted(EC2_APIS)}")


def _code(_inst: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(attribute.name, value, "must be a non-empty EC2 error code")


def _start(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not is_number(value) or value == math.inf:
        raise ConfigError(attribute.name, value, "must be a number of seconds below math.inf")


def _end(inst: FaultRule, attribute: attrs.Attribute[float], value: object) -> None:
    if not is_number(value) or value < inst.start:
        raise ConfigError(attribute.name, value, f"must be a number >= start ({inst.start})")


@attrs.frozen
class FaultRule:
    """Inject error ``code`` on calls of ``api`` (an EC2 API name, or ``"*"`` for every API).

    The rule is active for calls made at a time in ``[start, end)`` (simulation seconds) and
    then fires with probability ``rate``. Rules are tried in the order given; the first that
    fires decides the code. Only rules with ``0 < rate < 1`` that are active for the call
    draw from the fake's seeded generator; ``rate == 1`` always fires, ``rate == 0`` never.
    A throttled call never reaches EC2, so no rule is tried for it.
    """

    api: str = attrs.field(validator=_api_name)
    code: str = attrs.field(validator=_code)
    rate: float = attrs.field(default=1.0, validator=check_fraction)
    start: float = attrs.field(default=0.0, validator=_start)
    end: float = attrs.field(default=math.inf, validator=_end)

    def active(self, api: str, at: float) -> bool:
        """Whether this rule applies to a call of ``api`` made at ``at``."""
        return (self.api == "*" or self.api == api) and self.start <= at < self.end


@attrs.frozen
class CallResult:
    """What one ``submit`` did (:meth:`~vpccni_model.cloud.FakeEC2.submit`, ``Ec2.submit``).

    ``event`` is the outcome ipamd sees (None for releases and ENI frees, which ipamd never
    waits on); ``completes_at`` is the submission time plus the latency of the calls made;
    ``api_calls`` lists ``(api, "ok" | "failed" | "throttled")`` per EC2 call, in order;
    ``errors`` lists ``(api, error code)`` per failed call, in order (a throttled call is not
    listed: its code is always RequestLimitExceeded). With the SDK's retries every attempt is
    a call of its own.

    ``sdk_calls`` are the calls as ipamd sees them, one per SDK call that ended in this step:
    ``(api, outcome, error code or None, seconds from its first attempt to its answer)``,
    retries and their waits included (what ipamd's ``awscni_aws_api_latency_ms`` observes;
    ``Boto3EC2`` reports each botocore call with its wall time).

    ``pending`` is set when the family waits for an SDK retry (a fake built with ``retry``):
    then ``event`` is None, the calls are the ones made so far, and the family goes on at
    ``completes_at`` with ``FakeEC2.resume(pending)``, which reports the next step the same
    way.
    """

    event: Event | None
    completes_at: float
    api_calls: tuple[tuple[str, str], ...]
    errors: tuple[tuple[str, str], ...] = ()
    pending: PendingCalls | None = None
    sdk_calls: tuple[tuple[str, str, str | None, float], ...] = ()


@attrs.frozen
class SubnetStats:
    """Free space in one subnet: addresses, and aligned /28 blocks wholly free."""

    cidr: str
    free_addresses: int
    free_blocks: int


@attrs.frozen
class CloudStats:
    """Counters of a :class:`~vpccni_model.cloud.FakeEC2`.

    ``api``: per API, ``{"ok": n, "failed": n, "throttled": n}`` over every call made, through
    ``submit`` and ``execute`` alike (``FakeEC2.calls`` is their sum). ``errors``: failed and
    throttled calls by error code (throttles as RequestLimitExceeded). ``subnets``: free space
    per subnet name. ``leaked_enis``: ENIs detached but not deleted (their delete failed);
    their addresses stay taken.
    """

    api: Mapping[str, Mapping[str, int]]
    errors: Mapping[str, int]
    subnets: Mapping[str, SubnetStats]
    leaked_enis: int

    @property
    def throttled(self) -> int:
        """Throttled calls over every API."""
        return sum(counts[THROTTLED] for counts in self.api.values())

    @property
    def failed(self) -> int:
        """Failed (not throttled) calls over every API."""
        return sum(counts[FAILED] for counts in self.api.values())
