"""``vpccni-model sweep``: a grid of simulations from a YAML or TOML file, its table, the
Pareto front of its settings, and CSV/JSON/PNG files."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vpccni_model._errors import ConfigError
from vpccni_model._limits import HOST_NETWORK_PODS
from vpccni_model.cli._common import UsageError, add_json, print_json
from vpccni_model.cli._report import add_report, check_report, write_report
from vpccni_model.cli._simulate import check_out
from vpccni_model.sweep import (
    DASK_LOCAL,
    PROCESS,
    SERIAL,
    ParetoPoint,
    SweepResult,
    SweepRow,
    SweepSpec,
    describe_engine,
    load_sweep,
    sweep,
    write_pareto_plot,
)

EXAMPLE = """\
examples:
  vpccni-model sweep examples/sweep-warm-targets.yaml --out sweep-results/
  vpccni-model sweep examples/sweep-quick.toml --serial
  vpccni-model sweep examples/sweep-quick.toml --report sweep.html
  vpccni-model sweep grid.yaml --dask local --workers 4
  vpccni-model sweep grid.yaml --dask tcp://scheduler:8786

The file's keys are documented in docs/sweep.md: instances, env (sets of aws-node variables
over the shipped manifest's), workloads, seeds, and the base settings of every run (nodes,
hours, subnet, ...). Runs go in grid order (instance, env set, workload, seed); the results do
not depend on the engine. A setting (instance type and env set) is dominated when another
one, under the same workload and each at its worst over the seeds, is no worse on subnet
addresses held, EC2 calls per hour and p99 time to IP, and better on one of them ('never', a
pod gave up at the p99 rank, is the worst time). With --out: sweep.csv, sweep.json and, with
the plots extra, pareto.png. With --report: one HTML page of the front, the Pareto figure,
every setting and run, each setting's explain findings (--no-explain skips them) and the
inputs.
"""

#: Columns of the run table after the labels: (header, width, cell).
_FIGURES: tuple[tuple[str, int, Callable[[SweepRow], str]], ...] = (
    ("held p50", 8, lambda r: f"{r.subnet_addresses_p50:,}"),
    ("held max", 8, lambda r: f"{r.subnet_addresses_max:,}"),
    ("calls/h", 8, lambda r: f"{r.ec2_calls_per_hour:,.1f}"),
    ("thr", 5, lambda r: f"{r.ec2_calls_throttled:,}"),
    ("waited", 6, lambda r: f"{r.pods_that_waited:,}"),
    ("failed", 6, lambda r: f"{r.pods_failed:,}"),
    ("p50 s", 6, lambda r: _seconds(r.time_to_ip_p50_s)),
    ("p99 s", 6, lambda r: _seconds(r.time_to_ip_p99_s)),
    ("max s", 6, lambda r: _seconds(r.time_to_ip_max_s, "-")),
)


def _seconds(value: float | None, none: str = "never") -> str:
    return none if value is None else f"{value:.1f}"


def _engine(args: argparse.Namespace) -> object:
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.serial:
        if args.workers is not None:
            raise UsageError("--workers does not go with --serial (one run at a time, here)")
        return SERIAL
    if args.dask is None:
        return PROCESS
    if args.dask == "local":
        return DASK_LOCAL
    if "://" not in args.dask:
        raise UsageError(
            f"--dask expects 'local' or a scheduler address such as tcp://HOST:8786, "
            f"got {args.dask!r}"
        )
    if args.workers is not None:
        raise UsageError("--workers does not go with --dask ADDRESS (the cluster has its own)")
    return args.dask


def _load(path: str) -> SweepSpec:
    try:
        return load_sweep(path)
    except ConfigError as exc:
        if exc.field == "sweep file":
            raise UsageError(f"{path}: {exc.reason}") from None
        bare = exc.value is None or exc.reason.startswith("unknown key")
        shown = "" if bare else f"={exc.value!r}"
        raise UsageError(f"{path}: {exc.field}{shown}: {exc.reason}") from None


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """Columns aligned by ``align``, one letter each: ``l`` labels, ``r`` figures."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _label_columns(spec: SweepSpec) -> list[tuple[str, Callable[[SweepRow], str]]]:
    """Label columns that vary; one instance type or one workload goes in the heading."""
    columns: list[tuple[str, Callable[[SweepRow], str]]] = []
    if len(spec.instances) > 1:
        columns.append(("instance", lambda r: r.instance))
    columns.append(("env", lambda r: r.env_label))
    if len(spec.workloads) > 1:
        columns.append(("workload", lambda r: r.workload_label))
    columns.append(("seed", lambda r: str(r.seed)))
    return columns


def _heading(path: str, spec: SweepSpec) -> list[str]:
    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    axes = [
        count(len(spec.instances), "instance type"),
        count(len(spec.env), "env set"),
        count(len(spec.workloads), "workload"),
        count(len(spec.seeds), "seed"),
    ]
    lines = [f"sweep {path}", f"{count(len(spec), 'run')} = {' x '.join(axes)}"]
    throttle = "EC2 throttling on" if spec.throttle else "no EC2 throttling"
    lines.append(
        f"each run: {spec.nodes} nodes, {spec.hours:g} h, subnet {spec.subnet}, iteration "
        f"{spec.iteration}, {throttle}"
    )
    unusual = [  # settings away from their defaults (docs/sweep.md)
        f"max pods {spec.max_pods}" if spec.max_pods is not None else "",
        f"{spec.host_network_pods} host-network pods per node"
        if spec.host_network_pods != HOST_NETWORK_PODS
        else "",
        f"pods give up after {spec.pod_timeout:g} s" if spec.pod_timeout != 600 else "",
        f"samples every {spec.sample_interval:g} s" if spec.sample_interval != 60 else "",
    ]
    if any(unusual):
        lines.append("also: " + ", ".join(u for u in unusual if u))
    if len(spec.instances) == 1:
        lines.append(f"instance type: {spec.instances[0]}")
    if len(spec.workloads) == 1:
        w = spec.workloads[0]
        lines.append(f"workload: {_workload_words(w.kind, w.pods_per_node, w.changes_per_minute)}")
    return lines


def _workload_words(kind: str, pods: int, changes: float) -> str:
    rate = f"{changes:g} pod change{'' if changes == 1 else 's'} per node per minute"
    return {
        "churn": f"churn ({pods} pods per node, {rate})",
        "constant": f"constant ({pods} pods per node from t=0)",
        "ramp": f"ramp (0 to {pods} pods per node over half the run)",
        "burst": f"burst ({pods} pods per node at 60 s)",
        "diurnal": f"diurnal (a daily cycle of {rate})",
    }[kind]


def _print_text(path: str, result: SweepResult) -> None:
    spec = result.spec
    print("\n".join(_heading(path, spec)))
    print()
    labels = _label_columns(spec)
    headers = [h for h, _ in labels] + [h for h, _, _ in _FIGURES]
    rows = [
        [cell(r) for _, cell in labels] + [cell(r) for _, _, cell in _FIGURES] for r in result.rows
    ]
    align = "l" * len(labels) + "r" * len(_FIGURES)
    print("\n".join(_table(headers, rows, align)))
    print(
        textwrap.fill(
            "held: subnet addresses the nodes hold (median and max over the samples); calls/h: "
            "EC2 calls per hour, every API and outcome; thr: throttled calls; waited, failed: "
            "pods that waited for an IP, that gave up; p50/p99/max s: time to IP ('never': the "
            "rank falls on a pod that gave up)",
            width=96,
        )
    )
    print()
    _print_pareto(result.pareto(), spec)


def _print_pareto(points: Sequence[ParetoPoint], spec: SweepSpec) -> None:
    seeds = len(spec.seeds)
    print(
        f"settings per workload, each at its worst over {seeds} seed{'s' if seeds != 1 else ''} "
        "(lower is better on all three):"
    )

    def name(p: ParetoPoint) -> str:
        return p.setting if len(spec.instances) > 1 else p.env_label

    for workload in dict.fromkeys(p.workload for p in points):
        mine = [p for p in points if p.workload == workload]
        print(f"workload {workload}:")
        rows = []
        for p in mine:
            if not p.dominated:
                mark = "front"
            else:
                names = [
                    b if len(spec.instances) > 1 else b.split(" ", 1)[1] for b in p.dominated_by
                ]
                more = f" and {len(names) - 1} more" if len(names) > 1 else ""
                mark = f"dominated by {names[0]}{more}"
            rows.append(
                [
                    name(p),
                    f"{p.subnet_addresses_max:,}",
                    f"{p.ec2_calls_per_hour:,.1f}",
                    _seconds(p.time_to_ip_p99_s),
                    mark,
                ]
            )
        headers = ["  setting", "held max", "calls/h", "p99 s", "pareto"]
        indented = [["  " + r[0], *r[1:]] for r in rows]
        print("\n".join(_table(headers, indented, "lrrrl")))


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ConfigError as exc:
        if exc.field != "engine":
            raise
        raise UsageError(f"--dask {args.dask}: {exc.reason}") from None


def _run(args: argparse.Namespace) -> int:
    engine = _engine(args)
    spec = _load(args.file)
    if args.out is not None:
        check_out(args.out)
    check_report(args.report)
    started = time.perf_counter()
    where = describe_engine(engine, args.workers)
    if args.quiet or not sys.stderr.isatty():
        result = sweep(spec, engine, workers=args.workers)
    else:
        with Progress(
            TextColumn("sweeping"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("runs"),
            TimeElapsedColumn(),
            transient=True,
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task("runs", total=len(spec))

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done)

            result = sweep(spec, engine, workers=args.workers, progress=progress)
    wall = time.perf_counter() - started
    if not args.quiet:
        print(f"vpccni-model: {len(spec)} runs on {where} in {wall:.1f} s", file=sys.stderr)
    if args.json:
        print_json(result.to_dict())
    else:
        _print_text(args.file, result)
    if args.out is not None:
        paths = _write(result, Path(args.out), args.no_plots)
        print("wrote " + ", ".join(paths), file=sys.stderr if args.json else None)
    if args.report is not None:
        _report(args, result, where)
    return 0


def _report(args: argparse.Namespace, result: SweepResult, where: str) -> None:
    """``--report``: the sweep's page, with explain's findings for each setting."""
    from vpccni_model.report import explain_settings, sweep_report
    from vpccni_model.sim.metrics import package_version

    spec = result.spec
    explanations = None
    if not args.no_explain:
        settings = len(spec.instances) * len(spec.env)
        print(
            f"vpccni-model: --report: explaining {settings} setting{'s' if settings != 1 else ''} "
            "(as vpccni-model explain does) for the report's findings; --no-explain skips it",
            file=sys.stderr,
        )
        explanations = explain_settings(spec)
    page = sweep_report(
        result,
        source=args.file,
        engine=where,
        explanations=explanations,
        notes=["Not explained (--no-explain)."] if args.no_explain else [],
        figures=not args.no_plots,
        version=package_version(),
    )
    write_report(page, args.report, quiet_stdout=args.json)


def _write(result: SweepResult, out: Path, no_plots: bool) -> list[str]:
    (out / "sweep.csv").write_text(result.to_csv(), encoding="utf-8")
    (out / "sweep.json").write_text(result.to_json(), encoding="utf-8")
    paths = [str(out / "sweep.csv"), str(out / "sweep.json")]
    if no_plots:
        return paths
    try:
        paths.append(str(write_pareto_plot(result.pareto(), result.spec, out / "pareto.png")))
    except ConfigError as exc:
        if exc.field != "plots":
            raise
        print(
            "vpccni-model: pareto.png skipped: matplotlib is not installed (install the plots "
            "extra: pip install 'vpccni-model[plots]'; or pass --no-plots)",
            file=sys.stderr,
        )
    return paths


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "sweep",
        help="a grid of simulations from a YAML or TOML file, and its Pareto front",
        description=textwrap.fill(
            "Simulate every combination of instance types, aws-node env sets, workloads and "
            "seeds in a sweep file; print one row per run and which settings another beats on "
            "subnet addresses held, EC2 calls per hour and p99 time to IP."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the sweep file (.yaml, .yml or .toml)")
    parser.add_argument(
        "--out", metavar="DIR", help="write sweep.csv, sweep.json and pareto.png there"
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes, here or in --dask local's cluster (default: one per CPU)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--serial", action="store_true", help="run in this process, one run at a time"
    )
    where.add_argument(
        "--dask",
        metavar="local|ADDRESS",
        help="run on Dask: 'local' starts a LocalCluster on 127.0.0.1, an address such as "
        "tcp://HOST:8786 uses a running scheduler (vpccni-model must be installed on its "
        "workers); needs the dask extra (default: a local process pool)",
    )
    parser.add_argument(
        "--no-plots",
        action="store_true",
        help="write no pareto.png with --out, and no figure in --report",
    )
    parser.add_argument(
        "--no-explain",
        action="store_true",
        help="with --report, skip explain's findings for each setting (default: run it, about "
        "a second per setting)",
    )
    add_report(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar or timing on stderr")
    add_json(parser)
    parser.set_defaults(func=run)
