"""Nobody but a member joins the peers: what a stranger gets with TLS peers, and without.

Each stranger claims a member's peer name toward the other member. Over
mutual TLS it is refused whatever it presents: it learns no entry and no
member takes its session. With plain peers (the same attack,
`haproxy_peers_tls: false`) it learns every session key and the member it
reached routes the stranger's session to the server the stranger chose,
which shows that these tests detect a leak.
"""

from __future__ import annotations

import pytest
from strangers import PUSHED_SERVER, attack

from peerlab.access import backend_for
from peerlab.lab import wait_all_synced
from peerlab.pki import Authority, self_signed

ANOTHER_CA = Authority("another CA")


def no_certificate(folder, name: str) -> str:
    return "    default-server ssl verify none"


def certificate(issued, folder, name: str) -> str:
    path = folder / f"{name}.pem"
    path.write_text(issued.pem)
    return f"    default-server ssl verify none crt {path}"


VARIANTS = {
    "no client certificate": no_certificate,
    "self-signed certificate with a member's name": lambda folder, name: certificate(
        self_signed(name), folder, name
    ),
    "certificate from another CA with a member's name": lambda folder, name: certificate(
        ANOTHER_CA.issue(name), folder, name
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_stranger_over_tls_learns_nothing_and_steers_no_session(
    variant, lbs, lb_ips, lab_entries, tmp_path
):
    index = list(VARIANTS).index(variant)
    lab_keys = lab_entries(7100 + 10 * index)
    outcomes = attack(
        lbs,
        lb_ips,
        tmp_path,
        lambda name: VARIANTS[variant](tmp_path, name),
        first_session=7500 + 10 * index,
        lab_keys=lab_keys,
    )
    for result in outcomes:
        assert result.last_status == "HSHK", str(result)
        assert result.learned == frozenset(), f"{variant}: {result}"
        assert result.honoured_by == (), f"{variant}: {result}"
    # The members' own link was not disturbed.
    wait_all_synced(lbs, timeout=30)


def test_with_plain_peers_the_same_stranger_learns_every_entry_and_steers_sessions(
    lbs, lb_ips, lab_entries, tmp_path, reconfigure
):
    reconfigure(haproxy_peers_tls=False)
    try:
        lab_keys = lab_entries(7400)
        outcomes = attack(
            lbs, lb_ips, tmp_path, lambda name: "", first_session=7600, lab_keys=lab_keys
        )
        targets = {lb.name: lb for lb in lbs}
        for result in outcomes:
            assert result.last_status == "ESTA", str(result)
            assert lab_keys <= result.learned, f"learnt {len(result.learned)} of {len(lab_keys)}"
            assert result.target in result.honoured_by, str(result)
            # The member routes the stranger's session to the server it chose.
            answer = backend_for(targets[result.target].url, result.session)
            assert answer == f"Backend {PUSHED_SERVER.removeprefix('be')}", str(result)
    finally:
        reconfigure()
