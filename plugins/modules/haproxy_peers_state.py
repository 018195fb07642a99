#!/usr/bin/python
"""Read one member's replication state: peer links, resync, stick table keys."""

from __future__ import annotations

DOCUMENTATION = r"""
module: haproxy_peers_state
short_description: Read a peers member's links, resync state and stick table keys
description:
  - Asks HAProxy's runtime API on the load balancer which worker answers,
    whether its peers section finished its resync, which remote peers are
    connected, and which keys the stick table holds. Changes nothing.
  - Used by the rolling restart playbook to restart a member only once the
    others hold its whole table, and to wait until it has learnt it again.
version_added: 1.1.0
options:
  peers_section:
    description: Name of the peers section.
    type: str
    required: true
  table:
    description: Name of the stick table (the backend that declares it).
    type: str
    required: true
  master_socket:
    description: Path of the master CLI socket (C(-S)), through which the serving worker is asked.
    type: path
    default: /run/haproxy-master.sock
author: haproxy-peers-lab contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read the replication state
  haproxy_peers_lab.lab.haproxy_peers_state:
    peers_section: haproxy-peers
    table: sticky
  register: state
  until: state.resync_done and state.peers.values() | min
  retries: 60
  delay: 1
"""

RETURN = r"""
running:
  description: HAProxy answers the runtime API.
  type: bool
  returned: always
pid:
  description: PID of the worker that answered.
  type: int
  returned: when running
resync_done:
  description: The peers section has learnt its table (or gave up waiting).
  type: bool
  returned: always
peers:
  description: Remote peer name -> connected.
  type: dict
  returned: always
keys:
  description: Keys of the stick table.
  type: list
  elements: str
  returned: always
size:
  description: Number of keys.
  type: int
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.haproxy_peers_lab.lab.plugins.module_utils.haproxy_runtime import (
    RuntimeAPIError,
    answering_pid,
    ask,
    ask_worker,
    parse_proc,
    peers_flags,
    remote_peers,
    resync_done,
    serving_worker,
    table_keys,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "peers_section": {"type": "str", "required": True},
            "table": {"type": "str", "required": True},
            "master_socket": {"type": "path", "default": "/run/haproxy-master.sock"},
        },
        supports_check_mode=True,
    )
    section, master = module.params["peers_section"], module.params["master_socket"]
    commands = ("show info", "show peers", f"show table {module.params['table']}")
    try:
        worker = serving_worker(parse_proc(ask(master, "show proc")))
        if worker is None:
            raise RuntimeAPIError("no worker serving")
        text = ask_worker(master, worker["pid"], commands)
    except RuntimeAPIError as error:
        module.exit_json(
            changed=False, running=False, error=str(error),
            resync_done=False, peers={}, keys=[], size=0,
        )  # fmt: skip
    if "# table:" not in text:
        last = text.strip().splitlines()[-1] if text.strip() else "no answer"
        module.fail_json(msg=f"HAProxy has no stick table {module.params['table']!r}: {last}")
    keys = table_keys(text[text.find("# table:") :])
    module.exit_json(
        changed=False,
        running=True,
        pid=answering_pid(text),
        resync_done=resync_done(peers_flags(text, section)),
        peers=remote_peers(text, section),
        keys=keys,
        size=len(keys),
    )


if __name__ == "__main__":
    main()
