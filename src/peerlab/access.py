"""Send session requests through a load balancer and report who answered."""

from __future__ import annotations

import requests

from peerlab.sessions import cookie_header

REQUEST_TIMEOUT_S = 5.0


def backend_for(url: str, number: int, timeout: float = REQUEST_TIMEOUT_S) -> str:
    """Request ``url`` as session ``number``; return the backend's answer.

    The lab's backends answer with their own name ("Backend 3"), so the
    stripped body says which server HAProxy chose for the session.
    """
    response = requests.get(url, headers={"Cookie": cookie_header(number)}, timeout=timeout)
    response.raise_for_status()
    return response.text.strip()


def backends_for(url: str, numbers: range | list[int]) -> dict[int, str]:
    """``backend_for`` for several sessions, in order."""
    return {number: backend_for(url, number) for number in numbers}
