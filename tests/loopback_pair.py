"""A HAProxy pair on loopback running the role's own haproxy.cfg, for tests.

Two HAProxy processes (the machine's own release, master-worker mode) run
what haproxy_peers renders for two members on 127.0.0.2 and 127.0.0.3:
peers over mutual TLS with a CA made here, and names of their own for the
peers section, the table and the cookie. The first one also serves the
backends' answers (through the role's haproxy_peers_extra_config). Needs the
`haproxy` and `socat` commands (`make unit` installs them).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from role_template import ROLE, render_haproxy_cfg

from peerlab.lab import LoadBalancer, Names, wait_all_synced
from peerlab.local_haproxy import LocalHAProxy, admin_socket, free_ports
from peerlab.pki import Authority

PEERS = {"lb-a": "127.0.0.2", "lb-b": "127.0.0.3"}
# Not the role's defaults: peerlab has to take them from the variables.
NAMES = Names(section="shop-peers", table="shop-sessions", cookie="SHOPSESSION")
SERVERS = 3
START_TIMEOUT_S = 20.0
# The role's helper that systemd runs on every start and reload of HAProxy.
HANDOVER_HELPER = ROLE / "files" / "handover"

ANSWER = """\
frontend answer-be{n}
    bind 127.0.0.1:{port}
    http-request return status 200 content-type text/plain string "Backend {n}"
"""


@contextmanager
def loopback_pair(
    folder: Path, services: Callable[[list[dict], str], list[dict]] | None = None, **variables
) -> Iterator[tuple[list[LoadBalancer], list[LocalHAProxy]]]:
    """Start the pair in ``folder`` (role ``variables`` on top of the pair's own);
    yield its load balancers and processes, settled. ``services`` gives each
    member's haproxy_peers_services from the pair's servers and the member's
    address."""
    tls = folder / "tls"
    tls.mkdir()
    ca = Authority("loopback peers CA")
    (tls / "ca.pem").write_text(ca.cert)
    for name in PEERS:
        (tls / f"{name}.pem").write_text(ca.issue(name).pem)
    peers_port, http_port, stats_port, *server_ports = free_ports(3 + SERVERS)
    servers = [
        {"name": f"be{n}", "address": "127.0.0.1", "port": port}
        for n, port in enumerate(server_ports, 1)
    ]
    answers = "\n".join(ANSWER.format(n=n, port=p) for n, p in enumerate(server_ports, 1))
    instances, lbs = [], []
    for index, (name, address) in enumerate(PEERS.items()):
        config = render_haproxy_cfg(
            name,
            PEERS,
            haproxy_peers_section_name=NAMES.section,
            haproxy_peers_backend_name=NAMES.table,
            haproxy_peers_stick_cookie=NAMES.cookie,
            haproxy_peers_port=peers_port,
            haproxy_peers_tls_dir=str(tls),
            haproxy_peers_frontend_bind=f"{address}:{http_port}",
            haproxy_peers_stats_bind=f"{address}:{stats_port}",
            haproxy_peers_stats_user="admin",
            haproxy_peers_stats_password="loopback",
            haproxy_peers_runtime_socket=str(admin_socket(folder, name)),
            haproxy_peers_servers=servers,
            # Only the first instance serves the backends' answers (their ports are shared).
            haproxy_peers_extra_config=answers if index == 0 else "",
            haproxy_peers_services=services(servers, address) if services else [],
            **variables,
        )
        instance = LocalHAProxy(folder, name, config)
        instances.append(instance)
        lbs.append(LoadBalancer(name, f"http://{address}:{http_port}/", instance.run, NAMES))
    try:
        for instance in instances:
            instance.wait_started(START_TIMEOUT_S)
        for instance in instances:
            handover(instance, "start")
        wait_all_synced(lbs, timeout=START_TIMEOUT_S)
        yield lbs, instances
    finally:
        for instance in instances:
            instance.stop()


def handover(instance: LocalHAProxy, event: str) -> str:
    """Run the role's handover helper on ``instance`` as systemd does at ``event``
    (start, or reload: the helper signals the master itself); what it printed."""
    reload = [str(instance.process.pid)] if event == "reload" else []
    return subprocess.run(
        [sys.executable, str(HANDOVER_HELPER), "--master-socket", str(instance.master),
         "--section", NAMES.section, "--timeout", str(START_TIMEOUT_S), event, *reload],
        capture_output=True, text=True, check=True, timeout=START_TIMEOUT_S + 10,
    ).stdout  # fmt: skip
