"""Steady state: what a node holds once ipamd has settled, for a given pod count.

This is the question the upstream docs tables answer. The node boots, converges, and then
pods are added one at a time, converging after each, against a cooperative
:class:`~vpccni_model.cloud.FakeEC2` that answers every call at once.
"""

from __future__ import annotations

import attrs

from vpccni_model._checks import is_int
from vpccni_model._config import Config
from vpccni_model._eniconfig import stand_in_eni_config
from vpccni_model._errors import ConfigError, NoAvailableIPError, StateError
from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._ipv6 import pool_size as ipv6_pool_size
from vpccni_model._iteration import DEFAULT as ORDERED_ITERATION
from vpccni_model._iteration import IterationPolicy
from vpccni_model._limits import HOST_NETWORK_PODS, InstanceLimits
from vpccni_model._pods import assign_pod_ip
from vpccni_model._state import NodeState
from vpccni_model.cloud import DEFAULT_SUBNET, Ec2, FakeEC2, run_tick
from vpccni_model.pool import datastore_stats, effective_max_pods

DEFAULT_MAX_TICKS = 2_000
"""Ticks ``converge`` runs before it reports that the node never settles."""


@attrs.frozen
class Convergence:
    """The result of :func:`converge`: ``settled`` is False when ipamd keeps acting (a churn
    quirk such as Q5, Q6 or E0) or waits on a call that never returns."""

    state: NodeState
    clock: float
    settled: bool
    ticks: int


def _check_max_ticks(max_ticks: object) -> None:
    if not is_int(max_ticks) or max_ticks < 1:
        raise ConfigError("max_ticks", max_ticks, "must be an int >= 1")


def converge(
    state: NodeState,
    config: Config,
    ec2: Ec2,
    clock: float,
    *,
    max_ticks: int = DEFAULT_MAX_TICKS,
) -> Convergence:
    """Run pool ticks until one acts on nothing and no timer can change a decision.

    Each tick is driven to its end by :func:`~vpccni_model.cloud.run_tick` (every call
    executed by ``ec2`` at once, its outcome applied at the same clock); idle time is skipped
    by jumping to ``next_check_at``.
    """
    if not (
        isinstance(state, NodeState)
        and isinstance(config, Config)
        and isinstance(ec2, FakeEC2 | Ec2)  # the fake first: a protocol check is slower
        and type(max_ticks) is int
        and max_ticks >= 1
    ):  # the common case costs one test; the checks below name what is wrong
        if not isinstance(state, NodeState):
            raise StateError("state", state, "must be a NodeState")
        if not isinstance(config, Config):
            raise ConfigError("config", config, "must be a Config")
        if not isinstance(ec2, Ec2):
            raise StateError("ec2", ec2, "must be an EC2 driver (vpccni_model.cloud.Ec2)")
        _check_max_ticks(max_ticks)
    # The clock, and the config against the node's, are checked by the first reconcile.
    # A tick that acts on nothing can still re-stamp a timer (a decrease with nothing left to
    # release stamps the decrease interval, spec 7.3), so "no time-based change pending" is
    # not the only way to be settled: no action for longer than every timer also is.
    quiet_for = (
        max(
            config.decrease_interval,
            config.min_eni_lifetime,
            config.insufficient_cidr_backoff,
            state.config.ip_cooldown_period,
        )
        + config.pool_check_interval
    )
    quiet_since: float | None = None
    for tick in range(1, max_ticks + 1):
        run = run_tick(state, config, ec2, clock)
        state = run.state
        if not run.actions and state.in_flight is None:
            if quiet_since is None:
                quiet_since = clock
            if run.next_check_at is None or clock - quiet_since > quiet_for:
                return Convergence(state, clock, True, tick)
            clock = run.next_check_at
        elif state.in_flight is not None:
            return Convergence(state, clock, False, tick)  # an allocation the driver never answered
        else:
            quiet_since = None
            clock = (
                clock + config.pool_check_interval
                if run.next_check_at is None
                else run.next_check_at
            )
    return Convergence(state, clock, False, max_ticks)


@attrs.frozen
class SteadyState:
    """A settled node.

    ``cidrs_per_eni`` counts the CIDRs of the current mode (secondary IPs, or prefixes in
    prefix mode) on each ENI, primary ENI first, card by card. ``total_ips`` and
    ``unused_ips`` are ipamd's ``TotalIPs`` and ``TotalIPs - AssignedIPs`` summed over cards:
    the pool, which leaves out each ENI's primary address. ``subnet_addresses`` is what the
    node takes from its subnet: every ENI's primary address, its secondary IPs and 16 per /28
    prefix. ``pods_placed`` hold an IP; ``pods_unschedulable`` are those kubelet does not
    admit (beyond max pods less the host-network pods). ``pods_placed`` can also fall short of
    the admitted pods when the pool cannot grow (MINIMUM_IP_TARGET alone, Q21, the max-pods
    cap, the ENI limits); ``settled`` is False when ipamd keeps churning at this load.
    """

    enis: int
    cidrs_per_eni: tuple[int, ...]
    prefixes: int
    total_ips: int
    unused_ips: int
    pods: int
    pods_placed: int
    settled: bool
    state: NodeState = attrs.field(eq=False, repr=False)
    subnet_addresses: int = 0
    pods_unschedulable: int = 0


def summarize(state: NodeState, pods: int, settled: bool, unschedulable: int = 0) -> SteadyState:
    """Describe a state in the docs tables' terms."""
    pd = state.prefix_delegation
    enis = state.enis
    total = assigned = 0
    for ds in state.datastores:
        stats = datastore_stats(ds, pd)
        total += stats.total_ips
        assigned += stats.assigned_ips
    prefixes = sum(e.prefix_cidrs for e in enis)
    subnet = len(enis) + sum(e.ip_cidrs for e in enis) + PREFIX_SIZE * prefixes
    if state.config.enable_ipv6:  # /80s (_ipv6): 2**48 addresses each, from the IPv6 CIDR
        (total, assigned), subnet = ipv6_pool_size(state), len(enis)
    return SteadyState(
        enis=len(enis),
        cidrs_per_eni=tuple(e.prefix_cidrs if pd else e.ip_cidrs for e in enis),
        prefixes=prefixes,
        total_ips=total,
        unused_ips=total - assigned,
        pods=pods,
        pods_placed=len(state.pods),
        settled=settled,
        state=state,
        subnet_addresses=subnet,
        pods_unschedulable=unschedulable,
    )


def steady_state(
    limits: InstanceLimits,
    config: Config,
    pods: int,
    *,
    host_network_pods: int = HOST_NETWORK_PODS,
    max_ticks: int = DEFAULT_MAX_TICKS,
    iteration: IterationPolicy = ORDERED_ITERATION,
) -> SteadyState:
    """Boot a node, converge, then add ``pods`` pods one by one, converging after each.

    ``iteration`` is the node's order at Go's map iterations (spec 9; the docs tables use
    the default, ``ordered``).

    Kubelet admits at most max pods less ``host_network_pods`` (aws-node, kube-proxy: they
    count against max pods but take no pod IP) pods that need an IP; the rest are
    ``pods_unschedulable`` and never reach ipamd.
    """
    if isinstance(pods, bool) or not isinstance(pods, int) or pods < 0:
        raise ConfigError("pods", pods, "must be an int >= 0")
    if isinstance(host_network_pods, bool) or not isinstance(host_network_pods, int):
        raise ConfigError("host_network_pods", host_network_pods, "must be an int >= 0")
    if host_network_pods < 0:
        raise ConfigError("host_network_pods", host_network_pods, "must be an int >= 0")
    _check_max_ticks(max_ticks)
    if not isinstance(iteration, IterationPolicy):
        raise ConfigError("iteration", iteration, "must be an IterationPolicy")
    stand_in = stand_in_eni_config(config, DEFAULT_SUBNET)  # custom networking: own subnet
    state = NodeState.boot(limits, config, clock=0.0, iteration=iteration, eni_config=stand_in)
    admitted = min(pods, max(effective_max_pods(limits, state.config) - host_network_pods, 0))
    ec2 = FakeEC2.for_node(state)
    result = converge(state, config, ec2, 0.0, max_ticks=max_ticks)
    state, clock, settled = result.state, result.clock, result.settled
    for index in range(admitted):
        pod = f"pod-{index}"
        try:
            state, _ = assign_pod_ip(state, config, pod, clock)
        except NoAvailableIPError:
            # The CNI retries; ipamd grows the pool on its next ticks.
            clock += config.pool_check_interval
            result = converge(state, config, ec2, clock, max_ticks=max_ticks)
            state, clock = result.state, result.clock
            try:
                state, _ = assign_pod_ip(state, config, pod, clock)
            except NoAvailableIPError:
                settled = settled and result.settled
                break
        clock += config.pool_check_interval
        result = converge(state, config, ec2, clock, max_ticks=max_ticks)
        state, clock, settled = result.state, result.clock, result.settled
    return summarize(state, pods, settled, pods - admitted)
