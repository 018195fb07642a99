"""Fixtures shared by every Molecule scenario's tests: the lab as Molecule built it.

Hosts, groups and private addresses come from Molecule's inventory, so the
same tests run against containers and against VMs. Requests go from the test
machine straight to the load balancers' private addresses.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import testinfra
from testinfra.backend.docker import DockerBackend
from testinfra.backend.ssh import SshBackend
from testinfra.utils.ansible_runner import AnsibleRunner

from peerlab.channels import project_tool, within
from peerlab.checkout import lab_defaults
from peerlab.inventory import FloatingAddress, read_floating_address
from peerlab.lab import LoadBalancer, Names, wait_all_synced, wait_reloaded, wait_replicated
from peerlab.narrative import SETTLE_TIMEOUT_S
from peerlab.runtime import RemoteCommandError, Runner, show_proc
from peerlab.sessions import session_id
from peerlab.shell import ShellSession, session_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
# Where testinfra finds how to connect to each host: the scenario's inventory,
# or the same hosts with their connection variables rendered where the
# inventory writes them as templates, which testinfra does not render (the
# lab's own inventory, as the libvirt lab's end-to-end test runs these tests).
CONNECT_INVENTORY = os.environ.get("LAB_TESTINFRA_INVENTORY", INVENTORY)
ANSIBLE = AnsibleRunner(INVENTORY)
EPHEMERAL_DIR = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def group_hosts(group: str, at_least: int) -> list[str]:
    """The hosts of inventory ``group``; an error when it has fewer than ``at_least``,
    so that no test loops over an empty group and passes."""
    names = sorted(ANSIBLE.get_hosts(group))
    if len(names) < at_least:
        raise pytest.UsageError(
            f"{INVENTORY}: group {group!r} has {len(names)} hosts {names}; "
            f"the lab's tests need at least {at_least}"
        )
    return names


LB_NAMES = group_hosts("loadbalancers", 2)
WEB_NAMES = group_hosts("web", 1)

# Where the side effect before a reload records what the verify after compares.
BEFORE_RELOAD = EPHEMERAL_DIR / "before-reload.json"
# Where playbooks/lab_pki.yml keeps the lab CA and the load balancers'
# certificates for this inventory: lab_pki_dir, "{{ inventory_dir }}/../lab-pki"
# (inventory/lab/group_vars/loadbalancers.yml).
LAB_PKI = Path(INVENTORY).parent.parent / "lab-pki"
RELOAD_TIMEOUT_S = 120.0
# What a stage's tests measured (through the `figures` fixture), printed at
# the end of the run beside pass and fail.
FIGURES: dict[str, object] = {}


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("measured")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


def host(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={CONNECT_INVENTORY}")


def private_ip(name: str) -> str:
    return ANSIBLE.get_variables(name)["private_ip"]


# ssh's own exit status when it could not run the command.
SSH_FAILED = 255


def root_runner(name: str) -> Runner:
    """Runs shell commands as root on host ``name``; RemoteCommandError when one fails,
    as peerlab's own channels raise (the waits wait out that error, and only it).

    Through one long-lived root shell per machine where its connection is a
    container's or SSH (peerlab.shell: the waits' runtime API reads cost a
    ``docker exec`` or an SSH login and ``sudo`` each otherwise); through
    testinfra's own run for any other connection."""
    argv = root_shell_argv(name)
    if argv is not None:
        session = ShellSession(argv, name)
        SESSIONS.append(session)
        runner = session_runner(session)
        # Bounded on the machine: a hung runtime API fails the test, not the run.
        return lambda command: runner(within(command))
    target = host(name)

    def run(command: str) -> str:
        with target.sudo():
            try:
                result = target.run(within(command))
            except RuntimeError as error:
                # testinfra's SSH backend raises when ssh itself failed (exit
                # 255, the VMs' connection), with the command's result.
                failed = error.args[0] if error.args else None
                if getattr(failed, "rc", None) != SSH_FAILED:
                    raise
                raise RemoteCommandError(f"{name}: ssh failed: {failed.stderr}") from error
        if result.rc != 0:
            raise RemoteCommandError(f"{name}: `{command}` exited {result.rc}: {result.stderr}")
        return result.stdout

    return run


# Every long-lived shell the tests started, ended with the test run.
SESSIONS: list[ShellSession] = []


def pytest_unconfigure(config):
    for session in SESSIONS:
        session.close()


def root_shell_argv(name: str) -> list[str] | None:
    """The command that opens a root shell on host ``name``, reading commands from
    its input, as testinfra connects to it (the scenario's inventory); None for
    a connection other than a container's or SSH."""
    found = AnsibleRunner.get_runner(CONNECT_INVENTORY).get_host(name)
    backend = found.backend if found is not None else None
    if isinstance(backend, DockerBackend):
        return ["docker", "exec", "-i", "-u", "root", backend.name, "sh"]
    if isinstance(backend, SshBackend):
        # The same ssh command line testinfra runs, with its options (key,
        # port, user, shared connection) from the inventory.
        words, values = backend._build_ssh_command("sudo -n sh")
        return ["sh", "-c", " ".join(words) % tuple(shlex.quote(v) for v in values)]
    return None


def load_balancer(name: str) -> LoadBalancer:
    run = root_runner(name)
    address = private_ip(name)
    names = Names.from_variables(ANSIBLE.get_variables(name))
    return LoadBalancer(name=name, url=f"http://{address}/", run=run, names=names, address=address)


@pytest.fixture(scope="session")
def lbs() -> list[LoadBalancer]:
    return [load_balancer(name) for name in LB_NAMES]


@pytest.fixture(scope="session")
def lb1(lbs: list[LoadBalancer]) -> LoadBalancer:
    return lbs[0]


@pytest.fixture(scope="session")
def lb2(lbs: list[LoadBalancer]) -> LoadBalancer:
    return lbs[1]


@pytest.fixture(scope="session")
def web_hosts() -> list[testinfra.host.Host]:
    return [host(name) for name in WEB_NAMES]


@pytest.fixture(scope="session")
def web() -> Runner:
    """Runs commands as root on the (only) web host."""
    (name,) = WEB_NAMES
    return root_runner(name)


@pytest.fixture(scope="session")
def lb_hosts() -> list[testinfra.host.Host]:
    return [host(name) for name in LB_NAMES]


@pytest.fixture(scope="session")
def lb_ips() -> dict[str, str]:
    return {name: private_ip(name) for name in LB_NAMES}


@pytest.fixture(scope="session")
def web_ips() -> list[str]:
    return [private_ip(name) for name in WEB_NAMES]


PLAYBOOKS = Path(__file__).parents[3] / "playbooks"


@pytest.fixture(scope="session")
def ansible_playbook() -> Callable[..., subprocess.CompletedProcess]:
    """Run a playbook (a path, or a name in the project's playbooks/) against the
    scenario's inventory with ansible-playbook's ``options``; return the finished
    process."""

    def run(playbook: Path | str, *options: str) -> subprocess.CompletedProcess:
        path = PLAYBOOKS / playbook
        return subprocess.run(
            [project_tool("ansible-playbook"), "-i", INVENTORY, str(path), *options],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            # Molecule forces colour for its own runs; the tests read plain text.
            env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"},
        )

    return run


@pytest.fixture(scope="session")
def apply_role(ansible_playbook):
    """Apply one role to one group with extra variables; return the finished process."""
    playbook = Path(__file__).parents[1] / "apply_role.yml"

    def run(role: str, hosts: str, extra_vars: dict) -> subprocess.CompletedProcess:
        variables = json.dumps({"apply_role": role, "apply_hosts": hosts, **extra_vars})
        return ansible_playbook(playbook, "-e", variables)

    return run


@pytest.fixture(scope="session")
def before_reload_path() -> Path:
    return BEFORE_RELOAD


@pytest.fixture(scope="session")
def requested_release() -> str:
    """The Debian release this run was asked for: LAB_DEBIAN, else the lab's default."""
    return os.environ.get("LAB_DEBIAN") or lab_defaults()["LAB_DEBIAN"]


@pytest.fixture(scope="session")
def lab_pki() -> Path:
    assert (LAB_PKI / "ca.crt").is_file(), f"no lab CA in {LAB_PKI}: was the lab converged?"
    return LAB_PKI


@pytest.fixture(scope="session")
def lb_variables() -> dict:
    """The first load balancer's inventory variables, as Ansible reads them."""
    return ANSIBLE.get_variables(LB_NAMES[0])


@pytest.fixture(scope="session")
def stats_auth(lb_variables) -> tuple[str, str]:
    """The statistics page's credentials, as the inventory gives them to the role."""
    return lb_variables["haproxy_peers_stats_user"], lb_variables["haproxy_peers_stats_password"]


@pytest.fixture(scope="session")
def lab_servers(web_ips) -> list[dict]:
    """The server list the site playbook derives for the lab (default vhosts)."""
    return [
        {"name": f"be{n}", "address": ip, "port": 8080 + n} for ip in web_ips for n in range(1, 8)
    ]


@pytest.fixture(scope="session")
def reconfigure(apply_role, lbs, lab_servers):
    """Apply haproxy_peers to the load balancers in ``limit`` (all by default) with
    ``extra_vars`` on top of the inventory's, then wait until each of them runs the
    reloaded process, settled and connected to the others. The change must reload
    HAProxy on every one of them."""

    def run(limit: str = "loadbalancers", **extra_vars) -> subprocess.CompletedProcess:
        changed = [lb for lb in lbs if limit in ("loadbalancers", lb.name)]
        if not changed:
            # A pattern this fixture cannot resolve would wait for no reload.
            raise ValueError(f"limit {limit!r}: give 'loadbalancers' or one of {LB_NAMES}")
        reloads = {lb.name: show_proc(lb.run).reloads for lb in changed}
        result = apply_role(
            "haproxy_peers", limit, {"haproxy_peers_servers": lab_servers, **extra_vars}
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        for lb in changed:
            others = [other.name for other in lbs if other is not lb]
            wait_reloaded(lb, reloads[lb.name], others, timeout=RELOAD_TIMEOUT_S)
        return result

    return run


@pytest.fixture
def lab_entries(lb1, lb2) -> Callable[[int], set[str]]:
    """Make sessions FIRST..FIRST+4 through LB1, replicated to LB2; return their keys."""

    def make(first: int) -> set[str]:
        sessions = list(range(first, first + 5))
        lb1.backends_for(sessions)
        wait_replicated(lb2, sessions)
        return {session_id(number) for number in sessions}

    return make


@pytest.fixture(scope="session")
def floating() -> FloatingAddress:
    """The load balancers' floating address, as Molecule's inventory gives it."""
    return read_floating_address(Path(INVENTORY))


@pytest.fixture
def figures() -> dict[str, object]:
    return FIGURES


@pytest.fixture
def settled(lbs: list[LoadBalancer]) -> list[LoadBalancer]:
    """The pair connected and resynced before a test."""
    wait_all_synced(lbs, timeout=SETTLE_TIMEOUT_S)
    return lbs
