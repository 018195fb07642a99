"""haproxy_peers' haproxy.cfg template, rendered the way Ansible renders it for a host.

Shared by the template's own tests and the loopback tests, which run HAProxy
on what the role would write instead of a configuration copied by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import jinja2
import yaml

ROLE = Path(__file__).parents[1] / "roles" / "haproxy_peers"
TEMPLATE = ROLE / "templates" / "etc" / "haproxy" / "haproxy.cfg.j2"


def render_haproxy_cfg(
    host: str, peers: Mapping[str, str], group: str = "loadbalancers", **variables
) -> str:
    """haproxy.cfg for ``host``, one of ``peers`` (peer name -> replication address).

    ``variables`` are the play's (inventory, role arguments) on top of the
    role's defaults and vars, as Ansible's precedence has it.
    """
    values = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    values.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text()))
    values.update(
        inventory_hostname=host,
        ansible_managed="managed by Ansible",
        groups={group: list(peers)},
        hostvars={name: {"haproxy_peers_peer_address": ip} for name, ip in peers.items()},
        haproxy_peers_group=group,
    )
    values.update(variables)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True)
    # Role variables that are templates of other variables (the paths in
    # vars/main.yml), resolved as Ansible would; the ones that need Ansible's
    # lookups and filters are not used by the template.
    for name, value in list(values.items()):
        if isinstance(value, str) and "{{" in value:
            try:
                values[name] = environment.from_string(value).render(values)
            except jinja2.TemplateError:
                continue
    return environment.from_string(TEMPLATE.read_text()).render(values)


def section(config: str, header: str) -> list[str]:
    """The stripped lines of the section that starts with line ``header``."""
    lines = config.splitlines()
    start = lines.index(header)
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        body.append(line.strip())
    return body
