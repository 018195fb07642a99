"""kill -9 of a member's HAProxy under load: systemd starts it again, it relearns the
whole table, and no session changes server.

The restarted HAProxy serves as soon as it is up, before the other member
has taught it the table; the handover hold makes the requests it meets in
between wait for their entries. Requests sent while nothing listens fail:
that is what a kill costs, and it is counted, not asserted.
"""

from __future__ import annotations

import pytest

from peerlab import faults
from peerlab.runtime import show_proc

RESTART_TIMEOUT_S = 120.0


@pytest.mark.parametrize(("victim", "process"), [(1, "worker"), (0, "master")])
def test_a_killed_member_comes_back_with_the_whole_table_and_moves_no_session(
    settled, lbs, lab_entries, sticky_load, victim, process, figures
):
    lab_entries(8500 + 10 * victim)
    lb, other = lbs[victim], lbs[1 - victim]
    table = other.table_servers()
    master = show_proc(lb.run).master_pid
    # The load's sessions are made through the victim just before the kill: the
    # other member holds every one of them first (what a member has not yet
    # sent to its peers, kill -9 loses; what this test is about is relearning
    # the table the other member holds).
    with sticky_load([lb], f"kill-{process}", replicas=[other]) as load:
        killed_at = load.now()
        killed = faults.kill_haproxy(lb, process)
        took = faults.wait_restarted(lb, master, [other.name], RESTART_TIMEOUT_S)
    # The restarted HAProxy answered while it learnt its table.
    assert load.answered_after(killed_at) > 0, load.summary()
    now = lb.table_servers()
    lost = {key: server for key, server in table.items() if now.get(key) != server}
    assert not lost, f"{len(lost)} of {len(table)} entries not relearnt by {lb.name}: {lost}"
    load.assert_nothing_moved()
    load.assert_every_entry_kept()
    figures[f"kill -9 {process} of {lb.name} ({killed})"] = (
        f"back with {len(table)}/{len(table)} entries after {took:.1f} s; {load.summary()}"
    )
