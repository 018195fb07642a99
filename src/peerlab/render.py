"""Human output of the peerlab commands: rich tables on the terminal."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rich.console import Console, Group
from rich.table import Table as RichTable
from rich.text import Text

from peerlab.demo import DemoReport, StepResult
from peerlab.status import MemberStatus
from peerlab.tables import Row, Snapshot, identical

OK = Text("ok", style="green")
# How HAProxy names a peer session's transport (shown for sessions a process
# accepted), as the peers view says it.
TRANSPORTS = {"SSL": " (TLS)", "RAW": " (plain)"}
MISMATCH = Text("MISMATCH", style="bold red")


def _backends(answers: Sequence[str], against: Sequence[str] | None = None) -> Text:
    """'Backend 6' answers as '6 7 1', each one red where it differs from ``against``."""
    text = Text()
    for index, answer in enumerate(answers):
        short = answer.removeprefix("Backend ")
        differs = against is not None and answer != against[index]
        text.append(short, style="bold red" if differs else "")
        text.append(" ")
    return text


def step_table() -> RichTable:
    table = RichTable(title="The narrative, expected and actual backends")
    for column in ("step", "via", "before", "sessions", "expected", "actual", ""):
        table.add_column(column)
    return table


def add_step(table: RichTable, result: StepResult) -> None:
    expected = [s.expected for s in result.sessions]
    actual = [s.actual for s in result.sessions]
    sessions = result.sessions
    table.add_row(
        str(result.number),
        result.load_balancer,
        result.before or "-",
        f"{sessions[0].session}-{sessions[-1].session}",
        _backends(expected),
        _backends(actual, against=expected),
        OK if result.match else MISMATCH,
    )


def print_step_errors(console: Console, result: StepResult) -> None:
    for session in result.sessions:
        if not session.match:
            console.print(
                f"  step {result.number}, session {session.session:05d}: expected "
                f"{session.expected!r}, got {session.actual!r}",
                style="red",
            )


def print_demo_summary(console: Console, report: DemoReport) -> None:
    epilogue = report.epilogue
    if epilogue is not None:
        counts = ", ".join(f"{name} {count}" for name, count in epilogue.entries.items())
        verdict = OK if epilogue.match else MISMATCH
        console.print(
            Text.assemble(
                "After: HAProxy started again everywhere; table entries: ",
                counts,
                f"; identical: {'yes' if epilogue.identical else 'no'}",
                f", every narrative session present: {'yes' if epilogue.complete else 'no'}  ",
                verdict,
            )
        )
    if report.match:
        console.print("Every step matched the narrative.", style="bold green")
    else:
        console.print("The lab did not behave as the narrative says.", style="bold red")


def _expiry(ms: int | None) -> str:
    return "-" if ms is None else f"{ms // 1000 // 60}m{ms // 1000 % 60:02d}s"


def tables_view(
    snapshots: Sequence[Snapshot], rows: Sequence[Row], new: Collection[str] = ()
) -> RichTable:
    table = RichTable(title="Stick tables, side by side")
    table.add_column("session", justify="right")
    table.add_column("key")
    for snap in snapshots:
        table.add_column(f"{snap.name} server")
        table.add_column("expires in")
    table.add_column("")
    for row in rows:
        style = "" if row.same else "bold red"
        cells: list[str | Text] = [
            "-" if row.session is None else f"{row.session:05d}",
            row.key,
        ]
        for entry in row.entries:
            cells.append(Text(entry.server_key or "?", style) if entry else Text("missing", style))
            cells.append(_expiry(entry.expires_ms) if entry else "")
        verdict = Text("same") if row.same else Text("DIFFERS", style=style)
        if row.key in new:
            verdict.append(" new", style="bold green")
        cells.append(verdict)
        table.add_row(*cells)
    return table


def peers_view(snapshots: Sequence[Snapshot]) -> RichTable:
    table = RichTable(title="Peers")
    for column in ("load balancer", "processes", "resync done", "remote peers", "entries"):
        table.add_column(column)
    for snap in snapshots:
        if snap.error:
            table.add_row(snap.name, Text(f"not readable: {snap.error}", style="red"), "", "", "")
            continue
        procs = snap.processes
        processes = (
            f"master {procs.master_pid}, reloads {procs.reloads}, worker "
            + " ".join(map(str, procs.workers))
            + (f", old {' '.join(map(str, procs.old_workers))}" if procs.old_workers else "")
            if procs
            else "-"
        )
        peers = snap.peers
        resync = (
            Text("yes", style="green") if peers and peers.resync_done else Text("no", style="red")
        )
        remotes = Text()
        for peer in peers.remotes if peers else ():
            state = "connected" if peer.connected else peer.last_status or "down"
            remotes.append(
                f"{peer.name} {state}{TRANSPORTS.get(peer.transport, '')} ",
                style="green" if peer.connected else "red",
            )
        table.add_row(
            snap.name, processes, resync, remotes, str(snap.table.used if snap.table else "-")
        )
    return table


def tables_summary(snapshots: Sequence[Snapshot], rows: Sequence[Row]) -> Text:
    if identical(rows, snapshots):
        return Text(f"Identical on every load balancer: {len(rows)} entries.", style="green")
    differing = sum(not row.same for row in rows)
    return Text(f"{differing} of {len(rows)} entries differ.", style="bold red")


def every_table_view(snapshots: Sequence[Snapshot]) -> RichTable:
    """Every stick table of the load balancers and the entries each holds."""
    view = RichTable(title="Every replicated table (entries)")
    view.add_column("table")
    view.add_column("type")
    for s in snapshots:
        view.add_column(s.name, justify="right")
    names = list(dict.fromkeys(t.name for s in snapshots for t in s.tables))
    for name in names:
        held = [{t.name: t for t in s.tables}.get(name) for s in snapshots]
        kind = next(t.type for t in held if t)
        counts = {t.used if t else None for t in held}
        style = "green" if len(counts) == 1 and None not in counts else "red"
        view.add_row(
            name, kind, *(Text(str(t.used), style=style) if t else Text("-") for t in held)
        )
    return view


def print_tables(console: Console, snapshots: Sequence[Snapshot], rows: Sequence[Row]) -> None:
    console.print(tables_view(snapshots, rows))
    console.print(peers_view(snapshots))
    console.print(every_table_view(snapshots))
    console.print(tables_summary(snapshots, rows))


def watch_view(
    snapshots: Sequence[Snapshot],
    rows: Sequence[Row],
    new: Collection[str],
    footer: str,
) -> Group:
    """``peerlab tables --watch``: one refresh, the keys that arrived since the last one marked."""
    return Group(
        tables_view(snapshots, rows, new),
        peers_view(snapshots),
        tables_summary(snapshots, rows),
        Text(footer, style="dim"),
    )


def print_status(console: Console, statuses: Sequence[MemberStatus]) -> None:
    """``peerlab status``: one row per load balancer, then its problems."""
    view = RichTable(title="Load balancers")
    for column in (
        "",
        "HAProxy",
        "master (up)",
        "workers (up)",
        "reloads",
        "peers",
        "resync",
        "entries",
        "every table (entries)",
    ):
        view.add_column(column)
    for status in statuses:
        data = status.to_dict()
        master = data["master"]
        view.add_row(
            Text(data["name"], style="green" if data["healthy"] else "red"),
            data["version"] or "-",
            f"{master['pid']} ({master['uptime']})" if master else "-",
            ", ".join(f"{w['pid']} ({w['uptime']})" for w in data["workers"]) or "-",
            "-"
            if data["reloads"] is None
            else f"{data['reloads']} ({data['failed_reloads']} refused)",
            ", ".join(
                f"{p['name']} {'up' if p['connected'] else 'DOWN ' + p['last_status']}"
                for p in data["peers"]
            )
            or "-",
            {True: "done", False: "NOT DONE", None: "-"}[data["resync_done"]],
            "-" if data["table_size"] is None else str(data["table_size"]),
            ", ".join(f"{name} {used}" for name, used in data["tables"].items()) or "-",
        )
    console.print(view)
    for status in statuses:
        for problem in status.problems:
            console.print(f"{status.name}: {problem}", style="red", markup=False, soft_wrap=True)
    if all(not status.problems for status in statuses):
        console.print("Healthy: every member answers, is connected and holds every entry.")


def print_failover(console: Console, figures: dict) -> None:
    """``peerlab failover``: the move, the way back, what the clients saw."""
    view = RichTable(title=f"Failover of {figures['address']} ({figures['url']})")
    for column in ("", "held by", "after (s)", "failed requests", "clients saw errors for (s)"):
        view.add_column(column)
    view.add_row(
        f"HAProxy stopped on {figures['holder']}",
        figures["took_over"],
        f"{figures['moved_after_s']:.2f}",
        str(figures["failed"]),
        f"{figures['error_window_s']:.2f}",
    )
    back = figures["back_after_s"]
    view.add_row(
        f"HAProxy started on {figures['holder']}",
        figures["holder"] if back is not None else f"{figures['took_over']} (no preemption)",
        "-" if back is None else f"{back:.2f}",
        str(figures["back_failed"]),
        f"{figures['back_error_window_s']:.2f}",
    )
    console.print(view)
    summary = (
        f"{figures['requests']} requests for {figures['sessions']} sessions; "
        f"{figures['moved']} sessions changed backend."
    )
    console.print(summary, style="red" if figures["moved"] else None, markup=False)
    for session, (before, after) in figures["moved_sessions"].items():
        console.print(f"  session {session}: {before} -> {after}", style="red", markup=False)
