"""What a simulation runs: the nodes (``NodeSpec``, ``cluster``) and the whole run
(``SimulationSpec``). Plain values, shared by the engine and the metrics it records.
"""

from __future__ import annotations

import math

import attrs

from vpccni_model._config import Config
from vpccni_model._errors import ConfigError
from vpccni_model._limits import InstanceLimits
from vpccni_model.cloud import FaultRule, Latency, Throttle
from vpccni_model.sim.workloads import Workload


@attrs.frozen
class NodeSpec:
    """One node of the cluster: its type, the aws-node configuration, its subnet."""

    name: str
    limits: InstanceLimits
    config: Config
    subnet: str | None = None
    boot_at: float = 0.0


@attrs.frozen
class SimulationSpec:
    """Everything a run depends on; the same spec and seed give the same result."""

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

    def __attrs_post_init__(self) -> None:
        if not self.nodes:
            raise ConfigError("nodes", self.nodes, "a simulation needs at least one node")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ConfigError("nodes", names, "node names must be unique")
        for field in ("duration", "sample_interval", "pod_retry_interval", "pod_timeout"):
            value = getattr(self, field)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(field, value, "must be a finite number of seconds > 0")


def cluster(
    instance: InstanceLimits,
    config: Config,
    count: int,
    *,
    subnet: str | None = None,
    prefix: str = "node",
) -> tuple[NodeSpec, ...]:
    """``count`` identical nodes named ``node-000`` ... (boot times all 0)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError("nodes", count, "must be an int >= 1")
    width = max(3, len(str(count - 1)))
    return tuple(
        NodeSpec(f"{prefix}-{i:0{width}d}", instance, config, subnet) for i in range(count)
    )
