"""TCP relays on this machine's loopback, to the lab's HTTP ports.

A browser keeps one cookie jar per host name, whatever the port: pages of
localhost:<a> and localhost:<b> share their cookies, as pages of one
floating address do. The relays put LB1, LB2 and the floating address
behind ports of localhost, so that one browser profile talks to all three
with one cookie, as a user behind the floating address would.
"""

from __future__ import annotations

import contextlib
import socket
import threading

CONNECT_TIMEOUT_S = 2.0
CHUNK = 65536


class Relay:
    """Accept on 127.0.0.1 (an ephemeral port) and relay each connection to
    ``host``:``port``; a connection that cannot reach it is closed at once."""

    def __init__(self, host: str, port: int = 80) -> None:
        self.target = (host, port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"http://localhost:{self.port}/"
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting and cut every relayed connection."""
        # On Linux, closing a socket does not wake a thread blocked in its
        # accept(); shutting it down does (accept fails), so the join below
        # returns at once instead of after its timeout.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock)
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            raise RuntimeError(f"the relay to {self.target} still accepts after it was closed")

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=CONNECT_TIMEOUT_S)
        except OSError:
            _close(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if self._server.fileno() == -1:
                _close(client, upstream)
                return
            self._open |= {client, upstream}
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        with self._lock:
            self._open -= {client, upstream}


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy until either side ends, then end both (HTTP needs no half-closed connections)."""
    try:
        while data := source.recv(CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source, sink)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        # Already closed by the other direction, or never connected.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
