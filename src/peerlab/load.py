"""Bounded client load: known sessions sent round and round while something else happens.

Every answer is compared with the first one the session got, so a session
that moves to another server during a fault is counted, as is every failed
request, with when it was sent and when it failed. The load stops when
asked, or at its request or time bound, whichever comes first.

A load that did not cover what it was meant to watch fails loudly when it
is stopped (``LoadError``): it sent no request, it stopped at a bound before
it was asked to, or its thread failed. A test asserting "no request failed"
on such a load would otherwise pass on what it never saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import requests

from peerlab.access import REQUEST_TIMEOUT_S, backend_for
from peerlab.sessions import SESSION_COOKIE

MAX_REQUESTS = 20_000
MAX_SECONDS = 600.0

# Why a load stopped (LoadReport.stopped_by).
STOPPED_WHEN_ASKED = "asked"
STOPPED_AT_REQUEST_BOUND = "request bound"
STOPPED_AT_TIME_BOUND = "time bound"


class LoadError(RuntimeError):
    """The load did not run for as long as it was meant to, or failed."""


def bound_reached(sent: int, max_requests: int, seconds: float, max_seconds: float) -> str:
    """The bound a load that has sent ``sent`` requests in ``seconds`` has reached
    (STOPPED_AT_...), or "" while it has reached none."""
    if sent >= max_requests:
        return STOPPED_AT_REQUEST_BOUND
    if seconds >= max_seconds:
        return STOPPED_AT_TIME_BOUND
    return ""


def recording_failures(
    target: Callable[..., None], failures: list[BaseException]
) -> Callable[..., None]:
    """``target`` for a load's thread: what it raises is kept in ``failures``, for
    the load's stop() to raise in the caller's thread."""

    def run(*args: object) -> None:
        try:
            target(*args)
        except BaseException as error:
            failures.append(error)

    return run


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
    # STOPPED_WHEN_ASKED, or the bound it reached first.
    stopped_by: str = ""

    def summary(self) -> str:
        return (
            f"{self.requests} requests in {self.seconds:.1f} s, {self.answered} answered, "
            f"{len(self.errors)} failed, {len(self.moved)} sessions moved"
        )


class SessionLoad:
    """Send ``sessions`` through every URL of ``urls`` in turn, in a background thread.

    ``request_timeout`` bounds each request (short ones notice an address that
    answers nowhere); ``interval`` paces the requests, so that a long fault
    does not reach the request bound. Stopping it (or leaving the ``with``
    block) raises ``LoadError`` when it sent nothing, stopped at a bound
    first, or its thread failed.
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
        if not urls or not sessions:
            raise ValueError(f"a load needs URLs and sessions: {urls!r}, {sessions!r}")
        self.urls, self.sessions, self.cookie = list(urls), list(sessions), cookie
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.request_timeout, self.interval = request_timeout, interval
        self.report = LoadReport()
        self._stop = threading.Event()
        self._failures: list[BaseException] = []
        self._thread = threading.Thread(
            target=recording_failures(self._run, self._failures), daemon=True
        )

    def __enter__(self) -> SessionLoad:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.stop()
        else:
            # The block's own failure says more than the load's.
            self._stop.set()
            self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> LoadReport:
        """Stop the load and return its report; LoadError if it did not cover its time."""
        self._stop.set()
        self._thread.join()
        report = self.report
        if self._failures:
            (failure,) = self._failures
            raise LoadError(f"the load failed after {report.summary()}: {failure!r}") from failure
        if report.requests == 0:
            raise LoadError(f"the load sent no request to {self.urls}")
        if report.stopped_by != STOPPED_WHEN_ASKED:
            raise LoadError(
                f"the load stopped at its {report.stopped_by} (max_requests={self.max_requests}, "
                f"max_seconds={self.max_seconds:g}) before it was asked to: {report.summary()}; "
                "what came after went unwatched"
            )
        return report

    def _run(self) -> None:
        first: dict[int, str] = {}
        started = time.monotonic()
        report = self.report
        while not self._stop.is_set():
            for number in self.sessions:
                for url in self.urls:
                    stopped_by = self._stopped_by(report.requests, time.monotonic() - started)
                    if stopped_by:
                        report.seconds = time.monotonic() - started
                        report.stopped_by = stopped_by
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
        report.stopped_by = STOPPED_WHEN_ASKED

    def _stopped_by(self, requests_sent: int, seconds: float) -> str:
        if self._stop.is_set():
            return STOPPED_WHEN_ASKED
        return bound_reached(requests_sent, self.max_requests, seconds, self.max_seconds)
