"""The application issues the session cookie; the load balancers learn it from the response.

A client that arrives without a cookie is balanced by LB1, and the backend
answers with `Set-Cookie: JSESSIONID=...` (mod_usertrack). LB1 stores the
session from the response (`stick store-response`) and replicates it; the
client's next request, through LB2, reaches the same backend.
"""

from __future__ import annotations

import time

import requests
from app_clients import new_client

from peerlab.sessions import cookie_header
from peerlab.sync import wait_until

CLIENTS = 7  # as many as servers: round robin gives each its own backend
REPLICATION_TIMEOUT_S = 10.0


def test_a_client_without_cookie_gets_the_applications_cookie_and_keeps_its_backend_on_lb2(
    settled, lb1, lb2, session_cookie, server_of, stick_table_len, figures
):
    clients = dict(new_client(lb1.url, session_cookie) for _ in range(CLIENTS))
    assert len(clients) == CLIENTS, f"{CLIENTS} clients got {len(clients)} distinct cookies"
    backends = set(clients.values())
    # Different backends, so that "the same backend through LB2" is not what
    # LB2's own round robin would give anyway.
    assert len(backends) >= 2, f"{CLIENTS} new clients all went to {backends}"
    # The table keeps the whole value (the lookups below use it as the key).
    length = max(map(len, clients))
    assert length <= stick_table_len, f"a {length}-character cookie, keys of {stick_table_len}"

    made = time.monotonic()

    def replicated() -> tuple[bool, str]:
        present = set(lb2.table_servers())
        return set(clients) <= present, f"{len(set(clients) & present)}/{CLIENTS} on {lb2.name}"

    wait_until(replicated, REPLICATION_TIMEOUT_S, f"the application's sessions on {lb2.name}")
    replicated_s = time.monotonic() - made
    for lb in (lb1, lb2):
        servers = lb.table_servers()
        wrong = {k: (servers.get(k), server_of[b]) for k, b in clients.items()
                 if servers.get(k) != server_of[b]}  # fmt: skip
        assert not wrong, f"{lb.name}: {len(wrong)}/{CLIENTS} entries not (key -> server): {wrong}"

    through_lb2 = {}
    for value in clients:
        response = requests.get(lb2.url, cookies={session_cookie: value}, timeout=5)
        response.raise_for_status()
        assert session_cookie not in response.cookies, "the application issued a second cookie"
        through_lb2[value] = response.text.strip()
    moved = {k: (clients[k], through_lb2[k]) for k in clients if through_lb2[k] != clients[k]}
    assert not moved, f"{len(moved)}/{CLIENTS} sessions answered elsewhere through LB2: {moved}"
    figures["application cookie"] = (
        f"{CLIENTS} clients without a cookie got {session_cookie} from {len(backends)} backends "
        f"via {lb1.name} (values of {min(map(len, clients))}-{length} characters), in "
        f"{lb2.name}'s table {replicated_s:.2f} s later, and the same backend via {lb2.name}"
    )


def test_a_client_that_brings_its_own_cookie_gets_none(settled, lb1, session_cookie):
    # The original demo's clients, and peerlab access: their answers are unchanged.
    response = requests.get(
        lb1.url, headers={"Cookie": cookie_header(7100, session_cookie)}, timeout=5
    )
    response.raise_for_status()
    assert response.text.startswith("Backend ")
    assert "Set-Cookie" not in response.headers, response.headers
