"""Is the pair healthy? One line of facts and a list of problems per load balancer.

What an operator checks before touching a member: which HAProxy runs, since
when, how many reloads it went through (and how many HAProxy refused), whether
every peer link is up, whether the resync finished, and whether every member
holds the same entries. The last point decides what a restart costs: a member
restarted while no other member holds the table comes back empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from peerlab.tables import Snapshot, side_by_side


@dataclass(frozen=True)
class MemberStatus:
    """One load balancer's state, and what is wrong with it (nothing: healthy)."""

    snapshot: Snapshot
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.snapshot.name

    def to_dict(self) -> dict:
        s = self.snapshot
        procs, peers, table = s.processes, s.peers, s.table
        return {
            "name": s.name,
            "healthy": not self.problems,
            "problems": list(self.problems),
            "error": s.error or None,
            "version": procs.version if procs else None,
            "master": (
                {"pid": procs.master_pid, "uptime": procs.uptimes.get(procs.master_pid)}
                if procs
                else None
            ),
            "workers": (
                [{"pid": pid, "uptime": procs.uptimes.get(pid)} for pid in procs.workers]
                if procs
                else []
            ),
            "old_workers": list(procs.old_workers) if procs else [],
            "reloads": procs.reloads if procs else None,
            "failed_reloads": procs.failed_reloads if procs else None,
            "last_reload_refused": procs.last_reload_refused if procs else None,
            "resync_done": peers.resync_done if peers else None,
            "peers": (
                [
                    {
                        "name": p.name,
                        "connected": p.connected,
                        "last_status": p.last_status,
                        "transport": p.transport or None,
                    }
                    for p in peers.remotes
                ]
                if peers
                else []
            ),
            "table_size": len(table.entries) if table else None,
            "tables": {t.name: t.used for t in s.tables},
        }


def problems_of(snapshot: Snapshot, others: Sequence[Snapshot]) -> list[str]:
    """What keeps ``snapshot``'s member from being healthy, given the other members."""
    if snapshot.error or snapshot.table is None:
        return [f"not answering: {snapshot.error or 'no stick table'}"]
    found = []
    procs, peers = snapshot.processes, snapshot.peers
    if procs and procs.last_reload_refused:
        found.append(
            "HAProxy refused the last reload: the worker serving runs the configuration "
            "from before it (see `journalctl -u haproxy`)"
        )
    if peers is None:
        return [*found, "no peers section"]
    if not peers.resync_done:
        found.append(f"resync not finished (flags=0x{peers.flags:x})")
    down = [p.name for p in peers.remotes if not p.connected]
    found += [f"peer link to {name} down" for name in down]
    keys = set(snapshot.table.entries)
    for other in others:
        if other.table is None:
            continue
        missing = len(set(other.table.entries) - keys)
        if missing:
            found.append(f"{missing} entries of {other.name} missing here")
    if keys and down and len(down) == len(peers.remotes):
        found.append(
            f"the only running holder of {len(keys)} entries: restarting it now empties the table"
        )
    return found


def pair_status(snapshots: Sequence[Snapshot]) -> list[MemberStatus]:
    """Every member's status; entries are compared by key and server across members."""
    rows = side_by_side([s.table for s in snapshots])
    statuses = []
    for index, snapshot in enumerate(snapshots):
        others = [s for i, s in enumerate(snapshots) if i != index]
        found = problems_of(snapshot, others)
        if snapshot.table is not None:
            differ = sum(
                1
                for row in rows
                if row.entries[index] is not None and not row.same and None not in row.entries
            )
            if differ:
                found.append(f"{differ} entries point at another server than elsewhere")
        statuses.append(MemberStatus(snapshot, tuple(found)))
    return statuses
