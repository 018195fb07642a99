"""A partition's rules, in a chain of the test's own that no packet passes.

make test runs two docker scenarios at once, and each cuts its own pair of
load balancers: leaving one partition must not heal the other's.
"""

from __future__ import annotations

import os

import pytest

from peerlab import faults

PAIR = ("192.0.2.11", "192.0.2.12")
OTHER_PAIR = ("198.51.100.11", "198.51.100.12")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="iptables needs root")


@pytest.fixture
def chain():
    name = f"PEERLAB-TEST-{os.getpid()}"
    faults._iptables("-N", name)
    yield name
    faults._iptables("-F", name)
    faults._iptables("-X", name)


def test_leaving_a_partition_heals_its_own_pair_only(chain):
    with faults.partition(*PAIR, chain=chain):
        with faults.partition(*OTHER_PAIR, chain=chain):
            assert len(faults.partition_rules(PAIR, chain)) == 2
            assert len(faults.partition_rules(OTHER_PAIR, chain)) == 2
        assert faults.partition_rules(OTHER_PAIR, chain) == []
        kept = faults.partition_rules(PAIR, chain)
        assert len(kept) == 2, kept
        # Either order of the addresses names the same pair.
        assert faults.partition_rules(PAIR[::-1], chain) == kept
    assert faults.partition_rules(chain=chain) == []


def test_heal_without_a_pair_removes_every_partition_rule_and_nothing_else(chain):
    def rule(comment: str) -> None:
        faults._iptables(
            "-A", chain, "-s", PAIR[0], "-d", PAIR[1],
            "-m", "comment", "--comment", comment, "-j", "DROP",
        )  # fmt: skip

    rule(faults.PARTITION_MARK)  # as an earlier release wrote it
    rule(faults.pair_mark(*OTHER_PAIR))
    rule("an operator rule")
    assert faults.heal(chain=chain) == 2
    left = faults._iptables("-S", chain)
    assert "an operator rule" in left
    assert faults.PARTITION_MARK not in left
