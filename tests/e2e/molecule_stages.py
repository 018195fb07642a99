"""The Molecule scenarios' stages, run against the lab `make lab` brought up.

The stages are read from the scenarios' shared sequence
(.config/molecule/config.yml): every `verify` after `idempotence`, with the
`side_effect` before it. The shared tests find the lab the way they find a
scenario's machines: MOLECULE_INVENTORY_FILE (here the lab's own inventory)
and MOLECULE_EPHEMERAL_DIRECTORY (where a side effect leaves what the tests
after it compare). Testinfra reads an inventory's variables as they are
written, and the lab's connection variables are templates, so its
connections get an inventory of their values as Ansible renders them
(LAB_TESTINFRA_INVENTORY).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from peerlab.channels import (
    ANSIBLE_JSON_OUTPUT,
    control_options,
    control_path_fits,
    project_tool,
)
from peerlab.playbook import play_recap

ROOT = Path(__file__).parents[2]
MOLECULE_CONFIG = ROOT / ".config" / "molecule" / "config.yml"
# The scenario folder the sequence's relative paths start from.
SCENARIO_DIR = ROOT / "molecule" / "default"
INVENTORY = ROOT / "inventory" / "lab" / "hosts.yml"
STAGE_TIMEOUT_S = 1800
# Shared tests the docker scenario runs on containers, for every release, and
# the VM stages leave out: what they check happens in Ansible and in
# `haproxy -c` before anything reaches a machine (arguments refused, a
# configuration HAProxy refuses never written), the same on a container as
# on a VM, and their role runs took 7 of the converged stage's 9 minutes on
# emulated VMs in CI.
CONTAINERS_ONLY = ("converged/test_bad_input.py",)
# What testinfra's SSH connection to a host is made of.
CONNECTION_VARS = (
    "ansible_host",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
)


@dataclass(frozen=True)
class Stage:
    name: str
    tests: Path
    side_effect: Path | None


def stages(config: dict) -> list[Stage]:
    """The verify steps after idempotence in ``config``, each with the side effect before it."""
    sequence = config["scenario"]["test_sequence"]
    default_tests = config["verifier"]["directory"]
    found, side_effect = [], None
    for step in sequence[sequence.index("idempotence") + 1 :]:
        action, _, argument = step.partition(" ")
        if action == "side_effect":
            side_effect = (SCENARIO_DIR / argument).resolve()
        elif action == "verify":
            tests = (SCENARIO_DIR / (argument or default_tests)).resolve()
            found.append(Stage(tests.name, tests, side_effect))
            side_effect = None
    if not found:
        raise ValueError(f"{MOLECULE_CONFIG}: no verify step after idempotence")
    return found


STAGES = stages(yaml.safe_load(MOLECULE_CONFIG.read_text()))


def environment(ephemeral: Path | None) -> dict[str, str]:
    # The project's tools first: testinfra runs ansible-inventory by its name.
    tools = str(Path(project_tool("ansible-playbook")).parent)
    env = {
        **os.environ,
        "PATH": os.pathsep.join([tools, os.environ.get("PATH", "")]),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    if ephemeral is not None:
        env |= {
            "MOLECULE_INVENTORY_FILE": str(INVENTORY),
            "MOLECULE_EPHEMERAL_DIRECTORY": str(ephemeral),
            "LAB_TESTINFRA_INVENTORY": str(ephemeral / "testinfra-inventory.yml"),
        }
    return env


def rendered_connections(ansible_json: str) -> dict[str, dict[str, str]]:
    """Host -> connection variables, from the json callback's output of a debug task
    whose message is a dictionary of them."""
    (play,) = json.loads(ansible_json)["plays"]
    # Ansible's strategy reports the task once for all hosts, Mitogen's once per host.
    return {
        host: outcome["msg"] for task in play["tasks"] for host, outcome in task["hosts"].items()
    }


def sharing_connections(connection: dict[str, str], control_dir: Path) -> dict[str, str]:
    """``connection`` with SSH connection sharing for testinfra.

    testinfra shares one SSH connection per host only when the Ansible
    configuration names a control_path, which the project's does not (Ansible
    shares its own without one). Against emulated VMs a new SSH connection per
    command costs about a second, most of a stage's time.
    """
    if not control_path_fits(control_dir):
        raise ValueError(f"{control_dir}: too long for SSH's control sockets")
    sharing = " ".join(control_options(control_dir))
    common = connection.get("ansible_ssh_common_args", "")
    return {**connection, "ansible_ssh_common_args": f"{common} {sharing}".strip()}


def write_testinfra_inventory(ephemeral: Path, control_dir: Path) -> Path:
    """Write the lab's hosts, in their groups, with their connection variables rendered
    and SSH's shared connections in ``control_dir`` (a short path: the control
    sockets' paths must fit a Unix socket's)."""
    fields = ", ".join(f"'{name}': {name} | default(omit)" for name in CONNECTION_VARS)
    result = subprocess.run(
        [
            project_tool("ansible"), "all", "-i", str(INVENTORY),
            "-m", "ansible.builtin.debug", "-a", f"msg={{{{ {{ {fields} }} }}}}",
        ],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=environment(None) | ANSIBLE_JSON_OUTPUT,
    )  # fmt: skip
    connections = {
        host: sharing_connections(connection, control_dir)
        for host, connection in rendered_connections(result.stdout).items()
    }
    groups = yaml.safe_load(INVENTORY.read_text())["all"]["children"]
    inventory = {
        "all": {
            "children": {
                group: {"hosts": {host: connections[host] for host in members["hosts"]}}
                for group, members in groups.items()
            }
        }
    }
    path = Path(environment(ephemeral)["LAB_TESTINFRA_INVENTORY"])
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def run(argv: list[str], ephemeral: Path | None) -> subprocess.CompletedProcess:
    """``argv`` from the checkout, against the lab; the finished process, whatever its status."""
    return subprocess.run(
        argv,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=STAGE_TIMEOUT_S,
        check=False,
        env=environment(ephemeral),
    )


def run_playbook(
    playbook: Path, *options: str, ephemeral: Path | None = None
) -> subprocess.CompletedProcess:
    """ansible-playbook ``playbook`` against the lab's inventory."""
    argv = [project_tool("ansible-playbook"), "-i", str(INVENTORY), str(playbook), *options]
    return run(argv, ephemeral)


# The lines of an Ansible run that name what failed: a failed task, a host
# that could not be reached (with the connection's own words), Ansible's
# own error.
FAILURE_LINE = re.compile(r"^(fatal|failed): \[|UNREACHABLE!|^ERROR!")


def playbook_failure(result: subprocess.CompletedProcess, tail: int = 3000) -> str:
    """What a failed ansible-playbook run printed, for an assertion's message: every line
    that names a failure with the three after it (the result's message, in the yaml
    format), wherever it is in a long run's output, then the end of it."""
    lines = result.stdout.splitlines()
    named = [
        "\n".join(lines[i : i + 4]) for i, line in enumerate(lines) if FAILURE_LINE.search(line)
    ]
    return "\n".join([*named, "...", result.stdout[-tail:], result.stderr[-2000:]])


def left_out(tests: Path) -> list[Path]:
    """The files of CONTAINERS_ONLY in folder ``tests``."""
    return [
        tests / Path(name).name for name in CONTAINERS_ONLY if Path(name).parent.name == tests.name
    ]


def run_tests(tests: Path, ephemeral: Path) -> subprocess.CompletedProcess:
    """The shared tests in folder ``tests`` against the lab, as Molecule's verifier runs
    them, without the files of CONTAINERS_ONLY."""
    argv = [
        project_tool("pytest"), "-p", "no:cacheprovider",
        f"--ansible-inventory={INVENTORY}", "--durations=8", str(tests),
        *(f"--ignore={path}" for path in left_out(tests)),
    ]  # fmt: skip
    return run(argv, ephemeral)


def changed_hosts(output: str, hosts: Iterable[str]) -> dict[str, str]:
    """Hosts of ``hosts`` whose PLAY RECAP line of ansible-playbook's ``output`` shows a
    change or a failure, or is missing: name -> what it shows. Empty when every host
    ran and nothing changed."""
    recap = play_recap(output)
    wrong = {}
    for host in hosts:
        if host not in recap:
            wrong[host] = "not in the PLAY RECAP"
        elif recap[host] != (0, 0):
            changed, failed = recap[host]
            wrong[host] = f"changed={changed} failed={failed}"
    return wrong
