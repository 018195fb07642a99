"""The peers of the converged lab talk mutual TLS, with the lab CA's certificates."""

from __future__ import annotations

import ssl

from cryptography import x509

from peerlab.lab import PEERS_PORT, PEERS_SECTION
from peerlab.runtime import show_peers
from peerlab.sync import wait_until

# A link may be between two sessions when the test looks: HAProxy closes a
# session whose heartbeats stop (a member just reloaded, or two busy cores
# delayed them) and opens a new one within seconds. A link that stays down
# longer than this is a failure.
LINK_TIMEOUT_S = 30.0


def test_every_peer_link_is_established_over_tls(lbs):
    transports = []
    for lb in lbs:

        def links(lb=lb):
            remotes = show_peers(lb.run)[PEERS_SECTION].remotes
            states = {p.name: "connected" if p.connected else p.last_status for p in remotes}
            return bool(remotes) and all(p.connected for p in remotes), (remotes, states)

        remotes, _ = wait_until(links, LINK_TIMEOUT_S, f"every peer link of {lb.name} established")
        transports.extend(peer.transport for peer in remotes)
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
