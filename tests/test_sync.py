"""Deciding whether a load balancer settled, on answers recorded from the lab."""

from pathlib import Path

import pytest

from peerlab.sync import SyncTimeout, sync_state, wait_until

DATA = Path(__file__).parent / "data"


def answering(version: str, proc: str = "show-proc.txt", peers: str = "show-peers.txt"):
    """A Runner that answers runtime API commands with recorded output."""

    def run(command: str) -> str:
        name = proc if "show proc" in command else peers
        return (DATA / version / name).read_text()

    return run


@pytest.mark.parametrize("version", ["haproxy-2.6", "haproxy-3.0"])
def test_settled_with_the_remote_peer_connected(version):
    state = sync_state(answering(version), "haproxy-peers", ["haproxy-2"])
    assert state.settled, state.reason


def test_not_settled_while_an_old_worker_still_answers():
    state = sync_state(
        answering("haproxy-2.6", proc="show-proc-during-reload.txt"), "haproxy-peers"
    )
    assert not state.settled
    assert "old worker" in state.reason


def test_not_settled_while_the_resync_is_running():
    state = sync_state(answering("haproxy-2.6", peers="show-peers-learning.txt"), "haproxy-peers")
    assert not state.settled
    assert "resync" in state.reason


def test_not_settled_when_a_required_remote_is_missing():
    state = sync_state(answering("haproxy-3.0"), "haproxy-peers", ["haproxy-3"])
    assert not state.settled
    assert "haproxy-3" in state.reason


def test_wait_until_returns_the_value_once_done():
    answers = iter([(False, 1), (False, 2), (True, 3)])
    assert wait_until(lambda: next(answers), timeout=5, what="x", interval=0) == 3


def test_wait_until_names_what_was_last_seen_on_timeout():
    with pytest.raises(SyncTimeout, match=r"peer connected.*last seen: CONN"):
        wait_until(lambda: (False, "CONN"), timeout=0.05, what="peer connected", interval=0.01)


def test_wait_until_waits_out_a_tolerated_error_and_names_the_last_one():
    def failing():
        raise ConnectionError("socket gone")

    with pytest.raises(SyncTimeout, match="ConnectionError: socket gone"):
        wait_until(failing, timeout=0.05, what="x", interval=0.01, tolerate=(ConnectionError,))


def test_wait_until_lets_other_errors_through():
    def failing():
        raise KeyError("bug")

    with pytest.raises(KeyError):
        wait_until(failing, timeout=5, what="x", tolerate=(ConnectionError,))
