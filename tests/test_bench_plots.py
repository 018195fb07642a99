"""The figures: one PNG per measurement the document holds, none for one it lacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_documents import RECORDED, changed, tiny

from peerlab.bench import plots
from peerlab.bench.results import load, measured, transports, validate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Which measurement key each single figure is drawn from.
SOURCES = {
    plots.REPLICATION_CDF: "replication",
    plots.REPLICATION_RUNS: "replication",
    plots.RESYNC: "resync",
    plots.MEMORY: "memory",
    plots.PEERS_ON_OFF: "peers_on_off",
    plots.MEMBERS: "members",
}


@pytest.fixture(scope="module")
def recorded() -> dict:
    return load(RECORDED)


def expected_files(document: dict) -> set[str]:
    """The files the document's measurements call for, read off the document itself."""
    names = {
        name
        for name, key in SOURCES.items()
        if any(measured(document, transport, key) for transport in transports(document))
    }
    for transport in transports(document):
        for run in measured(document, transport, "reload_under_load") or []:
            names.add(plots.reload_file(transport, run))
    return names


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), f"{path.name} is not a PNG"
    assert len(data) > 5_000, f"{path.name} is {len(data)} bytes: an empty figure?"


def test_every_measurement_of_the_recorded_run_gets_its_png(tmp_path, recorded):
    drawn = plots.draw_all(recorded, tmp_path)
    written = {path.name for path in plots.files(drawn)}
    assert written == expected_files(recorded)
    assert {path.name for path in tmp_path.iterdir()} == written
    for path in plots.files(drawn):
        assert_png(path)


def test_the_recorded_run_measures_enough_to_exercise_every_figure(recorded):
    # The tests below skip nothing only if the recorded run has each kind of figure.
    names = expected_files(recorded)
    assert set(SOURCES) <= names
    assert any(name.startswith("reload-under-load-") for name in names)


def test_missing_measurements_give_no_figure_and_no_error(tmp_path, recorded):
    def strip(document):
        document["transports"].pop("plain", None)
        for key in ("memory", "members", "reload_under_load"):
            document["transports"]["tls"].pop(key, None)

    drawn = plots.draw_all(validate(changed(recorded, strip)), tmp_path)
    assert drawn["memory"] == []
    assert drawn["members"] == []
    assert drawn["reload"] == []
    written = {path.name for path in tmp_path.iterdir()}
    assert plots.MEMORY not in written
    assert plots.MEMBERS not in written
    assert plots.REPLICATION_CDF in written


def test_a_document_without_measurements_draws_nothing(tmp_path):
    drawn = plots.draw_all(validate(tiny({}, plain={})), tmp_path)
    assert plots.files(drawn) == []
    assert list(tmp_path.iterdir()) == []


def test_one_reload_figure_per_transport_and_balance(tmp_path, recorded):
    run = measured(recorded, transports(recorded)[0], "reload_under_load")
    if run is None:
        pytest.skip("the recorded run has no reload under load")
    document = validate(
        tiny(
            {"reload_under_load": [{**run[0], "balance": "roundrobin"}]},
            plain={"reload_under_load": [{**run[0], "balance": "hash"}]},
        )
    )
    names = {path.name for path in plots.draw_all(document, tmp_path)["reload"]}
    assert names == {
        "reload-under-load-tls-roundrobin.png",
        "reload-under-load-plain-hash.png",
    }


def test_a_single_table_size_draws_points_without_a_fit(tmp_path):
    document = validate(tiny({"resync": [{"entries": 100_000, "seconds": [0.3, 0.31]}]}))
    assert_png(plots.resync_vs_entries(document, tmp_path / "resync.png"))


def test_runs_and_member_counts_without_samples_still_draw(tmp_path):
    nothing = {"after_response_ms": [], "after_request_ms": [], "missed": 150}
    some = {"after_response_ms": [1.0, 2.0], "after_request_ms": [1.5, 2.5], "missed": 0}
    document = validate(
        tiny(
            {
                "replication": {"rtt_ms": [], "runs": [nothing, some]},
                "members": [
                    {"members": 2, "entries": 10, "replication_ms": [1.0], "resync_s": [0.1]},
                    {"members": 3, "entries": 10, "replication_ms": [], "resync_s": []},
                ],
            }
        )
    )
    drawn = plots.draw_all(document, tmp_path)
    for section in ("replication_cdf", "replication_runs", "members"):
        assert len(drawn[section]) == 1, section
        assert_png(drawn[section][0])


def test_the_control_run_without_the_hold_gets_a_figure_of_its_own():
    held = {"balance": "roundrobin", "hold": True}
    control = {"balance": "roundrobin", "hold": False}
    assert plots.reload_file("tls", held) == "reload-under-load-tls-roundrobin.png"
    assert plots.reload_file("tls", control) == "reload-under-load-tls-roundrobin-no-hold.png"
    # Runs recorded before the hold existed keep their names.
    assert plots.reload_file("tls", {"balance": "hash"}) == "reload-under-load-tls-hash.png"
