"""Finding the load balancers in an inventory: the lab's own, and others."""

from pathlib import Path

import pytest

from peerlab.inventory import InventoryError, load_balancer_hosts, read_inventory

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
