"""peerlab status: which states count as healthy, and what it says otherwise."""

from __future__ import annotations

from peerlab.runtime import Peer, PeersSection, Processes, Table, TableEntry
from peerlab.sessions import session_id
from peerlab.status import pair_status
from peerlab.tables import Snapshot


def table(servers: dict[str, str]) -> Table:
    entries = {key: TableEntry(key, 1, server, 1000) for key, server in servers.items()}
    return Table("back-session", len(entries), entries)


def member(name, other, servers, connected=True, flags=0x3, procs=None) -> Snapshot:
    peer = Peer(other, False, connected, "ESTA" if connected else "CONN")
    return Snapshot(
        name,
        table(servers),
        PeersSection("haproxy-peers", flags, (peer,)),
        procs or Processes(10, 1, (30,), (), version="3.0.11", uptimes={10: "0d00h01m00s"}),
    )


ONE = {session_id(1): "be1", session_id(2): "be2"}


def problems(snapshots) -> dict[str, list[str]]:
    return {status.name: list(status.problems) for status in pair_status(snapshots)}


def test_a_connected_pair_holding_the_same_entries_is_healthy():
    found = problems([member("lb1", "lb2", ONE), member("lb2", "lb1", ONE)])
    assert found == {"lb1": [], "lb2": []}


def test_a_link_down_makes_the_running_member_the_only_holder():
    lb1 = member("lb1", "lb2", ONE, connected=False)
    lb2 = Snapshot("lb2", error="lb2: `show table` exited 1: connection refused")
    found = problems([lb1, lb2])
    assert "peer link to lb2 down" in found["lb1"]
    assert any("only running holder of 2 entries" in p for p in found["lb1"])
    assert found["lb2"] == ["not answering: lb2: `show table` exited 1: connection refused"]


def test_missing_and_different_entries_are_counted():
    other = {session_id(1): "be3"}
    found = problems([member("lb1", "lb2", ONE), member("lb2", "lb1", other)])
    assert "1 entries point at another server than elsewhere" in found["lb1"]
    assert "1 entries of lb1 missing here" in found["lb2"]


def test_an_unfinished_resync_and_a_refused_reload_are_problems():
    refused = Processes(10, 3, (30,), (), failed_reloads=1, last_reload_refused=True)
    found = problems(
        [member("lb1", "lb2", ONE, flags=0x1, procs=refused), member("lb2", "lb1", ONE)]
    )
    assert any(p.startswith("resync not finished") for p in found["lb1"])
    assert any(p.startswith("HAProxy refused the last reload") for p in found["lb1"])


def test_status_as_json_names_versions_pids_and_sizes():
    (first, _) = pair_status([member("lb1", "lb2", ONE), member("lb2", "lb1", ONE)])
    document = first.to_dict()
    assert document["healthy"] is True
    assert document["version"] == "3.0.11"
    assert document["master"] == {"pid": 10, "uptime": "0d00h01m00s"}
    assert document["workers"] == [{"pid": 30, "uptime": None}]
    assert document["table_size"] == 2
    assert document["peers"][0]["connected"] is True
