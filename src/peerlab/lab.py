"""The load balancers of a lab, however they are reached."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from peerlab.runtime import Runner, show_proc, show_table
from peerlab.sessions import session_id
from peerlab.sync import wait_synced, wait_until

PEERS_SECTION = "haproxy-peers"
STICK_TABLE = "back-session"
REPLICATION_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LoadBalancer:
    """One HAProxy of the pair: its peer name, its HTTP entry point, a way to run commands."""

    name: str
    url: str
    run: Runner

    def systemctl(self, action: str) -> None:
        self.run(f"systemctl {action} haproxy")


def wait_all_synced(
    lbs: Sequence[LoadBalancer], section: str = PEERS_SECTION, timeout: float = 60.0
) -> None:
    """Wait until every load balancer settled with every other one connected."""
    names = [lb.name for lb in lbs]
    for lb in lbs:
        others = [name for name in names if name != lb.name]
        wait_synced(lb.run, section, others, timeout, what=f"{lb.name} settled and connected")


def wait_reloaded(
    lb: LoadBalancer,
    reloads_before: int,
    connected_remotes: Sequence[str] = (),
    section: str = PEERS_SECTION,
    timeout: float = 60.0,
) -> None:
    """Wait until ``lb`` runs a process newer than the ``reloads_before``-th reload, settled.

    ``systemctl reload`` returns once the signal is sent; the new worker then
    learns the table from the old one, which exits afterwards.
    """

    def probe() -> tuple[bool, int]:
        reloads = show_proc(lb.run).reloads
        return reloads > reloads_before, reloads

    # The master re-executes itself on reload: its socket is gone for a moment.
    wait_until(probe, timeout, f"{lb.name} reloaded", tolerate=(Exception,))
    wait_synced(lb.run, section, connected_remotes, timeout, what=f"{lb.name} settled")


def reset(lbs: Sequence[LoadBalancer], section: str = PEERS_SECTION, timeout: float = 60.0) -> None:
    """Make the lab fresh: empty tables, every round robin back at its first server.

    All load balancers are stopped before any starts again, so that no
    running peer can teach the old table to a starting one.
    """
    for lb in lbs:
        lb.systemctl("stop")
    for lb in lbs:
        lb.systemctl("start")
    wait_all_synced(lbs, section, timeout)


def wait_replicated(
    lb: LoadBalancer, sessions: Sequence[int], timeout: float = REPLICATION_TIMEOUT_S
) -> None:
    """Wait until ``lb``'s stick table holds every session in ``sessions``."""
    keys = {session_id(number) for number in sessions}

    def probe() -> tuple[bool, str]:
        present = set(show_table(lb.run, STICK_TABLE).entries)
        return keys <= present, f"{len(keys & present)}/{len(keys)} entries on {lb.name}"

    wait_until(probe, timeout, f"sessions {list(sessions)} replicated to {lb.name}")
