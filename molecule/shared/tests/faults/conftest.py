"""Fixtures of the fault matrix: one converged lab, faults in a fixed order.

The files run in name order (test_1_... to test_7_...); the last one empties
both tables on purpose. Each test records what it measured; the figures are
printed at the end of the run, beside pass and fail.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Sequence

import pytest

from peerlab.bench.loadgen import PacedLoad, Record
from peerlab.bench.reload_load import entries_of, first_answers
from peerlab.bench.replication import bench_key, direct
from peerlab.lab import REPLICATION_TIMEOUT_S, LoadBalancer
from peerlab.runtime import RemoteCommandError, socket_command
from peerlab.sync import wait_until


@pytest.fixture(scope="session")
def rolling_restart(ansible_playbook) -> Callable[..., subprocess.CompletedProcess]:
    """Run playbooks/rolling_restart.yml with ansible-playbook's ``options``."""
    return lambda *options: ansible_playbook("rolling_restart.yml", *options)


# The benchmark's load (`make bench`, bench/results/): what a reload, a kill
# or a restart must not move a session under.
LOAD_RATE = 600.0
LOAD_SESSIONS = 200


class StickyLoad:
    """``LOAD_SESSIONS`` sessions at ``LOAD_RATE`` requests/s, shared out over ``lbs``,
    each session's server learnt before the load; moves are counted against it.

    The sessions are made through the first of ``lbs``; every other one, and
    every member of ``replicas``, holds all of them before the load starts."""

    def __init__(
        self,
        lbs: Sequence[LoadBalancer],
        tag: str,
        rate: float = LOAD_RATE,
        replicas: Sequence[LoadBalancer] = (),
    ) -> None:
        self.lbs = list(lbs)
        self.keys = [bench_key(tag, number) for number in range(LOAD_SESSIONS)]
        self.known = first_answers(self.lbs[0], self.keys)
        for lb in [*self.lbs[1:], *replicas]:
            wait_until(
                lambda lb=lb: (entries_of(lb, self.keys) == len(self.keys), "not yet"),
                REPLICATION_TIMEOUT_S,
                f"{LOAD_SESSIONS} sessions replicated to {lb.name}",
            )
        self.loads = [
            PacedLoad(direct(lb), lb.names.cookie, self.keys, rate / len(self.lbs),
                      known=self.known, hold_header=lb.names.hold_header or None)
            for lb in self.lbs
        ]  # fmt: skip
        self.record = Record()
        self.tables = {lb.name: self.entries(lb) for lb in self.lbs}

    def entries(self, lb: LoadBalancer) -> dict[str, str | None]:
        """Key -> server of this load's sessions in ``lb``'s table."""
        servers = lb.table_servers()
        return {key: servers.get(key) for key in self.keys}

    def __enter__(self) -> StickyLoad:
        self.started_epoch = int(time.time())
        for load in self.loads:
            load.__enter__()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        for load in self.loads:
            record = load.stop()
            for name in ("t_s", "latency_ms", "ok", "moved", "sessions", "held", "answers"):
                getattr(self.record, name).extend(getattr(record, name))
            self.record.retried += record.retried
        if exc_type is None:
            # A load that stopped by itself left the rest of the fault unwatched.
            bounds = {load.endpoint: load.stopped_at for load in self.loads if load.stopped_at}
            assert not bounds, f"the load stopped at its bound before the fault ended: {bounds}"
            assert self.record.ok, "the load sent nothing"

    def now(self) -> float:
        """Seconds since the load started, on its records' time base."""
        return self.loads[0].now()

    def answered_after(self, moment: float) -> int:
        """Requests sent after ``moment`` (``now()``) that a backend answered."""
        record = self.record
        return sum(ok for t, ok in zip(record.t_s, record.ok, strict=True) if t > moment)

    @property
    def failed(self) -> int:
        return len(self.record.ok) - sum(self.record.ok)

    def summary(self) -> str:
        held = [int(value.split()[0]) for value in self.record.held if value]
        hold = f", {len(held)} held (longest {max(held)} ms)" if held else ", none held"
        return (
            f"{len(self.record.ok)} requests at {LOAD_RATE:g}/s to "
            f"{'+'.join(lb.name for lb in self.lbs)}: {self.failed} failed, "
            f"{self.record.retried} retried, {len(self.record.moved_sessions())} of "
            f"{len(self.keys)} sessions moved{hold}"
        )

    def assert_nothing_moved(self, context: str = "") -> None:
        """No session answered by another backend than its first; what moved, when,
        and whether the load balancer held it, named otherwise (``context``: what
        happened meanwhile, such as when each reload started)."""
        assert len(self.record.ok) > 0, "the load sent nothing"
        moved = self.record.moved_sessions()
        moves = "; ".join(
            f"{key} ({self.known.get(key)}) answered by {answer} at {t:.3f} s, "
            f"{'held ' + held if held else 'not held'}"
            for t, key, answer, held in self.record.moves()[:MOVES_SHOWN]
        )
        assert not moved, (
            f"{len(moved)} of {len(self.keys)} sessions moved: {self.summary()}. "
            f"First moves: {moves}. {context} {self.diagnosis(sorted(moved)[:MOVES_SHOWN])}"
        )

    def diagnosis(self, keys: Sequence[str]) -> str:
        """What the members say about moved sessions: each one's entry now, and
        every logged request since the load started that HAProxy retried,
        redispatched to another server, or ended otherwise than normally (its
        termination state is not "----"): a move after a failed connection to
        the session's server is HAProxy's redispatch, not a handover."""
        notes = []
        for lb in self.lbs:
            servers = lb.table_servers()
            notes.append(f"{lb.name} holds " + ", ".join(f"{k}: {servers.get(k)}" for k in keys))
            try:
                unusual = lb.run(
                    f"journalctl -u haproxy --since @{self.started_epoch} --no-pager -o cat"
                    " | awk '$2 ~ /^\\[/ && ($10 != \"----\" || $11 !~ /\\/0$/)' | tail -n 20"
                )
            except RemoteCommandError as error:
                unusual = f"(its log could not be read: {error})"
            notes.append(f"{lb.name}'s unusual requests: {unusual.strip() or 'none'}")
        return " ".join(notes)

    def assert_every_entry_kept(self) -> None:
        """Every session's entry on every member, with the server it had before."""
        for lb in self.lbs:
            now = self.entries(lb)
            lost = {k: (v, now[k]) for k, v in self.tables[lb.name].items() if now[k] != v}
            assert not lost, f"{lb.name}: {len(lost)} of {len(self.keys)} entries lost: {lost}"

    def forget(self, lbs: Sequence[LoadBalancer]) -> None:
        """Remove this load's sessions from every member's table: a run that moved
        sessions (the control without the hold) can leave the members disagreeing
        on them, which is no business of the tests after it."""
        for lb in lbs:
            for start in range(0, len(self.keys), FORGET_BATCH):
                batch = self.keys[start : start + FORGET_BATCH]
                commands = "; ".join(f"clear table {lb.names.table} key {key}" for key in batch)
                lb.run(socket_command(commands))


# Moves named in a failure's message.
MOVES_SHOWN = 5
# Keys cleared per runtime API line (a line must fit HAProxy's buffer).
FORGET_BATCH = 50


@pytest.fixture
def sticky_load(lbs) -> Iterator[Callable[..., StickyLoad]]:
    """Makes StickyLoads; their sessions leave every table after the test."""
    made: list[StickyLoad] = []

    def make(*args, **kwargs) -> StickyLoad:
        made.append(StickyLoad(*args, **kwargs))
        return made[-1]

    yield make
    for load in made:
        load.forget(lbs)
