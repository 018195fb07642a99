"""Reloads under the benchmark's load, with round robin: nothing fails, moves or gets lost.

A new worker serves from its first moment, and learns the table from the old
one a little later. With round robin, a request in between would get the next
server and stick there; the role's handover hold makes such a request wait
for its entry. Three runs of ten reloads of LB1 at 600 requests/s of 200
sessions: with the hold (each reload once the previous one settled, as the
role's module reloads); the same without it, the control that shows what
the hold prevents; and reloads at an operator's pace (`systemctl reload`
every few seconds, nothing waited for in between), with the hold.
"""

from __future__ import annotations

import time

from peerlab import faults

RELOADS = 10
RELOAD_TIMEOUT_S = 60.0
# An operator reloading by hand, every few seconds.
OPERATOR_PACE_S = 2.0


def storm(sticky_load, lb1, lb2, tag):
    """The load and (started at s on the load's clock, seconds) of each reload."""
    with sticky_load([lb1], tag) as load:
        reloads = []
        for _ in range(RELOADS):
            started = load.now()
            (took,) = faults.reload_storm(lb1, 1, [lb2.name], RELOAD_TIMEOUT_S)
            reloads.append((started, took))
    return load, reloads


def reloads_text(reloads):
    return "Reloads (started at s, took s): " + ", ".join(f"{a:.3f}+{t:.2f}" for a, t in reloads)


def test_ten_reloads_under_load_with_round_robin_move_no_session(
    settled, lb1, lb2, sticky_load, figures
):
    load, reloads = storm(sticky_load, lb1, lb2, "storm-hold")
    assert load.failed == 0, load.summary()
    load.assert_nothing_moved(reloads_text(reloads))
    load.assert_every_entry_kept()
    took = sum(took for _, took in reloads)
    figures["reload storm, hold on"] = (
        f"{RELOADS} reloads of {lb1.name} in {took:.1f} s: {load.summary()}"
    )


def test_without_the_hold_the_same_reloads_move_sessions(
    settled, lb1, lb2, sticky_load, reconfigure, figures
):
    # Only LB1 takes the load and the reloads: only LB1 goes without the hold.
    reconfigure(lb1.name, haproxy_peers_handover_hold=False)
    try:
        load, _ = storm(sticky_load, lb1, lb2, "storm-control")
    finally:
        reconfigure(lb1.name)
    moved = load.record.moved_sessions()
    assert load.failed == 0, load.summary()
    # The control: what the hold prevents happens without it, on this lab.
    assert moved, f"no session moved without the hold: {load.summary()}"
    figures["reload storm, hold off (control)"] = load.summary()


def test_reloads_by_hand_every_few_seconds_move_no_session(settled, lb1, lb2, sticky_load, figures):
    with sticky_load([lb1], "storm-by-hand") as load:
        for _ in range(RELOADS):
            lb1.systemctl("reload")
            # An operator's pace, not a wait for a condition: nothing is awaited.
            time.sleep(OPERATOR_PACE_S)
    assert load.failed == 0, load.summary()
    load.assert_nothing_moved()
    load.assert_every_entry_kept()
    figures["reloads by hand"] = (
        f"`systemctl reload` of {lb1.name} every {OPERATOR_PACE_S:g} s, {RELOADS} times: "
        f"{load.summary()}"
    )
