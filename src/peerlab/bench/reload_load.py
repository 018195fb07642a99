"""Measurement 3: what reloads cost the clients of a load balancer under load.

Sticky sessions go to LB1 at a paced rate (``peerlab.bench.loadgen``): first
for a while with nothing happening, then while LB1 is reloaded again and
again (each reload once the previous one settled: new worker running, table
learnt from the old one, remote peers connected), then for a while after.
Every session was sent once before the load, so its first server is known;
the record says for every request whether it was answered and by which
server, so failed requests, sessions that changed server and latency
percentiles come out per phase. Requests the new worker held (the role's
handover hold, which says so in a response header where the inventory asks
for one) are recorded with how long they waited; after each reload, once it
settled, one request with a session no member knows tells what the hold
costs such a client then.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Sequence

from peerlab.bench.loadgen import PacedLoad
from peerlab.bench.replication import direct
from peerlab.faults import reload_storm
from peerlab.lab import LoadBalancer
from peerlab.runtime import show_table


def first_answers(lb: LoadBalancer, keys: Sequence[str]) -> dict[str, str]:
    """Send every session once; the server each one got."""
    answers = {}
    connection = http.client.HTTPConnection(*direct(lb), timeout=5)
    try:
        for key in keys:
            connection.request("GET", "/", headers={"Cookie": f"{lb.names.cookie}={key}"})
            response = connection.getresponse()
            answers[key] = response.read().decode().strip()
            if response.status != 200:
                raise RuntimeError(f"{lb.name} answered {response.status} to session {key}")
    finally:
        connection.close()
    return answers


def unknown_session(lb: LoadBalancer, key: str) -> dict:
    """One request as a session no member knows, on a new connection: {ms, held}."""
    connection = http.client.HTTPConnection(*direct(lb), timeout=5)
    try:
        started = time.monotonic()
        connection.request("GET", "/", headers={"Cookie": f"{lb.names.cookie}={key}"})
        response = connection.getresponse()
        response.read()
        took = (time.monotonic() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"{lb.name} answered {response.status} to session {key}")
        held = response.getheader(lb.names.hold_header, "") if lb.names.hold_header else ""
    finally:
        connection.close()
    return {"ms": round(took, 3), "held": held}


def entries_of(lb: LoadBalancer, keys: Sequence[str]) -> int:
    """How many of ``keys`` are in ``lb``'s stick table."""
    return len(set(keys) & set(show_table(lb.run, lb.names.table).entries))


def wait_for(load: PacedLoad, seconds: float) -> None:
    """Let the load run on for ``seconds``: a phase of the measurement, nothing to wait for."""
    time.sleep(max(0.0, seconds))


def measure(
    lb: LoadBalancer,
    others: Sequence[LoadBalancer],
    keys: Sequence[str],
    balance: str,
    rate: float,
    reloads: int,
    quiet_s: float,
    progress: Callable[[str], None] = lambda text: None,
) -> dict:
    """``reloads`` reloads of ``lb`` under ``rate`` requests per second of ``keys``."""
    known = first_answers(lb, keys)
    entries_before = entries_of(lb, keys)
    remotes = [other.name for other in others]
    done = []
    hold_header = lb.names.hold_header or None
    with PacedLoad(
        direct(lb), lb.names.cookie, keys, rate, known=known, hold_header=hold_header
    ) as load:
        progress(f"{balance}: {rate:g} req/s, {quiet_s:g} s before the reloads")
        wait_for(load, quiet_s)
        during = load.now()
        for number in range(reloads):
            progress(f"{balance}: reload {number + 1}/{reloads} under load")
            at = load.now()
            (took,) = reload_storm(lb, 1, remotes)
            unknown = unknown_session(lb, f"unknown-{keys[0][:8]}-{number}")
            done.append({"at_s": round(at, 3), "took_s": round(took, 3), "unknown": unknown})
        after = load.now()
        progress(f"{balance}: {quiet_s:g} s after the reloads")
        wait_for(load, quiet_s)
        end = load.now()
        record = load.stop()
    requests = record.to_dict()
    return {
        "balance": balance,
        "target_rps": rate,
        "sessions": len(keys),
        "reloads": done,
        "phases": {
            "before": [0.0, round(during, 3)],
            "during": [round(during, 3), round(after, 3)],
            "after": [round(after, 3), round(end, 3)],
        },
        "requests": requests,
        "held": record.held_requests(),
        "failed": len(requests["ok"]) - sum(requests["ok"]),
        "retried": record.retried,
        "moved_sessions": len(record.moved_sessions()),
        "entries_before": entries_before,
        "entries_after": entries_of(lb, keys),
    }
