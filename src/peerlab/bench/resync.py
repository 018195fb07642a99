"""Measurements 2 and 5: how long a restarted member takes to relearn the table, and
what the table costs in memory, by table size; with them, how long a reload's
handover of the table from the old worker to the new one takes, and how fast
the runtime API loads entries.

Both tables are emptied, then LB1's is filled through the runtime API (one
``set table`` per entry, in pipelined batches); the peers protocol copies
every entry to LB2 as it is set. Once LB2 holds them all, the agent on LB2
restarts HAProxy there and times, from ``systemctl restart`` until the new
process holds every entry and reports its resync done: the relearn time
HAProxy's own figures quote ("restart included"). The new worker's resident
memory is read once it has learnt the table: a fresh process holding exactly
that many entries, so earlier allocations do not blur the figure. The
handover is timed on LB1, from ``systemctl reload`` until a new worker runs
alone and holds every entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from peerlab.bench.agent import Agent

FILL_TIMEOUT_S = 900.0
RESYNC_TIMEOUT_S = 180.0


def clear(agents: Sequence[Agent]) -> None:
    """Empty every table (peers do not replicate deletions, so each one)."""
    for agent in agents:
        agent.ask("clear")


def fill(source: Agent, replica: Agent, entries: int) -> dict:
    """Fill ``source``'s table up to ``entries``; wait until ``replica`` holds them too.

    Returns how many entries were added and how long the runtime API took.
    """
    have = source.used()
    seconds = 0.0
    if entries > have:
        seconds = float(source.ask(f"fill {have} {entries - have}", FILL_TIMEOUT_S)[1])
    replica.ask(f"wait-used {entries} {FILL_TIMEOUT_S:g}", FILL_TIMEOUT_S + 10)
    return {"entries": entries, "added": max(entries - have, 0), "seconds": round(seconds, 3)}


def reload_handover(source: Agent, entries: int) -> float:
    """Reload HAProxy on the source's host: seconds until a new worker alone holds ``entries``."""
    answer = source.ask(f"reload {entries} {RESYNC_TIMEOUT_S:g}", RESYNC_TIMEOUT_S + 30)
    return float(answer[1])


def restart(replica: Agent, entries: int) -> tuple[float, int]:
    """Restart HAProxy on the replica's host: seconds to relearn ``entries``, new worker's RSS."""
    answer = replica.ask(f"restart {entries} {RESYNC_TIMEOUT_S:g}", RESYNC_TIMEOUT_S + 30)
    rss_kib = int(replica.ask("rss")[1])
    return float(answer[1]), rss_kib


def measure(
    source: Agent,
    replica: Agent,
    sizes: Sequence[int],
    repeats: int,
    progress: Callable[[str], None] = lambda text: None,
) -> dict[str, list[dict]]:
    """Resync, memory, handover and fill points for each size in ``sizes``.

    Size 0 is measured first (an empty table) for the memory baseline.
    """
    found: dict[str, list[dict]] = {"resync": [], "memory": [], "handover": [], "fill": []}
    clear([source, replica])
    for size in [0, *sorted(sizes)]:
        if size:
            progress(f"filling the table to {size:,} entries")
            found["fill"].append(fill(source, replica, size))
        seconds, rss = [], []
        for attempt in range(repeats):
            progress(f"restart {attempt + 1}/{repeats} with {size:,} entries")
            took, kib = restart(replica, size)
            seconds.append(round(took, 4))
            rss.append(kib)
        memory = {"entries": size, "rss_kib": sorted(rss)[len(rss) // 2]}
        found["memory"].append(memory)
        if size:
            found["resync"].append({"entries": size, "seconds": seconds})
            progress(f"reload with {size:,} entries")
            handover = round(reload_handover(source, size), 4)
            found["handover"].append({"entries": size, "seconds": [handover]})
    clear([source, replica])
    return found
