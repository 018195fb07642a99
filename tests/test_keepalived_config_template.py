"""keepalived_vip's keepalived.conf, rendered the way Ansible renders it for each member."""

from __future__ import annotations

import re

import pytest
from role_template import render_role_template

TEMPLATE = "etc/keepalived/keepalived.conf.j2"
MEMBERS = {"haproxy-1": "192.168.56.11", "haproxy-2": "192.168.56.12", "haproxy-3": "192.168.56.13"}


def render(host: str, members: dict[str, str] = MEMBERS, **variables) -> str:
    values = {
        "inventory_hostname": host,
        "groups": {"loadbalancers": list(members)},
        "hostvars": {
            name: {"keepalived_vip_unicast_address": address} for name, address in members.items()
        },
        "keepalived_vip_unicast_address": members[host],
        "keepalived_vip_address": "192.168.56.100",
        # What the role derives from the facts (the interface holding the member's
        # address) and from keepalived's version (the check's user).
        "__keepalived_vip_interface": "eth1",
        "__keepalived_vip_script_user": "nobody",
        **variables,
    }
    return render_role_template("keepalived_vip", TEMPLATE, **values)


def block(config: str, header: str) -> list[str]:
    """The stripped lines between ``header {`` and its closing brace (nested blocks flattened)."""
    lines = [line.strip() for line in config.splitlines()]
    start = lines.index(header + " {")
    depth, body = 1, []
    for line in lines[start + 1 :]:
        depth += line.endswith("{") - (line == "}")
        if depth == 0:
            return body
        if line and not line.startswith("#"):
            body.append(line)
    raise AssertionError(f"{header}: no closing brace")


def nested(lines: list[str], header: str) -> list[str]:
    start = lines.index(header + " {")
    return lines[start + 1 : lines.index("}", start)]


@pytest.mark.parametrize("host", list(MEMBERS))
def test_each_member_advertises_from_its_own_address_to_every_other_member(host):
    instance = block(render(host), "vrrp_instance floating_address")
    assert f"unicast_src_ip {MEMBERS[host]}" in instance
    peers = nested(instance, "unicast_peer")
    assert peers == [address for name, address in MEMBERS.items() if name != host]
    assert "check_unicast_src" in instance, "advertisements from others are dropped"


def test_the_floating_address_sits_on_the_derived_interface_and_every_member_starts_backup():
    for host in MEMBERS:
        instance = block(render(host), "vrrp_instance floating_address")
        assert nested(instance, "virtual_ipaddress") == ["192.168.56.100/24 dev eth1"]
        assert {"state BACKUP", "interface eth1", "virtual_router_id 51", "advert_int 1"} <= set(
            instance
        )


def test_priorities_follow_the_group_order_unless_given():
    priorities = {
        host: [line for line in block(render(host), "vrrp_instance floating_address")
               if line.startswith("priority ")]
        for host in MEMBERS
    }  # fmt: skip
    assert priorities == {
        "haproxy-1": ["priority 200"],
        "haproxy-2": ["priority 190"],
        "haproxy-3": ["priority 180"],
    }
    given = block(
        render("haproxy-3", keepalived_vip_priority=250), "vrrp_instance floating_address"
    )
    assert "priority 250" in given


def test_preemption_by_default_nopreempt_or_a_delay_on_request():
    def options(**variables) -> set[str]:
        instance = block(render("haproxy-1", **variables), "vrrp_instance floating_address")
        return {line for line in instance if re.match(r"(no)?preempt", line)}

    assert options() == set()
    assert options(keepalived_vip_preempt=False) == {"nopreempt"}
    assert options(keepalived_vip_preempt_delay=5) == {"preempt_delay 5"}
    assert options(keepalived_vip_preempt=False, keepalived_vip_preempt_delay=5) == {"nopreempt"}


def test_the_address_follows_a_tcp_check_of_the_frontend_run_unprivileged():
    config = render("haproxy-1", keepalived_vip_check_port=8080, keepalived_vip_check_fall=3)
    check = block(config, "vrrp_script frontend_accepts")
    assert check == [
        'script "/bin/bash -c </dev/tcp/127.0.0.1/8080"',
        "interval 1",
        "timeout 1",
        "fall 3",
        "rise 2",
    ]
    instance = block(config, "vrrp_instance floating_address")
    # No weight: a failing check puts the member in FAULT, which gives the address away.
    assert nested(instance, "track_script") == ["frontend_accepts"]
    assert {"enable_script_security", "script_user nobody"} <= set(block(config, "global_defs"))


def test_a_member_without_an_address_of_its_own_falls_back_to_ansible_host():
    config = render(
        "haproxy-1",
        hostvars={"haproxy-1": {}, "haproxy-2": {"ansible_host": "10.0.0.2"}, "haproxy-3": {}},
    )
    peers = nested(block(config, "vrrp_instance floating_address"), "unicast_peer")
    assert peers == ["10.0.0.2", "haproxy-3"]
