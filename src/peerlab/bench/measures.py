"""The quantities the plots, the report and the goals share, derived from a document.

One place decides, for instance, that "replication latency" means the time
until the other table holds the session counted from the moment its first
request left the client (``after_request_ms``: an upper bound, it includes
the request's own trip through the first member to the backend), pooled over
runs, or that a reload run's rate is
measured over its ``during`` phase; the figures, the summary table and the
verdicts then cannot disagree. Every function returns None (or nothing) for a
measurement the document lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peerlab.bench.results import Document, measured
from peerlab.bench.stats import (
    Fit,
    Summary,
    linear_fit,
    per_second,
    percentile,
    ratio,
    summarize,
)

# The replication latency the report leads with: from the request that
# created the session on one member until the other member's table holds it.
# The conservative one of the two: the time from the response can be
# negative (the update reached the other member before the client got its
# answer) and misses the member's own part.
REPLICATION_KEY = "after_request_ms"
OTHER_REPLICATION_KEY = "after_response_ms"
KIB_PER_MIB = 1024
# Memory is quoted per this many entries (MiB per 100k entries).
ENTRIES_UNIT = 100_000


def replication_samples(
    document: Document, transport: str, key: str = REPLICATION_KEY
) -> list[float]:
    """Every replication latency of one transport, all runs pooled (ms)."""
    replication = measured(document, transport, "replication")
    if replication is None:
        return []
    return [sample for run in replication["runs"] for sample in run[key]]


def replication_runs(document: Document, transport: str) -> list[list[float]]:
    """Replication latencies run by run (ms), runs in the order they were made."""
    replication = measured(document, transport, "replication")
    return [run[REPLICATION_KEY] for run in replication["runs"]] if replication else []


def replication_missed(document: Document, transport: str) -> int:
    """Sessions the other member never showed within the measurement's bound."""
    replication = measured(document, transport, "replication")
    return sum(run["missed"] for run in replication["runs"]) if replication else 0


def rtt_median_ms(document: Document, transport: str) -> float | None:
    """Median round trip between the members' hosts (ms): the floor under any latency."""
    replication = measured(document, transport, "replication")
    if not replication or not replication["rtt_ms"]:
        return None
    return percentile(replication["rtt_ms"], 50, f"{transport} bridge round trips")


def resync_by_size(document: Document, transport: str) -> dict[int, Summary]:
    """Resync times of a restarted member by table size (s), sizes ascending."""
    resync = measured(document, transport, "resync") or []
    return {
        point["entries"]: summarize(point["seconds"], f"{transport} resync of {point['entries']}")
        for point in sorted(resync, key=lambda point: point["entries"])
        if point["seconds"]
    }


def resync_points(document: Document, transport: str) -> tuple[list[float], list[float]]:
    """Every resync sample as (entries, seconds) pairs, for the fit."""
    resync = measured(document, transport, "resync") or []
    pairs = [(point["entries"], second) for point in resync for second in point["seconds"]]
    return [float(entries) for entries, _ in pairs], [second for _, second in pairs]


def resync_fit(document: Document, transport: str) -> Fit | None:
    """Seconds against entries, fitted on every sample (not on medians): the
    intercept is the restart's fixed cost, the slope the cost per entry."""
    entries, seconds = resync_points(document, transport)
    if len(set(entries)) < 2:
        return None
    return linear_fit(entries, seconds, f"{transport} resync")


def memory_points(document: Document, transport: str) -> tuple[list[float], list[float]]:
    """(entries, worker RSS in MiB) of every memory sample."""
    memory = measured(document, transport, "memory") or []
    return (
        [float(point["entries"]) for point in memory],
        [point["rss_kib"] / KIB_PER_MIB for point in memory],
    )


def memory_fit(document: Document, transport: str) -> Fit | None:
    """Worker RSS (MiB) against entries; ``slope * ENTRIES_UNIT`` is MiB per 100k entries."""
    entries, mib = memory_points(document, transport)
    if len(set(entries)) < 2:
        return None
    return linear_fit(entries, mib, f"{transport} memory")


@dataclass(frozen=True)
class Timeline:
    """A reload run second by second: what a client saw while the member reloaded."""

    seconds: list[int]
    requests: list[int]
    p50_ms: list[float | None]
    p99_ms: list[float | None]
    failed: list[int]
    moved: list[int]


def reload_timeline(run: dict[str, Any]) -> Timeline:
    """Per-second request count, latency p50/p99 (None in a second without answers),
    failed requests and requests answered by another server than at first."""
    requests = run["requests"]
    times = requests["t_s"]
    end = run["phases"]["after"][1]
    latency = per_second(times, requests["latency_ms"], end_s=end)
    ok = per_second(times, requests["ok"], end_s=end)
    moved = per_second(times, requests["moved"], end_s=end)
    return Timeline(
        seconds=list(range(len(latency))),
        requests=[len(bucket) for bucket in latency],
        p50_ms=[percentile(bucket, 50) if bucket else None for bucket in latency],
        p99_ms=[percentile(bucket, 99) if bucket else None for bucket in latency],
        failed=[sum(1 for value in bucket if not value) for bucket in ok],
        moved=[int(sum(bucket)) for bucket in moved],
    )


def reload_rate(run: dict[str, Any]) -> float:
    """Requests per second while the reloads happened (the ``during`` phase)."""
    start, end = run["phases"]["during"]
    if end <= start:
        return 0.0
    inside = sum(1 for time_s in run["requests"]["t_s"] if start <= time_s < end)
    return inside / (end - start)


def reload_latencies(run: dict[str, Any]) -> list[float]:
    """Latencies (ms) of the requests sent during the reloads."""
    start, end = run["phases"]["during"]
    requests = run["requests"]
    return [
        latency
        for time_s, latency in zip(requests["t_s"], requests["latency_ms"], strict=True)
        if start <= time_s < end
    ]


def held_waits(run: dict[str, Any]) -> list[float]:
    """How long (ms) each request the handover hold held waited, by HAProxy's count."""
    return [float(held[1]) for held in run.get("held", [])]


def held_outcomes(run: dict[str, Any]) -> dict[str, int]:
    """How the holds ended: learnt (the entry arrived), ended (the handover did), bound."""
    counts: dict[str, int] = {}
    for held in run.get("held", []):
        counts[held[2]] = counts.get(held[2], 0) + 1
    return counts


def unknown_waits(run: dict[str, Any]) -> list[float]:
    """Latency (ms) of a session no member knows, sent right after each reload settled."""
    return [reload["unknown"]["ms"] for reload in run["reloads"] if "unknown" in reload]


def with_hold(run: dict[str, Any]) -> bool:
    """Whether the run had the handover hold (the role's default; runs recorded before
    it existed had none)."""
    return bool(run.get("hold", False))


def throughput_rounds(document: Document, transport: str) -> dict[bool, list[float]]:
    """Requests per second of each round, with peers on (True) and off (False)."""
    rounds = measured(document, transport, "peers_on_off") or []
    found: dict[bool, list[float]] = {True: [], False: []}
    for each in rounds:
        if each["seconds"] > 0:
            found[each["peers"]].append(each["requests"] / each["seconds"])
    return found


def p99_rounds(document: Document, transport: str) -> dict[bool, list[float]]:
    """p99 latency (ms) of each round, with peers on (True) and off (False)."""
    rounds = measured(document, transport, "peers_on_off") or []
    found: dict[bool, list[float]] = {True: [], False: []}
    for each in rounds:
        found[each["peers"]].append(each["latency_ms"]["p99"])
    return found


def throughput_ratio(document: Document, transport: str) -> float | None:
    """Mean throughput with peers over mean throughput without (None: a side not measured)."""
    rounds = throughput_rounds(document, transport)
    if not rounds[True] or not rounds[False]:
        return None
    mean_on = sum(rounds[True]) / len(rounds[True])
    mean_off = sum(rounds[False]) / len(rounds[False])
    return ratio(mean_on, mean_off, f"{transport} throughput on/off") if mean_off else None


@dataclass(frozen=True)
class MembersPoint:
    """One size of the peers section: how fast updates and restarts spread."""

    members: int
    entries: int
    replication: Summary | None
    resync: Summary | None


def members_points(document: Document, transport: str) -> list[MembersPoint]:
    """Replication (ms) and resync (s) summaries per number of members, ascending."""
    points = measured(document, transport, "members") or []
    return [
        MembersPoint(
            point["members"],
            point["entries"],
            summarize(point["replication_ms"]) if point["replication_ms"] else None,
            summarize(point["resync_s"]) if point["resync_s"] else None,
        )
        for point in sorted(points, key=lambda point: point["members"])
    ]


def throughput_errors(document: Document, transport: str, peers: bool) -> int | None:
    """Requests wrk counted as failed (socket errors and non-2xx), all rounds of one side."""
    rounds = measured(document, transport, "peers_on_off")
    if not rounds:
        return None
    return sum(item["errors"] for item in rounds if item["peers"] == peers)
