"""report.md of a benchmark run, its summary rows, and the comparison of several runs.

The report is the run's readable record: it sits next to results.json and the
figures in the run's folder and links them relatively, so the folder can be
moved or committed as it is. Numbers are computed by peerlab.bench.measures
and judged by peerlab.bench.goals, the same functions the CLI's summary uses,
so the report, the terminal and docs/performance.md's comparison cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from peerlab.bench import goals, measures, projection
from peerlab.bench.results import (
    Document,
    duration_s,
    load,
    measured,
    run_label,
    transports,
)
from peerlab.bench.stats import Fit, Summary, percentile, summarize

REPORT_FILE = "report.md"
NOT_MEASURED = "not measured"
ROLE_NOTES = "roles/haproxy_peers/README.md"

# Sections in report order: key (as in plots.draw_all and goals), title.
SECTIONS = {
    "replication": "Replication latency",
    "resync": "Resync of a restarted member",
    "memory": "Worker memory",
    "reload": "Reload under load",
    "on_off": "Peers on and off",
    "members": "Number of members",
}


# --- summary rows ------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary table: one figure's quantity on one transport."""

    figure: str
    transport: str
    measured: str
    samples: int
    min: float | None
    median: float | None
    p99: float | None
    unit: str
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def cells(self) -> list[str]:
        """The row as text, in ``SUMMARY_COLUMNS`` order."""
        return [
            self.figure,
            self.transport,
            self.measured,
            f"{self.samples:,}",
            number(self.min),
            number(self.median),
            number(self.p99),
            self.unit,
            self.note,
        ]


SUMMARY_COLUMNS = (
    "figure",
    "transport",
    "measured",
    "samples",
    "min",
    "median",
    "p99",
    "unit",
    "note",
)


def number(value: float | None) -> str:
    """A figure with as many digits as its size deserves; '-' for none."""
    if value is None:
        return "-"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _row(
    figure: str, transport: str, what: str, summary: Summary, unit: str, note: str = ""
) -> SummaryRow:
    return SummaryRow(
        figure,
        transport,
        what,
        summary.count,
        summary.min,
        summary.median,
        summary.p99,
        unit,
        note,
    )


def summary_rows(document: Document) -> list[SummaryRow]:
    """The summary table: per figure and transport, what was measured, samples,
    min / median / p99 and unit. Measurements not run give no row."""
    rows: list[SummaryRow] = []
    for transport in transports(document):
        rows += _replication_rows(document, transport)
        rows += _resync_rows(document, transport)
        rows += _memory_rows(document, transport)
        rows += _reload_rows(document, transport)
        rows += _on_off_rows(document, transport)
        rows += _members_rows(document, transport)
    order = list(SECTIONS.values())
    return sorted(rows, key=lambda row: order.index(row.figure))


def _replication_rows(document: Document, transport: str) -> list[SummaryRow]:
    samples = measures.replication_samples(document, transport)
    if not samples:
        return []
    missed = measures.replication_missed(document, transport)
    after_response = measures.replication_samples(
        document, transport, measures.OTHER_REPLICATION_KEY
    )
    note = f"{missed} missed" + (
        f"; from the response: median {number(percentile(after_response, 50))} ms"
        if after_response
        else ""
    )
    rows = [
        _row(
            SECTIONS["replication"],
            transport,
            "new session in the other table, from its request (runs pooled)",
            summarize(samples),
            "ms",
            note,
        )
    ]
    medians = [percentile(run, 50) for run in measures.replication_runs(document, transport) if run]
    if medians:
        rows.append(
            _row(
                SECTIONS["replication"],
                transport,
                "median of each run",
                summarize(medians),
                "ms",
                f"{len(medians)} runs",
            )
        )
    return rows


def _resync_rows(document: Document, transport: str) -> list[SummaryRow]:
    rows = []
    fit = measures.resync_fit(document, transport)
    for entries, summary in measures.resync_by_size(document, transport).items():
        reference = goals.REFERENCE_RESYNC_S.get(entries)
        note = f"{summary.median / reference:.2f} x the hand probe" if reference else ""
        rows.append(_row(SECTIONS["resync"], transport, f"{entries:,} entries", summary, "s", note))
    if rows and fit:
        rows[-1] = _with_note(rows[-1], _resync_equation(fit))
    return rows


def _resync_equation(fit: Fit) -> str:
    return (
        f"fit: {fit.slope * 1e6:.3f} s per million entries + {fit.intercept:.3f} s, "
        f"r² {fit.r_squared:.4f}"
    )


def _with_note(row: SummaryRow, note: str) -> SummaryRow:
    joined = f"{row.note}; {note}" if row.note else note
    return SummaryRow(**{**row.to_dict(), "note": joined})


def _memory_rows(document: Document, transport: str) -> list[SummaryRow]:
    entries, mib = measures.memory_points(document, transport)
    if not entries:
        return []
    fit = measures.memory_fit(document, transport)
    note = (
        f"fit: {fit.slope * measures.ENTRIES_UNIT:.1f} MiB per 100k entries "
        f"+ {fit.intercept:.1f} MiB, r² {fit.r_squared:.4f}"
        if fit
        else "one table size: no fit"
    )
    what = f"worker RSS, {min(entries):,.0f} to {max(entries):,.0f} entries"
    return [_row(SECTIONS["memory"], transport, what, summarize(mib), "MiB", note)]


def reload_label(run: dict) -> str:
    """How a reload run was configured: its balance, and the hold where it was off."""
    return f"balance {run['balance']}" + ("" if measures.with_hold(run) else ", no hold")


def _reload_rows(document: Document, transport: str) -> list[SummaryRow]:
    rows = []
    for run in measured(document, transport, "reload_under_load") or []:
        latencies = measures.reload_latencies(run)
        if not latencies:
            continue
        note = (
            f"{len(run['reloads'])} reloads at {measures.reload_rate(run):.0f} req/s, "
            f"{run['failed']} failed, {run['moved_sessions']} sessions moved"
        )
        if "retried" in run:
            note += f", {run['retried']} retried on a new connection"
        what = f"request latency during reloads, {reload_label(run)}"
        rows.append(_row(SECTIONS["reload"], transport, what, summarize(latencies), "ms", note))
        held = measures.held_waits(run)
        if held:
            outcomes = ", ".join(f"{n} {how}" for how, n in measures.held_outcomes(run).items())
            what = f"requests held by the new worker, {reload_label(run)}"
            note = f"{len(held)} of {len(run['requests']['ok'])} requests held ({outcomes})"
            rows.append(_row(SECTIONS["reload"], transport, what, summarize(held), "ms", note))
        unknown = measures.unknown_waits(run)
        if unknown and measures.with_hold(run):
            what = f"a session no member knows, right after each reload, {reload_label(run)}"
            note = "sent once the reload settled (the hold ended): what such a client waits"
            rows.append(_row(SECTIONS["reload"], transport, what, summarize(unknown), "ms", note))
    return rows


def _on_off_rows(document: Document, transport: str) -> list[SummaryRow]:
    rates = measures.throughput_rounds(document, transport)
    p99s = measures.p99_rounds(document, transport)
    ratio = measures.throughput_ratio(document, transport)
    rows = []
    for peers in (True, False):
        if not rates[peers]:
            continue
        note = f"p99 per round: median {number(percentile(p99s[peers], 50))} ms"
        errors = measures.throughput_errors(document, transport, peers)
        if errors is not None:
            note += f"; {errors} failed requests in all rounds"
        if peers and ratio is not None:
            note += f"; on/off ratio {ratio:.3f}"
        what = f"throughput per round, peers {'on' if peers else 'off'}"
        rows.append(
            _row(SECTIONS["on_off"], transport, what, summarize(rates[peers]), "req/s", note)
        )
    return rows


def _members_rows(document: Document, transport: str) -> list[SummaryRow]:
    rows = []
    for point in measures.members_points(document, transport):
        if point.replication is None:
            continue
        note = (
            f"resync of {point.entries:,} entries: median {number(point.resync.median)} s"
            if point.resync
            else "resync not measured"
        )
        what = f"replication latency, {point.members} members"
        rows.append(_row(SECTIONS["members"], transport, what, point.replication, "ms", note))
    return rows


# --- markdown helpers --------------------------------------------------------------------


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _status(status: str) -> str:
    return {goals.MET: "**met**", goals.NOT_MET: "**NOT MET**"}.get(status, status)


def _verdict_lines(verdicts: Sequence[goals.Verdict]) -> list[str]:
    if not verdicts:
        return []
    return [
        "",
        "Goals:",
        "",
        *_table(
            ("goal", "transport", "verdict", "numbers"),
            ((v.goal, v.transport or "-", _status(v.status), v.detail) for v in verdicts),
        ),
    ]


def _comparison_lines(found: Sequence[goals.Comparison]) -> list[str]:
    if not found:
        return []
    return [
        "",
        "Against the hand probes (HAProxy 3.0 in containers):",
        "",
        *_table(
            ("figure", "transport", "hand probe", "this run"),
            ((c.figure, c.transport or "-", c.reference, c.measured) for c in found),
        ),
    ]


def _images(paths: Sequence[Path]) -> list[str]:
    return [line for path in paths for line in ("", f"![{path.stem}]({path.name})")]


# --- report.md --------------------------------------------------------------------------


def _header(document: Document) -> list[str]:
    machine = document["machine"]
    started = datetime.fromisoformat(document["started"])
    minutes, seconds = divmod(round(duration_s(document)), 60)
    limits = document.get("limits") or {}
    lines = [
        f"# Benchmark: {run_label(document)}",
        "",
        *_table(
            ("", ""),
            [
                ("date", started.strftime("%Y-%m-%d %H:%M %Z").strip()),
                ("release", document["release"]),
                ("HAProxy", document["haproxy_version"]),
                (
                    "machine",
                    f"{machine['cpus']} CPUs ({machine['cpu_model']}), "
                    f"{machine['memory_gib']:g} GiB, kernel {machine['kernel']}, "
                    f"{machine['provider']}",
                ),
                ("duration", f"{minutes} min {seconds:02d} s"),
                ("transports", ", ".join(transports(document)) or NOT_MEASURED),
            ],
        ),
    ]
    if limits:
        lines += ["", "Limits of the run: " + ", ".join(f"{k} {v}" for k, v in limits.items())]
    return lines


def _summary(document: Document) -> list[str]:
    rows = summary_rows(document)
    lines = ["", "## Summary", ""]
    if not rows:
        return [*lines, "Nothing was measured."]
    return lines + _table(SUMMARY_COLUMNS, (row.cells() for row in rows))


def _goals(verdicts: Sequence[goals.Verdict]) -> list[str]:
    met = sum(v.status == goals.MET for v in verdicts)
    judged = sum(v.status != goals.NOT_MEASURED for v in verdicts)
    return [
        "",
        "## Goals",
        "",
        f"{met} of {judged} judged goals met ({len(verdicts) - judged} not measured). "
        f"Resync counts as linear in the table size at r² >= {goals.LINEAR_R_SQUARED:g} "
        f"over at least {goals.LINEAR_MIN_SIZES} sizes; a replication probe never seen on "
        "the other member counts as infinitely slow.",
        "",
        *_table(
            ("goal", "transport", "verdict", "numbers"),
            ((v.goal, v.transport or "-", _status(v.status), v.detail) for v in verdicts),
        ),
    ]


def _section_text(document: Document, key: str) -> list[str]:
    """What a section says besides its figures, tables and verdicts."""
    if key == "replication":
        return [
            "Time from the request that created a session on one member until the other "
            "member's table holds it, probed session by session by an agent on the other "
            "member polling its table every 0.1 ms (both clocks are the host's "
            "CLOCK_MONOTONIC). It includes the request's own trip through the first member "
            "to the backend, where HAProxy stores the entry on the server's answer; the "
            "note gives the time from the response as well. The dotted lines are the median "
            "round trip between the host and the other member, the floor under any latency."
        ]
    if key == "resync":
        return [
            "A member is restarted while the other holds the table; the time runs until the "
            "restarted member holds every entry again (restart included). The line is a "
            "least-squares fit over every restart: its intercept is the fixed cost of the "
            "restart, its slope the cost per entry."
        ]
    if key == "memory":
        return ["Resident memory of the worker process against the entries in its table."]
    if key == "reload":
        return [
            "LB1 is reloaded again and again, each reload once the previous one settled, "
            "while a paced load of sticky sessions (each sent once before, so its server is "
            "known) goes through it on kept-alive connections; a request on a connection the "
            "old worker closed is retried once on a new one, as browsers do, and counted "
            "apart. A request 'moved' was answered by another server than that session's "
            "first answer. A new worker serves before it has learnt the table from the old "
            "one; the role's handover hold makes a request whose session it does not hold yet "
            "wait for the entry (HAProxy's header says how long, and how the hold ended: the "
            "entry was learnt, the handover ended, or the bound passed). The run without the "
            "hold is the control: with `roundrobin` such a request is balanced anew and the "
            f"session moves ({ROLE_NOTES}, 'Operating notes'). After each reload, once it "
            "settled, one request as a session no member knows measures what the hold costs "
            "such a client then."
        ]
    if key == "on_off":
        return [
            "wrk sends as many requests as LB1 takes, every request a new session (the worst "
            "case for replication: each one an update to send), in alternating rounds with "
            "the peers section configured and without it (the section and the table's "
            "`peers` argument removed, nothing else), so drifts of the machine hit both "
            "sides alike. On two cores wrk, both HAProxy and Apache share the CPUs."
        ]
    return ["Replication latency and resync time with 2, 3 and 5 members in the peers section."]


def _section_tables(document: Document, key: str) -> list[str]:
    if key == "resync":
        rows = [
            (t, f"{entries:,}", f"{s.count}", number(s.min), number(s.median), number(s.max))
            for t in transports(document)
            for entries, s in measures.resync_by_size(document, t).items()
        ]
        return (
            ["", *_table(("transport", "entries", "restarts", "min s", "median s", "max s"), rows)]
            if rows
            else []
        )
    if key == "reload":
        rows = []
        for t in transports(document):
            for run in measured(document, t, "reload_under_load") or []:
                took = [reload["took_s"] for reload in run["reloads"]]
                held, unknown = measures.held_waits(run), measures.unknown_waits(run)
                rows.append(
                    (
                        t,
                        run["balance"],
                        "on" if measures.with_hold(run) else "off",
                        f"{len(took)}",
                        f"{number(percentile(took, 50))} / {number(max(took))}" if took else "-",
                        f"{measures.reload_rate(run):.0f} (target {run['target_rps']:g})",
                        f"{run['failed']}",
                        f"{run['moved_sessions']} of {run['sessions']}",
                        f"{run['entries_before']:,} -> {run['entries_after']:,}",
                        f"{len(held)}"
                        + (
                            f" ({number(percentile(held, 50))} / {number(percentile(held, 99))})"
                            if held
                            else ""
                        ),
                        f"{number(percentile(unknown, 50))} / {number(max(unknown))}"
                        if unknown
                        else "-",
                    )
                )
        header = (
            "transport",
            "balance",
            "hold",
            "reloads",
            "reload took median / max s",
            "req/s during reloads",
            "failed",
            "sessions moved",
            "entries before -> after",
            "held (p50 / p99 ms)",
            "unknown session after a reload, median / max ms",
        )
        return ["", *_table(header, rows)] if rows else []
    if key == "members":
        rows = [
            (
                t,
                f"{p.members}",
                f"{p.entries:,}",
                f"{number(p.replication.median)} / {number(p.replication.p99)}"
                if p.replication
                else NOT_MEASURED,
                f"{number(p.resync.median)}" if p.resync else NOT_MEASURED,
            )
            for t in transports(document)
            for p in measures.members_points(document, t)
        ]
        header = ("transport", "members", "entries", "replication p50 / p99 ms", "resync s")
        return ["", *_table(header, rows)] if rows else []
    return []


def _projection(document: Document) -> list[str]:
    key_bytes, recorded = projection.key_bytes_of(document)
    source = (
        f"the run's key length, {key_bytes} bytes"
        if recorded
        else f"an assumed key length of {key_bytes} bytes (the lab's md5 session ids; "
        "the run did not record `key_bytes`)"
    )
    rows = [
        (
            f"{m.members}",
            f"{m.connections:,}",
            f"{m.copies_per_update}",
            f"{m.bytes_per_update:,}",
            f"{m.bytes_per_second / 1000:,.0f}",
        )
        for m in projection.projection(document)
    ]
    return [
        "",
        "### Full mesh at 10-50 members: on paper, not measured",
        "",
        "Every member of a peers section connects to every other one and sends each update "
        "of its own to each of them: n(n-1)/2 connections per section, n-1 copies of every "
        "update, (n-1) x message size per update. The message size is an estimate, not a "
        f"measurement: {source} plus about {projection.UPDATE_OVERHEAD_BYTES} bytes of "
        "header, update id, expiry and server fields, "
        f"{projection.message_bytes(key_bytes)} bytes; TLS records and TCP/IP headers "
        "come on top. A restarted member still relearns its table from one peer.",
        *_measured_trend(document),
        "",
        *_table(
            (
                "members",
                "connections per section",
                "copies per update",
                "bytes sent per update (estimate)",
                f"kB/s sent by a member making {projection.UPDATES_PER_SECOND:,} updates/s",
            ),
            rows,
        ),
    ]


def _measured_trend(document: Document) -> list[str]:
    """What the measured member counts showed, so the projection is read against it."""
    trends = []
    for t in transports(document):
        points = [p for p in measures.members_points(document, t) if p.replication]
        if len(points) >= 2:
            first, last = points[0], points[-1]
            trends.append(
                f"with {t} peers p99 went from {number(first.replication.p99)} ms at "
                f"{first.members} members to {number(last.replication.p99)} ms at {last.members}"
            )
    if not trends:
        return []
    return [
        "",
        "Measured above: " + "; ".join(trends) + ". Whether latency keeps that slope at "
        "dozens of members is not measured; each member then holds n-1 peer connections "
        "and sends every update of its own n-1 times.",
    ]


def render(document: Document, drawn: dict[str, list[Path]]) -> str:
    """report.md's text for ``document``, linking the figures ``drawn`` (plots.draw_all)."""
    verdicts = goals.verdicts(document)
    comparisons = goals.comparisons(document)
    lines = [*_header(document), *_summary(document), *_goals(verdicts)]
    for key, title in SECTIONS.items():
        lines += ["", f"## {title}", ""]
        figures = drawn.get(key, [])
        if key == "replication":
            figures = drawn.get("replication_cdf", []) + drawn.get("replication_runs", [])
        if not figures:
            lines.append(f"{title}: {NOT_MEASURED}.")
        else:
            lines += _section_text(document, key)
            lines += _images(figures)
            lines += _section_tables(document, key)
            lines += _comparison_lines([c for c in comparisons if c.section == key])
            lines += _verdict_lines(
                [v for v in verdicts if v.section == key and v.status != goals.NOT_MEASURED]
            )
        if key == "members":
            lines += _projection(document)
    unmeasured = goals.not_measured_references(document)
    if unmeasured:
        lines += [
            "",
            "## Hand-probe figures this run does not measure",
            "",
            *[f"- {figure}" for figure in unmeasured],
        ]
    return "\n".join(lines) + "\n"


def write_report(folder: Path, document: Document | None = None) -> Path:
    """Draw every figure into ``folder`` and write ``folder``/report.md; returns its path.

    ``document`` defaults to ``folder``/results.json, so a run can be reported
    again from its folder alone.
    """
    folder = Path(folder)
    if document is None:
        document = load(folder)
    # matplotlib only where figures are drawn: the lab's own commands run
    # without it (make lab installs requirements-lab.txt).
    from peerlab.bench import plots

    drawn = plots.draw_all(document, folder)
    path = folder / REPORT_FILE
    path.write_text(render(document, drawn))
    return path


# --- several runs ---------------------------------------------------------------------


def _headline(document: Document) -> dict[str, str]:
    """The figures of one run that go into docs/performance.md's comparison, by row name."""
    found: dict[str, str] = {
        "HAProxy": document["haproxy_version"],
        "date": document["started"][:10],
        "machine": f"{document['machine']['cpus']} CPUs, {document['machine']['provider']}",
    }
    for t in transports(document):
        samples = measures.replication_samples(document, t)
        if samples:
            found[f"replication p50 / p99, {t} (ms)"] = (
                f"{number(percentile(samples, 50))} / {number(percentile(samples, 99))}"
            )
        for entries, summary in measures.resync_by_size(document, t).items():
            if entries in goals.REFERENCE_RESYNC_S:
                found[f"resync of {entries:,} entries, {t} (s, median)"] = number(summary.median)
        fit = measures.resync_fit(document, t)
        if fit:
            found[f"resync fit r², {t}"] = f"{fit.r_squared:.4f}"
        memory = measures.memory_fit(document, t)
        if memory:
            found[f"RSS per 100k entries, {t} (MiB)"] = (
                f"{memory.slope * measures.ENTRIES_UNIT:.1f}"
            )
        for point in measured(document, t, "handover") or []:
            if point["entries"] == max(p["entries"] for p in measured(document, t, "handover")):
                found[f"reload handing over {point['entries']:,} entries, {t} (s)"] = number(
                    percentile(point["seconds"], 50)
                )
        for point in measured(document, t, "members") or []:
            label = f"replication p50 / p99, resync of {point['entries']:,} entries"
            found[f"{point['members']} members: {label}, {t}"] = (
                f"{number(percentile(point['replication_ms'], 50))} / "
                f"{number(percentile(point['replication_ms'], 99))} ms, "
                f"{number(percentile(point['resync_s'], 50))} s"
            )
        for run in measured(document, t, "reload_under_load") or []:
            found[f"reloads, {reload_label(run)}, {t}: failed / moved"] = (
                f"{run['failed']} / {run['moved_sessions']} at "
                f"{measures.reload_rate(run):.0f} req/s"
            )
            held = measures.held_waits(run)
            if held:
                found[f"reloads, {reload_label(run)}, {t}: held, p50 / p99 ms"] = (
                    f"{len(held)}, {number(percentile(held, 50))} / {number(percentile(held, 99))}"
                )
            unknown = measures.unknown_waits(run)
            if unknown and measures.with_hold(run):
                found[f"unknown session after a reload, {reload_label(run)}, {t} (ms, max)"] = (
                    number(max(unknown))
                )
        ratio = measures.throughput_ratio(document, t)
        if ratio is not None:
            found[f"throughput peers on / off, {t}"] = f"{ratio:.3f}"
    verdicts = goals.verdicts(document)
    judged = [v for v in verdicts if v.status != goals.NOT_MEASURED]
    found["goals met"] = f"{sum(v.status == goals.MET for v in judged)} of {len(judged)}"
    return found


def compare(documents: Sequence[Document]) -> str:
    """One markdown table of the headline figures, one column per run (its release),
    rows in the order they first appear; a figure a run lacks reads 'not measured'."""
    if not documents:
        raise ValueError("compare() needs at least one results document")
    columns = [_headline(document) for document in documents]
    names = [document["release"] for document in documents]
    if len(set(names)) < len(names):
        names = [f"{d['release']} ({d['started'][:10]})" for d in documents]
    rows: list[str] = []
    for column in columns:
        rows += [name for name in column if name not in rows]
    table = _table(
        ("", *names),
        ([name, *(column.get(name, NOT_MEASURED) for column in columns)] for name in rows),
    )
    return "\n".join(table) + "\n"
