"""Parsers of the runtime API, on answers recorded from the lab's HAProxy."""

from pathlib import Path

import pytest

from peerlab.runtime import RuntimeAPIError, parse_peers, parse_proc, parse_table

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


def test_show_proc_separates_old_workers():
    processes = parse_proc(
        "#<PID>          <type>          <reloads>       <uptime>        <version>\n"
        "1               master          3 [failed: 0]   0d00h01m00s     2.6.12\n"
        "# workers\n"
        "40              worker          0               0d00h00m01s     2.6.12\n"
        "# old workers\n"
        "31              worker          1               0d00h00m30s     2.6.12\n"
        "# programs\n"
    )
    assert (processes.reloads, processes.workers, processes.old_workers) == (3, (40,), (31,))


def test_resync_flags_not_done_while_learning():
    section = parse_peers(
        "0x1: [01/Jan/2026:00:00:00] id=haproxy-peers disabled=0 flags=0x0 resync_timeout=4s\n"
        "  0x2: id=haproxy-2(remote,inactive) addr=10.0.0.2:10000 last_status=CONN\n"
        "  0x3: id=haproxy-1(local,inactive) addr=10.0.0.1:10000 last_status=NONE\n"
    )["haproxy-peers"]
    assert not section.resync_done
    assert not section.remotes[0].connected


@pytest.mark.parametrize("parser", [parse_table, parse_proc])
def test_an_error_answer_is_reported_not_parsed_as_empty(parser):
    with pytest.raises(RuntimeAPIError, match="Unknown command"):
        parser("Unknown command: 'show tabel'\n")
