"""Members may list the servers in different orders: sessions follow server names.

Replicated entries carry the server's id and its name (server_key); a
server's id depends on the order of the server lines, its name does not.
With LB2's list reversed, every server but the middle one has another id on
each member, and sessions must still reach the same backend through both.
"""

from __future__ import annotations

from peerlab.lab import wait_replicated
from peerlab.runtime import show_servers, show_table
from peerlab.sessions import session_id

SESSIONS_FROM_LB1 = list(range(8201, 8208))
SESSIONS_FROM_LB2 = list(range(8301, 8308))


def server_ids(lb) -> dict[str, int]:
    return {server.name: server.server_id for server in show_servers(lb.run, lb.names.table)}


def entries(lb, sessions):
    table = show_table(lb.run, lb.names.table).entries
    return [table[session_id(number)] for number in sessions]


def test_sessions_keep_their_backend_when_members_order_servers_differently(
    lb1, lb2, lab_servers, reconfigure
):
    reconfigure(limit=lb2.name, haproxy_peers_servers=list(reversed(lab_servers)))
    try:
        ids = [server_ids(lb1), server_ids(lb2)]
        assert set(ids[0]) == set(ids[1])
        # The orders really differ: the same names have other ids.
        assert sum(ids[0][name] != ids[1][name] for name in ids[0]) == len(ids[0]) - 1, ids
        for origin, other, sessions in (
            (lb1, lb2, SESSIONS_FROM_LB1),
            (lb2, lb1, SESSIONS_FROM_LB2),
        ):
            answers = origin.backends_for(sessions)
            wait_replicated(other, sessions)
            assert other.backends_for(sessions) == answers, f"created on {origin.name}"
            here, there = entries(origin, sessions), entries(other, sessions)
            assert [e.server_key for e in here] == [e.server_key for e in there]
    finally:
        reconfigure(limit=lb2.name)
