"""Parsers of the runtime API, on answers recorded from the lab's HAProxy."""

from pathlib import Path

import pytest

from peerlab.runtime import (
    RuntimeAPIError,
    TableInfo,
    parse_peers,
    parse_proc,
    parse_table,
    parse_table_list,
)

DATA = Path(__file__).parent / "data"
VERSIONS = sorted(p.name for p in DATA.iterdir() if p.name.startswith("haproxy-"))


def recorded(version: str, name: str) -> str:
    return (DATA / version / name).read_text()


@pytest.mark.parametrize("version", VERSIONS)
def test_show_table_lists_every_entry_with_its_server(version):
    table = parse_table(recorded(version, "show-table.txt"))
    assert table.name == "back-session"
    assert table.used == len(table.entries) == 15
    entry = table.entries["5d98ec0427152056397e9e35f357be87"]  # session 1
    assert (entry.server_id, entry.server_key) == (1, "be1")
    assert entry.expires_ms > 0


@pytest.mark.parametrize("version", VERSIONS)
def test_show_peers_reports_the_remote_peer_connected(version):
    sections = parse_peers(recorded(version, "show-peers.txt"))
    section = sections["haproxy-peers"]
    assert [p.name for p in section.peers if p.local] == ["haproxy-1"]
    (remote,) = section.remotes
    assert (remote.name, remote.connected, remote.last_status) == ("haproxy-2", True, "ESTA")
    assert section.resync_done


@pytest.mark.parametrize("version", VERSIONS)
def test_show_proc_names_master_and_workers(version):
    processes = parse_proc(recorded(version, "show-proc.txt"))
    assert processes.master_pid > 0
    assert len(processes.workers) == 1
    assert processes.old_workers == ()
    assert not processes.last_reload_refused


def test_show_proc_lists_the_old_worker_apart_during_a_reload():
    # Recorded while a client kept a connection to the old worker open.
    processes = parse_proc(recorded("haproxy-2.6", "show-proc-during-reload.txt"))
    assert processes.reloads == 2
    assert len(processes.workers) == 1
    assert len(processes.old_workers) == 1
    assert processes.workers != processes.old_workers


@pytest.mark.parametrize(
    ("version", "serving", "listed_as_old"),
    [("haproxy-3.0", 1188, False), ("haproxy-3.2", 220, True)],
)
def test_show_proc_counts_a_failed_reload_and_keeps_the_serving_worker(
    version, serving, listed_as_old
):
    # Recorded after a reload whose new worker could not bind a port.
    processes = parse_proc(recorded(version, "show-proc-after-failed-reload.txt"))
    assert processes.failed_reloads == 1
    assert processes.last_reload_refused
    assert processes.version.startswith(version.removeprefix("haproxy-"))
    # 3.2 lists the worker that keeps serving as an old one, with no current worker.
    assert (processes.old_workers if listed_as_old else processes.workers) == (serving,)
    assert processes.uptimes[serving].startswith("0d00h")


def test_resync_not_done_while_a_started_process_waits_for_a_remote_peer():
    # Recorded on haproxy-2 right after its start, haproxy-1 being stopped.
    section = parse_peers(recorded("haproxy-2.6", "show-peers-learning.txt"))["haproxy-peers"]
    assert not section.resync_done
    (remote,) = section.remotes
    # Trying to connect (an active session in state CONN) is not connected.
    assert (remote.name, remote.active, remote.last_status) == ("haproxy-1", True, "CONN")
    assert not remote.connected


@pytest.mark.parametrize("parser", [parse_table, parse_proc])
def test_an_error_answer_is_reported_not_parsed_as_empty(parser):
    with pytest.raises(RuntimeAPIError, match="Unknown command"):
        parser("Unknown command: 'show tabel'\n")


@pytest.mark.parametrize("version", VERSIONS)
def test_show_peers_counts_the_sessions_opened_to_each_peer(version):
    section = parse_peers(recorded(version, "show-peers.txt"))["haproxy-peers"]
    (remote,) = section.remotes
    (local,) = [p for p in section.peers if p.local]
    assert remote.connections >= 1
    assert local.connections == 0


def test_show_peers_names_the_transport_of_an_accepted_tls_session():
    # Recorded on a member of the lab with peers over TLS; haproxy-2 had
    # connected to it, so this process shows the session's transport.
    section = parse_peers(recorded("haproxy-3.0", "show-peers-tls.txt"))["haproxy-peers"]
    (remote,) = section.remotes
    assert (remote.name, remote.connected, remote.transport) == ("haproxy-2", True, "SSL")
    assert section.resync_done


def test_show_peers_leaves_the_transport_empty_where_haproxy_does_not_print_it():
    section = parse_peers(recorded("haproxy-2.6", "show-peers-learning.txt"))["haproxy-peers"]
    assert [p.transport for p in section.peers] == ["", ""]


def test_the_table_list_names_each_table_with_its_type_size_and_entries():
    # `show table` of HAProxy 2.6 serving two services and a rate limit.
    answer = (
        "# table: back-session, type: string, size:1048576, used:15\n"
        "# table: api, type: ip, size:1048576, used:0\n"
        "# table: haproxy-peers/rl-api, type: ip, size:102400, used:1\n\n"
    )
    assert parse_table_list(answer) == [
        TableInfo("back-session", "string", 1048576, 15),
        TableInfo("api", "ip", 1048576, 0),
        TableInfo("haproxy-peers/rl-api", "ip", 102400, 1),
    ]


def test_an_entry_keeps_what_else_the_table_stores():
    table = parse_table(
        "# table: haproxy-peers/rl-api, type: ip, size:102400, used:1\n"
        "0x563465dcb3b0: key=127.0.0.1 use=0 exp=59925 http_req_rate(10000)=5\n"
    )
    entry = table.entries["127.0.0.1"]
    assert entry.data == {"http_req_rate(10000)": "5"}
    assert (entry.server_key, entry.expires_ms) == (None, 59925)
