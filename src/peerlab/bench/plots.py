"""The benchmark's figures as PNG files, drawn from a results document.

Figures are built as ``matplotlib.figure.Figure`` objects on an Agg canvas and
never through pyplot: nothing needs a screen, nothing is registered in a
global figure list (so nothing leaks when the report draws many), and the
process's matplotlib backend stays untouched for whoever imported peerlab.

Each figure's title says what was measured, on how many samples, and on which
release and HAProxy version, so a PNG pasted into an issue still tells its
story. A measurement missing from the document gives no file: every function
returns the path it wrote, or None.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from peerlab.bench import goals, measures
from peerlab.bench.results import Document, measured, run_label, transports
from peerlab.bench.stats import Fit, cdf, percentile

# One colour per transport in every figure.
COLOURS = {"tls": "tab:blue", "plain": "tab:orange"}
OTHER_COLOURS = ("tab:green", "tab:purple", "tab:brown")
REFERENCE_STYLE = {"color": "black", "marker": "x", "linestyle": "none", "markersize": 9}
DPI = 110

# File names of the figures; reload runs get one file per transport and balance.
REPLICATION_CDF = "replication-cdf.png"
REPLICATION_RUNS = "replication-runs.png"
RESYNC = "resync-vs-entries.png"
MEMORY = "memory-vs-entries.png"
PEERS_ON_OFF = "peers-on-off.png"
MEMBERS = "members.png"


def reload_file(transport: str, run: dict) -> str:
    """File name of one reload-under-load figure: its transport, balance, and the
    handover hold where the run had it off (the control)."""
    hold = "" if measures.with_hold(run) or "hold" not in run else "-no-hold"
    return f"reload-under-load-{transport}-{run['balance']}{hold}.png"


def colour(transport: str) -> str:
    if transport in COLOURS:
        return COLOURS[transport]
    # crc32, not hash(): the same colour in every process.
    return OTHER_COLOURS[zlib.crc32(transport.encode()) % len(OTHER_COLOURS)]


def _figure(rows: int = 1, columns: int = 1, **options: Any) -> tuple[Figure, Any]:
    figure = Figure(figsize=options.pop("figsize", (9, 5.5)), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, columns, squeeze=False, **options)


def _save(figure: Figure, document: Document, what: str, path: Path) -> Path:
    figure.suptitle(f"{what}\n{run_label(document)}", fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    return path


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{transport} {count:,}" for transport, count in counts.items())


# --- (1) replication latency CDF ---------------------------------------------


def replication_cdf(document: Document, path: Path) -> Path | None:
    """Distribution of replication latency per transport, all runs pooled."""
    pooled = {t: measures.replication_samples(document, t) for t in transports(document)}
    pooled = {transport: samples for transport, samples in pooled.items() if samples}
    if not pooled:
        return None
    figure, axes = _figure()
    ax: Axes = axes[0][0]
    for transport, samples in pooled.items():
        values, fractions = cdf(samples)
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        ax.step(
            values,
            fractions,
            where="post",
            color=colour(transport),
            label=f"{transport} peers: p50 {p50:.2f} ms, p99 {p99:.2f} ms",
        )
        rtt = measures.rtt_median_ms(document, transport)
        if rtt is not None:
            ax.axvline(
                rtt,
                color=colour(transport),
                linestyle=":",
                label=f"bridge round trip, median ({transport} run): {rtt:.3f} ms",
            )
    for level in (0.5, 0.99):
        ax.axhline(level, color="grey", linewidth=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("new session in the other member's table, from its request (ms, log)")
    ax.set_ylabel("fraction of sessions")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    counts = {transport: len(samples) for transport, samples in pooled.items()}
    return _save(figure, document, f"Replication latency, CDF ({_counts(counts)} sessions)", path)


# --- (2) replication latency per run ---------------------------------------------


def replication_runs(document: Document, path: Path) -> Path | None:
    """Replication latency run by run: does one noisy run carry the pooled tail?"""
    runs = {t: measured(document, t, "replication") for t in transports(document)}
    runs = {transport: each["runs"] for transport, each in runs.items() if each and each["runs"]}
    if not runs:
        return None
    figure, axes = _figure(1, len(runs), sharey=True)
    counts = {}
    for ax, (transport, each) in zip(axes[0], runs.items(), strict=True):
        samples = [run[measures.REPLICATION_KEY] for run in each]
        counts[transport] = sum(len(s) for s in samples)
        labels = [
            f"{index + 1}\nn={len(s)}" + (f"\n{run['missed']} missed" if run["missed"] else "")
            for index, (s, run) in enumerate(zip(samples, each, strict=True))
        ]
        boxes = ax.boxplot(
            [s if s else [math.nan] for s in samples],
            tick_labels=labels,
            whis=(1, 99),
            flierprops={"markersize": 3, "alpha": 0.5},
            patch_artist=True,
        )
        for box in boxes["boxes"]:
            box.set_facecolor(colour(transport))
            box.set_alpha(0.5)
        ax.set_title(f"{transport} peers", fontsize=10)
        ax.set_xlabel("run (whiskers: p1 and p99)")
        ax.grid(True, axis="y", alpha=0.3)
    axes[0][0].set_ylabel("replication latency from the request (ms)")
    runs_count = sum(len(each) for each in runs.values())
    return _save(
        figure,
        document,
        f"Replication latency per run ({runs_count} runs; {_counts(counts)} sessions)",
        path,
    )


# --- (3) resync time against table size --------------------------------------------


def resync_vs_entries(document: Document, path: Path) -> Path | None:
    """Resync time of a restarted member against table size, with the fitted line."""

    def hand_probes(ax: Axes) -> None:
        sizes = sorted(goals.REFERENCE_RESYNC_S)
        ax.plot(
            sizes,
            [goals.REFERENCE_RESYNC_S[size] for size in sizes],
            **REFERENCE_STYLE,
            label="hand probes, HAProxy 3.0 (restart included)",
        )

    return _against_entries(
        document,
        path,
        measures.resync_points,
        measures.resync_fit,
        lambda fit: (
            f"t = {fit.slope * 1e6:.3f} s per million entries "
            f"+ {fit.intercept:.3f} s (r² {fit.r_squared:.4f})"
        ),
        reference=hand_probes,
        ylabel="restart until the table is relearnt (s)",
        title="Resync of a restarted member ({counts} restarts)",
        alpha=0.6,
        markersize=4,
    )


def _against_entries(
    document: Document,
    path: Path,
    points_of: Callable[[Document, str], tuple[list[float], list[float]]],
    fit_of: Callable[[Document, str], Fit | None],
    describe: Callable[[Fit], str],
    *,
    reference: Callable[[Axes], None],
    ylabel: str,
    title: str,
    **marker: float,
) -> Path | None:
    """Readings against table size, a fitted line per transport and the hand probes'.

    None when no transport has a reading. `title` has a `{counts}` field for
    how many readings each transport has.
    """
    points = {t: points_of(document, t) for t in transports(document)}
    points = {transport: xy for transport, xy in points.items() if xy[0]}
    if not points:
        return None
    figure, axes = _figure()
    ax: Axes = axes[0][0]
    _points_and_fits(ax, points, lambda transport: fit_of(document, transport), describe, **marker)
    reference(ax)
    ax.set_xlabel("entries in the table")
    ax.set_ylabel(ylabel)
    ax.ticklabel_format(axis="x", style="plain")
    ax.xaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    counts = {transport: len(xy[0]) for transport, xy in points.items()}
    return _save(figure, document, title.format(counts=_counts(counts)), path)


def _points_and_fits(
    ax: Axes,
    points: dict[str, tuple[list[float], list[float]]],
    fit_of: Callable[[str], Fit | None],
    describe: Callable[[Fit], str],
    **marker: float,
) -> None:
    """Each transport's points, and its fitted line from 0 to its largest x, labelled."""
    for transport, (xs, ys) in points.items():
        ax.plot(xs, ys, "o", color=colour(transport), **marker)
        fit = fit_of(transport)
        if fit is None:
            ax.plot([], [], "o", color=colour(transport), label=f"{transport} peers (one size)")
            continue
        ends = [0.0, max(xs)]
        ax.plot(
            ends,
            [fit.at(x) for x in ends],
            color=colour(transport),
            label=f"{transport} peers: {describe(fit)}",
        )


# --- (4) memory against entries -------------------------------------------------------


def memory_vs_entries(document: Document, path: Path) -> Path | None:
    """Worker RSS against entries, with MiB per 100k entries from the fit."""

    def hand_probe(ax: Axes) -> None:
        ax.plot(
            [goals.MILLION],
            [goals.REFERENCE_RSS_MB_1M * 1e6 / 2**20],
            **REFERENCE_STYLE,
            label=f"hand probe, HAProxy 3.0: {goals.REFERENCE_RSS_MB_1M:g} MB",
        )

    return _against_entries(
        document,
        path,
        measures.memory_points,
        measures.memory_fit,
        lambda fit: (
            f"{fit.slope * measures.ENTRIES_UNIT:.1f} MiB per 100k "
            f"entries + {fit.intercept:.1f} MiB (r² {fit.r_squared:.4f})"
        ),
        reference=hand_probe,
        ylabel="worker RSS (MiB)",
        title="Worker memory ({counts} readings)",
        markersize=5,
    )


# --- (5) reload under load ---------------------------------------------------------------


def reload_under_load(document: Document, transport: str, run: dict, path: Path) -> Path:
    """One reload run second by second: rate, latency, failures, reloads marked."""
    timeline = measures.reload_timeline(run)
    figure, axes = _figure(3, 1, sharex=True, figsize=(10, 7.5))
    rate_ax, latency_ax, failed_ax = axes[0][0], axes[1][0], axes[2][0]
    seconds = [second + 0.5 for second in timeline.seconds]
    rate_ax.step(seconds, timeline.requests, where="mid", color=colour(transport))
    rate_ax.axhline(run["target_rps"], color="grey", linestyle="--", linewidth=0.8)
    rate_ax.set_ylabel("requests / s")
    rate_ax.set_ylim(bottom=0)
    latency_ax.plot(seconds, timeline.p50_ms, color=colour(transport), label="p50")
    latency_ax.plot(seconds, timeline.p99_ms, color="tab:red", label="p99")
    latency_ax.set_ylabel("latency (ms)")
    latency_ax.set_ylim(bottom=0)
    latency_ax.legend(loc="upper right", fontsize=8)
    failed_ax.bar(seconds, timeline.failed, width=0.9, color="tab:red", label="failed requests")
    failed_ax.bar(
        seconds,
        timeline.moved,
        width=0.9,
        bottom=timeline.failed,
        color="tab:purple",
        label="answered by another server than at first",
    )
    failed_ax.set_ylabel("requests / s")
    failed_ax.set_xlabel("seconds since the load started")
    failed_ax.legend(loc="upper left", fontsize=8)
    if not any(timeline.failed) and not any(timeline.moved):
        failed_ax.set_ylim(0, 1)
        failed_ax.text(
            0.5, 0.5, "no request failed or moved", transform=failed_ax.transAxes, ha="center"
        )
    start, end = run["phases"]["during"]
    for ax in (rate_ax, latency_ax, failed_ax):
        ax.axvspan(start, end, color="grey", alpha=0.08)
        for index, reload in enumerate(run["reloads"]):
            ax.axvline(
                reload["at_s"],
                color="black",
                linewidth=0.8,
                linestyle=":",
                label="reload" if ax is rate_ax and index == 0 else None,
            )
        ax.grid(True, alpha=0.3)
    rate_ax.legend(loc="lower right", fontsize=8)
    count = len(run["requests"]["t_s"])
    what = (
        f"Reload under load, balance {run['balance']}"
        f"{'' if measures.with_hold(run) or 'hold' not in run else ', handover hold off'}, "
        f"{transport} peers: "
        f"{len(run['reloads'])} reloads (dotted; shaded: the reload phase), {count:,} requests, "
        f"{measures.reload_rate(run):.0f} req/s during the reloads, {run['failed']} failed, "
        f"{run['moved_sessions']} of {run['sessions']} sessions moved"
    )
    return _save(figure, document, _wrap(what), path)


def reload_figures(document: Document, folder: Path) -> list[Path]:
    """One reload-under-load figure per transport and balance mode."""
    written = []
    for transport in transports(document):
        for run in measured(document, transport, "reload_under_load") or []:
            path = folder / reload_file(transport, run)
            written.append(reload_under_load(document, transport, run, path))
    return written


# --- (6) peers on / off ---------------------------------------------------------------------


def peers_on_off(document: Document, path: Path) -> Path | None:
    """Throughput and p99 with and without peers, bars of the means, each round a point."""
    names = [t for t in transports(document) if measured(document, t, "peers_on_off")]
    if not names:
        return None
    figure, axes = _figure(1, 2)
    throughput_ax, p99_ax = axes[0][0], axes[0][1]
    rounds = 0
    for group, transport in enumerate(names):
        rounds += len(measured(document, transport, "peers_on_off"))
        for ax, values in (
            (throughput_ax, measures.throughput_rounds(document, transport)),
            (p99_ax, measures.p99_rounds(document, transport)),
        ):
            for offset, peers in ((-0.2, True), (0.2, False)):
                samples = values[peers]
                if not samples:
                    continue
                x = group + offset
                ax.bar(
                    x,
                    sum(samples) / len(samples),
                    width=0.36,
                    color=colour(transport),
                    alpha=0.9 if peers else 0.4,
                    hatch="" if peers else "//",
                    edgecolor="black",
                    linewidth=0.5,
                )
                spread = [x + 0.1 * ((i % 5) - 2) / 2 for i in range(len(samples))]
                ax.plot(spread, samples, "o", color="black", markersize=3)
    for ax, label in ((throughput_ax, "requests / s"), (p99_ax, "p99 latency (ms)")):
        ticks = [g + offset for g in range(len(names)) for offset in (-0.2, 0.2)]
        ax.set_xticks(ticks, [f"{t}\npeers {s}" for t in names for s in ("on", "off")])
        ax.set_ylabel(label)
        ax.grid(True, axis="y", alpha=0.3)
    throughput_ax.set_title("throughput (bars: mean; points: rounds)", fontsize=10)
    p99_ax.set_title("p99 latency per round", fontsize=10)
    ratios = [
        f"{t} {ratio:.3f}"
        for t in names
        if (ratio := measures.throughput_ratio(document, t)) is not None
    ]
    what = f"Peers on and off, alternating rounds ({rounds} rounds)" + (
        f"; throughput ratio on/off: {', '.join(ratios)}" if ratios else ""
    )
    return _save(figure, document, what, path)


# --- (7) number of members ---------------------------------------------------------------


def members(document: Document, path: Path) -> Path | None:
    """Replication latency and resync time against the number of members."""
    points = {t: measures.members_points(document, t) for t in transports(document)}
    points = {transport: each for transport, each in points.items() if each}
    if not points:
        return None
    figure, axes = _figure(1, 2)
    latency_ax, resync_ax = axes[0][0], axes[0][1]
    samples = 0
    counts: set[int] = set()
    for transport, each in points.items():
        counts.update(point.members for point in each)
        replicated = [point for point in each if point.replication]
        samples += sum(point.replication.count for point in replicated)
        for attribute, style in (("median", "-"), ("p99", "--")):
            latency_ax.plot(
                [point.members for point in replicated],
                [getattr(point.replication, attribute) for point in replicated],
                style,
                marker="o",
                color=colour(transport),
                label=f"{transport} peers, {'p50' if attribute == 'median' else 'p99'}",
            )
        resynced = [point for point in each if point.resync]
        resync_ax.errorbar(
            [point.members for point in resynced],
            [point.resync.median for point in resynced],
            yerr=[
                [point.resync.median - point.resync.min for point in resynced],
                [point.resync.max - point.resync.median for point in resynced],
            ],
            marker="o",
            capsize=4,
            color=colour(transport),
            label=f"{transport} peers (median, min to max)",
        )
    for ax in (latency_ax, resync_ax):
        ax.set_xticks(sorted(counts))
        ax.set_xlabel("members in the peers section")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    latency_ax.set_ylabel("replication latency (ms)")
    resync_ax.set_ylabel("resync of a restarted member (s)")
    entries = sorted({point.entries for each in points.values() for point in each})
    what = (
        f"Members: replication ({samples:,} sessions) and resync against the number of members "
        f"({', '.join(f'{n:,}' for n in entries)} entries)"
    )
    return _save(figure, document, _wrap(what), path)


# --- all of them ---------------------------------------------------------------------------

SINGLE_FIGURES: dict[str, tuple[str, Callable[[Document, Path], Path | None]]] = {
    "replication_cdf": (REPLICATION_CDF, replication_cdf),
    "replication_runs": (REPLICATION_RUNS, replication_runs),
    "resync": (RESYNC, resync_vs_entries),
    "memory": (MEMORY, memory_vs_entries),
    "on_off": (PEERS_ON_OFF, peers_on_off),
    "members": (MEMBERS, members),
}


def draw_all(document: Document, folder: Path) -> dict[str, list[Path]]:
    """Every figure the document has data for, into ``folder``; keyed by section,
    an empty list for a measurement not run."""
    drawn: dict[str, list[Path]] = {}
    for section, (name, draw) in SINGLE_FIGURES.items():
        path = draw(document, Path(folder) / name)
        drawn[section] = [path] if path else []
    drawn["reload"] = reload_figures(document, Path(folder))
    return drawn


def _wrap(text: str, width: int = 110) -> str:
    """Break a long title at a separator near ``width`` characters."""
    if len(text) <= width:
        return text
    cut = max(text.rfind(", ", 0, width), text.rfind(": ", 0, width))
    return text if cut < 0 else text[: cut + 1] + "\n" + _wrap(text[cut + 2 :], width)


def files(drawn: dict[str, list[Path]]) -> Sequence[Path]:
    """Every file ``draw_all`` wrote."""
    return [path for paths in drawn.values() for path in paths]
