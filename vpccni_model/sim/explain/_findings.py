"""The explainer's vocabulary: finding codes and upstream pages, ``Finding`` and
``Explanation``, the inputs of one evaluation (``Case``) and its raw findings (``Draft``),
and the pool-capacity and max-pods figures the findings quote."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vpccni_model._capacity import ipamd_card_capacities, ipamd_pod_addresses
from vpccni_model._config import Config
from vpccni_model._env import (
    ENABLE_MULTI_NIC,
    MINIMUM_IP_TARGET,
    WARM_ENI_TARGET,
    WARM_IP_TARGET,
    WARM_PREFIX_TARGET,
)
from vpccni_model._iteration import GO_RANDOM, Kind
from vpccni_model._limits import InstanceLimits
from vpccni_model._maxpods import (
    DEFAULT_CNI_VERSION,
    calculator_max_pods,
    calculator_prefix_delegation,
)
from vpccni_model._steady import SteadyState

#: Most severe first: "error" means pods fail or ipamd never settles, "warning" a cost or a
#: waste, "info" something to know.
SEVERITIES = ("error", "warning", "info")

_UPSTREAM = "https://github.com/aws/amazon-vpc-cni-k8s/blob/master/"
DOC_ENI_IP = _UPSTREAM + "docs/eni-and-ip-target.md"
DOC_PREFIX = _UPSTREAM + "docs/prefix-and-ip-target.md"
DOC_README = _UPSTREAM + "README.md"
DOC_CALCULATOR = (
    "https://github.com/awslabs/amazon-eks-ami/blob/0ab842803d82/"
    "templates/al2/runtime/max-pods-calculator.sh"
)
DOC_CUSTOM = "https://docs.aws.amazon.com/eks/latest/userguide/cni-custom-network.html"
DOC_SGP = "https://docs.aws.amazon.com/eks/latest/userguide/security-groups-for-pods.html"

MIN_ALONE = "minimum-ip-target-alone"
UNREACHABLE = "max-pods-unreachable"
PD_MAX_PODS = "prefix-delegation-max-pods-unchanged"
LOOP = "allocate-free-loop"
WASTE = "subnet-waste"
CHURN = "ec2-call-churn"
WAIT = "pods-wait-for-ips"
PD_IGNORED = "prefix-delegation-ignored"
IPV6 = "ipv6-no-warm-pool"

#: WARM_IP_TARGET / MINIMUM_IP_TARGET values the planner tries, smallest first.
STEPS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32)
#: Calls per node-hour above which churn is reported.
CALLS_PER_HOUR = 120
#: Churn of the simulated workload: pod changes per node per minute.
CHANGES_PER_MINUTE = 6.0
WARMUP = 600.0

_FIELDS = {
    WARM_IP_TARGET: "warm_ip_target",
    MINIMUM_IP_TARGET: "minimum_ip_target",
    WARM_PREFIX_TARGET: "warm_prefix_target",
    WARM_ENI_TARGET: "warm_eni_target",
    ENABLE_MULTI_NIC: "multi_nic",
}


@attrs.frozen
class Finding:
    """One problem: a stable ``code``, what happens, the rule behind it in words, where
    upstream documents it, and the fix, also as data: ``env`` (aws-node variables to set, as
    ``(name, value)`` pairs) and ``max_pods`` (a kubelet max pods to set, or None)."""

    code: str
    severity: str
    title: str
    detail: str
    rule: str
    suggestion: str
    env: tuple[tuple[str, str], ...] = ()
    max_pods: int | None = None
    reference: str = ""
    #: True when the finding comes from the simulated churn and the model does not show it
    #: when pods are packed in ipamd's documented order instead of Go's randomised map order.
    depends_on_order: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "rule": self.rule,
            "reference": self.reference,
            "suggestion": self.suggestion,
            "env": dict(self.env),
            "max_pods": self.max_pods,
            "depends_on_order": self.depends_on_order,
        }


@attrs.frozen
class Explanation:
    """The findings (most severe first), the inputs they were derived from, and the plan:
    every suggested aws-node change (``env``) and kubelet max pods (``suggested_max_pods``)."""

    instance_type: str
    config: Config  # effective on this instance type (Config.for_instance)
    max_pods: int
    max_pods_set: bool  # False: the node default (kubelet's max pods was not given)
    host_network_pods: int
    churn_minutes: float
    findings: tuple[Finding, ...]
    env: tuple[tuple[str, str], ...] = ()
    suggested_max_pods: int | None = None
    steady: tuple[SteadyState, ...] = attrs.field(default=(), repr=False, eq=False)
    #: Codes the simulated churn shows only with pods packed in the documented order (the
    #: findings themselves follow Go's randomised order, as real nodes do).
    only_when_packed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)


# -- the inputs of one evaluation ------------------------------------------------------------


@attrs.frozen
class Case:
    limits: InstanceLimits
    config: Config  # effective
    max_pods: int
    max_pods_set: bool
    host: int
    minutes: float
    seed: int
    pd_asked: bool
    #: The placement order of the simulated churn: Go's randomised map order by default.
    iteration: Kind = GO_RANDOM

    @property
    def pod_ips(self) -> int:
        """Pods that need an address at max pods: the host-network pods take none."""
        return max(self.max_pods - self.host, 1)

    def patched(self, env: Mapping[str, str]) -> Case:
        changes: dict[str, Any] = {}
        for name, value in env.items():
            field = _FIELDS[name]
            changes[field] = value == "true" if field == "multi_nic" else int(value)
        return attrs.evolve(self, config=attrs.evolve(self.config, **changes))


@attrs.frozen
class Draft:
    """A detected problem before the plan gives it a suggestion."""

    code: str
    severity: str
    title: str
    detail: str
    rule: str
    reference: str
    cause: str = ""


def pod_enis(limits: InstanceLimits, config: Config) -> list[tuple[int, int, list[str]]]:
    """Per managed card: ENIs whose addresses pods can use, and why fewer than the type's
    (the rule itself is ``ipamd_card_capacities``'; this only words it)."""
    out = []
    for card in ipamd_card_capacities(limits, config):
        why = []
        if card.enis < limits.max_interfaces(card.network_card):
            why.append(f"MAX_ENI={config.effective_max_eni(limits)}")
        if card.primary_skipped:
            why.append("the primary ENI hosts no pods with custom networking")
        if card.trunk_slot:
            why.append("the trunk ENI (ENABLE_POD_ENI) holds branch ENIs, not pool addresses")
        out.append((card.network_card, card.pod_enis, why))
    return out


def addressable(limits: InstanceLimits, config: Config) -> int:
    """Pod addresses ipamd's pool can hold on ``limits`` with ``config``
    (``vpccni_model.ipamd_pod_addresses``, kept here under the name the explainer uses)."""
    return ipamd_pod_addresses(limits, config)


def calculator_figure(limits: InstanceLimits, config: Config) -> tuple[int, str]:
    """The EKS max-pods calculator's value for this mode (``--cni-max-eni`` is MAX_ENI), and
    its arithmetic in words."""
    pd, cn, max_eni = config.prefix_delegation, config.custom_networking, config.max_eni
    uncapped = calculator_max_pods(
        limits,
        prefix_delegation=pd,
        custom_networking=cn,
        max_eni=max_eni,
        show_max_allowed=True,
    )
    enis = limits.max_enis if max_eni is None else min(max_eni, limits.max_enis)
    count = f"({enis} - 1)" if cn else str(enis)
    prefixes = calculator_prefix_delegation(
        limits, cni_version=DEFAULT_CNI_VERSION, prefix_delegation=pd
    )
    per_eni = f"{limits.cidrs_per_eni} x 16" if prefixes else str(limits.cidrs_per_eni)
    how = f"{count} ENIs x {per_eni} + 2 = {uncapped}"
    if limits.vcpus is None:
        return uncapped, (
            f"{how}, not capped: the vCPU count of {limits.name} is not in the catalog, so "
            "the calculator's ceiling (110 up to 30 vCPUs, else 250) was not applied; take "
            "the smaller of this and the type's ceiling"
        )
    value = calculator_max_pods(limits, prefix_delegation=pd, custom_networking=cn, max_eni=max_eni)
    if value < uncapped:
        return value, f"{how}, capped at {value} for {limits.vcpus} vCPUs"
    return value, how


def n_pods(n: int) -> str:
    return "1 pod" if n == 1 else f"{n} pods"


def pod_counts(cap: int) -> list[int]:
    points = {0, 1, cap // 4, cap // 2, (3 * cap) // 4, cap}
    return sorted(p for p in points if 0 <= p <= cap)
