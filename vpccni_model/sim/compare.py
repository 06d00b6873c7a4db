"""Two configurations on the same workload, side by side: what differs in their inputs, what
differs in what they come to, and which of those differences matter.

Both runs replay the same pod events: the engine draws the workload alone from the run's
seed, so the same workload, seed, duration and nodes (by name) give the same arrivals and
deletions at the same instants (where a pod lands can still differ when max pods differ).
Runs of different nodes may be compared too; their workloads then place different pods.

A difference **matters** when it is one of :data:`ALWAYS` (a pod failing, a pod left
unschedulable, an EC2 call failing or throttled, ipamd failing to start: any change there is
news) or a time-to-IP percentile that is "never" on one side only; otherwise when it changes
by more than :data:`RELATIVE` (10%) *and* by at least its unit's floor in :data:`FLOORS`
(small counts swing by large percentages for no reason worth a reader's time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vpccni_model._errors import ConfigError
from vpccni_model.sim.engine import simulate
from vpccni_model.sim.explain import Explanation
from vpccni_model.sim.explain import explain as explain_config
from vpccni_model.sim.metrics import SimulationResult, Summary
from vpccni_model.sim.spec import SimulationSpec

__all__ = [
    "delta_text",
    "figure_text",
    "ALWAYS",
    "FIGURES",
    "FLOORS",
    "RELATIVE",
    "Comparison",
    "Difference",
    "InputDifference",
    "change_text",
    "compare",
    "difference",
    "figure_differences",
    "input_differences",
]

#: Figures whose every change matters.
ALWAYS = frozenset(
    {
        "pods_failed",
        "pods_failed_subnet_full",
        "pods_failed_ec2_error",
        "pods_failed_timeout",
        "pods_unschedulable",
        "ec2_calls_failed",
        "ec2_calls_throttled",
        "ipamd_start_failures",
    }
)

#: The relative change above which a difference may matter.
RELATIVE = 0.10

#: The smallest change that matters, per unit.
FLOORS: Mapping[str, float] = {
    "pods": 5,
    "seconds": 1.0,
    "addresses": 5,
    "enis": 1,
    "calls": 10,
    "calls_per_hour": 10,
}

#: The summary figures compared, in the order shown, with their unit.
FIGURES: tuple[tuple[str, str], ...] = (
    ("pods_started", "pods"),
    ("pods_failed", "pods"),
    ("pods_failed_subnet_full", "pods"),
    ("pods_failed_ec2_error", "pods"),
    ("pods_failed_timeout", "pods"),
    ("pods_unschedulable", "pods"),
    ("pods_that_waited", "pods"),
    ("time_to_ip_p50_s", "seconds"),
    ("time_to_ip_p95_s", "seconds"),
    ("time_to_ip_p99_s", "seconds"),
    ("time_to_ip_max_s", "seconds"),
    ("ips_total_mean", "addresses"),
    ("ips_total_max", "addresses"),
    ("ips_unused_mean", "addresses"),
    ("ips_unused_max", "addresses"),
    ("enis_max", "enis"),
    ("subnet_addresses_max", "addresses"),
    ("ec2_calls", "calls"),
    ("ec2_calls_per_hour", "calls_per_hour"),
    ("ec2_calls_failed", "calls"),
    ("ec2_calls_throttled", "calls"),
    ("ipamd_start_failures", "pods"),
)

#: Prefix of the per-API call figures (``calls.AssignPrivateIpAddresses``: every outcome).
CALLS = "calls."

#: Inputs every run records that say nothing about the configuration.
_NOT_INPUTS = ("vpccni_model_version", "per_node_series", "hours")

Number = int | float


@attrs.frozen
class Difference:
    """One figure of both runs: ``delta`` is ``b - a``, ``relative`` that over ``a`` (None
    when ``a`` is 0 or either side is None); ``matters`` by the module's rules, ``rule`` says
    which applied."""

    field: str
    a: Number | None
    b: Number | None
    delta: Number | None
    relative: float | None
    matters: bool
    rule: str


@attrs.frozen
class InputDifference:
    """An input of the runs that differs (``config.warm_ip_target``, ``max_pods``...), as
    the runs record it in ``SimulationResult.inputs``; None where one side has no such
    input."""

    field: str
    a: Any
    b: Any


@attrs.frozen
class Comparison:
    """Two runs side by side: ``inputs`` that differ, every compared figure in
    ``differences`` (:data:`FIGURES`, then calls per API by name), and with ``explain``
    each configuration's :class:`~vpccni_model.sim.explain.Explanation`."""

    label_a: str
    label_b: str
    result_a: SimulationResult = attrs.field(repr=False, eq=False)
    result_b: SimulationResult = attrs.field(repr=False, eq=False)
    inputs: tuple[InputDifference, ...]
    differences: tuple[Difference, ...]
    explanations: tuple[Explanation, Explanation] | None = attrs.field(
        default=None, repr=False, eq=False
    )

    @property
    def summary_a(self) -> Summary:
        return self.result_a.summary

    @property
    def summary_b(self) -> Summary:
        return self.result_b.summary

    @property
    def identical(self) -> bool:
        """The two runs had the same inputs (and so, being deterministic, the same results)."""
        return not self.inputs

    @property
    def mattering(self) -> tuple[Difference, ...]:
        """The differences that matter, in the order of ``differences``."""
        return tuple(d for d in self.differences if d.matters)


#: How a floor reads, per unit.
_FLOOR_WORDS = {
    "pods": "{:g} pods",
    "seconds": "{:g} s",
    "addresses": "{:g} addresses",
    "enis": "{:g} ENI",
    "calls": "{:g} calls",
    "calls_per_hour": "{:g} calls per hour",
}


def _rule(field: str, unit: str) -> str:
    if field in ALWAYS:
        return "any change"
    return f"over {RELATIVE:.0%} and at least {_FLOOR_WORDS[unit].format(FLOORS[unit])}"


def difference(field: str, unit: str, a: Number | None, b: Number | None) -> Difference:
    """Compare one figure (``unit`` one of :data:`FLOORS`' keys)."""
    if unit not in FLOORS:
        raise ConfigError("unit", unit, f"must be one of {', '.join(FLOORS)}")
    rule = _rule(field, unit)
    if a is None or b is None:
        # A time-to-IP rank on a pod that gave up ("never") on one side only always matters.
        matters = (a is None) != (b is None)
        return Difference(field, a, b, None, None, matters, "never on one side only")
    delta = b - a
    relative = delta / a if a else None
    if field in ALWAYS:
        matters = delta != 0
    else:
        big = relative is None or abs(relative) > RELATIVE
        matters = delta != 0 and big and abs(delta) >= FLOORS[unit]
    return Difference(field, a, b, delta, relative, matters, rule)


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested inputs as ``a.b.c`` keys (list items by index)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}{key}."))
        return out
    if isinstance(value, list | tuple) and value and isinstance(value[0], Mapping):
        out = {}
        for index, item in enumerate(value):
            out.update(_flat(item, f"{prefix}{index}."))
        return out
    return {prefix.rstrip("."): value}


def input_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[InputDifference, ...]:
    """The inputs (``SimulationResult.inputs``) that differ, sorted by name. With one node
    group on each side its fields lose their ``node_groups.0.`` prefix."""
    single = len(a.get("node_groups", ())) == len(b.get("node_groups", ())) == 1

    def flat(inputs: Mapping[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in inputs.items() if k not in _NOT_INPUTS}
        out = _flat(kept)
        if single:
            out = {k.removeprefix("node_groups.0."): v for k, v in out.items()}
        return out

    left, right = flat(a), flat(b)
    return tuple(
        InputDifference(key, left.get(key), right.get(key))
        for key in sorted(set(left) | set(right))
        if left.get(key) != right.get(key)
    )


def _calls(result: SimulationResult) -> dict[str, int]:
    return {api: sum(counts.values()) for api, counts in result.calls_by_api.items()}


def figure_differences(a: SimulationResult, b: SimulationResult) -> tuple[Difference, ...]:
    """Every compared figure of two runs: :data:`FIGURES`, then each API's calls."""
    out = [
        difference(name, unit, getattr(a.summary, name), getattr(b.summary, name))
        for name, unit in FIGURES
    ]
    left, right = _calls(a), _calls(b)
    for api in sorted(set(left) | set(right)):
        out.append(difference(CALLS + api, "calls", left.get(api, 0), right.get(api, 0)))
    return tuple(out)


def _same_run(spec_a: SimulationSpec, spec_b: SimulationSpec) -> None:
    for field in ("workload", "seed", "duration"):
        if getattr(spec_a, field) != getattr(spec_b, field):
            raise ConfigError(
                field,
                getattr(spec_b, field),
                f"differs from spec_a's ({getattr(spec_a, field)!r}): a comparison runs both "
                "configurations on the same workload, seed and duration",
            )


def _explain(spec: SimulationSpec) -> Explanation:
    """The explainer on a run's one kind of node."""
    node = spec.nodes[0]
    kind = (node.limits, node.config, node.host_network_pods)
    if any((n.limits, n.config, n.host_network_pods) != kind for n in spec.nodes):
        raise ConfigError("explain", True, "needs every node of a run alike")
    return explain_config(
        node.limits, node.config, seed=spec.seed, host_network_pods=node.host_network_pods
    )


def compare(
    spec_a: SimulationSpec,
    spec_b: SimulationSpec,
    *,
    labels: tuple[str, str] = ("A", "B"),
    explain: bool = False,
) -> Comparison:
    """Run ``spec_a`` and ``spec_b`` (the same workload, seed and duration; the nodes, their
    configurations and instance types, subnets or faults may differ) and compare them; with
    ``explain``, also run the config explainer on each (every node of a run alike)."""
    for name, spec in (("spec_a", spec_a), ("spec_b", spec_b)):
        if not isinstance(spec, SimulationSpec):
            raise ConfigError(name, spec, "must be a SimulationSpec")
    if not (
        isinstance(labels, tuple)
        and len(labels) == 2
        and all(isinstance(x, str) and x.strip() for x in labels)
        and labels[0] != labels[1]
    ):
        raise ConfigError("labels", labels, "must be two different non-empty strings")
    _same_run(spec_a, spec_b)
    explanations = (_explain(spec_a), _explain(spec_b)) if explain else None
    result_a, result_b = simulate(spec_a), simulate(spec_b)
    return Comparison(
        label_a=labels[0],
        label_b=labels[1],
        result_a=result_a,
        result_b=result_b,
        inputs=input_differences(result_a.inputs, result_b.inputs),
        differences=figure_differences(result_a, result_b),
        explanations=explanations,
    )


def figure_text(value: object, field: str) -> str:
    """A figure as ``compare`` and its page show it: counts with separators, other numbers to
    two decimals, a missing time-to-IP rank as ``never`` (a pod gave up there), else ``-``."""
    if value is None:
        return "never" if field.startswith("time_to_ip_p") else "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"


def delta_text(diff: Difference) -> str:
    """``b - a`` signed (``+14``, ``-40.61``), ``0``, or ``-`` when a side is None."""
    if diff.delta is None:
        return "-"
    if diff.delta == 0:
        return "0"
    text = figure_text(diff.delta, diff.field)
    return text if text.startswith("-") else "+" + text


def change_text(diff: Difference) -> str:
    """A difference's relative change as a reader sees it: ``+12%``, ``-57%``, ``0%``,
    ``from 0``, or ``-`` when a side is None. A change that rounds to 0% keeps a decimal
    (``-0.2%``, ``+<0.1%``): it never reads as a signed zero."""
    if diff.delta is None:
        return "-"
    if diff.delta == 0:
        return "0%"
    if diff.relative is None:
        return "from 0"
    for text in (f"{diff.relative:+.0%}", f"{diff.relative:+.1%}"):
        if text.strip("+-0.%"):  # a digit other than 0 is left
            return text
    return ("+" if diff.relative > 0 else "-") + "<0.1%"
