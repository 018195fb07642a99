"""The results document: what loads, and what each kind of broken document is told."""

from __future__ import annotations

import json

import pytest
from bench_documents import RECORDED, changed, tiny

from peerlab.bench.results import (
    ResultsError,
    load,
    measured,
    results_folder,
    run_label,
    save,
    transports,
    validate,
)


@pytest.fixture(scope="module")
def recorded() -> dict:
    return load(RECORDED)


def test_the_recorded_document_loads_from_its_file_or_its_folder(recorded):
    assert load(RECORDED.parent) == recorded
    assert recorded["schema"] == 1
    assert transports(recorded)[0] in ("tls", "plain")


def test_a_missing_top_level_field_is_named(recorded):
    document = changed(recorded, lambda d: d.pop("haproxy_version"))
    with pytest.raises(ResultsError, match="document: missing field 'haproxy_version'"):
        validate(document)


def test_a_missing_nested_field_is_named_by_its_path(recorded):
    def drop(document):
        document["transports"]["tls"]["resync"] = [{"entries": 10_000}]

    with pytest.raises(
        ResultsError, match=r"transports\.tls\.resync\[0\]: missing field 'seconds'"
    ):
        validate(changed(recorded, drop))


def test_a_missing_machine_field_is_named(recorded):
    document = changed(recorded, lambda d: d["machine"].pop("kernel"))
    with pytest.raises(ResultsError, match="machine: missing field 'kernel'"):
        validate(document)


def test_a_sample_of_the_wrong_type_is_named_with_its_index():
    document = tiny({"replication": {"rtt_ms": [0.05, "0.06"], "runs": []}})
    with pytest.raises(ResultsError, match=r"transports\.tls\.replication\.rtt_ms\[1\]"):
        validate(document)


def test_another_schema_version_is_refused():
    with pytest.raises(ResultsError, match="schema 2: this peerlab reads schema 1 only"):
        validate({**tiny({}), "schema": 2})
    with pytest.raises(ResultsError, match="missing field 'schema'"):
        validate({"release": "trixie"})


def test_request_arrays_must_be_parallel(recorded):
    def shorten(document):
        run = document["transports"]["tls"]["reload_under_load"][0]
        run["requests"]["ok"] = run["requests"]["ok"][:-1]

    with pytest.raises(ResultsError, match=r"reload_under_load\[0\]\.requests: .* parallel"):
        validate(changed(recorded, shorten))


def test_unreadable_files_say_what_to_do(tmp_path):
    with pytest.raises(ResultsError, match="no such file; run `peerlab bench` first"):
        load(tmp_path)
    (tmp_path / "results.json").write_text("{")
    with pytest.raises(ResultsError, match="not JSON"):
        load(tmp_path)


def test_errors_of_a_loaded_file_name_the_file(tmp_path, recorded):
    without_machine = changed(recorded, lambda d: d.pop("machine"))
    (tmp_path / "results.json").write_text(json.dumps(without_machine))
    with pytest.raises(ResultsError, match=f"{tmp_path}/results.json: document: missing field"):
        load(tmp_path)


def test_missing_measurements_and_transports_are_allowed():
    document = validate(tiny({"resync": [{"entries": 10, "seconds": [0.1]}]}))
    assert measured(document, "tls", "resync") == [{"entries": 10, "seconds": [0.1]}]
    assert measured(document, "tls", "memory") is None
    assert measured(document, "plain", "resync") is None
    assert transports(document) == ["tls"]


def test_save_writes_what_load_reads_back_in_the_run_folder(tmp_path, recorded):
    folder = results_folder(tmp_path, recorded)
    assert folder.name == f"{recorded['started'][:10]}-{recorded['release']}"
    path = save(recorded, folder)
    assert load(path) == recorded
    # One line per list of numbers: the file stays readable.
    first_rtt = next(line for line in path.read_text().splitlines() if '"rtt_ms"' in line)
    assert first_rtt.rstrip().endswith("],")


def test_save_refuses_an_invalid_document(tmp_path):
    with pytest.raises(ResultsError, match="missing field"):
        save({"schema": 1}, tmp_path)
    assert not (tmp_path / "results.json").exists()


def test_the_run_label_names_release_and_haproxy():
    assert run_label(tiny({})) == "trixie, HAProxy 3.0.11-1"
