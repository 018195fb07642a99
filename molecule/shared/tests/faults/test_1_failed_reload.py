"""A change HAProxy would refuse never reaches a listener; one it refuses fails the play.

`haproxy -c` accepts a statistics bind on a port another process holds: the
port is only taken when the new worker starts, and it cannot. The reload
module tries every bind before it signals HAProxy, so such a change fails
the play on the first member, before any reload: no listener pauses, the
second member is not touched, and the floating address stays where it is.

With that check turned off (haproxy_peers_reload_preflight: false), HAProxy
itself refuses the new worker: the old one keeps serving, but its listeners
are paused while the new worker retries its binds (about 2 s), then accept
again; the play fails with HAProxy's reason and the file that runs is put
back. Load on the member measures that window.
"""

from __future__ import annotations

import re
from contextlib import ExitStack

import pytest

from peerlab.channels import within
from peerlab.failover import error_windows, holders
from peerlab.lab import wait_all_synced, wait_reloaded
from peerlab.load import SessionLoad
from peerlab.runtime import show_proc
from peerlab.sync import wait_until

HOG_UNIT = "peerlab-port-hog"
HOG_PORT = 8405
# Failures further apart than this belong to different refused reloads.
BURST_GAP_S = 1.0
# The longest a refused reload may leave new connections refused: HAProxy's
# bind retries take about 2 s, then the old worker resumes its listeners.
REFUSAL_WINDOW_MAX_S = 5.0
# About 30 new connections a second to each target.
LOAD_INTERVAL_S = 0.03
LISTENER = (
    "import socket, time; s = socket.socket(); "
    f"s.bind(('0.0.0.0', {HOG_PORT})); s.listen(); time.sleep(3600)"
)


def config_checksum(lb) -> str:
    return lb.run("sha256sum /etc/haproxy/haproxy.cfg").split()[0]


def vrrp_transitions(lb, since: str) -> list[str]:
    """keepalived's state changes on ``lb`` since ``since`` (seconds since the epoch)."""
    journal = lb.run(f"journalctl -u keepalived --since @{since} --no-pager -o cat")
    return [line for line in journal.splitlines() if "Entering" in line and "STATE" in line]


def hosts_of_task(output: str, title: str) -> list[str]:
    """The hosts ansible-playbook reported a result for under task (or handler) ``title``."""
    hosts = []
    for block in re.split(r"^(?:TASK|RUNNING HANDLER) \[", output, flags=re.M)[1:]:
        if block.startswith(title + "]"):
            hosts += re.findall(r"^(?:ok|changed|fatal|failed|skipping): \[([^\]]+)\]", block, re.M)
    return sorted(set(hosts))


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


def test_a_change_haproxy_would_refuse_fails_site_yml_before_any_reload(
    settled, lbs, lab_entries, floating, port_hog, ansible_playbook, figures
):
    lab_entries(8100)
    sessions = range(8100, 8105)
    processes = {lb.name: show_proc(lb.run) for lb in lbs}
    checksums = {lb.name: config_checksum(lb) for lb in lbs}
    (holder,) = holders(lbs, floating.address)
    since = lbs[0].run("date +%s").strip()
    targets = {lb.name: lb.url for lb in lbs} | {"floating address": floating.url}
    with ExitStack() as stack:
        loads = {
            name: stack.enter_context(
                SessionLoad([url], sessions, request_timeout=1.0, interval=LOAD_INTERVAL_S)
            )
            for name, url in targets.items()
        }
        result = ansible_playbook("site.yml", "-e", f"haproxy_peers_stats_bind=*:{port_hog}")
        still_held = holders(lbs, floating.address)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    # The first member's preflight names the port and who holds it.
    assert "HAProxy would refuse to start a worker" in output, output[-3000:]
    assert f"port {port_hog} is already in use by python3" in output, output[-3000:]
    assert f"0.0.0.0:{port_hog}" in output, output[-3000:]
    for lb in lbs:
        # Not reloaded, not restarted; the file on disk is the one that runs.
        assert show_proc(lb.run) == processes[lb.name], lb.name
        assert config_checksum(lb) == checksums[lb.name], lb.name
    # One member at a time: the second one never got the change.
    assert hosts_of_task(output, "haproxy_peers : Render haproxy.cfg") == [lbs[0].name]
    assert hosts_of_task(output, "haproxy_peers : Reload HAProxy") == [lbs[0].name]
    assert still_held == [holder], [lb.name for lb in still_held]
    assert holders(lbs, floating.address) == [holder]
    for lb in lbs:
        assert vrrp_transitions(lb, since) == [], lb.name
    for name, load in loads.items():
        report = load.report
        assert report.requests > 0, f"{name}: the load sent nothing"
        assert not report.errors, f"{name}: {len(report.errors)} failed: {report.errors[:5]}"
        assert not report.moved, f"{name}: sessions moved: {report.moved}"
    figures["refused change (site.yml)"] = (
        f"failed on {lbs[0].name} naming :{port_hog} before any reload, {lbs[1].name} untouched; "
        + ", ".join(f"{n}: {load.report.requests} requests, 0 failed" for n, load in loads.items())
        + f"; the floating address stayed on {holder.name}"
    )


def test_a_reload_haproxy_refuses_fails_with_its_reason_and_the_old_worker_serves_on(
    settled, lbs, lab_entries, floating, port_hog, apply_role, lab_servers, figures
):
    lab_entries(8150)
    sessions = range(8150, 8155)
    # The member that does not hold the floating address: its pause moves nothing.
    (holder,) = holders(lbs, floating.address)
    (lb,) = [member for member in lbs if member is not holder]
    answers = lb.backends_for(sessions)
    before, checksum = show_proc(lb.run), config_checksum(lb)
    with SessionLoad([lb.url], sessions, request_timeout=1.0, interval=0.01) as load:
        result = apply_role(
            "haproxy_peers",
            lb.name,
            {
                "haproxy_peers_servers": lab_servers,
                "haproxy_peers_stats_bind": f"*:{port_hog}",
                "haproxy_peers_reload_preflight": False,
            },
        )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "HAProxy refused to start a worker" in output, output[-3000:]
    assert f":{port_hog}" in output, output[-3000:]
    assert "Address already in use" in output, output[-3000:]
    after = show_proc(lb.run)
    # 3.2 lists the worker that keeps serving among the old ones.
    assert (after.master_pid, after.workers + after.old_workers) == (
        before.master_pid,
        before.workers,
    ), f"{before} -> {after}"
    assert after.reloads == before.reloads + 1
    # 2.6 and 3.0 count refusals; 3.2's counter says whether the last one failed.
    assert after.failed_reloads >= 1
    assert after.last_reload_refused
    assert config_checksum(lb) == checksum, "the file that runs is not back in place"
    assert lb.backends_for(sessions) == answers
    report = load.report
    assert not report.moved, f"sessions moved during the refusal: {report.moved}"
    windows = error_windows(report.failures, BURST_GAP_S)
    # The load saw the pause, and the old worker accepted again after it.
    assert len(windows) == 1, f"refusal windows {windows}: {report.errors[-3:]}"
    assert windows[0] <= REFUSAL_WINDOW_MAX_S, (
        f"new connections refused for {windows[0]:.2f} s: the old worker did not resume"
    )
    assert report.answered > len(report.failures), report
    assert holders(lbs, floating.address) == [holder]
    figures["refused reload (preflight off)"] = (
        f"{lb.name}: failed naming :{port_hog}; new connections refused for "
        f"{windows[0]:.2f} s ({len(report.failures)} of {report.requests} requests), "
        f"{len(sessions)}/{len(sessions)} sessions kept"
    )
