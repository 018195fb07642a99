"""Waiting for replication to settle, by condition and with a deadline.

After a start, restart or reload, a HAProxy process first has to learn its
stick table: from the old process on the same host (reload) or from a remote
peer (start). Reading tables or reloading again before that finishes gives
wrong answers or loses entries, so everything that follows such an event
waits here instead of sleeping for a guessed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from peerlab.runtime import TRANSIENT_ERRORS, PeersSection, Runner, show_peers, show_proc

T = TypeVar("T")

POLL_INTERVAL_S = 0.25


class SyncTimeout(TimeoutError):
    """A condition did not come true before its deadline."""


def wait_until(
    probe: Callable[[], tuple[bool, T]],
    timeout: float,
    what: str,
    interval: float = POLL_INTERVAL_S,
    tolerate: tuple[type[Exception], ...] = (),
) -> T:
    """Call ``probe`` until it reports success; return its value.

    ``probe`` returns ``(done, value)``; ``value`` of the last call is named in
    the timeout error, so a failure says what was seen instead of only "no".
    An exception listed in ``tolerate`` counts as "not yet" (a socket that is
    briefly gone while HAProxy starts or re-executes its master).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, value = probe()
        except tolerate as error:
            done, value = False, f"{type(error).__name__}: {error}"
        if done:
            return value
        if time.monotonic() >= deadline:
            raise SyncTimeout(f"{what}: not reached within {timeout:g}s; last seen: {value}")
        time.sleep(interval)


@dataclass(frozen=True)
class SyncState:
    """Whether one load balancer has settled, and if not, why."""

    settled: bool
    reason: str
    # The peers section as read when settled: what the check found up.
    peers: PeersSection | None = None

    def __str__(self) -> str:
        return self.reason


def sync_state(run: Runner, section: str, connected_remotes: Iterable[str] = ()) -> SyncState:
    """Has this load balancer settled?

    Settled means: no old worker is still running (so the runtime API answers
    for the current process), the peers section finished its resync, and every
    peer named in ``connected_remotes`` is connected.
    """
    processes = show_proc(run)
    if processes.old_workers:
        return SyncState(False, f"old worker(s) {list(processes.old_workers)} still running")
    sections = show_peers(run)
    if section not in sections:
        return SyncState(False, f"no peers section {section!r} (have {sorted(sections)})")
    peers = sections[section]
    if not peers.resync_done:
        return SyncState(False, f"resync of {section!r} not finished (flags=0x{peers.flags:x})")
    by_name = {peer.name: peer for peer in peers.remotes}
    for name in connected_remotes:
        peer = by_name.get(name)
        if peer is None:
            return SyncState(False, f"{name!r} is not a remote peer of {section!r}")
        if not peer.connected:
            return SyncState(False, f"remote peer {name!r} not connected ({peer.last_status})")
    return SyncState(True, "settled", peers)


def wait_synced(
    run: Runner,
    section: str,
    connected_remotes: Iterable[str] = (),
    timeout: float = 60.0,
    what: str = "load balancer settled",
) -> None:
    """Return once ``sync_state`` reports the load balancer settled."""
    remotes = tuple(connected_remotes)

    def probe() -> tuple[bool, SyncState]:
        state = sync_state(run, section, remotes)
        return state.settled, state

    # During a start or reload a failed read (RemoteCommandError) or a cut
    # answer (RuntimeAPIError) is a state to wait out, up to the deadline.
    wait_until(probe, timeout, what, tolerate=TRANSIENT_ERRORS)
