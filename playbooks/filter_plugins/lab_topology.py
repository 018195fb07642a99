"""Filters that derive one tier's settings from another tier's inventory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def backend_servers(
    web_hosts: Iterable[Mapping[str, Any]],
    address_var: str = "private_ip",
) -> list[dict[str, Any]]:
    """One HAProxy server per vhost that a web host serves.

    ``web_hosts`` are the hostvars of the web tier; each carries the
    ``apache_backends_served`` fact published by the apache_backends role and
    the address the load balancers reach it on (``address_var``).
    """
    servers = []
    for host in web_hosts:
        for vhost in host["apache_backends_served"]:
            servers.append(
                {"name": vhost["name"], "address": host[address_var], "port": int(vhost["port"])}
            )
    return servers


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"backend_servers": backend_servers}
