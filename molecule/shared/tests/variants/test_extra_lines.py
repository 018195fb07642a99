"""A variant of the role's settings, applied once to both members, and what each changes.

- The role's escape hatch: an extra line the operator adds is rendered,
  checked and applied like the rest.
- `haproxy_peers_balance: hash`: a new session gets the same server from
  every member, on its own, without the table (what spares a partition's
  two sides a split and a new worker still learning the table a move).

One role run applies both and one puts the inventory's settings back (each
costs a reload of both members), so the files after this one find the lab as
the inventory describes it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from peerlab.runtime import socket_command
from peerlab.sessions import cookie_header, session_id

HEADER = "X-Peerlab-Extra"
# Sessions no other test makes: each is new to both members when it is sent.
HASHED = range(8700, 8720)


@pytest.fixture(scope="module")
def variant(reconfigure, lbs) -> Iterator[None]:
    reconfigure(
        haproxy_peers_frontend_extra=[f"http-response set-header {HEADER} applied"],
        haproxy_peers_balance="hash",
    )
    try:
        yield
    finally:
        reconfigure()
    # The inventory's settings are back: the extra line is gone.
    for lb in lbs:
        response = requests.get(lb.url, headers={"Cookie": cookie_header(8100)}, timeout=10)
        assert HEADER not in response.headers, lb.name


def test_an_extra_frontend_line_is_rendered_checked_and_applied(lbs, variant):
    for lb in lbs:
        response = requests.get(lb.url, headers={"Cookie": cookie_header(8100)}, timeout=10)
        assert response.headers.get(HEADER) == "applied", (lb.name, dict(response.headers))


def test_with_hash_each_member_picks_the_same_server_for_a_new_session(lb1, lb2, variant):
    via_lb1, via_lb2 = {}, {}
    for number in HASHED:
        (via_lb1[number],) = lb1.backends_for([number]).values()
        # Forgotten by both members: LB2 balances the session as if new.
        for lb in (lb1, lb2):
            lb.run(socket_command(f"clear table {lb.names.table} key {session_id(number)}"))
        (via_lb2[number],) = lb2.backends_for([number]).values()
    assert via_lb2 == via_lb1
    # A hash, not a constant: the sessions spread over the servers.
    assert len(set(via_lb1.values())) >= 3, via_lb1
