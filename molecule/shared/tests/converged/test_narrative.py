"""Steps 1-5 of the original demo's narrative on a fresh lab.

The tests of this module run in order and build on each other, like the
narrative: each step's answers depend on the round-robin position the steps
before it left on each load balancer.
"""

from __future__ import annotations

import pytest

from peerlab.lab import STICK_TABLE, reset
from peerlab.narrative import run_step, step
from peerlab.runtime import show_table
from peerlab.sessions import session_id


@pytest.fixture(scope="module", autouse=True)
def fresh_lab(lbs):
    """Empty tables and round robin at the first server on both load balancers."""
    reset(lbs)
    for lb in lbs:
        assert show_table(lb.run, STICK_TABLE).used == 0


def test_step1_new_sessions_via_lb1_are_spread_round_robin(lbs):
    assert run_step(lbs, 1) == step(1).expected()


def test_step2_lb2_balances_independently_starting_at_the_first_server(lbs):
    assert run_step(lbs, 2) == step(2).expected()


def test_step3_sessions_created_on_lb2_are_served_by_the_same_backends_via_lb1(lbs):
    assert run_step(lbs, 3) == step(3).expected()


def test_step4_lb1_round_robin_continues_where_step1_left_it(lbs):
    assert run_step(lbs, 4) == step(4).expected()


def test_step5_sessions_created_on_lb1_are_served_alike_via_lb2(lbs):
    assert run_step(lbs, 5) == step(5).expected()


def test_step5_sessions_are_in_lb2_table_with_the_same_server(lbs):
    table = show_table(lbs[1].run, STICK_TABLE)
    for number, answer in step(5).expected().items():
        # Backend N is server beN in the lab: the entry names the same server.
        assert table.entries[session_id(number)].server_key == "be" + answer.split()[-1]


def test_both_tables_hold_the_same_entries_after_the_narrative(lbs):
    tables = [show_table(lb.run, STICK_TABLE).servers() for lb in lbs]
    assert len(tables[0]) == 15
    assert tables[0] == tables[1]
