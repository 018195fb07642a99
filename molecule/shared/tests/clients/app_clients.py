"""Clients of the lab's application, and what the tests ask of the load balancers around them."""

from __future__ import annotations

import requests

from peerlab.failover import holders
from peerlab.lab import LoadBalancer
from peerlab.runtime import show_servers

REQUEST_TIMEOUT_S = 5.0


def new_client(url: str, cookie: str) -> tuple[str, str]:
    """A client that arrives without a cookie: (the cookie's value the answer set,
    the backend that answered)."""
    response = requests.get(url, timeout=REQUEST_TIMEOUT_S)
    response.raise_for_status()
    value = response.cookies.get(cookie)
    assert value, f"{url}: no {cookie} from the application: {response.headers}"
    return value, response.text.strip()


def holder(lbs: list[LoadBalancer], address: str) -> LoadBalancer:
    """The one load balancer holding ``address`` now."""
    now = holders(lbs, address)
    assert len(now) == 1, f"{address} held by {[lb.name for lb in now]}"
    return now[0]


def steer_round_robin_away(
    lb: LoadBalancer, server: str, cookie: str, server_of: dict[str, str]
) -> str:
    """Make ``lb``'s round robin point at another server than ``server``; return it.

    Clients without a cookie take the round robin's next server, one after
    the other in the backend's order; this sends such clients until the
    server after the last one taken is not ``server``. The next session
    that ``lb`` does not know then goes to the server returned, which a
    test can tell apart from ``server``.
    """
    order = [row.name for row in show_servers(lb.run, lb.names.table)]
    for _ in range(len(order) + 1):
        _, answer = new_client(lb.url, cookie)
        taken = server_of[answer]
        following = order[(order.index(taken) + 1) % len(order)]
        if following != server:
            return following
    raise AssertionError(f"{lb.name}: the round robin keeps pointing at {server}")
