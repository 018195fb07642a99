"""Measurement 1: how long until the other load balancer knows a new session.

A new session (a cookie no table has) goes through LB1 over a kept-alive
connection; the agent on LB2 asks LB2's table for that key in a loop, from
just before the request leaves until the entry is there. Both ends read
``CLOCK_MONOTONIC``, shared by the host and its containers, so:

- ``after_request_ms``: from the request leaving the host to the entry on
  LB2; an upper bound that includes LB1's round trip to the backend (HAProxy
  stores a ``stick on`` entry when the server's response arrives);
- ``after_response_ms``: from the response reaching the host to the entry on
  LB2; can be negative when the update reached LB2 before the response
  reached the client.

The agent polls every ``POLL_PAUSE_US`` microseconds rather than spinning: on
two cores a spinning watcher takes the CPU from the HAProxy and Apache it is
timing (tails of 100-300 ms were seen with it). The poll period is recorded,
as the measurement's resolution.

The floor is the bridge's round trip, measured in the same run as the time a
TCP connection to LB2 takes to be accepted.
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import time
from collections.abc import Callable

from peerlab.bench.agent import Agent
from peerlab.lab import LoadBalancer

POLL_PAUSE_US = 100
WATCH_LIMIT_MS = 2000
RTT_SAMPLES = 200
HTTP_TIMEOUT_S = 5.0
HTTP_PORT = 80


def bench_key(tag: str, number: int) -> str:
    """A session key no other run uses: 32 hex characters, like the demo's."""
    return hashlib.md5(f"bench-{tag}-{number}".encode(), usedforsecurity=False).hexdigest()


def connect_rtt_ms(address: str, port: int = HTTP_PORT, samples: int = RTT_SAMPLES) -> list[float]:
    """Milliseconds until a TCP connection to ``address`` is accepted: one round trip."""
    rtts = []
    for _ in range(samples):
        started = time.monotonic_ns()
        with socket.create_connection((address, port), timeout=HTTP_TIMEOUT_S):
            rtts.append((time.monotonic_ns() - started) / 1e6)
    return rtts


def direct(lb: LoadBalancer) -> tuple[str, int]:
    """Where the bench sends HTTP to a load balancer: its frontend on its own address,
    not a port the lab forwards on localhost (one proxy less between the two)."""
    return lb.address, HTTP_PORT


def one_run(
    entry: LoadBalancer,
    watcher: Agent,
    tag: str,
    sessions: int,
    progress: Callable[[int], None] = lambda done: None,
    endpoint: tuple[str, int] | None = None,
) -> dict:
    """``sessions`` new sessions through ``entry``, each watched for on the agent's host."""
    after_request, after_response = [], []
    missed = polls = 0
    host, port = endpoint or direct(entry)
    connection = http.client.HTTPConnection(host, port, timeout=HTTP_TIMEOUT_S)
    poll_started = time.monotonic()
    try:
        for number in range(sessions):
            key = bench_key(tag, number)
            watcher.send(f"watch {key} {WATCH_LIMIT_MS} {POLL_PAUSE_US}")
            watcher.expect("armed")
            sent = time.monotonic_ns()
            connection.request("GET", "/", headers={"Cookie": f"{entry.names.cookie}={key}"})
            response = connection.getresponse()
            response.read()
            received = time.monotonic_ns()
            if response.status != 200:
                raise RuntimeError(f"{entry.name} answered {response.status} to session {key}")
            answer = watcher.readline(WATCH_LIMIT_MS / 1000 + 10).split()
            polls += int(answer[-1])
            if answer[0] == "seen":
                seen = int(answer[1])
                after_request.append(round((seen - sent) / 1e6, 4))
                after_response.append(round((seen - received) / 1e6, 4))
            else:
                missed += 1
            progress(number + 1)
    finally:
        connection.close()
    seconds = time.monotonic() - poll_started
    return {
        "after_request_ms": after_request,
        "after_response_ms": after_response,
        "missed": missed,
        "polls_per_session": round(polls / max(sessions, 1), 1),
        "seconds": round(seconds, 1),
    }


def measure(
    entry: LoadBalancer,
    other: LoadBalancer,
    watcher: Agent,
    tag: str,
    runs: int,
    sessions: int,
    progress: Callable[[str], None] = lambda text: None,
) -> dict:
    """``runs`` runs of ``sessions`` new sessions through ``entry``, watched on ``other``."""
    watcher.check_shared_clock()
    rtt = connect_rtt_ms(other.address)
    results = []
    for run in range(runs):
        results.append(
            one_run(
                entry,
                watcher,
                f"{tag}-{run}",
                sessions,
                lambda done, run=run: progress(
                    f"replication run {run + 1}/{runs}: {done}/{sessions}"
                ),
            )
        )
    return {
        "rtt_ms": [round(value, 4) for value in rtt],
        "poll_pause_us": POLL_PAUSE_US,
        "runs": results,
    }
