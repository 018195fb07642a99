"""The api service's rate limit: 429 past it, the client's count on the other
member, kept across a reload and a move of the floating address.

The limit counts requests per client address and minute in a table of the
peers section; every request here comes from this machine's address on the
lab network, one client. HAProxy's rate is a sliding window: a count begins
to fade one period after the entry's first request, so the test clears the
client's entry on both members first (what the converged stage counted would
start the window anywhere) and sends twice the limit, which stays above it for
half a period more than the window: longer than the reload and the failover
take. After the restart it compares the restarted member's count with the
other member's at that moment, not with the limit, which the fading may cross.
"""

from __future__ import annotations

import requests
from app_clients import holder

from peerlab.lab import PEERS_SECTION, wait_all_synced
from peerlab.runtime import show_table, socket_command
from peerlab.sync import wait_until

HTTPS_PORT = 8443
TABLE = f"{PEERS_SECTION}/rl-api"
RATE = "http_req_rate(60000)"
REPLICATION_TIMEOUT_S = 10.0
MOVE_TIMEOUT_S = 30.0
SYNC_TIMEOUT_S = 60.0
CLEAR_TIMEOUT_S = 10.0
# Two counts read one after the other differ by the fading between the reads.
FADING_TOLERANCE = 0.05


def counts(lb) -> dict[str, int]:
    """Client address -> requests counted in the last minute, as ``lb`` holds them."""
    return {key: int(e.data.get(RATE, 0)) for key, e in show_table(lb.run, TABLE).entries.items()}


def clear_counts(lbs) -> None:
    """No client counted on any member, so the window starts with the test's requests."""
    for lb in lbs:
        lb.run(socket_command(f"clear table {TABLE}"))

    def cleared() -> tuple[bool, dict[str, dict[str, int]]]:
        held = {lb.name: counts(lb) for lb in lbs}
        return not any(held.values()), held

    wait_until(cleared, CLEAR_TIMEOUT_S, "no client counted on either member")


def status(address: str, lab_ca: str) -> int:
    return requests.get(f"https://{address}:{HTTPS_PORT}/", verify=lab_ca, timeout=5).status_code


def test_past_the_limit_429_on_both_members_after_a_reload_and_a_failover(
    settled, lbs, lb_ips, floating, lab_pki, lb_variables
):
    lab_ca = str(lab_pki / "ca.crt")
    lb1, lb2 = lbs
    allowed = int(lb_variables["lab_api_rate_limit"])
    assert holder(lbs, floating.address) is lb1
    clear_counts(lbs)
    statuses = [status(lb_ips[lb1.name], lab_ca) for _ in range(2 * allowed + 5)]
    accepted = statuses.count(200)
    assert 0 < accepted <= allowed, statuses
    assert statuses[accepted:] == [429] * (len(statuses) - accepted), statuses
    counted = counts(lb1)
    assert len(counted) == 1, f"one client, one counter: {counted}"
    (client,) = counted
    assert counted[client] > allowed, counted

    # The member that counted sends its counter; the other one holds it and refuses too.
    wait_until(
        lambda: (counts(lb2).get(client, 0) >= counted[client], counts(lb2)),
        REPLICATION_TIMEOUT_S,
        f"{lb2.name} holds {client}'s count",
    )
    assert status(lb_ips[lb2.name], lab_ca) == 429

    # A reload hands the counter to the new worker with every other entry.
    lb1.systemctl("reload")
    assert counts(lb1).get(client, 0) > allowed, counts(lb1)
    assert status(lb_ips[lb1.name], lab_ca) == 429

    # HAProxy stopped on the holder: the address moves, the count is there.
    lb1.systemctl("stop")
    try:
        wait_until(
            lambda: (holder(lbs, floating.address) is lb2, None),
            MOVE_TIMEOUT_S,
            f"{floating.address} moved to {lb2.name}",
            tolerate=(AssertionError,),
        )
        assert status(floating.address, lab_ca) == 429
    finally:
        lb1.systemctl("start")
    wait_until(
        lambda: (holder(lbs, floating.address) is lb1, None),
        MOVE_TIMEOUT_S,
        f"{floating.address} back on {lb1.name}",
        tolerate=(AssertionError,),
    )
    wait_all_synced(lbs, SYNC_TIMEOUT_S)
    # The restarted process began with no entry and has served no request since.
    kept, learnt = counts(lb2).get(client, 0), counts(lb1).get(client, 0)
    assert kept > 0, f"{lb2.name} still counts {client}"
    assert learnt >= kept * (1 - FADING_TOLERANCE) - 1, (
        f"the restarted {lb1.name} learnt {client}'s count back: {learnt}, {lb2.name} holds {kept}"
    )
