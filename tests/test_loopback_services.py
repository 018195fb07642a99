"""Several services of the role's haproxy.cfg on a real HAProxy pair on loopback.

The pair of tests/loopback_pair.py (the machine's HAProxy, peers over mutual
TLS) serves, beside its single service, three of haproxy_peers_services:
``api`` sticky on a header, over plain HTTP and HTTPS; ``ui`` sticky on the
client's address, whose plain bind redirects to HTTPS; ``limited`` sticky on
the session cookie with a rate limit of a few requests per minute. Every
request goes to 127.0.0.2 or 127.0.0.3 from 127.0.0.1.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from loopback_pair import NAMES, loopback_pair
from role_template import section

from peerlab.lab import wait_reloaded
from peerlab.local_haproxy import free_ports
from peerlab.pki import Authority
from peerlab.runtime import show_proc, show_table
from peerlab.sync import wait_until
from peerlab.tables import NoSuchTable, report, snapshot

REPLICATION_TIMEOUT_S = 10.0
LIMIT = 3
STATS = ("admin", "loopback")
HEADER = "X-Client-Id"
SERVER_NAME = "services.loopback"
HOLD_HEADER = "X-Handover-Hold"
HOLD_BOUND_MS = 600


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority("loopback services CA")


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    names = ("api", "api_tls", "ui", "ui_tls", "limited", "near")
    return dict(zip(names, free_ports(len(names)), strict=True))


@pytest.fixture(scope="module")
def pair(tmp_path_factory, authority, ports) -> Iterator[tuple[list, list]]:
    issued = authority.issue(SERVER_NAME)
    tls = {"tls_cert": issued.cert, "tls_key": issued.key}

    def services(servers: list[dict], address: str) -> list[dict]:
        def bind(port: str, https: bool = False) -> dict:
            return {"address": f"{address}:{ports[port]}", "tls": https}

        return [
            {"name": "api", "binds": [bind("api"), bind("api_tls", True)], "servers": servers,
             "stick": {"kind": "header", "header": HEADER}, **tls},
            {"name": "ui", "binds": [bind("ui"), bind("ui_tls", True)], "servers": servers,
             "redirect_to_https": True, "stick": {"kind": "source"}, **tls},
            {"name": "limited", "binds": [bind("limited")], "servers": servers,
             "rate_limit": {"requests": LIMIT, "period": "1m"}},
            {"name": "near", "binds": [bind("near")], "servers": servers,
             "stick": {"kind": "source"}},
        ]  # fmt: skip

    folder = tmp_path_factory.mktemp("services")
    certs = folder / "certs"
    certs.mkdir()
    (certs / "api.pem").write_text(issued.pem)
    (certs / "ui.pem").write_text(issued.pem)
    with loopback_pair(
        folder,
        services=services,
        haproxy_peers_services_cert_dir=str(certs),
        haproxy_peers_handover_hold_header=HOLD_HEADER,
        haproxy_peers_handover_hold_timeout=f"{HOLD_BOUND_MS}ms",
        haproxy_peers_handover_hold_window="30s",
    ) as started:
        yield started


def address(lb) -> str:
    """The member's loopback address, from its URL."""
    return lb.url.split("//")[1].split(":")[0]


def url(lb, ports, port: str, scheme: str = "http") -> str:
    return f"{scheme}://{address(lb)}:{ports[port]}/"


def wait_for_key(lb, table: str, key: str) -> None:
    wait_until(
        lambda: (key in show_table(lb.run, table).entries, None),
        REPLICATION_TIMEOUT_S,
        f"{key} in {lb.name}'s table {table}",
    )


def test_a_header_service_keeps_each_client_on_its_server_through_both_members(pair, ports):
    lbs, _ = pair
    clients = [f"client-{n}" for n in range(6)]
    first = {
        c: requests.get(url(lbs[0], ports, "api"), headers={HEADER: c}, timeout=5).text
        for c in clients
    }
    assert len(set(first.values())) > 1, first  # round robin spread them
    for client in clients:
        wait_for_key(lbs[1], "back-api", client)
    tables = [show_table(lb.run, "back-api").servers() for lb in lbs]
    assert tables[0] == tables[1]
    assert set(tables[0]) == set(clients)
    again = {
        c: requests.get(url(lbs[1], ports, "api"), headers={HEADER: c}, timeout=5).text
        for c in clients
    }
    assert again == first


def test_a_source_service_keeps_the_client_address_on_one_server_through_both_members(
    pair, ports, tmp_path, authority
):
    lbs, _ = pair
    ca = tmp_path / "ca.pem"
    ca.write_text(authority.cert)
    answers = []
    for lb in lbs:
        # requests checks the name against the URL's host: connect by the
        # certificate's name, to the member's address.
        answers.append(https_get(lb, ports["ui_tls"], ca))
        wait_for_key(lb, "back-ui", "127.0.0.1")
    assert answers[0] == answers[1]
    tables = [show_table(lb.run, "back-ui").servers() for lb in lbs]
    assert tables[0] == tables[1] == {"127.0.0.1": tables[0]["127.0.0.1"]}


def https_get(lb, port: int, ca: Path) -> str:
    """The body of GET / over HTTPS to ``lb``, the certificate verified against ``ca``
    for SERVER_NAME."""
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection((address(lb), port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {SERVER_NAME}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    head, _, body = answer.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200"), head
    return body


def test_https_presents_a_certificate_another_ca_does_not_verify(pair, ports, tmp_path):
    lbs, _ = pair
    other = tmp_path / "other.pem"
    other.write_text(Authority("another CA").cert)
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(lbs[0], ports["api_tls"], other)


def test_plain_http_of_a_redirecting_service_answers_301_to_https(pair, ports):
    lbs, _ = pair
    answer = requests.get(url(lbs[0], ports, "ui") + "page?q=1", allow_redirects=False, timeout=5)
    assert answer.status_code == 301
    assert answer.headers["Location"] == url(lbs[0], ports, "ui_tls", "https") + "page?q=1"


def request_rate(lb) -> int:
    entry = show_table(lb.run, f"{NAMES.section}/rl-limited").entries.get("127.0.0.1")
    return int(entry.data["http_req_rate(60000)"]) if entry else 0


def test_the_rate_limit_refuses_past_its_limit_and_the_other_member_knows_the_count(pair, ports):
    lbs, _ = pair
    statuses = [
        requests.get(url(lbs[0], ports, "limited"), timeout=5).status_code for _ in range(5)
    ]
    assert statuses == [200] * LIMIT + [429] * 2
    # The member that counted sends its counter; the other one holds it.
    wait_until(
        lambda: (request_rate(lbs[1]) == 5, request_rate(lbs[1])),
        REPLICATION_TIMEOUT_S,
        "lb-b holds lb-a's count",
    )
    assert requests.get(url(lbs[1], ports, "limited"), timeout=5).status_code == 429


def metrics(instance, auth=STATS) -> requests.Response:
    """GET /metrics on the statistics listener of ``instance``, as its haproxy.cfg binds it."""
    bind = section(instance.config.read_text(), "listen admin")[0]
    return requests.get(f"http://{bind.split()[1]}/metrics", auth=auth, timeout=5)


def test_metrics_answer_only_with_the_statistics_credentials(pair):
    _, instances = pair
    assert metrics(instances[0], auth=None).status_code == 401
    assert metrics(instances[0], auth=("admin", "wrong")).status_code == 401
    assert metrics(instances[0]).status_code == 200


def test_metrics_count_each_table_as_show_table_does(pair, ports):
    lbs, instances = pair
    requests.get(url(lbs[0], ports, "api"), headers={HEADER: "counted"}, timeout=5)
    wait_for_key(lbs[1], "back-api", "counted")
    for lb, instance in zip(lbs, instances, strict=True):
        text = metrics(instance).text
        used = {
            name: int(value)
            for name, value in re.findall(
                r'^haproxy_sticktable_used\{name="([^"]+)",type="[^"]+"\} (\d+)$', text, re.M
            )
        }
        tables = ["back-api", "back-ui", f"{NAMES.section}/rl-limited", NAMES.table]
        assert set(tables) <= set(used), used
        for table in tables:
            assert used[table] == show_table(lb.run, table).used, table
        assert re.search(r"^haproxy_process_connected_peers 1$", text, re.M), text


def test_peerlab_reads_every_table_and_the_one_asked_for(pair, ports):
    lbs, _ = pair
    requests.get(url(lbs[0], ports, "api"), headers={HEADER: "listed"}, timeout=5)
    wait_for_key(lbs[1], "back-api", "listed")
    snapshots = [snapshot(lb, "back-api") for lb in lbs]
    for one in snapshots:
        assert one.table.name == "back-api"
        assert "listed" in one.table.entries
        held = {t.name: t for t in one.tables}
        assert {"back-api", "back-ui", f"{NAMES.section}/rl-limited", NAMES.table} <= set(held)
        assert (held["back-api"].type, held["back-ui"].type) == ("string", "ip")
    listed = report(snapshots)["load_balancers"][0]["tables"]
    assert {t["name"]: t["used"] for t in listed}["back-api"] == snapshots[0].table.used


def test_peerlab_refuses_a_table_no_member_holds_naming_the_ones_it_holds(pair):
    lbs, _ = pair
    with pytest.raises(NoSuchTable, match=r"holds no stick table 'nope' \(its tables: .*back-api"):
        snapshot(lbs[0], "nope")


def plain_get(lb, port: int, source: str, headers: dict[str, str]) -> dict[str, str]:
    """GET / over plain HTTP to ``lb`` from the local address ``source``; the answer's
    status line and headers (lower-case names)."""
    host = address(lb)
    lines = [f"{name}: {value}" for name, value in headers.items()]
    request = "\r\n".join(["GET / HTTP/1.1", f"Host: {host}", "Connection: close", *lines])
    with socket.create_connection((host, port), timeout=5, source_address=(source, 0)) as raw:
        raw.sendall(f"{request}\r\n\r\n".encode())
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    status, *fields = answer.decode().partition("\r\n\r\n")[0].splitlines()
    return {"status": status} | {
        name.lower(): value.strip() for name, _, value in (f.partition(":") for f in fields)
    }


def test_a_young_worker_holds_unknown_keys_of_each_kind_and_serves_known_ones_at_once(pair, ports):
    lbs, instances = pair
    # Known to both members before the reload: a header and an address.
    plain_get(lbs[1], ports["api"], "127.0.0.1", {HEADER: "hold-known"})
    plain_get(lbs[1], ports["near"], "127.0.0.21", {})
    wait_for_key(lbs[0], "back-api", "hold-known")
    wait_for_key(lbs[0], "back-near", "127.0.0.21")
    # A bare signal, as without the role's helper: the new worker stays young.
    before = show_proc(lbs[0].run).reloads
    instances[0].reload()
    wait_reloaded(lbs[0], before, [lbs[1].name], timeout=30)
    unknown = [
        plain_get(lbs[0], ports["api"], "127.0.0.1", {HEADER: "hold-unknown"}),
        plain_get(lbs[0], ports["near"], "127.0.0.22", {}),
    ]
    for answer in unknown:
        assert answer["status"].startswith("HTTP/1.1 200"), answer
        waited, outcome = answer[HOLD_HEADER.lower()].split()
        assert outcome == "bound", answer
        assert int(waited) >= HOLD_BOUND_MS, answer
    known = [
        plain_get(lbs[0], ports["api"], "127.0.0.1", {HEADER: "hold-known"}),
        plain_get(lbs[0], ports["near"], "127.0.0.21", {}),
    ]
    for answer in known:
        assert answer["status"].startswith("HTTP/1.1 200"), answer
        assert HOLD_HEADER.lower() not in answer, answer
