"""vpccni_model: an executable reference of the Amazon VPC CNI's ipamd warm pool (IPv4; IPv6
nodes, which have no warm pool, are booted and served too).

Pure functions over immutable values: boot a node, run ``reconcile`` ticks, feed EC2
outcomes back with ``apply``, and assign or release pod addresses. This module is the public
API (``docs/api.md`` lists it); the ``_name`` modules behind it are private. Public
submodules: ``pool`` (ipamd's decision functions), ``cloud`` (the fake EC2 and the driver
protocol), ``serialize`` (JSON), ``manifest`` (the aws-node environment from a DaemonSet,
an env file or ``kubectl set env --list``), ``sim`` (the simulator), ``sweep`` (grids of
simulations), ``testing`` (Hypothesis strategies).
"""

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
from vpccni_model._config import MANIFEST_ENV, Config, fixed_at_boot
from vpccni_model._datastore import Datastore, DeferredCleanup, InFlight
from vpccni_model._eni import ENI
from vpccni_model._eniconfig import ENIConfig, NoENIConfig, eni_destination, select_eni_config
from vpccni_model._env import AWS_NODE_VARIABLES, ENV_VARIABLES
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
    IPv6PrefixAllocated,
    MetadataObserved,
    NodeCordoned,
    NodeTerminating,
    NodeUncordoned,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model._iteration import IterationPolicy
from vpccni_model._lifecycle import restart
from vpccni_model._limits import InstanceLimits, NetworkCard, catalog, instance_limits, max_pods
from vpccni_model._lint import EnvFinding, lint_env
from vpccni_model._maxpods import (
    DEFAULT_CNI_VERSION,
    calculator_hypervisor,
    calculator_max_pods,
    calculator_prefix_delegation,
    node_default_max_pods,
    node_default_source,
    parse_cni_version,
    published_max_pods,
    vcpu_ceiling,
)
from vpccni_model._maxpods_report import (
    CardCapacity,
    MaxPodsReport,
    ipamd_card_capacities,
    ipamd_pod_addresses,
    max_pods_report,
)
from vpccni_model._model import Address, Cidr
from vpccni_model._observe import reconcile_due
from vpccni_model._outcomes import apply
from vpccni_model._podindex import PodIndex, PodIP
from vpccni_model._pods import assign_pod_ip, take_outbox, unassign_pod_ip
from vpccni_model._policy import CardPolicy, effective_max_pods
from vpccni_model._progress import Answer, CardDecision, Stage, TickProgress
from vpccni_model._state import NodeState
from vpccni_model._steady import Convergence, SteadyState, converge, steady_state
from vpccni_model._subnets import (
    DiscoveredSubnet,
    ENIConfigSubnet,
    ENIDestination,
    PrimarySubnet,
    subnet_eligible,
    subnet_excluded,
)
from vpccni_model._tick import Reconciliation, reconcile
from vpccni_model._trunk import TrunkSignal, trunk_signal
from vpccni_model._version import __version__
from vpccni_model.cloud import FakeEC2, TickRun, run_tick
from vpccni_model.pool import PoolStats, pool_stats
from vpccni_model.serialize import from_json, to_json

__all__ = [
    "AWS_NODE_VARIABLES",
    "DEFAULT_CNI_VERSION",
    "ENV_VARIABLES",
    "MANIFEST_ENV",
    "ENI",
    "Action",
    "Address",
    "AllocateENI",
    "AllocateIPs",
    "AllocatePrefixes",
    "AllocateIPv6ENI",
    "AllocateIPv6Prefix",
    "IPv6PrefixAllocated",
    "AllocationFailed",
    "CardCapacity",
    "CardPolicy",
    "Cidr",
    "Config",
    "ConfigError",
    "Convergence",
    "Datastore",
    "DeferredCleanup",
    "ENIAttached",
    "EnvFinding",
    "Ec2Error",
    "Event",
    "FakeEC2",
    "FreeENI",
    "IPsAllocated",
    "InFlight",
    "Answer",
    "CardDecision",
    "Stage",
    "TickProgress",
    "TickRun",
    "InstanceLimits",
    "IterationPolicy",
    "MaxPodsReport",
    "MetadataObserved",
    "NetworkCard",
    "NoAvailableIPError",
    "NodeCordoned",
    "NodeState",
    "NodeTerminating",
    "NodeUncordoned",
    "ObservedENI",
    "PodIP",
    "PodIndex",
    "PoolStats",
    "PrefixesAllocated",
    "Reconciliation",
    "ReleaseIPs",
    "ReleasePrefixes",
    "StateError",
    "SteadyState",
    "UnexpectedEventError",
    "UnknownInstanceTypeError",
    "UnknownPodError",
    "VpcCniModelError",
    "__version__",
    "apply",
    "assign_pod_ip",
    "catalog",
    "converge",
    "effective_max_pods",
    "fixed_at_boot",
    "from_json",
    "instance_limits",
    "lint_env",
    "max_pods",
    "calculator_hypervisor",
    "calculator_max_pods",
    "calculator_prefix_delegation",
    "ipamd_card_capacities",
    "ipamd_pod_addresses",
    "max_pods_report",
    "node_default_max_pods",
    "node_default_source",
    "parse_cni_version",
    "published_max_pods",
    "vcpu_ceiling",
    "pool_stats",
    "reconcile",
    "reconcile_due",
    "restart",
    "run_tick",
    "steady_state",
    "take_outbox",
    "to_json",
    "unassign_pod_ip",
    "SignalTrunkENI",
    "TrunkSignal",
    "trunk_signal",
    "ENIConfig",
    "NoENIConfig",
    "select_eni_config",
    "eni_destination",
    "ENIDestination",
    "PrimarySubnet",
    "DiscoveredSubnet",
    "ENIConfigSubnet",
    "subnet_eligible",
    "subnet_excluded",
]
