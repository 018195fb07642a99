"""The peers of the converged lab talk mutual TLS, with the lab CA's certificates."""

from __future__ import annotations

import ssl

from cryptography import x509

from peerlab.lab import PEERS_PORT, PEERS_SECTION, wait_all_synced
from peerlab.runtime import TRANSIENT_ERRORS, show_peers
from peerlab.sync import wait_until

# A link may be between two sessions when the test looks (the narrative's
# reset just started both members, and two members that connect to each
# other at once drop one session): wait_all_synced waits that out. A link
# still down after this long is a failure.
LINK_TIMEOUT_S = 30.0


def every_link(lbs) -> tuple[bool, object]:
    """(every member has remote peers and every link is up, in one reading of
    both members' ``show peers``; those readings, or what was missing)."""
    seen = {lb.name: show_peers(lb.run)[PEERS_SECTION].remotes for lb in lbs}
    missing = [f"{name} has no remote peer" for name, remotes in seen.items() if not remotes]
    missing += [
        f"{name} -> {peer.name}: {peer.last_status} (active={peer.active})"
        for name, remotes in seen.items()
        for peer in remotes
        if not peer.connected
    ]
    return not missing, (seen if not missing else "; ".join(missing))


def test_every_peer_link_is_established_over_tls(lbs):
    wait_all_synced(lbs, LINK_TIMEOUT_S)
    # The links are read in the same wait that finds them up: a session
    # dropped between two readings (two members that connected to each other
    # at once keep one) would otherwise fail a lab whose links are fine.
    seen = wait_until(
        lambda: every_link(lbs),
        LINK_TIMEOUT_S,
        "every peer link established",
        tolerate=TRANSIENT_ERRORS,
    )
    transports = [peer.transport for remotes in seen.values() for peer in remotes]
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
