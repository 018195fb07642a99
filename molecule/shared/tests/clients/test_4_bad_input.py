"""Bad input to keepalived_vip changes nothing, and the message names what to set."""

from __future__ import annotations

import re

import pytest
from app_clients import holder

from peerlab.channels import within

CONFIG = "/etc/keepalived/keepalived.conf"


def recap_changes(output: str) -> dict[str, int]:
    """Host -> changed count from a PLAY RECAP."""
    pattern = r"^(\S+)\s+: ok=\d+\s+changed=(\d+)"
    return {m[1]: int(m[2]) for m in re.finditer(pattern, output, re.M)}


@pytest.mark.parametrize(
    ("variables", "stage", "message"),
    [
        (
            {"keepalived_vip_router_id": "fifty-one"},
            "Validation of arguments failed",
            "argument 'keepalived_vip_router_id' is of type str and we were unable to convert",
        ),
        (
            {"keepalived_vip_address": "192.168.57"},
            "keepalived_vip_address must be an IPv4 address",
            "(got '192.168.57')",
        ),
        (
            {"keepalived_vip_interface": "nosuch0"},
            "has no interface named nosuch0",
            "or keepalived_vip_interface",
        ),
    ],
    ids=["not-a-number", "not-an-address", "no-such-interface"],
)  # fmt: skip
def test_bad_input_stops_before_any_change(
    settled, apply_role, lb_hosts, lbs, floating, variables, stage, message
):
    def checksums() -> list[str]:
        out = []
        for host in lb_hosts:
            with host.sudo():
                out.append(host.check_output(within(f"sha256sum {CONFIG}")))
        return out

    before = checksums()
    result = apply_role("keepalived_vip", "loadbalancers", variables)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert stage in output, output[-3000:]
    assert message in output, output[-3000:]
    changes = recap_changes(result.stdout)
    assert set(changes) == {host.backend.host for host in lb_hosts}, output[-3000:]
    assert set(changes.values()) == {0}, changes
    assert checksums() == before
    assert holder(lbs, floating.address) is lbs[0]
