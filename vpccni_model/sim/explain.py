"""The config explainer: runs the model on a configuration and reports what will hurt.

Every finding comes from the model (steady states over pod counts, and a short simulated
churn) or from the max-pods rules the EKS tools follow, and says in plain words the rule
behind it, where upstream documents it, and what to change.

The changes are planned once for the whole configuration, so findings never disagree: the
plan holds one value per aws-node variable (and one kubelet max pods), and each finding's
suggested changes are the plan's values for the knobs it concerns. Problems are planned in
order of harm (a loop, starving pods, max pods, waiting pods, EC2 calls, idle addresses); a
later one never changes a knob an earlier one set. Where a value has to be chosen (a
WARM_IP_TARGET, say), it is the first candidate whose re-run in the model clears the problem.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from vpccni_model._config import Config
from vpccni_model._env import (
    ENABLE_MULTI_NIC,
    MINIMUM_IP_TARGET,
    WARM_ENI_TARGET,
    WARM_IP_TARGET,
    WARM_PREFIX_TARGET,
)
from vpccni_model._errors import ConfigError
from vpccni_model._limits import HOST_NETWORK_PODS, MAX_PODS_CAP_HIGH_CPU, InstanceLimits
from vpccni_model._maxpods import (
    DEFAULT_CNI_VERSION,
    calculator_max_pods,
    calculator_prefix_delegation,
    node_default_max_pods,
)
from vpccni_model._maxpods_report import ipamd_card_capacities, ipamd_pod_addresses
from vpccni_model._policy import effective_max_pods
from vpccni_model._steady import SteadyState, steady_state
from vpccni_model.sim.engine import simulate
from vpccni_model.sim.metrics import percentile
from vpccni_model.sim.spec import NodeSpec, SimulationSpec
from vpccni_model.sim.workloads import PoissonChurn

__all__ = ["SEVERITIES", "Explanation", "Finding", "addressable", "explain"]

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

#: WARM_IP_TARGET / MINIMUM_IP_TARGET values the planner tries, smallest first.
_STEPS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32)
#: Calls per node-hour above which churn is reported.
_CALLS_PER_HOUR = 120
#: Churn of the simulated workload: pod changes per node per minute.
_CHANGES_PER_MINUTE = 6.0
_WARMUP = 600.0

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

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)


# -- the inputs of one evaluation ------------------------------------------------------------


@attrs.frozen
class _Case:
    limits: InstanceLimits
    config: Config  # effective
    max_pods: int
    max_pods_set: bool
    host: int
    minutes: float
    seed: int
    pd_asked: bool

    @property
    def pod_ips(self) -> int:
        """Pods that need an address at max pods: the host-network pods take none."""
        return max(self.max_pods - self.host, 1)

    def patched(self, env: Mapping[str, str]) -> _Case:
        changes: dict[str, Any] = {}
        for name, value in env.items():
            field = _FIELDS[name]
            changes[field] = value == "true" if field == "multi_nic" else int(value)
        return attrs.evolve(self, config=attrs.evolve(self.config, **changes))


@attrs.frozen
class _Draft:
    """A detected problem before the plan gives it a suggestion."""

    code: str
    severity: str
    title: str
    detail: str
    rule: str
    reference: str
    cause: str = ""


def _pod_enis(limits: InstanceLimits, config: Config) -> list[tuple[int, int, list[str]]]:
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


def _calculator(limits: InstanceLimits, config: Config) -> tuple[int, str]:
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


def _n_pods(n: int) -> str:
    return "1 pod" if n == 1 else f"{n} pods"


def _pod_counts(cap: int) -> list[int]:
    points = {0, 1, cap // 4, cap // 2, (3 * cap) // 4, cap}
    return sorted(p for p in points if 0 <= p <= cap)


# -- detection -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _detect(case: _Case) -> tuple[tuple[_Draft, ...], tuple[SteadyState, ...]]:
    """Every problem of ``case``; memoized, since the planner re-runs patched cases."""
    config, limits = case.config, case.limits
    results = tuple(steady_state(limits, config, p) for p in _pod_counts(case.pod_ips))
    drafts: list[_Draft] = []
    if case.pd_asked and not config.prefix_delegation:
        drafts.append(
            _Draft(
                PD_IGNORED,
                "warning",
                "Prefix delegation is ignored on this instance type",
                f"{limits.name} is neither Nitro-based nor bare metal, so ipamd runs in "
                "secondary-IP mode: ENABLE_PREFIX_DELEGATION and WARM_PREFIX_TARGET have no "
                f"effect, WARM_ENI_TARGET applies, and max pods stays {case.max_pods}.",
                "ipamd assigns /28 prefixes only on Nitro-based and bare-metal instances; "
                "elsewhere it silently falls back to one secondary IP per pod.",
                DOC_PREFIX,
            )
        )
    drafts += _starvation(case, results)
    drafts += _max_pods_unchanged(case)
    drafts += _loops(config, results)
    drafts += _waste(config, results)
    drafts += _simulated_churn(case)
    return tuple(drafts), results


def _codes(case: _Case) -> frozenset[str]:
    return frozenset(d.code for d in _detect(case)[0])


def _starvation(case: _Case, results: Iterable[SteadyState]) -> list[_Draft]:
    config, limits = case.config, case.limits
    short = [r for r in results if r.pods_placed < r.pods]
    if short and config.minimum_ip_target and not config.warm_ip_target:
        first = short[0]
        return [
            _Draft(
                MIN_ALONE,
                "error",
                "Pods starve above MINIMUM_IP_TARGET",
                f"With WARM_IP_TARGET unset the pool stops at {first.total_ips} IPs; "
                f"{first.pods - first.pods_placed} of {first.pods} pods never get an address.",
                "ipamd keeps at least WARM_IP_TARGET free addresses, and at least "
                "MINIMUM_IP_TARGET in total; with WARM_IP_TARGET unset only the total counts, "
                "so the pool never grows past MINIMUM_IP_TARGET however many pods wait.",
                DOC_ENI_IP,
            )
        ]
    capacity = addressable(limits, config)
    if not short and capacity >= case.pod_ips:
        return []
    enis = _pod_enis(limits, config)
    reasons = [why for _, _, whys in enis for why in whys]
    per_eni = limits.pod_addresses_per_eni(config.prefix_delegation)
    count = sum(n for _, n, _ in enis)
    source = "--max-pods" if case.max_pods_set else "the node default"
    detail = (
        f"Kubelet admits {case.max_pods} pods ({source}; {case.pod_ips} of them need a pod "
        f"address), but ipamd can hold at most {capacity}: {count} ENI(s) for pods x "
        f"{per_eni} addresses"
    )
    detail += f" ({'; '.join(reasons)})." if reasons else "."
    if short:
        first = short[0]
        detail += f" At {first.pods} pods only {first.pods_placed} get an address."
    only_trunk = reasons and all("trunk" in r for r in reasons)
    if only_trunk:
        detail += (
            " Pods with security groups use branch ENIs instead "
            f"({limits.branch_enis if limits.branch_enis is not None else 'unknown'} on "
            f"{limits.name}), so this holds only if fewer pods use them."
        )
    rule = (
        "A pod needs one address from ipamd's pool (host-network pods excepted); the pool "
        "holds ENIs x (IPv4 addresses per ENI - 1) addresses, times 16 with prefixes; pods "
        "beyond it stay in ContainerCreating."
    )
    if config.custom_networking:
        reference = DOC_CUSTOM
    elif config.pod_eni:
        reference = DOC_SGP
    else:
        reference = DOC_CALCULATOR
    return [
        _Draft(
            UNREACHABLE,
            "warning" if only_trunk else "error",
            f"The node can never run {case.max_pods} pods",
            detail,
            rule,
            reference,
        )
    ]


def _max_pods_unchanged(case: _Case) -> list[_Draft]:
    config, limits = case.config, case.limits
    if not config.prefix_delegation or case.max_pods_set:
        return []
    calculated, _ = _calculator(limits, config)
    if min(calculated, addressable(limits, config) + case.host) <= case.max_pods:
        return []
    if limits.vcpus is None and case.max_pods >= MAX_PODS_CAP_HIGH_CPU:
        return []  # whatever the vCPUs, the calculator's ceiling is not above max pods
    default = node_default_max_pods(limits)
    return [
        _Draft(
            PD_MAX_PODS,
            "warning",
            "Prefix delegation is on but max pods is unchanged",
            f"Kubelet's max pods is the node default {case.max_pods} "
            f"({limits.max_enis} ENIs x {limits.cidrs_per_eni} addresses + 2 = {default}, "
            "the secondary-IP figure), so the node runs no more pods than without prefixes; "
            f"it only holds /28s. The pool could address "
            f"{addressable(limits, config)} pods.",
            "Max pods comes from the node's bootstrap, not from the VPC CNI: the node default "
            "(eni-max-pods.txt, nodeadm) ignores prefix delegation, and ipamd stops growing "
            "the pool once it holds max pods addresses.",
            DOC_CALCULATOR,
        )
    ]


def _loops(config: Config, results: Iterable[SteadyState]) -> list[_Draft]:
    loops = [r for r in results if not r.settled]
    if not loops:
        return []
    counts = ", ".join(str(r.pods) for r in loops) + (" pods" if len(loops) > 1 else "")
    if len(loops) == 1:
        counts = _n_pods(loops[0].pods)
    causes, rules = [], []
    if (
        config.prefix_delegation
        and not config.warm_ip_targets_defined
        and (config.warm_prefix_target == 0)
    ):
        causes.append("warm-prefix-0")
        rules.append(
            "In prefix mode without WARM_IP_TARGET or MINIMUM_IP_TARGET ipamd keeps "
            "WARM_PREFIX_TARGET whole free prefixes and releases the others; with 0 it "
            "releases every free prefix and allocates one again when no address is free. "
            "Upstream calls WARM_PREFIX_TARGET=0 unsupported."
        )
    if config.prefix_delegation and config.multi_nic:
        causes.append("multi-nic")
        rules.append(
            "With ENABLE_MULTI_NIC, ipamd holds the extra network cards to one warm and one "
            "minimum address, counted in addresses even in prefix mode, so a whole free /28 "
            "on an idle card reads as 15 too many: it is released, then allocated again."
        )
    if (
        not config.prefix_delegation
        and not config.warm_ip_targets_defined
        and (config.warm_eni_target == 0)
    ):
        causes.append("warm-eni-0")
        rules.append(
            "With WARM_ENI_TARGET=0 and no IP targets ipamd adds an ENI only when no address "
            "is free and removes an unused ENI once it is 60 s old; with every ENI full it "
            "creates one, then frees it, about every 65 s."
        )
    if not causes:
        causes.append("other")
        rules.append(
            "ipamd releases addresses above its targets every 30 s and allocates when below "
            "them; targets that overlap make it do both."
        )
    reference = DOC_PREFIX if config.prefix_delegation else DOC_ENI_IP
    cause, rule = ",".join(causes), " ".join(rules)
    return [
        _Draft(
            LOOP,
            "error",
            "ipamd never settles: it allocates and releases in a loop",
            f"At {counts} the pool keeps calling EC2 every few ticks with no load change.",
            rule,
            reference,
            cause,
        )
    ]


def _waste(config: Config, results: Iterable[SteadyState]) -> list[_Draft]:
    loaded = [r for r in results if r.pods_placed > 0 and r.total_ips > 0]
    if not loaded:
        return []
    worst = max(loaded, key=lambda r: r.unused_ips / r.total_ips)
    share = worst.unused_ips / worst.total_ips
    if share < 0.5 or worst.unused_ips < 16:
        return []
    if config.warm_ip_targets_defined:
        rule = (
            "ipamd keeps at least WARM_IP_TARGET free addresses and MINIMUM_IP_TARGET in "
            "total" + (", rounded up to whole /28 prefixes." if config.prefix_delegation else ".")
        )
        reference = DOC_PREFIX if config.prefix_delegation else DOC_ENI_IP
    elif config.prefix_delegation:
        rule = (
            "WARM_PREFIX_TARGET=N keeps at least N x 16 free addresses, in whole /28 prefixes; "
            "WARM_IP_TARGET and MINIMUM_IP_TARGET, when set, override it with finer steps."
        )
        reference = DOC_PREFIX
    else:
        rule = (
            "WARM_ENI_TARGET keeps a whole ENI's worth of free addresses besides those in "
            "use; WARM_IP_TARGET and MINIMUM_IP_TARGET, when set, replace it with a count."
        )
        reference = DOC_ENI_IP
    return [
        _Draft(
            WASTE,
            "warning",
            "Most addresses held by the node are unused",
            f"At {_n_pods(worst.pods)} the node holds {worst.total_ips} addresses of which "
            f"{worst.unused_ips} ({share:.0%}) are idle; every node of this kind takes as many "
            "from the subnet.",
            rule,
            reference,
        )
    ]


def _simulated_churn(case: _Case) -> list[_Draft]:
    if case.minutes <= 0:
        return []
    population = max(1, case.pod_ips // 2)
    spec = SimulationSpec(
        nodes=(NodeSpec("node-0", case.limits, attrs.evolve(case.config, max_pods=case.max_pods)),),
        workload=PoissonChurn(
            pods_per_node=population, changes_per_node_per_minute=_CHANGES_PER_MINUTE
        ),
        duration=_WARMUP + case.minutes * 60,
        seed=case.seed,
        per_node_series=False,
    )
    result = simulate(spec)
    summary = result.summary
    drafts: list[_Draft] = []
    per_hour = summary.ec2_calls_per_hour
    if per_hour > _CALLS_PER_HOUR:
        drafts.append(
            _Draft(
                CHURN,
                "warning",
                "Pod churn turns into a stream of EC2 calls",
                f"At {population} pods with {_CHANGES_PER_MINUTE:g} pod changes a minute, one "
                f"node makes {per_hour:.0f} EC2 calls an hour; EC2 throttles calls per "
                "account and Region, so a fleet of such nodes shares one budget.",
                (
                    "ipamd returns addresses above its warm targets to EC2 (every 30 s at "
                    "most) and asks for new ones when pods arrive: small targets turn every "
                    "pod change into calls."
                )
                if case.config.warm_ip_targets_defined or case.config.prefix_delegation
                else (
                    "With WARM_ENI_TARGET ipamd adds a whole ENI (several EC2 calls) when "
                    "fewer than an ENI's worth of addresses are free, and removes an unused "
                    "ENI once it is 60 s old: pods coming and going around an ENI boundary "
                    "turn into calls."
                ),
                DOC_ENI_IP,
            )
        )
    waits = result.waits_after(_WARMUP)
    # A wait within one pool check (5 s) is how long any pod can take; longer ones count.
    waited = [w for w in waits if w > case.config.pool_check_interval]
    if waits and (len(waited) > 0.01 * len(waits) or summary.pods_failed):
        drafts.append(
            _Draft(
                WAIT,
                "warning" if summary.pods_failed == 0 else "error",
                "Pods wait for an IP under churn",
                f"After boot, {len(waited)} of {len(waits)} pods waited more than "
                f"{case.config.pool_check_interval:g} s for an address (p99 "
                f"{percentile(waits, 0.99):.1f} s, max {max(waits):.1f} s); "
                f"{summary.pods_failed} gave up.",
                "A released pod address cools for IP_COOLDOWN_PERIOD (30 s) before reuse, "
                "and ipamd counts cooling addresses as free, so it adds none while every "
                "free one cools; it also makes one EC2 call per 5 s check.",
                DOC_README,
            )
        )
    return drafts


# -- the plan --------------------------------------------------------------------------------


@attrs.define
class _Plan:
    """One value per knob: findings refer to it, and a later step never overrides it."""

    env: dict[str, str] = attrs.Factory(dict)
    owner: dict[str, str] = attrs.Factory(dict)
    max_pods: int | None = None
    tried: list[int] = attrs.Factory(list)  # the WARM_IP_TARGET values tried for pods

    def set(self, code: str, name: str, value: int | str) -> None:
        if name not in self.env:
            self.env[name] = str(value)
            self.owner[name] = code


def _search(
    case: _Case,
    plan: _Plan,
    name: str,
    values: Iterable[int],
    accepts: list[Callable[[frozenset[str]], bool]],
) -> int | None:
    """The first value of ``name`` whose patched case passes ``accepts[0]``, else the first
    that passes ``accepts[1]``, and so on; None when none qualifies."""
    found: list[int | None] = [None] * len(accepts)
    for value in values:
        codes = _codes(case.patched({**plan.env, name: str(value)}))
        for i, accept in enumerate(accepts):
            if found[i] is None and accept(codes):
                found[i] = value
        if found[0] is not None:
            break
    return next((v for v in found if v is not None), None)


def _none_of(*codes: str) -> Callable[[frozenset[str]], bool]:
    banned = frozenset(codes)
    return lambda found: not found & banned


def _plan(case: _Case, drafts: tuple[_Draft, ...]) -> _Plan:
    config, limits = case.config, case.limits
    codes = {d.code for d in drafts}
    plan = _Plan()
    room = addressable(limits, config)
    for draft in drafts:
        if draft.code != LOOP:
            continue
        causes = draft.cause.split(",")
        if "warm-prefix-0" in causes:
            plan.set(LOOP, WARM_PREFIX_TARGET, 1)
        if "warm-eni-0" in causes:
            plan.set(LOOP, WARM_ENI_TARGET, 1)
        if "multi-nic" in causes:
            plan.set(LOOP, ENABLE_MULTI_NIC, "false")
    if codes & {UNREACHABLE, PD_MAX_PODS} and room > 0:
        value, _ = _calculator(limits, config)
        plan.max_pods = min(value, room + case.host)
    pods_codes = frozenset({MIN_ALONE, WAIT, CHURN})
    if codes & pods_codes:
        lower = config.warm_ip_target + 1 if codes & {WAIT, CHURN} else 1
        # A value must clear one of the problems and bring no new one; the best clears all
        # without idle addresses, and waits come before EC2 calls.
        targets = frozenset(codes) & pods_codes

        def helps(banned: frozenset[str]) -> Callable[[frozenset[str]], bool]:
            return lambda found: (
                not found & banned and bool(targets - found) and not (found & pods_codes) - targets
            )

        accepts = [
            helps(frozenset({MIN_ALONE, WAIT, CHURN, WASTE})),
            helps(frozenset({MIN_ALONE, WAIT, WASTE})),
            helps(frozenset({MIN_ALONE, WAIT})),
            helps(frozenset({MIN_ALONE})),
        ]
        candidates = [w for w in _STEPS if lower <= w <= max(room, 1)]
        plan.tried = candidates
        found = _search(case, plan, WARM_IP_TARGET, candidates, accepts)
        if found is not None:
            owner = next(c for c in (MIN_ALONE, WAIT, CHURN) if c in codes)
            plan.set(owner, WARM_IP_TARGET, found)
    if WASTE in codes:
        _plan_waste(case, plan, room, frozenset(codes))
    return plan


def _plan_waste(case: _Case, plan: _Plan, room: int, before: frozenset[str]) -> None:
    """Fewer idle addresses, without a problem the configuration does not have already."""
    config = case.config
    worse = frozenset({MIN_ALONE, WAIT, CHURN}) - before
    tiers = [_none_of(WASTE, MIN_ALONE, WAIT, CHURN), _none_of(WASTE, *worse)]
    if not config.warm_ip_targets_defined:
        if config.prefix_delegation and config.warm_prefix_target >= 2:
            plan.set(WASTE, WARM_PREFIX_TARGET, 1)
            if WASTE not in _codes(case.patched(plan.env)):
                return
            del plan.env[WARM_PREFIX_TARGET]
        if WARM_IP_TARGET not in plan.env:
            candidates = [w for w in _STEPS if w <= max(room, 1)]
            found = _search(case, plan, WARM_IP_TARGET, candidates, tiers)
            if found is not None:
                plan.set(WASTE, WARM_IP_TARGET, found)
        return
    for name, current in (
        (MINIMUM_IP_TARGET, config.minimum_ip_target),
        (WARM_IP_TARGET, config.warm_ip_target),
    ):
        if current == 0 or name in plan.env:
            continue
        lower = [v for v in (0, *_STEPS) if v < current]
        if name == WARM_IP_TARGET and config.minimum_ip_target:
            lower = [v for v in lower if v > 0]  # W=0 with M set starves pods
        found = _search(case, plan, name, reversed(lower), tiers)
        if found is not None:
            plan.set(WASTE, name, found)
            return


# -- suggestions -----------------------------------------------------------------------------


def _how_max_pods(value: int) -> str:
    return (
        f"kubelet --max-pods={value} (AL2: bootstrap.sh --use-max-pods false --kubelet-extra-"
        f"args '--max-pods={value}'; AL2023: maxPods in nodeadm's NodeConfig kubelet config; "
        "Karpenter: the EC2NodeClass kubelet.maxPods)"
    )


def _also(plan: _Plan, name: str, code: str) -> str:
    owner = plan.owner.get(name)
    return "" if owner in (None, code) else f" (the value chosen for {owner})"


def _suggest(case: _Case, draft: _Draft, plan: _Plan) -> tuple[str, list[str], bool]:
    """The fix in words, the env knobs it sets from the plan, and whether it sets max pods."""
    config, limits = case.config, case.limits
    env = plan.env
    code = draft.code
    if code == PD_IGNORED:
        return (
            "Use a Nitro-based instance type to get prefixes, or drop ENABLE_PREFIX_DELEGATION "
            "for this node group so the settings say what ipamd does.",
            [],
            False,
        )
    if code == MIN_ALONE:
        w = env.get(WARM_IP_TARGET)
        text = (
            f"Set WARM_IP_TARGET={w}{_also(plan, WARM_IP_TARGET, code)} alongside "
            f"MINIMUM_IP_TARGET={env.get(MINIMUM_IP_TARGET, config.minimum_ip_target)}: "
            f"the pool then keeps {w} "
            f"{'address' if w == '1' else 'addresses'} free above the pods and grows with "
            "them."
            if w is not None
            else "Set WARM_IP_TARGET (1 or more) alongside MINIMUM_IP_TARGET."
        )
        return text, [WARM_IP_TARGET] if w is not None else [], False
    if code in (UNREACHABLE, PD_MAX_PODS):
        value = plan.max_pods
        if value is None:  # no ENI left for pods: no max pods would help
            return (
                "No ENI is left for pod addresses: remove the MAX_ENI cap, or use an instance "
                "type with more ENIs.",
                [],
                False,
            )
        _, how = _calculator(limits, config)
        if code == PD_MAX_PODS and value == _calculator(limits, config)[0]:
            text = (
                f"Set kubelet max pods to {value}, the EKS max-pods calculator's value for "
                f"{limits.name} with prefix delegation ({how}): {_how_max_pods(value)}."
            )
        else:
            cn = " with custom networking" if config.custom_networking else ""
            text = (
                f"Set kubelet max pods to {value}{cn} ({_calc_or_pool(case, value, how)}): "
                f"{_how_max_pods(value)}."
            )
            if not config.prefix_delegation and limits.supports_prefix_delegation:
                text += (
                    " With prefix delegation each ENI slot holds a /28, 16 addresses instead of 1."
                )
        return text, [], True
    if code == LOOP:
        causes = draft.cause.split(",")
        texts: list[str] = []
        loop_knobs: list[str] = []
        if "warm-prefix-0" in causes:
            texts.append(
                "Set WARM_PREFIX_TARGET=1 (the shipped manifest does), or set WARM_IP_TARGET "
                "and MINIMUM_IP_TARGET."
            )
            loop_knobs.append(WARM_PREFIX_TARGET)
        if "warm-eni-0" in causes:
            texts.append("Set WARM_ENI_TARGET=1, or set WARM_IP_TARGET and MINIMUM_IP_TARGET.")
            loop_knobs.append(WARM_ENI_TARGET)
        if "multi-nic" in causes:
            texts.append(
                "Set ENABLE_MULTI_NIC=false unless pods need the other network cards; "
                "otherwise expect the release/allocate cycle on idle cards."
            )
            loop_knobs.append(ENABLE_MULTI_NIC)
        if not texts:
            texts.append("Widen the gap between WARM_IP_TARGET and MINIMUM_IP_TARGET.")
        return " ".join(texts), loop_knobs, False
    if code in (WAIT, CHURN):
        w = env.get(WARM_IP_TARGET)
        if w is not None and code not in _codes(case.patched(env)):
            return (
                f"Set WARM_IP_TARGET={w}{_also(plan, WARM_IP_TARGET, code)}: the same churn "
                "in the model then shows no such problem.",
                [WARM_IP_TARGET],
                False,
            )
        if code == WAIT:
            room = addressable(limits, config)
            population = max(1, case.pod_ips // 2)
            full = steady_state(limits, config, population).total_ips >= room
            why = (
                f"at {population} pods the node already holds all {room} addresses it can, "
                "so new pods wait for released ones to cool"
                if full
                else "released addresses cool for IP_COOLDOWN_PERIOD before reuse"
            )
            text = (
                f"{_none_tried(plan, 'remove the waits')}: {why}. Fewer pods per node, or "
                "a type with more addresses per ENI, may help."
            )
        else:
            text = (
                _none_tried(
                    plan,
                    f"bring the calls under {_CALLS_PER_HOUR} an hour without idle "
                    "addresses or waits",
                )
                + "."
            )
            if _prefixes_clear(case, plan, code):
                text += (
                    " With ENABLE_PREFIX_DELEGATION=true (one call per 16 addresses) the model "
                    "stays under it."
                )
        if w is not None:
            text += f" The model still shows this with the suggested WARM_IP_TARGET={w}."
        return text, [], False
    if code == WASTE:
        knobs: list[str] = [
            k for k in (WARM_PREFIX_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET) if k in env
        ]
        if knobs and WASTE not in _codes(case.patched(env)):
            sets = ", ".join(f"{k}={env[k]}" for k in knobs)
            checked = (
                ", without new waits or EC2-call churn"
                if case.minutes > 0
                else " (pod churn was not simulated, so waits were not checked)"
            )
            hint = (
                " MINIMUM_IP_TARGET reserves addresses for the pods you expect: keep it if "
                "nodes of this kind do run that many."
                if MINIMUM_IP_TARGET in knobs and plan.owner.get(MINIMUM_IP_TARGET) == WASTE
                else ""
            )
            return (
                f"Set {sets}: in the model the node then holds no such share of idle "
                f"addresses{checked}.{hint}",
                knobs,
                False,
            )
        if knobs:
            sets = ", ".join(f"{k}={env[k]}{_also(plan, k, code)}" for k in knobs)
            return (
                f"No smaller warm target avoids this in the model without making pods wait "
                f"or costing EC2 calls (with the suggested {sets}); size the subnet for it.",
                [],
                False,
            )
        return (
            "No smaller warm target avoids this in the model without making pods wait; "
            "size the subnet for it.",
            [],
            False,
        )
    raise AssertionError(code)  # pragma: no cover


def _none_tried(plan: _Plan, what: str) -> str:
    """That the WARM_IP_TARGET values the planner tried cannot do ``what``, in a sentence."""
    if not plan.tried:
        return f"In the model no WARM_IP_TARGET the pool can hold could {what}"
    low, high = plan.tried[0], plan.tried[-1]
    if low == high:
        return f"In the model a WARM_IP_TARGET of {low} could not {what}"
    return f"In the model no WARM_IP_TARGET from {low} to {high} could {what}"


def _prefixes_clear(case: _Case, plan: _Plan, code: str) -> bool:
    """Whether prefix mode (with the plan, and WARM_PREFIX_TARGET=1) avoids ``code``."""
    if case.config.prefix_delegation or not case.limits.supports_prefix_delegation:
        return False
    patched = case.patched({**plan.env, WARM_PREFIX_TARGET: "1"})
    with_prefixes = attrs.evolve(patched.config, prefix_delegation=True)
    return code not in _codes(attrs.evolve(patched, config=with_prefixes))


def _calc_or_pool(case: _Case, value: int, how: str) -> str:
    calculated, _ = _calculator(case.limits, case.config)
    if value == calculated:
        return f"the EKS max-pods calculator's value: {how}"
    room = addressable(case.limits, case.config)
    return f"the {room} addresses the pool can hold + {case.host} host-network pods"


# -- the entry point -------------------------------------------------------------------------


def explain(
    limits: InstanceLimits,
    config: Config,
    *,
    churn_minutes: float = 30.0,
    seed: int = 0,
    host_network_pods: int = HOST_NETWORK_PODS,
) -> Explanation:
    """Run the model on ``config`` for ``limits`` and report findings with one plan of fixes.

    ``config.max_pods`` is kubelet's max pods (None: the node default); ``host_network_pods``
    of them take no pod address. ``churn_minutes`` of simulated pod churn (0 skips it) follow
    a 10-minute warm-up.
    """
    if not isinstance(limits, InstanceLimits):
        raise ConfigError("limits", limits, "must be an InstanceLimits")
    if not isinstance(config, Config):
        raise ConfigError("config", config, "must be a Config")
    minutes = churn_minutes
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int | float)
        or not (0 <= minutes <= 24 * 60)
    ):
        raise ConfigError("churn_minutes", churn_minutes, "must be a number from 0 to 1440")
    if (
        isinstance(host_network_pods, bool)
        or not isinstance(host_network_pods, int)
        or (host_network_pods < 0)
    ):
        raise ConfigError("host_network_pods", host_network_pods, "must be an int >= 0")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError("seed", seed, "must be an int")
    effective = config.for_instance(limits)
    cap = effective_max_pods(limits, effective)
    if host_network_pods >= cap:
        raise ConfigError(
            "host_network_pods",
            host_network_pods,
            f"must be below max pods ({cap}): kubelet would admit no pod that needs an address",
        )
    case = _Case(
        limits=limits,
        config=effective,
        max_pods=cap,
        max_pods_set=config.max_pods is not None,
        host=host_network_pods,
        minutes=float(minutes),
        seed=seed,
        pd_asked=config.prefix_delegation,
    )
    drafts, results = _detect(case)
    plan = _plan(case, drafts)
    findings = []
    for draft in drafts:
        text, knobs, sets_max_pods = _suggest(case, draft, plan)
        findings.append(
            Finding(
                code=draft.code,
                severity=draft.severity,
                title=draft.title,
                detail=draft.detail,
                rule=draft.rule,
                suggestion=text,
                env=tuple((k, plan.env[k]) for k in knobs),
                max_pods=plan.max_pods if sets_max_pods else None,
                reference=draft.reference,
            )
        )
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.code))
    return Explanation(
        instance_type=limits.name,
        config=effective,
        max_pods=case.max_pods,
        max_pods_set=case.max_pods_set,
        host_network_pods=host_network_pods,
        churn_minutes=float(minutes),
        findings=tuple(findings),
        env=tuple(plan.env.items()),
        suggested_max_pods=plan.max_pods if any(f.max_pods for f in findings) else None,
        steady=results,
    )
