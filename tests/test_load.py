"""SessionLoad against an HTTP server on loopback: it counts what clients see, within bounds."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise

import pytest

from peerlab import load as load_module
from peerlab.load import STOPPED_WHEN_ASKED, LoadError, SessionLoad
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
    with SessionLoad([url], [1, 2, 3]) as load:
        wait_until(lambda: (load.report.requests >= 30, load.report.requests), 30, "30 requests")
    assert load.report.requests >= 30
    assert load.report.answered == load.report.requests
    assert load.report.errors == []
    assert load.report.moved == {}
    assert load.report.stopped_by == STOPPED_WHEN_ASKED


def test_a_load_that_reaches_its_request_bound_before_it_is_stopped_fails_loudly(url):
    load = SessionLoad([url], [1, 2, 3], max_requests=30)
    with pytest.raises(LoadError, match=r"stopped at its request bound .*30 requests"), load:
        wait_until(lambda: (not load.running, load.report.requests), 30, "the request bound")
    assert load.report.requests == 30


def test_a_load_that_sent_nothing_fails_loudly(url):
    # Its time bound passed before the first request.
    with pytest.raises(LoadError, match="sent no request"), SessionLoad([url], [1], max_seconds=0):
        pass


def test_a_load_whose_thread_failed_fails_loudly(url, monkeypatch):
    def broken(*args):
        raise KeyError("a bug in the client")

    monkeypatch.setattr(load_module, "backend_for", broken)
    load = SessionLoad([url], [1])
    with (
        pytest.raises(LoadError, match=r"the load failed after 1 requests.*a bug in the client"),
        load,
    ):
        wait_until(lambda: (not load.running, None), 30, "the thread to end")


def test_a_load_needs_urls_and_sessions(url):
    with pytest.raises(ValueError, match="needs URLs and sessions"):
        SessionLoad([url], [])


def test_a_session_answered_by_another_backend_is_counted_once(url):
    with SessionLoad([url], [7], max_seconds=30) as load:
        wait_until(lambda: (load.report.requests >= 3, load.report.requests), 30, "3 requests")
        Backends.moved.set()
        before = load.report.requests
        wait_until(lambda: (load.report.requests >= before + 3, None), 30, "3 more")
    assert load.report.moved == {(url, 7): ("Backend 1", "Backend 2")}


def test_failed_requests_are_counted_by_session(url):
    Backends.failing.set()
    with SessionLoad([url], [4]) as load:
        wait_until(lambda: (load.report.requests >= 5, None), 30, "5 requests")
    assert len(load.report.errors) == load.report.requests >= 5
    assert load.report.errors[0] == f"{url} session 4: HTTPError"


def test_each_failed_request_is_timed_from_sent_to_failed(url):
    Backends.failing.set()
    with SessionLoad([url], [4], interval=0.05) as load:
        wait_until(lambda: (len(load.report.failures) >= 3, None), 30, "3 failed requests")
    failures = load.report.failures
    assert len(failures) == load.report.requests == len(load.report.errors) >= 3
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
        with SessionLoad([quiet], [1], request_timeout=0.3) as load:
            wait_until(lambda: (load.report.failures, None), 30, "1 failed request")
    sent, failed = load.report.failures[0]
    assert 0.3 <= failed - sent < 3.0
    assert load.report.errors[0] == f"{quiet} session 1: ReadTimeout"
