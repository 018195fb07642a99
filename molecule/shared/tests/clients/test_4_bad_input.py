"""Bad input changes nothing, and the message names what to set: keepalived_vip's
arguments, and what playbooks/site.yml checks before it touches a load balancer."""

from __future__ import annotations

import re

import pytest
import yaml
from app_clients import holder
from host_files import file_checksums

from peerlab.playbook import changes_by_host

CONFIG = "/etc/keepalived/keepalived.conf"
HAPROXY_CONFIG = "/etc/haproxy/haproxy.cfg"


def keepalived_config(host) -> list[str]:
    return [CONFIG]


def haproxy_config(host) -> list[str]:
    return [HAPROXY_CONFIG]


@pytest.mark.parametrize(
    ("variables", "stage", "message"),
    [
        (
            {"keepalived_vip_router_id": "fifty-one"},
            "Validation of arguments failed",
            "argument 'keepalived_vip_router_id' is of type str and we were unable to convert",
        ),
        (
            {"keepalived_vip_address": "192.168.57"},
            "keepalived_vip_address must be an IPv4 address",
            "(got '192.168.57')",
        ),
        (
            {"keepalived_vip_interface": "nosuch0"},
            "has no interface named nosuch0",
            "or keepalived_vip_interface",
        ),
    ],
    ids=["not-a-number", "not-an-address", "no-such-interface"],
)  # fmt: skip
def test_bad_input_stops_before_any_change(
    settled, apply_role, lb_hosts, lbs, floating, variables, stage, message
):
    before = file_checksums(lb_hosts, keepalived_config)
    result = apply_role("keepalived_vip", "loadbalancers", variables)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert stage in output, output[-3000:]
    assert message in output, output[-3000:]
    changes = changes_by_host(result.stdout)
    assert set(changes) == {host.backend.host for host in lb_hosts}, output[-3000:]
    assert set(changes.values()) == {0}, changes
    assert file_checksums(lb_hosts, keepalived_config) == before
    assert holder(lbs, floating.address) is lbs[0]


def test_site_yml_refuses_load_balancers_that_would_not_stick_on_the_applications_cookie(
    settled, ansible_playbook, lb_hosts, lbs, session_cookie, tmp_path
):
    # One member sticks on another cookie, the other keeps keys too short for
    # the application's values (inventory host variables, which outrank the
    # lab's group variables); both in one turn, so each fails its own check.
    (first, second) = (lb.name for lb in lbs)
    mismatch = {first: {"haproxy_peers_stick_cookie": "OTHERSESSION"},
                second: {"haproxy_peers_stick_table_len": 8}}  # fmt: skip
    extra = tmp_path / "mismatch.yml"
    extra.write_text(yaml.safe_dump({"all": {"hosts": mismatch}}))
    before = file_checksums(lb_hosts, haproxy_config)
    result = ansible_playbook(
        "site.yml", "-i", str(extra), "-e", "site_load_balancers_at_once=100%"
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    # Failures go to standard error where Ansible is so configured (Molecule's).
    failed = re.findall(r"^fatal: \[([^\]]+)\]", output, re.M)
    failed += re.findall(r"^failed: \[([^\]]+)\]", output, re.M)
    assert sorted(set(failed)) == sorted(mismatch), output[-3000:]
    assert "stick on 'OTHERSESSION'" in output, output[-3000:]
    assert f"set haproxy_peers_stick_cookie to {session_cookie}" in output, output[-3000:]
    assert "in a table of keys up to 8 characters" in output, output[-3000:]
    changes = changes_by_host(result.stdout)
    assert set(changes.values()) == {0}, changes
    assert file_checksums(lb_hosts, haproxy_config) == before


def test_site_yml_refuses_to_configure_load_balancers_without_the_web_tier(
    settled, ansible_playbook, lb_hosts
):
    before = file_checksums(lb_hosts, haproxy_config)
    result = ansible_playbook("site.yml", "--limit", "loadbalancers")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "run the playbook on the web group too (do not --limit it out)" in output, output
    assert set(changes_by_host(result.stdout).values()) == {0}, output[-3000:]
    assert file_checksums(lb_hosts, haproxy_config) == before
