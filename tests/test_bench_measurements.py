"""The measurement side of the benchmark: what runs no lab (configuration edits, wrk's
output, the paced load on a loopback server, the extra members' inventory)."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from bench_documents import tiny
from role_template import render_haproxy_cfg

from peerlab.bench import members, throughput
from peerlab.bench.loadgen import PacedLoad
from peerlab.bench.results import validate
from peerlab.channels import project_tool
from peerlab.load import LoadError

PEERS = {"haproxy-1": "192.168.56.11", "haproxy-2": "192.168.56.12"}
SERVERS = [{"name": "be1", "address": "192.168.56.10", "port": 8081}]
# What wrk 4.1 printed with the bench's script against the lab.
WRK_OUTPUT = """\
Running 5s test @ http://192.168.56.11:80/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.63ms    6.88ms  80.88ms   91.37%
    Req/Sec     5.36k     1.94k    9.84k    64.00%
  53430 requests in 5.04s, 12.03MB read
  Socket errors: connect 0, read 31, write 0, timeout 0
Requests/sec:  10602.59
Transfer/sec:      2.39MB
peerlab-wrk {"requests": 53430, "duration_us": 5039334, "errors": 31, "status_errors": 0, \
"latency_us": {"p50": 2419, "p90": 10304, "p99": 37092, "max": 80883}}
"""


@pytest.mark.parametrize("tls", [True, False])
def test_without_peers_removes_the_section_and_the_tables_reference_only(tls, tmp_path):
    config = render_haproxy_cfg(
        "haproxy-1",
        PEERS,
        haproxy_peers_tls=tls,
        haproxy_peers_servers=SERVERS,
        haproxy_peers_stats_user="admin",
        haproxy_peers_stats_password="secret",
        haproxy_peers_tls_dir=str(tmp_path),
    )
    stripped = throughput.without_peers(config, "haproxy-peers")
    assert "peers haproxy-peers" in config
    assert " peers haproxy-peers" in config
    assert "haproxy-peers" not in stripped.replace("# Load balancer", "")
    assert "server haproxy-2" not in stripped
    assert "peer haproxy-2" not in stripped
    lines = config.splitlines()
    section = lines[lines.index("peers haproxy-peers") : lines.index("frontend front-session")]
    dropped = [line for line in lines if line not in stripped.splitlines()]
    assert [line for line in dropped if line not in section and "stick-table" not in line] == []
    assert "stick-table type string len 32 size 1m expire 30m\n" in stripped
    # HAProxy itself accepts the result (no TLS files needed any more).
    (tmp_path / "haproxy.cfg").write_text(stripped.replace("chroot /var/lib/haproxy\n", ""))
    check = subprocess.run(
        ["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_wrk_results_are_read_from_the_scripts_line():
    figures = throughput.parse_wrk(WRK_OUTPUT)
    assert figures["requests"] == 53430
    assert figures["latency_us"]["p99"] == 37092
    with pytest.raises(throughput.ThroughputError, match="no result line"):
        throughput.parse_wrk("Running 5s test\nunable to connect\n")


class Backends(http.server.BaseHTTPRequestHandler):
    """Answers like the lab's backends; session 'moving' changes server after 3 requests,
    and every 5th answer closes the kept-alive connection."""

    protocol_version = "HTTP/1.1"
    served: ClassVar[dict[str, int]] = {}
    lock = threading.Lock()

    def do_GET(self) -> None:
        key = self.headers.get("Cookie", "").partition("=")[2]
        with self.lock:
            count = self.served[key] = self.served.get(key, 0) + 1
            total = sum(self.served.values())
        body = f"Backend {2 if key == 'moving' and count > 3 else 1}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if key == "steady-a" and count == 1:
            # What HAProxy's handover hold says of a request it held.
            self.send_header("X-Handover-Hold", "7 learnt")
        if total % 5 == 0:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def backends() -> Iterator[tuple[str, int]]:
    Backends.served = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Backends)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address
    server.shutdown()
    server.server_close()


def test_the_paced_load_records_every_request_and_the_sessions_that_moved(backends):
    keys = ["steady-a", "steady-b", "moving"]
    with PacedLoad(
        backends, "JSESSIONID", keys, rate=500, workers=3, max_requests=30,
        hold_header="X-Handover-Hold",
    ) as load:  # fmt: skip
        assert load.wait_bound(timeout=30)
    record = load.stop()
    (held,) = record.held_requests()
    assert held[1:] == [7, "learnt"]
    first = min(t for t, key in zip(record.t_s, record.sessions, strict=True) if key == "steady-a")
    assert held[0] == round(first, 4)
    assert len(record.t_s) == 30
    sent = record.to_dict()["t_s"]
    assert sent == sorted(sent)
    assert sum(record.ok) == 30
    assert record.moved_sessions() == {"moving"}
    assert sum(record.moved) == Backends.served["moving"] - 3
    moves = record.moves()
    assert [(key, answer, held) for _, key, answer, held in moves] == [
        ("moving", "Backend 2", "")
    ] * len(moves)
    assert [t for t, *_ in moves] == sorted(t for t, *_ in moves)
    assert sum(Backends.served.values()) == 30, "a closed connection is reopened, not retried"


def test_a_reload_run_of_the_paced_load_is_a_valid_results_document(backends):
    with PacedLoad(
        backends, "JSESSIONID", ["steady-a", "steady-b"], rate=500, workers=2, max_requests=10,
        hold_header="X-Handover-Hold",
    ) as load:  # fmt: skip
        assert load.wait_bound(timeout=30)
    record = load.stop()
    run = {
        "balance": "roundrobin", "target_rps": 500, "sessions": 2, "hold": True,
        "reloads": [{"at_s": 0.01, "took_s": 0.01, "unknown": {"ms": 1.0, "held": ""}}],
        "phases": {"before": [0.0, 0.01], "during": [0.01, 0.02], "after": [0.02, 0.05]},
        "requests": record.to_dict(), "held": record.held_requests(), "failed": 0,
        "retried": record.retried, "moved_sessions": 0, "entries_before": 2, "entries_after": 2,
    }  # fmt: skip
    validate(tiny({"reload_under_load": [run]}))


def test_a_paced_load_without_sessions_or_rate_is_refused():
    with pytest.raises(ValueError, match="positive rate"):
        PacedLoad(("127.0.0.1", 9), "JSESSIONID", [], rate=100)
    with pytest.raises(ValueError, match="positive rate"):
        PacedLoad(("127.0.0.1", 9), "JSESSIONID", ["a"], rate=0)


def test_failed_requests_are_recorded_as_such():
    # Nothing listens on the discard port of loopback here.
    with PacedLoad(("127.0.0.1", 9), "JSESSIONID", ["a"], rate=100, max_requests=3) as load:
        assert load.wait_bound(timeout=30)
    record = load.stop()
    assert record.ok == [0, 0, 0]
    assert record.moved == [0, 0, 0]
    assert load.stopped_at == "request bound"


def test_a_paced_load_says_which_bound_stopped_it_and_none_when_asked():
    with PacedLoad(("127.0.0.1", 9), "JSESSIONID", ["a"], rate=100, max_seconds=0.05) as load:
        assert load.wait_bound(timeout=30)
    assert load.stopped_at == "time bound"
    with PacedLoad(("127.0.0.1", 9), "JSESSIONID", ["a"], rate=100) as load:
        pass
    assert load.stopped_at == ""


def test_a_failed_load_worker_makes_stop_raise(monkeypatch):
    def broken(self, connection, key):
        raise KeyError("a bug in the worker")

    monkeypatch.setattr(PacedLoad, "_request", broken)
    load = PacedLoad(("127.0.0.1", 9), "JSESSIONID", ["a", "b"], rate=100, workers=2)
    with pytest.raises(LoadError, match=r"2 of 2 load workers failed .*a bug in the worker"), load:
        load.wait_bound(timeout=30)


def test_extra_members_follow_the_last_address():
    assert members.extra_addresses("192.168.56.12", 3) == [
        "192.168.56.13",
        "192.168.56.14",
        "192.168.56.15",
    ]


def test_the_members_inventory_is_the_labs_plus_the_extra_load_balancers(tmp_path):
    inventory = members.write_inventory(tmp_path, {"haproxy-3": "192.168.56.13"})
    listing = json.loads(
        subprocess.run(
            [project_tool("ansible-inventory"), "-i", str(inventory), "--list"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert listing["loadbalancers"]["hosts"] == ["haproxy-1", "haproxy-2", "haproxy-3"]
    assert listing["web"]["hosts"] == ["web"]
    extra = listing["_meta"]["hostvars"]["haproxy-3"]
    assert extra["private_ip"] == "192.168.56.13"
    assert Path(extra["lab_pki_dir"]) == members.ROOT / "inventory" / "lab-pki"
    assert extra["haproxy_peers_stats_user"] == "admin"
