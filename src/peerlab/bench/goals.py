"""What a run is judged against: the hand probes' reference figures and the goals.

The reference figures are what HAProxy 3.0 did in containers when probed by
hand before the benchmarks existed; a run is compared with them to see whether
the lab measures the same thing. The goals are what issue 12 asks of the
pair. Both are reported, never asserted: a noisy machine must not fail a
build, but the report must say plainly which goal a run missed and by how much.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from peerlab.bench import measures
from peerlab.bench.results import Document, measured, transports
from peerlab.bench.stats import percentile

MET, NOT_MET, NOT_MEASURED = "met", "not met", "not measured"

# --- goals ------------------------------------------------------------------------
REPLICATION_P99_GOAL_MS = 5.0
# Resync may take this much longer than the hand probes' relearn figures.
RESYNC_ALLOWANCE = 1.2
# r² at or above which resync time counts as linear in the table size.
LINEAR_R_SQUARED = 0.98
# The linearity of fewer sizes says nothing: two points are always on a line.
LINEAR_MIN_SIZES = 3
RELOAD_MIN_RPS = 500.0
# What the handover hold may cost a session no member knows once a reload settled.
UNKNOWN_SESSION_GOAL_MS = 100.0
THROUGHPUT_RATIO_GOAL = 0.95

# --- reference figures (hand probes, HAProxy 3.0 in containers) ------------------
REFERENCE_RESYNC_S = {100_000: 0.3, 1_000_000: 3.0}
REFERENCE_RSS_MB_1M = 230.0
REFERENCE_HANDOVER_S_1M = 4.0
REFERENCE_RUNTIME_API_LOAD_S_1M = (8.0, 19.0)
REFERENCE_PLAIN_P50_MS = 1.4
REFERENCE_PLAIN_P99_MS = (3.0, 5.5)
REFERENCE_RTT_MS = 0.05
MILLION = 1_000_000


@dataclass(frozen=True)
class Verdict:
    """One goal, judged on one transport (or on the run), with the numbers behind it."""

    section: str
    goal: str
    status: str
    detail: str
    transport: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "section": self.section,
            "goal": self.goal,
            "transport": self.transport,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Comparison:
    """A measured figure next to the hand probe's."""

    section: str
    figure: str
    reference: str
    measured: str
    transport: str | None = None


def replication_goal(document: Document) -> list[Verdict]:
    goal = f"replication p99 <= {REPLICATION_P99_GOAL_MS:g} ms with TLS peers"
    samples = measures.replication_samples(document, "tls")
    if not samples:
        return [Verdict("replication", goal, NOT_MEASURED, "no TLS replication samples", "tls")]
    missed = measures.replication_missed(document, "tls")
    # A session the other member never showed is slower than any bound: it
    # counts as an infinite sample, so enough of them move p99 past the goal.
    p99 = percentile([*samples, *[math.inf] * missed], 99)
    detail = f"p99 {p99:.2f} ms over {len(samples)} samples" + (
        f", {missed} more never seen on the other member (counted as infinite)" if missed else ""
    )
    status = MET if p99 <= REPLICATION_P99_GOAL_MS else NOT_MET
    return [Verdict("replication", goal, status, detail, "tls")]


def resync_goals(document: Document) -> list[Verdict]:
    verdicts = []
    for transport in _measuring(document, "resync"):
        by_size = measures.resync_by_size(document, transport)
        for entries, reference in REFERENCE_RESYNC_S.items():
            # Rounded, so that 1.2 x 3 s is 3.6 s and not 3.5999999999999996.
            bound = round(RESYNC_ALLOWANCE * reference, 6)
            goal = (
                f"resync of {entries:,} entries <= {bound:.2f} s "
                f"({RESYNC_ALLOWANCE:g} x {reference:g} s)"
            )
            if entries not in by_size:
                verdicts.append(Verdict("resync", goal, NOT_MEASURED, "size not run", transport))
                continue
            median = by_size[entries].median
            verdicts.append(
                Verdict(
                    "resync",
                    goal,
                    MET if median <= bound else NOT_MET,
                    f"median {median:.3f} s ({median / reference:.2f} x reference) "
                    f"over {by_size[entries].count} restarts",
                    transport,
                )
            )
        verdicts.append(_linearity(document, transport, len(by_size)))
    return verdicts or [Verdict("resync", "resync time", NOT_MEASURED, "resync not run")]


def _linearity(document: Document, transport: str, sizes: int) -> Verdict:
    goal = f"resync linear in table size (r² >= {LINEAR_R_SQUARED:g})"
    if sizes < LINEAR_MIN_SIZES:
        return Verdict(
            "resync",
            goal,
            NOT_MEASURED,
            f"{sizes} table sizes; linearity needs at least {LINEAR_MIN_SIZES}",
            transport,
        )
    fit = measures.resync_fit(document, transport)
    assert fit is not None  # several sizes were run
    return Verdict(
        "resync",
        goal,
        MET if fit.r_squared >= LINEAR_R_SQUARED else NOT_MET,
        f"r² {fit.r_squared:.4f} over {fit.points} restarts at {sizes} sizes; "
        f"{fit.slope * 1e6:.2f} s per million entries + {fit.intercept:.3f} s",
        transport,
    )


def reload_goals(document: Document) -> list[Verdict]:
    goal = f"0 failed requests and 0 backend changes across reloads at >= {RELOAD_MIN_RPS:g} req/s"
    verdicts = []
    for transport in _measuring(document, "reload_under_load"):
        for run in measured(document, transport, "reload_under_load"):
            if not measures.with_hold(run) and any(
                measures.with_hold(other)
                for other in measured(document, transport, "reload_under_load")
            ):
                # The control run without the hold is no configuration to judge.
                continue
            rate = measures.reload_rate(run)
            failed, moved = run["failed"], run["moved_sessions"]
            detail = (
                f"balance {run['balance']}: {len(run['reloads'])} reloads at {rate:.0f} req/s, "
                f"{failed} failed, {moved} sessions moved"
            )
            if rate < RELOAD_MIN_RPS:
                detail += f" (load below {RELOAD_MIN_RPS:g} req/s)"
            status = MET if failed == 0 and moved == 0 and rate >= RELOAD_MIN_RPS else NOT_MET
            verdicts.append(Verdict("reload", goal, status, detail, transport))
    return verdicts or [Verdict("reload", goal, NOT_MEASURED, "reload under load not run")]


def unknown_session_goals(document: Document) -> list[Verdict]:
    goal = (
        f"a session no member knows waits < {UNKNOWN_SESSION_GOAL_MS:g} ms once a reload "
        "settled (the handover hold ended)"
    )
    verdicts = []
    for transport in _measuring(document, "reload_under_load"):
        for run in measured(document, transport, "reload_under_load"):
            waits = measures.unknown_waits(run)
            if not waits or not measures.with_hold(run):
                continue
            verdicts.append(
                Verdict(
                    "reload",
                    goal,
                    MET if max(waits) < UNKNOWN_SESSION_GOAL_MS else NOT_MET,
                    f"balance {run['balance']}: {len(waits)} reloads, median "
                    f"{percentile(waits, 50):.1f} ms, max {max(waits):.1f} ms",
                    transport,
                )
            )
    return verdicts or [Verdict("reload", goal, NOT_MEASURED, "no run with the hold measured it")]


def throughput_goals(document: Document) -> list[Verdict]:
    goal = f"throughput with peers / without >= {THROUGHPUT_RATIO_GOAL:g}"
    verdicts = []
    for transport in _measuring(document, "peers_on_off"):
        rounds = measures.throughput_rounds(document, transport)
        ratio = measures.throughput_ratio(document, transport)
        if ratio is None:
            verdicts.append(
                Verdict("on_off", goal, NOT_MEASURED, "rounds on one side only", transport)
            )
            continue
        verdicts.append(
            Verdict(
                "on_off",
                goal,
                MET if ratio >= THROUGHPUT_RATIO_GOAL else NOT_MET,
                f"ratio {ratio:.3f}: {_mean(rounds[True]):.0f} req/s with peers "
                f"({len(rounds[True])} rounds), {_mean(rounds[False]):.0f} without "
                f"({len(rounds[False])} rounds)",
                transport,
            )
        )
    return verdicts or [Verdict("on_off", goal, NOT_MEASURED, "peers on/off not run")]


def verdicts(document: Document) -> list[Verdict]:
    """Every goal of issue 12, judged on ``document``."""
    return [
        *replication_goal(document),
        *resync_goals(document),
        *reload_goals(document),
        *unknown_session_goals(document),
        *throughput_goals(document),
    ]


def comparisons(document: Document) -> list[Comparison]:
    """The hand probes' figures next to this run's, where the run measured the same thing."""
    found: list[Comparison] = []
    for transport in transports(document):
        rtt = measures.rtt_median_ms(document, transport)
        if rtt is not None:
            found.append(
                Comparison(
                    "replication",
                    "bridge round trip, median",
                    f"~{REFERENCE_RTT_MS:g} ms",
                    f"{rtt:.3f} ms",
                    transport,
                )
            )
        samples = measures.replication_samples(document, transport)
        if samples:
            low, high = REFERENCE_PLAIN_P99_MS
            found.append(
                Comparison(
                    "replication",
                    "new session in the other table, p50 / p99",
                    f"~{REFERENCE_PLAIN_P50_MS:g} ms / {low:g}-{high:g} ms (plain peers)",
                    f"{percentile(samples, 50):.2f} ms / {percentile(samples, 99):.2f} ms",
                    transport,
                )
            )
        by_size = measures.resync_by_size(document, transport)
        for entries, reference in REFERENCE_RESYNC_S.items():
            if entries in by_size:
                median = by_size[entries].median
                found.append(
                    Comparison(
                        "resync",
                        f"restarted member relearns {entries:,} entries (median)",
                        f"~{reference:g} s",
                        f"{median:.3f} s ({median / reference:.2f} x)",
                        transport,
                    )
                )
        fit = measures.memory_fit(document, transport)
        if fit is not None:
            mib = fit.at(MILLION)
            # The probe's "MB" is read as 10^6 bytes; the plots count MiB.
            mb = mib * 2**20 / 1e6
            found.append(
                Comparison(
                    "memory",
                    "worker RSS holding 1M entries (fitted)",
                    f"~{REFERENCE_RSS_MB_1M:g} MB",
                    f"{mib:.0f} MiB = {mb:.0f} MB ({mb / REFERENCE_RSS_MB_1M:.2f} x)",
                    transport,
                )
            )
        found += _handover(document, transport)
    return found


def _handover(document: Document, transport: str) -> list[Comparison]:
    """The handover reference is for 1M entries; smaller tables are not comparable.

    The resync measurement reloads LB1 holding each table size ("handover");
    the reloads under load only hold the load's own sessions.
    """
    found = []
    for point in measured(document, transport, "handover") or []:
        if point["entries"] >= 0.9 * MILLION and point["seconds"]:
            median = percentile(point["seconds"], 50)
            found.append(
                Comparison(
                    "reload",
                    f"reload handing {point['entries']:,} entries to the new worker, median",
                    f"~{REFERENCE_HANDOVER_S_1M:g} s at 1M entries",
                    f"{median:.2f} s ({median / REFERENCE_HANDOVER_S_1M:.2f} x)",
                    transport,
                )
            )
    found += _runtime_api_load(document, transport)
    runs = measured(document, transport, "reload_under_load") or []
    for run in runs:
        took = [reload["took_s"] for reload in run["reloads"]]
        if not took:
            continue
        size = run["entries_before"]
        comparable = size >= 0.9 * MILLION
        found.append(
            Comparison(
                "reload",
                f"reload with local-peer handover ({run['balance']}), median",
                f"~{REFERENCE_HANDOVER_S_1M:g} s at 1M entries",
                f"{percentile(took, 50):.2f} s at {size:,} entries"
                + ("" if comparable else " (not comparable: the reference holds 1M)"),
                transport,
            )
        )
    return found


def _runtime_api_load(document: Document, transport: str) -> list[Comparison]:
    """Entries loaded through the runtime API, scaled to 1M at the run's own rate."""
    fills = [point for point in measured(document, transport, "fill") or [] if point["seconds"]]
    added = sum(point["added"] for point in fills)
    seconds = sum(point["seconds"] for point in fills)
    if not added:
        return []
    low, high = REFERENCE_RUNTIME_API_LOAD_S_1M
    return [
        Comparison(
            "resync",
            "loading 1M entries through the runtime API (pipelined set table)",
            f"{low:g}-{high:g} s",
            f"{seconds / added * MILLION:.1f} s at this run's rate ({added:,} entries in "
            f"{seconds:.1f} s)",
            transport,
        )
    ]


def not_measured_references(document: Document | None = None) -> list[str]:
    """Reference figures the document has no measurement for, so the report names them."""
    low, high = REFERENCE_RUNTIME_API_LOAD_S_1M
    if document is not None and any(
        _runtime_api_load(document, transport) for transport in transports(document)
    ):
        return []
    return [f"loading 1M entries through the runtime API: {low:g}-{high:g} s"]


def _measuring(document: Document, key: str) -> list[str]:
    return [name for name in transports(document) if measured(document, name, key)]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
