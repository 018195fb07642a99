"""peerlab failover's own parts: where the floating address is, and how long clients failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from peerlab.failover import (
    error_window,
    error_windows,
    holders,
    parse_ip_addr,
    send_window,
    split_failures,
)
from peerlab.inventory import InventoryError, floating_address, read_inventory
from peerlab.lab import LoadBalancer

LAB = Path(__file__).parents[1] / "inventory" / "lab" / "hosts.yml"

DATA = Path(__file__).parent / "data" / "ip"
# `ip -o -4 addr show` on a member holding the address (a trixie container of
# the docker scenario), and on one that does not: a VM with the private
# network on eth1, and an interface shown with its link (veth9@if6).
HOLDING = (DATA / "container-holding.txt").read_text()
NOT_HOLDING = (DATA / "vm-not-holding.txt").read_text()


def test_addresses_are_read_with_their_interfaces():
    assert parse_ip_addr(HOLDING) == {
        "127.0.0.1": "lo",
        "192.168.57.11": "eth0",
        "192.168.57.100": "eth0",
    }
    assert parse_ip_addr(NOT_HOLDING) == {
        "127.0.0.1": "lo",
        "10.0.2.15": "eth0",
        "192.168.59.12": "eth1",
        "10.9.9.9": "veth9",
    }
    assert parse_ip_addr("") == {}


def test_an_address_is_not_taken_for_one_it_begins_with():
    assert "192.168.57.10" not in parse_ip_addr(HOLDING)
    assert "192.168.57.1" not in parse_ip_addr(HOLDING)


def member(name: str, output: str) -> LoadBalancer:
    return LoadBalancer(name=name, url=f"http://{name}/", run=lambda command: output)


def test_the_holder_is_the_member_whose_interfaces_have_the_address():
    one, two = member("lb-1", HOLDING), member("lb-2", NOT_HOLDING)
    assert holders([one, two], "192.168.57.100") == [one]
    assert holders([two, one], "192.168.57.100") == [one]
    assert holders([one, two], "192.168.57.200") == []


def test_the_error_window_runs_from_the_first_failed_request_sent_to_the_last_failure():
    assert error_window([]) == 0.0
    assert error_window([(10.0, 10.5)]) == pytest.approx(0.5)
    # Out of order, overlapping: a request that timed out counts for its whole timeout.
    assert error_window([(11.0, 11.1), (10.2, 11.2), (10.0, 10.1)]) == pytest.approx(1.2)


def test_the_send_window_runs_from_the_first_failed_request_sent_to_the_last_one_sent():
    assert send_window([]) == 0.0
    # One request that timed out: no time between sends, whatever its timeout.
    assert send_window([(10.0, 11.0)]) == 0.0
    assert send_window([(11.0, 11.1), (10.2, 11.2), (10.0, 10.1)]) == pytest.approx(1.0)


def test_bursts_of_failures_apart_by_more_than_the_gap_are_windows_of_their_own():
    assert error_windows([], gap=1.0) == []
    failures = [(40.0, 40.1), (10.0, 10.1), (11.5, 12.0), (10.5, 11.0), (41.9, 42.0)]
    assert error_windows(failures, gap=1.0) == [
        pytest.approx(2.0),  # 10.0 to 12.0: each failure within 1 s of the one before
        pytest.approx(0.1),  # 40.0 to 40.1: 41.9 comes 1.8 s after it
        pytest.approx(0.1),
    ]


def test_failures_are_split_by_when_they_were_sent():
    before, after = split_failures([(1.0, 1.5), (4.0, 4.1), (2.9, 3.2), (3.0, 3.5)], at=3.0)
    assert before == [(1.0, 1.5), (2.9, 3.2)]
    assert after == [(4.0, 4.1), (3.0, 3.5)]


def test_the_lab_inventory_relays_the_floating_address_to_a_forwarded_port():
    floating = floating_address(read_inventory(LAB))
    assert floating.address == "192.168.56.100"
    assert floating.url == "http://localhost:7080/"
    assert floating.preempt is True


def listing(lb_vars: dict[str, dict], others: dict[str, dict] | None = None) -> dict:
    return {
        "loadbalancers": {"hosts": list(lb_vars)},
        "_meta": {"hostvars": {**lb_vars, **(others or {})}},
    }


def test_without_a_relay_clients_go_to_the_address_and_preemption_is_read():
    vip = {"keepalived_vip_address": "10.0.0.100", "keepalived_vip_preempt": False}
    floating = floating_address(listing({"a": vip, "b": vip}, {"w": {"lab_vip_relay_port": 7}}))
    assert (floating.url, floating.preempt) == ("http://10.0.0.100/", False)


def test_load_balancers_without_a_floating_address_are_refused_naming_the_variable():
    with pytest.raises(InventoryError, match="set keepalived_vip_address"):
        floating_address(listing({"a": {}, "b": {}}))


def test_load_balancers_that_disagree_on_the_address_are_refused():
    with pytest.raises(InventoryError, match="disagree on keepalived_vip_address"):
        floating_address(
            listing(
                {"a": {"keepalived_vip_address": "10.0.0.100"}, "b": {}},
            )
        )
