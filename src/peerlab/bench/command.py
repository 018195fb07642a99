"""``peerlab bench``: the command line side of the benchmark (options, progress, output)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from peerlab.bench import goals, report, results
from peerlab.bench.run import MEASUREMENTS, TRANSPORTS, Bench, Limits
from peerlab.checkout import ROOT

RESULTS = ROOT / "bench" / "results"


class BenchRefused(Exception):
    """The bench cannot run as asked; the message says what to do instead."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--transports",
        default=",".join(TRANSPORTS),
        help=f"peers transports to measure, in order (default {','.join(TRANSPORTS)})",
    )
    parser.add_argument(
        "--only",
        default=",".join(MEASUREMENTS),
        help=f"measurements to run (default all: {','.join(MEASUREMENTS)})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples and smaller tables (minutes, to try)"
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help=f"where results go (default {RESULTS})"
    )
    parser.add_argument(
        "--compare",
        nargs="+",
        type=Path,
        metavar="FOLDER",
        help="print one markdown table of the headline figures of these results folders "
        "(one column each); the lab is not used",
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="make the report and plots again from this results folder; the lab is not used",
    )


def choices(value: str, allowed: tuple[str, ...], option: str) -> list[str]:
    picked = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in picked if item not in allowed]
    if unknown or not picked:
        raise BenchRefused(
            f"{option} {value!r}: use a comma-separated list of {', '.join(allowed)}"
        )
    return picked


@contextmanager
def progress_bar(console: Console, steps: int) -> Iterator[tuple[Progress, int]]:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        yield progress, progress.add_task("starting", total=steps)


def compare(folders: list[Path]) -> str:
    """The headline figures of several runs side by side, as markdown."""
    try:
        return report.compare([results.load(folder) for folder in folders])
    except results.ResultsError as error:
        raise BenchRefused(f"{error}: --compare takes folders `peerlab bench` wrote") from error


def run(args: argparse.Namespace, console: Console) -> tuple[Path, dict]:
    """Measure (or read back with --from); write results.json; return the folder and it."""
    if args.source:
        try:
            return args.source, results.load(args.source)
        except results.ResultsError as error:
            raise BenchRefused(f"{error}: --from takes a folder `peerlab bench` wrote") from error
    transports = choices(args.transports, TRANSPORTS, "--transports")
    wanted = choices(args.only, MEASUREMENTS, "--only")
    limits = Limits.quick() if args.quick else Limits()
    with progress_bar(console, len(transports) * len(wanted)) as (bar, task):

        def report(text: str) -> None:
            bar.update(task, description=text)

        bench = Bench(limits, report, on_measured=lambda: bar.advance(task))
        document = bench.run(transports, wanted)
    folder = results.results_folder(args.out, document)
    folder.mkdir(parents=True, exist_ok=True)
    results.save(document, folder)
    return folder, document


def finish(folder: Path, document: dict) -> dict:
    """Write the plots and report.md; the summary and the goals' verdicts."""
    report.write_report(folder, document)
    return {
        "summary": [row.to_dict() for row in report.summary_rows(document)],
        "goals": [verdict.to_dict() for verdict in goals.verdicts(document)],
    }


# Tables of this width stay readable in a log; a terminal gets its own width.
LOG_WIDTH = 200


def print_summary(console: Console, folder: Path, document: dict) -> None:
    if not console.is_terminal:
        console = Console(width=LOG_WIDTH, highlight=False, file=console.file)
    table = Table(title=f"peers benchmark: {results.run_label(document)}")
    for column in report.SUMMARY_COLUMNS:
        table.add_column(column)
    for row in report.summary_rows(document):
        table.add_row(*row.cells())
    console.print(table)
    verdicts = Table(title="goals")
    for column in ("goal", "transport", "verdict", "numbers"):
        verdicts.add_column(column)
    for verdict in goals.verdicts(document):
        verdicts.add_row(verdict.goal, verdict.transport or "-", verdict.status, verdict.detail)
    console.print(verdicts)
    console.print(f"Report, plots and samples: {folder}/report.md")
