"""Rotating the peers CA and certificates with reloads keeps every entry.

The order the role's README documents: (1) every member trusts the old and
the new CA, (2) every member gets its certificate from the new CA, (3) the
old CA is dropped. At each step the old worker hands its table to the new
one over TLS and the members stay connected; afterwards a certificate of the
old CA gets nobody in.

The new CA and certificates are made as the lab makes its own
(playbooks/lab_pki.yml, in a folder of the test's), and once the rotation is
done they take the place of the lab's, in the files the inventory names, as
an operator finishing a rotation would: the stages after this one find the
lab as the inventory describes it (the lab's own playbook, run again, finds
the new material valid and changes nothing); the role then installs the
HTTPS service's new certificate.
"""

from __future__ import annotations

import shutil
import ssl

import requests
from cryptography import x509
from strangers import attack

from peerlab.lab import PEERS_PORT, STICK_TABLE
from peerlab.playbook import changes_by_host
from peerlab.runtime import show_table

# The lab's HTTPS service (inventory/lab/group_vars/loadbalancers.yml).
API_HTTPS_PORT = 8443

PEERS_TLS_DIR = "/etc/haproxy/peers-tls"


def presented(ip: str) -> x509.Certificate:
    pem = ssl.get_server_certificate((ip, PEERS_PORT), timeout=10)
    return x509.load_pem_x509_certificate(pem.encode())


def certificate(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def assert_kept(lbs, lb_ips, tables, step: str, pki) -> None:
    """Every member holds every entry it had, and presents its certificate from ``pki``."""
    for lb in lbs:
        now = show_table(lb.run, STICK_TABLE).servers()
        kept = {key: now.get(key) for key in tables[lb.name]}
        assert kept == tables[lb.name], f"{step}: {lb.name} lost entries"
        expected = certificate(pki / f"{lb.name}.crt")
        assert presented(lb_ips[lb.name]) == expected, f"{step}: {lb.name}'s certificate"


def test_rotating_to_a_new_ca_in_three_reloads_keeps_every_entry(
    lbs, lb_ips, lab_pki, lab_entries, reconfigure, ansible_playbook, tmp_path
):
    lab_entries(7800)
    tables = {lb.name: show_table(lb.run, STICK_TABLE).servers() for lb in lbs}
    assert len(tables[lbs[0].name]) >= 5
    new_pki = tmp_path / "new-lab-pki"
    made = ansible_playbook("lab_pki.yml", "-e", f"lab_pki_dir={new_pki}")
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-2000:]
    old_ca, new_ca = (lab_pki / "ca.crt").read_text(), (new_pki / "ca.crt").read_text()
    assert certificate(lab_pki / "ca.crt") != certificate(new_pki / "ca.crt")
    (tmp_path / "both.crt").write_text(old_ca + new_ca)
    both = {"haproxy_peers_tls_ca_src": str(tmp_path / "both.crt")}
    new_certificates = {
        "haproxy_peers_tls_cert_src": str(new_pki / "{{ inventory_hostname }}.crt"),
        "haproxy_peers_tls_key_src": str(new_pki / "{{ inventory_hostname }}.key"),
    }
    steps = [
        ("trust both CAs", both, lab_pki),
        ("certificates from the new CA", {**both, **new_certificates}, new_pki),
        (
            "drop the old CA",
            {"haproxy_peers_tls_ca_src": str(new_pki / "ca.crt"), **new_certificates},
            new_pki,
        ),
    ]

    def old_certificate(name: str) -> str:
        pem = tmp_path / f"old-{name}.pem"
        pem.write_text(
            (lab_pki / f"{name}.crt").read_text() + (lab_pki / f"{name}.key").read_text()
        )
        return f"    default-server ssl verify none crt {pem}"

    for step, extra_vars, pki in steps:
        reconfigure(**extra_vars)
        assert_kept(lbs, lb_ips, tables, step, pki)
    for result in attack(lbs, lb_ips, tmp_path, old_certificate, 7900, set()):
        assert result.last_status == "HSHK", f"old CA's certificate: {result}"
        assert result.learned == frozenset(), str(result)
        assert result.honoured_by == (), str(result)

    # The rotation done: the new material becomes the lab's own.
    shutil.move(lab_pki, tmp_path / "old-lab-pki")
    shutil.move(new_pki, lab_pki)
    for lb in lbs:
        trusted = x509.load_pem_x509_certificates(lb.run(f"cat {PEERS_TLS_DIR}/ca.pem").encode())
        assert trusted == [certificate(lab_pki / "ca.crt")], f"{lb.name} trusts {trusted}"
        assert presented(lb_ips[lb.name]) == certificate(lab_pki / f"{lb.name}.crt"), lb.name
    again = ansible_playbook("lab_pki.yml")
    assert again.returncode == 0, again.stdout[-3000:]
    changed = changes_by_host(again.stdout)
    assert changed, again.stdout[-3000:]
    assert set(changed.values()) == {0}, again.stdout[-3000:]

    # The HTTPS service's certificate came with the new material: the role
    # installs it as the inventory names it, and clients of the new CA verify it.
    reconfigure()
    for name, ip in lb_ips.items():
        answer = requests.get(
            f"https://{ip}:{API_HTTPS_PORT}/", verify=str(lab_pki / "ca.crt"), timeout=5
        )
        assert answer.ok, name
