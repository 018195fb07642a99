"""The reload module's preflight (plugins/module_utils/haproxy_preflight.py).

What would make HAProxy refuse a new worker although `haproxy -c` passed,
found before any signal: read from the configuration the role renders, and
tried with real sockets on this machine, against a real listener of another
program and against a real HAProxy that holds its own ports.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback_pair import loopback_pair
from role_template import render_haproxy_cfg

from peerlab.local_haproxy import free_ports
from peerlab.sync import wait_until

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "haproxy_preflight", ROOT / "plugins" / "module_utils" / "haproxy_preflight.py"
)
preflight = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(preflight)

PEERS = {"haproxy-1": "10.0.0.11", "haproxy-2": "10.0.0.12"}
SERVERS = [{"name": "be1", "address": "10.0.0.10", "port": 8081}]
# An address no machine has (TEST-NET-1).
ABSENT = "192.0.2.10"


def rendered(**variables) -> str:
    return render_haproxy_cfg(
        "haproxy-1",
        PEERS,
        haproxy_peers_servers=SERVERS,
        haproxy_peers_stats_user="admin",
        haproxy_peers_stats_password="secret",
        **variables,
    )


def where(binds) -> list[tuple[str, str, list[int]]]:
    return [(b.section, b.host, b.ports) for b in binds]


def test_the_binds_of_the_roles_configuration_with_tls_peers():
    assert where(preflight.binds(rendered())) == [
        ("peers haproxy-peers", "10.0.0.11", [10000]),
        ("frontend front-session", "0.0.0.0", [80]),
        ("listen admin", "0.0.0.0", [8404]),
    ]


def test_with_plain_peers_the_local_peers_line_is_a_bind_and_the_others_are_not():
    binds = preflight.binds(rendered(haproxy_peers_tls=False))
    assert ("peers haproxy-peers", "10.0.0.11", [10000]) in where(binds)
    assert not [b for b in binds if b.host == "10.0.0.12"]


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("*:80", (socket.AF_INET, "0.0.0.0", [80])),
        (":8080-8081", (socket.AF_INET, "0.0.0.0", [8080, 8081])),
        ("ipv6@:443", (socket.AF_INET6, "::", [443])),
        (":::443", (socket.AF_INET6, "::", [443])),
        ("[::1]:80", (socket.AF_INET6, "::1", [80])),
        ("ipv4@10.0.0.1:80", (socket.AF_INET, "10.0.0.1", [80])),
        ("unix@/run/x.sock", None),
        ("/run/haproxy/admin.sock", None),
        ("fd@3", None),
        ("quic4@:443", None),
        ("${ADDR}:80", None),
    ],
)
def test_bind_addresses_are_read_as_haproxy_reads_them(spec, parsed):
    assert preflight.parse_address(spec) == parsed


def test_files_the_configuration_names_are_found_with_their_lines():
    config = rendered() + "    errorfile 503 /etc/haproxy/errors/503.http\n"
    lines = config.splitlines()
    named = preflight.files(config)
    assert {path for _, path in named} == {
        str(ROOT / "roles/haproxy_peers/files/haproxy_peers_hold.lua"),
        "/etc/haproxy/peers-tls/haproxy-1.pem",
        "/etc/haproxy/peers-tls/ca.pem",
        "/etc/haproxy/errors/503.http",
    }
    for number, path in named:
        assert path in lines[number - 1], (number, path)


def frontend(bind: str) -> str:
    return f"frontend web\n    bind {bind}\n    default_backend none\n"


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another program (python3) listens on, without SO_REUSEPORT."""
    (port,) = free_ports(1)
    program = (
        "import socket, time; s = socket.socket(); "
        f"s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)"
    )
    listener = subprocess.Popen([sys.executable, "-c", program])
    try:
        wait_until(lambda: (bool(preflight.holders(port)), "not listening yet"), 10, "the listener")
        yield port
    finally:
        listener.kill()
        listener.wait()


def test_a_port_another_program_holds_is_named_with_the_program(held_port):
    (problem,) = preflight.bind_problems(frontend(f"127.0.0.1:{held_port}"))
    assert f"port {held_port} is already in use by python" in problem, problem
    assert f"127.0.0.1:{held_port} of line 2 (frontend web: bind 127.0.0.1:{held_port})" in problem


def test_the_wildcard_address_conflicts_with_a_port_held_on_one_address(held_port):
    (problem,) = preflight.bind_problems(frontend(f"*:{held_port}"))
    assert f"port {held_port} is already in use" in problem, problem


def test_a_free_port_passes():
    (port,) = free_ports(1)
    assert preflight.bind_problems(frontend(f"127.0.0.1:{port}")) == []


def test_an_address_the_host_lacks_is_refused_unless_the_bind_may_bind_it_early():
    (problem,) = preflight.bind_problems(frontend(f"{ABSENT}:8080"))
    assert f"address {ABSENT} is not on this host" in problem, problem
    assert preflight.bind_problems(frontend(f"{ABSENT}:8080 transparent")) == []
    assert preflight.bind_problems(frontend(f"{ABSENT}:8080 freebind")) == []


def test_ports_a_running_haproxy_holds_pass(tmp_path):
    with loopback_pair(tmp_path) as (_, instances):
        for instance in instances:
            text = instance.config.read_text()
            assert preflight.binds(text), "the loopback configuration binds nothing?"
            assert preflight.bind_problems(text) == []


def test_a_missing_file_is_named_with_its_line(tmp_path):
    present = tmp_path / "ca.pem"
    present.write_text("x")
    config = (
        f"global\n    ca-base {tmp_path}\n    crt-base {tmp_path}\n"
        "frontend web\n    bind :80 ssl crt missing.pem ca-file ca.pem\n"
    )
    problems = preflight.file_problems(config)
    assert problems == [f"line 5 names {tmp_path}/missing.pem, which does not exist"]
