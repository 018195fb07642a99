"""The peers of the converged lab talk mutual TLS, with the lab CA's certificates."""

from __future__ import annotations

import ssl

from cryptography import x509

from peerlab.lab import PEERS_PORT, wait_all_synced

# A link may be between two sessions when the test looks (the narrative's
# reset just started both members, and two members that connect to each
# other at once drop one session): wait_all_synced waits that out. A link
# still down after this long is a failure.
LINK_TIMEOUT_S = 30.0


def test_every_peer_link_is_established_over_tls(lbs):
    # The links as the wait read them, in the round that found every member
    # settled and connected: a session dropped between two readings (two
    # members that connected to each other at once keep one) would otherwise
    # fail a lab whose links are fine.
    sections = wait_all_synced(lbs, LINK_TIMEOUT_S)
    transports = []
    for lb in lbs:
        remotes = sections[lb.name].remotes
        assert remotes, f"{lb.name} has no remote peer"
        for peer in remotes:
            assert peer.connected, f"{lb.name} -> {peer.name}: {peer.last_status}"
            transports.append(peer.transport)
    # HAProxy names the transport on the side that accepted the session: each
    # link shows it on one of its two ends.
    shown = [t for t in transports if t]
    assert shown, f"no load balancer reported a peer session's transport: {transports}"
    assert set(shown) == {"SSL"}, transports


def test_each_member_presents_its_own_certificate_from_the_lab_ca(lb_ips, lab_pki):
    ca = x509.load_pem_x509_certificate((lab_pki / "ca.crt").read_bytes())
    for name, ip in lb_ips.items():
        # The member's certificate arrives before it asks for the client's.
        pem = ssl.get_server_certificate((ip, PEERS_PORT), timeout=10)
        cert = x509.load_pem_x509_certificate(pem.encode())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.DNSName) == [name]
        cert.verify_directly_issued_by(ca)
