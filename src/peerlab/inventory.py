"""The load balancers of an Ansible inventory: where to send requests, how to run commands.

Any inventory Ansible reads will do; the lab's own (inventory/lab) is the
default. Hosts come from the load balancer group in inventory order, so
"LB 1" is the group's first host. HTTP goes to a port the lab forwards on
localhost when the inventory says so (``lab_forwarded_ports``), otherwise
straight to the host's address. The floating address of the load balancers
(``keepalived_vip_address``) is reached through the relay the lab forwards
(``lab_vip_relay_port`` of a host that forwards that port), else directly.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from peerlab.channels import CHANNELS, ansible_runner, project_tool, ssh_runner
from peerlab.checkout import role_defaults
from peerlab.lab import LoadBalancer, Names, literal
from peerlab.runtime import Runner

LB_GROUP = "loadbalancers"
HTTP_PORT = 80
INVENTORY_TIMEOUT_S = 60


class InventoryError(RuntimeError):
    """The inventory cannot be read, or names no usable load balancer."""


@dataclass(frozen=True)
class LoadBalancerHost:
    """A load balancer as the inventory describes it."""

    name: str
    address: str
    url: str
    user: str | None
    names: Names


def read_inventory(inventory: Path) -> dict:
    """``ansible-inventory --list`` of ``inventory``: groups and every host's variables."""
    if not inventory.exists():
        raise InventoryError(
            f"inventory {inventory} does not exist: pass --inventory, or run from the checkout"
        )
    result = subprocess.run(
        [project_tool("ansible-inventory"), "-i", str(inventory), "--list"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=INVENTORY_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise InventoryError(f"ansible-inventory cannot read {inventory}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def load_balancer_hosts(listing: Mapping, group: str = LB_GROUP) -> list[LoadBalancerHost]:
    """The hosts of ``group`` in an ``ansible-inventory --list`` answer."""
    names = listing.get(group, {}).get("hosts", [])
    if not names:
        groups = sorted(name for name in listing if name != "_meta")
        raise InventoryError(f"no host in group {group!r} (groups: {', '.join(groups)})")
    hostvars = listing.get("_meta", {}).get("hostvars", {})
    hosts = []
    for name in names:
        variables = hostvars.get(name, {})
        address = (
            literal(variables.get("private_ip")) or literal(variables.get("ansible_host")) or name
        )
        forwarded = {int(k): int(v) for k, v in variables.get("lab_forwarded_ports", {}).items()}
        url = (
            f"http://localhost:{forwarded[HTTP_PORT]}/"
            if HTTP_PORT in forwarded
            else f"http://{address}/"
        )
        user = literal(variables.get("ansible_user"))
        hosts.append(LoadBalancerHost(name, address, url, user, Names.from_variables(variables)))
    return hosts


def load_balancers(
    inventory: Path,
    channel: str = "ssh",
    group: str = LB_GROUP,
    ssh_key: Path | None = None,
) -> list[LoadBalancer]:
    """The load balancers of ``inventory``, commands run over ``channel``."""
    if channel not in CHANNELS:
        raise InventoryError(f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)}")
    balancers = []
    for host in load_balancer_hosts(read_inventory(inventory), group):
        run = (
            ssh_runner(host.address, host.user or "vagrant", ssh_key)
            if channel == "ssh"
            else ansible_runner(inventory, host.name)
        )
        balancers.append(LoadBalancer(host.name, host.url, run, host.names, host.address))
    return balancers


def runner_for_address(
    inventory: Path, address: str, channel: str = "ssh", ssh_key: Path | None = None
) -> Runner:
    """A Runner for the inventory host whose address is ``address`` (a backend, say)."""
    listing = read_inventory(inventory)
    for name, variables in listing.get("_meta", {}).get("hostvars", {}).items():
        known = {literal(variables.get("private_ip")), literal(variables.get("ansible_host"))}
        if address in known:
            user = literal(variables.get("ansible_user")) or "vagrant"
            return (
                ssh_runner(address, user, ssh_key)
                if channel == "ssh"
                else ansible_runner(inventory, name)
            )
    raise InventoryError(f"no host of {inventory} has the address {address}")


@dataclass(frozen=True)
class FloatingAddress:
    """The load balancers' floating address (keepalived_vip) as the inventory gives it."""

    address: str
    # Where clients reach it: a relay the lab forwards to localhost, else the address.
    url: str
    # Whether a member of higher priority takes the address back once healthy.
    preempt: bool


def floating_address(listing: Mapping, group: str = LB_GROUP) -> FloatingAddress:
    """The floating address of the load balancers of ``group`` in an ``ansible-inventory
    --list`` answer; InventoryError when they have none, or different ones."""
    hostvars = listing.get("_meta", {}).get("hostvars", {})
    members = listing.get(group, {}).get("hosts", [])
    found = {literal(hostvars.get(name, {}).get("keepalived_vip_address")) for name in members}
    if not members or found == {None}:
        raise InventoryError(
            f"no load balancer of group {group!r} has a floating address: set "
            "keepalived_vip_address (and run playbooks/site.yml with site_floating_address: true)"
        )
    if len(found) != 1 or None in found:
        raise InventoryError(f"the load balancers of {group!r} disagree on keepalived_vip_address")
    (address,) = found
    defaults = role_defaults("keepalived_vip")
    preempts = {
        str(hostvars[name].get("keepalived_vip_preempt", defaults["keepalived_vip_preempt"]))
        for name in members
    }
    url = f"http://{address}/"
    for variables in hostvars.values():
        relay = variables.get("lab_vip_relay_port")
        forwarded = {int(k): int(v) for k, v in variables.get("lab_forwarded_ports", {}).items()}
        if relay is not None and int(relay) in forwarded:
            url = f"http://localhost:{forwarded[int(relay)]}/"
    return FloatingAddress(address, url, preempts <= {"True", "true"})


def read_floating_address(inventory: Path, group: str = LB_GROUP) -> FloatingAddress:
    """``floating_address`` of ``inventory``."""
    return floating_address(read_inventory(inventory), group)
