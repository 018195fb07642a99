"""A reload over TLS peers hands the table over and leaves nothing behind.

HAProxy #1791/#1799: with SSL on the peers bind but not on the local server,
the old worker cannot hand its table to the new one, does not exit, and
spins at 100% CPU. The role configures both sides alike; these tests fail if
a reload leaves an old worker behind or a busy process.
"""

from __future__ import annotations

from peerlab.lab import STICK_TABLE, wait_reloaded
from peerlab.runtime import show_proc, show_table

RELOAD_TIMEOUT_S = 60.0
# CPU time used over a measuring window, as a share of one core: an idle
# HAProxy uses almost none, the bug's old workers use a whole core.
CPU_WINDOW_S = 3
MAX_CPU_SHARE = 0.2


def test_a_reload_hands_every_entry_over_and_the_old_worker_exits(lb1, lb2, lab_entries):
    lab_entries(7700)
    before = show_proc(lb1.run)
    table = show_table(lb1.run, STICK_TABLE).servers()
    lb1.systemctl("reload")
    # Waits until the master counts the reload, no old worker is left and
    # the new worker finished its resync with LB2 connected.
    wait_reloaded(lb1, before.reloads, [lb2.name], timeout=RELOAD_TIMEOUT_S)
    after = show_proc(lb1.run)
    assert after.master_pid == before.master_pid
    assert after.old_workers == ()
    assert set(after.workers).isdisjoint(before.workers)
    now = show_table(lb1.run, STICK_TABLE).servers()
    assert {key: now.get(key) for key in table} == table, f"{len(table)} entries before"


def cpu_share(lb, pids: list[int]) -> dict[int, float]:
    """Share of one core each process used over a window of CPU_WINDOW_S seconds.

    The window is a measurement, not a wait for a condition: both readings
    and the pause between them run in one command on the load balancer.
    """
    stats = " ".join(f"/proc/{pid}/stat" for pid in pids)
    output = lb.run(f"getconf CLK_TCK; cat {stats}; sleep {CPU_WINDOW_S}; cat {stats}")
    lines = output.splitlines()
    ticks = int(lines[0])
    first, second = lines[1 : 1 + len(pids)], lines[1 + len(pids) :]

    def used(line: str) -> int:
        # Fields after the command name: utime and stime are the 12th and 13th.
        fields = line.rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    return {
        pid: (used(b) - used(a)) / ticks / CPU_WINDOW_S
        for pid, a, b in zip(pids, first, second, strict=True)
    }


def test_after_reloads_every_haproxy_process_is_idle(lbs):
    for lb in lbs:
        processes = show_proc(lb.run)
        pids = [processes.master_pid, *processes.workers, *processes.old_workers]
        shares = cpu_share(lb, pids)
        busy = {pid: round(share, 2) for pid, share in shares.items() if share > MAX_CPU_SHARE}
        assert not busy, f"{lb.name}: processes busy over {CPU_WINDOW_S} s: {busy}"
