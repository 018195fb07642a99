"""playbooks/rolling_restart.yml restarts both members and keeps every entry on both."""

from __future__ import annotations

from peerlab.runtime import show_proc


def test_a_rolling_restart_keeps_every_entry_on_both_members(
    settled, lbs, lab_entries, rolling_restart, figures
):
    lab_entries(8800)
    before = {lb.name: lb.table_servers() for lb in lbs}
    masters = {lb.name: show_proc(lb.run).master_pid for lb in lbs}
    result = rolling_restart()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for lb in lbs:
        assert show_proc(lb.run).master_pid != masters[lb.name], f"{lb.name} was not restarted"
        now = lb.table_servers()
        lost = {k: v for k, v in before[lb.name].items() if now.get(k) != v}
        assert not lost, f"{lb.name}: {len(lost)} of {len(before[lb.name])} entries lost: {lost}"
    figures["rolling restart"] = f"both members restarted, {len(before[lbs[0].name])} entries kept"
