"""Bad input changes nothing: it stops at validation, or before the file is written."""

from __future__ import annotations

import re

import pytest

from peerlab.access import backend_for
from peerlab.pki import Authority
from peerlab.runtime import show_proc

SESSION = 6001


def recap_changes(output: str) -> dict[str, int]:
    """Host -> changed count from a PLAY RECAP."""
    pattern = r"^(\S+)\s+: ok=\d+\s+changed=(\d+)"
    return {m[1]: int(m[2]) for m in re.finditer(pattern, output, re.M)}


def checksums(hosts, path: str) -> list[str]:
    return [host.file(path).sha256sum for host in hosts]


def test_wrong_role_argument_stops_before_any_change(apply_role, lb_hosts, lab_servers):
    before = checksums(lb_hosts, "/etc/haproxy/haproxy.cfg")
    result = apply_role(
        "haproxy_peers",
        "loadbalancers",
        {"haproxy_peers_servers": lab_servers, "haproxy_peers_port": "not-a-port"},
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "haproxy_peers_port" in output
    assert "validating arguments against arg spec" in output.lower(), output
    changes = recap_changes(result.stdout)
    assert set(changes) == {host.backend.host for host in lb_hosts}
    assert set(changes.values()) == {0}
    assert checksums(lb_hosts, "/etc/haproxy/haproxy.cfg") == before


def test_missing_role_argument_stops_the_play_naming_it(apply_role, lb_hosts):
    result = apply_role("haproxy_peers", "loadbalancers", {})
    assert result.returncode != 0
    assert "haproxy_peers_servers" in result.stdout + result.stderr
    assert set(recap_changes(result.stdout).values()) == {0}


def test_missing_vhost_field_stops_the_play_naming_it(apply_role, web_hosts):
    before = checksums(web_hosts, "/etc/apache2/ports.conf")
    result = apply_role(
        "apache_backends", "web", {"apache_backends_vhosts": [{"name": "be1", "body": "B"}]}
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "apache_backends_vhosts" in output, output
    assert "port" in output, output
    assert set(recap_changes(result.stdout).values()) == {0}
    assert checksums(web_hosts, "/etc/apache2/ports.conf") == before


def test_config_rejected_by_haproxy_is_not_written_and_haproxy_keeps_serving(
    apply_role, lb_hosts, lbs, lab_servers
):
    # One session per load balancer, so that no replication race is involved.
    sessions = {lb.name: SESSION + index for index, lb in enumerate(lbs)}
    backends = {lb.name: backend_for(lb.url, sessions[lb.name]) for lb in lbs}
    processes = {lb.name: show_proc(lb.run) for lb in lbs}
    before = checksums(lb_hosts, "/etc/haproxy/haproxy.cfg")

    result = apply_role(
        "haproxy_peers",
        "loadbalancers",
        {"haproxy_peers_servers": lab_servers, "haproxy_peers_server_options": "check no-such-kw"},
    )

    assert result.returncode != 0
    assert "no-such-kw" in result.stdout + result.stderr
    assert checksums(lb_hosts, "/etc/haproxy/haproxy.cfg") == before
    for lb in lbs:
        # Not reloaded, not restarted: the same processes answer, as before.
        assert show_proc(lb.run) == processes[lb.name]
        assert backend_for(lb.url, sessions[lb.name]) == backends[lb.name]


def lb_files(host) -> list[str]:
    """What the role writes on a load balancer: configuration and TLS material."""
    return [
        "/etc/haproxy/haproxy.cfg",
        "/etc/haproxy/peers-tls/ca.pem",
        f"/etc/haproxy/peers-tls/{host.backend.host}.pem",
    ]


def file_checksums(hosts) -> list[str]:
    """One command per host: on emulated VMs each command costs seconds."""
    result = []
    for host in hosts:
        with host.sudo():
            result.append(host.check_output("sha256sum " + " ".join(lb_files(host))))
    return result


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
    "statistics page without credentials": (
        lambda folder: {"haproxy_peers_stats_password": ""},
        "The statistics page of {host} needs credentials",
        "haproxy_peers_stats_anonymous: true",
    ),
}


@pytest.mark.parametrize("case", list(BAD_LB_INPUT))
def test_bad_tls_or_stats_input_stops_before_any_change_naming_what_to_set(
    case, apply_role, lb_hosts, lab_servers, tmp_path
):
    make_vars, message, names = BAD_LB_INPUT[case]
    before = file_checksums(lb_hosts)
    result = apply_role(
        "haproxy_peers",
        "loadbalancers",
        {"haproxy_peers_servers": lab_servers, **make_vars(tmp_path)},
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for host in lb_hosts:
        name = host.backend.host
        assert message.format(host=name) in output, output
        assert names.format(host=name) in output, output
    changes = recap_changes(result.stdout)
    assert set(changes) == {host.backend.host for host in lb_hosts}, output
    assert set(changes.values()) == {0}, changes
    assert file_checksums(lb_hosts) == before
