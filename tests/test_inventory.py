"""Finding the load balancers in an inventory: the lab's own, and others."""

from pathlib import Path

import pytest

from peerlab.checkout import role_defaults
from peerlab.inventory import InventoryError, load_balancer_hosts, load_balancers, read_inventory
from peerlab.lab import Names
from peerlab.sessions import cookie_header, session_id

LAB = Path(__file__).parents[1] / "inventory" / "lab" / "hosts.yml"


def test_the_lab_inventory_gives_both_lbs_on_their_forwarded_ports():
    hosts = load_balancer_hosts(read_inventory(LAB))
    assert [(h.name, h.address, h.url, h.user) for h in hosts] == [
        ("haproxy-1", "192.168.56.11", "http://localhost:8080/", "vagrant"),
        ("haproxy-2", "192.168.56.12", "http://localhost:9080/", "vagrant"),
    ]


def test_without_forwarded_ports_requests_go_to_the_host_address():
    listing = {
        "loadbalancers": {"hosts": ["lb-a"]},
        "_meta": {"hostvars": {"lb-a": {"ansible_host": "10.1.2.3", "ansible_user": "{{ u }}"}}},
    }
    (host,) = load_balancer_hosts(listing)
    assert (host.address, host.url, host.user) == ("10.1.2.3", "http://10.1.2.3/", None)


def test_an_inventory_without_the_group_names_the_groups_it_has():
    expected = r"no host in group 'loadbalancers' \(groups: all, web\)"
    with pytest.raises(InventoryError, match=expected):
        load_balancer_hosts({"all": {}, "web": {"hosts": ["w"]}, "_meta": {}})


def test_a_missing_inventory_file_is_named(tmp_path):
    with pytest.raises(InventoryError, match="does not exist"):
        read_inventory(tmp_path / "nope.yml")


def test_the_lab_inventory_uses_the_role_default_names_and_names_the_hold_header():
    hosts = load_balancer_hosts(read_inventory(LAB))
    defaults = role_defaults("haproxy_peers")
    assert {h.names for h in hosts} == {
        Names(
            section=defaults["haproxy_peers_section_name"],
            table=defaults["haproxy_peers_backend_name"],
            cookie=defaults["haproxy_peers_stick_cookie"],
            # The lab's tests and benchmark count held requests by it.
            hold_header="X-Handover-Hold",
        )
    }


def test_names_an_inventory_gives_the_role_are_what_peerlab_reads(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "shop_lbs:\n"
        "  hosts:\n"
        "    edge-a: {ansible_host: 10.0.0.1}\n"
        "    edge-b: {ansible_host: 10.0.0.2, haproxy_peers_stick_cookie: OTHERSESSION}\n"
        "  vars:\n"
        "    haproxy_peers_section_name: shop-peers\n"
        "    haproxy_peers_backend_name: shop-sessions\n"
        "    haproxy_peers_stick_cookie: SHOPSESSION\n"
    )
    lbs = load_balancers(inventory, channel="ansible", group="shop_lbs")
    assert [lb.names for lb in lbs] == [
        Names("shop-peers", "shop-sessions", "SHOPSESSION"),
        Names("shop-peers", "shop-sessions", "OTHERSESSION"),
    ]


def test_a_templated_name_falls_back_to_the_role_default():
    names = Names.from_variables({"haproxy_peers_backend_name": "{{ backend }}"})
    assert names.table == role_defaults("haproxy_peers")["haproxy_peers_backend_name"]


def test_the_demo_cookie_is_the_role_default():
    # The original demo's cookie; peerlab takes it from the role, not a constant.
    assert role_defaults("haproxy_peers")["haproxy_peers_stick_cookie"] == "JSESSIONID"
    assert cookie_header(21, "SHOPSESSION").endswith(f"SHOPSESSION={session_id(21)}")
