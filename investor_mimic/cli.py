"""The ``investor-mimic`` command: ``demo``, ``filing show``, ``approvals`` and ``kill-switch``.

Why argparse: a handful of subcommands do not justify another dependency, and errors must
be one clear line on stderr with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any


def _cmd_filing_show(args: argparse.Namespace) -> int:
    from investor_mimic.parsing.errors import FilingError
    from investor_mimic.parsing.show import show_filing

    try:
        shown = show_filing(Path(args.path), args.format)
    except FilingError as exc:
        print(f"error: {args.path}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    sys.stdout.write(shown.text)
    # readable but inconsistent (cover totals vs. table): say so, the exit code stays 0
    for warning in shown.warnings:
        print(f"warning: {args.path}: {warning}", file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from investor_mimic.demo.runner import run_demo

    return run_demo(size=args.size, seed=args.seed, null=args.null, as_json=args.json)


def _store() -> Any:
    from investor_mimic.approval.store import ApprovalStore
    from investor_mimic.settings import get_settings

    return ApprovalStore(get_settings().resolved_warehouse_url)


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or getpass.getuser())


def _executor(store: Any, args: argparse.Namespace) -> Any:
    """The executor on this environment's broker (BrokerError if it cannot be built)."""
    from investor_mimic.approval.execution import Executor
    from investor_mimic.broker.factory import make_broker
    from investor_mimic.settings import get_settings

    settings = get_settings()
    return Executor(
        store,
        make_broker(settings),
        actor=_actor(args),
        channel="cli",
        kill_switch_setting=settings.kill_switch,
        log=lambda msg: print(f"  {msg}"),
    )


def _print_execution(result: Any) -> int:
    from investor_mimic.approval.report import fills_table, orders_table

    print(result.message)
    if result.request is not None and result.request.status in ("executing", "executed", "failed"):
        print()
        print(orders_table(result.request))
        print()
        print(fills_table(result.request))
    return 0 if result.ok else 1


def _cmd_approvals(args: argparse.Namespace) -> int:
    from investor_mimic.approval.execution import ExecutionIncomplete
    from investor_mimic.approval.report import request_detail, request_table
    from investor_mimic.approval.store import UnknownRequestError
    from investor_mimic.broker.models import BrokerError
    from investor_mimic.settings import get_settings

    store = _store()
    try:
        if args.approvals_command == "list":
            requests = store.list_requests(args.status)
            killed = store.kill_switch(setting=get_settings().kill_switch)
            if args.json:
                payload = {
                    "kill_switch": killed.describe(),
                    "requests": [r.as_dict() for r in requests],
                }
                print(json.dumps(payload, indent=2))
            else:
                if killed.enabled:
                    print(killed.describe())
                print(request_table(requests))
            return 0
        if args.approvals_command == "show":
            req = store.get(args.id)
            if args.json:
                out = req.as_dict()
                out["audit"] = json.loads(
                    store.audit_log(args.id).to_json(orient="records", date_format="iso")
                )
                print(json.dumps(out, indent=2))
            else:
                print(request_detail(req))
            return 0
        if args.approvals_command == "reject":
            decision = store.reject(args.id, actor=_actor(args), channel="cli", reason=args.reason)
            print(decision.message)
            return 0 if decision.won else 1
        if args.approvals_command == "approve":
            store.get(args.id)  # unknown id: say so before building a broker
            executor = _executor(store, args)
            killed = store.kill_switch(setting=executor.kill_switch_setting)
            if killed.enabled:  # nothing reaches the broker, not even for the clock
                print(f"{killed.describe()}: nothing is approved or executed while it is on")
                return 1
            market_now = executor.broker.clock().timestamp
            decision = store.approve(
                args.id, actor=_actor(args), channel="cli", market_now=market_now, only=args.only
            )
            print(decision.message)
            if not decision.won:
                return 1
            if args.no_execute:
                print("not executed here: the execute_approved_requests sensor launches it")
                return 0
            return _print_execution(executor.execute(args.id))
        if args.approvals_command == "execute":
            req = store.get(args.id)
            executor = _executor(store, args)
            if req.status == "executed":
                req = executor.sync(args.id)
                print(request_detail(req))
                return 0
            return _print_execution(executor.execute(args.id, resume=True))
    except UnknownRequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BrokerError, ExecutionIncomplete) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(args.approvals_command)


def _cmd_kill_switch(args: argparse.Namespace) -> int:
    from investor_mimic.settings import get_settings

    store = _store()
    if args.state == "status":
        state = store.kill_switch(setting=get_settings().kill_switch)
    else:
        state = store.set_kill_switch(
            args.state == "on", actor=_actor(args), channel="cli", reason=args.reason
        )
        state = store.kill_switch(setting=get_settings().kill_switch)
    print(state.describe())
    return 0


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

    approvals = sub.add_parser("approvals", help="approval requests of trade proposals")
    approvals.set_defaults(func=_cmd_approvals)
    a_sub = approvals.add_subparsers(dest="approvals_command", required=True)
    listing = a_sub.add_parser("list", help="requests, newest first")
    listing.add_argument(
        "--status",
        choices=["pending", "approved", "rejected", "expired", "executing", "executed", "failed"],
    )
    listing.add_argument("--json", action="store_true", help="with orders and fills")
    one = a_sub.add_parser("show", help="one request: orders, fills, decision")
    one.add_argument("id")
    one.add_argument("--json", action="store_true", help="with orders, fills and audit log")
    approve = a_sub.add_parser("approve", help="approve a pending request and execute it")
    approve.add_argument("id")
    approve.add_argument("--only", nargs="+", metavar="TICKER", help="approve just these orders")
    approve.add_argument("--no-execute", action="store_true", help="leave it to the sensor")
    reject = a_sub.add_parser("reject", help="reject a pending request")
    reject.add_argument("id")
    reject.add_argument("--reason")
    execute = a_sub.add_parser(
        "execute",
        help="execute an approved request, resume one left executing (asks the broker "
        "before sending anything), or refresh an executed one's fills",
    )
    execute.add_argument("id")
    for p in (approve, reject, execute):
        p.add_argument("--by", help="who decides (default: the OS user)")

    kill = sub.add_parser("kill-switch", help="stop (on) or allow (off) all order execution")
    kill.add_argument("state", choices=["on", "off", "status"])
    kill.add_argument("--reason")
    kill.add_argument("--by", help="who flips it (default: the OS user)")
    kill.set_defaults(func=_cmd_kill_switch)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
