"""The converged lab: services up, configuration valid, backends answering.

Commands run through sudo: on VMs testinfra logs in as an unprivileged user.
"""

from __future__ import annotations

import re

import pytest
import requests

# HAProxy release shipped by each Debian release the lab supports.
HAPROXY_OF_DEBIAN = {"trixie": "3.0", "bookworm": "2.6"}


@pytest.mark.parametrize(
    ("hosts", "service_name"), [("web_hosts", "apache2"), ("lb_hosts", "haproxy")]
)
def test_service_is_enabled_and_running(request, hosts, service_name):
    for host in request.getfixturevalue(hosts):
        with host.sudo():
            service = host.service(service_name)
            assert service.is_enabled
            assert service.is_running


def test_haproxy_is_the_release_of_the_distribution(lb_hosts):
    for lb in lb_hosts:
        codename = lb.system_info.codename
        with lb.sudo():
            version = lb.check_output("haproxy -v")
        assert re.search(rf"version {re.escape(HAPROXY_OF_DEBIAN[codename])}\.", version), version


def test_rendered_haproxy_config_is_valid(lb_hosts):
    for lb in lb_hosts:
        with lb.sudo():
            result = lb.run("haproxy -c -f /etc/haproxy/haproxy.cfg")
        assert result.rc == 0, result.stderr


def test_peers_section_is_identical_and_names_every_load_balancer(lb_hosts, lb_ips):
    sections = []
    for lb in lb_hosts:
        config = lb.file("/etc/haproxy/haproxy.cfg").content_string
        section = re.search(r"^peers haproxy-peers\n((?:    peer .*\n)+)", config, re.M)
        assert section, config
        sections.append(section.group(1))
        assert f"localpeer {lb.backend.host}" in config
    assert len(set(sections)) == 1
    for name, ip in lb_ips.items():
        assert f"peer {name} {ip}:10000\n" in sections[0]


def test_every_vhost_answers_with_its_own_name(web_ips):
    for ip in web_ips:
        for n in range(1, 8):
            response = requests.get(f"http://{ip}:{8080 + n}/", timeout=5)
            assert response.text == f"Backend {n}\n"


def test_stats_page_is_served(lb_ips):
    for ip in lb_ips.values():
        response = requests.get(f"http://{ip}:8404/monitor", timeout=5)
        assert response.status_code == 200
        assert "back-session" in response.text
