"""The collection's runtime API parsers (plugins/module_utils) against recorded answers.

The modules run on the load balancers with nothing but Python's standard
library, so they carry parsers of their own; these must read what HAProxy
2.6, 3.0 and 3.2 print, like peerlab's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location(
    "haproxy_runtime", ROOT / "plugins" / "module_utils" / "haproxy_runtime.py"
)
runtime = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runtime)

VERSIONS = sorted(p.name for p in DATA.iterdir() if p.name.startswith("haproxy-"))


def recorded(version: str, name: str) -> str:
    return (DATA / version / name).read_text()


@pytest.mark.parametrize("version", VERSIONS)
def test_show_proc_gives_master_counters_and_the_current_worker(version):
    proc = runtime.parse_proc(recorded(version, "show-proc.txt"))
    assert proc["master_pid"] > 0
    assert proc["failed"] == 0
    (worker,) = proc["workers"]
    assert worker["reloads"] == 0
    assert proc["old_workers"] == []


@pytest.mark.parametrize(
    ("version", "current", "old"), [("haproxy-3.0", [1188], []), ("haproxy-3.2", [], [220])]
)
def test_show_proc_after_a_refused_reload_counts_it(version, current, old):
    proc = runtime.parse_proc(recorded(version, "show-proc-after-failed-reload.txt"))
    assert proc["failed"] == 1
    assert [w["pid"] for w in proc["workers"]] == current
    assert [w["pid"] for w in proc["old_workers"]] == old


def test_show_proc_during_a_reload_lists_the_old_worker_apart():
    proc = runtime.parse_proc(recorded("haproxy-2.6", "show-proc-during-reload.txt"))
    assert [w["reloads"] for w in proc["workers"]] == [0]
    assert [w["reloads"] for w in proc["old_workers"]] == [1]


@pytest.mark.parametrize("version", VERSIONS)
def test_show_peers_gives_resync_state_and_connected_remotes(version):
    text = recorded(version, "show-peers.txt")
    assert runtime.resync_done(runtime.peers_flags(text, "haproxy-peers"))
    assert runtime.remote_peers(text, "haproxy-peers") == {"haproxy-2": True}
    assert runtime.peers_flags(text, "no-such-section") is None


def test_a_member_still_learning_is_not_done_and_its_remote_not_connected():
    text = recorded("haproxy-2.6", "show-peers-learning.txt")
    assert not runtime.resync_done(runtime.peers_flags(text, "haproxy-peers"))
    assert runtime.remote_peers(text, "haproxy-peers") == {"haproxy-1": False}


@pytest.mark.parametrize("version", VERSIONS)
def test_show_table_keys(version):
    text = recorded(version, "show-table.txt")
    used = int(text.split("used:")[1].split()[0])
    keys = runtime.table_keys(text)
    assert len(keys) == used > 0
    assert all(len(key) == 32 for key in keys)


def test_an_error_answer_is_not_read_as_an_empty_table():
    with pytest.raises(runtime.RuntimeAPIError, match="No such table"):
        runtime.table_keys("No such table: sticky\n")
    with pytest.raises(runtime.RuntimeAPIError, match="show proc"):
        runtime.parse_proc("Unknown command\n")


def test_show_info_names_the_worker_that_answered():
    assert runtime.answering_pid("Name: HAProxy\nPid: 1188\nUptime: 0d 0h04m27s\n") == 1188
    assert runtime.answering_pid("Unknown command\n") is None
