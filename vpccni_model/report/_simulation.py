"""The report of one simulation run: the summary's figures, the simulator's plots, EC2 calls
by API, every input the run depended on, and explain's findings for its configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vpccni_model._errors import ConfigError
from vpccni_model._lint import EnvFinding
from vpccni_model.report._document import Figure, KeyFigure, Report, Table, count, flatten
from vpccni_model.report._findings import findings_intro, report_findings
from vpccni_model.report._inputs import settings_tables
from vpccni_model.sim.explain import Explanation
from vpccni_model.sim.metrics import SimulationResult, Summary
from vpccni_model.sim.plots import PLOTS, run_label

#: Inputs with a table of their own; every other input goes to the "Run" table.
_OWN_TABLES = ("node_groups", "env", "settings", "latency_s", "throttle", "sdk_retry")


def seconds(value: float | None, missing: str = "-") -> str:
    """Seconds to two decimals, as ``simulate`` prints them; ``missing`` for None."""
    return missing if value is None else f"{value:,.2f}"


def _key_figures(s: Summary, inputs: Mapping[str, Any]) -> list[KeyFigure]:
    timeout = inputs.get("pod_timeout_s")
    after = f" after {timeout:g} s" if isinstance(timeout, int | float) else ""
    usable = sum(int(n.get("usable_addresses") or 0) for n in inputs.get("subnets", {}).values())
    never = "the rank falls on a pod that gave up"
    count_subnets = len(inputs.get("subnets", {}))
    across = f" in {count_subnets} subnets together" if count_subnets > 1 else ""
    figures = [
        KeyFigure(
            "Pods started",
            count(s.pods_started),
            "pods",
            "got an IP",
            "pods_started",
            s.pods_started,
        ),
        KeyFigure(
            "Pods failed",
            count(s.pods_failed),
            "pods",
            f"gave up waiting{after}: subnet full {s.pods_failed_subnet_full}, EC2 error "
            f"{s.pods_failed_ec2_error}, no error {s.pods_failed_timeout}",
            "pods_failed",
            s.pods_failed,
            alert=s.pods_failed > 0,
        ),
        KeyFigure(
            "Pods that waited",
            count(s.pods_that_waited),
            "pods",
            "got an IP only after waiting (no warm IP when placed)",
            "pods_that_waited",
            s.pods_that_waited,
        ),
    ]
    for key, label, value in (
        ("time_to_ip_p50_s", "Time to IP, p50", s.time_to_ip_p50_s),
        ("time_to_ip_p99_s", "Time to IP, p99", s.time_to_ip_p99_s),
    ):
        meaning = never if value is None else "from placement, pods that gave up ranked last"
        figures.append(
            KeyFigure(
                label,
                seconds(value, "never"),
                "" if value is None else "s",
                meaning,
                key,
                value,
                alert=value is None,
            )
        )
    figures += [
        KeyFigure(
            "Time to IP, max",
            seconds(s.time_to_ip_max_s),
            "s",
            "the longest wait of a pod that got an IP",
            "time_to_ip_max_s",
            s.time_to_ip_max_s,
        ),
        KeyFigure(
            "IPs held, max",
            count(s.ips_total_max),
            "addresses",
            f"ipamd's pool at its largest, all nodes (mean {s.ips_total_mean:,.1f})",
            "ips_total_max",
            s.ips_total_max,
        ),
        KeyFigure(
            "Idle IPs, mean",
            f"{s.ips_unused_mean:,.1f}",
            "addresses",
            f"held but not assigned to a pod (max {s.ips_unused_max:,})",
            "ips_unused_mean",
            s.ips_unused_mean,
        ),
        KeyFigure(
            "ENIs, max",
            count(s.enis_max),
            "ENIs",
            "attached at once, all nodes",
            "enis_max",
            s.enis_max,
        ),
        KeyFigure(
            "EC2 calls per hour",
            f"{s.ec2_calls_per_hour:,.2f}",
            "calls/h",
            f"{s.ec2_calls:,} calls in all, {s.ec2_calls_failed:,} failed",
            "ec2_calls_per_hour",
            s.ec2_calls_per_hour,
        ),
        KeyFigure(
            "EC2 calls throttled",
            count(s.ec2_calls_throttled),
            "calls",
            "attempts refused by EC2's request rate limit (RequestLimitExceeded), retries too",
            "ec2_calls_throttled",
            s.ec2_calls_throttled,
            alert=s.ec2_calls_throttled > 0,
        ),
        KeyFigure(
            "Subnet addresses, max",
            count(s.subnet_addresses_max),
            "addresses",
            "taken by the nodes at the most: ENI primaries, secondary IPs, 16 per /28",
            "subnet_addresses_max",
            s.subnet_addresses_max,
        ),
        KeyFigure(
            "Subnet free, min",
            count(s.subnet_free_addresses_min),
            "addresses",
            f"free at the lowest, of {usable:,} usable{across}; "
            f"{s.subnet_free_blocks_min:,} whole /28 blocks free at the lowest",
            "subnet_free_addresses_min",
            s.subnet_free_addresses_min,
            alert=s.subnet_free_addresses_min == 0,
        ),
    ]
    if s.pods_unschedulable:
        figures.append(
            KeyFigure(
                "Pods unschedulable",
                count(s.pods_unschedulable),
                "pods",
                f"no node with room on arrival; {s.pods_pending_at_end:,} still pending at the end",
                "pods_unschedulable",
                s.pods_unschedulable,
                alert=True,
            )
        )
    if s.ipamd_start_failures:
        figures.append(
            KeyFigure(
                "ipamd start failures",
                count(s.ipamd_start_failures),
                "start-ups",
                "failed start-ups, each followed by kubelet's restart",
                "ipamd_start_failures",
                s.ipamd_start_failures,
                alert=True,
            )
        )
    return figures


def _lead(s: Summary) -> str:
    """The run in one sentence: pods, the slow end of time to IP, EC2 calls."""
    p99 = (
        "never (a pod that gave up)"
        if s.time_to_ip_p99_s is None
        else (f"{s.time_to_ip_p99_s:,.2f} s")
    )
    return (
        f"{s.pods_started:,} pods got an IP and {s.pods_failed:,} gave up; time to IP p99 "
        f"{p99}; {s.ec2_calls_per_hour:,.2f} EC2 calls per hour, "
        f"{s.ec2_calls_throttled:,} throttled."
    )


def _calls_table(result: SimulationResult) -> Table:
    rows = []
    for api, counts in sorted(result.calls_by_api.items()):
        codes = result.errors_by_api.get(api, {})
        rows.append(
            (
                api,
                count(counts.get("ok", 0)),
                count(counts.get("failed", 0)),
                count(counts.get("throttled", 0)),
                ", ".join(f"{code} {n:,}" for code, n in sorted(codes.items())) or "-",
            )
        )
    return Table(
        "EC2 calls by API",
        ("API", "ok", "failed", "throttled", "failed, by error code"),
        tuple(rows),
        "every call of the run, all nodes (calls.csv has the same rows by code)",
    )


def _subnets_table(result: SimulationResult) -> Table:
    cidrs = result.inputs.get("subnets", {})
    rows = tuple(
        (
            name,
            str(cidrs.get(name, {}).get("cidr", "")),
            count(seen["used_addresses_max"]),
            count(seen["free_addresses_min"]),
            count(seen["free_blocks_min"]),
        )
        for name, seen in result.subnets.items()
    )
    return Table(
        "Subnets",
        ("subnet", "CIDR", "used, max", "free, min", "free /28 blocks, min"),
        rows,
        "each subnet over the run (addresses)",
    )


def _input_tables(inputs: Mapping[str, Any]) -> list[Table]:
    run = {k: v for k, v in inputs.items() if k not in _OWN_TABLES}
    tables = [Table.pairs("Run", flatten(run))]
    for i, group in enumerate(inputs.get("node_groups", ())):
        config = group.get("config", {})
        shown = {k: v for k, v in group.items() if k != "config"}
        tables.append(Table.pairs(f"Node group {i + 1}", flatten(shown)))
        tables.append(
            Table.pairs(
                f"Node group {i + 1}: ipamd's effective config",
                flatten(config),
                "Config.for_instance: what ipamd runs with on this instance type",
            )
        )
    tables += settings_tables(inputs)
    cost = {
        "latency_s": inputs.get("latency_s"),
        "throttle": inputs.get("throttle"),
        "sdk_retry": inputs.get("sdk_retry"),  # ipamd's EC2 client's retryer
    }
    tables.append(Table.pairs("Fake EC2's cost model", flatten(cost)))
    return tables


def simulation_report(
    result: SimulationResult,
    *,
    inputs: Mapping[str, Any] | None = None,
    explanation: Explanation | None = None,
    lint: Iterable[EnvFinding] = (),
    notes: Iterable[str] = (),
    figures: bool = True,
) -> Report:
    """The report of ``result``. ``inputs`` adds to the run's own (the command line's env
    and settings); ``explanation`` is ``explain`` for the run's instance and config, ``lint``
    the environment's findings; ``figures`` False leaves the plots out. Without matplotlib
    the report says so in its notes instead of showing the plots."""
    extra = dict(inputs or {})
    every = {**extra, **result.inputs, **extra}  # the command's first (what ran), then the run's
    s = result.summary
    report = Report(
        title=f"Simulation: {run_label(every)}",
        subtitle=f"{s.duration_s / 3600:g} h of simulated time, workload "
        f"{every.get('workload', {}).get('type', '?')}, seed {every.get('seed')}, "
        f"subnet {', '.join(str(n.get('cidr')) for n in every.get('subnets', {}).values())}",
        lead=_lead(s),
        key_figures=tuple(_key_figures(s, every)),
        findings=report_findings(lint, explanation),
        findings_intro=findings_intro(explanation),
        footer=f"vpccni-model {every.get('vpccni_model_version', 'unknown')}: the same inputs "
        "give the same report.",
    )
    tables = [_calls_table(result)] + ([_subnets_table(result)] if result.subnets else [])
    report = report.add(tables=tables, inputs=_input_tables(every), notes=notes)
    if not figures:
        return report
    try:
        from vpccni_model.report._figures import png_bytes
        from vpccni_model.sim.plots import plot_figures

        drawn = plot_figures(result)
    except ConfigError as exc:
        if exc.field != "plots":
            raise
        return report.add(
            notes=[
                "Figures left out: matplotlib is not installed (install the plots extra: "
                "pip install -e '.[plots]' in the repository)."
            ]
        )
    return report.add(
        figures=[
            Figure(
                PLOTS[name][0].upper() + PLOTS[name][1:],
                png_bytes(fig),
                f"Plot of {PLOTS[name]} over the run",
                f"{name} with --out; all nodes, sampled every "
                f"{every.get('sample_interval_s', 60):g} s of simulated time",
            )
            for name, fig in drawn
        ]
    )
