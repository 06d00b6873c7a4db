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

from vpccni_model._config import Config
from vpccni_model._errors import ConfigError
from vpccni_model._limits import HOST_NETWORK_PODS, InstanceLimits
from vpccni_model._policy import effective_max_pods
from vpccni_model.sim.explain._detect import ORDER_SENSITIVE, churn_codes_when_packed, detect
from vpccni_model.sim.explain._findings import (
    SEVERITIES,
    Case,
    Explanation,
    Finding,
    addressable,
)
from vpccni_model.sim.explain._plan import make_plan
from vpccni_model.sim.explain._suggest import suggest

__all__ = ["SEVERITIES", "Explanation", "Finding", "addressable", "explain"]


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
    case = Case(
        limits=limits,
        config=effective,
        max_pods=cap,
        max_pods_set=config.max_pods is not None,
        host=host_network_pods,
        minutes=float(minutes),
        seed=seed,
        pd_asked=config.prefix_delegation,
    )
    drafts, results = detect(case)
    plan = make_plan(case, drafts)
    # Real nodes place pods in Go's randomised map order, which the churn follows; the same
    # churn with packed placement says which of those findings hang on that order.
    packed = churn_codes_when_packed(case)
    shown = {draft.code for draft in drafts}
    findings = []
    for draft in drafts:
        text, knobs, sets_max_pods = suggest(case, draft, plan)
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
                depends_on_order=draft.code in ORDER_SENSITIVE and draft.code not in packed,
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
        only_when_packed=tuple(sorted(packed - shown)),
    )
