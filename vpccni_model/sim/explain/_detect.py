"""Detection: what the model shows going wrong for one configuration (steady states over
pod counts, a short simulated churn, the max-pods rules), as raw findings."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import attrs

from vpccni_model._config import Config
from vpccni_model._iteration import ORDERED
from vpccni_model._limits import MAX_PODS_CAP_HIGH_CPU
from vpccni_model._maxpods import (
    node_default_max_pods,
)
from vpccni_model._steady import SteadyState, steady_state
from vpccni_model.sim.engine import simulate
from vpccni_model.sim.explain._findings import (
    CALLS_PER_HOUR,
    CHANGES_PER_MINUTE,
    CHURN,
    DOC_CALCULATOR,
    DOC_CUSTOM,
    DOC_ENI_IP,
    DOC_PREFIX,
    DOC_README,
    DOC_SGP,
    IPV6,
    LOOP,
    MIN_ALONE,
    PD_IGNORED,
    PD_MAX_PODS,
    UNREACHABLE,
    WAIT,
    WARMUP,
    WASTE,
    Case,
    Draft,
    addressable,
    calculator_figure,
    n_pods,
    pod_counts,
    pod_enis,
)
from vpccni_model.sim.metrics import percentile
from vpccni_model.sim.spec import NodeSpec, SimulationSpec
from vpccni_model.sim.workloads import PoissonChurn

# -- detection -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def detect(case: Case) -> tuple[tuple[Draft, ...], tuple[SteadyState, ...]]:
    """Every problem of ``case``; memoized, since the planner re-runs patched cases."""
    config, limits = case.config, case.limits
    results = tuple(steady_state(limits, config, p) for p in pod_counts(case.pod_ips))
    drafts: list[Draft] = []
    if config.enable_ipv6:  # no pool to tune: the IPv4 findings do not apply (spec 4.6)
        return (_ipv6(case),), results
    if case.pd_asked and not config.prefix_delegation:
        drafts.append(
            Draft(
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


def _ipv6(case: Case) -> Draft:
    return Draft(
        IPV6,
        "info",
        "IPv6: ipamd keeps no warm pool",
        "Each ENI holds one /80 prefix (2**48 addresses) from boot on; ipamd never allocates "
        "or releases anything after start-up, so the warm targets have no effect and the "
        f"pool never limits pods: kubelet's max pods ({case.max_pods}) does.",
        "In IPv6 ipamd's pool manager returns at once: no warm targets, no increase, decrease "
        "or ENI free, no periodic reconcile; pods take addresses from the /80 prefixes.",
        DOC_README,
    )


def detected_codes(case: Case) -> frozenset[str]:
    return frozenset(d.code for d in detect(case)[0])


#: The findings that come from the simulated churn, where the placement order matters.
ORDER_SENSITIVE = frozenset({CHURN, WAIT})


def churn_codes_when_packed(case: Case) -> frozenset[str]:
    """The churn findings the model shows with pods packed in the documented order."""
    if case.minutes <= 0:
        return frozenset()
    return frozenset(d.code for d in _simulated_churn(attrs.evolve(case, iteration=ORDERED)))


def _starvation(case: Case, results: Iterable[SteadyState]) -> list[Draft]:
    config, limits = case.config, case.limits
    short = [r for r in results if r.pods_placed < r.pods]
    if short and config.minimum_ip_target and not config.warm_ip_target:
        first = short[0]
        return [
            Draft(
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
    enis = pod_enis(limits, config)
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
        Draft(
            UNREACHABLE,
            "warning" if only_trunk else "error",
            f"The node can never run {case.max_pods} pods",
            detail,
            rule,
            reference,
        )
    ]


def _max_pods_unchanged(case: Case) -> list[Draft]:
    config, limits = case.config, case.limits
    if not config.prefix_delegation or case.max_pods_set:
        return []
    calculated, _ = calculator_figure(limits, config)
    if min(calculated, addressable(limits, config) + case.host) <= case.max_pods:
        return []
    if limits.vcpus is None and case.max_pods >= MAX_PODS_CAP_HIGH_CPU:
        return []  # whatever the vCPUs, the calculator's ceiling is not above max pods
    default = node_default_max_pods(limits)
    return [
        Draft(
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


def _loops(config: Config, results: Iterable[SteadyState]) -> list[Draft]:
    loops = [r for r in results if not r.settled]
    if not loops:
        return []
    counts = ", ".join(str(r.pods) for r in loops) + (" pods" if len(loops) > 1 else "")
    if len(loops) == 1:
        counts = n_pods(loops[0].pods)
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
        Draft(
            LOOP,
            "error",
            "ipamd never settles: it allocates and releases in a loop",
            f"At {counts} the pool keeps calling EC2 every few ticks with no load change.",
            rule,
            reference,
            cause,
        )
    ]


def _waste(config: Config, results: Iterable[SteadyState]) -> list[Draft]:
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
        Draft(
            WASTE,
            "warning",
            "Most addresses held by the node are unused",
            f"At {n_pods(worst.pods)} the node holds {worst.total_ips} addresses of which "
            f"{worst.unused_ips} ({share:.0%}) are idle; every node of this kind takes as many "
            "from the subnet.",
            rule,
            reference,
        )
    ]


def _simulated_churn(case: Case) -> list[Draft]:
    if case.minutes <= 0:
        return []
    population = max(1, case.pod_ips // 2)
    spec = SimulationSpec(
        nodes=(NodeSpec("node-0", case.limits, attrs.evolve(case.config, max_pods=case.max_pods)),),
        workload=PoissonChurn(
            pods_per_node=population, changes_per_node_per_minute=CHANGES_PER_MINUTE
        ),
        duration=WARMUP + case.minutes * 60,
        seed=case.seed,
        per_node_series=False,
        iteration=case.iteration,
    )
    result = simulate(spec)
    summary = result.summary
    drafts: list[Draft] = []
    per_hour = summary.ec2_calls_per_hour
    if per_hour > CALLS_PER_HOUR:
        drafts.append(
            Draft(
                CHURN,
                "warning",
                "Pod churn turns into a stream of EC2 calls",
                f"At {population} pods with {CHANGES_PER_MINUTE:g} pod changes a minute, one "
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
    waits = result.waits_after(WARMUP)
    # A wait within one pool check (5 s) is how long any pod can take; longer ones count.
    waited = [w for w in waits if w > case.config.pool_check_interval]
    if waits and (len(waited) > 0.01 * len(waits) or summary.pods_failed):
        drafts.append(
            Draft(
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
