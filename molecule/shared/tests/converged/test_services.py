"""The converged lab: services up, configuration valid, backends answering.

Commands run through sudo: on VMs testinfra logs in as an unprivileged user.
"""

from __future__ import annotations

import re

import pytest
import requests

from peerlab.channels import within
from peerlab.lab import PEERS_PORT

# HAProxy release shipped by each Debian release the lab supports.
HAPROXY_OF_DEBIAN = {"bookworm": "2.6", "trixie": "3.0", "forky": "3.2"}


@pytest.mark.parametrize(
    ("hosts", "service_name"), [("web_hosts", "apache2"), ("lb_hosts", "haproxy")]
)
def test_service_is_enabled_and_running(request, hosts, service_name):
    for host in request.getfixturevalue(hosts):
        with host.sudo():
            service = host.service(service_name)
            assert service.is_enabled
            assert service.is_running


def test_every_machine_runs_the_debian_release_the_scenario_was_asked_for(
    lb_hosts, web_hosts, requested_release
):
    # Not the release the machine says it runs: a stale image or box of
    # another release would otherwise pass as the one asked for.
    for host in [*web_hosts, *lb_hosts]:
        assert host.system_info.codename == requested_release, host.backend.host


def test_haproxy_is_the_release_debian_ships_with_the_requested_release(
    lb_hosts, requested_release
):
    expected = HAPROXY_OF_DEBIAN[requested_release]
    for lb in lb_hosts:
        with lb.sudo():
            version = lb.check_output(within("haproxy -v"))
        assert re.search(rf"version {re.escape(expected)}\.", version), version


def test_rendered_haproxy_config_is_valid_without_warnings(lb_hosts):
    # A half-configured TLS peers section (SSL on the bind, not on the local
    # server) passes the check with a warning and breaks the reload handover.
    for lb in lb_hosts:
        with lb.sudo():
            result = lb.run(within("haproxy -c -f /etc/haproxy/haproxy.cfg"))
        assert result.rc == 0, result.stderr
        assert "WARNING" not in result.stdout + result.stderr, result.stdout + result.stderr


def test_peers_section_is_mutual_tls_naming_every_load_balancer(lb_hosts, lb_ips):
    directory = "/etc/haproxy/peers-tls"
    for lb in lb_hosts:
        name = lb.backend.host
        with lb.sudo():
            config = lb.file("/etc/haproxy/haproxy.cfg").content_string
        section = re.search(r"^peers haproxy-peers\n((?:    .*\n)+)", config, re.M)
        assert section, config
        lines = section.group(1).strip().splitlines()
        tls = f"ssl crt {directory}/{name}.pem ca-file {directory}/ca.pem verify required"
        assert lines[0].strip() == f"bind {lb_ips[name]}:{PEERS_PORT} {tls}", lines
        assert lines[1].strip() == f"default-server {tls}", lines
        servers = sorted(line.strip() for line in lines[2:] if line.strip().startswith("server "))
        # Then the tables the section declares itself: the api service's rate limit.
        assert [line.strip() for line in lines[2 + len(servers) :]] == [
            "# Service api's request counts, replicated like the sessions.",
            "table rl-api type ip size 100k expire 1m store http_req_rate(1m)",
        ]
        assert servers == sorted(
            f"server {other}"
            if other == name
            else f"server {other} {ip}:{PEERS_PORT} verifyhost {other}"
            for other, ip in lb_ips.items()
        )
        assert f"localpeer {name}" in config


def test_tls_material_is_readable_by_root_and_haproxy_only(lb_hosts):
    for lb in lb_hosts:
        with lb.sudo():
            key = lb.file(f"/etc/haproxy/peers-tls/{lb.backend.host}.pem")
            config = lb.file("/etc/haproxy/haproxy.cfg")
            assert (key.user, key.group, key.mode) == ("root", "haproxy", 0o640)
            assert (config.user, config.group, config.mode) == ("root", "haproxy", 0o640)


def test_every_vhost_answers_with_its_own_name(web_ips):
    for ip in web_ips:
        for n in range(1, 8):
            response = requests.get(f"http://{ip}:{8080 + n}/", timeout=5)
            assert response.text == f"Backend {n}\n"


def test_stats_page_needs_the_inventory_credentials(lb_ips, stats_auth):
    for ip in lb_ips.values():
        url = f"http://{ip}:8404/monitor"
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, auth=(stats_auth[0], "wrong"), timeout=5).status_code == 401
        response = requests.get(url, auth=stats_auth, timeout=5)
        assert response.status_code == 200
        assert "back-session" in response.text
