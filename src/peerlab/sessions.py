"""Session cookies as the original demo's access scripts built them.

The demo sent ``Cookie: c1=1; c2=2; JSESSIONID=<md5 of "_N">`` for session
number N: a 32-character hex key that fits the stick table (``len 32``), and
two unrelated cookies around it, so that HAProxy must pick the right one.
"""

from __future__ import annotations

import hashlib

from peerlab.checkout import role_defaults

# haproxy_peers' session cookie (the original demo's JSESSIONID) unless an
# inventory names another one (peerlab.lab.Names).
SESSION_COOKIE = role_defaults("haproxy_peers")["haproxy_peers_stick_cookie"]


def session_id(number: int) -> str:
    """The JSESSIONID value of session ``number``: md5("_" + number) in hex."""
    return hashlib.md5(f"_{number}".encode(), usedforsecurity=False).hexdigest()


def cookie_header(number: int, cookie: str = SESSION_COOKIE) -> str:
    """The full Cookie header the demo sends for session ``number``."""
    return f"c1=1; c2=2; {cookie}={session_id(number)}"
