"""HAProxy's master CLI and runtime API, read on the load balancer itself.

What the collection's modules need to tell whether a reload took: the
master's reload and failure counters and its workers (``show proc``), which
process answers the runtime API (``show info``) and whether its peers
section has learnt its table (``show peers``). The parsers accept the output
of HAProxy 2.6, 3.0 and 3.2.
"""

from __future__ import annotations

import re
import socket

# Low bits of a peers section's flags, the same from 2.6 to 3.2: the section
# learnt its table from the old local process, and from a remote peer (or no
# longer waits for them).
RESYNC_FROM_LOCAL_DONE = 0x1
RESYNC_FROM_REMOTE_DONE = 0x2


class RuntimeAPIError(Exception):
    """A socket did not answer, or answered something else than expected."""


def ask(path, command, timeout=5.0):
    """Send one command (or several, separated by ';') to a UNIX socket; return the answer."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    try:
        client.connect(path)
        client.sendall(command.encode() + b"\n")
        # End of input: HAProxy answers, then closes (as with socat).
        client.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = client.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as error:
        raise RuntimeAPIError(f"{path}: {command!r}: {error}") from error
    finally:
        client.close()
    return b"".join(chunks).decode(errors="replace")


_MASTER = re.compile(
    r"^(?P<pid>\d+)\s+master\s+(?P<reloads>\d+)(?:\s+\[failed:\s*(?P<failed>\d+)\])?"
)
_PROCESS = re.compile(
    r"^(?P<pid>\d+)\s+worker\s+(?P<reloads>\d+)\s+(?P<uptime>\S+)\s+(?P<version>\S+)"
)


def parse_proc(text):
    """``show proc`` of the master CLI as a dict.

    master_pid, reloads, failed (reloads whose new worker never started; 0
    where HAProxy does not count them), workers and old_workers: lists of
    {pid, reloads, uptime, version}. A worker's reloads is how many reloads it
    has lived through: 0 for a worker started by the last one.
    """
    state = {"master_pid": None, "reloads": None, "failed": 0, "workers": [], "old_workers": []}
    heading = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            continue
        master = _MASTER.match(line)
        if master:
            state["master_pid"] = int(master["pid"])
            state["reloads"] = int(master["reloads"])
            state["failed"] = int(master["failed"] or 0)
            continue
        process = _PROCESS.match(line)
        if process and heading in ("workers", "old workers"):
            state["workers" if heading == "workers" else "old_workers"].append(
                {
                    "pid": int(process["pid"]),
                    "reloads": int(process["reloads"]),
                    "uptime": process["uptime"],
                    "version": process["version"],
                }
            )
    if state["master_pid"] is None:
        raise RuntimeAPIError(f"not a 'show proc' answer: {text.strip()[:200]!r}")
    return state


def serving_worker(proc):
    """The worker that serves now: the newest current one. After a reload HAProxy
    3.2 refused, it lists the one still serving among the old workers."""
    workers = proc["workers"] or proc["old_workers"]
    return min(workers, key=lambda w: w["reloads"]) if workers else None


def ask_worker(master_socket, pid, commands, timeout=5.0):
    """Runtime API ``commands`` of worker ``pid``, through the master CLI.

    Not the stats socket's path: that file can point to a dead socket after a
    refused reload (HAProxy 3.2 replaces it before its new worker fails),
    and during a reload it may reach either worker.
    """
    return ask(master_socket, ";".join(f"@!{pid} {command}" for command in commands), timeout)


_INFO_PID = re.compile(r"^Pid:\s*(\d+)\s*$", re.MULTILINE)
_SECTION = re.compile(
    r"^0x[0-9a-f]+: \[[^\]]*\] .*\bid=(?P<name>\S+) .*\bflags=0x(?P<flags>[0-9a-f]+)"
)


def answering_pid(text):
    """The Pid line of ``show info``: which worker answered the runtime API."""
    match = _INFO_PID.search(text)
    return int(match.group(1)) if match else None


def peers_flags(text, section):
    """The flags of peers section ``section`` in ``show peers``, or None."""
    for line in text.splitlines():
        match = _SECTION.match(line)
        if match and match["name"] == section:
            return int(match["flags"], 16)
    return None


def resync_done(flags):
    """The section has its table: learnt from the old process and from a peer, or gave up."""
    done = RESYNC_FROM_LOCAL_DONE | RESYNC_FROM_REMOTE_DONE
    return flags is not None and flags & done == done


_PEER = re.compile(
    r"^\s*0x[0-9a-f]+: id=(?P<name>[^(\s]+)\((?P<where>local|remote),(?P<state>active|inactive)\)"
    r".*\blast_status=(?P<status>\S+)"
)
_KEY = re.compile(r"^0x[0-9a-f]+: key=(?P<key>\S+) ")


def remote_peers(text, section):
    """Remote peer name -> connected (an established session) in section ``section``."""
    peers, inside = {}, False
    for line in text.splitlines():
        header = _SECTION.match(line)
        if header:
            inside = header["name"] == section
            continue
        match = _PEER.match(line)
        if inside and match and match["where"] == "remote":
            peers[match["name"]] = match["state"] == "active" and match["status"] == "ESTA"
    return peers


def table_keys(text):
    """The keys of a ``show table <name>`` answer."""
    if not text.startswith("# table:"):
        raise RuntimeAPIError(f"not a 'show table' answer: {text.strip()[:200]!r}")
    return [match["key"] for match in map(_KEY.match, text.splitlines()) if match]
