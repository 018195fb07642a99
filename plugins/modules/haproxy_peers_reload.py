#!/usr/bin/python
"""Reload HAProxy and wait until the reload took, or fail with HAProxy's reason."""

from __future__ import annotations

DOCUMENTATION = r"""
module: haproxy_peers_reload
short_description: Reload HAProxy and verify that the new worker serves and holds the tables
description:
  - Waits until the running worker has learnt its stick tables (reloading
    before the previous handover finished loses entries), reloads the service
    through systemd, then waits until HAProxy's master lists a new worker,
    that worker answers the runtime API and its peers section has learnt the
    table from the old worker.
  - HAProxy can accept a configuration (C(haproxy -c)) and still fail to
    start its new worker (a port another process holds, a file it cannot
    read at run time). The master then keeps the old worker serving the old
    configuration. This module fails with HAProxy's own messages, and given
    O(previous_config) puts the configuration that still runs back in place,
    so the next run tries again instead of reporting ok.
  - Before it signals HAProxy, it checks the new configuration for what
    would make the new worker fail (O(preflight)). A change refused there
    leaves the old worker's listeners open, where a refused reload pauses
    them for about 2 seconds.
  - Talks to the workers through the master CLI (C(-S), which Debian's unit
    sets). Runs on the load balancer, as root.
version_added: 1.1.0
options:
  peers_section:
    description: Name of the peers section whose resync is waited for.
    type: str
    required: true
  master_socket:
    description: Path of the master CLI socket (C(-S)).
    type: path
    default: /run/haproxy-master.sock
  service:
    description: systemd unit of HAProxy.
    type: str
    default: haproxy
  timeout:
    description: Seconds to wait for each phase (handover before, new worker after).
    type: int
    default: 60
  config_file:
    description: The configuration file the reload loads.
    type: path
  previous_config:
    description:
      - Copy of the configuration that runs now (the template's backup). Put
        back in O(config_file) when HAProxy refuses the new one.
    type: path
  preflight:
    description:
      - Before anything else, check O(config_file) for what would make HAProxy
        refuse the new worker although C(haproxy -c) passed - a bind on a port
        another program holds or on an address the host does not have, a file
        it names that is missing - and fail naming the bind or the file,
        without signalling HAProxy (so no listener pauses). Binds it cannot
        judge (UNIX sockets, C(fd@), datagram sockets, namespaces) are left to
        HAProxy.
    type: bool
    default: true
    version_added: 1.3.0
author: haproxy-peers-lab contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Reload HAProxy
  haproxy_peers_lab.lab.haproxy_peers_reload:
    peers_section: lb_peers
    previous_config: "{{ rendered.backup_file | default(omit) }}"
    config_file: /etc/haproxy/haproxy.cfg
"""

RETURN = r"""
master_pid:
  description: PID of HAProxy's master after the reload.
  type: int
  returned: success
worker_pid:
  description: PID of the worker that serves after the reload.
  type: int
  returned: success
previous_workers:
  description: PIDs of the workers that ran before the reload.
  type: list
  elements: int
  returned: always
reloads:
  description: The master's reload counter after the reload.
  type: int
  returned: success
problems:
  description: What the preflight found that would make HAProxy refuse the new worker.
  type: list
  elements: str
  returned: when the preflight refused the change
seconds:
  description: Time from the reload to the new worker holding the table.
  type: float
  returned: success
"""

import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.haproxy_peers_lab.lab.plugins.module_utils.haproxy_preflight import (
    problems as preflight_problems,
)
from ansible_collections.haproxy_peers_lab.lab.plugins.module_utils.haproxy_runtime import (
    RuntimeAPIError,
    answering_pid,
    ask,
    ask_worker,
    parse_proc,
    peers_flags,
    resync_done,
    serving_worker,
)

POLL_INTERVAL_S = 0.25


class Timeout(Exception):
    pass


def wait(probe, timeout, what):
    """Call probe() -> (done, value) until done; raise Timeout naming the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, value = probe()
        except RuntimeAPIError as error:
            done, value = False, str(error)
        if done:
            return value
        if time.monotonic() >= deadline:
            raise Timeout(f"{what}: not within {timeout}s; last seen: {value}")
        time.sleep(POLL_INTERVAL_S)


class Reload:
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def proc(self):
        return parse_proc(ask(self.params["master_socket"], "show proc"))

    def runtime(self, pid):
        """(pid that answered, flags of the peers section or None) of worker ``pid``."""
        text = ask_worker(self.params["master_socket"], pid, ("show info", "show peers"))
        return answering_pid(text), peers_flags(text, self.params["peers_section"])

    def handover_finished(self):
        """The serving worker is not still learning its table (or has no such section)."""
        worker = serving_worker(self.proc())
        if worker is None:
            return False, "no worker serving"
        pid, flags = self.runtime(worker["pid"])
        if flags is None:
            return True, f"worker {pid} has no peers section {self.params['peers_section']!r}"
        return resync_done(flags), f"worker {pid}: peers flags 0x{flags:x}"

    def journal_cursor(self):
        """Where the service's journal ends now: what follows is about this reload."""
        out = self.module.run_command(
            ["journalctl", "-u", self.params["service"], "-n", "0", "--show-cursor", "--no-pager"]
        )[1]
        for line in out.splitlines():
            if line.startswith("-- cursor: "):
                return line.removeprefix("-- cursor: ").strip()
        return None

    def journal_since(self, cursor):
        """The master's and workers' messages since ``cursor`` (all of today without one)."""
        where = [f"--after-cursor={cursor}"] if cursor else ["--since", "today"]
        return self.module.run_command(
            ["journalctl", "-u", self.params["service"], *where, "--no-pager", "-o", "cat"]
        )[1]

    @staticmethod
    def refused(journal):
        """HAProxy's master reported that the new worker did not start.

        2.6 and 3.0 say "Loading failure!", 3.2 "Failed to load worker". (3.2's
        failure counter is not cumulative: it says whether the last reload
        failed, so it cannot tell a second refusal from the first.)
        """
        return "Loading failure" in journal or "Failed to load worker" in journal

    @staticmethod
    def reason(journal):
        """HAProxy's own words about the refusal: its alerts, else its last lines."""
        lines = [line.strip() for line in journal.splitlines() if line.strip()]
        return [line for line in lines if "[ALERT]" in line] or lines[-20:]

    def restore(self):
        previous, config = self.params["previous_config"], self.params["config_file"]
        if previous and config and os.path.exists(previous):
            shutil.copyfile(previous, config)
            return f" {config} is back to the configuration that runs (from {previous})."
        return ""

    def preflight(self):
        config = self.params["config_file"]
        if not self.params["preflight"] or not config:
            return
        try:
            found = preflight_problems(config)
        except OSError as error:
            found = [f"cannot read {config}: {error}"]
        if found:
            self.module.fail_json(
                msg="not reloaded: HAProxy would refuse to start a worker with the new "
                f"configuration: {' '.join(found)}{self.restore()}",
                problems=found,
            )

    def run(self):
        timeout = self.params["timeout"]
        self.preflight()
        try:
            before = wait(lambda: (True, self.proc()), timeout, "HAProxy's master CLI answers")
            wait(self.handover_finished, timeout, "the previous reload's handover finished")
        except Timeout as error:
            self.module.fail_json(msg=f"not reloaded: {error}.{self.restore()}")
        old = [w["pid"] for w in before["workers"] + before["old_workers"]]
        if self.module.check_mode:
            self.module.exit_json(changed=True, previous_workers=old)

        cursor = self.journal_cursor()
        started = time.time()
        rc, _out, err = self.module.run_command(["systemctl", "reload", self.params["service"]])
        if rc != 0:
            self.module.fail_json(
                msg=f"systemctl reload {self.params['service']} exited {rc}: {err.strip()}; "
                + " | ".join(self.reason(self.journal_since(cursor))),
                previous_workers=old,
            )

        def reloaded():
            proc = self.proc()
            if proc["failed"] > before["failed"] or self.refused(self.journal_since(cursor)):
                proc["refused"] = True
                return True, proc
            new = [w for w in proc["workers"] if w["pid"] not in old]
            if proc["reloads"] <= before["reloads"] or not new:
                return False, f"master {proc['master_pid']}, workers {proc['workers']}"
            pid, flags = self.runtime(new[0]["pid"])
            if pid != new[0]["pid"]:
                return False, f"new worker {new[0]['pid']} listed, not answering yet"
            if flags is not None and not resync_done(flags):
                return False, f"new worker {pid} learning its table (flags 0x{flags:x})"
            proc["worker_pid"] = pid
            return True, proc

        try:
            after = wait(reloaded, timeout, "a new worker holding the table")
        except Timeout as error:
            self.module.fail_json(msg=f"reload not verified: {error}", previous_workers=old)
        if after.get("refused"):
            # The refused worker's pid may still be listed for a moment.
            serving = [w["pid"] for w in after["workers"] + after["old_workers"] if w["pid"] in old]
            self.module.fail_json(
                msg="HAProxy refused to start a worker with the new configuration; "
                f"worker(s) {serving} keep serving the previous one.{self.restore()} "
                "HAProxy said: " + " | ".join(self.reason(self.journal_since(cursor))),
                previous_workers=old,
            )
        self.module.exit_json(
            changed=True,
            master_pid=after["master_pid"],
            worker_pid=after["worker_pid"],
            previous_workers=old,
            reloads=after["reloads"],
            seconds=round(time.time() - started, 2),
        )


def main():
    module = AnsibleModule(
        argument_spec={
            "peers_section": {"type": "str", "required": True},
            "master_socket": {"type": "path", "default": "/run/haproxy-master.sock"},
            "service": {"type": "str", "default": "haproxy"},
            "timeout": {"type": "int", "default": 60},
            "config_file": {"type": "path"},
            "previous_config": {"type": "path"},
            "preflight": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    Reload(module).run()


if __name__ == "__main__":
    main()
