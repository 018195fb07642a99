"""Restarting the last running member loses the table, as HAProxy documents.

This test keeps the documentation true: with LB2 stopped, `peerlab status`
warns that LB1 is the only holder, the rolling restart refuses to restart
it, and a plain restart of LB1 comes back with an empty table. Runs last:
it empties both tables.
"""

from __future__ import annotations

import json
import os
import subprocess

from peerlab.channels import project_tool
from peerlab.lab import wait_all_synced
from peerlab.narrative import SETTLE_TIMEOUT_S
from peerlab.runtime import show_proc, show_table
from peerlab.sync import wait_synced


def peerlab_status() -> tuple[int, dict]:
    result = subprocess.run(
        [
            project_tool("peerlab"), "status", "--json", "--channel", "ansible",
            "--inventory", os.environ["MOLECULE_INVENTORY_FILE"],
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return result.returncode, json.loads(result.stdout)


def test_restarting_the_last_member_empties_the_table_and_status_warned(
    settled, lb1, lb2, lab_entries, rolling_restart, figures
):
    lab_entries(8900)
    code, status = peerlab_status()
    assert code == 0, status
    assert status["healthy"]
    held = len(lb1.table_servers())
    lb2.systemctl("stop")
    try:
        code, status = peerlab_status()
        assert code == 1, status
        first = next(m for m in status["load_balancers"] if m["name"] == lb1.name)
        assert any("only running holder" in p for p in first["problems"]), first
        assert any(f"peer link to {lb2.name} down" in p for p in first["problems"]), first

        master = show_proc(lb1.run).master_pid
        # Not the default 120 s: the point is the refusal, not the patience.
        refused = rolling_restart("-e", "haproxy_peers_restart_timeout=2")
        output = refused.stdout + refused.stderr
        assert refused.returncode != 0, output[-3000:]
        assert f"Not restarting {lb1.name}" in output, output[-3000:]
        assert show_proc(lb1.run).master_pid == master, "the rolling restart restarted LB1"
        assert len(lb1.table_servers()) == held

        lb1.systemctl("restart")
        wait_synced(lb1.run, lb1.names.section, (), SETTLE_TIMEOUT_S)
        assert show_table(lb1.run, lb1.names.table).used == 0
    finally:
        lb2.systemctl("start")
    wait_all_synced([lb1, lb2], SETTLE_TIMEOUT_S)
    assert show_table(lb2.run, lb2.names.table).used == 0
    figures["last member restarted"] = (
        f"{held} entries before, 0 after on both; peerlab status exit 1 beforehand "
        "(only running holder); rolling restart refused"
    )
