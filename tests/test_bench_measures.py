"""The quantities shared by plots, report and goals, on documents small enough to follow."""

from __future__ import annotations

import pytest
from bench_documents import tiny

from peerlab.bench import measures
from peerlab.bench.results import validate


def run(**requests: list) -> dict:
    return {
        "balance": "roundrobin",
        "target_rps": 4,
        "sessions": 2,
        "reloads": [{"at_s": 1.5, "took_s": 0.2}],
        "phases": {"before": [0.0, 1.0], "during": [1.0, 2.0], "after": [2.0, 3.0]},
        "requests": requests,
        "failed": 1,
        "moved_sessions": 1,
        "entries_before": 2,
        "entries_after": 2,
    }


def test_a_reload_timeline_counts_each_second_up_to_the_planned_end():
    reload_run = run(
        t_s=[0.1, 0.6, 1.2, 1.4, 1.7],
        latency_ms=[1.0, 3.0, 2.0, 9.0, 4.0],
        ok=[1, 1, 1, 0, 1],
        moved=[0, 0, 0, 0, 1],
    )
    timeline = measures.reload_timeline(reload_run)
    assert timeline.seconds == [0, 1, 2]
    assert timeline.requests == [2, 3, 0]
    assert timeline.p50_ms == [2.0, 4.0, None]
    assert timeline.failed == [0, 1, 0]
    assert timeline.moved == [0, 1, 0]
    assert measures.reload_rate(reload_run) == 3.0
    assert measures.reload_latencies(reload_run) == [2.0, 9.0, 4.0]


def test_held_requests_and_the_unknown_session_after_each_reload_come_from_the_record():
    with_hold = {
        **run(t_s=[1.2, 1.3], latency_ms=[14.0, 3.0], ok=[1, 1], moved=[0, 0]),
        "held": [[1.2, 12, "learnt"], [1.25, 1000, "bound"]],
        "reloads": [{"at_s": 1.5, "took_s": 0.2, "unknown": {"ms": 2.5, "held": ""}}],
        "hold": True,
    }
    assert measures.held_waits(with_hold) == [12.0, 1000.0]
    assert measures.held_outcomes(with_hold) == {"learnt": 1, "bound": 1}
    assert measures.unknown_waits(with_hold) == [2.5]
    assert measures.with_hold(with_hold)
    # Runs recorded before the hold existed: none of it, and no hold.
    before = run(t_s=[1.2], latency_ms=[1.0], ok=[1], moved=[0])
    assert measures.held_waits(before) == []
    assert measures.unknown_waits(before) == []
    assert not measures.with_hold(before)
    # A run of the hold is a valid results document.
    validate(tiny({"reload_under_load": [with_hold]}))


def test_replication_pools_runs_and_counts_missed_sessions():
    runs = [
        {"after_response_ms": [1.0, 2.0], "after_request_ms": [1.5, 2.5], "missed": 1},
        {"after_response_ms": [3.0], "after_request_ms": [3.5], "missed": 2},
    ]
    document = validate(tiny({"replication": {"rtt_ms": [0.04, 0.05, 0.09], "runs": runs}}))
    assert measures.replication_samples(document, "tls") == [1.5, 2.5, 3.5]
    assert measures.replication_samples(document, "tls", "after_response_ms") == [1.0, 2.0, 3.0]
    assert measures.replication_runs(document, "tls") == [[1.5, 2.5], [3.5]]
    assert measures.replication_missed(document, "tls") == 3
    assert measures.rtt_median_ms(document, "tls") == 0.05
    assert measures.replication_samples(document, "plain") == []


def test_resync_sizes_come_sorted_and_the_fit_uses_every_restart():
    resync = [
        {"entries": 200, "seconds": [2.0, 2.2]},
        {"entries": 100, "seconds": [1.0, 1.2]},
        {"entries": 300, "seconds": []},
    ]
    document = validate(tiny({"resync": resync}))
    assert list(measures.resync_by_size(document, "tls")) == [100, 200]
    fit = measures.resync_fit(document, "tls")
    assert fit.points == 4
    assert fit.slope == pytest.approx(0.01)
    assert fit.intercept == pytest.approx(0.1)


def test_memory_is_fitted_in_mib():
    memory = [{"entries": 0, "rss_kib": 10_240}, {"entries": 100_000, "rss_kib": 30_720}]
    fit = measures.memory_fit(validate(tiny({"memory": memory})), "tls")
    assert fit.slope * measures.ENTRIES_UNIT == pytest.approx(20.0)
    assert fit.intercept == pytest.approx(10.0)


def test_throughput_ratio_is_the_mean_rate_with_peers_over_without():
    latency = {"p50": 1.0, "p90": 2.0, "p99": 4.0, "max": 9.0}
    rounds = [
        {"peers": True, "seconds": 10, "requests": 9_000, "errors": 0, "latency_ms": latency},
        {"peers": False, "seconds": 10, "requests": 10_000, "errors": 0, "latency_ms": latency},
        {"peers": True, "seconds": 5, "requests": 5_000, "errors": 3, "latency_ms": latency},
    ]
    document = validate(tiny({"peers_on_off": rounds}))
    assert measures.throughput_rounds(document, "tls") == {True: [900.0, 1000.0], False: [1000.0]}
    assert measures.throughput_ratio(document, "tls") == pytest.approx(0.95)
    assert measures.throughput_errors(document, "tls", True) == 3
    assert measures.throughput_errors(document, "tls", False) == 0
    assert measures.throughput_errors(document, "plain", True) is None


def test_members_points_come_sorted_with_empty_lists_as_none():
    members = [
        {"members": 5, "entries": 10, "replication_ms": [3.0], "resync_s": []},
        {"members": 2, "entries": 10, "replication_ms": [1.0, 2.0], "resync_s": [0.1]},
    ]
    points = measures.members_points(validate(tiny({"members": members})), "tls")
    assert [p.members for p in points] == [2, 5]
    assert points[0].replication.median == 1.5
    assert points[1].resync is None
