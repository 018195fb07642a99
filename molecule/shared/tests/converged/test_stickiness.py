"""A session keeps its backend, whichever load balancer it goes through."""

from __future__ import annotations

from peerlab.access import backend_for
from peerlab.lab import STICK_TABLE
from peerlab.runtime import show_table
from peerlab.sessions import session_id
from peerlab.sync import wait_until

# Session numbers the narrative does not use.
SESSION = 5001
REPEATS = 20


def test_a_session_sticks_to_one_backend_over_repeated_requests(lb1):
    answers = {backend_for(lb1.url, SESSION) for _ in range(REPEATS)}
    assert len(answers) == 1, answers


def test_a_session_created_on_lb1_is_served_by_the_same_backend_on_lb2(lb1, lb2):
    first = backend_for(lb1.url, SESSION + 1)

    def probe():
        entry = show_table(lb2.run, STICK_TABLE).entries.get(session_id(SESSION + 1))
        return entry is not None, entry

    entry = wait_until(probe, 10, f"session {SESSION + 1} replicated to {lb2.name}")
    assert entry.server_key == "be" + first.split()[-1]
    answers = {backend_for(lb2.url, SESSION + 1) for _ in range(REPEATS)}
    assert answers == {first}
