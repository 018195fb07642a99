"""`peerlab tables`: keys side by side, differences found, the JSON report."""

import re
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from peerlab.render import every_table_view, watch_view
from peerlab.runtime import (
    Peer,
    PeersSection,
    Processes,
    Table,
    TableEntry,
    TableInfo,
    parse_table,
)
from peerlab.sessions import session_id
from peerlab.tables import Snapshot, report, session_number, side_by_side

DATA = Path(__file__).parent / "data"


def table(servers: dict[str, str]) -> Table:
    entries = {key: TableEntry(key, None, server, 1000) for key, server in servers.items()}
    return Table("back-session", len(entries), entries)


def test_session_numbers_are_recognised_in_keys():
    assert session_number(session_id(21)) == 21
    assert session_number(session_id(99_999)) == 99_999
    assert session_number("0" * 32) is None


def test_recorded_tables_of_both_releases_line_up_and_show_exactly_what_differs():
    for version in ("haproxy-2.6", "haproxy-3.0"):
        recorded = parse_table((DATA / version / "show-table.txt").read_text())
        keys = sorted(recorded.entries)
        assert len(keys) >= 3, version
        lost, moved = keys[0], keys[1]
        other = dict(recorded.entries)
        del other[lost]
        other[moved] = replace(other[moved], server_key="be-elsewhere")
        rows = side_by_side([recorded, Table(recorded.name, len(other), other)])
        assert len(rows) == recorded.used == len(keys)
        assert sorted(row.key for row in rows if not row.same) == sorted([lost, moved]), version


def test_rows_come_in_session_order_with_foreign_keys_last():
    rows = side_by_side([table({session_id(5): "be5", "zz": "be1", session_id(1): "be1"})])
    assert [row.session for row in rows] == [1, 5, None]


def test_a_missing_entry_and_a_different_server_both_differ():
    lb1 = table({session_id(1): "be1", session_id(2): "be2", session_id(3): "be3"})
    lb2 = table({session_id(1): "be1", session_id(2): "be7"})
    rows = side_by_side([lb1, lb2])
    assert [row.same for row in rows] == [True, False, False]
    assert rows[2].entries[1] is None


def test_report_is_identical_only_when_every_lb_answered_and_agrees():
    servers = {session_id(1): "be1"}
    peers = PeersSection("haproxy-peers", 0x3, (Peer("haproxy-2", False, True, "ESTA", "SSL"),))
    procs = Processes(10, 2, (30,), ())
    ok = Snapshot("haproxy-1", table(servers), peers, procs)
    document = report([ok, Snapshot("haproxy-2", table(servers))])
    assert document["identical"] is True
    assert document["entries"] == [
        {
            "key": session_id(1),
            "session": 1,
            "same": True,
            "servers": {
                "haproxy-1": {"server": "be1", "expires_ms": 1000},
                "haproxy-2": {"server": "be1", "expires_ms": 1000},
            },
        }
    ]
    first = document["load_balancers"][0]
    assert first["processes"] == {
        "master_pid": 10, "reloads": 2, "workers": [30], "old_workers": [],
    }  # fmt: skip
    assert first["peers"]["remotes"] == [
        {"name": "haproxy-2", "connected": True, "last_status": "ESTA", "transport": "SSL"}
    ]
    stopped = report([ok, Snapshot("haproxy-2", error="HAProxy not running")])
    assert stopped["identical"] is False
    assert stopped["load_balancers"][1]["error"] == "HAProxy not running"


def test_the_watch_view_marks_only_the_keys_that_arrived_since_the_last_refresh():
    servers = {session_id(1): "be1", session_id(2): "be2"}
    snapshots = [Snapshot("haproxy-1", table(servers)), Snapshot("haproxy-2", table(servers))]
    console = Console(width=200, record=True, color_system=None)
    console.print(
        watch_view(
            snapshots, side_by_side([s.table for s in snapshots]), [session_id(2)], "12:00:00"
        )
    )
    lines = console.export_text().splitlines()
    assert [session_id(2) in line for line in lines if line.rstrip().endswith("new │")] == [True]
    assert any(session_id(1) in line and "new" not in line for line in lines)
    assert "Identical on every load balancer: 2 entries." in lines
    assert lines[-1] == "12:00:00"


def test_every_table_is_listed_with_each_members_entries_a_difference_in_red():
    both = (TableInfo("back-session", "string", 1024, 2), TableInfo("api", "ip", 1024, 1))
    behind = (TableInfo("back-session", "string", 1024, 2), TableInfo("api", "ip", 1024, 0))
    snapshots = [Snapshot("haproxy-1", tables=both), Snapshot("haproxy-2", tables=behind)]
    console = Console(width=120, record=True, color_system="standard")
    console.print(every_table_view(snapshots))
    plain = [line for line in console.export_text(clear=False).splitlines() if "│" in line]
    rows = {line.split("│")[1].strip(): line for line in plain}
    assert [cell.strip() for cell in rows["api"].split("│")[1:-1]] == ["api", "ip", "1", "0"]
    assert [cell.strip() for cell in rows["back-session"].split("│")[1:-1]] == [
        "back-session", "string", "2", "2",
    ]  # fmt: skip
    coloured = {
        line.split("│")[1].strip(): line
        for line in console.export_text(styles=True).splitlines()
        if "│" in line
    }
    assert re.search(r"\x1b\[31m *1\x1b\[0m", coloured["api"])  # red: the members differ
    assert re.search(r"\x1b\[32m *2\x1b\[0m", coloured["back-session"])  # green: the same
