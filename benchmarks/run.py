#!/usr/bin/env python3
"""Benchmarks for vpccni_model: reconcile, the pod path, steady_state and the simulator.

    python benchmarks/run.py                 # default: every benchmark, ~3-5 min on 2 cores
    python benchmarks/run.py --quick         # tiny sizes, few repetitions (< 20 s): CI smoke
    python benchmarks/run.py --full          # the real 10,000 nodes x 24 h run, a 24 h curve
    python benchmarks/run.py --only reconcile,pair --out /tmp/bench

Prints a table (benchmark, median, p90, budget, PASS/FAIL) and writes ``results.json``,
``scaling_reconcile.csv``, ``scaling_sim.csv``, ``steady_state_rows.csv``,
``sweep_throughput.csv`` and ``scaling.png`` to ``--out`` (default ``benchmarks/results/``).
Exits 0 whatever the budgets say unless ``--strict`` is given: benchmarks are not tests. See
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/run.py` puts benchmarks/ first, not ROOT
    sys.path.insert(0, str(ROOT))

import vpccni_model  # noqa: E402
from benchmarks import fixtures, jobs, sweep_throughput  # noqa: E402
from benchmarks.timing import (  # noqa: E402
    Timing,
    machine_info,
    measure_many,
    reference_workload,
)
from vpccni_model import (  # noqa: E402
    Config,
    assign_pod_ip,
    instance_limits,
    reconcile,
    steady_state,
    unassign_pod_ip,
)
from vpccni_model.sweep import map_runs  # noqa: E402

US = 1e-6
MS = 1e-3

# -- modes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    rounds: int  # interleaved passes over the cases of one benchmark group
    batches: int  # timed batches per case and round
    min_batch_s: float  # a batch lasts at least this long
    warmup_s: float  # untimed warm-up per case and round
    prefix_max_eni: int | None  # MAX_ENI for the prefix-mode large node (None: all 15)
    scaling_enis: tuple[int, ...]  # reconcile vs ENIs, at 49 IPs per ENI
    scaling_addresses: tuple[int, ...]  # reconcile vs IPs per ENI, at 15 ENIs
    scaling_rounds: int
    scaling_batches: int
    docs_batches: int
    sim_curve_nodes: tuple[int, ...]
    sim_curve_hours: int
    throughput_run: tuple[int, int]  # (nodes, simulated hours), run alone
    sweep_grid: tuple[int, float, int] = (50, 2.0, 6)  # nodes, hours, seeds (x 4 env sets)


QUICK = Mode(
    name="quick",
    rounds=1,
    batches=5,
    min_batch_s=0.0005,
    warmup_s=0.005,
    prefix_max_eni=3,
    scaling_enis=(1, 8, 15),
    scaling_addresses=(1, 25, 49),
    scaling_rounds=1,
    scaling_batches=3,
    docs_batches=3,
    sim_curve_nodes=(2, 5, 10),
    sim_curve_hours=1,
    throughput_run=(5, 1),
    sweep_grid=(2, 0.25, 1),
)
DEFAULT = Mode(
    name="default",
    rounds=5,
    batches=10,
    min_batch_s=0.005,
    warmup_s=0.05,
    prefix_max_eni=None,
    scaling_enis=tuple(range(1, 16)),
    scaling_addresses=tuple(range(1, 50)),
    scaling_rounds=3,
    scaling_batches=8,
    docs_batches=10,
    sim_curve_nodes=(10, 100, 1000),
    sim_curve_hours=1,
    throughput_run=(1000, 2),
)
FULL = replace(
    DEFAULT,
    name="full",
    sim_curve_nodes=(10, 100, 1000, 10_000),
    sim_curve_hours=24,
    throughput_run=(10_000, 24),
)

#: Simulated clusters larger than this get a /12 instead of the default /16 subnet (a /16
#: holds ~65,000 addresses; 10,000 m5.large nodes need ~200,000).
BIG_CLUSTER = 2000
BIG_SUBNET = "10.0.0.0/12"
TARGET_NODES, TARGET_HOURS = 10_000, 24.0
#: The issue's budget for the 10,000-node day, on one core.
TARGET_WALL_S = 600.0

TASKS = (
    "reconcile",
    "pair",
    "steady_state",
    "scaling.reconcile",
    "sim",
    "scaling.sim",
    "sweep",
)

# -- results ---------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    description: str
    unit: str  # "s" (per call or per run), "x" (ratio), "node-h/s", "runs/min", "%" (a share)
    median: float
    p90: float | None = None
    budget: float | None = None
    at_least: bool = False  # budget is a floor, not a ceiling
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.budget is None:
            return "info"
        ok = self.median >= self.budget if self.at_least else self.median <= self.budget
        return "PASS" if ok else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status
        return data


def timing_row(
    name: str, description: str, timing: Timing, budget: float | None, **extra: Any
) -> Row:
    return Row(
        name,
        description,
        "s",
        timing.median_s,
        timing.p90_s,
        budget,
        extra={"timing": timing.to_dict(), **extra},
    )


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "node-h/s":
        return f"{value:,.1f} node-h/s"
    if unit == "runs/min":
        return f"{value:,.1f} runs/min"
    if unit == "%":
        return f"{value:.0%}"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if value < 1e-3:
        return f"{value / US:.1f} µs"
    if value < 1:
        return f"{value / MS:.2f} ms"
    return f"{value:.1f} s"


def fmt_budget(row: Row) -> str:
    if row.budget is None:
        return "-"
    return (">= " if row.at_least else "<= ") + fmt(row.budget, row.unit)


def table(rows: Iterable[Row]) -> str:
    rows = list(rows)
    header = ("benchmark", "median", "p90", "budget", "status")
    body = [
        (r.name, fmt(r.median, r.unit), fmt(r.p90, r.unit), fmt_budget(r), r.status) for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        left = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([left, *rest])

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(line(b) for b in body)])


# -- benchmarks ------------------------------------------------------------------------------

_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


def _freeze() -> None:
    """Keep long-lived fixtures out of the collector's full passes."""
    gc.collect()
    gc.freeze()


Case = tuple[Callable[..., object], tuple[object, ...]]


REFERENCE = "machine.reference"


def _bench(
    cases: dict[str, Case], mode: Mode, *, scaling: bool = False, reference: bool = False
) -> dict[str, Timing]:
    """Time ``cases`` interleaved; with ``reference``, the reference workload runs as one
    more case (its timing under ``REFERENCE``; see ``reference_row``)."""
    gc.collect()
    if reference:
        cases = {**cases, REFERENCE: (reference_workload, ())}
    return measure_many(
        cases,
        rounds=mode.scaling_rounds if scaling else mode.rounds,
        batches=mode.scaling_batches if scaling else mode.batches,
        min_batch_s=mode.min_batch_s,
        warmup_s=mode.warmup_s,
    )


def reference_row(group: str, timings: dict[str, Timing]) -> Row:
    return timing_row(
        f"{REFERENCE}.{group}",
        "a fixed pure-Python workload with no library code (benchmarks/timing.py), timed "
        f"interleaved with the {group} cases: how fast the machine was during them",
        timings[REFERENCE],
        None,
    )


def run_reconcile(mode: Mode) -> list[Row]:
    log("building reconcile fixtures (small, large, prefix-mode large)")
    small = fixtures.small_nodes()
    large = fixtures.large_nodes()
    prefix = fixtures.prefix_large_nodes(mode.prefix_max_eni)
    _freeze()
    budgets = {"small": 30 * US, "large": 60 * US, "prefix_large": 60 * US}
    rows: list[Row] = []
    medians: dict[tuple[str, str], float] = {}
    named = {
        f"reconcile.{fx.name}.{kind}": fx
        for pair in (small, large, prefix)
        for kind, fx in zip(("converged", "acting"), pair, strict=True)
    }
    for name, fx in named.items():
        log(f"  {name}: {fx.shape}")
    log(f"timing {len(named)} reconcile cases in {mode.rounds} interleaved rounds")
    cases = {n: (reconcile, (f.state, f.config, f.clock)) for n, f in named.items()}
    timings = _bench(cases, mode, reference=True)
    for name, fx in named.items():
        kind = name.rsplit(".", 1)[1]
        timing = timings[name]
        medians[fx.name, kind] = timing.median_s
        actions = [type(a).__name__ for a in fx.actions]
        desc = f"{fx.description}: {fx.shape}" + (f"; emits {actions}" if actions else "")
        rows.append(
            timing_row(name, desc, timing, budgets[fx.name], shape=fx.shape, actions=actions)
        )
    for big in ("large", "prefix_large"):
        for kind in ("converged", "acting"):
            ratio = medians[big, kind] / medians["small", kind]
            rows.append(
                Row(
                    f"reconcile.ratio.{big}/small.{kind}",
                    f"median reconcile {big} / small ({kind}); cost should follow ENIs",
                    "x",
                    ratio,
                    budget=3.0,
                )
            )
    rows.append(reference_row("reconcile", timings))
    return rows


def _pair(state: Any, config: Any, clock: float, pod: str) -> None:
    state, _ = assign_pod_ip(state, config, pod, clock)
    unassign_pod_ip(state, config, pod, clock)


def run_pair(mode: Mode) -> list[Row]:
    log("building pair fixture (large node, one pod deleted, 60 s later)")
    large, _ = fixtures.large_nodes()
    state, config, clock, pod = fixtures.pair_node(large)
    _, ip = assign_pod_ip(state, config, pod, clock)  # raises if the pair cannot run
    _freeze()
    log("timing pair.large")
    timings = _bench({"pair": (_pair, (state, config, clock, pod))}, mode, reference=True)
    desc = (
        f"assign_pod_ip + unassign_pod_ip of a new pod on {large.shape} minus one "
        f"(gets the cooled-down {ip})"
    )
    return [
        timing_row("pair.large", desc, timings["pair"], 20 * US),
        reference_row("pair", timings),
    ]


def run_steady_state(mode: Mode, engine: Engine, out: Path) -> list[Row]:
    limits = instance_limits(fixtures.SMALL)
    config = Config(**fixtures.DOCS_ROW_CONFIG)
    log("timing steady_state.docs_row (t3.small W=2 M=5, 5 pods)")
    case = (steady_state, (limits, config, fixtures.DOCS_ROW_PODS))
    timing = _bench({"row": case}, mode)["row"]
    result = steady_state(limits, config, fixtures.DOCS_ROW_PODS)
    rows = [
        timing_row(
            "steady_state.docs_row",
            f"steady_state(t3.small, W=2 M=5, 5 pods) -> {result.cidrs_per_eni}",
            timing,
            5 * MS,
        )
    ]
    params = [
        {**row, "batches": mode.docs_batches, "min_batch_s": 10 * mode.min_batch_s}
        for row in jobs.docs_rows()
    ]
    log(f"sweeping steady_state over {len(params)} docs-table rows")
    results = engine.map(jobs.steady_state_row, params)
    _write_csv(
        out / "steady_state_rows.csv",
        ["label", "enis", "cidrs_per_eni", "total_ips", "settled", "median_ms", "p90_ms"],
        [
            [
                r["label"],
                r["enis"],
                " ".join(map(str, r["cidrs_per_eni"])),
                r["total_ips"],
                r["settled"],
                f"{r['timing']['median_s'] / MS:.4f}",
                f"{r['timing']['p90_s'] / MS:.4f}",
            ]
            for r in results
        ],
    )
    worst = max(results, key=lambda r: r["timing"]["median_s"])
    rows.append(
        Row(
            "steady_state.docs_rows.worst",
            f"slowest of the {len(results)} docs-table rows: {worst['label']} "
            f"(per-row numbers in steady_state_rows.csv)",
            "s",
            worst["timing"]["median_s"],
            worst["timing"]["p90_s"],
            5 * MS,
            extra={"rows": results},
        )
    )
    return rows


def run_scaling_reconcile(mode: Mode, out: Path) -> tuple[list[Row], list[dict[str, Any]]]:
    points = [("enis", k, 49) for k in mode.scaling_enis]
    points += [("addresses", 15, a) for a in mode.scaling_addresses]
    built: dict[tuple[int, int], tuple[fixtures.Fixture, fixtures.Fixture | None]] = {}
    log(f"scaling: building {len(set(p[1:] for p in points))} synthetic nodes")
    for _, enis, addresses in points:
        if (enis, addresses) not in built:
            built[enis, addresses] = fixtures.synthetic_nodes(enis, addresses)
    _freeze()
    cases: dict[str, Case] = {}
    for (enis, addresses), (converged, acting) in built.items():
        for kind, fx in (("converged", converged), ("acting", acting)):
            if fx is not None:
                cases[f"{kind}:{enis}x{addresses}"] = (reconcile, (fx.state, fx.config, fx.clock))
    log(f"scaling: timing {len(cases)} reconcile cases in {mode.scaling_rounds} rounds")
    timings = _bench(cases, mode, scaling=True)
    cache: dict[tuple[int, int], dict[str, Any]] = {}
    for (enis, addresses), (_, acting) in built.items():
        act = timings.get(f"acting:{enis}x{addresses}")
        cache[enis, addresses] = {
            "enis": enis,
            "addresses_per_eni": addresses,
            "pods": enis * addresses,
            "converged": timings[f"converged:{enis}x{addresses}"].to_dict(),
            "acting": act.to_dict() if act else None,
            "acting_actions": [type(a).__name__ for a in acting.actions] if acting else [],
        }
    data = [{"axis": axis, **cache[enis, addresses]} for axis, enis, addresses in points]

    def us(timing: dict[str, Any] | None, key: str) -> str:
        return "" if timing is None else f"{timing[key] / US:.3f}"

    _write_csv(
        out / "scaling_reconcile.csv",
        [
            "axis",
            "enis",
            "addresses_per_eni",
            "pods",
            "converged_median_us",
            "converged_p90_us",
            "acting_median_us",
            "acting_p90_us",
            "acting_actions",
        ],
        [
            [
                d["axis"],
                d["enis"],
                d["addresses_per_eni"],
                d["pods"],
                us(d["converged"], "median_s"),
                us(d["converged"], "p90_s"),
                us(d["acting"], "median_s"),
                us(d["acting"], "p90_s"),
                " ".join(d["acting_actions"]),
            ]
            for d in data
        ],
    )
    rows: list[Row] = []
    first_e, last_e = min(mode.scaling_enis), max(mode.scaling_enis)
    first_a, last_a = min(mode.scaling_addresses), max(mode.scaling_addresses)
    conv = {k: v["converged"]["median_s"] for k, v in cache.items()}
    rows.append(
        Row(
            f"scaling.reconcile.enis.{last_e}/{first_e}",
            f"converged reconcile, {last_e} vs {first_e} ENIs at 49 IPs per ENI",
            "x",
            conv[last_e, 49] / conv[first_e, 49],
        )
    )
    rows.append(
        Row(
            f"scaling.reconcile.addresses.{last_a}/{first_a}",
            f"converged reconcile, {last_a} vs {first_a} IPs per ENI at 15 ENIs",
            "x",
            conv[15, last_a] / conv[15, first_a],
        )
    )
    return rows, data


def _sim_job(nodes: int, hours: int) -> dict[str, Any]:
    return {"nodes": nodes, "hours": hours, "subnet": BIG_SUBNET if nodes > BIG_CLUSTER else None}


def throughput_rows(run: dict[str, Any]) -> list[Row]:
    """Wall for 10,000 nodes x 24 h: measured, or extrapolated from ``run``."""
    nodes, hours, marks = run["nodes"], run["hours"], run["marks"]
    target_node_hours = TARGET_NODES * TARGET_HOURS
    if (nodes, hours) == (TARGET_NODES, TARGET_HOURS):
        wall = run["wall_s"]
        how = "measured: 10,000 nodes x 24 h"
    elif hours >= 2:
        per_hour = marks[hours] - marks[hours - 1]
        wall = (marks[hours] + per_hour * (TARGET_HOURS - hours)) * TARGET_NODES / nodes
        how = (
            f"EXTRAPOLATED from one {nodes} nodes x {hours} h run: {marks[hours]:.1f} s for "
            f"{hours} h, of which {per_hour:.1f} s for the last hour, repeated to 24 h"
        )
        if nodes != TARGET_NODES:
            how += f", scaled by {TARGET_NODES}/{nodes} nodes"
    else:
        wall = run["wall_s"] * target_node_hours / (nodes * hours)
        how = (
            f"EXTRAPOLATED linearly in node-hours from {nodes} nodes x {hours} h "
            f"({run['wall_s']:.2f} s); not representative of 10,000 nodes"
        )
    summary = run["summary"]
    spec = (
        f"{jobs.SIM_INSTANCE}, default Config, PoissonChurn({jobs.SIM_PODS_PER_NODE} pods/node, "
        f"{jobs.SIM_CHANGES_PER_NODE_PER_MINUTE:g} change/node/min), seed {jobs.SIM_SEED}; "
        f"the timed run: {summary['ec2_calls']} EC2 calls ({summary['ec2_calls_throttled']} "
        f"throttled), {summary['pods_failed']} pods failed, {run['cpu_s']:.1f} s CPU, "
        f"peak RSS {run['peak_rss_mb']:.0f} MB; {reference_text(run)}"
    )
    extra = {"method": how, "run": run, "spec": spec}
    return [
        Row(
            "sim.throughput.10000x24h_wall",
            f"wall for 10,000 nodes x 24 h on one core; {how}; {spec}",
            "s",
            wall,
            budget=TARGET_WALL_S,
            extra=extra,
        ),
        Row(
            "sim.throughput.node_hours_per_s",
            "simulated node-hours per wall second (240,000 / the wall above)",
            "node-h/s",
            target_node_hours / wall,
            budget=target_node_hours / TARGET_WALL_S,
            at_least=True,
            extra=extra,
        ),
        Row(
            "sim.throughput.peak_rss",
            f"peak resident memory of the timed run ({nodes} nodes x {hours} h)",
            "MB",
            run["peak_rss_mb"],
            extra=extra,
        ),
    ]


def reference_text(run: dict[str, Any]) -> str:
    """How fast the machine was around a long run: ``machine_reference_us`` before and after
    it (the same workload as the ``machine.reference`` rows; lower is faster)."""
    before, after = run["machine_reference_us"]
    return f"machine reference {before:.1f} µs before the run, {after:.1f} µs after"


def run_sim(
    mode: Mode, engine: Engine, out: Path, throughput: bool, curve: bool
) -> tuple[list[Row], list[dict[str, Any]]]:
    rows: list[Row] = []
    run: dict[str, Any] | None = None
    if throughput:
        nodes, hours = mode.throughput_run
        log(f"simulator throughput: {nodes} nodes x {hours} h, alone in one worker")
        run = engine.map(jobs.sim_run, [_sim_job(nodes, hours)])[0]
        rows += throughput_rows(run)
    if not curve:
        return rows, []
    hours = mode.sim_curve_hours
    points: dict[int, dict[str, Any]] = {}
    if run is not None and run["hours"] == hours and run["nodes"] in mode.sim_curve_nodes:
        points[run["nodes"]] = {**run, "source": "the throughput run"}
    elif run is not None and run["hours"] > hours and run["nodes"] in mode.sim_curve_nodes:
        wall = run["marks"][hours]
        points[run["nodes"]] = {
            "nodes": run["nodes"],
            "hours": hours,
            "subnet": run["subnet"],
            "wall_s": wall,
            "cpu_s": None,
            "node_hours_per_s": run["nodes"] * hours / wall,
            "summary": None,
            "machine_reference_us": run["machine_reference_us"],
            "source": f"first {hours} h of the {run['nodes']} x {run['hours']} h throughput run",
        }
    todo = sorted((n for n in mode.sim_curve_nodes if n not in points), reverse=True)
    if todo:
        log(f"simulator curve: {', '.join(f'{n}x{hours}h' for n in todo)}, in parallel")
        for result in engine.map(jobs.sim_run, [_sim_job(n, hours) for n in todo]):
            points[result["nodes"]] = {**result, "source": "own run"}
    data = [points[n] for n in mode.sim_curve_nodes]
    keys = ["pods_started", "pods_failed", "ec2_calls", "ec2_calls_throttled", "time_to_ip_p95_s"]

    def num(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    _write_csv(
        out / "scaling_sim.csv",
        [
            "nodes",
            "hours",
            "subnet",
            "wall_s",
            "cpu_s",
            "node_hours_per_s",
            "peak_rss_mb",
            "machine_reference_us",
            *keys,
            "source",
        ],
        [
            [
                d["nodes"],
                d["hours"],
                d["subnet"],
                num(d["wall_s"], 3),
                num(d["cpu_s"], 3),
                num(d["node_hours_per_s"], 2),
                num(d.get("peak_rss_mb"), 0),
                "/".join(f"{r:.1f}" for r in d.get("machine_reference_us") or ()),
                *((d["summary"] or {}).get(k, "") for k in keys),
                d["source"],
            ]
            for d in data
        ],
    )
    for d in data:
        s = d["summary"]
        calls = (
            f"; {s['ec2_calls']} EC2 calls ({s['ec2_calls_throttled']} throttled), "
            f"{s['pods_failed']} pods failed"
            if s
            else f" ({d['source']})"
        )
        rows.append(
            Row(
                f"scaling.sim.{d['nodes']}x{hours}h",
                f"{d['nodes']} nodes x {hours} h: {d['node_hours_per_s']:.1f} node-h/s{calls}; "
                + reference_text(d),
                "s",
                d["wall_s"],
                extra={"run": d},
            )
        )
    return rows, data


def run_sweep(mode: Mode, workers: int, out: Path) -> list[Row]:
    """Runs per minute of one grid: serial, a process pool and a Dask LocalCluster."""
    nodes, hours, seeds = mode.sweep_grid
    spec = sweep_throughput.grid(nodes, hours, seeds)
    count = max(workers, 2)
    log(
        f"sweep throughput: {len(spec)} runs of {nodes} nodes x {hours:g} h, serial, "
        f"{count} processes, a {count}-worker LocalCluster"
    )
    entries = sweep_throughput.measure_engines(spec, count)
    for entry in entries:
        if not entry["identical"]:
            raise SystemExit(f"sweep on {entry['engine']} gave other rows than serial")

    def num(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    columns = ["engine", "workers", "runs", "wall_s", "runs_per_min", "speedup", "efficiency"]
    _write_csv(
        out / "sweep_throughput.csv",
        [*columns, "overhead", "startup_s", "map_s", "per_task_ms", "identical", "load_before"],
        [
            [
                e["engine"],
                e["workers"],
                e["runs"],
                num(e["wall_s"], 3),
                num(e["runs_per_min"], 1),
                num(e["speedup"], 3),
                num(e["efficiency"], 3),
                num(e["overhead"], 3),
                num(e["startup_s"], 3),
                num(e["map_s"], 3),
                num(e["per_task_ms"], 3),
                e["identical"],
                num(e["load_before"], 2),
            ]
            for e in entries
        ],
    )
    plural = "s" if seeds != 1 else ""
    grid = (
        f"{len(spec)} runs of {nodes} m5.large nodes x {hours:g} h "
        f"(4 env sets x {seeds} seed{plural})"
    )
    rows = []
    for e in entries:
        name = e["engine"] if e["engine"] == "serial" else f"{e['engine']}.{e['workers']}"
        how = (
            "in this process"
            if e["engine"] == "serial"
            else f"{e['workers']} workers, speed-up {e['speedup']:.2f}x, "
            f"{e['efficiency']:.0%} of linear"
        )
        if e["startup_s"] is not None:
            how += f"; cluster start-up {e['startup_s']:.1f} s, map {e['map_s']:.1f} s"
        rows.append(
            Row(
                f"sweep.{name}.runs_per_min",
                f"{grid}, {how}; wall {e['wall_s']:.1f} s with the engine's start and stop; "
                "rows equal to serial",
                "runs/min",
                e["runs_per_min"],
                extra=e,
            )
        )
        if e["engine"] != "serial":
            rows.append(
                Row(
                    f"sweep.{name}.overhead",
                    f"how far below linear on {e['workers']} workers: 1 - speed-up / workers "
                    f"(load average {num(e['load_before'], 2) or '?'} before it ran, on "
                    f"{os.cpu_count()} CPUs); the engine's own cost: {e['per_task_ms']:.2f} ms "
                    f"per run (a map of {sweep_throughput.NOOP_TASKS} no-op tasks)",
                    "%",
                    e["overhead"],
                    extra=e,
                )
            )
    return rows


# -- output ----------------------------------------------------------------------------------


WRITTEN: list[Path] = []


def _write_csv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> None:
    WRITTEN.append(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_plot(
    path: Path, reconcile_data: list[dict[str, Any]], sim_data: list[dict[str, Any]]
) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no scaling.png (pip install matplotlib)")
        return False
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for ax, axis, xkey, xlabel in (
        (axes[0], "enis", "enis", "ENIs (49 IPs each)"),
        (axes[1], "addresses", "addresses_per_eni", "IPs per ENI (15 ENIs)"),
    ):
        points = [d for d in reconcile_data if d["axis"] == axis]
        if not points:
            ax.set_title(f"reconcile vs {xlabel}: not run")
            continue
        xs = [d[xkey] for d in points]
        for kind, style in (("converged", "o-"), ("acting", "s--")):
            sel = [(x, d[kind]) for x, d in zip(xs, points, strict=True) if d[kind]]
            if not sel:
                continue
            x = [p[0] for p in sel]
            med = [p[1]["median_s"] / US for p in sel]
            p90 = [p[1]["p90_s"] / US for p in sel]
            ax.plot(x, med, style, label=f"{kind} (median)", markersize=4)
            ax.fill_between(x, med, p90, alpha=0.2, label=f"{kind} (median..p90)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("reconcile time (µs)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"reconcile vs {xlabel}")
    ax = axes[2]
    if sim_data:
        nodes = [d["nodes"] for d in sim_data]
        rates = [d["node_hours_per_s"] for d in sim_data]
        ax.semilogx(nodes, rates, "o-", label="simulated node-hours per wall second")
        ax.set_xlabel(f"nodes ({sim_data[0]['hours']:g} simulated h each)")
        ax.set_ylabel("node-hours / s")
        ax.set_ylim(bottom=0, top=max(rates) * 1.25)
        for d in sim_data:
            ax.annotate(
                f"{d['wall_s']:.0f} s wall",
                (d["nodes"], d["node_hours_per_s"]),
                textcoords="offset points",
                xytext=(4, 6),
                fontsize=8,
            )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
        ax.set_title("simulator throughput vs node count (m5.large, Poisson churn)")
    else:
        ax.set_title("simulator vs node count: not run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def git_revision() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, few repetitions (< 20 s): checks the harness runs",
    )
    size.add_argument(
        "--full",
        action="store_true",
        help="time the real 1000 nodes x 24 h run and add 10,000 nodes to the "
        "simulator curve (tens of minutes)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "results",
        help="output directory (default: benchmarks/results/)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (comma-separated, repeatable): {', '.join(TASKS)}, "
        "or 'scaling' for both curves",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes for sweeps (default 2; 1 = in this process)",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the sweeps on a Dask cluster (scheduler address, or 'local' for a "
        "LocalCluster of --workers processes); needs the distributed package",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget fails")
    return parser.parse_args(argv)


@dataclass
class Engine:
    """Where the harness's sweeps run: ``vpccni_model.sweep.map_runs``'s engine and workers,
    and what to call when done (None: nothing to close)."""

    engine: Any
    workers: int
    close: Callable[[], None] | None = None

    def map(self, fn: Callable[[Any], Any], params: Iterable[Any]) -> list[Any]:
        return map_runs(fn, params, self.engine, workers=self.workers)


def make_engine(workers: int, dask: str | None) -> Engine:
    """``--workers`` processes (1: this process), or a Dask cluster kept for the whole run."""
    if dask:
        from distributed import Client  # only with --dask

        from vpccni_model.sweep import local_cluster

        client = Client(local_cluster(workers)) if dask == "local" else Client(dask)
        # Workers import benchmarks.jobs: ship the harness (vpccni_model must be installed).
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "benchmarks_harness.zip"
            with zipfile.ZipFile(archive, "w") as zf:
                for module in ("__init__", "timing", "jobs"):
                    zf.write(ROOT / "benchmarks" / f"{module}.py", f"benchmarks/{module}.py")
            client.upload_file(str(archive))
        return Engine(client, workers, client.close)
    return Engine("serial" if workers <= 1 else "process", workers)


def selected_tasks(only: list[str]) -> list[str]:
    tokens = [t.strip() for item in only for t in item.split(",") if t.strip()]
    if not tokens:
        return list(TASKS)
    chosen = []
    for token in tokens:
        matches = [t for t in TASKS if t == token or t.startswith(token + ".")]
        if not matches:
            raise SystemExit(f"--only: unknown benchmark {token!r}; choose from {TASKS}")
        chosen += matches
    return [t for t in TASKS if t in chosen]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = QUICK if args.quick else FULL if args.full else DEFAULT
    tasks = selected_tasks(args.only)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    engine = make_engine(args.workers, args.dask)
    started = datetime.datetime.now(datetime.UTC)
    log(f"mode {mode.name}; tasks {', '.join(tasks)}; output {out}")

    rows: list[Row] = []
    reconcile_data: list[dict[str, Any]] = []
    sim_data: list[dict[str, Any]] = []
    if "reconcile" in tasks:
        rows += run_reconcile(mode)
    if "pair" in tasks:
        rows += run_pair(mode)
    if "steady_state" in tasks:
        rows += run_steady_state(mode, engine, out)
    if "scaling.reconcile" in tasks:
        more, reconcile_data = run_scaling_reconcile(mode, out)
        rows += more
    if "sim" in tasks or "scaling.sim" in tasks:
        more, sim_data = run_sim(mode, engine, out, "sim" in tasks, "scaling.sim" in tasks)
        rows += more
    if "sweep" in tasks:
        rows += run_sweep(mode, args.workers, out)
    if engine.close is not None:
        engine.close()
    files = [out / "results.json"]
    if (reconcile_data or sim_data) and write_plot(out / "scaling.png", reconcile_data, sim_data):
        files.append(out / "scaling.png")

    elapsed = time.perf_counter() - _START
    document = {
        "date": started.isoformat(timespec="seconds"),
        "mode": mode.name,
        "tasks": tasks,
        "elapsed_s": round(elapsed, 2),
        "machine": machine_info(),
        "vpccni_model": {"version": vpccni_model.__version__, **git_revision()},
        "settings": asdict(mode),
        "results": [r.to_dict() for r in rows],
        "scaling": {"reconcile": reconcile_data, "sim": sim_data},
    }
    (out / "results.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    files += WRITTEN

    machine = document["machine"]
    print(
        f"vpccni_model benchmarks, mode {mode.name}, {started:%Y-%m-%d %H:%M} UTC, "
        f"CPython {machine['python_version']}, {machine['cpu_count']} CPUs "
        f"({machine['cpu_model']})"
    )
    if mode is QUICK:
        print("quick mode: reduced sizes and repetitions; statuses are indicative only")
    print(table(rows))
    print()
    for r in rows:
        print(f"{r.name}: {r.description}")
    print()
    print(f"wrote {', '.join(str(f) for f in dict.fromkeys(files))} in {elapsed:.1f} s")
    failed = [r.name for r in rows if r.status == "FAIL"]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
