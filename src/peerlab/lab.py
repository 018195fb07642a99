"""The load balancers of a lab, however they are reached."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from peerlab.access import backend_for, backends_for
from peerlab.checkout import role_defaults
from peerlab.runtime import TRANSIENT_ERRORS, PeersSection, Runner, show_proc, show_table
from peerlab.sessions import session_id
from peerlab.sync import sync_state, wait_synced, wait_until

REPLICATION_TIMEOUT_S = 10.0
ROLE = "haproxy_peers"
# Role variable -> the Names field it sets.
NAME_VARIABLES = {
    "section": "haproxy_peers_section_name",
    "table": "haproxy_peers_backend_name",
    "cookie": "haproxy_peers_stick_cookie",
    "hold_header": "haproxy_peers_handover_hold_header",
}


def literal(value: object) -> str | None:
    """An inventory value as a string, unless it is missing or a template only
    Ansible can render."""
    return str(value) if value is not None and "{{" not in str(value) else None


@dataclass(frozen=True)
class Names:
    """What haproxy_peers calls things on a load balancer: the peers section, the
    stick table (named after the backend), the session cookie, and the response
    header that tells what the handover hold did ("" where it says nothing)."""

    section: str
    table: str
    cookie: str
    hold_header: str = ""

    @classmethod
    def from_variables(cls, variables: Mapping[str, object]) -> Names:
        """From a host's inventory variables; the role's defaults where they say nothing
        (or hold a template, which only Ansible can render)."""
        defaults = role_defaults(ROLE)
        return cls(
            **{
                field: literal(variables.get(variable)) or str(defaults[variable] or "")
                for field, variable in NAME_VARIABLES.items()
            }
        )


DEFAULT_NAMES = Names.from_variables({})
PEERS_SECTION = DEFAULT_NAMES.section
STICK_TABLE = DEFAULT_NAMES.table
PEERS_PORT = int(role_defaults(ROLE)["haproxy_peers_port"])


@dataclass(frozen=True)
class LoadBalancer:
    """One HAProxy of the pair: its peer name, its HTTP entry point, a way to run
    commands, and what the role calls things there."""

    name: str
    url: str
    run: Runner
    names: Names = DEFAULT_NAMES
    # Private address on the lab network (the peers link's), where known.
    address: str = ""

    def systemctl(self, action: str) -> None:
        self.run(f"systemctl {action} haproxy")

    def backend_for(self, number: int) -> str:
        """Request this load balancer as session ``number``; the backend's answer."""
        return backend_for(self.url, number, self.names.cookie)

    def backends_for(self, numbers: Sequence[int]) -> dict[int, str]:
        return backends_for(self.url, numbers, self.names.cookie)

    def table_servers(self) -> dict[str, str | None]:
        """Key -> server of this load balancer's stick table."""
        return show_table(self.run, self.names.table).servers()


def wait_all_synced(lbs: Sequence[LoadBalancer], timeout: float = 60.0) -> dict[str, PeersSection]:
    """Wait until every load balancer has settled with every other one connected,
    all seen in the same round; return each one's peers section as that round
    read it.

    Waiting for each in turn is not enough: a member found connected first
    can lose its link while the next one is checked (seen once, right after
    a member started again; HAProxy counts "collisions" when two members
    connect to each other at once and drops one of the two sessions).
    """
    names = [lb.name for lb in lbs]

    def probe() -> tuple[bool, dict[str, str] | dict[str, PeersSection]]:
        unsettled, sections = {}, {}
        for lb in lbs:
            others = [name for name in names if name != lb.name]
            state = sync_state(lb.run, lb.names.section, others)
            if not state.settled:
                unsettled[lb.name] = state.reason
            sections[lb.name] = state.peers
        return not unsettled, unsettled or sections

    # A failing read (a socket gone while HAProxy starts) is a state to wait out.
    return wait_until(
        probe, timeout, "every load balancer settled and connected", tolerate=TRANSIENT_ERRORS
    )


def wait_reloaded(
    lb: LoadBalancer,
    reloads_before: int,
    connected_remotes: Sequence[str] = (),
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
    wait_until(probe, timeout, f"{lb.name} reloaded", tolerate=TRANSIENT_ERRORS)
    wait_synced(lb.run, lb.names.section, connected_remotes, timeout, what=f"{lb.name} settled")


def reset(lbs: Sequence[LoadBalancer], timeout: float = 60.0) -> None:
    """Make the lab fresh: empty tables, every round robin back at its first server.

    All load balancers are stopped before any starts again, so that no
    running peer can teach the old table to a starting one.
    """
    for lb in lbs:
        lb.systemctl("stop")
    for lb in lbs:
        lb.systemctl("start")
    wait_all_synced(lbs, timeout)


def wait_replicated(
    lb: LoadBalancer, sessions: Sequence[int], timeout: float = REPLICATION_TIMEOUT_S
) -> None:
    """Wait until ``lb``'s stick table holds every session in ``sessions``."""
    keys = {session_id(number) for number in sessions}

    def probe() -> tuple[bool, str]:
        present = set(show_table(lb.run, lb.names.table).entries)
        return keys <= present, f"{len(keys & present)}/{len(keys)} entries on {lb.name}"

    wait_until(probe, timeout, f"sessions {list(sessions)} replicated to {lb.name}")
