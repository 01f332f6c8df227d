"""The ``investor-mimic`` command: ``demo`` (the main job) and ``filing show``.

Why argparse: two subcommands do not justify another dependency, and errors must be one
clear line on stderr with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_filing_show(args: argparse.Namespace) -> int:
    from investor_mimic.parsing.errors import FilingError
    from investor_mimic.parsing.show import render_filing

    try:
        sys.stdout.write(render_filing(Path(args.path), args.format))
    except FilingError as exc:
        print(f"error: {args.path}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from investor_mimic.demo.runner import run_demo

    return run_demo(size=args.size, seed=args.seed, null=args.null, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="investor-mimic", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate the demo world and materialize the graph")
    demo.add_argument("--size", choices=["tiny", "demo", "large"], default=None)
    demo.add_argument("--seed", type=int, default=None)
    demo.add_argument("--null", action="store_true", help="plant no signal")
    demo.add_argument("--json", action="store_true", help="print a machine-readable summary")
    demo.set_defaults(func=_cmd_demo)

    filing = sub.add_parser("filing", help="inspect SEC filings")
    filing_sub = filing.add_subparsers(dest="filing_command", required=True)
    show = filing_sub.add_parser("show", help="parse a 13F or Form 4 document and print its rows")
    show.add_argument("path")
    show.add_argument("--format", choices=["table", "json", "csv"], default="table")
    show.set_defaults(func=_cmd_filing_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
