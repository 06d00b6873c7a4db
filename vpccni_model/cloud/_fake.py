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
results. What the fake holds (subnets, nodes, ENIs) is :class:`Inventory`, its base class.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from vpccni_model._actions import (
    Action,
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
from vpccni_model._checks import is_number
from vpccni_model._errors import ConfigError, StateError
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    Event,
    IPsAllocated,
    IPv6PrefixAllocated,
    PrefixesAllocated,
)
from vpccni_model._ipv4 import ip_to_int, parse_cidr
from vpccni_model._limits import InstanceLimits
from vpccni_model._state import NodeState
from vpccni_model.cloud._api import (
    APIS_OF,
    ASSIGN,
    ASSIGN_IPV6,
    ATTACH,
    CREATE,
    DELETE,
    DESCRIBE,
    DETACH,
    EC2_APIS,
    FAILED,
    MODIFY,
    OK,
    OUTCOMES,
    THROTTLED,
    UNASSIGN,
    CallResult,
    CloudStats,
    FaultRule,
    Latency,
    SubnetStats,
    Throttle,
)
from vpccni_model.cloud._cost import Bucket, Meter
from vpccni_model.cloud._inventory import (
    DEFAULT_IPV6_SUBNET,
    DEFAULT_NODE,
    FakeENI,
    FakeNode,
    Inventory,
)
from vpccni_model.cloud._retry import Retrier, RetryQuota, SdkRetry
from vpccni_model.cloud._run import AT_ONCE, PendingCalls, Run, Steps

DEFAULT_SUBNET = "10.0.0.0/16"


def _ok() -> str | None:
    return None


class FakeEC2(Inventory):
    """Deterministic EC2 for a cluster: subnets shared by nodes, each node with its own limits.

    ``FakeEC2(limits, subnet)`` is the single-node form: one subnet (named by its CIDR text)
    and the node :data:`DEFAULT_NODE` with ``limits``. For a cluster, give ``subnets`` (name to
    CIDR; the first is the default) and add nodes with :meth:`register_node` or
    :meth:`boot_node`. ENI ids are unique across the cluster; device numbers and the per-card
    ENI limit are per node; the per-ENI address limit uses the owning node's limits.
    ``subnet_tags`` (subnet name to its EC2 tags) and ``subnet_zones`` (name to availability
    zone; default "" for all) are what subnet discovery reads: an ``AllocateENI`` goes where
    its destination says (``_subnets``; ``discovery_order`` for discovery), and lives in and
    takes its addresses from that subnet.

    IPv6 nodes' /80s come from ``ipv6_subnet`` (one IPv6 CIDR for the whole fake), lowest
    free first.

    It satisfies :class:`~vpccni_model.cloud.Ec2` (``submit``, ``execute``, ``observe``,
    ``subnet_free``); registration and ``stats`` are the fake's own.

    ``submit`` models only what is configured: ``latency=None`` is :meth:`Latency.zero`,
    ``throttle=None`` never throttles, no ``faults`` injects nothing. ``seed`` seeds the
    generators behind fault rates and latency jitter (one each: turning jitter on does not
    shift the sequence of fault draws).

    ``SignalTrunkENI`` (ipamd's CNINode write for security groups for pods) makes no EC2 call.
    With ``trunk_controller=True`` the fake also plays the VPC resource controller: the
    signal attaches a trunk ENI to card 0 at once (lowest free device, only a primary
    address), which ``observe`` lists with ``is_trunk``, so the node's next metadata reconcile
    takes it in and the trunk holds its ENI slot. The controller's own EC2 calls are not
    counted (``calls`` counts ipamd's). Off by default: the signal then changes nothing.

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
        subnet_tags: Mapping[str, Mapping[str, str]] | None = None,
        subnet_zones: Mapping[str, str] | None = None,
        seed: int = 0,
        latency: Latency | None = None,
        throttle: Throttle | None = None,
        faults: Sequence[FaultRule] = (),
        trunk_controller: bool = False,
        ipv6_subnet: str = DEFAULT_IPV6_SUBNET,
        retry: SdkRetry | None = None,
    ) -> None:
        if subnets is None:
            subnets = {subnet: subnet}
        elif subnet != DEFAULT_SUBNET:
            raise StateError("subnet", subnet, "give either subnet or subnets, not both")
        super().__init__(subnets, subnet_tags, subnet_zones, ipv6_subnet)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError("seed", seed, "must be an int")
        if latency is not None and not isinstance(latency, Latency):
            raise ConfigError("latency", latency, "must be a Latency")
        if throttle is not None and not isinstance(throttle, Throttle):
            raise ConfigError("throttle", throttle, "must be a Throttle")
        if isinstance(faults, str | bytes) or not all(isinstance(f, FaultRule) for f in faults):
            raise ConfigError("faults", faults, "must be a sequence of FaultRule")
        if retry is not None and not isinstance(retry, SdkRetry):
            raise ConfigError("retry", retry, "must be an SdkRetry")
        if not isinstance(trunk_controller, bool):
            raise ConfigError("trunk_controller", trunk_controller, "must be a bool")
        self.trunk_controller = trunk_controller
        self.seed = seed
        self.latency = latency if latency is not None else Latency.zero()
        self.throttle = throttle
        self.faults: tuple[FaultRule, ...] = tuple(faults)
        self.retry = retry
        # Each node's SDK client's retry quota, made at its first call (``restart_client``).
        self._quotas: dict[str, RetryQuota] = {}
        self._meter = Meter(seed, self.latency, throttle, self.faults)
        buckets = self._meter.buckets
        self._buckets_of = {
            kind: [(api, buckets[api]) for api in apis] for kind, apis in APIS_OF.items()
        }
        self.limits = limits
        # API -> outcome -> calls; stats shows only the APIs called
        self._outcomes = {api: dict.fromkeys(OUTCOMES, 0) for api in sorted(EC2_APIS)}
        self._errors: Counter[str] = Counter()
        if limits is not None:
            self.register_node(DEFAULT_NODE, limits)

    @classmethod
    def for_node(cls, state: NodeState, subnet: str = DEFAULT_SUBNET) -> FakeEC2:
        """A fake that already holds every ENI and CIDR of ``state`` (as :data:`DEFAULT_NODE`)."""
        ec2 = cls(state.limits, subnet)
        ec2._register_state(DEFAULT_NODE, state)
        return ec2

    @property
    def calls(self) -> Counter[str]:
        """The API calls made, by API name (every outcome; a fresh Counter per read)."""
        made = ((api, sum(counts.values())) for api, counts in self._outcomes.items())
        return Counter({api: n for api, n in made if n})

    @property
    def stats(self) -> CloudStats:
        """Per-API outcome counters, errors by code, free space per subnet, leaked ENIs."""
        api = {
            name: MappingProxyType(dict(counts))
            for name, counts in self._outcomes.items()
            if any(counts.values())
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
        - SignalTrunkENI: no EC2 call (a Kubernetes write); with ``trunk_controller`` a trunk
          ENI is attached at once.
        - FreeENI: Describe (ipamd looks up the attachment; NotFound counts as done), Detach,
          Delete. A failed Describe or Detach leaves the ENI attached; a failed Delete leaves
          it detached but holding its addresses (``stats.leaked_enis``). ipamd's retry loops
          around Detach and Delete are not modelled: one failure stands for the loop giving up.

        Releases and frees return ``event=None``. ``at`` must not be earlier than the ``at``
        of an earlier submit that used an API bucket this action may use (StateError). A bucket's
        clock only moves forward: a call made before the latest call the bucket has seen
        (a long family submitted earlier, such as an ENI attach, overlaps it) refills nothing
        and is charged at that latest time.

        With ``retry`` (the SDK's retryer, ``SdkRetry``), a call that fails with an error the
        SDK retries is made again after its backoff, and the family waits for that retry:
        the result is then a step (``pending`` set, see :class:`CallResult`) and the family
        goes on with :meth:`resume` at ``completes_at``, so that every retry takes its token
        in time order with the other nodes' calls.
        """
        owner = self._node(node)
        if not is_number(at) or not math.isfinite(at):
            raise StateError("at", at, "must be a finite number of seconds")
        family = _FAMILIES.get(type(action))
        if family is None:
            raise StateError("action", action, "not an action FakeEC2 knows")
        self._check_clocks(self._buckets_of[type(action)], at)
        start = float(at)
        run = Run(start, retrier=self._retrier(owner.name))
        return self._step(owner.name, run, family(self, run, owner, action), start)

    def resume(self, pending: PendingCalls) -> CallResult:
        """Go on with a family that waits for an SDK retry, at the retry's time
        (``pending.at``, the ``completes_at`` of the step that returned it): the next step,
        reported as :meth:`submit` reports the first."""
        if not isinstance(pending, PendingCalls):
            raise StateError("pending", pending, "must be a CallResult's pending")
        if not pending.live:
            raise StateError("pending", pending.node, "its client was restarted (restart_client)")
        if pending.resumed:
            raise StateError("pending", pending.node, "already resumed: resume the newest step")
        pending.resumed = True
        run = pending.run
        self._check_clocks(self._meter.buckets.items(), run.at)
        run.calls, run.errors, run.ended, run.apis = [], [], [], set()
        return self._step(pending.node, run, pending.steps, run.at)

    def restart_client(self, node: str) -> None:
        """``node``'s ipamd restarted: a new SDK client, with a full retry quota; the calls its
        old client was still retrying are abandoned (``resume`` refuses them)."""
        self._node(node)
        quota = self._quotas.pop(node, None)
        if quota is not None:
            quota.live = False

    def retry_quota(self, node: str) -> int | None:
        """The tokens left in the retry quota of ``node``'s SDK client (None without
        retries); a client that has made no call yet holds a full quota."""
        self._node(node)
        retry = self.retry
        if retry is None or not retry.retries:
            return None
        quota = self._quotas.get(node)
        return retry.quota if quota is None else quota.tokens

    def _retrier(self, node: str) -> Retrier | None:
        retry = self.retry
        if retry is None or not retry.retries:
            return None
        quota = self._quotas.get(node)
        if quota is None:
            quota = self._quotas[node] = RetryQuota(retry.quota)
        return Retrier(retry, quota, self._meter.backoff_rng)

    @staticmethod
    def _check_clocks(buckets: Iterable[tuple[str, Bucket]], at: float) -> None:
        for api, bucket in buckets:
            seen = bucket.submitted_at
            if at < seen:
                raise StateError("at", at, f"earlier than {seen}, already submitted ({api})")

    def _step(self, node: str, run: Run, steps: Steps, start: float) -> CallResult:
        """Run ``steps`` until the family ends or waits for a retry."""
        pending: PendingCalls | None = None
        try:
            next(steps)
        except StopIteration as done:
            event = done.value
        else:
            event, pending = None, PendingCalls(node, run, steps)
        buckets = self._meter.buckets
        for api in run.apis:
            bucket = buckets[api]
            bucket.submitted_at = max(bucket.submitted_at, start)
        return CallResult(
            event, run.at, tuple(run.calls), tuple(run.errors), pending, tuple(run.ended)
        )

    def execute(self, action: Action, *, node: str | None = None) -> Event | None:
        """Perform one action at once: :meth:`submit`'s call family, made and counted the same
        way (``calls`` and ``stats``), on a cooperative EC2 - no latency, no throttling, no
        injected fault, no retry, whatever the fake is configured with; no token is taken
        and no bucket's clock is checked or moved. Allocations return their outcome event,
        releases and frees None."""
        owner = self._node(node)
        family = _FAMILIES.get(type(action))
        if family is None:
            raise StateError("action", action, "not an action FakeEC2 knows")
        steps = family(self, AT_ONCE, owner, action)
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        raise AssertionError("a call made at once never waits")  # pragma: no cover

    def _call(
        self, run: Run, api: str, operation: Callable[..., str | None], *args: object
    ) -> Generator[None, None, str | None]:
        """One EC2 call: ``operation(*args)`` does its work and returns an error code or None.

        Submitted (``run.at_once`` false), the call is made at ``run.at``: throttle, then
        injected fault, then ``operation``; ``run.at`` advances by the call's latency. With the
        run's ``retrier`` a failure the SDK retries moves ``run.at`` on by the backoff and
        yields, and the attempt is made again when the family is resumed. Executed at once,
        only ``operation`` runs. Either way every attempt is counted, by outcome (``calls``
        and ``stats`` both read these counters).
        """
        code: str | None
        if run.at_once:
            code = operation(*args)
            self._outcomes[api][OK if code is None else FAILED] += 1
            if code is not None:
                self._errors[code] += 1
            return code
        meter = self._meter
        counts = self._outcomes[api]
        attempt = 1
        first = run.at
        while True:
            at = run.at
            run.at = at + meter.latency_of(api)
            run.apis.add(api)
            if not meter.buckets[api].take(at):
                code, outcome = Ec2Error.REQUEST_LIMIT_EXCEEDED, THROTTLED
            else:
                code = meter.injected(api, at)
                if code is None:
                    code = operation(*args)
                outcome = OK if code is None else FAILED
            run.calls.append((api, outcome))
            counts[outcome] += 1
            if code is not None:
                self._errors[code] += 1
                if outcome == FAILED:
                    run.errors.append((api, code))
            retrier = run.retrier
            wait = None if retrier is None else retrier.retry_after(code, attempt)
            if wait is None:
                run.ended.append((api, outcome, code, run.at - first))
                return code
            run.at += wait
            attempt += 1
            yield  # the retry is made at run.at, in time order with everyone's calls

    # -- the call families -------------------------------------------------------------

    # Each family is one method (self, run, owner, action); _FAMILIES maps action types to
    # them, for submit and execute alike.

    def _grow(self, run: Run, owner: FakeNode, action: AllocateIPs | AllocatePrefixes) -> Steps:
        """Fill an attached ENI, as ipamd's tryAssignIPs / tryAssignPrefixes (ipamd.go) do."""
        self._owned(owner, action.eni_id)
        prefixes = isinstance(action, AllocatePrefixes)
        eni_id = action.eni_id
        if action.count < 1:
            # awsutils.go AllocIPAddresses returns before calling EC2 when asked for nothing.
            return PrefixesAllocated(eni_id, ()) if prefixes else IPsAllocated(eni_id, ())
        result: list[Event] = []
        code = yield from self._call(
            run, ASSIGN, self._assign, eni_id, action.count, prefixes, result
        )
        # tryAssignIPs / tryAssignPrefixes answer any error but the address limit with one more
        # AllocIPAddresses asking for a single address or prefix. They never look at the count
        # of the first call, so a failed call for one is made a second time too.
        if code is not None and code != Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED:
            code = yield from self._call(run, ASSIGN, self._assign, eni_id, 1, prefixes, result)
        if code is None:
            return result[0]
        if code != Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED:
            return AllocationFailed(code)
        # At the limit the datastore is out of step with EC2: ipamd reads the ENI's addresses
        # back from EC2 (GetIPv4sFromEC2 / GetIPv4PrefixesFromEC2, one Describe).
        code = yield from self._call(
            run, DESCRIBE, lambda: None if eni_id in self._enis else Ec2Error.NOT_FOUND
        )
        if code is not None:
            return AllocationFailed(code)
        return self._report(self._enis[eni_id], prefixes)

    def _create(self, run: Run, owner: FakeNode, action: AllocateENI) -> Steps:
        """A new ENI, as awsutils.go AllocENI makes it: create, attach, DeleteOnTermination."""
        cards = owner.cards
        if action.network_card not in cards:
            raise StateError(
                "network_card", action.network_card, f"node {owner.name!r} has cards {cards}"
            )
        placement = self._placement(owner, action.destination)
        if isinstance(placement, str):
            return AllocationFailed(placement)  # ipamd's createENI gave up before any call
        names, groups, check_exclusion = placement
        created: list[FakeENI] = []

        def create(name: str) -> str | None:
            subnet = self._subnets.get(name)
            if subnet is None:
                return Ec2Error.SUBNET_NOT_FOUND
            carved = subnet.carve(action.count, action.prefixes)
            if isinstance(carved, str):
                return carved
            created.append(self._new_eni(owner, action, *carved, name, groups))
            return None

        # One CreateNetworkInterface per subnet until one succeeds; the last error stands.
        # (The DescribeSubnets calls around it, GetVpcSubnets and IsSubnetExcluded, are not
        # made or counted.)
        code: str | None = None
        for name in names:
            code = yield from self._call(run, CREATE, create, name)
            if code is None:
                break
        if code is not None:
            return AllocationFailed(code)
        eni = created[0]
        eni.is_excluded = check_exclusion and self._excluded(owner, eni.subnet)
        # ipamd picks the lowest free device number (reading the instance with DescribeInstances,
        # a call the fake does not model); EC2 refuses the attach at the card's ENI limit.
        return (yield from self._attach_created(run, eni, owner))

    def _attach_created(self, run: Run, eni: FakeENI, owner: FakeNode) -> Steps:
        """The rest of ``AllocENI`` after the create: attach, then DeleteOnTermination."""
        code = yield from self._call(
            run,
            ATTACH,
            lambda: None if self._attach(eni, owner) else Ec2Error.ATTACHMENT_LIMIT_EXCEEDED,
        )
        if code is not None:
            # AllocENI deletes the ENI it could not attach.
            yield from self._delete(run, eni)
            return AllocationFailed(code)
        code = yield from self._call(run, MODIFY, _ok)
        if code is not None:
            # AllocENI frees (describe, detach, delete) an ENI whose attribute it could not set.
            yield from self._free(run, eni.eni_id)
            return AllocationFailed(code)
        return self._attached(eni)

    def _create_ipv6(self, run: Run, owner: FakeNode, action: AllocateIPv6ENI) -> Steps:
        """An IPv6 node's new ENI (``createENIInput`` with Ipv6AddressCount=1): its primary
        IPv4 from the node's subnet (every ENI has one), no secondary address or prefix; the
        primary IPv6 address is not tracked (it is never a pod address). Create, attach and
        DeleteOnTermination fail as for ``AllocateENI``."""
        cards = owner.cards
        if action.network_card not in cards:
            raise StateError(
                "network_card", action.network_card, f"node {owner.name!r} has cards {cards}"
            )
        created: list[FakeENI] = []

        def create() -> str | None:
            carved = self._subnets[owner.subnet].carve(0, False)
            if isinstance(carved, str):
                return carved
            eni = FakeENI(
                self._new_eni_id(), action.network_card, -1, carved[0], node="",
                subnet=owner.subnet,
            )  # fmt: skip
            created.append(eni)
            return None

        code = yield from self._call(run, CREATE, create)
        if code is not None:
            return AllocationFailed(code)
        return (yield from self._attach_created(run, created[0], owner))

    def _ipv6_prefix(self, run: Run, owner: FakeNode, action: AllocateIPv6Prefix) -> Steps:
        """ipamd's ``assignIPv6Prefix``: Describe the ENI's IPv6 prefixes
        (GetIPv6PrefixesFromEC2); if it has none, AssignIpv6Addresses with one prefix. The
        answer lists every /80 the ENI then has, ascending (the fake's order)."""
        self._owned(owner, action.eni_id)
        eni_id = action.eni_id
        code = yield from self._call(
            run, DESCRIBE, lambda: None if eni_id in self._enis else Ec2Error.NOT_FOUND
        )
        if code is not None:
            return AllocationFailed(code)
        held = self.ipv6_prefixes(eni_id)
        if held:
            return IPv6PrefixAllocated(eni_id, held)
        result: list[Event] = []
        code = yield from self._call(run, ASSIGN_IPV6, self._assign_ipv6_prefix, eni_id, result)
        if code is not None:
            return AllocationFailed(code)
        return result[0]

    def _release_ips(self, run: Run, owner: FakeNode, action: ReleaseIPs) -> Steps:
        self._owned(owner, action.eni_id)
        ips = list(map(ip_to_int, action.addresses))
        yield from self._call(run, UNASSIGN, self._unassign, action.eni_id, ips, ())
        return None

    def _release_prefixes(self, run: Run, owner: FakeNode, action: ReleasePrefixes) -> Steps:
        self._owned(owner, action.eni_id)
        prefixes = [parse_cidr(text)[0] for text in action.prefixes]
        yield from self._call(run, UNASSIGN, self._unassign, action.eni_id, (), prefixes)
        return None

    def _signal_trunk(self, run: Run, owner: FakeNode, action: SignalTrunkENI) -> Steps:
        yield from ()  # no EC2 call: a step that never waits
        if self.trunk_controller:
            self._attach_trunk(owner)
        return None

    def _free_eni(self, run: Run, owner: FakeNode, action: FreeENI) -> Steps:
        self._owned(owner, action.eni_id)
        yield from self._free(run, action.eni_id)
        return None

    def _free(self, run: Run, eni_id: str) -> Generator[None, None, None]:
        """Detach and delete, as awsutils.go freeENI does after looking up the attachment."""
        code = yield from self._call(
            run, DESCRIBE, lambda: None if eni_id in self._enis else Ec2Error.NOT_FOUND
        )
        if code is not None:
            return  # NotFound: already gone; any other error: the ENI stays attached
        eni = self._enis[eni_id]

        def detach() -> str | None:
            self._drop(eni)
            return None

        if (yield from self._call(run, DETACH, detach)) is None:
            yield from self._delete(run, eni)

    def _delete(self, run: Run, eni: FakeENI) -> Generator[None, None, None]:
        """DeleteNetworkInterface on a detached ENI; on failure it leaks with its addresses."""
        if (yield from self._call(run, DELETE, _ok)) is None:
            self._release_eni(eni)
        else:
            self._leaked[eni.eni_id] = eni


_FAMILIES: dict[type, Callable[[FakeEC2, Run, FakeNode, Any], Steps]] = {
    AllocateIPs: FakeEC2._grow,
    AllocatePrefixes: FakeEC2._grow,
    AllocateENI: FakeEC2._create,
    AllocateIPv6ENI: FakeEC2._create_ipv6,
    AllocateIPv6Prefix: FakeEC2._ipv6_prefix,
    ReleaseIPs: FakeEC2._release_ips,
    ReleasePrefixes: FakeEC2._release_prefixes,
    FreeENI: FakeEC2._free_eni,
    SignalTrunkENI: FakeEC2._signal_trunk,
}
"""The call family of each action type: the one implementation ``submit`` and ``execute``
share."""
