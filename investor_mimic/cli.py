"""The ``investor-mimic`` command: ``demo``, ``backtest``, ``filing show``, ``approvals``,
``kill-switch``, ``universe build|show``, ``serve`` (the approval web app), ``hash-password``
``db upgrade|downgrade|current|check`` (warehouse migrations) and ``status`` (health).

Why argparse: a handful of subcommands do not justify another dependency, and errors must
be one clear line on stderr with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from investor_mimic.sources.universe import UniverseBuild


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


def _universe_summary(build: UniverseBuild, folder: Path) -> dict[str, Any]:
    return {**build.info, "folder": str(folder)}


def _cmd_universe_build(args: argparse.Namespace) -> int:
    from investor_mimic.settings import get_settings
    from investor_mimic.sources.backends import edgar_from_settings
    from investor_mimic.sources.edgar import EdgarError
    from investor_mimic.sources.http import HttpError
    from investor_mimic.sources.universe import UniverseError, build_universe, write_build

    settings = get_settings()
    try:
        edgar = edgar_from_settings(settings)
        filers = tuple(args.filer) or edgar.filer_ciks
        build = build_universe(edgar.client, filers, periods=args.periods, source=edgar.description)
        folder = settings.universe_dir
        write_build(build, folder)
    except (UniverseError, EdgarError, HttpError, FileNotFoundError, ValueError) as exc:
        print(f"error: universe build: {exc}", file=sys.stderr)
        return 2
    _print_universe(build, folder, as_json=args.json, rows=0)
    return 0


def _cmd_universe_show(args: argparse.Namespace) -> int:
    from investor_mimic.settings import get_settings
    from investor_mimic.sources.universe import UniverseError, read_build

    folder = get_settings().universe_dir
    try:
        build = read_build(folder)
    except (UniverseError, OSError) as exc:
        print(f"error: universe show: {exc}", file=sys.stderr)
        return 2
    _print_universe(build, folder, as_json=args.json, rows=args.rows)
    return 0


def _print_universe(build: UniverseBuild, folder: Path, *, as_json: bool, rows: int) -> None:
    """A summary, the first ``rows`` tickers and every unmapped CUSIP with its reason."""
    from tabulate import tabulate

    if as_json:
        payload = {
            "summary": _universe_summary(build, folder),
            "universe": build.universe.astype(str).to_dict("records"),
            "unmapped": build.unmapped.astype(str).to_dict("records"),
        }
        sys.stdout.write(json.dumps(payload, indent=1) + "\n")
        return
    info = build.info
    print(
        f"universe: {info['mapped']} tickers from {info['cusips']} CUSIPs held by "
        f"{len(info['filers'])} filers ({len(info['filings'])} 13F filings, latest "
        f"{info['periods']} period(s)); {info['unmapped']} CUSIPs unmapped"
    )
    print(f"built {info['built_at']} from {info['source']} into {folder}")
    if rows:
        shown = build.universe.head(rows)
        print(tabulate(shown.values.tolist(), headers=list(shown.columns), tablefmt="simple"))
        if len(build.universe) > rows:
            print(f"… {len(build.universe) - rows} more in {folder / 'universe.csv'}")
    if len(build.unmapped):
        print("\nunmapped CUSIPs (not in the universe):")
        table = build.unmapped[["cusip", "issuer", "reason"]]
        print(tabulate(table.values.tolist(), headers=list(table.columns), tablefmt="simple"))


def _cmd_demo(args: argparse.Namespace) -> int:
    from investor_mimic.demo.runner import run_demo

    return run_demo(size=args.size, seed=args.seed, null=args.null, as_json=args.json)


def _cmd_backtest(args: argparse.Namespace) -> int:
    from investor_mimic.backtest.run import backtest_world, write_outputs
    from investor_mimic.settings import Settings

    settings = Settings(
        **{k: v for k, v in (("world_size", args.size), ("world_seed", args.seed)) if v is not None}
    )
    try:
        report = backtest_world(
            settings.world_dir,
            settings.world_size,
            settings.world_seed,
            settings.trading,
            start=args.start,
            end=args.end,
            method=settings.fit_method,
            horizon=settings.horizon_days,
        )
    except ValueError as exc:  # a window without scores or sessions, a bad benchmark
        print(f"investor-mimic backtest: {exc}", file=sys.stderr)
        return 2
    written = write_outputs(report, args.out)
    m = report.result.metrics
    print(
        f"Backtest {m.start}..{m.end} ({m.n_days} sessions), after costs: "
        f"total {m.total_return:+.1%} vs benchmark {m.benchmark_total_return:+.1%}, "
        f"CAGR {m.cagr:+.1%}, Sharpe {m.sharpe:.2f}, max drawdown {m.max_drawdown:.1%}, "
        f"turnover {m.turnover:.1f}x/yr"
    )
    if args.json:
        print(json.dumps(report.summary(), indent=2))
    print(f"wrote {', '.join(p.name for p in written)} to {args.out}")
    return 0


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
        if args.approvals_command == "notify":
            return _notify(store, args.id)
    except UnknownRequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BrokerError, ExecutionIncomplete) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(args.approvals_command)


def _notify(store: Any, request_id: str) -> int:
    """Announce a pending request again, with fresh links, through the configured channels;
    with none configured (the offline demo), print the notice and its links here."""
    from investor_mimic.approval.links import LinkConfigError, LinkSigner
    from investor_mimic.approval.notices import request_created
    from investor_mimic.approval.notify import notifier_from_settings, render_text
    from investor_mimic.settings import get_settings

    settings = get_settings()
    req = store.get(request_id)
    if req.status != "pending":
        print(f"request {req.id} is {req.status}: nothing to approve", file=sys.stderr)
        return 1
    notice = request_created(req, settings.public_url)
    notifier = notifier_from_settings(settings, store)
    deliveries = notifier.send(notice)
    for d in deliveries:
        print(f"{d.channel}: {'sent' if d.ok else 'FAILED: ' + (d.error or '')}")
    if not notifier.channels:
        try:
            signer = LinkSigner(
                store,
                settings.link_secret.get_secret_value() if settings.link_secret else "",
                settings.public_url,
            )
        except LinkConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        links = {str(k): v for k, v in signer.issue_pair(req.id, recipient="console").items()}
        print(render_text(notice, links))
        print(
            f"(no channel configured; open a link while `investor-mimic serve` runs at "
            f"{settings.public_url})"
        )
    return 0 if all(d.ok for d in deliveries) else 1


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


def _cmd_serve(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from investor_mimic.approval.links import LinkConfigError
    from investor_mimic.approval.web import serve
    from investor_mimic.core.migrate import MigrationError
    from investor_mimic.defs.ops.health import PROBES
    from investor_mimic.settings import get_settings

    settings = get_settings()
    try:
        serve(settings, args.host or settings.web_host, args.port or settings.web_port, PROBES)
    except (LinkConfigError, MigrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:  # the URL may hold a password: name the error only
        print(f"error: the warehouse cannot be opened ({type(exc).__name__})", file=sys.stderr)
        return 2
    return 0


def _cmd_hash_password(args: argparse.Namespace) -> int:
    """Read a password (twice from a terminal, once from a pipe) and print its Argon2 hash."""
    from investor_mimic.approval.auth import hash_password

    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            print("error: the passwords differ", file=sys.stderr)
            return 2
    else:
        first = sys.stdin.readline().rstrip("\n")
    if len(first) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    print(f"IM_WEB_PASSWORD_HASH='{hash_password(first)}'")
    return 0


def _cmd_config_validate(args: argparse.Namespace) -> int:
    """Every missing or malformed setting of the chosen environment, by variable name."""
    from investor_mimic.core.environments import validate

    env, problems = validate(args.env)
    for problem in problems:
        print(f"error: {problem}")
    if problems:
        print(f"{env}: {len(problems)} problem(s); see deploy/{env}/env.example", file=sys.stderr)
        return 1
    print(f"{env}: configuration complete")
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    """Migrate the warehouse (``IM_WAREHOUSE_URL``) or say where it stands."""
    from investor_mimic.core import migrate
    from investor_mimic.settings import get_settings

    url = get_settings().resolved_warehouse_url
    where = migrate.safe_url(url)
    try:
        if args.db_command in ("upgrade", "downgrade"):
            run = migrate.upgrade if args.db_command == "upgrade" else migrate.downgrade
            before, after = run(url, args.revision)
            print(f"warehouse {where}: {before or 'empty'} -> {after or 'empty'}")
            return 0
        status = migrate.status(url, compare=args.db_command == "check")
    except migrate.MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    place = "at head" if status.at_head else f"not at head {status.head}"
    print(f"{status.current or 'empty'} ({place}) {where}")
    if args.db_command == "current":
        return 0
    for difference in status.differences:
        print(f"  drift: {difference}")
    if status.ok:
        print("no drift between the models and the migrations")
    return 0 if status.ok else 1


def _cmd_status(args: argparse.Namespace) -> int:
    """Check every part (``investor_mimic.status``); exit 1 when a required one is down."""
    from investor_mimic.defs.ops.health import PROBES
    from investor_mimic.settings import get_settings
    from investor_mimic.status import run

    report = run(get_settings(), deep=not args.shallow, extra=PROBES)
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
    else:
        print(report.text())
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="investor-mimic", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate the demo world and materialize the graph")
    demo.add_argument("--size", choices=["tiny", "demo", "large"], default=None)
    demo.add_argument("--seed", type=int, default=None)
    demo.add_argument("--null", action="store_true", help="plant no signal")
    demo.add_argument("--json", action="store_true", help="print a machine-readable summary")
    demo.set_defaults(func=_cmd_demo)

    backtest = sub.add_parser(
        "backtest", help="replay the strategy out of sample on the demo world, after costs"
    )
    backtest.add_argument("--start", type=date.fromisoformat, default=None, help="first day")
    backtest.add_argument("--end", type=date.fromisoformat, default=None, help="last day")
    backtest.add_argument("--size", choices=["tiny", "long", "demo", "large"], default=None)
    backtest.add_argument("--seed", type=int, default=None)
    backtest.add_argument("--out", type=Path, default=Path("backtest_out"), help="output folder")
    backtest.add_argument("--json", action="store_true", help="also print metrics.json")
    backtest.set_defaults(func=_cmd_backtest)

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
    notify = a_sub.add_parser(
        "notify",
        help="announce a pending request again with fresh approve/reject links (email, "
        "Slack, apprise; printed here when no channel is configured)",
    )
    notify.add_argument("id")
    for p in (approve, reject, execute):
        p.add_argument("--by", help="who decides (default: the OS user)")

    serve = sub.add_parser("serve", help="run the approval web app (FastAPI on uvicorn)")
    serve.add_argument("--host", help="address to bind (default IM_WEB_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default IM_WEB_PORT, 8000)")
    serve.set_defaults(func=_cmd_serve)

    hashing = sub.add_parser(
        "hash-password", help="print the Argon2 hash of the web password for IM_WEB_PASSWORD_HASH"
    )
    hashing.set_defaults(func=_cmd_hash_password)

    config = sub.add_parser("config", help="check this environment's configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    validate = config_sub.add_parser(
        "validate",
        help="list every missing or malformed setting (variable names, never values); "
        "exit 1 when there is one",
    )
    validate.add_argument(
        "--env",
        choices=["development", "staging", "production"],
        default=None,
        help="environment to check against (default IM_ENVIRONMENT / ENVIRONMENT)",
    )
    validate.set_defaults(func=_cmd_config_validate)

    kill = sub.add_parser("kill-switch", help="stop (on) or allow (off) all order execution")
    kill.add_argument("state", choices=["on", "off", "status"])
    kill.add_argument("--reason")
    kill.add_argument("--by", help="who flips it (default: the OS user)")
    kill.set_defaults(func=_cmd_kill_switch)

    status = sub.add_parser(
        "status",
        help="check the Dagster instance, warehouse, asset storage, cache, broker and data "
        "sources; exit 1 when a required one is down",
    )
    status.add_argument("--json", action="store_true", help="print the report as JSON")
    status.add_argument(
        "--shallow",
        action="store_true",
        help="no calls outside the deployment's own storage (what /health does by default)",
    )
    status.set_defaults(func=_cmd_status)

    dbp = sub.add_parser("db", help="migrate the warehouse schema (Alembic) or show its revision")
    db_sub = dbp.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="migrate up to REV (default head)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_sub.add_parser("downgrade", help="migrate down to REV (default -1: one step)")
    down.add_argument("revision", nargs="?", default="-1")
    db_sub.add_parser("current", help="print the warehouse's revision and this release's head")
    db_sub.add_parser(
        "check",
        help="exit 1 unless the warehouse is at head and matches the models (no drift)",
    )
    dbp.set_defaults(func=_cmd_db)

    universe = sub.add_parser(
        "universe",
        help="the security master from SEC data (company tickers + the filers' 13F rows)",
    )
    universe_sub = universe.add_subparsers(dest="universe_command", required=True)
    build = universe_sub.add_parser(
        "build",
        help="build it from EDGAR (IM_EDGAR_SOURCE: the demo world or sec) into "
        "data_dir/universe and print what was left unmapped",
    )
    build.add_argument(
        "--periods", type=int, default=1, help="latest 13F report periods to read (default 1)"
    )
    build.add_argument(
        "--filer", action="append", default=[], help="a filer CIK (repeatable; default: tracked)"
    )
    build.add_argument("--json", action="store_true", help="print a machine-readable summary")
    build.set_defaults(func=_cmd_universe_build)
    show_u = universe_sub.add_parser("show", help="print the built universe and unmapped CUSIPs")
    show_u.add_argument("--rows", type=int, default=50, help="tickers to list (default 50)")
    show_u.add_argument("--json", action="store_true", help="print everything as JSON")
    show_u.set_defaults(func=_cmd_universe_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
