"""The plan of fixes: one value per aws-node variable and one max pods for the whole
configuration, each chosen by re-running the model, so that findings never disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from vpccni_model._env import (
    ENABLE_MULTI_NIC,
    MINIMUM_IP_TARGET,
    WARM_ENI_TARGET,
    WARM_IP_TARGET,
    WARM_PREFIX_TARGET,
)
from vpccni_model.sim.explain._detect import detected_codes
from vpccni_model.sim.explain._findings import (
    CHURN,
    LOOP,
    MIN_ALONE,
    PD_MAX_PODS,
    STEPS,
    UNREACHABLE,
    WAIT,
    WASTE,
    Case,
    Draft,
    addressable,
    calculator_figure,
)

# -- the plan --------------------------------------------------------------------------------


@attrs.define
class Plan:
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
    case: Case,
    plan: Plan,
    name: str,
    values: Iterable[int],
    accepts: list[Callable[[frozenset[str]], bool]],
) -> int | None:
    """The first value of ``name`` whose patched case passes ``accepts[0]``, else the first
    that passes ``accepts[1]``, and so on; None when none qualifies."""
    found: list[int | None] = [None] * len(accepts)
    for value in values:
        codes = detected_codes(case.patched({**plan.env, name: str(value)}))
        for i, accept in enumerate(accepts):
            if found[i] is None and accept(codes):
                found[i] = value
        if found[0] is not None:
            break
    return next((v for v in found if v is not None), None)


def _none_of(*codes: str) -> Callable[[frozenset[str]], bool]:
    banned = frozenset(codes)
    return lambda found: not found & banned


def make_plan(case: Case, drafts: tuple[Draft, ...]) -> Plan:
    config, limits = case.config, case.limits
    codes = {d.code for d in drafts}
    plan = Plan()
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
        value, _ = calculator_figure(limits, config)
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
        candidates = [w for w in STEPS if lower <= w <= max(room, 1)]
        plan.tried = candidates
        found = _search(case, plan, WARM_IP_TARGET, candidates, accepts)
        if found is not None:
            owner = next(c for c in (MIN_ALONE, WAIT, CHURN) if c in codes)
            plan.set(owner, WARM_IP_TARGET, found)
    if WASTE in codes:
        _plan_waste(case, plan, room, frozenset(codes))
    return plan


def _plan_waste(case: Case, plan: Plan, room: int, before: frozenset[str]) -> None:
    """Fewer idle addresses, without a problem the configuration does not have already."""
    config = case.config
    worse = frozenset({MIN_ALONE, WAIT, CHURN}) - before
    tiers = [_none_of(WASTE, MIN_ALONE, WAIT, CHURN), _none_of(WASTE, *worse)]
    if not config.warm_ip_targets_defined:
        if config.prefix_delegation and config.warm_prefix_target >= 2:
            plan.set(WASTE, WARM_PREFIX_TARGET, 1)
            if WASTE not in detected_codes(case.patched(plan.env)):
                return
            del plan.env[WARM_PREFIX_TARGET]
        if WARM_IP_TARGET not in plan.env:
            candidates = [w for w in STEPS if w <= max(room, 1)]
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
        lower = [v for v in (0, *STEPS) if v < current]
        if name == WARM_IP_TARGET and config.minimum_ip_target:
            lower = [v for v in lower if v > 0]  # W=0 with M set starves pods
        found = _search(case, plan, name, reversed(lower), tiers)
        if found is not None:
            plan.set(WASTE, name, found)
            return
