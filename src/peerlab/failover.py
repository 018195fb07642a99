"""A failover of the floating address under sticky load: what the clients see.

The load balancers share a floating address (keepalived, VRRP): the member
that holds it serves it while its HAProxy frontend accepts connections. A
failover here stops HAProxy on the holder while known sessions go to the
floating address, waits until another member holds the address and answers,
starts HAProxy again, and, where the members preempt, waits until the
address is back. The clients count failed requests and sessions answered by
another backend than before; the figures say how long they saw errors.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import requests

from peerlab.access import backend_for
from peerlab.faults import FaultError
from peerlab.lab import LoadBalancer, wait_replicated
from peerlab.load import LoadReport, SessionLoad
from peerlab.runtime import TRANSIENT_ERRORS
from peerlab.sync import wait_synced, wait_until

IP_ADDR = "ip -o -4 addr show"
# The load's requests give up after this long: an address that answers
# nowhere (moving) shows as a failure, not as one slow request.
REQUEST_TIMEOUT_S = 1.0
# Pacing of the load: about 100 requests a second at most.
REQUEST_INTERVAL_S = 0.01
# Answered requests the load must count after each move before it stops,
# so that the last failure of a move is behind it.
ANSWERS_AFTER_MOVE = 100

_ADDRESS_LINE = re.compile(r"^\d+:\s+(?P<interface>[^\s@]+)(?:@\S+)?\s+inet\s+(?P<address>[\d.]+)/")


def parse_ip_addr(output: str) -> dict[str, str]:
    """IPv4 address -> interface, from ``ip -o -4 addr show`` (one address per line)."""
    addresses = {}
    for line in output.splitlines():
        match = _ADDRESS_LINE.match(line.strip())
        if match:
            addresses[match["address"]] = match["interface"]
    return addresses


def holders(lbs: Sequence[LoadBalancer], address: str) -> list[LoadBalancer]:
    """The load balancers that hold ``address`` on one of their interfaces now."""
    return [lb for lb in lbs if address in parse_ip_addr(lb.run(IP_ADDR))]


def error_window(failures: Iterable[tuple[float, float]]) -> float:
    """Seconds from the first failed request's start to the last one's failure; 0 if none.

    A request that timed out was failing for all of its timeout, so the
    window runs from when the first failed request was sent to when the last
    one gave up.
    """
    failures = list(failures)
    if not failures:
        return 0.0
    return max(failed for _, failed in failures) - min(sent for sent, _ in failures)


def send_window(failures: Iterable[tuple[float, float]]) -> float:
    """Seconds from the first to the last failed request's start; 0 if none.

    How long requests that were sent went on failing, without the last one's
    own wait: one request that timed out has a send window of 0 and an error
    window of its timeout.
    """
    sent = [start for start, _ in failures]
    return max(sent) - min(sent) if sent else 0.0


def error_windows(failures: Iterable[tuple[float, float]], gap: float) -> list[float]:
    """The error window of each burst of failures, in time order: a burst ends
    where no request failed for more than ``gap`` seconds."""
    bursts: list[list[tuple[float, float]]] = []
    for sent, failed in sorted(failures):
        if bursts and sent - max(f for _, f in bursts[-1]) <= gap:
            bursts[-1].append((sent, failed))
        else:
            bursts.append([(sent, failed)])
    return [error_window(burst) for burst in bursts]


def split_failures(
    failures: Iterable[tuple[float, float]], at: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Failed requests sent before ``at``, and those sent at or after it."""
    before, after = [], []
    for sent, failed in failures:
        (before if sent < at else after).append((sent, failed))
    return before, after


@dataclass
class FailoverReport:
    """What a failover did and what the clients saw (seconds, counts)."""

    address: str
    holder: str
    took_over: str
    # From stopping HAProxy on the holder until another member held the
    # address and it answered.
    moved_after_s: float
    # From starting HAProxy again until the address was back on the holder;
    # None where the members do not preempt (the address stays).
    back_after_s: float | None
    # First to last failed request around the move, and around the way back.
    error_window_s: float
    back_error_window_s: float
    # First to last failed request's start on the way back.
    back_send_window_s: float
    failed: int
    back_failed: int
    requests: int
    sessions: int
    moved: int
    moved_sessions: dict[str, tuple[str, str]]

    def to_dict(self) -> dict:
        document = asdict(self)
        for key, value in document.items():
            if isinstance(value, float):
                document[key] = round(value, 2)
        return document


def wait_holder(
    lbs: Sequence[LoadBalancer],
    address: str,
    url: str,
    probe_session: int,
    cookie: str,
    timeout: float,
    expected: LoadBalancer | None = None,
    not_on: LoadBalancer | None = None,
) -> LoadBalancer:
    """Wait until exactly one load balancer holds ``address`` (``expected``, or any
    but ``not_on``) and ``url`` answers; return it."""

    def probe() -> tuple[bool, LoadBalancer | str]:
        now = holders(lbs, address)
        names = [lb.name for lb in now]
        if len(now) != 1:
            return False, f"held by {names or 'nobody'}"
        (holder,) = now
        if (expected and holder is not expected) or holder is not_on:
            return False, f"held by {holder.name}"
        try:
            backend_for(url, probe_session, cookie, REQUEST_TIMEOUT_S)
        except requests.RequestException as error:
            return False, f"held by {holder.name}, {url} does not answer: {type(error).__name__}"
        return True, holder

    where = expected.name if expected else f"a member other than {not_on.name}" if not_on else "one"
    what = f"{address} held by {where} and answering"
    return wait_until(probe, timeout, what, tolerate=TRANSIENT_ERRORS)


def failover(
    lbs: Sequence[LoadBalancer],
    address: str,
    url: str,
    sessions: Sequence[int],
    preempt: bool = True,
    timeout: float = 120.0,
    progress: Callable[[str], None] = lambda _: None,
) -> FailoverReport:
    """Stop HAProxy on the member holding ``address`` while ``sessions`` go to ``url``
    (the floating address as clients reach it), then start it again; report.

    HAProxy is started again also when something fails on the way.
    """
    cookie = lbs[0].names.cookie
    now = holders(lbs, address)
    if len(now) != 1:
        raise FaultError(
            f"{address} is held by {[lb.name for lb in now] or 'no load balancer'}; a failover "
            "needs exactly one holder: is keepalived running on every load balancer?"
        )
    (holder,) = now
    others = [lb for lb in lbs if lb is not holder]
    progress(f"sessions through {address} (held by {holder.name})")
    for number in sessions:
        backend_for(url, number, cookie)
    for other in others:
        wait_replicated(other, list(sessions), timeout)

    load = SessionLoad(
        [url],
        sessions,
        cookie,
        max_seconds=4 * timeout,
        request_timeout=REQUEST_TIMEOUT_S,
        interval=REQUEST_INTERVAL_S,
    )
    with load:
        report = load.report
        answered_after(report, len(sessions), timeout, "the load's first round")
        progress(f"stopping HAProxy on {holder.name}")
        stopped = time.monotonic()
        holder.systemctl("stop")
        try:
            took_over = wait_holder(lbs, address, url, sessions[0], cookie, timeout, not_on=holder)
            moved_after = time.monotonic() - stopped
            progress(f"{address} moved to {took_over.name}: the load goes on")
            answered_after(report, ANSWERS_AFTER_MOVE, timeout, f"answers through {took_over.name}")
        finally:
            progress(f"starting HAProxy on {holder.name}")
            started = time.monotonic()
            holder.systemctl("start")
        remotes = [other.name for other in others]
        wait_synced(holder.run, holder.names.section, remotes, timeout, f"{holder.name} settled")
        back_after = None
        if preempt:
            progress(f"waiting for {address} to come back to {holder.name}")
            wait_holder(lbs, address, url, sessions[0], cookie, timeout, expected=holder)
            back_after = time.monotonic() - started
            answered_after(report, ANSWERS_AFTER_MOVE, timeout, f"answers through {holder.name}")
    around_move, around_back = split_failures(report.failures, started)
    return FailoverReport(
        address=address,
        holder=holder.name,
        took_over=took_over.name,
        moved_after_s=moved_after,
        back_after_s=back_after,
        error_window_s=error_window(around_move),
        back_error_window_s=error_window(around_back),
        back_send_window_s=send_window(around_back),
        failed=len(around_move),
        back_failed=len(around_back),
        requests=report.requests,
        sessions=len(sessions),
        moved=len({number for _, number in report.moved}),
        moved_sessions={str(number): seen for (_, number), seen in report.moved.items()},
    )


def answered_after(report: LoadReport, count: int, timeout: float, what: str) -> None:
    """Wait until the load counts ``count`` more answered requests than now."""
    target = report.answered + count

    def probe() -> tuple[bool, str]:
        return report.answered >= target, f"{report.answered}/{target} answered"

    wait_until(probe, timeout, what)
