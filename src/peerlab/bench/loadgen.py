"""A paced HTTP load of sticky sessions, for what a reload costs the clients.

Each of ``workers`` threads keeps one HTTP/1.1 connection to the load
balancer and sends its share of the sessions round and round, at its share
of ``rate`` requests per second (scheduled send times, so a slow answer does
not lower the rate afterwards), until stopped or a bound is reached. Every
request is recorded: when it was sent, how long it took, whether it got a
backend's answer, and whether that answer differed from the session's first.

Where the load balancers say that they held a request (the handover hold's
response header, ``hold_header``), the record keeps what they said.

Like a browser, a worker retries a request once, on a new connection, when
the connection it reused was closed before any byte of the answer came back
(a HAProxy worker that is stopping closes its idle connections); such
retries are counted apart. A request that still gets no answer is a failure.

A worker that fails makes ``stop()`` raise ``LoadError``; ``stopped_at``
says which bound stopped the load before it was asked to (a test that
watches a fault through the load requires none).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from peerlab.load import LoadError, bound_reached, recording_failures

MAX_REQUESTS = 200_000
MAX_SECONDS = 900.0
TIMEOUT_S = 5.0


@dataclass
class Record:
    """Parallel lists, one element per request."""

    t_s: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    ok: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    # The hold header of each answer ("<ms waited> <how it ended>"), "" if none.
    held: list[str] = field(default_factory=list)
    # The backend that answered ("" when none did): what a move moved to.
    answers: list[str] = field(default_factory=list)
    retried: int = 0

    def moved_sessions(self) -> set[str]:
        """Sessions that got another server than their first at least once."""
        return {key for key, moved in zip(self.sessions, self.moved, strict=True) if moved}

    def to_dict(self) -> dict:
        order = sorted(range(len(self.t_s)), key=self.t_s.__getitem__)
        return {
            "t_s": [round(self.t_s[i], 4) for i in order],
            "latency_ms": [round(self.latency_ms[i], 3) for i in order],
            "ok": [self.ok[i] for i in order],
            "moved": [self.moved[i] for i in order],
        }

    def moves(self) -> list[tuple[float, str, str, str]]:
        """(sent at s, session, backend that answered, hold header) of every request
        answered by another backend than its session's first, in order of sending."""
        rows = zip(self.t_s, self.sessions, self.answers, self.held, self.moved, strict=True)
        return sorted((t, key, answer, held) for t, key, answer, held, moved in rows if moved)

    def held_requests(self) -> list[list]:
        """The requests the load balancer held: [sent at s, ms waited, how the hold ended],
        in order of sending."""
        order = sorted(range(len(self.t_s)), key=self.t_s.__getitem__)
        return [[round(self.t_s[i], 4), *held_fields(self.held[i])] for i in order if self.held[i]]


def held_fields(header: str) -> list:
    """[ms waited, how it ended] of a hold header's value ("12 learnt")."""
    waited, _, outcome = header.partition(" ")
    return [int(waited), outcome]


class PacedLoad:
    """Sticky sessions sent to ``endpoint`` (address, port) at ``rate`` requests per second."""

    def __init__(
        self,
        endpoint: tuple[str, int],
        cookie: str,
        keys: Sequence[str],
        rate: float,
        workers: int = 4,
        max_requests: int = MAX_REQUESTS,
        max_seconds: float = MAX_SECONDS,
        known: dict[str, str] | None = None,
        hold_header: str | None = None,
    ) -> None:
        if rate <= 0 or workers <= 0 or not keys:
            raise ValueError("a paced load needs a positive rate, workers and sessions")
        self.endpoint, self.cookie, self.hold_header = endpoint, cookie, hold_header
        self.rate, self.max_requests, self.max_seconds = rate, max_requests, max_seconds
        workers = min(workers, len(keys))
        self._shares = [list(keys[index::workers]) for index in range(workers)]
        self._records = [Record() for _ in self._shares]
        # Each session's first answer: from before the load when known.
        self._first: dict[str, str] = dict(known or {})
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sent = 0
        self._stopped_at = ""
        self._failures: list[BaseException] = []
        self.started = 0.0
        self._threads = [
            threading.Thread(
                target=recording_failures(self._work, self._failures), args=(index,), daemon=True
            )
            for index in range(len(self._shares))
        ]

    def __enter__(self) -> PacedLoad:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def now(self) -> float:
        """Seconds since the load started, on the records' time base."""
        return time.monotonic() - self.started

    def wait_bound(self, timeout: float) -> bool:
        """Wait until the load stopped at its request or time bound; False on timeout."""
        for thread in self._threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)

    @property
    def stopped_at(self) -> str:
        """The bound that stopped the load (STOPPED_AT_...), or "" while none did."""
        return self._stopped_at

    def stop(self) -> Record:
        """Stop every worker; all the requests, in order of sending. LoadError if a
        worker failed."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self._failures:
            raise LoadError(
                f"{len(self._failures)} of {len(self._threads)} load workers failed after "
                f"{self._sent} requests: {self._failures[0]!r}"
            ) from self._failures[0]
        merged = Record()
        for record in self._records:
            merged.t_s += record.t_s
            merged.latency_ms += record.latency_ms
            merged.ok += record.ok
            merged.moved += record.moved
            merged.sessions += record.sessions
            merged.held += record.held
            merged.answers += record.answers
            merged.retried += record.retried
        return merged

    def _claim(self) -> bool:
        with self._lock:
            bound = bound_reached(self._sent, self.max_requests, self.now(), self.max_seconds)
            if bound:
                self._stopped_at = bound
                return False
            self._sent += 1
            return True

    def _work(self, index: int) -> None:
        keys, record = self._shares[index], self._records[index]
        interval = len(self._shares) / self.rate
        connection = None
        due = self.started + index * interval / len(self._shares)
        turn = 0
        while not self._stop.is_set() and self._claim():
            pause = due - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
            due += interval
            key = keys[turn % len(keys)]
            turn += 1
            sent = time.monotonic()
            answer, held, connection, retried = self._request(connection, key)
            record.sessions.append(key)
            record.held.append(held)
            record.answers.append(answer or "")
            record.t_s.append(sent - self.started)
            record.latency_ms.append((time.monotonic() - sent) * 1000)
            record.retried += retried
            record.ok.append(1 if answer else 0)
            first = self._first.setdefault(key, answer) if answer else None
            record.moved.append(1 if answer and answer != first else 0)
        if connection is not None:
            connection.close()

    def _request(
        self, connection: http.client.HTTPConnection | None, key: str
    ) -> tuple[str | None, str, http.client.HTTPConnection | None, int]:
        """(backend's answer or None, the hold header or "", the connection to reuse,
        1 if retried)."""
        headers = {"Cookie": f"{self.cookie}={key}"}
        for attempt in (0, 1):
            reused = connection is not None
            if connection is None:
                connection = http.client.HTTPConnection(*self.endpoint, timeout=TIMEOUT_S)
            try:
                connection.request("GET", "/", headers=headers)
                response = connection.getresponse()
                body = response.read().decode(errors="replace").strip()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                connection = None
                if reused and attempt == 0:
                    continue
                return None, "", None, attempt
            except (OSError, http.client.HTTPException):
                connection.close()
                return None, "", None, attempt
            if response.will_close:
                connection.close()
                connection = None
            held = response.getheader(self.hold_header, "") if self.hold_header else ""
            return (body if response.status == 200 else None), held, connection, attempt
        return None, "", None, 1
