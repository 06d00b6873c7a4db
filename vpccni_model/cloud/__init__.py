"""The EC2 side: the driver interface (:class:`Ec2`) and a deterministic fake of it.

:class:`FakeEC2` is the in-memory EC2 that ``steady_state``, the simulator and the tests run
against; :class:`Ec2` is what they need from any EC2, real or fake. The cost model's values
(:class:`Latency`, :class:`Throttle`, :class:`TokenBucket`, :class:`FaultRule`,
:class:`SdkRetry`) configure the fake; :class:`CallResult` and :class:`CloudStats` report
what it did; the API names are the strings calls are counted under.
"""

from vpccni_model.cloud._api import (
    ASSIGN,
    ASSIGN_IPV6,
    ATTACH,
    CREATE,
    DELETE,
    DESCRIBE,
    DETACH,
    EC2_APIS,
    MODIFY,
    UNASSIGN,
    CallResult,
    CloudStats,
    FaultRule,
    Latency,
    SubnetStats,
    Throttle,
    TokenBucket,
)
from vpccni_model.cloud._driver import Ec2, TickRun, run_tick
from vpccni_model.cloud._fake import DEFAULT_SUBNET, FakeEC2
from vpccni_model.cloud._inventory import DEFAULT_NODE
from vpccni_model.cloud._retry import RETRYABLE_CODES, SdkRetry

__all__ = [
    "ASSIGN",
    "ASSIGN_IPV6",
    "ATTACH",
    "CREATE",
    "DEFAULT_NODE",
    "DEFAULT_SUBNET",
    "DELETE",
    "DESCRIBE",
    "DETACH",
    "EC2_APIS",
    "MODIFY",
    "RETRYABLE_CODES",
    "UNASSIGN",
    "CallResult",
    "CloudStats",
    "Ec2",
    "FakeEC2",
    "FaultRule",
    "Latency",
    "SdkRetry",
    "SubnetStats",
    "Throttle",
    "TickRun",
    "TokenBucket",
    "run_tick",
]
