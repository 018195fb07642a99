"""``peerlab bench``: the command line side of the benchmark (options, progress, output)."""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from peerlab.bench.run import MEASUREMENTS, TRANSPORTS, Bench, Limits, results_folder
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


def run(args: argparse.Namespace, console: Console) -> tuple[Path, dict]:
    """Measure (or read back with --from); write results.json; return the folder and it."""
    if args.source:
        path = args.source / "results.json"
        if not path.exists():
            raise BenchRefused(f"{path} does not exist: --from takes a folder `peerlab bench` wrote")
        return args.source, json.loads(path.read_text())
    transports = choices(args.transports, TRANSPORTS, "--transports")
    wanted = choices(args.only, MEASUREMENTS, "--only")
    limits = Limits.quick() if args.quick else Limits()
    with progress_bar(console, len(transports) * len(wanted)) as (bar, task):

        def report(text: str) -> None:
            bar.update(task, description=text)

        bench = Bench(limits, report, on_measured=lambda: bar.advance(task))
        document = bench.run(transports, wanted)
    folder = results_folder(args.out, document["release"], datetime.datetime.now(datetime.UTC))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(document, separators=(",", ":")) + "\n")
    return folder, document


def finish(folder: Path, document: dict) -> list[dict]:
    return []


def print_summary(console: Console, folder: Path, summary: list[dict]) -> None:
    console.print(f"results in {folder}")
