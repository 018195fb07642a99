"""The stick tables of every load balancer, side by side, with their peers' state.

Replication is right when every load balancer holds the same keys pointing
at the same servers. Expiry dates differ a little between peers (each entry
is refreshed where it is used), so only key and server are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from peerlab.lab import LoadBalancer
from peerlab.runtime import (
    PeersSection,
    Processes,
    RemoteCommandError,
    RuntimeAPIError,
    Table,
    TableEntry,
    TableInfo,
    list_tables,
    show_peers,
    show_proc,
    show_table,
)
from peerlab.sessions import session_id

# Session numbers recognised in keys: the narrative's and any a user is
# likely to try with `peerlab access`.
KNOWN_SESSIONS = range(100_000)


@cache
def _sessions_by_key() -> dict[str, int]:
    return {session_id(number): number for number in KNOWN_SESSIONS}


def session_number(key: str) -> int | None:
    """The N of a key that is md5("_N"), as peerlab's sessions are; else None."""
    return _sessions_by_key().get(key)


@dataclass(frozen=True)
class Snapshot:
    """One load balancer as its runtime API shows it, or why it could not be read."""

    name: str
    table: Table | None = None
    peers: PeersSection | None = None
    processes: Processes | None = None
    error: str = ""
    # Every stick table of the process (each service's, the rate limits'),
    # with how many entries it holds.
    tables: tuple[TableInfo, ...] = ()


class NoSuchTable(Exception):
    """The table asked for is not one the load balancer holds."""


def snapshot(lb: LoadBalancer, table: str | None = None) -> Snapshot:
    """Read the stick table ``table`` (the session table by default), every table's size,
    the peers section and the processes of ``lb``; a stopped HAProxy is not an error."""
    try:
        tables = tuple(list_tables(lb.run))
        name = table or lb.names.table
        if table and table not in {info.name for info in tables}:
            held = ", ".join(info.name for info in tables) or "none"
            raise NoSuchTable(f"{lb.name} holds no stick table {table!r} (its tables: {held})")
        return Snapshot(
            lb.name,
            table=show_table(lb.run, name),
            peers=show_peers(lb.run).get(lb.names.section),
            processes=show_proc(lb.run),
            tables=tables,
        )
    except (RemoteCommandError, RuntimeAPIError) as error:
        return Snapshot(lb.name, error=str(error))


@dataclass(frozen=True)
class Row:
    """One key and the entry each load balancer holds for it (None: no entry)."""

    key: str
    session: int | None
    entries: tuple[TableEntry | None, ...]

    @property
    def same(self) -> bool:
        """Every load balancer holds the key, pointing at the same server."""
        servers = {entry.server_key if entry else None for entry in self.entries}
        return None not in servers and len(servers) == 1


def side_by_side(tables: Sequence[Table | None]) -> list[Row]:
    """One row per key of any table; sessions in number order, other keys after."""
    keys = set().union(*(table.entries for table in tables if table is not None))

    def order(key: str) -> tuple[int, int, str]:
        number = session_number(key)
        return (0, number, key) if number is not None else (1, 0, key)

    return [
        Row(
            key,
            session_number(key),
            tuple(table.entries.get(key) if table else None for table in tables),
        )
        for key in sorted(keys, key=order)
    ]


def identical(rows: Sequence[Row], snapshots: Sequence[Snapshot]) -> bool:
    """Every load balancer answered, and every key is the same everywhere."""
    return all(s.table is not None for s in snapshots) and all(row.same for row in rows)


def report(snapshots: Sequence[Snapshot]) -> dict:
    """Everything ``peerlab tables`` shows, as plain data for --json."""
    rows = side_by_side([s.table for s in snapshots])
    return {
        "identical": identical(rows, snapshots),
        "load_balancers": [
            {
                "name": s.name,
                "error": s.error or None,
                "table": {"name": s.table.name, "used": s.table.used} if s.table else None,
                "tables": [
                    {"name": t.name, "type": t.type, "size": t.size, "used": t.used}
                    for t in s.tables
                ],
                "processes": (
                    {
                        "master_pid": s.processes.master_pid,
                        "reloads": s.processes.reloads,
                        "workers": list(s.processes.workers),
                        "old_workers": list(s.processes.old_workers),
                    }
                    if s.processes
                    else None
                ),
                "peers": (
                    {
                        "section": s.peers.name,
                        "resync_done": s.peers.resync_done,
                        "remotes": [
                            {
                                "name": p.name,
                                "connected": p.connected,
                                "last_status": p.last_status,
                                "transport": p.transport or None,
                            }
                            for p in s.peers.remotes
                        ],
                    }
                    if s.peers
                    else None
                ),
            }
            for s in snapshots
        ],
        "entries": [
            {
                "key": row.key,
                "session": row.session,
                "same": row.same,
                "servers": {
                    s.name: (
                        {"server": entry.server_key, "expires_ms": entry.expires_ms}
                        if entry
                        else None
                    )
                    for s, entry in zip(snapshots, row.entries, strict=True)
                },
            }
            for row in rows
        ],
    }
