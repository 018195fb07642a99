"""Send session requests through a load balancer and report who answered."""

from __future__ import annotations

from collections.abc import Sequence

import requests

from peerlab.sessions import SESSION_COOKIE, cookie_header

REQUEST_TIMEOUT_S = 5.0


def backend_for(
    url: str, number: int, cookie: str = SESSION_COOKIE, timeout: float = REQUEST_TIMEOUT_S
) -> str:
    """Request ``url`` as session ``number`` (its id in cookie ``cookie``); return the
    backend's answer.

    The lab's backends answer with their own name ("Backend 3"), so the
    stripped body says which server HAProxy chose for the session.
    """
    response = requests.get(url, headers={"Cookie": cookie_header(number, cookie)}, timeout=timeout)
    response.raise_for_status()
    return response.text.strip()


def backends_for(url: str, numbers: Sequence[int], cookie: str = SESSION_COOKIE) -> dict[int, str]:
    """``backend_for`` for several sessions, in order."""
    return {number: backend_for(url, number, cookie) for number in numbers}
