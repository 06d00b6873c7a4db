"""What a simulation runs: the nodes (``NodeSpec``, ``cluster``) and the whole run
(``SimulationSpec``). Plain values, shared by the engine and the metrics it records.
"""

from __future__ import annotations

import math

import attrs

from vpccni_model._checks import int_at_least
from vpccni_model._config import Config, fixed_at_boot
from vpccni_model._eniconfig import ENIConfig, NoENIConfig, as_eni_config, stand_in_eni_config
from vpccni_model._errors import ConfigError
from vpccni_model._iteration import GO_RANDOM, KINDS, IterationPolicy, Kind, mix, text_key
from vpccni_model._limits import HOST_NETWORK_PODS, InstanceLimits
from vpccni_model._state import NodeState
from vpccni_model.cloud import FaultRule, Latency, SdkRetry, Throttle
from vpccni_model.sim.workloads import Trace, Workload


@attrs.frozen
class NodeSpec:
    """One node of the cluster: its type, the aws-node configuration, its subnet.

    ``host_network_pods`` (aws-node, kube-proxy, ...) count against kubelet's max pods but
    take no pod IP: the scheduler puts at most ``max_pods - host_network_pods`` pods on it.
    ``initial_state``, when given, is where the node starts instead of a fresh boot (e.g. a
    live node from ``node_dump``): same limits and boot configuration, clock not after
    ``boot_at``; its pods keep their addresses and the workload's come on top.
    ``iteration``, if set, is this node's iteration policy; otherwise the run's
    (``SimulationSpec.iteration``).
    ``eni_config`` is the node's ENIConfig for custom networking (its subnet one of the run's
    subnets); None gives a custom-networking node one for its own subnet, and a
    ``NoENIConfig`` leaves it without one (ipamd then creates no ENI, spec 1.5.1).
    """

    name: str
    limits: InstanceLimits
    config: Config
    subnet: str | None = None
    boot_at: float = 0.0
    host_network_pods: int = attrs.field(default=HOST_NETWORK_PODS, validator=int_at_least(0))
    initial_state: NodeState | None = None
    iteration: IterationPolicy | None = None
    eni_config: ENIConfig | NoENIConfig | None = None

    def __attrs_post_init__(self) -> None:
        if self.iteration is not None and not isinstance(self.iteration, IterationPolicy):
            raise ConfigError("iteration", self.iteration, "must be an IterationPolicy or None")
        as_eni_config(self.eni_config)
        state = self.initial_state
        if state is None:
            return
        if not isinstance(state, NodeState):
            raise ConfigError("initial_state", state, "must be a NodeState or None")
        if state.limits != self.limits:
            raise ConfigError("initial_state", state.limits.name, f"is not a {self.limits.name}")
        fixed_at_boot(state.config, self.config, self.limits)
        if state.clock > self.boot_at:
            raise ConfigError("initial_state", state.clock, f"clock after boot_at {self.boot_at}")


@attrs.frozen
class SimulationSpec:
    """Everything a run depends on; the same spec and seed give the same result.

    ``iteration`` is the nodes' order at Go's map iterations (spec 9): ``"go-random"`` (the
    default: the figures estimate what real nodes do) seeds each node from the run's seed and
    its name; ``"ordered"`` is the model's documented order, for exact replay.
    ``trunk_controller`` lets the fake EC2 play the VPC resource controller: a node with
    ENABLE_POD_ENI gets its trunk ENI when ipamd signals (``FakeEC2(trunk_controller=...)``).
    ``subnet_tags`` gives subnets their EC2 tags, ``(name, ((key, value), ...))``: subnet
    discovery (on by default) uses a subnet other than a node's own only when it is tagged
    ``kubernetes.io/role/cni`` (spec 6.4). All subnets are in one zone. ``sdk_retry`` is the
    AWS SDK retryer of each node's EC2 client (``FakeEC2(retry=...)``): by default the SDK's
    standard retryer that ipamd runs with, 3 attempts; ``SdkRetry.none()`` hands every
    throttle to ipamd at once.
    """

    nodes: tuple[NodeSpec, ...]
    workload: Workload
    duration: float
    seed: int = 0
    subnets: tuple[tuple[str, str], ...] = (("subnet-a", "10.0.0.0/16"),)
    latency: Latency = attrs.Factory(Latency)
    throttle: Throttle | None = attrs.Factory(Throttle)
    faults: tuple[FaultRule, ...] = ()
    sample_interval: float = 60.0
    pod_retry_interval: float = 1.0
    pod_timeout: float = 600.0
    per_node_series: bool = True
    iteration: Kind = GO_RANDOM
    trunk_controller: bool = False
    subnet_tags: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    sdk_retry: SdkRetry = attrs.Factory(SdkRetry)

    def __attrs_post_init__(self) -> None:
        # Python's Random takes |seed| (so -1 would replay 1) and accepts text and floats.
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ConfigError("seed", seed, "must be an int >= 0 (and < 2**63)")
        if not isinstance(self.sdk_retry, SdkRetry):
            raise ConfigError("sdk_retry", self.sdk_retry, "must be an SdkRetry")
        if not isinstance(self.trunk_controller, bool):
            raise ConfigError("trunk_controller", self.trunk_controller, "must be a bool")
        if self.iteration not in KINDS:
            raise ConfigError("iteration", self.iteration, f"must be one of {', '.join(KINDS)}")
        if not self.nodes:
            raise ConfigError("nodes", self.nodes, "a simulation needs at least one node")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ConfigError("nodes", names, "node names must be unique")
        for field in ("duration", "sample_interval", "pod_retry_interval", "pod_timeout"):
            value = getattr(self, field)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(field, value, "must be a finite number of seconds > 0")
        subnets = [name for name, _ in self.subnets]
        for entry in self.subnet_tags:
            if not (isinstance(entry, tuple) and len(entry) == 2 and entry[0] in subnets):
                raise ConfigError("subnet_tags", entry, f"expected (one of {subnets}, tags)")
            tags = entry[1]
            if not isinstance(tags, tuple) or not all(
                isinstance(t, tuple) and len(t) == 2 and all(type(x) is str for x in t)
                for t in tags
            ):
                raise ConfigError("subnet_tags", entry, "tags are ((key, value), ...) of str")
        for node in self.nodes:
            eni_config = node.eni_config
            if isinstance(eni_config, ENIConfig) and eni_config.subnet not in subnets:
                raise ConfigError(
                    "eni_config", eni_config.subnet, f"not one of the run's subnets {subnets}"
                )
        if isinstance(self.workload, Trace):  # every node a trace names exists, before the run
            unknown = {e.node for e in self.workload.rows if e.node is not None} - set(names)
            if unknown:
                known = ", ".join(names) if len(names) <= 3 else f"{names[0]} ... {names[-1]}"
                raise ConfigError("trace node", min(unknown), f"not a node of the run ({known})")


def node_iteration(spec: SimulationSpec, node: NodeSpec) -> IterationPolicy:
    """The policy ``node`` runs under: its own, else the run's, seeded by run seed and name."""
    if node.iteration is not None:
        return node.iteration
    if spec.iteration == GO_RANDOM:
        return IterationPolicy.go_random(mix(spec.seed, text_key(node.name)))
    return IterationPolicy.ordered()


def node_eni_config(spec: SimulationSpec, node: NodeSpec) -> ENIConfig | None:
    """The ENIConfig ``node`` boots with: its own; for none given, one for its own subnet when
    it runs custom networking (``stand_in_eni_config``); a ``NoENIConfig`` is none."""
    if node.eni_config is not None:
        return as_eni_config(node.eni_config)
    own = node.subnet if node.subnet is not None else spec.subnets[0][0]
    return stand_in_eni_config(node.config, own)


def cluster(
    instance: InstanceLimits,
    config: Config,
    count: int,
    *,
    subnet: str | None = None,
    prefix: str = "node",
    host_network_pods: int = HOST_NETWORK_PODS,
    eni_config: ENIConfig | NoENIConfig | None = None,
) -> tuple[NodeSpec, ...]:
    """``count`` identical nodes named ``node-000`` ... (boot times all 0), each with
    ``eni_config`` (see :class:`NodeSpec`)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError("nodes", count, "must be an int >= 1")
    width = max(3, len(str(count - 1)))
    return tuple(
        NodeSpec(
            f"{prefix}-{i:0{width}d}",
            instance,
            config,
            subnet,
            0.0,
            host_network_pods,
            eni_config=eni_config,
        )
        for i in range(count)
    )
