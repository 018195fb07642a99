"""peerlab: the command line. `peerlab --help` and `peerlab <command> --help` document it."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests
from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner

from peerlab import __version__, failover, faults, render
from peerlab.access import backend_for
from peerlab.bench import command as bench_command
from peerlab.bench.agent import AgentError
from peerlab.bench.members import MembersError
from peerlab.bench.throughput import ThroughputError
from peerlab.channels import CHANNEL_HELP, CHANNELS
from peerlab.demo import DemoReport, LabNotFresh, LabNotUp, ensure_fresh, run_narrative
from peerlab.faults import FaultError
from peerlab.inventory import (
    LB_GROUP,
    InventoryError,
    load_balancers,
    read_floating_address,
    runner_for_address,
)
from peerlab.lab import LoadBalancer, wait_all_synced, wait_replicated
from peerlab.load import LoadError, SessionLoad
from peerlab.narrative import SETTLE_TIMEOUT_S
from peerlab.runtime import RemoteCommandError, show_proc, show_servers
from peerlab.sessions import SESSION_COOKIE, cookie_header
from peerlab.status import pair_status
from peerlab.sync import SyncTimeout
from peerlab.tables import NoSuchTable, report, side_by_side, snapshot

EXIT_OK = 0
EXIT_FAILED = 1  # the lab answered, but not as it should (mismatch, not synced)
EXIT_REFUSED = 2  # nothing checked: bad arguments, lab not up or not fresh

LAB_INVENTORY = Path("inventory") / "lab" / "hosts.yml"


def default_inventory() -> Path:
    """$PEERLAB_INVENTORY, else the lab inventory of the checkout in the current
    directory, else of the checkout peerlab is installed from."""
    if "PEERLAB_INVENTORY" in os.environ:
        return Path(os.environ["PEERLAB_INVENTORY"])
    here = Path.cwd() / LAB_INVENTORY
    return here if here.exists() else Path(__file__).resolve().parents[2] / LAB_INVENTORY


class Refused(Exception):
    """The command cannot run as asked; the message says what to do instead."""


class Output:
    """Human output on a rich console, or one JSON document; progress always on stderr."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.out = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)

    @contextmanager
    def progress(self, message: str) -> Iterator[Callable[[str], None]]:
        """A spinner while something takes seconds; yields a function to update its text."""
        with self.err.status(message) as status:
            yield lambda text: status.update(text)

    def json(self, document: object) -> None:
        print(json.dumps(document, indent=2))


# --- commands -----------------------------------------------------------------


# One request per session: a bound on what one command sends.
MAX_ACCESS_SESSIONS = 10_000


def check_range(first: int, last: int) -> None:
    """Refuse session ranges that would send nothing, or too much."""
    if first < 0 or last < 0:
        raise Refused(f"session numbers start at 0; got {first} {last}")
    if first > last:
        raise Refused(
            f"FIRST ({first}) is greater than LAST ({last}), so there is nothing to send: "
            f"type the lower number first, `peerlab access {last} {first}`"
        )
    if last - first + 1 > MAX_ACCESS_SESSIONS:
        raise Refused(
            f"{last - first + 1} sessions asked for; peerlab access sends at most "
            f"{MAX_ACCESS_SESSIONS} per call: split the range"
        )


def cmd_access(args: argparse.Namespace, output: Output) -> int:
    check_range(args.first, args.last)
    if args.url:
        url, cookie = args.url, args.cookie or SESSION_COOKIE
    else:
        lb = pick(lbs_from(args), args.lb)
        url, cookie = lb.url, args.cookie or lb.names.cookie
    answers = []
    for number in range(args.first, args.last + 1):
        try:
            answer = backend_for(url, number, cookie)
        except requests.RequestException as error:
            # The exception's class says enough (ConnectionError, ReadTimeout);
            # its text is a page of urllib3 internals.
            answer = f"error: {type(error).__name__} from {url}"
        answers.append(
            {"session": number, "cookie": cookie_header(number, cookie), "answer": answer}
        )
        if not output.as_json:
            output.out.print(f"{number:05d} - {answer}", markup=False, soft_wrap=True)
    if output.as_json:
        output.json({"url": url, "sessions": answers})
    return EXIT_FAILED if any(a["answer"].startswith("error:") for a in answers) else EXIT_OK


def cmd_demo(args: argparse.Namespace, output: Output) -> int:
    lbs = lbs_from(args)
    if len(lbs) < 2:
        raise Refused(f"the narrative needs two load balancers; the inventory has {len(lbs)}")
    try:
        with output.progress("checking that the lab is fresh") as progress:
            ensure_fresh(lbs, args.reset, progress, args.timeout)
    except LabNotUp as error:
        raise Refused(f"the lab is not up: {error}. Bring it up with `make lab`.") from error
    except LabNotFresh as error:
        raise Refused(
            "the lab is not fresh, so the narrative's answers would not be determined:\n  "
            + "\n  ".join(error.problems)
            + "\nRun `peerlab demo --reset` (stops HAProxy on every load balancer, then "
            "starts it: empty tables, round robin at the first server)."
        ) from error
    if output.as_json or not output.out.is_terminal:
        with output.progress("running the narrative") as progress:
            result = run_narrative(lbs, args.reset, progress, timeout=args.timeout)
        if not output.as_json:
            steps = render.step_table()
            for step in result.steps:
                render.add_step(steps, step)
            output.out.print(steps)
    else:
        result = narrative_live(lbs, args, output.out)
    if output.as_json:
        output.json(result.to_dict())
    else:
        for step in result.steps:
            render.print_step_errors(output.out, step)
        render.print_demo_summary(output.out, result)
    return EXIT_OK if result.match else EXIT_FAILED


def narrative_live(
    lbs: Sequence[LoadBalancer], args: argparse.Namespace, console: Console
) -> DemoReport:
    """Run the narrative on a terminal: each step's row appears as soon as it is done,
    under it a spinner saying what is going on."""
    steps = render.step_table()
    spinner = Spinner("dots", text="running the narrative")
    with Live(Group(steps, spinner), console=console, refresh_per_second=8) as live:
        result = run_narrative(
            lbs,
            args.reset,
            progress=lambda text: spinner.update(text=text),
            on_step=lambda step: render.add_step(steps, step),
            timeout=args.timeout,
        )
        live.update(steps, refresh=True)
    return result


def cmd_tables(args: argparse.Namespace, output: Output) -> int:
    if args.interval is not None and not args.watch:
        raise Refused("--interval sets how often --watch refreshes: add --watch, or drop it")
    lbs = lbs_from(args)
    try:
        if args.watch:
            return watch_tables(lbs, output, args.interval or WATCH_INTERVAL_S, args.table)
        with output.progress("reading the stick tables"):
            snapshots = [snapshot(lb, args.table) for lb in lbs]
    except NoSuchTable as error:
        raise Refused(f"{error}: name one of those with --table") from error
    if output.as_json:
        output.json(report(snapshots))
    else:
        render.print_tables(output.out, snapshots, side_by_side([s.table for s in snapshots]))
    return EXIT_OK


WATCH_INTERVAL_S = 2.0


def watch_tables(
    lbs: Sequence[LoadBalancer], output: Output, interval: float, table: str | None = None
) -> int:
    """Read every table again every ``interval`` seconds until Ctrl-C, which ends it with 0.

    On a terminal one view refreshed in place, keys that arrived since the last
    refresh marked "new"; otherwise (a pipe, a log) each refresh printed after the
    last, and with --json one JSON document per line, its "new" the arrived keys.
    """
    seen: set[str] | None = None
    live = Live(console=output.out, auto_refresh=False) if output.out.is_terminal else None
    try:
        if live:
            live.start()
        while True:
            snapshots = [snapshot(lb, table) for lb in lbs]
            rows = side_by_side([s.table for s in snapshots])
            keys = {row.key for row in rows}
            new = sorted(keys - seen) if seen is not None else []
            seen = keys
            stamp = time.strftime("%H:%M:%S")
            if output.as_json:
                print(json.dumps({"time": stamp, "new": new, **report(snapshots)}), flush=True)
            else:
                view = render.watch_view(
                    snapshots, rows, new, f"{stamp}, every {interval:g} s; Ctrl-C to stop"
                )
                if live:
                    live.update(view, refresh=True)
                else:
                    output.out.print(view)
                    output.out.file.flush()
            time.sleep(interval)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        if live:
            live.stop()


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds above zero."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return seconds


def cmd_wait_synced(args: argparse.Namespace, output: Output) -> int:
    lbs = lbs_from(args)
    started = time.monotonic()
    try:
        with output.progress("waiting until every load balancer is connected and settled"):
            wait_all_synced(lbs, timeout=args.timeout)
    except (SyncTimeout, RemoteCommandError) as error:
        message = str(error)
        if output.as_json:
            output.json({"synced": False, "error": message})
        else:
            output.err.print(
                f"peerlab: not synced: {message}", style="red", markup=False, soft_wrap=True
            )
        return EXIT_FAILED
    elapsed = round(time.monotonic() - started, 1)
    if output.as_json:
        output.json({"synced": True, "seconds": elapsed})
    else:
        names = ", ".join(lb.name for lb in lbs)
        output.out.print(f"Synced: {names} connected, resync done ({elapsed} s).")
    return EXIT_OK


def cmd_status(args: argparse.Namespace, output: Output) -> int:
    lbs = lbs_from(args)
    with output.progress("reading every load balancer's state"):
        statuses = pair_status([snapshot(lb) for lb in lbs])
    healthy = all(not status.problems for status in statuses)
    if output.as_json:
        output.json({"healthy": healthy, "load_balancers": [s.to_dict() for s in statuses]})
    else:
        render.print_status(output.out, statuses)
    return EXIT_OK if healthy else EXIT_FAILED


def cmd_fault(args: argparse.Namespace, output: Output) -> int:
    lbs = lbs_from(args)
    started = time.monotonic()
    try:
        result = FAULTS[args.fault](args, lbs, output)
    except (FaultError, SyncTimeout, LoadError) as error:
        if output.as_json:
            output.json({"fault": args.fault, "error": str(error)})
        output.err.print(f"peerlab: {error}", style="red", markup=False, soft_wrap=True)
        return EXIT_FAILED
    result = {"fault": args.fault, "seconds": round(time.monotonic() - started, 1), **result}
    # A storm the clients noticed: requests failed or sessions changed server.
    noticed = result.get("failed", 0) or result.get("moved", 0)
    if output.as_json:
        output.json(result)
    else:
        output.out.print(" ".join(f"{key}={value}" for key, value in result.items()), markup=False)
    return EXIT_FAILED if noticed else EXIT_OK


def fault_partition(args, lbs, output) -> dict:
    first, second = pick(lbs, 1), pick(lbs, 2)
    if not (first.address and second.address):
        raise Refused("the inventory gives no private address of the load balancers")
    with (
        output.progress(f"partition between {first.name} and {second.name}"),
        faults.partition(first.address, second.address),
    ):
        # The fault's duration, as asked: nothing to wait for.
        time.sleep(args.seconds)
    healed = time.monotonic()
    with output.progress("healed: waiting until both are connected and settled"):
        wait_all_synced(lbs, timeout=args.timeout)
    return {"partitioned_s": args.seconds, "resynced_after_s": round(time.monotonic() - healed, 1)}


def fault_kill(args, lbs, output) -> dict:
    lb = pick(lbs, args.lb)
    master = show_proc(lb.run).master_pid
    killed = faults.kill_haproxy(lb, args.process)
    others = [other.name for other in lbs if other is not lb]
    with output.progress(f"killed {args.process} {killed}: waiting for systemd to restart it"):
        took = faults.wait_restarted(lb, master, others, args.timeout)
    return {"lb": lb.name, "killed": killed, "back_after_s": round(took, 1)}


def fault_reload_storm(args, lbs, output) -> dict:
    lb = pick(lbs, args.lb)
    others = [other.name for other in lbs if other is not lb]
    sessions = range(args.first, args.first + args.sessions)
    with output.progress(f"{args.count} reloads of {lb.name} under load"):
        lb.backends_for(sessions)
        for other in lbs:
            if other is not lb:
                wait_replicated(other, list(sessions))
        urls = [each.url for each in lbs]
        # Each reload waits up to the timeout: the load covers all of them.
        bound_s = args.timeout * (args.count + 1)
        with SessionLoad(urls, sessions, lb.names.cookie, max_seconds=bound_s) as load:
            took = faults.reload_storm(lb, args.count, others, args.timeout)
    report = load.report
    return {
        "lb": lb.name,
        "reloads": len(took),
        "slowest_s": round(max(took), 1),
        "requests": report.requests,
        "failed": len(report.errors),
        "moved": len(report.moved),
    }


def fault_backend_down(args, lbs, output) -> dict:
    servers = {row.name: row for row in show_servers(lbs[0].run, lbs[0].names.table)}
    if args.server not in servers:
        raise Refused(f"no server {args.server!r}; the backend has {', '.join(servers)}")
    address, _, port = servers[args.server].address.rpartition(":")
    try:
        web = runner_for_address(args.inventory, address, args.channel, args.ssh_key)
    except InventoryError as error:
        raise Refused(str(error)) from error
    with output.progress(f"{args.server} down for {args.seconds:g} s"):
        with faults.backend_down(web, int(port)):
            faults.wait_server_status(lbs, args.server, "DOWN", args.timeout)
            # The fault's duration, as asked: nothing to wait for.
            time.sleep(args.seconds)
        faults.wait_server_status(lbs, args.server, "UP", args.timeout)
    return {"server": args.server, "down_s": args.seconds}


def fault_heal(args, lbs, output) -> dict:
    return {"rules_removed": faults.heal()}


def cmd_failover(args: argparse.Namespace, output: Output) -> int:
    lbs = lbs_from(args)
    try:
        floating = read_floating_address(args.inventory, args.group)
    except InventoryError as error:
        raise Refused(str(error)) from error
    if args.sessions < 1 or args.sessions > MAX_ACCESS_SESSIONS:
        raise Refused(f"--sessions {args.sessions}: give 1 to {MAX_ACCESS_SESSIONS}")
    sessions = range(args.first, args.first + args.sessions)
    try:
        with output.progress(f"failover of {floating.address}") as progress:
            result = failover.failover(
                lbs,
                floating.address,
                floating.url,
                sessions,
                preempt=floating.preempt,
                timeout=args.timeout,
                progress=progress,
            )
    except (FaultError, SyncTimeout, LoadError) as error:
        if output.as_json:
            output.json({"failover": floating.address, "error": str(error)})
        output.err.print(f"peerlab: {error}", style="red", markup=False, soft_wrap=True)
        return EXIT_FAILED
    document = {"url": floating.url, **result.to_dict()}
    if output.as_json:
        output.json(document)
    else:
        render.print_failover(output.out, document)
    return EXIT_FAILED if result.moved else EXIT_OK


FAULTS = {
    "partition": fault_partition,
    "kill": fault_kill,
    "reload-storm": fault_reload_storm,
    "backend-down": fault_backend_down,
    "heal": fault_heal,
}


def cmd_bench(args: argparse.Namespace, output: Output) -> int:
    if args.compare:
        try:
            table = bench_command.compare(args.compare)
        except bench_command.BenchRefused as error:
            raise Refused(str(error)) from error
        if output.as_json:
            output.json({"markdown": table})
        else:
            print(table, end="")
        return EXIT_OK
    try:
        folder, document = bench_command.run(args, output.err)
    except bench_command.BenchRefused as error:
        raise Refused(str(error)) from error
    except (AgentError, MembersError, ThroughputError, SyncTimeout) as error:
        if output.as_json:
            output.json({"error": str(error)})
        output.err.print(f"peerlab bench: {error}", style="red", markup=False, soft_wrap=True)
        return EXIT_FAILED
    figures = bench_command.finish(folder, document)
    if output.as_json:
        output.json({"folder": str(folder), **figures})
    else:
        bench_command.print_summary(output.out, folder, document)
    return EXIT_OK


# --- arguments ----------------------------------------------------------------


def lbs_from(args: argparse.Namespace) -> list[LoadBalancer]:
    try:
        return load_balancers(args.inventory, args.channel, args.group, args.ssh_key)
    except InventoryError as error:
        raise Refused(str(error)) from error


def pick(lbs: Sequence[LoadBalancer], number: int) -> LoadBalancer:
    if not 1 <= number <= len(lbs):
        raise Refused(f"--lb {number}: the inventory has load balancers 1 to {len(lbs)}")
    return lbs[number - 1]


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where the load balancers are")
    where.add_argument(
        "--inventory",
        type=Path,
        default=None,
        help="Ansible inventory naming the load balancers (default: $PEERLAB_INVENTORY, "
        "else the lab's inventory/lab/hosts.yml)",
    )
    where.add_argument(
        "--group", default=LB_GROUP, help=f"inventory group of the load balancers ({LB_GROUP})"
    )
    where.add_argument(
        "--channel", choices=CHANNELS, default="ssh", help=f"{CHANNEL_HELP} (default: ssh)"
    )
    where.add_argument(
        "--ssh-key", type=Path, default=None, help="key for --channel ssh (Vagrant's insecure key)"
    )
    common.add_argument("--json", action="store_true", help="print one JSON document")

    top = argparse.ArgumentParser(
        prog="peerlab",
        description="Drive and inspect a pair of HAProxy load balancers that replicate "
        "sticky sessions through the peers protocol.",
        epilog="Exit status: 0 as expected; 1 the lab answered, but not as expected; "
        "2 nothing was checked (bad arguments, lab not up or not fresh).",
    )
    top.add_argument("--version", action="version", version=f"peerlab {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="command")

    def command(name: str, run: Callable, **texts: str) -> argparse.ArgumentParser:
        """A subcommand with the common options, run by ``run(args, output)``."""
        sub = commands.add_parser(name, parents=[common], **texts)
        sub.set_defaults(run=run)
        return sub

    access = command(
        "access",
        cmd_access,
        help="send sessions FIRST..LAST through a load balancer, print who answered",
        description="Send one request per session number FIRST..LAST, with the session "
        "cookie (JSESSIONID unless the inventory names another) set to md5('_N') (plus "
        "c1=1; c2=2), and print '00021 - Backend 6' per session, like the original "
        "demo's access-1.sh / access-2.sh.",
    )
    access.add_argument("--lb", type=int, default=1, help="load balancer 1 or 2 (default 1)")
    access.add_argument("--url", help="send to this URL instead (a real deployment)")
    access.add_argument(
        "--cookie",
        help="name of the session cookie (default: the inventory's haproxy_peers_stick_cookie, "
        f"else {SESSION_COOKIE})",
    )
    access.add_argument("first", type=int, help="first session number")
    access.add_argument("last", type=int, help="last session number")

    demo = command(
        "demo",
        cmd_demo,
        help="run the original demo's narrative and compare every answer",
        description="Run the narrative on a fresh lab: sessions through LB1 and LB2, "
        "replication between them, then stop LB2 and reload LB1 and check that every "
        "session keeps its backend. Prints expected and actual backends per step, then "
        "starts LB2 again and checks that it relearned the whole table. Refuses to run on "
        "a lab that is not fresh (entries in a table, round robin moved, HAProxy stopped).",
    )
    demo.add_argument(
        "--reset",
        action="store_true",
        help="make the lab fresh first: stop HAProxy everywhere, then start it",
    )
    demo.add_argument(
        "--timeout",
        type=float,
        default=SETTLE_TIMEOUT_S,
        help=f"seconds to wait for each resync (default {SETTLE_TIMEOUT_S:g})",
    )

    tables = command(
        "tables",
        cmd_tables,
        help="the stick tables of every load balancer side by side, and their peers",
        description="Read 'show table', 'show peers' and 'show proc' on every load "
        "balancer through the runtime API (over --channel) and print the tables side "
        "by side: key, session number, server and expiry per load balancer, entries "
        "that differ highlighted; then each one's processes and peer connections. "
        "With --watch, read them again and again until Ctrl-C: on a terminal one view "
        "refreshed in place, entries that arrived since the last refresh marked 'new'. "
        "Every stick table (each service's, each rate limit's) is listed with its "
        "entries per load balancer; --table shows another one side by side.",
    )
    tables.add_argument(
        "--table",
        default=None,
        metavar="NAME",
        help="the table to show side by side (default: the session table; a rate limit's "
        "is <peers section>/rl-<service>)",
    )
    tables.add_argument(
        "--watch",
        action="store_true",
        help="refresh until Ctrl-C (with --json: one JSON document per line and refresh)",
    )
    tables.add_argument(
        "--interval",
        type=positive_seconds,
        default=None,
        help=f"seconds between two refreshes of --watch (default {WATCH_INTERVAL_S:g})",
    )

    wait = command(
        "wait-synced",
        cmd_wait_synced,
        help="wait until every load balancer's peers are connected and resynced",
        description="Return once every load balancer runs one worker, has finished its "
        "resync and has every other load balancer connected as a peer; exit 1 after "
        "--timeout seconds, naming what was last seen.",
    )
    wait.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")

    command(
        "status",
        cmd_status,
        help="per load balancer: HAProxy version, processes, reloads, peer links, table",
        description="Read every load balancer's master CLI and runtime API and print its "
        "HAProxy version, master and worker PIDs with their uptimes, reloads (and how many "
        "HAProxy refused), the peer links, whether the resync finished, and the table size; "
        "then what is wrong. Exit 1 when a member does not answer, a peer link is down, a "
        "resync has not finished or a member lacks entries the others hold.",
    )

    fault = command(
        "fault",
        cmd_fault,
        help="inject one fault into the lab; it is undone by itself at the end",
        description="partition: drop every packet between LB 1 and LB 2 for --seconds "
        "(iptables, DOCKER-USER chain: the docker lab, as root), then heal and time the "
        "resync. kill: kill -9 the master or worker of --lb; systemd starts it again. "
        "reload-storm: --count reloads of --lb, each once the previous settled, while "
        "--sessions sessions are sent through every load balancer; exit 1 when a request "
        "failed or a session changed server. "
        "backend-down: stop the Apache vhost of --server for --seconds. heal: remove "
        "partition rules a killed run left. Exit 1 when the lab does not settle in time.",
    )
    fault.add_argument("fault", choices=sorted(FAULTS), help="which fault")
    fault.add_argument("--lb", type=int, default=1, help="load balancer 1 or 2 (default 1)")
    fault.add_argument("--seconds", type=float, default=20.0, help="fault duration (20)")
    fault.add_argument(
        "--process", choices=("master", "worker"), default="worker", help="what kill kills"
    )
    fault.add_argument("--count", type=int, default=20, help="reloads of reload-storm (20)")
    fault.add_argument(
        "--sessions", type=int, default=20, help="sessions sent during reload-storm (20)"
    )
    fault.add_argument(
        "--first", type=int, default=90_000, help="first session number of reload-storm"
    )
    fault.add_argument("--server", default="be1", help="server of backend-down (be1)")
    fault.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to settle afterwards (120)"
    )
    bench = command(
        "bench",
        cmd_bench,
        help="measure replication latency, resync, reloads under load, peers' cost, members",
        description="Run the benchmark against the docker lab (make lab): replication "
        "latency of new sessions, resync time and memory by table size, reloads under "
        "sticky load, throughput with peers on and off, and 2, 3 and 5 members, each with "
        "TLS peers and plain. Writes results.json, report.md and PNG plots to "
        "bench/results/<date>-<release>/ and prints the summary. Reconfigures the lab while "
        "it runs and leaves it as make lab did (TLS peers, two members, empty tables).",
    )
    bench_command.add_arguments(bench)

    fail = command(
        "failover",
        cmd_failover,
        help="move the floating address under sticky load; what the clients saw",
        description="With --sessions sessions sent again and again to the load balancers' "
        "floating address (keepalived_vip_address of the inventory; through the lab's relay "
        "on localhost where it forwards one), stop HAProxy on the member holding the address, "
        "wait until another member holds it and answers, then start HAProxy again and, where "
        "the members preempt, wait until the address is back. Prints how long the clients saw "
        "failed requests (first to last failure, around the move and around the way back), "
        "how many failed, how many sessions were answered by another backend than before, "
        "and how long the address took to move and to come back. Exit 1 when a session "
        "changed backend or the address did not move in time.",
    )
    fail.add_argument("--sessions", type=int, default=20, help="sessions sent (20)")
    fail.add_argument("--first", type=int, default=95_000, help="first session number (95000)")
    fail.add_argument("--timeout", type=float, default=120.0, help="seconds for each wait (120)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.inventory = args.inventory or default_inventory()
    output = Output(args.json)
    try:
        return args.run(args, output)
    except Refused as error:
        if args.json:
            output.json({"error": str(error)})
        output.err.print(f"peerlab: {error}", style="red", markup=False, soft_wrap=True)
        return EXIT_REFUSED
    except RemoteCommandError as error:
        output.err.print(f"peerlab: {error}", style="red", markup=False, soft_wrap=True)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
