"""Fixtures of the TLS stage."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from peerlab.access import backend_for
from peerlab.lab import wait_replicated
from peerlab.sessions import session_id


@pytest.fixture
def lab_entries(lb1, lb2) -> Callable[[int], set[str]]:
    """Make sessions FIRST..FIRST+4 through LB1, replicated to LB2; return their keys."""

    def make(first: int) -> set[str]:
        sessions = list(range(first, first + 5))
        for number in sessions:
            backend_for(lb1.url, number)
        wait_replicated(lb2, sessions)
        return {session_id(number) for number in sessions}

    return make
