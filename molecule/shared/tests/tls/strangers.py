"""A stranger on the lab's network: a HAProxy that is no member, but claims a member's name.

It runs on the test machine, which sits on the lab's private network (the
containers' bridge, the VMs' network), with the machine's own HAProxy
(`make unit` installs it). Toward each member it claims to be the other
member, connects to the member's peers port, and offers one session of its
own, sent to server be7. What it learns (entries in its table) and what the
members honour (its session in their tables) is the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from peerlab.access import backend_for
from peerlab.lab import PEERS_PORT, PEERS_SECTION, STICK_TABLE, LoadBalancer
from peerlab.local_haproxy import LocalHAProxy, admin_socket, free_ports
from peerlab.runtime import show_peers, show_table
from peerlab.sessions import session_id
from peerlab.sync import wait_until

PUSHED_SERVER = "be7"
# A stranger is done when it is connected and has learnt what the lab holds,
# or when its target refused it this many times after the TCP connection.
REFUSALS = 2
ATTACK_TIMEOUT_S = 45.0

STRANGER_CONFIG = """\
global
    localpeer {claims}
    stats socket {admin} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

peers haproxy-peers
    bind 127.0.0.1:{peers_port}
{transport}
    server {claims}
    server {target} {target_ip}:{members_port}

frontend stranger
    bind 127.0.0.1:{http_port}
    default_backend back-session

# The lab's table and server names, so that members take its entries for
# their own; whatever session it sees goes to {pushed}.
backend back-session
    stick-table type string len 32 size 1m expire 30m peers haproxy-peers
    stick on req.cook(JSESSIONID)
    use-server {pushed} if TRUE
{servers}

frontend answer
    bind 127.0.0.1:{answer_port}
    http-request return status 200 content-type text/plain string "stranger"
"""


@dataclass
class Stranger:
    """One stranger process, the member it attacks and the session it pushes."""

    process: LocalHAProxy
    claims: str
    target: LoadBalancer
    url: str
    session: int

    @property
    def key(self) -> str:
        return session_id(self.session)


@dataclass(frozen=True)
class Outcome:
    """What one stranger got: entries it learnt, members that took its session."""

    claims: str
    target: str
    session: int
    learned: frozenset[str]
    honoured_by: tuple[str, ...]
    last_status: str
    connections: int

    def __str__(self) -> str:
        return (
            f"stranger claiming {self.claims!r} toward {self.target}: learnt "
            f"{len(self.learned)} entries, its session honoured by {list(self.honoured_by)}, "
            f"last status {self.last_status}, {self.connections} connection(s)"
        )


def start_strangers(
    lbs: Sequence[LoadBalancer],
    lb_ips: dict[str, str],
    folder: Path,
    transport: Callable[[str], str],
    first_session: int,
) -> list[Stranger]:
    """One stranger per member, claiming the name of the next member.

    ``transport(claimed name)`` gives the stranger's ``default-server`` line
    ("" for plain peers).
    """
    strangers = []
    for index, target in enumerate(lbs):
        claims = lbs[(index + 1) % len(lbs)].name
        peers_port, http_port, answer_port = free_ports(3)
        config = STRANGER_CONFIG.format(
            claims=claims,
            admin=admin_socket(folder, f"stranger-{claims}"),
            peers_port=peers_port,
            transport=transport(claims),
            target=target.name,
            target_ip=lb_ips[target.name],
            members_port=PEERS_PORT,
            http_port=http_port,
            pushed=PUSHED_SERVER,
            servers="\n".join(f"    server be{n} 127.0.0.1:{answer_port}" for n in range(1, 8)),
            answer_port=answer_port,
        )
        process = LocalHAProxy(folder, f"stranger-{claims}", config)
        strangers.append(
            Stranger(
                process, claims, target, f"http://127.0.0.1:{http_port}/", first_session + index
            )
        )
    for stranger in strangers:
        stranger.process.wait_started()
        # Its own session, in its own table, ready to be pushed.
        assert backend_for(stranger.url, stranger.session) == "stranger"
    return strangers


def outcome(stranger: Stranger, lbs: Sequence[LoadBalancer]) -> Outcome:
    peer = next(
        p
        for p in show_peers(stranger.process.run)[PEERS_SECTION].remotes
        if p.name == stranger.target.name
    )
    table = show_table(stranger.process.run, STICK_TABLE)
    return Outcome(
        claims=stranger.claims,
        target=stranger.target.name,
        session=stranger.session,
        learned=frozenset(set(table.entries) - {stranger.key}),
        honoured_by=tuple(
            lb.name for lb in lbs if stranger.key in show_table(lb.run, STICK_TABLE).entries
        ),
        last_status=peer.last_status,
        connections=peer.connections,
    )


def attack(
    lbs: Sequence[LoadBalancer],
    lb_ips: dict[str, str],
    folder: Path,
    transport: Callable[[str], str],
    first_session: int,
    lab_keys: set[str],
) -> list[Outcome]:
    """Run the strangers until each has either got in (learnt ``lab_keys``, its
    session taken by its target) or been refused after connecting; return
    what each got."""
    strangers = start_strangers(lbs, lb_ips, folder, transport, first_session)
    try:
        results = []
        for stranger in strangers:

            def probe(stranger: Stranger = stranger) -> tuple[bool, Outcome]:
                seen = outcome(stranger, lbs)
                got_in = (
                    seen.last_status == "ESTA"
                    and lab_keys <= seen.learned
                    and seen.target in seen.honoured_by
                )
                # HSHK: the TCP connection to the member's peers port was made,
                # the peers handshake never completed.
                refused = seen.last_status == "HSHK" and seen.connections >= REFUSALS
                return got_in or refused, seen

            results.append(
                wait_until(probe, ATTACK_TIMEOUT_S, f"stranger toward {stranger.target.name}")
            )
        return results
    finally:
        for stranger in strangers:
            stranger.process.stop()
