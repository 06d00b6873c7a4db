"""Suggestions: each finding's fix in words, taken from the plan."""

from __future__ import annotations

import attrs

from vpccni_model._env import (
    ENABLE_MULTI_NIC,
    MINIMUM_IP_TARGET,
    WARM_ENI_TARGET,
    WARM_IP_TARGET,
    WARM_PREFIX_TARGET,
)
from vpccni_model._steady import steady_state
from vpccni_model.sim.explain._detect import detected_codes
from vpccni_model.sim.explain._findings import (
    CALLS_PER_HOUR,
    CHURN,
    IPV6,
    LOOP,
    MIN_ALONE,
    PD_IGNORED,
    PD_MAX_PODS,
    UNREACHABLE,
    WAIT,
    WASTE,
    Case,
    Draft,
    addressable,
    calculator_figure,
)
from vpccni_model.sim.explain._plan import Plan

# -- suggestions -----------------------------------------------------------------------------


def _how_max_pods(value: int) -> str:
    return (
        f"kubelet --max-pods={value} (AL2: bootstrap.sh --use-max-pods false --kubelet-extra-"
        f"args '--max-pods={value}'; AL2023: maxPods in nodeadm's NodeConfig kubelet config; "
        "Karpenter: the EC2NodeClass kubelet.maxPods)"
    )


def _also(plan: Plan, name: str, code: str) -> str:
    owner = plan.owner.get(name)
    return "" if owner in (None, code) else f" (the value chosen for {owner})"


def suggest(case: Case, draft: Draft, plan: Plan) -> tuple[str, list[str], bool]:
    """The fix in words, the env knobs it sets from the plan, and whether it sets max pods."""
    config, limits = case.config, case.limits
    env = plan.env
    code = draft.code
    if code == IPV6:
        return ("Nothing to tune: set kubelet's max pods to the pods you want per node.", [], False)
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
        _, how = calculator_figure(limits, config)
        if code == PD_MAX_PODS and value == calculator_figure(limits, config)[0]:
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
        if w is not None and code not in detected_codes(case.patched(env)):
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
                    f"bring the calls under {CALLS_PER_HOUR} an hour without idle "
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
        if knobs and WASTE not in detected_codes(case.patched(env)):
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


def _none_tried(plan: Plan, what: str) -> str:
    """That the WARM_IP_TARGET values the planner tried cannot do ``what``, in a sentence."""
    if not plan.tried:
        return f"In the model no WARM_IP_TARGET the pool can hold could {what}"
    low, high = plan.tried[0], plan.tried[-1]
    if low == high:
        return f"In the model a WARM_IP_TARGET of {low} could not {what}"
    return f"In the model no WARM_IP_TARGET from {low} to {high} could {what}"


def _prefixes_clear(case: Case, plan: Plan, code: str) -> bool:
    """Whether prefix mode (with the plan, and WARM_PREFIX_TARGET=1) avoids ``code``."""
    if case.config.prefix_delegation or not case.limits.supports_prefix_delegation:
        return False
    patched = case.patched({**plan.env, WARM_PREFIX_TARGET: "1"})
    with_prefixes = attrs.evolve(patched.config, prefix_delegation=True)
    return code not in detected_codes(attrs.evolve(patched, config=with_prefixes))


def _calc_or_pool(case: Case, value: int, how: str) -> str:
    calculated, _ = calculator_figure(case.limits, case.config)
    if value == calculated:
        return f"the EKS max-pods calculator's value: {how}"
    room = addressable(case.limits, case.config)
    return f"the {room} addresses the pool can hold + {case.host} host-network pods"
