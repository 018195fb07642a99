"""The lab's load balancers, as inventory/lab/hosts.yml describes them."""

from __future__ import annotations

from pathlib import Path

import yaml

from peerlab.lab import LoadBalancer
from peerlab.ssh import ssh_runner

LB_GROUP = "loadbalancers"
HTTP_PORT = 80


def lab_load_balancers(hosts_file: Path) -> list[LoadBalancer]:
    """Load balancers reached on the host's forwarded ports, commands over SSH."""
    inventory = yaml.safe_load(hosts_file.read_text())
    hosts = inventory["all"]["children"][LB_GROUP]["hosts"]
    balancers = []
    for name, variables in hosts.items():
        forwarded = {
            int(guest): int(host) for guest, host in variables["lab_forwarded_ports"].items()
        }
        balancers.append(
            LoadBalancer(
                name=name,
                url=f"http://localhost:{forwarded[HTTP_PORT]}/",
                run=ssh_runner(variables["private_ip"]),
            )
        )
    return balancers
