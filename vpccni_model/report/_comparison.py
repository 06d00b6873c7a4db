"""The report of a comparison (``compare --report``): which side is better on what, the key
figures of both runs side by side with the differences that matter marked, the inputs that
differ, overlaid figures, calls per API, each side's findings and every input.

"Better" is lower for every figure but pods started (more pods got an IP): fewer failures,
shorter waits, fewer addresses held, fewer EC2 calls. Whether a difference matters is the
comparison's own rule (``vpccni_model.sim.compare``); the page only shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from vpccni_model._env import ENV_VARIABLES
from vpccni_model._errors import ConfigError
from vpccni_model._lint import EnvFinding
from vpccni_model.report._document import Figure, Finding, Report, Table, flatten, shown_value
from vpccni_model.report._findings import report_findings
from vpccni_model.report._inputs import settings_tables
from vpccni_model.sim.compare import (
    CALLS,
    FLOORS,
    RELATIVE,
    Comparison,
    Difference,
    change_text,
    delta_text,
    figure_text,
)

#: Figure labels as the page shows them; per-API call figures read ``calls <API>``.
LABELS = {
    "pods_started": "Pods started",
    "pods_failed": "Pods failed",
    "pods_failed_subnet_full": "Pods failed, subnet full",
    "pods_failed_ec2_error": "Pods failed, EC2 error",
    "pods_failed_timeout": "Pods failed, no error",
    "pods_unschedulable": "Pods unschedulable",
    "pods_that_waited": "Pods that waited",
    "time_to_ip_p50_s": "Time to IP, p50 (s)",
    "time_to_ip_p95_s": "Time to IP, p95 (s)",
    "time_to_ip_p99_s": "Time to IP, p99 (s)",
    "time_to_ip_max_s": "Time to IP, max (s)",
    "ips_total_mean": "IPs held, mean",
    "ips_total_max": "IPs held, max",
    "ips_unused_mean": "Idle IPs, mean",
    "ips_unused_max": "Idle IPs, max",
    "enis_max": "ENIs, max",
    "subnet_addresses_max": "Subnet addresses, max",
    "ec2_calls": "EC2 calls",
    "ec2_calls_per_hour": "EC2 calls per hour",
    "ec2_calls_failed": "EC2 calls failed",
    "ec2_calls_throttled": "EC2 calls throttled",
    "ipamd_start_failures": "ipamd start failures",
}

#: The key table's rows, in order; the last two only when either side has any.
KEY_FIELDS = (
    "pods_started",
    "pods_failed",
    "pods_that_waited",
    "time_to_ip_p50_s",
    "time_to_ip_p95_s",
    "time_to_ip_p99_s",
    "time_to_ip_max_s",
    "ips_total_max",
    "ips_total_mean",
    "ips_unused_mean",
    "enis_max",
    "subnet_addresses_max",
    "ec2_calls_per_hour",
    "ec2_calls_failed",
    "ec2_calls_throttled",
    "pods_unschedulable",
    "ipamd_start_failures",
)
_SHOWN_WHEN_ANY = ("pods_unschedulable", "ipamd_start_failures")

#: The lead's themes: per figure (most telling first), what the better side does, in words,
#: and the figure's unit in the brackets that follow ("p99 9.00 s, B 25.00 s").
THEMES: tuple[tuple[tuple[str, str, str, str], ...], ...] = (
    (
        ("pods_failed", "loses fewer pods", "", " pods failed"),
        ("pods_unschedulable", "leaves fewer pods unschedulable", "", " unschedulable"),
        ("ipamd_start_failures", "has fewer ipamd start failures", "", " start failures"),
        ("pods_started", "starts more pods", "", " pods started"),
    ),
    (
        ("time_to_ip_p99_s", "gives pods their IPs sooner", "p99 ", " s"),
        ("time_to_ip_p95_s", "gives pods their IPs sooner", "p95 ", " s"),
        ("time_to_ip_max_s", "gives pods their IPs sooner", "longest wait ", " s"),
        ("time_to_ip_p50_s", "gives pods their IPs sooner", "p50 ", " s"),
        ("pods_that_waited", "makes fewer pods wait", "", " pods waited"),
    ),
    (
        ("subnet_addresses_max", "takes fewer subnet addresses", "at most ", " addresses"),
        ("ips_total_max", "holds fewer IPs", "at most ", " IPs"),
        ("ips_total_mean", "holds fewer IPs", "", " IPs on average"),
        ("ips_unused_mean", "keeps fewer idle IPs", "", " idle on average"),
        ("enis_max", "attaches fewer ENIs", "at most ", " ENIs"),
    ),
    (
        ("ec2_calls_throttled", "has fewer EC2 calls throttled", "", " throttled"),
        ("ec2_calls_failed", "has fewer EC2 calls fail", "", " failed"),
        ("ec2_calls_per_hour", "makes fewer EC2 calls", "", " an hour"),
    ),
)

#: The mark and word of a difference that matters (never colour alone).
MATTERS = "\u25b2 matters"
DIFFERS = "\u25b2 differs"


def label(field: str) -> str:
    """How a figure is named on the page."""
    if field.startswith(CALLS):
        return "calls " + field.removeprefix(CALLS)
    return LABELS.get(field, field)


def better(diff: Difference) -> int | None:
    """0 when A is better, 1 when B is, None when they are level: lower is better but for
    pods started; a time-to-IP rank that is "never" on one side loses."""
    if diff.a is None or diff.b is None:
        if (diff.a is None) == (diff.b is None):
            return None
        return 1 if diff.a is None else 0
    if diff.a == diff.b:
        return None
    higher_wins = diff.field == "pods_started"
    return 1 if (diff.b > diff.a) == higher_wins else 0


def _clauses(comparison: Comparison) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Per side, what it is better on: (theme, clause), one per theme (its most telling
    difference that matters), in theme order."""
    by_field = {d.field: d for d in comparison.mattering}
    labels = (comparison.label_a, comparison.label_b)
    out: tuple[list[tuple[int, str]], list[tuple[int, str]]] = ([], [])
    for index, theme in enumerate(THEMES):
        said: set[int] = set()
        for field, words, before, after in theme:
            diff = by_field.get(field)
            side = None if diff is None else better(diff)
            if diff is None or side is None or side in said:
                continue
            said.add(side)
            mine, theirs = (diff.a, diff.b) if side == 0 else (diff.b, diff.a)
            their_unit = "" if theirs is None and after == " s" else after
            out[side].append(
                (
                    index,
                    f"{words} ({before}{figure_text(mine, field)}{after}, "
                    f"{labels[1 - side]} {figure_text(theirs, field)}{their_unit})",
                )
            )
    return out


def _joined(clauses: list[tuple[int, str]]) -> str:
    words = [c for _, c in clauses]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def lead(comparison: Comparison, *, env_differs: bool = False) -> str:
    """The comparison in one sentence: which side is better on what, the side ahead on the
    graver theme first (A first on a tie). ``env_differs``: the sides' aws-node variables
    differ even though the runs' inputs do not."""
    la, lb = comparison.label_a, comparison.label_b
    if comparison.identical and env_differs:
        return (
            f"Identical configurations for ipamd: {la} and {lb} differ only in variables ipamd "
            "does not act on, so the same results."
        )
    if comparison.identical:
        return f"Identical configurations: {la} and {lb} have the same inputs, so the same results."
    if not comparison.mattering:
        return (
            f"No difference that matters: {la} and {lb} differ in their inputs but come to the "
            "same figures, within the thresholds (see the notes)."
        )
    wins = _clauses(comparison)
    if not any(wins):
        return f"{len(comparison.mattering)} differences matter (see the key figures)."
    # The side ahead on the graver theme (failures, then waits, addresses, EC2) speaks first.
    sides = sorted((c[0][0], i) for i, c in enumerate(wins) if c)
    parts = [f"{(la, lb)[i]} {_joined(wins[i])}" for _, i in sides]
    if len(parts) == 1:
        loser = lb if wins[0] else la
        parts.append(f"{loser} is better on no figure that matters")
    return "; ".join(parts) + "."


def _key_table(comparison: Comparison) -> Table:
    by_field = {d.field: d for d in comparison.differences}
    shown = [
        by_field[f]
        for f in KEY_FIELDS
        if f in by_field and (f not in _SHOWN_WHEN_ANY or by_field[f].a or by_field[f].b)
    ]
    return _figures_table(
        comparison,
        shown,
        f"{comparison.label_a} and {comparison.label_b} side by side",
        f"all nodes; delta is {comparison.label_b} less {comparison.label_a}, change relative to "
        f"{comparison.label_a}; {MATTERS} marks a difference that matters, better names the "
        "side ahead on it",
        rule=False,
    )


def _figures_table(
    comparison: Comparison,
    diffs: Sequence[Difference],
    title: str,
    caption: str,
    *,
    rule: bool,
) -> Table:
    labels = (comparison.label_a, comparison.label_b)
    rows = []
    for d in diffs:
        side = better(d)
        row = [
            label(d.field),
            figure_text(d.a, d.field),
            figure_text(d.b, d.field),
            delta_text(d),
            change_text(d),
            MATTERS if d.matters else "",
            labels[side] if d.matters and side is not None else "",
        ]
        rows.append((*row, d.rule) if rule else tuple(row))
    headers = ("figure", labels[0], labels[1], "delta", "change", "matters", "better")
    return Table(
        title,
        (*headers, "matters when") if rule else headers,
        tuple(rows),
        caption,
        row_keys=tuple(d.field for d in diffs),
        marked=tuple(d.matters for d in diffs),
    )


def _calls_table(comparison: Comparison) -> Table:
    la, lb = comparison.label_a, comparison.label_b
    apis = sorted(set(comparison.result_a.calls_by_api) | set(comparison.result_b.calls_by_api))
    by_field = {d.field: d for d in comparison.differences}
    rows, marked = [], []
    for api in apis:
        diff = by_field.get(CALLS + api)
        cells = [api]
        for result in (comparison.result_a, comparison.result_b):
            counts = result.calls_by_api.get(api, {})
            cells += [f"{sum(counts.values()):,}", f"{counts.get('failed', 0):,}"]
            cells.append(f"{counts.get('throttled', 0):,}")
        matters = diff is not None and diff.matters
        cells += ["-" if diff is None else change_text(diff), MATTERS if matters else ""]
        rows.append(tuple(cells))
        marked.append(matters)
    return Table(
        "EC2 calls by API",
        (
            "API",
            *(f"{side} {what}" for side in (la, lb) for what in ("calls", "failed", "throttled")),
            "change",
            "matters",
        ),
        tuple(rows),
        "every call of each run, all nodes; calls count every outcome (ok, failed, throttled)",
        row_keys=tuple(apis),
        marked=tuple(marked),
    )


def _inputs_differ(comparison: Comparison, envs: tuple[Mapping[str, Any], ...]) -> list[Table]:
    """The aws-node variables set differently and the run inputs that differ (ipamd's
    effective values first among them); none when the two sides ran the same inputs."""

    def shown(value: object) -> str:
        return "(unset)" if value is None else shown_value(value)

    rows: list[tuple[str, str, str]] = []
    unread = []
    for name in sorted(set(envs[0]) | set(envs[1])):
        a, b = envs[0].get(name), envs[1].get(name)
        if a == b:
            continue
        if name in ENV_VARIABLES:
            rows.append((f"env {name}", shown(a), shown(b)))
        else:
            unread.append(name)
    for diff in comparison.inputs:
        name = diff.field
        if name.startswith("config."):
            name = "effective " + name.removeprefix("config.")
        rows.append((name, shown(diff.a), shown(diff.b)))
    caption = "env: the aws-node variables as set; effective: what ipamd runs with"
    if unread:
        caption += f"; also set differently, but not read by the model: {', '.join(unread)}"
    if not rows and not unread:
        return []
    return [
        Table(
            "Inputs that differ",
            ("input", comparison.label_a, comparison.label_b),
            tuple(rows),
            caption,
            align_numbers=False,
        )
    ]


def _effective_config(comparison: Comparison) -> list[Table]:
    """ipamd's effective config of each node group, A and B side by side."""
    groups = (
        comparison.result_a.inputs.get("node_groups") or [],
        comparison.result_b.inputs.get("node_groups") or [],
    )
    tables = []
    for index in range(max(len(groups[0]), len(groups[1]))):
        configs = [flatten(g[index].get("config", {})) if index < len(g) else {} for g in groups]
        names = list(dict.fromkeys([*configs[0], *configs[1]]))
        differs = tuple(configs[0].get(n) != configs[1].get(n) for n in names)
        rows = tuple(
            (n, *(shown_value(c.get(n)) for c in configs), DIFFERS if d else "")
            for n, d in zip(names, differs, strict=True)
        )
        suffix = f", node group {index + 1}" if max(map(len, groups)) > 1 else ""
        tables.append(
            Table(
                f"ipamd's effective config{suffix}",
                ("setting", comparison.label_a, comparison.label_b, "differs"),
                rows,
                "Config.for_instance: what ipamd runs with on the instance type",
                align_numbers=False,
                marked=differs,
            )
        )
    return tables


_OWN_TABLES = ("node_groups", "env", "settings", "label")


def _run_table(comparison: Comparison, extras: tuple[Mapping[str, Any], ...]) -> Table:
    """Every input of the runs but the per-side tables; one value when both sides agree."""
    sides = [
        flatten({k: v for k, v in {**e, **r.inputs}.items() if k not in _OWN_TABLES})
        for e, r in zip(extras, (comparison.result_a, comparison.result_b), strict=True)
    ]
    names = list(dict.fromkeys([*sides[0], *sides[1]]))
    values: dict[str, str] = {}
    for name in names:
        a, b = (shown_value(s.get(name)) for s in sides)
        values[name] = a if a == b else f"{comparison.label_a}: {a}; {comparison.label_b}: {b}"
    return Table.pairs("Run", values, "both sides; where they differ, each side's value")


def _side_findings(comparison: Comparison, lint: tuple[Iterable[EnvFinding], ...]) -> list[Any]:
    labels = (comparison.label_a, comparison.label_b)
    explained = comparison.explanations
    per_side = [
        report_findings(found, None if explained is None else explained[index])
        for index, found in enumerate(lint)
    ]
    codes = [{f.code for f in found} for found in per_side]
    out = []
    for index, found in enumerate(per_side):
        for f in found:
            only = " only" if f.code not in codes[1 - index] else ""
            out.append(attrs.evolve(f, message=f"{labels[index]}{only}: {f.message}"))
    return out


def _findings_intro(comparison: Comparison) -> str:
    la, lb = comparison.label_a, comparison.label_b
    if comparison.explanations is None:
        return "The configurations were not explained (see the notes)."
    ex_a, ex_b = comparison.explanations
    counts = f"{la}: {len(ex_a.findings)}, {lb}: {len(ex_b.findings)}"
    return (
        f"What explain finds in each configuration ({counts}), {la}'s then {lb}'s, most severe "
        f'first; "{la} only" when the other side has no such finding. They are what '
        f"`vpccni-model explain --instance {ex_a.instance_type}` prints for each side's inputs."
    )


def comparison_report(
    comparison: Comparison,
    *,
    inputs: tuple[Mapping[str, Any], Mapping[str, Any]] = ({}, {}),
    lint: tuple[Iterable[EnvFinding], Iterable[EnvFinding]] = ((), ()),
    notes: Iterable[str] = (),
    figures: bool = True,
) -> Report:
    """The report of ``comparison``. ``inputs`` adds each side's command-line inputs (its
    ``env`` and ``settings``, as ``simulation_report`` takes them); ``lint`` each side's
    environment findings; ``figures`` False leaves the overlays out."""
    la, lb = comparison.label_a, comparison.label_b
    first = {**inputs[0], **comparison.result_a.inputs}
    groups = first.get("node_groups") or [{}]
    what = ", ".join(f"{g.get('nodes', '?')} x {g.get('instance_type', '?')}" for g in groups)
    subnets = ", ".join(str(n.get("cidr")) for n in first.get("subnets", {}).values())
    envs = tuple(dict(side.get("env") or {}) for side in inputs)
    findings: list[Finding] = _side_findings(comparison, lint)
    report = Report(
        title=f"Comparison: {la} and {lb} on {what}",
        subtitle=f"{comparison.summary_a.duration_s / 3600:g} h of simulated time, workload "
        f"{first.get('workload', {}).get('type', '?')}, seed {first.get('seed')}, subnet "
        f"{subnets}; both runs replay the same pod events",
        lead=lead(comparison, env_differs=envs[0] != envs[1]),
        key_tables=(*_inputs_differ(comparison, envs), _key_table(comparison)),
        findings=tuple(findings),
        findings_intro=_findings_intro(comparison),
        footer=f"vpccni-model {first.get('vpccni_model_version', 'unknown')}: the same inputs "
        "give the same report.",
    )
    # A's settings beside B's, then A's environment beside B's.
    per_side = [settings_tables(extra) for extra in inputs]
    side_tables = [
        attrs.evolve(table, title=f"{name}: {table.title}")
        for pair in zip(*per_side, strict=False)
        for name, table in zip((la, lb), pair, strict=True)
    ]
    report = report.add(
        tables=[
            *_effective_config(comparison),
            _figures_table(
                comparison,
                comparison.differences,
                "Every figure",
                "all nodes; the rule each difference is held to is in the last column",
                rule=True,
            ),
            _calls_table(comparison),
        ],
        inputs=[*side_tables, _run_table(comparison, inputs)],
        notes=[
            *notes,
            "A difference matters when a pod fails or stays unschedulable, an EC2 call fails "
            "or is throttled, or ipamd fails to start (any change), or a time-to-IP rank is "
            f"never on one side only; otherwise when it changes by more than {RELATIVE:.0%} "
            f"and by at least {FLOORS['pods']:g} pods, {FLOORS['seconds']:g} s, "
            f"{FLOORS['addresses']:g} addresses, {FLOORS['enis']:g} ENI or "
            f"{FLOORS['calls']:g} calls.",
            "Better is lower for every figure but pods started: fewer failures, shorter waits, "
            "fewer addresses held, fewer EC2 calls.",
        ],
    )
    if not figures:
        return report
    try:
        from vpccni_model.report._figures import png_bytes
        from vpccni_model.report._overlay import OVERLAYS, overlay_figures

        drawn = overlay_figures([(la, comparison.result_a), (lb, comparison.result_b)])
    except ConfigError as exc:
        if exc.field != "plots":
            raise
        return report.add(
            notes=[
                "Figures left out: matplotlib is not installed (install the plots extra: "
                "pip install -e '.[plots]' in the repository)."
            ]
        )
    styles = f"{la} solid, {lb} dashed"
    return report.add(
        figures=[
            Figure(
                what_[0].upper() + what_[1:],
                png_bytes(fig),
                f"Lines of {what_} over the run, {la} and {lb} on the same axes ({styles})",
                f"{styles}; all nodes, sampled every "
                f"{first.get('sample_interval_s', 60):g} s of simulated time",
            )
            for what_, fig in zip(OVERLAYS, drawn, strict=True)
        ]
    )
