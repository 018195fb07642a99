"""report.md, the summary rows, the members projection and the comparison of runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from bench_documents import RECORDED, changed, tiny

from peerlab.bench import report
from peerlab.bench.projection import mesh, message_bytes, projection
from peerlab.bench.results import load, transports, validate


@pytest.fixture(scope="module")
def recorded() -> dict:
    return load(RECORDED)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[str, Path]:
    """report.md of the recorded run, written from its folder alone."""
    folder = tmp_path_factory.mktemp("run")
    shutil.copy(RECORDED, folder / "results.json")
    path = report.write_report(folder)
    assert path == folder / "report.md"
    return path.read_text(), folder


def test_the_report_has_a_header_a_summary_goals_and_every_section(written, recorded):
    text, _ = written
    assert text.startswith(f"# Benchmark: {recorded['release']}, HAProxy ")
    for field in ("date", "release", "HAProxy", "machine", "duration"):
        assert f"| {field} |" in text
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings[:2] == ["Summary", "Goals"]
    assert headings[2:8] == list(report.SECTIONS.values())


def test_every_linked_figure_is_in_the_run_folder(written):
    text, folder = written
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert links, "no figure linked"
    for link in links:
        assert "/" not in link, f"{link} is not relative to the report"
        assert (folder / link).is_file()


def test_the_members_projection_is_labelled_as_not_measured(written):
    text, _ = written
    assert "### Full mesh at 10-50 members: on paper, not measured" in text
    assert "| 50 | 1,225 | 49 |" in text


def test_missing_measurements_read_not_measured(tmp_path, recorded):
    def strip(document):
        document["transports"].pop("plain", None)
        document["transports"]["tls"].pop("memory", None)
        document["transports"]["tls"].pop("reload_under_load", None)

    path = report.write_report(tmp_path, validate(changed(recorded, strip)))
    text = path.read_text()
    assert "Worker memory: not measured." in text
    assert "Reload under load: not measured." in text
    assert "| 0 failed requests and 0 backend changes across reloads" in text
    assert "| - | not measured | reload under load not run |" in text
    assert not (tmp_path / "memory-vs-entries.png").exists()


def test_a_run_without_any_measurement_still_reports(tmp_path):
    text = report.write_report(tmp_path, validate(tiny({}))).read_text()
    assert "Nothing was measured." in text
    for title in report.SECTIONS.values():
        assert f"{title}: not measured." in text
    assert "0 of 0 judged goals met" in text


def test_goal_verdicts_in_the_report_say_met_or_not_met_with_numbers(written):
    text, _ = written
    verdict_rows = [
        line for line in text.splitlines() if "**met**" in line or "**NOT MET**" in line
    ]
    assert verdict_rows
    assert all(re.search(r"\d", row.split("|")[4]) for row in verdict_rows)


def test_summary_rows_cover_every_measured_transport(recorded):
    rows = report.summary_rows(recorded)
    assert {row.transport for row in rows} == set(transports(recorded))
    assert {row.figure for row in rows} <= set(report.SECTIONS.values())
    for row in rows:
        assert row.samples > 0
        assert row.min <= row.median <= row.p99
        assert len(row.cells()) == len(report.SUMMARY_COLUMNS)
        assert set(row.to_dict()) == set(report.SUMMARY_COLUMNS)


def test_summary_rows_of_a_tiny_run_hold_its_numbers():
    document = validate(
        tiny(
            plain={
                "resync": [
                    {"entries": 10_000, "seconds": [0.05]},
                    {"entries": 100_000, "seconds": [0.2, 0.3, 0.4]},
                ]
            }
        )
    )
    rows = report.summary_rows(document)
    assert [(row.measured, row.samples, row.median, row.unit) for row in rows] == [
        ("10,000 entries", 1, 0.05, "s"),
        ("100,000 entries", 3, 0.3, "s"),
    ]
    assert rows[1].note.startswith("1.00 x the hand probe; fit: ")
    assert rows[1].cells()[4:7] == ["0.200", "0.300", "0.398"]


def test_numbers_get_digits_by_their_size():
    assert [report.number(v) for v in (None, 0.0504, 1.234, 12.34, 1234.5)] == [
        "-",
        "0.050",
        "1.23",
        "12.3",
        "1,234",
    ]


def test_the_mesh_grows_quadratically_in_connections_and_linearly_per_update():
    ten = mesh(10, key_bytes=32)
    assert (ten.connections, ten.copies_per_update) == (45, 9)
    assert ten.bytes_per_update == 9 * message_bytes(32)
    assert mesh(50, 32).connections == 1225
    assert [m.members for m in projection(tiny({}))] == [10, 20, 30, 40, 50]
    with pytest.raises(ValueError, match="at least 2 members"):
        mesh(1, 32)


def test_the_projection_uses_the_recorded_key_length_or_says_it_assumed_one(tmp_path):
    longer = {**tiny({}), "key_bytes": 64}
    assert projection(validate(longer))[0].message_bytes == message_bytes(64)
    text = report.write_report(tmp_path, validate(tiny({}))).read_text()
    assert "an assumed key length of 32 bytes" in text


def test_compare_makes_one_column_per_release(recorded):
    older = changed(
        recorded,
        lambda d: d.update(release="bookworm", haproxy_version="2.6.12-1"),
    )
    table = report.compare([older, recorded]).splitlines()
    assert table[0] == f"|  | bookworm | {recorded['release']} |"
    assert table[1] == "|---|---|---|"
    assert "| HAProxy | 2.6.12-1 | " in table[2]
    assert all(line.count("|") == 4 for line in table)
    assert any(line.startswith("| goals met |") for line in table)


def test_compare_marks_what_a_run_did_not_measure():
    first = validate(tiny({"replication": replication([1.0, 2.0, 3.0])}))
    second = validate({**tiny({}), "release": "forky", "haproxy_version": "3.2.4-1"})
    table = report.compare([first, second])
    assert "| replication p50 / p99, tls (ms) | 2.00 / 2.98 | not measured |" in table


def test_compare_tells_runs_of_one_release_apart_by_date(recorded):
    later = changed(recorded, lambda d: d.update(started="2026-12-24T10:00:00+00:00"))
    header = report.compare([recorded, later]).splitlines()[0]
    assert "(2026-12-24)" in header


def test_compare_needs_a_run():
    with pytest.raises(ValueError, match="at least one"):
        report.compare([])


def replication(samples: list[float]) -> dict:
    run = {"after_response_ms": samples, "after_request_ms": samples, "missed": 0}
    return {"rtt_ms": [0.05], "runs": [run]}
