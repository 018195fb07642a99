"""SessionLoad against an HTTP server on loopback: it counts what clients see, within bounds."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from peerlab.load import SessionLoad
from peerlab.sync import wait_until


class Backends(BaseHTTPRequestHandler):
    """Answers "Backend 1", or "Backend 2" once ``moved`` is set; 503 once ``failing`` is."""

    moved = threading.Event()
    failing = threading.Event()

    def do_GET(self):
        if self.failing.is_set():
            self.send_response(503)
            self.end_headers()
            return
        body = b"Backend 2" if self.moved.is_set() else b"Backend 1"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def url():
    Backends.moved.clear()
    Backends.failing.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backends)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_a_steady_backend_gives_no_errors_and_no_moves(url):
    with SessionLoad([url], [1, 2, 3], max_requests=30) as load:
        wait_until(lambda: (load.report.requests >= 30, load.report.requests), 30, "30 requests")
    assert load.report.requests == 30
    assert load.report.errors == []
    assert load.report.moved == {}


def test_a_session_answered_by_another_backend_is_counted_once(url):
    with SessionLoad([url], [7], max_seconds=30) as load:
        wait_until(lambda: (load.report.requests >= 3, load.report.requests), 30, "3 requests")
        Backends.moved.set()
        before = load.report.requests
        wait_until(lambda: (load.report.requests >= before + 3, None), 30, "3 more")
    assert load.report.moved == {(url, 7): ("Backend 1", "Backend 2")}


def test_failed_requests_are_counted_by_session(url):
    Backends.failing.set()
    with SessionLoad([url], [4], max_requests=5) as load:
        wait_until(lambda: (load.report.requests >= 5, None), 30, "5 requests")
    assert len(load.report.errors) == 5
    assert load.report.errors[0] == f"{url} session 4: HTTPError"
