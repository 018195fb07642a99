"""kill -9 of a member's HAProxy: systemd starts it again and it relearns the whole table."""

from __future__ import annotations

import pytest

from peerlab import faults
from peerlab.runtime import show_proc

RESTART_TIMEOUT_S = 120.0


@pytest.mark.parametrize(("victim", "process"), [(1, "worker"), (0, "master")])
def test_a_killed_member_comes_back_with_the_whole_table(
    settled, lbs, lab_entries, victim, process, figures
):
    lab_entries(8500 + 10 * victim)
    lb, other = lbs[victim], lbs[1 - victim]
    table = other.table_servers()
    master = show_proc(lb.run).master_pid
    killed = faults.kill_haproxy(lb, process)
    took = faults.wait_restarted(lb, master, [other.name], RESTART_TIMEOUT_S)
    now = lb.table_servers()
    lost = {key: server for key, server in table.items() if now.get(key) != server}
    assert not lost, f"{len(lost)} of {len(table)} entries not relearnt by {lb.name}: {lost}"
    figures[f"kill -9 {process} of {lb.name} ({killed})"] = (
        f"back with {len(table)}/{len(table)} entries after {took:.1f} s"
    )
