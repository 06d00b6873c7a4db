"""vpccni_model: an executable reference of the Amazon VPC CNI's ipamd warm pool (IPv4).

Pure functions over immutable values: boot a node, run ``reconcile`` ticks, feed EC2
outcomes back with ``apply``, and assign or release pod addresses. See ``docs/model.md``.
"""

from vpccni_model._actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._config import MANIFEST_ENV, Config
from vpccni_model._errors import (
    ConfigError,
    NoAvailableIPError,
    StateError,
    UnexpectedEventError,
    UnknownInstanceTypeError,
    UnknownPodError,
    VpcCniModelError,
)
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    Event,
    IPsAllocated,
    MetadataObserved,
    NodeCordoned,
    NodeTerminating,
    NodeUncordoned,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model._lifecycle import restart
from vpccni_model._limits import InstanceLimits, NetworkCard, catalog, instance_limits, max_pods
from vpccni_model._model import ENI, Address, Cidr, Datastore, InFlight, NodeState, PodIP
from vpccni_model._pods import assign_pod_ip, take_outbox, unassign_pod_ip
from vpccni_model._steady import Convergence, SteadyState, converge, steady_state
from vpccni_model._tick import Reconciliation, apply, reconcile, reconcile_due
from vpccni_model.cloud import FakeEC2
from vpccni_model.pool import (
    PoolStats,
    TargetState,
    allocatable_enis,
    datastore_stats,
    deletable_eni,
    effective_max_pods,
    eni_resources_to_allocate,
    extra_prefixes_over_warm_target,
    freeable_cidrs,
    freeable_eni_exists,
    has_room_for_eni,
    pool_stats,
    pool_too_high,
    pool_too_low,
    prefix_target_state,
    prefixes_needed,
    should_remove_extra_enis,
    target_state,
)
from vpccni_model.serialize import from_json, to_json

__version__ = "0.1.0"

__all__ = [
    "MANIFEST_ENV",
    "ENI",
    "Action",
    "Address",
    "AllocateENI",
    "AllocateIPs",
    "AllocatePrefixes",
    "AllocationFailed",
    "Cidr",
    "Config",
    "ConfigError",
    "Convergence",
    "Datastore",
    "ENIAttached",
    "Ec2Error",
    "Event",
    "FakeEC2",
    "FreeENI",
    "IPsAllocated",
    "InFlight",
    "InstanceLimits",
    "MetadataObserved",
    "NetworkCard",
    "NoAvailableIPError",
    "NodeCordoned",
    "NodeState",
    "NodeTerminating",
    "NodeUncordoned",
    "ObservedENI",
    "PodIP",
    "PoolStats",
    "PrefixesAllocated",
    "Reconciliation",
    "ReleaseIPs",
    "ReleasePrefixes",
    "StateError",
    "SteadyState",
    "TargetState",
    "UnexpectedEventError",
    "UnknownInstanceTypeError",
    "UnknownPodError",
    "VpcCniModelError",
    "__version__",
    "allocatable_enis",
    "apply",
    "assign_pod_ip",
    "catalog",
    "converge",
    "datastore_stats",
    "deletable_eni",
    "effective_max_pods",
    "eni_resources_to_allocate",
    "extra_prefixes_over_warm_target",
    "freeable_cidrs",
    "freeable_eni_exists",
    "from_json",
    "has_room_for_eni",
    "instance_limits",
    "max_pods",
    "pool_stats",
    "pool_too_high",
    "pool_too_low",
    "prefix_target_state",
    "prefixes_needed",
    "reconcile",
    "reconcile_due",
    "restart",
    "should_remove_extra_enis",
    "steady_state",
    "take_outbox",
    "target_state",
    "to_json",
    "unassign_pod_ip",
]
