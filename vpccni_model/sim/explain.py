"""The config explainer: runs the model on a configuration and reports what will hurt.

Every finding comes from running the model (steady states over pod counts, and a short
simulated churn), and names the ipamd rule that causes it and a change that avoids it.
"""

from __future__ import annotations

import attrs

from vpccni_model._config import Config
from vpccni_model._limits import InstanceLimits, max_pods
from vpccni_model._steady import SteadyState, steady_state
from vpccni_model.sim.engine import simulate
from vpccni_model.sim.metrics import percentile
from vpccni_model.sim.spec import NodeSpec, SimulationSpec
from vpccni_model.sim.workloads import PoissonChurn


@attrs.frozen
class Finding:
    """One problem: a stable ``code``, what happens, the ipamd rule behind it, a fix."""

    code: str
    severity: str  # "error": pods fail or ipamd never settles; "warning": cost or waste
    title: str
    detail: str
    rule: str
    suggestion: str


@attrs.frozen
class Explanation:
    """Findings (most severe first) plus the steady states they were derived from."""

    instance_type: str
    max_pods: int
    findings: tuple[Finding, ...]
    steady: tuple[SteadyState, ...] = attrs.field(repr=False, eq=False)

    @property
    def ok(self) -> bool:
        return not self.findings


def _max_pods(limits: InstanceLimits, config: Config) -> int:
    """Kubelet max pods as ipamd uses it (``pool.effective_max_pods``, without a state)."""
    return config.max_pods if config.max_pods is not None else max_pods(limits)


def _pod_counts(cap: int) -> list[int]:
    points = {0, 1, cap // 4, cap // 2, (3 * cap) // 4, cap}
    return sorted(p for p in points if 0 <= p <= cap)


def explain(
    limits: InstanceLimits,
    config: Config,
    *,
    churn_minutes: float = 30.0,
    seed: int = 0,
) -> Explanation:
    """Run the model on ``config`` for ``limits`` and report findings."""
    effective = config.for_instance(limits)
    cap = _max_pods(limits, effective)
    # EKS's max pods counts two host-network pods (aws-node, kube-proxy) that use no IP.
    pod_ips = max(cap - 2, 1)
    findings: list[Finding] = []
    if config.prefix_delegation and not effective.prefix_delegation:
        findings.append(
            Finding(
                "prefix-delegation-ignored",
                "warning",
                "Prefix delegation is switched off on this instance type",
                f"{limits.name} is neither Nitro nor bare metal; ipamd silently runs in "
                "secondary-IP mode.",
                "spec 1.4.3 (isConfigValid)",
                "Use a Nitro instance type, or drop ENABLE_PREFIX_DELEGATION.",
            )
        )
    results = [steady_state(limits, effective, pods) for pods in _pod_counts(pod_ips)]
    findings += _starvation(limits, effective, cap, results)
    findings += _churn(effective, results)
    findings += _waste(limits, effective, results)
    findings += _simulated_churn(limits, effective, cap, churn_minutes, seed)
    order = {"error": 0, "warning": 1}
    findings.sort(key=lambda f: (order.get(f.severity, 2), f.code))
    return Explanation(limits.name, cap, tuple(findings), tuple(results))


def _starvation(
    limits: InstanceLimits, config: Config, cap: int, results: list[SteadyState]
) -> list[Finding]:
    short = [r for r in results if r.pods_placed < r.pods]
    if not short:
        return []
    first = short[0]
    if config.minimum_ip_target and not config.warm_ip_target:
        return [
            Finding(
                "minimum-ip-target-alone",
                "error",
                "Pods starve above MINIMUM_IP_TARGET",
                f"With WARM_IP_TARGET unset the pool stops at {first.total_ips} IPs; "
                f"{first.pods - first.pods_placed} of {first.pods} pods never get an address.",
                "spec 5.1 / Q21: short = max(0, MINIMUM_IP_TARGET - TotalIPs)",
                "Set WARM_IP_TARGET (1 or more) together with MINIMUM_IP_TARGET.",
            )
        ]
    slots = limits.pod_addresses_per_eni(config.prefix_delegation)
    enis = config.effective_max_eni(limits) - (1 if config.custom_networking else 0)
    capacity = max(enis, 0) * slots
    if first.total_ips >= cap and config.prefix_delegation:
        reason = (
            f"max pods {cap} caps the pool: ipamd stops growing once TotalIPs >= max pods, "
            f"at {first.total_ips} addresses"
        )
        rule = "spec 5.4 / Q15: the max-pods check compares IPs with pods"
        fix = "Raise kubelet max pods to the prefix-mode value (max-pods-calculator.sh)."
    else:
        reason = f"the ENIs it may use hold at most {capacity} pod addresses"
        rule = "spec 2.3-2.4 (maxENI, hasRoomForEni), 6.2 (custom networking skips the primary)"
        fix = "Raise MAX_ENI, use a larger instance type, or enable prefix delegation."
    return [
        Finding(
            "max-pods-unreachable",
            "error",
            f"The node can never run {cap} pods ({cap - 2} with pod IPs)",
            f"At {first.pods} pods only {first.pods_placed} get an address: {reason}.",
            rule,
            fix,
        )
    ]


def _churn(config: Config, results: list[SteadyState]) -> list[Finding]:
    loops = [r for r in results if not r.settled]
    if not loops:
        return []
    counts = ", ".join(str(r.pods) for r in loops)
    if config.prefix_delegation and config.multi_nic:
        rule, fix = (
            "Q5: cards > 0 use IP units in prefix mode, so a free prefix reads as 15 excess",
            "Disable ENABLE_MULTI_NIC, or accept the release/allocate cycle on idle cards.",
        )
    elif config.prefix_delegation and not config.warm_ip_targets_defined:
        rule, fix = (
            "Q6: with WARM_PREFIX_TARGET=0 every free prefix is released and re-allocated",
            "Set WARM_PREFIX_TARGET=1 (the shipped manifest does).",
        )
    elif not config.warm_ip_targets_defined and config.warm_eni_target == 0:
        rule, fix = (
            "WARM_ENI_TARGET=0: with every ENI full, ipamd creates an ENI at Avail = 0 and frees "
            "it 60 s later because Avail >= S (spec 5.4, 5.8, 5.11), every 65 s",
            "Set WARM_ENI_TARGET=1, or use WARM_IP_TARGET / MINIMUM_IP_TARGET.",
        )
    else:
        rule, fix = ("spec 6.1 / 6.5", "Widen the gap between WARM_IP_TARGET and its release.")
    return [
        Finding(
            "allocate-free-loop",
            "error",
            "ipamd never settles: it allocates and releases in a loop",
            f"At {counts} pods the pool keeps calling EC2 every few ticks with no load change.",
            rule,
            fix,
        )
    ]


def _waste(limits: InstanceLimits, config: Config, results: list[SteadyState]) -> list[Finding]:
    loaded = [r for r in results if r.pods_placed > 0 and r.total_ips > 0]
    if not loaded:
        return []
    worst = max(loaded, key=lambda r: r.unused_ips / r.total_ips)
    share = worst.unused_ips / worst.total_ips
    if share < 0.5 or worst.unused_ips < 16:
        return []
    if config.warm_ip_targets_defined:
        fix = "Lower WARM_IP_TARGET / MINIMUM_IP_TARGET."
    elif config.prefix_delegation:
        fix = "Lower WARM_PREFIX_TARGET, or use WARM_IP_TARGET for finer steps."
    else:
        fix = (
            "Set WARM_IP_TARGET (and MINIMUM_IP_TARGET) instead of WARM_ENI_TARGET, "
            "or lower WARM_ENI_TARGET."
        )
    return [
        Finding(
            "subnet-waste",
            "warning",
            "Most addresses held by the node are unused",
            f"At {worst.pods} pods the node holds {worst.total_ips} addresses of which "
            f"{worst.unused_ips} ({share:.0%}) are idle; every node of this kind takes as many "
            "from the subnet.",
            "spec 5.4: WARM_ENI_TARGET keeps a whole ENI of free IPs"
            if not config.warm_ip_targets_defined and not config.prefix_delegation
            else "spec 5.1 / 5.4 warm targets",
            fix,
        )
    ]


def _simulated_churn(
    limits: InstanceLimits, config: Config, cap: int, minutes: float, seed: int
) -> list[Finding]:
    if minutes <= 0:
        return []
    population = max(1, (cap - 2) // 2)
    warmup = 600.0
    spec = SimulationSpec(
        nodes=(NodeSpec("node-0", limits, config),),
        workload=PoissonChurn(pods_per_node=population, changes_per_node_per_minute=6.0),
        duration=warmup + minutes * 60,
        seed=seed,
        per_node_series=False,
    )
    result = simulate(spec)
    summary = result.summary
    findings: list[Finding] = []
    per_hour = summary.ec2_calls_per_hour
    if per_hour > 120:
        findings.append(
            Finding(
                "ec2-call-churn",
                "warning",
                "Pod churn turns into a stream of EC2 calls",
                f"At {population} pods with 6 pod changes a minute, one node makes "
                f"{per_hour:.0f} EC2 calls an hour; a fleet shares EC2's account-wide rate "
                "limit.",
                "spec 6.1 / 6.5: small warm targets release and re-allocate on every change",
                "Raise WARM_IP_TARGET, or use prefix delegation with WARM_PREFIX_TARGET=1.",
            )
        )
    waits = result.waits_after(warmup)
    waited = [w for w in waits if w > 0]
    if waits and (len(waited) > 0.01 * len(waits) or summary.pods_failed):
        findings.append(
            Finding(
                "pods-wait-for-ips",
                "warning" if summary.pods_failed == 0 else "error",
                "Pods wait for an IP under churn",
                f"After boot, {len(waited)} of {len(waits)} pods waited (p99 "
                f"{percentile(waits, 0.99):.1f} s, max {max(waits):.1f} s); "
                f"{summary.pods_failed} gave up.",
                "Q1: cooling IPs count as available, so the pool does not grow while every "
                "free IP cools; spec 6.1: one EC2 step per tick",
                "Raise WARM_IP_TARGET above the pod churn per cooldown period, or lower "
                "IP_COOLDOWN_PERIOD.",
            )
        )
    return findings
