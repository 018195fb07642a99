"""The original demo's narrative: which backend answers each session, step by step.

On a fresh lab (empty tables, each load balancer's round robin at its first
server) the answers are fully determined, which makes the narrative an
acceptance test of replication and of reload survival.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from peerlab.lab import LoadBalancer, wait_reloaded, wait_replicated
from peerlab.runtime import show_proc

SETTLE_TIMEOUT_S = 120.0


def stop_lb2_reload_lb1(lbs: Sequence[LoadBalancer], timeout: float = SETTLE_TIMEOUT_S) -> None:
    """Stop HAProxy on LB2, reload LB1 (now the last one running), wait until it settled."""
    lb1, lb2 = lbs[0], lbs[1]
    reloads = show_proc(lb1.run).reloads
    lb2.systemctl("stop")
    lb1.systemctl("reload")
    wait_reloaded(lb1, reloads, timeout=timeout)


@dataclass(frozen=True)
class Step:
    """Requests for ``sessions`` through load balancer ``lb`` (1 or 2)."""

    number: int
    lb: int
    sessions: tuple[int, ...]
    expected_backends: tuple[int, ...]
    # What happens to the lab before the requests, said and done.
    before: str = ""
    prepare: Callable[[Sequence[LoadBalancer]], None] | None = None

    def expected(self) -> dict[int, str]:
        """Session number -> the answer the backend gives ("Backend N")."""
        return {
            session: f"Backend {backend}"
            for session, backend in zip(self.sessions, self.expected_backends, strict=True)
        }


def _sessions(first: int, last: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1))


NARRATIVE: tuple[Step, ...] = (
    Step(1, 1, _sessions(1, 5), (1, 2, 3, 4, 5)),
    # LB2 balances on its own: its round robin starts at the first server too.
    Step(2, 2, _sessions(101, 105), (1, 2, 3, 4, 5)),
    # Replication: LB1 never saw these sessions, yet routes them like LB2 did.
    Step(3, 1, _sessions(101, 105), (1, 2, 3, 4, 5)),
    # LB1's round robin continues where step 1 left it.
    Step(4, 1, _sessions(21, 25), (6, 7, 1, 2, 3)),
    Step(5, 2, _sessions(21, 25), (6, 7, 1, 2, 3)),
    # The last running instance is reloaded: the table survives.
    Step(6, 1, _sessions(21, 25), (6, 7, 1, 2, 3), "stop LB2, reload LB1", stop_lb2_reload_lb1),
)


def sessions_created() -> dict[int, str]:
    """Every session the narrative creates -> the backend it sticks to."""
    routes: dict[int, str] = {}
    for step in NARRATIVE:
        for session, backend in step.expected().items():
            routes.setdefault(session, backend)
    return routes


def step(number: int) -> Step:
    """Narrative step ``number`` (1-based)."""
    return NARRATIVE[number - 1]


def run_step(lbs: Sequence[LoadBalancer], number: int) -> dict[int, str]:
    """Send step ``number``'s requests; return session -> the answer received.

    Sessions that an earlier step created are waited for in the target load
    balancer's table first: the narrative shows replication, not a race with it.
    """
    current = step(number)
    created_before = {s for earlier in NARRATIVE[: number - 1] for s in earlier.sessions}
    lb = lbs[current.lb - 1]
    known = [s for s in current.sessions if s in created_before]
    if known:
        wait_replicated(lb, known)
    return lb.backends_for(current.sessions)
