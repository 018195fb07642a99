"""The runtime API parsers and waits against a real HAProxy pair on loopback.

Two HAProxy processes (the machine's own release, master-worker mode) peer
with each other on 127.0.0.1, each with a stick table like the lab's and
backends that answer with their name. What the parsers read here is what
HAProxy really prints, not recorded text. Needs the `haproxy` and `socat`
commands (`make unit` installs them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peerlab.access import backends_for
from peerlab.demo import LoadBalancerState, freshness_problems, running_state
from peerlab.lab import STICK_TABLE, LoadBalancer, wait_all_synced, wait_reloaded, wait_replicated
from peerlab.local_haproxy import LocalHAProxy, admin_socket, free_ports
from peerlab.runtime import show_peers, show_proc, show_table
from peerlab.sessions import session_id
from peerlab.tables import side_by_side

PEER_NAMES = ("lb-a", "lb-b")
SERVERS = 3
START_TIMEOUT_S = 20.0

CONFIG = """\
global
    localpeer {name}
    stats socket {admin} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

peers haproxy-peers
{peers}

frontend front-session
    bind 127.0.0.1:{http_port}
    default_backend back-session

backend back-session
    balance roundrobin
    stick-table type string len 32 size 1m expire 30m peers haproxy-peers
    stick on req.cook(JSESSIONID)
    stick store-response res.cook(JSESSIONID)
{servers}
{answers}
"""

ANSWER = """\
frontend answer-be{n}
    bind 127.0.0.1:{port}
    http-request return status 200 content-type text/plain string "Backend {n}"
"""


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[tuple[list[LoadBalancer], list[LocalHAProxy]]]:
    folder = tmp_path_factory.mktemp("haproxy")
    peer_ports = free_ports(2)
    http_ports = free_ports(2)
    server_ports = free_ports(SERVERS)
    peers = "\n".join(
        f"    peer {name} 127.0.0.1:{port}"
        for name, port in zip(PEER_NAMES, peer_ports, strict=True)
    )
    servers = "\n".join(f"    server be{n} 127.0.0.1:{p}" for n, p in enumerate(server_ports, 1))
    instances, lbs = [], []
    for index, name in enumerate(PEER_NAMES):
        # Only the first instance serves the backends' answers (their ports are shared).
        answers = (
            "\n".join(ANSWER.format(n=n, port=p) for n, p in enumerate(server_ports, 1))
            if index == 0
            else ""
        )
        config = CONFIG.format(
            name=name,
            admin=admin_socket(folder, name),
            peers=peers,
            http_port=http_ports[index],
            servers=servers,
            answers=answers,
        )
        instance = LocalHAProxy(folder, name, config)
        instances.append(instance)
        lbs.append(LoadBalancer(name, f"http://127.0.0.1:{http_ports[index]}/", instance.run))
    try:
        for instance in instances:
            instance.wait_started(START_TIMEOUT_S)
        wait_all_synced(lbs, timeout=START_TIMEOUT_S)
        yield lbs, instances
    finally:
        for instance in instances:
            instance.stop()


def test_a_started_pair_is_fresh_empty_and_unbalanced(pair):
    lbs, _ = pair
    assert freshness_problems([running_state(lb) for lb in lbs]) == []


def test_show_peers_reports_the_remote_connected_and_resync_done(pair):
    lbs, _ = pair
    for lb, other in zip(lbs, reversed(lbs), strict=True):
        section = show_peers(lb.run)["haproxy-peers"]
        assert section.resync_done
        assert [(p.name, p.connected) for p in section.remotes] == [(other.name, True)]


def test_new_sessions_go_round_robin_and_are_stored(pair):
    lbs, _ = pair
    answers = backends_for(lbs[0].url, [1, 2, 3, 4])
    assert answers == {1: "Backend 1", 2: "Backend 2", 3: "Backend 3", 4: "Backend 1"}
    table = show_table(lbs[0].run, STICK_TABLE)
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
    rows = side_by_side([show_table(lb.run, STICK_TABLE) for lb in lbs])
    assert [row.session for row in rows] == [1, 2, 3, 4]
    assert all(row.same for row in rows)


def test_the_peer_routes_replicated_sessions_like_the_first(pair):
    lbs, _ = pair
    assert backends_for(lbs[1].url, [3, 2]) == {3: "Backend 3", 2: "Backend 2"}


def test_a_reload_keeps_the_master_replaces_the_worker_and_keeps_the_table(pair):
    lbs, instances = pair
    before = show_proc(lbs[0].run)
    table = show_table(lbs[0].run, STICK_TABLE).servers()
    instances[0].reload()
    wait_reloaded(lbs[0], before.reloads, connected_remotes=[lbs[1].name], timeout=30)
    after = show_proc(lbs[0].run)
    assert after.master_pid == before.master_pid
    assert set(after.workers).isdisjoint(before.workers)
    assert show_table(lbs[0].run, STICK_TABLE).servers() == table
