"""After the side effect: HAProxy stopped on LB2, LB1 (the last one running) reloaded.

Step 6 of the narrative: the table survives the reload of the last running
instance, because the new process learns it from the old one.
"""

from __future__ import annotations

import json

import pytest

from peerlab.access import backends_for
from peerlab.lab import STICK_TABLE, wait_reloaded
from peerlab.narrative import sessions_created, step
from peerlab.runtime import show_proc, show_table

SETTLE_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def before(before_reload_path, lb1):
    """LB1 as `peerlab tables --json` saw it before the side effect."""
    recorded = json.loads(before_reload_path.read_text())
    assert recorded["identical"] is True
    (lb,) = [lb for lb in recorded["load_balancers"] if lb["name"] == lb1.name]
    servers = {entry["key"]: entry["servers"][lb1.name]["server"] for entry in recorded["entries"]}
    return {"servers": servers, "proc": lb["processes"]}


@pytest.fixture(scope="module", autouse=True)
def reloaded(lb1, before):
    """Wait until LB1 runs the reloaded process and its resync is over."""
    # LB2 is down: only the local resync (old process -> new one) can happen.
    wait_reloaded(lb1, before["proc"]["reloads"], timeout=SETTLE_TIMEOUT_S)


def test_lb2_is_stopped(lb_hosts):
    with lb_hosts[1].sudo():
        assert not lb_hosts[1].service("haproxy").is_running


def test_lb1_was_reloaded_not_restarted(lb1, before):
    now = show_proc(lb1.run)
    assert now.master_pid == before["proc"]["master_pid"]
    assert now.reloads == before["proc"]["reloads"] + 1
    assert set(now.workers).isdisjoint(before["proc"]["workers"])


def test_every_entry_survived_the_reload(lb1, before):
    assert len(before["servers"]) >= len(sessions_created())
    assert show_table(lb1.run, STICK_TABLE).servers() == before["servers"]


def test_step6_sessions_keep_their_backends(lb1):
    s = step(6)
    assert backends_for(lb1.url, s.sessions) == s.expected()


def test_every_narrative_session_keeps_its_backend(lb1):
    routes = sessions_created()
    assert backends_for(lb1.url, sorted(routes)) == routes
