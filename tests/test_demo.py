"""The demo's comparison and freshness logic (no lab: pure data)."""

from peerlab.demo import (
    DemoReport,
    Epilogue,
    LoadBalancerState,
    SessionResult,
    StepResult,
    compare,
    freshness_problems,
)
from peerlab.narrative import NARRATIVE, step


def step_result(number: int, answers: dict[int, str] | None = None) -> StepResult:
    expected = step(number).expected()
    return StepResult(number, "haproxy-1", "http://x/", "", compare(expected, answers or expected))


def test_compare_keeps_expected_order_and_flags_each_wrong_answer():
    results = compare({21: "Backend 6", 22: "Backend 7"}, {22: "Backend 1", 21: "Backend 6"})
    assert results == (
        SessionResult(21, "Backend 6", "Backend 6"),
        SessionResult(22, "Backend 7", "Backend 1"),
    )
    assert [r.match for r in results] == [True, False]


def test_compare_reports_a_missing_answer_as_a_mismatch():
    (result,) = compare({5: "Backend 5"}, {})
    assert result.actual == "no answer"
    assert not result.match


def test_one_wrong_session_makes_the_step_and_the_report_fail():
    report = DemoReport(reset=False)
    report.steps = [step_result(s.number) for s in NARRATIVE]
    report.epilogue = Epilogue({"haproxy-1": 15, "haproxy-2": 15}, identical=True, complete=True)
    assert report.match
    report.steps[3] = step_result(4, {21: "Backend 6", 22: "Backend 7", 23: "Backend 1",
                                      24: "Backend 2", 25: "Backend 4"})  # fmt: skip
    assert not report.steps[3].match
    assert not report.match
    document = report.to_dict()
    assert document["match"] is False
    assert document["steps"][3]["sessions"][4] == {
        "session": 25, "expected": "Backend 3", "actual": "Backend 4", "match": False,
    }  # fmt: skip


def test_a_report_with_missing_steps_or_a_failed_epilogue_does_not_match():
    report = DemoReport(reset=True, steps=[step_result(1)])
    report.epilogue = Epilogue({"a": 5, "b": 5}, identical=True, complete=True)
    assert not report.match
    report.steps = [step_result(s.number) for s in NARRATIVE]
    report.epilogue = Epilogue({"a": 15, "b": 10}, identical=False, complete=False)
    assert not report.match


def test_a_fresh_lab_has_no_problem():
    states = [LoadBalancerState("haproxy-1", True), LoadBalancerState("haproxy-2", True)]
    assert freshness_problems(states) == []


def test_every_reason_for_not_being_fresh_is_named():
    problems = freshness_problems(
        [
            LoadBalancerState("haproxy-1", True, entries=15, sessions_served=20),
            LoadBalancerState("haproxy-2", False),
        ]
    )
    assert problems == [
        "haproxy-1: the stick table holds 15 entries",
        "haproxy-1: 20 sessions already balanced (round robin is no longer at the first server)",
        "haproxy-2: HAProxy is not running",
    ]


def test_a_reloaded_lb_with_entries_is_not_fresh_even_with_its_round_robin_reset():
    problems = freshness_problems([LoadBalancerState("haproxy-1", True, entries=3)])
    assert problems == ["haproxy-1: the stick table holds 3 entries"]
