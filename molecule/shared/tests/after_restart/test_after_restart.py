"""After the side effect: HAProxy started again on LB2 (it starts empty).

A started instance relearns the whole table from a running peer.
"""

from __future__ import annotations

import pytest

from peerlab.access import backends_for
from peerlab.lab import STICK_TABLE, wait_all_synced
from peerlab.narrative import sessions_created
from peerlab.runtime import show_table

SETTLE_TIMEOUT_S = 60.0


@pytest.fixture(scope="module", autouse=True)
def settled(lbs):
    wait_all_synced(lbs, timeout=SETTLE_TIMEOUT_S)


def test_lb2_relearned_every_entry_from_lb1(lb1, lb2):
    lb1_table = show_table(lb1.run, STICK_TABLE).servers()
    assert len(lb1_table) >= len(sessions_created())
    assert show_table(lb2.run, STICK_TABLE).servers() == lb1_table


def test_sessions_via_lb2_keep_their_backends(lb2):
    routes = sessions_created()
    assert backends_for(lb2.url, sorted(routes)) == routes
