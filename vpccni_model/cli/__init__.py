"""Command line: ``vpccni-model max-pods | steady-state | simulate | explain``.

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
from vpccni_model.cli import _explain, _limits, _max_pods, _simulate, _steady
from vpccni_model.cli._common import UsageError

#: Exit status for usage and input errors, as argparse uses.
EXIT_USAGE = 2
#: Exit status after Ctrl-C, as shells report SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpccni-model", description="What the Amazon VPC CNI's ipamd does with your settings."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (_max_pods, _limits, _steady, _simulate, _explain):
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
