"""A backend down: its sessions go elsewhere, and the new server is replicated.

Apache stops listening on one vhost's port. Until the health checks mark the
server DOWN, HAProxy retries the connection and, with `option redispatch`,
sends the request to another server; after that, it picks another server
directly. Either way the stick table entry now names the new server, on
both load balancers.
"""

from __future__ import annotations

from peerlab import faults
from peerlab.load import SessionLoad
from peerlab.sessions import session_id
from peerlab.sync import wait_until

HEALTH_TIMEOUT_S = 60.0
SESSIONS = range(8600, 8614)  # two rounds of the seven servers
DOWN = "be1"
DOWN_ANSWER = "Backend 1"


def test_sessions_of_a_backend_that_goes_down_move_once_and_replicate(
    settled, lb1, lb2, web, lab_entries, lab_servers, figures
):
    lab_entries(SESSIONS.start)
    answers = lb1.backends_for(SESSIONS)
    stuck = [n for n in SESSIONS if answers[n] == DOWN_ANSWER]
    assert stuck, f"no session on {DOWN}: {answers}"
    port = next(server["port"] for server in lab_servers if server["name"] == DOWN)
    with faults.backend_down(web, port):
        with SessionLoad([lb1.url, lb2.url], stuck, lb1.names.cookie, max_seconds=120) as load:
            faults.wait_server_status([lb1, lb2], DOWN, "DOWN", HEALTH_TIMEOUT_S)
        report = load.report
        moved_to = lb1.backends_for(stuck)
        assert DOWN_ANSWER not in moved_to.values(), moved_to

        def replicated() -> tuple[bool, str]:
            one, two = lb1.table_servers(), lb2.table_servers()
            keys = [session_id(n) for n in stuck]
            same = [k for k in keys if one.get(k) == two.get(k) and one.get(k) != DOWN]
            return len(same) == len(keys), f"{len(same)}/{len(keys)} moved entries alike on both"

        wait_until(replicated, 30, "the new servers replicated")
        # Still there after the backend comes back: sessions do not move twice.
    faults.wait_server_status([lb1, lb2], DOWN, "UP", HEALTH_TIMEOUT_S)
    assert lb1.backends_for(stuck) == moved_to
    assert lb2.backends_for(stuck) == moved_to
    assert not report.errors, (
        f"{len(report.errors)} of {report.requests} requests failed while {DOWN} went down: "
        f"{report.errors[:10]}"
    )
    figures["backend down"] = (
        f"{len(stuck)} sessions on {DOWN} moved once, replicated; {report.requests} requests "
        f"while it went down, {len(report.errors)} failed"
    )
