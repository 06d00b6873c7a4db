"""``vpccni-model compare``: two aws-node configurations on the same nodes, workload and seed,
side by side (``vpccni_model.sim.compare``).

Each side's environment is the shared one (``--manifest``, ``--env``, else the shipped
values) with its own ``--a-manifest``/``--b-manifest`` in place of the manifest and its own
``--a-env``/``--b-env`` on top. Output: the run, "identical configurations" when the two sides
have the same inputs, the inputs that differ (the environment, then ipamd's effective values),
every figure with its difference and relative change (``!`` marks a difference that matters),
and the explainer's findings for each side. ``--json`` prints the same as one object;
``--out DIR`` writes each run's files (as ``simulate --out``, without plots) to ``DIR/a`` and
``DIR/b`` and the comparison to ``DIR/comparison.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import attrs

from vpccni_model._env import ENV_VARIABLES, SDK_VARIABLES
from vpccni_model._errors import VpcCniModelError
from vpccni_model._iteration import GO_RANDOM, KINDS
from vpccni_model.cli._common import (
    Inputs,
    UsageError,
    add_inputs,
    add_instance,
    add_json,
    parse_env_pairs,
    print_json,
    resolve_inputs,
    settings_json,
)
from vpccni_model.cli._report import add_report, check_report, write_report
from vpccni_model.cli._simulate import PER_NODE_SERIES_MAX_NODES, check_out
from vpccni_model.cli._workload_flags import (
    add_workload_flags,
    build_workload,
    check_workload_flags,
)
from vpccni_model.cloud import FakeEC2
from vpccni_model.sim.compare import (
    ALWAYS,
    CALLS,
    FLOORS,
    RELATIVE,
    Comparison,
    change_text,
    compare,
    delta_text,
    figure_text,
)
from vpccni_model.sim.spec import SimulationSpec, cluster

EPILOG = f"""\
examples:
  vpccni-model compare --instance m5.large --nodes 3 --b-env WARM_IP_TARGET=1 \\
      --b-env MINIMUM_IP_TARGET=10
  vpccni-model compare --instance m5.xlarge --nodes 20 --workload churn --hours 6 \\
      --a-manifest prod-aws-node.yaml --b-manifest staging-aws-node.yaml \\
      --a-label prod --b-label staging --out compare/
  vpccni-model compare --instance m5.large --nodes 3 --b-env WARM_IP_TARGET=1 \\
      --report compare.html
  vpccni-model compare m5.large prod-aws-node.yaml staging-aws-node.yaml --nodes 20

A difference matters when a pod fails or stays unschedulable, an EC2 call fails or is
throttled, or ipamd fails to start (any change); otherwise when a figure changes by more than
{RELATIVE:.0%} and by at least its floor: {FLOORS["pods"]:g} pods, {FLOORS["seconds"]:g} s, \
{FLOORS["addresses"]:g} addresses, {FLOORS["enis"]:g} ENI, {FLOORS["calls"]:g} calls.
"""

#: How a side's flags are named, for messages.
_SIDES = (("a", "--a-env", "--a-manifest"), ("b", "--b-env", "--b-manifest"))


def _side_inputs(args: argparse.Namespace, side: str, label: str) -> Inputs:
    """One side's inputs; the env lint's warnings are printed with the side's label."""
    env_flag, manifest_flag = f"--{side}-env", f"--{side}-manifest"
    # A file given positionally is named alone, without a flag the user did not type.
    shown = "" if args.positional_sides else f"{manifest_flag} "
    own_env: list[str] = getattr(args, f"{side}_env")
    try:
        parse_env_pairs(own_env)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--env", env_flag, 1)) from None
    manifest: str | None = getattr(args, f"{side}_manifest")
    one = argparse.Namespace(**vars(args))
    one.manifest = manifest if manifest is not None else args.manifest
    one.env = [*args.env, *own_env]
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            inputs = resolve_inputs(one)
    except UsageError as exc:
        said = str(exc) if manifest is None else str(exc).replace("--manifest ", shown, 1)
        raise UsageError(f"{label}: {said}") from None
    finally:
        for line in captured.getvalue().splitlines():
            print(f"{line} [{label}]", file=sys.stderr)
    # Say which flag set what: the shared --env, then the side's own.
    base = inputs.source.split(", with --env ")[0]
    if manifest is not None:
        base = base.replace(manifest, f"{shown}{manifest}", 1)
    given = [
        f"{flag} {' '.join(sorted(parse_env_pairs(pairs)))}"
        for flag, pairs in (("--env", args.env), (env_flag, own_env))
        if pairs
    ]
    source = f"{base}, with {' and '.join(given)}" if given else base
    return attrs.evolve(inputs, source=source)


def _positional_sides(args: argparse.Namespace) -> None:
    """``compare [TYPE] [A B]``: two positional configurations (manifests or env files, as
    ``--a-manifest``/``--b-manifest`` read them) after an optional instance type. argparse
    gives the first positional to TYPE, so the split is made here."""
    given = [p for p in (args.instance_type, *args.sides) if p is not None]
    if len(given) <= 1:
        return  # TYPE alone, or nothing
    if len(given) > 3:
        raise UsageError(
            f"compare takes [TYPE] [A B], got {len(given)} positional arguments: " + " ".join(given)
        )
    if len(given) == 2 and given[0] != "-" and not os.path.exists(given[0]):
        raise UsageError(
            f"one configuration given ({given[1]}) after {given[0]!r}: compare takes [TYPE] "
            "[A B], two configurations, or --a-manifest / --b-manifest"
        )
    args.instance_type = given[0] if len(given) == 3 else None
    side_a, side_b = given[-2:]
    for flag, current in (("--a-manifest", args.a_manifest), ("--b-manifest", args.b_manifest)):
        if current is not None:
            raise UsageError(f"A and B given twice: as positional arguments and {flag} {current}")
    args.a_manifest, args.b_manifest = side_a, side_b
    args.positional_sides = True


def _check(args: argparse.Namespace) -> None:
    _positional_sides(args)
    if args.nodes < 1:
        raise UsageError(f"--nodes must be >= 1, got {args.nodes}")
    check_workload_flags(args)
    for flag, label in (("--a-label", args.a_label), ("--b-label", args.b_label)):
        if not label.strip():
            raise UsageError(f"{flag} must not be empty")
    readers = [m if m is not None else args.manifest for m in (args.a_manifest, args.b_manifest)]
    if readers.count("-") > 1:
        raise UsageError(
            "standard input (-) can be read once: give --a-manifest or --b-manifest a file"
        )
    if args.a_label == args.b_label:
        raise UsageError(f"--a-label and --b-label must differ, both are {args.a_label!r}")
    try:
        FakeEC2(subnets={"subnet-a": args.subnet})
    except VpcCniModelError as exc:
        reason = getattr(exc, "reason", str(exc))
        raise UsageError(f"--subnet {args.subnet!r}: {reason}") from exc


def _spec(args: argparse.Namespace, inputs: Inputs) -> SimulationSpec:
    workload = build_workload(args, nodes=args.nodes, pods_per_node=args.pods_per_node)
    return SimulationSpec(
        nodes=cluster(
            inputs.limits, inputs.config, args.nodes, host_network_pods=inputs.host_network_pods
        ),
        workload=workload,
        duration=args.hours * 3600,
        seed=args.seed,
        subnets=(("subnet-a", args.subnet),),
        per_node_series=args.out is not None and args.nodes <= PER_NODE_SERIES_MAX_NODES,
        iteration=args.iteration,
        sdk_retry=inputs.sdk_retry,
    )


def env_differences(a: Inputs, b: Inputs) -> list[tuple[str, str | None, str | None]]:
    """(name, A's value, B's value) of every aws-node variable set differently, by name."""
    names = sorted(set(a.env) | set(b.env))
    return [(n, a.env.get(n), b.env.get(n)) for n in names if a.env.get(n) != b.env.get(n)]


def _table(header: list[str], rows: list[list[str]], marks: list[str]) -> list[str]:
    """Left-aligned first column, the rest right-aligned; ``marks`` prefix each row."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(mark: str, cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = "".join(f"  {c.rjust(w)}" for c, w in zip(cells[1:], widths[1:], strict=True))
        return f"{mark} {first}{rest}".rstrip()

    return [line(" ", header), *(line(m, r) for m, r in zip(marks, rows, strict=True))]


def _input_rows(comparison: Comparison, a: Inputs, b: Inputs) -> list[list[str]]:
    def shown(value: object) -> str:
        return "(unset)" if value is None else str(value)

    rows = [
        [f"env {n}", shown(x), shown(y)]
        for n, x, y in env_differences(a, b)
        if n in ENV_VARIABLES or n in SDK_VARIABLES
    ]
    for diff in comparison.inputs:
        name = diff.field
        name = "effective " + name.removeprefix("config.") if name.startswith("config.") else name
        rows.append([name, shown(diff.a), shown(diff.b)])
    return rows


def _finding_lines(comparison: Comparison) -> list[str]:
    if comparison.explanations is None:
        return []
    ex_a, ex_b = comparison.explanations
    codes = ({f.code for f in ex_a.findings}, {f.code for f in ex_b.findings})
    labels = (comparison.label_a, comparison.label_b)
    lines: list[str] = []
    for index, explanation in enumerate(comparison.explanations):
        other = codes[1 - index]
        count = len(explanation.findings)
        lines.append(
            f"explain {labels[index]}: "
            + ("no findings" if not count else f"{count} finding{'s' if count != 1 else ''}")
        )
        for f in explanation.findings:
            only = "" if f.code in other else f" ({labels[index]} only)"
            lines.append(f"  [{f.severity}] {f.code}{only}: {f.title}")
    return lines


def _text(args: argparse.Namespace, comparison: Comparison, a: Inputs, b: Inputs) -> list[str]:
    la, lb = comparison.label_a, comparison.label_b
    source = f"trace {args.trace}" if args.trace is not None else f"workload {args.workload}"
    lines = [
        f"compare {la} and {lb}: {args.nodes} x {a.limits.name}, {args.hours:g} h, {source}, "
        f"seed {args.seed}, subnet {args.subnet}; both replay the same pod events",
        f"{la}: settings from {a.source}",
        f"{lb}: settings from {b.source}",
        "",
    ]
    inputs = _input_rows(comparison, a, b)
    if comparison.identical and not inputs:
        lines += [
            f"identical configurations: {la} and {lb} have the same inputs, so the same results",
            "",
        ]
    else:
        lines += ["inputs that differ", *_table(["", la, lb], inputs, [" "] * len(inputs))]
        others = [
            n
            for n, _, _ in env_differences(a, b)
            if n not in ENV_VARIABLES and n not in SDK_VARIABLES  # those: sdk_retry
        ]
        if others:
            lines += textwrap.wrap(
                f"  and {len(others)} more variable{'s' if len(others) != 1 else ''} the model "
                f"does not read: {', '.join(others)}",
                width=100,
                subsequent_indent="    ",
            )
        lines.append("")
        if comparison.identical:
            lines += [
                f"identical configurations for ipamd: {la} and {lb} differ only in ways ipamd "
                "does not act on (see any warnings above), so the same results",
                "",
            ]
    rows, marks = [], []
    for diff in comparison.differences:
        name = diff.field
        if name.startswith(CALLS):
            name = "calls " + name.removeprefix(CALLS)
        rows.append(
            [
                name,
                figure_text(diff.a, diff.field),
                figure_text(diff.b, diff.field),
                delta_text(diff),
                change_text(diff),
            ]
        )
        marks.append("!" if diff.matters else " ")
    lines += [
        "figures (all nodes; times in seconds; ! marks a difference that matters)",
        *_table(["", la, lb, "delta", "change"], rows, marks),
        "",
    ]
    mattering = comparison.mattering
    if mattering:
        said = ", ".join(
            f"{d.field.removeprefix(CALLS)} {change_text(d)}" if d.delta is not None else d.field
            for d in mattering
        )
        lines += textwrap.wrap(
            f"differences that matter: {len(mattering)} of {len(comparison.differences)}: " + said,
            width=100,
            subsequent_indent="  ",
        )
    else:
        lines.append("no difference that matters")
    findings = _finding_lines(comparison)
    if findings:
        lines += ["", *findings]
    return lines


def _json(args: argparse.Namespace, comparison: Comparison, a: Inputs, b: Inputs) -> dict[str, Any]:
    explanations = comparison.explanations
    return {
        "labels": {"a": comparison.label_a, "b": comparison.label_b},
        "identical": comparison.identical,
        "run": {
            "instance_type": a.limits.name,
            "nodes": args.nodes,
            "hours": args.hours,
            "seed": args.seed,
            "workload_name": "trace" if args.trace is not None else args.workload,
            "trace_file": args.trace,
            "subnet": args.subnet,
            "iteration": args.iteration,
        },
        "settings": {"a": settings_json(a), "b": settings_json(b)},
        "env_differences": [
            {"name": n, "a": x, "b": y, "modelled": n in ENV_VARIABLES}
            for n, x, y in env_differences(a, b)
        ],
        "input_differences": [attrs.asdict(d) for d in comparison.inputs],
        "differences": [
            {**attrs.asdict(d), "change": change_text(d)} for d in comparison.differences
        ],
        "mattering": [d.field for d in comparison.mattering],
        "thresholds": {"relative": RELATIVE, "floors": dict(FLOORS), "always": sorted(ALWAYS)},
        "findings": None
        if explanations is None
        else {
            "a": [f.to_dict() for f in explanations[0].findings],
            "b": [f.to_dict() for f in explanations[1].findings],
        },
        "summaries": {
            "a": attrs.asdict(comparison.result_a.summary),
            "b": attrs.asdict(comparison.result_b.summary),
        },
        "calls_by_api": {
            "a": {k: dict(v) for k, v in comparison.result_a.calls_by_api.items()},
            "b": {k: dict(v) for k, v in comparison.result_b.calls_by_api.items()},
        },
    }


def _write(
    args: argparse.Namespace, comparison: Comparison, sides: tuple[Inputs, Inputs], doc: Any
) -> list[Path]:
    out = Path(args.out)
    paths: list[Path] = []
    labels = (comparison.label_a, comparison.label_b)
    results = (comparison.result_a, comparison.result_b)
    for index, name in enumerate(("a", "b")):
        inputs = sides[index]
        extra = {
            "command": "compare",
            "label": labels[index],
            "instance_type": inputs.limits.name,
            "env": dict(inputs.env),
            "settings": settings_json(inputs),
        }
        paths += results[index].write(out / name, extra)
    path = out / "comparison.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return [*paths, path]


def run(args: argparse.Namespace) -> int:
    _check(args)
    side_a = _side_inputs(args, "a", args.a_label)
    side_b = _side_inputs(args, "b", args.b_label)
    if side_a.limits != side_b.limits:  # pragma: no cover - one instance flag for both
        raise UsageError("both sides run the same instance type")
    if args.out is not None:
        check_out(args.out)
    check_report(args.report)
    comparison = compare(
        _spec(args, side_a),
        _spec(args, side_b),
        labels=(args.a_label, args.b_label),
        explain=not args.no_explain,
    )
    doc = _json(args, comparison, side_a, side_b)
    if args.json:
        print_json(doc)
    else:
        print("\n".join(_text(args, comparison, side_a, side_b)))
    if args.out is not None:
        paths = _write(args, comparison, (side_a, side_b), doc)
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr if args.json else None)
    if args.report is not None:
        _report(args, comparison, (side_a, side_b))
    return 0


def _report(args: argparse.Namespace, comparison: Comparison, sides: tuple[Inputs, Inputs]) -> None:
    """``--report``: the comparison's page, with each side's findings (already run)."""
    from vpccni_model.report import comparison_report
    from vpccni_model.sim.metrics import package_version

    def extra(inputs: Inputs, label: str) -> dict[str, Any]:
        return {
            "command": "compare",
            "label": label,
            "instance_type": inputs.limits.name,
            "max_pods": inputs.max_pods,
            "host_network_pods": inputs.host_network_pods,
            "workload_name": "trace" if args.trace is not None else args.workload,
            "trace_file": args.trace,
            "subnet": args.subnet,
            "vpccni_model_version": package_version(),
            "settings": settings_json(inputs),
            "env": dict(inputs.env),
        }

    page = comparison_report(
        comparison,
        inputs=(extra(sides[0], comparison.label_a), extra(sides[1], comparison.label_b)),
        lint=(sides[0].findings, sides[1].findings),
        notes=["Not explained (--no-explain)."] if args.no_explain else [],
    )
    write_report(page, args.report, quiet_stdout=args.json)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmp = sub.add_parser(
        "compare",
        help="two aws-node configurations on the same workload, side by side",
        description="Simulate two aws-node configurations (env sets or manifests) on the same "
        "nodes, workload and seed, and print what differs: the inputs, every figure with its "
        "change, the differences that matter, and the explainer's findings for each.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_instance(cmp)
    cmp.add_argument(
        "sides",
        nargs="*",
        metavar="A B",
        help="A's and B's aws-node environment (manifest or env file, as --a-manifest and "
        "--b-manifest read them), after the optional TYPE",
    )
    cmp.add_argument(
        "--nodes", type=int, default=1, metavar="N", help="nodes in the cluster (default: 1)"
    )
    add_workload_flags(cmp)
    cmp.add_argument(
        "--iteration",
        choices=KINDS,
        default=GO_RANDOM,
        help="order at ipamd's Go map iterations, as simulate (default: %(default)s)",
    )
    cmp.add_argument(
        "--subnet",
        default="10.0.0.0/16",
        metavar="CIDR",
        help="the subnet every node takes its addresses from (default: %(default)s)",
    )
    for side, env_flag, manifest_flag in _SIDES:
        upper = side.upper()
        cmp.add_argument(
            env_flag,
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"an aws-node variable for {upper} only (repeatable), over --env",
        )
        cmp.add_argument(
            manifest_flag,
            metavar="FILE",
            help=f"{upper}'s aws-node environment, in place of --manifest (default: --manifest)",
        )
        cmp.add_argument(
            f"--{side}-label",
            default=upper,
            metavar="TEXT",
            help=f"{upper}'s name in the output (default: {upper})",
        )
    cmp.add_argument(
        "--no-explain",
        action="store_true",
        help="skip the explainer's findings for each side (default: run it, about a second)",
    )
    cmp.add_argument(
        "--out",
        metavar="DIR",
        help="write each run's summary.json, CSV files (DIR/a, DIR/b) and DIR/comparison.json",
    )
    add_report(cmp)
    add_inputs(cmp)
    add_json(cmp)
    cmp.set_defaults(func=run, positional_sides=False)
