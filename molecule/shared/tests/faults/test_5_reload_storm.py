"""Twenty reloads of one member under load: nothing fails, moves or gets lost.

A new worker serves from its first moment, and learns the table from the old
one a few milliseconds later. With round robin, a request in that window
gets the next server and sticks there (measured: 10 reloads at about 450
requests/s moved 10 to 15 sessions, 2 to 4 of 20 for good). With
`haproxy_peers_balance: hash` the new worker picks the server the session
already has, so nothing moves: this is what the test holds the role to.
"""

from __future__ import annotations

from peerlab import faults
from peerlab.lab import wait_replicated
from peerlab.load import SessionLoad

RELOADS = 20
RELOAD_TIMEOUT_S = 60.0
SESSIONS = range(8700, 8720)


def test_twenty_reloads_under_load_lose_nothing(settled, lb1, lb2, reconfigure, figures):
    reconfigure(haproxy_peers_balance="hash")
    lb1.backends_for(SESSIONS)
    wait_replicated(lb2, list(SESSIONS))
    before = {lb.name: lb.table_servers() for lb in (lb1, lb2)}
    with SessionLoad([lb1.url, lb2.url], SESSIONS, lb1.names.cookie, max_seconds=300) as load:
        took = faults.reload_storm(lb1, RELOADS, [lb2.name], RELOAD_TIMEOUT_S)
    report = load.report
    assert len(took) == RELOADS
    assert report.requests > 0
    assert not report.errors, f"{len(report.errors)}/{report.requests} failed: {report.errors[:10]}"
    assert not report.moved, f"{len(report.moved)} sessions changed backend: {report.moved}"
    for lb in (lb1, lb2):
        now = lb.table_servers()
        lost = {k: v for k, v in before[lb.name].items() if now.get(k) != v}
        assert not lost, f"{lb.name}: {len(lost)} of {len(before[lb.name])} entries lost: {lost}"
    figures["reload storm"] = (
        f"balance hash: {RELOADS} reloads of {lb1.name} in {sum(took):.1f} s "
        f"(slowest {max(took):.1f} s), "
        f"{report.requests} requests on both LBs: 0 failed, 0 moved, "
        f"{len(before[lb1.name])} entries kept"
    )
