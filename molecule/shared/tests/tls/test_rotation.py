"""Rotating the peers CA and certificates with reloads keeps every entry.

The order the role's README documents: (1) every member trusts the old and
the new CA, (2) every member gets its certificate from the new CA, (3) the
old CA is dropped. At each step the old worker hands its table to the new
one over TLS and the members stay connected; afterwards a certificate of the
old CA gets nobody in. Then the same three steps rotate back to the lab's
own CA and certificates (what the inventory gives), so that the stages after
this one find the lab as the inventory describes it.
"""

from __future__ import annotations

import ssl

from cryptography import x509
from strangers import attack

from peerlab.lab import PEERS_PORT, STICK_TABLE
from peerlab.pki import Authority
from peerlab.runtime import show_table


def presented_issuer(ip: str) -> str:
    pem = ssl.get_server_certificate((ip, PEERS_PORT), timeout=10)
    return x509.load_pem_x509_certificate(pem.encode()).issuer.rfc4514_string()


def assert_kept(lbs, lb_ips, tables, step: str, issuer: str) -> None:
    """Every member holds every entry it had, and presents a certificate of ``issuer``."""
    for lb in lbs:
        now = show_table(lb.run, STICK_TABLE).servers()
        kept = {key: now.get(key) for key in tables[lb.name]}
        assert kept == tables[lb.name], f"{step}: {lb.name} lost entries"
        assert presented_issuer(lb_ips[lb.name]) == issuer, step


def test_rotating_to_a_new_ca_in_three_reloads_keeps_every_entry(
    lbs, lb_ips, lab_pki, lab_entries, reconfigure, tmp_path
):
    lab_entries(7800)
    tables = {lb.name: show_table(lb.run, STICK_TABLE).servers() for lb in lbs}
    assert len(tables[lbs[0].name]) >= 5
    old_ca = (lab_pki / "ca.crt").read_text()
    old_issuer = x509.load_pem_x509_certificate(old_ca.encode()).subject.rfc4514_string()
    new = Authority("haproxy-peers-lab CA 2")
    for lb in lbs:
        new.issue(lb.name).write(tmp_path, lb.name)
    (tmp_path / "both.crt").write_text(old_ca + new.cert)
    (tmp_path / "new.crt").write_text(new.cert)
    new_certificates = {
        "haproxy_peers_tls_cert_src": str(tmp_path / "{{ inventory_hostname }}.crt"),
        "haproxy_peers_tls_key_src": str(tmp_path / "{{ inventory_hostname }}.key"),
    }
    steps = [
        ("trust both CAs", {"haproxy_peers_tls_ca_src": str(tmp_path / "both.crt")}, old_issuer),
        (
            "certificates from the new CA",
            {"haproxy_peers_tls_ca_src": str(tmp_path / "both.crt"), **new_certificates},
            f"CN={new.name}",
        ),
        (
            "drop the old CA",
            {"haproxy_peers_tls_ca_src": str(tmp_path / "new.crt"), **new_certificates},
            f"CN={new.name}",
        ),
    ]
    # Back to the inventory's own material, the same way round: trust both,
    # the lab's certificates, the new CA dropped (the inventory's own CA file).
    both = {"haproxy_peers_tls_ca_src": str(tmp_path / "both.crt")}
    back = [("back: trust both CAs", steps[1][1]), ("back: the lab's certificates", both)]
    back.append(("back: the lab's CA alone", {}))

    def old_certificate(name: str) -> str:
        pem = tmp_path / f"old-{name}.pem"
        pem.write_text(
            (lab_pki / f"{name}.crt").read_text() + (lab_pki / f"{name}.key").read_text()
        )
        return f"    default-server ssl verify none crt {pem}"

    try:
        for step, extra_vars, issuer in steps:
            reconfigure(**extra_vars)
            assert_kept(lbs, lb_ips, tables, step, issuer)
        for result in attack(lbs, lb_ips, tmp_path, old_certificate, 7900, set()):
            assert result.last_status == "HSHK", f"old CA's certificate: {result}"
            assert result.learned == frozenset(), str(result)
            assert result.honoured_by == (), str(result)
    finally:
        for _, extra_vars in back:
            reconfigure(**extra_vars)
    assert_kept(lbs, lb_ips, tables, back[-1][0], old_issuer)
