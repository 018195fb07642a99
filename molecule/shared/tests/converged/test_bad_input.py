"""Bad input changes nothing: it stops at validation, or before the file is written."""

from __future__ import annotations

import re

from peerlab.access import backend_for
from peerlab.runtime import show_proc

SESSION = 6001


def recap_changes(output: str) -> dict[str, int]:
    """Host -> changed count from a PLAY RECAP."""
    return {
        m[1]: int(m[2]) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)
    }


def config_checksums(lb_hosts) -> list[str]:
    return [lb.file("/etc/haproxy/haproxy.cfg").sha256sum for lb in lb_hosts]


def test_wrong_role_argument_stops_the_play_before_any_change(site_playbook, lb_hosts):
    before = config_checksums(lb_hosts)
    result = site_playbook({"haproxy_peers_port": "not-a-port"})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "haproxy_peers_port" in output
    assert "argument spec" in output.lower() or "argument_spec" in output.lower(), output
    assert recap_changes(result.stdout)
    assert set(recap_changes(result.stdout).values()) == {0}
    assert config_checksums(lb_hosts) == before


def test_missing_vhost_field_stops_the_play_naming_it(site_playbook, web_hosts):
    before = [web.file("/etc/apache2/ports.conf").sha256sum for web in web_hosts]
    result = site_playbook({"apache_backends_vhosts": [{"name": "be1", "body": "Backend 1"}]})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "apache_backends_vhosts" in output, output
    assert "port" in output, output
    assert set(recap_changes(result.stdout).values()) == {0}
    assert [web.file("/etc/apache2/ports.conf").sha256sum for web in web_hosts] == before


def test_config_rejected_by_haproxy_is_not_written_and_haproxy_keeps_serving(
    site_playbook, lb_hosts, lbs
):
    # One session per load balancer, so that no replication race is involved.
    sessions = {lb.name: SESSION + index for index, lb in enumerate(lbs)}
    backends = {lb.name: backend_for(lb.url, sessions[lb.name]) for lb in lbs}
    processes = {lb.name: show_proc(lb.run) for lb in lbs}
    before = config_checksums(lb_hosts)

    result = site_playbook({"haproxy_peers_server_options": "check no-such-keyword"})

    assert result.returncode != 0
    assert "no-such-keyword" in result.stdout + result.stderr
    assert config_checksums(lb_hosts) == before
    for lb in lbs:
        # Not reloaded, not restarted: the same processes answer, as before.
        assert show_proc(lb.run) == processes[lb.name]
        assert backend_for(lb.url, sessions[lb.name]) == backends[lb.name]
