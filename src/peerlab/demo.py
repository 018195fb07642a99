"""The original demo's narrative, run against a lab and compared with what it promised.

The narrative's answers are only determined on a fresh lab: both HAProxy
running and connected, empty stick tables, each round robin still at its
first server. The demo checks that first and refuses otherwise, because on
any other lab a mismatch would say nothing about replication.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import requests

from peerlab.lab import LoadBalancer, reset, wait_all_synced
from peerlab.narrative import NARRATIVE, SETTLE_TIMEOUT_S, Step, run_step, sessions_created
from peerlab.runtime import RemoteCommandError, RuntimeAPIError, show_servers, show_table
from peerlab.sessions import session_id
from peerlab.sync import SyncTimeout
from peerlab.tables import side_by_side

Progress = Callable[[str], None]


class LabNotUp(RuntimeError):
    """A load balancer cannot be reached at all."""


class LabNotFresh(RuntimeError):
    """The lab runs, but not in the state the narrative starts from."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class LoadBalancerState:
    """What decides whether one load balancer is fresh."""

    name: str
    running: bool
    entries: int = 0
    # Sessions its servers received since the process started; 0 means the
    # round robin has not moved.
    sessions_served: int = 0


def freshness_problems(states: Sequence[LoadBalancerState]) -> list[str]:
    """Why the lab is not fresh, one reason per line; empty when it is."""
    problems = []
    for state in states:
        if not state.running:
            problems.append(f"{state.name}: HAProxy is not running")
            continue
        if state.entries:
            problems.append(f"{state.name}: the stick table holds {state.entries} entries")
        if state.sessions_served:
            problems.append(
                f"{state.name}: {state.sessions_served} sessions already balanced "
                "(round robin is no longer at the first server)"
            )
    return problems


def read_state(lb: LoadBalancer) -> LoadBalancerState:
    """Probe one load balancer; LabNotUp when it cannot be reached at all."""
    try:
        status = lb.run("systemctl is-active haproxy || true").strip()
    except RemoteCommandError as error:
        raise LabNotUp(f"cannot reach {lb.name}: {error}") from error
    if status != "active":
        return LoadBalancerState(lb.name, running=False)
    try:
        return running_state(lb)
    except (RemoteCommandError, RuntimeAPIError) as error:
        raise LabNotFresh([f"{lb.name}: runtime API not answering ({error})"]) from error


def running_state(lb: LoadBalancer) -> LoadBalancerState:
    """The freshness counters of a running load balancer, from its runtime API."""
    entries = show_table(lb.run, lb.names.table).used
    served = sum(server.total_sessions for server in show_servers(lb.run, lb.names.table))
    return LoadBalancerState(lb.name, True, entries, served)


@dataclass(frozen=True)
class SessionResult:
    session: int
    expected: str
    actual: str

    @property
    def match(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True)
class StepResult:
    number: int
    load_balancer: str
    url: str
    before: str
    sessions: tuple[SessionResult, ...]

    @property
    def match(self) -> bool:
        return all(result.match for result in self.sessions)


def compare(expected: dict[int, str], actual: dict[int, str]) -> tuple[SessionResult, ...]:
    """Expected and actual answers side by side, in the expected sessions' order."""
    return tuple(
        SessionResult(session, answer, actual.get(session, "no answer"))
        for session, answer in expected.items()
    )


@dataclass(frozen=True)
class Epilogue:
    """After the narrative: LB2 started again, relearning the table from LB1."""

    entries: dict[str, int]
    identical: bool
    complete: bool

    @property
    def match(self) -> bool:
        return self.identical and self.complete


@dataclass
class DemoReport:
    reset: bool
    steps: list[StepResult] = field(default_factory=list)
    epilogue: Epilogue | None = None

    @property
    def match(self) -> bool:
        steps_match = len(self.steps) == len(NARRATIVE) and all(s.match for s in self.steps)
        return steps_match and self.epilogue is not None and self.epilogue.match

    def to_dict(self) -> dict:
        return {
            "match": self.match,
            "reset": self.reset,
            "steps": [
                {
                    **{k: v for k, v in asdict(step).items() if k != "sessions"},
                    "match": step.match,
                    "sessions": [{**asdict(s), "match": s.match} for s in step.sessions],
                }
                for step in self.steps
            ],
            "epilogue": (
                {**asdict(self.epilogue), "match": self.epilogue.match} if self.epilogue else None
            ),
        }


def ensure_fresh(
    lbs: Sequence[LoadBalancer], do_reset: bool, progress: Progress, timeout: float
) -> None:
    """Make sure the narrative can start: reset first if asked, then check."""
    states = [read_state(lb) for lb in lbs]
    if do_reset:
        progress("resetting: stopping HAProxy on every load balancer, then starting it")
        reset(lbs, timeout=timeout)
        states = [read_state(lb) for lb in lbs]
    problems = freshness_problems(states)
    if problems:
        raise LabNotFresh(problems)
    progress("waiting until the load balancers are connected and settled")
    try:
        wait_all_synced(lbs, timeout=timeout)
    except SyncTimeout as error:
        raise LabNotFresh([str(error)]) from error


def run_narrative_step(lbs: Sequence[LoadBalancer], step: Step, progress: Progress) -> StepResult:
    lb = lbs[step.lb - 1]
    if step.prepare is not None:
        progress(f"step {step.number}: {step.before}")
        step.prepare(lbs)
    progress(f"step {step.number}: sessions {step.sessions[0]}-{step.sessions[-1]} via {lb.name}")
    try:
        actual = run_step(lbs, step.number)
    except requests.RequestException as error:
        actual = {session: f"error: {type(error).__name__}" for session in step.sessions}
    except SyncTimeout as error:
        actual = {session: f"error: {error}" for session in step.sessions}
    return StepResult(step.number, lb.name, lb.url, step.before, compare(step.expected(), actual))


def restore(lbs: Sequence[LoadBalancer], timeout: float) -> Epilogue:
    """Start every load balancer again and check that they hold the same table."""
    for lb in lbs:
        lb.systemctl("start")
    wait_all_synced(lbs, timeout=timeout)
    tables = [show_table(lb.run, lb.names.table) for lb in lbs]
    rows = side_by_side(tables)
    everywhere = {row.key for row in rows if all(row.entries)}
    created = {session_id(number) for number in sessions_created()}
    return Epilogue(
        entries={lb.name: len(table.entries) for lb, table in zip(lbs, tables, strict=True)},
        identical=all(row.same for row in rows),
        complete=created <= everywhere,
    )


def run_narrative(
    lbs: Sequence[LoadBalancer],
    reset_first: bool = False,
    progress: Progress = lambda _: None,
    on_step: Callable[[StepResult], None] = lambda _: None,
    timeout: float = SETTLE_TIMEOUT_S,
) -> DemoReport:
    """Run every step on a lab ``ensure_fresh`` accepted, restore LB2, report."""
    report = DemoReport(reset=reset_first)
    for step in NARRATIVE:
        result = run_narrative_step(lbs, step, progress)
        report.steps.append(result)
        on_step(result)
    progress("after: starting HAProxy on every load balancer again, relearning the table")
    report.epilogue = restore(lbs, timeout)
    return report
