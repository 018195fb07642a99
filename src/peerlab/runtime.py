"""HAProxy's runtime API: the commands the lab needs and parsers for their output.

The runtime API socket is local to each load balancer (admin level, no
authentication), so it is reached by running ``socat`` on the load balancer
itself through whatever remote-execution channel the caller has: SSH, Ansible,
testinfra. That channel is a ``Runner``: it runs a shell command as root on
the load balancer and returns its standard output.

The parsers accept the output of HAProxy 2.6 and 3.0.
"""

from __future__ import annotations

import csv
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

# Runs a shell command as root on a load balancer and returns its standard
# output; raises RemoteCommandError when it fails or cannot be run.
Runner = Callable[[str], str]

ADMIN_SOCKET = "/run/haproxy/admin.sock"
MASTER_SOCKET = "/run/haproxy-master.sock"

# Low bits of a peers section's flags, the same in 2.6 and 3.0: the section
# learnt its table from the local (old) process, and from a remote peer, or no
# longer needs to.
RESYNC_FROM_LOCAL_DONE = 0x1
RESYNC_FROM_REMOTE_DONE = 0x2


class RuntimeAPIError(RuntimeError):
    """HAProxy answered with an error, or something else than expected."""


class RemoteCommandError(RuntimeError):
    """A command on a load balancer failed, or the load balancer could not be reached."""


# What reading a load balancer's state raises while HAProxy starts or reloads
# (its socket gone for a moment, an answer cut short): a state a wait waits
# out. Anything else, a parser's bug among them, ends the wait at once.
TRANSIENT_ERRORS = (RemoteCommandError, RuntimeAPIError)


def socket_command(command: str, socket: str = ADMIN_SOCKET) -> str:
    """The shell command that sends one runtime API ``command`` to ``socket``."""
    return f"echo {shlex.quote(command)} | socat stdio unix-connect:{shlex.quote(socket)}"


# --- show table ---------------------------------------------------------------


@dataclass(frozen=True)
class TableEntry:
    """One stick table entry."""

    key: str
    server_id: int | None
    server_key: str | None
    expires_ms: int | None
    # What else the table stores for the key, as HAProxy names it
    # ("http_req_rate(10000)": "4").
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A stick table as ``show table <name>`` prints it."""

    name: str
    used: int
    entries: dict[str, TableEntry] = field(default_factory=dict)

    def servers(self) -> dict[str, str | None]:
        """Key -> name of the server the entry sticks to."""
        return {key: entry.server_key for key, entry in self.entries.items()}


_TABLE_HEADER = re.compile(r"^# table: (?P<name>[^,]+), type: .*\bused:(?P<used>\d+)")
_ENTRY = re.compile(r"^0x[0-9a-f]+: (?P<fields>.*)$")


def _fields(text: str) -> dict[str, str]:
    return dict(token.split("=", 1) for token in text.split() if "=" in token)


def _optional_int(value: str | None) -> int | None:
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def parse_table(output: str) -> Table:
    """Parse the output of ``show table <name>``."""
    lines = output.strip().splitlines()
    header = _TABLE_HEADER.match(lines[0]) if lines else None
    if header is None:
        raise RuntimeAPIError(f"not a 'show table' answer: {output.strip()[:200]!r}")
    entries = {}
    for line in lines[1:]:
        match = _ENTRY.match(line.strip())
        if match is None:
            continue
        fields = _fields(match["fields"])
        entries[fields["key"]] = TableEntry(
            key=fields["key"],
            server_id=_optional_int(fields.get("server_id")),
            server_key=fields.get("server_key"),
            expires_ms=_optional_int(fields.get("exp")),
            data={
                name: value
                for name, value in fields.items()
                if name not in {"key", "server_id", "server_key", "exp", "use"}
            },
        )
    return Table(name=header["name"], used=int(header["used"]), entries=entries)


@dataclass(frozen=True)
class TableInfo:
    """One stick table of a process, as the header of ``show table`` describes it."""

    name: str
    type: str
    size: int
    used: int


_TABLE_INFO = re.compile(
    r"^# table: (?P<name>[^,]+), type: (?P<type>[^,]+), size:(?P<size>\d+), used:(?P<used>\d+)"
)


def parse_table_list(output: str) -> list[TableInfo]:
    """Parse the output of ``show table`` without a name: every stick table of the process."""
    infos = []
    for line in output.splitlines():
        match = _TABLE_INFO.match(line.strip())
        if match:
            infos.append(
                TableInfo(match["name"], match["type"], int(match["size"]), int(match["used"]))
            )
    return infos


def list_tables(run: Runner, socket: str = ADMIN_SOCKET) -> list[TableInfo]:
    """Every stick table the serving process holds: the services' and the peers section's."""
    return parse_table_list(run(socket_command("show table", socket)))


def show_table(run: Runner, table: str, socket: str = ADMIN_SOCKET) -> Table:
    """Read stick table ``table`` through the runtime API."""
    return parse_table(run(socket_command(f"show table {table}", socket)))


# --- show peers ---------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """One peer of a peers section, as seen by the process that answered."""

    name: str
    local: bool
    # HAProxy's "active": a session with this peer exists, established or not.
    active: bool
    last_status: str
    # Transport of the current session, as HAProxy names it: "SSL" or "RAW".
    # HAProxy prints it only for a session this process accepted; "" when
    # not shown.
    transport: str = ""
    # Sessions this process opened to the peer since it started (new_conn).
    connections: int = 0

    @property
    def connected(self) -> bool:
        """An established session: active, and the last handshake succeeded."""
        return self.active and self.last_status == "ESTA"


@dataclass(frozen=True)
class PeersSection:
    """A peers section as ``show peers`` prints it."""

    name: str
    flags: int
    peers: tuple[Peer, ...]

    @property
    def resync_done(self) -> bool:
        """The process has its table: learnt from local and remote, or gave up waiting."""
        done = RESYNC_FROM_LOCAL_DONE | RESYNC_FROM_REMOTE_DONE
        return self.flags & done == done

    @property
    def remotes(self) -> tuple[Peer, ...]:
        return tuple(peer for peer in self.peers if not peer.local)


_SECTION = re.compile(r"^0x[0-9a-f]+: \[[^\]]*\] (?P<fields>.*)$")
_PEER = re.compile(
    r"^0x[0-9a-f]+: id=(?P<name>[^(\s]+)\((?P<where>local|remote),(?P<state>active|inactive)\)"
    r"(?P<fields>.*)$"
)
# Fields of a peer's continuation lines that the lab reads (the shared tables
# below them repeat other names, such as id= and flags=).
_PEER_DETAILS = re.compile(r"\b(?P<name>xprt|new_conn)=(?P<value>\S+)")


def parse_peers(output: str) -> dict[str, PeersSection]:
    """Parse the output of ``show peers``: section name -> section."""
    sections: dict[str, PeersSection] = {}
    current: dict | None = None
    peer: dict | None = None

    def close_peer() -> None:
        nonlocal peer
        if peer is not None and current is not None:
            current["peers"].append(Peer(**peer))
        peer = None

    def close() -> None:
        close_peer()
        if current is not None:
            sections[current["name"]] = PeersSection(
                current["name"], current["flags"], tuple(current["peers"])
            )

    for raw in output.splitlines():
        line = raw.strip()
        section = _SECTION.match(line) if not raw.startswith(" ") else None
        if section is not None:
            close()
            fields = _fields(section["fields"])
            current = {"name": fields["id"], "flags": int(fields["flags"], 16), "peers": []}
            continue
        match = _PEER.match(line)
        if match is not None and current is not None:
            close_peer()
            fields = _fields(match["fields"])
            peer = {
                "name": match["name"],
                "local": match["where"] == "local",
                "active": match["state"] == "active",
                "last_status": fields.get("last_status", ""),
            }
            continue
        if peer is not None and line.startswith("shared tables"):
            close_peer()
        elif peer is not None:
            for detail in _PEER_DETAILS.finditer(line):
                if detail["name"] == "xprt":
                    peer["transport"] = detail["value"]
                else:
                    peer["connections"] = int(detail["value"])
    close()
    if not sections and output.strip():
        raise RuntimeAPIError(f"not a 'show peers' answer: {output.strip()[:200]!r}")
    return sections


def show_peers(run: Runner, socket: str = ADMIN_SOCKET) -> dict[str, PeersSection]:
    """Read the state of every peers section through the runtime API."""
    return parse_peers(run(socket_command("show peers", socket)))


# --- show proc (master CLI) ---------------------------------------------------


@dataclass(frozen=True)
class Processes:
    """HAProxy's master and its workers, as the master CLI's ``show proc`` lists them."""

    master_pid: int
    reloads: int
    workers: tuple[int, ...]
    old_workers: tuple[int, ...]
    # Reloads whose new worker never started (HAProxy kept the old one).
    failed_reloads: int = 0
    version: str = ""
    # PID -> uptime as HAProxy prints it (0d00h01m05s), master included.
    uptimes: dict[int, str] = field(default_factory=dict, compare=False)
    # The last reload started no worker: the one serving lived through it
    # (3.2 lists it among the old workers, with no current one).
    last_reload_refused: bool = False


_FAILED = re.compile(r"\[failed:\s*(\d+)\]")


def parse_proc(output: str) -> Processes:
    """Parse the output of ``show proc`` on the master CLI."""
    master_pid = reloads = None
    failed, version = 0, ""
    uptimes: dict[int, str] = {}
    groups: dict[str, list[int]] = {"workers": [], "old workers": []}
    current_survived = None  # reloads the newest current worker lived through
    heading = None
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            continue
        # "[failed: N]" is one column of the master's line; read it apart.
        match = _FAILED.search(line)
        columns = _FAILED.sub("", line).split()
        if len(columns) < 3 or not columns[0].isdigit():
            continue
        pid = int(columns[0])
        if columns[1] == "master":
            master_pid, reloads = pid, int(columns[2])
            failed = int(match[1]) if match else 0
            version = columns[4] if len(columns) > 4 else ""
        elif heading in groups:
            groups[heading].append(pid)
            if heading == "workers":
                survived = int(columns[2])
                current_survived = min(survived, current_survived or survived)
        else:
            continue
        if len(columns) > 3:
            uptimes[pid] = columns[3]
    if master_pid is None or reloads is None:
        raise RuntimeAPIError(f"not a 'show proc' answer: {output.strip()[:200]!r}")
    return Processes(
        master_pid,
        reloads,
        tuple(groups["workers"]),
        tuple(groups["old workers"]),
        failed,
        version,
        uptimes,
        last_reload_refused=failed > 0 and (current_survived is None or current_survived > 0),
    )


def show_proc(run: Runner, socket: str = MASTER_SOCKET) -> Processes:
    """List HAProxy's processes through the master CLI."""
    return parse_proc(run(socket_command("show proc", socket)))


# --- show stat ----------------------------------------------------------------


@dataclass(frozen=True)
class ServerStats:
    """One server of a backend, with the counters the lab looks at."""

    proxy: str
    name: str
    status: str
    # Sessions sent to the server since the process started; all zero means
    # this process's round robin has not moved yet.
    total_sessions: int
    # The server's id in its backend: its position in the configuration
    # unless the configuration sets one.
    server_id: int = 0
    # ip:port HAProxy sends to.
    address: str = ""


def parse_stat(output: str) -> list[ServerStats]:
    """Parse the CSV of ``show stat``: the server rows, in order."""
    lines = output.strip().splitlines()
    if not lines or not lines[0].startswith("# pxname,svname,"):
        raise RuntimeAPIError(f"not a 'show stat' answer: {output.strip()[:200]!r}")
    rows = csv.DictReader([lines[0].removeprefix("# "), *lines[1:]])
    return [
        ServerStats(
            row["pxname"],
            row["svname"],
            row["status"],
            int(row["stot"] or 0),
            int(row["sid"]),
            row.get("addr") or "",
        )
        for row in rows
        if row["svname"] not in ("FRONTEND", "BACKEND")
    ]


def show_servers(run: Runner, backend: str, socket: str = ADMIN_SOCKET) -> list[ServerStats]:
    """The servers of ``backend`` and their counters, through the runtime API."""
    servers = parse_stat(run(socket_command("show stat", socket)))
    return [server for server in servers if server.proxy == backend]
