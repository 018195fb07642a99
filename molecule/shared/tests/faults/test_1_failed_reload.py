"""A reload HAProxy refuses fails the play with HAProxy's reason; the old worker serves on.

`haproxy -c` accepts a statistics bind on a port another process holds: the
port is only taken when the new worker starts, and it cannot. HAProxy's
master then keeps the old worker; playbooks/site.yml must fail and say why,
and a second run must fail again instead of reporting ok.

While the new worker retries its binds (HAProxy tries for about 2 s), the old
worker's listeners are paused: new connections are refused for that long,
then the old worker accepts again. Load on both members measures it.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from peerlab.channels import within
from peerlab.failover import error_windows
from peerlab.lab import wait_all_synced, wait_reloaded
from peerlab.load import SessionLoad
from peerlab.runtime import show_peers, show_proc
from peerlab.sync import wait_until

HOG_UNIT = "peerlab-port-hog"
HOG_PORT = 8405
# Failures further apart than this belong to different refused reloads.
BURST_GAP_S = 1.0
# The longest a refused reload may leave new connections refused: HAProxy's
# bind retries take about 2 s, then the old worker resumes its listeners.
REFUSAL_WINDOW_MAX_S = 5.0
LISTENER = (
    "import socket, time; s = socket.socket(); "
    f"s.bind(('0.0.0.0', {HOG_PORT})); s.listen(); time.sleep(3600)"
)


def config_checksum(lb) -> str:
    return lb.run("sha256sum /etc/haproxy/haproxy.cfg").split()[0]


def link_state(lb) -> str:
    """The member's peer links as its runtime API shows them, for the figures."""
    try:
        peers = show_peers(lb.run).get(lb.names.section)
    except AssertionError:
        # HAProxy 3.2 leaves the socket's path to the refused worker's dead socket.
        return "runtime API socket not answering"
    return "up" if peers and all(p.connected for p in peers.remotes) else "down"


@pytest.fixture
def port_hog(lbs):
    """A process listening on HOG_PORT on every load balancer. Afterwards it is
    stopped and each one reloaded, as an operator would once the port is free,
    so the next tests start from a pair with one worker each."""
    probe = within(
        f"systemctl is-active --quiet {HOG_UNIT}"
        f" && bash -c 'echo > /dev/tcp/127.0.0.1/{HOG_PORT}' && echo listening"
    )
    try:
        for lb in lbs:
            # --collect: a unit that failed does not linger and block the next run.
            lb.run(f"systemd-run --collect --unit={HOG_UNIT} python3 -c {LISTENER!r}")
            wait_until(
                lambda lb=lb: (lb.run(probe + " || true").strip() == "listening", "not yet"),
                30,
                f"{HOG_UNIT} listening on {HOG_PORT} on {lb.name}",
            )
        yield HOG_PORT
    finally:
        # Every port free and every member reloaded before any is waited for:
        # on HAProxy 2.6 a member whose reload was refused was seen with its
        # peer links down until a reload succeeded.
        for lb in lbs:
            lb.run(f"systemctl stop {HOG_UNIT} || true")
        reloads = {lb.name: show_proc(lb.run).reloads for lb in lbs}
        for lb in lbs:
            lb.systemctl("reload")
        for lb in lbs:
            wait_reloaded(lb, reloads[lb.name], (), timeout=60)
        wait_all_synced(lbs, timeout=120)


def test_a_refused_reload_fails_the_site_playbook_and_the_old_workers_keep_serving(
    settled, lbs, lab_entries, ansible_playbook, figures, request
):
    lab_entries(8100)
    sessions = range(8100, 8105)
    answers = {lb.name: lb.backends_for(sessions) for lb in lbs}
    before = {lb.name: (show_proc(lb.run), config_checksum(lb)) for lb in lbs}
    port = request.getfixturevalue("port_hog")
    outputs = []
    with ExitStack() as stack:
        loads = {
            lb.name: stack.enter_context(
                SessionLoad([lb.url], sessions, request_timeout=1.0, interval=0.01)
            )
            for lb in lbs
        }
        for _ in range(2):
            result = ansible_playbook("site.yml", "-e", f"haproxy_peers_stats_bind=*:{port}")
            outputs.append(result.stdout + result.stderr)
            assert result.returncode != 0, outputs[-1][-3000:]
    reports = {name: load.report for name, load in loads.items()}
    for run, output in enumerate(outputs, 1):
        refusals = output.count("HAProxy refused to start a worker")
        assert refusals >= len(lbs), f"run {run}: {refusals} refusals: {output[-3000:]}"
        assert f":{port}" in output, output[-3000:]
        assert "Address already in use" in output, output[-3000:]
    links = {}
    for lb in lbs:
        procs, checksum = before[lb.name]
        links[lb.name] = link_state(lb)
        after = show_proc(lb.run)
        # 3.2 lists the worker that keeps serving among the old ones.
        serving = after.workers + after.old_workers
        assert (after.master_pid, serving) == (procs.master_pid, procs.workers), (
            f"{lb.name}: {procs} -> {after}"
        )
        assert after.reloads == procs.reloads + 2, lb.name
        # 2.6 and 3.0 count refusals; 3.2's counter says whether the last one failed.
        assert after.failed_reloads >= 1, lb.name
        assert after.last_reload_refused, lb.name
        # The configuration that runs is the one on disk again.
        assert config_checksum(lb) == checksum, lb.name
        now = lb.backends_for(sessions)
        moved = {
            n: (answers[lb.name][n], now[n]) for n in sessions if now[n] != answers[lb.name][n]
        }
        assert not moved, f"{lb.name}: {len(moved)} of {len(sessions)} sessions moved: {moved}"
    windows = {}
    for name, report in reports.items():
        assert not report.moved, f"{name}: sessions moved during the refusals: {report.moved}"
        windows[name] = error_windows(report.failures, BURST_GAP_S)
        assert all(window <= REFUSAL_WINDOW_MAX_S for window in windows[name]), (
            f"{name}: new connections refused for {windows[name]} s (at most "
            f"{REFUSAL_WINDOW_MAX_S:g} s each): the old worker did not resume accepting; "
            f"{report.errors[-3:]}"
        )
    refused = {
        name: f"{len(report.failures)} of {report.requests} failed, windows "
        + (", ".join(f"{w:.2f}" for w in windows[name]) or "none")
        + " s"
        for name, report in reports.items()
    }
    figures["refused reloads (site.yml, twice)"] = (
        f"both runs failed naming :{port}; {len(sessions)}/{len(sessions)} sessions kept on each "
        f"LB; peer links while refused: {links}; requests to each LB meanwhile: {refused}"
    )
