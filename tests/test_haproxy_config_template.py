"""The haproxy.cfg template, rendered the way Ansible renders it for each host."""

import pytest
from role_template import render_haproxy_cfg, section

PEERS = {"haproxy-1": "192.168.56.11", "haproxy-2": "192.168.56.12"}
SERVERS = [{"name": f"be{n}", "address": "192.168.56.10", "port": 8080 + n} for n in range(1, 8)]


def render(host: str, **overrides) -> str:
    variables = {
        "haproxy_peers_servers": SERVERS,
        "haproxy_peers_stats_user": "admin",
        "haproxy_peers_stats_password": "s3cret:with colon",
        **overrides,
    }
    return render_haproxy_cfg(host, PEERS, **variables)


@pytest.mark.parametrize("host", list(PEERS))
def test_localpeer_names_this_host_before_the_peers_section(host):
    config = render(host)
    assert f"    localpeer {host}" in config
    assert config.index("localpeer") < config.index("peers haproxy-peers")


def test_tls_peers_bind_this_member_and_verify_every_peer_both_ways():
    pem, ca = "/etc/haproxy/peers-tls/haproxy-1.pem", "/etc/haproxy/peers-tls/ca.pem"
    assert section(render("haproxy-1"), "peers haproxy-peers") == [
        f"bind 192.168.56.11:10000 ssl crt {pem} ca-file {ca} verify required",
        f"default-server ssl crt {pem} ca-file {ca} verify required",
        "server haproxy-1",
        "server haproxy-2 192.168.56.12:10000 verifyhost haproxy-2",
    ]


def test_tls_peers_name_this_member_as_the_local_server_on_each_member():
    for host, other in (("haproxy-1", "haproxy-2"), ("haproxy-2", "haproxy-1")):
        lines = section(render(host), "peers haproxy-peers")
        assert f"server {host}" in lines
        assert f"server {other} {PEERS[other]}:10000 verifyhost {other}" in lines
        assert lines[0].startswith(f"bind {PEERS[host]}:10000 ssl crt ")
        assert not [line for line in lines if line.startswith("peer ")]


def test_plain_peers_section_is_identical_on_every_member():
    sections = {
        host: section(render(host, haproxy_peers_tls=False), "peers haproxy-peers")
        for host in PEERS
    }
    assert sections["haproxy-1"] == sections["haproxy-2"]
    assert sections["haproxy-1"] == [
        "peer haproxy-1 192.168.56.11:10000",
        "peer haproxy-2 192.168.56.12:10000",
    ]


def test_peer_address_falls_back_to_ansible_host():
    config = render(
        "haproxy-1",
        haproxy_peers_tls=False,
        hostvars={"haproxy-1": {"ansible_host": "10.0.0.1"}, "haproxy-2": {}},
    )
    assert section(config, "peers haproxy-peers") == [
        "peer haproxy-1 10.0.0.1:10000",
        "peer haproxy-2 haproxy-2:10000",
    ]


def test_backend_sticks_on_the_session_cookie_in_a_replicated_table():
    backend = section(render("haproxy-1"), "backend back-session")
    assert "balance roundrobin" in backend
    assert "stick-table type string len 32 size 1m expire 30m peers haproxy-peers" in backend
    assert "stick on req.cook(JSESSIONID)" in backend
    assert "stick store-response res.cook(JSESSIONID)" in backend
    assert {"option httpchk", "option redispatch"} <= set(backend)
    servers = [line for line in backend if line.startswith("server ")]
    assert servers == [f"server be{n} 192.168.56.10:{8080 + n} check" for n in range(1, 8)]


def test_runtime_api_and_stats_page_behind_basic_auth():
    config = render("haproxy-1")
    assert "stats socket /run/haproxy/admin.sock mode 660 level admin" in config
    stats = section(config, "listen admin")
    assert {"bind *:8404", "stats uri /monitor"} <= set(stats)
    # Single quotes: HAProxy takes everything inside them as it is.
    assert "stats auth 'admin:s3cret:with colon'" in stats


def test_anonymous_stats_page_only_when_asked_and_none_when_disabled():
    anonymous = section(render("haproxy-1", haproxy_peers_stats_anonymous=True), "listen admin")
    assert "stats uri /monitor" in anonymous
    assert not [line for line in anonymous if line.startswith("stats auth")]
    assert "listen admin" not in render("haproxy-1", haproxy_peers_stats_enabled=False)


def test_frontend_sends_everything_to_the_sticky_backend():
    frontend = section(render("haproxy-1"), "frontend front-session")
    assert frontend == ["bind *:80", "default_backend back-session"]


def test_extra_lines_land_in_their_sections_and_extra_config_at_the_end():
    config = render(
        "haproxy-1",
        haproxy_peers_global_extra=["tune.bufsize 32768"],
        haproxy_peers_defaults_extra=["option forwardfor"],
        haproxy_peers_frontend_extra=["http-response set-header X-Served-By haproxy-1"],
        haproxy_peers_backend_extra=["http-request set-header X-Sticky yes"],
        haproxy_peers_extra_config="frontend health\n    bind :8405\n    monitor-uri /up",
    )
    assert "tune.bufsize 32768" in section(config, "global")
    assert "option forwardfor" in section(config, "defaults")
    frontend = section(config, "frontend front-session")
    assert frontend[-1] == "http-response set-header X-Served-By haproxy-1"
    assert section(config, "backend back-session")[-1] == "http-request set-header X-Sticky yes"
    assert config.rstrip().endswith("frontend health\n    bind :8405\n    monitor-uri /up")


def test_no_extra_configuration_by_default():
    assert "haproxy_peers_extra_config" not in render("haproxy-1")


def test_the_handover_hold_is_on_by_default_with_its_bound_and_window_in_ms():
    config = render("haproxy-1", __haproxy_peers_hold_script="/etc/haproxy/hold.lua")
    assert "lua-load /etc/haproxy/hold.lua" in section(config, "global")
    hold_until = "set-var proc.haproxy_peers_hold_until date(0,ms),add(10000)"
    assert hold_until in section(config, "global")
    backend = section(config, "backend back-session")
    hold = [line for line in backend if "haproxy_peers_hold " in line]
    assert hold == [
        "http-request lua.haproxy_peers_hold back-session 5000 if haproxy_peers_young "
        "{ var(txn.haproxy_peers_hold_key) -m len 1: } "
        "!{ var(txn.haproxy_peers_hold_key),in_table(back-session) }"
    ]
    # Before the stick rules read the table, and keyed on the stick cookie.
    assert backend.index(hold[0]) < backend.index("stick on req.cook(JSESSIONID)")
    key = "set-var(txn.haproxy_peers_hold_key) req.cook(JSESSIONID) if haproxy_peers_young"
    assert f"http-request {key}" in backend
    assert not [line for line in backend if line.startswith("http-response")]


def test_the_hold_follows_its_variables_and_goes_entirely_when_turned_off():
    config = render(
        "haproxy-1",
        haproxy_peers_handover_hold_timeout="250ms",
        haproxy_peers_handover_hold_window="3s",
        haproxy_peers_handover_hold_header="X-Hold",
        haproxy_peers_stick_cookie="SID",
    )
    assert "add(3000)" in config
    assert "back-session 250 if" in config
    assert "req.cook(SID) if haproxy_peers_young" in config
    assert (
        "http-response set-header X-Hold %[var(txn.haproxy_peers_held)] "
        "if { var(txn.haproxy_peers_held) -m found }" in section(config, "backend back-session")
    )
    off = render("haproxy-1", haproxy_peers_handover_hold=False)
    assert "lua" not in off
    assert "haproxy_peers_hold" not in off


def test_lua_boolean_conversion_is_named_before_lua_load_where_haproxy_asks_for_it():
    # HAProxy 3.1 and newer warn without it; 2.6 and 3.0 do not know the keyword.
    config = section(render("haproxy-1", __haproxy_peers_lua_bool_conversion=True), "global")
    tunable = "tune.lua.bool-sample-conversion normal"
    lua_load = next(i for i, line in enumerate(config) if line.startswith("lua-load"))
    assert config.index(tunable) < lua_load
    assert tunable not in render("haproxy-1", __haproxy_peers_lua_bool_conversion=False)
