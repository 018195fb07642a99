"""playbooks/rolling_restart.yml under load: both members restarted, every entry kept on
both, no session moved.

Each member restarts only once the other holds its table, and serves again
before it has relearnt it: the handover hold makes the requests it meets in
between wait for their entries. Requests a member gets while it is down
fail (the floating address is what spares clients that); they are counted.
"""

from __future__ import annotations

from peerlab.runtime import show_proc


def test_a_rolling_restart_under_load_keeps_every_entry_and_moves_no_session(
    settled, lbs, lab_entries, sticky_load, rolling_restart, figures
):
    lab_entries(8800)
    before = {lb.name: lb.table_servers() for lb in lbs}
    # A member restarted relearns the other's table: what it must keep is what both hold.
    differ = {
        k for k in before[lbs[0].name] if before[lbs[0].name][k] != before[lbs[1].name].get(k)
    }
    assert not differ, f"the tables differ before the restart on {len(differ)} keys: {differ}"
    masters = {lb.name: show_proc(lb.run).master_pid for lb in lbs}
    with sticky_load(lbs, "rolling-restart") as load:
        started = load.now()
        result = rolling_restart()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert load.answered_after(started) > 0, load.summary()
    for lb in lbs:
        assert show_proc(lb.run).master_pid != masters[lb.name], f"{lb.name} was not restarted"
        now = lb.table_servers()
        lost = {k: v for k, v in before[lb.name].items() if now.get(k) != v}
        assert not lost, f"{lb.name}: {len(lost)} of {len(before[lb.name])} entries lost: {lost}"
    load.assert_nothing_moved()
    load.assert_every_entry_kept()
    figures["rolling restart"] = (
        f"both members restarted, {len(before[lbs[0].name])} entries kept; {load.summary()}"
    )
