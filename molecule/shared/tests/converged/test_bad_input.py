"""Bad input changes nothing: it stops at validation, or before the file is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from host_files import file_checksums

from peerlab.access import backend_for
from peerlab.pki import Authority
from peerlab.playbook import changes_by_host
from peerlab.runtime import show_proc

SESSION = 6001


def lb_files(host) -> list[str]:
    """What the role writes on a load balancer: configuration and TLS material."""
    return [
        "/etc/haproxy/haproxy.cfg",
        "/etc/haproxy/peers-tls/ca.pem",
        f"/etc/haproxy/peers-tls/{host.backend.host}.pem",
    ]


def web_files(host) -> list[str]:
    return ["/etc/apache2/ports.conf", "/etc/apache2/sites-available/backends.conf"]


def assert_stopped_unchanged(result, hosts, messages: list[str]) -> None:
    """The play failed on every host with each of ``messages``, changing nothing."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for message in messages:
        assert message in output, output
    changes = changes_by_host(result.stdout)
    assert set(changes) == {host.backend.host for host in hosts}, output
    assert set(changes.values()) == {0}, changes


def assert_stopped_by_the_argument_spec(result, hosts, message: str) -> None:
    """The play failed at argument validation with ``message``, on every host, changing nothing."""
    # The validation task's own message, not its title (which names no argument).
    assert_stopped_unchanged(result, hosts, ["Validation of arguments failed", message])


def test_wrong_role_argument_stops_before_any_change(apply_role, lb_hosts, lab_servers):
    before = file_checksums(lb_hosts, lb_files)
    result = apply_role(
        "haproxy_peers",
        "loadbalancers",
        {"haproxy_peers_servers": lab_servers, "haproxy_peers_port": "not-a-port"},
    )
    assert_stopped_by_the_argument_spec(
        result,
        lb_hosts,
        "argument 'haproxy_peers_port' is of type str and we were unable to convert to int",
    )
    assert file_checksums(lb_hosts, lb_files) == before


def test_no_service_stops_the_play_naming_both_ways_to_give_one(apply_role, lb_hosts):
    before = file_checksums(lb_hosts, lb_files)
    # The lab's inventory gives a service of its own (api): none of it either.
    result = apply_role("haproxy_peers", "loadbalancers", {"haproxy_peers_services": []})
    assert_stopped_unchanged(
        result, lb_hosts, ["The load balancer has no service: set haproxy_peers_servers"]
    )
    assert file_checksums(lb_hosts, lb_files) == before


def bad_services(servers: list[dict]) -> tuple[list[dict], list[str]]:
    """Services with one fault each, and the message that must name each fault."""
    authority = Authority("bad services CA")
    issued, stranger = authority.issue("api.lab"), authority.issue("api.lab")
    now = datetime.now(UTC)
    expired = authority.issue(
        "old.lab", not_before=now - timedelta(days=9), not_after=now - timedelta(days=1)
    )

    def service(name: str, port: int, **fields) -> dict:
        return {"name": name, "binds": [{"address": f"*:{port}"}], "servers": servers, **fields}

    def https(name: str, port: int, cert, key, **fields) -> dict:
        tls = [{"address": f"*:{port}", "tls": True}]
        return service(name, port, binds=tls, tls_cert=cert, tls_key=key, **fields)

    services = [
        service("twice", 18001),
        service("twice", 18002),
        service("shared", 18001),
        https("nocert", 18003, None, None),
        https("mismatch", 18004, issued.cert, stranger.key),
        https("expired", 18005, expired.cert, expired.key),
        service("kind", 18006, stick={"kind": "ip"}),
        service("limit", 18007, rate_limit={"requests": 10}),
    ]
    messages = [
        "haproxy_peers_services names the service 'twice' more than once",
        "haproxy_peers_services[shared].binds has '*:18001', which service 'twice' binds already",
        "haproxy_peers_services[nocert].binds has an HTTPS bind (tls: true) but the service "
        "has no certificate and key",
        "haproxy_peers_services[mismatch].tls_key is not the key of the certificate in "
        "haproxy_peers_services[mismatch].tls_cert",
        "The certificate in haproxy_peers_services[expired].tls_cert (CN=old.lab) is valid from",
        "haproxy_peers_services[kind].stick.kind is 'ip', which is no stickiness kind",
        "haproxy_peers_services[limit].rate_limit has no period",
    ]
    return services, messages


def test_bad_services_stop_before_any_change_each_named_with_its_field(
    apply_role, lb_hosts, lab_servers
):
    services, messages = bad_services(lab_servers)
    before = file_checksums(lb_hosts, lb_files)
    result = apply_role(
        "haproxy_peers",
        "loadbalancers",
        {"haproxy_peers_servers": lab_servers, "haproxy_peers_services": services},
    )
    assert_stopped_unchanged(result, lb_hosts, messages)
    assert file_checksums(lb_hosts, lb_files) == before


def test_missing_vhost_field_stops_the_play_naming_it(apply_role, web_hosts):
    before = file_checksums(web_hosts, web_files)
    result = apply_role(
        "apache_backends", "web", {"apache_backends_vhosts": [{"name": "be1", "body": "B"}]}
    )
    assert_stopped_by_the_argument_spec(
        result, web_hosts, "missing required arguments: port found in apache_backends_vhosts"
    )
    assert file_checksums(web_hosts, web_files) == before


# Input that passes the role's checks but not `haproxy -c`: role variable ->
# (its value, the unknown keyword HAProxy's refusal names, quoted as HAProxy
# quotes it, which the input is not). HAProxy's check reports every unknown
# keyword of a file in one pass, so one role run (minutes on emulated VMs)
# shows that the server options and each place an extra line can go are in
# the checked file.
REJECTED_BY_HAPROXY = {
    "haproxy_peers_server_options": ("check no-such-server-keyword", "no-such-server-keyword"),
    "haproxy_peers_global_extra": (["no-such-global-line"], "no-such-global-line"),
    "haproxy_peers_defaults_extra": (["no-such-defaults-line"], "no-such-defaults-line"),
    "haproxy_peers_frontend_extra": (["no-such-frontend-line"], "no-such-frontend-line"),
    "haproxy_peers_backend_extra": (["no-such-backend-line"], "no-such-backend-line"),
    "haproxy_peers_extra_config": ("no-such-extra-config-line", "no-such-extra-config-line"),
}


def test_config_rejected_by_haproxy_is_not_written_and_haproxy_keeps_serving(
    apply_role, lb_hosts, lbs, lab_servers
):
    bad_input = {name: value for name, (value, _) in REJECTED_BY_HAPROXY.items()}
    # One session per load balancer, so that no replication race is involved.
    sessions = {lb.name: SESSION + index for index, lb in enumerate(lbs)}
    backends = {lb.name: backend_for(lb.url, sessions[lb.name]) for lb in lbs}
    processes = {lb.name: show_proc(lb.run) for lb in lbs}
    before = file_checksums(lb_hosts, lb_files)

    result = apply_role(
        "haproxy_peers", "loadbalancers", {"haproxy_peers_servers": lab_servers, **bad_input}
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0
    # The template module's refusal, with HAProxy's own reason for each variable.
    assert "failed to validate" in output, output
    unnamed = [
        name
        for name, (_, word) in REJECTED_BY_HAPROXY.items()
        if f"unknown keyword '{word}'" not in output
    ]
    assert not unnamed, f"HAProxy's refusal names nothing of {unnamed}: {output}"
    assert set(changes_by_host(result.stdout).values()) == {0}, output
    assert file_checksums(lb_hosts, lb_files) == before
    for lb in lbs:
        # Not reloaded, not restarted: the same processes answer, as before.
        assert show_proc(lb.run) == processes[lb.name]
        assert backend_for(lb.url, sessions[lb.name]) == backends[lb.name]


def another_ca(folder) -> dict:
    """A CA that signed none of the lab's certificates."""
    path = folder / "another-ca.crt"
    path.write_text(Authority("another CA").cert)
    return {"haproxy_peers_tls_ca_src": str(path)}


# Bad input -> (what the message must say, the variable it must name).
BAD_LB_INPUT = {
    "certificate without its key": (
        lambda folder: {"haproxy_peers_tls_key_src": ""},
        "is given for {host} but not its private key",
        "haproxy_peers_tls_key_src",
    ),
    "no CA": (
        lambda folder: {"haproxy_peers_tls_ca_src": ""},
        "No CA is given for {host}",
        "haproxy_peers_tls_ca_src",
    ),
    "CA file missing": (
        lambda folder: {"haproxy_peers_tls_ca_src": "/nonexistent/peers-ca.crt"},
        "is not a readable, non-empty file on the controller",
        "haproxy_peers_tls_ca_src is '/nonexistent/peers-ca.crt' for {host}",
    ),
    "certificate not signed by the CA": (
        another_ca,
        "is not signed by the CA in haproxy_peers_tls_ca_src",
        "the other members would refuse {host}",
    ),
    "handover hold bound that is no duration": (
        lambda folder: {"haproxy_peers_handover_hold_timeout": "soon"},
        "which is no duration",
        "haproxy_peers_handover_hold_timeout is",
    ),
    "handover hold bound longer than the client timeout": (
        lambda folder: {"haproxy_peers_handover_hold_timeout": "60s"},
        "longer than haproxy_peers_timeout_client",
        "haproxy_peers_handover_hold_timeout is",
    ),
    "statistics page without credentials": (
        lambda folder: {"haproxy_peers_stats_password": ""},
        "The statistics page of {host} needs credentials",
        "haproxy_peers_stats_anonymous: true",
    ),
}


@pytest.mark.parametrize("case", list(BAD_LB_INPUT))
def test_bad_tls_stats_or_hold_input_stops_before_any_change_naming_what_to_set(
    case, apply_role, lb_hosts, lab_servers, tmp_path
):
    make_vars, message, names = BAD_LB_INPUT[case]
    before = file_checksums(lb_hosts, lb_files)
    result = apply_role(
        "haproxy_peers",
        "loadbalancers",
        {"haproxy_peers_servers": lab_servers, **make_vars(tmp_path)},
    )
    expected = [text.format(host=h.backend.host) for h in lb_hosts for text in (message, names)]
    assert_stopped_unchanged(result, lb_hosts, expected)
    assert file_checksums(lb_hosts, lb_files) == before
