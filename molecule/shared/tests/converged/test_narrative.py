"""Steps 1-5 of the original demo's narrative on a fresh lab.

The tests of this module run in order and build on each other, like the
narrative: each step's answers depend on the round-robin position the steps
before it left on each load balancer.
"""

from __future__ import annotations

import pytest

from peerlab.access import backends_for
from peerlab.lab import STICK_TABLE, reset
from peerlab.narrative import step
from peerlab.runtime import show_table
from peerlab.sessions import session_id
from peerlab.sync import wait_until

REPLICATION_TIMEOUT_S = 10.0


@pytest.fixture(scope="module", autouse=True)
def fresh_lab(lbs):
    """Empty tables and round robin at the first server on both load balancers."""
    reset(lbs)
    for lb in lbs:
        assert show_table(lb.run, STICK_TABLE).used == 0


def lb_of(lbs, number):
    return lbs[number - 1]


def wait_replicated(lb, sessions):
    """Wait until ``lb``'s table holds every session in ``sessions``."""
    keys = {session_id(n) for n in sessions}

    def probe():
        present = set(show_table(lb.run, STICK_TABLE).entries)
        return keys <= present, f"{len(keys & present)}/{len(keys)} entries on {lb.name}"

    wait_until(probe, REPLICATION_TIMEOUT_S, f"sessions {sorted(sessions)} replicated to {lb.name}")


def test_step1_new_sessions_via_lb1_are_spread_round_robin(lbs):
    s = step(1)
    assert backends_for(lb_of(lbs, s.lb).url, s.sessions) == s.expected()


def test_step2_lb2_balances_independently_starting_at_the_first_server(lbs):
    s = step(2)
    assert backends_for(lb_of(lbs, s.lb).url, s.sessions) == s.expected()


def test_step3_sessions_created_on_lb2_are_served_by_the_same_backends_via_lb1(lbs):
    s = step(3)
    wait_replicated(lb_of(lbs, s.lb), s.sessions)
    assert backends_for(lb_of(lbs, s.lb).url, s.sessions) == s.expected()


def test_step4_lb1_round_robin_continues_where_step1_left_it(lbs):
    s = step(4)
    assert backends_for(lb_of(lbs, s.lb).url, s.sessions) == s.expected()


def test_step5_sessions_created_on_lb1_are_in_lb2_table_and_served_alike(lbs):
    s = step(5)
    lb2 = lb_of(lbs, s.lb)
    wait_replicated(lb2, s.sessions)
    table = show_table(lb2.run, STICK_TABLE)
    for number, answer in s.expected().items():
        # Backend N is server beN in the lab: the entry names the same server.
        assert table.entries[session_id(number)].server_key == "be" + answer.split()[-1]
    assert backends_for(lb2.url, s.sessions) == s.expected()


def test_both_tables_hold_the_same_entries_after_the_narrative(lbs):
    tables = [show_table(lb.run, STICK_TABLE).servers() for lb in lbs]
    assert len(tables[0]) == 15
    assert tables[0] == tables[1]
