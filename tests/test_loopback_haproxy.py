"""The role's haproxy.cfg and peerlab against a real HAProxy pair on loopback.

Two HAProxy processes (the machine's own release, master-worker mode) run
what haproxy_peers renders for two members on 127.0.0.2 and 127.0.0.3:
peers over mutual TLS with a CA made here, and names of their own for the
peers section, the table and the cookie, which peerlab must follow. The
first one also serves the backends' answers (through the role's
haproxy_peers_extra_config). What the parsers read here is what HAProxy
really prints, not recorded text. Needs the `haproxy` and `socat` commands
(`make unit` installs them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from loopback_pair import NAMES, loopback_pair

from peerlab.demo import LoadBalancerState, freshness_problems, running_state
from peerlab.lab import LoadBalancer, wait_reloaded, wait_replicated
from peerlab.local_haproxy import LocalHAProxy
from peerlab.runtime import show_peers, show_proc, show_table
from peerlab.sessions import session_id
from peerlab.tables import side_by_side


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[tuple[list[LoadBalancer], list[LocalHAProxy]]]:
    with loopback_pair(tmp_path_factory.mktemp("haproxy")) as started:
        yield started


def test_a_started_pair_is_fresh_empty_and_unbalanced(pair):
    lbs, _ = pair
    assert freshness_problems([running_state(lb) for lb in lbs]) == []


def test_show_peers_reports_the_remote_connected_and_resync_done(pair):
    lbs, _ = pair
    for lb, other in zip(lbs, reversed(lbs), strict=True):
        section = show_peers(lb.run)[NAMES.section]
        assert section.resync_done
        assert [(p.name, p.connected) for p in section.remotes] == [(other.name, True)]


def test_the_peer_link_runs_over_tls(pair):
    lbs, _ = pair
    shown = [p.transport for lb in lbs for p in show_peers(lb.run)[NAMES.section].remotes]
    assert "SSL" in shown, shown
    assert "RAW" not in shown, shown


def test_new_sessions_go_round_robin_and_are_stored(pair):
    lbs, _ = pair
    answers = lbs[0].backends_for([1, 2, 3, 4])
    assert answers == {1: "Backend 1", 2: "Backend 2", 3: "Backend 3", 4: "Backend 1"}
    table = show_table(lbs[0].run, NAMES.table)
    assert table.servers()[session_id(2)] == "be2"
    assert 0 < table.entries[session_id(2)].expires_ms <= 30 * 60 * 1000


def test_show_stat_counts_what_each_load_balancer_balanced(pair):
    lbs, _ = pair
    served = [running_state(lb).sessions_served for lb in lbs]
    assert served == [4, 0]
    problems = freshness_problems([LoadBalancerState(lbs[0].name, True, 4, served[0])])
    assert len(problems) == 2


def test_entries_replicate_to_the_peer_with_the_same_server(pair):
    lbs, _ = pair
    wait_replicated(lbs[1], [1, 2, 3, 4])
    rows = side_by_side([show_table(lb.run, NAMES.table) for lb in lbs])
    assert [row.session for row in rows] == [1, 2, 3, 4]
    assert all(row.same for row in rows)


def test_the_peer_routes_replicated_sessions_like_the_first(pair):
    lbs, _ = pair
    assert lbs[1].backends_for([3, 2]) == {3: "Backend 3", 2: "Backend 2"}


def test_a_reload_keeps_the_master_replaces_the_worker_and_keeps_the_table(pair):
    lbs, instances = pair
    before = show_proc(lbs[0].run)
    table = show_table(lbs[0].run, NAMES.table).servers()
    instances[0].reload()
    wait_reloaded(lbs[0], before.reloads, connected_remotes=[lbs[1].name], timeout=30)
    after = show_proc(lbs[0].run)
    assert after.master_pid == before.master_pid
    assert set(after.workers).isdisjoint(before.workers)
    assert show_table(lbs[0].run, NAMES.table).servers() == table
