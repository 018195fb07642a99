"""The roles' templates, rendered the way Ansible renders them for a host.

Shared by the templates' own tests and the loopback tests, which run HAProxy
on what the role would write instead of a configuration copied by hand.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

import jinja2
import jinja2.nativetypes
import yaml

COLLECTION = "haproxy_peers_lab.lab"
ROLES = Path(__file__).parents[1] / "roles"
FILTER_PLUGINS = Path(__file__).parents[1] / "plugins" / "filter"
ROLE = ROLES / "haproxy_peers"
TEMPLATE = ROLE / "templates" / "etc" / "haproxy" / "haproxy.cfg.j2"


def collection_filters() -> dict:
    """The collection's filter plugins under their fully qualified names, as the
    roles call them."""
    filters = {}
    for path in sorted(FILTER_PLUGINS.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"filter_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, function in module.FilterModule().filters().items():
            filters[f"{COLLECTION}.{name}"] = function
    return filters


def render_role_template(role: str, template: str, **variables) -> str:
    """``roles/<role>/templates/<template>`` with ``variables`` (the play's: inventory,
    role arguments, facts) on top of the role's defaults and vars, as Ansible's
    precedence has it."""
    directory = ROLES / role
    values = yaml.safe_load((directory / "defaults" / "main.yml").read_text()) or {}
    values.update(yaml.safe_load((directory / "vars" / "main.yml").read_text()) or {})
    values.update(ansible_managed="managed by Ansible", **variables)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True)
    environment.filters.update(collection_filters())
    # Variables resolve to what their template gives, a list or a mapping as
    # much as text, as Ansible's own templating does.
    native = jinja2.nativetypes.NativeEnvironment(undefined=jinja2.StrictUndefined)
    native.filters.update(environment.filters)
    # Role variables that are templates of other variables, resolved as Ansible
    # would (in turn, so that one may use another resolved before it). The ones
    # that need Ansible's lookups and filters stay unresolved: a template that
    # uses one fails, naming it, instead of rendering its raw "{{ }}" text.
    for _ in range(3):
        for name, value in list(values.items()):
            if isinstance(value, str) and "{{" in value:
                try:
                    values[name] = native.from_string(value.strip()).render(values)
                except jinja2.TemplateError:
                    continue
    for name, value in list(values.items()):
        if isinstance(value, str) and "{{" in value:
            hint = f"{name} needs Ansible to render it ({value.strip()!r}): give it to the test"
            values[name] = environment.undefined(hint=hint, name=name)
    return environment.from_string((directory / "templates" / template).read_text()).render(values)


def render_haproxy_cfg(
    host: str, peers: Mapping[str, str], group: str = "loadbalancers", **variables
) -> str:
    """haproxy.cfg for ``host``, one of ``peers`` (peer name -> replication address).

    ``variables`` are the play's (inventory, role arguments) on top of the
    role's defaults and vars, as Ansible's precedence has it.
    """
    values = {
        # The handover hold's Lua action where this machine's HAProxy finds it.
        "__haproxy_peers_hold_script": str(ROLE / "files" / "haproxy_peers_hold.lua"),
        # What the role reads from `haproxy -vv` on the host: this machine's
        # HAProxy (Debian 12's 2.6) has no Lua boolean conversion to name.
        "__haproxy_peers_lua_bool_conversion": False,
        "inventory_hostname": host,
        "groups": {group: list(peers)},
        "hostvars": {name: {"haproxy_peers_peer_address": ip} for name, ip in peers.items()},
        "haproxy_peers_group": group,
        **variables,
    }
    return render_role_template(
        "haproxy_peers", str(TEMPLATE.relative_to(ROLE / "templates")), **values
    )


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
