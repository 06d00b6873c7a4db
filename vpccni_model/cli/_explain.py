"""``vpccni-model explain``: what will go wrong with a configuration, and what to change.

Output: the effective settings, then the findings, most severe first (error, warning, info;
then by code), each with the rule behind it, an upstream page and the fix; last, the planned
changes together. ``--json`` prints one object: ``inputs`` (instance, effective settings,
max pods and where it came from, host-network pods, churn minutes), ``findings`` (severity,
code, title, detail, rule, reference, suggestion, env, max_pods) and ``suggested`` (all the
env changes, and kubelet max pods, in one place).

With ``--node-dump`` (``/v1/enis`` or DescribeNetworkInterfaces JSON of one node), the node
comes first: its ENIs and pool, the next tick's EC2 calls, the cooling addresses and when each
returns, and what a pod arriving now gets or why it waits; ``--json`` adds it as ``node``.

Exit status: 0 when no finding is an error (warnings and info alone exit 0), 1 when one is,
2 for a usage error.
"""

from __future__ import annotations

import argparse
import math

from vpccni_model.cli._common import (
    Inputs,
    UsageError,
    add_inputs,
    add_instance,
    add_json,
    print_json,
    settings_json,
    settings_lines,
)
from vpccni_model.cli._node_dump import add_dump_options, dump_inputs, node_lines
from vpccni_model.node_explain import explain_node
from vpccni_model.sim.explain import Explanation, explain

EPILOG = """\
exit status: 0 no error found (warnings alone exit 0), 1 at least one finding of severity
error, 2 usage error.

examples:
  vpccni-model explain --instance m5.large --env ENABLE_PREFIX_DELEGATION=true
  curl -s localhost:61679/v1/enis > enis.json     # on the node
  vpccni-model explain --instance m5.large --node-dump enis.json --checkpoint ipam.json
"""


def _json(inputs: Inputs, explanation: Explanation) -> dict[str, object]:
    return {
        "inputs": {
            "instance": inputs.limits.name,
            "settings": settings_json(inputs),
            "env": explanation.config.to_env(),
            "max_pods": explanation.max_pods,
            "max_pods_source": "--max-pods" if explanation.max_pods_set else "node default",
            "host_network_pods": explanation.host_network_pods,
            "churn_minutes": explanation.churn_minutes,
        },
        "findings": [f.to_dict() for f in explanation.findings],
        "only_when_packed": list(explanation.only_when_packed),
        "suggested": {
            "env": dict(explanation.env),
            "max_pods": explanation.suggested_max_pods,
        },
    }


def run(args: argparse.Namespace) -> int:
    minutes = args.churn_minutes
    if not math.isfinite(minutes) or not 0 <= minutes <= 1440:
        raise UsageError(f"--churn-minutes must be from 0 to 1440, got {minutes:g}")
    inputs, dump = dump_inputs(args, args.node_dump, "--node-dump")
    node = None if dump is None else explain_node(dump)
    explanation = explain(
        inputs.limits,
        inputs.config,
        churn_minutes=minutes,
        seed=args.seed,
        host_network_pods=inputs.host_network_pods,
    )
    status = 1 if explanation.has_errors else 0
    if args.json:
        doc = _json(inputs, explanation)
        if node is not None:
            doc["node"] = node.to_dict()
        print_json(doc)
        return status
    print("\n".join(settings_lines(inputs)))
    if node is not None:
        reference = "--now" if args.now is not None else "the newest time in the dump"
        print("\n" + "\n".join(node_lines(args.node_dump, node, reference)))
        print("\nthe configuration:")
    if explanation.ok:
        print("  no findings: the pool settles, every pod up to max pods gets an address.")
        return status
    for finding in explanation.findings:
        print(f"\n[{finding.severity}] {finding.code}: {finding.title}")
        print(f"  {finding.detail}")
        print(f"  rule: {finding.rule}")
        if finding.reference:
            print(f"  see:  {finding.reference}")
        print(f"  fix:  {finding.suggestion}")
        if finding.depends_on_order:
            print(
                "  note: the simulated churn places pods in Go's randomised map order, as "
                "ipamd does; with pods packed in order the model does not show this"
            )
    for code in explanation.only_when_packed:
        print(
            f"\n(with pods packed in order instead of Go's randomised map order, the simulated "
            f"churn would also show {code})"
        )
    changes = [f"{name}={value}" for name, value in explanation.env]
    if explanation.suggested_max_pods is not None:
        changes.append(f"kubelet max pods {explanation.suggested_max_pods}")
    if changes:
        print(f"\nsuggested changes, together: {', '.join(changes)}")
    return status


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ex = sub.add_parser(
        "explain",
        help="what will go wrong with this configuration, and what to change",
        description="Run the model on one instance type and aws-node configuration and "
        "report what will hurt (starving pods, loops, max pods the pool cannot reach, "
        "waits, EC2 calls, idle addresses), with the rule behind each and one consistent "
        "set of fixes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_instance(ex)
    ex.add_argument(
        "--churn-minutes",
        type=float,
        default=30.0,
        metavar="MIN",
        help="minutes of simulated pod churn after a 10-minute warm-up; 0 skips it and "
        "the wait and EC2-call findings (default: %(default)g)",
    )
    ex.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="random seed of the simulated churn (default: %(default)s)",
    )
    ex.add_argument(
        "--node-dump",
        metavar="FILE",
        help="a live node: ipamd's introspection (curl localhost:61679/v1/enis) or "
        "aws ec2 describe-network-interfaces JSON for the instance; explains what ipamd "
        "does next on it (default: the configuration only)",
    )
    add_dump_options(ex, "--node-dump")
    add_json(ex)
    add_inputs(ex)
    ex.set_defaults(func=run)
