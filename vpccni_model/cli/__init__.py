"""Command line: ``vpccni-model max-pods | steady-state | simulate | sweep | compare | explain``.

One module per command (``register`` adds its parser, ``run`` does the work); ``_common``
holds the inputs every command reads the same way. Exit codes: 0 success, 1 findings of
severity error (``explain``), 2 usage or input error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from vpccni_model._errors import VpcCniModelError
from vpccni_model._version import __version__
from vpccni_model.cli import (
    _compare,
    _explain,
    _limits,
    _max_pods,
    _plan_subnet,
    _simulate,
    _steady,
    _sweep,
)
from vpccni_model.cli._common import UsageError

#: Exit status for usage and input errors, as argparse uses.
EXIT_USAGE = 2
#: Exit status after Ctrl-C, as shells report SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


_EXAMPLES = """\
examples:
  vpccni-model max-pods m5.large --cni-prefix-delegation-enabled
  vpccni-model steady-state --instance t3.small --pods 0,5,9 --env WARM_IP_TARGET=2
  vpccni-model plan-subnet --cidr 10.0.0.0/20 --instance m5.xlarge --nodes 60
  vpccni-model explain --instance m5.large --manifest aws-node.yaml
  vpccni-model simulate --instance m5.large --nodes 10 --hours 2 --out results/
  vpccni-model sweep examples/sweep-warm-targets.yaml --out sweep-results/
  vpccni-model compare --instance m5.large --nodes 3 --b-env WARM_IP_TARGET=1

Run 'vpccni-model COMMAND --help' for a command's flags. Exit status: 0 success, 1 explain
found a problem of severity error, 2 usage or input error, 130 interrupted (Ctrl-C).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpccni-model",
        description="What the Amazon VPC CNI's ipamd (aws-node, v1.23.1) does with your "
        "settings: max pods, the ENIs and addresses a node holds, its EC2 calls, "
        "and when pods wait for an IP.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (
        _max_pods,
        _limits,
        _steady,
        _plan_subnet,
        _simulate,
        _sweep,
        _compare,
        _explain,
    ):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except UsageError as exc:
        print(f"vpccni-model {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except VpcCniModelError as exc:
        print(f"vpccni-model: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("vpccni-model: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (e.g. ``| head``) went away: stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
