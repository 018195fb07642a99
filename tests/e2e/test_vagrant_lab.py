"""The lab as a user gets it: `make lab`, then `peerlab` against it, then `make lab-down`.
PROVIDER (docker by default, or libvirt) picks the Vagrant provider.

The tests of this module run in order and build on each other. They need a
machine where `make lab` works (the build machine; CI), and destroy any lab
of this checkout first, because the demo needs a fresh one.

On VMs (any provider but docker) the same lab also goes through the stages
of the Molecule scenarios after the narrative: site.yml again changes
nothing, then the shared tests of a converged lab, the side effects and the
tests after them, in the scenarios' order (.config/molecule/config.yml). One
bring-up of three emulated VMs serves both; the docker scenario runs these
stages on containers.
"""

from __future__ import annotations

import codecs
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from molecule_stages import (
    STAGES,
    changed_hosts,
    playbook_failure,
    run_playbook,
    run_tests,
    write_testinfra_inventory,
)

from peerlab.channels import project_tool
from peerlab.narrative import NARRATIVE, sessions_created, step
from peerlab.sessions import cookie_header, session_id
from peerlab.sync import wait_until

ROOT = Path(__file__).parents[2]
PROVIDER = os.environ.get("PROVIDER", "docker")
LAB_MACHINES = ("web", "haproxy-1", "haproxy-2")
LAB_NETWORK = "vagrant_network_192.168.56.0/24"
# What the Vagrantfile labels every lab container with.
LAB_CONTAINERS = "label=io.haproxy-peers-lab.lab"
PEERLAB_TIMEOUT_S = 900
INVENTORY = ROOT / "inventory" / "lab"
LB_VARS = yaml.safe_load((INVENTORY / "group_vars" / "loadbalancers.yml").read_text())
HOSTS = yaml.safe_load((INVENTORY / "hosts.yml").read_text())["all"]["children"]
# guest port -> host port, per load balancer, as the Vagrantfile forwards them.
FORWARDED = {
    name: {int(guest): int(host) for guest, host in lb["lab_forwarded_ports"].items()}
    for name, lb in HOSTS["loadbalancers"]["hosts"].items()
}
STATS_PORT = 8404
# The lab's second service, HTTPS (inventory/lab/group_vars/loadbalancers.yml).
API_HTTPS_PORT = 8443
# The host port of the web host's relay to the floating address.
WEB = HOSTS["web"]["hosts"]["web"]
VIP_PORT = int(WEB["lab_forwarded_ports"][WEB["lab_vip_relay_port"]])


# make lab on emulated VMs builds the box too: 1608 s inside a full make test on
# 2026-12-01, and more than 1800 s in a CI run of that week. A bound that
# still ends a hung bring-up well inside CI's 90 minutes.
MAKE_TIMEOUT_S = 3000


def make(target: str) -> float:
    """Run a make target of the project; return its wall time in seconds."""
    started = time.monotonic()
    subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        check=True,
        timeout=MAKE_TIMEOUT_S,
    )
    return time.monotonic() - started


def make_printing(target: str) -> str:
    """Run a make target of the project; return what it printed (printed here too)."""
    result = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=MAKE_TIMEOUT_S,
        check=False,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def peerlab(*argv: str) -> subprocess.CompletedProcess:
    """The installed `peerlab` command, run from the checkout like a user does."""
    started = time.monotonic()
    result = subprocess.run(
        [project_tool("peerlab"), *argv],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=PEERLAB_TIMEOUT_S,
        check=False,
    )
    elapsed = time.monotonic() - started
    print(f"\npeerlab {' '.join(argv)}: exit {result.returncode}, {elapsed:.1f} s")
    print(result.stderr[-2000:])
    return result


@pytest.fixture(scope="module")
def lab():
    make("lab-down")
    print(f"\nmake lab (PROVIDER={PROVIDER}): {make('lab'):.0f} s")


@pytest.fixture(scope="module")
def first_demo(lab) -> dict:
    result = peerlab("demo", "--json")
    assert result.returncode == 0, result.stdout
    return json.loads(result.stdout)


def test_demo_on_the_fresh_lab_matches_every_step(first_demo):
    assert first_demo["match"] is True
    assert [s["number"] for s in first_demo["steps"]] == [s.number for s in NARRATIVE]
    for reported in first_demo["steps"]:
        answers = {s["session"]: s["actual"] for s in reported["sessions"]}
        assert answers == step(reported["number"]).expected()


def test_demo_reloaded_lb1_while_lb2_was_stopped_then_started_lb2(first_demo):
    assert first_demo["steps"][5]["before"] == "stop LB2, reload LB1"
    assert first_demo["epilogue"] == {
        "entries": {"haproxy-1": 15, "haproxy-2": 15},
        "identical": True,
        "complete": True,
        "match": True,
    }


def test_tables_are_identical_on_both_lbs_after_the_demo(first_demo):
    # As a user would: links re-established after the demo's restarts first.
    assert peerlab("wait-synced", "--timeout", "60").returncode == 0
    result = peerlab("tables", "--json")
    assert result.returncode == 0
    tables = json.loads(result.stdout)
    assert tables["identical"] is True
    assert {e["key"] for e in tables["entries"]} == {session_id(n) for n in sessions_created()}
    for lb in tables["load_balancers"]:
        assert lb["peers"]["resync_done"] is True
        assert [r["connected"] for r in lb["peers"]["remotes"]] == [True]


def test_tables_human_output_shows_both_lbs_and_no_difference(first_demo):
    result = peerlab("tables")
    assert result.returncode == 0
    assert "haproxy-1" in result.stdout
    assert "haproxy-2" in result.stdout
    assert "Identical on every load balancer: 15 entries." in result.stdout


def test_access_via_lb2_prints_the_original_format(first_demo):
    result = peerlab("access", "--lb", "2", "21", "25")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"{n:05d} - {answer}" for n, answer in step(5).expected().items()
    ]


def test_demo_again_refuses_because_the_lab_is_no_longer_fresh(first_demo):
    result = peerlab("demo")
    assert result.returncode == 2
    assert "the lab is not fresh" in result.stderr
    assert "haproxy-1: the stick table holds 15 entries" in result.stderr
    assert "peerlab demo --reset" in result.stderr


# A session of no step of the narrative, made while `peerlab tables --watch` runs.
WATCHED_SESSION = 4242
# Each refresh reads both members over SSH: about 1.3 s on containers, 6.5 s
# on emulated VMs; the entry arrives at the other member in well under one.
WATCH_SEEN_TIMEOUT_S = 120
# peerlab reads every provider's machines the same way, over SSH: the watch
# is tried on the docker lab, where a refresh costs a second, not on emulated
# VMs, where both tests would cost minutes of make test's budget.
watched_on_containers = pytest.mark.skipif(
    PROVIDER != "docker",
    reason="peerlab tables --watch reads VMs as it reads containers; tried on the docker lab",
)


class Watch:
    """`peerlab tables --watch` running in the background, its output gathered as it comes."""

    def __init__(self, *argv: str, terminal: bool = False) -> None:
        command = [project_tool("peerlab"), "tables", "--watch", "--interval", "1", *argv]
        self.chunks: list[str] = []
        # Ctrl-C as on a terminal: make test runs its stages in the background of
        # a script, where SIGINT is ignored, and a child would inherit that.
        started = {"preexec_fn": lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)}
        if terminal:
            # A pseudo-terminal: rich's live view, refreshed in place.
            primary, secondary = os.openpty()
            env = {**os.environ, "COLUMNS": "160", "LINES": "60", "TERM": "xterm"}
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdin=secondary,
                stdout=secondary,
                stderr=secondary,
                env=env,
                **started,
            )
            os.close(secondary)
            source = primary
        else:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, **started)
            source = self.process.stdout.fileno()
        self.reader = threading.Thread(target=self._read, args=(source,), daemon=True)
        self.reader.start()

    def _read(self, fd: int) -> None:
        # A character the table's lines are drawn with may span two reads.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            while chunk := os.read(fd, 65536):
                self.chunks.append(decoder.decode(chunk))
        except OSError:  # a terminal's reads fail once the process has ended
            pass

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def plain(self) -> str:
        """The text without the terminal's colour and cursor sequences."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.text)

    def interrupt(self) -> int:
        """Ctrl-C, as a user stops it; the exit status."""
        self.process.send_signal(signal.SIGINT)
        status = self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        return status


def make_watched_session() -> str:
    """One request of WATCHED_SESSION through LB1; the backend that answered."""
    port = FORWARDED["haproxy-1"][80]
    response = requests.get(
        f"http://127.0.0.1:{port}/", headers={"Cookie": cookie_header(WATCHED_SESSION)}, timeout=10
    )
    response.raise_for_status()
    return response.text.strip()


@watched_on_containers
def test_tables_watch_shows_a_session_made_while_it_runs_on_both_members(first_demo):
    watch = Watch("--json")
    key = session_id(WATCHED_SESSION)

    def documents() -> list[dict]:
        return [json.loads(line) for line in watch.text.splitlines() if line.strip()]

    try:
        wait_until(lambda: (bool(documents()), watch.text[-500:]), 60, "the first refresh")
        assert all(key not in [e["key"] for e in d["entries"]] for d in documents()), (
            "the session existed before it was made"
        )
        make_watched_session()

        def entry_on_both() -> tuple[bool, object]:
            for document in documents():
                for entry in document["entries"]:
                    if entry["key"] == key and all(entry["servers"].values()):
                        return True, entry
            return False, [d["time"] for d in documents()]

        entry = wait_until(
            entry_on_both, WATCH_SEEN_TIMEOUT_S, f"session {WATCHED_SESSION} on both members"
        )
    finally:
        status = watch.interrupt()
    assert status == 0, watch.text[-2000:]
    assert entry["same"], entry
    assert sorted(entry["servers"]) == ["haproxy-1", "haproxy-2"]
    # The refresh that first held the entry anywhere names it as new.
    first = next(d for d in documents() if key in [e["key"] for e in d["entries"]])
    assert key in first["new"], first["new"]
    assert len(documents()) >= 2


@watched_on_containers
def test_tables_watch_on_a_terminal_marks_the_new_entry_and_stops_cleanly(first_demo):
    watch = Watch(terminal=True)
    try:
        wait_until(lambda: ("Ctrl-C to stop" in watch.text, watch.text[-300:]), 60, "the view")
        # A second session: the view marks an entry "new" only when it arrives.
        before = len(watch.plain)
        port = FORWARDED["haproxy-2"][80]
        requests.get(
            f"http://127.0.0.1:{port}/",
            headers={"Cookie": cookie_header(WATCHED_SESSION + 1)},
            timeout=10,
        ).raise_for_status()
        marked = re.compile(rf"{WATCHED_SESSION + 1:05d}.*same\s+new")
        wait_until(
            lambda: (bool(marked.search(watch.plain[before:])), watch.plain[-300:]),
            WATCH_SEEN_TIMEOUT_S,
            f"session {WATCHED_SESSION + 1} marked new",
        )
    finally:
        status = watch.interrupt()
    assert status == 0, watch.text[-2000:]
    # rich hides the cursor while the view is live and shows it again on its way out.
    assert watch.text.rstrip("\r\n").endswith("\x1b[?25h"), repr(watch.text[-200:])


def test_demo_with_reset_matches_every_step_again(first_demo):
    result = peerlab("demo", "--reset")
    assert result.returncode == 0, result.stdout
    assert "Every step matched the narrative." in result.stdout


def test_wait_synced_returns_on_the_settled_lab(first_demo):
    result = peerlab("wait-synced", "--json", "--timeout", "60")
    assert result.returncode == 0
    assert json.loads(result.stdout)["synced"] is True


def test_status_reports_a_healthy_pair_with_versions_and_tables(first_demo):
    result = peerlab("status", "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 0, document
    assert document["healthy"] is True
    members = document["load_balancers"]
    assert [m["name"] for m in members] == ["haproxy-1", "haproxy-2"]
    for member in members:
        assert member["version"], member
        assert member["master"]["pid"] > 0, member
        assert len(member["workers"]) == 1, member
        assert member["resync_done"] is True, member
        assert all(peer["connected"] for peer in member["peers"]), member
    assert members[0]["table_size"] == members[1]["table_size"] > 0


def test_the_floating_address_answers_on_its_forwarded_port(first_demo):
    # `peerlab demo --reset` stopped HAProxy on both: keepalived gave the
    # address away, and puts it back once a member's check passes again.
    url = f"http://127.0.0.1:{VIP_PORT}/"

    def answer() -> tuple[bool, str]:
        try:
            response = requests.get(url, headers={"Cookie": cookie_header(21)}, timeout=5)
        except requests.RequestException as error:
            return False, type(error).__name__
        return response.ok, response.text.strip()

    # The session's backend as the narrative left it, wherever the address is.
    assert wait_until(answer, 60, f"{url} answers") == step(5).expected()[21]


def test_failover_of_the_floating_address_moves_no_session(first_demo):
    result = peerlab("failover", "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 0, document
    assert (document["holder"], document["took_over"]) == ("haproxy-1", "haproxy-2")
    assert document["moved"] == 0, document["moved_sessions"]
    assert document["back_after_s"] is not None, "the address came back (preemption)"
    print(
        f"failover on the lab: moved after {document['moved_after_s']} s, clients saw errors "
        f"for {document['error_window_s']} s ({document['failed']} failed), back after "
        f"{document['back_after_s']} s"
    )


on_containers = pytest.mark.skipif(
    PROVIDER != "docker",
    reason="on VMs a second make lab provisions one member at a time for minutes; "
    "the idempotence step below runs site.yml again on them",
)


def lab_containers() -> list[str]:
    return sorted(output("docker", "ps", "-q", "--no-trunc", "--filter", LAB_CONTAINERS))


@on_containers
def test_make_lab_again_keeps_the_machines_and_their_tables(first_demo):
    machines = lab_containers()
    assert len(machines) == len(LAB_MACHINES), machines
    kept = {entry["key"] for entry in table_entries()}
    assert kept, "the demo left no session to keep"
    printed = make_printing("lab")
    assert lab_containers() == machines, "make lab made the running machines again"
    # Nothing site.yml reads changed since make lab provisioned these machines.
    assert "make lab: provisioning skipped" in printed
    assert_tables_keep(kept)


def table_entries() -> list[dict]:
    """The entries `peerlab tables --json` lists for the lab."""
    result = peerlab("tables", "--json")
    assert result.returncode == 0
    return json.loads(result.stdout)["entries"]


def assert_tables_keep(kept: set[str]) -> None:
    """Every member still holds each entry of ``kept``."""
    # Each entry with the server every member holds for it (None: not held).
    held = {entry["key"]: entry["servers"] for entry in table_entries()}
    lost = sorted(key for key in kept if key not in held or None in held[key].values())
    assert lost == [], f"entries a member no longer holds after make lab: {lost}"


@on_containers
def test_make_lab_provisions_the_running_machines_again_once_their_inputs_changed(first_demo):
    machines = lab_containers()
    kept = {entry["key"] for entry in table_entries()}
    # What make lab compares with the roles, playbooks and inventory, changed
    # as an edit of any of them would change it.
    stamp = ROOT / ".vagrant" / "lab-provisioned"
    assert stamp.is_file(), "make lab left no record of what it provisioned"
    stamp.write_text(stamp.read_text().replace(" ", " edited-", 1))
    printed = make_printing("lab")
    provisioned = re.compile(r"make lab: provisioning \(playbooks/site\.yml\): \d+ s")
    assert provisioned.search(printed), printed[-2000:]
    assert lab_containers() == machines, "make lab made the running machines again"
    assert_tables_keep(kept)
    # Provisioned from what is there now: the next make lab keeps them again.
    assert "make lab: provisioning skipped" in make_printing("lab")


on_vms = pytest.mark.skipif(
    PROVIDER == "docker",
    reason="the docker scenario runs the Molecule stages on containers (make test-docker)",
)


@on_vms
def test_site_yml_again_changes_nothing(first_demo):
    # Molecule's idempotence step, on the lab `make lab` provisioned.
    result = run_playbook(ROOT / "playbooks" / "site.yml", "-e", "site_load_balancers_at_once=100%")
    assert result.returncode == 0, playbook_failure(result)
    changed = changed_hosts(result.stdout, LAB_MACHINES)
    assert changed == {}, f"site.yml changed something on a second run: {changed}"


@pytest.fixture(scope="module")
def ephemeral(tmp_path_factory) -> Iterator[Path]:
    """The stages' folder, as Molecule's ephemeral one, with the testinfra inventory."""
    folder = tmp_path_factory.mktemp("molecule-stages")
    # Short: pytest's temporary folders are too long for SSH's control sockets.
    control_dir = Path(tempfile.mkdtemp(prefix="peerlab-ssh-"))
    write_testinfra_inventory(folder, control_dir)
    yield folder
    shutil.rmtree(control_dir, ignore_errors=True)


@on_vms
@pytest.mark.parametrize("stage", STAGES, ids=[stage.name for stage in STAGES])
def test_molecule_stage_passes_on_the_lab(first_demo, stage, ephemeral):
    if stage.side_effect is not None:
        result = run_playbook(stage.side_effect, ephemeral=ephemeral)
        assert result.returncode == 0, playbook_failure(result)
    result = run_tests(stage.tests, ephemeral)
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def listening_addresses(port: int) -> list[str]:
    """Local addresses of the TCP sockets listening on ``port`` on this machine."""
    lines = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    return [line.split()[3].rsplit(":", 1)[0].strip("[]") for line in lines]


def test_forwarded_ports_listen_on_loopback_only(lab):
    for name, ports in {**FORWARDED, "web": {VIP_PORT: VIP_PORT}}.items():
        for host_port in ports.values():
            addresses = listening_addresses(host_port)
            assert addresses, f"{name}: nothing listens on port {host_port}"
            exposed = [a for a in addresses if not ipaddress.ip_address(a).is_loopback]
            assert exposed == [], f"{name}: port {host_port} listens on {addresses}"


def test_stats_page_answers_only_with_the_inventory_credentials(lab):
    credentials = (LB_VARS["haproxy_peers_stats_user"], LB_VARS["haproxy_peers_stats_password"])
    for name, ports in FORWARDED.items():
        url = f"http://127.0.0.1:{ports[STATS_PORT]}/monitor"
        assert requests.get(url, timeout=10).status_code == 401, name
        response = requests.get(url, auth=credentials, timeout=10)
        assert response.status_code == 200, name
        assert "back-session" in response.text


def test_the_https_service_answers_on_its_forwarded_ports_with_the_lab_ca(lab):
    # What make lab prints: https://localhost:8443/ and :9443, the lab CA's.
    ca = str(ROOT / "inventory" / "lab-pki" / "ca.crt")
    for name, ports in FORWARDED.items():
        url = f"https://localhost:{ports[API_HTTPS_PORT]}/"
        response = requests.get(url, verify=ca, timeout=10)
        assert response.status_code == 200, name
        assert response.text.startswith("Backend "), (name, response.text)


def output(*argv: str) -> list[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()


def libvirt_leftovers() -> list[str]:
    """Lab domains, and networks on the lab's subnet, that libvirt still has."""
    virsh = ("virsh", "-c", "qemu:///system")
    # vagrant-libvirt names a domain <Vagrantfile's folder>_<machine>, without
    # the characters libvirt refuses; other projects' domains are not the lab's.
    names = {re.sub(r"[^-a-z0-9_.]", "", f"{ROOT.name}_{m}", flags=re.I) for m in LAB_MACHINES}
    domains = [d for d in output(*virsh, "list", "--all", "--name") if d in names]
    networks = [
        net
        for net in output(*virsh, "net-list", "--all", "--name")
        if "192.168.56." in " ".join(output(*virsh, "net-dumpxml", net))
    ]
    return domains + networks


def docker_leftovers() -> list[str]:
    """Lab containers, and the lab's network, that docker still has."""
    containers = output("docker", "ps", "-aq", "--filter", LAB_CONTAINERS)
    networks = output("docker", "network", "ls", "--format", "{{.Name}}")
    return containers + [n for n in networks if n == LAB_NETWORK]


def test_lab_down_leaves_nothing_behind(lab):
    make("lab-down")
    leftovers = libvirt_leftovers() if PROVIDER == "libvirt" else docker_leftovers()
    assert leftovers == []
