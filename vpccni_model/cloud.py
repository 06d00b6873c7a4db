"""FakeEC2: a deterministic, in-memory stand-in for the EC2 calls ipamd makes.

It carves secondary IPs (lowest free address first) and aligned /28 prefixes (lowest free
aligned block first) from one or more subnets, enforces the per-ENI address limit and the
per-card ENI limit of each node, and answers each action with the event ipamd would see,
following the call family's retry rules (spec 6.2, 6.4, 8).

One engine makes every call family, driven two ways:

- :meth:`FakeEC2.submit` runs the whole call family at a simulation time: every EC2 call takes
  a token from its account-wide bucket (:class:`Throttle`), may fail by injection
  (:class:`FaultRule`), and costs time (:class:`Latency`). The result says what ipamd sees and
  when (:class:`CallResult`). One fake is shared by every node of a cluster, so nodes compete
  for the subnets and the rate limit.
- :meth:`FakeEC2.execute` runs the same call family at once, with no latency, throttling or
  faults: the cooperative EC2 that ``steady_state`` and the unit tests use. It makes and
  counts exactly the calls ``submit`` makes on a fake with none of those configured.

Randomness (fault rates, latency jitter) comes only from :class:`random.Random` instances the
fake owns, seeded from ``seed``: the same seed and the same sequence of calls give the same
results.
"""

from __future__ import annotations

import ipaddress
import math
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeGuard

import attrs

from vpccni_model._actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._errors import ConfigError, StateError
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    Event,
    IPsAllocated,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model._ipv4 import PREFIX_SIZE, int_to_ip, ip_to_int, parse_cidr, prefix_text
from vpccni_model._limits import InstanceLimits
from vpccni_model._model import NodeState

__all__ = [
    "ASSIGN",
    "ATTACH",
    "CREATE",
    "DEFAULT_NODE",
    "DELETE",
    "DESCRIBE",
    "DETACH",
    "EC2_APIS",
    "MODIFY",
    "UNASSIGN",
    "CallResult",
    "CloudStats",
    "FakeEC2",
    "FaultRule",
    "Latency",
    "SubnetStats",
    "Throttle",
    "TokenBucket",
]

AWS_RESERVED_LOW = 4
"""EC2 reserves the first four addresses of every subnet and the last one."""

DEFAULT_SUBNET = "10.0.0.0/16"

DEFAULT_NODE = "default"
"""The node that ``FakeEC2(limits)``, ``for_node``, ``register_eni`` and ``execute`` use when
no node is named."""

MAX_DEVICES = 100
"""Device indices 0..99 (ipamd's ``maxENIs``, spec 7.1)."""

# -- EC2 API names ---------------------------------------------------------------------------

ASSIGN = "AssignPrivateIpAddresses"
UNASSIGN = "UnassignPrivateIpAddresses"
DESCRIBE = "DescribeNetworkInterfaces"
CREATE = "CreateNetworkInterface"
ATTACH = "AttachNetworkInterface"
MODIFY = "ModifyNetworkInterfaceAttribute"
DETACH = "DetachNetworkInterface"
DELETE = "DeleteNetworkInterface"
EC2_APIS = frozenset({ASSIGN, UNASSIGN, DESCRIBE, CREATE, ATTACH, MODIFY, DETACH, DELETE})
"""Every API the fake answers; a :class:`FaultRule` names one of these, or ``"*"``."""

OK = "ok"
FAILED = "failed"
THROTTLED = "throttled"
_OUTCOMES = (OK, FAILED, THROTTLED)

_EPSILON = 1e-9
"""Slack when comparing token counts, so that rate * t tokens are exactly rate * t calls."""


# -- configuration values --------------------------------------------------------------------


def _number(value: object) -> TypeGuard[float]:
    """A real number (int or float, not bool, not NaN); infinities pass."""
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _seconds(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not _number(value) or not math.isfinite(value) or value < 0:
        raise ConfigError(attribute.name, value, "must be a finite number of seconds >= 0")


def _fraction(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not _number(value) or not 0 <= value <= 1:
        raise ConfigError(attribute.name, value, "must be a number between 0 and 1")


def _positive(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not _number(value) or value <= 0:
        raise ConfigError(attribute.name, value, "must be a number > 0 (math.inf allowed)")


def _non_negative(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not _number(value) or value < 0:
        raise ConfigError(attribute.name, value, "must be a number >= 0 (math.inf allowed)")


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

    assign: float = attrs.field(default=0.3, validator=_seconds)
    describe: float = attrs.field(default=0.2, validator=_seconds)
    create: float = attrs.field(default=1.0, validator=_seconds)
    attach: float = attrs.field(default=3.0, validator=_seconds)
    detach_delete: float = attrs.field(default=4.0, validator=_seconds)
    jitter: float = attrs.field(default=0.0, validator=_fraction)

    @classmethod
    def zero(cls) -> Latency:
        """Every call completes at the time it is made."""
        return cls(assign=0.0, describe=0.0, create=0.0, attach=0.0, detach_delete=0.0)

    def of(self, api: str) -> float:
        """The latency of one call of ``api``, before jitter."""
        if api in (ASSIGN, UNASSIGN):
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

    capacity: float = attrs.field(validator=_positive)
    refill_per_second: float = attrs.field(validator=_non_negative)


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
    if not _number(value) or value == math.inf:
        raise ConfigError(attribute.name, value, "must be a number of seconds below math.inf")


def _end(inst: FaultRule, attribute: attrs.Attribute[float], value: object) -> None:
    if not _number(value) or value < inst.start:
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
    rate: float = attrs.field(default=1.0, validator=_fraction)
    start: float = attrs.field(default=0.0, validator=_start)
    end: float = attrs.field(default=math.inf, validator=_end)

    def active(self, api: str, at: float) -> bool:
        """Whether this rule applies to a call of ``api`` made at ``at``."""
        return (self.api == "*" or self.api == api) and self.start <= at < self.end


@attrs.frozen
class CallResult:
    """What one :meth:`FakeEC2.submit` did.

    ``event`` is the outcome ipamd sees (None for releases and ENI frees, which ipamd never
    waits on); ``completes_at`` is the submission time plus the latency of the calls made;
    ``api_calls`` lists ``(api, "ok" | "failed" | "throttled")`` per EC2 call, in order.
    """

    event: Event | None
    completes_at: float
    api_calls: tuple[tuple[str, str], ...]


@attrs.frozen
class SubnetStats:
    """Free space in one subnet: addresses, and aligned /28 blocks wholly free."""

    cidr: str
    free_addresses: int
    free_blocks: int


@attrs.frozen
class CloudStats:
    """Counters of a :class:`FakeEC2`.

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


# -- internal mutable parts ------------------------------------------------------------------


@attrs.define
class _FakeENI:
    eni_id: str
    network_card: int
    device_number: int
    primary_ip: int
    ips: set[int] = attrs.field(factory=set)
    prefixes: set[int] = attrs.field(factory=set)
    node: str = DEFAULT_NODE
    subnet: str = ""


@attrs.define
class _Node:
    name: str
    limits: InstanceLimits
    subnet: str


class _Subnet:
    """One subnet's address space: the usable range and per-/28 usage counters."""

    def __init__(self, name: str, network: ipaddress.IPv4Network) -> None:
        self.name = name
        self.network = network
        self.first = int(network.network_address) + AWS_RESERVED_LOW
        self.last = int(network.broadcast_address) - 1
        self.used: set[int] = set()
        self._block_used: Counter[int] = Counter()
        # Aligned blocks wholly inside [first, last]; only these can become prefixes.
        self._lowest_block = -(-self.first // PREFIX_SIZE) * PREFIX_SIZE
        self._highest_block = (self.last + 1) // PREFIX_SIZE * PREFIX_SIZE - PREFIX_SIZE
        self._blocks = max(0, (self._highest_block - self._lowest_block) // PREFIX_SIZE + 1)
        self._busy_blocks = 0
        # Scan starts: every address below _free_from is used, and every whole block below
        # _free_block_from has a used address. Both only move down when something is freed,
        # so a search never rescans the packed low end of a busy subnet.
        self._free_from = self.first
        self._free_block_from = self._lowest_block

    def usable(self, ip: int) -> bool:
        return self.first <= ip <= self.last

    def _whole_block(self, base: int) -> bool:
        return self._lowest_block <= base <= self._highest_block

    @property
    def free_addresses(self) -> int:
        return self.last - self.first + 1 - len(self.used)

    @property
    def free_blocks(self) -> int:
        return self._blocks - self._busy_blocks

    def mark(self, ip: int) -> None:
        self.used.add(ip)
        base = ip - ip % PREFIX_SIZE
        self._block_used[base] += 1
        if self._block_used[base] == 1 and self._whole_block(base):
            self._busy_blocks += 1

    def unmark(self, ip: int) -> None:
        if ip not in self.used:
            return
        self.used.discard(ip)
        self._free_from = min(self._free_from, ip)
        base = ip - ip % PREFIX_SIZE
        self._block_used[base] -= 1
        if self._block_used[base] == 0:
            del self._block_used[base]
            if self._whole_block(base):
                self._busy_blocks -= 1
                self._free_block_from = min(self._free_block_from, base)

    def take_ips(self, count: int) -> list[int]:
        """The ``count`` lowest free addresses, or [] when there are fewer."""
        if count < 1 or count > self.free_addresses:
            return []
        out: list[int] = []
        ip = self._free_from
        used = self.used
        while len(out) < count and ip <= self.last:
            if ip % PREFIX_SIZE == 0 and self._block_used.get(ip, 0) == PREFIX_SIZE:
                ip += PREFIX_SIZE  # the whole block is taken
                continue
            if ip not in used:
                out.append(ip)
            ip += 1
        for taken in out:
            self.mark(taken)
        self._free_from = ip  # everything below is now used
        return out

    def take_prefixes(self, count: int) -> list[int]:
        """The ``count`` lowest wholly free aligned /28 blocks, or [] when there are fewer."""
        if count < 1 or count > self.free_blocks:
            return []
        out: list[int] = []
        base = self._free_block_from
        while len(out) < count and base <= self._highest_block:
            if not self._block_used.get(base):
                out.append(base)
            base += PREFIX_SIZE
        for prefix in out:
            for ip in range(prefix, prefix + PREFIX_SIZE):
                self.mark(ip)
        self._free_block_from = base  # every whole block below now has a used address
        return out


class _Bucket:
    """A token bucket; a call at a time earlier than one already seen refills nothing."""

    def __init__(self, spec: TokenBucket) -> None:
        self.capacity = float(spec.capacity)
        self.rate = float(spec.refill_per_second)
        self.tokens = self.capacity
        self.updated_at: float | None = None
        self.submitted_at = -math.inf

    def take(self, at: float) -> bool:
        if self.updated_at is None:
            self.updated_at = at
        elif at > self.updated_at:
            refill = self.rate * (at - self.updated_at)
            self.tokens = min(self.capacity, self.tokens + refill)
            self.updated_at = at
        if self.tokens >= 1 - _EPSILON:
            self.tokens = max(0.0, self.tokens - 1)
            return True
        return False


@attrs.define
class _Run:
    """One call family in progress: its clock, the calls made so far and the buckets used.

    ``at_once`` marks ``execute``'s runs: no latency, throttling or faults; the clock, the
    buckets and the list of calls (which ``execute`` does not return) stay untouched.
    """

    at: float
    at_once: bool = False
    calls: list[tuple[str, str]] = attrs.field(factory=list)
    apis: set[str] = attrs.field(factory=set)


_APIS_OF: dict[type, tuple[str, ...]] = {
    AllocateIPs: (ASSIGN, DESCRIBE),
    AllocatePrefixes: (ASSIGN, DESCRIBE),
    AllocateENI: (CREATE, ATTACH, MODIFY, DELETE, DETACH),
    ReleaseIPs: (UNASSIGN,),
    ReleasePrefixes: (UNASSIGN,),
    FreeENI: (DESCRIBE, DETACH, DELETE),
}
"""The APIs each action's call family may use."""


_AT_ONCE = _Run(0.0, at_once=True)
"""Every ``execute`` shares this run: a run at once is never changed."""


def _ok() -> str | None:
    return None


# -- the fake --------------------------------------------------------------------------------


class FakeEC2:
    """Deterministic EC2 for a cluster: subnets shared by nodes, each node with its own limits.

    ``FakeEC2(limits, subnet)`` is the single-node form: one subnet (named by its CIDR text)
    and the node :data:`DEFAULT_NODE` with ``limits``. For a cluster, give ``subnets`` (name to
    CIDR; the first is the default) and add nodes with :meth:`register_node` or
    :meth:`boot_node`. ENI ids are unique across the cluster; device numbers and the per-card
    ENI limit are per node; the per-ENI address limit uses the owning node's limits.

    ``submit`` models only what is configured: ``latency=None`` is :meth:`Latency.zero`,
    ``throttle=None`` never throttles, no ``faults`` injects nothing. ``seed`` seeds the
    generators behind fault rates and latency jitter (one each: turning jitter on does not
    shift the sequence of fault draws).

    ``calls`` counts the API calls made, by API name; ``stats`` has their per-outcome counters
    and the free space of each subnet. ``execute`` and ``submit`` share one call engine, so
    both count every call they make, the same way.
    """

    def __init__(
        self,
        limits: InstanceLimits | None = None,
        subnet: str = DEFAULT_SUBNET,
        *,
        subnets: Mapping[str, str] | None = None,
        seed: int = 0,
        latency: Latency | None = None,
        throttle: Throttle | None = None,
        faults: Sequence[FaultRule] = (),
    ) -> None:
        if subnets is None:
            subnets = {subnet: subnet}
        elif subnet != DEFAULT_SUBNET:
            raise StateError("subnet", subnet, "give either subnet or subnets, not both")
        if not isinstance(subnets, Mapping) or not subnets:
            raise StateError("subnets", subnets, "expected a non-empty mapping name -> CIDR")
        self._subnets: dict[str, _Subnet] = {}
        for name, cidr in subnets.items():
            self._add_subnet(name, cidr)
        self._default_subnet = next(iter(self._subnets))
        self.subnet = self._subnets[self._default_subnet].network

        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError("seed", seed, "must be an int")
        if latency is not None and not isinstance(latency, Latency):
            raise ConfigError("latency", latency, "must be a Latency")
        if throttle is not None and not isinstance(throttle, Throttle):
            raise ConfigError("throttle", throttle, "must be a Throttle")
        if isinstance(faults, str | bytes) or not all(isinstance(f, FaultRule) for f in faults):
            raise ConfigError("faults", faults, "must be a sequence of FaultRule")
        self.seed = seed
        self.latency = latency if latency is not None else Latency.zero()
        self.throttle = throttle
        self.faults: tuple[FaultRule, ...] = tuple(faults)
        self._fault_rng = random.Random(seed)
        self._jitter_rng = random.Random(f"latency-jitter:{seed}")
        limits_of = throttle if throttle is not None else Throttle.unlimited()
        self._buckets = {api: _Bucket(limits_of.bucket(api)) for api in sorted(EC2_APIS)}

        self.limits = limits
        self._nodes: dict[str, _Node] = {}
        self._enis: dict[str, _FakeENI] = {}  # attached ENIs, every node
        self._by_node: dict[str, dict[str, _FakeENI]] = {}  # the same, per node
        self._leaked: dict[str, _FakeENI] = {}
        self._outside: set[int] = set()  # registered addresses outside every usable range
        self._next_id = 1
        self.calls: Counter[str] = Counter()
        self._outcomes: dict[str, dict[str, int]] = {}  # API -> outcome -> calls
        self._errors: Counter[str] = Counter()
        if limits is not None:
            self.register_node(DEFAULT_NODE, limits)

    def _add_subnet(self, name: str, cidr: str) -> None:
        if not isinstance(name, str) or not name:
            raise StateError("subnets", name, "a subnet name must be a non-empty string")
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except (TypeError, ValueError) as exc:
            raise StateError(
                "subnet", cidr, "expected an IPv4 network such as 10.0.0.0/16"
            ) from exc
        if network.prefixlen > 28:
            raise StateError("subnet", cidr, "a subnet must be /28 or larger")
        for other in self._subnets.values():
            if network.overlaps(other.network):
                raise StateError("subnet", cidr, f"overlaps subnet {other.name!r}")
        self._subnets[name] = _Subnet(name, network)

    # -- registration -----------------------------------------------------------------

    @classmethod
    def for_node(cls, state: NodeState, subnet: str = DEFAULT_SUBNET) -> FakeEC2:
        """A fake that already holds every ENI and CIDR of ``state`` (as :data:`DEFAULT_NODE`)."""
        ec2 = cls(state.limits, subnet)
        ec2._register_state(DEFAULT_NODE, state)
        return ec2

    def register_node(self, node: str, limits: InstanceLimits, subnet: str | None = None) -> None:
        """Add a node with its own limits; its new ENIs draw from ``subnet`` (a subnet name;
        default: the first subnet)."""
        if not isinstance(node, str) or not node:
            raise StateError("node", node, "must be a non-empty string")
        if node in self._nodes:
            raise StateError("node", node, "already registered")
        if not isinstance(limits, InstanceLimits):
            raise StateError("limits", limits, "must be an InstanceLimits")
        name = self._subnet_name(subnet)
        self._nodes[node] = _Node(node, limits, name)
        self._by_node[node] = {}

    def boot_node(self, node: str, state: NodeState, subnet: str | None = None) -> None:
        """:meth:`register_node` with ``state.limits``, then register every ENI and CIDR of
        the booted ``state`` on it (as :meth:`for_node` does for a single node). Give each
        node's primary ENI its own id (``NodeState.boot(..., primary_eni_id=...)``)."""
        self.register_node(node, state.limits, subnet)
        try:
            self._register_state(node, state)
        except Exception:
            self.terminate_node(node)
            raise

    def _register_state(self, node: str, state: NodeState) -> None:
        for eni in state.enis:
            ips = {c.network for c in eni.cidrs if not c.is_prefix}
            prefixes = {c.network for c in eni.cidrs if c.is_prefix}
            self.register_eni(
                eni.eni_id, eni.network_card, eni.device_number, ips, prefixes, node=node
            )

    def register_eni(
        self,
        eni_id: str,
        network_card: int,
        device_number: int,
        ips: set[int] | None = None,
        prefixes: set[int] | None = None,
        *,
        node: str | None = None,
    ) -> None:
        """Record an ENI created elsewhere, attached to ``node``; its addresses are taken from
        the subnets that hold them, and its primary IP from the node's subnet."""
        owner = self._node(node)
        if eni_id in self._enis or eni_id in self._leaked:
            raise StateError(
                "eni_id",
                eni_id,
                "already registered; ENI ids are unique across the cluster, so boot each node"
                " with its own NodeState.boot(..., primary_eni_id=...)",
            )
        taken = set(ips or ())
        for prefix in prefixes or ():
            taken.update(range(prefix, prefix + PREFIX_SIZE))
        clash = {ip for ip in taken if self._in_use(ip)}
        if clash:
            raise StateError("ips", int_to_ip(min(clash)), "already in use in the subnet")
        for ip in taken:
            self._mark(ip)
        primary = self._subnets[owner.subnet].take_ips(1)
        if not primary:
            for ip in taken:
                self._unmark(ip)
            raise StateError("subnet", owner.subnet, "no address left for a primary IP")
        self._put(
            _FakeENI(
                eni_id,
                network_card,
                device_number,
                primary[0],
                set(ips or ()),
                set(prefixes or ()),
                node=owner.name,
                subnet=owner.subnet,
            )
        )
        self._bump_id(eni_id)

    def terminate_node(self, node: str) -> None:
        """The instance is gone: its ENIs are deleted (DeleteOnTermination) and their addresses
        return to the subnets; the node is forgotten. Makes no API call."""
        self._node(node)
        for eni in list(self._by_node[node].values()):
            self._drop(eni)
            self._release_eni(eni)
        del self._nodes[node]
        del self._by_node[node]

    def _put(self, eni: _FakeENI) -> None:
        """Attach ``eni`` to its node (``eni.node``)."""
        self._enis[eni.eni_id] = eni
        self._by_node[eni.node][eni.eni_id] = eni

    def _drop(self, eni: _FakeENI) -> None:
        """Detach ``eni`` from its node; it keeps its addresses until released."""
        del self._enis[eni.eni_id]
        del self._by_node[eni.node][eni.eni_id]
        eni.node = ""

    def _bump_id(self, eni_id: str) -> None:
        if eni_id.startswith("eni-") and eni_id[4:].isdigit():
            self._next_id = max(self._next_id, int(eni_id[4:]) + 1)

    def _new_eni_id(self) -> str:
        while f"eni-{self._next_id}" in self._enis or f"eni-{self._next_id}" in self._leaked:
            self._next_id += 1
        eni_id = f"eni-{self._next_id}"
        self._next_id += 1
        return eni_id

    def _node(self, node: str | None) -> _Node:
        name = DEFAULT_NODE if node is None else node
        found = self._nodes.get(name)
        if found is None:
            if node is None:
                raise StateError("node", None, "no default node: name one, or give limits")
            raise StateError("node", node, "not registered")
        return found

    def _subnet_name(self, subnet: str | None) -> str:
        if subnet is None:
            return self._default_subnet
        if subnet not in self._subnets:
            raise StateError("subnet", subnet, f"not one of {sorted(self._subnets)}")
        return subnet

    def _owned(self, node: _Node, eni_id: str) -> _FakeENI | None:
        """The attached ENI ``eni_id`` if it exists; one attached to another node is an error."""
        eni = self._enis.get(eni_id)
        if eni is not None and eni.node != node.name:
            raise StateError("eni_id", eni_id, f"attached to node {eni.node!r}, not {node.name!r}")
        return eni

    # -- subnets -----------------------------------------------------------------------

    @property
    def free_addresses(self) -> int:
        """Free addresses over every subnet."""
        return sum(s.free_addresses for s in self._subnets.values())

    def subnet_free(self, name: str | None = None) -> tuple[int, int]:
        """(free addresses, wholly free aligned /28 blocks) of one subnet (default: the first)."""
        subnet = self._subnets[self._subnet_name(name)]
        return subnet.free_addresses, subnet.free_blocks

    def _holder(self, ip: int) -> _Subnet | None:
        for subnet in self._subnets.values():
            if subnet.usable(ip):
                return subnet
        return None

    def _in_use(self, ip: int) -> bool:
        subnet = self._holder(ip)
        return ip in subnet.used if subnet is not None else ip in self._outside

    def _mark(self, ip: int) -> None:
        subnet = self._holder(ip)
        if subnet is not None:
            subnet.mark(ip)
        else:
            self._outside.add(ip)

    def _unmark(self, ip: int) -> None:
        subnet = self._holder(ip)
        if subnet is not None:
            subnet.unmark(ip)
        else:
            self._outside.discard(ip)

    def _release_ip(self, ip: int) -> None:
        self._unmark(ip)

    def _release_prefix(self, prefix: int) -> None:
        for ip in range(prefix, prefix + PREFIX_SIZE):
            self._unmark(ip)

    def _release_eni(self, eni: _FakeENI) -> None:
        self._release_ip(eni.primary_ip)
        for ip in eni.ips:
            self._release_ip(ip)
        for prefix in eni.prefixes:
            self._release_prefix(prefix)

    def _carve(self, subnet: _Subnet, count: int, prefixes: bool) -> tuple[int, list[int]] | str:
        """A new ENI's primary IP and its ``count`` IPs or prefixes, or the EC2 error code."""
        if prefixes:
            primary = subnet.take_ips(1)
            taken = subnet.take_prefixes(count) if primary and count else []
            code = Ec2Error.INSUFFICIENT_CIDR_BLOCKS
        else:
            primary = subnet.take_ips(1 + count)
            taken, primary = primary[1:], primary[:1]
            code = Ec2Error.INSUFFICIENT_FREE_ADDRESSES
        if not primary or (count and not taken):
            for ip in primary:
                subnet.unmark(ip)
            return code
        return primary[0], taken

    # -- observation -------------------------------------------------------------------

    def describe(self, eni_id: str) -> ObservedENI | None:
        """What IMDS / DescribeNetworkInterfaces shows for one attached ENI."""
        eni = self._enis.get(eni_id)
        if eni is None:
            return None
        return ObservedENI(
            eni_id=eni.eni_id,
            device_number=eni.device_number,
            network_card=eni.network_card,
            ips=tuple(int_to_ip(ip) for ip in sorted(eni.ips)),
            prefixes=tuple(prefix_text(p) for p in sorted(eni.prefixes)),
        )

    def observe(self, node: str | None = None) -> tuple[ObservedENI, ...]:
        """The ENIs attached to ``node`` (default: every node's), as instance metadata lists
        them: by node, then card, then device number."""
        if node is not None:
            self._node(node)
        enis = sorted(
            self._enis.values() if node is None else self._by_node[node].values(),
            key=lambda e: (e.node, e.network_card, e.device_number, e.eni_id),
        )
        return tuple(o for o in (self.describe(e.eni_id) for e in enis) if o is not None)

    @property
    def stats(self) -> CloudStats:
        """Per-API outcome counters, errors by code, free space per subnet, leaked ENIs."""
        api = {
            name: MappingProxyType(dict(counts)) for name, counts in sorted(self._outcomes.items())
        }
        subnets = {
            name: SubnetStats(str(s.network), s.free_addresses, s.free_blocks)
            for name, s in self._subnets.items()
        }
        return CloudStats(
            api=MappingProxyType(api),
            errors=MappingProxyType(dict(sorted(self._errors.items()))),
            subnets=MappingProxyType(subnets),
            leaked_enis=len(self._leaked),
        )

    # -- pieces of the calls -----------------------------------------------------------

    def _room(self, eni: _FakeENI) -> int:
        limits = self._nodes[eni.node].limits
        return limits.cidrs_per_eni - len(eni.ips) - len(eni.prefixes)

    def _add(self, eni: _FakeENI, prefixes: bool, taken: list[int]) -> Event:
        if prefixes:
            eni.prefixes.update(taken)
            return PrefixesAllocated(eni.eni_id, tuple(prefix_text(p) for p in taken))
        eni.ips.update(taken)
        return IPsAllocated(eni.eni_id, tuple(int_to_ip(ip) for ip in taken))

    def _report(self, eni: _FakeENI, prefixes: bool) -> Event:
        if prefixes:
            return PrefixesAllocated(
                eni.eni_id, tuple(prefix_text(p) for p in sorted(eni.prefixes))
            )
        return IPsAllocated(eni.eni_id, tuple(int_to_ip(ip) for ip in sorted(eni.ips)))

    def _free_device(self, owner: _Node, card: int) -> int | None:
        """The lowest free device number on ``card`` of ``owner``, None at the card's limit."""
        on_card = [e for e in self._by_node[owner.name].values() if e.network_card == card]
        if len(on_card) >= owner.limits.max_interfaces(card):
            return None
        used = {e.device_number for e in on_card}
        return next((d for d in range(MAX_DEVICES) if d not in used), None)

    def _new_eni(
        self, owner: _Node, action: AllocateENI, primary: int, taken: list[int]
    ) -> _FakeENI:
        eni = _FakeENI(
            self._new_eni_id(), action.network_card, -1, primary, node="", subnet=owner.subnet
        )
        if action.prefixes:
            eni.prefixes.update(taken)
        else:
            eni.ips.update(taken)
        return eni

    def _attach(self, eni: _FakeENI, owner: _Node) -> bool:
        device = self._free_device(owner, eni.network_card)
        if device is None:
            return False
        eni.device_number = device
        eni.node = owner.name
        self._put(eni)
        return True

    def _attached(self, eni: _FakeENI) -> ENIAttached:
        return ENIAttached(
            eni_id=eni.eni_id,
            device_number=eni.device_number,
            network_card=eni.network_card,
            ips=tuple(int_to_ip(ip) for ip in sorted(eni.ips)),
            prefixes=tuple(prefix_text(p) for p in sorted(eni.prefixes)),
        )

    # -- the call engine ---------------------------------------------------------------

    def submit(self, action: Action, *, node: str, at: float) -> CallResult:
        """Run ``action``'s whole EC2 call family for ``node``, starting at ``at``.

        Each call is made at ``at`` plus the latency of the calls before it, takes one token
        from its API's bucket (none left: it fails with RequestLimitExceeded, counted as
        throttled), then may fail by injection, then does the real work, which may fail too.
        The families (spec 6.2-6.6, 8):

        - AllocateIPs / AllocatePrefixes: Assign(count); on any error but
          PrivateIpAddressLimitExceeded, Assign(1) (as ipamd, even when count is 1); on
          PrivateIpAddressLimitExceeded, Describe and report everything on the ENI. The event
          is AllocationFailed(code of the last failed call) when nothing succeeded. A count
          below 1 makes no call and reports nothing.
        - AllocateENI: Create (failure: AllocationFailed), Attach at the lowest free device
          (failure, including the card's ENI limit: the new ENI is deleted and its addresses
          return, unless that Delete fails too), Modify DeleteOnTermination (failure: the ENI
          is freed as by FreeENI), then ENIAttached.
        - ReleaseIPs / ReleasePrefixes: Unassign; on failure everything stays attached.
        - FreeENI: Describe (ipamd looks up the attachment; NotFound counts as done), Detach,
          Delete. A failed Describe or Detach leaves the ENI attached; a failed Delete leaves
          it detached but holding its addresses (``stats.leaked_enis``). ipamd's retry loops
          around Detach and Delete are not modelled: one failure stands for the loop giving up.

        Releases and frees return ``event=None``. ``at`` must not be earlier than the ``at``
        of an earlier submit that used an API bucket this action may use (StateError). A bucket's
        clock only moves forward: a call made before the latest call the bucket has seen
        (a long family submitted earlier, such as an ENI attach, overlaps it) refills nothing
        and is charged at that latest time.
        """
        owner = self._node(node)
        if not _number(at) or not math.isfinite(at):
            raise StateError("at", at, "must be a finite number of seconds")
        family = _family(action)
        for api in _APIS_OF[type(action)]:
            seen = self._buckets[api].submitted_at
            if at < seen:
                raise StateError("at", at, f"earlier than {seen}, already submitted ({api})")
        run = _Run(float(at))
        event = family(self, run, owner, action)
        for api in run.apis:
            bucket = self._buckets[api]
            bucket.submitted_at = max(bucket.submitted_at, float(at))
        return CallResult(event, run.at, tuple(run.calls))

    def execute(self, action: Action, *, node: str | None = None) -> Event | None:
        """Perform one action at once: :meth:`submit`'s call family, made and counted the same
        way (``calls`` and ``stats``), on a cooperative EC2 - no latency, no throttling, no
        injected fault, whatever the fake is configured with; no token is taken and no
        bucket's clock is checked or moved. Allocations return their outcome event, releases
        and frees None."""
        owner = self._node(node)
        return _family(action)(self, _AT_ONCE, owner, action)

    def _call(self, run: _Run, api: str, operation: Callable[[], str | None]) -> str | None:
        """One EC2 call: ``operation`` does its work and returns an error code or None.

        Submitted (``run.at_once`` false), the call is made at ``run.at``: throttle, then
        injected fault, then ``operation``; ``run.at`` advances by the call's latency.
        Executed at once, only ``operation`` runs. Either way the call is counted.
        """
        self.calls[api] += 1
        code: str | None
        if run.at_once:
            code = operation()
            outcome = OK if code is None else FAILED
        else:
            at = run.at
            run.at = at + self._latency(api)
            run.apis.add(api)
            if not self._buckets[api].take(at):
                code, outcome = Ec2Error.REQUEST_LIMIT_EXCEEDED, THROTTLED
            else:
                code = self._injected(api, at)
                if code is None:
                    code = operation()
                outcome = OK if code is None else FAILED
            run.calls.append((api, outcome))
        counts = self._outcomes.get(api)
        if counts is None:
            counts = self._outcomes[api] = dict.fromkeys(_OUTCOMES, 0)
        counts[outcome] += 1
        if code is not None:
            self._errors[code] += 1
        return code

    def _latency(self, api: str) -> float:
        base = self.latency.of(api)
        if base > 0 and self.latency.jitter > 0:
            jitter = self.latency.jitter
            return base * (1 + self._jitter_rng.uniform(-jitter, jitter))
        return base

    def _injected(self, api: str, at: float) -> str | None:
        for rule in self.faults:
            if not rule.active(api, at) or rule.rate <= 0:
                continue
            if rule.rate >= 1 or self._fault_rng.random() < rule.rate:
                return rule.code
        return None

    # -- the call families -------------------------------------------------------------

    # Each family is one method (self, run, owner, action); _FAMILIES maps action types to
    # them, for submit and execute alike.

    def _grow(self, run: _Run, owner: _Node, action: AllocateIPs | AllocatePrefixes) -> Event:
        """Fill an attached ENI, as ipamd's tryAssignIPs / tryAssignPrefixes (ipamd.go) do."""
        self._owned(owner, action.eni_id)
        prefixes = isinstance(action, AllocatePrefixes)
        eni_id = action.eni_id
        if action.count < 1:
            # awsutils.go AllocIPAddresses returns before calling EC2 when asked for nothing.
            return PrefixesAllocated(eni_id, ()) if prefixes else IPsAllocated(eni_id, ())
        result: list[Event] = []
        count = action.count

        def assign() -> str | None:
            eni = self._enis.get(eni_id)
            if eni is None:
                return Ec2Error.NOT_FOUND
            if count > self._room(eni):
                return Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED
            subnet = self._subnets[eni.subnet]
            taken = subnet.take_prefixes(count) if prefixes else subnet.take_ips(count)
            if not taken:
                if prefixes:
                    return Ec2Error.INSUFFICIENT_CIDR_BLOCKS
                return Ec2Error.INSUFFICIENT_FREE_ADDRESSES
            result.append(self._add(eni, prefixes, taken))
            return None

        code = self._call(run, ASSIGN, assign)
        # tryAssignIPs / tryAssignPrefixes answer any error but the address limit with one more
        # AllocIPAddresses asking for a single address or prefix. They never look at the count
        # of the first call, so a failed call for one is made a second time too.
        if code is not None and code != Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED:
            count = 1
            code = self._call(run, ASSIGN, assign)
        if code is None:
            return result[0]
        if code != Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED:
            return AllocationFailed(code)
        # At the limit the datastore is out of step with EC2: ipamd reads the ENI's addresses
        # back from EC2 (GetIPv4sFromEC2 / GetIPv4PrefixesFromEC2, one Describe).
        code = self._call(
            run, DESCRIBE, lambda: None if eni_id in self._enis else Ec2Error.NOT_FOUND
        )
        if code is not None:
            return AllocationFailed(code)
        return self._report(self._enis[eni_id], prefixes)

    def _create(self, run: _Run, owner: _Node, action: AllocateENI) -> Event:
        """A new ENI, as awsutils.go AllocENI makes it: create, attach, DeleteOnTermination."""
        cards = owner.limits.card_indices
        if action.network_card not in cards:
            raise StateError(
                "network_card", action.network_card, f"node {owner.name!r} has cards {cards}"
            )
        created: list[_FakeENI] = []

        def create() -> str | None:
            carved = self._carve(self._subnets[owner.subnet], action.count, action.prefixes)
            if isinstance(carved, str):
                return carved
            created.append(self._new_eni(owner, action, *carved))
            return None

        code = self._call(run, CREATE, create)
        if code is not None:
            return AllocationFailed(code)
        eni = created[0]
        # ipamd picks the lowest free device number (reading the instance with DescribeInstances,
        # a call the fake does not model); EC2 refuses the attach at the card's ENI limit.
        code = self._call(
            run,
            ATTACH,
            lambda: None if self._attach(eni, owner) else Ec2Error.ATTACHMENT_LIMIT_EXCEEDED,
        )
        if code is not None:
            # AllocENI deletes the ENI it could not attach.
            self._delete(run, eni)
            return AllocationFailed(code)
        code = self._call(run, MODIFY, _ok)
        if code is not None:
            # AllocENI frees (describe, detach, delete) an ENI whose attribute it could not set.
            self._free(run, eni.eni_id)
            return AllocationFailed(code)
        return self._attached(eni)

    def _release_ips(self, run: _Run, owner: _Node, action: ReleaseIPs) -> None:
        self._owned(owner, action.eni_id)
        ips = [ip_to_int(text) for text in action.addresses]
        self._call(run, UNASSIGN, lambda: self._unassign(action.eni_id, ips, []))

    def _release_prefixes(self, run: _Run, owner: _Node, action: ReleasePrefixes) -> None:
        self._owned(owner, action.eni_id)
        prefixes = [parse_cidr(text)[0] for text in action.prefixes]
        self._call(run, UNASSIGN, lambda: self._unassign(action.eni_id, [], prefixes))

    def _free_eni(self, run: _Run, owner: _Node, action: FreeENI) -> None:
        self._owned(owner, action.eni_id)
        self._free(run, action.eni_id)

    def _unassign(self, eni_id: str, ips: list[int], prefixes: list[int]) -> str | None:
        eni = self._enis.get(eni_id)
        if eni is None:
            return Ec2Error.NOT_FOUND
        for ip in ips:
            if ip in eni.ips:
                eni.ips.discard(ip)
                self._release_ip(ip)
        for prefix in prefixes:
            if prefix in eni.prefixes:
                eni.prefixes.discard(prefix)
                self._release_prefix(prefix)
        return None

    def _free(self, run: _Run, eni_id: str) -> None:
        """Detach and delete, as awsutils.go freeENI does after looking up the attachment."""
        code = self._call(
            run, DESCRIBE, lambda: None if eni_id in self._enis else Ec2Error.NOT_FOUND
        )
        if code is not None:
            return  # NotFound: already gone; any other error: the ENI stays attached
        eni = self._enis[eni_id]

        def detach() -> str | None:
            self._drop(eni)
            return None

        if self._call(run, DETACH, detach) is None:
            self._delete(run, eni)

    def _delete(self, run: _Run, eni: _FakeENI) -> None:
        """DeleteNetworkInterface on a detached ENI; on failure it leaks with its addresses."""
        if self._call(run, DELETE, _ok) is None:
            self._release_eni(eni)
        else:
            self._leaked[eni.eni_id] = eni


_FAMILIES: dict[type, Callable[[FakeEC2, _Run, _Node, Any], Event | None]] = {
    AllocateIPs: FakeEC2._grow,
    AllocatePrefixes: FakeEC2._grow,
    AllocateENI: FakeEC2._create,
    ReleaseIPs: FakeEC2._release_ips,
    ReleasePrefixes: FakeEC2._release_prefixes,
    FreeENI: FakeEC2._free_eni,
}
"""The call family of each action type: the one implementation ``submit`` and ``execute``
share."""


def _family(action: object) -> Callable[[FakeEC2, _Run, _Node, Any], Event | None]:
    family = _FAMILIES.get(type(action))
    if family is None:
        raise StateError("action", action, "not an action FakeEC2 knows")
    return family
