"""Measurement 4: what the peers cost in throughput and latency.

wrk (Debian's package) sends as many requests as LB1 takes for a fixed time,
every request a new session (a cookie no table has), so every request makes
an entry that, with peers, is sent to the other member: the worst case for
replication. The same configuration runs with its peers section and without
(the section and the table's ``peers`` argument removed, nothing else), in
alternating rounds so that drift of the machine falls on both sides.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from peerlab.bench.replication import direct
from peerlab.lab import LoadBalancer
from peerlab.runtime import TRANSIENT_ERRORS, show_proc, socket_command
from peerlab.sync import wait_synced, wait_until

CONFIG = "/etc/haproxy/haproxy.cfg"
SAVED = "/etc/haproxy/haproxy.cfg.peerlab-bench"
WRK_MARK = "peerlab-wrk "

# Every request a new session; done() prints one JSON line the bench reads.
WRK_SCRIPT = r"""
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  prefix = string.format("%s%02x", args[1], id)
  cookie = args[2]
  n = 0
end
function request()
  n = n + 1
  return wrk.format("GET", "/", {["Cookie"] = string.format("%s=%s%018x", cookie, prefix, n)})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'peerlab-wrk {"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


class ThroughputError(RuntimeError):
    """wrk did not run, or printed no result."""


def parse_wrk(output: str) -> dict:
    """The JSON line the script's ``done()`` printed."""
    for line in output.splitlines():
        if line.startswith(WRK_MARK):
            return json.loads(line.removeprefix(WRK_MARK))
    raise ThroughputError(f"no result line in wrk's output: {output.strip()[-300:]!r}")


def run_wrk(url: str, cookie: str, prefix: str, seconds: int, connections: int) -> dict:
    """One wrk round against ``url``; its figures as a results document's round."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        argv = [
            "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
            "-s", script.name, url, "--", prefix, cookie,
        ]  # fmt: skip
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=seconds + 60, check=False
            )
        except FileNotFoundError as error:
            raise ThroughputError("wrk is not installed: `make bench` installs it") from error
    finally:
        Path(script.name).unlink()
    if result.returncode != 0:
        raise ThroughputError(f"wrk exited {result.returncode}: {result.stderr.strip()}")
    figures = parse_wrk(result.stdout)
    seconds_run = figures["duration_us"] / 1e6
    return {
        "seconds": round(seconds_run, 2),
        "requests": figures["requests"],
        "requests_per_s": round(figures["requests"] / seconds_run, 1),
        "errors": figures["errors"] + figures["status_errors"],
        "latency_ms": {name: value / 1000 for name, value in figures["latency_us"].items()},
    }


def without_peers(config: str, section: str) -> str:
    """``config`` with the peers section ``section`` and every table's reference to it removed."""
    lines, skipping = [], False
    for line in config.splitlines():
        if re.match(rf"^peers\s+{re.escape(section)}\s*$", line):
            skipping = True
            continue
        if skipping and line and not line[0].isspace() and not line.startswith("#"):
            skipping = False
        if skipping:
            continue
        lines.append(re.sub(rf"\s+peers\s+{re.escape(section)}(?=\s|$)", "", line))
    return "\n".join(lines) + "\n"


def reload_settled(lb: LoadBalancer, remotes: list[str]) -> None:
    """Reload ``lb`` and wait until its new worker runs alone and has settled."""
    before = show_proc(lb.run).reloads
    lb.systemctl("reload")

    def probe() -> tuple[bool, int]:
        procs = show_proc(lb.run)
        return procs.reloads > before and not procs.old_workers, procs.reloads

    wait_until(probe, 60, f"{lb.name} reloaded", tolerate=TRANSIENT_ERRORS)
    if remotes:
        wait_synced(lb.run, lb.names.section, remotes, 60, what=f"{lb.name} settled")


def set_peers(lb: LoadBalancer, on: bool, remotes: list[str]) -> None:
    """Run ``lb`` with its configuration as the role wrote it, or without its peers."""
    if on:
        lb.run(f"test ! -e {SAVED} || mv {SAVED} {CONFIG}")
        reload_settled(lb, remotes)
        return
    current = lb.run(f"cat {SAVED} 2>/dev/null || cat {CONFIG}")
    stripped = without_peers(current, lb.names.section)
    lb.run(
        f"test -e {SAVED} || cp -p {CONFIG} {SAVED}; "
        f"printf %s {shlex.quote(stripped)} > {CONFIG}.new && "
        f"haproxy -c -q -f {CONFIG}.new && mv {CONFIG}.new {CONFIG}"
    )
    reload_settled(lb, [])


def measure(
    lb: LoadBalancer,
    others: list[LoadBalancer],
    tag: str,
    rounds: int,
    seconds: int,
    connections: int,
    progress: Callable[[str], None] = lambda text: None,
) -> list[dict]:
    """``rounds`` pairs of wrk rounds against ``lb``, peers on then off, alternating."""
    remotes = [other.name for other in others]
    results = []
    host, port = direct(lb)
    url = f"http://{host}:{port}/"
    try:
        for number in range(rounds):
            for on in (True, False):
                set_peers(lb, on, remotes)
                progress(f"round {number + 1}/{rounds}: peers {'on' if on else 'off'}, {seconds} s")
                for each in (lb, *others):
                    each.run(socket_command(f"clear table {each.names.table}"))
                prefix = f"{tag[:8]:0>8}{number:02x}{int(on):02x}"
                results.append(
                    {"peers": on, **run_wrk(url, lb.names.cookie, prefix, seconds, connections)}
                )
    finally:
        set_peers(lb, True, remotes)
    return results
