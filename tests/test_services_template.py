"""haproxy.cfg with several services, and the single service of today's variables.

An inventory written for the single service (haproxy_peers_servers and the
frontend, backend and stick table variables) renders what the role rendered
before it knew services: tests/data/single-service/ holds those files, written
by the role at collection 1.3.1 for the cases below.
"""

from pathlib import Path

import pytest
from role_template import render_haproxy_cfg, section

from peerlab.pki import Authority

SINGLE_SERVICE = Path(__file__).parent / "data" / "single-service"
PEERS = {"haproxy-1": "192.168.56.11", "haproxy-2": "192.168.56.12"}
SERVERS = [{"name": f"be{n}", "address": "192.168.56.10", "port": 8080 + n} for n in range(1, 8)]
LAB = {
    "haproxy_peers_servers": SERVERS,
    "haproxy_peers_stats_user": "admin",
    "haproxy_peers_stats_password": "peerlab-stats",
    "haproxy_peers_handover_hold_header": "X-Handover-Hold",
}
CASES = {
    "lab": {},
    "plain": {"haproxy_peers_tls": False},
    "hash": {
        "haproxy_peers_balance": "hash",
        "haproxy_peers_stick_cookie": "SID",
        "haproxy_peers_frontend_name": "web",
        "haproxy_peers_backend_name": "app",
        "haproxy_peers_frontend_bind": "10.0.0.1:8080",
    },
    "nohold": {"haproxy_peers_handover_hold": False, "haproxy_peers_stats_enabled": False},
    "extras": {
        "haproxy_peers_frontend_extra": ["http-request set-header X-A 1"],
        "haproxy_peers_backend_extra": ["http-response set-header X-B 2"],
        "haproxy_peers_global_extra": ["maxconn 100"],
        "haproxy_peers_extra_config": "listen x\n    bind :1\n",
        "haproxy_peers_stats_anonymous": True,
        "haproxy_peers_stick_table_len": 64,
    },
}


def render(host: str = "haproxy-1", **variables) -> str:
    """haproxy.cfg of ``host`` in the lab's inventory with ``variables`` (None: unset)."""
    given = {name: value for name, value in {**LAB, **variables}.items() if value is not None}
    return render_haproxy_cfg(host, PEERS, **given)


@pytest.mark.parametrize("host", list(PEERS))
@pytest.mark.parametrize("case", list(CASES))
def test_the_single_service_renders_what_it_rendered_before_services(case, host):
    expected = (SINGLE_SERVICE / f"{case}-{host}.cfg").read_text()
    # The Prometheus endpoint is new on the statistics listener (on by default);
    # the Lua action where the role installs it, not in this checkout.
    rendered = render(
        host,
        haproxy_peers_stats_prometheus=False,
        __haproxy_peers_hold_script="/etc/haproxy/haproxy_peers_hold.lua",
        **CASES[case],
    )
    assert rendered == expected


def test_the_prometheus_endpoint_asks_for_the_statistics_credentials():
    config = render()
    assert section(config, "userlist haproxy_peers_stats") == [
        "user admin insecure-password 'peerlab-stats'"
    ]
    assert section(config, "listen admin")[1:4] == [
        "# HAProxy's Prometheus exporter, behind the same credentials.",
        "http-request auth realm admin if { path /metrics } !{ http_auth(haproxy_peers_stats) }",
        "http-request use-service prometheus-exporter if { path /metrics }",
    ]


def test_an_anonymous_statistics_page_serves_its_metrics_to_anybody_too():
    config = render(haproxy_peers_stats_anonymous=True, haproxy_peers_stats_prometheus_path="/m")
    assert "userlist" not in config
    assert "http-request use-service prometheus-exporter if { path /m }" in config
    assert "http-request auth" not in config


API = {
    "name": "api",
    "binds": [{"address": "*:8081"}, {"address": "*:8443", "tls": True}],
    "redirect_to_https": True,
    "servers": [{"name": "api1", "address": "10.0.0.5", "port": 8080}],
    "stick": {"kind": "header", "header": "X-Client-Id", "len": 40},
    "rate_limit": {"requests": 100, "period": "10s"},
}
ADMIN = {
    "name": "admin-ui",
    "binds": [{"address": "10.0.0.1:8082"}],
    "balance": "hash",
    "servers": [{"name": "ui1", "address": "10.0.0.6", "port": 80}],
    "stick": {"kind": "source", "size": "10k", "expire": "1h"},
}


@pytest.fixture(scope="module")
def api_certificate():
    return Authority("services test CA").issue("api.example")


def services(api_certificate, **api):
    tls = {"tls_cert": api_certificate.cert, "tls_key": api_certificate.key}
    return [API | tls | api, ADMIN]


def test_each_service_has_its_frontend_and_backend_after_the_single_one(api_certificate):
    config = render(haproxy_peers_services=services(api_certificate))
    headers = [line for line in config.splitlines() if line.startswith(("frontend ", "backend "))]
    assert headers == [
        "frontend front-session",
        "backend back-session",
        "frontend front-api",
        "backend back-api",
        "frontend front-admin-ui",
        "backend back-admin-ui",
    ]


def test_without_the_single_service_only_the_listed_services_are_rendered(api_certificate):
    config = render(haproxy_peers_services=services(api_certificate), haproxy_peers_servers=None)
    headers = [line for line in config.splitlines() if line.startswith(("frontend ", "backend "))]
    assert headers == [
        "frontend front-api", "backend back-api", "frontend front-admin-ui", "backend back-admin-ui"
    ]  # fmt: skip


def test_an_https_service_binds_its_certificate_redirects_and_limits(api_certificate):
    config = render(haproxy_peers_services=services(api_certificate))
    frontend = section(config, "frontend front-api")
    assert frontend == [
        "bind *:8081",
        "bind *:8443 ssl crt /etc/haproxy/certs/api.pem",
        "# To the HTTPS port: the client's host name without its port, then ours.",
        "http-request redirect location https://%[req.hdr(host),regsub(:[0-9]+$,)]:8443"
        "%[capture.req.uri] code 301 unless { ssl_fc }",
        "# At most 100 requests per client address in 10s, counted in a",
        "# table the peers replicate (a member that takes over knows each count).",
        "http-request track-sc0 src table haproxy-peers/rl-api",
        "http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100 }",
        "default_backend back-api",
    ]


def test_the_rate_limit_table_is_declared_in_the_peers_section(api_certificate):
    for tls in (True, False):
        peers = section(
            render(haproxy_peers_services=services(api_certificate), haproxy_peers_tls=tls),
            "peers haproxy-peers",
        )
        assert peers[-1] == ("table rl-api type ip size 100k expire 10s store http_req_rate(10s)")


def test_a_service_on_443_redirects_by_scheme_alone(api_certificate):
    api = {"binds": [{"address": "*:80"}, {"address": "*:443", "tls": True}]}
    config = render(haproxy_peers_services=services(api_certificate, **api))
    frontend = section(config, "frontend front-api")
    assert "http-request redirect scheme https code 301 unless { ssl_fc }" in frontend


def test_a_header_service_sticks_on_the_header_and_holds_on_it(api_certificate):
    backend = section(render(haproxy_peers_services=services(api_certificate)), "backend back-api")
    assert "stick-table type string len 40 size 1m expire 30m peers haproxy-peers" in backend
    assert "stick on req.hdr(X-Client-Id)" in backend
    assert not [line for line in backend if line.startswith("stick store-response")]
    assert (
        "http-request set-var(txn.haproxy_peers_hold_key) req.hdr(X-Client-Id) "
        "if haproxy_peers_young"
    ) in backend
    assert any("lua.haproxy_peers_hold back-api " in line for line in backend)


def test_a_source_service_keeps_client_addresses_and_hashes_them(api_certificate):
    config = render(haproxy_peers_services=services(api_certificate))
    backend = section(config, "backend back-admin-ui")
    assert "stick-table type ip size 10k expire 1h peers haproxy-peers" in backend
    assert "stick on src" in backend
    assert "balance hash src" in backend
    assert "server ui1 10.0.0.6:80 check" in backend
