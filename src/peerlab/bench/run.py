"""``peerlab bench``: every measurement, on each transport, against the docker lab.

For each transport (TLS peers, the default, then plain peers for comparison)
the lab is provisioned by ``playbooks/site.yml`` with that transport, then
measured; what a measurement reconfigures (the balance algorithm, the peers
section, extra members) is put back by the next provisioning, and the lab
ends as ``make lab`` left it: TLS peers, two members, its own tables empty.
Every loop is bounded in count and time; traffic goes only to the lab's
containers.
"""

from __future__ import annotations

import datetime
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from peerlab.bench import members, reload_load, replication, resync, throughput
from peerlab.bench.agent import Agent
from peerlab.checkout import ROOT
from peerlab.inventory import load_balancers
from peerlab.lab import LoadBalancer, wait_all_synced
from peerlab.runtime import show_proc, socket_command

SCHEMA = 1
TRANSPORTS = ("tls", "plain")
MEASUREMENTS = ("replication", "resync", "reload", "throughput", "members")
LAB_INVENTORY = ROOT / "inventory" / "lab" / "hosts.yml"
SETTLE_TIMEOUT_S = 180.0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Limits:
    """How much each measurement does: the bounds of the run."""

    replication_runs: int = 3
    replication_sessions: int = 1000
    resync_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    resync_repeats: int = 3
    reload_rate: float = 600.0
    reload_sessions: int = 200
    reloads: int = 10
    reload_quiet_s: float = 10.0
    throughput_rounds: int = 3
    throughput_seconds: int = 10
    throughput_connections: int = 32
    member_counts: tuple[int, ...] = (2, 3, 5)
    member_sessions: int = 500
    member_entries: int = 100_000
    member_repeats: int = 3

    @classmethod
    def quick(cls) -> Limits:
        """A short run of every measurement, for trying the bench out (minutes)."""
        return cls(
            replication_runs=2,
            replication_sessions=200,
            resync_sizes=(10_000, 100_000),
            resync_repeats=2,
            reload_sessions=100,
            reloads=3,
            reload_quiet_s=3.0,
            throughput_rounds=1,
            throughput_seconds=3,
            member_counts=(2, 3),
            member_sessions=100,
            member_entries=10_000,
            member_repeats=2,
        )


def machine() -> dict:
    """What the figures were measured on."""
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kib / 2**20, 1),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "provider": "docker",
    }


def release_of(lb: LoadBalancer) -> str:
    """The Debian release a load balancer runs (its VERSION_CODENAME)."""
    for line in lb.run("cat /etc/os-release").splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "unknown"


def clear_tables(lbs: Sequence[LoadBalancer]) -> None:
    """Empty every member's table (peers do not replicate deletions)."""
    for lb in lbs:
        lb.run(socket_command(f"clear table {lb.names.table}"))


class Bench:
    """One run of the benchmark against the lab."""

    def __init__(
        self,
        limits: Limits,
        progress: Progress,
        on_measured: Callable[[], None] = lambda: None,
        tag: str | None = None,
    ) -> None:
        self.limits, self.progress, self.on_measured = limits, progress, on_measured
        self.tag = tag or f"{time.time_ns() & 0xFFFFFFFF:08x}"
        self.lbs = load_balancers(LAB_INVENTORY)
        if len(self.lbs) < 2:
            raise members.MembersError("the bench needs the lab's two load balancers")

    def provision(
        self, transport: str, extra: dict | None = None, inventory: Path | None = None
    ) -> None:
        variables = {"haproxy_peers_tls": transport == "tls", **(extra or {})}
        self.progress(f"{transport}: provisioning the lab ({variables})")
        members.provision(inventory or LAB_INVENTORY.parent, variables)

    def settle(self, lbs: Sequence[LoadBalancer] | None = None) -> None:
        wait_all_synced(lbs or self.lbs, SETTLE_TIMEOUT_S)

    def transport(self, transport: str, wanted: Sequence[str]) -> dict:
        """Every wanted measurement with peers over ``transport``."""
        limits, results = self.limits, {}
        lb1, lb2 = self.lbs[0], self.lbs[1]
        self.provision(transport)
        self.settle()
        tag = f"{self.tag}-{transport}"
        with Agent(lb1) as agent1, Agent(lb2) as agent2:
            if "replication" in wanted:
                results["replication"] = replication.measure(
                    lb1, lb2, agent2, tag, limits.replication_runs,
                    limits.replication_sessions, self.progress,
                )  # fmt: skip
                self.on_measured()
            if "resync" in wanted:
                results.update(
                    resync.measure(
                        agent1, agent2, limits.resync_sizes, limits.resync_repeats, self.progress
                    )
                )
                self.settle()
                self.on_measured()
        if "reload" in wanted:
            # The role's defaults (round robin, the handover hold), then hash, then
            # round robin without the hold: what the hold prevents, same run.
            runs = [self.reload_under_load(transport, "roundrobin")]
            for variables in (
                {"haproxy_peers_balance": "hash"},
                {"haproxy_peers_handover_hold": False},
            ):
                self.provision(transport, variables)
                self.settle()
                runs.append(
                    self.reload_under_load(
                        transport,
                        variables.get("haproxy_peers_balance", "roundrobin"),
                        hold=variables.get("haproxy_peers_handover_hold", True),
                    )
                )
            results["reload_under_load"] = runs
            self.provision(transport)
            self.settle()
            self.on_measured()
        if "throughput" in wanted:
            results["peers_on_off"] = throughput.measure(
                lb1, self.lbs[1:], tag, limits.throughput_rounds,
                limits.throughput_seconds, limits.throughput_connections, self.progress,
            )  # fmt: skip
            self.on_measured()
        if "members" in wanted:
            results["members"] = self.members(transport)
            self.on_measured()
        return results

    def reload_under_load(self, transport: str, balance: str, hold: bool = True) -> dict:
        keys = [
            replication.bench_key(f"{self.tag}-{transport}-{balance}-{hold}", number)
            for number in range(self.limits.reload_sessions)
        ]
        run = reload_load.measure(
            self.lbs[0], self.lbs[1:], keys, balance, self.limits.reload_rate,
            self.limits.reloads, self.limits.reload_quiet_s,
            lambda text: self.progress(f"{transport}{'' if hold else ', no hold'}: {text}"),
        )  # fmt: skip
        return {**run, "hold": hold}

    def members(self, transport: str) -> list[dict]:
        """Replication latency and resync time with each member count."""
        limits, points = self.limits, []
        most = max(limits.member_counts)
        names = [f"haproxy-{number}" for number in range(3, most + 1)]
        addresses = members.extra_addresses(self.lbs[-1].address, len(names))
        if names:
            self.progress(f"{transport}: starting {len(names)} more load balancers")
            members.start_members(
                names, addresses, members.lab_network(self.lbs[0].address), release_of(self.lbs[0])
            )
        try:
            for count in sorted(limits.member_counts):
                extra = dict(list(zip(names, addresses, strict=True))[: count - len(self.lbs)])
                with members.inventory_with(extra) as inventory:
                    # The floating address stays with the lab's own pair (the
                    # extra containers may not hold addresses).
                    self.provision(transport, {"site_floating_address": False}, inventory)
                    group = load_balancers(inventory)
                    self.settle(group)
                    points.append(self.member_point(transport, group, count))
        finally:
            if names:
                members.remove_members()
            self.provision(transport)
            self.settle()
        return points

    def member_point(self, transport: str, group: Sequence[LoadBalancer], count: int) -> dict:
        limits = self.limits
        first, last = group[0], group[-1]
        with Agent(first) as source, Agent(last) as watcher:
            measured = replication.measure(
                first, last, watcher, f"{self.tag}-{transport}-m{count}", 1,
                limits.member_sessions,
                lambda text: self.progress(f"{transport}, {count} members: {text}"),
            )  # fmt: skip
            clear_tables(group)
            self.progress(f"{transport}, {count} members: {limits.member_entries:,} entries")
            resync.fill(source, watcher, limits.member_entries)
            took = []
            for _ in range(limits.member_repeats):
                seconds, _kib = resync.restart(watcher, limits.member_entries)
                took.append(round(seconds, 4))
        clear_tables(group)
        return {
            "members": count,
            "entries": limits.member_entries,
            "replication_ms": measured["runs"][0]["after_request_ms"],
            "replication_after_response_ms": measured["runs"][0]["after_response_ms"],
            "resync_s": took,
        }

    def run(self, transports: Sequence[str], wanted: Sequence[str]) -> dict:
        started = datetime.datetime.now(datetime.UTC)
        document = {
            "schema": SCHEMA,
            "started": started.isoformat(timespec="seconds"),
            "release": release_of(self.lbs[0]),
            "haproxy_version": show_proc(self.lbs[0].run).version,
            "machine": machine(),
            "limits": asdict(self.limits),
            # Length of the session keys the bench makes (md5 in hex, like the demo's).
            "key_bytes": 32,
            "transports": {},
        }
        try:
            for transport in transports:
                document["transports"][transport] = self.transport(transport, wanted)
        finally:
            if transports and transports[-1] != "tls":
                self.provision("tls")
                self.settle()
        document["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        return document
