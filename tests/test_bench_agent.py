"""The benchmark's agent and measurements against a real HAProxy pair on loopback.

The agent runs here as a local process (on the lab it runs on each load
balancer over SSH) against the pair's own runtime API and master sockets:
what it parses is what HAProxy prints. Restarts and reloads through systemd
are the lab's part (`make bench`); everything else is checked here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from loopback_pair import NAMES, loopback_pair

from peerlab.bench import replication, resync
from peerlab.bench.agent import Agent, AgentError, agent_command
from peerlab.lab import LoadBalancer
from peerlab.local_haproxy import LocalHAProxy
from peerlab.runtime import show_proc, show_table


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[tuple[list[LoadBalancer], list[LocalHAProxy]]]:
    with loopback_pair(tmp_path_factory.mktemp("haproxy")) as started:
        yield started


@pytest.fixture(scope="module")
def agents(pair) -> Iterator[list[Agent]]:
    lbs, instances = pair
    started = [
        Agent(lb, agent_command(NAMES, str(instance.admin), str(instance.master)))
        for lb, instance in zip(lbs, instances, strict=True)
    ]
    yield started
    for agent in started:
        agent.close()


def endpoint(lb: LoadBalancer) -> tuple[str, int]:
    url = urlsplit(lb.url)
    return url.hostname, url.port


def test_the_agent_sees_each_new_session_arrive_on_the_other_member(pair, agents):
    lbs, _ = pair
    agents[1].check_shared_clock()
    run = replication.one_run(lbs[0], agents[1], "loopback", 20, endpoint=endpoint(lbs[0]))
    assert run["missed"] == 0, run
    assert len(run["after_request_ms"]) == 20
    assert all(0 < value < replication.WATCH_LIMIT_MS for value in run["after_request_ms"]), run
    keys = {replication.bench_key("loopback", number) for number in range(20)}
    assert keys <= set(show_table(lbs[1].run, NAMES.table).entries)


def test_a_session_that_never_arrives_is_counted_missed(agents):
    agents[1].send(f"watch {'0' * 32} 50 {replication.POLL_PAUSE_US}")
    agents[1].expect("armed")
    answer = agents[1].readline().split()
    assert answer[0] == "missed", answer
    assert int(answer[1]) > 1, "the agent polled only once"


def test_fill_sets_entries_that_reach_the_other_member_and_clear_empties_both(pair, agents):
    lbs, _ = pair
    resync.clear(agents)
    point = resync.fill(agents[0], agents[1], 5000)
    assert point["entries"] == point["added"] == 5000
    assert [agent.used() for agent in agents] == [5000, 5000]
    assert show_table(lbs[1].run, NAMES.table).used == 5000
    point = resync.fill(agents[0], agents[1], 6000)
    assert point["added"] == 1000, "fill adds only what is missing"
    resync.clear(agents)
    assert [agent.used() for agent in agents] == [0, 0]


def test_rss_is_the_current_workers(pair, agents):
    lbs, _ = pair
    kib, pid = (int(word) for word in agents[0].ask("rss")[1:])
    assert (pid,) == show_proc(lbs[0].run).workers
    assert kib > 1024


def test_a_failing_command_is_an_agent_error_naming_it(agents):
    with pytest.raises(AgentError, match="unknown command frobnicate"):
        agents[0].ask("frobnicate")
    assert agents[0].used() >= 0, "the agent answers on after an error"


def test_a_clock_the_host_does_not_share_is_refused(pair):
    lbs, _ = pair
    elsewhere = "import sys\nprint('ready', flush=True)\nfor line in sys.stdin: print('clock 5')"
    agent = Agent(lbs[0], [sys.executable, "-u", "-c", elsewhere])
    try:
        with pytest.raises(AgentError, match="not this machine's"):
            agent.check_shared_clock()
    finally:
        agent._process.kill()
