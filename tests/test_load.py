"""SessionLoad against an HTTP server on loopback: it counts what clients see, within bounds."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise

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


def test_each_failed_request_is_timed_from_sent_to_failed(url):
    Backends.failing.set()
    with SessionLoad([url], [4], max_requests=3, interval=0.05) as load:
        wait_until(lambda: (load.report.requests >= 3, None), 30, "3 requests")
    failures = load.report.failures
    assert len(failures) == 3 == len(load.report.errors)
    assert load.report.answered == 0
    assert all(sent <= failed for sent, failed in failures)
    # Paced: each request is sent at least one interval after the previous failed.
    assert all(later[0] - earlier[1] >= 0.05 for earlier, later in pairwise(failures))


def test_a_request_that_gets_no_answer_fails_after_the_request_timeout():
    # A listening socket that never accepts: the request waits for its answer.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        quiet = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with SessionLoad([quiet], [1], max_requests=1, request_timeout=0.3) as load:
            wait_until(lambda: (load.report.requests >= 1 and load.report.failures, None), 30, "1")
    ((sent, failed),) = load.report.failures
    assert 0.3 <= failed - sent < 3.0
    assert load.report.errors == [f"{quiet} session 1: ReadTimeout"]
