"""The handover hold of haproxy_peers on a real HAProxy pair on loopback.

The role's haproxy.cfg, its Lua action and its helper (what systemd runs on
every start and reload), with the machine's own HAProxy. A worker signalled
without the helper stays young for the hold's window, which lets the tests
look at a young worker at leisure; the helper ends the youth as soon as the
worker holds its table.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from loopback_pair import NAMES, handover, loopback_pair

from peerlab.lab import LoadBalancer, wait_all_synced, wait_reloaded, wait_replicated
from peerlab.local_haproxy import LocalHAProxy
from peerlab.runtime import show_proc, socket_command
from peerlab.sessions import cookie_header
from peerlab.sync import wait_until

HEADER = "X-Handover-Hold"
BOUND_MS = 600
# Long enough for the tests that look at a young worker, short enough that
# a forgotten hold does not slow the next ones much.
WINDOW_S = 30


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[tuple[list[LoadBalancer], list[LocalHAProxy]]]:
    with loopback_pair(
        tmp_path_factory.mktemp("haproxy"),
        haproxy_peers_handover_hold_header=HEADER,
        haproxy_peers_handover_hold_timeout=f"{BOUND_MS}ms",
        haproxy_peers_handover_hold_window=f"{WINDOW_S}s",
    ) as started:
        yield started


def ask(lb: LoadBalancer, session: int | None) -> tuple[str, str | None, float]:
    """(backend's answer, the hold header, seconds) of one request as ``session``."""
    headers = {"Cookie": cookie_header(session, NAMES.cookie)} if session is not None else {}
    started = time.monotonic()
    response = requests.get(lb.url, headers=headers, timeout=10)
    response.raise_for_status()
    return response.text.strip(), response.headers.get(HEADER), time.monotonic() - started


def held_streams(lb: LoadBalancer) -> int:
    """Streams in the sticky backend that have no server yet: held ones."""
    sessions = lb.run(socket_command("show sess"))
    return sum(f"be={NAMES.table} srv=<none>" in line for line in sessions.splitlines())


def young_after_plain_reload(lb: LoadBalancer, instance: LocalHAProxy, others) -> None:
    """Reload ``instance`` with a bare signal, as without the role's helper: the new
    worker stays young for the window."""
    before = show_proc(lb.run).reloads
    instance.reload()
    wait_reloaded(lb, before, [other.name for other in others], timeout=30)


def test_the_helper_ends_the_hold_of_a_started_worker(pair):
    lbs, _ = pair
    # The pair was started with the helper: nobody waits, not even a stranger.
    _, held, seconds = ask(lbs[0], 9001)
    assert held is None, held
    assert seconds < BOUND_MS / 1000 / 2


def test_a_young_worker_holds_an_unknown_session_for_the_bound_then_balances_it(pair):
    lbs, instances = pair
    young_after_plain_reload(lbs[0], instances[0], lbs[1:])
    answer, held, seconds = ask(lbs[0], 9101)
    assert answer.startswith("Backend"), answer
    waited, outcome = held.split()
    assert outcome == "bound", held
    assert BOUND_MS <= int(waited) < BOUND_MS + 300, held
    assert seconds >= BOUND_MS / 1000


def test_a_young_worker_serves_known_sessions_and_cookieless_requests_at_once(pair):
    lbs, instances = pair
    known = lbs[1].backend_for(9201)
    wait_replicated(lbs[0], [9201])
    young_after_plain_reload(lbs[0], instances[0], lbs[1:])
    answer, held, _ = ask(lbs[0], 9201)
    assert (answer, held) == (known, None)
    _, held, seconds = ask(lbs[0], None)
    assert held is None
    assert seconds < BOUND_MS / 1000 / 2


def test_a_held_request_goes_on_as_soon_as_its_entry_arrives_on_the_server_it_names(pair):
    lbs, instances = pair
    young_after_plain_reload(lbs[0], instances[0], lbs[1:])
    session, seen = 9301, {}
    waiting = threading.Thread(target=lambda: seen.update(answer=ask(lbs[0], session)))
    waiting.start()
    # The session is made on the other member while LB1 holds its request:
    # the entry arrives by replication, and the held request follows it.
    wait_until(
        lambda: (held_streams(lbs[0]) > 0, "no stream in the backend yet"),
        5,
        "the request held by LB1",
    )
    chosen = lbs[1].backend_for(session)
    waiting.join(10)
    answer, held, _ = seen["answer"]
    waited, outcome = held.split()
    assert outcome == "learnt", held
    assert answer == chosen
    assert int(waited) < BOUND_MS, held


def test_a_reload_through_the_helper_ends_the_hold_once_the_new_worker_has_the_table(pair):
    lbs, instances = pair
    lbs[0].backends_for([9401, 9402])
    before = show_proc(lbs[0].run)
    said = handover(instances[0], "reload")
    after = show_proc(lbs[0].run)
    assert after.reloads == before.reloads + 1
    (worker,) = after.workers
    assert f"worker {worker} holds its table: hold ended" in said, said
    _, held, seconds = ask(lbs[0], 9403)
    assert held is None, held
    assert seconds < BOUND_MS / 1000 / 2


def test_the_helper_says_so_at_once_when_haproxy_refuses_the_new_worker(pair):
    lbs, instances = pair
    instance = instances[0]
    original = instance.config.read_text()
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    try:
        instance.config.write_text(original + f"\nfrontend refused\n    bind 127.0.0.1:{port}\n")
        started = time.monotonic()
        said = handover(instance, "reload")
        took = time.monotonic() - started
        assert "HAProxy did not start the new worker" in said, said
        # Seen from the master's counters, not waited out.
        assert took < WINDOW_S / 2, said
        assert show_proc(lbs[0].run).failed_reloads >= 1
    finally:
        held.close()
        instance.config.write_text(original)
        handover(instance, "reload")
        wait_all_synced(lbs, timeout=30)
