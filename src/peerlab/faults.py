"""The lab's faults: each one is undone by itself, also when what runs inside fails.

- partition: every packet between two load balancers dropped, in the
  ``DOCKER-USER`` chain of the machine running the docker lab (Docker sends
  traffic between containers of one network through it); the backends stay
  reachable. Healed by removing the rules, whose comment names the pair (another
  lab's partition on the same machine is left alone).
- kill: ``kill -9`` of HAProxy's master or worker; systemd starts it again.
- backend down: one port of the Apache backends stops listening; put back after.
- reload storm: reloads of one member in a row, each waited for.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from peerlab.lab import LoadBalancer, wait_reloaded
from peerlab.runtime import TRANSIENT_ERRORS, Runner, show_proc, show_servers
from peerlab.sync import wait_synced, wait_until

FIREWALL_CHAIN = "DOCKER-USER"
PARTITION_MARK = "peerlab-partition"
IPTABLES_TIMEOUT_S = 30
APACHE_PORTS = "/etc/apache2/ports.conf"
BACKEND_MARK = "#peerlab-backend-down "


class FaultError(RuntimeError):
    """A fault cannot be made here; the message says why and what to do."""


def _iptables(*args: str) -> str:
    try:
        result = subprocess.run(
            ["iptables", "-w", "10", *args],
            capture_output=True,
            text=True,
            timeout=IPTABLES_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as error:
        raise FaultError("iptables is not installed on this machine") from error
    if result.returncode != 0:
        raise FaultError(f"iptables {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def pair_mark(first: str, second: str) -> str:
    """The comment on the rules of one pair's partition: the same whichever comes first."""
    return f"{PARTITION_MARK} {' '.join(sorted((first, second)))}"


def partition_rules(pair: tuple[str, str] | None = None, chain: str = FIREWALL_CHAIN) -> list[str]:
    """The partition rules in place now, as ``iptables -S`` prints them: every
    one, or only those between the two addresses of ``pair``."""
    rules = []
    for line in _iptables("-S", chain).splitlines():
        fields = shlex.split(line)
        comment = fields[fields.index("--comment") + 1] if "--comment" in fields else ""
        # A bare mark: a rule of an earlier release, which named no pair.
        ours = comment == PARTITION_MARK or comment.startswith(f"{PARTITION_MARK} ")
        if ours and (pair is None or comment == pair_mark(*pair)):
            rules.append(line)
    return rules


def heal(pair: tuple[str, str] | None = None, chain: str = FIREWALL_CHAIN) -> int:
    """Remove the partition rules between the addresses of ``pair``, or every one
    (also ones a killed run left); return how many. Another lab's partition on
    the same machine (make test runs two docker scenarios at once) keeps its own."""
    rules = partition_rules(pair, chain)
    for rule in rules:
        _iptables("-D", *shlex.split(rule)[1:])
    return len(rules)


@contextmanager
def partition(first: str, second: str, chain: str = FIREWALL_CHAIN) -> Iterator[None]:
    """Drop every packet between addresses ``first`` and ``second`` while inside."""
    try:
        _iptables("-S", chain)
    except FaultError as error:
        raise FaultError(
            f"no {chain} chain here ({error}): a partition needs the docker lab, "
            "run on the machine that runs its containers, as root"
        ) from error
    try:
        for source, destination in ((first, second), (second, first)):
            _iptables(
                "-I", chain, "-s", source, "-d", destination,
                "-m", "comment", "--comment", pair_mark(first, second), "-j", "DROP",
            )  # fmt: skip
        yield
    finally:
        heal((first, second), chain)


def kill_haproxy(lb: LoadBalancer, process: str) -> int:
    """``kill -9`` HAProxy's ``master`` or (current) ``worker`` on ``lb``; return the PID."""
    procs = show_proc(lb.run)
    if process == "master":
        pid = procs.master_pid
    elif process == "worker" and procs.workers:
        pid = procs.workers[0]
    else:
        raise FaultError(f"{lb.name}: no {process} process to kill ({procs})")
    lb.run(f"kill -9 {pid}")
    return pid


def wait_restarted(
    lb: LoadBalancer, master_before: int, remotes: Sequence[str], timeout: float = 60.0
) -> float:
    """Wait until systemd runs a new master on ``lb``, settled with ``remotes``; return seconds."""
    started = time.monotonic()

    def probe() -> tuple[bool, int]:
        master = show_proc(lb.run).master_pid
        return master != master_before, master

    wait_until(probe, timeout, f"{lb.name}: a new HAProxy master", tolerate=TRANSIENT_ERRORS)
    wait_synced(lb.run, lb.names.section, remotes, timeout, what=f"{lb.name} settled")
    return time.monotonic() - started


def reload_storm(
    lb: LoadBalancer, count: int, remotes: Sequence[str], timeout: float = 60.0
) -> list[float]:
    """Reload ``lb`` ``count`` times, each once the previous one settled; seconds of each."""
    took = []
    for _ in range(count):
        started = time.monotonic()
        before = show_proc(lb.run).reloads
        lb.systemctl("reload")
        wait_reloaded(lb, before, remotes, timeout)
        took.append(time.monotonic() - started)
    return took


def server_status(lb: LoadBalancer, server: str) -> str:
    """HAProxy's health status of ``server`` in the sticky backend (UP, DOWN, ...)."""
    for row in show_servers(lb.run, lb.names.table):
        if row.name == server:
            return row.status
    raise FaultError(f"{lb.name}: no server {server!r} in backend {lb.names.table!r}")


def wait_server_status(
    lbs: Sequence[LoadBalancer], server: str, status: str, timeout: float = 60.0
) -> None:
    """Wait until every load balancer's health checks see ``server`` as ``status``."""

    def probe() -> tuple[bool, dict[str, str]]:
        seen = {lb.name: server_status(lb, server) for lb in lbs}
        return all(value.startswith(status) for value in seen.values()), seen

    wait_until(
        probe, timeout, f"{server} {status} on every load balancer", tolerate=TRANSIENT_ERRORS
    )


@contextmanager
def backend_down(web: Runner, port: int) -> Iterator[None]:
    """Stop Apache listening on ``port`` (the backend's vhost) while inside."""
    listen = re.escape(f":{port}")
    web(
        f"sed -i -E 's/^(Listen [^ ]*{listen})$/{BACKEND_MARK}\\1/' {APACHE_PORTS}"
        " && systemctl reload apache2"
    )
    try:
        yield
    finally:
        web(f"sed -i 's/^{BACKEND_MARK}//' {APACHE_PORTS} && systemctl reload apache2")
