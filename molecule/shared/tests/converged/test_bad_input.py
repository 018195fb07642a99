"""Bad input changes nothing: it stops at validation, or before the file is written."""

from __future__ import annotations

import re

import pytest

from peerlab.access import backend_for
from peerlab.runtime import show_proc

SESSION = 6001


@pytest.fixture(scope="module")
def lab_servers(web_ips):
    """The server list the site playbook derives for the lab (default vhosts)."""
    return [
        {"name": f"be{n}", "address": ip, "port": 8080 + n} for ip in web_ips for n in range(1, 8)
    ]


def recap_changes(output: str) -> dict[str, int]:
    """Host -> changed count from a PLAY RECAP."""
    pattern = r"^(\S+)\s+: ok=\d+\s+changed=(\d+)"
    return {m[1]: int(m[2]) for m in re.finditer(pattern, output, re.M)}


def checksums(hosts, path: str) -> list[str]:
    return [host.file(path).sha256sum for host in hosts]


def test_wrong_role_argument_stops_before_any_change(apply_role, lb_hosts, lab_servers):
    before = checksums(lb_hosts, "/etc/haproxy/haproxy.cfg")
    result = apply_role(
        "haproxy_peers",
        "loadbalancers",
        {"haproxy_peers_servers": lab_servers, "haproxy_peers_port": "not-a-port"},
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "haproxy_peers_port" in output
    assert "validating arguments against arg spec" in output.lower(), output
    changes = recap_changes(result.stdout)
    assert set(changes) == {host.backend.host for host in lb_hosts}
    assert set(changes.values()) == {0}
    assert checksums(lb_hosts, "/etc/haproxy/haproxy.cfg") == before


def test_missing_role_argument_stops_the_play_naming_it(apply_role, lb_hosts):
    result = apply_role("haproxy_peers", "loadbalancers", {})
    assert result.returncode != 0
    assert "haproxy_peers_servers" in result.stdout + result.stderr
    assert set(recap_changes(result.stdout).values()) == {0}


def test_missing_vhost_field_stops_the_play_naming_it(apply_role, web_hosts):
    before = checksums(web_hosts, "/etc/apache2/ports.conf")
    result = apply_role(
        "apache_backends", "web", {"apache_backends_vhosts": [{"name": "be1", "body": "B"}]}
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "apache_backends_vhosts" in output, output
    assert "port" in output, output
    assert set(recap_changes(result.stdout).values()) == {0}
    assert checksums(web_hosts, "/etc/apache2/ports.conf") == before


def test_config_rejected_by_haproxy_is_not_written_and_haproxy_keeps_serving(
    apply_role, lb_hosts, lbs, lab_servers
):
    # One session per load balancer, so that no replication race is involved.
    sessions = {lb.name: SESSION + index for index, lb in enumerate(lbs)}
    backends = {lb.name: backend_for(lb.url, sessions[lb.name]) for lb in lbs}
    processes = {lb.name: show_proc(lb.run) for lb in lbs}
    before = checksums(lb_hosts, "/etc/haproxy/haproxy.cfg")

    result = apply_role(
        "haproxy_peers",
        "loadbalancers",
        {"haproxy_peers_servers": lab_servers, "haproxy_peers_server_options": "check no-such-kw"},
    )

    assert result.returncode != 0
    assert "no-such-kw" in result.stdout + result.stderr
    assert checksums(lb_hosts, "/etc/haproxy/haproxy.cfg") == before
    for lb in lbs:
        # Not reloaded, not restarted: the same processes answer, as before.
        assert show_proc(lb.run) == processes[lb.name]
        assert backend_for(lb.url, sessions[lb.name]) == backends[lb.name]
