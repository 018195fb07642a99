"""The role's escape hatch: extra lines the operator adds, checked and applied like the rest."""

from __future__ import annotations

import requests

from peerlab.sessions import cookie_header

HEADER = "X-Peerlab-Extra"


def test_an_extra_frontend_line_is_rendered_checked_and_applied(lbs, reconfigure):
    reconfigure(haproxy_peers_frontend_extra=[f"http-response set-header {HEADER} applied"])
    try:
        for lb in lbs:
            response = requests.get(lb.url, headers={"Cookie": cookie_header(8100)}, timeout=10)
            assert response.headers.get(HEADER) == "applied", (lb.name, dict(response.headers))
    finally:
        reconfigure()
    for lb in lbs:
        response = requests.get(lb.url, headers={"Cookie": cookie_header(8100)}, timeout=10)
        assert HEADER not in response.headers, lb.name
