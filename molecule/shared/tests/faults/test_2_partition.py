"""A partition between the load balancers: sessions made on both sides meet after the heal.

The peers link is cut by DROP rules on the machine running the containers
(DOCKER-USER chain), which leaves the backends reachable. During the cut each
side keeps serving and records its own sessions; a session that reaches both
sides gets a server on each (split brain). After the heal every entry is in
both tables. HAProxy does not reconcile split sessions by itself: right after
the heal the sides may still differ (seen on 3.2: 19 of 20 had crossed, each
side holding the other's choice). The next request of such a session, through
either member, settles it for both: the clients of the other side move once.

VRRP crosses the same link: cut off from the holder's advertisements, the
other member takes the floating address too, so both hold it for the length
of the cut. After the heal the member of lower priority gives it up.
"""

from __future__ import annotations

import time

from peerlab import faults
from peerlab.failover import holders
from peerlab.narrative import SETTLE_TIMEOUT_S
from peerlab.sessions import session_id
from peerlab.sync import wait_until

PARTITION_S = 20.0
ROUNDS = 30  # one new session on each side per round, spread over the partition
# Session numbers no other stage uses, so that no entry of theirs is in a
# table before the partition.
SPLIT = range(9400, 9420)  # sessions sent to both sides during the partition
ONLY_1, ONLY_2 = 9200, 9300  # first session numbers made on one side only
FILLER = 9490  # advances LB2's round robin when it would pick LB1's server


def test_sessions_made_on_both_sides_of_a_partition_are_everywhere_after_the_heal(
    settled, lb1, lb2, floating, figures
):
    def address_held_by() -> list[str]:
        return [lb.name for lb in holders(settled, floating.address)]

    def one_holder() -> tuple[bool, list[str]]:
        held = address_held_by()
        return len(held) == 1, held

    # A refused reload before (test_1) pauses the listeners on both members
    # at once: their checks fail and both give the address away for a while.
    held_before = wait_until(one_holder, SETTLE_TIMEOUT_S, f"{floating.address} on one member")
    ours = {
        session_id(n)
        for n in [*SPLIT, *range(ONLY_1, ONLY_1 + ROUNDS), *range(ONLY_2, ONLY_2 + ROUNDS)]
    }
    for lb in (lb1, lb2):
        already = ours & set(lb.table_servers())
        assert not already, f"{lb.name} holds {len(already)} of this test's sessions before it"
    made_1, made_2, split = [], [], {}
    filler = FILLER
    both_held_after_s = None
    # Only this pair's rules: another scenario on this machine may cut its own.
    pair = (lb1.address, lb2.address)
    with faults.partition(*pair):
        started = time.monotonic()
        for number in SPLIT:
            first, second = lb1.backend_for(number), lb2.backend_for(number)
            if first == second:
                # Round robins in step: move LB2's on by one, so the next differ.
                lb2.backend_for(filler)
                made_2.append(filler)
                filler += 1
            split[number] = (first, second)
        for round_ in range(ROUNDS):
            lb1.backend_for(ONLY_1 + round_)
            lb2.backend_for(ONLY_2 + round_)
            made_1.append(ONLY_1 + round_)
            made_2.append(ONLY_2 + round_)
            if both_held_after_s is None and len(address_held_by()) == len(settled):
                both_held_after_s = time.monotonic() - started
            # Pacing of the load over the partition, not a wait for a condition.
            time.sleep(max(0.0, started + PARTITION_S * (round_ + 1) / ROUNDS - time.monotonic()))
        leaked = set(map(session_id, made_1)) & set(lb2.table_servers())
        assert not leaked, f"{len(leaked)} of LB1's sessions reached LB2 through the partition"
        assert faults.partition_rules(pair), "the partition rules vanished during the partition"
        assert both_held_after_s is not None, (
            f"{floating.address} stayed on {held_before} alone through the {PARTITION_S:g} s "
            f"partition (held by {address_held_by()} at its end): VRRP no longer crosses the "
            "peers' link, and docs/faults.md's partition row is out of date"
        )
    healed = time.monotonic()
    assert not faults.partition_rules(pair)
    every = set(map(session_id, [*made_1, *made_2, *split]))

    # Seconds from the heal until each was first seen: every entry on both
    # sides, and the floating address on one member only.
    reached: dict[str, float] = {}

    def healed_everywhere() -> tuple[bool, str]:
        missing = {lb.name: len(every - set(lb.table_servers())) for lb in (lb1, lb2)}
        if not any(missing.values()):
            reached.setdefault("entries", time.monotonic() - healed)
        one, held = one_holder()
        if one:
            reached.setdefault("address", time.monotonic() - healed)
        return (
            len(reached) == 2,
            f"missing entries per LB: {missing}; {floating.address} held by {held or 'nobody'}",
        )

    wait_until(
        healed_everywhere,
        SETTLE_TIMEOUT_S,
        f"every entry on both sides and {floating.address} on one member after the heal",
    )
    held_after = address_held_by()
    assert len(held_after) == 1, f"{floating.address} held by {held_after} again after the heal"
    # Both were MASTER: the one of lower priority yields when it hears the
    # other, preempt or not; with preempt that is the member that held the
    # address before the cut.
    if floating.preempt:
        assert held_after == held_before, (
            f"{floating.address} held by {held_after} after the heal, by {held_before} before"
        )
    conflicting = [n for n, (a, b) in split.items() if a != b]
    assert conflicting, f"no split brain made: both sides chose alike for {len(split)} sessions"

    def differing() -> list[int]:
        one, two = lb1.table_servers(), lb2.table_servers()
        return [n for n in split if one[session_id(n)] != two[session_id(n)]]

    # Right after the heal each side may hold the other's choice (the
    # updates crossed) or both the same one: HAProxy does not reconcile.
    still_split = len(differing())
    # The next request of a split session, through either member, settles
    # it: the member stores its server again and replicates it.
    through_lb1 = lb1.backends_for(conflicting)

    def agree() -> tuple[bool, str]:
        differ = differing()
        return not differ, f"{len(differ)}/{len(split)} split sessions differ: {differ}"

    wait_until(agree, SETTLE_TIMEOUT_S, "both sides agree after one request through LB1")
    assert lb2.backends_for(conflicting) == through_lb1
    won_by_2 = sum(through_lb1[n] == split[n][1] for n in conflicting)
    figures["partition"] = (
        f"{PARTITION_S:g} s cut, {len(every)} entries ({len(made_1)} via LB1, {len(made_2)} via "
        f"LB2, {len(split)} via both) on both sides {reached['entries']:.1f} s after the heal"
    )
    figures["floating address in the partition"] = (
        f"held by {held_before[0]}; by both {both_held_after_s:.1f} s into the cut (checked "
        f"every {PARTITION_S / ROUNDS:.2g} s); by {held_after[0]} alone "
        f"{reached['address']:.1f} s after the heal"
    )
    figures["split brain"] = (
        f"{len(conflicting)} sessions with a server on each side; {still_split} still differ "
        f"after the heal; one request through LB1 each and both agree (LB2's choice kept for "
        f"{won_by_2}, LB1's for {len(conflicting) - won_by_2})"
    )
