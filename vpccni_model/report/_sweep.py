"""The report of a sweep (``sweep --report``): which settings are on the Pareto front per
workload and what beats the others, the Pareto figure, every setting at its worst over the
seeds, every run, each setting's findings and every input.

The page holds only what the rows hold (and the spec), so it does not depend on the engine
the runs went to; the engine is echoed among the inputs. Figures are formatted as the
terminal table prints them (addresses whole, calls an hour and seconds to one decimal), so
the page and ``vpccni-model sweep`` read the same. A lead compares each setting on the
front with the baseline: the env set with no variables (the shipped settings) on the same
instance type, or the grid's first setting when the sweep has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from vpccni_model._errors import ConfigError
from vpccni_model._limits import instance_limits
from vpccni_model._lint import lint_env
from vpccni_model.report._document import (
    Figure,
    Finding,
    KeyFigure,
    Report,
    Table,
    flatten,
    shown_value,
)
from vpccni_model.report._findings import report_findings
from vpccni_model.sim.explain import Explanation, explain
from vpccni_model.sweep import ParetoPoint, SweepResult, SweepRow, SweepSpec

#: The Pareto column's words, each with a mark (never colour alone).
FRONT = "\u25c6 front"
DOMINATED = "\u2715 dominated by"
DIFFERS = "\u25b2 differs"
#: At most this many settings are named per workload and kind in the lead; the rest counted.
LEAD_NAMES = 4
#: At most this many front settings are set against the baseline in words; a lone dominated
#: setting is told how it is beaten, several only by whom.
LEAD_TRADES = 2


def _held(value: int) -> str:
    return f"{value:,}"


def _calls(value: float) -> str:
    return f"{value:,.1f}"


def _secs(value: float | None, none: str = "never") -> str:
    return none if value is None else f"{value:,.1f}"


def _worst_time(values: Iterable[float | None]) -> float | None:
    """The worst of a time-to-IP rank over seeds: None (a pod gave up there) beats any time."""
    seen = list(values)
    return None if any(v is None for v in seen) else max(v for v in seen if v is not None)


def _longest(values: Iterable[float | None]) -> float | None:
    """The longest wait over seeds (None: no pod got an IP in any of them)."""
    seen = [v for v in values if v is not None]
    return max(seen) if seen else None


def _names(spec: SweepSpec) -> Any:
    """A setting's name as tables and plots show it: the env set's label, with the instance
    type in front only when the sweep has several."""
    several = len(spec.instances) > 1

    def name(instance: str, env_label: str) -> str:
        return f"{instance} {env_label}" if several else env_label

    return name


def _groups(rows: Iterable[SweepRow]) -> dict[tuple[str, str, str], list[SweepRow]]:
    out: dict[tuple[str, str, str], list[SweepRow]] = {}
    for row in rows:
        out.setdefault((row.workload_label, row.instance, row.env_label), []).append(row)
    return out


def _baselines(result: SweepResult) -> dict[tuple[str, str], ParetoPoint]:
    """Per (workload, instance), the point the lead compares the front with."""
    shipped = next((e.name for e in result.spec.env if not e.values), None)
    out: dict[tuple[str, str], ParetoPoint] = {}
    first: dict[str, ParetoPoint] = {}
    for p in result.pareto():
        first.setdefault(p.workload, p)
        if p.env_label == shipped:
            out[(p.workload, p.instance)] = p
    for p in result.pareto():
        out.setdefault((p.workload, p.instance), first[p.workload])
    return out


def _share(part: float, whole: float) -> str:
    share = 100 * part / whole
    return "under 1%" if share < 0.5 else f"{share:.0f}%"


def _trade(p: ParetoPoint, base: ParetoPoint, name: str, base_name: str) -> str:
    """``p`` against ``base`` in words: addresses, then EC2 calls, then p99 time to IP."""
    x, y = p.subnet_addresses_max, base.subnet_addresses_max
    if x == y:
        held = f"as many addresses as {base_name} ({_held(x)})"
    elif y == 0:
        held = f"{_held(x)} addresses against {base_name}'s none"
    else:
        more = "fewer" if x < y else "more"
        figures = f"({_held(x)} against {_held(y)})"
        held = f"{_share(abs(x - y), y)} {more} addresses than {base_name} {figures}"
    a, b = p.ec2_calls_per_hour, base.ec2_calls_per_hour
    if a == b:
        calls = "as many EC2 calls"
    elif b == 0:
        calls = f"{_calls(a)} EC2 calls an hour against none"
    elif a >= 2 * b:
        calls = f"{a / b:.1f}x the EC2 calls ({_calls(a)} an hour against {_calls(b)})"
    else:
        more = "fewer" if a < b else "more"
        calls = (
            f"{_share(abs(a - b), b)} {more} EC2 calls ({_calls(a)} an hour against {_calls(b)})"
        )
    s, t = p.time_to_ip_p99_s, base.time_to_ip_p99_s
    if s == t:
        p99 = f"the same p99 time to IP ({_secs(s)}{'' if s is None else ' s'})"
    else:
        p99 = f"a p99 time to IP of {_secs(s)}{'' if s is None else ' s'} against {_secs(t)}"
        p99 += "" if t is None else " s"
    return f"{name} holds {held}, with {calls} and {p99}"


def _beaten_on(p: ParetoPoint, by: ParetoPoint) -> str:
    """What ``by`` does better than ``p`` (it dominates ``p``), figure by figure."""
    parts = []
    if by.subnet_addresses_max < p.subnet_addresses_max:
        parts.append(
            f"holds fewer addresses ({_held(by.subnet_addresses_max)} against "
            f"{_held(p.subnet_addresses_max)})"
        )
    if by.ec2_calls_per_hour < p.ec2_calls_per_hour:
        parts.append(
            f"makes fewer EC2 calls ({_calls(by.ec2_calls_per_hour)} an hour against "
            f"{_calls(p.ec2_calls_per_hour)})"
        )
    if by.costs()[2] < p.costs()[2]:
        parts.append(
            f"gives pods their IPs sooner (p99 {_secs(by.time_to_ip_p99_s)} s against "
            f"{_secs(p.time_to_ip_p99_s)}{'' if p.time_to_ip_p99_s is None else ' s'})"
        )
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _listed(items: Sequence[str], limit: int, rest: str) -> str:
    """``items`` joined by semicolons, the ones past ``limit`` only counted."""
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more {rest}")
    return "; ".join(shown)


def _workload_lead(
    mine: Sequence[ParetoPoint], where: str, name: Any, bases: Mapping[str, ParetoPoint]
) -> str:
    """One workload's sentence (``bases``: each instance type's baseline point)."""
    start = f"{where}, o" if where else "O"
    if len(mine) == 1:
        only = name(mine[0].instance, mine[0].env_label)
        return f"{start}ne setting ({only}): nothing to compare it with."
    by_setting = {p.setting: p for p in mine}
    front, traded = [], 0
    for p in mine:
        if p.dominated:
            continue
        base = bases[p.instance]
        own = name(p.instance, p.env_label)
        if p.setting == base.setting or traded >= LEAD_TRADES:
            front.append(own)
        else:
            front.append(_trade(p, base, own, name(base.instance, base.env_label)))
            traded += 1
    text = f"{start}n the front: {_listed(front, LEAD_NAMES, 'on the front')}"
    beaten = [p for p in mine if p.dominated]
    if not beaten:
        return text + "; none is dominated."
    if len(beaten) == 1:
        p = beaten[0]
        by = by_setting[p.dominated_by[0]]
        others = len(p.dominated_by) - 1
        also = f" (and {others} more)" if others else ""
        return (
            f"{text}; {name(p.instance, p.env_label)} is dominated by "
            f"{name(by.instance, by.env_label)}{also}, which {_beaten_on(p, by)}."
        )
    lines = []
    for p in beaten:
        by = by_setting[p.dominated_by[0]]
        others = len(p.dominated_by) - 1
        also = f" and {others} more" if others else ""
        lines.append(
            f"{name(p.instance, p.env_label)} (by {name(by.instance, by.env_label)}{also})"
        )
    return f"{text}; dominated: {_listed(lines, LEAD_NAMES, 'dominated')}."


def lead(result: SweepResult) -> str:
    """The sweep in a sentence per workload: the settings on the front, the first few each
    against the baseline, then the dominated ones and what beats them (with how, when
    there are few)."""
    name = _names(result.spec)
    points = result.pareto()
    bases = _baselines(result)
    workloads = list(dict.fromkeys(p.workload for p in points))
    sentences = []
    for workload in workloads:
        mine = [p for p in points if p.workload == workload]
        where = f"Under {workload}" if len(workloads) > 1 else ""
        own = {instance: point for (w, instance), point in bases.items() if w == workload}
        sentences.append(_workload_lead(mine, where, name, own))
    return " ".join(sentences)


# -- tables ----------------------------------------------------------------------------------


def _pareto_cell(p: ParetoPoint, name: Any, points: Mapping[str, ParetoPoint]) -> str:
    if not p.dominated:
        return FRONT
    beaters = [name(points[s].instance, points[s].env_label) for s in p.dominated_by]
    return f"{DOMINATED} {', '.join(beaters)}"


def _settings_table(result: SweepResult) -> Table:
    spec = result.spec
    name = _names(spec)
    groups = _groups(result.rows)
    several = len(spec.workloads) > 1
    rows, keys, marked = [], [], []
    for p in result.pareto():
        runs = groups[(p.workload, p.instance, p.env_label)]
        mine = {q.setting: q for q in result.pareto() if q.workload == p.workload}
        cells = [
            name(p.instance, p.env_label),
            _held(max(r.subnet_addresses_p50 for r in runs)),
            _held(p.subnet_addresses_max),
            _calls(p.ec2_calls_per_hour),
            f"{max(r.ec2_calls_throttled for r in runs):,}",
            f"{max(r.pods_that_waited for r in runs):,}",
            f"{max(r.pods_failed for r in runs):,}",
            _secs(_worst_time(r.time_to_ip_p50_s for r in runs)),
            _secs(p.time_to_ip_p99_s),
            _secs(_longest(r.time_to_ip_max_s for r in runs), "-"),
            _pareto_cell(p, name, mine),
        ]
        rows.append(tuple([p.workload, *cells] if several else cells))
        keys.append(f"{p.workload} / {p.setting}")
        marked.append(not p.dominated)
    headers = (
        "setting",
        "held p50",
        "held max",
        "calls/h",
        "throttled",
        "waited",
        "failed",
        "p50 s",
        "p99 s",
        "max s",
        "pareto",
    )
    seeds = len(spec.seeds)
    return Table(
        f"Settings, each at its worst over {seeds} seed{'' if seeds == 1 else 's'}",
        ("workload", *headers) if several else headers,
        tuple(rows),
        "each figure the worst of the setting's runs (most addresses, calls, throttled, waits "
        "and failures; longest times, 'never' when a pod gave up at that rank); lower is better "
        f"on all; the front is highlighted and marked {FRONT}; {DOMINATED} names the settings "
        "no worse on held max, calls/h and p99 and better on one, under the same workload",
        row_keys=tuple(keys),
        marked=tuple(marked),
    )


def _label_headers(spec: SweepSpec) -> list[tuple[str, Any]]:
    columns: list[tuple[str, Any]] = [("run", lambda r: str(r.index))]
    if len(spec.instances) > 1:
        columns.append(("instance", lambda r: r.instance))
    columns.append(("env", lambda r: r.env_label))
    if len(spec.workloads) > 1:
        columns.append(("workload", lambda r: r.workload_label))
    columns.append(("seed", lambda r: str(r.seed)))
    return columns


def _runs_table(result: SweepResult) -> Table:
    labels = _label_headers(result.spec)
    figures: list[tuple[str, Any]] = [
        ("held p50", lambda r: _held(r.subnet_addresses_p50)),
        ("held max", lambda r: _held(r.subnet_addresses_max)),
        ("calls/h", lambda r: _calls(r.ec2_calls_per_hour)),
        ("throttled", lambda r: f"{r.ec2_calls_throttled:,}"),
        ("started", lambda r: f"{r.pods_started:,}"),
        ("waited", lambda r: f"{r.pods_that_waited:,}"),
        ("failed", lambda r: f"{r.pods_failed:,}"),
        ("p50 s", lambda r: _secs(r.time_to_ip_p50_s)),
        ("p99 s", lambda r: _secs(r.time_to_ip_p99_s)),
        ("max s", lambda r: _secs(r.time_to_ip_max_s, "-")),
    ]
    columns = [*labels, *figures]
    return Table(
        "Every run",
        tuple(h for h, _ in columns),
        tuple(tuple(cell(r) for _, cell in columns) for r in result.rows),
        "in grid order (instance, env set, workload, seed); held: subnet addresses the nodes "
        "hold (median and max over the samples); calls/h: EC2 calls per hour, every API and "
        "outcome; times to IP in seconds ('never': the rank falls on a pod that gave up)",
        row_keys=tuple(str(r.index) for r in result.rows),
    )


def _api_table(result: SweepResult) -> Table:
    """EC2 calls an hour per API, one row per API and one column per setting (under each
    workload), each setting at its most over the seeds, as the settings table has it."""
    name = _names(result.spec)
    several = len(result.spec.workloads) > 1
    groups = _groups(result.rows)
    apis = sorted({api for r in result.rows for api, _ in r.ec2_calls_per_hour_by_api})
    order = [(p.workload, p.instance, p.env_label) for p in result.pareto()]
    columns = [(key, [dict(r.ec2_calls_per_hour_by_api) for r in groups[key]]) for key in order]
    rows = tuple(
        (api, *(_calls(max(c.get(api, 0.0) for c in calls)) for _, calls in columns))
        for api in apis
    )
    headers = tuple(
        f"{workload}: {name(instance, env)}" if several else name(instance, env)
        for (workload, instance, env), _ in columns
    )
    return Table(
        "EC2 calls per hour by API",
        ("API", *headers),
        rows,
        "each setting at its most over its seeds; every outcome (answered, failed, throttled), "
        "all nodes of the run",
        row_keys=tuple(apis),
    )


# -- findings --------------------------------------------------------------------------------


def explain_settings(spec: SweepSpec, *, seed: int = 0) -> dict[str, Explanation | str]:
    """``explain`` for every setting of ``spec`` (keyed by ``ParetoPoint.setting``), as
    ``vpccni-model explain`` runs it on the setting's instance type and configuration; a
    setting explain refuses maps to the reason. Settings with the same instance type and
    configuration share one explanation."""
    out: dict[str, Explanation | str] = {}
    done: dict[tuple[str, Any], Explanation | str] = {}
    for instance in spec.instances:
        limits = instance_limits(instance)
        for env_set in spec.env:
            config = spec.config(env_set)
            key = (instance, config)
            if key not in done:
                try:
                    done[key] = explain(
                        limits, config, seed=seed, host_network_pods=spec.host_network_pods
                    )
                except ConfigError as exc:
                    done[key] = f"{exc.field} {exc.value!r} {exc.reason}"
            out[f"{instance} {env_set.name}"] = done[key]
    return out


def _findings(
    result: SweepResult, explanations: Mapping[str, Explanation | str] | None
) -> tuple[list[Finding], str, list[str]]:
    spec = result.spec
    name = _names(spec)
    found: list[Finding] = []
    counts, notes = [], []
    for instance in spec.instances:
        limits = instance_limits(instance)
        for env_set in spec.env:
            own = name(instance, env_set.name)
            explained = (
                None if explanations is None else explanations.get(f"{instance} {env_set.name}")
            )
            mine = report_findings(
                lint_env(env_set.environment(), limits),
                explained if isinstance(explained, Explanation) else None,
            )
            if isinstance(explained, Explanation):
                counts.append(f"{own}: {len(explained.findings)}")
            elif isinstance(explained, str):
                notes.append(f"{own} not explained: {explained}.")
            found += [attrs.evolve(f, message=f"{own}: {f.message}") for f in mine]
    if explanations is None:
        intro = "The settings were not explained (see the notes); the env lint's findings follow."
    else:
        intro = (
            f"What explain finds for each setting ({', '.join(counts) or 'none explained'}), "
            "setting by setting in grid order, each setting's most severe first. They "
            "are what `vpccni-model explain --instance TYPE --env NAME=VALUE ...` prints for "
            f"the setting's instance type and env set (with host_network_pods "
            f"{spec.host_network_pods}"
            + (f", max pods {spec.max_pods}" if spec.max_pods is not None else "")
            + ")."
        )
    return found, intro, notes


# -- inputs ----------------------------------------------------------------------------------


def _inputs(result: SweepResult, source: str, engine: str, version: str) -> list[Table]:
    spec = result.spec
    doc = spec.to_dict()
    run = {"sweep file": source or "-", "engine": engine or "-", "vpccni-model": version}
    run.update({k: shown_value(v) for k, v in doc.items() if k not in ("env", "workloads")})
    tables = [
        Table.pairs("Sweep", run, "the sweep file as parsed, every default filled in"),
        Table(
            "Env sets",
            ("label", "aws-node variables set"),
            tuple(
                (e.name, " ".join(f"{k}={v}" for k, v in e.values) or "(none: the shipped values)")
                for e in spec.env
            ),
            "each over the environment of the shipped aws-k8s-cni.yaml (v1.23.1)",
            align_numbers=False,
        ),
        Table(
            "Workloads",
            ("label", "kind", "pods per node", "changes per minute"),
            tuple(
                (w.name, w.kind, str(w.pods_per_node), f"{w.changes_per_minute:g}")
                for w in spec.workloads
            ),
            "changes per minute: pod adds and deletes per node per minute (churn, diurnal)",
        ),
    ]
    return [*tables, *_effective_configs(spec)]


def _effective_configs(spec: SweepSpec) -> list[Table]:
    """ipamd's effective config per setting, one table per instance type, the settings side
    by side; rows where they differ marked."""
    tables = []
    for instance in spec.instances:
        limits = instance_limits(instance)
        configs = [flatten(attrs.asdict(spec.config(e).for_instance(limits))) for e in spec.env]
        names = list(dict.fromkeys(n for c in configs for n in c))
        differs = tuple(len({shown_value(c.get(n)) for c in configs}) > 1 for n in names)
        rows = tuple(
            (n, *(shown_value(c.get(n)) for c in configs), DIFFERS if d else "")
            for n, d in zip(names, differs, strict=True)
        )
        tables.append(
            Table(
                f"ipamd's effective config on {instance}",
                ("setting", *(e.name for e in spec.env), "differs"),
                rows,
                "Config.for_instance: what ipamd runs with under each env set",
                align_numbers=False,
                marked=differs if len(spec.env) > 1 else (),
            )
        )
    return tables


# -- the page --------------------------------------------------------------------------------


def _key_figures(result: SweepResult) -> list[KeyFigure]:
    spec, rows = result.spec, result.rows
    points = result.pareto()
    front = sum(1 for p in points if not p.dominated)
    failed = sum(r.pods_failed for r in rows)
    throttled = sum(r.ec2_calls_throttled for r in rows)
    node_hours = len(rows) * spec.nodes * spec.hours
    axes = (
        f"{len(spec.instances)} instance type{'' if len(spec.instances) == 1 else 's'} x "
        f"{len(spec.env)} env set{'' if len(spec.env) == 1 else 's'} x "
        f"{len(spec.workloads)} workload{'' if len(spec.workloads) == 1 else 's'} x "
        f"{len(spec.seeds)} seed{'' if len(spec.seeds) == 1 else 's'}"
    )
    settings = len(spec.instances) * len(spec.env)
    return [
        KeyFigure("Runs", f"{len(rows):,}", meaning=axes, key="runs", raw=len(rows)),
        KeyFigure(
            "Settings",
            f"{settings:,}",
            meaning="instance type x env set: what a user chooses",
            key="settings",
            raw=settings,
        ),
        KeyFigure(
            "Workloads",
            f"{len(spec.workloads):,}",
            meaning="settings are compared under each",
            key="workloads",
            raw=len(spec.workloads),
        ),
        KeyFigure(
            "Seeds",
            f"{len(spec.seeds):,}",
            meaning="each setting is judged at its worst of them",
            key="seeds",
            raw=len(spec.seeds),
        ),
        KeyFigure(
            "On the front",
            f"{front:,}",
            f"of {len(points):,}",
            "settings per workload that no other setting beats",
            key="front",
            raw=front,
        ),
        KeyFigure(
            "Dominated",
            f"{len(points) - front:,}",
            f"of {len(points):,}",
            "another setting is no worse on all three costs and better on one",
            key="dominated",
            raw=len(points) - front,
        ),
        KeyFigure(
            "Pods failed",
            f"{failed:,}",
            "pods",
            "gave up waiting for an IP, over every run",
            key="pods_failed",
            raw=failed,
            alert=failed > 0,
        ),
        KeyFigure(
            "EC2 calls throttled",
            f"{throttled:,}",
            "calls",
            "refused by the account's rate limits, over every run",
            key="ec2_calls_throttled",
            raw=throttled,
            alert=throttled > 0,
        ),
        KeyFigure(
            "Simulated node-hours",
            f"{node_hours:,.0f}" if node_hours == int(node_hours) else f"{node_hours:,.2f}",
            "h",
            f"{spec.nodes} nodes x {spec.hours:g} h per run",
            key="node_hours",
            raw=node_hours,
        ),
    ]


def sweep_report(
    result: SweepResult,
    *,
    source: str = "",
    engine: str = "",
    explanations: Mapping[str, Explanation | str] | None = None,
    notes: Iterable[str] = (),
    figures: bool = True,
    version: str = "unknown",
) -> Report:
    """The report of ``result``. ``source`` is the sweep file's path and ``engine`` where the
    runs went (both echoed as inputs only); ``explanations`` per setting, as
    :func:`explain_settings` gives them (None: not explained, say why in ``notes``);
    ``figures`` False leaves the Pareto figure out."""
    spec = result.spec
    found, intro, explain_notes = _findings(result, explanations)
    instances = ", ".join(spec.instances)
    seeds = len(spec.seeds)
    report = Report(
        title=f"Sweep: {len(result.rows):,} runs on {instances}",
        subtitle=f"{spec.nodes} nodes x {spec.hours:g} h per run, subnet {spec.subnet}, "
        f"iteration {spec.iteration}, EC2 throttling {'on' if spec.throttle else 'off'}; each "
        f"setting at its worst over {seeds} seed{'' if seeds == 1 else 's'}"
        + (f"; from {source}" if source else ""),
        lead=lead(result),
        key_figures=tuple(_key_figures(result)),
        key_tables=(_settings_table(result),),
        findings=tuple(found),
        findings_intro=intro,
        tables=(_runs_table(result), _api_table(result)),
        inputs=tuple(_inputs(result, source, engine, version)),
        notes=(
            *notes,
            *explain_notes,
            "Each setting (instance type and env set) is judged under each workload at its "
            "worst over the seeds: the most subnet addresses held, the most EC2 calls an hour, "
            "the longest p99 time to IP ('never', a pod gave up at that rank, is the worst). "
            "The lead compares the front with the env set that sets no variable (the shipped "
            "settings) on the same instance type, or with the first setting when there is none.",
        ),
        footer=f"vpccni-model {version}: the same sweep gives the same report, whatever the "
        "engine its runs went to (but for the engine named among the inputs).",
    )
    if not figures:
        return report
    try:
        from vpccni_model.report._figures import png_bytes
        from vpccni_model.sweep import pareto_figure

        png = png_bytes(pareto_figure(result.pareto(), spec))
    except ConfigError as exc:
        if exc.field != "plots":
            raise
        return report.add(
            notes=[
                "Figure left out: matplotlib is not installed (install the plots extra: "
                "pip install 'vpccni-model[plots]')."
            ]
        )
    return report.add(
        figures=[
            Figure(
                "Pareto front",
                png,
                "Each setting's subnet addresses held (x) against EC2 calls per hour (y), one "
                "panel per workload: settings on the front filled and coloured by p99 time to "
                "IP, dominated settings hollow and grey, a red cross where a pod gave up at the "
                "p99 rank",
                "as pareto.png of sweep --out: each setting at its worst over the seeds; lower "
                "and left is better",
            )
        ]
    )
