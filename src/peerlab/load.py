"""Bounded client load: known sessions sent round and round while something else happens.

Every answer is compared with the first one the session got, so a session
that moves to another server during a fault is counted, as is every failed
request, with when it was sent and when it failed. The load stops when
asked, or at its request or time bound, whichever comes first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import requests

from peerlab.access import REQUEST_TIMEOUT_S, backend_for
from peerlab.sessions import SESSION_COOKIE

MAX_REQUESTS = 20_000
MAX_SECONDS = 600.0


@dataclass
class LoadReport:
    """What the clients saw."""

    requests: int = 0
    # Requests answered by a backend.
    answered: int = 0
    errors: list[str] = field(default_factory=list)
    # (sent, failed) of every failed request, in time.monotonic() seconds.
    failures: list[tuple[float, float]] = field(default_factory=list)
    # (url, session) -> (first answer, a later different answer)
    moved: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    seconds: float = 0.0


class SessionLoad:
    """Send ``sessions`` through every URL of ``urls`` in turn, in a background thread.

    ``request_timeout`` bounds each request (short ones notice an address that
    answers nowhere); ``interval`` paces the requests, so that a long fault
    does not reach the request bound.
    """

    def __init__(
        self,
        urls: Sequence[str],
        sessions: Sequence[int],
        cookie: str = SESSION_COOKIE,
        max_requests: int = MAX_REQUESTS,
        max_seconds: float = MAX_SECONDS,
        request_timeout: float = REQUEST_TIMEOUT_S,
        interval: float = 0.0,
    ) -> None:
        self.urls, self.sessions, self.cookie = list(urls), list(sessions), cookie
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.request_timeout, self.interval = request_timeout, interval
        self.report = LoadReport()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SessionLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> LoadReport:
        self._stop.set()
        self._thread.join()
        return self.report

    def _run(self) -> None:
        first: dict[int, str] = {}
        started = time.monotonic()
        report = self.report
        while not self._stop.is_set():
            for number in self.sessions:
                for url in self.urls:
                    if (
                        self._stop.is_set()
                        or report.requests >= self.max_requests
                        or time.monotonic() - started >= self.max_seconds
                    ):
                        report.seconds = time.monotonic() - started
                        return
                    report.requests += 1
                    sent = time.monotonic()
                    try:
                        answer = backend_for(url, number, self.cookie, self.request_timeout)
                    except requests.RequestException as error:
                        report.failures.append((sent, time.monotonic()))
                        report.errors.append(f"{url} session {number}: {type(error).__name__}")
                        answer = None
                    if self.interval:
                        # Pacing of the load, not a wait for a condition.
                        self._stop.wait(self.interval)
                    if answer is None:
                        continue
                    report.answered += 1
                    seen = first.setdefault(number, answer)
                    if answer != seen:
                        report.moved.setdefault((url, number), (seen, answer))
        report.seconds = time.monotonic() - started
