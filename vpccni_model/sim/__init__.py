"""Event-driven what-if simulation of nodes and clusters on the pure core.

``simulate(SimulationSpec(...))`` runs nodes with the real ``reconcile``, ``apply`` and pod
path against one shared :class:`~vpccni_model.cloud.FakeEC2`, and returns metrics.
"""

from vpccni_model.sim.engine import Simulation, simulate
from vpccni_model.sim.fleet import SimulatedSubnetPlan, plan_subnet_simulated
from vpccni_model.sim.metrics import (
    NodeSample,
    Sample,
    SimulationResult,
    SubnetSample,
    Summary,
)
from vpccni_model.sim.spec import NodeSpec, SimulationSpec, cluster
from vpccni_model.sim.workloads import (
    Burst,
    Constant,
    Diurnal,
    PodEvent,
    PoissonChurn,
    Ramp,
    Trace,
    Workload,
)

__all__ = [
    "Burst",
    "Constant",
    "Diurnal",
    "NodeSample",
    "NodeSpec",
    "PodEvent",
    "PoissonChurn",
    "Ramp",
    "Sample",
    "SubnetSample",
    "Simulation",
    "SimulationResult",
    "SimulationSpec",
    "SimulatedSubnetPlan",
    "Summary",
    "Trace",
    "Workload",
    "cluster",
    "plan_subnet_simulated",
    "simulate",
]
