"""A reload HAProxy refuses fails the play with HAProxy's reason; the old worker serves on.

`haproxy -c` accepts a statistics bind on a port another process holds: the
port is only taken when the new worker starts, and it cannot. HAProxy's
master then keeps the old worker; the role must say so, and a second run
must fail again instead of reporting ok.
"""

from __future__ import annotations

import pytest

from peerlab.channels import within
from peerlab.lab import wait_reloaded
from peerlab.runtime import show_proc
from peerlab.sync import wait_until

HOG_UNIT = "peerlab-port-hog"
HOG_PORT = 8405
LISTENER = (
    "import socket, time; s = socket.socket(); "
    f"s.bind(('0.0.0.0', {HOG_PORT})); s.listen(); time.sleep(3600)"
)


def config_checksum(lb) -> str:
    return lb.run("sha256sum /etc/haproxy/haproxy.cfg").split()[0]


@pytest.fixture
def port_hog(lb1, lb2):
    """A process listening on HOG_PORT on LB1. Afterwards it is stopped and LB1
    reloaded, as an operator would once the port is free, so the next tests
    start from a pair with one worker each."""
    # --collect: a unit that failed does not linger and block the next run.
    lb1.run(f"systemd-run --collect --unit={HOG_UNIT} python3 -c {LISTENER!r}")
    try:
        probe = within(
            f"systemctl is-active --quiet {HOG_UNIT}"
            f" && bash -c 'echo > /dev/tcp/127.0.0.1/{HOG_PORT}' && echo listening"
        )
        wait_until(
            lambda: (lb1.run(probe + " || true").strip() == "listening", "not listening"),
            30,
            f"{HOG_UNIT} listening on {HOG_PORT}",
        )
        yield HOG_PORT
    finally:
        lb1.run(f"systemctl stop {HOG_UNIT}")
        reloads = show_proc(lb1.run).reloads
        lb1.systemctl("reload")
        wait_reloaded(lb1, reloads, [lb2.name], timeout=60)


def test_a_refused_reload_fails_the_play_and_the_old_worker_keeps_serving(
    settled, lb1, apply_role, lab_servers, lab_entries, figures, request
):
    lab_entries(8100)
    sessions = range(8100, 8105)
    answers = lb1.backends_for(sessions)
    before, checksum = show_proc(lb1.run), config_checksum(lb1)
    port = request.getfixturevalue("port_hog")
    outputs = []
    for _ in range(2):
        result = apply_role(
            "haproxy_peers",
            lb1.name,
            {"haproxy_peers_servers": lab_servers, "haproxy_peers_stats_bind": f"*:{port}"},
        )
        outputs.append(result.stdout + result.stderr)
        assert result.returncode != 0, outputs[-1][-3000:]
    for run, output in enumerate(outputs, 1):
        assert "HAProxy refused to start a worker" in output, f"run {run}: {output[-3000:]}"
        assert f":{port}" in output, output[-3000:]
        assert "Address already in use" in output, output[-3000:]
    after = show_proc(lb1.run)
    # 3.2 lists the worker that keeps serving among the old ones.
    serving = after.workers + after.old_workers
    assert (after.master_pid, serving) == (before.master_pid, before.workers), (
        f"{before} -> {after}"
    )
    assert after.reloads == before.reloads + 2
    # 2.6 and 3.0 count refusals; 3.2's counter says whether the last one failed.
    assert after.failed_reloads >= 1
    assert after.last_reload_refused
    # The configuration that runs is the one on disk again.
    assert config_checksum(lb1) == checksum
    now = lb1.backends_for(sessions)
    moved = {n: (answers[n], now[n]) for n in sessions if now[n] != answers[n]}
    assert not moved, f"{len(moved)} of {len(answers)} sessions moved: {moved}"
    figures["refused reloads, sessions kept"] = f"{len(answers)}/{len(answers)}"
