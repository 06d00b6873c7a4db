"""``vpccni-model explain``: what will go wrong with a configuration, and what to change."""

from __future__ import annotations

import argparse

import attrs

from vpccni_model.cli._common import add_inputs, add_instance, add_json, print_json, resolve_inputs
from vpccni_model.sim.explain import explain


def run(args: argparse.Namespace) -> int:
    inputs = resolve_inputs(args)
    limits = inputs.limits
    explanation = explain(limits, inputs.config, churn_minutes=args.churn_minutes)
    if args.json:
        print_json([attrs.asdict(f) for f in explanation.findings])
        return 1 if any(f.severity == "error" for f in explanation.findings) else 0
    print(f"{limits.name}, max pods {explanation.max_pods}")
    if explanation.ok:
        print("  no findings: the pool settles, every pod up to max pods gets an address.")
        return 0
    for finding in explanation.findings:
        print(f"\n[{finding.severity}] {finding.code}: {finding.title}")
        print(f"  {finding.detail}")
        print(f"  rule: {finding.rule}")
        print(f"  fix:  {finding.suggestion}")
    return 1 if any(f.severity == "error" for f in explanation.findings) else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ex = sub.add_parser("explain", help="what will go wrong with this configuration")
    add_instance(ex)
    ex.add_argument("--churn-minutes", type=float, default=30.0)
    add_json(ex)
    add_inputs(ex)
    ex.set_defaults(func=run)
